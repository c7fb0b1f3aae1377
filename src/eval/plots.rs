//! PNG plots of an evaluation: the error histogram in the field's buckets,
//! error against distance from the workspace centre, time per query and
//! memory. plotters draws into an RGB buffer (text through ab_glyph with
//! egui's bundled Ubuntu font, so no system font library is needed), png
//! encodes it, and the file is written atomically.

use std::path::{Path, PathBuf};
use std::sync::Once;

use plotters::coord::Shift;
use plotters::coord::ranged1d::{AsRangedCoord, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::FontStyle;

use super::{BUCKETS_MM, EvalReport};
use crate::atomic_file::write_atomically;

const SIZE: (u32, u32) = (1000, 620);
const FONT: &str = "sans-serif";

#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("nothing to plot: the reports have no per-pose results")]
    Empty,
    #[error("drawing {plot}: {reason}")]
    Draw { plot: &'static str, reason: String },
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
}

/// Writes `errors_histogram.png`, `errors_vs_distance.png`, `time.png` and
/// `memory.png` for `reports` into `dir` (created if needed) and returns
/// their paths. `centre` is the workspace centre the distances are taken from.
pub fn write_plots(reports: &[EvalReport], centre: [f64; 3], dir: &Path) -> Result<Vec<PathBuf>, PlotError> {
    if reports.iter().all(|r| r.per_pose.is_empty()) {
        return Err(PlotError::Empty);
    }
    register_font();
    std::fs::create_dir_all(dir).map_err(|source| PlotError::Io { path: dir.to_path_buf(), source })?;
    let plots: [(&'static str, fn(&Area, &[EvalReport], [f64; 3]) -> DrawResult); 4] = [
        ("errors_histogram.png", histogram),
        ("errors_vs_distance.png", error_vs_distance),
        ("time.png", time_bars),
        ("memory.png", memory_bars),
    ];
    plots
        .into_iter()
        .map(|(name, draw)| {
            let path = dir.join(name);
            let mut pixels = vec![255u8; (SIZE.0 * SIZE.1 * 3) as usize];
            {
                let area = BitMapBackend::with_buffer(&mut pixels, SIZE).into_drawing_area();
                draw(&area, reports, centre)
                    .and_then(|()| area.present().map_err(|e| e.to_string()))
                    .map_err(|reason| PlotError::Draw { plot: name, reason })?;
            }
            write_png(&path, &pixels).map_err(|source| PlotError::Io { path: path.clone(), source })?;
            Ok(path)
        })
        .collect()
}

type Area<'a> = DrawingArea<BitMapBackend<'a>, Shift>;
type DrawResult = Result<(), String>;

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a font known to parse; a failure would only lose the text.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, epaint_default_fonts::UBUNTU_LIGHT);
    });
}

fn write_png(path: &Path, rgb: &[u8]) -> std::io::Result<()> {
    write_rgb_png(path, rgb, SIZE)
}

/// The font family of every plot, registered on first use (other modules'
/// charts, e.g. a tuning study's, use it too).
pub fn font_family() -> &'static str {
    register_font();
    FONT
}

/// Encodes an RGB buffer of `size` pixels as a PNG file, atomically.
pub fn write_rgb_png(path: &Path, rgb: &[u8], size: (u32, u32)) -> std::io::Result<()> {
    write_atomically(path, |file| {
        let mut encoder = png::Encoder::new(file, size.0, size.1);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        let mut writer = encoder.write_header().map_err(std::io::Error::other)?;
        writer.write_image_data(rgb).map_err(std::io::Error::other)?;
        writer.finish().map_err(std::io::Error::other)
    })
}

fn colour(i: usize) -> RGBColor {
    const COLOURS: [RGBColor; 8] = [
        RGBColor(31, 119, 180),
        RGBColor(255, 127, 14),
        RGBColor(44, 160, 44),
        RGBColor(214, 39, 40),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
        RGBColor(227, 119, 194),
        RGBColor(23, 190, 207),
    ];
    COLOURS[i % COLOURS.len()]
}

fn font(size: u32) -> TextStyle<'static> {
    (FONT, size).into_font().into()
}

/// Labels under groups of bars: the chart's own x labels sit at round numbers,
/// these sit at the group centres.
fn group_labels<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    centres: impl Iterator<Item = (i32, String)>,
    y: i32,
) -> DrawResult {
    let style = font(15).pos(plotters::style::text_anchor::Pos::new(
        plotters::style::text_anchor::HPos::Center,
        plotters::style::text_anchor::VPos::Top,
    ));
    for (x, label) in centres {
        area.draw(&Text::new(label, (x, y), style.clone())).map_err(|e| e.to_string())?;
    }
    Ok(())
}

/// Share of poses per position-error bucket, one bar per solver.
fn histogram(area: &Area, reports: &[EvalReport], _: [f64; 3]) -> DrawResult {
    area.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut edges = vec![0.0];
    edges.extend(BUCKETS_MM);
    let labels: Vec<String> = edges
        .iter()
        .enumerate()
        .map(|(i, lo)| match edges.get(i + 1) {
            Some(hi) => format!("{lo}–{hi} mm"),
            None => format!("> {lo} mm"),
        })
        .collect();
    let buckets = labels.len();
    let mut chart = ChartBuilder::on(area)
        .caption("Position error of the best solution per pose", font(24))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..buckets as f64, 0.0..100.0)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc("poses (%)")
        .label_style(font(15))
        .draw()
        .map_err(|e| e.to_string())?;
    let width = 0.8 / reports.len() as f64;
    for (s, report) in reports.iter().enumerate() {
        let n = report.per_pose.len().max(1) as f64;
        let counts = (0..buckets).map(|b| {
            let (lo, hi) = (edges[b], edges.get(b + 1).copied().unwrap_or(f64::INFINITY));
            100.0 * report.per_pose.iter().filter(|p| p.position_mm >= lo && p.position_mm < hi).count() as f64 / n
        });
        let fill = colour(s).filled();
        chart
            .draw_series(counts.enumerate().map(|(b, share)| {
                let x = b as f64 + 0.1 + s as f64 * width;
                Rectangle::new([(x, 0.0), (x + width, share)], fill)
            }))
            .map_err(|e| e.to_string())?
            .label(report.solver.clone())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], fill));
    }
    legend(&mut chart)?;
    let y = chart.backend_coord(&(0.0, 0.0)).1 + 8;
    group_labels(
        area,
        labels.into_iter().enumerate().map(|(b, l)| (chart.backend_coord(&(b as f64 + 0.5, 0.0)).0, l)),
        y,
    )
}

/// Position error (log scale) of every pose against its distance from the workspace centre.
fn error_vs_distance(area: &Area, reports: &[EvalReport], centre: [f64; 3]) -> DrawResult {
    area.fill(&WHITE).map_err(|e| e.to_string())?;
    let distance =
        |t: &[f64; 7]| ((t[0] - centre[0]).powi(2) + (t[1] - centre[1]).powi(2) + (t[2] - centre[2]).powi(2)).sqrt();
    let points: Vec<Vec<(f64, f64)>> = reports
        .iter()
        .map(|r| {
            r.per_pose
                .iter()
                .filter(|p| p.position_mm.is_finite())
                .map(|p| (distance(&p.target), p.position_mm.max(1e-4)))
                .collect()
        })
        .collect();
    let all = points.iter().flatten();
    let max_d = all.clone().map(|p| p.0).fold(0.0, f64::max).max(1e-3) * 1.05;
    let (lo, hi) = all.fold((f64::INFINITY, 0.0f64), |(lo, hi), p| (lo.min(p.1), hi.max(p.1)));
    let (lo, hi) = if lo.is_finite() { (lo / 2.0, (hi * 2.0).max(lo * 10.0)) } else { (1e-3, 1.0) };
    let mut chart = ChartBuilder::on(area)
        .caption("Position error against distance from the workspace centre", font(24))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..max_d, (lo..hi).log_scale())
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .x_desc("distance from the centre (m)")
        .y_desc("position error (mm)")
        .label_style(font(15))
        .draw()
        .map_err(|e| e.to_string())?;
    for (s, (report, points)) in reports.iter().zip(points).enumerate() {
        let style = colour(s).mix(0.5).filled();
        chart
            .draw_series(points.into_iter().map(|p| Circle::new(p, 2, style)))
            .map_err(|e| e.to_string())?
            .label(report.solver.clone())
            .legend(move |(x, y)| Circle::new((x + 7, y), 5, colour(s).filled()));
    }
    legend(&mut chart)
}

/// Median time per query (bar) with its p99 (whisker), log scale.
fn time_bars(area: &Area, reports: &[EvalReport], _: [f64; 3]) -> DrawResult {
    let values: Vec<(f64, f64)> =
        reports.iter().map(|r| (r.time_ms.median.max(1e-4), r.time_ms.p99.max(1e-4))).collect();
    let lo = values.iter().map(|v| v.0).fold(f64::INFINITY, f64::min) / 3.0;
    let hi = values.iter().map(|v| v.1).fold(0.0, f64::max) * 3.0;
    bars(area, reports, "Time per query: median (bar) and p99 (line)", "ms per query", (lo..hi).log_scale(), |chart| {
        for (s, (median, p99)) in values.iter().enumerate() {
            let x = s as f64;
            chart
                .draw_series([Rectangle::new([(x + 0.2, lo), (x + 0.8, *median)], colour(s).filled())])
                .map_err(|e| e.to_string())?;
            chart
                .draw_series([PathElement::new(vec![(x + 0.35, *p99), (x + 0.65, *p99)], BLACK.stroke_width(2))])
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    })
}

/// Network weights and the process's peak resident memory per solver.
fn memory_bars(area: &Area, reports: &[EvalReport], _: [f64; 3]) -> DrawResult {
    let rss: Vec<f64> = reports.iter().map(|r| r.peak_rss_mb.unwrap_or(0.0)).collect();
    let hi = reports.iter().map(|r| r.weights_mb).chain(rss.iter().copied()).fold(1.0, f64::max) * 1.15;
    bars(area, reports, "Memory: network weights (dark) and peak RSS (light)", "MB", 0.0..hi, |chart| {
        for (s, report) in reports.iter().enumerate() {
            let x = s as f64;
            chart
                .draw_series([
                    Rectangle::new([(x + 0.15, 0.0), (x + 0.5, report.weights_mb)], colour(s).filled()),
                    Rectangle::new([(x + 0.5, 0.0), (x + 0.85, rss[s])], colour(s).mix(0.4).filled()),
                ])
                .map_err(|e| e.to_string())?;
        }
        Ok(())
    })
}

/// One group per solver along x, labelled with the solver's name.
fn bars<Y>(
    area: &Area,
    reports: &[EvalReport],
    caption: &str,
    y_desc: &str,
    y: Y,
    draw: impl FnOnce(&mut ChartContext<'_, BitMapBackend<'_>, Cartesian2d<RangedCoordf64, Y::CoordDescType>>) -> DrawResult,
) -> DrawResult
where
    Y: AsRangedCoord<Value = f64>,
    Y::CoordDescType: ValueFormatter<f64>,
{
    area.fill(&WHITE).map_err(|e| e.to_string())?;
    let mut chart = ChartBuilder::on(area)
        .caption(caption, font(24))
        .margin(20)
        .x_label_area_size(50)
        .y_label_area_size(70)
        .build_cartesian_2d(0.0..reports.len() as f64, y)
        .map_err(|e| e.to_string())?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(0)
        .y_desc(y_desc)
        .label_style(font(15))
        .draw()
        .map_err(|e| e.to_string())?;
    draw(&mut chart)?;
    let bottom = chart.plotting_area().get_pixel_range().1.end + 8;
    let centres = reports.iter().enumerate().map(|(s, r)| {
        let x = chart.plotting_area().get_pixel_range().0;
        let width = (x.end - x.start) as f64 / reports.len() as f64;
        (x.start + ((s as f64 + 0.5) * width) as i32, r.solver.clone())
    });
    group_labels(area, centres, bottom)
}

fn legend<'a, X, Y>(chart: &mut ChartContext<'a, BitMapBackend<'a>, Cartesian2d<X, Y>>) -> DrawResult
where
    X: Ranged,
    Y: Ranged,
{
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .label_font(font(16))
        .draw()
        .map_err(|e| e.to_string())
}
