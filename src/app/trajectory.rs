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
use super::file_field::{PathField, PathKind, save_text};
use super::flow::StudioSet;
use super::solve::SolveFinished;
use super::target::{SetTarget, Target, TargetOrigin};

#[derive(Resource, Debug, Clone)]
pub struct Trajectory {
    pub open: bool,
    pub waypoints: Vec<Isometry3<f64>>,
    pub playing: bool,
    /// Seconds for one pass along the path.
    pub duration: f64,
    /// Position along the path, 0 to 1.
    pub t: f64,
    /// (t, position error mm) of the answers to playback moves, at the t they were asked for.
    pub errors: Vec<[f64; 2]>,
    /// The joints of those answers, one row per entry of `errors`: the joint path.
    pub joints: Vec<Vec<f64>>,
    pub waypoints_file: PathField,
    pub joints_file: PathField,
    pub status: String,
}

impl Default for Trajectory {
    fn default() -> Self {
        Self {
            open: false,
            waypoints: Vec::new(),
            playing: false,
            duration: 6.0,
            t: 0.0,
            errors: Vec::new(),
            joints: Vec::new(),
            waypoints_file: PathField::default(),
            joints_file: PathField::default(),
            status: String::new(),
        }
    }
}

pub struct TrajectoryPlugin;

impl Plugin for TrajectoryPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<Trajectory>()
            .add_systems(Update, play.in_set(StudioSet::Input))
            .add_systems(Update, record_errors.in_set(StudioSet::Apply))
            .add_systems(Update, draw_path.in_set(StudioSet::Gizmos))
            .add_systems(EguiPrimaryContextPass, draw_window);
    }
}

fn play(time: Res<Time>, mut path: ResMut<Trajectory>, mut moves: MessageWriter<SetTarget>) {
    if !path.playing {
        return;
    }
    path.t += time.delta_secs_f64() / path.duration.max(0.1);
    if path.t >= 1.0 {
        path.t = 1.0;
        path.playing = false;
    }
    if let Some(pose) = pose_along(&path.waypoints, path.t) {
        moves.write(SetTarget { pose, origin: TargetOrigin::Trajectory { t: path.t } });
    }
}

/// Each answer to a playback move, at the point of the path it was asked for.
fn record_errors(mut finished: MessageReader<SolveFinished>, mut path: ResMut<Trajectory>) {
    for done in finished.read() {
        if let Some(TargetOrigin::Trajectory { t }) = done.answer.origin {
            path.errors.push([t, done.answer.solution.position_error_mm]);
            path.joints.push(done.answer.solution.joints.clone());
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

/// CSV exports: the waypoints, and the joint path of the last playback.
fn export_section(ui: &mut egui::Ui, path: &mut Trajectory) {
    let csv = PathKind::Save("CSV", &["csv"]);
    ui.label("export as CSV:");
    if let Some(file) = path.waypoints_file.show(ui, "waypoints-csv", "Waypoints…", csv) {
        path.status = save_text(&file, &waypoints_csv(&path.waypoints));
    }
    if let Some(file) = path.joints_file.show(ui, "joint-path-csv", "Joint path…", csv) {
        path.status = save_text(&file, &joint_path_csv(&path.errors, &path.joints));
    }
    if !path.status.is_empty() {
        ui.small(&path.status);
    }
}

/// One row per waypoint: position (m) and orientation quaternion in the robot's base frame.
pub fn waypoints_csv(waypoints: &[Isometry3<f64>]) -> String {
    let mut text = String::from("index,x,y,z,qx,qy,qz,qw\n");
    for (i, w) in waypoints.iter().enumerate() {
        let (p, q) = (w.translation.vector, w.rotation.coords);
        text += &format!("{i},{},{},{},{},{},{},{}\n", p.x, p.y, p.z, q.x, q.y, q.z, q.w);
    }
    text
}

/// One row per answer during playback: t along the path, position error (mm), joints (rad or m).
pub fn joint_path_csv(errors: &[[f64; 2]], joints: &[Vec<f64>]) -> String {
    let dof = joints.first().map_or(0, Vec::len);
    let mut text = String::from("t,position_error_mm");
    for j in 0..dof {
        text += &format!(",q{j}");
    }
    text.push('\n');
    for ([t, error], q) in errors.iter().zip(joints) {
        text += &format!("{t},{error}");
        for v in q {
            text += &format!(",{v}");
        }
        text.push('\n');
    }
    text
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
                    path.joints.clear();
                }
            }
        });
        ui.add(egui::Slider::new(&mut path.duration, 1.0..=30.0).text("seconds per pass"));
        ui.add(egui::ProgressBar::new(path.t as f32).desired_width(260.0));
        Plot::new("trajectory_error")
            .height(110.0)
            .x_axis_label("t along the path (0–1)")
            .y_axis_label("position error (mm)")
            .include_x(0.0)
            .include_x(1.0)
            .include_y(0.0)
            .show(ui, |plot| {
                plot.line(Line::new("position error (mm) along the path", path.errors.clone()));
            });
        export_section(ui, &mut path);
    });
    if !open {
        path.open = false;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nalgebra::{Translation3, UnitQuaternion};

    #[test]
    fn csv_exports_hold_every_waypoint_and_answer() {
        let w =
            Isometry3::from_parts(Translation3::new(0.5, -0.25, 1.0), UnitQuaternion::from_euler_angles(0.0, 0.0, 0.3));
        let text = waypoints_csv(&[w, Isometry3::identity()]);
        let rows: Vec<&str> = text.lines().collect();
        assert_eq!(rows[0], "index,x,y,z,qx,qy,qz,qw");
        assert_eq!(rows.len(), 3);
        let first: Vec<f64> = rows[1].split(',').map(|v| v.parse().unwrap()).collect();
        assert_eq!(&first[..4], &[0.0, 0.5, -0.25, 1.0]);
        assert!(
            (first[6] - 0.15f64.sin()).abs() < 1e-12 && (first[7] - 0.15f64.cos()).abs() < 1e-12,
            "qz, qw of a 0.3 rad yaw"
        );
        assert_eq!(rows[2], "1,0,0,0,0,0,0,1");

        let text = joint_path_csv(&[[0.0, 1.5], [0.5, 0.25]], &[vec![0.1, -0.2], vec![0.3, 0.4]]);
        assert_eq!(text, "t,position_error_mm,q0,q1\n0,1.5,0.1,-0.2\n0.5,0.25,0.3,0.4\n");
    }
}
