//! Solver section: which solver, what goal, the live status, and numeric
//! entry of the target pose.

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_egui::egui;
use ik_studio::solvers::GoalMask;
use nalgebra::{Isometry3, Translation3, UnitQuaternion};

use crate::app::solve::{GoalSettings, ShownState, SolveStatus, SolverChoice};
use crate::app::target::{Target, TargetMoved};

#[derive(SystemParam)]
pub struct SolvePanel<'w> {
    choice: ResMut<'w, SolverChoice>,
    goal: ResMut<'w, GoalSettings>,
    status: Res<'w, SolveStatus>,
    target: ResMut<'w, Target>,
    moved: MessageWriter<'w, TargetMoved>,
}

impl SolvePanel<'_> {
    pub fn solver_section(&mut self, ui: &mut egui::Ui) {
        ui.label(egui::RichText::new("Inverse kinematics").strong());
        let names: Vec<String> = self.choice.solvers.iter().map(|s| s.name().to_string()).collect();
        egui::ComboBox::from_label("solver").selected_text(&names[self.choice.selected]).show_ui(ui, |ui| {
            for (i, name) in names.iter().enumerate() {
                ui.selectable_value(&mut self.choice.selected, i, name);
            }
        });
        ui.horizontal(|ui| {
            ui.label("goal");
            ui.selectable_value(&mut self.goal.mask, GoalMask::Full, "pose");
            ui.selectable_value(&mut self.goal.mask, GoalMask::Position, "position");
            ui.selectable_value(&mut self.goal.mask, GoalMask::PositionAnd([false, true, false]), "position + pitch");
        });
        let mut budget_ms = self.goal.budget.as_secs_f64() * 1000.0;
        if ui.add(egui::Slider::new(&mut budget_ms, 1.0..=500.0).logarithmic(true).text("time budget (ms)")).changed() {
            self.goal.budget = std::time::Duration::from_secs_f64(budget_ms / 1000.0);
        }
        self.status_line(ui);
        self.target_entry(ui);
    }

    fn status_line(&self, ui: &mut egui::Ui) {
        let shown = ShownState::of(&self.status);
        let [r, g, b] = shown.color();
        ui.horizontal(|ui| {
            let color = egui::Color32::from_rgb(r, g, b);
            let (dot, _) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
            ui.painter().circle_filled(dot.center(), 5.0, color);
            ui.colored_label(color, shown.label());
            if let Some(result) = &self.status.last {
                ui.label(format!("{}  {:.2} ms", self.status.solver, result.time.as_secs_f64() * 1000.0));
            }
        });
        if let Some(best) = self.status.last.as_ref().and_then(|r| r.best()) {
            ui.label(format!("error {:.3} mm  {:.3}°", best.position_error_mm, best.orientation_error_deg));
        }
        ui.small(format!(
            "requests {}  solved {}  dropped (superseded) {}",
            self.status.requested, self.status.finished, self.status.dropped
        ));
    }

    fn target_entry(&mut self, ui: &mut egui::Ui) {
        egui::CollapsingHeader::new("Target pose").default_open(false).show(ui, |ui| {
            let t = self.target.pose.translation.vector;
            let (roll, pitch, yaw) = self.target.pose.rotation.euler_angles();
            let mut xyz = [t.x, t.y, t.z];
            let mut rpy = [roll.to_degrees(), pitch.to_degrees(), yaw.to_degrees()];
            let mut changed = false;
            ui.horizontal(|ui| {
                for (v, label) in xyz.iter_mut().zip(["x", "y", "z"]) {
                    ui.label(label);
                    changed |= ui.add(egui::DragValue::new(v).speed(0.002).fixed_decimals(3).suffix(" m")).changed();
                }
            });
            ui.horizontal(|ui| {
                for (v, label) in rpy.iter_mut().zip(["roll", "pitch", "yaw"]) {
                    ui.label(label);
                    changed |= ui.add(egui::DragValue::new(v).speed(0.5).fixed_decimals(1).suffix("°")).changed();
                }
            });
            if changed {
                let pose = Isometry3::from_parts(
                    Translation3::new(xyz[0], xyz[1], xyz[2]),
                    UnitQuaternion::from_euler_angles(rpy[0].to_radians(), rpy[1].to_radians(), rpy[2].to_radians()),
                );
                self.target.pose = pose;
                self.moved.write(TargetMoved { pose });
            }
        });
    }
}
