//! `--robot NAME`, `--urdf PATH --base LINK --tip LINK` or `--config F.yaml
//! [--chain KEY] [--urdf PATH]`, optionally with `--tip-offset`, shared by
//! every command.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use ik_studio::Robot;
use ik_studio::kinematics::ToolOffset;
use ik_studio::robots::{self, RobotConfig};

#[derive(Args, Debug, Clone)]
pub struct RobotArgs {
    /// Built-in robot: omx, nicol-right, nicol-left.
    #[arg(long, conflicts_with_all = ["urdf", "config"])]
    pub robot: Option<String>,
    /// Any URDF; needs --base and --tip (with --config: replaces the config's robot_urdf).
    #[arg(long)]
    pub urdf: Option<PathBuf>,
    /// A CycleIK-style robot config (YAML): URDF, base, tip, joint names, limits (they override
    /// the URDF's), workspace box (the default --workspace), home configuration, and the IKNet/GAN
    /// sections (train's defaults for cycleik-mlp/cycleik-gan; explicit options win).
    #[arg(long, value_name = "F.yaml", conflicts_with_all = ["base", "tip"])]
    pub config: Option<PathBuf>,
    /// The chain of --config to use (its top-level key, e.g. right_arm); needed when it has several.
    #[arg(long, value_name = "KEY", requires = "config")]
    pub chain: Option<String>,
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
    /// Whether any option names a robot.
    pub fn given(&self) -> bool {
        self.robot.is_some() || self.urdf.is_some() || self.config.is_some()
    }

    pub fn load(&self) -> anyhow::Result<Robot> {
        Ok(self.load_with_config()?.0)
    }

    /// The robot, and the config chain it came from (with --config).
    pub fn load_with_config(&self) -> anyhow::Result<(Robot, Option<RobotConfig>)> {
        // clap does not enforce `requires` next to --robot: say it here.
        anyhow::ensure!(self.chain.is_none() || self.config.is_some(), "--chain needs --config F.yaml");
        anyhow::ensure!(
            self.urdf.is_some() || (self.base.is_none() && self.tip.is_none()),
            "--base and --tip go with --urdf"
        );
        let mut config = None;
        let robot = match (&self.config, &self.robot, &self.urdf, &self.base, &self.tip) {
            (Some(path), ..) => {
                let chain = RobotConfig::load(path, self.chain.as_deref())?;
                let robot = chain.robot(self.urdf.as_deref())?;
                config = Some(chain);
                robot
            }
            (None, Some(name), ..) => robots::builtin(name)?,
            (None, None, Some(path), Some(base), Some(tip)) => robots::from_urdf_file(path, base, tip)
                .with_context(|| format!("cannot use chain {base} → {tip} of {}", path.display()))?,
            (None, None, Some(_), ..) => anyhow::bail!("--urdf needs --base LINK and --tip LINK (or --config F.yaml)"),
            _ => anyhow::bail!(
                "choose a robot: --robot omx|nicol-right|nicol-left, --urdf PATH --base LINK --tip LINK, or --config F.yaml"
            ),
        };
        let robot = robot.with_tool(self.tip_offset)?;
        for note in &robot.notes {
            eprintln!("note: {note}");
        }
        Ok((robot, config))
    }
}
