//! `--solver NAME [--checkpoint C] [--budget-ms T]`, shared by `solve` and `bench`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use ik_studio::Robot;
use ik_studio::models::DeviceChoice;
use ik_studio::solvers::{self, Solver};

#[derive(Args, Debug, Clone)]
pub struct SolverArgs {
    /// numeric, ga, a model (cycleik-mlp, cycleik-gan, iknet-…), or <model>+numeric / <model>+ga.
    #[arg(long, default_value = "numeric")]
    pub solver: String,
    /// Checkpoint folder for a model solver (default: the shipped one for the robot).
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Time budget per pose, milliseconds.
    #[arg(long, default_value_t = 50.0)]
    pub budget_ms: f64,
    /// Where a network solver runs (gpu: builds with the cargo feature `gpu`).
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    pub device: DeviceChoice,
}

impl SolverArgs {
    pub fn build(&self, robot: &Robot) -> anyhow::Result<Arc<dyn Solver>> {
        anyhow::ensure!(self.budget_ms > 0.0 && self.budget_ms.is_finite(), "--budget-ms must be positive");
        Ok(solvers::build_on(&self.solver, robot, self.checkpoint.as_deref(), self.device)?)
    }

    pub fn budget(&self) -> Duration {
        Duration::from_secs_f64(self.budget_ms / 1000.0)
    }
}
