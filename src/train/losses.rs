//! Loss terms as tensor functions (scalar results have shape `[1]`).

use burn::tensor::Tensor;

use super::config::{DiversityLoss, PositionLoss, RotationLoss};

/// Keeps square roots differentiable at an exact match.
const SQRT_EPS: f32 = 1e-12;

/// Mean squared error of two `[batch, n]` tensors.
pub fn mse(prediction: Tensor<2>, target: Tensor<2>) -> Tensor<1> {
    (prediction - target).square().mean()
}

/// Position term between reached and target positions `[batch, 3]` (metres).
pub fn position_loss(kind: PositionLoss, reached: Tensor<2>, target: Tensor<2>) -> Tensor<1> {
    let d = (reached - target).abs();
    match kind {
        PositionLoss::L1 => d.mean(),
        PositionLoss::SmoothL1 { beta } => {
            let beta = beta as f32;
            // 0.5·m²/β + (d − m) with m = min(d, β): quadratic below β, linear above.
            let m = d.clone().clamp_max(beta);
            (m.clone().square().mul_scalar(0.5 / beta) + (d - m)).mean()
        }
    }
}

/// Rotation term between reached and target rotation matrices `[batch, 3, 3]`.
pub fn rotation_loss(kind: RotationLoss, reached: Tensor<3>, target: Tensor<3>) -> Tensor<1> {
    let [batch, _, _] = reached.dims();
    match kind {
        RotationLoss::Chordal => chordal(reached, target, batch).mean(),
        RotationLoss::QuaternionDistance => {
            // ⟨q̂, q⟩² = (1 + tr(R̂ᵀR)) / 4
            let dot2 = trace_of_product(reached, target, batch).add_scalar(1.0).mul_scalar(0.25);
            (dot2.clamp(SQRT_EPS, 1.0).sqrt().neg().add_scalar(1.0)).mean()
        }
        RotationLoss::Geodesic => {
            // θ = 2·asin(‖R̂ − R‖ / 2√2): accurate near θ = 0, where acos of the trace is not.
            let half_sin = chordal(reached, target, batch).mul_scalar(1.0 / (2.0 * std::f32::consts::SQRT_2));
            half_sin.clamp_max(1.0 - 1e-6).asin().mul_scalar(2.0).mean()
        }
    }
}

/// `‖R̂ − R‖_F` per batch row, `[batch, 1]`.
fn chordal(reached: Tensor<3>, target: Tensor<3>, batch: usize) -> Tensor<2> {
    (reached - target).square().reshape([batch, 9]).sum_dim(1).add_scalar(SQRT_EPS).sqrt()
}

/// `tr(Aᵀ B)` per batch row, `[batch, 1]`.
fn trace_of_product(a: Tensor<3>, b: Tensor<3>, batch: usize) -> Tensor<2> {
    (a * b).reshape([batch, 9]).sum_dim(1)
}

/// Zero-controller: mean of the squared `joints` columns of `q` (raw values).
pub fn zero_loss(q: Tensor<2>, joints: &[usize]) -> Tensor<1> {
    let columns: Vec<Tensor<2>> = joints.iter().map(|&j| q.clone().narrow(1, j, 1)).collect();
    Tensor::cat(columns, 1).square().mean()
}

/// Generator spread: `MSE(var(Θ) − var(Z))`, the biased variance of each
/// output column over the rows of `outputs` against the mean variance of
/// the noise columns actually drawn (the CycleIK paper's term).
pub fn variance_loss(outputs: Tensor<2>, noise: Tensor<2>) -> Tensor<1> {
    let var_theta = outputs.var_bias(0); // [1, dof]
    let var_z = noise.var_bias(0).mean().reshape([1, 1]);
    (var_theta - var_z).square().mean()
}

/// Generator spread as a hinge on the total: `max(0, s − √(mean_j var(Θ_j)))`
/// over the rows of one repeated pose (outputs in [-1, 1]). It pushes, with a
/// constant strength, only while the spread is below `target_std`, and any
/// joints may carry it, so the joints that cannot move without losing the
/// pose are not asked to.
pub fn spread_hinge_loss(outputs: Tensor<2>, target_std: f64) -> Tensor<1> {
    let std = outputs.var_bias(0).mean().add_scalar(SQRT_EPS).sqrt();
    std.neg().add_scalar(target_std).clamp_min(0.0)
}

/// The generator's spread term of `kind` on the repeated rows.
pub fn diversity_loss(kind: DiversityLoss, outputs: Tensor<2>, noise: Tensor<2>) -> Tensor<1> {
    match kind {
        DiversityLoss::PaperVariance => variance_loss(outputs, noise),
        DiversityLoss::SpreadHinge { target_std } => spread_hinge_loss(outputs, target_std),
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::{Tensor, TensorData};
    use nalgebra::{Rotation3, Vector3};

    use super::*;
    use crate::models::cpu_device;

    fn rotations(angles: &[f64]) -> (Tensor<3>, Tensor<3>) {
        let device = cpu_device().autodiff();
        let axis = nalgebra::Unit::new_normalize(Vector3::new(0.3, -0.5, 0.8));
        let mut reached = Vec::new();
        let mut target = Vec::new();
        for &a in angles {
            let base = Rotation3::from_euler_angles(0.4, -0.2, 1.1);
            let turned = base * Rotation3::from_axis_angle(&axis, a);
            reached.extend(turned.matrix().transpose().iter().map(|&v| v as f32)); // row-major
            target.extend(base.matrix().transpose().iter().map(|&v| v as f32));
        }
        let n = angles.len();
        (
            Tensor::from_data(TensorData::new(reached, [n, 3, 3]), &device).require_grad(),
            Tensor::from_data(TensorData::new(target, [n, 3, 3]), &device),
        )
    }

    fn value(t: Tensor<1>) -> f64 {
        t.into_data().try_into_vec::<f32>().unwrap()[0] as f64
    }

    #[test]
    fn rotation_losses_measure_the_angle_and_keep_finite_gradients_at_zero() {
        let angle: f64 = 0.3;
        let expected = [
            (RotationLoss::Chordal, 2.0 * 2f64.sqrt() * (angle / 2.0).sin()),
            (RotationLoss::QuaternionDistance, 1.0 - (angle / 2.0).cos()),
            (RotationLoss::Geodesic, angle),
        ];
        for (kind, want) in expected {
            let (r, t) = rotations(&[angle]);
            assert!((value(rotation_loss(kind, r, t)) - want).abs() < 1e-4, "{kind:?}");
            let (r, t) = rotations(&[0.0, 0.0]);
            let loss = rotation_loss(kind, r.clone(), t);
            assert!(value(loss.clone()) < 1e-3, "{kind:?}");
            let grads = loss.backward();
            let g: Vec<f32> = r.grad(&grads).unwrap().into_data().try_into_vec().unwrap();
            assert!(g.iter().all(|v| v.is_finite()), "{kind:?}: {g:?}");
        }
    }

    #[test]
    fn smooth_l1_is_quadratic_below_beta_and_linear_above() {
        let device = cpu_device();
        let reached = Tensor::<2>::from_data(TensorData::new(vec![0.001f32, 0.0, 0.0, 0.5, 0.0, 0.0], [2, 3]), &device);
        let target = Tensor::<2>::zeros([2, 3], &device);
        let loss = value(position_loss(PositionLoss::SmoothL1 { beta: 0.01 }, reached.clone(), target.clone()));
        let want = (0.5 * 0.001f64.powi(2) / 0.01 + (0.5 - 0.005)) / 6.0;
        assert!((loss - want).abs() < 1e-6, "{loss} vs {want}");
        let l1 = value(position_loss(PositionLoss::L1, reached, target));
        assert!((l1 - 0.501 / 6.0).abs() < 1e-6);
    }

    #[test]
    fn variance_loss_vanishes_when_outputs_spread_like_the_noise() {
        let device = cpu_device();
        let z = Tensor::<2>::from_data(TensorData::new(vec![0.0f32, 1.0, 1.0, 0.0], [2, 2]), &device);
        // Outputs with the same per-column variance (0.25) as the noise: no loss.
        let same = Tensor::<2>::from_data(TensorData::new(vec![0.0f32, 0.0, 1.0, -1.0], [2, 2]), &device);
        assert!(value(variance_loss(same, z.clone())) < 1e-9);
        // Collapsed outputs: (0 − 0.25)².
        let collapsed = Tensor::<2>::ones([2, 2], &device);
        assert!((value(variance_loss(collapsed, z)) - 0.0625).abs() < 1e-7);
    }

    #[test]
    fn zero_loss_reads_only_the_chosen_joints() {
        let device = cpu_device();
        let q = Tensor::<2>::from_data(TensorData::new(vec![5.0f32, 1.0, 2.0, 5.0, 3.0, 4.0], [2, 3]), &device);
        // joints 1 and 2: (1 + 4 + 9 + 16) / 4
        assert!((value(zero_loss(q, &[1, 2])) - 7.5).abs() < 1e-6);
    }

    #[test]
    fn spread_hinge_pushes_only_below_its_target() {
        let device = cpu_device().autodiff();
        let rows = |values: Vec<f32>| Tensor::<2>::from_data(TensorData::new(values, [4, 2]), &device).require_grad();
        // Columns with variance 0.25 each (std 0.5): above a 0.1 target, no loss and no gradient.
        let spread = rows(vec![-0.5, 0.5, 0.5, -0.5, -0.5, 0.5, 0.5, -0.5]);
        let loss = spread_hinge_loss(spread.clone(), 0.1);
        assert!(value(loss.clone()) == 0.0);
        let g: Vec<f32> = spread.grad(&loss.backward()).unwrap().into_data().try_into_vec().unwrap();
        assert!(g.iter().all(|v| *v == 0.0), "{g:?}");
        // Nearly collapsed rows (mean variance 9.375e-6): 0.1 − √9.375e-6, and a
        // gradient that spreads them apart.
        let collapsed = rows(vec![0.1, 0.2, 0.1, 0.2, 0.1, 0.2, 0.11, 0.2]);
        let loss = spread_hinge_loss(collapsed.clone(), 0.1);
        assert!((value(loss.clone()) - (0.1 - 9.375e-6f64.sqrt())).abs() < 1e-5);
        let g: Vec<f32> = collapsed.grad(&loss.backward()).unwrap().into_data().try_into_vec().unwrap();
        // Descending the gradient moves the odd row away from the others.
        assert!(g[6] < 0.0 && g[0] > 0.0, "{g:?}");
    }
}
