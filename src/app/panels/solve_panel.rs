//! Solver section: which solver, what goal, the live status, and numeric
//! entry of the target pose.

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_egui::egui;
use ik_studio::solvers::GoalMask;
use nalgebra::{Isometry3, Translation3, UnitQuaternion};

use crate::app::robot::StudioRobot;
use crate::app::solve::{
    BRANCH_CHANGE_RAD, GoalSettings, ModelLoads, Motion, Reach, ShownState, SolveStatus, SolverChoice,
};
use crate::app::target::{SetTarget, Target, TargetOrigin};

#[derive(SystemParam)]
pub struct SolvePanel<'w> {
    choice: ResMut<'w, SolverChoice>,
    goal: ResMut<'w, GoalSettings>,
    status: Res<'w, SolveStatus>,
    loads: Res<'w, ModelLoads>,
    studio: Res<'w, StudioRobot>,
    target: Res<'w, Target>,
    moves: MessageWriter<'w, SetTarget>,
}

impl SolvePanel<'_> {
    /// The GAN loaded for the robot, for the nullspace section.
    pub fn gan(&self) -> Option<std::sync::Arc<ik_studio::models::LoadedModel>> {
        self.choice.gan().cloned()
    }

    pub fn solver_section(&mut self, ui: &mut egui::Ui) {
        ui.label(egui::RichText::new("Inverse kinematics").strong());
        let names: Vec<String> = self.choice.solvers.iter().map(|s| s.name().to_string()).collect();
        let selected = self.choice.selected.min(names.len() - 1);
        let mut pick = selected;
        egui::ComboBox::from_label("solver").selected_text(&names[selected]).show_ui(ui, |ui| {
            for (i, name) in names.iter().enumerate() {
                ui.selectable_value(&mut pick, i, name);
            }
        });
        if pick != selected {
            self.choice.selected = pick;
            self.choice.wanted = None;
        }
        if self.loads.busy() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.small(format!("loading {} network(s) in the background…", self.loads.loading));
            });
        }
        if let Some(wanted) = &self.choice.wanted {
            ui.small(format!("{wanted} is selected once its network has loaded"));
        }
        for e in &self.loads.errors {
            ui.colored_label(egui::Color32::from_rgb(235, 180, 40), e);
        }
        ui.horizontal_wrapped(|ui| {
            ui.label("goal");
            ui.selectable_value(&mut self.goal.mask, GoalMask::Full, "pose");
            ui.selectable_value(&mut self.goal.mask, GoalMask::Position, "position");
            ui.selectable_value(&mut self.goal.mask, GoalMask::PositionAnd([false, true, false]), "position + pitch");
        });
        let mut budget_ms = self.goal.budget.as_secs_f64() * 1000.0;
        if ui.add(egui::Slider::new(&mut budget_ms, 1.0..=500.0).logarithmic(true).text("budget (ms)")).changed() {
            self.goal.budget = std::time::Duration::from_secs_f64(budget_ms / 1000.0);
        }
        self.status_line(ui);
        self.target_entry(ui);
    }

    fn status_line(&self, ui: &mut egui::Ui) {
        let shown = ShownState::of(&self.status, &self.target.pose);
        let [r, g, b] = shown.color();
        let color = egui::Color32::from_rgb(r, g, b);
        let answer = self.status.answer.as_ref();
        ui.horizontal(|ui| {
            let (dot, _) = ui.allocate_exact_size(egui::vec2(12.0, 12.0), egui::Sense::hover());
            ui.painter().circle_filled(dot.center(), 5.0, color);
            ui.colored_label(color, shown.label());
            if let Some(a) = answer {
                let ms = |d: std::time::Duration| d.as_secs_f64() * 1000.0;
                let mut text = format!("{}  {:.2} ms", a.solver, ms(a.time));
                if a.total_time > a.time * 2 {
                    text += &format!(" ({:.1} ms with the check)", ms(a.total_time));
                }
                ui.label(text);
            }
        });
        let Some(a) = answer else {
            self.counters(ui);
            return;
        };
        let best = &a.solution;
        let error = format!("{:.3} mm  {:.3}°", best.position_error_mm, best.orientation_error_deg);
        match a.reach {
            Reach::Solved => {
                ui.label(format!("error {error}"));
            }
            Reach::Approximate => {
                ui.colored_label(color, format!("{} missed by {error}", a.solver));
                ui.small("numeric IK reaches this target: it is reachable");
            }
            Reach::Unreachable => {
                ui.colored_label(color, format!("best reach {error} from the target"));
                ui.small(format!(
                    "numeric IK from several starts gets no closer than {:.1} mm: the target stays where you put it",
                    a.confirmed_mm.unwrap_or(best.position_error_mm)
                ));
            }
        }
        if let Motion::Restarted { joint, delta } = a.motion {
            let name = self.studio.robot.chain.joints.get(joint).map(|j| j.name.as_str()).unwrap_or("?");
            let text = if delta > BRANCH_CHANGE_RAD {
                format!("the local solve failed: restarted on another IK branch ({name} moved {delta:.2} rad)")
            } else {
                format!("the local solve failed: restarted ({name} moved {delta:.2} rad)")
            };
            ui.colored_label(egui::Color32::from_rgb(235, 180, 40), text);
        }
        self.counters(ui);
    }

    fn counters(&self, ui: &mut egui::Ui) {
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
                self.moves.write(SetTarget { pose, origin: TargetOrigin::Entry });
            }
        });
    }
}
