//! The command line: a thin layer of clap commands over the library.

mod bench;
mod bounds;
mod dataset;
mod eval;
mod fk;
mod import_torch;
mod ort_reference;
mod robot_args;
mod robots;
mod solve;
mod solver_args;
mod studio;
mod study;
mod train;
mod tune;
mod vectors;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Neural inverse kinematics studio. Without a command it opens the visualizer.
#[derive(Parser)]
#[command(name = "ik-studio", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// List the built-in robots: chain, dof, limits, workspaces.
    Robots(robots::RobotsArgs),
    /// Forward kinematics: end-effector pose `x y z qx qy qz qw` for joint values.
    Fk(fk::FkArgs),
    /// Inverse kinematics: joint values reaching a pose, with their errors and time.
    Solve(solve::SolveArgs),
    /// The IKNet study's table: joint MSE, tip errors, batch-1 time, size and each model's own
    /// peak memory (every model evaluated in its own process).
    Study(study::StudyArgs),
    /// Evaluate solvers on a dataset split: Table-4 metrics, success rate, time.
    Eval(eval::EvalArgs),
    /// Latency (median, p99), throughput and peak memory of a solver; raw inference for networks.
    Bench(bench::BenchArgs),
    /// Sample a dataset (with test/validation splits), or import/export/inspect one.
    Dataset(dataset::DatasetArgs),
    /// Train a model (writes a checkpoint folder with its model card and history).
    Train(train::TrainArgs),
    /// Hyper-parameter search (TPE + Hyperband) over a model's training; resumable study folder.
    Tune(tune::TuneArgs),
    /// Import a network trained in PyTorch (state_dict .pth) as a checkpoint.
    ImportTorch(import_torch::ImportTorchArgs),
    /// Open the studio (the default without a command), optionally scripted.
    Studio(studio::StudioArgs),
}

pub fn run() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version print as clap lays them out.
        Err(e) if !e.use_stderr() => e.exit(),
        Err(e) => {
            eprintln!("{}", one_line(&e));
            return ExitCode::from(2);
        }
    };
    let result = match cli.command {
        Some(Command::Robots(args)) => robots::run(&args),
        Some(Command::Fk(args)) => fk::run(&args),
        Some(Command::Solve(args)) => solve::run(&args),
        Some(Command::Study(args)) => study::run(&args),
        Some(Command::Dataset(args)) => dataset::run(&args),
        Some(Command::Eval(args)) => eval::run(&args),
        Some(Command::Bench(args)) => bench::run(&args),
        Some(Command::Train(args)) => train::run(&args),
        Some(Command::Tune(args)) => tune::run(&args),
        Some(Command::ImportTorch(args)) => import_torch::run(&args),
        Some(Command::Studio(args)) => studio::run(&args),
        None => studio::run(&studio::StudioArgs::default()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: the error and its causes.
            eprintln!("error: {}", format!("{e:#}").replace('\n', " "));
            ExitCode::FAILURE
        }
    }
}

/// A clap error as one line: its message up to the usage block, and where to look.
fn one_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let message: Vec<&str> = text
        .lines()
        .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let message = message.join(" ");
    let message = if message.starts_with("error:") { message } else { format!("error: {message}") };
    format!("{message} (see --help)")
}

/// Prints a JSON value on one line.
fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}
