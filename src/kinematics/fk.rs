//! Forward kinematics and the geometric Jacobian of a [`Chain`].

use nalgebra::{Isometry3, Matrix6xX, Point3, UnitQuaternion, Vector3};
use rayon::prelude::*;

use super::chain::Chain;
use super::error::KinematicsError;
use super::pose::Pose;
use super::tree::JointKind;

/// Poses per rayon task in the parallel batch form.
const PAR_CHUNK: usize = 4096;

impl Chain {
    /// Tip pose in the base frame.
    pub fn fk(&self, q: &[f64]) -> Result<Isometry3<f64>, KinematicsError> {
        self.check_dof(q)?;
        Ok(self.fk_unchecked(q))
    }

    /// Tip pose without the length check (the caller guarantees `q.len() == dof`).
    #[inline]
    pub fn fk_unchecked(&self, q: &[f64]) -> Isometry3<f64> {
        self.fold_joints(q, |_, _| {}) * self.tip_offset
    }

    /// Tip pose plus the origin of every movable joint (in order), written to
    /// `points[..dof]`, and the tip position at `points[dof]`.
    #[inline]
    pub fn fk_points(&self, q: &[f64], points: &mut [Point3<f64>]) -> Isometry3<f64> {
        let tip = self.fold_joints(q, |i, frame| points[i] = Point3::from(frame.translation.vector)) * self.tip_offset;
        points[self.dof()] = Point3::from(tip.translation.vector);
        tip
    }

    /// Frame of every movable joint after its motion.
    pub fn joint_frames(&self, q: &[f64]) -> Result<Vec<Isometry3<f64>>, KinematicsError> {
        self.check_dof(q)?;
        let mut frames = vec![Isometry3::identity(); self.dof()];
        self.fold_joints(q, |i, frame| frames[i] = *frame);
        Ok(frames)
    }

    /// Frame of every link from base to tip (indexed like [`Chain::links`]).
    pub fn link_frames(&self, q: &[f64]) -> Result<Vec<Isometry3<f64>>, KinematicsError> {
        let joints = self.joint_frames(q)?;
        Ok(self
            .links
            .iter()
            .map(|link| match link.after_joint {
                Some(j) => joints[j] * link.offset,
                None => link.offset,
            })
            .collect())
    }

    /// Walks the chain; `visit(i, frame)` sees joint `i`'s frame after its motion
    /// (rotations move the frame about its origin, so the origin is the joint's).
    #[inline]
    pub(crate) fn fold_joints(&self, q: &[f64], mut visit: impl FnMut(usize, &Isometry3<f64>)) -> Isometry3<f64> {
        let mut frame = Isometry3::identity();
        for (i, (joint, &value)) in self.joints.iter().zip(q).enumerate() {
            frame *= joint.origin;
            match joint.kind {
                JointKind::Revolute | JointKind::Continuous => {
                    frame.rotation *= UnitQuaternion::from_axis_angle(&joint.axis, value);
                }
                JointKind::Prismatic => {
                    frame.translation.vector += frame.rotation * (joint.axis.into_inner() * value);
                }
                JointKind::Fixed => {}
            }
            visit(i, &frame);
        }
        frame
    }

    /// Batch FK on the calling thread: `joints` holds `n × dof` values, `out`
    /// receives `n × 7` pose values (`x y z qx qy qz qw`, `qw ≥ 0`).
    pub fn fk_batch(&self, joints: &[f64], out: &mut [f64]) -> Result<(), KinematicsError> {
        let n = self.check_batch(joints, out)?;
        for (q, pose) in joints.chunks_exact(self.dof()).zip(out.chunks_exact_mut(7)).take(n) {
            pose.copy_from_slice(&Pose::from_isometry(&self.fk_unchecked(q)).to_array());
        }
        Ok(())
    }

    /// [`Chain::fk_batch`] spread over rayon's thread pool.
    pub fn fk_batch_par(&self, joints: &[f64], out: &mut [f64]) -> Result<(), KinematicsError> {
        self.check_batch(joints, out)?;
        let dof = self.dof();
        joints
            .par_chunks(PAR_CHUNK * dof)
            .zip(out.par_chunks_mut(PAR_CHUNK * 7))
            .try_for_each(|(q, pose)| self.fk_batch(q, pose))
    }

    fn check_batch(&self, joints: &[f64], out: &[f64]) -> Result<usize, KinematicsError> {
        let dof = self.dof();
        if joints.len() % dof != 0 {
            return Err(KinematicsError::WrongDof { expected: dof, got: joints.len() % dof });
        }
        let n = joints.len() / dof;
        if out.len() != n * 7 {
            return Err(KinematicsError::WrongDof { expected: n * 7, got: out.len() });
        }
        Ok(n)
    }

    /// Geometric Jacobian (6 × dof) of the tip in the base frame: rows are the
    /// linear velocity (x, y, z) then the angular velocity (x, y, z).
    pub fn jacobian(&self, q: &[f64]) -> Result<Matrix6xX<f64>, KinematicsError> {
        self.check_dof(q)?;
        let mut jac = Matrix6xX::zeros(self.dof());
        self.jacobian_into(q, &mut jac);
        Ok(jac)
    }

    /// Jacobian into a preallocated matrix; returns the tip pose as a by-product.
    pub fn jacobian_into(&self, q: &[f64], jac: &mut Matrix6xX<f64>) -> Isometry3<f64> {
        // First pass stores each axis (rows 3..6) and axis × origin (rows 0..3);
        // once the tip is known the linear part is axis × (tip − origin).
        let tip = self.fold_joints(q, |i, frame| {
            let axis = frame.rotation * self.joints[i].axis.into_inner();
            let moment = axis.cross(&frame.translation.vector);
            jac.fixed_view_mut::<3, 1>(0, i).copy_from(&moment);
            jac.fixed_view_mut::<3, 1>(3, i).copy_from(&axis);
        }) * self.tip_offset;
        let p_tip = tip.translation.vector;
        for (i, joint) in self.joints.iter().enumerate() {
            let axis: Vector3<f64> = jac.fixed_view::<3, 1>(3, i).into_owned();
            let linear = match joint.kind {
                JointKind::Prismatic => {
                    jac.fixed_view_mut::<3, 1>(3, i).fill(0.0);
                    axis
                }
                _ => axis.cross(&p_tip) - jac.fixed_view::<3, 1>(0, i),
            };
            jac.fixed_view_mut::<3, 1>(0, i).copy_from(&linear);
        }
        tip
    }
}
