//! `ik-studio dataset …`

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::{Args, Subcommand, ValueEnum};
use ik_studio::data::{self, Dataset, PairBy, RosImportOptions, SampleConfig};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::bounds;
use super::robot_args::RobotArgs;

#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct DatasetArgs {
    #[command(subcommand)]
    action: Option<DatasetAction>,
    #[command(flatten)]
    sample: SampleArgs,
}

#[derive(Subcommand, Debug)]
enum DatasetAction {
    /// Import poses and joint states recorded with `ros2 topic echo --csv`.
    ImportRos(ImportRosArgs),
    /// Write a dataset's splits as .npy arrays (float64) plus meta.json.
    ExportNpy(ExportNpyArgs),
    /// Make a dataset from a NumPy joints array (n × dof) and optional poses (n × 7).
    ImportNpy(ImportNpyArgs),
    /// Verify a whole dataset file (length, checksums, finite values, end marker), then print
    /// its header; damage is an error. --header-only reads just the (checksummed) header.
    Info(InfoArgs),
}

/// Sample a dataset: uniform joints within limits, tip inside the workspace box,
/// no self- or table-collision.
#[derive(Args, Debug)]
struct SampleArgs {
    #[command(flatten)]
    robot: RobotArgs,
    /// Workspace: a name (small, full; see `ik-studio robots`) or a box x0,y0,z0,x1,y1,z1 in metres
    /// (default: full, or the --config's workspace box).
    #[arg(long)]
    workspace: Option<String>,
    /// Number of samples (all splits together), 1 to 50000000.
    #[arg(long, required = true, value_parser = bounds::count(1, bounds::MAX_SAMPLES))]
    samples: Option<usize>,
    /// Output file (.ikd).
    #[arg(long, required = true)]
    out: Option<PathBuf>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Fraction of the samples in the test split, in [0, 1).
    #[arg(long, default_value_t = 0.10, value_parser = bounds::fraction())]
    test_fraction: f64,
    /// Fraction in the validation split, in [0, 1); the two add up to less than 1.
    #[arg(long, default_value_t = 0.01, value_parser = bounds::fraction())]
    val_fraction: f64,
    /// Keep colliding configurations too.
    #[arg(long)]
    no_collision_check: bool,
    /// Floor height in metres (base frame, within ±1000000): reject samples whose link
    /// capsules reach below it. Any robot; NICOL's table is checked as well.
    #[arg(long, value_name = "Z", allow_hyphen_values = true, conflicts_with = "no_collision_check",
          value_parser = bounds::number(-bounds::MAX_FLOOR, bounds::MAX_FLOOR, false))]
    floor: Option<f64>,
    /// Also export the splits as .npy files into this folder.
    #[arg(long)]
    npy: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args, Debug)]
struct ImportRosArgs {
    /// kinematics_pose.csv
    #[arg(long)]
    poses: PathBuf,
    /// joint_states.csv
    #[arg(long)]
    joints: PathBuf,
    #[command(flatten)]
    robot: RobotArgs,
    #[arg(long)]
    out: PathBuf,
    /// Pair rows by nearest timestamp or by row index.
    #[arg(long, value_enum, default_value_t = PairMode::Time)]
    pair_by: PairMode,
    /// Largest time difference of a pair, milliseconds (0 to 1000000).
    #[arg(long, default_value_t = 5.0, value_parser = bounds::non_negative())]
    max_dt_ms: f64,
    /// Drop pairs whose recorded position is farther than this from FK of the joints, mm (0 to 1000000).
    #[arg(long, default_value_t = 1.0, value_parser = bounds::non_negative())]
    max_fk_deviation_mm: f64,
    #[arg(long)]
    json: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum PairMode {
    Time,
    Index,
}

#[derive(Args, Debug)]
struct ExportNpyArgs {
    /// Dataset file (.ikd).
    #[arg(long)]
    data: PathBuf,
    /// Output folder.
    #[arg(long)]
    out: PathBuf,
}

#[derive(Args, Debug)]
struct ImportNpyArgs {
    /// Joints array, shape (n, dof), float64 or float32.
    #[arg(long)]
    joints: PathBuf,
    /// Poses array, shape (n, 7): x y z qx qy qz qw. Computed by FK when absent.
    #[arg(long)]
    poses: Option<PathBuf>,
    #[command(flatten)]
    robot: RobotArgs,
    #[arg(long)]
    out: PathBuf,
    /// Fraction of the samples in the test split, in [0, 1).
    #[arg(long, default_value_t = 0.10, value_parser = bounds::fraction())]
    test_fraction: f64,
    /// Fraction in the validation split, in [0, 1); the two add up to less than 1.
    #[arg(long, default_value_t = 0.01, value_parser = bounds::fraction())]
    val_fraction: f64,
}

#[derive(Args, Debug)]
struct InfoArgs {
    /// Dataset file (.ikd).
    data: PathBuf,
    /// Read and check only the header, not the samples (fast on huge files).
    #[arg(long)]
    header_only: bool,
    #[arg(long)]
    json: bool,
}

pub fn run(args: &DatasetArgs) -> anyhow::Result<()> {
    match &args.action {
        None => sample(&args.sample),
        Some(DatasetAction::ImportRos(a)) => import_ros(a),
        Some(DatasetAction::ExportNpy(a)) => {
            let dataset = data::read_dataset(&a.data)?;
            data::export_npy(&dataset, &a.out)?;
            println!("wrote {} samples as .npy to {}", dataset.len(), a.out.display());
            Ok(())
        }
        Some(DatasetAction::ImportNpy(a)) => {
            let robot = a.robot.load()?;
            let dataset = data::import_npy(&robot, &a.joints, a.poses.as_deref(), (a.test_fraction, a.val_fraction))?;
            data::write_dataset(&dataset, &a.out)?;
            println!("imported {} samples into {}", dataset.len(), a.out.display());
            Ok(())
        }
        Some(DatasetAction::Info(a)) => {
            let meta = if a.header_only { data::read_meta(&a.data)? } else { data::verify_dataset(&a.data)? };
            if a.json {
                super::print_json(&meta)
            } else {
                println!("{}", serde_json::to_string_pretty(&meta)?);
                Ok(())
            }
        }
    }
}

#[derive(Serialize)]
struct SampleSummary {
    out: PathBuf,
    robot: String,
    workspace: String,
    count: usize,
    train: usize,
    test: usize,
    val: usize,
    /// `candidates = accepted + outside_workspace + in_collision` (all counts of candidates).
    candidates: u64,
    /// Candidates inside the workspace and free of collision; `count` of them
    /// are kept, `surplus` (drawn in the last round) are not.
    accepted: u64,
    surplus: u64,
    /// `accepted / candidates`.
    acceptance_rate: f64,
    outside_workspace: u64,
    /// `self_collision + table_collision + floor_collision`.
    in_collision: u64,
    self_collision: u64,
    table_collision: u64,
    floor_collision: u64,
    /// Capsules checked: segments with a radius, and capsules fitted to boxes and meshes.
    collision_capsules: usize,
    fitted_capsules: usize,
    floor: Option<f64>,
    /// Collision geometry that could not be used (absent or malformed meshes).
    collision_warnings: Vec<String>,
    sample_seconds: f64,
    write_seconds: f64,
    bytes: u64,
}

fn sample(args: &SampleArgs) -> anyhow::Result<()> {
    let mut robot = args.robot.load()?;
    if let Some(z) = args.floor {
        robot.collision = robot.collision.with_floor(&robot.chain, z);
    }
    for warning in &robot.collision.warnings {
        eprintln!("warning: {warning}");
    }
    let workspace = match &args.workspace {
        Some(spec) => robot.workspace_or_box(spec)?,
        None => robot.default_workspace().clone(),
    };
    let (count, out) =
        (args.samples.context("--samples is required")?, args.out.as_ref().context("--out is required")?);
    anyhow::ensure!(count > 0, "--samples must be positive");
    let config = SampleConfig {
        count,
        seed: args.seed,
        test_fraction: args.test_fraction,
        val_fraction: args.val_fraction,
        check_collisions: !args.no_collision_check,
    };
    let bar = progress_bar(count as u64, "sampling", args.json);
    let (dataset, report) = data::sample_dataset(&robot, &workspace, &config, &|n| bar.set_position(n as u64))?;
    bar.finish_and_clear();

    let written = Instant::now();
    data::write_dataset(&dataset, out)?;
    if let Some(dir) = &args.npy {
        data::export_npy(&dataset, dir)?;
    }
    let splits = &dataset.meta.splits;
    let summary = SampleSummary {
        out: out.clone(),
        robot: robot.name.clone(),
        workspace: workspace.name.clone(),
        count,
        train: splits.train.len(),
        test: splits.test.len(),
        val: splits.val.len(),
        candidates: report.candidates,
        accepted: report.passed,
        surplus: report.surplus,
        acceptance_rate: report.acceptance_rate(),
        outside_workspace: report.outside_workspace,
        in_collision: report.in_collision,
        self_collision: report.self_collision,
        table_collision: report.table_collision,
        floor_collision: report.floor_collision,
        collision_capsules: robot.collision.capsule_count(),
        fitted_capsules: robot.collision.shapes.len(),
        floor: args.floor,
        collision_warnings: robot.collision.warnings.clone(),
        sample_seconds: report.seconds,
        write_seconds: written.elapsed().as_secs_f64(),
        bytes: file_size(out),
    };
    if args.json {
        return super::print_json(&summary);
    }
    println!(
        "{} samples of {} in workspace '{}' → {} ({:.1} MB)",
        summary.count,
        summary.robot,
        summary.workspace,
        out.display(),
        summary.bytes as f64 / 1e6
    );
    println!("  splits: train {}, test {}, val {}", summary.train, summary.test, summary.val);
    println!("{}", candidates_line(&summary));
    print_collision_summary(&summary);
    println!("  sampled in {:.3} s, written in {:.3} s", summary.sample_seconds, summary.write_seconds);
    Ok(())
}

/// `candidates N: accepted A (a %), outside workspace O (o %), in collision C
/// (c %: self …, table …, floor …)`: the counts add up to N and the shares to 100 %.
fn candidates_line(s: &SampleSummary) -> String {
    let [a, o, c] = tenths_of_percent(&[s.accepted, s.outside_workspace, s.in_collision], s.candidates);
    let pct = |t: u64| format!("{}.{} %", t / 10, t % 10);
    let surplus = match s.surplus {
        0 => String::new(),
        n => format!("; {} kept, {n} drawn beyond the count", s.count),
    };
    format!(
        "  candidates {}: accepted {} ({}), outside workspace {} ({}), in collision {} ({}: self {}, table {}, floor {}){surplus}",
        s.candidates,
        s.accepted,
        pct(a),
        s.outside_workspace,
        pct(o),
        s.in_collision,
        pct(c),
        s.self_collision,
        s.table_collision,
        s.floor_collision
    )
}

/// Shares of `total` in tenths of a percent, rounded so that they add up to
/// exactly 1000 when the parts add up to `total` (largest remainders get the rest).
fn tenths_of_percent<const N: usize>(parts: &[u64; N], total: u64) -> [u64; N] {
    if total == 0 {
        return [0; N];
    }
    let exact: [u128; N] = std::array::from_fn(|i| parts[i] as u128 * 1000);
    let mut shares: [u64; N] = std::array::from_fn(|i| (exact[i] / total as u128) as u64);
    let sum: u64 = parts.iter().sum();
    if sum == total {
        let mut order: Vec<usize> = (0..N).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(exact[i] % total as u128));
        let missing = 1000 - shares.iter().sum::<u64>();
        order.iter().take(missing as usize).for_each(|&i| shares[i] += 1);
    }
    shares
}

fn print_collision_summary(s: &SampleSummary) {
    let floor = s.floor.map_or(String::new(), |z| format!(", floor at z = {z} m"));
    let skipped = match s.collision_warnings.len() {
        0 => String::new(),
        n => format!(", {n} collision geometries skipped (see the warnings)"),
    };
    println!(
        "  collision model: {} capsules ({} fitted to boxes and meshes){floor}{skipped}",
        s.collision_capsules, s.fitted_capsules
    );
}

fn import_ros(args: &ImportRosArgs) -> anyhow::Result<()> {
    let robot = args.robot.load()?;
    let opts = RosImportOptions {
        pair_by: match args.pair_by {
            PairMode::Time => PairBy::Timestamp,
            PairMode::Index => PairBy::Index,
        },
        max_dt: args.max_dt_ms / 1000.0,
        max_fk_deviation: args.max_fk_deviation_mm / 1000.0,
        ..RosImportOptions::default()
    };
    let (dataset, report) = data::import_ros_csv(&robot, &args.poses, &args.joints, &opts)?;
    data::write_dataset(&dataset, &args.out)?;
    if args.json {
        return super::print_json(&report);
    }
    print_import_report(&dataset, &report, &args.out);
    Ok(())
}

fn print_import_report(dataset: &Dataset, r: &data::RosImportReport, out: &Path) {
    println!("imported {} pairs into {}", r.imported, out.display());
    println!("  pose rows {}, joint rows {}", r.pose_rows, r.joint_rows);
    println!(
        "  dropped: garbled pose rows {}, garbled joint rows {}, unpaired poses {}, unpaired joint rows {}, outside limits {}, FK mismatch {}",
        r.garbled_pose_rows,
        r.garbled_joint_rows,
        r.unpaired_pose_rows,
        r.unpaired_joint_rows,
        r.out_of_limits,
        r.fk_mismatch
    );
    println!("  max |recorded − FK| {:.3e} m, max |Δt| {:.3} ms", r.max_fk_deviation, r.max_dt * 1000.0);
    let s = &dataset.meta.splits;
    println!("  splits: train {}, test {}, val {}", s.train.len(), s.test.len(), s.val.len());
    for e in &r.examples {
        println!("  - {e}");
    }
}

pub fn progress_bar(len: u64, what: &str, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} ({per_sec}, eta {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

fn file_size(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}
