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
        self.check_dof(q)?;
        let mut joints = vec![Isometry3::identity(); self.dof()];
        let mut mimics = vec![Isometry3::identity(); self.mimics.len()];
        self.fold_moving(q, |i, frame| joints[i] = *frame, |m, frame| mimics[m] = *frame);
        Ok(self
            .links
            .iter()
            .map(|link| match (link.after_mimic, link.after_joint) {
                (Some(m), _) => mimics[m] * link.offset,
                (None, Some(j)) => joints[j] * link.offset,
                (None, None) => link.offset,
            })
            .collect())
    }

    /// Walks the chain; `visit(i, frame)` sees joint `i`'s frame after its motion
    /// (rotations move the frame about its origin, so the origin is the joint's).
    #[inline]
    pub(crate) fn fold_joints(&self, q: &[f64], visit: impl FnMut(usize, &Isometry3<f64>)) -> Isometry3<f64> {
        if self.mimics.is_empty() {
            // The common case stays one tight loop (sampling runs it millions of times).
            let mut visit = visit;
            let mut frame = Isometry3::identity();
            for (i, (joint, &value)) in self.joints.iter().zip(q).enumerate() {
                frame *= joint.origin;
                move_frame(&mut frame, joint.kind, &joint.axis, value);
                visit(i, &frame);
            }
            frame
        } else {
            self.fold_moving(q, visit, |_, _| {})
        }
    }

    /// Walks movable and mimic joints in chain order: `visit(i, frame)` for
    /// movable joint `i`, `visit_mimic(m, frame)` for mimic joint `m`.
    pub(crate) fn fold_moving(
        &self,
        q: &[f64],
        mut visit: impl FnMut(usize, &Isometry3<f64>),
        mut visit_mimic: impl FnMut(usize, &Isometry3<f64>),
    ) -> Isometry3<f64> {
        let mut frame = Isometry3::identity();
        let mut mimics = self.mimics.iter().enumerate().peekable();
        let mut step_mimics = |frame: &mut Isometry3<f64>, slot: usize| {
            while let Some((m, mimic)) = mimics.next_if(|(_, m)| m.slot == slot) {
                *frame *= mimic.origin;
                move_frame(frame, mimic.kind, &mimic.axis, mimic.value(q));
                visit_mimic(m, frame);
            }
        };
        for (i, (joint, &value)) in self.joints.iter().zip(q).enumerate() {
            step_mimics(&mut frame, i);
            frame *= joint.origin;
            move_frame(&mut frame, joint.kind, &joint.axis, value);
            visit(i, &frame);
        }
        step_mimics(&mut frame, self.joints.len());
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
        if !self.mimics.is_empty() {
            return self.jacobian_with_mimics(q, jac);
        }
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

    /// The Jacobian when mimic joints move too: column `i` holds movable joint
    /// `i`'s motion plus, for every mimic joint following it, that joint's
    /// motion times its multiplier (the chain rule through `q_mimic = m · q_i + o`).
    fn jacobian_with_mimics(&self, q: &[f64], jac: &mut Matrix6xX<f64>) -> Isometry3<f64> {
        let mut joint_frames = vec![Isometry3::identity(); self.dof()];
        let mut mimic_frames = vec![Isometry3::identity(); self.mimics.len()];
        let tip = self.fold_moving(q, |i, f| joint_frames[i] = *f, |m, f| mimic_frames[m] = *f) * self.tip_offset;
        let p_tip = tip.translation.vector;
        jac.fill(0.0);
        for (i, (joint, frame)) in self.joints.iter().zip(&joint_frames).enumerate() {
            add_motion(jac, i, 1.0, joint.kind, frame * joint.axis.into_inner(), frame.translation.vector, &p_tip);
        }
        for (mimic, frame) in self.mimics.iter().zip(&mimic_frames) {
            let axis = frame * mimic.axis.into_inner();
            add_motion(jac, mimic.master, mimic.multiplier, mimic.kind, axis, frame.translation.vector, &p_tip);
        }
        tip
    }
}

/// Moves `frame` by a joint's motion for value `value`.
#[inline]
fn move_frame(frame: &mut Isometry3<f64>, kind: JointKind, axis: &nalgebra::Unit<Vector3<f64>>, value: f64) {
    match kind {
        JointKind::Revolute | JointKind::Continuous => {
            frame.rotation *= UnitQuaternion::from_axis_angle(axis, value);
        }
        JointKind::Prismatic => {
            frame.translation.vector += frame.rotation * (axis.into_inner() * value);
        }
        JointKind::Fixed => {}
    }
}

/// Adds `scale` × the tip twist of one joint (world axis, world origin) to column `col`.
fn add_motion(
    jac: &mut Matrix6xX<f64>,
    col: usize,
    scale: f64,
    kind: JointKind,
    axis: Vector3<f64>,
    origin: Vector3<f64>,
    p_tip: &Vector3<f64>,
) {
    let (linear, angular) = match kind {
        JointKind::Prismatic => (axis, Vector3::zeros()),
        JointKind::Fixed => (Vector3::zeros(), Vector3::zeros()),
        JointKind::Revolute | JointKind::Continuous => (axis.cross(&(p_tip - origin)), axis),
    };
    let mut column = jac.column_mut(col);
    column.fixed_rows_mut::<3>(0).axpy(scale, &linear, 1.0);
    column.fixed_rows_mut::<3>(3).axpy(scale, &angular, 1.0);
}
