//! Side by side: several solvers answer the live target at once, each in its
//! own background queue; each answer is drawn as a coloured ghost arm, with
//! its time and error in the panel.

use std::sync::Arc;

use bevy::prelude::*;
use ik_studio::solvers::{SolveResult, Solver};
use nalgebra::Point3;

use super::convert::{RobotFrame, to_vec3};
use super::robot::{ArmState, StudioRobot};
use super::solve::{GoalSettings, SolveSlot, SolverChoice};
use super::target::TargetMoved;

/// Colours of the compared solvers, in order.
pub const COMPARE_COLORS: [[u8; 3]; 6] =
    [[90, 170, 255], [255, 150, 60], [190, 110, 250], [80, 220, 200], [250, 90, 150], [200, 200, 80]];

pub struct CompareEntry {
    pub solver: Arc<dyn Solver>,
    pub enabled: bool,
    pub color: [u8; 3],
    pub last: Option<SolveResult>,
    slot: SolveSlot,
}

/// Every solver of the robot, each with its own queue; the enabled ones answer.
#[derive(Resource, Default)]
pub struct CompareSet {
    pub entries: Vec<CompareEntry>,
    requests: u64,
}

impl CompareSet {
    pub fn running(&self) -> usize {
        self.entries.iter().filter(|e| e.slot.is_running()).count()
    }
}

pub struct ComparePlugin;

impl Plugin for ComparePlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<CompareSet>().add_systems(
            Update,
            (
                rebuild_on_solver_change,
                submit_requests,
                run_slots,
                draw_compared.run_if(resource_exists::<GizmoConfigStore>),
            )
                .chain(),
        );
    }
}

fn rebuild_on_solver_change(choice: Res<SolverChoice>, mut set: ResMut<CompareSet>) {
    if !choice.is_changed() {
        return;
    }
    let same = set.entries.len() == choice.solvers.len()
        && set.entries.iter().zip(&choice.solvers).all(|(e, s)| Arc::ptr_eq(&e.solver, s));
    if same {
        return; // only the selection changed
    }
    set.entries = choice
        .solvers
        .iter()
        .enumerate()
        .map(|(i, solver)| CompareEntry {
            solver: solver.clone(),
            enabled: false,
            color: COMPARE_COLORS[i % COMPARE_COLORS.len()],
            last: None,
            slot: SolveSlot::default(),
        })
        .collect();
}

fn submit_requests(
    mut moves: MessageReader<TargetMoved>,
    arm: Res<ArmState>,
    goal: Option<Res<GoalSettings>>,
    mut set: ResMut<CompareSet>,
) {
    let Some(goal) = goal else { return };
    for moved in moves.read() {
        set.requests += 1;
        let id = set.requests;
        for entry in set.entries.iter_mut().filter(|e| e.enabled) {
            entry.slot.submit(id, goal.request(moved.pose, &arm.q));
        }
    }
}

fn run_slots(mut set: ResMut<CompareSet>) {
    for entry in &mut set.entries {
        if let Some((_, result)) = entry.slot.poll() {
            entry.last = Some(result);
        }
        if entry.enabled {
            entry.slot.launch(&entry.solver);
        } else if entry.last.is_some() {
            entry.slot.clear();
            entry.last = None;
        }
    }
}

fn draw_compared(
    mut gizmos: Gizmos,
    set: Res<CompareSet>,
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::app::robot::RobotChoice;
    use crate::app::solve::SolvePlugin;

    #[test]
    fn every_enabled_solver_answers_with_one_solve_in_flight_each() {
        let mut app = App::new();
        app.add_plugins(MinimalPlugins).add_message::<TargetMoved>().add_plugins((SolvePlugin, ComparePlugin));
        let choice = RobotChoice::Builtin("nicol-right".into());
        let robot = choice.load().unwrap();
        let q = vec![1.0, 0.3, -0.6, 0.4, 0.3, 0.2, 0.1, -0.1];
        let pose = robot.chain.fk_unchecked(&q);
        app.insert_resource(StudioRobot::new(robot.clone(), choice))
            .insert_resource(ArmState { q: robot.chain.mid_configuration() })
            .insert_resource(crate::app::target::Target { pose });
        app.update();
        app.update();
        let names: Vec<String> =
            app.world().resource::<CompareSet>().entries.iter().map(|e| e.solver.name().to_string()).collect();
        assert!(names.contains(&"numeric".to_string()) && names.contains(&"ga".to_string()), "{names:?}");
        for entry in &mut app.world_mut().resource_mut::<CompareSet>().entries {
            entry.enabled = matches!(entry.solver.name(), "numeric" | "ga");
        }
        for k in 0..50 {
            let nudged = robot.chain.fk_unchecked(&[1.0 + 0.002 * k as f64, 0.3, -0.6, 0.4, 0.3, 0.2, 0.1, -0.1]);
            app.world_mut().write_message(TargetMoved { pose: nudged });
            app.update();
            assert!(app.world().resource::<CompareSet>().running() <= 2, "one solve in flight per solver");
        }
        for _ in 0..3000 {
            app.update();
            let set = app.world().resource::<CompareSet>();
            if set.running() == 0 && set.entries.iter().filter(|e| e.enabled).all(|e| e.last.is_some()) {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let set = app.world().resource::<CompareSet>();
        for entry in set.entries.iter().filter(|e| e.enabled) {
            let best = entry.last.as_ref().and_then(|r| r.best()).expect("an answer");
            assert!(best.position_error_mm < 10.0, "{}: {best:?}", entry.solver.name());
        }
        assert!(set.entries.iter().filter(|e| !e.enabled).all(|e| e.last.is_none()));
    }
}
