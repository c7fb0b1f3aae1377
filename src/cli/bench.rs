//! `ik-studio bench`: latency, throughput and memory of a solver on random
//! reachable poses; for network solvers also raw inference at batch 1 and 500.

use std::time::{Duration, Instant};

use clap::Args;
use ik_studio::Pose;
use ik_studio::data::{SampleConfig, sample_dataset};
use ik_studio::eval::Stats;
use ik_studio::models::{LoadedModel, Precision};
use ik_studio::solvers::{self, SolveRequest};
use serde::Serialize;

use super::bounds;
use super::ort_reference;
use super::robot_args::RobotArgs;
use super::solver_args::SolverArgs;

#[derive(Args, Debug)]
pub struct BenchArgs {
    #[command(flatten)]
    robot: RobotArgs,
    #[command(flatten)]
    solver: SolverArgs,
    /// Queries to time, 1 to 1000000.
    #[arg(long, default_value_t = 500, value_parser = bounds::count(1, bounds::MAX_QUERIES))]
    queries: usize,
    /// Also time the network in ONNX Runtime (through Python: tools/ort_bench.py) for a side-by-side ratio.
    #[arg(long)]
    onnx_runtime: bool,
    /// The Python that has onnx, onnxruntime and numpy installed.
    #[arg(long, default_value = "python3")]
    python: String,
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct InferenceBench {
    /// `fast-f32`, `fast-f16`, `fast-int8`, `burn-cpu` or `burn-gpu`.
    path: String,
    batch: usize,
    median_us: f64,
    p99_us: f64,
    poses_per_second: f64,
    /// Reduced precision only: largest joint difference from the f32 weights' answer (rad or m).
    #[serde(skip_serializing_if = "Option::is_none")]
    max_joint_difference: Option<f64>,
}

#[derive(Serialize)]
struct BenchReport {
    robot: String,
    solver: String,
    queries: usize,
    /// Wall time per query, issued one at a time from one thread, microseconds.
    latency_us: Stats,
    queries_per_second: f64,
    inference: Vec<InferenceBench>,
    #[serde(skip_serializing_if = "Option::is_none")]
    onnx_runtime: Option<ort_reference::OrtReport>,
    /// The process's peak resident memory, MB.
    peak_rss_mb: Option<f64>,
    /// Worker threads the solver could use (rayon's pool; queries are issued one at a time).
    threads: usize,
}

pub fn run(args: &BenchArgs) -> anyhow::Result<()> {
    let robot = args.robot.load()?;
    let solver = args.solver.build(&robot)?;
    let ws = robot.default_workspace().clone();
    let (poses, _) = sample_dataset(&robot, &ws, &SampleConfig::new(args.queries.max(500), 12345), &|_| {})?;
    let all = poses.all();
    let budget = args.solver.budget();

    // Warm up, then time each query. The first answer must be finite: a
    // solver that gives none (e.g. a broken network) is refused, not timed.
    solvers::solve_checked(solver.as_ref(), &request(all.pose(0), budget))?;
    for i in 1..args.queries.min(20) {
        solver.solve(&request(all.pose(i), budget));
    }
    let mut times = Vec::with_capacity(args.queries);
    for i in 0..args.queries {
        let req = request(all.pose(i), budget);
        let start = Instant::now();
        std::hint::black_box(solver.solve(&req));
        times.push(start.elapsed().as_secs_f64() * 1e6);
    }
    let latency = Stats::of(&times);

    let mut inference = Vec::new();
    let mut onnx_runtime = None;
    // `cycleik-mlp@f16+numeric` → cycleik-mlp
    let model_name = args.solver.solver.split(['+', '@']).next().unwrap_or_default();
    if let Ok(kind) = model_name.parse::<ik_studio::models::ModelKind>() {
        let path = match &args.solver.checkpoint {
            Some(p) => p.clone(),
            None => solvers::shipped_checkpoint(&robot.name, kind).expect("the solver above loaded it"),
        };
        let mut model = LoadedModel::load_for(&path, &robot.name, &robot.chain)?;
        model.set_device(args.solver.device)?;
        let poses = &all.poses[..500 * 7];
        let reference = model.infer(poses, 1)?;
        if model.uses_fast_path() {
            for precision in Precision::ALL {
                model.set_precision(precision)?;
                let difference = (precision != Precision::F32).then(|| {
                    let answer = model.infer(poses, 1).unwrap_or_default();
                    answer.iter().zip(&reference).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max)
                });
                for batch in [1usize, 500] {
                    let mut bench = time_inference(&model, &poses[..batch * 7], format!("fast-{precision}"));
                    bench.max_joint_difference = difference;
                    inference.push(bench);
                }
            }
            model.set_precision(Precision::F32)?;
        }
        if args.onnx_runtime {
            onnx_runtime = Some(ort_reference::compare(&model, &args.python, &[1, 500])?);
        }
        model.set_fast_path(false);
        let burn = format!("burn-{:?}", args.solver.device).to_lowercase();
        for batch in [1usize, 500] {
            inference.push(time_inference(&model, &poses[..batch * 7], burn.clone()));
        }
    } else {
        anyhow::ensure!(!args.onnx_runtime, "--onnx-runtime needs a network solver");
    }
    let report = BenchReport {
        robot: robot.name.clone(),
        solver: solver.name().to_string(),
        queries: args.queries,
        queries_per_second: 1e6 / latency.mean.max(1e-9),
        latency_us: latency,
        inference,
        onnx_runtime,
        peak_rss_mb: ik_studio::eval::peak_rss_mb(),
        threads: rayon::current_num_threads(),
    };
    if args.json {
        return super::print_json(&report);
    }
    let l = &report.latency_us;
    println!(
        "{} on {}: {} queries, one at a time ({} worker threads)",
        report.solver, report.robot, report.queries, report.threads
    );
    println!(
        "  latency median {:.1} µs, p99 {:.1} µs, mean {:.1} µs ({:.0} queries/s)",
        l.median, l.p99, l.mean, report.queries_per_second
    );
    for b in &report.inference {
        let difference = b.max_joint_difference.map(|d| format!(", max joint difference from f32 {d:.2e}"));
        println!(
            "  inference {:>9} batch {:>3}: median {:.1} µs, p99 {:.1} µs, {:.0} poses/s{}",
            b.path,
            b.batch,
            b.median_us,
            b.p99_us,
            b.poses_per_second,
            difference.unwrap_or_default()
        );
    }
    if let Some(ort) = &report.onnx_runtime {
        println!(
            "  ONNX Runtime {} (outputs within {:.1e} of ours), one thread:",
            ort.onnxruntime, ort.max_abs_difference
        );
        for b in &ort.batches {
            println!(
                "    batch {:>3}: fast path {:.1} µs, ORT {:.1} µs (p99 {:.1}; {:.1} of it the Python call) → ratio {:.2} ({:.2} against ORT's own time)",
                b.batch,
                b.fast_median_us,
                b.ort_median_us,
                b.ort_p99_us,
                b.ort_call_overhead_us,
                b.ratio,
                b.ratio_without_call_overhead
            );
        }
    }
    if let Some(mb) = report.peak_rss_mb {
        println!("  peak resident memory {mb:.1} MB");
    }
    Ok(())
}

fn request(pose: &[f64], budget: Duration) -> SolveRequest {
    let pose = Pose::from_slice(pose).expect("sampled poses are valid");
    SolveRequest { budget, ..SolveRequest::new(pose.to_isometry()) }
}

fn time_inference(model: &LoadedModel, poses: &[f64], path: String) -> InferenceBench {
    let batch = poses.len() / 7;
    let stats = time_calls(if batch == 1 { 2000 } else { 50 }, || {
        let _ = std::hint::black_box(model.infer(poses, 1));
    });
    InferenceBench {
        path,
        batch,
        median_us: stats.median,
        p99_us: stats.p99,
        poses_per_second: batch as f64 * 1e6 / stats.median,
        max_joint_difference: None,
    }
}

/// Microseconds per call of `call`, `runs` times after `runs / 10` warm-up calls.
pub fn time_calls(runs: usize, mut call: impl FnMut()) -> Stats {
    (0..runs / 10).for_each(|_| call());
    let times: Vec<f64> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            call();
            start.elapsed().as_secs_f64() * 1e6
        })
        .collect();
    Stats::of(&times)
}
