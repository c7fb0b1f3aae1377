//! Orbit / pan / zoom camera: left drag orbits, right or middle drag pans,
//! the wheel zooms. It refocuses on the workspace when the robot changes.

use bevy::input::mouse::{AccumulatedMouseMotion, AccumulatedMouseScroll, MouseScrollUnit};
use bevy::prelude::*;
use bevy_egui::input::egui_wants_any_pointer_input;

use super::convert::robot_to_bevy;
use super::robot::StudioRobot;
use super::target::GizmoDrag;

#[derive(Component, Debug, Clone)]
pub struct OrbitCamera {
    pub focus: Vec3,
    pub radius: f32,
    pub yaw: f32,
    pub pitch: f32,
}

impl OrbitCamera {
    pub fn transform(&self) -> Transform {
        let rotation = Quat::from_euler(EulerRot::YXZ, self.yaw, self.pitch, 0.0);
        Transform::from_translation(self.focus + rotation * Vec3::Z * self.radius).looking_at(self.focus, Vec3::Y)
    }
}

pub struct OrbitCameraPlugin;

impl Plugin for OrbitCameraPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Startup, spawn_camera).add_systems(
            Update,
            (
                orbit_with_mouse.run_if(not(egui_wants_any_pointer_input)).run_if(no_gizmo_drag),
                refocus_on_robot_change,
                apply_orbit,
            )
                .chain(),
        );
    }
}

fn no_gizmo_drag(drag: Res<GizmoDrag>) -> bool {
    drag.0.is_none()
}

fn spawn_camera(mut commands: Commands) {
    let orbit = OrbitCamera { focus: Vec3::new(0.4, 1.0, 0.0), radius: 2.6, yaw: 0.9, pitch: -0.45 };
    commands.spawn((Camera3d::default(), orbit.transform(), orbit));
}

fn orbit_with_mouse(
    buttons: Res<ButtonInput<MouseButton>>,
    motion: Res<AccumulatedMouseMotion>,
    scroll: Res<AccumulatedMouseScroll>,
    mut cameras: Query<&mut OrbitCamera>,
) {
    for mut orbit in &mut cameras {
        let delta = motion.delta;
        if buttons.pressed(MouseButton::Left) {
            orbit.yaw -= delta.x * 0.006;
            orbit.pitch = (orbit.pitch - delta.y * 0.006).clamp(-1.5, 1.5);
        } else if buttons.pressed(MouseButton::Right) || buttons.pressed(MouseButton::Middle) {
            let rotation = Quat::from_euler(EulerRot::YXZ, orbit.yaw, orbit.pitch, 0.0);
            let scale = orbit.radius * 0.0015;
            let pan = rotation * Vec3::new(-delta.x * scale, delta.y * scale, 0.0);
            orbit.focus += pan;
        }
        let lines = match scroll.unit {
            MouseScrollUnit::Line => scroll.delta.y,
            MouseScrollUnit::Pixel => scroll.delta.y / 40.0,
        };
        if lines != 0.0 {
            orbit.radius = (orbit.radius * (1.0 - 0.1 * lines)).clamp(0.1, 20.0);
        }
    }
}

fn refocus_on_robot_change(studio: Res<StudioRobot>, mut cameras: Query<&mut OrbitCamera>) {
    if !studio.is_changed() {
        return;
    }
    let ws = studio.robot.default_workspace();
    let center = ws.center();
    let size = (0..3).map(|i| (ws.max[i] - ws.min[i]) as f32).fold(0.0, f32::max);
    for mut orbit in &mut cameras {
        orbit.focus = robot_to_bevy() * Vec3::new(center[0] as f32, center[1] as f32, center[2] as f32);
        orbit.radius = (size * 1.7).clamp(0.35, 8.0);
    }
}

fn apply_orbit(mut cameras: Query<(&OrbitCamera, &mut Transform), Changed<OrbitCamera>>) {
    for (orbit, mut transform) in &mut cameras {
        *transform = orbit.transform();
    }
}
