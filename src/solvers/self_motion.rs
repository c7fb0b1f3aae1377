//! Self-motion of a redundant arm: configurations that keep the tip where it
//! is, found by stepping along the Jacobian's null space and correcting the
//! drift with damped least-squares steps. Shown beside the GAN's samples.

use nalgebra::{DVector, Matrix6, Matrix6xX, Vector6};

use crate::kinematics::Chain;

const DAMPING: f64 = 1e-6;

/// Up to `count` configurations along the self-motion through `q` (half each
/// way), `step` radians apart. Empty when the chain has no redundancy.
pub fn self_motion(chain: &Chain, q: &[f64], count: usize, step: f64) -> Vec<Vec<f64>> {
    let n = chain.dof();
    if n <= 6 || q.len() != n || count == 0 {
        return Vec::new();
    }
    let target = chain.fk_unchecked(q);
    let mut jac = Matrix6xX::zeros(n);
    let mut out = vec![q.to_vec()];
    for sign in [1.0, -1.0] {
        let mut qk = DVector::from_column_slice(q);
        let mut previous: Option<DVector<f64>> = None;
        while out.len() < count {
            chain.jacobian_into(qk.as_slice(), &mut jac);
            let Some(pinv) = damped_pinv(&jac) else { break };
            // Null-space projector applied to the previous direction keeps the motion smooth.
            let projector = nalgebra::DMatrix::identity(n, n) - &pinv * &jac;
            let seed = previous.clone().unwrap_or_else(|| {
                let k = (0..n).max_by(|&a, &b| projector[(a, a)].total_cmp(&projector[(b, b)])).unwrap_or(0);
                DVector::from_fn(n, |i, _| if i == k { sign } else { 0.0 })
            });
            let direction = &projector * seed;
            if direction.norm() < 1e-9 {
                break;
            }
            qk += direction.normalize() * step;
            clamp(chain, &mut qk);
            // Pull the tip back onto the target.
            for _ in 0..3 {
                let tip = chain.jacobian_into(qk.as_slice(), &mut jac);
                let dp = target.translation.vector - tip.translation.vector;
                let dr = (target.rotation * tip.rotation.inverse()).scaled_axis();
                let err = Vector6::new(dp.x, dp.y, dp.z, dr.x, dr.y, dr.z);
                let Some(pinv) = damped_pinv(&jac) else { break };
                qk += pinv * err;
                clamp(chain, &mut qk);
            }
            let moved = (&qk - DVector::from_column_slice(&out[out.len() - 1])).norm();
            if moved < step * 0.25 {
                break; // stuck at a joint limit
            }
            previous = Some(direction.normalize());
            out.push(qk.iter().copied().collect());
            if sign > 0.0 && out.len() >= count.div_ceil(2) {
                break;
            }
        }
    }
    out.truncate(count);
    out
}

/// Jᵀ (J Jᵀ + λ I)⁻¹.
fn damped_pinv(jac: &Matrix6xX<f64>) -> Option<nalgebra::DMatrix<f64>> {
    let jjt: Matrix6<f64> = jac * jac.transpose() + Matrix6::identity() * DAMPING;
    let inv = jjt.try_inverse()?;
    Some(nalgebra::DMatrix::from_iterator(jac.ncols(), 6, (jac.transpose() * inv).iter().copied()))
}

fn clamp(chain: &Chain, q: &mut DVector<f64>) {
    for (v, j) in q.iter_mut().zip(&chain.joints) {
        *v = j.limits.clamp(*v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::robots;

    #[test]
    fn self_motion_keeps_the_tip_and_moves_the_joints() {
        let chain = robots::builtin("nicol-right").unwrap().chain;
        let q = [1.0, 0.3, -0.6, 0.4, 0.3, 0.2, 0.1, -0.1];
        let tip = chain.fk(&q).unwrap();
        let path = self_motion(&chain, &q, 30, 0.05);
        assert!(path.len() >= 10, "{}", path.len());
        let mut spread = 0.0_f64;
        for c in &path {
            let t = chain.fk(c).unwrap();
            assert!((t.translation.vector - tip.translation.vector).norm() < 1e-3);
            assert!(t.rotation.angle_to(&tip.rotation) < 1e-2);
            assert!(chain.within_limits(c));
            spread = spread.max(c.iter().zip(&q).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max));
        }
        assert!(spread > 0.2, "the joints move: {spread}");
        // A 4-DoF arm has no self-motion for a full pose.
        let omx = robots::builtin("omx").unwrap().chain;
        assert!(self_motion(&omx, &[0.0; 4], 10, 0.05).is_empty());
    }
}
