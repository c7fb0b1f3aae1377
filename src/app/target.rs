//! The end-effector target and its gizmo: three arrows move it along the base
//! axes, three rings turn it about them (drag with the left mouse button).

use bevy::prelude::*;
use nalgebra::{Isometry3, Translation3, Unit, UnitQuaternion, Vector3};

use super::convert::{RobotFrame, to_transform};
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
#[derive(Component, Debug, Clone, Copy, PartialEq, Eq)]
pub enum GizmoHandle {
    Translate(usize),
    Rotate(usize),
}

/// The gizmo's root; placed at the target position, aligned with the base axes.
#[derive(Component)]
pub struct TargetGizmo;

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

pub struct TargetPlugin;

impl Plugin for TargetPlugin {
    fn build(&self, app: &mut App) {
        app.add_message::<SetTarget>()
            .add_message::<TargetMoved>()
            .init_resource::<GizmoDrag>()
            .add_systems(Startup, (init_target, spawn_gizmo).chain())
            .add_systems(Update, own_target.in_set(StudioSet::Target))
            .add_systems(Update, place_gizmo.in_set(StudioSet::Draw))
            .add_systems(Update, draw_target_axes.in_set(StudioSet::Gizmos));
    }
}

fn init_target(mut commands: Commands, studio: Res<StudioRobot>, arm: Res<ArmState>) {
    commands.insert_resource(Target { pose: studio.robot.chain.fk_unchecked(&arm.q) });
}

/// The one writer of [`Target`]: the newest valid request of the frame wins.
pub fn own_target(mut requests: MessageReader<SetTarget>, mut target: ResMut<Target>, mut moved: MessageWriter<TargetMoved>) {
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

/// Gizmo size in metres, from the robot's reach.
fn gizmo_scale(studio: &StudioRobot) -> f32 {
    let ws = studio.robot.default_workspace();
    let size = (0..3).map(|i| (ws.max[i] - ws.min[i]) as f32).fold(0.0, f32::max);
    (size * 0.18).clamp(0.04, 0.3)
}

const AXIS_COLORS: [Color; 3] =
    [Color::srgb(0.92, 0.25, 0.25), Color::srgb(0.3, 0.85, 0.3), Color::srgb(0.3, 0.45, 0.98)];

fn spawn_gizmo(
    mut commands: Commands,
    frame: Single<Entity, With<RobotFrame>>,
    mut meshes: ResMut<Assets<Mesh>>,
    mut materials: ResMut<Assets<StandardMaterial>>,
) {
    let root = commands.spawn((TargetGizmo, Transform::default(), Visibility::default(), ChildOf(*frame))).id();
    let shaft = meshes.add(Cylinder::new(0.025, 0.8));
    let tip = meshes.add(Cone { radius: 0.07, height: 0.2 });
    let ring = meshes.add(Torus { minor_radius: 0.02, major_radius: 0.6 });
    // Unit-size parts; the root's scale sizes them. Bevy shapes point along +y.
    let along = [
        Quat::from_rotation_z(-std::f32::consts::FRAC_PI_2),
        Quat::IDENTITY,
        Quat::from_rotation_x(std::f32::consts::FRAC_PI_2),
    ];
    for axis in 0..3 {
        let material = materials.add(StandardMaterial { base_color: AXIS_COLORS[axis], unlit: true, ..default() });
        let arrow = commands
            .spawn((
                GizmoHandle::Translate(axis),
                Transform::from_rotation(along[axis]),
                Visibility::default(),
                ChildOf(root),
            ))
            .observe(start_drag)
            .observe(continue_drag)
            .observe(end_drag)
            .id();
        commands.spawn((
            Mesh3d(shaft.clone()),
            MeshMaterial3d(material.clone()),
            Transform::from_xyz(0.0, 0.4, 0.0),
            ChildOf(arrow),
        ));
        commands.spawn((
            Mesh3d(tip.clone()),
            MeshMaterial3d(material.clone()),
            Transform::from_xyz(0.0, 0.9, 0.0),
            ChildOf(arrow),
        ));
        // A torus lies around bevy's y; turn it around the axis.
        commands
            .spawn((
                GizmoHandle::Rotate(axis),
                Mesh3d(ring.clone()),
                MeshMaterial3d(material),
                Transform::from_rotation(along[axis]),
                ChildOf(root),
            ))
            .observe(start_drag)
            .observe(continue_drag)
            .observe(end_drag);
    }
}

fn place_gizmo(target: Res<Target>, studio: Res<StudioRobot>, mut gizmo: Query<&mut Transform, With<TargetGizmo>>) {
    if !(target.is_changed() || studio.is_changed()) {
        return;
    }
    for mut transform in &mut gizmo {
        let t = target.pose.translation.vector;
        *transform =
            Transform::from_xyz(t.x as f32, t.y as f32, t.z as f32).with_scale(Vec3::splat(gizmo_scale(&studio)));
    }
}

/// The target's own axes, so its orientation is visible.
fn draw_target_axes(
    mut gizmos: Gizmos,
    target: Res<Target>,
    studio: Res<StudioRobot>,
    frame: Single<&GlobalTransform, With<RobotFrame>>,
) {
    let world = frame.compute_transform() * to_transform(&target.pose);
    let len = gizmo_scale(&studio) * 0.6;
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
        GizmoHandle::Translate(axis) => drag_math::axis_parameter(ray, center, AXES[axis]).map(|s| Vec3::splat(s)),
        GizmoHandle::Rotate(axis) => drag_math::ring_direction(ray, center, AXES[axis]),
    }
}

const AXES: [Vec3; 3] = [Vec3::X, Vec3::Y, Vec3::Z];

fn start_drag(
    event: On<Pointer<DragStart>>,
    handles: Query<&GizmoHandle>,
    cameras: Query<(&Camera, &GlobalTransform)>,
    frame: Single<&GlobalTransform, With<RobotFrame>>,
    target: Res<Target>,
    mut drag: ResMut<GizmoDrag>,
) {
    if event.button != PointerButton::Primary {
        return;
    }
    let Ok(&handle) = handles.get(event.entity) else { return };
    let Some(ray) = pointer_ray(event.pointer_location.position, &cameras, &frame) else { return };
    let center = super::convert::to_vec3(&target.pose.translation.vector);
    if let Some(start) = drag_start_value(handle, center, ray) {
        drag.0 = Some(DragState { handle, start_pose: target.pose, start });
    }
}

fn continue_drag(
    event: On<Pointer<Drag>>,
    cameras: Query<(&Camera, &GlobalTransform)>,
    frame: Single<&GlobalTransform, With<RobotFrame>>,
    drag: Res<GizmoDrag>,
    mut moves: MessageWriter<SetTarget>,
) {
    let Some(state) = &drag.0 else { return };
    let Some(ray) = pointer_ray(event.pointer_location.position, &cameras, &frame) else { return };
    if let Some(pose) = drag_math::dragged_pose(state.handle, &state.start_pose, state.start, ray) {
        moves.write(SetTarget { pose, origin: TargetOrigin::Drag });
    }
}

fn end_drag(_event: On<Pointer<DragEnd>>, mut drag: ResMut<GizmoDrag>) {
    drag.0 = None;
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
