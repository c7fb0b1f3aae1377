//! `--solver NAME [--checkpoint C] [--budget-ms T]`, shared by `solve` and `bench`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use ik_studio::Robot;
use ik_studio::models::DeviceChoice;
use ik_studio::solvers::{self, Solver};

use super::bounds;

#[derive(Args, Debug, Clone)]
pub struct SolverArgs {
    /// numeric, ga, a model (cycleik-mlp, cycleik-gan, iknet-…), or <model>+numeric / <model>+ga.
    #[arg(long, default_value = "numeric")]
    pub solver: String,
    /// Checkpoint folder for a model solver (default: the shipped one for the robot).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Time budget per pose, milliseconds (at most 3600000, one hour).
    #[arg(long, default_value_t = 50.0, value_parser = bounds::budget_ms())]
    pub budget_ms: f64,
    /// Where a network solver runs (gpu: builds with the cargo feature `gpu`).
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    pub device: DeviceChoice,
}

impl SolverArgs {
    pub fn build(&self, robot: &Robot) -> anyhow::Result<Arc<dyn Solver>> {
        Ok(solvers::build_on(&self.solver, robot, self.checkpoint.as_deref(), self.device)?)
    }

    pub fn budget(&self) -> Duration {
        budget(self.budget_ms)
    }
}

/// A `--budget-ms` value as a duration. Clap's parser keeps it within
/// (0, [`bounds::MAX_BUDGET_MS`]]; anything else becomes that maximum rather than a panic.
pub fn budget(ms: f64) -> Duration {
    let max = Duration::from_secs_f64(bounds::MAX_BUDGET_MS / 1000.0);
    Duration::try_from_secs_f64(ms / 1000.0).map_or(max, |d| d.min(max))
}
