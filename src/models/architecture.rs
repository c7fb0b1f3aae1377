//! Which network, how wide: the [`Architecture`] stored in the model card, the
//! [`Network`] module it builds, and the presets (SPEC §1, CycleIK Table 3).

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::cycleik::{CycleIkConfig, CycleIkNet};
use super::iknet::{
    IknetFocused, IknetFocusedConfig, IknetImproved, IknetImprovedConfig, IknetOriginal, IknetOriginalConfig,
};
use super::{ModelError, ModelKind, POSE_INPUT, Preset};

/// A network description, serialised in the model card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "network", rename_all = "kebab-case")]
pub enum Architecture {
    IknetOriginal(IknetOriginalConfig),
    IknetImproved(IknetImprovedConfig),
    IknetFocused(IknetFocusedConfig),
    CycleIk(CycleIkConfig),
}

/// Any of the networks, as one burn module.
// One network per value, its layers inline as burn's `Module` derive wants them.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum Network {
    IknetOriginal(IknetOriginal),
    IknetImproved(IknetImproved),
    IknetFocused(IknetFocused),
    CycleIk(CycleIkNet),
}

impl Network {
    /// `[batch, input]` → `[batch, dof]` (raw joints for IKNets, [-1, 1] for CycleIK).
    pub fn forward(&self, input: Tensor<2>) -> Tensor<2> {
        match self {
            Network::IknetOriginal(n) => n.forward(input),
            Network::IknetImproved(n) => n.forward(input),
            Network::IknetFocused(n) => n.forward(input),
            Network::CycleIk(n) => n.forward(input),
        }
    }

    /// Dropout before a batch norm shifts the variance the norm sees in training
    /// from the one it sees in inference, where dropout is off (Li et al. 2019,
    /// "Understanding the disharmony between dropout and batch normalization"):
    /// the Improved IKNet's validation error grew while its training loss fell.
    /// This re-estimates the running statistics from `inputs` (training batches on
    /// an autodiff device) with dropout off. False: the network has nothing to recalibrate.
    pub fn recalibrate_norms(&self, inputs: impl IntoIterator<Item = Tensor<2>>) -> bool {
        let Some(calibrating) = self.without_dropout_before_norms() else { return false };
        for input in inputs {
            drop(calibrating.forward(input));
        }
        true
    }

    /// The network with its dropout off, when dropout feeds a batch norm (the
    /// Improved IKNet); `None` otherwise. The copy shares the norms' running
    /// statistics, so its training-mode forwards re-estimate them for inference.
    pub fn without_dropout_before_norms(&self) -> Option<Network> {
        match self {
            Network::IknetImproved(n) if n.dropout.prob > 0.0 => {
                Some(Network::IknetImproved(crate::models::iknet::IknetImproved {
                    dropout: burn::nn::Dropout { prob: 0.0, ..n.dropout.clone() },
                    ..n.clone()
                }))
            }
            _ => None,
        }
    }
}

impl Architecture {
    /// Builds the module; call [`Architecture::validate`] first on untrusted input.
    pub fn init(&self, device: &Device) -> Network {
        match self {
            Architecture::IknetOriginal(c) => Network::IknetOriginal(c.init(device)),
            Architecture::IknetImproved(c) => Network::IknetImproved(c.init(device)),
            Architecture::IknetFocused(c) => Network::IknetFocused(c.init(device)),
            Architecture::CycleIk(c) => Network::CycleIk(c.init(device)),
        }
    }

    pub fn dof(&self) -> usize {
        match self {
            Architecture::IknetOriginal(c) => c.dof,
            Architecture::IknetImproved(c) => c.dof,
            Architecture::IknetFocused(c) => c.dof,
            Architecture::CycleIk(c) => c.dof,
        }
    }

    pub fn input_dim(&self) -> usize {
        match self {
            Architecture::CycleIk(c) => c.input_dim(),
            _ => POSE_INPUT,
        }
    }

    pub fn noise_dim(&self) -> usize {
        match self {
            Architecture::CycleIk(c) => c.noise_dim,
            _ => 0,
        }
    }

    /// The same network with `noise_dim` noise inputs (CycleIK only; the
    /// IKNets take none and come back unchanged).
    pub fn with_noise_dim(&self, noise_dim: usize) -> Architecture {
        match self {
            Architecture::CycleIk(c) => Architecture::CycleIk(CycleIkConfig { noise_dim, ..c.clone() }),
            other => other.clone(),
        }
    }

    /// Whether this architecture is one `kind` builds.
    pub fn fits_kind(&self, kind: ModelKind) -> bool {
        match (self, kind) {
            (Architecture::IknetOriginal(_), ModelKind::IknetOriginal)
            | (Architecture::IknetImproved(_), ModelKind::IknetImproved)
            | (Architecture::IknetFocused(_), ModelKind::IknetFocused) => true,
            (Architecture::CycleIk(c), ModelKind::CycleikMlp) => c.noise_dim == 0,
            (Architecture::CycleIk(c), ModelKind::CycleikGan) => c.noise_dim > 0,
            _ => false,
        }
    }

    /// Refuses sizes that cannot build a network (zero or absurd widths, tanh
    /// count out of range): a card is untrusted input.
    pub fn validate(&self) -> Result<(), ModelError> {
        const MAX_WIDTH: usize = 32_768;
        const MAX_LAYERS: usize = 64;
        let invalid = |what: String| Err(ModelError::InvalidArchitecture(what));
        let positive = |name: &str, widths: &[usize]| -> Result<(), ModelError> {
            if widths.contains(&0) || widths.iter().any(|&w| w > MAX_WIDTH) || widths.len() > MAX_LAYERS {
                return Err(ModelError::InvalidArchitecture(format!(
                    "{name} must have at most {MAX_LAYERS} layers of width 1..={MAX_WIDTH}: {widths:?}"
                )));
            }
            Ok(())
        };
        if self.dof() == 0 || self.dof() > 64 {
            return invalid(format!("dof {} is outside 1..=64", self.dof()));
        }
        match self {
            Architecture::IknetOriginal(c) => {
                positive("hidden", &c.hidden)?;
                if !(0.0..1.0).contains(&c.dropout) {
                    return invalid(format!("dropout {} is outside [0, 1)", c.dropout));
                }
            }
            Architecture::IknetImproved(c) => {
                positive("width", &[c.width])?;
                if !(0.0..1.0).contains(&c.dropout) {
                    return invalid(format!("dropout {} is outside [0, 1)", c.dropout));
                }
            }
            Architecture::IknetFocused(c) => {
                positive("position branch", &c.position_branch)?;
                positive("orientation branch", &c.orientation_branch)?;
                positive("head", &c.head)?;
            }
            Architecture::CycleIk(c) => {
                positive("hidden", &c.hidden)?;
                if c.n_tanh == 0 || c.n_tanh > c.hidden.len() + 1 {
                    return invalid(format!(
                        "n_tanh {} must count 1..={} layers (the hidden layers and the output)",
                        c.n_tanh,
                        c.hidden.len() + 1
                    ));
                }
                if c.noise_dim > 64 {
                    return invalid(format!("noise_dim {} is above 64", c.noise_dim));
                }
            }
        }
        Ok(())
    }

    /// Number of trainable values (BatchNorm running statistics included).
    pub fn parameter_count(&self) -> usize {
        // Parameters are lazy until used: this allocates nothing.
        self.init(&super::cpu_device()).num_params()
    }

    /// One line for people: `7 → 400 → 300 → … → 4, ReLU + Dropout(0.1)`.
    pub fn describe(&self) -> String {
        let arrows = |widths: &[usize]| widths.iter().map(|w| w.to_string()).collect::<Vec<_>>().join(" → ");
        match self {
            Architecture::IknetOriginal(c) => {
                let w: Vec<usize> = [POSE_INPUT].into_iter().chain(c.hidden.iter().copied()).chain([c.dof]).collect();
                format!("{}, ReLU + Dropout({}) after every hidden layer", arrows(&w), c.dropout)
            }
            Architecture::IknetImproved(c) => format!(
                "7 → {w} (Linear–BN–ReLU, Dropout({d})) → {b} residual blocks of width {w} (Linear–BN–ReLU–Linear–BN + skip, ReLU) → {dof}, Kaiming-normal init",
                w = c.width,
                d = c.dropout,
                b = c.blocks,
                dof = c.dof
            ),
            Architecture::IknetFocused(c) => format!(
                "position 3 → {} and orientation 4 → {} (ReLU), concatenated → {} (ReLU) → {}",
                arrows(&c.position_branch),
                arrows(&c.orientation_branch),
                arrows(&c.head),
                c.dof
            ),
            Architecture::CycleIk(c) => {
                let w: Vec<usize> =
                    [c.input_dim()].into_iter().chain(c.hidden.iter().copied()).chain([c.dof]).collect();
                let noise = if c.noise_dim > 0 { format!(" (pose 7 + noise {})", c.noise_dim) } else { String::new() };
                format!(
                    "{}{noise}, {}, last {} layers tanh, output mapped to joint limits",
                    arrows(&w),
                    c.hidden_activation().torch_name(),
                    c.n_tanh
                )
            }
        }
    }
}

/// A preset: the architecture and the training defaults that go with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PresetSpec {
    pub model: ModelKind,
    pub preset: Preset,
    pub architecture: Architecture,
    pub batch_size: usize,
    pub learning_rate: f64,
}

/// CycleIK paper, Table 3.
const MLP_SMALL: [usize; 8] = [3380, 2250, 3240, 2270, 1840, 30, 60, 220];
const MLP_FULL: [usize; 8] = [2200, 2400, 2400, 1900, 250, 220, 30, 380];
const GAN_SMALL: [usize; 8] = [790, 990, 3120, 1630, 300, 1660, 730, 540];
const GAN_FULL: [usize; 8] = [1180, 1170, 2500, 1290, 700, 970, 440, 770];

/// Compact CycleIK hidden layers: ~0.66 M parameters, a few minutes per
/// hundred thousand samples on two CPU cores.
const CYCLEIK_COMPACT: [usize; 4] = [512, 512, 512, 256];

/// The preset `preset` of `model` for a chain of `dof` joints.
pub fn preset_spec(model: ModelKind, preset: Preset, dof: usize) -> Result<PresetSpec, ModelError> {
    if !model.presets().contains(&preset) {
        return Err(ModelError::PresetNotAvailable { model: model.name().into(), preset: preset.name().into() });
    }
    let cycleik = |hidden: &[usize], n_tanh: usize, noise_dim: usize| {
        Architecture::CycleIk(CycleIkConfig::new(dof, hidden.to_vec(), n_tanh).with_noise_dim(noise_dim))
    };
    // (architecture, batch size, learning rate)
    let (architecture, batch_size, learning_rate) = match (model, preset) {
        // IKNet study: Adam lr 0.01 for the original; the improved (batch norms, residual
        // blocks) and focused networks settle better at 3e-3 (checkpoints/README.md).
        (ModelKind::IknetOriginal, _) => (Architecture::IknetOriginal(IknetOriginalConfig::new(dof)), 256, 0.01),
        (ModelKind::IknetImproved, _) => (Architecture::IknetImproved(IknetImprovedConfig::new(dof)), 256, 3e-3),
        (ModelKind::IknetFocused, _) => (Architecture::IknetFocused(IknetFocusedConfig::new(dof)), 256, 3e-3),
        (ModelKind::CycleikMlp, Preset::Compact) => (cycleik(&CYCLEIK_COMPACT, 3, 0), 256, 1e-3),
        (ModelKind::CycleikMlp, Preset::PaperSmall) => (cycleik(&MLP_SMALL, 3, 0), 150, 1.6e-4),
        (ModelKind::CycleikMlp, Preset::PaperFull) => (cycleik(&MLP_FULL, 3, 0), 300, 1e-4),
        (ModelKind::CycleikGan, Preset::Compact) => (cycleik(&CYCLEIK_COMPACT, 2, 8), 256, 1e-3),
        (ModelKind::CycleikGan, Preset::PaperSmall) => (cycleik(&GAN_SMALL, 3, 8), 350, 2.1e-4),
        (ModelKind::CycleikGan, Preset::PaperFull) => (cycleik(&GAN_FULL, 2, 10), 300, 1.9e-4),
        (_, Preset::Custom) => {
            return Err(ModelError::PresetNotAvailable { model: model.name().into(), preset: preset.name().into() });
        }
    };
    architecture.validate()?;
    Ok(PresetSpec { model, preset, architecture, batch_size, learning_rate })
}
