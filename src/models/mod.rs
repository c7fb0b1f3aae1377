//! Neural IK models in burn (SPEC §1): the three IKNets and the CycleIK MLP and
//! generator, their presets, the model card, checkpoints and inference.
//!
//! * [`Architecture`] describes a network (serialised in the model card);
//!   `init(&device)` builds the [`Network`] module.
//! * [`IoMapping`] says how poses become inputs and outputs become joints.
//! * [`TensorFk`] is the differentiable forward kinematics the CycleIK losses use.
//! * [`save_checkpoint`] / [`LoadedModel::load`] write and read a checkpoint
//!   folder (`weights.bpk`, `card.json`, `history.json`); [`LoadedModel::infer`]
//!   is the inference entry point for solvers and the viewer.

mod architecture;
mod card;
mod checkpoint;
mod cycleik;
mod error;
pub(crate) mod fast;
mod iknet;
mod io;
mod kind;
mod tensor_fk;
mod torch_import;

pub use architecture::{Architecture, Network, PresetSpec, preset_spec};
pub use card::{CARD_FORMAT_VERSION, ChainCard, ModelCard, WeightsCard};
pub use checkpoint::{
    CARD_FILE, HISTORY_FILE, LoadedModel, WEIGHTS_FILE, read_checkpoint, read_checkpoint_card, save_checkpoint,
};
pub use cycleik::{CycleIkConfig, CycleIkNet, HiddenActivation};
pub use error::ModelError;
pub use fast::{Activation, DenseLayer, FastMlp, Precision, Skip};
pub use iknet::{
    IknetFocused, IknetFocusedConfig, IknetImproved, IknetImprovedConfig, IknetOriginal, IknetOriginalConfig,
    ResidualBlock,
};
pub use io::{InputEncoding, IoMapping, NoiseSpec, OutputDecoding, QuaternionInput};
pub use kind::{ModelKind, Preset};
pub use tensor_fk::{FkOutput, TensorFk, quaternions_to_matrices};
pub use torch_import::{TorchImport, import_torch};

/// Values of a pose input: `x y z qx qy qz qw`.
pub const POSE_INPUT: usize = 7;

/// The CPU device models run on: burn's pure-Rust `flex` backend.
pub fn cpu_device() -> burn::tensor::Device {
    burn::tensor::Device::flex()
}

/// Where tensors live, as the command line names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// burn's pure-Rust `flex` backend.
    #[default]
    Cpu,
    /// burn's wgpu backend (cargo feature `gpu`).
    Gpu,
}

impl DeviceChoice {
    pub fn device(self) -> Result<burn::tensor::Device, ModelError> {
        match self {
            DeviceChoice::Cpu => Ok(cpu_device()),
            #[cfg(feature = "gpu")]
            DeviceChoice::Gpu => Ok(burn::tensor::Device::wgpu(Default::default())),
            #[cfg(not(feature = "gpu"))]
            DeviceChoice::Gpu => {
                Err(ModelError::BadInput("this build has no GPU backend (build with the cargo feature `gpu`)".into()))
            }
        }
    }
}
