//! How poses become network inputs and network outputs become joint values.

use burn::tensor::{Device, Tensor, TensorData};
use serde::{Deserialize, Serialize};

use super::{ModelError, POSE_INPUT};
use crate::kinematics::Chain;
use crate::robots::Workspace;

/// Pose → network input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum InputEncoding {
    /// The pose as it is (IKNet: raw units, no normalisation).
    Raw,
    /// Position mapped from the box `[min, max]` to [-1, 1] per axis; the unit
    /// quaternion (w ≥ 0) is already within [-1, 1] and passes unchanged.
    WorkspaceBox { min: [f64; 3], max: [f64; 3] },
}

/// Network output → joint values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum OutputDecoding {
    /// The output is the joint vector (rad or m).
    Raw,
    /// Output `y ∈ [-1, 1]` → `lower + (y + 1) / 2 · (upper − lower)`.
    JointLimits { lower: Vec<f64>, upper: Vec<f64> },
}

/// The generator's noise: `dim` values drawn uniformly from `[low, high)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct NoiseSpec {
    pub dim: usize,
    pub low: f64,
    pub high: f64,
}

impl NoiseSpec {
    pub fn uniform01(dim: usize) -> Self {
        Self { dim, low: 0.0, high: 1.0 }
    }
    /// Variance of one noise value, `(high − low)² / 12`.
    pub fn variance(&self) -> f64 {
        (self.high - self.low).powi(2) / 12.0
    }
}

/// What the network sees of the target's quaternion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum QuaternionInput {
    /// Normalised, sign chosen so that w ≥ 0, as in the datasets (networks
    /// trained here).
    #[default]
    Canonical,
    /// The caller's values unchanged: a network trained in PyTorch on raw
    /// recorded quaternions (w < 0 as ROS may report them) sees what it saw
    /// in training.
    AsGiven,
}

/// The normalisation of a model, part of its card.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IoMapping {
    pub input: InputEncoding,
    pub output: OutputDecoding,
    pub noise: Option<NoiseSpec>,
    /// Cards written before the field existed are canonical.
    #[serde(default)]
    pub quaternion: QuaternionInput,
}

impl IoMapping {
    /// IKNet: raw in, raw out.
    pub fn raw() -> Self {
        Self {
            input: InputEncoding::Raw,
            output: OutputDecoding::Raw,
            noise: None,
            quaternion: QuaternionInput::Canonical,
        }
    }

    /// CycleIK: workspace box in, joint limits out, optional noise.
    pub fn normalised(chain: &Chain, workspace: &Workspace, noise_dim: usize) -> Result<Self, ModelError> {
        for i in 0..3 {
            let (lo, hi) = (workspace.min[i], workspace.max[i]);
            if !(lo.is_finite() && hi.is_finite() && hi > lo) {
                return Err(ModelError::BadInput(format!(
                    "workspace '{}' has an empty or non-finite extent on axis {i}: [{lo}, {hi}]",
                    workspace.name
                )));
            }
        }
        let limits = chain.limits();
        if let Some((j, l)) = limits.iter().enumerate().find(|(_, l)| !(l.span() > 0.0 && l.span().is_finite())) {
            return Err(ModelError::BadInput(format!(
                "joint {} has no usable range [{}, {}] to map outputs onto",
                chain.joints[j].name, l.lower, l.upper
            )));
        }
        Ok(Self {
            input: InputEncoding::WorkspaceBox { min: workspace.min, max: workspace.max },
            output: OutputDecoding::JointLimits {
                lower: limits.iter().map(|l| l.lower).collect(),
                upper: limits.iter().map(|l| l.upper).collect(),
            },
            noise: (noise_dim > 0).then(|| NoiseSpec::uniform01(noise_dim)),
            quaternion: QuaternionInput::Canonical,
        })
    }

    /// Every range of the mapping is finite and ordered (an untrusted card
    /// could otherwise divide by zero or clamp into an empty interval).
    pub fn check_ranges(&self) -> Result<(), String> {
        let ordered = |what: &str, lo: f64, hi: f64, strict: bool| {
            let fine = lo.is_finite() && hi.is_finite() && (hi > lo || (!strict && hi == lo));
            if fine { Ok(()) } else { Err(format!("{what} range [{lo}, {hi}] is not finite and ordered")) }
        };
        if let InputEncoding::WorkspaceBox { min, max } = &self.input {
            (0..3).try_for_each(|i| ordered(&format!("input axis {i}"), min[i], max[i], true))?;
        }
        if let OutputDecoding::JointLimits { lower, upper } = &self.output {
            lower
                .iter()
                .zip(upper)
                .enumerate()
                .try_for_each(|(j, (&l, &u))| ordered(&format!("output {j}"), l, u, false))?;
        }
        match self.noise {
            Some(n) => ordered("noise", n.low, n.high, true),
            None => Ok(()),
        }
    }

    pub fn noise_dim(&self) -> usize {
        self.noise.map_or(0, |n| n.dim)
    }

    /// Appends the 7 input values of `pose` (`x y z qx qy qz qw`). The
    /// quaternion is normalised and given w ≥ 0, as in the datasets, unless
    /// the card says the network takes it as given.
    pub fn encode_pose(&self, pose: &[f64], out: &mut Vec<f32>) -> Result<(), ModelError> {
        let bad = || ModelError::BadInput(format!("pose {pose:?} is not 7 finite values with a non-zero quaternion"));
        if pose.len() != POSE_INPUT || pose.iter().any(|v| !v.is_finite()) {
            return Err(bad());
        }
        let norm = pose[3..7].iter().map(|v| v * v).sum::<f64>().sqrt();
        if norm < 1e-9 {
            return Err(bad());
        }
        let (sign, norm) = match self.quaternion {
            QuaternionInput::Canonical => (if pose[6] < 0.0 { -1.0 } else { 1.0 }, norm),
            QuaternionInput::AsGiven => (1.0, 1.0),
        };
        match &self.input {
            InputEncoding::Raw => out.extend(pose[..3].iter().map(|&v| v as f32)),
            InputEncoding::WorkspaceBox { min, max } => {
                out.extend((0..3).map(|i| (2.0 * (pose[i] - min[i]) / (max[i] - min[i]) - 1.0) as f32))
            }
        }
        out.extend(pose[3..7].iter().map(|&v| (sign * v / norm) as f32));
        Ok(())
    }

    /// Network outputs `[batch, dof]` → joint values, as tensor operations
    /// (differentiable: the CycleIK losses go through it).
    pub fn decode(&self, output: Tensor<2>) -> Tensor<2> {
        match &self.output {
            OutputDecoding::Raw => output,
            OutputDecoding::JointLimits { lower, upper } => {
                let device = output.device();
                let half_span: Vec<f32> = lower.iter().zip(upper).map(|(l, u)| (0.5 * (u - l)) as f32).collect();
                let middle: Vec<f32> = lower.iter().zip(upper).map(|(l, u)| (0.5 * (u + l)) as f32).collect();
                output * row(half_span, &device) + row(middle, &device)
            }
        }
    }

    /// [`IoMapping::decode`] on plain numbers.
    pub fn decode_values(&self, output: &[f32], out: &mut Vec<f64>) {
        match &self.output {
            OutputDecoding::Raw => out.extend(output.iter().map(|&v| v as f64)),
            OutputDecoding::JointLimits { lower, upper } => {
                let dof = lower.len();
                out.extend(output.iter().enumerate().map(|(k, &y)| {
                    let (l, u) = (lower[k % dof], upper[k % dof]);
                    // The f32 output may round a hair past ±1; the limits are hard.
                    (l + (y as f64 + 1.0) * 0.5 * (u - l)).clamp(l, u)
                }))
            }
        }
    }
}

/// `[1, n]` constant row.
fn row(values: Vec<f32>, device: &Device) -> Tensor<2> {
    let n = values.len();
    Tensor::from_data(TensorData::new(values, [1, n]), device)
}
