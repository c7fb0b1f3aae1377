//! `ik-studio fk`

use std::path::PathBuf;

use anyhow::bail;
use clap::Args;
use ik_studio::Pose;
use serde::Serialize;

use super::robot_args::RobotArgs;
use super::vectors::{parse_vector, read_vectors};

#[derive(Args, Debug)]
pub struct FkArgs {
    #[command(flatten)]
    robot: RobotArgs,
    /// Joint values q1,q2,… (rad, or m for prismatic joints).
    #[arg(long, allow_hyphen_values = true, required_unless_present = "joints_file", conflicts_with = "joints_file")]
    joints: Option<String>,
    /// CSV file, one joint vector per line, no header; one pose per line out.
    #[arg(long)]
    joints_file: Option<PathBuf>,
    /// Also print the frame of every link along the chain.
    #[arg(long)]
    frames: bool,
    /// JSON output: {"position":[x,y,z],"quaternion":[qx,qy,qz,qw]} per input.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct LinkFrame {
    link: String,
    #[serde(flatten)]
    pose: Pose,
}

#[derive(Serialize)]
struct FkResult {
    #[serde(flatten)]
    pose: Pose,
    #[serde(skip_serializing_if = "Option::is_none")]
    frames: Option<Vec<LinkFrame>>,
}

pub fn run(args: &FkArgs) -> anyhow::Result<()> {
    let robot = args.robot.load()?;
    let chain = &robot.chain;
    let inputs = match (&args.joints, &args.joints_file) {
        (Some(text), _) => vec![parse_vector(text)?],
        (None, Some(path)) => read_vectors(path, chain.dof(), "joint values")?,
        (None, None) => bail!("give --joints or --joints-file"),
    };
    for q in &inputs {
        chain.check_dof(q)?;
        let pose = Pose::from_isometry(&chain.fk(q)?);
        let frames = args.frames.then(|| -> anyhow::Result<Vec<LinkFrame>> {
            Ok(chain
                .link_frames(q)?
                .iter()
                .zip(&chain.links)
                .map(|(frame, link)| LinkFrame { link: link.name.clone(), pose: Pose::from_isometry(frame) })
                .collect())
        });
        let result = FkResult { pose, frames: frames.transpose()? };
        let finite = |p: &Pose| p.to_array().iter().all(|v| v.is_finite());
        anyhow::ensure!(
            finite(&result.pose) && result.frames.iter().flatten().all(|f| finite(&f.pose)),
            "the pose for joint values {q:?} is not finite (values too large for this chain)"
        );
        for (joint, v) in chain.joints.iter().zip(q) {
            if !joint.limits.contains(*v) {
                eprintln!(
                    "warning: {} = {v} is outside its limits [{}, {}]",
                    joint.name, joint.limits.lower, joint.limits.upper
                );
            }
        }
        if args.json {
            super::print_json(&result)?;
        } else {
            println!("{}", format_pose(&result.pose));
            for f in result.frames.iter().flatten() {
                println!("  {:<24} {}", f.link, format_pose(&f.pose));
            }
        }
    }
    Ok(())
}

pub fn format_pose(pose: &Pose) -> String {
    pose.to_array().iter().map(|v| format!("{v:.9}")).collect::<Vec<_>>().join(" ")
}
