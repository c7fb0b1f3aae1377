//! The egui side panel, one section per capability, plus the help overlay and
//! keyboard shortcuts.

mod nullspace_panel;
mod robot_panel;
mod side_by_side_panel;
mod solve_panel;

use bevy::prelude::*;
use bevy_egui::input::egui_wants_any_keyboard_input;
use bevy_egui::{EguiContexts, EguiPrimaryContextPass, egui};

pub use robot_panel::UrdfOpenState;
#[cfg(test)]
pub use robot_panel::notice_title;

use super::StudioOptions;
use super::camera::{FrameView, FreeArea};
use super::file_field::{PathField, PathKind};
use super::flow::StudioSet;

/// UI state that belongs to no single capability.
#[derive(Resource, Debug, Clone)]
pub struct UiState {
    pub show_help: bool,
    pub presentation: bool,
    /// The side panel folded to a narrow strip (Tab), leaving the scene the window.
    pub panel_folded: bool,
    pub screenshot: PathField,
}

pub struct PanelsPlugin;

impl Plugin for PanelsPlugin {
    fn build(&self, app: &mut App) {
        app.init_resource::<UrdfOpenState>()
            .add_message::<robot_panel::ArmAction>()
            .add_message::<robot_panel::PlaceArm>()
            .add_systems(Startup, init_ui)
            .add_systems(
                Update,
                (shortcuts.run_if(not(egui_wants_any_keyboard_input)), robot_panel::apply_arm_actions)
                    .chain()
                    .in_set(StudioSet::Input),
            )
            .add_systems(EguiPrimaryContextPass, draw_panels);
    }
}

fn init_ui(
    mut commands: Commands,
    options: Res<StudioOptions>,
    mut train: ResMut<crate::app::train_panel::TrainForm>,
    mut compare: ResMut<crate::app::evaluate_panel::EvaluateState>,
) {
    commands.insert_resource(UiState {
        show_help: false,
        presentation: options.ui_scale > 1.2,
        panel_folded: false,
        screenshot: PathField::default(),
    });
    train.open = options.open_train || options.open_tune;
    if options.open_tune {
        train.tab = crate::app::train_panel::TrainTab::Tune;
    }
    compare.open = options.open_compare;
}

/// Keys: F1 help, P presentation mode, Tab fold the panel, R random reachable
/// pose, Home reset (home pose and home view), F frame the arm, V home view, F12 screenshot.
fn shortcuts(
    keys: Res<ButtonInput<KeyCode>>,
    mut ui: ResMut<UiState>,
    mut actions: MessageWriter<robot_panel::ArmAction>,
    mut shots: MessageWriter<crate::app::capture::TakeScreenshot>,
    mut views: MessageWriter<FrameView>,
) {
    if keys.just_pressed(KeyCode::KeyF) {
        views.write(FrameView::Frame);
    }
    if keys.just_pressed(KeyCode::KeyV) {
        views.write(FrameView::Home);
    }
    if keys.just_pressed(KeyCode::Tab) {
        ui.panel_folded = !ui.panel_folded;
    }
    if keys.just_pressed(KeyCode::F12) {
        shots.write(crate::app::capture::TakeScreenshot(timestamped_screenshot_path()));
    }
    if keys.just_pressed(KeyCode::F1) || keys.just_pressed(KeyCode::KeyH) {
        ui.show_help = !ui.show_help;
    }
    if keys.just_pressed(KeyCode::KeyP) {
        ui.presentation = !ui.presentation;
    }
    if keys.just_pressed(KeyCode::KeyR) {
        actions.write(robot_panel::ArmAction::Random);
    }
    if keys.just_pressed(KeyCode::Home) {
        actions.write(robot_panel::ArmAction::Home);
        views.write(FrameView::Home);
    }
}

fn timestamped_screenshot_path() -> std::path::PathBuf {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    std::path::PathBuf::from(format!("ik-studio-{secs}.png"))
}

const SHORTCUTS: &[(&str, &str)] = &[
    ("Left drag", "orbit the camera / drag a gizmo arrow or ring"),
    ("Right / middle drag", "pan"),
    ("Wheel", "zoom towards the pointer"),
    ("F", "frame the arm beside the panel"),
    ("V", "home view (and frame the arm)"),
    ("R", "random reachable pose"),
    ("Home", "reset: home pose and home view"),
    ("Tab", "fold / unfold the side panel"),
    ("P", "presentation mode (large UI, narrower panel)"),
    ("F12", "screenshot (ik-studio-<time>.png in the working folder)"),
    ("F1 / H", "this help"),
];

fn draw_panels(
    mut contexts: EguiContexts,
    mut ui_state: ResMut<UiState>,
    mut train_form: ResMut<crate::app::train_panel::TrainForm>,
    mut evaluate: ResMut<crate::app::evaluate_panel::EvaluateState>,
    mut robot: robot_panel::RobotPanel,
    mut solve: solve_panel::SolvePanel,
    mut nullspace: nullspace_panel::NullspacePanel,
    mut side_by_side: ResMut<crate::app::side_by_side::SideBySide>,
    mut shots: MessageWriter<crate::app::capture::TakeScreenshot>,
    mut trajectory: ResMut<crate::app::trajectory::Trajectory>,
    mut free: ResMut<FreeArea>,
) -> Result {
    let ctx = contexts.ctx_mut()?;
    ctx.set_zoom_factor(if ui_state.presentation { PRESENTATION_ZOOM } else { 1.0 });
    let viewport = ctx.viewport_rect();
    let mut root = egui::Ui::new(
        ctx.clone(),
        "studio".into(),
        egui::UiBuilder::new().layer_id(egui::LayerId::background()).max_rect(viewport),
    );
    if ui_state.panel_folded {
        let strip = egui::Panel::left("studio_strip").resizable(false).exact_size(FOLDED_WIDTH).show(&mut root, |ui| {
            if ui.button("»").on_hover_text("show the panel (Tab)").clicked() {
                ui_state.panel_folded = false;
            }
        });
        record_free_area(&mut free, strip.response.rect.right(), viewport, ctx.zoom_factor());
        return finish_overlays(ctx, &ui_state, &mut robot);
    }
    let max_width = viewport.width() * if ui_state.presentation { PRESENTATION_PANEL } else { PANEL };
    let panel = egui::Panel::left("studio_panel")
        .resizable(true)
        .default_size(300.0_f32.min(max_width))
        .max_size(max_width)
        .show(&mut root, |ui| {
            egui::ScrollArea::vertical().show(ui, |ui| {
                // Sliders narrow with the panel, so their labels stay inside it (presentation mode's large text).
                ui.spacing_mut().slider_width = (ui.available_width() * 0.3).clamp(48.0, 140.0);
                ui.horizontal(|ui| {
                    ui.heading("ik-studio");
                    ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                        if ui.button("«").on_hover_text("fold the panel (Tab)").clicked() {
                            ui_state.panel_folded = true;
                        }
                    });
                });
                robot.robot_section(ui);
                ui.separator();
                solve.solver_section(ui);
                side_by_side_panel::section(ui, &mut side_by_side);
                ui.separator();
                nullspace.section(ui, solve.gan().as_deref());
                ui.separator();
                robot.joints_section(ui);
                ui.separator();
                ui.horizontal(|ui| {
                    ui.toggle_value(&mut train_form.open, "Train…");
                    ui.toggle_value(&mut evaluate.open, "Compare…");
                    ui.toggle_value(&mut trajectory.open, "Trajectory…");
                });
                ui.separator();
                nullspace.scene_toggles(ui);
                ui.horizontal(|ui| {
                    ui.checkbox(&mut ui_state.presentation, "presentation mode");
                    if ui.button("help (F1)").clicked() {
                        ui_state.show_help = !ui_state.show_help;
                    }
                });
                if let Some(path) =
                    ui_state.screenshot.show(ui, "screenshot", "Screenshot…", PathKind::Save("PNG", &["png"]))
                {
                    shots.write(crate::app::capture::TakeScreenshot(path));
                }
            });
        });
    record_free_area(&mut free, panel.response.rect.right(), viewport, ctx.zoom_factor());
    finish_overlays(ctx, &ui_state, &mut robot)
}

/// egui zoom in presentation mode.
const PRESENTATION_ZOOM: f32 = 1.6;
/// Widest the panel may be, as a part of the window (presentation mode keeps the robot in view).
const PANEL: f32 = 0.45;
const PRESENTATION_PANEL: f32 = 0.28;
/// Width of the folded panel's strip, points.
const FOLDED_WIDTH: f32 = 26.0;

/// The scene's free area, right of the panel, in logical pixels (egui points × zoom).
fn record_free_area(free: &mut ResMut<FreeArea>, panel_right: f32, viewport: egui::Rect, zoom: f32) {
    let rect = Rect::new(panel_right * zoom, viewport.top() * zoom, viewport.right() * zoom, viewport.bottom() * zoom);
    free.set_if_neq(FreeArea(Some(rect)));
}

/// The URDF dialog and the help window, over the scene.
fn finish_overlays(ctx: &egui::Context, ui_state: &UiState, robot: &mut robot_panel::RobotPanel) -> Result {
    robot.urdf_dialog(ctx);
    if ui_state.show_help {
        egui::Window::new("Keyboard and mouse").collapsible(false).show(ctx, |ui| {
            egui::Grid::new("help").striped(true).show(ui, |ui| {
                for (key, what) in SHORTCUTS {
                    ui.strong(*key);
                    ui.label(*what);
                    ui.end_row();
                }
            });
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bevy refuses a system whose parameters borrow one resource twice; the
    /// panel gathers many sections, so check it here rather than at start-up.
    #[test]
    fn the_panel_system_borrows_each_resource_once() {
        let mut world = World::new();
        let mut system = IntoSystem::<(), Result, _>::into_system(draw_panels);
        system.initialize(&mut world);
    }
}
