//! Headless studio tests: the real plugins through their own `build()`
//! ([`CorePlugins`]), `MinimalPlugins` underneath, no window and no renderer.
//! Each drives the app as a user would: messages in, frames, state out.

use std::time::{Duration, Instant};

use bevy::ecs::system::RunSystemOnce;
use bevy::prelude::*;
use ik_studio::solvers::Solution;
use nalgebra::{Isometry3, Translation3};

use super::ghost_meshes::GhostPart;
use super::nullspace::{GhostStyle, Ghosts, NullspaceSettings, OverlayMode, overlay_settled};
use super::urdf_visuals::VisualPart;
use super::robot::{ArmState, LinkVisual, RobotChoice, RobotLoads, SelectRobot, SetArm, StudioRobot};
use super::script::ReportParams;
use super::side_by_side::SideBySide;
use super::solve::{MainSlot, ModelLoads, Motion, Reach, ShownState, SolveStatus, SolverChoice};
use super::target::{SetTarget, Target, TargetOrigin};
use super::trajectory::Trajectory;
use super::{CorePlugins, StudioOptions};

fn headless(robot: &str) -> App {
    headless_with(StudioOptions { robot: RobotChoice::Builtin(robot.into()), ..default() })
}

fn headless_with(options: StudioOptions) -> App {
    let mut app = App::new();
    app.add_plugins((MinimalPlugins, bevy::asset::AssetPlugin::default()))
        .init_asset::<Mesh>()
        .init_asset::<StandardMaterial>()
        .add_plugins(CorePlugins { options });
    app.update();
    app
}

fn robot(app: &App) -> StudioRobot {
    app.world().resource::<StudioRobot>().clone()
}

fn target(app: &App) -> Isometry3<f64> {
    app.world().resource::<Target>().pose
}

fn arm(app: &App) -> Vec<f64> {
    app.world().resource::<ArmState>().q.clone()
}

fn shown(app: &App) -> ShownState {
    ShownState::of(app.world().resource::<SolveStatus>(), &target(app))
}

/// Frames until `done` holds (sleeping a little between them: the work is on other threads).
fn run_until(app: &mut App, what: &str, mut done: impl FnMut(&mut App) -> bool) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(60) {
        app.update();
        if done(app) {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("timed out waiting for {what}");
}

/// Until the arm answers the current target and the overlay (if any) is computed for it.
fn settle(app: &mut App) {
    run_until(app, "the solve and the overlay", |app| {
        let world = app.world();
        let pose = world.resource::<Target>().pose;
        let answered = world.resource::<SolveStatus>().answers(&pose) && world.resource::<MainSlot>().0.is_idle();
        answered && overlay_settled(world)
    });
}

fn set_target(app: &mut App, pose: Isometry3<f64>, origin: TargetOrigin) {
    app.world_mut().write_message(SetTarget { pose, origin });
}

/// The user places the arm (as the joint sliders do).
fn place_arm(app: &mut App, q: &[f64]) {
    let pose = robot(app).robot.chain.fk_unchecked(q);
    app.world_mut().write_message(SetArm(q.to_vec()));
    set_target(app, pose, TargetOrigin::Joints);
    settle(app);
}

const NICOL_Q: [f64; 8] = [1.0, 0.3, -0.6, 0.4, 0.3, 0.2, 0.1, -0.1];

#[test]
fn an_unreachable_target_stays_where_it_was_set() {
    let mut app = headless("nicol-right");
    place_arm(&mut app, &NICOL_Q);
    let before = arm(&app);
    // 1.6 m out along x: far beyond the arm.
    let far = Isometry3::from_parts(Translation3::new(1.6, -0.4, 1.2), target(&app).rotation);
    set_target(&mut app, far, TargetOrigin::Entry);
    settle(&mut app);
    assert_eq!(target(&app), far, "the target is the user's");
    assert_eq!(shown(&app), ShownState::Unreachable);
    let status = app.world().resource::<SolveStatus>().clone();
    let answer = status.answer.expect("an answer");
    assert_eq!(answer.reach, Reach::Unreachable);
    assert!(answer.confirmed_mm.unwrap() > 100.0, "numeric IK confirmed: {answer:?}");
    assert_ne!(arm(&app), before, "the arm shows its best reach");
    // Frames go by, the arm stays at its best reach, and nothing moves the target back.
    for _ in 0..50 {
        app.update();
    }
    assert_eq!(target(&app), far);
    assert_eq!(shown(&app), ShownState::Unreachable);
    // The report says the same.
    let report = app.world_mut().run_system_once(|p: ReportParams| p.report()).unwrap();
    assert_eq!(report.state, "unreachable");
    assert_eq!(report.target[..3], [1.6, -0.4, 1.2]);
    assert!(report.error_mm > 100.0);
}

#[test]
fn self_motion_ghosts_are_recomputed_for_the_new_target() {
    let mut app = headless("nicol-right");
    place_arm(&mut app, &NICOL_Q);
    {
        let mut settings = app.world_mut().resource_mut::<NullspaceSettings>();
        (settings.mode, settings.count) = (OverlayMode::SelfMotion, 40);
    }
    settle(&mut app);
    let first = app.world().resource::<Ghosts>().ghosts.len();
    assert!(first > 1, "ghosts for the first target");

    // "Random target": a reachable pose elsewhere; the ghosts must follow the new solve.
    let chain = robot(&app).robot.chain.clone();
    let goal = chain.fk_unchecked(&[1.2, 0.4, -0.5, 0.5, 0.2, 0.1, 0.0, 0.1]);
    set_target(&mut app, goal, TargetOrigin::Random);
    settle(&mut app);
    assert_eq!(shown(&app), ShownState::Solved);
    let ghosts = app.world().resource::<Ghosts>().clone();
    assert_eq!(ghosts.target(), Some(&goal));
    assert!(!ghosts.ghosts.is_empty());
    let mean = ghosts.mean_error_mm().unwrap();
    assert!(mean < 1.0, "mean error {mean} mm against the new target");
    for ghost in &ghosts.ghosts {
        let tip = chain.fk_unchecked(&ghost.joints);
        assert!((tip.translation.vector - goal.translation.vector).norm() < 1e-3);
    }
    // Fewer than asked only with a reason the panel shows.
    assert!(ghosts.ghosts.len() == ghosts.asked || ghosts.limit.is_some(), "{:?}", ghosts.limit);
    // The report carries the overlay.
    let report = app.world_mut().run_system_once(|p: ReportParams| p.report()).unwrap();
    assert_eq!(report.overlay.mode, "self-motion");
    assert_eq!(report.overlay.ghosts, ghosts.ghosts.len());
}

#[test]
fn self_motion_says_why_a_four_joint_arm_has_none() {
    let mut app = headless("omx");
    app.world_mut().resource_mut::<NullspaceSettings>().mode = OverlayMode::SelfMotion;
    let home = target(&app);
    set_target(&mut app, home, TargetOrigin::Entry);
    settle(&mut app);
    let ghosts = app.world().resource::<Ghosts>();
    assert!(ghosts.ghosts.is_empty());
    assert!(ghosts.limit.as_deref().is_some_and(|l| l.contains("4-joint")), "{:?}", ghosts.limit);
}

#[test]
fn a_drag_of_small_steps_moves_the_joints_smoothly() {
    let mut app = headless("nicol-right");
    let chain = robot(&app).robot.chain.clone();
    let q0 = NICOL_Q.to_vec();
    let q1 = vec![1.3, 0.1, -0.3, 0.8, 0.0, 0.5, 0.3, 0.2];
    place_arm(&mut app, &q0);
    // A reachable path: the tip of a straight joint-space path, in 80 small drag steps.
    let steps = 80;
    let mut previous = arm(&app);
    let mut largest: f64 = 0.0;
    let mut restarts = 0;
    for k in 1..=steps {
        let t = k as f64 / steps as f64;
        let q: Vec<f64> = q0.iter().zip(&q1).map(|(a, b)| a + (b - a) * t).collect();
        set_target(&mut app, chain.fk_unchecked(&q), TargetOrigin::Drag);
        settle(&mut app);
        assert_eq!(shown(&app), ShownState::Solved, "step {k}");
        let now = arm(&app);
        let delta = now.iter().zip(&previous).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
        largest = largest.max(delta);
        let answer = app.world().resource::<SolveStatus>().answer.clone().unwrap();
        if matches!(answer.motion, Motion::Restarted { .. }) {
            restarts += 1;
        }
        previous = now;
    }
    let step_in_joint_space = q0.iter().zip(&q1).map(|(a, b)| (b - a).abs()).fold(0.0, f64::max) / steps as f64;
    eprintln!(
        "largest joint step {largest:.4} rad (the path itself moves {step_in_joint_space:.4}); restarts {restarts}"
    );
    assert!(largest < 0.1, "a joint jumped {largest} rad between consecutive solves");
    assert_eq!(restarts, 0, "no restart on a reachable path of small steps");
}

#[test]
fn switching_solver_solves_the_same_target_again() {
    let mut app = headless("nicol-right");
    place_arm(&mut app, &NICOL_Q);
    let chain = robot(&app).robot.chain.clone();
    let goal = chain.fk_unchecked(&[1.2, 0.4, -0.5, 0.5, 0.2, 0.1, 0.0, 0.1]);
    set_target(&mut app, goal, TargetOrigin::Entry);
    settle(&mut app);
    assert_eq!(app.world().resource::<SolveStatus>().answer.as_ref().unwrap().solver, "numeric");

    // The networks load in the background; then the MLP is picked.
    run_until(&mut app, "the shipped networks", |app| !app.world().resource::<ModelLoads>().busy());
    let requested = app.world().resource::<SolveStatus>().requested;
    assert!(app.world_mut().resource_mut::<SolverChoice>().select("cycleik-mlp"), "the shipped MLP is offered");
    settle(&mut app);
    let status = app.world().resource::<SolveStatus>().clone();
    assert!(status.requested > requested, "a new request for the same target");
    let answer = status.answer.unwrap();
    assert_eq!(answer.solver, "cycleik-mlp");
    assert_eq!(answer.target, goal);
    assert_eq!(target(&app), goal);
    // A network's miss on a reachable target is approximate, never unreachable.
    assert_ne!(answer.reach, Reach::Unreachable, "{answer:?}");
    if answer.reach == Reach::Approximate {
        assert_eq!(shown(&app), ShownState::Approximate);
        assert!(answer.confirmed_mm.unwrap() < 0.1, "numeric IK reaches it");
    }
    // And the GA, too.
    assert!(app.world_mut().resource_mut::<SolverChoice>().select("ga"));
    settle(&mut app);
    assert_eq!(app.world().resource::<SolveStatus>().answer.as_ref().unwrap().solver, "ga");
}

#[test]
fn switching_robot_loads_in_the_background_and_each_model_once() {
    let mut app = headless("nicol-right");
    run_until(&mut app, "nicol's networks", |app| !app.world().resource::<ModelLoads>().busy());
    assert!(app.world().resource::<SolverChoice>().gan().is_some(), "the overlay's GAN comes from the solver list");
    let loaded = app.world().resource::<ModelLoads>().loaded;
    let networks = app.world().resource::<SolverChoice>().models.len();
    assert_eq!(loaded, networks, "each shipped network loaded once");

    app.world_mut().write_message(SelectRobot(RobotChoice::Builtin("omx".into())));
    let mut slowest = Duration::ZERO;
    run_until(&mut app, "omx on stage with its networks", |app| {
        let start = Instant::now();
        app.update();
        slowest = slowest.max(start.elapsed());
        let world = app.world();
        world.resource::<StudioRobot>().robot.name == "omx"
            && world.resource::<RobotLoads>().loading().is_none()
            && !world.resource::<ModelLoads>().busy()
    });
    eprintln!("slowest frame while switching robot: {:.1} ms", slowest.as_secs_f64() * 1000.0);
    assert!(slowest < Duration::from_millis(250), "a frame waited {slowest:?}");
    settle(&mut app);
    let studio = robot(&app);
    assert_eq!(arm(&app).len(), 4);
    let tip = studio.robot.chain.fk_unchecked(&arm(&app));
    assert!((tip.translation.vector - target(&app).translation.vector).norm() < 1e-9, "target at the home tip");
    assert_eq!(shown(&app), ShownState::Placed);
    let links = app.world_mut().query::<&LinkVisual>().iter(app.world()).count();
    assert_eq!(links, studio.robot.tree.links.len());
    let loads = app.world().resource::<ModelLoads>();
    assert_eq!(loads.loaded - loaded, app.world().resource::<SolverChoice>().models.len());

    // A bad URDF is refused with a warning; the robot on stage stays.
    let bad = RobotChoice::Urdf { path: "/no/such.urdf".into(), base: "a".into(), tip: "b".into() };
    app.world_mut().write_message(SelectRobot(bad));
    run_until(&mut app, "the refusal", |app| {
        app.world().resource::<StudioRobot>().warnings.iter().any(|w| w.contains("cannot open"))
    });
    assert_eq!(robot(&app).robot.name, "omx");
}

#[test]
fn links_follow_the_arm_state() {
    let mut app = headless("omx");
    let studio = robot(&app);
    let q = vec![0.4, -0.3, 0.5, 0.2];
    place_arm(&mut app, &q);
    let tree = &studio.robot.tree;
    let tip = tree.link_index("end_effector_link").unwrap();
    let mut links = app.world_mut().query::<(&LinkVisual, &Transform)>();
    let (_, transform) = links.iter(app.world()).find(|(l, _)| l.link == tip).unwrap();
    let expected = studio.robot.chain.fk(&q).unwrap();
    let got = super::convert::to_isometry(transform);
    assert!((got.translation.vector - expected.translation.vector).norm() < 1e-6);
    assert_eq!(shown(&app), ShownState::Placed);
}

#[test]
fn newest_target_wins_and_at_most_one_solve_runs() {
    let mut app = headless("omx");
    let chain = robot(&app).robot.chain.clone();
    let mut last = None;
    for frame in 0..10 {
        for k in 0..20 {
            let q = [0.01 * (frame * 20 + k) as f64, 0.2, -0.3, 0.4];
            let pose = chain.fk_unchecked(&q);
            last = Some(pose);
            set_target(&mut app, pose, TargetOrigin::Drag);
        }
        app.update();
        let status = app.world().resource::<SolveStatus>();
        assert!(status.started - status.finished <= 1, "one solve in flight");
        assert!(status.requested - status.started - status.dropped <= 1, "one waiting at most");
    }
    settle(&mut app);
    let status = app.world().resource::<SolveStatus>().clone();
    assert_eq!(status.requested, 10, "one target move per frame: the newest");
    assert_eq!(target(&app), last.unwrap());
    let reached = chain.fk_unchecked(&arm(&app));
    assert!((reached.translation.vector - last.unwrap().translation.vector).norm() < 1e-3);
    assert_eq!(shown(&app), ShownState::Solved);
}

#[test]
fn side_by_side_solvers_answer_with_one_solve_in_flight_each() {
    let mut app = headless("nicol-right");
    let mid = robot(&app).robot.chain.mid_configuration();
    place_arm(&mut app, &mid);
    for entry in &mut app.world_mut().resource_mut::<SideBySide>().entries {
        entry.enabled = matches!(entry.solver.name(), "numeric" | "ga");
    }
    let chain = robot(&app).robot.chain.clone();
    for k in 0..30 {
        let mut q = NICOL_Q.to_vec();
        q[0] += 0.002 * k as f64;
        set_target(&mut app, chain.fk_unchecked(&q), TargetOrigin::Drag);
        app.update();
        assert!(app.world().resource::<SideBySide>().running() <= 2, "one solve in flight per solver");
    }
    run_until(&mut app, "the side-by-side answers", |app| {
        let set = app.world().resource::<SideBySide>();
        set.running() == 0 && set.entries.iter().filter(|e| e.enabled).all(|e| e.last.is_some())
    });
    let set = app.world().resource::<SideBySide>();
    for entry in set.entries.iter().filter(|e| e.enabled) {
        let best = entry.last.as_ref().and_then(|r| r.best()).expect("an answer");
        assert!(best.position_error_mm < 10.0, "{}: {best:?}", entry.solver.name());
    }
}

#[test]
fn trajectory_errors_carry_their_request_t_and_stop_at_the_end() {
    let mut app = headless("nicol-right");
    place_arm(&mut app, &NICOL_Q);
    let chain = robot(&app).robot.chain.clone();
    let (pa, pb) = (chain.fk_unchecked(&NICOL_Q), chain.fk_unchecked(&[1.2, 0.4, -0.5, 0.5, 0.2, 0.1, 0.0, 0.1]));
    {
        let mut path = app.world_mut().resource_mut::<Trajectory>();
        path.waypoints = vec![pa, pb];
        path.duration = 0.3;
        path.playing = true;
    }
    run_until(&mut app, "the end of playback", |app| !app.world().resource::<Trajectory>().playing);
    settle(&mut app);
    let errors = app.world().resource::<Trajectory>().errors.clone();
    assert!(errors.len() >= 2, "{errors:?}");
    assert!(errors.windows(2).all(|w| w[0][0] < w[1][0]), "t increases: {errors:?}");
    assert!(errors.iter().all(|[t, e]| (0.0..=1.0).contains(t) && *e < 10.0));
    assert_eq!(target(&app), pb, "the target ends on the last waypoint");
    // After the end, other moves add nothing to the plot.
    set_target(&mut app, pa, TargetOrigin::Drag);
    settle(&mut app);
    assert_eq!(app.world().resource::<Trajectory>().errors.len(), errors.len());
}

#[test]
fn scripted_target_and_solver_and_the_report() {
    let goal_q = [1.2, 0.4, -0.5, 0.5, 0.2, 0.1, 0.0, 0.1];
    let robot_model = RobotChoice::Builtin("nicol-right".into()).load().unwrap();
    let goal = robot_model.chain.fk_unchecked(&goal_q);
    let mut app = headless_with(StudioOptions {
        robot: RobotChoice::Builtin("nicol-right".into()),
        target: Some(goal),
        solver: Some("cycleik-mlp+numeric".into()),
        overlay: Some((OverlayMode::GanSamples, 50)),
        ..default()
    });
    run_until(&mut app, "the wanted solver", |app| {
        app.world().resource::<SolverChoice>().current().name() == "cycleik-mlp+numeric"
    });
    settle(&mut app);
    let report = app.world_mut().run_system_once(|p: ReportParams| p.report()).unwrap();
    assert_eq!(report.solver, "cycleik-mlp+numeric");
    assert_eq!(report.state, "solved");
    assert!(report.error_mm < 0.1);
    let wanted = ik_studio::kinematics::Pose::from_isometry(&goal).to_array();
    assert_eq!(report.target, wanted);
    assert_eq!(report.joints.len(), 8);
    assert_eq!(report.overlay.mode, "gan-samples");
    assert_eq!(report.overlay.ghosts, 50);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.json");
    super::script::write_report(&path, &report).unwrap();
    let json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    for key in ["target", "reached", "state", "solver", "error_mm", "error_deg", "joints", "overlay"] {
        assert!(json.get(key).is_some(), "{key} in {json}");
    }
    assert_eq!(json["target"].as_array().unwrap().len(), 7);
    assert_eq!(json["reached"].as_array().unwrap().len(), 7);
}

#[test]
fn refined_gan_samples_lie_on_the_target() {
    let mut app = headless("nicol-right");
    run_until(&mut app, "the GAN", |app| app.world().resource::<SolverChoice>().gan().is_some());
    place_arm(&mut app, &NICOL_Q);
    {
        let mut settings = app.world_mut().resource_mut::<NullspaceSettings>();
        (settings.mode, settings.count, settings.refine) = (OverlayMode::GanSamples, 100, false);
    }
    settle(&mut app);
    let raw = app.world().resource::<Ghosts>().mean_error_mm().unwrap();
    app.world_mut().resource_mut::<NullspaceSettings>().refine = true;
    settle(&mut app);
    let ghosts = app.world().resource::<Ghosts>().clone();
    let refined = ghosts.mean_error_mm().unwrap();
    eprintln!("GAN ghosts: mean error {raw:.2} mm raw, {refined:.3} mm refined");
    assert_eq!(ghosts.ghosts.len(), 100);
    assert!(refined < raw && refined < 1.0, "{raw} → {refined}");
    // Still spread out: not all polished onto one configuration.
    let first = &ghosts.ghosts[0].joints;
    assert!(ghosts.ghosts.iter().any(|g| g.joints.iter().zip(first).any(|(a, b)| (a - b).abs() > 0.1)));
}

#[test]
fn a_joint_on_its_limit_does_not_move_the_target() {
    // A solution exactly on a joint limit (or a network's just beyond it) must
    // not turn into a joint edit: the target stays the user's.
    let mut app = headless("omx");
    let chain = robot(&app).robot.chain.clone();
    let mut q = chain.mid_configuration();
    q[0] = chain.joints[0].limits.upper;
    let goal = chain.fk_unchecked(&q);
    set_target(&mut app, goal, TargetOrigin::Entry);
    settle(&mut app);
    for _ in 0..20 {
        app.update();
    }
    assert_eq!(target(&app), goal);
    let answer = app.world().resource::<SolveStatus>().answer.clone().unwrap();
    let Solution { position_error_mm, .. } = answer.solution;
    assert!(position_error_mm < 0.1);
}

#[test]
fn training_prepares_its_data_in_the_background_and_the_model_joins_the_solvers() {
    use super::train_panel::{TrainCommand, TrainForm, TrainSession};
    let mut app = headless("omx");
    run_until(&mut app, "omx's networks", |app| !app.world().resource::<ModelLoads>().busy());
    let dir = tempfile::tempdir().unwrap();
    {
        let mut form = app.world_mut().resource_mut::<TrainForm>();
        form.model = ik_studio::models::ModelKind::IknetOriginal;
        (form.samples, form.epochs, form.max_steps_per_epoch) = (2_000, 2, Some(10));
        form.out = dir.path().to_path_buf();
    }
    app.world_mut().write_message(TrainCommand::Start);
    app.update();
    assert!(app.world().resource::<TrainSession>().running(), "preparing counts as running");
    run_until(&mut app, "the training run", |app| !app.world().resource::<TrainSession>().running());
    let session = app.world().resource::<TrainSession>();
    assert!(session.status.starts_with("finished"), "{}", session.status);
    assert_eq!(session.validation_mm.len(), 2);
    assert!(session.checkpoint.as_ref().is_some_and(|c| c.join("card.json").is_file()));
    run_until(&mut app, "the trained model in the solver list", |app| {
        app.world().resource::<SolverChoice>().solvers.iter().any(|s| s.name() == "iknet-original (trained 1)")
    });
}

#[test]
fn the_compare_window_evaluates_in_the_background() {
    use super::evaluate_panel::{EvaluateState, RunEvaluation};
    let mut app = headless("omx");
    {
        let mut state = app.world_mut().resource_mut::<EvaluateState>();
        state.picked = vec!["numeric".into(), "ga".into()];
        state.poses = 20;
    }
    app.world_mut().write_message(RunEvaluation);
    app.update();
    assert!(!app.world().resource::<EvaluateState>().status.is_empty(), "evaluating…");
    run_until(&mut app, "the evaluation", |app| app.world().resource::<EvaluateState>().reports.len() == 2);
    let state = app.world().resource::<EvaluateState>();
    let names: Vec<&str> = state.reports.iter().map(|r| r.solver.as_str()).collect();
    assert_eq!(names, ["numeric", "ga"]);
    assert!(state.reports.iter().all(|r| r.poses == 20 && r.per_pose.len() == 20));
}

fn fixture_arm(file: &str) -> RobotChoice {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/visuals").join(file);
    RobotChoice::Urdf { path, base: "base_link".into(), tip: "tool0".into() }
}

/// Frames until the robot's visuals are decoded and attached; the number of drawn shapes.
fn visuals_on_stage(app: &mut App) -> usize {
    use super::urdf_visuals::{RobotVisuals, VisualPart};
    run_until(app, "the decoded visuals", |app| !app.world().resource::<RobotVisuals>().loading());
    app.update();
    app.world_mut().query::<&VisualPart>().iter(app.world()).count()
}

#[test]
fn mesh_visuals_decode_in_the_background_and_attach_to_the_links() {
    use super::urdf_visuals::RobotVisuals;
    let mut app = headless_with(StudioOptions { robot: fixture_arm("arm3.urdf"), ..default() });
    // STL base, one-material DAE, two-material DAE, OBJ.
    assert_eq!(visuals_on_stage(&mut app), 5);
    let report = app.world().resource::<RobotVisuals>().report.clone().unwrap();
    assert_eq!(report.summary(), "visuals: 4 drawn, 0 from fallbacks, 0 missing");
    assert_eq!(app.world_mut().query::<&LinkVisual>().iter(app.world()).count(), 5);

    // The same arm without its mesh files: every link still draws something.
    app.world_mut().write_message(SelectRobot(fixture_arm("arm3_no_meshes.urdf")));
    run_until(&mut app, "the mesh-less arm", |app| {
        app.world().resource::<StudioRobot>().robot.tree.name == "arm3_no_meshes"
    });
    assert_eq!(visuals_on_stage(&mut app), 4, "collision mesh, collision box, two skeleton bones");
    let report = app.world().resource::<RobotVisuals>().report.clone().unwrap();
    assert_eq!(report.summary(), "visuals: 0 drawn, 4 from fallbacks, 4 missing");
    let title = super::panels::notice_title(&report);
    assert_eq!(title, "4 visuals missing: drawn as collision mesh, collision primitives, skeleton");
}

#[test]
fn the_builtin_robots_draw_all_their_visuals() {
    use super::urdf_visuals::RobotVisuals;
    for name in ["omx", "nicol-right"] {
        let mut app = headless(name);
        assert!(visuals_on_stage(&mut app) > 0, "{name}");
        let report = app.world().resource::<RobotVisuals>().report.clone().unwrap();
        assert!(report.drawn > 0 && report.missing.is_empty() && !report.skeleton_only, "{name}: {}", report.summary());
    }
}

/// The Tune tab's form set for a quick IKNet study of OMX in `out`.
fn quick_study(app: &mut App, out: &std::path::Path, trials: usize, epochs: usize) {
    let mut form = app.world_mut().resource_mut::<super::tune_panel::TuneForm>();
    form.model = ik_studio::models::ModelKind::IknetOriginal;
    (form.samples, form.trials, form.epochs, form.max_steps_per_epoch) = (1_500, trials, epochs, Some(4));
    form.out = out.to_path_buf();
}

fn tune_session(app: &App) -> &super::tune_panel::TuneSession {
    app.world().resource::<super::tune_panel::TuneSession>()
}

#[test]
fn a_study_from_the_tune_tab_fills_the_trial_table_and_its_best_model_joins_the_solvers() {
    use super::tune_panel::{RowState, TuneCommand};
    let mut app = headless("omx");
    run_until(&mut app, "omx's networks", |app| !app.world().resource::<ModelLoads>().busy());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("study");
    quick_study(&mut app, &out, 3, 1);
    app.world_mut().write_message(TuneCommand::Start);
    app.update();
    assert!(tune_session(&app).running(), "preparing counts as running");
    run_until(&mut app, "the study", |app| !tune_session(app).running());
    let session = tune_session(&app);
    assert!(session.status.starts_with("finished: 3 trials"), "{}", session.status);
    let numbers: Vec<usize> = session.trials.iter().map(|r| r.number).collect();
    assert_eq!(numbers, [0, 1, 2]);
    for row in &session.trials {
        assert_eq!(row.state, RowState::Done(ik_studio::tune::TrialState::Complete), "{row:?}");
        assert!(row.value.is_some_and(|v| v > 0.0) && row.epochs == 1 && !row.params.is_empty(), "{row:?}");
    }
    assert_eq!(session.progress_text().unwrap().split(" · ").next(), Some("3 of 3 trials"));
    let curve = session.best_so_far();
    assert_eq!(curve.len(), 3);
    assert!(curve.windows(2).all(|w| w[1][1] <= w[0][1]), "{curve:?}");
    let best = out.join(ik_studio::tune::study::BEST_DIR);
    assert_eq!(session.best.as_ref(), Some(&best));
    assert!(best.join("card.json").is_file());
    run_until(&mut app, "the best model in the solver list", |app| {
        app.world().resource::<SolverChoice>().solvers.iter().any(|s| s.name() == "iknet-original (trained 1)")
    });
}

#[test]
fn stop_ends_a_study_start_resumes_it_and_bad_input_is_a_status_line() {
    use super::tune_panel::{RowState, TuneCommand, TuneForm};
    let mut app = headless("omx");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("study");
    quick_study(&mut app, &out, 1000, 2);
    app.world_mut().write_message(TuneCommand::Start);
    run_until(&mut app, "two finished trials", |app| tune_session(app).finished_count() >= 2);
    app.world_mut().write_message(TuneCommand::Stop);
    let stopped = Instant::now();
    run_until(&mut app, "the stop", |app| !tune_session(app).running());
    assert!(stopped.elapsed() < Duration::from_secs(10), "the study ended soon after Stop");
    let session = tune_session(&app);
    assert!(session.status.starts_with("stopped after"), "{}", session.status);
    assert!(session.trials.iter().all(|r| r.state != RowState::Running));
    let recorded = session.finished_count();
    eprintln!("{recorded} trials recorded before the stop, {:?} after it", stopped.elapsed());
    assert!((2..1000).contains(&recorded));
    let lines = std::fs::read_to_string(out.join("study.jsonl")).unwrap_or_default().lines().count();
    assert_eq!(lines, recorded, "the table shows what the log holds");

    // Start with the same folder resumes: the earlier trials are in the table, one more runs.
    app.world_mut().resource_mut::<TuneForm>().trials = recorded + 1;
    app.world_mut().write_message(TuneCommand::Start);
    app.update();
    run_until(&mut app, "the resumed study", |app| !tune_session(app).running());
    let session = tune_session(&app);
    assert!(session.status.starts_with("finished"), "{}", session.status);
    assert_eq!(session.trials.len(), recorded + 1);
    assert_eq!(session.trials.iter().filter(|r| r.resumed).count(), recorded);

    // A bad space file and a study folder of another model: one status line each, no panic.
    let space = dir.path().join("space.json");
    std::fs::write(&space, r#"{"no_such_parameter": {"low": 1, "high": 2}}"#).unwrap();
    app.world_mut().resource_mut::<TuneForm>().space = Some(space);
    app.world_mut().write_message(TuneCommand::Start);
    app.update();
    run_until(&mut app, "the refusal", |app| !tune_session(app).running());
    let status = tune_session(&app).status.clone();
    assert!(status.starts_with("cannot start") && status.contains("space.json"), "{status}");
    assert!(!status.contains('\n'));
    {
        let mut form = app.world_mut().resource_mut::<TuneForm>();
        form.space = None;
        form.model = ik_studio::models::ModelKind::CycleikMlp;
    }
    app.world_mut().write_message(TuneCommand::Start);
    app.update();
    run_until(&mut app, "the refusal", |app| !tune_session(app).running());
    let status = tune_session(&app).status.clone();
    assert!(status.starts_with("cannot start") && status.contains("holds a study of iknet-original"), "{status}");
}

/// The visible ghost copies' transforms, in the robot frame.
fn visible_ghost_parts(app: &mut App) -> Vec<Transform> {
    let mut parts = app.world_mut().query_filtered::<(&Transform, &Visibility), With<GhostPart>>();
    parts.iter(app.world()).filter(|(_, v)| **v != Visibility::Hidden).map(|(t, _)| *t).collect()
}

#[test]
fn ghost_arms_are_copies_of_the_moving_links_placed_by_forward_kinematics() {
    let mut app = headless("nicol-right");
    place_arm(&mut app, &NICOL_Q);
    run_until(&mut app, "the arm's meshes", |app| {
        app.world_mut().query_filtered::<(), With<VisualPart>>().iter(app.world()).count() > 0
    });
    {
        let mut settings = app.world_mut().resource_mut::<NullspaceSettings>();
        (settings.mode, settings.count, settings.style) = (OverlayMode::SelfMotion, 12, GhostStyle::Meshes);
    }
    settle(&mut app);
    app.update();
    // What a ghost copies: every drawn part of the links the chain moves, in its link's frame.
    let mut links = app.world_mut().query::<(&LinkVisual, &Children)>();
    let mut parts = app.world_mut().query_filtered::<&Transform, With<VisualPart>>();
    let mut templates: Vec<(usize, Transform)> = Vec::new();
    for (link, children) in links.iter(app.world()).filter(|(l, _)| l.moved) {
        templates.extend(children.iter().filter_map(|c| parts.get(app.world(), c).ok()).map(|t| (link.link, *t)));
    }
    assert!(templates.len() >= 8, "NICOL's arm has a part per moving link at least: {}", templates.len());
    let studio = robot(&app);
    let ghosts = app.world().resource::<Ghosts>().clone();
    assert!(ghosts.ghosts.len() > 1);
    let drawn = visible_ghost_parts(&mut app);
    assert_eq!(drawn.len(), ghosts.ghosts.len() * templates.len(), "one copy of each moving part per ghost");
    for ghost in &ghosts.ghosts {
        let poses = studio.robot.tree.link_poses(&studio.tree_values(&ghost.joints)).unwrap();
        for (link, local) in &templates {
            let want = super::convert::to_transform(&poses[*link]) * *local;
            let nearest = drawn.iter().map(|t| t.translation.distance(want.translation)).fold(f32::MAX, f32::min);
            assert!(nearest < 1e-5, "link {link} of a ghost is not drawn where FK puts it ({nearest} m)");
        }
    }
    // Skeletons only, or the overlay off: no copies drawn.
    app.world_mut().resource_mut::<NullspaceSettings>().style = GhostStyle::Lines;
    app.update();
    assert!(visible_ghost_parts(&mut app).is_empty());
    {
        let mut settings = app.world_mut().resource_mut::<NullspaceSettings>();
        (settings.style, settings.mode) = (GhostStyle::Both, OverlayMode::Off);
    }
    settle(&mut app);
    app.update();
    assert!(visible_ghost_parts(&mut app).is_empty());
}

#[test]
fn ghosts_follow_a_continuous_drag_for_the_pose_the_arm_answers() {
    let mut app = headless("nicol-right");
    place_arm(&mut app, &NICOL_Q);
    {
        let mut settings = app.world_mut().resource_mut::<NullspaceSettings>();
        (settings.mode, settings.count) = (OverlayMode::SelfMotion, 20);
    }
    settle(&mut app);
    let chain = robot(&app).robot.chain.clone();
    let mut last = app.world().resource::<Ghosts>().target().copied();
    let mut updates = 0;
    // A new target every frame, as a drag sends them: solves never settle on the newest one.
    for frame in 0..400 {
        let mut q = NICOL_Q.to_vec();
        q[0] += 0.0005 * frame as f64;
        set_target(&mut app, chain.fk_unchecked(&q), TargetOrigin::Drag);
        app.update();
        std::thread::sleep(Duration::from_millis(1));
        let ghosts = app.world().resource::<Ghosts>();
        if ghosts.target().copied() != last {
            last = ghosts.target().copied();
            updates += 1;
            // Each set answers its own target (the arm's), not a newer one.
            let mean = ghosts.mean_error_mm().unwrap();
            assert!(mean < 1.0, "mean error {mean} mm against the target the ghosts were computed for");
        }
    }
    assert!(updates >= 3, "the ghosts followed the drag {updates} times in 400 frames");
}
