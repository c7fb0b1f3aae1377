//! `ik-studio eval`

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use ik_studio::data::{self, Split};
use ik_studio::eval::{self, EvalOptions};
use ik_studio::models::DeviceChoice;
use ik_studio::solvers::Tolerance;
use ik_studio::{robots, solvers};

use super::bounds;
use super::dataset::progress_bar;
use super::robot_args::RobotArgs;
use super::solver_args;

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Solver(s) to evaluate (numeric, ga, a model, <model>+numeric, <model>+ga); several give
    /// one comparison table.
    #[arg(long, required = true)]
    solver: Vec<String>,
    /// Checkpoint folder for model solvers (default: the shipped one for the robot).
    #[arg(long)]
    checkpoint: Option<PathBuf>,
    /// Dataset (.ikd); its robot is used unless --robot/--urdf says otherwise.
    #[arg(long)]
    data: PathBuf,
    #[command(flatten)]
    robot: RobotArgs,
    /// Which split to evaluate on.
    #[arg(long, value_enum, default_value_t = Split::Test)]
    split: Split,
    /// At most this many poses (1 to 50000000).
    #[arg(long, value_parser = bounds::count(1, bounds::MAX_SAMPLES))]
    limit: Option<usize>,
    /// Solutions per pose (e.g. 500 for a GAN), 1 to 100000.
    #[arg(long, default_value_t = 1, value_parser = bounds::count(1, bounds::MAX_SOLUTIONS))]
    samples: usize,
    /// Time budget per pose, milliseconds (at most 3600000, one hour).
    #[arg(long, default_value_t = 50.0, value_parser = bounds::budget_ms())]
    budget_ms: f64,
    /// Position tolerance the solvers aim for (mm, at most 1000000); iterative solvers stop once
    /// they meet it.
    #[arg(long, default_value_t = 0.1, value_parser = bounds::positive())]
    tolerance_mm: f64,
    /// Orientation tolerance the solvers aim for (degrees, at most 1000000).
    #[arg(long, default_value_t = 0.05, value_parser = bounds::positive())]
    tolerance_deg: f64,
    /// Write the comparison table as Markdown (atomically; never over a link or device).
    #[arg(long)]
    report: Option<PathBuf>,
    /// Write the comparison table as CSV (atomically; never over a link or device).
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Where network solvers run (gpu: builds with the cargo feature `gpu`).
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    device: DeviceChoice,
    /// Write PNG plots into this folder: error histogram, error against distance from the
    /// workspace centre, time and memory bars.
    #[arg(long)]
    plots: Option<PathBuf>,
    /// Print the full reports as JSON (one per line) instead of the table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &EvalArgs) -> anyhow::Result<()> {
    let dataset = data::read_dataset(&args.data)?;
    let (robot, robot_config) = if args.robot.given() {
        args.robot.load_with_config()?
    } else {
        let robot = robots::builtin(&dataset.meta.robot).with_context(|| {
            format!("the dataset is for '{}': name it with --urdf/--base/--tip or --config", dataset.meta.robot)
        })?;
        (robot, None)
    };
    dataset.meta.check_robot(&robot)?;
    let view = dataset.split(args.split);
    anyhow::ensure!(!view.is_empty(), "the {} split of {} is empty", args.split.name(), args.data.display());
    let opts = EvalOptions {
        limit: args.limit,
        samples: args.samples,
        budget: solver_args::budget(args.budget_ms),
        tolerance: Tolerance { position_mm: args.tolerance_mm, orientation_deg: args.tolerance_deg },
        ..EvalOptions::default()
    };
    let n = opts.limit.map_or(view.len(), |l| l.min(view.len()));
    let mut reports = Vec::new();
    for name in &args.solver {
        let solver = solvers::build_on(name, &robot, args.checkpoint.as_deref(), args.device)?;
        let bar = progress_bar(n as u64, name, args.json);
        let report = eval::evaluate(solver.as_ref(), view, &opts, &|done| bar.set_position(done as u64));
        bar.finish_and_clear();
        // No infinite or NaN figures in a table that says it succeeded.
        let misses = report.misses();
        anyhow::ensure!(
            misses == 0,
            "{name}: {misses} of {n} poses got no finite solution (not a valid target within {} m, or non-finite \
             solver output); no report written",
            solvers::MAX_TARGET_DISTANCE
        );
        reports.push(report);
    }
    if let Some(dir) = &args.plots {
        // The config's box, else the dataset's, else the robot's.
        let config_box = robot_config.as_ref().and_then(|c| c.workspace.as_ref());
        let centre = config_box.or(dataset.meta.workspace.as_ref()).unwrap_or(robot.default_workspace()).center();
        for path in eval::write_plots(&reports, centre, dir)? {
            eprintln!("wrote {}", path.display());
        }
    }
    for report in &mut reports {
        report.per_pose.clear();
    }
    let table = eval::to_markdown(&reports);
    if let Some(path) = &args.report {
        let text = format!(
            "# Evaluation on {} ({} split, {} poses, robot {})\n\n{table}",
            args.data.display(),
            args.split.name(),
            n,
            robot.name
        );
        write_text(path, &text)?;
    }
    if let Some(path) = &args.csv {
        write_text(path, &eval::to_csv(&reports))?;
    }
    if args.json {
        for r in &reports {
            super::print_json(r)?;
        }
    } else {
        print!("{table}");
    }
    Ok(())
}

/// Writes a report file atomically (see [`ik_studio::atomic_file`]).
fn write_text(path: &Path, text: &str) -> anyhow::Result<()> {
    ik_studio::atomic_file::write_atomically(path, |w| w.write_all(text.as_bytes()))
        .with_context(|| format!("cannot write {}", path.display()))
}
