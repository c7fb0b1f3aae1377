//! Robot section (built-in robots, any URDF) and joint sliders (FK mode).

use std::path::PathBuf;

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_egui::egui;
use ik_studio::kinematics::KinematicTree;
use ik_studio::robots;

use crate::app::file_field::{PathField, PathKind};
use crate::app::robot::{
    ArmState, RobotChoice, RobotLoads, SelectRobot, SetArm, StudioRobot, home_configuration, reachable_configuration,
};
use crate::app::target::{SetTarget, TargetOrigin};
use crate::app::urdf_visuals::{MeshSearchPath, RobotVisuals};

/// The user set the joints (sliders): the arm goes there, the target to its tip.
#[derive(Message, Debug, Clone)]
pub struct PlaceArm(pub Vec<f64>);

/// Arm commands from buttons and shortcuts.
#[derive(Message, Debug, Clone, Copy)]
pub enum ArmAction {
    Home,
    /// Jump to a random reachable pose (FK mode).
    Random,
    /// Move the target to a random reachable pose and let the solver follow.
    RandomTarget,
}

/// The "open a URDF" dialog: file, then base and tip links.
#[derive(Resource, Default, Debug)]
pub struct UrdfOpenState {
    pub path: Option<PathBuf>,
    pub links: Vec<String>,
    pub base: String,
    pub tip: String,
    pub error: Option<String>,
    /// The URDF file and mesh folder choosers (dialog or typed path).
    pub file: PathField,
    pub mesh_folder: PathField,
}

#[derive(SystemParam)]
pub struct RobotPanel<'w> {
    studio: Res<'w, StudioRobot>,
    arm: Res<'w, ArmState>,
    loads: Res<'w, RobotLoads>,
    visuals: Res<'w, RobotVisuals>,
    placed: MessageWriter<'w, PlaceArm>,
    select: MessageWriter<'w, SelectRobot>,
    actions: MessageWriter<'w, ArmAction>,
    urdf: ResMut<'w, UrdfOpenState>,
    search: ResMut<'w, MeshSearchPath>,
}

impl RobotPanel<'_> {
    pub fn robot_section(&mut self, ui: &mut egui::Ui) {
        ui.label(egui::RichText::new("Robot").strong());
        let current = self.studio.choice.label();
        egui::ComboBox::from_id_salt("robot").selected_text(&current).show_ui(ui, |ui| {
            for name in robots::builtin_names() {
                if ui.selectable_label(current == name, name).clicked() && current != name {
                    self.select.write(SelectRobot(RobotChoice::Builtin(name.into())));
                }
            }
        });
        if let Some(loading) = self.loads.loading() {
            ui.horizontal(|ui| {
                ui.spinner();
                ui.label(format!("loading {}…", loading.label()));
            });
        }
        let chain = &self.studio.robot.chain;
        ui.label(format!("{} DoF, {} to {}", chain.dof(), chain.base, chain.tip));
        if let Some(path) = self.urdf.file.show(ui, "urdf-path", "Open URDF…", PathKind::Open("URDF", &["urdf", "xml"]))
        {
            self.open_urdf(path);
        }
        visuals_notice(ui, &self.visuals);
        if !self.studio.warnings.is_empty() {
            egui::CollapsingHeader::new(format!("{} warnings", self.studio.warnings.len())).show(ui, |ui| {
                for w in &self.studio.warnings {
                    ui.colored_label(egui::Color32::from_rgb(235, 180, 40), w);
                }
            });
        }
    }

    pub fn joints_section(&mut self, ui: &mut egui::Ui) {
        ui.label(egui::RichText::new("Joints (forward kinematics)").strong());
        let chain = self.studio.robot.chain.clone();
        if self.arm.q.len() != chain.dof() {
            return;
        }
        if let Some(q) = joint_sliders(ui, &chain, &self.arm.q) {
            self.placed.write(PlaceArm(q));
        }
        ui.horizontal(|ui| {
            if ui.button("Home").clicked() {
                self.actions.write(ArmAction::Home);
            }
            if ui.button("Random pose").clicked() {
                self.actions.write(ArmAction::Random);
            }
            if ui.button("Random target").on_hover_text("the solver follows").clicked() {
                self.actions.write(ArmAction::RandomTarget);
            }
        });
    }

    /// Reads the URDF's links for the base and tip choice.
    fn open_urdf(&mut self, path: PathBuf) {
        let urdf = &mut *self.urdf;
        (urdf.links, urdf.base, urdf.tip, urdf.error) = (Vec::new(), String::new(), String::new(), None);
        match KinematicTree::from_file(&path) {
            Ok(tree) => {
                let links: Vec<String> = tree.links.iter().map(|l| l.name.clone()).collect();
                // Defaults: the root, and the last leaf in topological order.
                let has_child = |i: usize| tree.joints.iter().any(|j| j.parent_link == i);
                self.urdf.base = links[0].clone();
                self.urdf.tip =
                    (0..links.len()).rev().find(|&i| !has_child(i)).map(|i| links[i].clone()).unwrap_or_default();
                self.urdf.links = links;
            }
            Err(e) => self.urdf.error = Some(e.to_string()),
        }
        self.urdf.path = Some(path);
    }

    /// Base and tip selection for an opened URDF.
    pub fn urdf_dialog(&mut self, ctx: &egui::Context) {
        let Some(path) = self.urdf.path.clone() else { return };
        let mut open = true;
        egui::Window::new("Open URDF").open(&mut open).show(ctx, |ui| {
            ui.label(path.display().to_string());
            if let Some(e) = &self.urdf.error {
                ui.colored_label(egui::Color32::from_rgb(225, 60, 60), e);
                return;
            }
            let urdf = &mut *self.urdf;
            for (label, value) in [("base", &mut urdf.base), ("tip", &mut urdf.tip)] {
                egui::ComboBox::from_label(label).selected_text(value.as_str()).show_ui(ui, |ui| {
                    for link in &urdf.links {
                        ui.selectable_value(value, link.clone(), link);
                    }
                });
            }
            ui.label("where package:// meshes are found:");
            if let Some(dir) = self.urdf.mesh_folder.show(ui, "mesh-folder", "Add mesh folder…", PathKind::Folder) {
                self.search.0.push(dir);
            }
            if ui.button("Load").clicked() {
                let (base, tip) = (self.urdf.base.clone(), self.urdf.tip.clone());
                self.select.write(SelectRobot(RobotChoice::Urdf { path: path.clone(), base, tip }));
                self.urdf.path = None;
            }
        });
        if !open {
            self.urdf.path = None;
        }
    }
}

/// What the scene draws instead of missing visuals, in plain sight (not folded away).
fn visuals_notice(ui: &mut egui::Ui, visuals: &RobotVisuals) {
    let Some(report) = &visuals.report else {
        ui.horizontal(|ui| {
            ui.spinner();
            ui.label("decoding meshes…");
        });
        return;
    };
    if !report.has_notice() {
        return;
    }
    let amber = egui::Color32::from_rgb(235, 180, 40);
    egui::Frame::group(ui.style()).stroke(egui::Stroke::new(1.0, amber)).show(ui, |ui| {
        ui.colored_label(amber, egui::RichText::new(notice_title(report)).strong());
        ui.label(report.summary());
        const SHOWN: usize = 8;
        for missing in report.missing.iter().take(SHOWN) {
            ui.label(egui::RichText::new(missing.to_string()).small());
        }
        if report.missing.len() > SHOWN {
            egui::CollapsingHeader::new(format!("{} more", report.missing.len() - SHOWN)).show(ui, |ui| {
                for missing in &report.missing[SHOWN..] {
                    ui.label(egui::RichText::new(missing.to_string()).small());
                }
            });
        }
    });
}

/// The notice's headline: what is missing and what stands in for it.
pub fn notice_title(report: &ik_studio::visuals::VisualReport) -> String {
    if report.skeleton_only {
        return "No visual geometry in the URDF: drawn as a skeleton".into();
    }
    let mut fallbacks: Vec<&str> = report.missing.iter().filter_map(|m| m.fallback.map(|f| f.label())).collect();
    fallbacks.sort();
    fallbacks.dedup();
    let drawn =
        if fallbacks.is_empty() { "not drawn".to_string() } else { format!("drawn as {}", fallbacks.join(", ")) };
    format!("{} visuals missing: {drawn}", report.missing.len())
}

/// One slider per joint; the configuration the user set, if they moved one.
///
/// Only an edit counts: a slider clamping or rounding the value it shows (a
/// solution on a limit, a network's answer beyond it) must not move the arm,
/// nor the target with it. The sliders work on a copy clamped to the limits,
/// never clamp or round it themselves, and an edit changes only its own joint.
pub fn joint_sliders(ui: &mut egui::Ui, chain: &ik_studio::Chain, q: &[f64]) -> Option<Vec<f64>> {
    let mut edited: Option<Vec<f64>> = None;
    egui::Grid::new("joints").num_columns(2).show(ui, |ui| {
        for (i, joint) in chain.joints.iter().enumerate() {
            let mut value = joint.limits.clamp(q[i]);
            ui.label(&joint.name);
            ui.vertical(|ui| {
                let slider = egui::Slider::new(&mut value, joint.limits.lower..=joint.limits.upper)
                    .clamping(egui::SliderClamping::Never)
                    .fixed_decimals(3);
                let response = ui.add(slider);
                let by_user = response.dragged() || response.has_focus() || response.clicked();
                if response.changed() && by_user && value != q[i] {
                    edited.get_or_insert_with(|| q.to_vec())[i] = joint.limits.clamp(value);
                }
                limit_bar(ui, (value - joint.limits.lower) / joint.limits.span().max(1e-12));
            });
            ui.end_row();
        }
    });
    edited
}

/// Position within the joint range; red near either limit.
fn limit_bar(ui: &mut egui::Ui, fraction: f64) {
    let near_limit = !(0.05..=0.95).contains(&fraction);
    let color = if near_limit { egui::Color32::from_rgb(225, 60, 60) } else { egui::Color32::from_rgb(70, 140, 220) };
    ui.add(egui::ProgressBar::new(fraction as f32).desired_height(4.0).desired_width(150.0).fill(color));
}

/// Buttons, keys and sliders as requests: an arm placed by hand moves the
/// target to its tip (forward kinematics); "Random target" moves only the target.
pub fn apply_arm_actions(
    mut actions: MessageReader<ArmAction>,
    mut placements: MessageReader<PlaceArm>,
    studio: Res<StudioRobot>,
    mut arm: MessageWriter<SetArm>,
    mut target: MessageWriter<SetTarget>,
    mut draws: Local<u64>,
) {
    let chain = &studio.robot.chain;
    let mut placed: Vec<Vec<f64>> = placements.read().map(|p| p.0.clone()).collect();
    for action in actions.read() {
        match action {
            ArmAction::Home => placed.push(home_configuration(&studio.robot)),
            ArmAction::Random | ArmAction::RandomTarget => {
                *draws += 1;
                let Some(q) = reachable_configuration(&studio.robot, *draws) else { continue };
                if matches!(action, ArmAction::Random) {
                    placed.push(q);
                } else {
                    target.write(SetTarget { pose: chain.fk_unchecked(&q), origin: TargetOrigin::Random });
                }
            }
        }
    }
    for q in placed.into_iter().filter(|q| q.len() == chain.dof()) {
        target.write(SetTarget { pose: chain.fk_unchecked(&q), origin: TargetOrigin::Joints });
        arm.write(SetArm(q));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames of the joint sliders with no input: nothing may count as an edit,
    /// not even for values beyond a limit or with more than three decimals.
    #[test]
    fn sliders_report_only_what_the_user_moved() {
        let robot = ik_studio::robots::builtin("omx").unwrap();
        let chain = robot.chain;
        let mut q: Vec<f64> = chain.joints.iter().map(|j| j.limits.lower + 0.123456789).collect();
        q[0] = chain.joints[0].limits.upper + 0.3;
        q[1] = chain.joints[1].limits.upper;
        let ctx = egui::Context::default();
        for _ in 0..3 {
            let mut edits = None;
            let _ = ctx.run_ui(egui::RawInput::default(), |ui| {
                edits = joint_sliders(ui, &chain, &q);
            });
            assert_eq!(edits, None);
        }
    }
}
