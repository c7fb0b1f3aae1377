//! The end-effector target and its gizmo: three arrows move it along the base
//! axes, three rings turn it about them (drag with the left mouse button).
//! The handles are thick lines drawn over the arm at a constant size on
//! screen; the one under the pointer lights up, and a press grabs it when it
//! is within a few pixels.

use bevy::prelude::*;
use nalgebra::{Isometry3, Translation3, Unit, UnitQuaternion, Vector3};

use bevy::window::PrimaryWindow;
use bevy_egui::input::EguiWantsInput;

use super::convert::{RobotFrame, to_transform, to_vec3};
use super::flow::StudioSet;
use super::robot::{ArmState, StudioRobot};

/// The target pose in the robot's base frame: the user's. Only [`own_target`]
/// writes it, from [`SetTarget`]; nothing the arm does moves it.
#[derive(Resource, Debug, Clone)]
pub struct Target {
    pub pose: Isometry3<f64>,
}

/// Where a target move came from. Moves the user makes to the target ask for a
/// solve; `Joints` and `Robot` follow an arm the user placed (FK), already at it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TargetOrigin {
    /// A gizmo drag in progress: solves track the arm from where it is.
    Drag,
    /// Typed into the pose fields.
    Entry,
    /// The "Random target" button.
    Random,
    /// Trajectory playback, at this point along the path (0 to 1).
    Trajectory { t: f64 },
    /// `--target` on the command line (as a drag would set it).
    Script,
    /// The scripted circle of `--sweep-target`.
    Sweep,
    /// The user set the joints; the target goes to the tip.
    Joints,
    /// A robot came on stage; the target is its home tip pose.
    Robot,
}

impl TargetOrigin {
    /// Whether the arm must be solved for the new target (else it is there already).
    pub fn asks_for_solve(self) -> bool {
        !matches!(self, TargetOrigin::Joints | TargetOrigin::Robot)
    }
}

/// A request to move the target (gizmo, pose fields, buttons, playback, scripts).
#[derive(Message, Debug, Clone)]
pub struct SetTarget {
    pub pose: Isometry3<f64>,
    pub origin: TargetOrigin,
}

/// The target moved: at most one per frame, the newest [`SetTarget`], after `Target` changed.
#[derive(Message, Debug, Clone)]
pub struct TargetMoved {
    pub pose: Isometry3<f64>,
    pub origin: TargetOrigin,
}

/// A part of the gizmo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GizmoHandle {
    Translate(usize),
    Rotate(usize),
}

/// The drag in progress, if any (the camera leaves the mouse alone meanwhile).
#[derive(Resource, Default, Debug)]
pub struct GizmoDrag(pub Option<DragState>);

#[derive(Debug, Clone)]
pub struct DragState {
    handle: GizmoHandle,
    start_pose: Isometry3<f64>,
    /// Axis parameter (translate) or in-plane direction (rotate) where the drag began.
    start: Vec3,
}

/// The handle under the pointer (highlighted; a press grabs it).
#[derive(Resource, Default, Debug, Clone, Copy, PartialEq)]
pub struct GizmoHover(pub Option<GizmoHandle>);

/// Length of the gizmo's arrows in metres: [`GIZMO_PX`] on screen at the
/// target's distance from the camera (the robot's reach without a camera).
#[derive(Resource, Debug, Clone, Copy, PartialEq)]
pub struct GizmoSize(pub f32);

/// Arrow length on screen, logical pixels.
const GIZMO_PX: f32 = 110.0;
/// Ring radius, as a part of the arrow length.
const RING: f32 = 0.72;
/// How far from a handle, in pixels, a press still grabs it.
const PICK_PX: f32 = 12.0;
/// Line widths of the handles, pixels (the one under the pointer is wider).
const HANDLE_WIDTH: f32 = 5.0;
const ACTIVE_WIDTH: f32 = 8.0;

pub struct TargetPlugin;

impl Plugin for TargetPlugin {
    fn build(&self, app: &mut App) {
        // Only with a renderer: headless tests have no gizmo store.
        if app.world().contains_resource::<GizmoConfigStore>() {
            app.init_gizmo_group::<HandleGizmos>().init_gizmo_group::<ActiveHandleGizmos>();
        }
        app.add_message::<SetTarget>()
            .add_message::<TargetMoved>()
            .init_resource::<GizmoDrag>()
            .init_resource::<GizmoHover>()
            .add_systems(Startup, (init_target, style_handles))
            .add_systems(Update, own_target.in_set(StudioSet::Target))
            .add_systems(Update, (size_gizmo, draw_handles, draw_target_axes).chain().in_set(StudioSet::Gizmos));
    }
}

/// The gizmo's pointer handling (hover, grab, drag, release): needs a window and a mouse.
pub struct GizmoPointerPlugin;

impl Plugin for GizmoPointerPlugin {
    fn build(&self, app: &mut App) {
        app.add_systems(Update, use_pointer.in_set(StudioSet::Input));
    }
}

/// The handles' lines, drawn over the arm so that they can always be seen and grabbed.
#[derive(Default, Reflect, GizmoConfigGroup)]
pub struct HandleGizmos;

/// The handle under the pointer or being dragged, wider.
#[derive(Default, Reflect, GizmoConfigGroup)]
pub struct ActiveHandleGizmos;

fn style_handles(store: Option<ResMut<GizmoConfigStore>>) {
    let Some(mut store) = store else { return };
    let (config, _) = store.config_mut::<HandleGizmos>();
    (config.line.width, config.depth_bias) = (HANDLE_WIDTH, -1.0);
    let (config, _) = store.config_mut::<ActiveHandleGizmos>();
    (config.line.width, config.depth_bias) = (ACTIVE_WIDTH, -1.0);
}

fn init_target(mut commands: Commands, studio: Res<StudioRobot>, arm: Res<ArmState>) {
    commands.insert_resource(Target { pose: studio.robot.chain.fk_unchecked(&arm.q) });
    commands.insert_resource(GizmoSize(reach_size(&studio)));
}

/// The one writer of [`Target`]: the newest valid request of the frame wins.
pub fn own_target(
    mut requests: MessageReader<SetTarget>,
    mut target: ResMut<Target>,
    mut moved: MessageWriter<TargetMoved>,
) {
    let Some(set) = requests.read().filter(|s| valid_pose(&s.pose)).last() else { return };
    target.pose = set.pose;
    moved.write(TargetMoved { pose: set.pose, origin: set.origin });
}

/// Farthest target the studio accepts, m (far beyond any arm it shows).
const MAX_TARGET_DISTANCE: f64 = 100.0;

/// Finite, within [`MAX_TARGET_DISTANCE`], a unit rotation.
fn valid_pose(pose: &Isometry3<f64>) -> bool {
    let p = pose.translation.vector;
    let q = pose.rotation.coords;
    p.iter().all(|v| v.is_finite())
        && p.norm() <= MAX_TARGET_DISTANCE
        && q.iter().all(|v| v.is_finite())
        && (q.norm() - 1.0).abs() < 1e-6
}

/// Gizmo size in metres from the robot's reach (used until a camera sizes it).
fn reach_size(studio: &StudioRobot) -> f32 {
    let ws = studio.robot.default_workspace();
    let size = (0..3).map(|i| (ws.max[i] - ws.min[i]) as f32).fold(0.0, f32::max);
    (size * 0.18).clamp(0.04, 0.3)
}

const AXIS_COLORS: [Color; 3] =
    [Color::srgb(0.92, 0.25, 0.25), Color::srgb(0.3, 0.85, 0.3), Color::srgb(0.3, 0.45, 0.98)];

const AXES: [Vec3; 3] = [Vec3::X, Vec3::Y, Vec3::Z];

/// Keeps the gizmo [`GIZMO_PX`] long on screen whatever the camera's distance.
fn size_gizmo(
    target: Res<Target>,
    frame: Single<&GlobalTransform, With<RobotFrame>>,
    cameras: Query<(&Camera, &Transform, &Projection)>,
    mut size: ResMut<GizmoSize>,
) {
    let Some((camera, eye, Projection::Perspective(p))) = cameras.iter().find(|(c, ..)| c.is_active) else { return };
    let Some(viewport) = camera.logical_viewport_size() else { return };
    let center = frame.transform_point(to_vec3(&target.pose.translation.vector));
    let depth = (center - eye.translation).dot(*eye.forward()).max(0.01);
    let metres_per_px = 2.0 * depth * (p.fov * 0.5).tan() / viewport.y.max(1.0);
    size.set_if_neq(GizmoSize(GIZMO_PX * metres_per_px));
}

/// Hover, grab, drag and release with the left button; one picking function
/// decides both what is highlighted and what a press grabs.
#[allow(clippy::too_many_arguments)]
fn use_pointer(
    buttons: Res<ButtonInput<MouseButton>>,
    window: Single<&Window, With<PrimaryWindow>>,
    egui: Res<EguiWantsInput>,
    cameras: Query<(&Camera, &GlobalTransform)>,
    frame: Single<&GlobalTransform, With<RobotFrame>>,
    target: Res<Target>,
    size: Res<GizmoSize>,
    mut hover: ResMut<GizmoHover>,
    mut drag: ResMut<GizmoDrag>,
    mut moves: MessageWriter<SetTarget>,
) {
    if buttons.just_released(MouseButton::Left) {
        drag.0 = None;
    }
    let cursor = window.cursor_position();
    if let Some(state) = &drag.0 {
        let ray = cursor.and_then(|p| pointer_ray(p, &cameras, &frame));
        if let Some(pose) =
            ray.and_then(|ray| drag_math::dragged_pose(state.handle, &state.start_pose, state.start, ray))
        {
            moves.write(SetTarget { pose, origin: TargetOrigin::Drag });
        }
        return;
    }
    let Some((camera, eye)) = cameras.iter().find(|(c, _)| c.is_active) else { return };
    let center = to_vec3(&target.pose.translation.vector);
    let picked = cursor.filter(|_| !egui.wants_any_pointer_input()).and_then(|cursor| {
        let project = |p: Vec3| camera.world_to_viewport(eye, frame.transform_point(p)).ok();
        pick::pick_handle(cursor, center, size.0, PICK_PX, project)
    });
    hover.set_if_neq(GizmoHover(picked));
    if buttons.just_pressed(MouseButton::Left)
        && let (Some(handle), Some(cursor)) = (picked, cursor)
        && let Some(ray) = pointer_ray(cursor, &cameras, &frame)
        && let Some(start) = drag_start_value(handle, center, ray)
    {
        drag.0 = Some(DragState { handle, start_pose: target.pose, start });
    }
}

/// Arrows and rings as thick lines over the scene; the active handle brighter and wider.
fn draw_handles(
    mut gizmos: Gizmos<HandleGizmos>,
    mut active_gizmos: Gizmos<ActiveHandleGizmos>,
    target: Res<Target>,
    size: Res<GizmoSize>,
    hover: Res<GizmoHover>,
    drag: Res<GizmoDrag>,
    frame: Single<&GlobalTransform, With<RobotFrame>>,
) {
    let active = drag.0.as_ref().map(|d| d.handle).or(hover.0);
    let center = frame.transform_point(to_vec3(&target.pose.translation.vector));
    let turn = frame.rotation();
    for (axis, &color) in AXIS_COLORS.iter().enumerate() {
        let dir = turn * AXES[axis];
        let ring = Isometry3d::new(center, Quat::from_rotation_arc(Vec3::Z, dir));
        let arrow_active = active == Some(GizmoHandle::Translate(axis));
        let ring_active = active == Some(GizmoHandle::Rotate(axis));
        let end = center + dir * size.0;
        if arrow_active {
            active_gizmos.arrow(center, end, highlight(color)).with_tip_length(size.0 * 0.25);
        } else {
            gizmos.arrow(center, end, color).with_tip_length(size.0 * 0.25);
        }
        if ring_active {
            active_gizmos.circle(ring, size.0 * RING, highlight(color)).resolution(64);
        } else {
            gizmos.circle(ring, size.0 * RING, color).resolution(64);
        }
    }
}

/// The axis colour, half way to white.
fn highlight(color: Color) -> Color {
    let c = color.to_srgba();
    Color::srgb(0.5 + c.red * 0.5, 0.5 + c.green * 0.5, 0.5 + c.blue * 0.5)
}

/// The target's own axes, so its orientation is visible.
fn draw_target_axes(
    mut gizmos: Gizmos,
    target: Res<Target>,
    size: Res<GizmoSize>,
    frame: Single<&GlobalTransform, With<RobotFrame>>,
) {
    let world = frame.compute_transform() * to_transform(&target.pose);
    let len = size.0 * 0.5;
    for (axis, color) in [Vec3::X, Vec3::Y, Vec3::Z].into_iter().zip(AXIS_COLORS) {
        gizmos.line(world.translation, world.translation + world.rotation * axis * len, color);
    }
}

/// The pointer's ray in the robot frame.
fn pointer_ray(
    position: Vec2,
    cameras: &Query<(&Camera, &GlobalTransform)>,
    frame: &GlobalTransform,
) -> Option<(Vec3, Vec3)> {
    let (camera, camera_transform) = cameras.iter().find(|(c, _)| c.is_active)?;
    let ray = camera.viewport_to_world(camera_transform, position).ok()?;
    let to_robot = frame.affine().inverse();
    Some((to_robot.transform_point3(ray.origin), to_robot.transform_vector3(*ray.direction).normalize()))
}

fn drag_start_value(handle: GizmoHandle, center: Vec3, ray: (Vec3, Vec3)) -> Option<Vec3> {
    match handle {
        GizmoHandle::Translate(axis) => drag_math::axis_parameter(ray, center, AXES[axis]).map(Vec3::splat),
        GizmoHandle::Rotate(axis) => drag_math::ring_direction(ray, center, AXES[axis]),
    }
}

/// Which handle the pointer is on, measured on screen.
pub mod pick {
    use super::*;

    /// Points along a handle's line in the robot frame (an arrow's shaft, or the ring).
    fn handle_points(handle: GizmoHandle, center: Vec3, size: f32) -> Vec<Vec3> {
        match handle {
            GizmoHandle::Translate(axis) => vec![center, center + AXES[axis] * size],
            GizmoHandle::Rotate(axis) => {
                let (u, v) = AXES[axis].any_orthonormal_pair();
                (0..=48)
                    .map(|i| {
                        let a = i as f32 / 48.0 * std::f32::consts::TAU;
                        center + (u * a.cos() + v * a.sin()) * size * RING
                    })
                    .collect()
            }
        }
    }

    /// Pixel distance from `p` to the segment `a`–`b`.
    pub fn segment_distance(p: Vec2, a: Vec2, b: Vec2) -> f32 {
        let ab = b - a;
        let t = if ab.length_squared() > 0.0 { ((p - a).dot(ab) / ab.length_squared()).clamp(0.0, 1.0) } else { 0.0 };
        p.distance(a + ab * t)
    }

    /// The handle nearest to `cursor` on screen within `tolerance` pixels;
    /// `project` maps a robot-frame point to viewport pixels. Depth is ignored:
    /// the handles are drawn over the arm, so what is seen can be grabbed.
    pub fn pick_handle(
        cursor: Vec2,
        center: Vec3,
        size: f32,
        tolerance: f32,
        project: impl Fn(Vec3) -> Option<Vec2>,
    ) -> Option<GizmoHandle> {
        let handles = (0..3).flat_map(|a| [GizmoHandle::Translate(a), GizmoHandle::Rotate(a)]);
        handles
            .filter_map(|handle| {
                let screen: Option<Vec<Vec2>> = handle_points(handle, center, size).into_iter().map(&project).collect();
                let screen = screen?;
                let d = screen.windows(2).map(|w| segment_distance(cursor, w[0], w[1])).fold(f32::INFINITY, f32::min);
                (d <= tolerance).then_some((handle, d))
            })
            .min_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(handle, _)| handle)
    }
}

/// Pure geometry of gizmo drags, in the robot frame.
pub mod drag_math {
    use super::*;

    /// Parameter along the line `center + s·axis` of its point closest to the ray.
    pub fn axis_parameter((origin, dir): (Vec3, Vec3), center: Vec3, axis: Vec3) -> Option<f32> {
        let w = origin - center;
        let b = dir.dot(axis);
        let denom = 1.0 - b * b;
        if denom < 1e-6 {
            return None; // looking straight down the axis
        }
        Some((w.dot(axis) - b * w.dot(dir)) / denom)
    }

    /// Unit direction from `center` to where the ray meets the plane normal to `axis`.
    pub fn ring_direction((origin, dir): (Vec3, Vec3), center: Vec3, axis: Vec3) -> Option<Vec3> {
        let denom = dir.dot(axis);
        if denom.abs() < 1e-6 {
            return None; // ring seen edge-on
        }
        let t = (center - origin).dot(axis) / denom;
        let v = origin + dir * t - center;
        let v = v - axis * v.dot(axis);
        (v.length() > 1e-6).then(|| v.normalize())
    }

    /// Signed angle from `a` to `b` about `axis`.
    pub fn signed_angle(a: Vec3, b: Vec3, axis: Vec3) -> f32 {
        a.cross(b).dot(axis).atan2(a.dot(b))
    }

    /// The target pose for the current pointer ray during a drag.
    pub fn dragged_pose(
        handle: GizmoHandle,
        start_pose: &Isometry3<f64>,
        start: Vec3,
        ray: (Vec3, Vec3),
    ) -> Option<Isometry3<f64>> {
        let center = super::super::convert::to_vec3(&start_pose.translation.vector);
        match handle {
            GizmoHandle::Translate(axis) => {
                let s = axis_parameter(ray, center, AXES[axis])?;
                let mut offset = Vector3::zeros();
                offset[axis] = (s - start.x) as f64;
                Some(Isometry3::from_parts(
                    Translation3::from(start_pose.translation.vector + offset),
                    start_pose.rotation,
                ))
            }
            GizmoHandle::Rotate(axis) => {
                let now = ring_direction(ray, center, AXES[axis])?;
                let angle = signed_angle(start, now, AXES[axis]) as f64;
                let turn = UnitQuaternion::from_axis_angle(&Unit::new_unchecked(Vector3::ith(axis, 1.0)), angle);
                Some(Isometry3::from_parts(start_pose.translation, turn * start_pose.rotation))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::drag_math::*;
    use super::*;

    #[test]
    fn translate_drag_follows_the_pointer_along_the_axis() {
        let start_pose = Isometry3::translation(0.5, 0.0, 1.0);
        // A camera 2 m in front (along +y) looking back at the target.
        let eye = Vec3::new(0.5, 2.0, 1.0);
        let ray_to = |p: Vec3| (eye, (p - eye).normalize());
        let start =
            Vec3::splat(axis_parameter(ray_to(Vec3::new(0.5, 0.0, 1.0)), Vec3::new(0.5, 0.0, 1.0), Vec3::X).unwrap());
        // Pointer moves to where x = 0.7 on the axis: the target moves 0.2 along x only.
        let pose =
            dragged_pose(GizmoHandle::Translate(0), &start_pose, start, ray_to(Vec3::new(0.7, 0.0, 1.0))).unwrap();
        assert!((pose.translation.vector - Vector3::new(0.7, 0.0, 1.0)).norm() < 1e-5);
        // Pointer off the axis (higher up), seen from far away: only the x motion counts.
        let far = Vec3::new(0.5, 200.0, 1.0);
        let far_ray = |p: Vec3| (far, (p - far).normalize());
        let start =
            Vec3::splat(axis_parameter(far_ray(Vec3::new(0.5, 0.0, 1.0)), Vec3::new(0.5, 0.0, 1.0), Vec3::X).unwrap());
        let pose =
            dragged_pose(GizmoHandle::Translate(0), &start_pose, start, far_ray(Vec3::new(0.6, 0.0, 1.3))).unwrap();
        assert!((pose.translation.vector - Vector3::new(0.6, 0.0, 1.0)).norm() < 1e-3, "{pose:?}");
        // Looking straight down the axis gives no answer rather than a jump.
        assert!(axis_parameter((Vec3::new(3.0, 0.0, 1.0), -Vec3::X), Vec3::new(0.5, 0.0, 1.0), Vec3::X).is_none());
    }

    #[test]
    fn the_handle_under_the_pointer_is_picked_within_a_few_pixels() {
        use super::pick::pick_handle;
        // Looking along +y: robot x to the right, z up, 100 px per unit, centre at (400, 300).
        let project = |p: Vec3| Some(Vec2::new(400.0 + p.x * 100.0, 300.0 - p.z * 100.0));
        let pick = |x: f32, y: f32| pick_handle(Vec2::new(x, y), Vec3::ZERO, 1.0, PICK_PX, project);
        // Near the x arrow's tip, and a little off its line.
        assert_eq!(pick(490.0, 300.0), Some(GizmoHandle::Translate(0)));
        assert_eq!(pick(490.0, 308.0), Some(GizmoHandle::Translate(0)));
        // The y ring is seen face-on as a circle: 10 px outside it still grabs it.
        let at = std::f32::consts::FRAC_PI_4;
        let r = RING * 100.0 + 10.0;
        assert_eq!(pick(400.0 + r * at.cos(), 300.0 - r * at.sin()), Some(GizmoHandle::Rotate(1)));
        // Far from every handle: nothing.
        assert_eq!(pick(400.0 + 150.0, 300.0 - 150.0), None);
        // A handle behind the camera (no projection) is never picked.
        assert_eq!(pick_handle(Vec2::new(490.0, 300.0), Vec3::ZERO, 1.0, PICK_PX, |_| None), None);
    }

    #[test]
    fn rotate_drag_turns_by_the_swept_angle() {
        let start_pose = Isometry3::translation(0.0, 0.0, 1.0);
        let center = Vec3::new(0.0, 0.0, 1.0);
        // Looking down from above onto the z ring.
        let ray_to = |p: Vec3| (p + Vec3::Z * 2.0, -Vec3::Z);
        let start = ring_direction(ray_to(center + Vec3::X * 0.1), center, Vec3::Z).unwrap();
        let pose = dragged_pose(GizmoHandle::Rotate(2), &start_pose, start, ray_to(center + Vec3::Y * 0.1)).unwrap();
        let expected = UnitQuaternion::from_axis_angle(&Vector3::z_axis(), std::f64::consts::FRAC_PI_2);
        assert!(pose.rotation.angle_to(&expected) < 1e-5);
        assert_eq!(pose.translation, start_pose.translation);
        assert!((signed_angle(Vec3::X, -Vec3::Y, Vec3::Z) + std::f32::consts::FRAC_PI_2).abs() < 1e-6);
    }
}
