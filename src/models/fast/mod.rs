//! A CPU inference path for every network: weights copied once out of the
//! burn module (see `from_burn`) into reused buffers; no autodiff, no tensor
//! bookkeeping, no allocation per call once warm.
//!
//! * Below [`GEMM_MIN_ROWS`] rows each row runs through the network alone,
//!   every layer a register-blocked matrix-vector product over panel-packed
//!   weights (see `pack`): 64 outputs in eight accumulators per pass over the
//!   inputs (narrower panels: several accumulator sets taking turns), so the
//!   weights stream through once, in order, and the FMA latency stays hidden.
//! * From [`GEMM_MIN_ROWS`] rows on, one [`matmul`] per layer: the `gemm`
//!   crate's AVX-512 or AVX2/FMA kernels, chosen at run time by CPU features,
//!   over a row-major copy of the f32 weights (f16 weights are widened into a
//!   reused buffer first); int8 runs one row at a time at any batch size.
//! * Bias, residual and activation are fused into one pass; GELU and tanh use
//!   rational approximations (error ≤ 5e-7) that vectorise, where libm's
//!   calls cost as much as the products.
//! * Weights can be kept as f32, f16 or int8 ([`Precision`]): batch-1
//!   inference reads every weight once, so halving or quartering their bytes
//!   cuts the time the memory needs to deliver them. int8 also quantises each
//!   row's activations to 8 bits, so the products run as u8 × i8 dot products
//!   (AVX-512 VNNI where the CPU has it; exact integer sums everywhere).

mod from_burn;
mod kernels;
pub(crate) mod matmul;
mod pack;

use std::cell::RefCell;

use serde::{Deserialize, Serialize};

use super::architecture::Network;
use matmul::{Threading, View, matmul};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    Identity,
    Relu,
    Gelu,
    Tanh,
    /// PyTorch's defaults: slope 0.01; CELU α = 1.
    LeakyRelu,
    Celu,
    Selu,
}

/// How the fast path stores weights. f16 rounds each weight; int8 stores
/// `round(w / s)` with one scale `s = max |w| / 127` per output, and
/// quantises each row's activations the same way before every layer.
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

/// Whether a layer takes part in a residual connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Skip {
    #[default]
    None,
    /// Keep this layer's input.
    Save,
    /// Add the kept input before the activation (its width must be this layer's outputs).
    Add,
}

/// A dense layer in plain form: `y = act(x · W + b [+ kept input])`, with
/// `W` row-major `[inputs, outputs]`. Inside the fast path the same layer
/// holds its weights as the kernels read them (`Dense`).
#[derive(Debug, Clone, PartialEq)]
pub struct DenseLayer<W = Vec<f32>> {
    pub weights: W,
    pub bias: Vec<f32>,
    pub inputs: usize,
    pub outputs: usize,
    pub activation: Activation,
    pub skip: Skip,
}

impl<W> DenseLayer<W> {
    /// The same layer with its weights stored as `weights`.
    fn with_weights<V>(&self, weights: V) -> DenseLayer<V> {
        DenseLayer {
            weights,
            bias: self.bias.clone(),
            inputs: self.inputs,
            outputs: self.outputs,
            activation: self.activation,
            skip: self.skip,
        }
    }
}

/// A layer's weights as the kernels read them (see `pack`).
#[derive(Debug, Clone)]
enum Weights {
    /// Panel-packed for one row, and row-major for batches.
    F32 { packed: Vec<f32>, row_major: Vec<f32> },
    /// IEEE half-precision bit patterns.
    F16(Vec<u16>),
    Int8(Quantized),
}

/// `round(w / s)` with one scale `s = max |w| / 127` per output, in the
/// u8 × i8 kernel's layout.
#[derive(Debug, Clone)]
struct Quantized {
    values: Vec<i8>,
    scales: Vec<f32>,
    /// Per padded output, the sum of its quantised weights: activations are
    /// stored as `q + 128`, and `128 · sum` takes the offset back out.
    column_sums: Vec<i32>,
}

type Dense = DenseLayer<Weights>;

/// A network ready for fast CPU inference.
#[derive(Debug, Clone)]
pub struct FastMlp {
    layers: Vec<Dense>,
    precision: Precision,
}

/// Per-thread buffers, grown as needed and reused.
#[derive(Default)]
struct Scratch {
    /// Ping-pong activations.
    a: Vec<f32>,
    b: Vec<f32>,
    /// The input kept for a residual connection.
    kept: Vec<f32>,
    work: Work,
}

#[derive(Default)]
struct Work {
    /// A layer's weights as row-major f32, for sgemm.
    widened: Vec<f32>,
    /// One row's activations as u8, and its integer sums (int8).
    quantized: Vec<u8>,
    sums: Vec<i32>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

impl FastMlp {
    /// The fast path of `network` with f32 weights.
    pub fn from_network(network: &Network) -> Option<Self> {
        Self::with_precision(network, Precision::F32)
    }

    /// As [`FastMlp::from_network`], with weights stored at `precision`.
    /// `None` only for a Focused IKNet whose two branches differ in depth.
    pub fn with_precision(network: &Network, precision: Precision) -> Option<Self> {
        let layers = from_burn::dense_layers(network)?;
        Self::from_layers(&layers, precision).ok()
    }

    /// A network from plain layers; refuses layers that do not chain.
    pub fn from_layers(layers: &[DenseLayer], precision: Precision) -> Result<Self, String> {
        if layers.is_empty() {
            return Err("no layers".into());
        }
        let mut kept_width = None;
        for (k, layer) in layers.iter().enumerate() {
            if layer.weights.len() != layer.inputs * layer.outputs || layer.bias.len() != layer.outputs {
                return Err(format!("layer {k}: weights or bias do not match {} × {}", layer.inputs, layer.outputs));
            }
            if k > 0 && layers[k - 1].outputs != layer.inputs {
                return Err(format!("layer {k} takes {} inputs after {} outputs", layer.inputs, layers[k - 1].outputs));
            }
            match layer.skip {
                Skip::None => {}
                Skip::Save => kept_width = Some(layer.inputs),
                Skip::Add if kept_width == Some(layer.outputs) => kept_width = None,
                Skip::Add => return Err(format!("layer {k} adds a kept input it has no match for")),
            }
        }
        Ok(Self { layers: layers.iter().map(|l| Dense::new(l, precision)).collect(), precision })
    }

    /// The layers as plain f32 (reduced precision widened, int8 scaled back).
    pub fn layers(&self) -> Vec<DenseLayer> {
        self.layers.iter().map(Dense::plain).collect()
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

    /// Bytes of weights (the f32 batch copy not counted: the model's size), biases and scales.
    pub fn weight_bytes(&self) -> usize {
        self.layers
            .iter()
            .map(|l| {
                let weights = match &l.weights {
                    Weights::F32 { packed, .. } => packed.len() * 4,
                    Weights::F16(w) => w.len() * 2,
                    Weights::Int8(q) => q.values.len() + (q.scales.len() + q.column_sums.len()) * 4,
                };
                weights + l.bias.len() * 4
            })
            .sum()
    }

    /// Runs `rows` inputs (`rows × inputs`, row-major) and appends `rows × outputs` values to `out`.
    pub fn forward(&self, input: &[f32], rows: usize, out: &mut Vec<f32>) {
        assert_eq!(input.len(), rows * self.inputs(), "input is rows × inputs");
        // Small batches, and int8 at any size, take each row through the whole
        // network: its weights and one row's activations stay in cache.
        if rows < GEMM_MIN_ROWS || self.precision == Precision::Int8 {
            for row in input.chunks_exact(self.inputs()) {
                self.run(row, 1, out);
            }
        } else {
            self.run(input, rows, out);
        }
    }

    fn run(&self, input: &[f32], rows: usize, out: &mut Vec<f32>) {
        SCRATCH.with(|scratch| {
            let Scratch { a, b, kept, work } = &mut *scratch.borrow_mut();
            a.clear();
            a.extend_from_slice(input);
            for layer in &self.layers {
                if layer.skip == Skip::Save {
                    kept.clear();
                    kept.extend_from_slice(a);
                }
                b.clear();
                b.resize(rows * layer.outputs, 0.0);
                let kept = (layer.skip == Skip::Add).then_some(kept.as_slice());
                layer.forward(a, rows, b, kept, work);
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
    fn new(layer: &DenseLayer, precision: Precision) -> Self {
        layer.with_weights(match precision {
            Precision::F32 => {
                Weights::F32 { packed: pack::pack(&layer.weights, layer.outputs), row_major: layer.weights.clone() }
            }
            Precision::F16 => {
                let bits: Vec<u16> = layer.weights.iter().map(|&v| half::f16::from_f32(v).to_bits()).collect();
                Weights::F16(pack::pack(&bits, layer.outputs))
            }
            Precision::Int8 => Weights::Int8(Quantized::new(layer)),
        })
    }

    fn plain(&self) -> DenseLayer {
        let mut weights = Vec::new();
        self.widen_row_major(&mut weights);
        self.with_weights(weights)
    }

    /// The weights as row-major f32 `[inputs, outputs]` in `out`.
    fn widen_row_major(&self, out: &mut Vec<f32>) {
        match &self.weights {
            Weights::F32 { row_major, .. } => {
                out.clear();
                out.extend_from_slice(row_major);
            }
            Weights::F16(w) => pack::unpack_into(w, self.outputs, out, |b| half::f16::from_bits(b).to_f32()),
            Weights::Int8(q) => {
                out.clear();
                out.extend(
                    pack::unpack_quads(&q.values, self.inputs, self.outputs)
                        .chunks_exact(self.outputs)
                        .flat_map(|row| row.iter().zip(&q.scales).map(|(&v, s)| v as f32 * s)),
                );
            }
        }
    }

    /// `y` (`rows × outputs`) receives the layer's output; `kept` is the
    /// residual input (`rows × outputs`) for a [`Skip::Add`] layer.
    fn forward(&self, x: &[f32], rows: usize, y: &mut [f32], kept: Option<&[f32]>, work: &mut Work) {
        if rows == 1 {
            match &self.weights {
                Weights::F32 { packed, .. } => kernels::gemv_f32(x, packed, y),
                Weights::F16(w) => kernels::gemv_f16(x, w, y),
                Weights::Int8(q) => q.gemv(x, y, work),
            }
            return kernels::finish(y, &self.bias, kept, self.activation);
        }
        let w = match &self.weights {
            Weights::F32 { row_major, .. } => row_major.as_slice(),
            _ => {
                self.widen_row_major(&mut work.widened);
                work.widened.as_slice()
            }
        };
        let (x, w) = (View::row_major(x, rows, self.inputs), View::row_major(w, self.inputs, self.outputs));
        // One thread: inference runs inside the caller's parallelism (a rayon task per query batch).
        matmul(y, x, w, 1, Threading::SplitRows);
        for (r, row) in y.chunks_exact_mut(self.outputs).enumerate() {
            let kept_row = kept.map(|k| &k[r * self.outputs..(r + 1) * self.outputs]);
            kernels::finish(row, &self.bias, kept_row, self.activation);
        }
    }
}

impl Quantized {
    fn new(layer: &DenseLayer) -> Self {
        let (inputs, outputs) = (layer.inputs, layer.outputs);
        let mut scales = vec![0.0f32; outputs];
        for row in layer.weights.chunks_exact(outputs) {
            for (s, v) in scales.iter_mut().zip(row) {
                *s = s.max(v.abs() / 127.0);
            }
        }
        let quantized: Vec<i8> = layer
            .weights
            .chunks_exact(outputs)
            .flat_map(|row| {
                row.iter()
                    .zip(&scales)
                    .map(|(v, &s)| if s > 0.0 { (v / s).round().clamp(-127.0, 127.0) as i8 } else { 0 })
            })
            .collect();
        let mut column_sums = vec![0i32; pack::padded(outputs)];
        for row in quantized.chunks_exact(outputs) {
            column_sums.iter_mut().zip(row).for_each(|(s, &v)| *s += v as i32);
        }
        Self { values: pack::pack_quads(&quantized, inputs, outputs), scales, column_sums }
    }

    /// `y = x · W` for one row: `x` quantised to `q = round(x / s)`, `|q| ≤ 127`
    /// with `s = max |x| / 127`, stored as `q + 128`; integer dot products;
    /// each sum scaled back by `s` and the output's weight scale.
    fn gemv(&self, x: &[f32], y: &mut [f32], work: &mut Work) {
        let step = kernels::quantize(x, &mut work.quantized);
        work.quantized.resize(x.len().next_multiple_of(pack::QUAD), 128);
        work.sums.clear();
        work.sums.resize(self.column_sums.len(), 0);
        kernels::dot_quads(&work.quantized, &self.values, &mut work.sums);
        for (j, v) in y.iter_mut().enumerate() {
            *v = (work.sums[j] - 128 * self.column_sums[j]) as f32 * step * self.scales[j];
        }
    }
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

    /// The u8 × i8 kernel (VNNI where the CPU has it) gives the exact integer sums.
    #[test]
    fn quad_dot_products_are_exact() {
        use super::pack::pack_quads;
        for (inputs, outputs) in [(7usize, 400usize), (13, 4), (256, 72), (3, 8)] {
            let weights: Vec<i8> =
                (0..inputs * outputs).map(|v| ((v * 7919) % 255) as i32 - 127).map(|v| v as i8).collect();
            let padded = inputs.next_multiple_of(4);
            let u: Vec<u8> = (0..padded).map(|i| if i < inputs { ((i * 31) % 256) as u8 } else { 128 }).collect();
            let mut sums = vec![0; outputs.next_multiple_of(8)];
            super::kernels::dot_quads(&u, &pack_quads(&weights, inputs, outputs), &mut sums);
            for j in 0..outputs {
                let expected: i32 = (0..inputs).map(|i| u[i] as i32 * weights[i * outputs + j] as i32).sum();
                assert_eq!(sums[j], expected, "{inputs}×{outputs}, output {j}");
            }
        }
    }

    /// f16 and int8 stay close to f32, through one row and many, with a residual.
    #[test]
    fn reduced_precision_stays_close() {
        use super::{Activation, DenseLayer, FastMlp, Precision, Skip};
        let layer = |inputs: usize, outputs: usize, activation, skip, seed: usize| DenseLayer {
            weights: (0..inputs * outputs).map(|v| (((v + seed) * 7919 % 1000) as f32 / 1000.0 - 0.5) * 0.3).collect(),
            bias: (0..outputs).map(|j| (j % 7) as f32 * 0.01).collect(),
            inputs,
            outputs,
            activation,
            skip,
        };
        let layers = [
            layer(7, 96, Activation::Gelu, Skip::None, 1),
            layer(96, 40, Activation::Relu, Skip::Save, 2),
            layer(40, 96, Activation::Relu, Skip::Add, 3),
            layer(96, 5, Activation::Tanh, Skip::None, 4),
        ];
        let rows = 9;
        let input: Vec<f32> = (0..rows * 7).map(|i| (i % 11) as f32 / 5.0 - 1.0).collect();
        let run = |precision, rows: usize| {
            let net = FastMlp::from_layers(&layers, precision).unwrap();
            let mut out = Vec::new();
            net.forward(&input[..rows * 7], rows, &mut out);
            out
        };
        let reference = run(Precision::F32, rows);
        let one_row: Vec<f32> = (0..rows)
            .flat_map(|r| {
                let net = FastMlp::from_layers(&layers, Precision::F32).unwrap();
                let mut out = Vec::new();
                net.forward(&input[r * 7..(r + 1) * 7], 1, &mut out);
                out
            })
            .collect();
        let worst = |a: &[f32], b: &[f32]| a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
        assert!(worst(&reference, &one_row) < 1e-5);
        for (precision, bound) in [(Precision::F16, 5e-3), (Precision::Int8, 5e-2)] {
            let difference = worst(&run(precision, rows), &reference);
            assert!(difference > 0.0 && difference < bound, "{precision}: {difference}");
        }
        // A layer that adds a kept input of another width is refused.
        let broken = [layer(7, 8, Activation::Relu, Skip::Add, 0)];
        assert!(FastMlp::from_layers(&broken, Precision::F32).is_err());
    }
}
