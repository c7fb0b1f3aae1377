//! `bench --onnx-runtime`: the same network through ONNX Runtime, for a
//! side-by-side ratio. ONNX Runtime is optional and lives in Python: the fast
//! path's dense layers (batch norms folded in, as ORT's optimiser would) go to
//! a raw f32 file, `tools/ort_bench.py` builds the ONNX graph with the `onnx`
//! package, checks ORT's outputs against ours and times it on one thread.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::Context;
use ik_studio::models::{Activation, FastMlp, LoadedModel, Skip};
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize)]
pub struct OrtTiming {
    pub batch: usize,
    pub median_us: f64,
    pub p99_us: f64,
    /// The Python call into ORT with an Identity graph: not ORT's own work.
    pub call_overhead_us: f64,
}

#[derive(Debug, Serialize, Deserialize)]
struct OrtOutput {
    onnxruntime: String,
    max_abs_difference: f64,
    timings: Vec<OrtTiming>,
}

/// One batch size, ORT against the fast path on the raw network.
#[derive(Debug, Serialize)]
pub struct OrtComparison {
    pub batch: usize,
    pub fast_median_us: f64,
    pub ort_median_us: f64,
    pub ort_p99_us: f64,
    pub ort_call_overhead_us: f64,
    /// fast / ORT; below 1 the fast path is quicker.
    pub ratio: f64,
    /// fast / (ORT − call overhead): against ORT's own time.
    pub ratio_without_call_overhead: f64,
}

#[derive(Debug, Serialize)]
pub struct OrtReport {
    pub onnxruntime: String,
    /// Largest difference between ORT's outputs and the fast path's.
    pub max_abs_difference: f64,
    pub batches: Vec<OrtComparison>,
}

pub fn compare(model: &LoadedModel, python: &str, batches: &[usize]) -> anyhow::Result<OrtReport> {
    let fast = FastMlp::from_network(model.network())
        .with_context(|| format!("{} has no dense-layer form to export to ONNX", model.card.model))?;
    let dir = std::env::temp_dir().join(format!("ik-studio-ort-{}", std::process::id()));
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let result = export_and_run(&fast, &dir, python, batches);
    let _ = std::fs::remove_dir_all(&dir);
    let output = result?;
    let batches = output
        .timings
        .into_iter()
        .map(|ort| {
            let fast_median_us = time_fast(&fast, ort.batch);
            OrtComparison {
                batch: ort.batch,
                fast_median_us,
                ort_median_us: ort.median_us,
                ort_p99_us: ort.p99_us,
                ort_call_overhead_us: ort.call_overhead_us,
                ratio: fast_median_us / ort.median_us,
                ratio_without_call_overhead: fast_median_us / (ort.median_us - ort.call_overhead_us).max(1e-9),
            }
        })
        .collect();
    Ok(OrtReport { onnxruntime: output.onnxruntime, max_abs_difference: output.max_abs_difference, batches })
}

#[derive(Serialize)]
struct LayerSpec {
    /// Offsets (in floats) into the weights file.
    weights_at: usize,
    bias_at: usize,
    inputs: usize,
    outputs: usize,
    activation: &'static str,
    skip: &'static str,
}

fn export_and_run(fast: &FastMlp, dir: &Path, python: &str, batches: &[usize]) -> anyhow::Result<OrtOutput> {
    let mut values: Vec<f32> = Vec::new();
    let layers: Vec<LayerSpec> = fast
        .layers()
        .into_iter()
        .map(|layer| {
            let weights_at = values.len();
            values.extend(&layer.weights);
            let bias_at = values.len();
            values.extend(&layer.bias);
            LayerSpec {
                weights_at,
                bias_at,
                inputs: layer.inputs,
                outputs: layer.outputs,
                activation: match layer.activation {
                    Activation::Identity => "identity",
                    Activation::Relu => "relu",
                    Activation::Gelu => "gelu",
                    Activation::Tanh => "tanh",
                    Activation::LeakyRelu => "leaky-relu",
                    Activation::Celu => "celu",
                    Activation::Selu => "selu",
                },
                skip: match layer.skip {
                    Skip::None => "none",
                    Skip::Save => "save",
                    Skip::Add => "add",
                },
            }
        })
        .collect();
    let weights = dir.join("weights.f32");
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    std::fs::write(&weights, bytes).with_context(|| format!("cannot write {}", weights.display()))?;
    let rows = 4;
    let test_input: Vec<f32> = (0..rows * fast.inputs()).map(|i| ((i * 7919 % 2000) as f32 / 1000.0) - 1.0).collect();
    let mut test_output = Vec::new();
    fast.forward(&test_input, rows, &mut test_output);
    let spec = serde_json::json!({
        "inputs": fast.inputs(), "layers": layers, "test_input": test_input, "test_output": test_output,
    });
    let spec_path = dir.join("layers.json");
    std::fs::write(&spec_path, serde_json::to_vec(&spec)?)
        .with_context(|| format!("cannot write {}", spec_path.display()))?;

    let script = script_path();
    let batches = batches.iter().map(usize::to_string).collect::<Vec<_>>().join(",");
    let out = Command::new(python)
        .arg(&script)
        .arg("--weights")
        .arg(&weights)
        .arg("--layers")
        .arg(&spec_path)
        .arg("--batches")
        .arg(batches)
        .output()
        .with_context(|| format!("cannot run {python} (the ONNX Runtime reference needs Python)"))?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        anyhow::bail!(
            "{} failed (it needs python with onnx, onnxruntime and numpy: pip install onnx onnxruntime numpy): {}",
            script.display(),
            stderr.trim().lines().last().unwrap_or("no message")
        );
    }
    serde_json::from_slice(&out.stdout).context("tools/ort_bench.py printed no result")
}

fn script_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tools/ort_bench.py")
}

/// Median time of the fast path on the raw network (no pose encoding).
fn time_fast(fast: &FastMlp, batch: usize) -> f64 {
    let input: Vec<f32> = (0..batch * fast.inputs()).map(|i| ((i % 13) as f32 - 6.0) / 7.0).collect();
    let mut out = Vec::with_capacity(batch * fast.outputs());
    let runs = if batch == 1 { 3000 } else { 200 };
    super::bench::time_calls(runs, || {
        out.clear();
        fast.forward(std::hint::black_box(&input), batch, &mut out);
    })
    .median
}
