//! Hyper-parameter search as CycleIK and IKNet did it with Optuna: a
//! Tree-structured Parzen Estimator proposes trials ([`TpeSampler`], the
//! first trial being the preset itself), Hyperband stops the poor ones at
//! epoch rungs ([`Hyperband`]) on the validation position error, and every
//! finished trial is one line of `DIR/study.jsonl`, so a killed study resumes
//! where it stopped ([`study`]). The best complete trial's checkpoint is
//! copied to `DIR/best`; `DIR/summary.md` and `DIR/history.png` describe
//! the study ([`report`]).
//!
//! Trials run `jobs` at a time, each in its own rayon pool with an equal
//! share of the threads.
//!
//! A study stops when [`TuneJob::cancel`] is set (or [`TuneHandle::cancel`] is
//! called): no trial starts after that, the running ones stop at their next
//! training step, and those are not written to `study.jsonl` (their folders
//! are removed), so a resume runs them again from the start.

mod pruner;
mod report;
mod sampler;
mod space;
pub mod study;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::Instant;

use thiserror::Error;

pub use pruner::{Decision, Hyperband, Rungs};
pub use report::{HISTORY_PLOT, SUMMARY_FILE, best_trial, summary_markdown, write_report};
pub use sampler::TpeSampler;
pub use space::{Baseline, MAX_LAYERS, ParamRange, SearchSpace, TrialParams, params_from_json};
pub use study::{StudyLog, StudyMeta, TrialRecord, TrialState};

use crate::data::{DataError, Dataset};
use crate::models::{ModelError, ModelKind, Preset, cpu_device, read_checkpoint, save_checkpoint};
use crate::robots::Robot;
use crate::train::{
    DatasetIdentity, EpochControl, EpochRecord, StopReason, TrainError, TrainJob, TrainOutcome, read_history,
    train_observed,
};

#[derive(Debug, Error)]
pub enum TuneError {
    #[error("{0}")]
    InvalidJob(String),
    #[error("search space: {0}")]
    Space(String),
    #[error("{0}")]
    ForeignStudy(String),
    #[error("{path}: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("study report: {0}")]
    Report(String),
    #[error("the study's thread panicked: {0}")]
    Panicked(String),
    #[error(transparent)]
    Model(#[from] ModelError),
    #[error(transparent)]
    Data(#[from] DataError),
}

impl TuneError {
    fn io(path: &Path, source: std::io::Error) -> Self {
        TuneError::Io { path: path.to_path_buf(), source }
    }
}

/// A study to run (or resume, with the same `out`).
#[derive(Debug, Clone)]
pub struct TuneJob {
    pub robot: Robot,
    pub dataset: Arc<Dataset>,
    pub dataset_path: Option<PathBuf>,
    pub model: ModelKind,
    pub preset: Preset,
    /// Epochs of a trial that is not pruned (Hyperband's maximum resource).
    pub epochs: usize,
    /// Trials of the whole study, those of earlier runs included.
    pub trials: usize,
    /// Trials trained at the same time.
    pub jobs: usize,
    pub space: SearchSpace,
    /// Seeds the sampler and every trial's training.
    pub seed: u64,
    pub out: PathBuf,
    /// Cap on steps per epoch (quick studies and tests).
    pub max_steps_per_epoch: Option<usize>,
    /// Set to stop the study: no trial starts after it, running trials stop
    /// at their next step and are left out of the log (a resume redoes them).
    pub cancel: Arc<AtomicBool>,
}

/// Progress of a study, reported from the worker threads.
#[derive(Debug, Clone)]
pub enum TuneEvent {
    /// Trials found finished in `study.jsonl` (skipped).
    Resumed {
        finished: usize,
        pending: usize,
        threads_per_trial: usize,
    },
    TrialStarted {
        number: usize,
        params: TrialParams,
    },
    /// A trial's value after an epoch (what the pruner judges).
    Epoch {
        number: usize,
        epoch: usize,
        value: f64,
    },
    TrialFinished(TrialRecord),
    /// A trial stopped by [`TuneJob::cancel`]: not recorded, a resume runs it again.
    TrialInterrupted {
        number: usize,
    },
}

/// A finished study.
#[derive(Debug, Clone)]
pub struct TuneOutcome {
    /// Every trial of the study, by number.
    pub trials: Vec<TrialRecord>,
    /// Trials that were already finished when this run started.
    pub resumed: usize,
    pub best: Option<TrialRecord>,
    /// `summary.md` and `history.png`.
    pub reports: Vec<PathBuf>,
    pub wall_seconds: f64,
    /// Stopped by [`TuneJob::cancel`] before every trial was recorded.
    pub cancelled: bool,
}

/// A study on its own thread: read `events`, call `cancel()` to stop it,
/// `join()` once `is_finished()` for the outcome.
pub struct TuneHandle {
    pub events: Receiver<TuneEvent>,
    cancel: Arc<AtomicBool>,
    thread: JoinHandle<Result<TuneOutcome, TuneError>>,
}

impl TuneHandle {
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }

    pub fn join(self) -> Result<TuneOutcome, TuneError> {
        self.thread.join().unwrap_or_else(|panic| Err(TuneError::Panicked(crate::train::panic_message(panic))))
    }
}

/// Runs the study of `job` on a new thread; its events arrive on the handle's channel.
pub fn spawn(job: TuneJob) -> TuneHandle {
    let (sender, events) = mpsc::channel();
    let cancel = job.cancel.clone();
    let thread = std::thread::Builder::new()
        .name("ik-studio-tune".into())
        .spawn(move || {
            tune(&job, &|event| {
                // A dropped receiver only means nobody listens any more.
                let _ = sender.send(event);
            })
        })
        // Only the OS refusing a thread (out of resources) fails here, as for `train::spawn`.
        .expect("the OS can start a thread");
    TuneHandle { events, cancel, thread }
}

/// Runs the study of `job`; `on_event` hears its progress (from several threads).
pub fn tune(job: &TuneJob, on_event: &(dyn Fn(TuneEvent) + Sync)) -> Result<TuneOutcome, TuneError> {
    let started = Instant::now();
    check_job(job)?;
    let meta = open_study(job)?;
    let (log, mut records) = StudyLog::open(&job.out)?;
    records.sort_by_key(|r| r.number);
    records.dedup_by_key(|r| r.number);
    let baseline = Baseline::new(job.model, job.preset, job.robot.chain.dof(), job.epochs)?;
    let space = space::with_steps(&job.space, job.model);
    let pruner = Hyperband::new(job.epochs);
    let mut sampler = TpeSampler::new(&space, job.seed);
    let mut rungs = Rungs::default();
    for record in &records {
        sampler.tell(&record.params, told_value(record));
        pruner.replay(&mut rungs, record.number, &record.curve);
    }
    let pending: VecDeque<usize> = (0..job.trials).filter(|n| records.iter().all(|r| r.number != *n)).collect();
    let threads_per_trial = (rayon::current_num_threads() / job.jobs).max(1);
    on_event(TuneEvent::Resumed { finished: records.len(), pending: pending.len(), threads_per_trial });
    let resumed = records.len();
    let study = Study {
        job,
        baseline,
        space,
        pruner,
        log,
        threads_per_trial,
        on_event,
        shared: Mutex::new(Shared { pending, sampler, records, error: None }),
        rungs: Mutex::new(rungs),
    };
    let workers = job.jobs.min(study.pending_count()).max(1);
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| study.work());
        }
    });
    let Shared { records, error, .. } = study.shared.into_inner().unwrap_or_else(|p| p.into_inner());
    if let Some(error) = error {
        return Err(error);
    }
    let best = best_trial(&records).cloned();
    if let Some(best) = &best {
        publish_best(&job.out, best)?;
    }
    let wall_seconds = started.elapsed().as_secs_f64();
    let reports = write_report(&job.out, &meta, &records, &pruner, wall_seconds)?;
    let cancelled = (0..job.trials).any(|n| records.binary_search_by_key(&n, |r| r.number).is_err());
    Ok(TuneOutcome { trials: records, resumed, best, reports, wall_seconds, cancelled })
}

fn check_job(job: &TuneJob) -> Result<(), TuneError> {
    if job.trials == 0 {
        return Err(TuneError::InvalidJob("a study needs at least 1 trial".into()));
    }
    if job.jobs == 0 || job.epochs == 0 {
        return Err(TuneError::InvalidJob("jobs and epochs must be at least 1".into()));
    }
    job.space.validate(job.model)?;
    job.dataset.meta.check_robot(&job.robot)?;
    Ok(())
}

/// Creates the study folder, or checks that an existing one holds this study.
fn open_study(job: &TuneJob) -> Result<StudyMeta, TuneError> {
    let meta = StudyMeta {
        model: job.model,
        preset: job.preset,
        robot: job.robot.name.clone(),
        dataset: job.dataset_path.clone(),
        epochs: job.epochs,
        seed: job.seed,
        space: job.space.clone(),
        data: Some(DatasetIdentity::of(&job.dataset, job.dataset_path.clone())),
    };
    match study::read_meta(&job.out)? {
        Some(found) => {
            meta.check_same_study(&found, &job.out)?;
            Ok(found)
        }
        None => {
            std::fs::create_dir_all(&job.out).map_err(|e| TuneError::io(&job.out, e))?;
            study::write_meta(&job.out, &meta)?;
            Ok(meta)
        }
    }
}

/// What the sampler learns from a finished trial: its value, and for a
/// failed one a value worse than any.
fn told_value(record: &TrialRecord) -> f64 {
    match (record.state, record.value) {
        (TrialState::Failed, _) | (_, None) => f64::INFINITY,
        (_, Some(v)) => v,
    }
}

/// Copies a trial's checkpoint to `DIR/best` (a crash-safe save).
fn publish_best(dir: &Path, record: &TrialRecord) -> Result<(), TuneError> {
    let Some(checkpoint) = &record.checkpoint else { return Ok(()) };
    let from = dir.join(checkpoint);
    let (card, network) = read_checkpoint(&from, &cpu_device())?;
    let history = read_history(&from)?;
    save_checkpoint(&dir.join(study::BEST_DIR), &card, &network, Some(&history))?;
    Ok(())
}

/// The state the workers share.
struct Shared {
    pending: VecDeque<usize>,
    sampler: TpeSampler,
    records: Vec<TrialRecord>,
    /// The first error that stops the study (the log or `best/` cannot be written).
    error: Option<TuneError>,
}

struct Study<'a> {
    job: &'a TuneJob,
    baseline: Baseline,
    space: SearchSpace,
    pruner: Hyperband,
    log: StudyLog,
    threads_per_trial: usize,
    on_event: &'a (dyn Fn(TuneEvent) + Sync),
    shared: Mutex<Shared>,
    rungs: Mutex<Rungs>,
}

impl Study<'_> {
    fn shared(&self) -> std::sync::MutexGuard<'_, Shared> {
        // A worker that panicked left consistent data: every change is one assignment.
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn pending_count(&self) -> usize {
        self.shared().pending.len()
    }

    fn cancelled(&self) -> bool {
        self.job.cancel.load(Ordering::Relaxed)
    }

    /// Takes trials until none is left or the study is cancelled, running each and recording it.
    fn work(&self) {
        while !self.cancelled()
            && let Some((number, params)) = self.next_trial()
        {
            (self.on_event)(TuneEvent::TrialStarted { number, params: params.clone() });
            let Some(record) = self.run_trial(number, params) else {
                (self.on_event)(TuneEvent::TrialInterrupted { number });
                continue;
            };
            if let Err(error) = self.record(&record) {
                let mut shared = self.shared();
                shared.pending.clear();
                shared.error.get_or_insert(error);
                return;
            }
            (self.on_event)(TuneEvent::TrialFinished(record));
        }
    }

    /// The next trial's number and values: the preset for trial 0, TPE's proposal otherwise.
    fn next_trial(&self) -> Option<(usize, TrialParams)> {
        let mut shared = self.shared();
        let number = shared.pending.pop_front()?;
        let params = if number == 0 {
            self.baseline.params(&self.space)
        } else {
            self.baseline.used(shared.sampler.ask(number))
        };
        Some((number, params))
    }

    /// Appends the trial to the log, tells the sampler and keeps `best/` current.
    fn record(&self, record: &TrialRecord) -> Result<(), TuneError> {
        let mut shared = self.shared();
        let was_best = best_trial(&shared.records).and_then(|r| r.value);
        self.log.append(record)?;
        shared.sampler.tell(&record.params, told_value(record));
        shared.records.push(record.clone());
        shared.records.sort_by_key(|r| r.number);
        let is_best = best_trial(&shared.records).is_some_and(|b| b.number == record.number);
        if is_best && was_best.is_none_or(|v| record.value.is_some_and(|new| new < v)) {
            publish_best(&self.job.out, record)?;
        }
        Ok(())
    }

    /// Trains one trial in its own thread pool, reporting each epoch to the
    /// pruner; `None` when the study was cancelled during the trial (its folder
    /// is removed: it is run again on resume).
    fn run_trial(&self, number: usize, params: TrialParams) -> Option<TrialRecord> {
        let started = Instant::now();
        let checkpoint = study::trial_dir(number);
        // A folder of an unrecorded trial is left by a kill: it must not count as a checkpoint to beat.
        let folder = self.job.out.join(&checkpoint);
        remove_trial_folder(&folder);
        let mut record = TrialRecord {
            number,
            params,
            state: TrialState::Failed,
            value: None,
            epochs: 0,
            seconds: 0.0,
            checkpoint: None,
            curve: Vec::new(),
            error: None,
        };
        let result = self.train_trial(number, &record.params, &checkpoint, &mut record.curve);
        record.seconds = started.elapsed().as_secs_f64();
        match result {
            Ok((outcome, _)) if outcome.summary.stop == StopReason::Cancelled => {
                remove_trial_folder(&folder);
                return None;
            }
            Ok((outcome, pruned)) => {
                let summary = &outcome.summary;
                record.epochs = summary.epochs_run;
                record.value = summary.best.map(|v| v.position_mm);
                record.checkpoint = summary.checkpoint.is_some().then_some(checkpoint);
                record.state = match (record.value, pruned) {
                    (None, _) => TrialState::Failed,
                    (Some(_), true) => TrialState::Pruned,
                    (Some(_), false) => TrialState::Complete,
                };
                if record.value.is_none() {
                    record.error = Some("no epoch finished".into());
                }
            }
            Err(error) => {
                record.epochs = record.curve.len();
                record.error = Some(error);
            }
        }
        Some(record)
    }

    /// The training run of a trial; true when the pruner stopped it.
    fn train_trial(
        &self,
        number: usize,
        params: &TrialParams,
        checkpoint: &str,
        curve: &mut Vec<f64>,
    ) -> Result<(TrainOutcome, bool), String> {
        let job = self.job;
        let mut config = self.baseline.config_for(params).map_err(|e| e.to_string())?;
        config.seed = job.seed;
        config.max_steps_per_epoch = job.max_steps_per_epoch;
        let train_job = TrainJob {
            robot: job.robot.clone(),
            dataset: job.dataset.clone(),
            dataset_path: job.dataset_path.clone(),
            config,
            out: Some(job.out.join(checkpoint)),
        };
        // Nobody reads the step events: a closed channel drops them.
        let (events, _) = mpsc::channel();
        let cancel = &*job.cancel;
        let mut pruned = false;
        let mut best_mm = None;
        let mut observe = |epoch: &EpochRecord| {
            // The value of the network the checkpoint keeps: the best epoch's.
            if epoch.improved || best_mm.is_none() {
                best_mm = Some(epoch.validation.position_mm);
            }
            let value = best_mm.unwrap_or(f64::INFINITY);
            curve.push(value);
            (self.on_event)(TuneEvent::Epoch { number, epoch: epoch.epoch, value });
            let mut rungs = self.rungs.lock().unwrap_or_else(|p| p.into_inner());
            match self.pruner.report(&mut rungs, number, epoch.epoch + 1, value) {
                Decision::Continue => EpochControl::Continue,
                Decision::Prune => {
                    pruned = true;
                    EpochControl::Stop
                }
            }
        };
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads_per_trial)
            .thread_name(move |i| format!("ik-studio-trial-{number}-{i}"))
            .build()
            .map_err(|e| format!("cannot start the trial's threads: {e}"))?;
        let outcome = pool
            .install(|| train_observed(&train_job, &events, cancel, &mut observe))
            .map_err(|e: TrainError| e.to_string())?;
        Ok((outcome, pruned))
    }
}

/// Removes the folder of a trial that is not (or not yet) in the log.
fn remove_trial_folder(folder: &Path) {
    // Absent is the usual case; a folder that cannot be removed is overwritten by the save.
    let _ = std::fs::remove_dir_all(folder);
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;
    use crate::data::{SampleConfig, sample_dataset};

    /// A quick study of OMX's IKNet: 2 epochs of 4 steps per trial on 1500 samples.
    fn quick_job(out: &Path, trials: usize) -> TuneJob {
        let robot = crate::robots::builtin("omx").unwrap();
        let config = SampleConfig { val_fraction: 0.1, check_collisions: false, ..SampleConfig::new(1500, 3) };
        let (dataset, _) = sample_dataset(&robot, &robot.default_workspace().clone(), &config, &|_| {}).unwrap();
        TuneJob {
            robot,
            dataset: Arc::new(dataset),
            dataset_path: None,
            model: ModelKind::IknetOriginal,
            preset: Preset::Compact,
            epochs: 2,
            trials,
            jobs: 1,
            space: SearchSpace::default_for(ModelKind::IknetOriginal),
            seed: 7,
            out: out.to_path_buf(),
            max_steps_per_epoch: Some(4),
            cancel: Default::default(),
        }
    }

    fn logged_numbers(out: &Path) -> Vec<usize> {
        let (_, records) = StudyLog::open(out).unwrap();
        let mut numbers: Vec<usize> = records.iter().map(|r| r.number).collect();
        numbers.sort();
        numbers
    }

    #[test]
    fn a_cancelled_study_leaves_the_running_trial_out_of_the_log_and_a_resume_redoes_it() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("study");
        let job = quick_job(&out, 4);
        // Stop as trial 1 starts (its run stops at its first step; stopping at an epoch's end
        // could meet the pruner's own stop).
        let (sender, events) = mpsc::channel();
        let sender = Mutex::new(sender);
        let cancel = job.cancel.clone();
        let outcome = tune(&job, &|event| {
            if let TuneEvent::TrialStarted { number: 1, .. } = event {
                cancel.store(true, Ordering::Relaxed);
            }
            sender.lock().unwrap().send(event).unwrap();
        })
        .unwrap();
        let events: Vec<TuneEvent> = events.try_iter().collect();
        assert!(outcome.cancelled);
        assert_eq!(outcome.trials.iter().map(|r| r.number).collect::<Vec<_>>(), [0]);
        assert!(events.iter().any(|e| matches!(e, TuneEvent::TrialInterrupted { number: 1 })), "{events:?}");
        assert!(
            !events.iter().any(|e| matches!(e, TuneEvent::TrialStarted { number: 2, .. })),
            "no trial after the stop"
        );
        assert_eq!(logged_numbers(&out), [0]);
        assert!(!out.join(study::trial_dir(1)).exists(), "the interrupted trial's folder is removed");
        assert!(out.join(study::BEST_DIR).join("card.json").is_file(), "trial 0 is the best so far");

        // Resuming runs trials 1 to 3; the log holds each trial once.
        let job = TuneJob { cancel: Default::default(), ..job };
        let outcome = tune(&job, &|_| {}).unwrap();
        assert!(!outcome.cancelled);
        assert_eq!(outcome.resumed, 1);
        assert_eq!(outcome.trials.len(), 4);
        assert_eq!(logged_numbers(&out), [0, 1, 2, 3]);
    }

    #[test]
    fn a_study_cancelled_before_it_starts_runs_no_trial_and_a_spawned_one_reports_through_its_handle() {
        let dir = tempfile::tempdir().unwrap();
        let job = quick_job(&dir.path().join("a"), 3);
        job.cancel.store(true, Ordering::Relaxed);
        let outcome = tune(&job, &|_| {}).unwrap();
        assert!(outcome.cancelled && outcome.trials.is_empty() && outcome.best.is_none());

        let job = TuneJob { out: dir.path().join("b"), cancel: Default::default(), trials: 2, ..job };
        let handle = spawn(job);
        let outcome = handle_join(handle);
        assert_eq!(outcome.0.trials.len(), 2);
        let finished = outcome.1.iter().filter(|e| matches!(e, TuneEvent::TrialFinished(_))).count();
        assert_eq!(finished, 2);
    }

    fn handle_join(handle: TuneHandle) -> (TuneOutcome, Vec<TuneEvent>) {
        while !handle.is_finished() {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let events: Vec<TuneEvent> = handle.events.try_iter().collect();
        (handle.join().unwrap(), events)
    }
}
