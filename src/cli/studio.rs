//! `ik-studio studio` (and `ik-studio` alone): the visualizer.

use std::path::PathBuf;

use clap::Args;

#[derive(Args, Debug, Default)]
pub struct StudioArgs {
    /// Robot to show first: omx, nicol-right, nicol-left.
    #[arg(long, default_value = "nicol-right", conflicts_with_all = ["urdf", "config"])]
    robot: Option<String>,
    /// Open a URDF instead (with --base and --tip; with --config: replaces its robot_urdf).
    #[arg(long)]
    urdf: Option<PathBuf>,
    /// Open a chain of a CycleIK-style robot config (YAML): its limits, workspace and home_js.
    #[arg(long, value_name = "F.yaml", conflicts_with_all = ["base", "tip"])]
    config: Option<PathBuf>,
    /// The chain of --config (its top-level key); needed when it has several.
    #[arg(long, value_name = "KEY", requires = "config")]
    chain: Option<String>,
    #[arg(long, requires = "urdf")]
    base: Option<String>,
    #[arg(long, requires = "urdf")]
    tip: Option<String>,
    /// Save a screenshot (PNG) shortly before --exit-after-frames.
    #[arg(long, requires = "exit_after_frames")]
    screenshot: Option<PathBuf>,
    /// Quit after this many frames (prints frame-time statistics).
    #[arg(long)]
    exit_after_frames: Option<u32>,
    /// Large UI for lecture halls.
    #[arg(long)]
    presentation: bool,
    /// Sweep the target around a small circle every frame (demo and frame-time benchmark).
    #[arg(long)]
    sweep_target: bool,
    /// Switch to the next built-in robot every 40 frames (frame-time benchmark of loading).
    #[arg(long)]
    cycle_robots: bool,
    /// Start with a nullspace overlay (needs the viewer build).
    #[arg(long, value_enum)]
    overlay: Option<Overlay>,
    /// Ghost arms of the overlay, 1 to 500.
    #[arg(long, default_value_t = 100, value_parser = super::bounds::count(1, super::bounds::MAX_GHOSTS))]
    ghosts: usize,
    /// Refine every GAN sample of the overlay with a few Levenberg–Marquardt steps.
    #[arg(long)]
    refine_ghosts: bool,
    /// How ghost arms are drawn: translucent copies of the arm's links, skeleton lines, or both
    /// (default: arms; skeletons on a software renderer such as llvmpipe, where arms are slow).
    #[arg(long, value_enum)]
    ghost_style: Option<GhostStyleArg>,
    /// Opacity of the solid arm, 0.05 to 1 (default 1; lower it to see the ghosts through it).
    #[arg(long, value_parser = super::bounds::number(0.05, 1.0, false))]
    arm_opacity: Option<f64>,
    /// Open the Train window at start.
    #[arg(long)]
    train_window: bool,
    /// Open the Compare window at start.
    #[arg(long)]
    compare_window: bool,
    /// Open the Train window on its Tune tab (hyper-parameter search) at start.
    #[arg(long)]
    tune_window: bool,
    /// Show every link's frame and name.
    #[arg(long)]
    link_frames: bool,
    /// Set the target at start, as a drag would: x,y,z,qx,qy,qz,qw (metres, base frame).
    #[arg(long, value_delimiter = ',', allow_hyphen_values = true, value_name = "X,Y,Z,QX,QY,QZ,QW")]
    target: Option<Vec<f64>>,
    /// Solver selected at start: numeric, ga, or a shipped model (cycleik-mlp, cycleik-gan+numeric, …).
    /// Default: the robot's Full-workspace network refined by numeric IK where one is shipped
    /// (users drag everywhere), else numeric IK.
    #[arg(long)]
    solver: Option<String>,
    /// Write what the studio shows (target, reached pose, state, errors, joints, overlay) as JSON at exit.
    #[arg(long)]
    report_json: Option<std::path::PathBuf>,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum GhostStyleArg {
    Arms,
    Skeletons,
    Both,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum Overlay {
    GanSamples,
    GanSweep,
    SelfMotion,
}

#[cfg(feature = "viewer")]
pub fn run(args: &StudioArgs) -> anyhow::Result<()> {
    use crate::app::nullspace::{GhostStyle, OverlayMode};
    use crate::app::{RobotChoice, StudioOptions, run};
    anyhow::ensure!(args.chain.is_none() || args.config.is_some(), "--chain needs --config F.yaml");
    let robot = match (&args.config, &args.urdf, &args.base, &args.tip, &args.robot) {
        (Some(path), urdf, ..) => {
            RobotChoice::Config { path: path.clone(), chain: args.chain.clone(), urdf: urdf.clone() }
        }
        (None, Some(path), Some(base), Some(tip), _) => {
            RobotChoice::Urdf { path: path.clone(), base: base.clone(), tip: tip.clone() }
        }
        (None, Some(_), ..) => anyhow::bail!("--urdf needs --base LINK and --tip LINK (or --config F.yaml)"),
        (.., Some(name)) => RobotChoice::Builtin(name.clone()),
        _ => RobotChoice::Builtin("nicol-right".into()),
    };
    // Refuse a bad robot, or no display, here, with a one-line error, before a window opens.
    let loaded = robot.load()?;
    for note in &loaded.notes {
        eprintln!("note: {note}");
    }
    check_display()?;
    // A bad target or solver too.
    let target = match &args.target {
        Some(values) => Some(
            ik_studio::kinematics::Pose::from_slice(values)
                .ok_or_else(|| {
                    anyhow::anyhow!("--target needs 7 finite numbers x,y,z,qx,qy,qz,qw with a non-zero quaternion")
                })?
                .to_isometry(),
        ),
        None => None,
    };
    if let Some(name) = &args.solver {
        let offered = studio_solvers(&loaded);
        anyhow::ensure!(
            offered.contains(name),
            "solver '{name}' is not offered for {}; offered: {}",
            loaded.name,
            offered.join(", ")
        );
    }
    run(StudioOptions {
        robot,
        screenshot: args.screenshot.clone(),
        exit_after_frames: args.exit_after_frames,
        ui_scale: if args.presentation { 1.6 } else { 1.0 },
        sweep_target: args.sweep_target,
        cycle_robots: args.cycle_robots,
        overlay: args.overlay.map(|o| {
            let mode = match o {
                Overlay::GanSamples => OverlayMode::GanSamples,
                Overlay::GanSweep => OverlayMode::GanSweep,
                Overlay::SelfMotion => OverlayMode::SelfMotion,
            };
            (mode, args.ghosts)
        }),
        refine_ghosts: args.refine_ghosts,
        ghost_style: args.ghost_style.map(|style| match style {
            GhostStyleArg::Arms => GhostStyle::Meshes,
            GhostStyleArg::Skeletons => GhostStyle::Lines,
            GhostStyleArg::Both => GhostStyle::Both,
        }),
        arm_opacity: args.arm_opacity.unwrap_or(1.0) as f32,
        open_train: args.train_window,
        open_compare: args.compare_window,
        open_tune: args.tune_window,
        link_frames: args.link_frames,
        target,
        solver: args.solver.clone().or_else(|| default_solver(&loaded)),
        report_json: args.report_json.clone(),
    })
}

/// The solvers the studio offers for `robot`: numeric IK, the GA, and every
/// shipped network with its two hybrids.
#[cfg(feature = "viewer")]
fn studio_solvers(robot: &ik_studio::robots::Robot) -> Vec<String> {
    let mut names = vec!["numeric".to_string(), "ga".to_string()];
    for shipped in ik_studio::solvers::shipped_checkpoints(&robot.name) {
        let (kind, label) = (shipped.kind, shipped.label.map(|l| format!(" ({l})")).unwrap_or_default());
        names.extend([format!("{kind}{label}"), format!("{kind}+numeric{label}"), format!("{kind}+ga{label}")]);
    }
    names
}

/// The solver the studio starts with when none is asked for: the shipped
/// Full-workspace model with numeric refinement (exact, and trained where users drag).
#[cfg(feature = "viewer")]
fn default_solver(robot: &ik_studio::robots::Robot) -> Option<String> {
    ik_studio::solvers::shipped_checkpoints(&robot.name)
        .into_iter()
        .find(|s| s.kind == ik_studio::models::ModelKind::CycleikMlp && s.label.as_deref() == Some("full"))
        .map(|s| format!("{}+numeric (full)", s.kind))
}

/// On Linux a window needs an X11 or Wayland display: without one, bevy_winit
/// panics, so say so in one line instead.
#[cfg(feature = "viewer")]
fn check_display() -> anyhow::Result<()> {
    if cfg!(target_os = "linux") {
        let set = |var: &str| std::env::var_os(var).is_some_and(|v| !v.is_empty());
        anyhow::ensure!(
            set("DISPLAY") || set("WAYLAND_DISPLAY"),
            "no display: the studio needs a window (neither DISPLAY nor WAYLAND_DISPLAY is set); \
             every other command works without one"
        );
    }
    Ok(())
}

#[cfg(not(feature = "viewer"))]
pub fn run(_args: &StudioArgs) -> anyhow::Result<()> {
    anyhow::bail!("this build has no visualizer (it was built without the default `viewer` feature)")
}
