//! A study for people: `summary.md` (the trials table, the best trial, the
//! space) and `history.png` (each trial's value and the best so far).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use plotters::prelude::*;

use super::study::{StudyMeta, TrialRecord, TrialState};
use super::{Hyperband, TuneError};
use crate::atomic_file::write_atomically;
use crate::eval::plots::{PlotError, write_rgb_png};

pub const SUMMARY_FILE: &str = "summary.md";
pub const HISTORY_PLOT: &str = "history.png";
const SIZE: (u32, u32) = (1000, 620);

/// The best complete trial (lowest value).
pub fn best_trial(records: &[TrialRecord]) -> Option<&TrialRecord> {
    records
        .iter()
        .filter(|r| r.state == TrialState::Complete)
        .filter_map(|r| Some((r.value?, r)))
        .min_by(|(a, _), (b, _)| a.total_cmp(b))
        .map(|(_, r)| r)
}

/// The Markdown summary of `records` (sorted by number).
pub fn summary_markdown(meta: &StudyMeta, records: &[TrialRecord], pruner: &Hyperband, wall_seconds: f64) -> String {
    let mut md = String::new();
    let count = |s: TrialState| records.iter().filter(|r| r.state == s).count();
    let _ = writeln!(md, "# Hyper-parameter study: {} ({}) for {}\n", meta.model, meta.preset, meta.robot);
    if let Some(data) = &meta.dataset {
        let _ = writeln!(md, "* dataset: `{}`", data.display());
    }
    let _ = writeln!(
        md,
        "* {} trials: {} complete, {} pruned, {} failed; up to {} epochs each; seed {}",
        records.len(),
        count(TrialState::Complete),
        count(TrialState::Pruned),
        count(TrialState::Failed),
        meta.epochs,
        meta.seed
    );
    let _ = writeln!(
        md,
        "* sampler: TPE (trial 0 is the preset's configuration); pruner: Hyperband, η = {}, {} brackets, epochs {}–{}",
        pruner.eta,
        pruner.brackets(),
        pruner.min_epochs,
        pruner.max_epochs
    );
    let _ = writeln!(md, "* objective: validation position error (mm) of the trial's best epoch; lower is better");
    let _ = writeln!(md, "* this run: {wall_seconds:.1} s\n");
    if let Some(best) = best_trial(records) {
        let preset = records.iter().find(|r| r.number == 0).and_then(|r| r.value);
        let versus = preset.map(|p| format!(" (the preset, trial 0: {p:.3} mm)")).unwrap_or_default();
        let _ = writeln!(
            md,
            "**Best: trial {}, {:.3} mm{versus}**, checkpoint `best/`\n",
            best.number,
            best.value.unwrap_or(f64::NAN)
        );
    }
    let names: BTreeSet<&String> = records.iter().flat_map(|r| r.params.keys()).collect();
    let _ = write!(md, "| trial | state | value (mm) | epochs | seconds |");
    for name in &names {
        let _ = write!(md, " {name} |");
    }
    let _ = write!(md, "\n|---:|---|---:|---:|---:|");
    md.push_str(&"---:|".repeat(names.len()));
    md.push('\n');
    for r in records {
        let state = format!("{:?}", r.state).to_lowercase();
        let value = r.value.map_or("–".to_string(), |v| format!("{v:.3}"));
        let _ = write!(md, "| {} | {state} | {value} | {} | {:.1} |", r.number, r.epochs, r.seconds);
        for name in &names {
            let _ = write!(md, " {} |", r.params.get(*name).map_or("–".to_string(), |v| format_value(*v)));
        }
        md.push('\n');
    }
    let _ = writeln!(md, "\n## Search space\n\n| parameter | low | high | step | scale |\n|---|---:|---:|---:|---|");
    for (name, range) in meta.space.iter() {
        let step = range.step.map_or("–".to_string(), format_value);
        let scale = if range.log { "log" } else { "linear" };
        let _ =
            writeln!(md, "| {name} | {} | {} | {step} | {scale} |", format_value(range.low), format_value(range.high));
    }
    md
}

fn format_value(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e9 {
        format!("{v:.0}")
    } else if v.abs() < 1e-2 {
        format!("{v:.3e}")
    } else {
        format!("{v:.4}")
    }
}

/// Writes `summary.md` and `history.png` into the study folder.
pub fn write_report(
    dir: &Path,
    meta: &StudyMeta,
    records: &[TrialRecord],
    pruner: &Hyperband,
    wall_seconds: f64,
) -> Result<Vec<PathBuf>, TuneError> {
    let summary = dir.join(SUMMARY_FILE);
    let text = summary_markdown(meta, records, pruner, wall_seconds);
    write_atomically(&summary, |w| w.write_all(text.as_bytes())).map_err(|e| TuneError::io(&summary, e))?;
    let plot = dir.join(HISTORY_PLOT);
    let mut files = vec![summary];
    if records.iter().any(|r| r.value.is_some_and(f64::is_finite)) {
        history_plot(records, &plot).map_err(|e| TuneError::Report(e.to_string()))?;
        files.push(plot);
    }
    Ok(files)
}

/// The optimisation history: every trial's value (complete and pruned) and
/// the best complete value so far.
fn history_plot(records: &[TrialRecord], path: &Path) -> Result<(), PlotError> {
    let points = |state: TrialState| -> Vec<(f64, f64)> {
        records
            .iter()
            .filter(|r| r.state == state)
            .filter_map(|r| Some((r.number as f64, r.value.filter(|v| v.is_finite())?)))
            .collect()
    };
    let (complete, pruned) = (points(TrialState::Complete), points(TrialState::Pruned));
    let mut best = Vec::new();
    let mut so_far = f64::INFINITY;
    for (n, v) in &complete {
        so_far = so_far.min(*v);
        best.push((*n, so_far));
    }
    let top = complete.iter().chain(&pruned).map(|p| p.1).fold(0.0_f64, f64::max) * 1.08;
    let last = records.iter().map(|r| r.number).max().unwrap_or(0) as f64 + 0.5;
    let mut pixels = vec![255u8; (SIZE.0 * SIZE.1 * 3) as usize];
    let draw = |pixels: &mut [u8]| -> Result<(), String> {
        let area = BitMapBackend::with_buffer(pixels, SIZE).into_drawing_area();
        area.fill(&WHITE).map_err(|e| e.to_string())?;
        let font = crate::eval::plots::font_family();
        let mut chart = ChartBuilder::on(&area)
            .caption("Optimisation history", (font, 24))
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.5..last, 0.0..top.max(1e-9))
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc("trial")
            .y_desc("validation position error (mm)")
            .label_style((font, 15))
            .axis_desc_style((font, 17))
            .draw()
            .map_err(|e| e.to_string())?;
        let blue = RGBColor(31, 119, 180);
        let orange = RGBColor(255, 127, 14);
        let green = RGBColor(44, 160, 44);
        chart
            .draw_series(complete.iter().map(|&p| Circle::new(p, 6, blue.filled())))
            .map_err(|e| e.to_string())?
            .label("complete")
            .legend(move |(x, y)| Circle::new((x + 10, y), 6, blue.filled()));
        chart
            .draw_series(pruned.iter().map(|&p| TriangleMarker::new(p, 7, orange.filled())))
            .map_err(|e| e.to_string())?
            .label("pruned")
            .legend(move |(x, y)| TriangleMarker::new((x + 10, y), 7, orange.filled()));
        chart
            .draw_series(LineSeries::new(best.iter().copied(), green.stroke_width(3)))
            .map_err(|e| e.to_string())?
            .label("best so far")
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], green.stroke_width(3)));
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .label_font((font, 15))
            .draw()
            .map_err(|e| e.to_string())?;
        area.present().map_err(|e| e.to_string())
    };
    draw(&mut pixels).map_err(|reason| PlotError::Draw { plot: HISTORY_PLOT, reason })?;
    write_rgb_png(path, &pixels, SIZE).map_err(|source| PlotError::Io { path: path.to_path_buf(), source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::{ModelKind, Preset};
    use crate::tune::SearchSpace;

    fn record(number: usize, state: TrialState, value: Option<f64>) -> TrialRecord {
        TrialRecord {
            number,
            params: [("learning_rate".to_string(), 1e-3 / (number + 1) as f64)].into(),
            state,
            value,
            epochs: 3,
            seconds: 2.0,
            checkpoint: None,
            curve: Vec::new(),
            error: None,
        }
    }

    #[test]
    fn the_summary_names_the_best_complete_trial_and_the_plot_is_a_png() {
        let records = vec![
            record(0, TrialState::Complete, Some(12.0)),
            record(1, TrialState::Pruned, Some(5.0)),
            record(2, TrialState::Complete, Some(8.5)),
            record(3, TrialState::Failed, None),
        ];
        assert_eq!(best_trial(&records).map(|r| r.number), Some(2));
        let meta = StudyMeta {
            model: ModelKind::IknetOriginal,
            preset: Preset::Compact,
            robot: "omx".into(),
            dataset: None,
            epochs: 9,
            seed: 1,
            space: SearchSpace::default_for(ModelKind::IknetOriginal),
            data: None,
        };
        let md = summary_markdown(&meta, &records, &Hyperband::new(9), 3.0);
        assert!(md.contains("**Best: trial 2, 8.500 mm (the preset, trial 0: 12.000 mm)**"), "{md}");
        assert!(md.contains("| 1 | pruned | 5.000 | 3 | 2.0 |"), "{md}");
        let dir = tempfile::tempdir().unwrap();
        let files = write_report(dir.path(), &meta, &records, &Hyperband::new(9), 3.0).unwrap();
        let png = std::fs::read(&files[1]).unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }
}
