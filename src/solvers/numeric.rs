//! Numeric IK: Levenberg–Marquardt on the weighted pose residual, joint limits
//! enforced by clamping every step, adaptive damping, random restarts until
//! the tolerance is met or the time budget is spent.

use std::time::Instant;

use nalgebra::{DMatrix, DVector, Isometry3, Matrix6xX, Vector6};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{GoalMask, Solution, SolveRequest, SolveResult, Solver};
use crate::kinematics::Chain;

#[derive(Debug, Clone)]
pub struct NumericSolver {
    chain: Chain,
    /// Iterations of one descent before a restart.
    pub max_iterations: usize,
    /// Metres of residual per radian of rotation error.
    pub rotation_weight: f64,
    /// Restarts at most (the time budget usually ends the search first).
    pub max_restarts: usize,
}

impl NumericSolver {
    pub fn new(chain: Chain) -> Self {
        Self { chain, max_iterations: 60, rotation_weight: 0.2, max_restarts: 10_000 }
    }

    pub fn chain(&self) -> &Chain {
        &self.chain
    }

    fn clamp(&self, q: &mut [f64]) {
        for (v, j) in q.iter_mut().zip(&self.chain.joints) {
            *v = j.limits.clamp(*v);
        }
    }

    /// Weighted residual (target − current) and the unweighted position (m) and rotation (rad) errors.
    fn residual(&self, tip: &Isometry3<f64>, req: &SolveRequest, w: &[f64; 6]) -> (Vector6<f64>, f64, f64) {
        let dp = req.target.translation.vector - tip.translation.vector;
        let dr = (req.target.rotation * tip.rotation.inverse()).scaled_axis();
        let mut e = Vector6::zeros();
        let mut rot_sq = 0.0;
        for i in 0..3 {
            e[i] = w[i] * dp[i];
            e[3 + i] = w[3 + i] * self.rotation_weight * dr[i];
            rot_sq += (w[3 + i] * dr[i]).powi(2);
        }
        (e, dp.norm(), rot_sq.sqrt())
    }

    /// One damped descent from `q`; returns the final configuration.
    fn descend(&self, mut q: Vec<f64>, req: &SolveRequest, jac: &mut Matrix6xX<f64>) -> Vec<f64> {
        let w = req.mask.weights();
        let n = self.chain.dof();
        let (tol_p, tol_r) = (req.tolerance.position_mm * 1e-3, req.tolerance.orientation_deg.to_radians());
        let mut lambda = 1e-3;
        let tip = self.chain.jacobian_into(&q, jac);
        let (mut e, mut ep, mut er) = self.residual(&tip, req, &w);
        let mut cost = e.norm_squared();
        let mut trial = vec![0.0; n];
        for _ in 0..self.max_iterations {
            if ep <= tol_p && (er <= tol_r || !req.mask.counts_orientation()) {
                break;
            }
            for r in 0..6 {
                let scale = w[r] * if r >= 3 { self.rotation_weight } else { 1.0 };
                jac.row_mut(r).scale_mut(scale);
            }
            let jt = jac.transpose();
            let h: DMatrix<f64> = &jt * &*jac;
            let g: DVector<f64> = &jt * e;
            let mut improved = false;
            while lambda < 1e9 {
                let mut a = h.clone();
                for i in 0..n {
                    a[(i, i)] += lambda * (h[(i, i)] + 1e-9);
                }
                let Some(step) = a.cholesky().map(|c| c.solve(&g)) else {
                    lambda *= 10.0;
                    continue;
                };
                for i in 0..n {
                    trial[i] = q[i] + step[i];
                }
                self.clamp(&mut trial);
                let t = self.chain.fk_unchecked(&trial);
                let (e2, ep2, er2) = self.residual(&t, req, &w);
                let c2 = e2.norm_squared();
                if c2 < cost {
                    q.copy_from_slice(&trial);
                    (e, ep, er, cost) = (e2, ep2, er2, c2);
                    lambda = (lambda / 3.0).max(1e-9);
                    improved = true;
                    break;
                }
                lambda *= 4.0;
            }
            if !improved {
                break; // a local minimum within the limits
            }
            self.chain.jacobian_into(&q, jac);
        }
        q
    }
}

impl Solver for NumericSolver {
    fn name(&self) -> &str {
        "numeric"
    }

    /// The best of restarts until the tolerance or the budget; with
    /// `req.samples > 1`, that many solutions from distinct random starts.
    fn solve(&self, req: &SolveRequest) -> SolveResult {
        let start = Instant::now();
        // Deterministic for a target: restarts draw from a stream seeded by it.
        let seed = req.target.translation.vector.iter().fold(0u64, |h, v| h.rotate_left(17) ^ v.to_bits());
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut jac = Matrix6xX::zeros(self.chain.dof());
        let mut best: Option<Solution> = None;
        let mut found = Vec::new();
        for attempt in 0..=self.max_restarts {
            let q0 = match (&req.seed, attempt) {
                (Some(seed), 0) if seed.len() == self.chain.dof() => {
                    let mut q = seed.clone();
                    self.clamp(&mut q);
                    q
                }
                _ => self.chain.random_configuration(&mut rng),
            };
            let q = self.descend(q0, req, &mut jac);
            let candidate = Solution::evaluate(&self.chain, q, &req.target, req.mask);
            if req.samples > 1 && candidate.meets(req.tolerance) {
                found.push(candidate);
            } else if best.as_ref().is_none_or(|b| better(&candidate, b, req.mask)) {
                best = Some(candidate);
            }
            let done = if req.samples > 1 {
                found.len() >= req.samples
            } else {
                best.as_ref().is_some_and(|b| b.meets(req.tolerance))
            };
            if done || start.elapsed() >= req.budget {
                break;
            }
        }
        // Without enough solutions within tolerance, the best approximation is returned too.
        if found.is_empty() {
            found.extend(best);
        }
        SolveResult::from_solutions(found, req.tolerance, start.elapsed())
    }
}

fn better(a: &Solution, b: &Solution, mask: GoalMask) -> bool {
    let key =
        |s: &Solution| s.position_error_mm + if mask.counts_orientation() { s.orientation_error_deg } else { 0.0 };
    key(a) < key(b)
}
