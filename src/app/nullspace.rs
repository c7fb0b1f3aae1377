//! Nullspace overlay: for the target the arm answers, many solutions drawn as
//! ghost arms coloured by error, with their elbow and wrist points. Sources:
//! the GAN's samples (optionally each refined by a few Levenberg–Marquardt
//! steps, so the ghosts lie on the exact self-motion manifold with the GAN's
//! spread), a sweep of one GAN noise dimension, or numeric self-motion through
//! the arm's configuration.
//!
//! The overlay is computed in the background once the solve for the current
//! target has landed, so it never shows an older target; the panel says how
//! many ghosts there are and what limited their number.

use std::sync::Arc;
use std::time::Duration;

use bevy::prelude::*;
use ik_studio::Chain;
use ik_studio::kinematics::Pose;
use ik_studio::models::LoadedModel;
use ik_studio::solvers::{self, GoalMask, NumericSolver, Solution, SolveRequest, Solver};
use nalgebra::{Isometry3, Point3};

use super::convert::{RobotFrame, to_vec3};
use super::flow::StudioSet;
use super::jobs::{JobSlot, Pool};
use super::robot::{ArmState, ShownPose, StudioRobot};
use super::solve::{GoalSettings, SolveStatus, SolverChoice};
use super::target::Target;

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

impl OverlayMode {
    pub fn label(self) -> &'static str {
        match self {
            OverlayMode::Off => "off",
            OverlayMode::GanSamples => "gan-samples",
            OverlayMode::GanSweep => "gan-sweep",
            OverlayMode::SelfMotion => "self-motion",
        }
    }
}

/// How ghost arms are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GhostStyle {
    /// Translucent copies of the arm's links (see `ghost_meshes`).
    Meshes,
    /// Skeletons: joint origins joined by lines.
    Lines,
    Both,
}

impl GhostStyle {
    pub fn meshes(self) -> bool {
        matches!(self, Self::Meshes | Self::Both)
    }

    pub fn lines(self) -> bool {
        matches!(self, Self::Lines | Self::Both)
    }
}

/// Most ghosts the overlay draws.
pub const MAX_GHOSTS: usize = 500;

/// Radians between neighbouring self-motion ghosts.
const SELF_MOTION_STEP: f64 = 0.04;

#[derive(Resource, Debug, Clone, PartialEq)]
pub struct NullspaceSettings {
    pub mode: OverlayMode,
    pub count: usize,
    pub sweep_dim: usize,
    /// Polish every GAN sample with a few Levenberg–Marquardt steps.
    pub refine: bool,
    /// Move the arm back and forth along the ghosts.
    pub animate: bool,
    pub style: GhostStyle,
    /// Scales the ghosts' automatic opacity (fainter as there are more).
    pub ghost_opacity: f32,
    /// Ghost line width, pixels.
    pub line_width: f32,
    /// Ghosts drawn in front of the solid arm and the environment.
    pub in_front: bool,
}

impl Default for NullspaceSettings {
    fn default() -> Self {
        Self {
            mode: OverlayMode::Off,
            count: 100,
            sweep_dim: 0,
            refine: false,
            animate: false,
            style: GhostStyle::Meshes,
            ghost_opacity: 1.0,
            line_width: 3.0,
            in_front: true,
        }
    }
}

/// One ghost arm: joint origins and tip in the robot frame, and its error.
#[derive(Debug, Clone)]
pub struct Ghost {
    pub joints: Vec<f64>,
    pub points: Vec<Vec3>,
    pub position_error_mm: f64,
}

/// The ghosts shown, and what they answer.
#[derive(Resource, Debug, Clone, Default)]
pub struct Ghosts {
    pub ghosts: Vec<Ghost>,
    /// How many were asked for, and why fewer came (joint limits, no redundancy, no GAN).
    pub asked: usize,
    pub limit: Option<String>,
    /// The inputs they were computed from.
    key: Option<OverlayKey>,
}

impl Ghosts {
    /// The target these ghosts were computed for.
    pub fn target(&self) -> Option<&Isometry3<f64>> {
        self.key.as_ref().map(|k| &k.target)
    }

    pub fn mean_error_mm(&self) -> Option<f64> {
        (!self.ghosts.is_empty())
            .then(|| self.ghosts.iter().map(|g| g.position_error_mm).sum::<f64>() / self.ghosts.len() as f64)
    }
}

/// Everything an overlay depends on; a new one is computed when this changes.
#[derive(Debug, Clone, PartialEq)]
struct OverlayKey {
    robot: String,
    target: Isometry3<f64>,
    q: Vec<f64>,
    mode: OverlayMode,
    count: usize,
    sweep_dim: usize,
    refine: bool,
    mask: GoalMask,
    has_gan: bool,
}

struct OverlayJob {
    key: OverlayKey,
    chain: Chain,
    gan: Option<Arc<LoadedModel>>,
}

struct OverlayOutput {
    key: OverlayKey,
    solutions: Vec<Solution>,
    limit: Option<String>,
}

#[derive(Resource, Default)]
struct OverlaySlot {
    slot: JobSlot<OverlayJob, OverlayOutput>,
    launched: Option<OverlayKey>,
    launches: u64,
}

/// Whether the ghosts shown answer the current target, arm and settings, and nothing is computing.
#[cfg(test)]
pub fn overlay_settled(world: &World) -> bool {
    let idle = world.resource::<OverlaySlot>().slot.is_idle();
    let settings = world.resource::<NullspaceSettings>();
    let current = world.resource::<Ghosts>().key.as_ref().is_some_and(|k| {
        k.target == world.resource::<Target>().pose
            && k.q == world.resource::<ArmState>().q
            && (k.mode, k.count, k.refine, k.sweep_dim)
                == (settings.mode, settings.count.clamp(1, MAX_GHOSTS), settings.refine, settings.sweep_dim)
    });
    idle && current
}

/// Thick ghost lines, drawn in front (a gizmo group of their own).
#[derive(Default, Reflect, GizmoConfigGroup)]
pub struct GhostGizmos;

pub struct NullspacePlugin;

impl Plugin for NullspacePlugin {
    fn build(&self, app: &mut App) {
        // Only with a renderer: headless tests have no gizmo store.
        if app.world().contains_resource::<GizmoConfigStore>() {
            app.init_gizmo_group::<GhostGizmos>();
        }
        app.init_resource::<NullspaceSettings>()
            .init_resource::<Ghosts>()
            .init_resource::<OverlaySlot>()
            .add_systems(Startup, apply_startup_overlay)
            .add_systems(Update, launch_overlay.in_set(StudioSet::Request))
            .add_systems(Update, collect_overlay.in_set(StudioSet::Collect))
            .add_systems(Update, animate_along_ghosts.in_set(StudioSet::Apply))
            .add_systems(Update, (style_ghosts, draw_ghosts).chain().in_set(StudioSet::Gizmos));
    }
}

fn apply_startup_overlay(options: Option<Res<super::StudioOptions>>, mut settings: ResMut<NullspaceSettings>) {
    let Some(options) = options else { return };
    if let Some((mode, count)) = options.overlay {
        (settings.mode, settings.count) = (mode, count);
    }
    settings.refine = options.refine_ghosts;
    if let Some(style) = options.ghost_style {
        settings.style = style;
    }
}

/// One overlay at a time, for the target the arm answers; the newest inputs win.
/// While a drag keeps newer solves pending, that is the target of the answer
/// shown, so ghosts follow the arm instead of waiting for the drag to stop.
#[allow(clippy::too_many_arguments)]
fn launch_overlay(
    settings: Res<NullspaceSettings>,
    studio: Res<StudioRobot>,
    arm: Res<ArmState>,
    target: Res<Target>,
    status: Res<SolveStatus>,
    goal: Res<GoalSettings>,
    choice: Res<SolverChoice>,
    mut overlay: ResMut<OverlaySlot>,
) {
    // Ghosts answer the same target as the arm: never an older one.
    let Some(answered) = status.answered_target(&target.pose) else { return };
    if arm.q.len() != studio.robot.chain.dof() || !overlay.slot.is_idle() {
        return;
    }
    let key = OverlayKey {
        robot: studio.robot.name.clone(),
        target: answered,
        q: arm.q.clone(),
        mode: settings.mode,
        count: settings.count.clamp(1, MAX_GHOSTS),
        sweep_dim: settings.sweep_dim,
        refine: settings.refine,
        mask: goal.mask,
        has_gan: choice.gan().is_some(),
    };
    if overlay.launched.as_ref() == Some(&key) {
        return;
    }
    overlay.launched = Some(key.clone());
    overlay.launches += 1;
    let id = overlay.launches;
    let job = OverlayJob { key, chain: studio.robot.chain.clone(), gan: choice.gan().cloned() };
    overlay.slot.submit(id, job);
    overlay.slot.launch(Pool::Compute, compute_overlay);
}

fn compute_overlay(job: OverlayJob) -> OverlayOutput {
    let OverlayJob { key, chain, gan } = job;
    let (joints, mut limit) = overlay_joints(&chain, &key, gan.as_deref());
    let mut solutions: Vec<Solution> = joints
        .into_iter()
        .filter(|q| q.len() == chain.dof() && q.iter().all(|v| v.is_finite()))
        .map(|q| Solution::evaluate(&chain, q, &key.target, key.mask))
        .collect();
    let gan_mode = matches!(key.mode, OverlayMode::GanSamples | OverlayMode::GanSweep);
    if key.refine && gan_mode {
        solutions = refine(&chain, &key.target, key.mask, solutions);
    }
    if limit.is_none() && key.mode != OverlayMode::Off && solutions.len() < key.count {
        limit = Some(format!("{} of {} are finite", solutions.len(), key.count));
    }
    OverlayOutput { key, solutions, limit }
}

/// Joint vectors of the overlay, and why there are fewer than asked for.
fn overlay_joints(chain: &Chain, key: &OverlayKey, gan: Option<&LoadedModel>) -> (Vec<Vec<f64>>, Option<String>) {
    let pose = Pose::from_isometry(&key.target).to_array();
    let dof = chain.dof();
    let split = |flat: Vec<f64>| flat.chunks_exact(dof).map(<[f64]>::to_vec).collect::<Vec<_>>();
    let count = key.count;
    match (key.mode, gan) {
        (OverlayMode::Off, _) => (Vec::new(), None),
        (OverlayMode::SelfMotion, _) if dof <= 6 => (
            Vec::new(),
            Some(format!("numeric self-motion keeps the full pose: a {dof}-joint arm has none (it needs 7 or more)")),
        ),
        (OverlayMode::SelfMotion, _) => {
            let path = solvers::self_motion(chain, &key.q, count, SELF_MOTION_STEP);
            let limit = (path.len() < count).then(|| {
                format!(
                    "self-motion reached joint limits after {} steps of {SELF_MOTION_STEP} rad both ways",
                    path.len()
                )
            });
            (path, limit)
        }
        (_, None) => (Vec::new(), Some("no GAN for this robot (or still loading)".into())),
        (OverlayMode::GanSamples, Some(gan)) => (split(gan.infer(&pose, count).unwrap_or_default()), None),
        (OverlayMode::GanSweep, Some(gan)) => {
            let dim = gan.card.io.noise_dim().max(1);
            let noise: Vec<f64> = (0..count)
                .flat_map(|i| {
                    let t = if count > 1 { i as f64 / (count - 1) as f64 } else { 0.5 };
                    (0..dim).map(move |d| if d == key.sweep_dim % dim { t } else { 0.5 })
                })
                .collect();
            (split(gan.infer_with_noise(&pose, &noise).unwrap_or_default()), None)
        }
    }
}

/// Each sample polished by a few Levenberg–Marquardt steps from where the GAN put it.
fn refine(chain: &Chain, target: &Isometry3<f64>, mask: GoalMask, samples: Vec<Solution>) -> Vec<Solution> {
    let mut polish = NumericSolver::new(chain.clone());
    (polish.max_restarts, polish.max_iterations) = (0, 12);
    samples
        .into_iter()
        .map(|s| {
            let request = SolveRequest {
                mask,
                seed: Some(s.joints.clone()),
                budget: Duration::from_millis(5),
                ..SolveRequest::new(*target)
            };
            polish.solve(&request).solutions.into_iter().find(Solution::is_finite).unwrap_or(s)
        })
        .collect()
}

fn collect_overlay(mut overlay: ResMut<OverlaySlot>, studio: Res<StudioRobot>, mut ghosts: ResMut<Ghosts>) {
    let Some((_, output)) = overlay.slot.poll() else { return };
    if output.key.robot != studio.robot.name {
        return;
    }
    let chain = &studio.robot.chain;
    let mut points = vec![Point3::origin(); chain.dof() + 1];
    *ghosts = Ghosts {
        ghosts: output
            .solutions
            .into_iter()
            .map(|s| {
                chain.fk_points(&s.joints, &mut points);
                Ghost {
                    points: points.iter().map(|p| to_vec3(&p.coords)).collect(),
                    position_error_mm: s.position_error_mm,
                    joints: s.joints,
                }
            })
            .collect(),
        asked: if output.key.mode == OverlayMode::Off { 0 } else { output.key.count },
        limit: output.limit,
        key: Some(output.key),
    };
}

/// With "animate", the drawn arm walks back and forth through the ghosts (the arm's state stays the answer).
fn animate_along_ghosts(
    settings: Res<NullspaceSettings>,
    time: Res<Time>,
    ghosts: Res<Ghosts>,
    mut shown: ResMut<ShownPose>,
) {
    if !settings.animate || settings.mode == OverlayMode::Off || ghosts.ghosts.len() < 2 {
        if shown.0.is_some() {
            shown.0 = None;
        }
        return;
    }
    let all = &ghosts.ghosts;
    // Ping-pong over the ghosts in order, one full sweep every 4 s.
    let phase = (time.elapsed_secs() / 4.0).fract() * 2.0;
    let t = if phase < 1.0 { phase } else { 2.0 - phase };
    let index = ((all.len() - 1) as f32 * t).round() as usize;
    if shown.0.as_ref() != Some(&all[index].joints) {
        shown.0 = Some(all[index].joints.clone());
    }
}

/// Error colour: green at 0, amber at 10 mm, red from 20 mm.
pub fn error_color(mm: f64, alpha: f32) -> Color {
    let t = (mm / 20.0).clamp(0.0, 1.0) as f32;
    Color::srgba(0.25 + 0.7 * t, 0.85 - 0.6 * t, 0.35 - 0.15 * t, alpha)
}

/// Elbow (middle joint) and wrist (the joint before the last two) markers.
pub const ELBOW_COLOR: Color = Color::srgba(1.0, 0.85, 0.2, 0.9);
pub const WRIST_COLOR: Color = Color::srgba(0.3, 0.8, 1.0, 0.9);

fn style_ghosts(settings: Res<NullspaceSettings>, mut store: ResMut<GizmoConfigStore>) {
    if !settings.is_changed() {
        return;
    }
    let (config, _) = store.config_mut::<GhostGizmos>();
    config.line.width = settings.line_width;
    config.depth_bias = if settings.in_front { -1.0 } else { 0.0 };
}

fn draw_ghosts(
    mut gizmos: Gizmos<GhostGizmos>,
    ghosts: Res<Ghosts>,
    settings: Res<NullspaceSettings>,
    frame: Single<&GlobalTransform, With<RobotFrame>>,
) {
    if settings.mode == OverlayMode::Off {
        return;
    }
    let to_world = frame.affine();
    // Fainter as there are more of them, never below a visible floor.
    let alpha = (8.0 / (ghosts.ghosts.len() as f32).sqrt()).clamp(0.35, 0.9);
    for ghost in &ghosts.ghosts {
        let world: Vec<Vec3> = ghost.points.iter().map(|p| to_world.transform_point3(*p)).collect();
        if settings.style.lines() {
            gizmos.linestrip(world.iter().copied(), error_color(ghost.position_error_mm, alpha));
        }
        let n = world.len();
        for (i, color) in [(n / 2, ELBOW_COLOR), (n.saturating_sub(3), WRIST_COLOR)] {
            if let Some(p) = world.get(i) {
                gizmos.sphere(Isometry3d::from_translation(*p), 0.008, color);
            }
        }
    }
}
