//! One training step of the compact CycleIK MLP (7 → 512 → 512 → 512 → 256 → 8,
//! batch 256, through NICOL's FK, L1 position + chordal rotation, Adam): burn's
//! autodiff step against the fast path, at 1 and 2 threads.
//!
//! After criterion, a side-by-side in samples/s: burn, the fast path and,
//! where a Python with PyTorch is at hand, PyTorch CPU on the same network,
//! FK and loss (tools/torch_train_bench.py, fed the chain and the batches
//! this bench writes to target/training-bench/). Set `IK_TORCH_PYTHON` to the
//! interpreter (default `python3`); `IK_TRAINING_SIDE_BY_SIDE=0` skips it.
//!
//!     cargo bench --bench training

use std::hint::black_box;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor, TensorData};
use criterion::{BenchmarkId, Criterion, Throughput};
use ik_studio::kinematics::Pose;
use ik_studio::models::{
    Architecture, IoMapping, ModelKind, Network, OutputDecoding, POSE_INPUT, Preset, TensorFk, cpu_device, preset_spec,
    quaternions_to_matrices,
};
use ik_studio::robots::{self, Robot};
use ik_studio::train::LossConfig;
use ik_studio::train::fast::{ChainGrad, FastBatch, FastTrainer, StepProfile, Threading};
use ik_studio::train::losses::{position_loss, rotation_loss};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;

const BATCH: usize = 256;
/// Batches of data the steps cycle through.
const BATCHES: usize = 8;
const LEARNING_RATE: f64 = 1e-3;
const THREADS: [usize; 2] = [1, 2];

/// Reachable target poses as network inputs and targets.
struct Data {
    inputs: Vec<f32>,
    positions: Vec<f32>,
    rotations: Vec<f32>,
}

impl Data {
    fn new(robot: &Robot, io: &IoMapping, rows: usize) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(17);
        let chain = &robot.chain;
        let poses: Vec<[f64; 7]> = (0..rows)
            .map(|_| Pose::from_isometry(&chain.fk_unchecked(&chain.random_configuration(&mut rng))).to_array())
            .collect();
        let mut inputs = Vec::with_capacity(rows * POSE_INPUT);
        for pose in &poses {
            io.encode_pose(pose, &mut inputs).expect("FK poses are valid");
        }
        let quaternions: Vec<[f64; 4]> = poses.iter().map(|p| [p[3], p[4], p[5], p[6]]).collect();
        Self {
            inputs,
            positions: poses.iter().flat_map(|p| p[..3].iter().map(|&v| v as f32)).collect(),
            rotations: quaternions_to_matrices(&quaternions),
        }
    }

    fn batch(&self, k: usize) -> FastBatch<'_> {
        let r = (k % BATCHES) * BATCH..(k % BATCHES + 1) * BATCH;
        FastBatch {
            inputs: &self.inputs[r.start * POSE_INPUT..r.end * POSE_INPUT],
            positions: &self.positions[r.start * 3..r.end * 3],
            rotations: &self.rotations[r.start * 9..r.end * 9],
            variance_rows: 0,
        }
    }
}

/// The burn trainer's step: forward, losses, backward, Adam, loss read back.
struct BurnStep {
    network: Option<Network>,
    optimizer: ModuleOptimizer,
    io: IoMapping,
    fk: TensorFk,
    loss: LossConfig,
    device: Device,
}

impl BurnStep {
    fn step(&mut self, batch: &FastBatch<'_>) -> f32 {
        let rows =
            |v: &[f32], width: usize| Tensor::<2>::from_data(TensorData::new(v.to_vec(), [BATCH, width]), &self.device);
        let rotations = Tensor::<3>::from_data(TensorData::new(batch.rotations.to_vec(), [BATCH, 3, 3]), &self.device);
        let network = self.network.take().expect("the network is put back after every step");
        let joints = self.io.decode(network.forward(rows(batch.inputs, POSE_INPUT)));
        let reached = self.fk.forward(joints);
        let total = position_loss(self.loss.position, reached.position, rows(batch.positions, 3))
            .mul_scalar(self.loss.position_weight)
            + rotation_loss(self.loss.rotation, reached.rotation, rotations).mul_scalar(self.loss.rotation_weight);
        let value = total.clone().into_data().convert::<f32>().try_into_vec::<f32>().expect("f32")[0];
        let grads = GradientsParams::from_grads(total.backward(), &network);
        self.network = Some(self.optimizer.step(LEARNING_RATE, network, grads));
        value
    }
}

struct Setup {
    robot: Robot,
    io: IoMapping,
    network: Network,
    loss: LossConfig,
    data: Data,
}

fn setup() -> Setup {
    let robot = robots::builtin("nicol-right").expect("a built-in robot");
    let io = IoMapping::normalised(&robot.chain, robot.default_workspace(), 0).expect("valid limits");
    let architecture = preset_spec(ModelKind::CycleikMlp, Preset::Compact, robot.chain.dof()).expect("a preset");
    let network = architecture.architecture.init(&cpu_device().autodiff());
    let loss = LossConfig { zero_weight: 0.0, ..LossConfig::mlp_reference() };
    let data = Data::new(&robot, &io, BATCH * BATCHES);
    Setup { robot, io, network, loss, data }
}

impl Setup {
    fn burn(&self) -> BurnStep {
        BurnStep {
            network: Some(self.network.clone()),
            optimizer: AdamConfig::new().with_epsilon(1e-8).init(),
            io: self.io.clone(),
            fk: TensorFk::new(&self.robot.chain),
            loss: self.loss.clone(),
            device: cpu_device().autodiff(),
        }
    }

    fn fast(&self, threading: Threading) -> FastTrainer {
        let mut fast =
            FastTrainer::new(&self.network, &self.io, &self.robot.chain, &self.loss, None).expect("a CycleIK network");
        fast.set_threading(threading);
        fast
    }
}

fn pool(threads: usize) -> rayon::ThreadPool {
    rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a rayon pool")
}

fn criterion_steps(c: &mut Criterion, s: &Setup) {
    let mut group = c.benchmark_group("train-step/cycleik-mlp-compact/nicol-right/batch-256");
    group.throughput(Throughput::Elements(BATCH as u64)).sample_size(20);
    for threads in THREADS {
        let pool = pool(threads);
        let mut burn = s.burn();
        let mut k = 0;
        group.bench_with_input(BenchmarkId::new("burn", threads), &threads, |b, _| {
            b.iter(|| {
                k += 1;
                pool.install(|| black_box(burn.step(&s.data.batch(k))))
            })
        });
        for threading in [Threading::SplitRows, Threading::Gemm] {
            let mut fast = s.fast(threading);
            let name = format!("fast-{threading:?}");
            group.bench_with_input(BenchmarkId::new(name, threads), &threads, |b, _| {
                b.iter(|| {
                    k += 1;
                    pool.install(|| black_box(fast.step(&s.data.batch(k), LEARNING_RATE).expect("a valid batch").total))
                })
            });
        }
    }
    group.finish();
}

/// Median samples/s over `windows` runs of `steps` steps, after `warmup` steps.
fn samples_per_second(mut step: impl FnMut(usize)) -> f64 {
    let (warmup, windows, steps) = (10, 5, 20);
    (0..warmup).for_each(&mut step);
    let mut rates: Vec<f64> = (0..windows)
        .map(|w| {
            let started = Instant::now();
            (0..steps).for_each(|k| step(warmup + w * steps + k));
            (steps * BATCH) as f64 / started.elapsed().as_secs_f64()
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    rates[windows / 2]
}

/// Chain, normalisation, network sizes, loss and batches for tools/torch_train_bench.py.
fn write_reference_input(s: &Setup) -> std::io::Result<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/training-bench");
    std::fs::create_dir_all(&dir)?;
    let (lower, upper) = match &s.io.output {
        OutputDecoding::JointLimits { lower, upper } => (lower.clone(), upper.clone()),
        OutputDecoding::Raw => unreachable!("CycleIK maps outputs to joint limits"),
    };
    let Architecture::CycleIk(config) =
        preset_spec(ModelKind::CycleikMlp, Preset::Compact, s.robot.chain.dof()).expect("a preset").architecture
    else {
        unreachable!("the CycleIK preset is a CycleIK network")
    };
    let value = json!({
        "chain": ChainGrad::new(&s.robot.chain).to_json(),
        "lower": lower, "upper": upper,
        "hidden": config.hidden, "n_tanh": config.n_tanh, "dof": config.dof,
        "position_weight": s.loss.position_weight, "rotation_weight": s.loss.rotation_weight,
        "learning_rate": LEARNING_RATE, "batch": BATCH,
        "inputs": s.data.inputs, "positions": s.data.positions, "rotations": s.data.rotations,
    });
    let path = dir.join("nicol-right-compact.json");
    std::fs::write(&path, serde_json::to_vec(&value)?)?;
    Ok(path)
}

/// PyTorch's samples/s at `threads` with its first and last step loss, or why there are none.
fn torch_rate(input: &std::path::Path, threads: usize) -> Result<(f64, [f64; 2]), String> {
    let python = std::env::var("IK_TORCH_PYTHON").unwrap_or_else(|_| "python3".into());
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tools/torch_train_bench.py");
    let out = Command::new(&python)
        .arg(&script)
        .arg(input)
        .arg("--threads")
        .arg(threads.to_string())
        .output()
        .map_err(|e| format!("{python}: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().lines().last().unwrap_or("failed").to_string());
    }
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    let t = threads.to_string();
    let read = |v: &serde_json::Value| v.as_f64().ok_or_else(|| format!("no result for {threads} threads"));
    let loss = &report["loss"][&t];
    Ok((read(&report["samples_per_second"][&t])?, [read(&loss["first"])?, read(&loss["last"])?]))
}

/// Rounds of the side-by-side: each engine's best round counts, so that a
/// busy moment of the machine does not decide the ratio.
const ROUNDS: usize = 2;

/// The best samples/s of each engine at each thread count, measured in turns.
fn side_by_side(s: &Setup) {
    if std::env::var("IK_TRAINING_SIDE_BY_SIDE").is_ok_and(|v| v == "0") {
        return;
    }
    let input = write_reference_input(s).map_err(|e| e.to_string());
    println!("\ntraining samples/s, compact CycleIK MLP, nicol-right, batch {BATCH}");
    println!("(median of 5 × 20 steps; the best of {ROUNDS} rounds, engines in turns)");
    println!(
        "{:>7} {:>9} {:>11} {:>11} {:>9} {:>13}",
        "threads", "burn", "fast-split", "fast-gemm", "torch", "fast / torch"
    );
    let (mut why_no_torch, mut torch_loss) = (None, None);
    for threads in THREADS {
        let pool = pool(threads);
        let mut best = [0.0f64; 4]; // burn, fast split, fast gemm, torch
        for _ in 0..ROUNDS {
            let mut burn = s.burn();
            let burn_rate = pool.install(|| {
                samples_per_second(|k| {
                    black_box(burn.step(&s.data.batch(k)));
                })
            });
            let fast_rate = |threading| {
                let mut fast = s.fast(threading);
                pool.install(|| {
                    samples_per_second(|k| {
                        black_box(fast.step(&s.data.batch(k), LEARNING_RATE).expect("a valid batch").total);
                    })
                })
            };
            let torch = input.clone().and_then(|path| torch_rate(&path, threads));
            let rates = [burn_rate, fast_rate(Threading::SplitRows), fast_rate(Threading::Gemm)];
            let torch_samples = torch.as_ref().map_or(0.0, |(rate, _)| *rate);
            for (b, r) in best.iter_mut().zip(rates.into_iter().chain([torch_samples])) {
                *b = b.max(r);
            }
            match torch {
                Ok((_, loss)) => torch_loss = torch_loss.or(Some(loss)),
                Err(why) => why_no_torch = Some(why),
            }
        }
        let [burn, split, gemm, torch] = best;
        let (torch, ratio) = if torch > 0.0 {
            (format!("{torch:.0}"), format!("{:.2}×", split.max(gemm) / torch))
        } else {
            ("-".into(), "-".into())
        };
        println!("{threads:>7} {burn:>9.0} {split:>11.0} {gemm:>11.0} {torch:>9} {ratio:>13}");
    }
    if let Some(why) = why_no_torch {
        println!("(no PyTorch reference: {why})");
    }
    profile(s, torch_loss);
}

/// Where a fast step's time goes, per thread count; the loss over the steps
/// beside PyTorch's (its first and last of as many steps), to show that both train alike.
fn profile(s: &Setup, torch_loss: Option<[f64; 2]>) {
    let mut fast_loss = [0.0; 2];
    let flops = s.fast(Threading::default()).product_flops_per_sample() * BATCH as f64;
    println!("\nfast step, ms per step by phase (100 steps after 10), and the dense products' GFLOP/s");
    let head = ["threads", "forward", "fk+loss", "backward", "adam", "total", "dense GFLOP/s"];
    println!(
        "{:>7} {:>8} {:>8} {:>9} {:>7} {:>7} {:>14}",
        head[0], head[1], head[2], head[3], head[4], head[5], head[6]
    );
    for threads in THREADS {
        let mut fast = s.fast(Threading::default());
        let mut profile = StepProfile::default();
        pool(threads).install(|| {
            for k in 0..110 {
                if k == 10 {
                    profile = StepProfile::default();
                }
                let loss = fast.profiled_step(&s.data.batch(k), LEARNING_RATE, &mut profile).expect("a valid batch");
                fast_loss[usize::from(k > 0)] = loss.total;
            }
        });
        let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3 / profile.steps as f64;
        let (forward, fk, backward, adam) =
            (ms(profile.forward), ms(profile.fk_and_losses), ms(profile.backward), ms(profile.adam));
        let gflops = flops / ((forward + backward) * 1e-3) * 1e-9;
        let total = forward + fk + backward + adam;
        println!("{threads:>7} {forward:>8.2} {fk:>8.2} {backward:>9.2} {adam:>7.2} {total:>7.2} {gflops:>14.1}");
    }
    let [first, last] = fast_loss;
    print!("\nloss over 110 steps (same batches, own initial weights): fast {first:.3} → {last:.3}");
    match torch_loss {
        Some([first, last]) => println!(", PyTorch {first:.3} → {last:.3}"),
        None => println!(),
    }
}

fn main() {
    let s = setup();
    let mut criterion = Criterion::default().configure_from_args();
    criterion_steps(&mut criterion, &s);
    criterion.final_summary();
    side_by_side(&s);
}
