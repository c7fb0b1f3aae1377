//! A CPU inference path for the plain MLPs (CycleIK MLP/GAN, Original IKNet):
//! weights copied once out of the burn module, then each call is one sgemm
//! (matrixmultiply) per layer into reused buffers, with bias and activation
//! fused into one pass over the output. No autodiff, no tensor bookkeeping.
//! Outputs equal burn's to float32 rounding.

use std::cell::RefCell;

use burn::module::Param;
use burn::nn::Linear;
use burn::tensor::Tensor;

use super::architecture::Network;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Identity,
    Relu,
    Gelu,
    Tanh,
}

impl Activation {
    #[inline]
    fn apply(self, x: f32) -> f32 {
        match self {
            Activation::Identity => x,
            Activation::Relu => x.max(0.0),
            // Exact GELU, as burn computes it: x/2 · (1 + erf(x/√2)).
            Activation::Gelu => 0.5 * x * (1.0 + libm::erff(x * std::f32::consts::FRAC_1_SQRT_2)),
            Activation::Tanh => x.tanh(),
        }
    }
}

/// `y = act(x · W + b)` with `W` row-major `[inputs, outputs]`.
#[derive(Debug, Clone)]
struct Dense {
    weights: Vec<f32>,
    bias: Vec<f32>,
    inputs: usize,
    outputs: usize,
    activation: Activation,
}

/// An MLP ready for fast CPU inference.
#[derive(Debug, Clone)]
pub struct FastMlp {
    layers: Vec<Dense>,
}

thread_local! {
    /// Two ping-pong activation buffers per thread, grown as needed and reused.
    static SCRATCH: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

impl FastMlp {
    /// The fast path of `network`, for the networks that are a chain of dense
    /// layers (IKNet Improved/Focused keep burn's path).
    pub fn from_network(network: &Network) -> Option<Self> {
        let layers = match network {
            Network::CycleIk(net) => {
                let first_tanh = net.layers.len().saturating_sub(net.n_tanh);
                net.layers
                    .iter()
                    .enumerate()
                    .map(|(i, l)| dense(l, if i >= first_tanh { Activation::Tanh } else { Activation::Gelu }))
                    .collect()
            }
            // Dropout is the identity at inference.
            Network::IknetOriginal(net) => net
                .hidden
                .iter()
                .map(|l| dense(l, Activation::Relu))
                .chain(std::iter::once(dense(&net.output, Activation::Identity)))
                .collect(),
            _ => return None,
        };
        Some(Self { layers })
    }

    pub fn inputs(&self) -> usize {
        self.layers.first().map_or(0, |l| l.inputs)
    }

    pub fn outputs(&self) -> usize {
        self.layers.last().map_or(0, |l| l.outputs)
    }

    /// Parameters (weights and biases).
    pub fn parameter_count(&self) -> usize {
        self.layers.iter().map(|l| l.weights.len() + l.bias.len()).sum()
    }

    /// Runs `rows` inputs (`rows × inputs`, row-major) and appends `rows × outputs` values to `out`.
    pub fn forward(&self, input: &[f32], rows: usize, out: &mut Vec<f32>) {
        assert_eq!(input.len(), rows * self.inputs(), "input is rows × inputs");
        SCRATCH.with(|scratch| {
            let (a, b) = &mut *scratch.borrow_mut();
            a.clear();
            a.extend_from_slice(input);
            for layer in &self.layers {
                b.resize(rows * layer.outputs, 0.0);
                layer.forward(a, rows, b);
                std::mem::swap(a, b);
            }
            out.extend_from_slice(a);
        });
    }
}

/// Below this many rows, a row-by-row axpy over the weights beats sgemm, whose
/// packing of the weight matrix costs more than the product itself.
const GEMM_MIN_ROWS: usize = 8;

impl Dense {
    fn forward(&self, x: &[f32], rows: usize, y: &mut [f32]) {
        if rows < GEMM_MIN_ROWS {
            for (xr, yr) in x.chunks_exact(self.inputs).zip(y.chunks_exact_mut(self.outputs)) {
                yr.copy_from_slice(&self.bias);
                accumulate_row(xr, &self.weights, yr);
                for v in yr.iter_mut() {
                    *v = self.activation.apply(*v);
                }
            }
            return;
        }
        // y = x · W, row-major everywhere (row stride = columns, column stride = 1).
        // SAFETY: the slices hold exactly rows×inputs, inputs×outputs and rows×outputs values.
        unsafe {
            matrixmultiply::sgemm(
                rows,
                self.inputs,
                self.outputs,
                1.0,
                x.as_ptr(),
                self.inputs as isize,
                1,
                self.weights.as_ptr(),
                self.outputs as isize,
                1,
                0.0,
                y.as_mut_ptr(),
                self.outputs as isize,
                1,
            );
        }
        for row in y.chunks_exact_mut(self.outputs) {
            for (v, b) in row.iter_mut().zip(&self.bias) {
                *v = self.activation.apply(*v + b);
            }
        }
    }
}

/// `y += Σᵢ x[i] · W[i, :]`, with AVX2 + FMA where the CPU has them (checked at run time).
fn accumulate_row(x: &[f32], weights: &[f32], y: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        // SAFETY: the CPU supports the features the function is compiled for.
        unsafe { accumulate_row_avx2(x, weights, y) };
        return;
    }
    for (xi, w) in x.iter().zip(weights.chunks_exact(y.len())) {
        for (v, wij) in y.iter_mut().zip(w) {
            *v += xi * wij;
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn accumulate_row_avx2(x: &[f32], weights: &[f32], y: &mut [f32]) {
    for (xi, w) in x.iter().zip(weights.chunks_exact(y.len())) {
        for (v, wij) in y.iter_mut().zip(w) {
            *v = xi.mul_add(*wij, *v);
        }
    }
}

fn values<const D: usize>(param: &Param<Tensor<D>>) -> Vec<f32> {
    param.val().into_data().convert::<f32>().try_into_vec::<f32>().unwrap_or_default()
}

fn dense(layer: &Linear, activation: Activation) -> Dense {
    let [inputs, outputs] = layer.weight.val().dims();
    let bias = layer.bias.as_ref().map(values).unwrap_or_else(|| vec![0.0; outputs]);
    Dense { weights: values(&layer.weight), bias, inputs, outputs, activation }
}
