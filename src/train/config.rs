//! Training hyper-parameters, serialised into the training history.

use serde::{Deserialize, Serialize};

use super::TrainError;
use crate::models::{Architecture, DeviceChoice, ModelError, ModelKind, Preset, preset_spec};
use crate::robots::{NetworkSection, RobotConfig, Workspace};

/// Position term of the CycleIK loss, on positions in metres.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum PositionLoss {
    /// Mean absolute error over x, y, z.
    L1,
    /// Huber-like: quadratic below `beta` metres, linear above.
    SmoothL1 { beta: f64 },
}

/// Rotation term of the CycleIK loss, between the reached and the target orientation.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RotationLoss {
    /// Frobenius norm ‖R̂ − R‖ = 2√2 · sin(θ/2): linear in the angle near 0,
    /// computed without cancellation, so it keeps a gradient at small errors.
    Chordal,
    /// `1 − |⟨q̂, q⟩|` of the two unit quaternions.
    QuaternionDistance,
    /// The geodesic angle θ itself (rad), as 2·asin(‖R̂ − R‖ / 2√2).
    Geodesic,
}

/// The generator's spread term.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum DiversityLoss {
    /// The CycleIK paper's `MSE(var(Θ) − var(Z))`: every joint is asked for
    /// the noise's variance, also joints that cannot move for the pose.
    PaperVariance,
    /// A hinge on the root of the mean per-joint variance of the outputs ([-1, 1] units):
    /// a push only while the spread is below `target_std`.
    SpreadHinge { target_std: f64 },
}

impl DiversityLoss {
    /// The default for new generators: a spread that the self-motion of a
    /// redundant arm can give without leaving the pose.
    pub const DEFAULT_SPREAD_STD: f64 = 0.1;
    pub const DEFAULT: DiversityLoss = DiversityLoss::SpreadHinge { target_std: Self::DEFAULT_SPREAD_STD };
}

fn paper_variance() -> DiversityLoss {
    // Histories written before the choice existed used the paper's term.
    DiversityLoss::PaperVariance
}

/// Weighted CycleIK loss: position + rotation + zero-controller (+ variance for the generator).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LossConfig {
    pub position: PositionLoss,
    pub rotation: RotationLoss,
    pub position_weight: f64,
    pub rotation_weight: f64,
    /// MSE of the joints listed in `zero_joints` (raw values) towards 0.
    pub zero_weight: f64,
    pub zero_joints: Vec<usize>,
    /// Generator: the spread term on one pose repeated `variance_batch` times.
    pub variance_weight: f64,
    #[serde(default = "paper_variance")]
    pub diversity: DiversityLoss,
    /// Rows of the repeated pose; `None`: the batch size, at most [`DEFAULT_VARIANCE_ROWS_MAX`].
    pub variance_batch: Option<usize>,
}

/// The default spread rows stop here: a batch of a million would otherwise ask for
/// gigabytes per step through a default nobody chose.
pub const DEFAULT_VARIANCE_ROWS_MAX: usize = 1024;
/// Rows of the repeated pose anyone may ask for (100,000 already take ~4 GB per step).
pub const MAX_VARIANCE_ROWS: usize = 100_000;

impl LossConfig {
    /// Rows of the generator's repeated pose for batches of `batch_size`.
    pub fn variance_rows(&self, batch_size: usize) -> usize {
        self.variance_batch.unwrap_or(batch_size.min(DEFAULT_VARIANCE_ROWS_MAX))
    }

    /// NICOL right arm reference for the MLP: position 9, orientation 2, zero-controller 2.
    pub fn mlp_reference() -> Self {
        Self {
            position: PositionLoss::L1,
            rotation: RotationLoss::Chordal,
            position_weight: 9.0,
            rotation_weight: 2.0,
            zero_weight: 2.0,
            zero_joints: Vec::new(),
            variance_weight: 0.0,
            diversity: DiversityLoss::DEFAULT,
            variance_batch: None,
        }
    }

    /// Generator: position 100, orientation 20 (the paper's), with the spread
    /// hinge at weight 25 (the ratio to the position weight the shipped
    /// generator was trained with, 10 : 40).
    pub fn gan_reference() -> Self {
        Self {
            position_weight: 100.0,
            rotation_weight: 20.0,
            zero_weight: 0.0,
            variance_weight: 25.0,
            ..Self::mlp_reference()
        }
    }

    /// The CycleIK paper's generator loss: position 100, orientation 20,
    /// `MSE(var(Θ) − var(Z))` at weight 80.
    pub fn paper_gan() -> Self {
        Self { variance_weight: 80.0, diversity: DiversityLoss::PaperVariance, ..Self::gan_reference() }
    }

    pub fn for_model(model: ModelKind) -> Self {
        if model.is_generative() { Self::gan_reference() } else { Self::mlp_reference() }
    }
}

/// Which code computes the training steps.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum TrainEngine {
    /// The fused CPU engine for CycleIK networks on the CPU, burn otherwise.
    #[default]
    Auto,
    /// burn's autodiff (every model, CPU or GPU).
    Burn,
    /// The fused CPU engine ([`crate::train::fast`]): dense layers through a
    /// GEMM with AVX-512/AVX2 kernels chosen at run time, an analytic FK gradient.
    Fast,
}

/// Everything a training run is told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Start from this checkpoint's weights (same architecture and chain) instead of a fresh init.
    #[serde(default)]
    pub init_from: Option<std::path::PathBuf>,
    pub model: ModelKind,
    pub preset: Preset,
    /// Replaces the preset's network (e.g. a tiny one for tests).
    pub architecture: Option<Architecture>,
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// The learning rate falls linearly, at the end of each epoch, to
    /// `learning_rate × lr_end_factor` for the last epoch.
    pub lr_end_factor: f64,
    /// Clip each parameter's gradient to this L2 norm (burn's norm clipping).
    pub grad_clip_norm: Option<f32>,
    pub seed: u64,
    /// CycleIK losses (unused by the supervised IKNets, which use joint MSE).
    pub loss: LossConfig,
    /// Divergence handling: roll back to the last good state and lower the
    /// learning rate, at most this many times.
    pub max_restarts: usize,
    pub restart_lr_factor: f64,
    /// A step loss above `explode_factor ×` its running average counts as divergence.
    pub explode_factor: f64,
    /// A validation loss above `val_explode_factor ×` the best so far (or the
    /// starting network's) counts as divergence too: it catches runs whose
    /// loss grows without ever becoming infinite.
    #[serde(default = "default_val_explode_factor")]
    pub val_explode_factor: f64,
    /// Stop after this many epochs without a better validation loss (never
    /// in the first half of the run, while the learning rate is still high).
    pub early_stopping_patience: Option<usize>,
    /// Validation uses at most this many samples of the validation split.
    pub val_max_samples: usize,
    /// Cap on steps per epoch (quick runs and tests); `None`: the whole split.
    pub max_steps_per_epoch: Option<usize>,
    /// Normalisation box for CycleIK; `None`: the dataset's workspace, or the
    /// bounding box of its training positions.
    pub workspace: Option<Workspace>,
    pub device: DeviceChoice,
    #[serde(default)]
    pub engine: TrainEngine,
    /// Test hook: the loss of this global step (0-based) is made NaN, once.
    /// Not part of the recorded configuration.
    #[serde(skip)]
    pub inject_nan_at_step: Option<usize>,
}

fn default_val_explode_factor() -> f64 {
    // Far above the pose-loss cost of a generator's spread (seeded by an MLP).
    30.0
}

impl TrainConfig {
    /// Defaults for `model` with the batch size and learning rate of `preset`.
    pub fn new(model: ModelKind, preset: Preset) -> Result<Self, ModelError> {
        let spec = preset_spec(model, preset, 1)?;
        Ok(Self {
            init_from: None,
            model,
            preset,
            architecture: None,
            epochs: 20,
            batch_size: spec.batch_size,
            learning_rate: spec.learning_rate,
            // The IKNets' joint regression keeps gaining to the end of a long decay.
            lr_end_factor: if model.is_supervised() { 0.01 } else { 0.1 },
            grad_clip_norm: None,
            seed: 0,
            loss: LossConfig::for_model(model),
            // The paper allowed 2 restarts for the MLP and 9 for the GAN.
            max_restarts: if model.is_generative() { 9 } else { 2 },
            restart_lr_factor: 0.5,
            explode_factor: 100.0,
            val_explode_factor: default_val_explode_factor(),
            early_stopping_patience: model.is_supervised().then_some(10),
            val_max_samples: 2_000,
            max_steps_per_epoch: None,
            workspace: None,
            device: DeviceChoice::Cpu,
            engine: TrainEngine::Auto,
            inject_nan_at_step: None,
        })
    }

    /// Defaults from a CycleIK robot config: its `IKNet:` section for
    /// cycleik-mlp, `GAN:` for cycleik-gan (`layers`, `nbr_tanh`, `activation`
    /// and `noise_vector_size` replace the preset's network, `training.batch_size`
    /// and `training.lr` its batch and learning rate, unless `keep_preset`; the
    /// loss weights always), `zero_joints_goal` and the workspace box (the
    /// normalisation box). Apply explicit options after this. Returns a line
    /// for each part of the config that this model does not use.
    pub fn apply_robot_config(
        &mut self,
        config: &RobotConfig,
        dof: usize,
        keep_preset: bool,
    ) -> Result<Vec<String>, TrainError> {
        let mut notes = Vec::new();
        let (section, name, other) = match self.model {
            ModelKind::CycleikMlp => (config.mlp.as_ref(), "IKNet", config.gan.as_ref().map(|_| "GAN")),
            ModelKind::CycleikGan => (config.gan.as_ref(), "GAN", config.mlp.as_ref().map(|_| "IKNet")),
            model => return Ok(unused_by_iknet_study(config, model)),
        };
        if let Some(other) = other {
            notes.push(format!("config: the {other} section is not used for {}", self.model));
        }
        if !config.zero_joints.is_empty() {
            self.loss.zero_joints = config.zero_joints.clone();
        }
        if let Some(w) = &config.workspace {
            self.workspace = Some(w.clone());
        }
        let Some(net) = section else {
            notes.push(format!("config: no {name} section: the preset's network and loss weights"));
            return Ok(notes);
        };
        self.loss.position_weight = net.position_weight.unwrap_or(self.loss.position_weight);
        self.loss.rotation_weight = net.orientation_weight.unwrap_or(self.loss.rotation_weight);
        self.loss.zero_weight = net.zero_controller_weight.unwrap_or(self.loss.zero_weight);
        let shapes_network =
            net.layers.is_some() || net.n_tanh.is_some() || net.activation.is_some() || net.noise_dim.is_some();
        if keep_preset {
            if shapes_network || net.batch_size.is_some() || net.learning_rate.is_some() {
                notes.push(format!(
                    "config: --preset {} given: the {name} section's network, batch size and learning rate are not used",
                    self.preset
                ));
            }
            return Ok(notes);
        }
        self.batch_size = net.batch_size.unwrap_or(self.batch_size);
        self.learning_rate = net.learning_rate.unwrap_or(self.learning_rate);
        if shapes_network {
            self.architecture = Some(self.section_network(net, name, dof, &mut notes)?);
        }
        Ok(notes)
    }

    /// The preset's CycleIK network with what the section sets of it.
    fn section_network(
        &self,
        net: &NetworkSection,
        name: &str,
        dof: usize,
        notes: &mut Vec<String>,
    ) -> Result<Architecture, TrainError> {
        let Architecture::CycleIk(mut c) = preset_spec(self.model, self.preset, dof)?.architecture else {
            unreachable!("CycleIK presets are CycleIK networks")
        };
        c.hidden = net.layers.clone().unwrap_or(c.hidden);
        c.n_tanh = net.n_tanh.unwrap_or(c.n_tanh);
        if let Some(a) = net.activation {
            // None is GELU (as every preset network).
            c.activation = (a != crate::models::HiddenActivation::Gelu).then_some(a);
        }
        match (net.noise_dim, self.model) {
            (Some(n), ModelKind::CycleikGan) => c.noise_dim = n,
            (Some(_), _) => {
                notes.push(format!("config: {name}.noise_vector_size is not used (the MLP takes no noise)"))
            }
            (None, _) => {}
        }
        // More tanh layers than the network has: the config's own mistake.
        if c.n_tanh == 0 || c.n_tanh > c.hidden.len() + 1 {
            return Err(TrainError::InvalidConfig(format!(
                "config {name}: nbr_tanh {} does not fit {} hidden layers",
                c.n_tanh,
                c.hidden.len()
            )));
        }
        let architecture = Architecture::CycleIk(c);
        architecture.validate()?;
        Ok(architecture)
    }

    pub(crate) fn validate(&self) -> Result<(), TrainError> {
        let bad = |what: String| Err(TrainError::InvalidConfig(what));
        if self.epochs == 0 {
            return bad("epochs must be at least 1".into());
        }
        if self.batch_size < 2 {
            return bad(format!("batch size {} is below 2", self.batch_size));
        }
        if !(self.learning_rate.is_finite() && self.learning_rate > 0.0) {
            return bad(format!("learning rate {} is not a positive number", self.learning_rate));
        }
        if !(self.lr_end_factor > 0.0 && self.lr_end_factor <= 1.0) {
            return bad(format!("lr_end_factor {} is outside (0, 1]", self.lr_end_factor));
        }
        if !(self.restart_lr_factor > 0.0 && self.restart_lr_factor <= 1.0) {
            return bad(format!("restart_lr_factor {} is outside (0, 1]", self.restart_lr_factor));
        }
        for (name, factor) in [("explode_factor", self.explode_factor), ("val_explode_factor", self.val_explode_factor)]
        {
            if factor.is_nan() || factor <= 1.0 {
                return bad(format!("{name} {factor} must exceed 1"));
            }
        }
        if let Some(clip) = self.grad_clip_norm
            && !(clip.is_finite() && clip > 0.0)
        {
            return bad(format!("gradient clipping norm {clip} is not a positive number"));
        }
        if self.val_max_samples == 0 {
            return bad("val_max_samples must be at least 1".into());
        }
        if self.loss.variance_batch.is_some_and(|b| !(2..=MAX_VARIANCE_ROWS).contains(&b)) {
            return bad(format!("variance_batch must be 2 to {MAX_VARIANCE_ROWS}"));
        }
        let weights =
            [self.loss.position_weight, self.loss.rotation_weight, self.loss.zero_weight, self.loss.variance_weight];
        if weights.iter().any(|w| !(w.is_finite() && *w >= 0.0)) {
            return bad(format!("loss weights must be finite and ≥ 0: {weights:?}"));
        }
        if let DiversityLoss::SpreadHinge { target_std } = self.loss.diversity
            && !(target_std.is_finite() && target_std > 0.0 && target_std <= 1.0)
        {
            return bad(format!("spread target {target_std} is outside (0, 1]"));
        }
        if let PositionLoss::SmoothL1 { beta } = self.loss.position
            && !(beta.is_finite() && beta > 0.0)
        {
            return bad(format!("smooth-L1 beta {beta} is not a positive number"));
        }
        Ok(())
    }

    /// Learning rate of `epoch` (0-based) before restarts lower it.
    pub fn scheduled_lr(&self, epoch: usize) -> f64 {
        let progress = if self.epochs > 1 { epoch.min(self.epochs - 1) as f64 / (self.epochs - 1) as f64 } else { 0.0 };
        self.learning_rate * (1.0 - (1.0 - self.lr_end_factor) * progress)
    }
}

/// The IKNet-study models take none of a config's CycleIK settings: which ones it had.
fn unused_by_iknet_study(config: &RobotConfig, model: ModelKind) -> Vec<String> {
    let mut unused: Vec<&str> = Vec::new();
    unused.extend(config.mlp.as_ref().map(|_| "IKNet"));
    unused.extend(config.gan.as_ref().map(|_| "GAN"));
    if !config.zero_joints.is_empty() {
        unused.push("zero_joints_goal");
    }
    if config.workspace.is_some() {
        unused.push("workspace (normalises CycleIK inputs only)");
    }
    if unused.is_empty() {
        return Vec::new();
    }
    vec![format!("config: not used for {model} (CycleIK settings): {}", unused.join(", "))]
}
