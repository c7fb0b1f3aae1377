//! Forward kinematics of one joint vector with its analytic gradient, for any
//! chain of revolute, continuous and prismatic joints (f64).
//!
//! The forward pass keeps each joint's world origin `oᵢ` and axis `zᵢ`. Turning
//! joint `i` by `dq` turns everything after it about `zᵢ` through `oᵢ`:
//! `∂p/∂qᵢ = zᵢ × (p − oᵢ)` and `∂R/∂qᵢ = [zᵢ]× R`; sliding moves the tip along
//! `zᵢ`: `∂p/∂qᵢ = zᵢ`. With the loss gradients `gₚ = ∂L/∂p` and `G = ∂L/∂R`,
//! `∂L/∂qᵢ = zᵢ · ((p − oᵢ) × gₚ + w)` for a revolute joint, where
//! `w = vee(N − Nᵀ)` and `N = G Rᵀ` (because `⟨G, [z]× R⟩ = z · w`).

use nalgebra::{Isometry3, Vector3};
use serde_json::json;

use crate::kinematics::{Chain, JointKind};

/// Row-major 3 × 3.
pub type Mat3 = [f64; 9];
pub type Vec3 = [f64; 3];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Motion {
    Revolute,
    Prismatic,
    /// Chains fold fixed joints away; one that stays moves nothing.
    Fixed,
}

#[derive(Debug, Clone)]
struct Joint {
    /// The origin's rotation and translation in the previous joint's frame.
    rotation: Mat3,
    translation: Vec3,
    /// Unit axis in the joint's own frame (after the origin).
    axis: Vec3,
    motion: Motion,
    /// Its value is `multiplier · q[column] + offset`: 1 and 0 for a movable
    /// joint, the chain rule's factor for a joint that mimics `q[column]`.
    column: usize,
    multiplier: f64,
    offset: f64,
    mimic: bool,
}

/// A chain's constants for batched FK with gradients.
#[derive(Debug, Clone)]
pub struct ChainGrad {
    /// Movable and mimic joints in chain order.
    joints: Vec<Joint>,
    dof: usize,
    tip_rotation: Mat3,
    tip_translation: Vec3,
}

/// Each joint's world origin and axis of the last [`ChainGrad::forward`].
#[derive(Debug, Clone, Default)]
pub struct JointFrames {
    origins: Vec<Vec3>,
    axes: Vec<Vec3>,
}

/// A tip pose: position and row-major rotation matrix (columns are the tip's axes).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TipPose {
    pub position: Vec3,
    pub rotation: Mat3,
}

fn rotation_of(iso: &Isometry3<f64>) -> Mat3 {
    let m = iso.rotation.to_rotation_matrix().into_inner();
    std::array::from_fn(|k| m[(k / 3, k % 3)])
}

fn vector_of(v: &Vector3<f64>) -> Vec3 {
    [v.x, v.y, v.z]
}

impl ChainGrad {
    pub fn new(chain: &Chain) -> Self {
        let motion = |kind| match kind {
            JointKind::Revolute | JointKind::Continuous => Motion::Revolute,
            JointKind::Prismatic => Motion::Prismatic,
            JointKind::Fixed => Motion::Fixed,
        };
        let step = |origin: &Isometry3<f64>, axis: &Vector3<f64>, kind, column, multiplier, offset, mimic| Joint {
            rotation: rotation_of(origin),
            translation: vector_of(&origin.translation.vector),
            axis: vector_of(axis),
            motion: motion(kind),
            column,
            multiplier,
            offset,
            mimic,
        };
        let mut joints = Vec::with_capacity(chain.dof() + chain.mimics.len());
        let mut mimics = chain.mimics.iter().peekable();
        for slot in 0..=chain.dof() {
            while let Some(m) = mimics.next_if(|m| m.slot == slot) {
                joints.push(step(&m.origin, &m.axis, m.kind, m.master, m.multiplier, m.offset, true));
            }
            if let Some(j) = chain.joints.get(slot) {
                joints.push(step(&j.origin, &j.axis, j.kind, slot, 1.0, 0.0, false));
            }
        }
        Self {
            joints,
            dof: chain.dof(),
            tip_rotation: rotation_of(&chain.tip_offset),
            tip_translation: vector_of(&chain.tip_offset.translation.vector),
        }
    }

    pub fn dof(&self) -> usize {
        self.dof
    }

    /// Tip pose of `q` (`dof` values); `frames` keeps what [`ChainGrad::gradient`] needs.
    pub fn forward(&self, q: &[f64], frames: &mut JointFrames) -> TipPose {
        assert_eq!(q.len(), self.dof(), "one value per joint");
        frames.origins.resize(self.joints.len(), [0.0; 3]);
        frames.axes.resize(self.joints.len(), [0.0; 3]);
        let (mut r, mut p) = (IDENTITY, [0.0; 3]);
        for (i, joint) in self.joints.iter().enumerate() {
            let value = joint.multiplier * q[joint.column] + joint.offset;
            p = add(p, mat_vec(&r, joint.translation));
            r = mat_mul(&r, &joint.rotation);
            let axis = mat_vec(&r, joint.axis);
            frames.origins[i] = p;
            frames.axes[i] = axis;
            match joint.motion {
                Motion::Revolute => r = mat_mul(&r, &axis_angle(joint.axis, value)),
                Motion::Prismatic => p = add(p, scale(axis, value)),
                Motion::Fixed => {}
            }
        }
        TipPose { position: add(p, mat_vec(&r, self.tip_translation)), rotation: mat_mul(&r, &self.tip_rotation) }
    }

    /// `∂L/∂q` into `out` from `∂L/∂p` and `∂L/∂R` at `tip`, the pose of the
    /// last [`ChainGrad::forward`] that filled `frames`.
    pub fn gradient(&self, frames: &JointFrames, tip: &TipPose, grad_p: Vec3, grad_r: &Mat3, out: &mut [f64]) {
        let n = mat_mul_transposed(grad_r, &tip.rotation); // G Rᵀ
        let w = [n[7] - n[5], n[2] - n[6], n[3] - n[1]];
        out[..self.dof].fill(0.0);
        for (i, joint) in self.joints.iter().enumerate() {
            let z = frames.axes[i];
            out[joint.column] += joint.multiplier
                * match joint.motion {
                    Motion::Revolute => dot(z, add(cross(sub(tip.position, frames.origins[i]), grad_p), w)),
                    Motion::Prismatic => dot(z, grad_p),
                    Motion::Fixed => 0.0,
                };
        }
    }

    /// The constants as JSON, for reference implementations (tools/torch_train_bench.py):
    /// per joint its origin rotation (row-major) and translation, axis and kind,
    /// then the tip offset. A joint frame is `previous · origin · motion(q)`.
    pub fn to_json(&self) -> serde_json::Value {
        let joints: Vec<_> = self
            .joints
            .iter()
            .map(|j| {
                let kind = match j.motion {
                    Motion::Revolute => "revolute",
                    Motion::Prismatic => "prismatic",
                    Motion::Fixed => "fixed",
                };
                let mut joint =
                    json!({"kind": kind, "rotation": j.rotation, "translation": j.translation, "axis": j.axis});
                // A mimic joint says what it follows (value = multiplier · q[column] + offset).
                if j.mimic {
                    joint["mimic"] = json!({"column": j.column, "multiplier": j.multiplier, "offset": j.offset});
                }
                joint
            })
            .collect();
        json!({"joints": joints, "tip_rotation": self.tip_rotation, "tip_translation": self.tip_translation})
    }
}

const IDENTITY: Mat3 = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0];

/// Rodrigues: `cos θ · I + sin θ · [a]× + (1 − cos θ) · a aᵀ`.
fn axis_angle(a: Vec3, angle: f64) -> Mat3 {
    let (s, c) = angle.sin_cos();
    let t = 1.0 - c;
    [
        c + a[0] * a[0] * t,
        a[0] * a[1] * t - a[2] * s,
        a[0] * a[2] * t + a[1] * s,
        a[1] * a[0] * t + a[2] * s,
        c + a[1] * a[1] * t,
        a[1] * a[2] * t - a[0] * s,
        a[2] * a[0] * t - a[1] * s,
        a[2] * a[1] * t + a[0] * s,
        c + a[2] * a[2] * t,
    ]
}

fn mat_mul(a: &Mat3, b: &Mat3) -> Mat3 {
    std::array::from_fn(|k| {
        let (i, j) = (k / 3, k % 3);
        a[3 * i] * b[j] + a[3 * i + 1] * b[3 + j] + a[3 * i + 2] * b[6 + j]
    })
}

/// `a · bᵀ`.
fn mat_mul_transposed(a: &Mat3, b: &Mat3) -> Mat3 {
    std::array::from_fn(|k| {
        let (i, j) = (k / 3, k % 3);
        a[3 * i] * b[3 * j] + a[3 * i + 1] * b[3 * j + 1] + a[3 * i + 2] * b[3 * j + 2]
    })
}

fn mat_vec(a: &Mat3, v: Vec3) -> Vec3 {
    std::array::from_fn(|i| a[3 * i] * v[0] + a[3 * i + 1] * v[1] + a[3 * i + 2] * v[2])
}

fn add(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] + b[0], a[1] + b[1], a[2] + b[2]]
}

fn sub(a: Vec3, b: Vec3) -> Vec3 {
    [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
}

fn scale(a: Vec3, s: f64) -> Vec3 {
    [a[0] * s, a[1] * s, a[2] * s]
}

fn dot(a: Vec3, b: Vec3) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn cross(a: Vec3, b: Vec3) -> Vec3 {
    [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::robots;

    /// The pose equals the chain's own FK, and the gradient of an arbitrary
    /// linear function of (p, R) equals its central difference.
    /// A revolute joint mimicked by a revolute and a prismatic joint, one of them before it.
    const MIMIC_ARM: &str = r#"<robot name="m"><link name="b"/><link name="l0"/><link name="l1"/><link name="l2"/><link name="t"/>
      <joint name="m0" type="prismatic"><parent link="b"/><child link="l0"/><origin xyz="0 0 0.1"/><axis xyz="1 0 0"/>
        <limit lower="-1" upper="1" effort="1" velocity="1"/><mimic joint="a" multiplier="0.2" offset="0.05"/></joint>
      <joint name="a" type="revolute"><parent link="l0"/><child link="l1"/><origin xyz="0.2 0 0"/><axis xyz="0 0 1"/>
        <limit lower="-2" upper="2" effort="1" velocity="1"/></joint>
      <joint name="m1" type="revolute"><parent link="l1"/><child link="l2"/><origin xyz="0.2 0 0" rpy="0.3 0 0"/><axis xyz="0 1 0"/>
        <limit lower="-2" upper="2" effort="1" velocity="1"/><mimic joint="a" multiplier="-1.5" offset="0.1"/></joint>
      <joint name="c" type="revolute"><parent link="l2"/><child link="t"/><origin xyz="0.1 0 0.05"/><axis xyz="1 0 0"/>
        <limit lower="-2" upper="2" effort="1" velocity="1"/></joint></robot>"#;

    #[test]
    fn pose_and_gradient_match_the_chain_and_finite_differences() {
        let tree = crate::kinematics::KinematicTree::from_urdf_str(MIMIC_ARM).expect("a valid URDF");
        let mimic = Chain::from_tree(&tree, "b", "t").expect("a chain");
        assert_eq!((mimic.dof(), mimic.mimics.len()), (2, 2));
        let chains = ["nicol-right", "omx"].map(|name| (name, robots::builtin(name).expect("a built-in robot").chain));
        for (name, chain) in chains.into_iter().chain([("mimic", mimic)]) {
            let fk = ChainGrad::new(&chain);
            let q: Vec<f64> =
                chain.mid_configuration().iter().enumerate().map(|(i, v)| v + 0.3 - 0.1 * i as f64).collect();
            let mut frames = JointFrames::default();
            let tip = fk.forward(&q, &mut frames);
            let reference = chain.fk_unchecked(&q);
            let want_r = rotation_of(&reference);
            for k in 0..3 {
                assert!((tip.position[k] - reference.translation.vector[k]).abs() < 1e-12, "{name}");
            }
            for k in 0..9 {
                assert!((tip.rotation[k] - want_r[k]).abs() < 1e-12, "{name}");
            }
            let grad_p = [0.3, -1.2, 0.7];
            let grad_r: Mat3 = std::array::from_fn(|k| (k as f64 * 0.37).sin());
            let objective =
                |t: &TipPose| dot(t.position, grad_p) + (0..9).map(|k| t.rotation[k] * grad_r[k]).sum::<f64>();
            let mut analytic = vec![0.0; q.len()];
            fk.gradient(&frames, &tip, grad_p, &grad_r, &mut analytic);
            for i in 0..q.len() {
                let h = 1e-6;
                let (mut up, mut down) = (q.clone(), q.clone());
                up[i] += h;
                down[i] -= h;
                let numeric = (objective(&fk.forward(&up, &mut JointFrames::default()))
                    - objective(&fk.forward(&down, &mut JointFrames::default())))
                    / (2.0 * h);
                assert!((analytic[i] - numeric).abs() < 1e-6, "{name} joint {i}: {} vs {numeric}", analytic[i]);
            }
        }
    }
}
