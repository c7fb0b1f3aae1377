//! What a training run reports while it runs (events) and keeps (history).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::TrainConfig;
use crate::data::Dataset;
use crate::models::{ModelKind, Preset};

/// Loss terms of one step or the mean of an epoch; a term the model does not
/// use is `None`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LossParts {
    /// The weighted sum that is minimised.
    pub total: f64,
    /// IKNet: mean squared joint error (raw units).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub joint_mse: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub position: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rotation: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub zero: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variance: Option<f64>,
}

impl LossParts {
    pub(crate) fn accumulate(&mut self, other: &LossParts) {
        fn add(a: &mut Option<f64>, b: Option<f64>) {
            if let Some(b) = b {
                *a = Some(a.unwrap_or(0.0) + b);
            }
        }
        self.total += other.total;
        add(&mut self.joint_mse, other.joint_mse);
        add(&mut self.position, other.position);
        add(&mut self.rotation, other.rotation);
        add(&mut self.zero, other.zero);
        add(&mut self.variance, other.variance);
    }

    pub(crate) fn scaled(&self, factor: f64) -> LossParts {
        let s = |v: Option<f64>| v.map(|v| v * factor);
        LossParts {
            total: self.total * factor,
            joint_mse: s(self.joint_mse),
            position: s(self.position),
            rotation: s(self.rotation),
            zero: s(self.zero),
            variance: s(self.variance),
        }
    }
}

/// Validation after an epoch, on the validation split, with the f64 FK.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Validation {
    /// The training objective on the validation samples (no variance term):
    /// what early stopping and best-model selection use.
    pub loss: f64,
    pub position_mm: f64,
    pub orientation_deg: f64,
    /// Share of samples within 10 mm and 20° (SPEC §4).
    pub success_rate: f64,
    pub samples: usize,
}

/// One finished epoch.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EpochRecord {
    /// 0-based.
    pub epoch: usize,
    pub train_loss: f64,
    pub loss_parts: LossParts,
    pub validation: Validation,
    /// The learning rate this epoch used.
    pub learning_rate: f64,
    pub steps: usize,
    pub seconds: f64,
    pub samples_per_second: f64,
    /// Estimated time left at the end of this epoch.
    pub eta_seconds: f64,
    /// Best validation loss so far.
    pub improved: bool,
}

/// A rollback after divergence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RestartRecord {
    /// Epoch and global step where divergence was seen.
    pub epoch: usize,
    pub step: usize,
    pub reason: String,
    /// The epoch training resumes from (the one after the last good state).
    pub resume_epoch: usize,
    /// Learning-rate factor from now on (product of every restart's factor).
    pub lr_factor: f64,
    /// Restarts so far, this one included.
    pub restarts: usize,
}

/// Which data a model was trained on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetIdentity {
    pub path: Option<PathBuf>,
    pub robot: String,
    pub count: usize,
    pub seed: Option<u64>,
    pub workspace: Option<String>,
    pub source: String,
    pub train: usize,
    pub val: usize,
}

impl DatasetIdentity {
    pub fn of(dataset: &Dataset, path: Option<PathBuf>) -> Self {
        let meta = &dataset.meta;
        Self {
            path,
            robot: meta.robot.clone(),
            count: meta.count,
            seed: meta.seed,
            workspace: meta.workspace.as_ref().map(|w| w.name.clone()),
            source: meta.source.clone(),
            train: meta.splits.train.len(),
            val: meta.splits.val.len(),
        }
    }
}

/// Why a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    /// Every epoch ran.
    Completed,
    /// No validation improvement for the configured patience.
    EarlyStopped,
    Cancelled,
    /// The epoch observer asked the run to end (a tuner's pruner).
    Stopped,
}

/// `history.json` of a checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainHistory {
    pub model: ModelKind,
    pub preset: Preset,
    pub robot: String,
    pub dataset: DatasetIdentity,
    pub config: TrainConfig,
    pub parameter_count: usize,
    pub device: String,
    pub threads: usize,
    pub epochs: Vec<EpochRecord>,
    pub restarts: Vec<RestartRecord>,
    /// The epoch whose weights the checkpoint holds.
    pub best_epoch: Option<usize>,
    pub stop: Option<StopReason>,
    pub steps: usize,
    pub samples_seen: usize,
    pub wall_seconds: f64,
    /// Training samples per second over the whole run (validation excluded).
    pub samples_per_second: f64,
}

impl TrainHistory {
    pub fn best(&self) -> Option<&EpochRecord> {
        self.best_epoch.and_then(|e| self.epochs.iter().rev().find(|r| r.epoch == e))
    }
}

/// The end of a run, for people and scripts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainSummary {
    pub stop: StopReason,
    pub epochs_run: usize,
    pub best_epoch: Option<usize>,
    pub best: Option<Validation>,
    pub restarts: usize,
    pub wall_seconds: f64,
    pub samples_per_second: f64,
    pub checkpoint: Option<PathBuf>,
    /// The checkpoint that was already in the output folder, validated on this run's data,
    /// when it beat every epoch of this run: it was left as it was.
    #[serde(default)]
    pub kept: Option<Validation>,
}

/// Progress of a run, sent over a `std::sync::mpsc` channel.
#[derive(Debug, Clone, PartialEq)]
pub enum TrainEvent {
    Started {
        model: ModelKind,
        preset: Preset,
        parameter_count: usize,
        epochs: usize,
        steps_per_epoch: usize,
        train_samples: usize,
        val_samples: usize,
        device: String,
    },
    Step {
        epoch: usize,
        /// Step within the epoch, 0-based.
        step: usize,
        steps_per_epoch: usize,
        /// Steps since the start, 0-based, restarts included.
        global_step: usize,
        loss: LossParts,
        learning_rate: f64,
    },
    Epoch(EpochRecord),
    Restart(RestartRecord),
    /// A checkpoint (the best model so far) was written.
    Checkpoint {
        epoch: usize,
        path: PathBuf,
    },
    Finished(TrainSummary),
    Cancelled,
    Failed(String),
}
