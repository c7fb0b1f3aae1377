//! `--robot NAME` or `--urdf PATH --base LINK --tip LINK`, optionally with
//! `--tip-offset`, shared by every command.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use ik_studio::Robot;
use ik_studio::kinematics::ToolOffset;
use ik_studio::robots;

#[derive(Args, Debug, Clone)]
pub struct RobotArgs {
    /// Built-in robot: omx, nicol-right, nicol-left.
    #[arg(long, conflicts_with = "urdf")]
    pub robot: Option<String>,
    /// Any URDF; needs --base and --tip.
    #[arg(long, requires_all = ["base", "tip"])]
    pub urdf: Option<PathBuf>,
    /// Base link of the chain (with --urdf); `world` when the URDF has no such
    /// link means its root (MoveIt's virtual world frame).
    #[arg(long, requires = "urdf")]
    pub base: Option<String>,
    /// Tip link of the chain (with --urdf).
    #[arg(long, requires = "urdf")]
    pub tip: Option<String>,
    /// Tool point in the tip link's frame: x,y,z in metres (within ±10), or
    /// x,y,z,roll,pitch,yaw (rad, within ±2π). FK, IK, datasets and training use it.
    #[arg(long, value_name = "X,Y,Z[,R,P,Y]", allow_hyphen_values = true, value_parser = parse_tool)]
    pub tip_offset: Option<ToolOffset>,
}

fn parse_tool(spec: &str) -> Result<ToolOffset, String> {
    ToolOffset::parse(spec)
}

impl RobotArgs {
    pub fn load(&self) -> anyhow::Result<Robot> {
        let robot = match (&self.robot, &self.urdf, &self.base, &self.tip) {
            (Some(name), ..) => robots::builtin(name)?,
            (None, Some(path), Some(base), Some(tip)) => robots::from_urdf_file(path, base, tip)
                .with_context(|| format!("cannot use chain {base} → {tip} of {}", path.display()))?,
            _ => anyhow::bail!(
                "choose a robot: --robot omx|nicol-right|nicol-left, or --urdf PATH --base LINK --tip LINK"
            ),
        };
        let robot = robot.with_tool(self.tip_offset)?;
        for note in &robot.notes {
            eprintln!("note: {note}");
        }
        Ok(robot)
    }
}
