//! `ik-studio tune …`

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use ik_studio::atomic_file::read_regular_to_string;
use ik_studio::data;
use ik_studio::models::{ModelKind, Preset};
use ik_studio::tune::{self, SearchSpace, TrialParams, TrialRecord, TuneEvent, TuneJob};

use super::bounds;
use super::robot_args::RobotArgs;

/// Most trials of one study.
const MAX_TRIALS: usize = 100_000;
/// Most trials trained at once.
const MAX_JOBS: usize = 256;

/// Hyper-parameter search: TPE sampler, Hyperband pruner; writes DIR/study.jsonl, DIR/best,
/// DIR/summary.md and DIR/history.png, and resumes a killed study given the same --out.
#[derive(Args, Debug)]
pub struct TuneArgs {
    #[command(flatten)]
    robot: RobotArgs,
    /// Network to tune.
    #[arg(long, value_enum)]
    model: ModelKind,
    /// The preset trials start from (trial 0 is the preset itself).
    #[arg(long, value_enum, default_value_t = Preset::Compact)]
    preset: Preset,
    /// Dataset file (.ikd) for the same chain; trials are judged on its validation split.
    #[arg(long)]
    data: PathBuf,
    /// Trials of the whole study (finished ones of an earlier run count), 1 to 100000.
    #[arg(long, value_parser = bounds::count(1, MAX_TRIALS))]
    trials: usize,
    /// Epochs of a trial the pruner lets finish, 1 to 1000000.
    #[arg(long, default_value_t = 9, value_parser = bounds::count(1, bounds::MAX_EPOCHS))]
    epochs: usize,
    /// Trials trained at the same time, 1 to 256; the threads are split between them.
    #[arg(long, default_value_t = 1, value_parser = bounds::count(1, MAX_JOBS))]
    jobs: usize,
    /// Search space as JSON: {"learning_rate": {"low": 1e-5, "high": 1e-3, "log": true},
    /// "batch_size": {"low": 100, "high": 600, "step": 50}, …}; it replaces the default space.
    #[arg(long)]
    space: Option<PathBuf>,
    /// Seeds the sampler and every trial's training.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// At most this many steps per epoch (quick studies), at least 1.
    #[arg(long, value_parser = bounds::count(1, usize::MAX))]
    max_steps_per_epoch: Option<usize>,
    /// Study folder; an existing one of the same model and robot is resumed.
    #[arg(long)]
    out: PathBuf,
    /// One JSON object per finished trial on stdout (the study.jsonl lines), no table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &TuneArgs) -> anyhow::Result<()> {
    let robot = args.robot.load()?;
    ik_studio::train::check_trainable(&robot.chain)?;
    let space = match &args.space {
        Some(path) => {
            let text = read_regular_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            SearchSpace::from_json(args.model, &text).with_context(|| path.display().to_string())?
        }
        None => SearchSpace::default_for(args.model),
    };
    let dataset = data::read_dataset(&args.data)?;
    dataset.meta.check_robot(&robot).with_context(|| format!("{} does not fit the robot", args.data.display()))?;
    let job = TuneJob {
        robot,
        dataset: Arc::new(dataset),
        dataset_path: Some(args.data.clone()),
        model: args.model,
        preset: args.preset,
        epochs: args.epochs,
        trials: args.trials,
        jobs: args.jobs,
        space,
        seed: args.seed,
        out: args.out.clone(),
        max_steps_per_epoch: args.max_steps_per_epoch,
        cancel: Default::default(),
    };
    let json = args.json;
    let outcome = tune::tune(&job, &|event| print_event(&event, json))?;
    if json {
        return Ok(());
    }
    println!(
        "{} trials ({} resumed) in {:.1} s; summary: {}",
        outcome.trials.len(),
        outcome.resumed,
        outcome.wall_seconds,
        outcome.reports.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    );
    match &outcome.best {
        Some(best) => println!(
            "best: trial {} at {:.3} mm, checkpoint {}",
            best.number,
            best.value.unwrap_or(f64::NAN),
            args.out.join(tune::study::BEST_DIR).display()
        ),
        None => println!("no trial completed"),
    }
    Ok(())
}

fn print_event(event: &TuneEvent, json: bool) {
    match event {
        TuneEvent::TrialFinished(record) if json => {
            if let Ok(line) = serde_json::to_string(record) {
                println!("{line}");
            }
        }
        _ if json => {}
        TuneEvent::Resumed { finished, pending, threads_per_trial } => {
            if *finished > 0 {
                println!("resuming: {finished} trials finished, {pending} to run");
            }
            println!("{pending} trials to run, {threads_per_trial} threads each");
        }
        TuneEvent::TrialStarted { number, params } => println!("trial {number:>3} started: {}", describe(params)),
        TuneEvent::Epoch { .. } => {}
        TuneEvent::TrialInterrupted { number } => println!("trial {number:>3} interrupted (runs again on resume)"),
        TuneEvent::TrialFinished(record) => println!("{}", finished_line(record)),
    }
}

fn finished_line(r: &TrialRecord) -> String {
    let value = r.value.map_or("–".into(), |v| format!("{v:.3} mm"));
    let error = r.error.as_deref().map(|e| format!(" ({e})")).unwrap_or_default();
    format!("trial {:>3} {:?}: {value} after {} epochs, {:.1} s{error}", r.number, r.state, r.epochs, r.seconds)
}

fn describe(params: &TrialParams) -> String {
    params.iter().map(|(name, v)| format!("{name}={}", short(*v))).collect::<Vec<_>>().join(" ")
}

fn short(v: f64) -> String {
    match v {
        _ if v.fract() == 0.0 => format!("{v:.0}"),
        _ if v.abs() >= 0.01 => format!("{v:.4}"),
        _ => format!("{v:.3e}"),
    }
}
