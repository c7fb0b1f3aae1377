//! `ik-studio solve`

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use ik_studio::solvers::{self, GoalMask, Solution, SolveRequest, SolveResult};
use serde::Serialize;

use super::bounds;
use super::robot_args::RobotArgs;
use super::solver_args::SolverArgs;
use super::vectors::{parse_vector, read_vectors};

#[derive(Args, Debug)]
pub struct SolveArgs {
    #[command(flatten)]
    robot: RobotArgs,
    #[command(flatten)]
    solver: SolverArgs,
    /// Target pose x,y,z,qx,qy,qz,qw (m; unit quaternion, normalised if not).
    #[arg(long, allow_hyphen_values = true, required_unless_present = "poses_file", conflicts_with = "poses_file")]
    pose: Option<String>,
    /// CSV file, one pose per line, no header; one answer per line.
    #[arg(long)]
    poses_file: Option<PathBuf>,
    /// Number of distinct solutions wanted (redundant arms have many), 1 to 100000.
    #[arg(long, default_value_t = 1, value_parser = bounds::count(1, bounds::MAX_SOLUTIONS))]
    samples: usize,
    /// Which parts of the pose count.
    #[arg(long, value_enum, default_value_t = MaskArg::Full)]
    goal: MaskArg,
    /// Start configuration q1,q2,… (the solver's first guess).
    #[arg(long, allow_hyphen_values = true)]
    seed_joints: Option<String>,
    /// JSON output, one object per pose.
    #[arg(long)]
    json: bool,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
enum MaskArg {
    /// Position and orientation.
    Full,
    /// Position only.
    Position,
    /// Position and pitch (rotation about the base y axis), e.g. for the 4-DoF OMX.
    PositionPitch,
}

#[derive(Serialize)]
struct SolveJson<'a> {
    state: ik_studio::solvers::SolveState,
    time_ms: f64,
    solutions: &'a [Solution],
}

pub fn run(args: &SolveArgs) -> anyhow::Result<()> {
    let robot = args.robot.load()?;
    let solver = args.solver.build(&robot)?;
    let poses = match (&args.pose, &args.poses_file) {
        (Some(text), _) => vec![parse_vector(text)?],
        (None, Some(path)) => read_vectors(path, 7, "pose values (x,y,z,qx,qy,qz,qw)")?,
        (None, None) => bail!("give --pose or --poses-file"),
    };
    let seed = args.seed_joints.as_deref().map(parse_vector).transpose()?;
    if let Some(q) = &seed {
        robot.chain.check_dof(q)?;
    }
    let mask = match args.goal {
        MaskArg::Full => GoalMask::Full,
        MaskArg::Position => GoalMask::Position,
        MaskArg::PositionPitch => GoalMask::PositionAnd([false, true, false]),
    };
    for (i, values) in poses.iter().enumerate() {
        let request = SolveRequest {
            mask,
            seed: seed.clone(),
            budget: args.solver.budget(),
            samples: args.samples,
            ..SolveRequest::new(solvers::target_from_pose(values)?)
        };
        // Only finite solutions come back; none is an error rather than NaN printed.
        let result = solvers::solve_checked(solver.as_ref(), &request)
            .with_context(|| format!("pose {} ({values:?})", i + 1))?;
        if args.json {
            super::print_json(&SolveJson {
                state: result.state,
                time_ms: result.time.as_secs_f64() * 1000.0,
                solutions: &result.solutions,
            })?;
        } else {
            print_result(solver.name(), &result);
        }
    }
    Ok(())
}

fn print_result(solver: &str, result: &SolveResult) {
    println!("{:?} by {solver} in {:.3} ms", result.state, result.time.as_secs_f64() * 1000.0);
    for s in &result.solutions {
        let joints: Vec<String> = s.joints.iter().map(|v| format!("{v:.6}")).collect();
        println!("  {}   error {:.4} mm {:.4}°", joints.join(" "), s.position_error_mm, s.orientation_error_deg);
    }
}
