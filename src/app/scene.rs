//! The stage: the robot frame, lights, the floor grid and the base axes.

use bevy::prelude::*;

use super::convert::{RobotFrame, robot_to_bevy};

pub struct ScenePlugin;

impl Plugin for ScenePlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(ClearColor(Color::srgb(0.13, 0.14, 0.16)))
            .insert_resource(GlobalAmbientLight { brightness: 400.0, ..default() })
            .init_resource::<SceneOptions>()
            .add_systems(PreStartup, spawn_stage)
            .add_systems(Update, draw_floor);
    }
}

/// What the scene overlays show.
#[derive(Resource, Debug, Clone)]
pub struct SceneOptions {
    pub grid: bool,
    pub base_axes: bool,
}

impl Default for SceneOptions {
    fn default() -> Self {
        Self { grid: true, base_axes: true }
    }
}

fn spawn_stage(mut commands: Commands) {
    commands.spawn((RobotFrame, Transform::from_rotation(robot_to_bevy()), Visibility::default()));
    commands.spawn((
        DirectionalLight { illuminance: 9_000.0, shadow_maps_enabled: true, ..default() },
        Transform::from_xyz(2.0, 5.0, 3.0).looking_at(Vec3::ZERO, Vec3::Y),
    ));
    commands.spawn((
        DirectionalLight { illuminance: 2_500.0, ..default() },
        Transform::from_xyz(-3.0, 2.0, -2.0).looking_at(Vec3::ZERO, Vec3::Y),
    ));
}

/// A 4 m floor grid (10 cm cells) in the robot's z = 0 plane, and the base axes.
fn draw_floor(mut gizmos: Gizmos, options: Res<SceneOptions>) {
    let floor = Isometry3d::from_rotation(Quat::from_rotation_x(-std::f32::consts::FRAC_PI_2));
    if options.grid {
        gizmos.grid(floor, UVec2::splat(40), Vec2::splat(0.1), Color::srgba(0.6, 0.6, 0.65, 0.25)).outer_edges();
    }
    if options.base_axes {
        // Robot x, y, z (z-up) drawn in Bevy's y-up world.
        let r = robot_to_bevy();
        gizmos.arrow(Vec3::ZERO, r * Vec3::X * 0.2, Color::srgb(0.9, 0.2, 0.2));
        gizmos.arrow(Vec3::ZERO, r * Vec3::Y * 0.2, Color::srgb(0.2, 0.8, 0.2));
        gizmos.arrow(Vec3::ZERO, r * Vec3::Z * 0.2, Color::srgb(0.25, 0.4, 0.95));
    }
}
