//! IK solvers behind one interface: a request (target, goal mask, seed, time
//! budget, tolerance) in, solutions (best first) with their errors out.

mod genetic;
mod neural;
mod numeric;
mod registry;
mod self_motion;

use std::time::Duration;

use nalgebra::Isometry3;
use serde::{Deserialize, Serialize};

use crate::kinematics::{Chain, orientation_error_deg, position_error_mm};

pub use genetic::{GaConfig, GaReport, GeneticSolver};
pub use neural::{NeuralGa, NeuralNumeric, NeuralSolver};
pub use numeric::NumericSolver;
pub use registry::{
    SOLVER_NAMES, Shipped, SolverError, build, build_on, checkpoints_dir, model_family, shipped_checkpoint,
    shipped_checkpoints,
};
pub use self_motion::self_motion;

/// Which parts of the target pose count. A 4-DoF arm cannot reach every
/// orientation: ask it for the position only, or position plus some axes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum GoalMask {
    /// Position and full orientation.
    Full,
    /// Position only.
    Position,
    /// Position and the rotation components (about base x, y, z) marked true.
    PositionAnd([bool; 3]),
}

impl GoalMask {
    /// Weights of the 6 error rows (x, y, z, rx, ry, rz).
    pub fn weights(self) -> [f64; 6] {
        match self {
            GoalMask::Full => [1.0; 6],
            GoalMask::Position => [1.0, 1.0, 1.0, 0.0, 0.0, 0.0],
            GoalMask::PositionAnd(r) => [1.0, 1.0, 1.0, r[0] as u8 as f64, r[1] as u8 as f64, r[2] as u8 as f64],
        }
    }

    pub fn counts_orientation(self) -> bool {
        !matches!(self, GoalMask::Position)
    }
}

/// When a solution counts as solved.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tolerance {
    pub position_mm: f64,
    pub orientation_deg: f64,
}

impl Tolerance {
    /// The CycleIK paper's success criterion: 10 mm and 20°.
    pub const SUCCESS: Tolerance = Tolerance { position_mm: 10.0, orientation_deg: 20.0 };
    /// A strict criterion: 1 mm and 0.57° (0.01 rad).
    pub const STRICT: Tolerance = Tolerance { position_mm: 1.0, orientation_deg: 0.57 };

    /// Whether errors of `position_mm` and `orientation_deg` are within it (strictly
    /// below both bounds, as the paper counts success). The one success test of
    /// the solvers, `eval` and the trainer.
    pub fn admits(self, position_mm: f64, orientation_deg: f64) -> bool {
        position_mm < self.position_mm && orientation_deg < self.orientation_deg
    }
}

/// Farthest a target may lie from the chain's base, m: far beyond any arm, and
/// small enough that every error computed from it stays finite.
pub const MAX_TARGET_DISTANCE: f64 = 1e3;

/// Most solutions one request may ask for (`samples`; the GAN's per pose).
pub const MAX_SOLUTIONS_PER_POSE: usize = 100_000;

/// The target of the pose `[x, y, z, qx, qy, qz, qw]`: 7 finite numbers, the
/// position within [`MAX_TARGET_DISTANCE`], a non-zero quaternion (normalised).
pub fn target_from_pose(values: &[f64]) -> Result<Isometry3<f64>, SolverError> {
    let pose = crate::kinematics::Pose::from_slice(values).ok_or_else(|| {
        SolverError::BadRequest(format!(
            "a pose needs 7 finite numbers x,y,z,qx,qy,qz,qw with a non-zero quaternion, got {values:?}"
        ))
    })?;
    let mut target = pose.to_isometry();
    // `Pose` makes w ≥ 0; the caller's sign is kept for networks that take it as given.
    if values[6] < 0.0 {
        target.rotation = nalgebra::UnitQuaternion::new_unchecked(-target.rotation.into_inner());
    }
    check_target(&target)?;
    Ok(target)
}

fn check_target(target: &Isometry3<f64>) -> Result<(), SolverError> {
    let p = target.translation.vector;
    if !(p.iter().all(|v| v.is_finite()) && p.norm() <= MAX_TARGET_DISTANCE) {
        return Err(SolverError::BadRequest(format!(
            "target position [{}, {}, {}] is not within {MAX_TARGET_DISTANCE} m of the base",
            p.x, p.y, p.z
        )));
    }
    let q = target.rotation.coords;
    if !(q.iter().all(|v| v.is_finite()) && (q.norm() - 1.0).abs() < 1e-6) {
        return Err(SolverError::BadRequest(format!("target orientation {:?} is not a unit quaternion", q.as_slice())));
    }
    Ok(())
}

/// Runs `solver` on a validated request and keeps only solutions whose joint
/// values and errors are finite; none left is an error. The command line goes
/// through here, so no NaN or infinite answer is ever printed as a result.
pub fn solve_checked(solver: &dyn Solver, request: &SolveRequest) -> Result<SolveResult, SolverError> {
    request.validate()?;
    let result = solver.solve(request);
    let solutions: Vec<Solution> = result.solutions.into_iter().filter(Solution::is_finite).collect();
    if solutions.is_empty() {
        return Err(SolverError::NoFiniteSolution(solver.name().to_string()));
    }
    // Ranked and judged again: a dropped solution may have sorted first.
    Ok(SolveResult::from_solutions(solutions, request.tolerance, result.time))
}

#[derive(Debug, Clone)]
pub struct SolveRequest {
    pub target: Isometry3<f64>,
    pub mask: GoalMask,
    /// Start configuration (e.g. the current one); random within limits when absent.
    pub seed: Option<Vec<f64>>,
    pub budget: Duration,
    pub tolerance: Tolerance,
    /// How many distinct solutions are wanted (the GAN's samples; numeric restarts).
    pub samples: usize,
}

impl SolveRequest {
    pub fn new(target: Isometry3<f64>) -> Self {
        Self {
            target,
            mask: GoalMask::Full,
            seed: None,
            budget: Duration::from_millis(20),
            tolerance: Tolerance { position_mm: 0.1, orientation_deg: 0.05 },
            samples: 1,
        }
    }
}

impl SolveRequest {
    /// Refuses what no solver can work on: a target that is not finite, farther
    /// than [`MAX_TARGET_DISTANCE`] or not a unit rotation; a seed with
    /// non-finite values (one of the wrong length is ignored by the solvers); `samples`
    /// outside `1..=`[`MAX_SOLUTIONS_PER_POSE`]; a tolerance that is not a
    /// positive number.
    pub fn validate(&self) -> Result<(), SolverError> {
        check_target(&self.target)?;
        let bad = |what: String| Err(SolverError::BadRequest(what));
        if let Some(seed) = self.seed.as_ref().filter(|s| s.iter().any(|v| !v.is_finite())) {
            return bad(format!("the seed {seed:?} holds values that are not finite"));
        }
        if !(1..=MAX_SOLUTIONS_PER_POSE).contains(&self.samples) {
            return bad(format!("{} solutions asked for; 1 to {MAX_SOLUTIONS_PER_POSE} per pose", self.samples));
        }
        let t = self.tolerance;
        if !(t.position_mm > 0.0
            && t.position_mm.is_finite()
            && t.orientation_deg > 0.0
            && t.orientation_deg.is_finite())
        {
            return bad(format!("tolerance {} mm, {}° is not two positive numbers", t.position_mm, t.orientation_deg));
        }
        Ok(())
    }
}

/// One joint configuration and how far its tip is from the target.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Solution {
    pub joints: Vec<f64>,
    pub position_error_mm: f64,
    /// 0 when the mask ignores orientation entirely.
    pub orientation_error_deg: f64,
}

impl Solution {
    /// Evaluates `joints` against the request's target (honouring its mask).
    pub fn evaluate(chain: &Chain, joints: Vec<f64>, target: &Isometry3<f64>, mask: GoalMask) -> Self {
        let (position_error_mm, orientation_error_deg) = pose_errors(chain, &joints, target, mask);
        Self { position_error_mm, orientation_error_deg, joints }
    }

    /// Whether the joint values and both errors are finite numbers.
    pub fn is_finite(&self) -> bool {
        self.joints.iter().all(|v| v.is_finite())
            && self.position_error_mm.is_finite()
            && self.orientation_error_deg.is_finite()
    }

    pub fn meets(&self, tol: Tolerance) -> bool {
        tol.admits(self.position_error_mm, self.orientation_error_deg)
    }
}

/// Position (mm) and orientation (degrees) error of `joints`' tip against
/// `target`; the orientation error counts only the axes `mask` asks for.
pub fn pose_errors(chain: &Chain, joints: &[f64], target: &Isometry3<f64>, mask: GoalMask) -> (f64, f64) {
    let tip = chain.fk_unchecked(joints);
    let orientation = match mask {
        GoalMask::Full => orientation_error_deg(&tip, target),
        GoalMask::Position => 0.0,
        GoalMask::PositionAnd(_) => {
            let w = mask.weights();
            let err = (target.rotation * tip.rotation.inverse()).scaled_axis();
            (0..3).map(|i| (err[i] * w[3 + i]).powi(2)).sum::<f64>().sqrt().to_degrees()
        }
    };
    (position_error_mm(&tip, target), orientation)
}

/// How well a request was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SolveState {
    /// The best solution meets the requested tolerance.
    Solved,
    /// Not within tolerance, but within the field's success criterion (10 mm / 20°).
    Approximate,
    /// Out of reach: the best approximation is returned.
    Unreachable,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SolveResult {
    pub state: SolveState,
    /// Best first.
    pub solutions: Vec<Solution>,
    pub time: Duration,
}

impl SolveResult {
    pub fn from_solutions(mut solutions: Vec<Solution>, tolerance: Tolerance, time: Duration) -> Self {
        solutions.sort_by(|a, b| score(a).total_cmp(&score(b)));
        let state = match solutions.first() {
            Some(best) if best.meets(tolerance) => SolveState::Solved,
            Some(best) if best.meets(Tolerance::SUCCESS) => SolveState::Approximate,
            _ => SolveState::Unreachable,
        };
        Self { state, solutions, time }
    }

    pub fn best(&self) -> Option<&Solution> {
        self.solutions.first()
    }
}

/// Ranking of solutions: 1 mm counts as much as 1°.
fn score(s: &Solution) -> f64 {
    combined_error(s.position_error_mm, s.orientation_error_deg)
}

/// Position (mm) and orientation (°) error as one figure, 1 mm = 1°: the
/// ranking of solutions and the GA's fitness.
fn combined_error(position_mm: f64, orientation_deg: f64) -> f64 {
    position_mm + orientation_deg
}

/// An IK solver for one chain.
pub trait Solver: Send + Sync {
    fn name(&self) -> &str;
    fn solve(&self, request: &SolveRequest) -> SolveResult;
    /// The network behind the solver (none for numeric IK and the GA).
    fn model(&self) -> Option<&crate::models::LoadedModel> {
        None
    }
}
