//! The Compare window: evaluate chosen solvers on a fresh test set in the
//! background (with progress), show the Table-4 comparison and bar charts, the
//! error histogram in the field's thresholds, and the test poses in the scene
//! as a point cloud coloured by error. Export as Markdown or CSV.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread::JoinHandle;

use bevy::prelude::*;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};
use egui_plot::{Bar, BarChart, Legend, Plot};
use ik_studio::data::{SampleConfig, sample_dataset};
use ik_studio::eval::{self, BUCKETS_MM, EvalOptions, EvalReport};
use ik_studio::solvers::Solver;

use super::convert::RobotFrame;
use super::file_field::{PathField, PathKind, save_text};
use super::flow::StudioSet;
use super::robot::StudioRobot;
use super::solve::SolverChoice;

#[derive(Resource)]
pub struct EvaluateState {
    pub open: bool,
    /// Solver names picked for the comparison.
    pub picked: Vec<String>,
    pub poses: usize,
    pub reports: Vec<EvalReport>,
    /// Which report the histogram and the point cloud show.
    pub shown: usize,
    pub show_cloud: bool,
    pub status: String,
    export: PathField,
    job: Option<EvalJob>,
}

impl Default for EvaluateState {
    fn default() -> Self {
        Self {
            open: false,
            picked: vec!["numeric".into()],
            poses: 300,
            reports: Vec::new(),
            shown: 0,
            show_cloud: false,
            status: String::new(),
            export: PathField::default(),
            job: None,
        }
    }
}

/// A comparison running on its own thread.
struct EvalJob {
    done: Arc<AtomicUsize>,
    total: usize,
    thread: Option<JoinHandle<Vec<EvalReport>>>,
}

#[derive(Message, Debug, Clone, Copy)]
pub struct RunEvaluation;

pub struct EvaluatePlugin;

impl Plugin for EvaluatePlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<EvaluateState>()
            .add_message::<RunEvaluation>()
            .add_systems(Update, start_evaluation.in_set(StudioSet::Request))
            .add_systems(Update, finish_evaluation.in_set(StudioSet::Collect))
            .add_systems(Update, draw_error_cloud.in_set(StudioSet::Gizmos))
            .add_systems(EguiPrimaryContextPass, draw_window);
    }
}

fn start_evaluation(
    mut runs: MessageReader<RunEvaluation>,
    studio: Res<StudioRobot>,
    choice: Res<SolverChoice>,
    mut state: ResMut<EvaluateState>,
) {
    if runs.read().count() == 0 || state.job.is_some() {
        return;
    }
    let solvers: Vec<Arc<dyn Solver>> =
        choice.solvers.iter().filter(|s| state.picked.iter().any(|p| p == s.name())).cloned().collect();
    if solvers.is_empty() {
        state.status = "pick at least one solver".into();
        return;
    }
    let robot = studio.robot.clone();
    let poses = state.poses.max(1);
    let done = Arc::new(AtomicUsize::new(0));
    let counter = done.clone();
    let total = poses * solvers.len();
    let thread = std::thread::spawn(move || {
        let mut cfg = SampleConfig::new(poses, 7);
        (cfg.test_fraction, cfg.val_fraction) = (0.0, 0.0);
        let Ok((test, _)) = sample_dataset(&robot, robot.default_workspace(), &cfg, &|_| {}) else { return Vec::new() };
        let mut offset = 0;
        let mut reports = Vec::new();
        for solver in solvers {
            let report = eval::evaluate(solver.as_ref(), test.all(), &EvalOptions::default(), &|n| {
                counter.store(offset + n, Ordering::Relaxed);
            });
            offset += poses;
            reports.push(report);
        }
        reports
    });
    state.job = Some(EvalJob { done, total, thread: Some(thread) });
    state.status = "evaluating…".into();
}

fn finish_evaluation(mut state: ResMut<EvaluateState>) {
    let Some(job) = &mut state.job else { return };
    if !job.thread.as_ref().is_some_and(|t| t.is_finished()) {
        return;
    }
    let reports = job.thread.take().and_then(|t| t.join().ok()).unwrap_or_default();
    state.job = None;
    state.status = if reports.is_empty() { "evaluation failed".into() } else { String::new() };
    state.reports = reports;
    state.shown = 0;
}

/// Test positions in the scene, green (0 mm) to red (≥ 10 mm).
fn draw_error_cloud(mut gizmos: Gizmos, state: Res<EvaluateState>, frame: Single<&GlobalTransform, With<RobotFrame>>) {
    if !state.show_cloud {
        return;
    }
    let Some(report) = state.reports.get(state.shown) else { return };
    let to_world = frame.affine();
    for pose in &report.per_pose {
        let p =
            to_world.transform_point3(Vec3::new(pose.target[0] as f32, pose.target[1] as f32, pose.target[2] as f32));
        let t = (pose.position_mm / 10.0).clamp(0.0, 1.0) as f32;
        gizmos.sphere(Isometry3d::from_translation(p), 0.006, Color::srgb(0.2 + 0.75 * t, 0.85 - 0.65 * t, 0.3));
    }
}

fn draw_window(
    mut contexts: EguiContexts,
    mut state: ResMut<EvaluateState>,
    choice: Res<SolverChoice>,
    mut runs: MessageWriter<RunEvaluation>,
) -> Result {
    if !state.open {
        return Ok(());
    }
    let ctx = contexts.ctx_mut()?;
    let mut open = true;
    egui::Window::new("Compare solvers").open(&mut open).default_pos([640.0, 30.0]).default_width(620.0).show(
        ctx,
        |ui| {
            let state = &mut *state;
            ui.horizontal_wrapped(|ui| {
                for solver in &choice.solvers {
                    let name = solver.name().to_string();
                    let mut on = state.picked.contains(&name);
                    if ui.checkbox(&mut on, &name).changed() {
                        state.picked.retain(|p| p != &name);
                        if on {
                            state.picked.push(name);
                        }
                    }
                }
            });
            ui.horizontal(|ui| {
                ui.add(egui::DragValue::new(&mut state.poses).range(10..=20_000).suffix(" test poses"));
                match &state.job {
                    Some(job) => {
                        let fraction = job.done.load(Ordering::Relaxed) as f32 / job.total.max(1) as f32;
                        ui.add(egui::ProgressBar::new(fraction).show_percentage().desired_width(200.0));
                    }
                    None => {
                        if ui.button("Run").clicked() {
                            runs.write(RunEvaluation);
                        }
                    }
                }
                ui.label(&state.status);
            });
            if state.reports.is_empty() {
                return;
            }
            results(ui, state);
        },
    );
    if !open {
        state.open = false;
    }
    Ok(())
}

fn results(ui: &mut egui::Ui, state: &mut EvaluateState) {
    egui::Grid::new("table").striped(true).show(ui, |ui| {
        for h in ["solver", "pos. avg mm", "pos. max mm", "rot. avg °", "success", "strict", "time median ms", "p99 ms"]
        {
            ui.strong(h);
        }
        ui.end_row();
        for (i, r) in state.reports.iter().enumerate() {
            ui.radio_value(&mut state.shown, i, &r.solver);
            ui.label(format!("{:.3}", r.position_mm.mean));
            ui.label(format!("{:.3}", r.position_mm.max));
            ui.label(format!("{:.3}", r.orientation_deg.mean));
            ui.label(format!("{:.2} %", r.success_rate * 100.0));
            ui.label(format!("{:.2} %", r.strict_success_rate * 100.0));
            ui.label(format!("{:.3}", r.time_ms.median));
            ui.label(format!("{:.3}", r.time_ms.p99));
            ui.end_row();
        }
    });
    ui.horizontal(|ui| {
        ui.checkbox(&mut state.show_cloud, "show errors in the scene");
    });
    let chosen = state.export.show(ui, "compare-export", "Export…", PathKind::Save("Markdown or CSV", &["md", "csv"]));
    if let Some(path) = chosen {
        let csv = path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
        let text = if csv { eval::to_csv(&state.reports) } else { eval::to_markdown(&state.reports) };
        state.status = save_text(&path, &text);
    }
    ui.columns(2, |cols| {
        bars(&mut cols[0], "time", "median time (ms)", state.reports.iter().map(|r| r.time_ms.median));
        bars(&mut cols[1], "success", "success (%)", state.reports.iter().map(|r| r.success_rate * 100.0));
    });
    if let Some(report) = state.reports.get(state.shown) {
        // Share of poses between consecutive thresholds (0–1 mm, 1–2.5 mm, …, > 10 cm).
        let mut above: Vec<f64> = report.above_mm.iter().map(|(_, f)| *f).collect();
        above.insert(0, 1.0);
        above.push(0.0);
        let labels: Vec<String> =
            std::iter::once("0".to_string()).chain(BUCKETS_MM.iter().map(|t| format!("{t}"))).collect();
        let bars_data: Vec<Bar> = above
            .windows(2)
            .enumerate()
            .map(|(i, w)| Bar::new(i as f64, (w[0] - w[1]) * 100.0).name(format!("> {} mm", labels[i])))
            .collect();
        ui.label(format!(
            "{}: position error histogram (% of poses; bins from 0, 1, 2.5, 5, 10, 20, 50, 100 mm)",
            report.solver
        ));
        Plot::new("histogram").height(120.0).show(ui, |plot| plot.bar_chart(BarChart::new("poses", bars_data)));
    }
}

fn bars(ui: &mut egui::Ui, id: &str, title: &str, values: impl Iterator<Item = f64>) {
    ui.label(title);
    let data: Vec<Bar> = values.enumerate().map(|(i, v)| Bar::new(i as f64, v)).collect();
    Plot::new(id).height(110.0).legend(Legend::default()).show(ui, |plot| plot.bar_chart(BarChart::new(title, data)));
}
