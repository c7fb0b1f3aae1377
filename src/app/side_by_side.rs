//! Side by side (not to be confused with the Compare window, which evaluates
//! solvers on a test set): several solvers answer the live target at once, each in its
//! own background queue; each answer is drawn as a coloured ghost arm, with
//! its time and error in the panel.

use std::sync::Arc;

use bevy::prelude::*;
use ik_studio::solvers::{SolveResult, Solver};
use nalgebra::Point3;

use super::convert::{RobotFrame, to_vec3};
use super::flow::StudioSet;
use super::robot::{ArmState, StudioRobot};
use super::solve::{GoalSettings, SolveSlot, SolverChoice, launch_solver};
use super::target::TargetMoved;

/// Colours of the compared solvers, in order.
pub const SIDE_BY_SIDE_COLORS: [[u8; 3]; 6] =
    [[90, 170, 255], [255, 150, 60], [190, 110, 250], [80, 220, 200], [250, 90, 150], [200, 200, 80]];

pub struct SideBySideEntry {
    pub solver: Arc<dyn Solver>,
    pub enabled: bool,
    pub color: [u8; 3],
    pub last: Option<SolveResult>,
    slot: SolveSlot,
}

/// Every solver of the robot, each with its own queue; the enabled ones answer.
#[derive(Resource, Default)]
pub struct SideBySide {
    pub entries: Vec<SideBySideEntry>,
    requests: u64,
}

impl SideBySide {
    pub fn running(&self) -> usize {
        self.entries.iter().filter(|e| e.slot.is_running()).count()
    }
}

pub struct SideBySidePlugin;

impl Plugin for SideBySidePlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<SideBySide>()
            .add_systems(Update, (rebuild_on_solver_change, submit_requests).chain().in_set(StudioSet::Request))
            .add_systems(Update, run_slots.in_set(StudioSet::Collect))
            .add_systems(Update, draw_compared.in_set(StudioSet::Gizmos));
    }
}

fn rebuild_on_solver_change(choice: Res<SolverChoice>, mut set: ResMut<SideBySide>) {
    if !choice.is_changed() {
        return;
    }
    let same = set.entries.len() == choice.solvers.len()
        && set.entries.iter().zip(&choice.solvers).all(|(e, s)| Arc::ptr_eq(&e.solver, s));
    if same {
        return; // only the selection changed
    }
    // Solvers still offered keep their switch and queue (networks join as they load).
    let mut old = std::mem::take(&mut set.entries);
    set.entries = choice
        .solvers
        .iter()
        .enumerate()
        .map(|(i, solver)| match old.iter().position(|e| Arc::ptr_eq(&e.solver, solver)) {
            Some(k) => old.swap_remove(k),
            None => SideBySideEntry {
                solver: solver.clone(),
                enabled: false,
                color: SIDE_BY_SIDE_COLORS[i % SIDE_BY_SIDE_COLORS.len()],
                last: None,
                slot: SolveSlot::default(),
            },
        })
        .collect();
}

fn submit_requests(
    mut moves: MessageReader<TargetMoved>,
    arm: Res<ArmState>,
    goal: Option<Res<GoalSettings>>,
    mut set: ResMut<SideBySide>,
) {
    let Some(goal) = goal else { return };
    for moved in moves.read().filter(|m| m.origin.asks_for_solve()) {
        set.requests += 1;
        let id = set.requests;
        for entry in set.entries.iter_mut().filter(|e| e.enabled) {
            entry.slot.submit(id, goal.request(moved.pose, &arm.q));
        }
    }
}

fn run_slots(mut set: ResMut<SideBySide>) {
    for entry in &mut set.entries {
        if let Some((_, result)) = entry.slot.poll() {
            entry.last = Some(result);
        }
        if entry.enabled {
            launch_solver(&mut entry.slot, &entry.solver);
        } else if entry.last.is_some() {
            entry.slot.clear();
            entry.last = None;
        }
    }
}

fn draw_compared(
    mut gizmos: Gizmos,
    set: Res<SideBySide>,
    studio: Res<StudioRobot>,
    frame: Single<&GlobalTransform, With<RobotFrame>>,
) {
    let chain = &studio.robot.chain;
    let mut points = vec![Point3::origin(); chain.dof() + 1];
    let to_world = frame.affine();
    for entry in set.entries.iter().filter(|e| e.enabled) {
        let Some(best) = entry.last.as_ref().and_then(|r| r.best()) else { continue };
        if best.joints.len() != chain.dof() {
            continue;
        }
        chain.fk_points(&best.joints, &mut points);
        let [r, g, b] = entry.color;
        let color = Color::srgba_u8(r, g, b, 220);
        let world: Vec<Vec3> = points.iter().map(|p| to_world.transform_point3(to_vec3(&p.coords))).collect();
        gizmos.linestrip(world.iter().copied(), color);
        for p in &world {
            gizmos.sphere(Isometry3d::from_translation(*p), 0.01, color);
        }
    }
}
