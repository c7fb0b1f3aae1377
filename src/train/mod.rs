//! Training for every model of [`crate::models`], one loop for the command
//! line and the studio's Train panel.
//!
//! Build a [`TrainJob`] (robot, dataset, [`TrainConfig`], checkpoint folder),
//! then either [`spawn`] it and read [`TrainEvent`]s from the handle's channel
//! (cancel with [`TrainHandle::cancel`]), or call [`train`] on the current thread
//! ([`train_observed`] also lets a caller read every validated epoch and stop the run).

mod batches;
mod config;
mod events;
pub mod fast;
pub mod losses;
mod trainer;

use thiserror::Error;

pub use crate::models::DeviceChoice;
pub use config::{DiversityLoss, LossConfig, MAX_VARIANCE_ROWS, PositionLoss, RotationLoss, TrainConfig, TrainEngine};
pub use events::{
    DatasetIdentity, EpochRecord, LossParts, RestartRecord, StopReason, TrainEvent, TrainHistory, TrainSummary,
    Validation,
};
pub(crate) use trainer::panic_message;
pub use trainer::{EpochControl, TrainHandle, TrainJob, TrainOutcome, spawn, train, train_observed};

use crate::data::DataError;
use crate::models::ModelError;

/// Refuses a chain that training cannot follow exactly: the burn engine's
/// differentiable FK (`models::TensorFk`, also used for every run's validation)
/// moves movable joints only, so a chain with mimic joints would train on wrong poses.
pub fn check_trainable(chain: &crate::kinematics::Chain) -> Result<(), TrainError> {
    match chain.mimics.first() {
        None => Ok(()),
        Some(m) => Err(TrainError::InvalidConfig(format!(
            "the chain {} → {} has mimic joint '{}', which the training FK does not follow yet; \
             FK, numeric IK and datasets handle it",
            chain.base, chain.tip, m.name
        ))),
    }
}

#[derive(Debug, Error)]
pub enum TrainError {
    #[error("invalid training configuration: {0}")]
    InvalidConfig(String),
    #[error(transparent)]
    Data(#[from] DataError),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error("training diverged after {restarts} restarts: {reason}")]
    Diverged { restarts: usize, reason: String },
    #[error("tensor backend: {0}")]
    Backend(String),
    #[error("the training thread panicked: {0}")]
    Panicked(String),
}

/// Reads a checkpoint's `history.json`.
pub fn read_history(dir: &std::path::Path) -> Result<TrainHistory, ModelError> {
    let path = dir.join(crate::models::HISTORY_FILE);
    let text = std::fs::read(&path).map_err(ModelError::io(&path))?;
    serde_json::from_slice(&text).map_err(|e| ModelError::CorruptCard { path, reason: e.to_string() })
}
