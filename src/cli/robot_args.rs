//! `--robot NAME` or `--urdf PATH --base LINK --tip LINK`, shared by every command.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use ik_studio::Robot;
use ik_studio::robots;

#[derive(Args, Debug, Clone)]
pub struct RobotArgs {
    /// Built-in robot: omx, nicol-right, nicol-left.
    #[arg(long, conflicts_with = "urdf")]
    pub robot: Option<String>,
    /// Any URDF; needs --base and --tip.
    #[arg(long, requires_all = ["base", "tip"])]
    pub urdf: Option<PathBuf>,
    /// Base link of the chain (with --urdf).
    #[arg(long, requires = "urdf")]
    pub base: Option<String>,
    /// Tip link of the chain (with --urdf).
    #[arg(long, requires = "urdf")]
    pub tip: Option<String>,
}

impl RobotArgs {
    pub fn load(&self) -> anyhow::Result<Robot> {
        match (&self.robot, &self.urdf, &self.base, &self.tip) {
            (Some(name), ..) => Ok(robots::builtin(name)?),
            (None, Some(path), Some(base), Some(tip)) => robots::from_urdf_file(path, base, tip)
                .with_context(|| format!("cannot use chain {base} → {tip} of {}", path.display())),
            _ => anyhow::bail!(
                "choose a robot: --robot omx|nicol-right|nicol-left, or --urdf PATH --base LINK --tip LINK"
            ),
        }
    }
}
