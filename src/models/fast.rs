//! A CPU inference path for the plain MLPs (CycleIK MLP/GAN, Original IKNet):
//! weights copied once out of the burn module into reused buffers; no
//! autodiff, no tensor bookkeeping, no allocation per call once warm.
//!
//! * Below [`GEMM_MIN_ROWS`] rows each layer is a register-blocked
//!   matrix-vector product (AVX2 + FMA, chosen at run time): 64 outputs in
//!   eight accumulators per pass over the inputs, so the weights stream
//!   through once and the FMA latency stays hidden.
//! * From [`GEMM_MIN_ROWS`] rows on, `matrixmultiply::sgemm`.
//! * Bias, the optional int8 scale and the activation are fused into one pass;
//!   GELU and tanh use rational approximations (error ≤ 5e-7) that vectorise,
//!   where libm's calls cost as much as the products.
//! * Weights can be kept as f32, f16 or int8 ([`Precision`]): batch-1
//!   inference reads every weight once, so halving or quartering their bytes
//!   cuts the time the memory needs to deliver them.

use std::cell::RefCell;

use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::Tensor;
use serde::{Deserialize, Serialize};

use super::architecture::Network;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Identity,
    Relu,
    Gelu,
    Tanh,
}

/// How the fast path stores weights. f16 rounds each weight; int8 stores
/// `round(w / s)` with one scale `s = max |w| / 127` per output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Precision {
    #[default]
    F32,
    F16,
    Int8,
}

impl Precision {
    pub const ALL: [Precision; 3] = [Self::F32, Self::F16, Self::Int8];

    pub fn name(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::F16 => "f16",
            Self::Int8 => "int8",
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|p| p.name() == s).ok_or_else(|| format!("unknown precision '{s}': f32, f16, int8"))
    }
}

/// A layer's weights, row-major `[inputs, outputs]`.
#[derive(Debug, Clone)]
enum Weights {
    F32(Vec<f32>),
    /// IEEE half-precision bit patterns.
    F16(Vec<u16>),
    /// Quantised values and one scale per output.
    Int8 {
        values: Vec<i8>,
        scales: Vec<f32>,
    },
}

/// `y = act(x · W + b)`.
#[derive(Debug, Clone)]
struct Dense {
    weights: Weights,
    bias: Vec<f32>,
    inputs: usize,
    outputs: usize,
    activation: Activation,
}

/// An MLP ready for fast CPU inference.
#[derive(Debug, Clone)]
pub struct FastMlp {
    layers: Vec<Dense>,
    precision: Precision,
}

thread_local! {
    /// Two ping-pong activation buffers per thread, grown as needed and reused.
    static SCRATCH: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
    /// One layer's weights widened to f32, for sgemm on reduced-precision layers.
    static WIDENED: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

impl FastMlp {
    /// The fast path of `network` with f32 weights, for the networks that are
    /// a chain of dense layers (IKNet Improved/Focused keep burn's path).
    pub fn from_network(network: &Network) -> Option<Self> {
        Self::with_precision(network, Precision::F32)
    }

    /// As [`FastMlp::from_network`], with weights stored at `precision`.
    pub fn with_precision(network: &Network, precision: Precision) -> Option<Self> {
        let layers = match network {
            Network::CycleIk(net) => {
                let first_tanh = net.layers.len().saturating_sub(net.n_tanh);
                net.layers
                    .iter()
                    .enumerate()
                    .map(|(i, l)| {
                        dense(l, if i >= first_tanh { Activation::Tanh } else { Activation::Gelu }, precision)
                    })
                    .collect()
            }
            // Dropout is the identity at inference.
            Network::IknetOriginal(net) => net
                .hidden
                .iter()
                .map(|l| dense(l, Activation::Relu, precision))
                .chain(std::iter::once(dense(&net.output, Activation::Identity, precision)))
                .collect(),
            _ => return None,
        };
        Some(Self { layers, precision })
    }

    pub fn precision(&self) -> Precision {
        self.precision
    }

    pub fn inputs(&self) -> usize {
        self.layers.first().map_or(0, |l| l.inputs)
    }

    pub fn outputs(&self) -> usize {
        self.layers.last().map_or(0, |l| l.outputs)
    }

    /// `(inputs, outputs, activation)` of every layer, input first.
    pub fn layer_shapes(&self) -> Vec<(usize, usize, Activation)> {
        self.layers.iter().map(|l| (l.inputs, l.outputs, l.activation)).collect()
    }

    /// Parameters (weights and biases).
    pub fn parameter_count(&self) -> usize {
        self.layers.iter().map(|l| l.inputs * l.outputs + l.bias.len()).sum()
    }

    /// Bytes of weights, biases and scales as stored.
    pub fn weight_bytes(&self) -> usize {
        self.layers
            .iter()
            .map(|l| {
                let weights = match &l.weights {
                    Weights::F32(w) => w.len() * 4,
                    Weights::F16(w) => w.len() * 2,
                    Weights::Int8 { values, scales } => values.len() + scales.len() * 4,
                };
                weights + l.bias.len() * 4
            })
            .sum()
    }

    /// Runs `rows` inputs (`rows × inputs`, row-major) and appends `rows × outputs` values to `out`.
    pub fn forward(&self, input: &[f32], rows: usize, out: &mut Vec<f32>) {
        assert_eq!(input.len(), rows * self.inputs(), "input is rows × inputs");
        SCRATCH.with(|scratch| {
            let (a, b) = &mut *scratch.borrow_mut();
            a.clear();
            a.extend_from_slice(input);
            for layer in &self.layers {
                b.clear();
                b.resize(rows * layer.outputs, 0.0);
                layer.forward(a, rows, b);
                std::mem::swap(a, b);
            }
            out.extend_from_slice(a);
        });
    }
}

/// Below this many rows a matrix-vector product per row beats sgemm, whose
/// packing of the weight matrix costs more than the product itself.
const GEMM_MIN_ROWS: usize = 8;

impl Dense {
    /// `y` (zeroed, `rows × outputs`) receives the layer's output.
    fn forward(&self, x: &[f32], rows: usize, y: &mut [f32]) {
        let scales = match &self.weights {
            Weights::Int8 { scales, .. } => Some(scales.as_slice()),
            _ => None,
        };
        if rows < GEMM_MIN_ROWS {
            for (xr, yr) in x.chunks_exact(self.inputs).zip(y.chunks_exact_mut(self.outputs)) {
                kernels::gemv(xr, &self.weights, yr);
                kernels::finish(yr, &self.bias, scales, self.activation);
            }
            return;
        }
        match &self.weights {
            Weights::F32(w) => self.sgemm(x, w, rows, y),
            reduced => WIDENED.with(|widened| {
                let widened = &mut *widened.borrow_mut();
                widen(reduced, self.outputs, widened);
                self.sgemm(x, widened, rows, y);
            }),
        }
        for row in y.chunks_exact_mut(self.outputs) {
            kernels::finish(row, &self.bias, None, self.activation);
        }
    }

    /// `y = x · w`, row-major everywhere (row stride = columns, column stride = 1).
    fn sgemm(&self, x: &[f32], w: &[f32], rows: usize, y: &mut [f32]) {
        assert!(
            x.len() >= rows * self.inputs && w.len() >= self.inputs * self.outputs && y.len() >= rows * self.outputs
        );
        // SAFETY: the assert above: the slices hold rows×inputs, inputs×outputs and rows×outputs values.
        unsafe {
            matrixmultiply::sgemm(
                rows,
                self.inputs,
                self.outputs,
                1.0,
                x.as_ptr(),
                self.inputs as isize,
                1,
                w.as_ptr(),
                self.outputs as isize,
                1,
                0.0,
                y.as_mut_ptr(),
                self.outputs as isize,
                1,
            );
        }
    }
}

/// Reduced-precision weights as f32 (int8 with its scales applied).
fn widen(weights: &Weights, outputs: usize, out: &mut Vec<f32>) {
    out.clear();
    match weights {
        Weights::F32(w) => out.extend_from_slice(w),
        Weights::F16(w) => out.extend(w.iter().map(|&bits| half::f16::from_bits(bits).to_f32())),
        Weights::Int8 { values, scales } => {
            out.extend(values.chunks_exact(outputs).flat_map(|row| row.iter().zip(scales).map(|(&q, s)| q as f32 * s)))
        }
    }
}

mod kernels {
    //! The inner loops: a matrix-vector product and the fused epilogue, with
    //! AVX2/FMA/F16C versions chosen at run time and portable fallbacks.

    use super::{Activation, Weights};

    /// `y += x · W` for one row (`y` starts at zero).
    pub fn gemv(x: &[f32], weights: &Weights, y: &mut [f32]) {
        let n = y.len();
        #[cfg(target_arch = "x86_64")]
        if avx2::available() {
            // SAFETY: the CPU has the features; the sizes are checked inside.
            unsafe {
                match weights {
                    Weights::F32(w) => avx2::gemv_f32(x, w, y),
                    Weights::F16(w) => avx2::gemv_f16(x, w, y),
                    Weights::Int8 { values, .. } => avx2::gemv_i8(x, values, y),
                }
            }
            return;
        }
        match weights {
            Weights::F32(w) => portable_gemv(x, w, y, n, |v| v),
            Weights::F16(w) => portable_gemv(x, w, y, n, |b| half::f16::from_bits(b).to_f32()),
            Weights::Int8 { values, .. } => portable_gemv(x, values, y, n, |q| q as f32),
        }
    }

    fn portable_gemv<T: Copy>(x: &[f32], w: &[T], y: &mut [f32], n: usize, widen: impl Fn(T) -> f32) {
        for (xi, row) in x.iter().zip(w.chunks_exact(n)) {
            for (v, &wij) in y.iter_mut().zip(row) {
                *v += xi * widen(wij);
            }
        }
    }

    /// `y = act(y · scale + bias)`.
    pub fn finish(y: &mut [f32], bias: &[f32], scales: Option<&[f32]>, activation: Activation) {
        #[cfg(target_arch = "x86_64")]
        if avx2::available() {
            // SAFETY: the CPU has the features.
            unsafe { avx2::finish(y, bias, scales, activation) };
            return;
        }
        finish_portable(y, bias, scales, activation);
    }

    #[inline(always)]
    fn finish_portable(y: &mut [f32], bias: &[f32], scales: Option<&[f32]>, activation: Activation) {
        if let Some(scales) = scales {
            for (v, s) in y.iter_mut().zip(scales) {
                *v *= s;
            }
        }
        // One loop per activation, so each one vectorises.
        match activation {
            Activation::Identity => y.iter_mut().zip(bias).for_each(|(v, b)| *v += b),
            Activation::Relu => y.iter_mut().zip(bias).for_each(|(v, b)| *v = (*v + b).max(0.0)),
            Activation::Gelu => y.iter_mut().zip(bias).for_each(|(v, b)| *v = gelu(*v + b)),
            Activation::Tanh => y.iter_mut().zip(bias).for_each(|(v, b)| *v = tanh(*v + b)),
        }
    }

    /// Exact GELU as burn computes it, `x/2 · (1 + erf(x/√2))`, with `erf`
    /// as a rational function (the XLA/Eigen float coefficients; |error| ≤ 5e-7).
    #[inline(always)]
    pub fn gelu(x: f32) -> f32 {
        0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
    }

    #[inline(always)]
    pub fn erf(x: f32) -> f32 {
        let x = x.clamp(-4.0, 4.0);
        let x2 = x * x;
        let p = -2.726_142_3e-10f32;
        let p = p.mul_add(x2, 2.770_681_4e-8);
        let p = p.mul_add(x2, -2.101_024e-6);
        let p = p.mul_add(x2, -5.692_506_4e-5);
        let p = p.mul_add(x2, -7.349_906_3e-4);
        let p = p.mul_add(x2, -2.954_600_1e-3);
        let p = p.mul_add(x2, -1.609_603_3e-2);
        let q = -1.456_607_2e-5f32;
        let q = q.mul_add(x2, -2.133_740_6e-4);
        let q = q.mul_add(x2, -1.682_827e-3);
        let q = q.mul_add(x2, -7.373_329e-3);
        let q = q.mul_add(x2, -1.426_474e-2);
        x * p / q
    }

    /// tanh as a rational function (Eigen's float coefficients; |error| ≤ 5e-7).
    #[inline(always)]
    pub fn tanh(x: f32) -> f32 {
        let x = x.clamp(-7.905_311, 7.905_311);
        let x2 = x * x;
        let p = -2.760_768_5e-16f32;
        let p = p.mul_add(x2, 2.000_187_9e-13);
        let p = p.mul_add(x2, -8.604_672e-11);
        let p = p.mul_add(x2, 5.122_297e-8);
        let p = p.mul_add(x2, 1.485_722_4e-5);
        let p = p.mul_add(x2, 6.372_619_3e-4);
        let p = p.mul_add(x2, 4.893_524_6e-3);
        let q = 1.198_258_4e-6f32;
        let q = q.mul_add(x2, 1.185_347_1e-4);
        let q = q.mul_add(x2, 2.268_434_6e-3);
        let q = q.mul_add(x2, 4.893_525e-3);
        x * p / q
    }

    #[cfg(target_arch = "x86_64")]
    mod avx2 {
        use std::arch::x86_64::*;

        use super::Activation;

        pub fn available() -> bool {
            is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma") && is_x86_feature_detected!("f16c")
        }

        #[target_feature(enable = "avx2,fma,f16c")]
        pub unsafe fn finish(y: &mut [f32], bias: &[f32], scales: Option<&[f32]>, activation: Activation) {
            super::finish_portable(y, bias, scales, activation);
        }

        /// One matrix-vector kernel per weight type: `$load` turns 8 weights at
        /// `p` into 8 floats, `$widen` one weight (for the tail).
        macro_rules! gemv_kernel {
            ($name:ident, $block:ident, $t:ty, |$p:ident| $load:expr, |$v:ident| $widen:expr) => {
                /// Outputs `j..` in blocks of `8 × K`, `K` accumulators per pass over the inputs;
                /// returns where it stopped.
                #[target_feature(enable = "avx2,fma,f16c")]
                unsafe fn $block<const K: usize>(x: &[f32], w: &[$t], y: &mut [f32], mut j: usize) -> usize {
                    let n = y.len();
                    while j + 8 * K <= n {
                        let mut acc = [_mm256_setzero_ps(); K];
                        for (i, &xi) in x.iter().enumerate() {
                            let xb = _mm256_set1_ps(xi);
                            // SAFETY: i < inputs and j + 8K ≤ n: within the inputs × n weights.
                            let row = unsafe { w.as_ptr().add(i * n + j) };
                            for (k, a) in acc.iter_mut().enumerate() {
                                let $p = unsafe { row.add(8 * k) };
                                *a = _mm256_fmadd_ps(xb, unsafe { $load }, *a);
                            }
                        }
                        for (k, a) in acc.iter().enumerate() {
                            // SAFETY: j + 8k + 8 ≤ n.
                            unsafe { _mm256_storeu_ps(y.as_mut_ptr().add(j + 8 * k), *a) };
                        }
                        j += 8 * K;
                    }
                    j
                }

                #[target_feature(enable = "avx2,fma,f16c")]
                pub unsafe fn $name(x: &[f32], w: &[$t], y: &mut [f32]) {
                    let n = y.len();
                    assert_eq!(w.len(), x.len() * n, "weights are inputs × outputs");
                    let mut j = unsafe { $block::<8>(x, w, y, 0) };
                    j = unsafe { $block::<4>(x, w, y, j) };
                    j = unsafe { $block::<1>(x, w, y, j) };
                    for jj in j..n {
                        y[jj] = x
                            .iter()
                            .enumerate()
                            .map(|(i, xi)| {
                                let $v = w[i * n + jj];
                                xi * $widen
                            })
                            .sum();
                    }
                }
            };
        }

        gemv_kernel!(gemv_f32, block_f32, f32, |p| _mm256_loadu_ps(p), |v| v);
        gemv_kernel!(gemv_f16, block_f16, u16, |p| _mm256_cvtph_ps(_mm_loadu_si128(p as *const __m128i)), |v| {
            half::f16::from_bits(v).to_f32()
        });
        gemv_kernel!(
            gemv_i8,
            block_i8,
            i8,
            |p| _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64(p as *const __m128i))),
            |v| v as f32
        );
    }
}

fn values<const D: usize>(param: &Param<Tensor<D>>) -> Vec<f32> {
    param.val().into_data().convert::<f32>().try_into_vec::<f32>().unwrap_or_default()
}

fn dense(layer: &Linear, activation: Activation, precision: Precision) -> Dense {
    let [inputs, outputs] = layer.weight.val().dims();
    let bias = layer.bias.as_ref().map(values).unwrap_or_else(|| vec![0.0; outputs]);
    let w = values(&layer.weight);
    let weights = match precision {
        Precision::F32 => Weights::F32(w),
        Precision::F16 => Weights::F16(w.iter().map(|&v| half::f16::from_f32(v).to_bits()).collect()),
        Precision::Int8 => {
            let mut scales = vec![0.0f32; outputs];
            for row in w.chunks_exact(outputs) {
                for (s, v) in scales.iter_mut().zip(row) {
                    *s = s.max(v.abs() / 127.0);
                }
            }
            let values = w
                .chunks_exact(outputs)
                .flat_map(|row| {
                    row.iter()
                        .zip(&scales)
                        .map(|(v, &s)| if s > 0.0 { (v / s).round().clamp(-127.0, 127.0) as i8 } else { 0 })
                })
                .collect();
            Weights::Int8 { values, scales }
        }
    };
    Dense { weights, bias, inputs, outputs, activation }
}

#[cfg(test)]
mod tests {
    use super::kernels::{erf, gelu, tanh};

    #[test]
    fn activations_match_libm() {
        let mut worst = (0.0f32, 0.0f32);
        for i in -80_000..=80_000 {
            let x = i as f32 / 8_000.0;
            worst.0 = worst.0.max((erf(x) - libm::erff(x)).abs());
            worst.1 = worst.1.max((tanh(x) - libm::tanhf(x)).abs());
        }
        assert!(worst.0 < 5e-7 && worst.1 < 5e-7, "erf {} tanh {}", worst.0, worst.1);
        assert!((gelu(1.0) - 0.841_344_7).abs() < 1e-6);
    }
}
