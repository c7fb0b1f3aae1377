//! Differentiable batched forward kinematics in burn, for any [`Chain`].
//!
//! Every joint's fixed origin is folded into constants once. A revolute joint's
//! frame update `R₀ · Rot(axis, q)` is written with Rodrigues' formula as
//! `A + sin q · B + cos q · C` (A, B, C constant 3 × 3), so a batch of joint
//! vectors becomes `dof` batched 3 × 3 products plus element-wise terms, all of
//! which autodiff differentiates.

use burn::tensor::{Device, Tensor, TensorData};
use nalgebra::{Isometry3, Matrix3, Vector3};

use crate::kinematics::{Chain, JointKind};

/// One joint's constants, in f32, row-major 3 × 3 matrices.
#[derive(Debug, Clone)]
enum JointTerms {
    /// `M(q) = a + sin q · b + cos q · c` maps the previous frame's rotation.
    Revolute { a: [f32; 9], b: [f32; 9], c: [f32; 9] },
    /// Rotation `rot` is fixed; the frame slides along `axis` (in the previous frame).
    Prismatic { rot: [f32; 9], axis: [f32; 3] },
}

#[derive(Debug, Clone)]
struct JointConstants {
    /// Origin translation, in the previous joint's frame.
    translation: [f32; 3],
    terms: JointTerms,
}

/// Tip positions and orientations of a batch.
#[derive(Debug, Clone)]
pub struct FkOutput {
    /// `[batch, 3]`, metres, in the chain's base frame.
    pub position: Tensor<2>,
    /// `[batch, 3, 3]`, rotation matrices (columns are the tip frame's axes).
    pub rotation: Tensor<3>,
}

/// Batched FK of one chain as tensor operations.
#[derive(Debug, Clone)]
pub struct TensorFk {
    joints: Vec<JointConstants>,
    tip_translation: [f32; 3],
    tip_rotation: [f32; 9],
}

fn matrix_f32(m: &Matrix3<f64>) -> [f32; 9] {
    std::array::from_fn(|k| m[(k / 3, k % 3)] as f32)
}

fn vector_f32(v: &Vector3<f64>) -> [f32; 3] {
    [v.x as f32, v.y as f32, v.z as f32]
}

fn rotation_matrix(iso: &Isometry3<f64>) -> Matrix3<f64> {
    iso.rotation.to_rotation_matrix().into_inner()
}

impl TensorFk {
    pub fn new(chain: &Chain) -> Self {
        let joints = chain
            .joints
            .iter()
            .map(|joint| {
                let r0 = rotation_matrix(&joint.origin);
                let axis = joint.axis.into_inner();
                let terms = match joint.kind {
                    JointKind::Revolute | JointKind::Continuous => {
                        // Rot(axis, q) = I + sin q · K + (1 − cos q) · K²
                        let k = axis.cross_matrix();
                        let k2 = k * k;
                        JointTerms::Revolute {
                            a: matrix_f32(&(r0 + r0 * k2)),
                            b: matrix_f32(&(r0 * k)),
                            c: matrix_f32(&(-(r0 * k2))),
                        }
                    }
                    JointKind::Prismatic => {
                        JointTerms::Prismatic { rot: matrix_f32(&r0), axis: vector_f32(&(r0 * axis)) }
                    }
                    // Chains fold fixed joints away; treat one as a prismatic joint that never moves.
                    JointKind::Fixed => JointTerms::Prismatic { rot: matrix_f32(&r0), axis: [0.0; 3] },
                };
                JointConstants { translation: vector_f32(&joint.origin.translation.vector), terms }
            })
            .collect();
        Self {
            joints,
            tip_translation: vector_f32(&chain.tip_offset.translation.vector),
            tip_rotation: matrix_f32(&rotation_matrix(&chain.tip_offset)),
        }
    }

    pub fn dof(&self) -> usize {
        self.joints.len()
    }

    /// Tip poses for joint vectors `q` of shape `[batch, dof]`.
    ///
    /// Panics when `q` has another width than the chain's dof (a programming
    /// error: callers build `q` from the same chain).
    pub fn forward(&self, q: Tensor<2>) -> FkOutput {
        let [batch, dof] = q.dims();
        assert_eq!(dof, self.dof(), "TensorFk: joint tensor has {dof} columns, the chain has {}", self.dof());
        let device = q.device();
        let mut frame: Option<(Tensor<3>, Tensor<2>)> = None;
        for (i, joint) in self.joints.iter().enumerate() {
            let qi = q.clone().narrow(1, i, 1); // [batch, 1]
            let t = vec3(joint.translation, &device);
            // Translation first: the origin is expressed in the previous frame.
            let position = match &frame {
                None => t.expand([batch, 3]),
                Some((r, p)) => p.clone() + rotate(r.clone(), t),
            };
            let previous = frame.map(|(r, _)| r);
            frame = Some(match &joint.terms {
                JointTerms::Revolute { a, b, c } => {
                    let q3 = qi.reshape([batch, 1, 1]);
                    let m = mat3(a, &device) + mat3(b, &device) * q3.clone().sin() + mat3(c, &device) * q3.cos();
                    let r = match previous {
                        None => m,
                        Some(r) => r.matmul(m),
                    };
                    (r, position)
                }
                JointTerms::Prismatic { rot, axis } => {
                    let slide = vec3(*axis, &device) * qi; // [batch, 3], in the previous frame
                    let (r, position) = match previous {
                        None => (mat3(rot, &device).expand([batch, 3, 3]), position + slide),
                        Some(r) => {
                            let moved = position + rotate(r.clone(), slide);
                            (r.matmul(mat3(rot, &device).expand([batch, 3, 3])), moved)
                        }
                    };
                    (r, position)
                }
            });
        }
        let (r, p) = frame.expect("a chain has at least one movable joint");
        let position = p + rotate(r.clone(), vec3(self.tip_translation, &device));
        let rotation = r.matmul(mat3(&self.tip_rotation, &device).expand([batch, 3, 3]));
        FkOutput { position, rotation }
    }
}

/// `[1, 3]` constant.
fn vec3(v: [f32; 3], device: &Device) -> Tensor<2> {
    Tensor::from_data(TensorData::new(v.to_vec(), [1, 3]), device)
}

/// `[1, 3, 3]` constant.
fn mat3(m: &[f32; 9], device: &Device) -> Tensor<3> {
    Tensor::from_data(TensorData::new(m.to_vec(), [1, 3, 3]), device)
}

/// `R · v` for `r: [batch, 3, 3]` and `v: [batch or 1, 3]` → `[batch, 3]`.
fn rotate(r: Tensor<3>, v: Tensor<2>) -> Tensor<2> {
    let [batch, _, _] = r.dims();
    let [rows, _] = v.dims();
    (r * v.reshape([rows, 1, 3])).sum_dim(2).reshape([batch, 3])
}

/// Rotation matrices `[n, 3, 3]` (row-major) of unit quaternions given as `x y z w`.
pub fn quaternions_to_matrices(quaternions: &[[f64; 4]]) -> Vec<f32> {
    let mut out = Vec::with_capacity(quaternions.len() * 9);
    for &[x, y, z, w] in quaternions {
        let q = nalgebra::UnitQuaternion::new_normalize(nalgebra::Quaternion::new(w, x, y, z));
        out.extend_from_slice(&matrix_f32(&q.to_rotation_matrix().into_inner()));
    }
    out
}
