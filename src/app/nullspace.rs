//! Nullspace overlay: for the current target, many solutions drawn as ghost
//! arms (skeletons coloured by error) with their elbow and wrist points as a
//! point cloud. Sources: the GAN's samples, a sweep of one GAN noise dimension
//! (optionally animating the arm along it), or numeric self-motion.

use std::sync::Arc;

use bevy::prelude::*;
use bevy::tasks::{AsyncComputeTaskPool, Task, block_on, poll_once};
use ik_studio::kinematics::Pose;
use ik_studio::models::{LoadedModel, ModelKind};
use ik_studio::solvers::{self, GoalMask, Solution};
use nalgebra::{Isometry3, Point3};

use super::convert::{RobotFrame, to_vec3};
use super::robot::{ArmState, StudioRobot};
use super::target::{Target, TargetMoved};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverlayMode {
    Off,
    /// N random noise draws of the GAN.
    GanSamples,
    /// N steps along one noise dimension, the others at the middle.
    GanSweep,
    /// Numeric self-motion through the arm's configuration.
    SelfMotion,
}

#[derive(Resource, Debug, Clone)]
pub struct NullspaceSettings {
    pub mode: OverlayMode,
    pub count: usize,
    pub sweep_dim: usize,
    /// Move the arm back and forth along the ghosts.
    pub animate: bool,
}

impl Default for NullspaceSettings {
    fn default() -> Self {
        Self { mode: OverlayMode::Off, count: 100, sweep_dim: 0, animate: false }
    }
}

/// The shipped generator for the robot on stage, if any.
#[derive(Resource, Default, Clone)]
pub struct GanModel(pub Option<Arc<LoadedModel>>);

/// One ghost arm: joint origins and tip in the robot frame, and its error.
#[derive(Component, Debug, Clone)]
pub struct Ghost {
    pub joints: Vec<f64>,
    pub points: Vec<Vec3>,
    pub position_error_mm: f64,
}

#[derive(Resource, Default)]
struct OverlayTask(Option<Task<Vec<Solution>>>);

/// Set when the overlay must be recomputed (target, arm or settings changed).
#[derive(Resource, Default)]
struct OverlayDirty(bool);

pub struct NullspacePlugin;

impl Plugin for NullspacePlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<NullspaceSettings>()
            .add_systems(Startup, apply_startup_overlay)
            .init_resource::<GanModel>()
            .init_resource::<OverlayTask>()
            .init_resource::<OverlayDirty>()
            .add_systems(
                Update,
                (
                    load_gan,
                    mark_dirty,
                    launch_overlay,
                    collect_overlay,
                    animate_along_ghosts,
                    // Drawing needs the gizmo renderer (absent in headless tests).
                    draw_ghosts.run_if(resource_exists::<GizmoConfigStore>),
                )
                    .chain(),
            );
    }
}

fn apply_startup_overlay(options: Option<Res<super::StudioOptions>>, mut settings: ResMut<NullspaceSettings>) {
    if let Some((mode, count)) = options.and_then(|o| o.overlay) {
        (settings.mode, settings.count) = (mode, count);
    }
}

fn load_gan(studio: Res<StudioRobot>, mut gan: ResMut<GanModel>) {
    if !studio.is_changed() {
        return;
    }
    let robot = &studio.robot;
    gan.0 = solvers::shipped_checkpoint(&robot.name, ModelKind::CycleikGan)
        .and_then(|path| LoadedModel::load_for(&path, &robot.name, &robot.chain).ok())
        .map(Arc::new);
}

fn mark_dirty(
    settings: Res<NullspaceSettings>,
    studio: Res<StudioRobot>,
    mut moves: MessageReader<TargetMoved>,
    mut dirty: ResMut<OverlayDirty>,
) {
    let moved = moves.read().count() > 0;
    if moved || settings.is_changed() || studio.is_changed() {
        dirty.0 = true;
    }
}

/// One overlay computation at a time; the newest state wins.
fn launch_overlay(
    settings: Res<NullspaceSettings>,
    studio: Res<StudioRobot>,
    arm: Res<ArmState>,
    target: Res<Target>,
    gan: Res<GanModel>,
    mut dirty: ResMut<OverlayDirty>,
    mut task: ResMut<OverlayTask>,
) {
    if !dirty.0 || task.0.is_some() {
        return;
    }
    dirty.0 = false;
    let chain = studio.robot.chain.clone();
    let (mode, count, dim) = (settings.mode, settings.count.clamp(1, 500), settings.sweep_dim);
    let (pose, q, model) = (target.pose, arm.q.clone(), gan.0.clone());
    task.0 = Some(AsyncComputeTaskPool::get().spawn(async move {
        let joints = overlay_joints(&chain, mode, count, dim, &pose, &q, model);
        joints
            .chunks_exact(chain.dof())
            .map(|c| Solution::evaluate(&chain, c.to_vec(), &pose, GoalMask::Full))
            .collect()
    }));
}

/// Joint vectors (flattened) of the overlay's solutions.
fn overlay_joints(
    chain: &ik_studio::Chain,
    mode: OverlayMode,
    count: usize,
    sweep_dim: usize,
    target: &Isometry3<f64>,
    q: &[f64],
    gan: Option<Arc<LoadedModel>>,
) -> Vec<f64> {
    let pose = Pose::from_isometry(target).to_array();
    match (mode, gan) {
        (OverlayMode::Off, _) => Vec::new(),
        (OverlayMode::SelfMotion, _) => solvers::self_motion(chain, q, count, 0.04).concat(),
        (OverlayMode::GanSamples, Some(gan)) => gan.infer(&pose, count).unwrap_or_default(),
        (OverlayMode::GanSweep, Some(gan)) => {
            let dim = gan.card.io.noise_dim().max(1);
            let noise: Vec<f64> = (0..count)
                .flat_map(|i| {
                    let t = if count > 1 { i as f64 / (count - 1) as f64 } else { 0.5 };
                    (0..dim).map(move |d| if d == sweep_dim % dim { t } else { 0.5 })
                })
                .collect();
            gan.infer_with_noise(&pose, &noise).unwrap_or_default()
        }
        (_, None) => Vec::new(),
    }
}

fn collect_overlay(
    mut commands: Commands,
    mut task: ResMut<OverlayTask>,
    studio: Res<StudioRobot>,
    old: Query<Entity, With<Ghost>>,
) {
    let Some(running) = &mut task.0 else { return };
    let Some(solutions) = block_on(poll_once(running)) else { return };
    task.0 = None;
    for entity in &old {
        commands.entity(entity).despawn();
    }
    let chain = &studio.robot.chain;
    let mut points = vec![Point3::origin(); chain.dof() + 1];
    for s in solutions {
        if s.joints.len() != chain.dof() {
            continue;
        }
        chain.fk_points(&s.joints, &mut points);
        commands.spawn(Ghost {
            points: points.iter().map(|p| to_vec3(&p.coords)).collect(),
            position_error_mm: s.position_error_mm,
            joints: s.joints,
        });
    }
}

/// With "animate", the arm walks back and forth through the ghosts.
fn animate_along_ghosts(
    settings: Res<NullspaceSettings>,
    time: Res<Time>,
    ghosts: Query<&Ghost>,
    mut arm: ResMut<ArmState>,
) {
    if !settings.animate || settings.mode == OverlayMode::Off {
        return;
    }
    let all: Vec<&Ghost> = ghosts.iter().collect();
    if all.len() < 2 {
        return;
    }
    // Ping-pong over the ghosts in spawn order, one full sweep every 4 s.
    let phase = (time.elapsed_secs() / 4.0).fract() * 2.0;
    let t = if phase < 1.0 { phase } else { 2.0 - phase };
    let index = ((all.len() - 1) as f32 * t).round() as usize;
    if arm.q != all[index].joints {
        arm.q = all[index].joints.clone();
    }
}

/// Error colour: green at 0, amber at 10 mm, red from 20 mm.
fn error_color(mm: f64, alpha: f32) -> Color {
    let t = (mm / 20.0).clamp(0.0, 1.0) as f32;
    Color::srgba(0.25 + 0.7 * t, 0.85 - 0.6 * t, 0.35 - 0.15 * t, alpha)
}

fn draw_ghosts(mut gizmos: Gizmos, ghosts: Query<&Ghost>, frame: Single<&GlobalTransform, With<RobotFrame>>) {
    let to_world = frame.affine();
    for ghost in &ghosts {
        let world: Vec<Vec3> = ghost.points.iter().map(|p| to_world.transform_point3(*p)).collect();
        gizmos.linestrip(world.iter().copied(), error_color(ghost.position_error_mm, 0.35));
        // Elbow and wrist: the middle joint and the one before the last.
        let n = world.len();
        for (i, color) in
            [(n / 2, Color::srgba(1.0, 0.85, 0.2, 0.8)), (n.saturating_sub(3), Color::srgba(0.3, 0.8, 1.0, 0.8))]
        {
            if let Some(p) = world.get(i) {
                gizmos.sphere(Isometry3d::from_translation(*p), 0.006, color);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::robot::RobotChoice;

    fn app() -> App {
        let mut app = App::new();
        app.add_plugins(MinimalPlugins).add_message::<TargetMoved>().add_plugins(NullspacePlugin);
        let choice = RobotChoice::Builtin("nicol-right".into());
        let robot = choice.load().unwrap();
        let q = vec![1.0, 0.3, -0.6, 0.4, 0.3, 0.2, 0.1, -0.1];
        let pose = robot.chain.fk_unchecked(&q);
        app.insert_resource(StudioRobot::new(robot, choice))
            .insert_resource(ArmState { q })
            .insert_resource(Target { pose });
        app.world_mut().spawn((RobotFrame, GlobalTransform::default()));
        app
    }

    fn settle(app: &mut App) -> usize {
        for _ in 0..500 {
            app.update();
            if app.world().resource::<OverlayTask>().0.is_none() && !app.world().resource::<OverlayDirty>().0 {
                app.update();
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        app.world_mut().query::<&Ghost>().iter(app.world()).count()
    }

    #[test]
    fn ghost_count_follows_the_slider_and_ghosts_keep_the_tip() {
        let mut app = app();
        assert_eq!(settle(&mut app), 0, "off by default");
        app.world_mut().resource_mut::<NullspaceSettings>().mode = OverlayMode::SelfMotion;
        app.world_mut().resource_mut::<NullspaceSettings>().count = 24;
        assert_eq!(settle(&mut app), 24);
        app.world_mut().resource_mut::<NullspaceSettings>().count = 5;
        assert_eq!(settle(&mut app), 5);
        let target = app.world().resource::<Target>().pose;
        let chain = app.world().resource::<StudioRobot>().robot.chain.clone();
        for ghost in app.world_mut().query::<&Ghost>().iter(app.world()) {
            assert!(ghost.position_error_mm < 1.0);
            let tip = chain.fk_unchecked(&ghost.joints);
            assert!((tip.translation.vector - target.translation.vector).norm() < 1e-3);
            assert_eq!(ghost.points.len(), 9);
        }
        app.world_mut().resource_mut::<NullspaceSettings>().mode = OverlayMode::Off;
        assert_eq!(settle(&mut app), 0);
    }
}
