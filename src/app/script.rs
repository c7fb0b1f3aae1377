//! Scripted runs for demos and tests: `--target` sets the target at start (as
//! a drag would), `--solver` picks the solver (once its network has loaded),
//! and `--report-json` writes what the studio shows when it exits.

use std::path::Path;

use bevy::prelude::*;
use ik_studio::kinematics::Pose;
use ik_studio::solvers::pose_errors;
use serde::Serialize;

use super::StudioOptions;
use super::flow::StudioSet;
use super::nullspace::{Ghosts, NullspaceSettings};
use super::robot::{ArmState, StudioRobot};
use super::solve::{GoalSettings, ShownState, SolveStatus, SolverChoice};
use super::target::{SetTarget, Target, TargetOrigin};

/// What `--report-json` writes.
#[derive(Debug, Clone, Serialize)]
pub struct StudioReport {
    /// The target the user set: x, y, z, qx, qy, qz, qw.
    pub target: [f64; 7],
    /// The arm's tip pose.
    pub reached: [f64; 7],
    /// solved, approximate, unreachable or stale.
    pub state: String,
    pub solver: String,
    pub error_mm: f64,
    pub error_deg: f64,
    pub joints: Vec<f64>,
    pub overlay: OverlayReport,
}

#[derive(Debug, Clone, Serialize)]
pub struct OverlayReport {
    pub mode: String,
    pub ghosts: usize,
    pub mean_error_mm: Option<f64>,
}

pub struct ScriptPlugin;

impl Plugin for ScriptPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Update, set_scripted_target.in_set(StudioSet::Input)).add_systems(Last, write_report_at_exit);
    }
}

/// `--target`, once, on the first frame.
fn set_scripted_target(options: Res<StudioOptions>, mut done: Local<bool>, mut moves: MessageWriter<SetTarget>) {
    if *done {
        return;
    }
    *done = true;
    if let Some(pose) = options.target {
        moves.write(SetTarget { pose, origin: TargetOrigin::Script });
    }
}

/// The report of what the studio shows now.
#[derive(bevy::ecs::system::SystemParam)]
pub struct ReportParams<'w> {
    target: Res<'w, Target>,
    arm: Res<'w, ArmState>,
    studio: Res<'w, StudioRobot>,
    status: Res<'w, SolveStatus>,
    choice: Res<'w, SolverChoice>,
    goal: Res<'w, GoalSettings>,
    ghosts: Res<'w, Ghosts>,
    settings: Res<'w, NullspaceSettings>,
}

impl ReportParams<'_> {
    pub fn report(&self) -> StudioReport {
        let chain = &self.studio.robot.chain;
        let state = match ShownState::of(&self.status, &self.target.pose) {
            ShownState::Solved | ShownState::Placed => "solved",
            ShownState::Approximate => "approximate",
            ShownState::Unreachable => "unreachable",
            ShownState::Stale | ShownState::Idle => "stale",
        };
        let (error_mm, error_deg) = pose_errors(chain, &self.arm.q, &self.target.pose, self.goal.mask);
        let solver = match &self.status.answer {
            Some(a) => a.solver.clone(),
            None => self.choice.current().name().to_string(),
        };
        StudioReport {
            target: Pose::from_isometry(&self.target.pose).to_array(),
            reached: Pose::from_isometry(&chain.fk_unchecked(&self.arm.q)).to_array(),
            state: state.into(),
            solver,
            error_mm,
            error_deg,
            joints: self.arm.q.clone(),
            overlay: OverlayReport {
                mode: self.settings.mode.label().into(),
                ghosts: self.ghosts.ghosts.len(),
                mean_error_mm: self.ghosts.mean_error_mm(),
            },
        }
    }
}

fn write_report_at_exit(mut exits: MessageReader<AppExit>, options: Res<StudioOptions>, params: ReportParams) {
    if exits.read().count() == 0 {
        return;
    }
    let Some(path) = &options.report_json else { return };
    if let Err(e) = write_report(path, &params.report()) {
        error!("cannot write the report {}: {e}", path.display());
    }
}

pub fn write_report(path: &Path, report: &StudioReport) -> anyhow::Result<()> {
    crate::app::file_field::write_text(path, &(serde_json::to_string_pretty(report)? + "\n"))?;
    Ok(())
}
