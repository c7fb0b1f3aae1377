//! Samples prepared once as f32 rows, gathered into batch tensors per step.

use burn::tensor::{Device, Tensor, TensorData};

use crate::data::DatasetView;
use crate::models::{IoMapping, ModelError, POSE_INPUT, quaternions_to_matrices};

/// One split, encoded for the network: inputs, joint labels, target positions
/// and target rotation matrices.
pub struct Samples {
    pub len: usize,
    pub dof: usize,
    /// `len × 7` encoded poses (noise is drawn per step, not stored).
    inputs: Vec<f32>,
    /// `len × dof` joint labels, raw units.
    joints: Vec<f32>,
    /// `len × 3`, metres.
    positions: Vec<f32>,
    /// `len × 9`, row-major rotation matrices.
    rotations: Vec<f32>,
}

/// Tensors of one batch.
pub struct Batch {
    pub rows: usize,
    pub input: Tensor<2>,
    pub joints: Tensor<2>,
    pub position: Tensor<2>,
    pub rotation: Tensor<3>,
}

impl Samples {
    /// The first `limit` samples of `view`.
    pub fn new(view: &DatasetView<'_>, io: &IoMapping, limit: usize) -> Result<Self, ModelError> {
        let len = view.len().min(limit);
        let dof = view.dof;
        let mut inputs = Vec::with_capacity(len * POSE_INPUT);
        let mut positions = Vec::with_capacity(len * 3);
        let mut quaternions = Vec::with_capacity(len);
        for i in 0..len {
            let pose = view.pose(i);
            io.encode_pose(pose, &mut inputs)?;
            positions.extend(pose[..3].iter().map(|&v| v as f32));
            quaternions.push([pose[3], pose[4], pose[5], pose[6]]);
        }
        Ok(Self {
            len,
            dof,
            inputs,
            joints: view.joints[..len * dof].iter().map(|&v| v as f32).collect(),
            positions,
            rotations: quaternions_to_matrices(&quaternions),
        })
    }

    /// Sample `i` as plain rows for the fast path: encoded pose (7 values),
    /// target position (3) and row-major target rotation (9).
    pub fn row(&self, i: usize) -> (&[f32], &[f32], &[f32]) {
        (
            &self.inputs[i * POSE_INPUT..(i + 1) * POSE_INPUT],
            &self.positions[i * 3..i * 3 + 3],
            &self.rotations[i * 9..i * 9 + 9],
        )
    }

    /// The rows `indices`, in that order, as tensors on `device`.
    pub fn gather(&self, indices: &[usize], device: &Device) -> Batch {
        let rows = indices.len();
        let pick = |values: &[f32], width: usize| -> Vec<f32> {
            let mut out = Vec::with_capacity(rows * width);
            for &i in indices {
                out.extend_from_slice(&values[i * width..(i + 1) * width]);
            }
            out
        };
        Batch {
            rows,
            input: Tensor::from_data(TensorData::new(pick(&self.inputs, POSE_INPUT), [rows, POSE_INPUT]), device),
            joints: Tensor::from_data(TensorData::new(pick(&self.joints, self.dof), [rows, self.dof]), device),
            position: Tensor::from_data(TensorData::new(pick(&self.positions, 3), [rows, 3]), device),
            rotation: Tensor::from_data(TensorData::new(pick(&self.rotations, 9), [rows, 3, 3]), device),
        }
    }
}

/// Batches of an epoch: `len` shuffled indices cut into runs of `batch_size`;
/// a last run shorter than 2 is dropped (batch statistics need two rows).
pub fn batch_ranges(len: usize, batch_size: usize, max_steps: Option<usize>) -> Vec<std::ops::Range<usize>> {
    let size = batch_size.min(len).max(1);
    (0..len)
        .step_by(size)
        .map(|start| start..(start + size).min(len))
        .filter(|r| r.len() >= 2)
        .take(max_steps.unwrap_or(usize::MAX))
        .collect()
}
