//! Orbit / pan / zoom camera: left drag orbits, right or middle drag pans,
//! the wheel zooms towards the point under the cursor. The view is framed on
//! the active arm (its links, the target, the working volume and the ghosts)
//! in the free part of the window, the part the side panel does not cover:
//! when a robot comes on stage, on F (frame) and V (reset view), and again
//! whenever the panel changes width.

use bevy::camera::primitives::Aabb;
use bevy::ecs::system::SystemParam;
use bevy::input::mouse::{AccumulatedMouseMotion, AccumulatedMouseScroll, MouseScrollUnit};
use bevy::prelude::*;
use bevy::window::PrimaryWindow;
use bevy_egui::input::egui_wants_any_pointer_input;

use super::convert::{robot_to_bevy, to_vec3};
use super::flow::StudioSet;
use super::nullspace::Ghosts;
use super::robot::{ArmState, LinkVisual, StudioRobot};
use super::scene::SceneOptions;
use super::target::{GizmoDrag, Target};
use super::urdf_visuals::VisualPart;

/// Direction of the home view (V): in front of the robot, on its right, from above.
const HOME_YAW: f32 = 0.9;
const HOME_PITCH: f32 = -0.45;
/// Turns tried around the home direction, in order of preference, when the
/// environment (frame posts, the other arm) hides the arm from it.
const CLEAR_VIEW_YAWS: [f32; 13] = [0.0, 0.2, -0.2, 0.4, -0.4, 0.6, -0.6, 0.8, -0.8, 1.0, -1.0, 1.2, -1.2];
/// Part of the free area's half-angle the framed sphere may fill.
const FRAME_FILL: f32 = 0.92;
/// Zoom limits, as multiples of the distance that frames the arm.
const ZOOM_RANGE: (f32, f32) = (0.15, 4.0);

#[derive(Component, Debug, Clone)]
pub struct OrbitCamera {
    pub focus: Vec3,
    pub radius: f32,
    pub yaw: f32,
    pub pitch: f32,
    /// Where the focus appears on screen, as the tangents of its angles off the
    /// view axis (x right, y up): the centre of the free area, not of the window.
    pub lens_shift: Vec2,
    /// What was framed last; bounds the wheel zoom.
    pub framed: Option<Framed>,
}

/// The sphere the view was framed on, and the distance that fits it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Framed {
    pub center: Vec3,
    pub radius: f32,
    pub fit: f32,
}

impl OrbitCamera {
    fn orbit_rotation(&self) -> Quat {
        Quat::from_euler(EulerRot::YXZ, self.yaw, self.pitch, 0.0)
    }

    /// The camera sits on the orbit sphere and turns just enough that the focus
    /// appears at `lens_shift` instead of the window centre.
    pub fn transform(&self) -> Transform {
        let orbit = self.orbit_rotation();
        let to_focus = Vec3::new(self.lens_shift.x, self.lens_shift.y, -1.0).normalize();
        let rotation = orbit * Quat::from_rotation_arc(to_focus, Vec3::NEG_Z);
        Transform::from_translation(self.focus + orbit * Vec3::Z * self.radius).with_rotation(rotation)
    }

    /// Unit vector from the camera to the focus.
    fn towards_focus(&self) -> Vec3 {
        self.orbit_rotation() * Vec3::NEG_Z
    }
}

/// The window area not covered by the side panel, logical pixels (from the panel's layout).
#[derive(Resource, Debug, Clone, Copy, Default, PartialEq)]
pub struct FreeArea(pub Option<Rect>);

/// Frame the arm (F), or also turn to the home view direction (V).
#[derive(Message, Debug, Clone, Copy, PartialEq)]
pub enum FrameView {
    Frame,
    Home,
}

pub struct OrbitCameraPlugin;

impl Plugin for OrbitCameraPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<FreeArea>().add_message::<FrameView>().add_systems(Startup, spawn_camera).add_systems(
            Update,
            (
                orbit_with_mouse.run_if(not(egui_wants_any_pointer_input)).run_if(no_gizmo_drag),
                frame_on_request,
                follow_free_area,
                apply_orbit,
            )
                .chain()
                .in_set(StudioSet::Draw),
        );
    }
}

fn no_gizmo_drag(drag: Res<GizmoDrag>) -> bool {
    drag.0.is_none()
}

fn spawn_camera(mut commands: Commands) {
    let orbit = OrbitCamera {
        focus: Vec3::new(0.4, 1.0, 0.0),
        radius: 2.6,
        yaw: HOME_YAW,
        pitch: HOME_PITCH,
        lens_shift: Vec2::ZERO,
        framed: None,
    };
    commands.spawn((Camera3d::default(), orbit.transform(), orbit));
}

/// Tangents of the half field of view, horizontally and vertically.
fn lens(projection: &Projection, size: Vec2) -> Option<Vec2> {
    let Projection::Perspective(p) = projection else { return None };
    let tan_y = (p.fov * 0.5).tan();
    (size.y > 0.0).then(|| Vec2::new(tan_y * size.x / size.y, tan_y))
}

/// The free area in normalised device coordinates (x right, y up, −1 to 1);
/// the whole window when the panel has not been laid out yet.
fn free_ndc(free: &FreeArea, size: Vec2) -> Rect {
    let Some(rect) = free.0.filter(|r| r.width() > 1.0 && r.height() > 1.0) else {
        return Rect::new(-1.0, -1.0, 1.0, 1.0);
    };
    let x = |px: f32| (px / size.x * 2.0 - 1.0).clamp(-1.0, 1.0);
    let y = |px: f32| (1.0 - px / size.y * 2.0).clamp(-1.0, 1.0);
    Rect::new(x(rect.min.x), y(rect.max.y), x(rect.max.x), y(rect.min.y))
}

fn orbit_with_mouse(
    buttons: Res<ButtonInput<MouseButton>>,
    motion: Res<AccumulatedMouseMotion>,
    scroll: Res<AccumulatedMouseScroll>,
    window: Single<&Window, With<PrimaryWindow>>,
    mut cameras: Query<(&mut OrbitCamera, &Camera, &GlobalTransform)>,
) {
    for (mut orbit, camera, eye) in &mut cameras {
        let delta = motion.delta;
        if buttons.pressed(MouseButton::Left) {
            orbit.yaw -= delta.x * 0.006;
            orbit.pitch = (orbit.pitch - delta.y * 0.006).clamp(-1.5, 1.5);
        } else if buttons.pressed(MouseButton::Right) || buttons.pressed(MouseButton::Middle) {
            let scale = orbit.radius * 0.0015;
            let pan = orbit.orbit_rotation() * Vec3::new(-delta.x * scale, delta.y * scale, 0.0);
            orbit.focus += pan;
        }
        let lines = match scroll.unit {
            MouseScrollUnit::Line => scroll.delta.y,
            MouseScrollUnit::Pixel => scroll.delta.y / 40.0,
        };
        if lines != 0.0 {
            let under_cursor = window
                .cursor_position()
                .and_then(|p| camera.viewport_to_world(eye, p).ok())
                .and_then(|ray| view_math::point_on_focus_plane(ray.origin, *ray.direction, &orbit));
            view_math::zoom(&mut orbit, 1.0 - 0.1 * lines, under_cursor);
        }
    }
}

/// Frames the arm when a robot comes on stage, and on [`FrameView`]. From the
/// home direction the view turns to the nearest yaw from which the environment
/// hides the fewest of the arm's points, again when the environment's meshes
/// arrive (they are decoded in the background) unless the user moved the view.
#[allow(clippy::too_many_arguments)]
fn frame_on_request(
    mut requests: MessageReader<FrameView>,
    studio: Res<StudioRobot>,
    arm: Res<ArmState>,
    target: Res<Target>,
    ghosts: Res<Ghosts>,
    free: Res<FreeArea>,
    environment: Environment,
    mut shown: Local<Option<std::sync::Arc<ik_studio::robots::Robot>>>,
    mut auto_view: Local<Option<(f32, f32)>>,
    mut cameras: Query<(&mut OrbitCamera, &Camera, &Projection)>,
) {
    let new_robot = !shown.as_ref().is_some_and(|r| std::sync::Arc::ptr_eq(r, &studio.robot));
    let request = requests.read().last().copied();
    let untouched = |orbit: &OrbitCamera| *auto_view == Some((orbit.yaw, orbit.pitch));
    let meshes_arrived = environment.appeared() && cameras.iter().any(|(orbit, ..)| untouched(orbit));
    if !new_robot && request.is_none() && !meshes_arrived {
        return;
    }
    *shown = Some(studio.robot.clone());
    // A new robot's ghosts are still the old robot's.
    let points = framing_points(&studio, &arm.q, &target, (!new_robot).then_some(&*ghosts));
    let Some((center, radius)) = view_math::bounding_sphere(&points) else { return };
    let arm_points = framing_points(&studio, &arm.q, &target, None);
    let occluders = environment.boxes();
    for (mut orbit, camera, projection) in &mut cameras {
        let size = camera.logical_viewport_size().unwrap_or(Vec2::new(1280.0, 800.0));
        let Some(lens) = lens(projection, size) else { continue };
        let (fit, shift) = view_math::frame_sphere(radius, free_ndc(&free, size), lens);
        if new_robot || request == Some(FrameView::Home) || meshes_arrived {
            let yaw = view_math::clear_yaw(center, fit, HOME_YAW, HOME_PITCH, &arm_points, &occluders);
            (orbit.yaw, orbit.pitch) = (yaw, HOME_PITCH);
            *auto_view = Some((orbit.yaw, orbit.pitch));
        }
        orbit.focus = center;
        orbit.radius = fit;
        orbit.lens_shift = shift;
        orbit.framed = Some(Framed { center, radius, fit });
    }
}

/// The parts of the links that are not the arm, as world boxes: what may hide it.
#[derive(SystemParam)]
struct Environment<'w, 's> {
    options: Res<'w, SceneOptions>,
    parts: Query<'w, 's, (&'static GlobalTransform, &'static Aabb, &'static ChildOf), With<VisualPart>>,
    links: Query<'w, 's, &'static LinkVisual>,
    new_bounds: Query<'w, 's, (), (Added<Aabb>, With<VisualPart>)>,
}

impl Environment<'_, '_> {
    /// Parts got their bounds this frame (their meshes arrived).
    fn appeared(&self) -> bool {
        !self.new_bounds.is_empty()
    }

    fn boxes(&self) -> Vec<(Vec3, Vec3)> {
        if !self.options.environment {
            return Vec::new();
        }
        let environment = |parent: &ChildOf| self.links.get(parent.parent()).is_ok_and(|l| !l.on_arm);
        let world_box = |(frame, aabb): (&GlobalTransform, &Aabb)| {
            let (center, half) = (Vec3::from(aabb.center), Vec3::from(aabb.half_extents));
            let corners = (0..8).map(|i| {
                let sign = Vec3::new(
                    if i & 1 == 0 { -1.0 } else { 1.0 },
                    if i & 2 == 0 { -1.0 } else { 1.0 },
                    if i & 4 == 0 { -1.0 } else { 1.0 },
                );
                frame.transform_point(center + sign * half)
            });
            corners.fold((Vec3::INFINITY, Vec3::NEG_INFINITY), |(lo, hi), c| (lo.min(c), hi.max(c)))
        };
        self.parts.iter().filter(|(_, _, parent)| environment(parent)).map(|(f, a, _)| world_box((f, a))).collect()
    }
}

/// When the panel changes width, the focus moves to the new free area's centre
/// and the distance scales so that what was framed stays in it.
fn follow_free_area(
    free: Res<FreeArea>,
    mut last: Local<Option<(FreeArea, Vec2)>>,
    mut cameras: Query<(&mut OrbitCamera, &Camera, &Projection)>,
) {
    for (mut orbit, camera, projection) in &mut cameras {
        let Some(size) = camera.logical_viewport_size() else { continue };
        let now = (*free, size);
        let Some(before) = last.replace(now) else { continue };
        let (Some(lens_now), Some(lens_before)) = (lens(projection, size), lens(projection, before.1)) else {
            continue;
        };
        if before == now {
            continue;
        }
        let Some(framed) = orbit.framed else { continue };
        let (fit_before, _) = view_math::frame_sphere(framed.radius, free_ndc(&before.0, before.1), lens_before);
        let (fit, shift) = view_math::frame_sphere(framed.radius, free_ndc(&free, size), lens_now);
        orbit.radius *= fit / fit_before;
        orbit.lens_shift = shift;
        orbit.framed = Some(Framed { fit, ..framed });
    }
}

/// Points the view must show, in Bevy world coordinates: the chain's links in
/// the arm's pose, the tip, the target, the first working volume and the ghosts.
fn framing_points(studio: &StudioRobot, q: &[f64], target: &Target, ghosts: Option<&Ghosts>) -> Vec<Vec3> {
    let robot = &studio.robot;
    let mut points = Vec::new();
    if q.len() == robot.chain.dof() {
        if let Ok(poses) = robot.tree.link_poses(&studio.tree_values(q)) {
            let tree = &robot.tree;
            for &j in &studio.chain_to_tree {
                points.extend(poses.get(tree.joints[j].child_link).map(|p| to_vec3(&p.translation.vector)));
                points.extend(poses.get(tree.joints[j].parent_link).map(|p| to_vec3(&p.translation.vector)));
            }
        }
        points.push(to_vec3(&robot.chain.fk_unchecked(q).translation.vector));
    }
    points.push(to_vec3(&target.pose.translation.vector));
    let ws = robot.workspaces.first().unwrap_or(robot.default_workspace());
    for corner in 0..8 {
        let pick = |i: usize| if corner >> i & 1 == 1 { ws.max[i] } else { ws.min[i] } as f32;
        points.push(Vec3::new(pick(0), pick(1), pick(2)));
    }
    points.extend(ghosts.into_iter().flat_map(|g| &g.ghosts).flat_map(|g| g.points.iter().copied()));
    let to_world = robot_to_bevy();
    points.into_iter().filter(|p| p.is_finite()).map(|p| to_world * p).collect()
}

fn apply_orbit(mut cameras: Query<(&OrbitCamera, &mut Transform), Changed<OrbitCamera>>) {
    for (orbit, mut transform) in &mut cameras {
        *transform = orbit.transform();
    }
}

/// Pure geometry of framing and zooming.
pub mod view_math {
    use super::*;

    /// The yaw nearest `home` (of [`CLEAR_VIEW_YAWS`] around it) from which the
    /// fewest `points` are hidden behind the `boxes`, for a camera `distance`
    /// from `center` at `pitch`.
    pub fn clear_yaw(
        center: Vec3,
        distance: f32,
        home: f32,
        pitch: f32,
        points: &[Vec3],
        boxes: &[(Vec3, Vec3)],
    ) -> f32 {
        let hidden = |yaw: f32| {
            let eye = center + Quat::from_euler(EulerRot::YXZ, yaw, pitch, 0.0) * Vec3::Z * distance;
            points.iter().filter(|&&p| boxes.iter().any(|&(lo, hi)| segment_hits_box(eye, p, lo, hi))).count()
        };
        // `min_by_key` keeps the first of equals: the nearest to home.
        CLEAR_VIEW_YAWS.iter().map(|d| home + d).min_by_key(|&yaw| hidden(yaw)).unwrap_or(home)
    }

    /// Whether the segment from `a` to `b` passes through the box (slab test); a
    /// point inside a box (a shoulder inside the torso) is not hidden by it.
    pub fn segment_hits_box(a: Vec3, b: Vec3, lo: Vec3, hi: Vec3) -> bool {
        let inside = |p: Vec3| p.cmpge(lo).all() && p.cmple(hi).all();
        if inside(a) || inside(b) {
            return false;
        }
        let d = b - a;
        let (mut t0, mut t1) = (0.0f32, 1.0f32);
        for i in 0..3 {
            if d[i].abs() < 1e-9 {
                if a[i] < lo[i] || a[i] > hi[i] {
                    return false;
                }
                continue;
            }
            let (near, far) = ((lo[i] - a[i]) / d[i], (hi[i] - a[i]) / d[i]);
            t0 = t0.max(near.min(far));
            t1 = t1.min(near.max(far));
            if t0 > t1 {
                return false;
            }
        }
        true
    }

    /// Centre and radius of a sphere around `points` (the box's centre; at least 5 cm).
    pub fn bounding_sphere(points: &[Vec3]) -> Option<(Vec3, f32)> {
        let first = *points.first()?;
        let (lo, hi) = points.iter().fold((first, first), |(lo, hi), p| (lo.min(*p), hi.max(*p)));
        let center = (lo + hi) * 0.5;
        let radius = points.iter().map(|p| p.distance(center)).fold(0.05, f32::max);
        Some((center, radius))
    }

    /// Distance from a sphere of `radius` at which it fills the free area (NDC
    /// rectangle), and the lens shift that puts its centre at the area's centre.
    /// `lens` holds the tangents of the half field of view (x, y).
    pub fn frame_sphere(radius: f32, free: Rect, lens: Vec2) -> (f32, Vec2) {
        let shift = free.center() * lens;
        // Angles off the view axis of the area's edges and of its centre.
        let half_angle = |lo: f32, hi: f32, c: f32, t: f32| {
            let (lo, hi, c) = ((lo * t).atan(), (hi * t).atan(), c.atan());
            (hi - c).min(c - lo)
        };
        let half = half_angle(free.min.x, free.max.x, shift.x, lens.x)
            .min(half_angle(free.min.y, free.max.y, shift.y, lens.y))
            .max(0.02);
        (radius / (half * FRAME_FILL).sin(), shift)
    }

    /// Where the ray meets the plane through the focus facing the camera.
    pub fn point_on_focus_plane(origin: Vec3, dir: Vec3, orbit: &OrbitCamera) -> Option<Vec3> {
        let normal = orbit.towards_focus();
        let denom = dir.dot(normal);
        if denom.abs() < 1e-6 {
            return None;
        }
        let t = (orbit.focus - origin).dot(normal) / denom;
        (t > 0.0).then(|| origin + dir * t)
    }

    /// Zoom by `factor` (new distance / old) about `about`, the point under the
    /// cursor, which stays under it (the camera and focus scale about it without
    /// turning). The distance stays within [`ZOOM_RANGE`] of the framed fit, and
    /// the focus within the framed sphere, so the arm cannot be zoomed away.
    pub fn zoom(orbit: &mut OrbitCamera, factor: f32, about: Option<Vec3>) {
        let (lo, hi) = match orbit.framed {
            Some(f) => (f.fit * ZOOM_RANGE.0, f.fit * ZOOM_RANGE.1),
            None => (0.1, 20.0),
        };
        let radius = (orbit.radius * factor).clamp(lo, hi);
        let factor = radius / orbit.radius;
        if let Some(p) = about {
            orbit.focus = p + (orbit.focus - p) * factor;
        }
        orbit.radius = radius;
        if let Some(f) = orbit.framed {
            let off = orbit.focus - f.center;
            orbit.focus = f.center + off.clamp_length_max(f.radius);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::view_math::*;
    use super::*;
    use bevy::camera::CameraProjection;

    fn perspective(size: Vec2) -> PerspectiveProjection {
        PerspectiveProjection { aspect_ratio: size.x / size.y, ..default() }
    }

    /// NDC of a world point seen by `orbit` through `projection`.
    fn ndc(orbit: &OrbitCamera, projection: &PerspectiveProjection, p: Vec3) -> Vec2 {
        let view = orbit.transform().to_matrix().inverse();
        let clip = projection.get_clip_from_view() * view * p.extend(1.0);
        clip.truncate().truncate() / clip.w
    }

    #[test]
    fn a_framed_sphere_fills_the_free_area_beside_the_panel() {
        let size = Vec2::new(1280.0, 800.0);
        let projection = perspective(size);
        let lens = lens(&Projection::Perspective(projection.clone()), size).unwrap();
        // A 480 px panel on the left (presentation mode).
        let free = free_ndc(&FreeArea(Some(Rect::new(480.0, 0.0, 1280.0, 800.0))), size);
        assert!((free.min.x - -0.25).abs() < 1e-6 && free.max.x == 1.0 && free.min.y == -1.0);
        let (center, radius) = (Vec3::new(0.3, 1.1, 0.2), 0.4);
        let (fit, shift) = frame_sphere(radius, free, lens);
        for (yaw, pitch) in [(HOME_YAW, HOME_PITCH), (-2.0, 0.3), (0.0, -1.2)] {
            let orbit = OrbitCamera { focus: center, radius: fit, yaw, pitch, lens_shift: shift, framed: None };
            // The centre lands in the middle of the free area…
            let c = ndc(&orbit, &projection, center);
            assert!((c - free.center()).length() < 1e-3, "{c} vs {}", free.center());
            // …and the whole sphere inside it, filling most of it.
            let mut widest: f32 = 0.0;
            for i in 0..200 {
                let (a, b) = (i as f32 * 0.7, i as f32 * 1.3);
                let on_sphere = center + Vec3::new(a.cos() * b.sin(), b.cos(), a.sin() * b.sin()) * radius;
                let p = ndc(&orbit, &projection, on_sphere);
                assert!(free.contains(p), "{p} outside {free:?} at yaw {yaw}");
                widest = widest.max((p.y - c.y).abs());
            }
            assert!(widest > 0.75, "the sphere fills the height: {widest}");
        }
    }

    #[test]
    fn the_point_under_the_cursor_stays_there_while_zooming() {
        let size = Vec2::new(1280.0, 800.0);
        let projection = perspective(size);
        let framed = Framed { center: Vec3::new(0.0, 1.0, 0.0), radius: 0.5, fit: 2.0 };
        let mut orbit = OrbitCamera {
            focus: framed.center,
            radius: 2.0,
            yaw: 0.4,
            pitch: -0.3,
            lens_shift: Vec2::new(0.2, 0.0),
            framed: Some(framed),
        };
        // A point on the focus plane, right of and above the focus.
        let eye = orbit.transform().translation;
        let target = framed.center + orbit.orbit_rotation() * Vec3::new(0.2, 0.15, 0.0);
        let p = point_on_focus_plane(eye, (target - eye).normalize(), &orbit).unwrap();
        assert!(p.distance(target) < 1e-4);
        let before = ndc(&orbit, &projection, p);
        zoom(&mut orbit, 0.8, Some(p));
        assert!((orbit.radius - 1.6).abs() < 1e-5);
        assert!((ndc(&orbit, &projection, p) - before).length() < 1e-4, "the point stays under the cursor");
        // Many notches in: the distance stops at its bound and the focus stays in the framed sphere.
        for _ in 0..100 {
            zoom(&mut orbit, 0.8, Some(p + Vec3::X * 3.0));
        }
        assert!((orbit.radius - 2.0 * ZOOM_RANGE.0).abs() < 1e-5);
        assert!(orbit.focus.distance(framed.center) <= framed.radius + 1e-5);
        for _ in 0..100 {
            zoom(&mut orbit, 1.25, None);
        }
        assert!((orbit.radius - 2.0 * ZOOM_RANGE.1).abs() < 1e-4);
    }

    #[test]
    fn the_bounding_sphere_holds_every_point() {
        assert!(bounding_sphere(&[]).is_none());
        let points = [Vec3::ZERO, Vec3::new(1.0, 0.0, 0.0), Vec3::new(0.0, 2.0, 0.0)];
        let (c, r) = bounding_sphere(&points).unwrap();
        assert!(points.iter().all(|p| p.distance(c) <= r + 1e-6));
        assert_eq!(bounding_sphere(&[Vec3::ONE]).unwrap(), (Vec3::ONE, 0.05));
    }

    #[test]
    fn a_segment_through_a_box_hits_it_one_beside_or_ending_inside_does_not() {
        let (lo, hi) = (Vec3::splat(-0.1), Vec3::splat(0.1));
        assert!(segment_hits_box(Vec3::new(-1.0, 0.0, 0.0), Vec3::new(1.0, 0.05, 0.0), lo, hi));
        assert!(!segment_hits_box(Vec3::new(-1.0, 0.3, 0.0), Vec3::new(1.0, 0.3, 0.0), lo, hi));
        assert!(!segment_hits_box(Vec3::new(-1.0, 0.0, 0.0), Vec3::new(-0.5, 0.0, 0.0), lo, hi));
        assert!(!segment_hits_box(Vec3::new(-1.0, 0.0, 0.0), Vec3::ZERO, lo, hi));
    }

    #[test]
    fn the_view_turns_past_a_post_that_hides_the_arm_and_stays_home_when_nothing_does() {
        let (center, distance) = (Vec3::ZERO, 3.0);
        let arm = [Vec3::ZERO, Vec3::new(0.0, 0.2, 0.0), Vec3::new(0.05, 0.4, 0.0)];
        assert_eq!(clear_yaw(center, distance, HOME_YAW, HOME_PITCH, &arm, &[]), HOME_YAW);
        // A post halfway between the home eye and the arm.
        let eye = Quat::from_euler(EulerRot::YXZ, HOME_YAW, HOME_PITCH, 0.0) * Vec3::Z * distance;
        let mid = eye * 0.5;
        let post = (Vec3::new(mid.x - 0.05, -2.0, mid.z - 0.05), Vec3::new(mid.x + 0.05, 3.0, mid.z + 0.05));
        let yaw = clear_yaw(center, distance, HOME_YAW, HOME_PITCH, &arm, &[post]);
        assert_ne!(yaw, HOME_YAW);
        let eye = Quat::from_euler(EulerRot::YXZ, yaw, HOME_PITCH, 0.0) * Vec3::Z * distance;
        assert!(arm.iter().all(|&p| !segment_hits_box(eye, p, post.0, post.1)));
        assert!((yaw - HOME_YAW).abs() <= 0.4, "the nearest clear yaw, not any: {yaw}");
    }
}
