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

#[test]
fn plots_are_written_as_pngs_with_something_drawn() {
    let robot = robots::builtin("omx").unwrap();
    let poses: Vec<f64> = (0..6).flat_map(|i| [0.2 + 0.02 * i as f64, 0.0, 0.2, 0.0, 0.0, 0.0, 1.0]).collect();
    let meta = DatasetMeta::new(&robot, 6, "test", Splits::new(6, 0.0, 0.0));
    let dataset = Dataset { meta, joints: vec![0.0; 6 * 4], poses };
    let solver = HomeOnly(robot.chain.clone());
    let report = eval::evaluate(&solver, dataset.all(), &EvalOptions::default(), &|_| {});
    let dir = tempfile::tempdir().unwrap();

    let written = eval::write_plots(&[report.clone(), report.clone()], [0.2, 0.0, 0.2], dir.path()).unwrap();
    let names: Vec<String> = written.iter().map(|p| p.file_name().unwrap().to_string_lossy().into()).collect();
    assert_eq!(names, ["errors_histogram.png", "errors_vs_distance.png", "time.png", "memory.png"]);
    for path in &written {
        let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut pixels).unwrap();
        assert_eq!((info.width, info.height), (1000, 620));
        let ink = pixels.chunks(3).filter(|p| p.iter().any(|&v| v < 128)).count();
        assert!(ink > 2_000, "{}: only {ink} dark pixels", path.display());
    }

    // Without per-pose results there is nothing to draw: an error, not an empty picture.
    let mut bare = report;
    bare.per_pose.clear();
    assert!(eval::write_plots(&[bare], [0.0; 3], dir.path()).is_err());
}
