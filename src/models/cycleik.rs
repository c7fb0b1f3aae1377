//! CycleIK networks for NICOL (SPEC §1): normalised pose (plus uniform noise
//! for the GAN) in, GELU hidden layers, the last `n_tanh` layers tanh (the
//! output layer included), so every output lies in [-1, 1]; the caller maps
//! that range linearly onto the joint limits.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::{gelu, tanh};
use burn::tensor::{Distribution, Tensor};

use super::iknet::widths_chain;

/// One network for both CycleIK variants: the MLP has `noise_dim = 0`, the
/// generator ("GAN") takes `noise_dim` uniform values after the pose.
#[derive(Config, Debug, PartialEq)]
pub struct CycleIkConfig {
    pub dof: usize,
    pub hidden: Vec<usize>,
    /// Layers, counted from the output (included), that use tanh; 1 ..= hidden + 1.
    pub n_tanh: usize,
    #[config(default = 0)]
    pub noise_dim: usize,
}

#[derive(Module, Debug)]
pub struct CycleIkNet {
    /// Hidden layers then the output layer.
    pub layers: Vec<Linear>,
    pub n_tanh: usize,
}

impl CycleIkConfig {
    pub fn input_dim(&self) -> usize {
        super::POSE_INPUT + self.noise_dim
    }

    /// The widths are checked by [`super::Architecture::validate`] before init.
    pub fn init(&self, device: &burn::tensor::Device) -> CycleIkNet {
        let mut layers: Vec<Linear> =
            widths_chain(self.input_dim(), &self.hidden).map(|(i, o)| LinearConfig::new(i, o).init(device)).collect();
        let last = self.hidden.last().copied().unwrap_or(self.input_dim());
        layers.push(LinearConfig::new(last, self.dof).init(device));
        CycleIkNet { layers, n_tanh: self.n_tanh }
    }
}

impl CycleIkNet {
    /// `[batch, 7 + noise]` → `[batch, dof]` in [-1, 1].
    pub fn forward(&self, input: Tensor<2>) -> Tensor<2> {
        let first_tanh = self.layers.len().saturating_sub(self.n_tanh);
        self.layers.iter().enumerate().fold(input, |x, (i, layer)| {
            let y = layer.forward(x);
            if i >= first_tanh { tanh(y) } else { gelu(y) }
        })
    }
}

impl CycleIkNet {
    /// The generator that starts as this MLP: `noise_dim` more inputs with
    /// small first-layer weights, so it answers close to the MLP and already
    /// spreads a little. (Zero weights would be a saddle of the variance loss:
    /// no spread, no gradient towards it.)
    pub fn with_noise_inputs(mut self, noise_dim: usize) -> Self {
        const NOISE_WEIGHT: f64 = 0.1;
        if let Some(first) = self.layers.first_mut() {
            let weight = first.weight.val();
            let [_, outputs] = weight.dims();
            let noise = Tensor::random(
                [noise_dim, outputs],
                Distribution::Uniform(-NOISE_WEIGHT, NOISE_WEIGHT),
                &weight.device(),
            );
            // Detached: a new leaf for training, not a result of the old one.
            first.weight = Param::from_tensor(Tensor::cat(vec![weight, noise], 0).detach());
        }
        self
    }
}
