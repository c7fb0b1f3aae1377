//! Evaluation as in the CycleIK paper (Table 4): position error (mm) and
//! orientation error (deg) of the best solution per pose (avg/min/max), success
//! rate (< 10 mm and < 20°), the mean over all returned samples (the GAN's
//! 500), error buckets, and time per query on the calling thread.

pub mod plots;
mod report;

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::data::DatasetView;
use crate::kinematics::Pose;
use crate::solvers::{self, GoalMask, SolveRequest, Solver, Tolerance};

pub use plots::{PlotError, write_plots};
pub use report::{to_csv, to_markdown};

/// Thresholds (mm) of the error buckets: the field's 1, 2.5, 5 mm and 1, 2, 5, 10 cm.
pub const BUCKETS_MM: [f64; 7] = [1.0, 2.5, 5.0, 10.0, 20.0, 50.0, 100.0];

#[derive(Debug, Clone)]
pub struct EvalOptions {
    /// Evaluate at most this many poses (from the start of the view).
    pub limit: Option<usize>,
    /// Solutions per pose (500 for the GAN in the paper).
    pub samples: usize,
    pub budget: Duration,
    /// Tolerance the solver aims for.
    pub tolerance: Tolerance,
    pub mask: GoalMask,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            limit: None,
            samples: 1,
            budget: Duration::from_millis(50),
            tolerance: Tolerance { position_mm: 0.1, orientation_deg: 0.05 },
            mask: GoalMask::Full,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub mean: f64,
    pub min: f64,
    pub max: f64,
    pub median: f64,
    pub p99: f64,
}

impl Stats {
    pub fn of(values: &[f64]) -> Self {
        if values.is_empty() {
            return Self::default();
        }
        let mut sorted = values.to_vec();
        sorted.sort_by(f64::total_cmp);
        let at = |p: f64| sorted[((sorted.len() - 1) as f64 * p).round() as usize];
        Self {
            mean: values.iter().sum::<f64>() / values.len() as f64,
            min: sorted[0],
            max: sorted[sorted.len() - 1],
            median: at(0.5),
            p99: at(0.99),
        }
    }
}

/// One pose's outcome (kept for plots and error maps).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PoseOutcome {
    pub target: [f64; 7],
    pub position_mm: f64,
    pub orientation_deg: f64,
    pub time_ms: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    pub solver: String,
    pub poses: usize,
    /// Solutions asked for per pose.
    pub samples: usize,
    /// Best solution per pose.
    pub position_mm: Stats,
    pub orientation_deg: Stats,
    /// Mean over every returned solution of a pose, averaged over poses (equals
    /// the best-solution mean when there is one solution).
    pub mean_of_samples_position_mm: f64,
    pub mean_of_samples_orientation_deg: f64,
    /// Fraction of all returned solutions (every sample of every pose) within
    /// 10 mm and 20°: for a generator, how many of its samples are usable.
    #[serde(default)]
    pub samples_success_rate: f64,
    /// Mean squared difference between the best solution's joints and the
    /// dataset's joint labels (rad² or m²): the IKNet study's metric. Only
    /// meaningful where the pose has one solution (a redundant arm has many).
    #[serde(default)]
    pub joint_mse: f64,
    /// Spread of the solutions of a pose: the mean over joints of each joint's
    /// standard deviation across them (rad or m), averaged over poses; 0 for one solution.
    pub sample_spread: f64,
    /// Fraction of poses whose best solution is within 10 mm and 20°.
    pub success_rate: f64,
    /// Fraction within 1 mm and 0.57° (0.01 rad).
    pub strict_success_rate: f64,
    /// Fraction of poses whose position error exceeds each of [`BUCKETS_MM`].
    pub above_mm: Vec<(f64, f64)>,
    /// Wall time per query (all samples of a pose), milliseconds.
    pub time_ms: Stats,
    /// Worker threads the solver could use: rayon's pool, which the networks'
    /// batched inference and FK run on (evaluation itself issues one pose at a time).
    pub threads: usize,
    /// Network parameters (0 for numeric IK and the GA), and their bytes as stored, in MB.
    #[serde(default)]
    pub parameters: usize,
    #[serde(default)]
    pub weights_mb: f64,
    /// Peak resident memory, MB; what it covers is [`Self::peak_rss_scope`].
    #[serde(default)]
    pub peak_rss_mb: Option<f64>,
    #[serde(default)]
    pub peak_rss_scope: PeakRssScope,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub per_pose: Vec<PoseOutcome>,
}

impl EvalReport {
    /// Poses without a finite outcome: not a valid target, or no solution with
    /// finite values from the solver (counted in [`Self::per_pose`] with infinite errors).
    pub fn misses(&self) -> usize {
        self.per_pose.iter().filter(|p| !(p.position_mm.is_finite() && p.orientation_deg.is_finite())).count()
    }
}

/// Runs `solver` on every pose of `view`; `progress(done)` after each pose.
pub fn evaluate(
    solver: &dyn Solver,
    view: DatasetView<'_>,
    opts: &EvalOptions,
    progress: &dyn Fn(usize),
) -> EvalReport {
    let n = opts.limit.map_or(view.len(), |l| l.min(view.len()));
    let mut per_pose = Vec::with_capacity(n);
    let (mut sample_pos, mut sample_rot, mut spread) = (0.0, 0.0, 0.0);
    let (mut samples_ok, mut samples_all) = (0usize, 0usize);
    let mut joint_se = 0.0;
    let peak_rss_scope = reset_peak_rss();
    for i in 0..n {
        // A pose that is not a valid target, or one the solver gives no finite
        // solution for, counts as a miss (infinite errors; see [`EvalReport::misses`]).
        let start = Instant::now();
        let outcome = solvers::target_from_pose(view.pose(i)).and_then(|target| {
            let request = SolveRequest {
                mask: opts.mask,
                budget: opts.budget,
                tolerance: opts.tolerance,
                samples: opts.samples,
                ..SolveRequest::new(target)
            };
            solvers::solve_checked(solver, &request).map(|result| (target, result))
        });
        let time_ms = start.elapsed().as_secs_f64() * 1000.0;
        let Ok((target, result)) = outcome else {
            per_pose.push(PoseOutcome {
                target: std::array::from_fn(|k| view.pose(i)[k]),
                position_mm: f64::INFINITY,
                orientation_deg: f64::INFINITY,
                time_ms,
            });
            progress(i + 1);
            continue;
        };
        let best = result.best();
        let count = result.solutions.len().max(1) as f64;
        sample_pos += result.solutions.iter().map(|s| s.position_error_mm).sum::<f64>() / count;
        sample_rot += result.solutions.iter().map(|s| s.orientation_error_deg).sum::<f64>() / count;
        spread += joint_spread(&result.solutions);
        joint_se += best.map_or(f64::INFINITY, |b| squared_joint_error(&b.joints, view.joints(i)));
        samples_all += result.solutions.len();
        samples_ok += result
            .solutions
            .iter()
            .filter(|s| Tolerance::SUCCESS.admits(s.position_error_mm, s.orientation_error_deg))
            .count();
        per_pose.push(PoseOutcome {
            target: Pose::from_isometry(&target).to_array(),
            position_mm: best.map_or(f64::INFINITY, |b| b.position_error_mm),
            orientation_deg: best.map_or(f64::INFINITY, |b| b.orientation_error_deg),
            time_ms,
        });
        progress(i + 1);
    }
    let mut report = summarize(solver.name(), opts.samples, per_pose, sample_pos, sample_rot);
    report.sample_spread = if n == 0 { 0.0 } else { spread / n as f64 };
    report.samples_success_rate = if samples_all == 0 { 0.0 } else { samples_ok as f64 / samples_all as f64 };
    report.joint_mse = if n == 0 { 0.0 } else { joint_se / n as f64 };
    if let Some(model) = solver.model() {
        report.parameters = model.card.parameter_count;
        report.weights_mb = model.weight_bytes() as f64 / 1e6;
    }
    report.peak_rss_mb = peak_rss_mb();
    report.peak_rss_scope = peak_rss_scope;
    report
}

/// What a report's peak memory covers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PeakRssScope {
    /// This solver's run alone: the process's high-water mark was reset as it
    /// started (Linux), so earlier solvers of the same `eval` do not count,
    /// though memory they left allocated (e.g. a loaded network) does.
    Run,
    /// The process's peak so far, earlier solvers of the same `eval` included.
    #[default]
    Process,
}

/// Resets this process's peak resident set size to the current one (Linux:
/// `5` into `/proc/self/clear_refs`); says what a later [`peak_rss_mb`] covers.
pub fn reset_peak_rss() -> PeakRssScope {
    match std::fs::write("/proc/self/clear_refs", "5") {
        Ok(()) => PeakRssScope::Run,
        Err(_) => PeakRssScope::Process,
    }
}

/// Peak resident set size of this process (Linux `VmHWM`), MB; `None` elsewhere.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Mean over joints of the squared difference of two joint vectors.
fn squared_joint_error(joints: &[f64], labels: &[f64]) -> f64 {
    let n = joints.len().min(labels.len()).max(1) as f64;
    joints.iter().zip(labels).map(|(q, l)| (q - l).powi(2)).sum::<f64>() / n
}

/// Mean over joints of the standard deviation of each joint across `solutions`.
fn joint_spread(solutions: &[crate::solvers::Solution]) -> f64 {
    let (n, dof) = (solutions.len(), solutions.first().map_or(0, |s| s.joints.len()));
    if n < 2 || dof == 0 {
        return 0.0;
    }
    (0..dof)
        .map(|j| {
            let mean = solutions.iter().map(|s| s.joints[j]).sum::<f64>() / n as f64;
            (solutions.iter().map(|s| (s.joints[j] - mean).powi(2)).sum::<f64>() / n as f64).sqrt()
        })
        .sum::<f64>()
        / dof as f64
}

fn summarize(solver: &str, samples: usize, per_pose: Vec<PoseOutcome>, sample_pos: f64, sample_rot: f64) -> EvalReport {
    let n = per_pose.len();
    let pos: Vec<f64> = per_pose.iter().map(|p| p.position_mm).collect();
    let rot: Vec<f64> = per_pose.iter().map(|p| p.orientation_deg).collect();
    let time: Vec<f64> = per_pose.iter().map(|p| p.time_ms).collect();
    let fraction = |pred: &dyn Fn(&PoseOutcome) -> bool| {
        if n == 0 { 0.0 } else { per_pose.iter().filter(|p| pred(p)).count() as f64 / n as f64 }
    };
    let success = |tol: Tolerance| move |p: &PoseOutcome| tol.admits(p.position_mm, p.orientation_deg);
    EvalReport {
        solver: solver.to_string(),
        poses: n,
        samples,
        position_mm: Stats::of(&pos),
        orientation_deg: Stats::of(&rot),
        mean_of_samples_position_mm: if n == 0 { 0.0 } else { sample_pos / n as f64 },
        mean_of_samples_orientation_deg: if n == 0 { 0.0 } else { sample_rot / n as f64 },
        sample_spread: 0.0,
        samples_success_rate: 0.0,
        joint_mse: 0.0,
        success_rate: fraction(&success(Tolerance::SUCCESS)),
        strict_success_rate: fraction(&success(Tolerance::STRICT)),
        above_mm: BUCKETS_MM.iter().map(|&t| (t, fraction(&|p: &PoseOutcome| p.position_mm > t))).collect(),
        time_ms: Stats::of(&time),
        threads: rayon::current_num_threads(),
        parameters: 0,
        weights_mb: 0.0,
        peak_rss_mb: None,
        peak_rss_scope: PeakRssScope::Process,
        per_pose,
    }
}
