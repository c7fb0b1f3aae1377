//! The one training loop for every model: Adam, per-epoch linear learning-rate
//! decay, validation, early stopping, best-model checkpoints, divergence
//! rollback, progress events and cancellation.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender};
use std::sync::{Arc, mpsc};
use std::thread::JoinHandle;
use std::time::Instant;

use burn::grad_clipping::GradientClippingConfig;
use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::batches::{Batch, Samples, batch_ranges};
use super::events::{
    DatasetIdentity, EpochRecord, LossParts, RestartRecord, StopReason, TrainEvent, TrainHistory, TrainSummary,
    Validation,
};
use super::fast::{BatchBuffers, FastTrainer};
use super::losses::{diversity_loss, mse, position_loss, rotation_loss, zero_loss};
use super::{DeviceChoice, TrainConfig, TrainEngine, TrainError};
use crate::data::{Dataset, Split};
use crate::kinematics::{Pose, orientation_error_deg, position_error_mm};
use crate::models::{
    Architecture, CARD_FILE, HiddenActivation, IoMapping, LoadedModel, ModelCard, ModelError, Network, TensorFk,
    preset_spec, read_checkpoint, save_checkpoint,
};
use crate::robots::{Robot, Workspace};
use crate::solvers::Tolerance;

/// Steps of running-average warm-up before the explosion test applies.
const EXPLODE_WARMUP_STEPS: usize = 20;
/// Validation rows per forward pass.
const VAL_CHUNK: usize = 1024;

/// What to train, on what, and where to put the checkpoint. Owns its data so
/// that it can move to a training thread.
#[derive(Debug, Clone)]
pub struct TrainJob {
    pub robot: Robot,
    pub dataset: Arc<Dataset>,
    /// Recorded in the history as the dataset's identity.
    pub dataset_path: Option<PathBuf>,
    pub config: TrainConfig,
    /// Checkpoint folder: the best model so far is written after every
    /// improving epoch, and once more (with the full history) at the end.
    pub out: Option<PathBuf>,
}

/// The result of a run: the best model (validation loss) and its history.
#[derive(Debug, Clone)]
pub struct TrainOutcome {
    pub card: ModelCard,
    /// Inference-mode network (no autodiff).
    pub network: Network,
    pub history: TrainHistory,
    pub summary: TrainSummary,
}

impl TrainOutcome {
    pub fn save(&self, dir: &std::path::Path) -> Result<ModelCard, ModelError> {
        save_checkpoint(dir, &self.card, &self.network, Some(&self.history))
    }

    /// The trained model ready for [`LoadedModel::infer`].
    pub fn loaded_model(&self) -> Result<LoadedModel, ModelError> {
        let dir = self.summary.checkpoint.clone().unwrap_or_default();
        LoadedModel::from_parts(self.card.clone(), self.network.clone(), dir)
    }
}

/// A run on its own thread: read `events`, call `cancel()` to stop it, `join()`
/// for the outcome.
pub struct TrainHandle {
    pub events: Receiver<TrainEvent>,
    cancel: Arc<AtomicBool>,
    thread: JoinHandle<Result<TrainOutcome, TrainError>>,
}

impl TrainHandle {
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancel.clone()
    }
    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }
    pub fn join(self) -> Result<TrainOutcome, TrainError> {
        self.thread.join().unwrap_or_else(|panic| Err(TrainError::Panicked(panic_message(panic))))
    }
}

/// What a thread's panic said, for the error that reports it.
pub(crate) fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}

/// Starts [`train`] on a new thread.
pub fn spawn(job: TrainJob) -> TrainHandle {
    let (sender, events) = mpsc::channel();
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    let thread = std::thread::Builder::new()
        .name("ik-studio-train".into())
        .spawn(move || train(&job, &sender, &flag))
        .expect("the OS can start a thread");
    TrainHandle { events, cancel, thread }
}

/// Trains `job` on the calling thread, reporting to `events` (a closed
/// receiver is fine) and stopping cleanly when `cancel` becomes true.
pub fn train(job: &TrainJob, events: &Sender<TrainEvent>, cancel: &AtomicBool) -> Result<TrainOutcome, TrainError> {
    train_observed(job, events, cancel, &mut |_| EpochControl::Continue)
}

/// What an epoch observer tells the run after a validated epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EpochControl {
    Continue,
    /// End the run now, keeping the best network so far ([`StopReason::Stopped`]).
    Stop,
}

/// [`train`] with `observe` called after every validated epoch (on the
/// training thread): a tuner's pruner reads the validation errors there and
/// may stop the run.
pub fn train_observed(
    job: &TrainJob,
    events: &Sender<TrainEvent>,
    cancel: &AtomicBool,
    observe: &mut dyn FnMut(&EpochRecord) -> EpochControl,
) -> Result<TrainOutcome, TrainError> {
    let result = Run::new(job, events).and_then(|(run, network)| run.execute(network, cancel, observe));
    if let Err(e) = &result {
        let _ = events.send(TrainEvent::Failed(e.to_string()));
    }
    result
}

/// Loss tensors of one forward pass.
struct Losses {
    total: Tensor<1>,
    joint_mse: Option<Tensor<1>>,
    position: Option<Tensor<1>>,
    rotation: Option<Tensor<1>>,
    zero: Option<Tensor<1>>,
    variance: Option<Tensor<1>>,
    /// Decoded joint values `[rows, dof]`.
    joints: Tensor<2>,
}

impl Losses {
    /// All terms read back in one transfer.
    fn read(&self, total: &Tensor<1>) -> Result<LossParts, TrainError> {
        let terms = [&self.joint_mse, &self.position, &self.rotation, &self.zero, &self.variance];
        let mut parts = vec![total.clone()];
        parts.extend(terms.iter().filter_map(|t| (*t).clone()));
        let values = read_f32(Tensor::cat(parts, 0))?;
        let mut next = values[1..].iter().map(|&v| v as f64);
        let mut take = |t: &Option<Tensor<1>>| t.as_ref().and_then(|_| next.next());
        Ok(LossParts {
            total: values[0] as f64,
            joint_mse: take(&self.joint_mse),
            position: take(&self.position),
            rotation: take(&self.rotation),
            zero: take(&self.zero),
            variance: take(&self.variance),
        })
    }
}

fn read_f32<const D: usize>(tensor: Tensor<D>) -> Result<Vec<f32>, TrainError> {
    tensor.into_data().try_into_vec::<f32>().map_err(|e| TrainError::Backend(format!("{e:?}")))
}

/// The last state known to be good, to roll back to.
struct Snapshot {
    network: Network,
    optimizer: ModuleOptimizer,
    fast: Option<FastEngine>,
    next_epoch: usize,
    ema: Option<f64>,
}

/// The fused CPU engine's state (CycleIK on the CPU): weights, Adam moments
/// and the generator's noise stream. The burn network is brought up to date
/// at the end of every epoch, for validation and checkpoints.
#[derive(Clone)]
struct FastEngine {
    trainer: FastTrainer,
    noise: ChaCha8Rng,
}

/// Everything that changes while a run goes on (the network itself travels
/// by value through the steps, as burn's optimiser wants it).
struct Progress {
    optimizer: ModuleOptimizer,
    fast: Option<FastEngine>,
    batch: BatchBuffers,
    good: Snapshot,
    /// Best validation loss and its inference-mode network.
    best: Option<(f64, Network)>,
    /// Validation loss of the network before any step: the reference for
    /// divergence until an epoch does better.
    baseline_loss: f64,
    /// The checkpoint already in the output folder (same network, chain and inputs), validated
    /// on this run's data: the run saves only what beats it.
    to_beat: Option<Validation>,
    history: TrainHistory,
    checkpoint: Option<PathBuf>,
    lr_factor: f64,
    epoch: usize,
    global_step: usize,
    /// Running mean of the step loss, and how many steps it has seen.
    ema: Option<f64>,
    ema_steps: usize,
    since_improved: usize,
    nan_pending: Option<usize>,
    train_seconds: f64,
}

/// The gradients of a step, not yet applied.
enum Pending {
    /// burn's loss tensor, to differentiate.
    Burn(Tensor<1>),
    /// Computed and kept by the fast engine.
    InFastEngine,
}

/// How one epoch's steps ended.
enum EpochEnd {
    Finished(EpochSteps),
    Diverged { step: usize, reason: String },
    Cancelled,
}

/// What the steps of a finished epoch add up to.
struct EpochSteps {
    sum: LossParts,
    samples: usize,
    steps: usize,
    learning_rate: f64,
    started: Instant,
    seconds_training: f64,
}

struct Run<'a> {
    job: &'a TrainJob,
    config: &'a TrainConfig,
    events: &'a Sender<TrainEvent>,
    card: ModelCard,
    io: IoMapping,
    fk: TensorFk,
    device: Device,
    plain: Device,
    train: Samples,
    val: Samples,
    /// Target poses of the validation samples (f64, for the metrics).
    val_poses: Vec<f64>,
    identity: DatasetIdentity,
    started: Instant,
}

impl<'a> Run<'a> {
    /// The run and the network it starts from (fresh, or the `--init-from`
    /// checkpoint, read once).
    fn new(job: &'a TrainJob, events: &'a Sender<TrainEvent>) -> Result<(Self, Network), TrainError> {
        let config = &job.config;
        config.validate()?;
        let (robot, dataset) = (&job.robot, job.dataset.as_ref());
        dataset.meta.check_robot(robot)?;
        let chain = &robot.chain;
        let (train_view, val_view) = (dataset.split(Split::Train), dataset.split(Split::Val));
        if train_view.len() < 2 || val_view.is_empty() {
            return Err(TrainError::InvalidConfig(format!(
                "the dataset needs at least 2 training and 1 validation samples (it has {} and {})",
                train_view.len(),
                val_view.len()
            )));
        }
        let plain = config.device.device()?;
        let device = plain.clone().autodiff();
        device.seed(config.seed);
        let initial = config.init_from.as_deref().map(|path| read_checkpoint(path, &device)).transpose()?;
        let preset = preset_spec(config.model, config.preset, chain.dof())?.architecture;
        let architecture = match (&config.architecture, &initial) {
            (Some(a), _) => a.clone(),
            // Going on from a checkpoint keeps its network; an MLP seeds a
            // generator that takes the preset's noise inputs.
            (None, Some((card, _))) if card.architecture.noise_dim() == 0 => {
                card.architecture.with_noise_dim(preset.noise_dim())
            }
            (None, Some((card, _))) => card.architecture.clone(),
            (None, None) => preset,
        };
        if !architecture.fits_kind(config.model) || architecture.dof() != chain.dof() {
            return Err(TrainError::InvalidConfig(format!(
                "the architecture is not a {} network for {} joints",
                config.model,
                chain.dof()
            )));
        }
        if let Some(&j) = config.loss.zero_joints.iter().find(|&&j| j >= chain.dof()) {
            return Err(TrainError::InvalidConfig(format!(
                "zero-controller joint {j} does not exist (dof {})",
                chain.dof()
            )));
        }
        let io = if config.model.is_supervised() {
            IoMapping::raw()
        } else {
            let workspace = match (&config.workspace, &dataset.meta.workspace) {
                (Some(w), _) | (None, Some(w)) => w.clone(),
                (None, None) => bounding_box(train_view.poses),
            };
            IoMapping::normalised(chain, &workspace, architecture.noise_dim())?
        };
        let network = match initial {
            None => architecture.init(&device),
            Some((card, network)) => continued_network(job, card, network, &architecture, &io)?,
        };
        let card = ModelCard::new(config.model, config.preset, architecture, io.clone(), &robot.name, chain)?;
        let train = Samples::new(&train_view, &io, usize::MAX)?;
        let val = Samples::new(&val_view, &io, config.val_max_samples)?;
        let val_poses = val_view.poses[..val.len * 7].to_vec();
        let run = Self {
            job,
            config,
            events,
            card,
            io,
            fk: TensorFk::new(chain),
            device,
            plain,
            train,
            val,
            val_poses,
            identity: DatasetIdentity::of(dataset, job.dataset_path.clone()),
            started: Instant::now(),
        };
        Ok((run, network))
    }

    fn send(&self, event: TrainEvent) {
        // Nobody listening is not an error: the run goes on.
        let _ = self.events.send(event);
    }

    fn device_name(&self) -> String {
        match self.config.device {
            DeviceChoice::Cpu => "cpu (burn flex)".into(),
            DeviceChoice::Gpu => "gpu (burn wgpu)".into(),
        }
    }

    fn execute(
        self,
        network: Network,
        cancel: &AtomicBool,
        observe: &mut dyn FnMut(&EpochRecord) -> EpochControl,
    ) -> Result<TrainOutcome, TrainError> {
        let config = self.config;
        let optimizer = AdamConfig::new()
            .with_epsilon(1e-8)
            .with_grad_clipping(config.grad_clip_norm.map(GradientClippingConfig::Norm))
            .init();
        self.send(TrainEvent::Started {
            model: config.model,
            preset: config.preset,
            parameter_count: self.card.parameter_count,
            epochs: config.epochs,
            steps_per_epoch: self.steps_per_epoch(),
            train_samples: self.train.len,
            val_samples: self.val.len,
            device: self.device_name(),
        });
        let baseline = self.validate(&network.valid())?;
        let to_beat = self.checkpoint_to_beat()?;
        let fast = self.fast_engine(&network)?;
        let mut run = Progress {
            good: Snapshot {
                network: network.valid(),
                optimizer: optimizer.clone(),
                fast: fast.clone(),
                next_epoch: 0,
                ema: None,
            },
            optimizer,
            fast,
            batch: BatchBuffers::default(),
            best: None,
            baseline_loss: baseline.loss,
            to_beat,
            history: self.empty_history(),
            checkpoint: None,
            lr_factor: 1.0,
            epoch: 0,
            global_step: 0,
            ema: None,
            ema_steps: 0,
            since_improved: 0,
            nan_pending: config.inject_nan_at_step,
            train_seconds: 0.0,
        };
        let mut network = network;
        let stop = loop {
            if run.epoch >= config.epochs {
                break StopReason::Completed;
            }
            let (trained, end) = self.run_epoch(network, &mut run, cancel)?;
            network = trained;
            match end {
                EpochEnd::Cancelled => break StopReason::Cancelled,
                EpochEnd::Diverged { step, reason } => network = self.roll_back(&mut run, step, reason)?,
                EpochEnd::Finished(steps) => {
                    self.recalibrate_norms(&network);
                    let valid = network.valid();
                    let validation = self.validate(&valid)?;
                    if let Some(reason) = self.validation_diverged(&validation, &run) {
                        let step = run.global_step;
                        network = self.roll_back(&mut run, step, reason)?;
                    } else {
                        let stop_early = self.end_epoch(&mut run, steps, validation, valid)?;
                        // The observer sees every recorded epoch, the last one too.
                        let control = match run.history.epochs.last() {
                            Some(record) => observe(record),
                            None => EpochControl::Continue,
                        };
                        if control == EpochControl::Stop {
                            break StopReason::Stopped;
                        }
                        if stop_early {
                            break StopReason::EarlyStopped;
                        }
                    }
                }
            }
        };
        self.finish(run, network, stop)
    }

    /// Running statistics for inference (see [`Network::recalibrate_norms`]).
    fn recalibrate_norms(&self, network: &Network) {
        // Momentum 0.1: after 64 batches the old statistics weigh 0.9^64 ≈ 0.1 %.
        const BATCHES: usize = 64;
        let rows: Vec<usize> = (0..self.train.len).collect();
        let batches = rows.chunks(self.config.batch_size.max(2)).filter(|c| c.len() >= 2).take(BATCHES);
        network.recalibrate_norms(batches.map(|chunk| self.train.gather(chunk, &self.device).input));
    }

    fn steps_per_epoch(&self) -> usize {
        batch_ranges(self.train.len, self.config.batch_size, self.config.max_steps_per_epoch).len()
    }

    /// The training steps of one epoch, on a fresh shuffle.
    fn run_epoch(
        &self,
        mut network: Network,
        run: &mut Progress,
        cancel: &AtomicBool,
    ) -> Result<(Network, EpochEnd), TrainError> {
        let config = self.config;
        let learning_rate = config.scheduled_lr(run.epoch) * run.lr_factor;
        let mut order: Vec<usize> = (0..self.train.len).collect();
        let shuffle_seed = config.seed ^ ((run.epoch as u64) << 20) ^ ((run.history.restarts.len() as u64) << 44);
        order.shuffle(&mut ChaCha8Rng::seed_from_u64(shuffle_seed));
        let ranges = batch_ranges(self.train.len, config.batch_size, config.max_steps_per_epoch);
        let started = Instant::now();
        let (mut sum, mut samples) = (LossParts::default(), 0);
        for (step, range) in ranges.iter().enumerate() {
            if cancel.load(Ordering::Relaxed) {
                return Ok((self.synced(network, run)?, EpochEnd::Cancelled));
            }
            let (mut parts, total) = self.step_losses(&network, run, &order[range.clone()])?;
            if run.nan_pending == Some(run.global_step) {
                run.nan_pending = None;
                parts.total = f64::NAN;
            }
            let global_step = run.global_step;
            run.global_step += 1;
            if let Some(reason) = diverged(parts.total, run.ema, run.ema_steps, config.explode_factor) {
                return Ok((network, EpochEnd::Diverged { step: global_step, reason }));
            }
            run.ema = Some(run.ema.map_or(parts.total, |a| 0.98 * a + 0.02 * parts.total));
            run.ema_steps += 1;
            network = match (total, &mut run.fast) {
                (Pending::Burn(total), _) => {
                    let grads = GradientsParams::from_grads(total.backward(), &network);
                    run.optimizer.step(learning_rate, network, grads)
                }
                (Pending::InFastEngine, Some(fast)) => {
                    fast.trainer.apply_gradients(learning_rate);
                    network
                }
                (Pending::InFastEngine, None) => network,
            };
            sum.accumulate(&parts);
            samples += range.len();
            self.send(TrainEvent::Step {
                epoch: run.epoch,
                step,
                steps_per_epoch: ranges.len(),
                global_step,
                loss: parts,
                learning_rate,
            });
        }
        let network = self.synced(network, run)?;
        let seconds_training = started.elapsed().as_secs_f64();
        let steps = EpochSteps { sum, samples, steps: ranges.len(), learning_rate, started, seconds_training };
        Ok((network, EpochEnd::Finished(steps)))
    }

    /// The fused engine when this run can use it (see [`TrainEngine`]).
    fn fast_engine(&self, network: &Network) -> Result<Option<FastEngine>, TrainError> {
        let config = self.config;
        // The fused engine has GELU hidden layers (imported networks may not).
        let gelu = matches!(network, Network::CycleIk(net) if net.activation == HiddenActivation::Gelu);
        let fits = !config.model.is_supervised() && config.device == DeviceChoice::Cpu && gelu;
        match (config.engine, fits) {
            (TrainEngine::Burn, _) | (TrainEngine::Auto, false) => Ok(None),
            (TrainEngine::Fast, false) => Err(TrainError::InvalidConfig(
                "the fast engine trains cycleik-mlp and cycleik-gan on the CPU only".into(),
            )),
            (TrainEngine::Fast | TrainEngine::Auto, true) => {
                let chain = &self.job.robot.chain;
                let trainer = FastTrainer::new(network, &self.io, chain, &config.loss, config.grad_clip_norm)?;
                Ok(Some(FastEngine { trainer, noise: ChaCha8Rng::seed_from_u64(config.seed ^ 0x0f_a57) }))
            }
        }
    }

    /// The loss parts of one step on `rows`, with the gradients ready to
    /// apply: kept inside the fast engine, or as burn's loss tensor.
    fn step_losses(
        &self,
        network: &Network,
        run: &mut Progress,
        rows: &[usize],
    ) -> Result<(LossParts, Pending), TrainError> {
        let Some(fast) = &mut run.fast else {
            let losses = self.training_losses(network, rows);
            let parts = losses.read(&losses.total)?;
            return Ok((parts, Pending::Burn(losses.total)));
        };
        let noise = self.io.noise.map(|spec| (spec, &mut fast.noise));
        let batch = run.batch.gather(&self.train, rows, self.variance_rows(), noise);
        Ok((fast.trainer.loss_and_gradients(&batch)?, Pending::InFastEngine))
    }

    /// `network` with the fast engine's weights, when it has one.
    fn synced(&self, network: Network, run: &Progress) -> Result<Network, TrainError> {
        match &run.fast {
            Some(fast) => fast.trainer.write_into(network),
            None => Ok(network),
        }
    }

    /// Rows of the generator's repeated pose per step (0: no spread term).
    fn variance_rows(&self) -> usize {
        let config = self.config;
        if config.model.is_generative() && config.loss.variance_weight > 0.0 {
            config.loss.variance_rows(config.batch_size)
        } else {
            0
        }
    }

    /// Divergence that a finite step loss does not show: a validation that is
    /// not finite, far worse than the best so far (or, before any epoch, the
    /// starting network), or, for a fresh network, worse than no training.
    fn validation_diverged(&self, validation: &Validation, run: &Progress) -> Option<String> {
        let values = [validation.loss, validation.position_mm, validation.orientation_deg];
        if !values.iter().all(|v| v.is_finite()) {
            return Some(format!("non-finite validation (loss {})", validation.loss));
        }
        let reference = run.best.as_ref().map_or(run.baseline_loss, |(loss, _)| *loss);
        let factor = self.config.val_explode_factor;
        if validation.loss > factor * reference {
            return Some(format!(
                "validation loss {:.4e} is above {factor} × the best so far ({reference:.4e})",
                validation.loss
            ));
        }
        if self.config.init_from.is_none() && validation.loss > run.baseline_loss {
            return Some(format!(
                "validation loss {:.4e} is worse than the untrained network's ({:.4e})",
                validation.loss, run.baseline_loss
            ));
        }
        None
    }

    /// Goes back to the last good state with a lower learning rate; an error
    /// once the restarts are used up (the best checkpoint stays as it was).
    fn roll_back(&self, run: &mut Progress, step: usize, reason: String) -> Result<Network, TrainError> {
        let record =
            self.restart(&mut run.history, run.epoch, step, reason, run.good.next_epoch, &mut run.lr_factor)?;
        self.send(TrainEvent::Restart(record));
        run.optimizer = run.good.optimizer.clone();
        run.fast = run.good.fast.clone();
        (run.epoch, run.ema, run.ema_steps) = (run.good.next_epoch, run.good.ema, 0);
        Ok(run.good.network.clone().train())
    }

    /// Records a validated epoch, keeps the best network (saving it when the
    /// run has a folder) and moves the good state on. True: stop early.
    fn end_epoch(
        &self,
        run: &mut Progress,
        steps: EpochSteps,
        validation: Validation,
        valid: Network,
    ) -> Result<bool, TrainError> {
        let config = self.config;
        run.train_seconds += steps.seconds_training;
        run.history.steps += steps.steps;
        run.history.samples_seen += steps.samples;
        let improved = run.best.as_ref().is_none_or(|(loss, _)| validation.loss < *loss);
        if improved {
            run.best = Some((validation.loss, valid.clone()));
            run.history.best_epoch = Some(run.epoch);
            run.since_improved = 0;
        } else {
            run.since_improved += 1;
        }
        let seconds = steps.started.elapsed().as_secs_f64();
        let done: f64 = run.history.epochs.iter().map(|r| r.seconds).sum::<f64>() + seconds;
        let per_step = 1.0 / steps.steps.max(1) as f64;
        let record = EpochRecord {
            epoch: run.epoch,
            train_loss: steps.sum.total * per_step,
            loss_parts: steps.sum.scaled(per_step),
            validation,
            learning_rate: steps.learning_rate,
            steps: steps.steps,
            seconds,
            samples_per_second: steps.samples as f64 / steps.seconds_training.max(1e-9),
            eta_seconds: done / (run.history.epochs.len() + 1) as f64 * (config.epochs - run.epoch - 1) as f64,
            improved,
        };
        run.history.epochs.push(record.clone());
        self.send(TrainEvent::Epoch(record));
        let best_loss = run.best.as_ref().map_or(f64::INFINITY, |(loss, _)| *loss);
        if improved
            && beats(run.to_beat.as_ref(), best_loss)
            && let Some(out) = &self.job.out
        {
            self.finish_history(&mut run.history, run.train_seconds, None);
            save_checkpoint(out, &self.card, &valid, Some(&run.history))?;
            run.checkpoint = Some(out.clone());
            self.send(TrainEvent::Checkpoint { epoch: run.epoch, path: out.clone() });
        }
        run.good = Snapshot {
            network: valid,
            optimizer: run.optimizer.clone(),
            fast: run.fast.clone(),
            next_epoch: run.epoch + 1,
            ema: run.ema,
        };
        run.epoch += 1;
        // The learning rate decays over the whole run: validation is still
        // noisy in the first half, so early stopping waits for the second.
        let settled = 2 * run.epoch >= config.epochs;
        let patience_over = config.early_stopping_patience.is_some_and(|p| run.since_improved >= p);
        Ok(settled && patience_over && run.epoch < config.epochs)
    }

    /// The outcome: the best network, saved once more with the full history.
    fn finish(&self, mut run: Progress, network: Network, stop: StopReason) -> Result<TrainOutcome, TrainError> {
        self.finish_history(&mut run.history, run.train_seconds, Some(stop));
        let best_loss = run.best.as_ref().map(|(loss, _)| *loss);
        let network = run.best.map_or_else(|| network.valid(), |(_, best)| best);
        let kept = run.to_beat.filter(|_| !best_loss.is_some_and(|loss| beats(run.to_beat.as_ref(), loss)));
        if let (Some(out), Some(_), None) = (&self.job.out, run.history.best_epoch, &kept) {
            save_checkpoint(out, &self.card, &network, Some(&run.history))?;
            run.checkpoint = Some(out.clone());
        }
        let history = run.history;
        let summary = TrainSummary {
            stop,
            epochs_run: history.epochs.len(),
            best_epoch: history.best_epoch,
            best: history.best().map(|r| r.validation),
            restarts: history.restarts.len(),
            wall_seconds: history.wall_seconds,
            samples_per_second: history.samples_per_second,
            checkpoint: run.checkpoint,
            kept,
        };
        self.send(match stop {
            StopReason::Cancelled => TrainEvent::Cancelled,
            _ => TrainEvent::Finished(summary.clone()),
        });
        Ok(TrainOutcome { card: self.card.clone(), network, history, summary })
    }

    /// The validation of the checkpoint already in the output folder when it is the
    /// same network for the same chain and inputs, so that a worse run never
    /// replaces a better checkpoint. A folder that does not load holds nothing to keep.
    fn checkpoint_to_beat(&self) -> Result<Option<Validation>, TrainError> {
        let Some(out) = &self.job.out else { return Ok(None) };
        if !out.join(CARD_FILE).is_file() {
            return Ok(None);
        }
        let Ok((card, network)) = read_checkpoint(out, &self.device) else { return Ok(None) };
        let ours = &self.card;
        let same = card.model == ours.model
            && card.architecture == ours.architecture
            && card.io == ours.io
            && card.chain == ours.chain;
        if !same {
            return Ok(None);
        }
        self.validate(&network.valid()).map(Some)
    }

    /// Records a rollback; refuses once the restarts are used up.
    fn restart(
        &self,
        history: &mut TrainHistory,
        epoch: usize,
        step: usize,
        reason: String,
        resume_epoch: usize,
        lr_factor: &mut f64,
    ) -> Result<RestartRecord, TrainError> {
        if history.restarts.len() >= self.config.max_restarts {
            return Err(TrainError::Diverged { restarts: history.restarts.len(), reason });
        }
        *lr_factor *= self.config.restart_lr_factor;
        let record = RestartRecord {
            epoch,
            step,
            reason,
            resume_epoch,
            lr_factor: *lr_factor,
            restarts: history.restarts.len() + 1,
        };
        history.restarts.push(record.clone());
        Ok(record)
    }

    fn empty_history(&self) -> TrainHistory {
        TrainHistory {
            model: self.config.model,
            preset: self.config.preset,
            robot: self.job.robot.name.clone(),
            dataset: self.identity.clone(),
            config: self.config.clone(),
            parameter_count: self.card.parameter_count,
            device: self.device_name(),
            threads: rayon::current_num_threads(),
            epochs: Vec::new(),
            restarts: Vec::new(),
            best_epoch: None,
            stop: None,
            steps: 0,
            samples_seen: 0,
            wall_seconds: 0.0,
            samples_per_second: 0.0,
        }
    }

    fn finish_history(&self, history: &mut TrainHistory, train_seconds: f64, stop: Option<StopReason>) {
        history.wall_seconds = self.started.elapsed().as_secs_f64();
        history.samples_per_second = history.samples_seen as f64 / train_seconds.max(1e-9);
        history.stop = stop;
    }

    /// Forward pass and losses of one training step on the autodiff device.
    fn training_losses(&self, network: &Network, indices: &[usize]) -> Losses {
        let repeated = self.variance_rows();
        // The generator's extra rows: the batch's first pose, repeated.
        let mut rows = indices.to_vec();
        rows.extend(std::iter::repeat_n(indices[0], repeated));
        let batch = self.train.gather(&rows, &self.device);
        let noise = self.io.noise.map(|spec| {
            Tensor::random([batch.rows, spec.dim], Distribution::Uniform(spec.low, spec.high), &self.device)
        });
        self.losses(network, batch, noise, repeated)
    }

    /// Losses of `batch`; the last `repeated` rows also give the variance term.
    fn losses(&self, network: &Network, batch: Batch, noise: Option<Tensor<2>>, repeated: usize) -> Losses {
        let loss = &self.config.loss;
        if self.config.model.is_supervised() {
            let joints = network.forward(batch.input);
            let joint_mse = mse(joints.clone(), batch.joints);
            return Losses {
                total: joint_mse.clone(),
                joint_mse: Some(joint_mse),
                position: None,
                rotation: None,
                zero: None,
                variance: None,
                joints,
            };
        }
        let input = match &noise {
            Some(z) => Tensor::cat(vec![batch.input, z.clone()], 1),
            None => batch.input,
        };
        let output = network.forward(input);
        let joints = self.io.decode(output.clone());
        let reached = self.fk.forward(joints.clone());
        let position = position_loss(loss.position, reached.position, batch.position);
        let rotation = rotation_loss(loss.rotation, reached.rotation, batch.rotation);
        let mut total =
            position.clone().mul_scalar(loss.position_weight) + rotation.clone().mul_scalar(loss.rotation_weight);
        let zero = (loss.zero_weight > 0.0 && !loss.zero_joints.is_empty())
            .then(|| zero_loss(joints.clone(), &loss.zero_joints));
        if let Some(z) = &zero {
            total = total + z.clone().mul_scalar(loss.zero_weight);
        }
        let variance = match (&noise, repeated) {
            (Some(z), r) if r >= 2 => {
                let start = batch.rows - r;
                Some(diversity_loss(loss.diversity, output.narrow(0, start, r), z.clone().narrow(0, start, r)))
            }
            _ => None,
        };
        if let Some(v) = &variance {
            total = total + v.clone().mul_scalar(loss.variance_weight);
        }
        Losses { total, joint_mse: None, position: Some(position), rotation: Some(rotation), zero, variance, joints }
    }

    /// Validation loss and f64-FK errors of an inference-mode network.
    fn validate(&self, network: &Network) -> Result<Validation, TrainError> {
        let chain = &self.job.robot.chain;
        let dof = chain.dof();
        // Fixed noise: validation of the generator is repeatable epoch to epoch.
        let mut rng = ChaCha8Rng::seed_from_u64(self.config.seed ^ 0x7a11d);
        let (mut loss_sum, mut pos_sum, mut rot_sum, mut successes) = (0.0, 0.0, 0.0, 0usize);
        let all: Vec<usize> = (0..self.val.len).collect();
        for chunk in all.chunks(VAL_CHUNK) {
            let batch = self.val.gather(chunk, &self.plain);
            let noise = self.io.noise.map(|spec| {
                let values: Vec<f32> =
                    (0..chunk.len() * spec.dim).map(|_| rng.random_range(spec.low..spec.high) as f32).collect();
                Tensor::from_data(TensorData::new(values, [chunk.len(), spec.dim]), &self.plain)
            });
            let losses = self.losses(network, batch, noise, 0);
            loss_sum += losses.read(&losses.total)?.total * chunk.len() as f64;
            let joints = read_f32(losses.joints)?;
            for (k, &i) in chunk.iter().enumerate() {
                let q: Vec<f64> = joints[k * dof..(k + 1) * dof].iter().map(|&v| v as f64).collect();
                let reached = chain.fk_unchecked(&q);
                let target = Pose::from_slice(&self.val_poses[i * 7..i * 7 + 7])
                    .ok_or_else(|| TrainError::InvalidConfig(format!("validation pose {i} is not a valid pose")))?
                    .to_isometry();
                let (mm, deg) = (position_error_mm(&reached, &target), orientation_error_deg(&reached, &target));
                pos_sum += mm;
                rot_sum += deg;
                successes += usize::from(Tolerance::SUCCESS.admits(mm, deg));
            }
        }
        let n = self.val.len as f64;
        Ok(Validation {
            loss: loss_sum / n,
            position_mm: pos_sum / n,
            orientation_deg: rot_sum / n,
            success_rate: successes as f64 / n,
            samples: self.val.len,
        })
    }
}

/// `Some(reason)` when a step loss is non-finite or far above its running mean.
fn diverged(loss: f64, ema: Option<f64>, ema_steps: usize, factor: f64) -> Option<String> {
    if !loss.is_finite() {
        return Some(format!("non-finite loss ({loss})"));
    }
    match ema {
        Some(mean) if ema_steps >= EXPLODE_WARMUP_STEPS && loss > factor * mean => {
            Some(format!("loss {loss:.4e} exploded above {factor} × its running mean {mean:.4e}"))
        }
        _ => None,
    }
}

/// The box around a dataset's positions, padded by 1 % (at least 1 mm) per axis.
fn bounding_box(poses: &[f64]) -> Workspace {
    let (mut min, mut max) = ([f64::INFINITY; 3], [f64::NEG_INFINITY; 3]);
    for pose in poses.chunks_exact(7) {
        for i in 0..3 {
            min[i] = min[i].min(pose[i]);
            max[i] = max[i].max(pose[i]);
        }
    }
    for i in 0..3 {
        let pad = (0.01 * (max[i] - min[i])).max(1e-3);
        min[i] -= pad;
        max[i] += pad;
    }
    Workspace::new("dataset-bounds", min, max)
}

/// The `--init-from` network, checked against this run: same chain, same
/// architecture and normalisation; an MLP gets the generator's noise inputs.
fn continued_network(
    job: &TrainJob,
    card: ModelCard,
    network: Network,
    architecture: &Architecture,
    io: &IoMapping,
) -> Result<Network, TrainError> {
    let robot = &job.robot;
    card.chain.check(&robot.name, &robot.chain)?;
    let noise_dim = architecture.noise_dim();
    if card.architecture.with_noise_dim(noise_dim) != *architecture
        || card.io.input != io.input
        || card.io.output != io.output
    {
        let path = job.config.init_from.as_deref().unwrap_or(std::path::Path::new("the checkpoint"));
        return Err(TrainError::InvalidConfig(format!(
            "{} has another architecture or normalisation than this run",
            path.display()
        )));
    }
    let seeds_generator = card.architecture.noise_dim() == 0 && noise_dim > 0;
    Ok(match network {
        Network::CycleIk(mlp) if seeds_generator => Network::CycleIk(mlp.with_noise_inputs(noise_dim)),
        network => network,
    })
}

/// Whether a validation loss beats the checkpoint kept in the output folder (if any).
fn beats(kept: Option<&Validation>, loss: f64) -> bool {
    kept.is_none_or(|kept| loss < kept.loss)
}
