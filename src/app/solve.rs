//! Background IK: every target move becomes a request for the selected solver;
//! one solve runs at a time on the async compute pool, the newest waiting
//! request replaces older ones, and the frame never waits for a result.

use std::sync::Arc;
use std::time::Duration;

use bevy::prelude::*;
use bevy::tasks::{AsyncComputeTaskPool, Task, block_on, poll_once};
use ik_studio::models::ModelKind;
use ik_studio::solvers::{self, GoalMask, NumericSolver, SolveRequest, SolveResult, SolveState, Solver};

use super::robot::{ArmState, StudioRobot};
use super::target::TargetMoved;

/// The solvers offered for the robot on stage, and the selected one.
#[derive(Resource, Clone)]
pub struct SolverChoice {
    pub solvers: Vec<Arc<dyn Solver>>,
    pub selected: usize,
}

impl SolverChoice {
    /// Numeric IK, the GA, and every shipped model for the robot with its hybrids.
    fn for_robot(studio: &StudioRobot) -> Self {
        let robot = &studio.robot;
        let mut solvers: Vec<Arc<dyn Solver>> = vec![Arc::new(NumericSolver::new(robot.chain.clone()))];
        for kind in ModelKind::ALL {
            if solvers::shipped_checkpoint(&robot.name, kind).is_some()
                && let Ok(family) = solvers::model_family(kind, robot, None)
            {
                solvers.extend(family);
            }
        }
        if let Ok(ga) = solvers::build("ga", robot, None) {
            solvers.push(ga);
        }
        Self { solvers, selected: 0 }
    }

    pub fn current(&self) -> &Arc<dyn Solver> {
        &self.solvers[self.selected.min(self.solvers.len() - 1)]
    }
}

/// What the solver is asked for besides the pose.
#[derive(Resource, Debug, Clone)]
pub struct GoalSettings {
    pub mask: GoalMask,
    pub budget: Duration,
}

impl GoalSettings {
    /// The request for `pose`, starting from the arm's configuration `q`.
    pub fn request(&self, pose: nalgebra::Isometry3<f64>, q: &[f64]) -> SolveRequest {
        SolveRequest { mask: self.mask, seed: Some(q.to_vec()), budget: self.budget, ..SolveRequest::new(pose) }
    }

    /// Full pose for arms with 6 or more joints, position only below.
    fn for_robot(studio: &StudioRobot) -> Self {
        let mask = if studio.robot.chain.dof() >= 6 { GoalMask::Full } else { GoalMask::Position };
        Self { mask, budget: Duration::from_millis(30) }
    }
}

/// One solver's queue: the newest request not yet started (older ones are
/// dropped) and the one solve running in the background.
#[derive(Default)]
pub struct SolveSlot {
    pending: Option<(u64, SolveRequest)>,
    in_flight: Option<(u64, Task<SolveResult>)>,
}

impl SolveSlot {
    /// Queues a request; true when it replaced one still waiting.
    pub fn submit(&mut self, id: u64, request: SolveRequest) -> bool {
        self.pending.replace((id, request)).is_some()
    }

    /// Starts the waiting request on the async compute pool if nothing runs.
    pub fn launch(&mut self, solver: &Arc<dyn Solver>) -> bool {
        if self.in_flight.is_some() {
            return false;
        }
        let Some((id, request)) = self.pending.take() else { return false };
        let solver = solver.clone();
        self.in_flight = Some((id, AsyncComputeTaskPool::get().spawn(async move { solver.solve(&request) })));
        true
    }

    /// The finished solve, if the one in flight is done.
    pub fn poll(&mut self) -> Option<(u64, SolveResult)> {
        let (id, task) = self.in_flight.as_mut()?;
        let result = block_on(poll_once(task))?;
        let id = *id;
        self.in_flight = None;
        Some((id, result))
    }

    pub fn has_pending(&self) -> bool {
        self.pending.is_some()
    }

    pub fn is_running(&self) -> bool {
        self.in_flight.is_some()
    }

    /// Forgets the waiting request and drops (cancels) the running one.
    pub fn clear(&mut self) {
        *self = Self::default();
    }
}

/// The selected solver's queue.
#[derive(Resource, Default)]
pub struct MainSlot(pub SolveSlot);

/// A finished solve, for the scene and the panels.
#[derive(Message, Debug, Clone)]
pub struct SolveFinished {
    pub id: u64,
    pub solver: String,
    pub result: SolveResult,
}

/// What the status line shows.
#[derive(Resource, Debug, Clone, Default)]
pub struct SolveStatus {
    pub solver: String,
    pub last: Option<SolveResult>,
    /// The shown result answers an older target than the current one.
    pub stale: bool,
    pub requested: u64,
    pub started: u64,
    pub dropped: u64,
    pub finished: u64,
}

/// A solve state as the user sees it: RViz colours (green valid, red invalid).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShownState {
    Solved,
    Approximate,
    Unreachable,
    Stale,
    Idle,
}

impl ShownState {
    pub fn of(status: &SolveStatus) -> Self {
        match (&status.last, status.stale) {
            (None, _) => ShownState::Idle,
            (Some(_), true) => ShownState::Stale,
            (Some(r), false) => match r.state {
                SolveState::Solved => ShownState::Solved,
                SolveState::Approximate => ShownState::Approximate,
                SolveState::Unreachable => ShownState::Unreachable,
            },
        }
    }

    pub fn color(self) -> [u8; 3] {
        match self {
            ShownState::Solved => [60, 200, 90],
            ShownState::Approximate => [235, 180, 40],
            ShownState::Unreachable => [225, 60, 60],
            ShownState::Stale => [150, 150, 150],
            ShownState::Idle => [190, 190, 190],
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            ShownState::Solved => "solved",
            ShownState::Approximate => "approximate",
            ShownState::Unreachable => "unreachable",
            ShownState::Stale => "stale",
            ShownState::Idle => "idle",
        }
    }
}

pub struct SolvePlugin;

impl Plugin for SolvePlugin {
    fn build(&self, app: &mut App) {
        app.add_message::<SolveFinished>()
            .init_resource::<MainSlot>()
            .init_resource::<SolveStatus>()
            .add_systems(Startup, init_solvers)
            .add_systems(
                Update,
                (reset_on_robot_change, queue_requests, collect_finished, launch_pending, apply_solution).chain(),
            );
    }
}

fn init_solvers(mut commands: Commands, studio: Res<StudioRobot>) {
    commands.insert_resource(SolverChoice::for_robot(&studio));
    commands.insert_resource(GoalSettings::for_robot(&studio));
}

fn reset_on_robot_change(
    studio: Res<StudioRobot>,
    mut choice: ResMut<SolverChoice>,
    mut goal: ResMut<GoalSettings>,
    mut slot: ResMut<MainSlot>,
    mut status: ResMut<SolveStatus>,
) {
    if !studio.is_changed() || studio.is_added() {
        return;
    }
    *choice = SolverChoice::for_robot(&studio);
    *goal = GoalSettings::for_robot(&studio);
    slot.0.clear();
    *status = SolveStatus::default();
}

fn queue_requests(
    mut moves: MessageReader<TargetMoved>,
    arm: Res<ArmState>,
    goal: Res<GoalSettings>,
    mut slot: ResMut<MainSlot>,
    mut status: ResMut<SolveStatus>,
) {
    for moved in moves.read() {
        status.requested += 1;
        let id = status.requested;
        if slot.0.submit(id, goal.request(moved.pose, &arm.q)) {
            status.dropped += 1;
        }
        status.stale = status.last.is_some();
    }
}

fn launch_pending(choice: Res<SolverChoice>, mut slot: ResMut<MainSlot>, mut status: ResMut<SolveStatus>) {
    if slot.0.launch(choice.current()) {
        status.started += 1;
        status.solver = choice.current().name().to_string();
    }
}

fn collect_finished(mut slot: ResMut<MainSlot>, status: Res<SolveStatus>, mut finished: MessageWriter<SolveFinished>) {
    if let Some((id, result)) = slot.0.poll() {
        finished.write(SolveFinished { id, solver: status.solver.clone(), result });
    }
}

fn apply_solution(
    mut finished: MessageReader<SolveFinished>,
    slot: Res<MainSlot>,
    mut arm: ResMut<ArmState>,
    mut status: ResMut<SolveStatus>,
) {
    for done in finished.read() {
        status.finished += 1;
        if let Some(best) = done.result.best() {
            arm.q = best.joints.clone();
        }
        status.solver = done.solver.clone();
        status.last = Some(done.result.clone());
        // Stale while a newer request waits; the target itself may have moved on.
        status.stale = slot.0.has_pending() || done.id < status.requested;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::robot::{RobotChoice, home_configuration};

    fn app(robot: &str) -> App {
        let mut app = App::new();
        app.add_plugins(MinimalPlugins).add_message::<TargetMoved>().add_plugins(SolvePlugin);
        let choice = RobotChoice::Builtin(robot.into());
        let loaded = choice.load().unwrap();
        let q = home_configuration(&loaded);
        let target = loaded.chain.fk_unchecked(&q);
        app.insert_resource(StudioRobot::new(loaded, choice))
            .insert_resource(ArmState { q })
            .insert_resource(crate::app::target::Target { pose: target });
        app.update();
        app
    }

    fn run_until_idle(app: &mut App) {
        for _ in 0..2000 {
            app.update();
            let slot = &app.world().resource::<MainSlot>().0;
            let idle = !slot.is_running() && !slot.has_pending();
            if idle {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        panic!("solve never finished");
    }

    #[test]
    fn target_move_is_solved_in_the_background_and_moves_the_arm() {
        let mut app = app("nicol-right");
        let robot = app.world().resource::<StudioRobot>().robot.clone();
        let goal_q = vec![1.0, 0.3, -0.6, 0.4, 0.3, 0.2, 0.1, -0.1];
        let goal = robot.chain.fk_unchecked(&goal_q);
        app.world_mut().write_message(TargetMoved { pose: goal });
        run_until_idle(&mut app);
        let status = app.world().resource::<SolveStatus>();
        assert_eq!(ShownState::of(status), ShownState::Solved, "{:?}", status.last);
        let q = &app.world().resource::<ArmState>().q;
        let reached = robot.chain.fk_unchecked(q);
        assert!((reached.translation.vector - goal.translation.vector).norm() < 1e-3);
    }

    #[test]
    fn newest_request_wins_and_at_most_one_solve_runs() {
        let mut app = app("omx");
        let robot = app.world().resource::<StudioRobot>().robot.clone();
        // A storm: 200 moves, 20 per frame.
        let mut last = None;
        for frame in 0..10 {
            for k in 0..20 {
                let q = [0.01 * (frame * 20 + k) as f64, 0.2, -0.3, 0.4];
                let pose = robot.chain.fk_unchecked(&q);
                last = Some(pose);
                app.world_mut().write_message(TargetMoved { pose });
            }
            app.update();
            // One task at most, one waiting request at most: no backlog.
            // One waiting request at most (newest wins) and one solve in flight: no backlog.
            let status = app.world().resource::<SolveStatus>();
            assert!(status.started - status.finished <= 1);
            assert!(status.requested - status.started - status.dropped <= 1);
        }
        run_until_idle(&mut app);
        let status = app.world().resource::<SolveStatus>().clone();
        assert_eq!(status.requested, 200);
        assert!(status.dropped >= 180, "{status:?}");
        assert_eq!(status.started, status.finished);
        assert_eq!(status.started + status.dropped, status.requested);
        // The arm ends at the newest target, not an older one.
        let q = &app.world().resource::<ArmState>().q;
        let reached = robot.chain.fk_unchecked(q);
        assert!((reached.translation.vector - last.unwrap().translation.vector).norm() < 1e-3);
        assert!(!status.stale);
    }

    #[test]
    fn state_colours_follow_rviz() {
        let mut status = SolveStatus::default();
        assert_eq!(ShownState::of(&status), ShownState::Idle);
        status.last = Some(SolveResult { state: SolveState::Solved, solutions: vec![], time: Duration::ZERO });
        assert_eq!(ShownState::of(&status).color(), [60, 200, 90]);
        status.stale = true;
        assert_eq!(ShownState::of(&status), ShownState::Stale);
        status.stale = false;
        status.last.as_mut().unwrap().state = SolveState::Unreachable;
        let [r, g, _] = ShownState::of(&status).color();
        assert!(r > 200 && g < 100, "unreachable is red");
    }
}
