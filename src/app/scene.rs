//! The stage: the robot frame, lights, the floor grid and the base axes.

use bevy::prelude::*;

use bevy_egui::{EguiContexts, egui};

use super::convert::{RobotFrame, robot_to_bevy};
use super::flow::StudioSet;
use super::robot::{LinkVisual, StudioRobot};

pub struct ScenePlugin;

impl Plugin for ScenePlugin {
    fn build(&self, app: &mut App) {
        app.insert_resource(ClearColor(Color::srgb(0.13, 0.14, 0.16)))
            .insert_resource(GlobalAmbientLight { brightness: 400.0, ..default() })
            .init_resource::<SceneOptions>()
            .add_systems(PreStartup, spawn_stage)
            .add_systems(Startup, |options: Res<super::StudioOptions>, mut scene: ResMut<SceneOptions>| {
                scene.link_frames = options.link_frames;
                scene.arm_opacity = options.arm_opacity;
            })
            .add_systems(Update, (draw_floor, draw_link_frames).in_set(StudioSet::Gizmos))
            .add_systems(bevy_egui::EguiPrimaryContextPass, draw_link_names);
    }
}

/// What the scene overlays show.
#[derive(Resource, Debug, Clone)]
pub struct SceneOptions {
    pub grid: bool,
    pub base_axes: bool,
    /// Axes and names of every link.
    pub link_frames: bool,
    /// Opacity of the solid arm (lower it to see the ghosts through it).
    pub arm_opacity: f32,
    /// Show the links that are not the arm (frame posts, table, the other arm).
    pub environment: bool,
}

impl Default for SceneOptions {
    fn default() -> Self {
        Self { grid: true, base_axes: true, link_frames: false, arm_opacity: 1.0, environment: true }
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

/// Link frames as small triads (x red, y green, z blue).
fn draw_link_frames(mut gizmos: Gizmos, options: Res<SceneOptions>, links: Query<&GlobalTransform, With<LinkVisual>>) {
    if !options.link_frames {
        return;
    }
    for frame in &links {
        let (_, rotation, origin) = frame.to_scale_rotation_translation();
        for (axis, color) in [
            (Vec3::X, Color::srgb(0.9, 0.2, 0.2)),
            (Vec3::Y, Color::srgb(0.2, 0.8, 0.2)),
            (Vec3::Z, Color::srgb(0.25, 0.4, 0.95)),
        ] {
            gizmos.line(origin, origin + rotation * axis * 0.04, color);
        }
    }
}

/// Link names next to their frames, painted over the scene.
fn draw_link_names(
    mut contexts: EguiContexts,
    options: Res<SceneOptions>,
    studio: Res<StudioRobot>,
    links: Query<(&LinkVisual, &GlobalTransform)>,
    cameras: Query<(&Camera, &GlobalTransform)>,
) -> Result {
    if !options.link_frames {
        return Ok(());
    }
    let Some((camera, eye)) = cameras.iter().find(|(c, _)| c.is_active) else { return Ok(()) };
    let ctx = contexts.ctx_mut()?;
    let painter = ctx.layer_painter(egui::LayerId::new(egui::Order::Background, egui::Id::new("link_names")));
    let scale = ctx.zoom_factor();
    for (link, frame) in &links {
        let Ok(screen) = camera.world_to_viewport(eye, frame.translation()) else { continue };
        let Some(name) = studio.robot.tree.links.get(link.link).map(|l| l.name.as_str()) else { continue };
        painter.text(
            egui::pos2(screen.x / scale + 4.0, screen.y / scale),
            egui::Align2::LEFT_CENTER,
            name,
            egui::FontId::proportional(11.0),
            egui::Color32::from_rgb(230, 230, 210),
        );
    }
    Ok(())
}
