//! Evaluation numbers on a tiny set equal a hand computation.

use std::time::Duration;

use ik_studio::data::{Dataset, DatasetMeta, Splits};
use ik_studio::eval::{self, EvalOptions};
use ik_studio::robots;
use ik_studio::solvers::{Solution, SolveRequest, SolveResult, Solver};

/// Always answers the OMX home configuration (tip at 0.286, 0, 0.2045, no rotation).
struct HomeOnly(ik_studio::Chain);

impl Solver for HomeOnly {
    fn name(&self) -> &str {
        "home-only"
    }
    fn solve(&self, req: &SolveRequest) -> SolveResult {
        let s = Solution::evaluate(&self.0, vec![0.0; 4], &req.target, req.mask);
        SolveResult::from_solutions(vec![s], req.tolerance, Duration::ZERO)
    }
}

#[test]
fn eval_matches_hand_computation() {
    let robot = robots::builtin("omx").unwrap();
    let (s30, c30) = (15f64.to_radians().sin(), 15f64.to_radians().cos());
    // Poses relative to the home tip: exact; 12 mm along x; 30 mm along y and turned 30° about z;
    // 3 mm along z.
    let poses = vec![
        0.286, 0.0, 0.2045, 0.0, 0.0, 0.0, 1.0, //
        0.298, 0.0, 0.2045, 0.0, 0.0, 0.0, 1.0, //
        0.286, 0.03, 0.2045, 0.0, 0.0, s30, c30, //
        0.286, 0.0, 0.2075, 0.0, 0.0, 0.0, 1.0,
    ];
    let n = 4;
    let meta = DatasetMeta::new(&robot, n, "test", Splits::new(n, 0.0, 0.0));
    let dataset = Dataset { meta, joints: vec![0.0; n * 4], poses };
    let solver = HomeOnly(robot.chain.clone());
    let report = eval::evaluate(&solver, dataset.all(), &EvalOptions::default(), &|_| {});
    let close = |a: f64, b: f64| (a - b).abs() < 1e-9;
    assert_eq!(report.poses, 4);
    assert!(close(report.position_mm.mean, (0.0 + 12.0 + 30.0 + 3.0) / 4.0), "{}", report.position_mm.mean);
    assert!(close(report.position_mm.min, 0.0) && close(report.position_mm.max, 30.0));
    assert!(close(report.orientation_deg.mean, 30.0 / 4.0), "{}", report.orientation_deg.mean);
    assert!(close(report.orientation_deg.max, 30.0));
    // Success needs < 10 mm and < 20°: the exact pose and the 3 mm one.
    assert!(close(report.success_rate, 0.5));
    // Strict (1 mm, 0.57°): only the exact pose.
    assert!(close(report.strict_success_rate, 0.25));
    let above = |t: f64| report.above_mm.iter().find(|(x, _)| *x == t).unwrap().1;
    assert!(close(above(1.0), 0.75) && close(above(5.0), 0.5) && close(above(10.0), 0.5) && close(above(50.0), 0.0));
    assert!(close(report.mean_of_samples_position_mm, report.position_mm.mean));
    assert_eq!(report.sample_spread, 0.0, "one solution per pose has no spread");
    assert_eq!(report.per_pose.len(), 4);

    let table = eval::to_markdown(&[report.clone()]);
    assert!(table.contains("| home-only | 4 | 1 | 11.250 |"), "{table}");
    let csv = eval::to_csv(&[report]);
    assert_eq!(csv.lines().count(), 2);
}
