//! Datasets of (joint vector, end-effector pose) pairs: sampling, the `.ikd`
//! file format, `.npy` export and import of recorded ROS 2 CSV files.

mod format;
mod npy;
mod ros;
mod sampling;

use std::ops::Range;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::kinematics::ToolOffset;
use crate::robots::{Robot, Workspace};

pub use format::{FORMAT_VERSION, MAGIC, read_dataset, read_meta, verify_dataset, write_dataset};
pub use npy::{export_npy, import_npy};
pub use ros::{PairBy, RosImportOptions, RosImportReport, import_ros_csv};
pub use sampling::{SampleConfig, SampleReport, sample_dataset};

/// Values per pose: `x y z qx qy qz qw`.
pub const POSE_DIM: usize = 7;

#[derive(Debug, Error)]
pub enum DataError {
    /// The io error is part of the message, not a `source()`: a chain printed
    /// with `{:#}` (the command line's `error:` line) would repeat it.
    #[error("{path}: {error}")]
    Io { path: PathBuf, error: std::io::Error },
    #[error("{path}: not an ik-studio dataset (bad magic bytes)")]
    NotADataset { path: PathBuf },
    #[error("{path}: dataset format version {found} is not supported (this build reads {supported})")]
    UnsupportedVersion { path: PathBuf, found: u32, supported: u32 },
    #[error("{path}: corrupt dataset: {what}")]
    Corrupt { path: PathBuf, what: String },
    #[error("dataset is for {found}, expected {expected}")]
    Mismatch { expected: String, found: String },
    #[error("{0}")]
    Invalid(String),
}

impl DataError {
    pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> DataError + '_ {
        move |error| DataError::Io { path: path.to_path_buf(), error }
    }
}

/// Which part of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    Train,
    Test,
    Val,
}

impl Split {
    pub const ALL: [Split; 3] = [Split::Train, Split::Test, Split::Val];
    pub fn name(self) -> &'static str {
        match self {
            Split::Train => "train",
            Split::Test => "test",
            Split::Val => "val",
        }
    }
}

/// Sample index ranges of the three splits; they tile `0..count` in the order
/// train, test, val.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Splits {
    pub train: Range<usize>,
    pub test: Range<usize>,
    pub val: Range<usize>,
}

impl Splits {
    /// Test and validation sets take `test_fraction` and `val_fraction` of `count`.
    pub fn new(count: usize, test_fraction: f64, val_fraction: f64) -> Self {
        let test = ((count as f64 * test_fraction).round() as usize).min(count);
        let val = ((count as f64 * val_fraction).round() as usize).min(count - test);
        let train = count - test - val;
        Self { train: 0..train, test: train..train + test, val: train + test..count }
    }

    pub fn range(&self, split: Split) -> Range<usize> {
        match split {
            Split::Train => self.train.clone(),
            Split::Test => self.test.clone(),
            Split::Val => self.val.clone(),
        }
    }
}

/// What a dataset file says about itself (its header).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetMeta {
    pub format_version: u32,
    pub robot: String,
    pub base: String,
    pub tip: String,
    pub joint_names: Vec<String>,
    pub dof: usize,
    /// The tool point in the tip link's frame (`--tip-offset`); absent in files
    /// written before it existed and when the tool point is the tip link.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tip_offset: Option<ToolOffset>,
    pub count: usize,
    /// The box samples were kept in (none for recorded data).
    pub workspace: Option<Workspace>,
    pub seed: Option<u64>,
    /// `sampled`, `ros-import` or `npy-import`.
    pub source: String,
    pub splits: Splits,
}

impl DatasetMeta {
    pub fn new(robot: &Robot, count: usize, source: &str, splits: Splits) -> Self {
        Self {
            format_version: FORMAT_VERSION,
            robot: robot.name.clone(),
            base: robot.chain.base.clone(),
            tip: robot.chain.tip.clone(),
            joint_names: robot.chain.joint_names(),
            dof: robot.chain.dof(),
            tip_offset: robot.chain.tool,
            count,
            workspace: None,
            seed: None,
            source: source.to_string(),
            splits,
        }
    }

    /// What is wrong with the header on its own, if anything: the splits must
    /// run forwards and tile `0..count` in the order train, test, val, and the
    /// joint names must match `dof` (at least one).
    pub fn problem(&self) -> Option<String> {
        let s = &self.splits;
        let ranges = [("train", &s.train), ("test", &s.test), ("val", &s.val)];
        if let Some((name, r)) = ranges.iter().find(|(_, r)| r.start > r.end) {
            return Some(format!("the {name} split {}..{} runs backwards", r.start, r.end));
        }
        if let Some((name, r)) = ranges.iter().find(|(_, r)| r.end > self.count) {
            return Some(format!("the {name} split {}..{} ends past the {} samples", r.start, r.end, self.count));
        }
        if s.train.start != 0 || s.train.end != s.test.start || s.test.end != s.val.start || s.val.end != self.count {
            return Some(format!(
                "the splits (train {:?}, test {:?}, val {:?}) do not tile the {} samples in order",
                s.train, s.test, s.val, self.count
            ));
        }
        if self.dof == 0 || self.joint_names.len() != self.dof {
            return Some(format!("{} joint names for dof {}", self.joint_names.len(), self.dof));
        }
        if let Some(Err(e)) = self.tip_offset.map(ToolOffset::validated) {
            return Some(e);
        }
        None
    }

    /// Refuses a dataset made for another chain.
    pub fn check_robot(&self, robot: &Robot) -> Result<(), DataError> {
        let names = robot.chain.joint_names();
        let chain = &robot.chain;
        if self.joint_names != names
            || self.tip != chain.tip
            || self.base != chain.base
            || self.tip_offset != chain.tool
        {
            return Err(DataError::Mismatch {
                expected: format!(
                    "{} ({} → {}{}, joints {:?})",
                    robot.name,
                    chain.base,
                    chain.tip,
                    tool_note(&chain.tool),
                    names
                ),
                found: format!(
                    "{} ({} → {}{}, joints {:?})",
                    self.robot,
                    self.base,
                    self.tip,
                    tool_note(&self.tip_offset),
                    self.joint_names
                ),
            });
        }
        Ok(())
    }
}

/// `, tip offset x,y,z…` for a chain with a tool offset, else nothing.
fn tool_note(tool: &Option<ToolOffset>) -> String {
    tool.map_or(String::new(), |t| format!(", tip offset {}", t.describe()))
}

/// Joint vectors and their poses, row-major: sample `i` is
/// `joints[i*dof..(i+1)*dof]` and `poses[i*7..(i+1)*7]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub meta: DatasetMeta,
    pub joints: Vec<f64>,
    pub poses: Vec<f64>,
}

/// A borrowed range of a dataset.
#[derive(Debug, Clone, Copy)]
pub struct DatasetView<'a> {
    pub dof: usize,
    pub joints: &'a [f64],
    pub poses: &'a [f64],
}

impl DatasetView<'_> {
    pub fn len(&self) -> usize {
        self.poses.len() / POSE_DIM
    }
    pub fn is_empty(&self) -> bool {
        self.poses.is_empty()
    }
    pub fn joints(&self, i: usize) -> &[f64] {
        &self.joints[i * self.dof..(i + 1) * self.dof]
    }
    pub fn pose(&self, i: usize) -> &[f64] {
        &self.poses[i * POSE_DIM..(i + 1) * POSE_DIM]
    }
}

impl Dataset {
    pub fn len(&self) -> usize {
        self.meta.count
    }
    pub fn is_empty(&self) -> bool {
        self.meta.count == 0
    }
    pub fn view(&self, range: Range<usize>) -> DatasetView<'_> {
        let dof = self.meta.dof;
        DatasetView {
            dof,
            joints: &self.joints[range.start * dof..range.end * dof],
            poses: &self.poses[range.start * POSE_DIM..range.end * POSE_DIM],
        }
    }
    pub fn split(&self, split: Split) -> DatasetView<'_> {
        self.view(self.meta.splits.range(split))
    }
    pub fn all(&self) -> DatasetView<'_> {
        self.view(0..self.len())
    }
}
