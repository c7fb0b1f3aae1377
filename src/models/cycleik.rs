//! CycleIK networks for NICOL (SPEC §1): normalised pose (plus uniform noise
//! for the GAN) in, GELU hidden layers (or another [`HiddenActivation`] for
//! networks imported from CycleIK configs that use one), the last `n_tanh`
//! layers tanh (the output layer included), so every output lies in [-1, 1];
//! the caller maps that range linearly onto the joint limits.

use burn::config::Config;
use burn::module::{Module, Param};
use burn::nn::{Linear, LinearConfig};
use burn::tensor::activation::{celu, gelu, leaky_relu, relu, selu, tanh};
use burn::tensor::{Distribution, Tensor};
use serde::{Deserialize, Serialize};

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
    /// The hidden layers' activation; `None` (cards written before the
    /// field existed, and every network trained here) is GELU.
    pub activation: Option<HiddenActivation>,
}

/// Activation of the hidden layers before the tanh ones, with PyTorch's
/// default parameters (the activations CycleIK's configs name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum HiddenActivation {
    #[default]
    Gelu,
    Relu,
    /// Negative slope 0.01.
    #[value(alias = "leakyrelu")]
    LeakyRelu,
    /// α = 1.
    Celu,
    Selu,
}

impl HiddenActivation {
    /// PyTorch's `torch.nn.LeakyReLU()` default slope.
    pub const LEAKY_SLOPE: f64 = 0.01;

    pub fn apply(self, x: Tensor<2>) -> Tensor<2> {
        match self {
            Self::Gelu => gelu(x),
            Self::Relu => relu(x),
            Self::LeakyRelu => leaky_relu(x, Self::LEAKY_SLOPE),
            Self::Celu => celu(x, 1.0),
            Self::Selu => selu(x),
        }
    }

    /// PyTorch's class name, for people.
    pub fn torch_name(self) -> &'static str {
        match self {
            Self::Gelu => "GELU",
            Self::Relu => "ReLU",
            Self::LeakyRelu => "LeakyReLU",
            Self::Celu => "CELU",
            Self::Selu => "SELU",
        }
    }
}

#[derive(Module, Debug)]
pub struct CycleIkNet {
    /// Hidden layers then the output layer.
    pub layers: Vec<Linear>,
    pub n_tanh: usize,
    #[module(skip)]
    pub activation: HiddenActivation,
}

impl CycleIkConfig {
    pub fn input_dim(&self) -> usize {
        super::POSE_INPUT + self.noise_dim
    }

    pub fn hidden_activation(&self) -> HiddenActivation {
        self.activation.unwrap_or_default()
    }

    /// The widths are checked by [`super::Architecture::validate`] before init.
    pub fn init(&self, device: &burn::tensor::Device) -> CycleIkNet {
        let mut layers: Vec<Linear> =
            widths_chain(self.input_dim(), &self.hidden).map(|(i, o)| LinearConfig::new(i, o).init(device)).collect();
        let last = self.hidden.last().copied().unwrap_or(self.input_dim());
        layers.push(LinearConfig::new(last, self.dof).init(device));
        CycleIkNet { layers, n_tanh: self.n_tanh, activation: self.hidden_activation() }
    }
}

impl CycleIkNet {
    /// `[batch, 7 + noise]` → `[batch, dof]` in [-1, 1].
    pub fn forward(&self, input: Tensor<2>) -> Tensor<2> {
        let first_tanh = self.layers.len().saturating_sub(self.n_tanh);
        self.layers.iter().enumerate().fold(input, |x, (i, layer)| {
            let y = layer.forward(x);
            if i >= first_tanh { tanh(y) } else { self.activation.apply(y) }
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
