//! The Train window: pick model, preset, data and hyper-parameters, start and
//! stop a training run on a background thread, watch loss and validation
//! curves live (restarts marked), and find the checkpoint where it was saved.
//! Its Tune tab is [`super::tune_panel`]'s hyper-parameter search.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};
use egui_plot::{Legend, Line, Plot, VLine};
use ik_studio::data::{self, Dataset, SampleConfig};
use ik_studio::models::{ModelKind, Preset};
use ik_studio::robots::Robot;
use ik_studio::train::{self, TrainConfig, TrainEvent, TrainHandle, TrainJob};

use super::file_field::{PathField, PathKind};
use super::flow::StudioSet;
use super::jobs::{JobSlot, Pool};
use super::robot::StudioRobot;
use super::solve::ModelSaved;
use super::tune_panel::TuneTab;

/// The Train window's two tabs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TrainTab {
    #[default]
    Train,
    Tune,
}

/// What the next run will be.
#[derive(Resource, Debug, Clone)]
pub struct TrainForm {
    pub open: bool,
    pub tab: TrainTab,
    pub model: ModelKind,
    pub preset: Preset,
    /// A dataset file; when absent, `samples` are drawn from the robot's largest workspace.
    pub dataset: Option<PathBuf>,
    pub samples: usize,
    pub epochs: usize,
    pub batch_size: Option<usize>,
    pub learning_rate: Option<f64>,
    pub max_steps_per_epoch: Option<usize>,
    pub out: PathBuf,
    pub dataset_field: PathField,
    pub out_field: PathField,
}

impl Default for TrainForm {
    fn default() -> Self {
        Self {
            open: false,
            tab: TrainTab::Train,
            model: ModelKind::CycleikMlp,
            preset: Preset::Compact,
            dataset: None,
            samples: 100_000,
            epochs: 10,
            batch_size: None,
            learning_rate: None,
            max_steps_per_epoch: None,
            out: PathBuf::from("trained"),
            dataset_field: PathField::default(),
            out_field: PathField::default(),
        }
    }
}

#[derive(Message, Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrainCommand {
    Start,
    Stop,
}

/// The run in progress (or the last one) as the window shows it.
#[derive(Resource, Default)]
pub struct TrainSession {
    /// In a mutex only because a channel receiver is not `Sync`.
    handle: Mutex<Option<TrainHandle>>,
    /// (global step, loss) of every step.
    pub steps: Vec<[f64; 2]>,
    /// (epoch, validation mm) per epoch.
    pub validation_mm: Vec<[f64; 2]>,
    /// Global steps where training restarted after divergence.
    pub restarts: Vec<f64>,
    pub status: String,
    pub checkpoint: Option<PathBuf>,
    steps_per_epoch: usize,
    /// Epochs of the run, the last (epoch, step) seen (0-based) and when training began: the progress bar.
    epochs: usize,
    position: Option<(usize, usize)>,
    started: Option<Instant>,
    /// Reading or sampling the dataset, off the main thread, before the run starts.
    prep: JobSlot<(TrainForm, Robot), anyhow::Result<TrainJob>>,
}

impl TrainSession {
    pub fn running(&self) -> bool {
        !self.prep.is_idle() || self.handle.lock().is_ok_and(|h| h.is_some())
    }

    /// Share of the run's steps done, once the first step is in.
    pub fn progress(&self) -> Option<f64> {
        let (epoch, step) = self.position?;
        let total = self.epochs * self.steps_per_epoch;
        let done = epoch * self.steps_per_epoch + step + 1;
        (total > 0).then(|| (done as f64 / total as f64).min(1.0))
    }

    /// "epoch 3/10 · step 412/1,391 · 27 % · 1 min 52 s left": the time left from the mean pace
    /// since the start, so it does not flicker with each step's time.
    fn progress_text(&self) -> Option<String> {
        let progress = self.progress()?;
        let (epoch, step) = self.position?;
        let mut text = format!(
            "epoch {}/{} · step {}/{} · {:.0} %",
            epoch + 1,
            self.epochs,
            step + 1,
            self.steps_per_epoch,
            progress * 100.0
        );
        if let Some(started) = self.started.filter(|_| self.running() && progress < 1.0) {
            let elapsed = started.elapsed().as_secs_f64();
            text += &format!(" · {} left", duration_text(elapsed / progress - elapsed));
        }
        Some(text)
    }
}

fn duration_text(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    if s >= 60 { format!("{} min {:02} s", s / 60, s % 60) } else { format!("{s} s") }
}

pub struct TrainPanelPlugin;

impl Plugin for TrainPanelPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<TrainForm>()
            .init_resource::<TrainSession>()
            .add_message::<TrainCommand>()
            .add_systems(Update, run_commands.in_set(StudioSet::Request))
            .add_systems(Update, (start_prepared, drain_events).chain().in_set(StudioSet::Collect))
            .add_systems(EguiPrimaryContextPass, draw_train_window);
    }
}

fn run_commands(
    mut commands: MessageReader<TrainCommand>,
    form: Res<TrainForm>,
    studio: Res<StudioRobot>,
    mut session: ResMut<TrainSession>,
) {
    for command in commands.read() {
        match command {
            TrainCommand::Stop => {
                if let Some(handle) = session.handle.get_mut().ok().and_then(|h| h.as_ref()) {
                    handle.cancel();
                    session.status = "stopping…".into();
                }
            }
            TrainCommand::Start if session.running() => {}
            TrainCommand::Start => {
                let what = preparing_status(form.dataset.as_deref(), form.samples);
                *session = TrainSession { status: what, ..default() };
                session.prep.submit(1, (form.clone(), (*studio.robot).clone()));
                session.prep.launch(Pool::Io, |(form, robot)| prepare(&form, robot));
            }
        }
    }
}

/// The dataset is ready: the run starts on its own thread.
fn start_prepared(mut session: ResMut<TrainSession>) {
    let Some((_, prepared)) = session.prep.poll() else { return };
    match prepared {
        Ok(job) => {
            session.handle = Mutex::new(Some(train::spawn(job)));
            session.status = "starting…".into();
        }
        Err(e) => session.status = format!("cannot start: {e}"),
    }
}

/// The run's dataset (read or sampled) and configuration; slow, so never in a frame.
fn prepare(form: &TrainForm, robot: Robot) -> anyhow::Result<TrainJob> {
    let dataset = load_dataset(form.dataset.as_deref(), form.samples, &robot)?;
    let mut config = TrainConfig::new(form.model, form.preset)?;
    config.epochs = form.epochs.max(1);
    config.max_steps_per_epoch = form.max_steps_per_epoch;
    if let Some(b) = form.batch_size {
        config.batch_size = b;
    }
    if let Some(lr) = form.learning_rate {
        config.learning_rate = lr;
    }
    let out = form.out.join(&robot.name).join(form.model.to_string());
    Ok(TrainJob { robot, dataset: Arc::new(dataset), dataset_path: form.dataset.clone(), config, out: Some(out) })
}

/// The dataset file for `robot`, or `samples` (at least 100) drawn from its largest workspace.
pub(super) fn load_dataset(file: Option<&Path>, samples: usize, robot: &Robot) -> anyhow::Result<Dataset> {
    Ok(match file {
        Some(path) => {
            let d = data::read_dataset(path)?;
            d.meta.check_robot(robot)?;
            d
        }
        None => {
            let ws = robot.default_workspace().clone();
            data::sample_dataset(robot, &ws, &SampleConfig::new(samples.max(100), 0), &|_| {})?.0
        }
    })
}

fn drain_events(mut session: ResMut<TrainSession>, mut saved: MessageWriter<ModelSaved>) {
    let Some(handle) = session.handle.get_mut().ok().and_then(|h| h.as_ref()) else { return };
    // Finished first: once the thread is done, every event it sent is in the channel.
    let finished = handle.is_finished();
    let events: Vec<TrainEvent> = handle.events.try_iter().collect();
    for event in events {
        match event {
            TrainEvent::Started { epochs, .. } => {
                session.status = "training".into();
                session.epochs = epochs;
                session.started = Some(Instant::now());
            }
            TrainEvent::Step { epoch, step, global_step, loss, steps_per_epoch, .. } => {
                session.steps_per_epoch = steps_per_epoch;
                session.position = Some((epoch, step));
                session.steps.push([global_step as f64, loss.total]);
            }
            TrainEvent::Epoch(record) => {
                session.validation_mm.push([record.epoch as f64 + 1.0, record.validation.position_mm]);
                session.status = format!(
                    "epoch {}: validation {:.2} mm {:.2}°, success {:.1} %",
                    record.epoch + 1,
                    record.validation.position_mm,
                    record.validation.orientation_deg,
                    record.validation.success_rate * 100.0,
                );
            }
            TrainEvent::Restart(r) => {
                session.restarts.push(r.step as f64);
                session.status = format!("restart {} after divergence: {}", r.restarts, r.reason);
            }
            TrainEvent::Checkpoint { path, .. } => session.checkpoint = Some(path),
            TrainEvent::Finished(summary) => {
                session.status = format!(
                    "finished: {} epochs, {} restarts, {:.0} s",
                    summary.epochs_run, summary.restarts, summary.wall_seconds
                );
                if let Some(kept) = &summary.kept {
                    session.status += &format!(
                        "; the checkpoint already in the folder is better ({:.2} mm) and was kept",
                        kept.position_mm
                    );
                }
                session.checkpoint = summary.checkpoint.or(session.checkpoint.take());
                // The new model joins the solver list and the Compare window.
                if let Some(path) = &session.checkpoint {
                    saved.write(ModelSaved(path.clone()));
                }
            }
            TrainEvent::Cancelled => session.status = "stopped".into(),
            TrainEvent::Failed(e) => session.status = format!("failed: {e}"),
        }
    }
    if finished && let Ok(handle) = session.handle.get_mut() {
        *handle = None;
    }
}

fn draw_train_window(
    mut contexts: EguiContexts,
    mut form: ResMut<TrainForm>,
    session: Res<TrainSession>,
    mut commands: MessageWriter<TrainCommand>,
    mut tune: TuneTab,
) -> Result {
    if !form.open {
        return Ok(());
    }
    let ctx = contexts.ctx_mut()?;
    let mut open = true;
    egui::Window::new("Train").open(&mut open).default_pos([330.0, 30.0]).default_width(460.0).show(ctx, |ui| {
        ui.horizontal(|ui| {
            let busy = |running: bool| if running { " ●" } else { "" };
            ui.selectable_value(&mut form.tab, TrainTab::Train, format!("Train{}", busy(session.running())));
            ui.selectable_value(&mut form.tab, TrainTab::Tune, format!("Tune{}", busy(tune.running())));
        });
        ui.separator();
        if form.tab == TrainTab::Tune {
            tune.show(ui);
            return;
        }
        ui.add_enabled_ui(!session.running(), |ui| form_fields(ui, &mut form));
        ui.horizontal(|ui| {
            if session.running() {
                if ui.button("Stop").clicked() {
                    commands.write(TrainCommand::Stop);
                }
            } else if ui.button("Start").clicked() {
                commands.write(TrainCommand::Start);
            }
            ui.label(&session.status);
        });
        if let (Some(progress), Some(text)) = (session.progress(), session.progress_text()) {
            ui.add(egui::ProgressBar::new(progress as f32).text(text));
        }
        if let Some(path) = &session.checkpoint {
            ui.small(format!("checkpoint: {}", path.display()));
        }
        let plot = |id: &str, height: f32, x: &str, y: &str| {
            Plot::new(id)
                .height(height)
                .legend(Legend::default())
                .x_axis_label(x.to_string())
                .y_axis_label(y.to_string())
        };
        plot("loss", 140.0, "step", "training loss").show(ui, |plot| {
            plot.line(Line::new("loss", session.steps.clone()));
            for &step in &session.restarts {
                plot.vline(VLine::new("restart", step).color(egui::Color32::from_rgb(225, 60, 60)));
            }
        });
        plot("validation", 120.0, "epoch", "validation error (mm)").show(ui, |plot| {
            plot.line(Line::new("validation position error (mm)", session.validation_mm.clone()));
        });
    });
    if !open {
        form.open = false;
    }
    Ok(())
}

/// Grid rows: the model and its preset (a preset the model lacks falls back to Compact).
pub(super) fn model_rows(ui: &mut egui::Ui, id: &str, model: &mut ModelKind, preset: &mut Preset) {
    ui.label("model");
    egui::ComboBox::from_id_salt((id, "model")).selected_text(model.to_string()).show_ui(ui, |ui| {
        for kind in ModelKind::ALL {
            ui.selectable_value(model, kind, kind.to_string());
        }
    });
    ui.end_row();
    ui.label("preset");
    egui::ComboBox::from_id_salt((id, "preset")).selected_text(preset.to_string()).show_ui(ui, |ui| {
        for p in model.presets() {
            ui.selectable_value(preset, *p, p.to_string());
        }
    });
    ui.end_row();
    if !model.presets().contains(preset) {
        *preset = Preset::Compact;
    }
}

/// Grid rows: a dataset file, or a number of samples to draw.
pub(super) fn dataset_rows(
    ui: &mut egui::Ui,
    id: &str,
    dataset: &mut Option<PathBuf>,
    samples: &mut usize,
    field: &mut PathField,
) {
    ui.label("data");
    ui.horizontal(|ui| {
        match dataset {
            Some(path) => ui.label(path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default()),
            None => ui.add(egui::DragValue::new(samples).range(1_000..=2_000_000).suffix(" new samples")),
        };
        if dataset.is_some() && ui.button("Sample instead").clicked() {
            *dataset = None;
        }
    });
    ui.end_row();
    ui.label("");
    if let Some(path) = field.show(ui, id, "Open…", PathKind::Open("dataset", &["ikd"])) {
        *dataset = Some(path);
    }
    ui.end_row();
}

fn form_fields(ui: &mut egui::Ui, form: &mut TrainForm) {
    egui::Grid::new("train_form").num_columns(2).show(ui, |ui| {
        model_rows(ui, "train", &mut form.model, &mut form.preset);
        dataset_rows(ui, "train-data", &mut form.dataset, &mut form.samples, &mut form.dataset_field);
        ui.label("epochs");
        ui.add(egui::DragValue::new(&mut form.epochs).range(1..=1000));
        ui.end_row();
        ui.label("save to");
        ui.horizontal(|ui| {
            ui.label(form.out.display().to_string());
        });
        ui.end_row();
        ui.label("");
        if let Some(dir) = form.out_field.show(ui, "train-out", "Choose…", PathKind::OutFolder) {
            form.out = dir;
        }
        ui.end_row();
    });
}

/// The status while a run's data is read or drawn, before it starts.
pub(super) fn preparing_status(dataset: Option<&std::path::Path>, samples: usize) -> String {
    match dataset {
        Some(path) => format!("reading {}…", path.display()),
        None => format!("sampling {} poses…", samples.max(100)),
    }
}
