//! `ik-studio train …`

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use ik_studio::data;
use ik_studio::models::{ModelKind, Preset};
use ik_studio::robots::RobotConfig;
use ik_studio::train::{self, DeviceChoice, DiversityLoss, TrainConfig, TrainEngine, TrainEvent, TrainJob};
use ik_studio::tune;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use super::bounds;
use super::robot_args::RobotArgs;

/// Train a model; writes a checkpoint folder (weights.bpk, card.json, history.json).
#[derive(Args, Debug)]
pub struct TrainArgs {
    #[command(flatten)]
    robot: RobotArgs,
    /// Network to train.
    #[arg(long, value_enum)]
    model: ModelKind,
    /// Network size (IKNets: compact only); default compact, or with --config the network of its
    /// IKNet (cycleik-mlp) or GAN (cycleik-gan) section. Given, it wins over the config's network.
    #[arg(long, value_enum)]
    preset: Option<Preset>,
    /// Dataset file (.ikd) for the same chain.
    #[arg(long)]
    data: PathBuf,
    /// Epochs, 1 to 1000000.
    #[arg(long, value_parser = bounds::count(1, bounds::MAX_EPOCHS))]
    epochs: usize,
    /// Checkpoint folder; the best model so far is saved there after every improving epoch.
    #[arg(long)]
    out: PathBuf,
    /// Batch size, 2 to 1000000 (default: the preset's).
    #[arg(long, value_parser = bounds::count(2, bounds::MAX_BATCH))]
    batch: Option<usize>,
    /// Initial learning rate, > 0 and ≤ 1000000 (default: the preset's).
    #[arg(long, value_parser = bounds::positive())]
    lr: Option<f64>,
    /// The learning rate falls linearly to lr × this factor over the epochs; in (0, 1]
    /// (default: 0.01 for IKNets, 0.1 for CycleIK).
    #[arg(long, value_parser = bounds::number(0.0, 1.0, true))]
    lr_end_factor: Option<f64>,
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Clip every parameter's gradient to this L2 norm, > 0 and ≤ 1000000.
    #[arg(long, value_parser = bounds::positive())]
    grad_clip: Option<f64>,
    /// Rollbacks allowed after divergence, at most 1000 (default: 2 for the MLP and IKNets, 9 for the GAN).
    #[arg(long, value_parser = bounds::count(0, 1000))]
    max_restarts: Option<usize>,
    /// Stop after this many epochs without validation improvement, at most 1000000 (default: 10 for
    /// IKNets, off for CycleIK; 0 = off).
    #[arg(long, value_parser = bounds::count(0, bounds::MAX_EPOCHS))]
    patience: Option<usize>,
    /// Zero-controller joints (0-based indices, comma-separated), CycleIK only.
    #[arg(long, value_delimiter = ',')]
    zero_joints: Vec<usize>,
    /// CycleIK loss weights, 0 to 1000000 (defaults: the paper's, MLP 9/2, GAN 100/20; the GAN's spread
    /// weight is 25 with the hinge and the paper's 80 with --diversity paper).
    #[arg(long, value_parser = bounds::non_negative())]
    position_weight: Option<f64>,
    #[arg(long, value_parser = bounds::non_negative())]
    rotation_weight: Option<f64>,
    /// Weight of the zero controller (mean of q² over --zero-joints, radians), 0 to 1000000 (default 2,
    /// the paper's; with this project's position weight of 40 on metres a few hundredths already
    /// choose the solution within the nullspace).
    #[arg(long, value_parser = bounds::non_negative())]
    zero_weight: Option<f64>,
    /// GAN only: weight of the variance loss that spreads solutions over the nullspace, 0 to 1000000.
    #[arg(long, value_parser = bounds::non_negative())]
    variance_weight: Option<f64>,
    /// GAN only: the spread term. `hinge` (default): pushes the root of the mean per-joint variance of the
    /// outputs up, with constant strength, only while it is below --spread-std, so joints that cannot move for the
    /// pose stay free; `paper`: CycleIK's MSE(var(Θ) − var(Z)) on every joint.
    #[arg(long, value_parser = ["hinge", "paper"])]
    diversity: Option<String>,
    /// GAN only, with `--diversity hinge`: the target spread, in output units ([-1, 1] over each
    /// joint's limits), in (0, 1]; default 0.1.
    #[arg(long)]
    spread_std: Option<f64>,
    /// GAN only: rows of the one repeated pose the variance loss is measured on, 2 to 100000
    /// (default: the batch size, at most 1024).
    #[arg(long, value_parser = bounds::count(2, train::MAX_VARIANCE_ROWS))]
    variance_batch: Option<usize>,
    /// CycleIK: the box positions are normalised over, a workspace name or x0,y0,z0,x1,y1,z1 in
    /// metres (default: the --config's workspace box, else the dataset's workspace).
    #[arg(long)]
    workspace: Option<String>,
    /// Training engine: auto (the fused CPU engine for cycleik-mlp/gan on the CPU, burn otherwise),
    /// burn (autodiff, any model and device) or fast (fused dense layers and an analytic FK
    /// gradient; CycleIK on the CPU).
    #[arg(long, value_enum, default_value_t = TrainEngine::Auto)]
    engine: TrainEngine,
    /// Go on from this checkpoint's weights (same network and chain; a cycleik-mlp checkpoint seeds a cycleik-gan).
    #[arg(long)]
    init_from: Option<PathBuf>,
    /// At most this many steps per epoch (quick runs), at least 1.
    #[arg(long, value_parser = bounds::count(1, usize::MAX))]
    max_steps_per_epoch: Option<usize>,
    #[arg(long, value_enum, default_value_t = DeviceChoice::Cpu)]
    device: DeviceChoice,
    /// Print the summary as JSON (no progress bar).
    #[arg(long)]
    json: bool,
    /// Machine-readable progress on stdout instead of the progress bar: `jsonl` prints one JSON
    /// object per line, {"event":"epoch",…} after every validated epoch (with the validation
    /// errors) and {"event":"finished",…} at the end (what tools/optuna_tune.py reads).
    #[arg(long, value_parser = ["jsonl"])]
    events: Option<String>,
    /// A tuning trial's values as JSON, named as in `ik-studio tune` (`batch_size`, `learning_rate`,
    /// `layers`, `width_1`…, `dropout`, `tanh_layers`, `noise_dim`, loss weights), applied to the
    /// preset after the other options.
    #[arg(long)]
    params: Option<String>,
}

/// One line of `--events jsonl`.
#[derive(Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
enum EventLine<'a> {
    Epoch {
        /// 0-based.
        epoch: usize,
        train_loss: f64,
        val_loss: f64,
        position_mm: f64,
        orientation_deg: f64,
        success_rate: f64,
        improved: bool,
        learning_rate: f64,
        seconds: f64,
    },
    Restart(&'a train::RestartRecord),
    Finished(&'a train::TrainSummary),
}

fn event_line(event: &TrainEvent) -> Option<EventLine<'_>> {
    Some(match event {
        TrainEvent::Epoch(r) => EventLine::Epoch {
            epoch: r.epoch,
            train_loss: r.train_loss,
            val_loss: r.validation.loss,
            position_mm: r.validation.position_mm,
            orientation_deg: r.validation.orientation_deg,
            success_rate: r.validation.success_rate,
            improved: r.improved,
            learning_rate: r.learning_rate,
            seconds: r.seconds,
        },
        TrainEvent::Restart(r) => EventLine::Restart(r),
        TrainEvent::Finished(s) => EventLine::Finished(s),
        _ => return None,
    })
}

#[derive(Serialize)]
struct Summary<'a> {
    out: &'a PathBuf,
    model: ModelKind,
    preset: Preset,
    robot: &'a str,
    parameter_count: usize,
    #[serde(flatten)]
    summary: &'a train::TrainSummary,
}

pub fn run(args: &TrainArgs) -> anyhow::Result<()> {
    let (robot, robot_config) = args.robot.load_with_config()?;
    ik_studio::train::check_trainable(&robot.chain)?;
    let dataset = data::read_dataset(&args.data)?;
    dataset.meta.check_robot(&robot).with_context(|| format!("{} does not fit the robot", args.data.display()))?;
    let mut config = config_from(args, robot_config.as_ref(), robot.chain.dof())?;
    let preset = config.preset;
    if let Some(text) = &args.params {
        config = with_trial_params(config, robot.chain.dof(), text)?;
    }
    if let Some(spec) = &args.workspace {
        anyhow::ensure!(!args.model.is_supervised(), "--workspace applies to cycleik-mlp and cycleik-gan only");
        config.workspace = Some(robot.workspace_or_box(spec)?);
    }
    let job = TrainJob {
        robot,
        dataset: Arc::new(dataset),
        dataset_path: Some(args.data.clone()),
        config,
        out: Some(args.out.clone()),
    };
    let handle = train::spawn(job);
    let events_jsonl = args.events.is_some();
    let bar = if args.json || events_jsonl { ProgressBar::hidden() } else { ProgressBar::new(0) };
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} steps ({per_sec}, eta {eta})")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let mut epoch_line = String::new();
    for event in handle.events.iter() {
        if events_jsonl {
            if let Some(line) = event_line(&event) {
                // Flushed per line: a reader (the Optuna adapter) acts on every epoch as it ends.
                println!("{}", serde_json::to_string(&line)?);
            }
            continue;
        }
        match event {
            TrainEvent::Started {
                parameter_count,
                epochs,
                steps_per_epoch,
                train_samples,
                val_samples,
                device,
                ..
            } => {
                bar.set_length((epochs * steps_per_epoch) as u64);
                bar.println(format!(
                    "training {} ({}) — {parameter_count} parameters, {train_samples} train / {val_samples} val samples, {device}",
                    args.model, preset
                ));
            }
            TrainEvent::Step { epoch, loss, learning_rate, .. } => {
                bar.inc(1);
                bar.set_message(format!(
                    "epoch {} loss {:.4e} lr {learning_rate:.2e}{epoch_line}",
                    epoch + 1,
                    loss.total
                ));
            }
            TrainEvent::Epoch(r) => {
                epoch_line = format!(" | val {:.2} mm {:.2}°", r.validation.position_mm, r.validation.orientation_deg);
                bar.println(format!(
                    "epoch {:>3}: loss {:.4e}, val loss {:.4e}, {:.3} mm, {:.3}°, success {:.2} %, {:.0} samples/s{}",
                    r.epoch + 1,
                    r.train_loss,
                    r.validation.loss,
                    r.validation.position_mm,
                    r.validation.orientation_deg,
                    r.validation.success_rate * 100.0,
                    r.samples_per_second,
                    if r.improved { " *" } else { "" }
                ));
            }
            TrainEvent::Restart(r) => bar.println(format!(
                "restart {} at epoch {} step {}: {} (resuming at epoch {}, lr × {})",
                r.restarts,
                r.epoch + 1,
                r.step,
                r.reason,
                r.resume_epoch + 1,
                r.lr_factor
            )),
            TrainEvent::Checkpoint { .. } | TrainEvent::Finished(_) | TrainEvent::Cancelled | TrainEvent::Failed(_) => {
            }
        }
    }
    bar.finish_and_clear();
    let outcome = handle.join()?;
    let summary = Summary {
        out: &args.out,
        model: args.model,
        preset,
        robot: &outcome.card.robot,
        parameter_count: outcome.card.parameter_count,
        summary: &outcome.summary,
    };
    if args.json {
        return super::print_json(&summary);
    }
    if events_jsonl {
        return Ok(());
    }
    let s = &outcome.summary;
    println!(
        "{} ({}) for {}: {} epochs ({:?}), {} restarts, {:.1} s, {:.0} samples/s",
        args.model, preset, outcome.card.robot, s.epochs_run, s.stop, s.restarts, s.wall_seconds, s.samples_per_second
    );
    if let (Some(best), Some(epoch)) = (s.best, s.best_epoch) {
        println!(
            "  best epoch {}: val {:.3} mm, {:.3}°, success {:.2} % ({} samples)",
            epoch + 1,
            best.position_mm,
            best.orientation_deg,
            best.success_rate * 100.0,
            best.samples
        );
    }
    match (&s.checkpoint, &s.kept) {
        (Some(dir), _) => println!("  checkpoint: {}", dir.display()),
        (None, Some(kept)) => println!(
            "  kept the checkpoint already in {}: on this run's validation data it reaches {:.3} mm, {:.3}°, \
             better than every epoch of this run",
            args.out.display(),
            kept.position_mm,
            kept.orientation_deg
        ),
        (None, None) => println!("  no checkpoint written (no epoch finished)"),
    }
    Ok(())
}

/// `config` with a tuning trial's values applied (the network they describe included).
fn with_trial_params(config: TrainConfig, dof: usize, text: &str) -> anyhow::Result<TrainConfig> {
    let params = tune::params_from_json(config.model, text).context("--params")?;
    let architecture = match &config.architecture {
        Some(a) => a.clone(),
        None => ik_studio::models::preset_spec(config.model, config.preset, dof)?.architecture,
    };
    let baseline = tune::Baseline { config, architecture };
    Ok(baseline.config_for(&baseline.used(params))?)
}

/// The preset's configuration, then the robot config's defaults, then the explicit options.
fn config_from(args: &TrainArgs, robot_config: Option<&RobotConfig>, dof: usize) -> anyhow::Result<TrainConfig> {
    let mut config = TrainConfig::new(args.model, args.preset.unwrap_or(Preset::Compact))?;
    if let Some(robot_config) = robot_config {
        for note in config.apply_robot_config(robot_config, dof, args.preset.is_some())? {
            eprintln!("note: {note}");
        }
    }
    config.epochs = args.epochs;
    config.seed = args.seed;
    config.device = args.device;
    config.engine = args.engine;
    // Within (0, 1e6] (clap's parser): exact enough as f32.
    config.grad_clip_norm = args.grad_clip.map(|c| c as f32);
    config.max_steps_per_epoch = args.max_steps_per_epoch;
    config.init_from = args.init_from.clone();
    if let Some(b) = args.batch {
        config.batch_size = b;
    }
    if let Some(lr) = args.lr {
        config.learning_rate = lr;
    }
    if let Some(f) = args.lr_end_factor {
        config.lr_end_factor = f;
    }
    if let Some(r) = args.max_restarts {
        config.max_restarts = r;
    }
    if let Some(p) = args.patience {
        config.early_stopping_patience = (p > 0).then_some(p);
    }
    if !args.zero_joints.is_empty() {
        anyhow::ensure!(!args.model.is_supervised(), "--zero-joints applies to cycleik-mlp and cycleik-gan only");
        config.loss.zero_joints = args.zero_joints.clone();
    }
    let weights = [args.position_weight, args.rotation_weight, args.zero_weight, args.variance_weight];
    anyhow::ensure!(
        !args.model.is_supervised() || weights.iter().all(Option::is_none),
        "loss weights apply to cycleik-mlp and cycleik-gan only"
    );
    anyhow::ensure!(weights.iter().flatten().all(|w| w.is_finite() && *w >= 0.0), "loss weights must be ≥ 0");
    if let Some(w) = args.position_weight {
        config.loss.position_weight = w;
    }
    if let Some(w) = args.rotation_weight {
        config.loss.rotation_weight = w;
    }
    if let Some(w) = args.zero_weight {
        config.loss.zero_weight = w;
    }
    if let Some(w) = args.variance_weight {
        anyhow::ensure!(args.model == ModelKind::CycleikGan, "--variance-weight applies to cycleik-gan only");
        config.loss.variance_weight = w;
    }
    if args.diversity.is_some() || args.spread_std.is_some() {
        anyhow::ensure!(args.model == ModelKind::CycleikGan, "--diversity and --spread-std apply to cycleik-gan only");
        config.loss.diversity = match (args.diversity.as_deref(), args.spread_std) {
            (Some("paper"), None) => train::LossConfig::paper_gan().diversity,
            (Some("paper"), Some(_)) => anyhow::bail!("--spread-std applies to --diversity hinge only"),
            (_, target_std) => {
                DiversityLoss::SpreadHinge { target_std: target_std.unwrap_or(DiversityLoss::DEFAULT_SPREAD_STD) }
            }
        };
    }
    if config.loss.diversity == DiversityLoss::PaperVariance && args.variance_weight.is_none() {
        config.loss.variance_weight = train::LossConfig::paper_gan().variance_weight;
    }
    if let Some(rows) = args.variance_batch {
        anyhow::ensure!(args.model == ModelKind::CycleikGan, "--variance-batch applies to cycleik-gan only");
        anyhow::ensure!(rows >= 2, "--variance-batch needs at least 2 rows to measure a variance");
        config.loss.variance_batch = Some(rows);
    }
    Ok(config)
}
