//! Neural models: tensor FK, every network's shape and range, training,
//! divergence restarts, checkpoints.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;

use burn::module::Module;
use burn::tensor::{Tensor, TensorData};
use ik_studio::data::{self, Dataset, SampleConfig};
use ik_studio::kinematics::Pose;
use ik_studio::models::{
    Architecture, CycleIkConfig, IknetOriginalConfig, IoMapping, LoadedModel, ModelCard, ModelError, ModelKind, Preset,
    TensorFk, cpu_device, preset_spec,
};
use ik_studio::robots::{self, Robot};
use ik_studio::train::{self, StopReason, TrainConfig, TrainError, TrainEvent, TrainJob, TrainOutcome};
use nalgebra::Matrix3;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn random_joints(robot: &Robot, rng: &mut impl Rng) -> Vec<f64> {
    robot.chain.limits().iter().map(|l| rng.random_range(l.lower..=l.upper)).collect()
}

fn dataset(robot: &Robot, count: usize, seed: u64) -> Dataset {
    let workspace = robot.workspaces.last().unwrap().clone();
    let mut config = SampleConfig::new(count, seed);
    config.val_fraction = 0.05;
    data::sample_dataset(robot, &workspace, &config, &|_| {}).unwrap().0
}

/// Tip positions and rotations of `joints` (n × dof) through the tensor FK, in f64.
fn tensor_fk(robot: &Robot, joints: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let fk = TensorFk::new(&robot.chain);
    let n = joints.len() / robot.chain.dof();
    let q: Vec<f32> = joints.iter().map(|&v| v as f32).collect();
    let q = Tensor::<2>::from_data(TensorData::new(q, [n, robot.chain.dof()]), &cpu_device());
    let out = fk.forward(q);
    let to_f64 = |d: TensorData| d.try_into_vec::<f32>().unwrap().into_iter().map(f64::from).collect::<Vec<_>>();
    (to_f64(out.position.into_data()), to_f64(out.rotation.into_data()))
}

/// A chain with a prismatic joint, to cover every joint type.
const SLIDER_URDF: &str = r#"<robot name="slider">
  <link name="base"/><link name="a"/><link name="b"/><link name="c"/><link name="tip"/>
  <joint name="turn" type="revolute"><parent link="base"/><child link="a"/>
    <origin xyz="0 0 0.1" rpy="0 0 0.3"/><axis xyz="0 0 1"/><limit lower="-2" upper="2" effort="1" velocity="1"/></joint>
  <joint name="slide" type="prismatic"><parent link="a"/><child link="b"/>
    <origin xyz="0.05 0 0.2" rpy="0.2 0 0"/><axis xyz="1 0 0"/><limit lower="0" upper="0.3" effort="1" velocity="1"/></joint>
  <joint name="tilt" type="revolute"><parent link="b"/><child link="c"/>
    <origin xyz="0 0.02 0.1" rpy="0 0.4 0"/><axis xyz="0 1 1"/><limit lower="-1.5" upper="1.5" effort="1" velocity="1"/></joint>
  <joint name="flange" type="fixed"><parent link="c"/><child link="tip"/><origin xyz="0.1 0 0" rpy="0.1 0.2 0.3"/></joint>
</robot>"#;

fn test_robots() -> Vec<Robot> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("slider.urdf");
    std::fs::write(&path, SLIDER_URDF).unwrap();
    let slider = robots::from_urdf_file(&path, "base", "tip").unwrap();
    let mut all: Vec<Robot> =
        ["omx", "nicol-right", "nicol-left"].iter().map(|n| robots::builtin(n).unwrap()).collect();
    all.push(slider);
    all
}

#[test]
fn tensor_fk_matches_the_f64_fk_on_every_chain() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for robot in test_robots() {
        let n = 200;
        let joints: Vec<f64> = (0..n).flat_map(|_| random_joints(&robot, &mut rng)).collect();
        let (positions, rotations) = tensor_fk(&robot, &joints);
        for i in 0..n {
            let expected = robot.chain.fk(&joints[i * robot.chain.dof()..(i + 1) * robot.chain.dof()]).unwrap();
            let p = &positions[i * 3..i * 3 + 3];
            let dp = (nalgebra::Vector3::new(p[0], p[1], p[2]) - expected.translation.vector).norm();
            assert!(dp < 1e-5, "{}: position off by {dp} m", robot.name);
            // ‖R̂ − R‖_F = 2√2 sin(θ/2) ≈ √2 θ; acos of the trace would drown small
            // angles in the f32 rounding of the matrix.
            let r = Matrix3::from_row_slice(&rotations[i * 9..i * 9 + 9]);
            let angle = (r - expected.rotation.to_rotation_matrix().into_inner()).norm() / 2f64.sqrt();
            assert!(angle < 1e-4, "{}: rotation off by {angle} rad", robot.name);
        }
    }
}

#[test]
fn tensor_fk_gradients_match_finite_differences() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    for robot in test_robots() {
        let dof = robot.chain.dof();
        let q0 = random_joints(&robot, &mut rng);
        // f(q) = w · p(q) + Σ W ∘ R(q)
        let w: Vec<f64> = (0..3).map(|_| rng.random_range(-1.0..1.0)).collect();
        let big_w: Vec<f64> = (0..9).map(|_| rng.random_range(-1.0..1.0)).collect();
        let f = |q: &[f64]| {
            let iso = robot.chain.fk(q).unwrap();
            let r = iso.rotation.to_rotation_matrix().into_inner();
            (0..3).map(|i| w[i] * iso.translation.vector[i]).sum::<f64>()
                + (0..9).map(|k| big_w[k] * r[(k / 3, k % 3)]).sum::<f64>()
        };
        let device = cpu_device().autodiff();
        let q = Tensor::<2>::from_data(TensorData::new(q0.iter().map(|&v| v as f32).collect(), [1, dof]), &device)
            .require_grad();
        let out = TensorFk::new(&robot.chain).forward(q.clone());
        let wt = Tensor::<2>::from_data(TensorData::new(w.iter().map(|&v| v as f32).collect(), [1, 3]), &device);
        let bwt =
            Tensor::<3>::from_data(TensorData::new(big_w.iter().map(|&v| v as f32).collect(), [1, 3, 3]), &device);
        let value = (out.position * wt).sum() + (out.rotation * bwt).sum();
        let grads = value.backward();
        let gradient: Vec<f32> = q.grad(&grads).unwrap().into_data().try_into_vec().unwrap();
        for j in 0..dof {
            let h = 1e-6;
            let (mut plus, mut minus) = (q0.clone(), q0.clone());
            plus[j] += h;
            minus[j] -= h;
            let numeric = (f(&plus) - f(&minus)) / (2.0 * h);
            let diff = (gradient[j] as f64 - numeric).abs();
            assert!(
                diff < 1e-4 + 1e-4 * numeric.abs(),
                "{} joint {j}: autodiff {} vs numeric {numeric}",
                robot.name,
                gradient[j]
            );
        }
    }
}

fn untrained(robot: &Robot, model: ModelKind, preset: Preset) -> LoadedModel {
    let spec = preset_spec(model, preset, robot.chain.dof()).unwrap();
    let io = if model.is_supervised() {
        IoMapping::raw()
    } else {
        IoMapping::normalised(&robot.chain, robot.workspaces.last().unwrap(), spec.architecture.noise_dim()).unwrap()
    };
    let card = ModelCard::new(model, preset, spec.architecture.clone(), io, &robot.name, &robot.chain).unwrap();
    let network = spec.architecture.init(&cpu_device());
    LoadedModel::from_parts(card, network, Default::default()).unwrap()
}

fn some_poses(robot: &Robot, n: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .flat_map(|_| Pose::from_isometry(&robot.chain.fk(&random_joints(robot, &mut rng)).unwrap()).to_array())
        .collect()
}

#[test]
fn every_model_has_the_right_shape_and_cycleik_stays_within_limits() {
    for robot in [robots::builtin("omx").unwrap(), robots::builtin("nicol-right").unwrap()] {
        let dof = robot.chain.dof();
        let poses = some_poses(&robot, 6, 1);
        for model in ModelKind::ALL {
            let loaded = untrained(&robot, model, Preset::Compact);
            let joints = loaded.infer(&poses, 5).unwrap();
            let per_pose = if model.is_generative() { 5 } else { 1 };
            assert_eq!(joints.len(), 6 * per_pose * dof, "{model}");
            assert!(joints.iter().all(|v| v.is_finite()), "{model}");
            if !model.is_supervised() {
                for q in joints.chunks(dof) {
                    assert!(robot.chain.within_limits(q), "{model}: {q:?} outside limits");
                }
            }
            // Raw forward: [batch, input] → [batch, dof], CycleIK in [-1, 1].
            let input_dim = loaded.card.architecture.input_dim();
            let x = Tensor::<2>::random([9, input_dim], burn::tensor::Distribution::Uniform(-3.0, 3.0), &cpu_device());
            let y = loaded.network().forward(x);
            assert_eq!(y.dims(), [9, dof]);
            if !model.is_supervised() {
                let values: Vec<f32> = y.into_data().try_into_vec().unwrap();
                assert!(values.iter().all(|v| (-1.0..=1.0).contains(v)), "{model}");
            }
        }
    }
}

#[test]
fn presets_have_the_documented_sizes() {
    let count = |m, p| preset_spec(m, p, 8).unwrap().architecture.parameter_count();
    let original = count(ModelKind::IknetOriginal, Preset::Compact);
    assert!(count(ModelKind::IknetImproved, Preset::Compact) > original);
    assert!(count(ModelKind::IknetFocused, Preset::Compact) > original);
    // Table 3: 8 hidden layers each; the paper networks are tens of millions of parameters.
    for (m, p) in [
        (ModelKind::CycleikMlp, Preset::PaperSmall),
        (ModelKind::CycleikMlp, Preset::PaperFull),
        (ModelKind::CycleikGan, Preset::PaperSmall),
        (ModelKind::CycleikGan, Preset::PaperFull),
    ] {
        let spec = preset_spec(m, p, 8).unwrap();
        let Architecture::CycleIk(c) = &spec.architecture else { panic!() };
        assert_eq!(c.hidden.len(), 8);
        assert!(count(m, p) > 10 * count(m, Preset::Compact), "{m} {p}");
    }
    let gan_full = preset_spec(ModelKind::CycleikGan, Preset::PaperFull, 8).unwrap();
    assert_eq!((gan_full.batch_size, gan_full.architecture.noise_dim()), (300, 10));
    assert!(matches!(
        preset_spec(ModelKind::IknetOriginal, Preset::PaperSmall, 4),
        Err(ModelError::PresetNotAvailable { .. })
    ));
}

fn tiny_cycleik(dof: usize, noise_dim: usize) -> Architecture {
    Architecture::CycleIk(CycleIkConfig::new(dof, vec![64, 64], 2).with_noise_dim(noise_dim))
}

fn run(
    robot: &Robot,
    dataset: &Arc<Dataset>,
    config: TrainConfig,
    out: Option<&Path>,
) -> (Result<TrainOutcome, TrainError>, Vec<TrainEvent>) {
    let job = TrainJob {
        robot: robot.clone(),
        dataset: dataset.clone(),
        dataset_path: None,
        config,
        out: out.map(Path::to_path_buf),
    };
    let (sender, receiver) = mpsc::channel();
    let result = train::train(&job, &sender, &AtomicBool::new(false));
    drop(sender);
    (result, receiver.iter().collect())
}

fn first_step_loss(events: &[TrainEvent]) -> f64 {
    events.iter().find_map(|e| if let TrainEvent::Step { loss, .. } = e { Some(loss.total) } else { None }).unwrap()
}

#[test]
fn training_reduces_the_loss_of_cycleik_and_iknet() {
    let omx = robots::builtin("omx").unwrap();
    let data = Arc::new(dataset(&omx, 1_500, 7));

    let mut config = TrainConfig::new(ModelKind::CycleikMlp, Preset::Compact).unwrap();
    config.architecture = Some(tiny_cycleik(4, 0));
    (config.epochs, config.batch_size, config.learning_rate) = (12, 64, 3e-3);
    let (outcome, events) = run(&omx, &data, config, None);
    let outcome = outcome.unwrap();
    let last = outcome.history.epochs.last().unwrap();
    let first = first_step_loss(&events);
    assert!(first / last.train_loss >= 3.0, "cycleik-mlp: loss {first} → {}", last.train_loss);
    assert_eq!(outcome.summary.stop, StopReason::Completed);
    assert!(matches!(events.last(), Some(TrainEvent::Finished(_))));

    let mut config = TrainConfig::new(ModelKind::IknetOriginal, Preset::Compact).unwrap();
    config.architecture = Some(Architecture::IknetOriginal(IknetOriginalConfig::new(4).with_hidden(vec![64, 64])));
    (config.epochs, config.batch_size, config.learning_rate) = (12, 64, 1e-2);
    let (outcome, events) = run(&omx, &data, config, None);
    let outcome = outcome.unwrap();
    let first = first_step_loss(&events);
    let last = outcome.history.epochs.last().unwrap();
    assert!(first / last.train_loss >= 3.0, "iknet-original: loss {first} → {}", last.train_loss);
    assert!(last.loss_parts.joint_mse.is_some() && last.loss_parts.position.is_none());
}

/// Mean over poses of the mean per-joint standard deviation of many solutions.
fn spread(model: &LoadedModel, poses: &[f64], samples: usize) -> f64 {
    let dof = model.dof();
    let joints = model.infer(poses, samples).unwrap();
    let n = poses.len() / 7;
    let mut total = 0.0;
    for pose in joints.chunks(samples * dof) {
        for j in 0..dof {
            let values: Vec<f64> = pose.chunks(dof).map(|q| q[j]).collect();
            let mean = values.iter().sum::<f64>() / samples as f64;
            total += (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / samples as f64).sqrt();
        }
    }
    total / (n * dof) as f64
}

/// The reference weights (position 100, orientation 20, variance 80) need a long
/// run before the variance term wins; a seconds-long test shows the mechanism
/// with a variance weight that dominates from the start.
#[test]
fn the_variance_loss_spreads_the_generator_over_the_nullspace() {
    let nicol = robots::builtin("nicol-right").unwrap();
    let data = Arc::new(dataset(&nicol, 1_200, 9));
    let trained = |variance_weight: f64| {
        let mut config = TrainConfig::new(ModelKind::CycleikGan, Preset::Compact).unwrap();
        config.architecture = Some(tiny_cycleik(8, 4));
        (config.epochs, config.batch_size, config.learning_rate) = (40, 64, 3e-3);
        config.loss.variance_weight = variance_weight;
        config.loss.diversity = train::DiversityLoss::PaperVariance;
        config.loss.variance_batch = Some(32);
        let (outcome, _) = run(&nicol, &data, config, None);
        outcome.unwrap().loaded_model().unwrap()
    };
    let poses = some_poses(&nicol, 8, 2);
    let (with, without) = (spread(&trained(2_000.0), &poses, 64), spread(&trained(0.0), &poses, 64));
    assert!(with > 3.0 * without && with > 0.1, "spread with variance loss {with} rad, without {without} rad");
}

#[test]
fn a_forced_nan_rolls_back_restarts_and_the_run_still_finishes() {
    let omx = robots::builtin("omx").unwrap();
    let data = Arc::new(dataset(&omx, 400, 4));
    let mut config = TrainConfig::new(ModelKind::CycleikMlp, Preset::Compact).unwrap();
    config.architecture = Some(tiny_cycleik(4, 0));
    (config.epochs, config.batch_size) = (3, 64);
    config.inject_nan_at_step = Some(8); // in the second epoch (340 training samples: 6 steps per epoch)
    let (outcome, events) = run(&omx, &data, config.clone(), None);
    let outcome = outcome.unwrap();
    let restarts: Vec<_> =
        events.iter().filter_map(|e| if let TrainEvent::Restart(r) = e { Some(r) } else { None }).collect();
    assert_eq!(restarts.len(), 1);
    assert_eq!((restarts[0].epoch, restarts[0].step, restarts[0].resume_epoch), (1, 8, 1));
    assert!(restarts[0].reason.contains("non-finite"));
    assert_eq!(restarts[0].lr_factor, 0.5);
    assert_eq!(outcome.history.restarts.len(), 1);
    assert_eq!(outcome.history.epochs.iter().map(|e| e.epoch).collect::<Vec<_>>(), vec![0, 1, 2]);
    assert_eq!(outcome.history.epochs[1].learning_rate, config.scheduled_lr(1) * 0.5);
    assert!(outcome.history.epochs.iter().all(|e| e.train_loss.is_finite()));
    assert!(matches!(events.last(), Some(TrainEvent::Finished(_))));

    // Without restarts left, divergence ends the run with an error.
    config.max_restarts = 0;
    let (outcome, events) = run(&omx, &data, config, None);
    assert!(matches!(outcome, Err(TrainError::Diverged { restarts: 0, .. })));
    assert!(matches!(events.last(), Some(TrainEvent::Failed(_))));
}

#[test]
fn cancelling_stops_the_run_cleanly() {
    let omx = robots::builtin("omx").unwrap();
    let data = Arc::new(dataset(&omx, 400, 4));
    let mut config = TrainConfig::new(ModelKind::CycleikMlp, Preset::Compact).unwrap();
    config.architecture = Some(tiny_cycleik(4, 0));
    config.epochs = 1_000;
    config.batch_size = 32;
    let handle = train::spawn(TrainJob { robot: omx, dataset: data, dataset_path: None, config, out: None });
    for event in handle.events.iter() {
        if matches!(event, TrainEvent::Epoch(_)) {
            handle.cancel();
            break;
        }
    }
    let rest: Vec<TrainEvent> = handle.events.iter().collect(); // until the thread ends
    assert!(matches!(rest.last(), Some(TrainEvent::Cancelled)));
    let outcome = handle.join().unwrap();
    assert_eq!(outcome.summary.stop, StopReason::Cancelled);
    assert!(outcome.history.epochs.len() < 1_000);
    assert_eq!(outcome.history.stop, Some(StopReason::Cancelled));
}

/// The weights file a checkpoint's card names.
fn weights_file(dir: &Path) -> String {
    let card: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("card.json")).unwrap()).unwrap();
    card["weights"]["file"].as_str().unwrap().to_string()
}

fn train_into(robot: &Robot, model: ModelKind, architecture: Architecture, out: &Path) -> TrainOutcome {
    let data = Arc::new(dataset(robot, 300, 6));
    let mut config = TrainConfig::new(model, Preset::Compact).unwrap();
    config.architecture = Some(architecture);
    (config.epochs, config.batch_size) = (2, 32);
    let (outcome, events) = run(robot, &data, config, Some(out));
    assert!(events.iter().any(|e| matches!(e, TrainEvent::Checkpoint { .. })));
    outcome.unwrap()
}

#[test]
fn checkpoints_round_trip_to_identical_outputs() {
    let dir = tempfile::tempdir().unwrap();
    let omx = robots::builtin("omx").unwrap();
    let nicol = robots::builtin("nicol-right").unwrap();
    let cases = [
        (&nicol, ModelKind::CycleikGan, tiny_cycleik(8, 3)),
        (&nicol, ModelKind::CycleikMlp, tiny_cycleik(8, 0)),
        (
            &omx,
            ModelKind::IknetOriginal,
            preset_spec(ModelKind::IknetOriginal, Preset::Compact, 4).unwrap().architecture,
        ),
        (
            &omx,
            ModelKind::IknetImproved,
            preset_spec(ModelKind::IknetImproved, Preset::Compact, 4).unwrap().architecture,
        ),
        (&omx, ModelKind::IknetFocused, preset_spec(ModelKind::IknetFocused, Preset::Compact, 4).unwrap().architecture),
    ];
    for (robot, model, architecture) in cases {
        let out = dir.path().join(model.name());
        let outcome = train_into(robot, model, architecture, &out);
        let loaded = LoadedModel::load_for(&out, &robot.name, &robot.chain).unwrap();
        assert_eq!(loaded.card, ModelCard { weights: loaded.card.weights.clone(), ..outcome.card.clone() });
        let poses = some_poses(robot, 7, 3);
        let expected = outcome.loaded_model().unwrap().infer(&poses, 4).unwrap();
        assert_eq!(loaded.infer(&poses, 4).unwrap(), expected, "{model}");
        let history = train::read_history(&out).unwrap();
        assert_eq!(history.epochs.len(), 2);
        assert_eq!(history.model, model);
    }
}

#[test]
fn corrupt_or_mismatched_checkpoints_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let nicol = robots::builtin("nicol-right").unwrap();
    let good = dir.path().join("good");
    train_into(&nicol, ModelKind::CycleikMlp, tiny_cycleik(8, 0), &good);
    let weights = weights_file(&good);
    let copy = |name: &str| {
        let to = dir.path().join(name);
        std::fs::create_dir_all(&to).unwrap();
        for f in ["card.json", weights.as_str(), "history.json"] {
            std::fs::copy(good.join(f), to.join(f)).unwrap();
        }
        to
    };

    // One flipped byte in the weights.
    let flipped = copy("flipped");
    let mut bytes = std::fs::read(flipped.join(&weights)).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x40;
    std::fs::write(flipped.join(&weights), &bytes).unwrap();
    assert!(matches!(LoadedModel::load(&flipped), Err(ModelError::CorruptWeights { .. })));

    // Truncated weights.
    let truncated = copy("truncated");
    std::fs::write(truncated.join(&weights), &bytes[..100]).unwrap();
    assert!(matches!(LoadedModel::load(&truncated), Err(ModelError::CorruptWeights { .. })));

    // Garbage card, missing card, missing weights.
    let garbage = copy("garbage");
    std::fs::write(garbage.join("card.json"), "{ not json").unwrap();
    assert!(matches!(LoadedModel::load(&garbage), Err(ModelError::CorruptCard { .. })));
    assert!(matches!(LoadedModel::load(&dir.path().join("nothing")), Err(ModelError::NotACheckpoint { .. })));
    let no_weights = copy("no-weights");
    std::fs::remove_file(no_weights.join(&weights)).unwrap();
    assert!(matches!(LoadedModel::load(&no_weights), Err(ModelError::NotACheckpoint { .. })));

    // Another robot's chain.
    let left = robots::builtin("nicol-left").unwrap();
    let err = LoadedModel::load_for(&good, &left.name, &left.chain).unwrap_err();
    assert!(matches!(err, ModelError::ChainMismatch { .. }), "{err}");
    // The same chain with one limit a hair off (a hand-written config's rounding): the error says which.
    let mut rounded = robots::builtin("nicol-right").unwrap();
    rounded.chain.joints[1].limits.upper += 1e-7;
    let err = LoadedModel::load_for(&good, &rounded.name, &rounded.chain).unwrap_err().to_string();
    assert!(err.contains("the limits of r_joint2"), "{err}");

    // A card whose architecture does not fit the weights.
    let edited = copy("edited");
    let mut card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(edited.join("card.json")).unwrap()).unwrap();
    card["architecture"]["hidden"] = serde_json::json!([64, 65]);
    std::fs::write(edited.join("card.json"), serde_json::to_vec(&card).unwrap()).unwrap();
    assert!(matches!(LoadedModel::load(&edited), Err(ModelError::ArchitectureMismatch { .. })));

    // A card claiming a dof the network does not have.
    card["architecture"]["hidden"] = serde_json::json!([64, 64]);
    card["architecture"]["dof"] = serde_json::json!(7);
    std::fs::write(edited.join("card.json"), serde_json::to_vec(&card).unwrap()).unwrap();
    assert!(matches!(LoadedModel::load(&edited), Err(ModelError::CorruptCard { .. })));

    // A newer card format.
    card["format_version"] = serde_json::json!(99);
    std::fs::write(edited.join("card.json"), serde_json::to_vec(&card).unwrap()).unwrap();
    assert!(matches!(LoadedModel::load(&edited), Err(ModelError::UnsupportedCardVersion { found: 99, .. })));

    // The good one still loads, through its folder or its card.
    assert!(LoadedModel::load(&good.join("card.json")).is_ok());
}

#[test]
fn bad_inference_input_is_an_error_not_a_panic() {
    let nicol = robots::builtin("nicol-right").unwrap();
    let model = untrained(&nicol, ModelKind::CycleikGan, Preset::Compact);
    assert!(matches!(model.infer(&[0.5; 6], 3), Err(ModelError::BadInput(_))));
    assert!(matches!(model.infer(&[0.5, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0], 3), Err(ModelError::BadInput(_))));
    assert!(matches!(model.infer(&[f64::NAN, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0], 3), Err(ModelError::BadInput(_))));
    // The generator's noise sweep: one solution per noise row (2 poses × 3 rows × 8 values).
    let poses = some_poses(&nicol, 2, 4);
    let noise = vec![0.5; 2 * 3 * 8];
    assert_eq!(model.infer_with_noise(&poses, &noise).unwrap().len(), 2 * 3 * 8);
    assert!(model.infer_with_noise(&poses, &noise[..5]).is_err());
    let mlp = untrained(&nicol, ModelKind::CycleikMlp, Preset::Compact);
    assert!(mlp.infer_with_noise(&poses, &noise).is_err());
}

#[test]
fn the_train_command_writes_a_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let data_path = dir.path().join("omx.ikd");
    let out = dir.path().join("ckpt");
    let omx = robots::builtin("omx").unwrap();
    data::write_dataset(&dataset(&omx, 300, 1), &data_path).unwrap();
    let exe = env!("CARGO_BIN_EXE_ik-studio");
    let args = |model: &str, robot: &str| {
        vec![
            "train".to_string(),
            "--robot".into(),
            robot.into(),
            "--model".into(),
            model.into(),
            "--data".into(),
            data_path.display().to_string(),
            "--epochs".into(),
            "2".into(),
            "--max-steps-per-epoch".into(),
            "3".into(),
            "--batch".into(),
            "32".into(),
            "--out".into(),
            out.display().to_string(),
            "--json".into(),
        ]
    };
    let o = Command::new(exe).args(args("iknet-focused", "omx")).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["epochs_run"], 2);
    assert!(LoadedModel::load_for(&out, "omx", &omx.chain).is_ok());

    // A dataset of another robot: one line, non-zero status.
    let o = Command::new(exe).args(args("cycleik-mlp", "nicol-right")).output().unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
}

#[test]
fn models_and_jobs_can_move_to_background_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<LoadedModel>();
    send::<TrainJob>();
    send::<TrainOutcome>();
    send::<TrainEvent>();
}

#[test]
fn training_goes_on_from_a_checkpoint() {
    let omx = robots::builtin("omx").unwrap();
    let data = Arc::new(dataset(&omx, 1_500, 7));
    let dir = tempfile::tempdir().unwrap();
    let fresh = || {
        let mut config = TrainConfig::new(ModelKind::CycleikMlp, Preset::Compact).unwrap();
        config.architecture = Some(tiny_cycleik(4, 0));
        (config.epochs, config.batch_size, config.learning_rate) = (12, 64, 3e-3);
        config
    };
    let (outcome, events) = run(&omx, &data, fresh(), Some(dir.path()));
    let trained_loss = outcome.unwrap().history.epochs.last().unwrap().train_loss;
    let fresh_first = first_step_loss(&events);

    let mut config = fresh();
    (config.epochs, config.init_from) = (1, Some(dir.path().to_path_buf()));
    let (outcome, events) = run(&omx, &data, config, None);
    outcome.unwrap();
    let resumed_first = first_step_loss(&events);
    assert!(resumed_first < 0.5 * fresh_first, "resumed at {resumed_first}, fresh at {fresh_first}");
    assert!(resumed_first < 3.0 * trained_loss, "resumed at {resumed_first}, trained to {trained_loss}");

    // Another architecture is refused.
    let mut config = fresh();
    config.architecture = Some(Architecture::CycleIk(CycleIkConfig::new(4, vec![32, 64], 2)));
    config.init_from = Some(dir.path().to_path_buf());
    assert!(run(&omx, &data, config, None).0.is_err());

    // The MLP seeds a generator: its network plus the preset's noise inputs,
    // starting far closer to the targets than a fresh generator.
    let generator = |init_from: Option<&Path>| {
        let mut config = TrainConfig::new(ModelKind::CycleikGan, Preset::Compact).unwrap();
        config.architecture = init_from.is_none().then(|| tiny_cycleik(4, 8));
        (config.epochs, config.batch_size, config.learning_rate) = (1, 64, 3e-3);
        config.init_from = init_from.map(Path::to_path_buf);
        let (outcome, events) = run(&omx, &data, config, None);
        (outcome.unwrap(), first_step_loss(&events))
    };
    let (seeded, seeded_first) = generator(Some(dir.path()));
    let (_, fresh_first) = generator(None);
    assert_eq!(seeded.card.architecture, tiny_cycleik(4, 8));
    assert!(seeded_first < 0.5 * fresh_first, "seeded generator at {seeded_first}, fresh at {fresh_first}");
}

/// Multiplies every parameter by a factor (NaN poisons them).
struct Scale(f32);

impl burn::module::ModuleMapper for Scale {
    fn map_float<const D: usize>(&mut self, param: burn::module::Param<Tensor<D>>) -> burn::module::Param<Tensor<D>> {
        param.map(|t| t.mul_scalar(self.0))
    }
}

#[test]
fn a_checkpoint_reads_only_regular_files_inside_its_folder_and_refuses_nan_weights() {
    let dir = tempfile::tempdir().unwrap();
    let nicol = robots::builtin("nicol-right").unwrap();
    let good = dir.path().join("good");
    let outcome = train_into(&nicol, ModelKind::CycleikMlp, tiny_cycleik(8, 0), &good);
    let card: serde_json::Value = serde_json::from_slice(&std::fs::read(good.join("card.json")).unwrap()).unwrap();
    let weights = weights_file(&good);
    let with_card = |name: &str, edit: &dyn Fn(&mut serde_json::Value)| {
        let to = dir.path().join(name);
        std::fs::create_dir_all(&to).unwrap();
        std::fs::copy(good.join(&weights), to.join(&weights)).unwrap();
        let mut card = card.clone();
        edit(&mut card);
        std::fs::write(to.join("card.json"), serde_json::to_vec(&card).unwrap()).unwrap();
        to
    };
    let outside = dir.path().join("outside.bpk");
    std::fs::copy(good.join(&weights), &outside).unwrap();
    for name in [outside.display().to_string(), "../outside.bpk".into(), "sub/w.bpk".into(), "..".into(), "".into()] {
        let folder = with_card("escape", &|c| c["weights"]["file"] = serde_json::json!(name));
        let err = LoadedModel::load(&folder).unwrap_err();
        assert!(matches!(err, ModelError::CorruptCard { .. }), "{name}: {err}");
    }
    // A link to a file elsewhere, a pipe (would block) and a device (endless) are refused unread.
    let linked = with_card("linked", &|_| {});
    std::fs::remove_file(linked.join(&weights)).unwrap();
    std::os::unix::fs::symlink(&outside, linked.join(&weights)).unwrap();
    assert!(matches!(LoadedModel::load(&linked), Err(ModelError::CorruptWeights { .. })));
    let piped = with_card("piped", &|_| {});
    std::fs::remove_file(piped.join(&weights)).unwrap();
    assert!(Command::new("mkfifo").arg(piped.join(&weights)).status().unwrap().success());
    assert!(matches!(LoadedModel::load(&piped), Err(ModelError::CorruptWeights { .. })));
    let card_link = with_card("card-link", &|_| {});
    std::fs::remove_file(card_link.join("card.json")).unwrap();
    std::os::unix::fs::symlink("/dev/zero", card_link.join("card.json")).unwrap();
    assert!(matches!(LoadedModel::load(&card_link), Err(ModelError::CorruptCard { .. })));

    // Output ranges that run backwards or are not finite are refused, not clamped into a panic.
    let backwards = with_card("backwards", &|c| {
        c["io"]["output"]["lower"][0] = serde_json::json!(3.0);
        c["io"]["output"]["upper"][0] = serde_json::json!(-3.0);
    });
    assert!(matches!(LoadedModel::load(&backwards), Err(ModelError::CorruptCard { .. })));
    let empty = with_card("empty", &|c| c["io"]["input"]["max"][1] = c["io"]["input"]["min"][1].clone());
    assert!(matches!(LoadedModel::load(&empty), Err(ModelError::CorruptCard { .. })));

    // NaN weights with a matching card and CRC still do not load.
    let poisoned = dir.path().join("poisoned");
    let network = outcome.network.clone().map(&mut Scale(f32::NAN));
    ik_studio::models::save_checkpoint(&poisoned, &outcome.card, &network, None::<&()>).unwrap();
    let err = LoadedModel::load(&poisoned).unwrap_err();
    assert!(matches!(err, ModelError::CorruptWeights { .. }) && err.to_string().contains("non-finite"), "{err}");
}

#[test]
fn a_save_replaces_the_checkpoint_as_a_unit_and_removes_leftovers() {
    let dir = tempfile::tempdir().unwrap();
    let omx = robots::builtin("omx").unwrap();
    let out = dir.path().join("ckpt");
    let first = train_into(&omx, ModelKind::CycleikMlp, tiny_cycleik(4, 0), &out);
    let first_weights = weights_file(&out);
    // Leftovers of a killed save: a temporary file and weights no card names.
    std::fs::write(out.join(".card.json.tmp-4242"), b"half a card").unwrap();
    std::fs::write(out.join("weights-0badc0de.bpk"), b"half the weights").unwrap();
    // The same card with other weights (halved).
    let second_network = first.network.clone().map(&mut Scale(0.5));
    ik_studio::models::save_checkpoint(&out, &first.card, &second_network, Some(&first.history)).unwrap();
    let mut names: Vec<String> =
        std::fs::read_dir(&out).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    let second_weights = weights_file(&out);
    assert_ne!(first_weights, second_weights);
    assert_eq!(names, vec!["card.json".to_string(), "history.json".into(), second_weights]);
    let poses = some_poses(&omx, 5, 1);
    let loaded = LoadedModel::load(&out).unwrap();
    let second = LoadedModel::from_parts(first.card.clone(), second_network, out.clone()).unwrap();
    assert_eq!(loaded.infer(&poses, 1).unwrap(), second.infer(&poses, 1).unwrap());
    assert_ne!(loaded.infer(&poses, 1).unwrap(), first.loaded_model().unwrap().infer(&poses, 1).unwrap());
}

#[test]
fn divergence_that_stays_finite_is_caught_and_never_overwrites_a_good_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let omx = robots::builtin("omx").unwrap();
    let data = Arc::new(dataset(&omx, 600, 3));
    let out = dir.path().join("ckpt");
    let architecture = Architecture::IknetOriginal(IknetOriginalConfig::new(4).with_hidden(vec![64, 64]));
    train_into(&omx, ModelKind::IknetOriginal, architecture.clone(), &out);
    let before: Vec<(String, Vec<u8>)> = ["card.json", weights_file(&out).as_str()]
        .iter()
        .map(|f| (f.to_string(), std::fs::read(out.join(f)).unwrap()))
        .collect();

    // IKNet at a learning rate of 10: the loss grows to ~1e27 and stays finite.
    let mut config = TrainConfig::new(ModelKind::IknetOriginal, Preset::Compact).unwrap();
    config.architecture = Some(architecture);
    (config.epochs, config.batch_size, config.learning_rate) = (4, 32, 10.0);
    let (outcome, events) = run(&omx, &data, config, Some(&out));
    assert!(matches!(outcome, Err(TrainError::Diverged { restarts: 2, .. })), "{:?}", outcome.err());
    assert!(events.iter().any(|e| matches!(e, TrainEvent::Restart(_))));
    for (file, bytes) in &before {
        assert_eq!(&std::fs::read(out.join(file)).unwrap(), bytes, "{file} changed");
    }

    // CycleIK at 1e6: outputs saturate, the loss never becomes infinite.
    let mut config = TrainConfig::new(ModelKind::CycleikMlp, Preset::Compact).unwrap();
    config.architecture = Some(tiny_cycleik(4, 0));
    (config.epochs, config.batch_size, config.learning_rate) = (4, 32, 1e6);
    let (outcome, _) = run(&omx, &data, config, None);
    assert!(matches!(outcome, Err(TrainError::Diverged { .. })), "{:?}", outcome.map(|o| o.summary));
}

#[test]
fn a_worse_run_keeps_the_better_checkpoint_in_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let omx = robots::builtin("omx").unwrap();
    let data = Arc::new(dataset(&omx, 600, 3));
    let out = dir.path().join("ckpt");
    let architecture = Architecture::IknetOriginal(IknetOriginalConfig::new(4).with_hidden(vec![64, 64]));
    let config = |epochs: usize, max_steps: Option<usize>| {
        let mut config = TrainConfig::new(ModelKind::IknetOriginal, Preset::Compact).unwrap();
        config.architecture = Some(architecture.clone());
        (config.epochs, config.batch_size, config.max_steps_per_epoch) = (epochs, 32, max_steps);
        config
    };
    let (good, _) = run(&omx, &data, config(6, None), Some(&out));
    let good = good.unwrap().summary.best.unwrap();
    let files = |out: &Path| -> Vec<Vec<u8>> {
        ["card.json".to_string(), "history.json".into(), weights_file(out)]
            .iter()
            .map(|f| std::fs::read(out.join(f)).unwrap())
            .collect()
    };
    let before = files(&out);

    // Two steps from scratch into the same folder: worse on every epoch, so nothing is written.
    let (worse, events) = run(&omx, &data, config(1, Some(2)), Some(&out));
    let worse = worse.unwrap().summary;
    assert!(!events.iter().any(|e| matches!(e, TrainEvent::Checkpoint { .. })));
    assert_eq!(worse.checkpoint, None);
    let kept = worse.kept.expect("the better checkpoint is reported as kept");
    assert!(kept.loss < worse.best.unwrap().loss);
    assert!((kept.position_mm - good.position_mm).abs() < 1e-3 * good.position_mm.max(1.0), "{kept:?} vs {good:?}");
    assert_eq!(files(&out), before, "the folder changed");

    // Going on from the kept checkpoint in place improves it, and that is saved.
    let mut more = config(2, None);
    more.init_from = Some(out.clone());
    let (better, _) = run(&omx, &data, more, Some(&out));
    let better = better.unwrap().summary;
    assert_eq!(better.checkpoint.as_deref(), Some(out.as_path()));
    assert!(better.best.unwrap().loss < kept.loss && better.kept.is_none());
    assert_ne!(files(&out), before);
}

/// The spread hinge raises the generator's spread while the pose error stays
/// close to a generator trained without any spread term.
#[test]
fn the_spread_hinge_spreads_the_generator_without_losing_the_pose() {
    let nicol = robots::builtin("nicol-right").unwrap();
    let data = Arc::new(dataset(&nicol, 1_200, 9));
    let trained = |variance_weight: f64| {
        let mut config = TrainConfig::new(ModelKind::CycleikGan, Preset::Compact).unwrap();
        config.architecture = Some(tiny_cycleik(8, 4));
        (config.epochs, config.batch_size, config.learning_rate) = (40, 64, 3e-3);
        config.loss.variance_weight = variance_weight;
        config.loss.diversity = train::DiversityLoss::SpreadHinge { target_std: 0.3 };
        config.loss.variance_batch = Some(32);
        let (outcome, _) = run(&nicol, &data, config, None);
        let outcome = outcome.unwrap();
        let error_mm = outcome.summary.best.unwrap().position_mm;
        (outcome.loaded_model().unwrap(), error_mm)
    };
    let poses = some_poses(&nicol, 8, 2);
    let ((hinged, hinged_mm), (plain, plain_mm)) = (trained(100.0), trained(0.0));
    let (with, without) = (spread(&hinged, &poses, 64), spread(&plain, &poses, 64));
    assert!(with > 3.0 * without && with > 0.1, "spread with the hinge {with} rad, without {without} rad");
    assert!(hinged_mm < 1.5 * plain_mm + 5.0, "pose error with the hinge {hinged_mm} mm, without {plain_mm} mm");
}

/// SIGKILL at random moments of a `train` that saves after every epoch: the
/// folder always holds a whole checkpoint once it has held one.
#[test]
fn a_killed_train_never_leaves_a_broken_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let data_path = dir.path().join("omx.ikd");
    let out = dir.path().join("ckpt");
    let omx = robots::builtin("omx").unwrap();
    data::write_dataset(&dataset(&omx, 400, 2), &data_path).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(13);
    let mut saved_once = false;
    for _ in 0..12 {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ik-studio"))
            .args(["train", "--robot", "omx", "--model", "iknet-original", "--data"])
            .arg(&data_path)
            .args(["--epochs", "1000", "--max-steps-per-epoch", "2", "--batch", "32", "--lr", "1e-3", "--out"])
            .arg(&out)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(rng.random_range(100..1_500)));
        child.kill().unwrap(); // SIGKILL on Unix
        child.wait().unwrap();
        if out.join("card.json").exists() {
            saved_once = true;
        }
        if saved_once {
            let loaded = LoadedModel::load_for(&out, "omx", &omx.chain);
            assert!(loaded.is_ok(), "after a kill: {}", loaded.err().unwrap());
        }
    }
    assert!(saved_once, "no run lived long enough to save");
}

#[test]
fn recalibrated_norms_give_inference_the_statistics_it_runs_with() {
    use ik_studio::models::IknetImprovedConfig;
    let device = cpu_device().autodiff();
    let network = Architecture::IknetImproved(IknetImprovedConfig::new(4).with_width(32).with_blocks(2).with_dropout(0.5))
        .init(&device);
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let values: Vec<f32> = (0..256 * 7).map(|_| rng.random_range(-1.0..1.0)).collect();
    let input = || Tensor::<2>::from_data(TensorData::new(values.clone(), [256, 7]), &device);
    // Running statistics learnt in training, with dropout on.
    for _ in 0..64 {
        drop(network.forward(input()));
    }
    let inference = |network: &ik_studio::models::Network| -> Vec<f32> {
        let plain = Tensor::<2>::from_data(TensorData::new(values.clone(), [256, 7]), &cpu_device());
        network.valid().forward(plain).into_data().to_vec().unwrap()
    };
    let before = inference(&network);
    assert!(network.recalibrate_norms((0..64).map(|_| input())), "the Improved IKNet has norms after dropout");
    let after = inference(&network);
    // What the network computes with dropout off and this batch's own statistics.
    let reference: Vec<f32> =
        network.without_dropout_before_norms().unwrap().forward(input()).into_data().to_vec().unwrap();
    let distance = |a: &[f32]| a.iter().zip(&reference).map(|(x, y)| (x - y).abs()).fold(0.0f32, f32::max);
    assert!(distance(&after) < 0.02 * distance(&before), "before {} after {}", distance(&before), distance(&after));
    // Networks without dropout before a norm are left alone.
    let original = Architecture::IknetOriginal(IknetOriginalConfig::new(4)).init(&device);
    assert!(!original.recalibrate_norms(std::iter::empty()));
}
