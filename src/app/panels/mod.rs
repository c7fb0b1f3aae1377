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
use super::file_field::{PathField, PathKind};
use super::flow::StudioSet;

/// UI state that belongs to no single capability.
#[derive(Resource, Debug, Clone)]
pub struct UiState {
    pub show_help: bool,
    pub presentation: bool,
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
    commands.insert_resource(UiState { show_help: false, presentation: options.ui_scale > 1.2, screenshot: PathField::default() });
    train.open = options.open_train;
    compare.open = options.open_compare;
}

/// Keys: F1 help, P presentation mode, R random reachable pose, Home reset, F12 screenshot.
fn shortcuts(
    keys: Res<ButtonInput<KeyCode>>,
    mut ui: ResMut<UiState>,
    mut actions: MessageWriter<robot_panel::ArmAction>,
    mut shots: MessageWriter<crate::app::capture::TakeScreenshot>,
) {
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
    }
}

fn timestamped_screenshot_path() -> std::path::PathBuf {
    let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    std::path::PathBuf::from(format!("ik-studio-{secs}.png"))
}

const SHORTCUTS: &[(&str, &str)] = &[
    ("Left drag", "orbit the camera / drag a gizmo arrow or ring"),
    ("Right / middle drag", "pan"),
    ("Wheel", "zoom"),
    ("R", "random reachable pose"),
    ("Home", "home pose"),
    ("P", "presentation mode (large UI)"),
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
) -> Result {
    let ctx = contexts.ctx_mut()?;
    ctx.set_zoom_factor(if ui_state.presentation { 1.6 } else { 1.0 });
    let mut root = egui::Ui::new(
        ctx.clone(),
        "studio".into(),
        egui::UiBuilder::new().layer_id(egui::LayerId::background()).max_rect(ctx.viewport_rect()),
    );
    egui::Panel::left("studio_panel").resizable(true).default_size(300.0).show(&mut root, |ui| {
        egui::ScrollArea::vertical().show(ui, |ui| {
            ui.heading("ik-studio");
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
            if let Some(path) = ui_state.screenshot.show(ui, "screenshot", "Screenshot…", PathKind::Save("PNG", &["png"])) {
                shots.write(crate::app::capture::TakeScreenshot(path));
            }
        });
    });
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
