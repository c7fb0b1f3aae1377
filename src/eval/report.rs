//! Comparison tables: Markdown (Table-4 style) and CSV.

use super::EvalReport;

/// One row per solver: errors, success, buckets and time.
pub fn to_markdown(reports: &[EvalReport]) -> String {
    let mut out = String::from(
        "| solver | poses | samples | pos. avg (mm) | pos. min | pos. max | rot. avg (°) | rot. max | mean of samples (mm) | success (10 mm, 20°) | strict (1 mm, 0.57°) | > 1 mm | > 5 mm | > 1 cm | > 10 cm | time median (ms) | time p99 (ms) |\n",
    );
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    for r in reports {
        let above = |t: f64| r.above_mm.iter().find(|(x, _)| *x == t).map_or(0.0, |(_, f)| *f) * 100.0;
        out.push_str(&format!(
            "| {} | {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.3} | {:.2} % | {:.2} % | {:.2} % | {:.2} % | {:.2} % | {:.2} % | {:.3} | {:.3} |\n",
            r.solver,
            r.poses,
            r.samples,
            r.position_mm.mean,
            r.position_mm.min,
            r.position_mm.max,
            r.orientation_deg.mean,
            r.orientation_deg.max,
            r.mean_of_samples_position_mm,
            r.success_rate * 100.0,
            r.strict_success_rate * 100.0,
            above(1.0),
            above(5.0),
            above(10.0),
            above(100.0),
            r.time_ms.median,
            r.time_ms.p99,
        ));
    }
    out
}

pub fn to_csv(reports: &[EvalReport]) -> String {
    let mut out = String::from(
        "solver,poses,samples,pos_mean_mm,pos_min_mm,pos_max_mm,pos_median_mm,rot_mean_deg,rot_min_deg,rot_max_deg,mean_of_samples_pos_mm,mean_of_samples_rot_deg,success_rate,strict_success_rate,time_median_ms,time_p99_ms,time_mean_ms\n",
    );
    for r in reports {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            r.solver,
            r.poses,
            r.samples,
            r.position_mm.mean,
            r.position_mm.min,
            r.position_mm.max,
            r.position_mm.median,
            r.orientation_deg.mean,
            r.orientation_deg.min,
            r.orientation_deg.max,
            r.mean_of_samples_position_mm,
            r.mean_of_samples_orientation_deg,
            r.success_rate,
            r.strict_success_rate,
            r.time_ms.median,
            r.time_ms.p99,
            r.time_ms.mean,
        ));
    }
    out
}
