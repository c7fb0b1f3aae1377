//! Nullspace section: which overlay, how many ghosts, which noise dimension.

use bevy::ecs::system::SystemParam;
use bevy::prelude::*;
use bevy_egui::egui;

use crate::app::nullspace::{GanModel, Ghost, NullspaceSettings, OverlayMode};

#[derive(SystemParam)]
pub struct NullspacePanel<'w, 's> {
    settings: ResMut<'w, NullspaceSettings>,
    gan: Res<'w, GanModel>,
    ghosts: Query<'w, 's, &'static Ghost>,
}

impl NullspacePanel<'_, '_> {
    pub fn section(&mut self, ui: &mut egui::Ui) {
        ui.label(egui::RichText::new("Nullspace overlay").strong());
        let has_gan = self.gan.0.is_some();
        let mut mode = self.settings.mode;
        ui.horizontal_wrapped(|ui| {
            ui.selectable_value(&mut mode, OverlayMode::Off, "off");
            ui.add_enabled_ui(has_gan, |ui| {
                ui.selectable_value(&mut mode, OverlayMode::GanSamples, "GAN samples");
                ui.selectable_value(&mut mode, OverlayMode::GanSweep, "GAN sweep");
            });
            ui.selectable_value(&mut mode, OverlayMode::SelfMotion, "self-motion");
        });
        if mode != self.settings.mode {
            self.settings.mode = mode;
        }
        if !has_gan {
            ui.small("no GAN checkpoint for this robot");
        }
        let mut count = self.settings.count;
        if ui.add(egui::Slider::new(&mut count, 1..=500).text("ghosts")).changed() {
            self.settings.count = count;
        }
        if mode == OverlayMode::GanSweep
            && let Some(gan) = &self.gan.0
        {
            let dims = gan.card.io.noise_dim().max(1);
            let mut dim = self.settings.sweep_dim.min(dims - 1);
            if ui.add(egui::Slider::new(&mut dim, 0..=dims - 1).text("noise dimension")).changed() {
                self.settings.sweep_dim = dim;
            }
        }
        let mut animate = self.settings.animate;
        if ui.checkbox(&mut animate, "animate the arm along the ghosts").changed() {
            self.settings.animate = animate;
        }
        let shown = self.ghosts.iter().count();
        if shown > 0 {
            let errors: Vec<f64> = self.ghosts.iter().map(|g| g.position_error_mm).collect();
            let mean = errors.iter().sum::<f64>() / errors.len() as f64;
            ui.small(format!("{shown} ghosts, mean error {mean:.2} mm"));
        }
    }
}
