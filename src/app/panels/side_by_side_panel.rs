//! Side-by-side section: which solvers answer the live target too, with their
//! colour, time and error.

use bevy_egui::egui;

use crate::app::side_by_side::SideBySide;

pub fn section(ui: &mut egui::Ui, set: &mut SideBySide) {
    let header = match set.running() {
        0 => "Side by side".to_string(),
        n => format!("Side by side ({n} solving)"),
    };
    egui::CollapsingHeader::new(header).id_salt("side_by_side").default_open(false).show(ui, |ui| {
        egui::Grid::new("compare").num_columns(3).show(ui, |ui| {
            for entry in &mut set.entries {
                let [r, g, b] = entry.color;
                ui.checkbox(
                    &mut entry.enabled,
                    egui::RichText::new(entry.solver.name()).color(egui::Color32::from_rgb(r, g, b)),
                );
                match entry.last.as_ref().and_then(|res| res.best().map(|best| (res, best))) {
                    Some((res, best)) => {
                        ui.label(format!("{:.2} ms", res.time.as_secs_f64() * 1000.0));
                        ui.label(format!("{:.2} mm {:.2}°", best.position_error_mm, best.orientation_error_deg));
                    }
                    None => {
                        ui.label("");
                        ui.label("");
                    }
                }
                ui.end_row();
            }
        });
    });
}
