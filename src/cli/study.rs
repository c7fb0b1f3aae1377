//! `ik-studio study`: the IKNet study's comparison in one command.
//!
//! Each model is evaluated by a child `ik-studio eval` process, so that its
//! peak memory is its own and not the high-water mark of the models before it.

use std::path::PathBuf;
use std::process::Command;

use anyhow::Context;
use clap::Args;
use ik_studio::eval::EvalReport;
use ik_studio::models::DeviceChoice;

use super::bounds;

#[derive(Args, Debug)]
pub struct StudyArgs {
    /// Dataset (.ikd) whose test split the models are compared on (e.g. an OMX dataset).
    #[arg(long)]
    data: PathBuf,
    /// Models to compare (comma-separated).
    #[arg(long, value_delimiter = ',', default_value = "iknet-original,iknet-improved,iknet-focused")]
    models: Vec<String>,
    /// Folder holding one checkpoint folder per model (`DIR/<model>`); default: the shipped ones.
    #[arg(long)]
    checkpoints: Option<PathBuf>,
    /// Test poses per model (1 to 50000000).
    #[arg(long, default_value_t = 2_000, value_parser = bounds::count(1, bounds::MAX_SAMPLES))]
    limit: usize,
    /// Where the networks run (gpu: builds with the cargo feature `gpu`).
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    device: DeviceChoice,
    /// Print one JSON report per model instead of the table.
    #[arg(long)]
    json: bool,
}

pub fn run(args: &StudyArgs) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("cannot find the ik-studio executable to run the evaluations")?;
    let mut reports = Vec::new();
    for model in &args.models {
        eprintln!("evaluating {model} in its own process…");
        reports.push(evaluate_in_child(&exe, model, args)?);
    }
    if args.json {
        for report in &reports {
            super::print_json(report)?;
        }
    } else {
        print!("{}", study_table(&reports, args.device));
    }
    Ok(())
}

/// `ik-studio eval --json` for one model, in a child process.
fn evaluate_in_child(exe: &std::path::Path, model: &str, args: &StudyArgs) -> anyhow::Result<EvalReport> {
    let mut command = Command::new(exe);
    command.arg("eval").arg("--data").arg(&args.data).args(["--solver", model, "--json"]);
    command.args(["--limit", &args.limit.to_string(), "--device", device_name(args.device)]);
    if let Some(dir) = &args.checkpoints {
        command.arg("--checkpoint").arg(dir.join(model));
    }
    let output = command.output().with_context(|| format!("cannot run {}", exe.display()))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let reason = stderr.lines().last().unwrap_or("no message").trim_start_matches("error: ");
        anyhow::bail!("evaluating {model} failed: {reason}");
    }
    let line = String::from_utf8_lossy(&output.stdout);
    serde_json::from_str(line.trim()).with_context(|| format!("evaluating {model} gave no report"))
}

fn device_name(device: DeviceChoice) -> &'static str {
    match device {
        DeviceChoice::Cpu => "cpu",
        DeviceChoice::Gpu => "gpu",
    }
}

/// The study's table: accuracy in joint space and at the tip, time, size, memory.
fn study_table(reports: &[EvalReport], device: DeviceChoice) -> String {
    let mut table = format!(
        "| model | params | weights (kB) | joint MSE | pos. avg (mm) | rot. avg (°) | success (10 mm, 20°) | \
         batch-1 time, {} (ms, median) | peak memory (MB, own process) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
        device_name(device)
    );
    for r in reports {
        let memory = r.peak_rss_mb.map_or("–".to_string(), |mb| format!("{mb:.1}"));
        table += &format!(
            "| {} | {} | {:.0} | {:.5} | {:.3} | {:.3} | {:.2} % | {:.4} | {memory} |\n",
            r.solver,
            r.parameters,
            r.weights_mb * 1000.0,
            r.joint_mse,
            r.position_mm.mean,
            r.orientation_deg.mean,
            100.0 * r.success_rate,
            r.time_ms.median,
        );
    }
    table
}
