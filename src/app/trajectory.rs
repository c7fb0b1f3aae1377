//! Trajectory mode for lectures: waypoints taken from the target, a smooth
//! path through them drawn in the scene, played back through the selected
//! solver (the target moves, the background solve follows), with the position
//! error plotted along the path.

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};
use egui_plot::{Line, Plot};
use ik_studio::kinematics::pose_along;
use nalgebra::Isometry3;

use super::convert::{RobotFrame, to_vec3};
use super::solve::SolveFinished;
use super::target::{Target, TargetMoved};

#[derive(Resource, Debug, Clone)]
pub struct Trajectory {
    pub open: bool,
    pub waypoints: Vec<Isometry3<f64>>,
    pub playing: bool,
    /// Seconds for one pass along the path.
    pub duration: f64,
    /// Position along the path, 0 to 1.
    pub t: f64,
    /// (t, position error mm) of the solutions that came back while playing.
    pub errors: Vec<[f64; 2]>,
}

impl Default for Trajectory {
    fn default() -> Self {
        Self { open: false, waypoints: Vec::new(), playing: false, duration: 6.0, t: 0.0, errors: Vec::new() }
    }
}

pub struct TrajectoryPlugin;

impl Plugin for TrajectoryPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Trajectory>()
            .add_systems(Update, (play, record_errors, draw_path.run_if(resource_exists::<GizmoConfigStore>)).chain())
            .add_systems(EguiPrimaryContextPass, draw_window);
    }
}

fn play(
    time: Res<Time>,
    mut path: ResMut<Trajectory>,
    mut target: ResMut<Target>,
    mut moved: MessageWriter<TargetMoved>,
) {
    if !path.playing {
        return;
    }
    path.t += time.delta_secs_f64() / path.duration.max(0.1);
    if path.t >= 1.0 {
        path.t = 1.0;
        path.playing = false;
    }
    if let Some(pose) = pose_along(&path.waypoints, path.t) {
        target.pose = pose;
        moved.write(TargetMoved { pose });
    }
}

fn record_errors(mut finished: MessageReader<SolveFinished>, mut path: ResMut<Trajectory>) {
    for done in finished.read() {
        if (path.playing || path.t >= 1.0) && !path.waypoints.is_empty() {
            if let Some(best) = done.result.best() {
                let t = path.t;
                path.errors.push([t, best.position_error_mm]);
            }
        }
    }
}

fn draw_path(mut gizmos: Gizmos, path: Res<Trajectory>, frame: Single<&GlobalTransform, With<RobotFrame>>) {
    if path.waypoints.is_empty() {
        return;
    }
    let to_world = frame.affine();
    let point = |iso: &Isometry3<f64>| to_world.transform_point3(to_vec3(&iso.translation.vector));
    let samples = (0..=100).filter_map(|i| pose_along(&path.waypoints, i as f64 / 100.0)).map(|p| point(&p));
    gizmos.linestrip(samples, Color::srgb(0.95, 0.8, 0.3));
    for w in &path.waypoints {
        gizmos.sphere(Isometry3d::from_translation(point(w)), 0.012, Color::srgb(1.0, 0.6, 0.1));
    }
}

fn draw_window(mut contexts: EguiContexts, mut path: ResMut<Trajectory>, target: Res<Target>) -> Result {
    if !path.open {
        return Ok(());
    }
    let ctx = contexts.ctx_mut()?;
    let mut open = true;
    egui::Window::new("Trajectory").open(&mut open).default_pos([330.0, 420.0]).show(ctx, |ui| {
        ui.label(format!("{} waypoints (the target's current pose is added)", path.waypoints.len()));
        ui.horizontal(|ui| {
            if ui.button("Add waypoint").clicked() {
                path.waypoints.push(target.pose);
            }
            if ui.button("Clear").clicked() {
                *path = Trajectory { open: true, ..default() };
            }
            let can_play = path.waypoints.len() >= 2;
            if ui.add_enabled(can_play, egui::Button::new(if path.playing { "Stop" } else { "Play" })).clicked() {
                path.playing = !path.playing;
                if path.playing {
                    path.t = 0.0;
                    path.errors.clear();
                }
            }
        });
        ui.add(egui::Slider::new(&mut path.duration, 1.0..=30.0).text("seconds per pass"));
        ui.add(egui::ProgressBar::new(path.t as f32).desired_width(260.0));
        Plot::new("trajectory_error").height(110.0).show(ui, |plot| {
            plot.line(Line::new("position error (mm) along the path", path.errors.clone()));
        });
    });
    if !open {
        path.open = false;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::robot::{ArmState, RobotChoice, StudioRobot};
    use crate::app::solve::SolvePlugin;

    #[test]
    fn playback_moves_the_target_along_the_path_and_records_errors() {
        let mut app = App::new();
        app.add_plugins(MinimalPlugins).add_message::<TargetMoved>().add_plugins(SolvePlugin);
        app.init_resource::<Trajectory>().add_systems(Update, (play, record_errors).chain());
        let choice = RobotChoice::Builtin("nicol-right".into());
        let robot = choice.load().unwrap();
        let a = [1.0, 0.3, -0.6, 0.4, 0.3, 0.2, 0.1, -0.1];
        let b = [1.2, 0.4, -0.5, 0.5, 0.2, 0.1, 0.0, 0.1];
        let (pa, pb) = (robot.chain.fk_unchecked(&a), robot.chain.fk_unchecked(&b));
        app.insert_resource(StudioRobot::new(robot, choice))
            .insert_resource(ArmState { q: a.to_vec() })
            .insert_resource(Target { pose: pa });
        app.update();
        {
            let mut path = app.world_mut().resource_mut::<Trajectory>();
            path.waypoints = vec![pa, pb];
            path.duration = 0.3;
            path.playing = true;
        }
        for _ in 0..2000 {
            app.update();
            std::thread::sleep(std::time::Duration::from_millis(2));
            let path = app.world().resource::<Trajectory>();
            if !path.playing && path.errors.len() >= 3 {
                break;
            }
        }
        let path = app.world().resource::<Trajectory>();
        assert_eq!(path.t, 1.0);
        let end = app.world().resource::<Target>().pose;
        assert!((end.translation.vector - pb.translation.vector).norm() < 1e-9, "the target ends on the last waypoint");
        assert!(path.errors.len() >= 3, "{:?}", path.errors);
        assert!(path.errors.iter().all(|[_, e]| *e < 10.0));
    }
}
