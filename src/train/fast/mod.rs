//! A fused CPU training step for the CycleIK networks: dense layers through
//! the `gemm` crate, an analytic batched FK gradient, the CycleIK losses with
//! their gradients, and Adam as burn computes it, all on plain f32 / f64
//! buffers that are reused from step to step.
//!
//! Where the time goes: almost all of it in the dense products (forward,
//! `dW = Xᵀ·dZ`, `dX = dZ·Wᵀ`). Activations, FK, losses and Adam are single
//! passes over their buffers. burn's autodiff computes the same thing through
//! dozens of small tensors per joint and per loss term.
//!
//! Use: [`FastTrainer::new`] from a burn [`Network::CycleIk`], then per step
//! [`FastTrainer::loss_and_gradients`] (the loss parts, for the divergence
//! check) and [`FastTrainer::apply_gradients`] (Adam), or [`FastTrainer::step`]
//! for both; [`FastTrainer::write_into`] puts the weights back into a burn
//! network for validation and checkpoints. Threads: the current rayon pool's.
//!
//! In the training loop (CycleIK models on the CPU), per run, epoch and step:
//!
//! ```text
//! let mut fast = FastTrainer::new(&network, &io, &robot.chain, &config.loss, config.grad_clip_norm)?;
//! let (mut buffers, mut noise_rng) = (BatchBuffers::default(), ChaCha8Rng::seed_from_u64(config.seed));
//! // each step:
//! let batch = buffers.gather(&train, &order[range], repeated, io.noise.map(|spec| (spec, &mut noise_rng)));
//! let parts = fast.loss_and_gradients(&batch)?;   // check divergence on parts.total here
//! fast.apply_gradients(learning_rate);
//! // end of epoch: network = fast.write_into(network)?; validate network.valid();
//! // snapshots and rollbacks: clone / restore the FastTrainer (weights and Adam state).
//! ```

mod activation;
mod adam;
mod batch;
mod dense;
mod fk_grad;
mod loss;

use std::time::{Duration, Instant};

use burn::module::Param;
use burn::tensor::{Tensor, TensorData};
use rayon::prelude::*;

pub use batch::BatchBuffers;
pub use crate::models::fast::matmul::Threading;
pub use fk_grad::ChainGrad;

use activation::Act;
use adam::Adam;
use dense::{Cache, Layer, LayerGrads};
use fk_grad::JointFrames;

use super::{LossConfig, LossParts, TrainError};
use crate::kinematics::Chain;
use crate::models::{HiddenActivation, IoMapping, Network, OutputDecoding, POSE_INPUT};

/// One training batch as plain rows.
#[derive(Debug, Clone, Copy)]
pub struct FastBatch<'a> {
    /// `rows × inputs`: the encoded pose, then the generator's noise.
    pub inputs: &'a [f32],
    /// `rows × 3`, target positions in metres.
    pub positions: &'a [f32],
    /// `rows × 9`, target rotation matrices, row-major.
    pub rotations: &'a [f32],
    /// Generator: the last `variance_rows` rows (one pose repeated, each with
    /// its own noise) also give the variance term; 0 for none.
    pub variance_rows: usize,
}

/// The CycleIK network, its gradients and Adam state, ready to train.
#[derive(Debug, Clone)]
pub struct FastTrainer {
    layers: Vec<Layer>,
    grads: Vec<LayerGrads>,
    adam: Adam,
    chain: ChainGrad,
    /// Output `y` → joint `y · half_span + middle` (f32, as `IoMapping::decode`).
    half_span: Vec<f32>,
    middle: Vec<f32>,
    loss: LossConfig,
    noise_dim: usize,
    threading: Threading,
    cache: Cache,
    scratch: Scratch,
}

/// Where the time of [`FastTrainer::profiled_step`]s went, summed.
#[derive(Debug, Clone, Copy, Default)]
pub struct StepProfile {
    pub steps: usize,
    /// Dense layers forward (products, bias, activations and their slopes).
    pub forward: Duration,
    /// Decoding, FK and loss terms with their gradients.
    pub fk_and_losses: Duration,
    /// Dense layers backward (`dW`, `db`, `dX`).
    pub backward: Duration,
    pub adam: Duration,
}

/// Per-step buffers, reused.
#[derive(Debug, Clone, Default)]
struct Scratch {
    /// Decoded joints and the loss gradient w.r.t. them, `rows × dof`.
    joints: Vec<f64>,
    grad_joints: Vec<f64>,
    /// Loss gradient w.r.t. the network output, `rows × dof`.
    grad_output: Vec<f64>,
    grad_output_f32: Vec<f32>,
    /// The variance rows' noise columns.
    noise: Vec<f32>,
}

/// Rows of FK and pose loss per rayon task.
const FK_ROWS_PER_TASK: usize = 32;

impl FastTrainer {
    /// The fast path of a CycleIK `network` (other networks are refused),
    /// trained through `chain` with `loss` and Adam (ε 1e-8, optional
    /// per-tensor gradient-norm clipping, as the burn trainer's).
    pub fn new(
        network: &Network,
        io: &IoMapping,
        chain: &Chain,
        loss: &LossConfig,
        grad_clip_norm: Option<f32>,
    ) -> Result<Self, TrainError> {
        let Network::CycleIk(net) = network else {
            return Err(TrainError::InvalidConfig("the fast training path trains CycleIK networks only".into()));
        };
        if net.activation != HiddenActivation::Gelu {
            return Err(TrainError::InvalidConfig(format!(
                "the fast training path has GELU hidden layers; this network uses {} (train it with --engine burn)",
                net.activation.torch_name()
            )));
        }
        let first_tanh = net.layers.len().saturating_sub(net.n_tanh);
        let layers: Vec<Layer> = net
            .layers
            .iter()
            .enumerate()
            .map(|(i, linear)| {
                let [inputs, outputs] = linear.weight.val().dims();
                Ok(Layer {
                    weights: values(linear.weight.val())?,
                    bias: match &linear.bias {
                        Some(b) => values(b.val())?,
                        None => vec![0.0; outputs],
                    },
                    inputs,
                    outputs,
                    act: if i >= first_tanh { Act::Tanh } else { Act::Gelu },
                })
            })
            .collect::<Result<_, TrainError>>()?;
        let (first, last) = match (layers.first(), layers.last()) {
            (Some(first), Some(last)) => (first, last),
            _ => return Err(TrainError::InvalidConfig("the network has no layers".into())),
        };
        let dof = chain.dof();
        if last.outputs != dof || first.inputs != POSE_INPUT + io.noise_dim() {
            return Err(TrainError::InvalidConfig(format!(
                "the network maps {} inputs to {}; the chain and normalisation need {} to {dof}",
                first.inputs,
                last.outputs,
                POSE_INPUT + io.noise_dim()
            )));
        }
        if let Some(&j) = loss.zero_joints.iter().find(|&&j| j >= dof) {
            return Err(TrainError::InvalidConfig(format!("zero-controller joint {j} does not exist (dof {dof})")));
        }
        let (half_span, middle) = match &io.output {
            OutputDecoding::Raw => (vec![1.0; dof], vec![0.0; dof]),
            OutputDecoding::JointLimits { lower, upper } => (
                lower.iter().zip(upper).map(|(l, u)| (0.5 * (u - l)) as f32).collect(),
                lower.iter().zip(upper).map(|(l, u)| (0.5 * (u + l)) as f32).collect(),
            ),
        };
        let sizes: Vec<usize> = layers.iter().flat_map(|l| [l.weights.len(), l.bias.len()]).collect();
        Ok(Self {
            grads: layers.iter().map(LayerGrads::zeros).collect(),
            adam: Adam::new(&sizes, grad_clip_norm),
            layers,
            chain: ChainGrad::new(chain),
            half_span,
            middle,
            loss: loss.clone(),
            noise_dim: io.noise_dim(),
            threading: Threading::default(),
            cache: Cache::default(),
            scratch: Scratch::default(),
        })
    }

    /// How the products share the threads (the default suits most machines; the benchmark compares both).
    pub fn set_threading(&mut self, threading: Threading) {
        self.threading = threading;
    }

    pub fn input_dim(&self) -> usize {
        POSE_INPUT + self.noise_dim
    }

    pub fn dof(&self) -> usize {
        self.chain.dof()
    }

    /// Adam steps taken.
    pub fn steps(&self) -> i32 {
        self.adam.time()
    }

    /// Forward pass, losses and every parameter's gradient, kept for
    /// [`FastTrainer::apply_gradients`]. A non-finite loss is returned as it
    /// is (the caller decides whether to step).
    pub fn loss_and_gradients(&mut self, batch: &FastBatch<'_>) -> Result<LossParts, TrainError> {
        self.timed_loss_and_gradients(batch, &mut StepProfile::default())
    }

    fn timed_loss_and_gradients(
        &mut self,
        batch: &FastBatch<'_>,
        profile: &mut StepProfile,
    ) -> Result<LossParts, TrainError> {
        let rows = self.check(batch)?;
        let threads = rayon::current_num_threads();
        let started = Instant::now();
        dense::forward(&self.layers, batch.inputs, rows, &mut self.cache, threads, self.threading);
        profile.forward += started.elapsed();
        let started = Instant::now();
        let parts = self.losses(batch, rows);
        profile.fk_and_losses += started.elapsed();
        let started = Instant::now();
        let output_grad = &self.scratch.grad_output_f32;
        dense::backward(&self.layers, &mut self.cache, output_grad, &mut self.grads, threads, self.threading);
        profile.backward += started.elapsed();
        Ok(parts)
    }

    /// [`FastTrainer::step`], adding the time of each phase to `profile`.
    pub fn profiled_step(
        &mut self,
        batch: &FastBatch<'_>,
        lr: f64,
        profile: &mut StepProfile,
    ) -> Result<LossParts, TrainError> {
        let parts = self.timed_loss_and_gradients(batch, profile)?;
        let started = Instant::now();
        self.apply_gradients(lr);
        profile.adam += started.elapsed();
        profile.steps += 1;
        Ok(parts)
    }

    /// Floating-point operations of the dense products per sample and step:
    /// `2 · in · out` each for the forward product, `dW` and (past the first
    /// layer) `dX`.
    pub fn product_flops_per_sample(&self) -> f64 {
        self.layers
            .iter()
            .enumerate()
            .map(|(l, layer)| (2 * layer.inputs * layer.outputs * if l == 0 { 2 } else { 3 }) as f64)
            .sum()
    }

    /// One Adam step with the gradients of the last [`FastTrainer::loss_and_gradients`].
    pub fn apply_gradients(&mut self, lr: f64) {
        let threads = rayon::current_num_threads();
        let params = self.layers.iter_mut().flat_map(|l| [l.weights.as_mut_slice(), l.bias.as_mut_slice()]);
        let grads = self.grads.iter_mut().flat_map(|g| [g.weights.as_mut_slice(), g.bias.as_mut_slice()]);
        self.adam.step(lr, params, grads, threads);
    }

    /// [`FastTrainer::loss_and_gradients`] then [`FastTrainer::apply_gradients`].
    pub fn step(&mut self, batch: &FastBatch<'_>, lr: f64) -> Result<LossParts, TrainError> {
        let parts = self.loss_and_gradients(batch)?;
        self.apply_gradients(lr);
        Ok(parts)
    }

    /// `network` (a CycleIK network of the same shape, e.g. the one this
    /// trainer was built from) with this trainer's weights. Parameter ids and
    /// devices stay; a parameter that required gradients still does.
    pub fn write_into(&self, network: Network) -> Result<Network, TrainError> {
        let Network::CycleIk(mut net) = network else {
            return Err(TrainError::InvalidConfig("the fast training path writes into CycleIK networks only".into()));
        };
        if net.layers.len() != self.layers.len() {
            return Err(TrainError::InvalidConfig("the network has another number of layers".into()));
        }
        for (linear, layer) in net.layers.iter_mut().zip(&self.layers) {
            if linear.weight.val().dims() != [layer.inputs, layer.outputs] {
                return Err(TrainError::InvalidConfig("the network has other layer widths".into()));
            }
            linear.weight = replaced(linear.weight.clone(), &layer.weights, [layer.inputs, layer.outputs]);
            if let Some(bias) = linear.bias.take() {
                linear.bias = Some(replaced(bias, &layer.bias, [layer.outputs]));
            }
        }
        Ok(Network::CycleIk(net))
    }

    fn check(&self, batch: &FastBatch<'_>) -> Result<usize, TrainError> {
        let width = self.input_dim();
        let rows = batch.inputs.len() / width;
        let bad = |what: &str| Err(TrainError::InvalidConfig(format!("fast training batch: {what}")));
        if rows < 1 || batch.inputs.len() != rows * width {
            return bad(&format!("{} input values are not rows of {width}", batch.inputs.len()));
        }
        if batch.positions.len() != rows * 3 || batch.rotations.len() != rows * 9 {
            return bad("targets are not 3 + 9 values per row");
        }
        if batch.variance_rows > rows || (batch.variance_rows > 0 && self.noise_dim == 0) {
            return bad("variance rows need a generator and must be part of the batch");
        }
        Ok(rows)
    }

    /// Loss parts of the cached forward pass; leaves `∂L/∂output` in `scratch.grad_output_f32`.
    fn losses(&mut self, batch: &FastBatch<'_>, rows: usize) -> LossParts {
        let (dof, width, noise_dim) = (self.dof(), self.input_dim(), self.noise_dim);
        let cfg = &self.loss;
        let output = self.cache.output();
        let s = &mut self.scratch;
        s.joints.clear();
        for row in output.chunks_exact(dof) {
            s.joints.extend(row.iter().zip(&self.half_span).zip(&self.middle).map(|((&y, &h), &m)| (y * h + m) as f64));
        }
        s.grad_joints.clear();
        s.grad_joints.resize(rows * dof, 0.0);
        let (position_sum, rotation_sum) = pose_terms(&self.chain, cfg, batch, &s.joints, &mut s.grad_joints, rows);
        let position = position_sum / (3 * rows) as f64;
        let rotation = rotation_sum / rows as f64;
        let mut total = cfg.position_weight * position + cfg.rotation_weight * rotation;
        let zero = (cfg.zero_weight > 0.0 && !cfg.zero_joints.is_empty())
            .then(|| loss::zero(&s.joints, dof, &cfg.zero_joints, cfg.zero_weight, &mut s.grad_joints));
        total += zero.map_or(0.0, |z| cfg.zero_weight * z);

        s.grad_output.clear();
        s.grad_output.extend(s.grad_joints.iter().enumerate().map(|(k, g)| g * self.half_span[k % dof] as f64));
        let variance = (noise_dim > 0 && batch.variance_rows >= 2).then(|| {
            let (r, start) = (batch.variance_rows, rows - batch.variance_rows);
            s.noise.clear();
            for row in batch.inputs[start * width..].chunks_exact(width) {
                s.noise.extend_from_slice(&row[POSE_INPUT..]);
            }
            let grad = &mut s.grad_output[start * dof..];
            let noise = &s.noise[..r * noise_dim];
            loss::diversity(cfg.diversity, &output[start * dof..], noise, dof, noise_dim, cfg.variance_weight, grad)
        });
        total += variance.map_or(0.0, |v| cfg.variance_weight * v);
        s.grad_output_f32.clear();
        s.grad_output_f32.extend(s.grad_output.iter().map(|&g| g as f32));
        LossParts { total, joint_mse: None, position: Some(position), rotation: Some(rotation), zero, variance }
    }
}

/// FK, position and rotation loss of every row: their sums over the rows
/// (position summed over x, y, z too), with the weighted gradient of their
/// means written into `grad_joints`.
fn pose_terms(
    chain: &ChainGrad,
    cfg: &LossConfig,
    batch: &FastBatch<'_>,
    joints: &[f64],
    grad_joints: &mut [f64],
    rows: usize,
) -> (f64, f64) {
    let dof = chain.dof();
    let position_scale = cfg.position_weight / (3 * rows) as f64;
    let rotation_scale = cfg.rotation_weight / rows as f64;
    joints
        .par_chunks(FK_ROWS_PER_TASK * dof)
        .zip(grad_joints.par_chunks_mut(FK_ROWS_PER_TASK * dof))
        .enumerate()
        .map_init(JointFrames::default, |frames, (task, (q, grad))| {
            let mut sums = (0.0, 0.0);
            for (k, (q, grad)) in q.chunks_exact(dof).zip(grad.chunks_exact_mut(dof)).enumerate() {
                let row = task * FK_ROWS_PER_TASK + k;
                let tip = chain.forward(q, frames);
                let (p, gp) = loss::position(cfg.position, tip.position, &batch.positions[row * 3..row * 3 + 3]);
                let (r, gr) = loss::rotation(cfg.rotation, &tip.rotation, &batch.rotations[row * 9..row * 9 + 9]);
                chain.gradient(frames, &tip, gp.map(|v| v * position_scale), &gr.map(|v| v * rotation_scale), grad);
                sums.0 += p;
                sums.1 += r;
            }
            sums
        })
        .reduce(|| (0.0, 0.0), |a, b| (a.0 + b.0, a.1 + b.1))
}

fn values<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, TrainError> {
    tensor.into_data().convert::<f32>().try_into_vec::<f32>().map_err(|e| TrainError::Backend(format!("{e:?}")))
}

/// `param` holding `values` (shape `shape`) on its device, id kept.
fn replaced<const D: usize>(param: Param<Tensor<D>>, values: &[f32], shape: [usize; D]) -> Param<Tensor<D>> {
    param.map(|old| {
        let fresh = Tensor::from_data(TensorData::new(values.to_vec(), shape), &old.device());
        if old.is_require_grad() { fresh.require_grad() } else { fresh }
    })
}

#[cfg(test)]
mod tests;
