//! `ik-studio import-torch …`: a PyTorch `state_dict` becomes a checkpoint.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args;
use ik_studio::models::{HiddenActivation, ModelKind, QuaternionInput, TorchImport, import_torch, save_checkpoint};

use super::robot_args::RobotArgs;

/// Import a network trained in PyTorch (a `torch.save`d state_dict) as a checkpoint folder.
///
/// iknet-original: an nn.Sequential named `layers` (Linear, ReLU, Dropout per hidden layer, then a
/// Linear). cycleik-mlp / cycleik-gan: an nn.ModuleList named `layers` of Linear layers, trained with
/// ik-studio's normalisation (positions scaled from the workspace box to [-1, 1], outputs in [-1, 1]
/// mapped onto the joint limits, GAN noise uniform in [0, 1) after the pose).
#[derive(Args, Debug)]
pub struct ImportTorchArgs {
    #[command(flatten)]
    robot: RobotArgs,
    #[arg(long, value_enum)]
    model: ModelKind,
    /// The .pth/.pt file.
    #[arg(long)]
    weights: PathBuf,
    /// Checkpoint folder to write.
    #[arg(long)]
    out: PathBuf,
    /// CycleIK: the workspace the positions were normalised over, a name or a box
    /// x0,y0,z0,x1,y1,z1 in metres (default: the --config's box, else the robot's largest).
    #[arg(long)]
    workspace: Option<String>,
    /// CycleIK: layers, counted from the output, that use tanh (default: the --config's nbr_tanh
    /// of its IKNet/GAN section, else the compact preset's 3, at most the network's layers).
    #[arg(long)]
    n_tanh: Option<usize>,
    /// CycleIK: the hidden layers' activation (PyTorch's defaults: LeakyReLU slope 0.01, CELU α = 1);
    /// default: the --config's (IKNet section for cycleik-mlp, GAN for cycleik-gan), else gelu.
    #[arg(long, value_enum, ignore_case = true)]
    activation: Option<HiddenActivation>,
    /// The quaternion the network saw in training: `canonical` (normalised, w ≥ 0, as ik-studio's
    /// datasets) or `as-given` (raw recorded values, w may be negative, as ROS reports them).
    #[arg(long, value_enum, default_value_t = QuaternionInput::Canonical)]
    quaternion: QuaternionInput,
    /// The key the state dict sits under, when the file holds more (e.g. model_state_dict).
    #[arg(long)]
    key: Option<String>,
}

pub fn run(args: &ImportTorchArgs) -> anyhow::Result<()> {
    let (robot, config) = args.robot.load_with_config()?;
    // The config's network section for this model (its layer widths come from the weights).
    let section = config.as_ref().and_then(|c| match args.model {
        ModelKind::CycleikMlp => c.mlp.as_ref(),
        ModelKind::CycleikGan => c.gan.as_ref(),
        _ => None,
    });
    let workspace = match &args.workspace {
        Some(spec) => robot.workspace_or_box(spec)?,
        None => robot.default_workspace().clone(),
    };
    let spec = TorchImport {
        model: args.model,
        robot_name: &robot.name,
        chain: &robot.chain,
        workspace: &workspace,
        n_tanh: args.n_tanh.or(section.and_then(|n| n.n_tanh)),
        activation: args.activation.or(section.and_then(|n| n.activation)).unwrap_or_default(),
        quaternion: args.quaternion,
        top_level_key: args.key.as_deref(),
    };
    let (card, network) = import_torch(&args.weights, &spec)?;
    let card = save_checkpoint(&args.out, &card, &network, None::<&()>)
        .with_context(|| format!("cannot write the checkpoint {}", args.out.display()))?;
    println!("{} ({} parameters) → {}", card.summary, card.parameter_count, args.out.display());
    Ok(())
}
