//! `ik-studio robots`

use clap::Args;
use ik_studio::kinematics::JointLimits;
use ik_studio::robots::{self, Workspace};
use serde::Serialize;

#[derive(Args, Debug)]
pub struct RobotsArgs {
    /// Print JSON (one object per robot, one per line).
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct JointInfo {
    name: String,
    kind: ik_studio::kinematics::JointKind,
    limits: JointLimits,
}

#[derive(Serialize)]
struct RobotInfo {
    name: String,
    summary: String,
    base: String,
    tip: String,
    dof: usize,
    joints: Vec<JointInfo>,
    workspaces: Vec<Workspace>,
}

pub fn run(args: &RobotsArgs) -> anyhow::Result<()> {
    for name in robots::builtin_names() {
        let robot = robots::builtin(name)?;
        let info = RobotInfo {
            name: robot.name.clone(),
            summary: robot.summary.clone(),
            base: robot.chain.base.clone(),
            tip: robot.chain.tip.clone(),
            dof: robot.chain.dof(),
            joints: robot
                .chain
                .joints
                .iter()
                .map(|j| JointInfo { name: j.name.clone(), kind: j.kind, limits: j.limits })
                .collect(),
            workspaces: robot.workspaces.clone(),
        };
        if args.json {
            super::print_json(&info)?;
            continue;
        }
        println!("{}  ({} DoF, {} → {})", info.name, info.dof, info.base, info.tip);
        println!("  {}", info.summary);
        for j in &info.joints {
            println!("  {:<10} [{:>8.4}, {:>8.4}]", j.name, j.limits.lower, j.limits.upper);
        }
        for w in &info.workspaces {
            println!(
                "  workspace {:<6} x [{:.3}, {:.3}]  y [{:.3}, {:.3}]  z [{:.3}, {:.3}]",
                w.name, w.min[0], w.max[0], w.min[1], w.max[1], w.min[2], w.max[2]
            );
        }
        println!();
    }
    Ok(())
}
