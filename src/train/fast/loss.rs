//! The CycleIK loss terms of [`crate::train::losses`] on plain numbers, each
//! with its gradient, per row (position, rotation) or per batch (zero
//! controller, generator spread). Values are the same reductions as the
//! tensor versions: means over every element the tensor version averages.

use super::fk_grad::{Mat3, Vec3};
use crate::train::{DiversityLoss, PositionLoss, RotationLoss};

/// Keeps square roots differentiable at an exact match (as `losses::SQRT_EPS`).
const SQRT_EPS: f64 = 1e-12;

/// Sum over x, y, z of the per-element position loss, and its gradient w.r.t. `reached`.
pub fn position(kind: PositionLoss, reached: Vec3, target: &[f32]) -> (f64, Vec3) {
    let mut value = 0.0;
    let grad = std::array::from_fn(|k| {
        let e = reached[k] - target[k] as f64;
        let d = e.abs();
        let sign = sign(e);
        match kind {
            PositionLoss::L1 => {
                value += d;
                sign
            }
            PositionLoss::SmoothL1 { beta } => {
                // 0.5·m²/β + (d − m), m = min(d, β)
                let m = d.min(beta);
                value += 0.5 * m * m / beta + (d - m);
                sign * if d < beta { d / beta } else { 1.0 }
            }
        }
    });
    (value, grad)
}

/// One row's rotation loss between `reached` and the row-major `target`, and its gradient w.r.t. `reached`.
pub fn rotation(kind: RotationLoss, reached: &Mat3, target: &[f32]) -> (f64, Mat3) {
    let diff: Mat3 = std::array::from_fn(|k| reached[k] - target[k] as f64);
    let chordal = || (diff.iter().map(|v| v * v).sum::<f64>() + SQRT_EPS).sqrt();
    match kind {
        RotationLoss::Chordal => {
            let c = chordal();
            (c, diff.map(|v| v / c))
        }
        RotationLoss::QuaternionDistance => {
            // ⟨q̂, q⟩² = (1 + tr(R̂ᵀR)) / 4, clamped to [ε, 1]; loss 1 − √·
            let trace: f64 = (0..9).map(|k| reached[k] * target[k] as f64).sum();
            let dot2 = (1.0 + trace) * 0.25;
            let clamped = dot2.clamp(SQRT_EPS, 1.0);
            let root = clamped.sqrt();
            let inside = (SQRT_EPS..=1.0).contains(&dot2);
            let factor = if inside { -0.125 / root } else { 0.0 };
            (1.0 - root, std::array::from_fn(|k| factor * target[k] as f64))
        }
        RotationLoss::Geodesic => {
            // θ = 2·asin(min(c / 2√2, 1 − 1e-6))
            const LIMIT: f64 = 1.0 - 1e-6;
            let c = chordal();
            let half_sin = c / (2.0 * std::f64::consts::SQRT_2);
            let value = 2.0 * half_sin.min(LIMIT).asin();
            let dc = if half_sin <= LIMIT {
                2.0 / (1.0 - half_sin * half_sin).sqrt() / (2.0 * std::f64::consts::SQRT_2)
            } else {
                0.0
            };
            (value, diff.map(|v| dc * v / c))
        }
    }
}

/// Zero controller: mean of `q[j]²` over the rows and `joints`; adds its
/// gradient times `weight` to `grad_q` (`rows × dof`, like `q`).
pub fn zero(q: &[f64], dof: usize, joints: &[usize], weight: f64, grad_q: &mut [f64]) -> f64 {
    let rows = q.len() / dof;
    let count = (rows * joints.len()) as f64;
    let mut sum = 0.0;
    for (row, grad) in q.chunks_exact(dof).zip(grad_q.chunks_exact_mut(dof)) {
        for &j in joints {
            sum += row[j] * row[j];
            grad[j] += weight * 2.0 * row[j] / count;
        }
    }
    sum / count
}

/// The generator's spread term of `kind` over the `r` rows of `outputs`
/// (`r × dof`, one pose repeated) with their noise columns (`r × noise_dim`);
/// adds its gradient times `weight` to `grad_y`.
pub fn diversity(
    kind: DiversityLoss,
    outputs: &[f32],
    noise: &[f32],
    dof: usize,
    noise_dim: usize,
    weight: f64,
    grad_y: &mut [f64],
) -> f64 {
    let r = outputs.len() / dof;
    let moments: Vec<(f64, f64)> = (0..dof).map(|j| column_moments(outputs, dof, j)).collect();
    // ∂L/∂var_j per column, then ∂var_j/∂y_kj = 2·(y_kj − mean_j)/r.
    let (loss, dvar): (f64, Vec<f64>) = match kind {
        DiversityLoss::PaperVariance => {
            // mean_j (var_j − var_z)², var_z the noise columns' mean variance
            let var_z = (0..noise_dim).map(|j| column_moments(noise, noise_dim, j).1).sum::<f64>() / noise_dim as f64;
            let gaps: Vec<f64> = moments.iter().map(|(_, var)| var - var_z).collect();
            (gaps.iter().map(|g| g * g).sum::<f64>() / dof as f64, gaps.iter().map(|g| 2.0 * g / dof as f64).collect())
        }
        DiversityLoss::SpreadHinge { target_std } => {
            // max(0, s − √(mean_j var_j + ε)): constant strength below the target
            let std = (moments.iter().map(|m| m.1).sum::<f64>() / dof as f64 + SQRT_EPS).sqrt();
            let shortfall = (target_std - std).max(0.0);
            let slope = if shortfall > 0.0 { -0.5 / (std * dof as f64) } else { 0.0 };
            (shortfall, vec![slope; dof])
        }
    };
    for (k, row) in outputs.chunks_exact(dof).enumerate() {
        for (j, &y) in row.iter().enumerate() {
            grad_y[k * dof + j] += weight * dvar[j] * 2.0 * (y as f64 - moments[j].0) / r as f64;
        }
    }
    loss
}

/// Mean and biased variance of column `j` of `values` (rows of `width`).
fn column_moments(values: &[f32], width: usize, j: usize) -> (f64, f64) {
    let rows = (values.len() / width) as f64;
    let mean = values.iter().skip(j).step_by(width).map(|&v| v as f64).sum::<f64>() / rows;
    let var = values.iter().skip(j).step_by(width).map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / rows;
    (mean, var)
}

/// burn's `sign`: 0 at 0.
fn sign(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}
