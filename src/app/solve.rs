//! Background IK for the target the user set. Every target move becomes an
//! [`Ask`]; one studio solve runs at a time on the async compute pool, the
//! newest waiting ask replaces older ones, and the frame never waits.
//!
//! A studio solve is more than one call of the selected solver (see [`studio_solve`]):
//! numeric IK tracks the arm from where it is (nearest solution, restarts only
//! when the local solve fails, and it says so); a miss is checked by numeric IK
//! from several starts, so "approximate" (the solver missed a reachable target)
//! and "unreachable" (nothing reaches it) mean what they say. The target itself
//! is never touched: the arm shows the best reach.
//!
//! The shipped networks are loaded off the main thread, each once; they join
//! the solver list when ready (a trained model too, when the Train window saves it).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bevy::prelude::*;
use ik_studio::kinematics::pose_along;
use ik_studio::models::{LoadedModel, ModelKind};
use ik_studio::robots::Robot;
use ik_studio::solvers::{
    self, GoalMask, NeuralGa, NeuralNumeric, NeuralSolver, NumericSolver, Solution, SolveRequest, SolveResult, Solver,
    Tolerance,
};
use nalgebra::Isometry3;

use super::convert::{RobotFrame, to_transform};
use super::flow::StudioSet;
use super::jobs::{JobSlot, Pool};
use super::robot::{ArmState, SetArm, StudioRobot};
use super::target::{Target, TargetMoved, TargetOrigin};

/// The solvers offered for the robot on stage, and the selected one.
#[derive(Resource, Clone)]
pub struct SolverChoice {
    pub solvers: Vec<Arc<dyn Solver>>,
    pub selected: usize,
    /// The networks loaded for this robot, each once (the GAN overlay takes its generator from here).
    pub models: Vec<Arc<LoadedModel>>,
    /// A solver asked for by name (`--solver`) whose model may still be loading.
    pub wanted: Option<String>,
    /// Numeric IK for this robot: tracking and confirming misses.
    pub numeric: Arc<NumericSolver>,
}

impl SolverChoice {
    /// Numeric IK and the GA: what is ready at once; networks join when loaded.
    fn for_robot(robot: &Robot) -> Self {
        let numeric = Arc::new(NumericSolver::new(robot.chain.clone()));
        let mut solvers: Vec<Arc<dyn Solver>> = vec![numeric.clone()];
        if let Ok(ga) = solvers::build("ga", robot, None) {
            solvers.push(ga);
        }
        Self { solvers, selected: 0, models: Vec::new(), wanted: None, numeric }
    }

    pub fn current(&self) -> &Arc<dyn Solver> {
        &self.solvers[self.selected.min(self.solvers.len() - 1)]
    }

    /// The generator of the robot's shipped CycleIK GAN, once loaded.
    pub fn gan(&self) -> Option<&Arc<LoadedModel>> {
        self.models.iter().find(|m| m.card.model == ModelKind::CycleikGan)
    }

    /// Selects the solver called `name`; false when there is none (yet).
    pub fn select(&mut self, name: &str) -> bool {
        match self.solvers.iter().position(|s| s.name() == name) {
            Some(i) => {
                self.selected = i;
                true
            }
            None => false,
        }
    }

    /// A loaded network and its hybrids join the list (before the GA); the
    /// selection stays on the solver it named.
    fn add_model(&mut self, model: Arc<LoadedModel>, robot: &Robot, label: Option<&str>) {
        let current = self.current().name().to_string();
        let neural = || NeuralSolver::new(model.clone(), robot.chain.clone());
        let family: [Arc<dyn Solver>; 3] =
            [Arc::new(neural()), Arc::new(NeuralNumeric::new(neural())), Arc::new(NeuralGa::new(neural()))];
        let at = self.solvers.iter().position(|s| s.name() == "ga").unwrap_or(self.solvers.len());
        let family = family.into_iter().map(|solver| match label {
            Some(label) => {
                Arc::new(Named { name: format!("{} ({label})", solver.name()), inner: solver }) as Arc<dyn Solver>
            }
            None => solver,
        });
        self.solvers.splice(at..at, family);
        self.models.push(model);
        self.select(&current);
        if let Some(wanted) = self.wanted.clone()
            && self.select(&wanted)
        {
            self.wanted = None;
        }
    }
}

/// A solver under another name (a trained model beside the shipped one of its kind).
struct Named {
    name: String,
    inner: Arc<dyn Solver>,
}

impl Solver for Named {
    fn name(&self) -> &str {
        &self.name
    }

    fn solve(&self, request: &SolveRequest) -> SolveResult {
        self.inner.solve(request)
    }

    fn model(&self) -> Option<&LoadedModel> {
        self.inner.model()
    }
}

/// What the solver is asked for besides the pose.
#[derive(Resource, Debug, Clone, PartialEq)]
pub struct GoalSettings {
    pub mask: GoalMask,
    pub budget: Duration,
}

impl GoalSettings {
    /// The request for `pose`, starting from the arm's configuration `q`.
    pub fn request(&self, pose: Isometry3<f64>, q: &[f64]) -> SolveRequest {
        SolveRequest { mask: self.mask, seed: Some(q.to_vec()), budget: self.budget, ..SolveRequest::new(pose) }
    }

    /// Full pose for arms with 6 or more joints, position only below.
    fn for_robot(robot: &Robot) -> Self {
        let mask = if robot.chain.dof() >= 6 { GoalMask::Full } else { GoalMask::Position };
        Self { mask, budget: Duration::from_millis(30) }
    }
}

/// One solver's queue of plain requests (the side-by-side view).
pub type SolveSlot = JobSlot<SolveRequest, SolveResult>;

/// Starts the slot's waiting request on `solver`.
pub fn launch_solver(slot: &mut SolveSlot, solver: &Arc<dyn Solver>) -> bool {
    let solver = solver.clone();
    slot.launch(Pool::Compute, move |request| solver.solve(&request))
}

/// A solve the studio wants: the target, and the move that asked (none: the
/// solver or the goal changed, the same target is solved again).
#[derive(Debug, Clone)]
pub struct Ask {
    pub target: Isometry3<f64>,
    pub origin: Option<TargetOrigin>,
}

/// How far the answer is from the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Within the request's tolerance.
    Solved,
    /// The solver missed, but numeric IK reaches the target: its error is the solver's.
    Approximate,
    /// Numeric IK from several starts does not reach it either: the arm shows the best reach.
    Unreachable,
}

/// How numeric tracking moved the arm.
#[derive(Debug, Clone, PartialEq)]
pub enum Motion {
    /// A solver other than numeric IK answered as it does.
    Direct,
    /// Descended from the arm's configuration (over this many intermediate targets).
    Tracked { steps: usize },
    /// The local solve failed; restarts found another configuration, the nearest of
    /// those found. `joint` moved most, by `delta` rad.
    Restarted { joint: usize, delta: f64 },
}

/// Joint motion (rad) above which a restart is called a change of IK branch.
pub const BRANCH_CHANGE_RAD: f64 = 0.5;

/// A studio solve's outcome.
#[derive(Debug, Clone)]
pub struct Answer {
    pub solver: String,
    pub target: Isometry3<f64>,
    pub origin: Option<TargetOrigin>,
    /// What the arm shows: the solver's answer, or the best reach when unreachable.
    pub solution: Solution,
    pub reach: Reach,
    pub motion: Motion,
    /// The selected solver's own time.
    pub time: Duration,
    /// With the confirmation of a miss.
    pub total_time: Duration,
    /// Numeric IK's best error (mm) when it was asked to confirm a miss.
    pub confirmed_mm: Option<f64>,
    /// The robot it was solved for (answers for another one are dropped).
    pub robot: String,
}

/// The main queue and the model loads.
#[derive(Resource, Default)]
pub struct MainSlot(pub JobSlot<Ask, Answer>);

/// Networks to load for the robot on stage, off the main thread.
#[derive(Resource, Default)]
pub struct ModelLoads {
    /// Checkpoints waiting, with the label their solvers get (none: shipped).
    queue: Vec<(PathBuf, Option<String>)>,
    slot: JobSlot<(Arc<Robot>, Vec<(PathBuf, Option<String>)>), Vec<ModelLoad>>,
    batches: u64,
    /// Checkpoints being loaded now, and loaded so far.
    pub loading: usize,
    pub loaded: usize,
    pub errors: Vec<String>,
}

impl ModelLoads {
    /// Whether checkpoints wait or load.
    pub fn busy(&self) -> bool {
        !self.queue.is_empty() || !self.slot.is_idle()
    }
}

type ModelLoad = Result<(Arc<LoadedModel>, Option<String>), String>;

/// A checkpoint written by the Train window: its model joins the solver list.
#[derive(Message, Debug, Clone)]
pub struct ModelSaved(pub PathBuf);

/// A finished solve, for the scene and the panels.
#[derive(Message, Debug, Clone)]
pub struct SolveFinished {
    pub answer: Answer,
}

/// What the status line shows.
#[derive(Resource, Debug, Clone)]
pub struct SolveStatus {
    /// The answer the arm shows.
    pub answer: Option<Answer>,
    /// The arm was placed by hand (joints, home, a new robot): at the target by construction.
    pub placed: bool,
    pub requested: u64,
    pub started: u64,
    pub dropped: u64,
    pub finished: u64,
    /// Answers to asks older than this one are dropped (the arm was placed since).
    accept_from: u64,
    /// The newest ask the arm answers (by a solve or by placing it).
    answered_id: u64,
}

/// The studio opens with the arm at its home pose and the target at its tip:
/// placed, so the overlay answers it before anything is solved.
impl Default for SolveStatus {
    fn default() -> Self {
        Self {
            answer: None,
            placed: true,
            requested: 0,
            started: 0,
            dropped: 0,
            finished: 0,
            accept_from: 0,
            answered_id: 0,
        }
    }
}

impl SolveStatus {
    /// Every ask so far is answered or cancelled: no answer to them may land.
    fn forget_asks(&mut self) {
        self.finished = self.started;
        self.accept_from = self.requested + 1;
        self.answered_id = self.requested;
    }

    /// Whether the arm answers `target` and nothing newer waits.
    pub fn answers(&self, target: &Isometry3<f64>) -> bool {
        let settled = self.answered_id >= self.requested;
        settled && (self.placed || self.answer.as_ref().is_some_and(|a| a.target == *target))
    }

    /// The target the arm's configuration answers: `current` once its solve
    /// has landed, else (while newer asks are pending, as in a drag) the target
    /// of the answer shown; `None` while a placed arm waits for its first solve.
    pub fn answered_target(&self, current: &Isometry3<f64>) -> Option<Isometry3<f64>> {
        if self.answers(current) {
            return Some(*current);
        }
        self.answer.as_ref().filter(|_| !self.placed).map(|a| a.target)
    }
}

/// A solve state as the user sees it: RViz colours (green valid, red invalid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShownState {
    Solved,
    Approximate,
    Unreachable,
    Stale,
    /// The user placed the arm (forward kinematics): nothing to solve.
    Placed,
    Idle,
}

impl ShownState {
    pub fn of(status: &SolveStatus, target: &Isometry3<f64>) -> Self {
        if status.placed && status.answers(target) {
            return ShownState::Placed;
        }
        match &status.answer {
            None if status.requested > 0 => ShownState::Stale,
            None => ShownState::Idle,
            Some(_) if !status.answers(target) => ShownState::Stale,
            Some(a) => match a.reach {
                Reach::Solved => ShownState::Solved,
                Reach::Approximate => ShownState::Approximate,
                Reach::Unreachable => ShownState::Unreachable,
            },
        }
    }

    pub fn color(self) -> [u8; 3] {
        match self {
            ShownState::Solved => [60, 200, 90],
            ShownState::Approximate => [235, 180, 40],
            ShownState::Unreachable => [225, 60, 60],
            ShownState::Stale => [150, 150, 150],
            ShownState::Placed => [120, 190, 230],
            ShownState::Idle => [190, 190, 190],
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ShownState::Solved => "solved",
            ShownState::Approximate => "approximate",
            ShownState::Unreachable => "unreachable",
            ShownState::Stale => "stale",
            ShownState::Placed => "placed (forward kinematics)",
            ShownState::Idle => "idle",
        }
    }
}

pub struct SolvePlugin;

impl Plugin for SolvePlugin {
    fn build(&self, app: &mut App) {
        app.add_message::<SolveFinished>()
            .add_message::<ModelSaved>()
            .init_resource::<MainSlot>()
            .init_resource::<ModelLoads>()
            .init_resource::<SolveStatus>()
            .add_systems(Startup, init_solvers)
            .add_systems(
                Update,
                (reset_on_robot_change, queue_models, ask_on_target_move, ask_again_on_solver_change, launch_pending)
                    .chain()
                    .in_set(StudioSet::Request),
            )
            .add_systems(Update, (collect_models, collect_answer).chain().in_set(StudioSet::Collect))
            .add_systems(Update, draw_reach.in_set(StudioSet::Gizmos));
    }
}

fn init_solvers(mut commands: Commands, studio: Res<StudioRobot>, options: Option<Res<super::StudioOptions>>) {
    let mut choice = SolverChoice::for_robot(&studio.robot);
    if let Some(name) = options.and_then(|o| o.solver.clone())
        && !choice.select(&name)
    {
        choice.wanted = Some(name);
    }
    commands.insert_resource(choice);
    commands.insert_resource(GoalSettings::for_robot(&studio.robot));
}

/// A new robot: numeric IK and the GA at once, its networks queued for loading.
fn reset_on_robot_change(
    studio: Res<StudioRobot>,
    mut choice: ResMut<SolverChoice>,
    mut goal: ResMut<GoalSettings>,
    mut slot: ResMut<MainSlot>,
    mut loads: ResMut<ModelLoads>,
    mut status: ResMut<SolveStatus>,
) {
    if !studio.is_changed() {
        return;
    }
    let robot = &studio.robot;
    if !studio.is_added() {
        // The wanted solver (by name) carries over when the new robot has it too.
        let wanted = choice.wanted.clone().unwrap_or_else(|| choice.current().name().to_string());
        *choice = SolverChoice::for_robot(robot);
        if !choice.select(&wanted) {
            choice.wanted = Some(wanted);
        }
        *goal = GoalSettings::for_robot(robot);
        slot.0.clear();
        status.forget_asks();
        status.answer = None;
    }
    loads.slot.clear();
    loads.queue = solvers::shipped_checkpoints(&robot.name).into_iter().map(|s| (s.path, s.label)).collect();
    loads.loading = 0;
}

/// Checkpoints go to the loader in batches; each is read once.
fn queue_models(
    studio: Res<StudioRobot>,
    mut saved: MessageReader<ModelSaved>,
    mut loads: ResMut<ModelLoads>,
    mut trained: Local<usize>,
) {
    for ModelSaved(path) in saved.read() {
        *trained += 1;
        loads.queue.push((path.clone(), Some(format!("trained {}", *trained))));
    }
    if loads.queue.is_empty() || !loads.slot.is_idle() {
        return;
    }
    let batch = std::mem::take(&mut loads.queue);
    loads.loading = batch.len();
    loads.batches += 1;
    let id = loads.batches;
    loads.slot.submit(id, (studio.robot.clone(), batch));
    loads.slot.launch(Pool::Io, |(robot, batch): (Arc<Robot>, Vec<(PathBuf, Option<String>)>)| {
        batch
            .into_iter()
            .map(|(path, label)| {
                LoadedModel::load_for(&path, &robot.name, &robot.chain)
                    .map(|m| (Arc::new(m), label))
                    .map_err(|e| format!("{}: {e}", path.display()))
            })
            .collect()
    });
}

fn collect_models(studio: Res<StudioRobot>, mut loads: ResMut<ModelLoads>, mut choice: ResMut<SolverChoice>) {
    let Some((_, loaded)) = loads.slot.poll() else { return };
    loads.loading = 0;
    for model in loaded {
        match model {
            Ok((model, label)) => {
                loads.loaded += 1;
                choice.add_model(model, &studio.robot, label.as_deref());
            }
            Err(e) => loads.errors.push(e),
        }
    }
}

/// Target moves the user made become asks; an arm placed by hand is at its target already.
fn ask_on_target_move(
    mut moves: MessageReader<TargetMoved>,
    mut slot: ResMut<MainSlot>,
    mut status: ResMut<SolveStatus>,
) {
    for moved in moves.read() {
        status.requested += 1;
        let id = status.requested;
        if moved.origin.asks_for_solve() {
            if slot.0.submit(id, Ask { target: moved.pose, origin: Some(moved.origin) }) {
                status.dropped += 1;
            }
            status.placed = false;
        } else {
            // Nothing in flight may move the arm the user just placed.
            if slot.0.has_pending() {
                status.dropped += 1;
            }
            slot.0.clear();
            status.forget_asks();
            status.placed = true;
            status.answer = None;
        }
    }
}

/// Another solver or goal: the same target is solved again, so the status
/// never shows one solver's answer under another's name.
fn ask_again_on_solver_change(
    choice: Res<SolverChoice>,
    goal: Res<GoalSettings>,
    target: Res<Target>,
    studio: Res<StudioRobot>,
    mut last: Local<Option<(String, GoalSettings)>>,
    mut slot: ResMut<MainSlot>,
    mut status: ResMut<SolveStatus>,
) {
    let now = (choice.current().name().to_string(), goal.clone());
    let changed = last.as_ref().is_some_and(|l| *l != now);
    *last = Some(now);
    // A new robot comes with its own solvers and goal, placed at its home pose: nothing to solve.
    if !changed || studio.is_changed() {
        return;
    }
    status.requested += 1;
    if slot.0.submit(status.requested, Ask { target: target.pose, origin: None }) {
        status.dropped += 1;
    }
    status.placed = false;
}

fn launch_pending(
    choice: Res<SolverChoice>,
    goal: Res<GoalSettings>,
    studio: Res<StudioRobot>,
    arm: Res<ArmState>,
    mut slot: ResMut<MainSlot>,
    mut status: ResMut<SolveStatus>,
) {
    // Started from where the arm is when the solve starts, not when it was asked.
    let (solver, numeric, goal, from) = (choice.current().clone(), choice.numeric.clone(), goal.clone(), arm.q.clone());
    let robot = studio.robot.name.clone();
    if from.len() != studio.robot.chain.dof() {
        return;
    }
    if slot.0.launch(Pool::Compute, move |ask| studio_solve(solver.as_ref(), &numeric, &goal, &ask, &from, robot)) {
        status.started += 1;
    }
}

fn collect_answer(
    studio: Res<StudioRobot>,
    mut slot: ResMut<MainSlot>,
    mut status: ResMut<SolveStatus>,
    mut finished: MessageWriter<SolveFinished>,
    mut arm: MessageWriter<SetArm>,
) {
    let Some((id, answer)) = slot.0.poll() else { return };
    status.finished += 1;
    if id < status.accept_from || answer.robot != studio.robot.name {
        return; // asked before the arm was placed by hand, or for another robot
    }
    status.answered_id = status.answered_id.max(id);
    arm.write(SetArm(answer.solution.joints.clone()));
    status.answer = Some(answer.clone());
    finished.write(SolveFinished { answer });
}

/// Tolerance of the studio's solves.
fn tolerance() -> Tolerance {
    SolveRequest::new(Isometry3::identity()).tolerance
}

/// One studio solve for `ask`, from the arm's configuration `from` (see the module doc).
pub fn studio_solve(
    solver: &dyn Solver,
    numeric: &NumericSolver,
    goal: &GoalSettings,
    ask: &Ask,
    from: &[f64],
    robot: String,
) -> Answer {
    let start = Instant::now();
    let chain = numeric.chain();
    let tol = tolerance();
    let request = goal.request(ask.target, from);
    let evaluate = |q: Vec<f64>| Solution::evaluate(chain, q, &ask.target, goal.mask);
    let (mut solution, motion, time) = if solver.name() == "numeric" {
        let (s, m) = track(numeric, &request, from);
        (s, m, start.elapsed())
    } else {
        let result = solver.solve(&request);
        let finite: Vec<Solution> = result.solutions.into_iter().filter(Solution::is_finite).collect();
        let chosen = nearest_meeting(&finite, from, tol)
            .or_else(|| finite.first().cloned())
            .unwrap_or_else(|| evaluate(from.to_vec()));
        (chosen, Motion::Direct, result.time)
    };
    let mut reach = Reach::Solved;
    let mut confirmed_mm = None;
    if !solution.meets(tol) && solver.name() == "numeric" {
        // Tracking already restarted from random configurations: nothing reaches it.
        reach = Reach::Unreachable;
        confirmed_mm = Some(solution.position_error_mm);
    } else if !solution.meets(tol) {
        // Does any configuration reach it? Numeric IK from the answer, the arm and random starts.
        let confirm = with_restarts(numeric, 24);
        let budget = goal.budget.max(Duration::from_millis(80));
        let seed = if solution.joints.len() == from.len() { solution.joints.clone() } else { from.to_vec() };
        let result = confirm.solve(&SolveRequest { seed: Some(seed), budget, ..request.clone() });
        let best = result.solutions.into_iter().find(Solution::is_finite);
        confirmed_mm = best.as_ref().map(|b| b.position_error_mm);
        match best {
            Some(best) if best.meets(tol) => reach = Reach::Approximate,
            Some(best) => {
                reach = Reach::Unreachable;
                if combined(&best) < combined(&solution) {
                    solution = best;
                }
            }
            None => reach = Reach::Unreachable,
        }
    }
    Answer {
        solver: solver.name().to_string(),
        target: ask.target,
        origin: ask.origin,
        solution,
        reach,
        motion,
        time,
        total_time: start.elapsed(),
        confirmed_mm,
        robot,
    }
}

/// Numeric IK with at most `restarts` random restarts after its seeded descent.
fn with_restarts(numeric: &NumericSolver, restarts: usize) -> NumericSolver {
    let mut solver = numeric.clone();
    solver.max_restarts = restarts;
    solver
}

/// Position (mm) and orientation (°) error as one figure, as the solvers rank.
fn combined(s: &Solution) -> f64 {
    s.position_error_mm + s.orientation_error_deg
}

/// Largest joint motion from `a` to `b`: which joint, and by how much.
pub fn largest_motion(a: &[f64], b: &[f64]) -> (usize, f64) {
    a.iter().zip(b).map(|(x, y)| (y - x).abs()).enumerate().fold((0, 0.0), |m, (i, d)| if d > m.1 { (i, d) } else { m })
}

fn restart_motion(from: &[f64], to: &[f64]) -> Motion {
    let (joint, delta) = largest_motion(from, to);
    Motion::Restarted { joint, delta }
}

/// Among the solutions within tolerance, the one nearest `from` (least joint motion).
fn nearest_meeting(solutions: &[Solution], from: &[f64], tol: Tolerance) -> Option<Solution> {
    let distance = |s: &Solution| s.joints.iter().zip(from).map(|(a, b)| (a - b).powi(2)).sum::<f64>();
    solutions
        .iter()
        .filter(|s| s.meets(tol) && s.joints.len() == from.len())
        .min_by(|a, b| distance(a).total_cmp(&distance(b)))
        .cloned()
}

/// Numeric tracking: descend from the arm's configuration through intermediate
/// targets from its tip to the new target; only when that fails, restart from
/// random configurations and keep the nearest solution found.
fn track(numeric: &NumericSolver, request: &SolveRequest, from: &[f64]) -> (Solution, Motion) {
    let chain = numeric.chain();
    let tol = request.tolerance;
    let start_pose = chain.fk_unchecked(from);
    let steps = continuation_steps(&start_pose, &request.target);
    let local = with_restarts(numeric, 0);
    let mut q = from.to_vec();
    for k in 1..=steps {
        let pose = if k == steps {
            request.target
        } else {
            pose_along(&[start_pose, request.target], k as f64 / steps as f64).unwrap_or(request.target)
        };
        let result = local.solve(&SolveRequest { target: pose, seed: Some(q.clone()), samples: 1, ..request.clone() });
        if let Some(best) = result.solutions.into_iter().find(Solution::is_finite) {
            q = best.joints;
        }
    }
    let tracked = Solution::evaluate(chain, q, &request.target, request.mask);
    if tracked.meets(tol) {
        return (tracked, Motion::Tracked { steps });
    }
    // The local solve failed: restarts, several solutions, the nearest one.
    let result = numeric.solve(&SolveRequest { seed: Some(from.to_vec()), samples: 6, ..request.clone() });
    let finite: Vec<Solution> = result.solutions.into_iter().filter(Solution::is_finite).collect();
    match nearest_meeting(&finite, from, tol) {
        Some(found) => {
            let motion = restart_motion(from, &found.joints);
            (found, motion)
        }
        // Nothing within tolerance: the better of the tracked pose and the restarts.
        None => {
            let best = finite.into_iter().next().filter(|b| combined(b) < combined(&tracked));
            let motion = match &best {
                Some(b) => restart_motion(from, &b.joints),
                None => Motion::Tracked { steps },
            };
            (best.unwrap_or(tracked), motion)
        }
    }
}

/// Intermediate targets for a move: one per 2 cm or 10°, 1 to 16.
fn continuation_steps(from: &Isometry3<f64>, to: &Isometry3<f64>) -> usize {
    let distance = (to.translation.vector - from.translation.vector).norm();
    let angle = from.rotation.angle_to(&to.rotation).to_degrees();
    ((distance / 0.02).max(angle / 10.0).ceil() as usize).clamp(1, 16)
}

/// The reached pose beside the requested one: a line from the tip to the
/// target in the state's colour when they differ, and the tip's axes.
fn draw_reach(
    mut gizmos: Gizmos,
    status: Res<SolveStatus>,
    target: Res<Target>,
    studio: Res<StudioRobot>,
    arm: Res<ArmState>,
    frame: Single<&GlobalTransform, With<RobotFrame>>,
) {
    if arm.q.len() != studio.robot.chain.dof() {
        return;
    }
    let [r, g, b] = ShownState::of(&status, &target.pose).color();
    let color = Color::srgb_u8(r, g, b);
    let world = frame.compute_transform();
    let reached = world * to_transform(&studio.robot.chain.fk_unchecked(&arm.q));
    let wanted = world * to_transform(&target.pose);
    gizmos.sphere(Isometry3d::from_translation(wanted.translation), 0.012, color);
    if reached.translation.distance(wanted.translation) > 1e-3 {
        gizmos.line(reached.translation, wanted.translation, color);
        let len = 0.05;
        for (axis, c) in [
            (Vec3::X, Color::srgb(0.9, 0.5, 0.5)),
            (Vec3::Y, Color::srgb(0.5, 0.9, 0.5)),
            (Vec3::Z, Color::srgb(0.5, 0.6, 0.95)),
        ] {
            gizmos.line(reached.translation, reached.translation + reached.rotation * axis * len, c);
        }
        gizmos.sphere(Isometry3d::from_translation(reached.translation), 0.008, color);
    }
}
