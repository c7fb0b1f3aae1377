//! The Train window's Tune tab: a hyper-parameter study ([`ik_studio::tune`])
//! on a background thread. Pick model, data, trials and the search space,
//! start and stop it, watch the trials in a live table and the best value so
//! far on a curve; when the study ends its best checkpoint (`DIR/best`) joins
//! the solver list through [`ModelSaved`].
//!
//! The dataset is read or sampled off the main thread (as the Train tab does);
//! the study's events come back through a channel that a system drains.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_egui::egui;
use egui_plot::{Legend, Line, MarkerShape, Plot, Points};
use ik_studio::atomic_file::read_regular_to_string;
use ik_studio::models::{ModelKind, Preset};
use ik_studio::robots::Robot;
use ik_studio::tune::{
    self, SearchSpace, StudyMeta, TrialParams, TrialRecord, TrialState, TuneEvent, TuneHandle, TuneJob, TuneOutcome,
    study,
};

use super::file_field::{PathField, PathKind};
use super::flow::StudioSet;
use super::jobs::{JobSlot, Pool};
use super::robot::StudioRobot;
use super::solve::ModelSaved;
use super::train_panel::{dataset_rows, load_dataset, model_rows, preparing_status};

/// What the next study will be.
#[derive(Resource, Debug, Clone)]
pub struct TuneForm {
    pub model: ModelKind,
    pub preset: Preset,
    /// A dataset file; when absent, `samples` are drawn from the robot's largest workspace.
    pub dataset: Option<PathBuf>,
    pub samples: usize,
    /// Trials of the whole study (finished ones of an earlier run in `out` count).
    pub trials: usize,
    /// Epochs of a trial the pruner lets finish.
    pub epochs: usize,
    /// Trials trained at the same time.
    pub jobs: usize,
    pub seed: u64,
    /// A `--space` JSON file; the model's default space when absent.
    pub space: Option<PathBuf>,
    pub max_steps_per_epoch: Option<usize>,
    /// The study folder itself: an existing study of the same model is resumed.
    pub out: PathBuf,
    pub dataset_field: PathField,
    pub space_field: PathField,
    pub out_field: PathField,
}

impl Default for TuneForm {
    fn default() -> Self {
        Self {
            model: ModelKind::IknetOriginal,
            preset: Preset::Compact,
            dataset: None,
            samples: 100_000,
            trials: 20,
            epochs: 9,
            jobs: 1,
            seed: 0,
            space: None,
            max_steps_per_epoch: None,
            out: PathBuf::from("study"),
            dataset_field: PathField::default(),
            space_field: PathField::default(),
            out_field: PathField::default(),
        }
    }
}

#[derive(Message, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TuneCommand {
    Start,
    Stop,
}

/// Where a trial is, as the table shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowState {
    Running,
    /// Stopped by Stop; not recorded, a resume runs it again.
    Interrupted,
    Done(TrialState),
}

impl RowState {
    fn label(self) -> &'static str {
        match self {
            RowState::Running => "running",
            RowState::Interrupted => "interrupted",
            RowState::Done(TrialState::Complete) => "complete",
            RowState::Done(TrialState::Pruned) => "pruned",
            RowState::Done(TrialState::Failed) => "failed",
        }
    }

    fn color(self) -> egui::Color32 {
        match self {
            RowState::Running => egui::Color32::from_rgb(90, 160, 235),
            RowState::Interrupted => egui::Color32::from_rgb(235, 180, 40),
            RowState::Done(TrialState::Complete) => egui::Color32::from_rgb(80, 190, 100),
            RowState::Done(TrialState::Pruned) => egui::Color32::GRAY,
            RowState::Done(TrialState::Failed) => egui::Color32::from_rgb(225, 60, 60),
        }
    }
}

/// One line of the trial table.
#[derive(Debug, Clone, PartialEq)]
pub struct TrialRow {
    pub number: usize,
    pub state: RowState,
    /// Validation position error (mm): the best so far while running, the trial's value once done.
    pub value: Option<f64>,
    pub epochs: usize,
    pub params: TrialParams,
    /// Finished in an earlier run of the same study folder.
    pub resumed: bool,
}

impl TrialRow {
    fn from_record(record: &TrialRecord, resumed: bool) -> Self {
        Self {
            number: record.number,
            state: RowState::Done(record.state),
            value: record.value,
            epochs: record.epochs,
            params: record.params.clone(),
            resumed,
        }
    }

    fn finished(&self) -> bool {
        matches!(self.state, RowState::Done(_))
    }
}

/// The study being prepared, run, or last run, as the tab shows it.
#[derive(Resource, Default)]
pub struct TuneSession {
    /// In a mutex only because a channel receiver is not `Sync`.
    handle: Mutex<Option<TuneHandle>>,
    /// Reading or sampling the dataset, off the main thread, before the study starts.
    prep: JobSlot<(TuneForm, Robot), anyhow::Result<Prepared>>,
    /// Every trial seen, by number.
    pub trials: Vec<TrialRow>,
    /// Trials of the study.
    pub total: usize,
    pub status: String,
    /// The study folder.
    pub out: Option<PathBuf>,
    /// The best checkpoint, once announced to the solver list.
    pub best: Option<PathBuf>,
    started: Option<Instant>,
    /// The study's wall time once it ended.
    ended_after: Option<Duration>,
}

/// A study ready to start: the job, and the trials its folder already holds.
pub struct Prepared {
    job: TuneJob,
    earlier: Vec<TrialRecord>,
}

impl TuneSession {
    pub fn running(&self) -> bool {
        !self.prep.is_idle() || self.handle.lock().is_ok_and(|h| h.is_some())
    }

    fn row(&mut self, number: usize) -> &mut TrialRow {
        let at = match self.trials.binary_search_by_key(&number, |r| r.number) {
            Ok(at) => at,
            Err(at) => {
                let row = TrialRow {
                    number,
                    state: RowState::Running,
                    value: None,
                    epochs: 0,
                    params: TrialParams::new(),
                    resumed: false,
                };
                self.trials.insert(at, row);
                at
            }
        };
        &mut self.trials[at]
    }

    pub fn finished_count(&self) -> usize {
        self.trials.iter().filter(|r| r.finished()).count()
    }

    /// "5 of 20 trials · 1 running · 1 min 04 s"
    pub fn progress_text(&self) -> Option<String> {
        let elapsed = self.ended_after.or_else(|| self.started.map(|s| s.elapsed()))?;
        let running = self.trials.iter().filter(|r| r.state == RowState::Running).count();
        let mut text = format!("{} of {} trials", self.finished_count(), self.total);
        if running > 0 {
            text += &format!(" · {running} running");
        }
        text += &format!(" · {}", duration_text(elapsed.as_secs_f64()));
        Some(text)
    }

    /// (trial, best complete value so far) in trial order: the best-so-far curve.
    pub fn best_so_far(&self) -> Vec<[f64; 2]> {
        let mut best = f64::INFINITY;
        let mut curve = Vec::new();
        for row in &self.trials {
            if let (RowState::Done(TrialState::Complete), Some(value)) = (row.state, row.value) {
                best = best.min(value);
                curve.push([row.number as f64, best]);
            }
        }
        curve
    }

    /// (trial, value) of the finished trials in `state`.
    fn points(&self, state: TrialState) -> Vec<[f64; 2]> {
        self.trials
            .iter()
            .filter(|r| r.state == RowState::Done(state))
            .filter_map(|r| Some([r.number as f64, r.value?]))
            .collect()
    }
}

fn duration_text(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 60 { format!("{} min {:02} s", s / 60, s % 60) } else { format!("{s} s") }
}

/// An error as one status line.
fn one_line(text: String) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub struct TunePanelPlugin;

impl Plugin for TunePanelPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<TuneForm>()
            .init_resource::<TuneSession>()
            .add_message::<TuneCommand>()
            .add_systems(Update, run_commands.in_set(StudioSet::Request))
            .add_systems(Update, (start_prepared, drain_events).chain().in_set(StudioSet::Collect));
        // Drawn by the Train window's Tune tab (`TuneTab`).
    }
}

fn run_commands(
    mut commands: MessageReader<TuneCommand>,
    form: Res<TuneForm>,
    studio: Res<StudioRobot>,
    mut session: ResMut<TuneSession>,
) {
    for command in commands.read() {
        match command {
            TuneCommand::Stop => {
                if !session.prep.is_idle() {
                    // Still reading or sampling: nothing has started.
                    session.prep.clear();
                    session.status = "stopped before the study started".into();
                } else if let Some(handle) = session.handle.get_mut().ok().and_then(|h| h.as_ref()) {
                    handle.cancel();
                    session.status = "stopping: the running trials end at their next step…".into();
                }
            }
            TuneCommand::Start if session.running() => {}
            TuneCommand::Start => {
                let what = preparing_status(form.dataset.as_deref(), form.samples);
                *session = TuneSession { status: what, total: form.trials, ..default() };
                session.prep.submit(1, (form.clone(), (*studio.robot).clone()));
                session.prep.launch(Pool::Io, |(form, robot)| prepare(&form, robot));
            }
        }
    }
}

/// The study's space, data and folder checked and loaded; slow, so never in a frame.
fn prepare(form: &TuneForm, robot: Robot) -> anyhow::Result<Prepared> {
    ik_studio::train::check_trainable(&robot.chain)?;
    let space = match &form.space {
        Some(path) => {
            let text = read_regular_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            SearchSpace::from_json(form.model, &text).with_context(|| path.display().to_string())?
        }
        None => SearchSpace::default_for(form.model),
    };
    space.validate(form.model)?;
    // A folder of another study is refused before the data is sampled.
    let meta = StudyMeta {
        model: form.model,
        preset: form.preset,
        robot: robot.name.clone(),
        dataset: form.dataset.clone(),
        epochs: form.epochs.max(1),
        seed: form.seed,
        space: space.clone(),
        // Checked by the study itself once the data is read or drawn.
        data: None,
    };
    if let Some(found) = study::read_meta(&form.out)? {
        meta.check_same_study(&found, &form.out)?;
    }
    let dataset = load_dataset(form.dataset.as_deref(), form.samples, &robot)?;
    let job = TuneJob {
        robot,
        dataset: Arc::new(dataset),
        dataset_path: form.dataset.clone(),
        model: form.model,
        preset: form.preset,
        epochs: form.epochs.max(1),
        trials: form.trials.max(1),
        jobs: form.jobs.max(1),
        space,
        seed: form.seed,
        out: form.out.clone(),
        max_steps_per_epoch: form.max_steps_per_epoch,
        cancel: Default::default(),
    };
    Ok(Prepared { earlier: earlier_trials(&form.out), job })
}

/// The trials an earlier run of the study recorded (none when the folder has no readable log).
fn earlier_trials(dir: &Path) -> Vec<TrialRecord> {
    let path = dir.join(study::LOG_FILE);
    read_regular_to_string(&path)
        .ok()
        .and_then(|text| study::parse_log(&text, &path).ok())
        .map(|(records, _)| records)
        .unwrap_or_default()
}

/// The data is ready: the study starts on its own thread.
fn start_prepared(mut session: ResMut<TuneSession>) {
    let Some((_, prepared)) = session.prep.poll() else { return };
    match prepared {
        Ok(Prepared { job, earlier }) => {
            for record in earlier.iter().filter(|r| r.number < job.trials) {
                *session.row(record.number) = TrialRow::from_record(record, true);
            }
            session.total = job.trials;
            session.out = Some(job.out.clone());
            session.started = Some(Instant::now());
            session.handle = Mutex::new(Some(tune::spawn(job)));
            session.status = "starting…".into();
        }
        Err(e) => session.status = one_line(format!("cannot start: {e:#}")),
    }
}

fn drain_events(mut session: ResMut<TuneSession>, mut saved: MessageWriter<ModelSaved>) {
    let Some(handle) = session.handle.get_mut().ok().and_then(|h| h.as_ref()) else { return };
    // Finished first: once the thread is done, every event it sent is in the channel.
    let finished = handle.is_finished();
    let events: Vec<TuneEvent> = handle.events.try_iter().collect();
    for event in events {
        apply_event(&mut session, event);
    }
    if !finished {
        return;
    }
    let Some(handle) = session.handle.get_mut().ok().and_then(Option::take) else { return };
    session.ended_after = session.started.map(|s| s.elapsed());
    match handle.join() {
        Ok(outcome) => {
            session.status = outcome_text(&outcome);
            // The best model joins the solver list and the Compare window.
            let best = outcome.best.as_ref().and_then(|b| b.checkpoint.as_ref());
            if let (Some(_), Some(out)) = (best, &session.out) {
                let path = out.join(study::BEST_DIR);
                saved.write(ModelSaved(path.clone()));
                session.best = Some(path);
            }
        }
        Err(e) => session.status = one_line(format!("failed: {e}")),
    }
    for row in session.trials.iter_mut().filter(|r| r.state == RowState::Running) {
        row.state = RowState::Interrupted;
    }
}

fn apply_event(session: &mut TuneSession, event: TuneEvent) {
    match event {
        TuneEvent::Resumed { finished, pending, threads_per_trial } => {
            session.status = match finished {
                0 => format!("{pending} trials to run, {threads_per_trial} threads each"),
                _ => format!("resuming: {finished} trials finished, {pending} to run"),
            };
        }
        TuneEvent::TrialStarted { number, params } => {
            *session.row(number) =
                TrialRow { number, state: RowState::Running, value: None, epochs: 0, params, resumed: false };
            session.status = format!("trial {number} running");
        }
        TuneEvent::Epoch { number, epoch, value } => {
            let row = session.row(number);
            row.epochs = epoch + 1;
            row.value = value.is_finite().then_some(value);
        }
        TuneEvent::TrialFinished(record) => {
            *session.row(record.number) = TrialRow::from_record(&record, false);
            let value = record.value.map_or("–".into(), |v| format!("{v:.2} mm"));
            session.status = format!("trial {} {}: {value}", record.number, RowState::Done(record.state).label());
        }
        TuneEvent::TrialInterrupted { number } => session.row(number).state = RowState::Interrupted,
    }
}

fn outcome_text(outcome: &TuneOutcome) -> String {
    let mut text = if outcome.cancelled {
        format!("stopped after {} of the study's trials; Start with the same folder resumes it", outcome.trials.len())
    } else {
        format!("finished: {} trials in {:.0} s", outcome.trials.len(), outcome.wall_seconds)
    };
    match &outcome.best {
        Some(best) => text += &format!("; best: trial {} at {:.2} mm", best.number, best.value.unwrap_or(f64::NAN)),
        None => text += "; no trial completed",
    }
    text
}

/// What the Train window's Tune tab reads and writes.
#[derive(SystemParam)]
pub struct TuneTab<'w> {
    form: ResMut<'w, TuneForm>,
    session: Res<'w, TuneSession>,
    commands: MessageWriter<'w, TuneCommand>,
}

impl TuneTab<'_> {
    pub fn running(&self) -> bool {
        self.session.running()
    }

    pub fn show(&mut self, ui: &mut egui::Ui) {
        let running = self.session.running();
        ui.add_enabled_ui(!running, |ui| form_fields(ui, &mut self.form));
        ui.horizontal(|ui| {
            if running {
                if ui.button("Stop").clicked() {
                    self.commands.write(TuneCommand::Stop);
                }
            } else if ui.button("Start").clicked() {
                self.commands.write(TuneCommand::Start);
            }
            ui.label(&self.session.status);
        });
        let session = &*self.session;
        if let Some(text) = session.progress_text() {
            let share = session.finished_count() as f32 / session.total.max(1) as f32;
            ui.add(egui::ProgressBar::new(share).text(text));
        }
        if let Some(path) = &session.best {
            ui.small(format!("best model: {} (in the solver list)", path.display()));
        }
        trial_table(ui, session);
        Plot::new("tune-best")
            .height(180.0)
            .legend(Legend::default())
            .x_axis_label("trial")
            .y_axis_label("best validation error (mm)")
            .show(ui, |plot| {
                plot.line(Line::new("best so far", session.best_so_far()));
                for (name, state, shape) in [
                    ("complete", TrialState::Complete, MarkerShape::Circle),
                    ("pruned", TrialState::Pruned, MarkerShape::Cross),
                ] {
                    let color = RowState::Done(state).color();
                    plot.points(Points::new(name, session.points(state)).shape(shape).radius(3.0).color(color));
                }
            });
    }
}

fn trial_table(ui: &mut egui::Ui, session: &TuneSession) {
    if session.trials.is_empty() {
        return;
    }
    egui::ScrollArea::vertical().id_salt("tune-trials").max_height(150.0).show(ui, |ui| {
        egui::Grid::new("tune-trial-table").striped(true).num_columns(5).show(ui, |ui| {
            for title in ["#", "state", "value", "epochs", "params"] {
                ui.strong(title);
            }
            ui.end_row();
            for row in &session.trials {
                ui.label(row.number.to_string());
                let state =
                    if row.resumed { format!("{} (earlier)", row.state.label()) } else { row.state.label().into() };
                ui.colored_label(row.state.color(), state);
                ui.label(row.value.map_or("–".into(), |v| format!("{v:.2} mm")));
                ui.label(row.epochs.to_string());
                ui.label(key_params(&row.params)).on_hover_text(all_params(&row.params));
                ui.end_row();
            }
        });
    });
}

/// The parameters that tell trials apart at a glance: learning rate, batch, the hidden widths.
pub fn key_params(params: &TrialParams) -> String {
    let mut parts = Vec::new();
    if let Some(lr) = params.get("learning_rate") {
        parts.push(format!("lr {lr:.1e}"));
    }
    if let Some(batch) = params.get("batch_size") {
        parts.push(format!("batch {batch:.0}"));
    }
    let widths: Vec<String> =
        (1..).map_while(|k| params.get(&format!("width_{k}"))).map(|w| format!("{w:.0}")).collect();
    if !widths.is_empty() {
        parts.push(format!("net {}", widths.join("-")));
    }
    if let (Some(width), Some(blocks)) = (params.get("width"), params.get("blocks")) {
        parts.push(format!("{blocks:.0}×{width:.0}"));
    }
    if let Some(dropout) = params.get("dropout") {
        parts.push(format!("dropout {dropout:.2}"));
    }
    parts.join(" · ")
}

fn all_params(params: &TrialParams) -> String {
    params.iter().map(|(name, v)| format!("{name} = {v}")).collect::<Vec<_>>().join("\n")
}

fn form_fields(ui: &mut egui::Ui, form: &mut TuneForm) {
    egui::Grid::new("tune_form").num_columns(2).show(ui, |ui| {
        model_rows(ui, "tune", &mut form.model, &mut form.preset);
        dataset_rows(ui, "tune-data", &mut form.dataset, &mut form.samples, &mut form.dataset_field);
        ui.label("trials");
        ui.add(egui::DragValue::new(&mut form.trials).range(1..=100_000));
        ui.end_row();
        ui.label("epochs per trial");
        ui.add(egui::DragValue::new(&mut form.epochs).range(1..=1000));
        ui.end_row();
        ui.label("jobs");
        ui.add(egui::DragValue::new(&mut form.jobs).range(1..=256)).on_hover_text("trials trained at the same time");
        ui.end_row();
        ui.label("seed");
        ui.add(egui::DragValue::new(&mut form.seed));
        ui.end_row();
        ui.label("space");
        ui.horizontal(|ui| {
            match &form.space {
                Some(path) => ui.label(path.display().to_string()),
                None => ui.label(format!("default for {}", form.model)),
            };
            if form.space.is_some() && ui.button("Default").clicked() {
                form.space = None;
            }
        });
        ui.end_row();
        ui.label("");
        if let Some(path) = form.space_field.show(ui, "tune-space", "Open…", PathKind::Open("search space", &["json"]))
        {
            form.space = Some(path);
        }
        ui.end_row();
        ui.label("study folder");
        ui.label(form.out.display().to_string()).on_hover_text("an existing study of the same model is resumed");
        ui.end_row();
        ui.label("");
        if let Some(dir) = form.out_field.show(ui, "tune-out", "Choose…", PathKind::OutFolder) {
            form.out = dir;
        }
        ui.end_row();
    });
}
