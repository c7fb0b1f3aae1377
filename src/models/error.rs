use std::path::PathBuf;

use thiserror::Error;

/// What can go wrong building, saving, loading or running a model.
#[derive(Debug, Error)]
pub enum ModelError {
    #[error("unknown model '{0}'; models: iknet-original, iknet-improved, iknet-focused, cycleik-mlp, cycleik-gan")]
    UnknownModel(String),
    #[error("unknown preset '{0}'; presets: compact, paper-small, paper-full")]
    UnknownPreset(String),
    #[error("{model} has no preset '{preset}' (its architecture is fixed; use compact)")]
    PresetNotAvailable { model: String, preset: String },
    #[error("invalid architecture: {0}")]
    InvalidArchitecture(String),
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}: not a checkpoint (no {file} in it)")]
    NotACheckpoint { path: PathBuf, file: &'static str },
    #[error("{path}: corrupt model card: {reason}")]
    CorruptCard { path: PathBuf, reason: String },
    #[error("{path}: model card format version {found} is not supported (this build reads {supported})")]
    UnsupportedCardVersion { path: PathBuf, found: u32, supported: u32 },
    #[error("{path}: corrupt weights: {reason}")]
    CorruptWeights { path: PathBuf, reason: String },
    #[error("{path}: weights do not fit the architecture in the model card: {reason}")]
    ArchitectureMismatch { path: PathBuf, reason: String },
    #[error("checkpoint is for {found}, not for {expected}")]
    ChainMismatch { expected: String, found: String },
    #[error("{0}")]
    BadInput(String),
}

impl ModelError {
    pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> ModelError + '_ {
        move |source| ModelError::Io { path: path.to_path_buf(), source }
    }
}
