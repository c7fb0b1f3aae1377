//! The studio: a Bevy app made of one plugin per capability over the library.
//!
//! Data flows one way, in the order of [`flow::StudioSet`]: UI input →
//! [`target::SetTarget`] → the target's one owner → [`target::TargetMoved`] →
//! [`solve`] ask → background task → [`solve::SolveFinished`] and
//! [`robot::SetArm`] → the arm's one writer → scene and panels. Nothing flows
//! back from the arm to the target: the target is the user's.

mod camera;
pub mod capture;
mod convert;
pub mod evaluate_panel;
mod file_field;
mod ghost_meshes;
pub mod flow;
pub mod jobs;
pub mod nullspace;
mod panels;
mod robot;
pub mod scene;
pub mod script;
mod side_by_side;
mod solve;
mod target;
#[cfg(test)]
mod tests;
pub mod train_panel;
pub mod trajectory;
pub mod tune_panel;
pub mod urdf_visuals;

use std::path::PathBuf;

use bevy::prelude::*;
use bevy::window::WindowResolution;
use bevy_egui::EguiPlugin;

pub use robot::RobotChoice;
use robot::RobotPlugin;
use solve::SolvePlugin;
use target::TargetPlugin;

/// How the studio starts.
#[derive(Debug, Clone, Resource)]
pub struct StudioOptions {
    pub robot: RobotChoice,
    /// Save a screenshot of the window to this file…
    pub screenshot: Option<PathBuf>,
    /// …and quit after this many frames (for scripted runs).
    pub exit_after_frames: Option<u32>,
    /// egui scale (presentation mode uses 1.6).
    pub ui_scale: f32,
    /// Move the target around a small circle every frame (demo / frame-time benchmark).
    pub sweep_target: bool,
    /// Switch to the next built-in robot every 40 frames (frame-time benchmark of loading).
    pub cycle_robots: bool,
    /// Nullspace overlay shown from the start, with this many ghosts.
    pub overlay: Option<(nullspace::OverlayMode, usize)>,
    /// Refine every GAN sample of the overlay with a few LM steps.
    pub refine_ghosts: bool,
    /// How the ghosts are drawn (`None`: arms, or skeletons on a software renderer), and the solid arm's opacity.
    pub ghost_style: Option<nullspace::GhostStyle>,
    pub arm_opacity: f32,
    /// Open the Train and/or Compare windows at start.
    pub open_train: bool,
    pub open_compare: bool,
    /// Open the Train window on its Tune tab at start.
    pub open_tune: bool,
    /// Show link frames and names from the start.
    pub link_frames: bool,
    /// Target set at start, as a drag would set it (`--target`).
    pub target: Option<nalgebra::Isometry3<f64>>,
    /// Solver selected at start (`--solver`), once it is loaded.
    pub solver: Option<String>,
    /// Where to write what the studio shows when it exits (`--report-json`).
    pub report_json: Option<PathBuf>,
}

impl Default for StudioOptions {
    fn default() -> Self {
        Self {
            robot: RobotChoice::Builtin("nicol-right".into()),
            screenshot: None,
            exit_after_frames: None,
            ui_scale: 1.0,
            sweep_target: false,
            cycle_robots: false,
            overlay: None,
            refine_ghosts: false,
            ghost_style: None,
            arm_opacity: 1.0,
            open_train: false,
            open_compare: false,
            open_tune: false,
            link_frames: false,
            target: None,
            solver: None,
            report_json: None,
        }
    }
}

/// Opens the studio window and runs until it is closed.
pub fn run(options: StudioOptions) -> anyhow::Result<()> {
    let mut app = App::new();
    app.add_plugins(DefaultPlugins.set(WindowPlugin {
        primary_window: Some(Window {
            title: "ik-studio".into(),
            resolution: WindowResolution::new(1280, 800),
            ..default()
        }),
        ..default()
    }))
    .add_plugins(EguiPlugin::default())
    .add_plugins(StudioPlugins { options });
    match app.run() {
        AppExit::Success => Ok(()),
        AppExit::Error(code) => anyhow::bail!("the studio exited with status {code}"),
    }
}

/// Every capability of the studio (the window and rendering come from `DefaultPlugins`).
pub struct StudioPlugins {
    pub options: StudioOptions,
}

impl Plugin for StudioPlugins {
    fn build(&self, app: &mut App) {
        app.add_plugins(CorePlugins { options: self.options.clone() }).add_plugins((
            camera::OrbitCameraPlugin,
            target::GizmoPointerPlugin,
            panels::PanelsPlugin,
            capture::CapturePlugin,
        ));
    }
}

/// The capabilities that need no window or input devices: what headless tests
/// build, through the same `build()` the studio runs.
pub struct CorePlugins {
    pub options: StudioOptions,
}

impl Plugin for CorePlugins {
    fn build(&self, app: &mut App) {
        app.insert_resource(self.options.clone()).add_plugins((
            flow::FlowPlugin,
            scene::ScenePlugin,
            RobotPlugin,
            urdf_visuals::VisualsPlugin,
            TargetPlugin,
            SolvePlugin,
            side_by_side::SideBySidePlugin,
            nullspace::NullspacePlugin,
            ghost_meshes::GhostMeshPlugin,
            train_panel::TrainPanelPlugin,
            tune_panel::TunePanelPlugin,
            evaluate_panel::EvaluatePlugin,
            trajectory::TrajectoryPlugin,
            script::ScriptPlugin,
        ));
    }
}
