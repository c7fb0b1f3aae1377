//! Comparison tables: Markdown (Table-4 style) and CSV, from one column list.

use super::{EvalReport, PeakRssScope};

/// A column: Markdown header, CSV name, and the value with its Markdown formatting.
struct Column {
    header: &'static str,
    csv: &'static str,
    value: fn(&EvalReport) -> Cell,
}

enum Cell {
    Text(String),
    Count(usize),
    /// A number shown with this many decimals.
    Number(f64, usize),
    /// A number with a note after it in Markdown (`12.3 (process)`); the number alone in CSV.
    Labelled(f64, usize, &'static str),
    /// A fraction shown as a percentage.
    Percent(f64),
}

impl Cell {
    fn markdown(&self) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Count(n) => n.to_string(),
            Cell::Number(v, decimals) => format!("{v:.decimals$}"),
            Cell::Labelled(v, decimals, note) => format!("{v:.decimals$} ({note})"),
            Cell::Percent(f) => format!("{:.2} %", f * 100.0),
        }
    }

    fn csv(&self) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Count(n) => n.to_string(),
            Cell::Number(v, _) | Cell::Labelled(v, ..) | Cell::Percent(v) => v.to_string(),
        }
    }
}

fn above(r: &EvalReport, threshold: f64) -> Cell {
    Cell::Percent(r.above_mm.iter().find(|(t, _)| *t == threshold).map_or(0.0, |(_, f)| *f))
}

const COLUMNS: &[Column] = &[
    Column { header: "solver", csv: "solver", value: |r| Cell::Text(r.solver.clone()) },
    Column { header: "poses", csv: "poses", value: |r| Cell::Count(r.poses) },
    Column { header: "samples", csv: "samples", value: |r| Cell::Count(r.samples) },
    Column { header: "pos. avg (mm)", csv: "pos_mean_mm", value: |r| Cell::Number(r.position_mm.mean, 3) },
    Column { header: "pos. min", csv: "pos_min_mm", value: |r| Cell::Number(r.position_mm.min, 3) },
    Column { header: "pos. max", csv: "pos_max_mm", value: |r| Cell::Number(r.position_mm.max, 3) },
    Column { header: "rot. avg (°)", csv: "rot_mean_deg", value: |r| Cell::Number(r.orientation_deg.mean, 3) },
    Column { header: "rot. max", csv: "rot_max_deg", value: |r| Cell::Number(r.orientation_deg.max, 3) },
    Column {
        header: "mean of samples (mm)",
        csv: "mean_of_samples_pos_mm",
        value: |r| Cell::Number(r.mean_of_samples_position_mm, 3),
    },
    Column { header: "spread (rad)", csv: "sample_spread", value: |r| Cell::Number(r.sample_spread, 4) },
    Column {
        header: "samples ok (10 mm, 20°)",
        csv: "samples_success_rate",
        value: |r| Cell::Percent(r.samples_success_rate),
    },
    Column { header: "success (10 mm, 20°)", csv: "success_rate", value: |r| Cell::Percent(r.success_rate) },
    Column {
        header: "strict (1 mm, 0.57°)",
        csv: "strict_success_rate",
        value: |r| Cell::Percent(r.strict_success_rate),
    },
    Column { header: "> 1 mm", csv: "above_1mm", value: |r| above(r, 1.0) },
    Column { header: "> 2.5 mm", csv: "above_2_5mm", value: |r| above(r, 2.5) },
    Column { header: "> 5 mm", csv: "above_5mm", value: |r| above(r, 5.0) },
    Column { header: "> 1 cm", csv: "above_10mm", value: |r| above(r, 10.0) },
    Column { header: "> 2 cm", csv: "above_20mm", value: |r| above(r, 20.0) },
    Column { header: "> 5 cm", csv: "above_50mm", value: |r| above(r, 50.0) },
    Column { header: "> 10 cm", csv: "above_100mm", value: |r| above(r, 100.0) },
    Column { header: "time median (ms)", csv: "time_median_ms", value: |r| Cell::Number(r.time_ms.median, 3) },
    Column { header: "time p99 (ms)", csv: "time_p99_ms", value: |r| Cell::Number(r.time_ms.p99, 3) },
    Column { header: "params", csv: "parameters", value: |r| Cell::Count(r.parameters) },
    Column { header: "weights (MB)", csv: "weights_mb", value: |r| Cell::Number(r.weights_mb, 2) },
    Column {
        header: "peak RSS (MB)",
        csv: "peak_rss_mb",
        value: |r| match (r.peak_rss_mb, r.peak_rss_scope) {
            (None, _) => Cell::Text("–".into()),
            (Some(mb), PeakRssScope::Run) => Cell::Number(mb, 1),
            // Not this solver's own peak: say so in the table, keep the CSV column numeric.
            (Some(mb), PeakRssScope::Process) => Cell::Labelled(mb, 1, "process"),
        },
    },
];

/// One row per solver: errors, success, buckets and time.
pub fn to_markdown(reports: &[EvalReport]) -> String {
    let row = |cells: Vec<String>| format!("| {} |\n", cells.join(" | "));
    let mut out = row(COLUMNS.iter().map(|c| c.header.to_string()).collect());
    out += &row(COLUMNS.iter().enumerate().map(|(i, _)| if i == 0 { "---" } else { "---:" }.to_string()).collect());
    for r in reports {
        out += &row(COLUMNS.iter().map(|c| (c.value)(r).markdown()).collect());
    }
    out
}

pub fn to_csv(reports: &[EvalReport]) -> String {
    let mut out = COLUMNS.iter().map(|c| c.csv).collect::<Vec<_>>().join(",") + "\n";
    for r in reports {
        out += &(COLUMNS.iter().map(|c| (c.value)(r).csv()).collect::<Vec<_>>().join(",") + "\n");
    }
    out
}
