//! Nullspace section: which overlay, how many ghosts (and what limits them),
//! the colour legend, and how to see them (line width, fade the arm, hide the environment).

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_egui::egui;
use ik_studio::models::LoadedModel;

use crate::app::nullspace::{
    ELBOW_COLOR, GhostStyle, Ghosts, MAX_GHOSTS, NullspaceSettings, OverlayMode, WRIST_COLOR, error_color,
};
use crate::app::ghost_meshes::SoftwareRenderer;
use crate::app::scene::SceneOptions;
use crate::app::target::Target;

#[derive(SystemParam)]
pub struct NullspacePanel<'w> {
    settings: ResMut<'w, NullspaceSettings>,
    scene: ResMut<'w, SceneOptions>,
    ghosts: Res<'w, Ghosts>,
    target: Res<'w, Target>,
    software: Res<'w, SoftwareRenderer>,
}

fn color32(c: Color) -> egui::Color32 {
    let c = c.to_srgba();
    egui::Color32::from_rgb((c.red * 255.0) as u8, (c.green * 255.0) as u8, (c.blue * 255.0) as u8)
}

impl NullspacePanel<'_> {
    /// The section; `gan` is the generator loaded for the robot (from the solver list).
    pub fn section(&mut self, ui: &mut egui::Ui, gan: Option<&LoadedModel>) {
        ui.label(egui::RichText::new("Nullspace overlay").strong());
        let has_gan = gan.is_some();
        // Edits go through a copy: the overlay recomputes only on a real change.
        let mut s = self.settings.clone();
        ui.horizontal_wrapped(|ui| {
            ui.selectable_value(&mut s.mode, OverlayMode::Off, "off");
            ui.add_enabled_ui(has_gan, |ui| {
                ui.selectable_value(&mut s.mode, OverlayMode::GanSamples, "GAN samples");
                ui.selectable_value(&mut s.mode, OverlayMode::GanSweep, "GAN sweep");
            });
            ui.selectable_value(&mut s.mode, OverlayMode::SelfMotion, "self-motion");
        });
        if !has_gan {
            ui.small("no GAN for this robot (or it is still loading)");
        }
        ui.add(egui::Slider::new(&mut s.count, 1..=MAX_GHOSTS).text("ghosts"));
        if matches!(s.mode, OverlayMode::GanSamples | OverlayMode::GanSweep) {
            ui.checkbox(&mut s.refine, "refine every sample (a few LM steps each)").on_hover_text(
                "each GAN sample polished onto the exact self-motion manifold, keeping the GAN's spread",
            );
        }
        if s.mode == OverlayMode::GanSweep
            && let Some(gan) = gan
        {
            let dims = gan.card.io.noise_dim().max(1);
            s.sweep_dim = s.sweep_dim.min(dims - 1);
            ui.add(egui::Slider::new(&mut s.sweep_dim, 0..=dims - 1).text("noise dimension"));
        }
        ui.checkbox(&mut s.animate, "animate the arm along the ghosts");
        ui.horizontal_wrapped(|ui| {
            ui.label("draw as");
            ui.selectable_value(&mut s.style, GhostStyle::Meshes, "arms");
            ui.selectable_value(&mut s.style, GhostStyle::Lines, "skeletons");
            ui.selectable_value(&mut s.style, GhostStyle::Both, "both");
        });
        if let Some(adapter) = &self.software.0 {
            ui.small(format!("software renderer ({adapter}): each ghost arm costs tens of ms a frame; skeletons are fast"));
        }
        if s.style.meshes() {
            ui.add(egui::Slider::new(&mut s.ghost_opacity, 0.2..=4.0).logarithmic(true).text("ghost opacity ×"))
                .on_hover_text("ghosts get fainter as there are more of them; this scales that");
        }
        if s.style.lines() {
            ui.horizontal_wrapped(|ui| {
                ui.add(egui::Slider::new(&mut s.line_width, 1.0..=8.0).text("line px"));
                ui.checkbox(&mut s.in_front, "in front");
            });
        }
        if s != *self.settings {
            *self.settings = s;
        }
        self.counts(ui);
        self.legend(ui);
        let mut opacity = self.scene.arm_opacity;
        let mut environment = self.scene.environment;
        ui.add(egui::Slider::new(&mut opacity, 0.05..=1.0).text("solid arm opacity"));
        ui.checkbox(&mut environment, "show the environment (posts, table, other links)");
        if opacity != self.scene.arm_opacity || environment != self.scene.environment {
            (self.scene.arm_opacity, self.scene.environment) = (opacity, environment);
        }
    }

    /// How many ghosts, their mean error, and why fewer than asked.
    fn counts(&self, ui: &mut egui::Ui) {
        if self.settings.mode == OverlayMode::Off {
            return;
        }
        let shown = self.ghosts.ghosts.len();
        let mut line = format!("{shown} of {} ghosts", self.ghosts.asked.max(shown));
        if self.ghosts.target().is_some_and(|t| *t != self.target.pose) {
            line += " (for the pose the arm answers; following the target)";
        }
        if let Some(mean) = self.ghosts.mean_error_mm() {
            line += &format!(", mean error {mean:.2} mm");
        }
        ui.small(line);
        if let Some(limit) = &self.ghosts.limit {
            ui.colored_label(egui::Color32::from_rgb(235, 180, 40), limit);
        }
    }

    /// Link frames and the floor grid.
    pub fn scene_toggles(&mut self, ui: &mut egui::Ui) {
        let (mut frames, mut grid) = (self.scene.link_frames, self.scene.grid);
        ui.horizontal(|ui| {
            ui.checkbox(&mut frames, "link frames");
            ui.checkbox(&mut grid, "grid");
        });
        if (frames, grid) != (self.scene.link_frames, self.scene.grid) {
            (self.scene.link_frames, self.scene.grid) = (frames, grid);
        }
    }

    fn legend(&self, ui: &mut egui::Ui) {
        if self.settings.mode == OverlayMode::Off {
            return;
        }
        let mark = if self.settings.style.meshes() { "■" } else { "—" };
        ui.horizontal_wrapped(|ui| {
            for (mm, label) in [(0.0, "0 mm"), (10.0, "10 mm"), (20.0, "≥ 20 mm")] {
                ui.colored_label(color32(error_color(mm, 1.0)), format!("{mark} {label}"));
            }
            ui.colored_label(color32(ELBOW_COLOR), "• elbow");
            ui.colored_label(color32(WRIST_COLOR), "• wrist");
        });
    }
}
