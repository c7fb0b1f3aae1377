//! Model solvers from checkpoints, the hybrids, and the solver registry.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::mpsc;
use std::time::Duration;

use ik_studio::data::{SampleConfig, sample_dataset};
use ik_studio::models::{Architecture, CycleIkConfig, ModelKind, Preset};
use ik_studio::robots;
use ik_studio::solvers::{self, SolveRequest, SolveState, SolverError, Tolerance};
use ik_studio::train::{self, TrainConfig, TrainJob};

/// A small CycleIK network trained for a few seconds and saved as a checkpoint.
fn trained_checkpoint(robot: &ik_studio::Robot, kind: ModelKind, noise_dim: usize, out: &Path) {
    let ws = robot.default_workspace().clone();
    let (data, _) = sample_dataset(robot, &ws, &SampleConfig::new(4_000, 3), &|_| {}).unwrap();
    let mut config = TrainConfig::new(kind, Preset::Compact).unwrap();
    config.architecture =
        Some(Architecture::CycleIk(CycleIkConfig::new(robot.chain.dof(), vec![64, 64], 2).with_noise_dim(noise_dim)));
    (config.epochs, config.batch_size, config.learning_rate) = (6, 64, 3e-3);
    let job = TrainJob {
        robot: robot.clone(),
        dataset: Arc::new(data),
        dataset_path: None,
        config,
        out: Some(out.to_path_buf()),
    };
    let (sender, _receiver) = mpsc::channel();
    train::train(&job, &sender, &AtomicBool::new(false)).unwrap();
}

#[test]
fn network_hybrids_reach_what_the_network_alone_only_approaches() {
    let robot = robots::builtin("nicol-right").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("mlp");
    trained_checkpoint(&robot, ModelKind::CycleikMlp, 0, &ckpt);

    let network = solvers::build("cycleik-mlp", &robot, Some(&ckpt)).unwrap();
    let refined = solvers::build("cycleik-mlp+numeric", &robot, Some(&ckpt)).unwrap();
    let seeded_ga = solvers::build("cycleik-mlp+ga", &robot, Some(&ckpt)).unwrap();
    assert_eq!(refined.name(), "cycleik-mlp+numeric");

    let q = [1.0, 0.3, -0.6, 0.4, 0.3, 0.2, 0.1, -0.1];
    let target = robot.chain.fk(&q).unwrap();
    let req = SolveRequest { budget: Duration::from_millis(500), ..SolveRequest::new(target) };
    let alone = network.solve(&req);
    let best_alone = alone.best().unwrap();
    assert!(robot.chain.within_limits(&best_alone.joints), "CycleIK outputs stay within limits");
    // A few seconds of training get close but not to 0.1 mm; refinement gets there.
    assert_ne!(alone.state, SolveState::Solved);
    let refined = refined.solve(&req);
    assert_eq!(refined.state, SolveState::Solved, "{:?}", refined.best());
    let ga_req = SolveRequest { tolerance: Tolerance::SUCCESS, budget: Duration::from_secs(5), ..req };
    let ga = seeded_ga.solve(&ga_req);
    assert_eq!(ga.state, SolveState::Solved, "{:?}", ga.best());
    assert!(ga.best().unwrap().position_error_mm <= best_alone.position_error_mm);
}

#[test]
fn gan_solver_returns_the_requested_samples_best_first() {
    let robot = robots::builtin("nicol-right").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ckpt = dir.path().join("gan");
    trained_checkpoint(&robot, ModelKind::CycleikGan, 4, &ckpt);
    let gan = solvers::build("cycleik-gan", &robot, Some(&ckpt)).unwrap();
    let target = robot.chain.fk(&[1.0, 0.3, -0.6, 0.4, 0.3, 0.2, 0.1, -0.1]).unwrap();
    let result = gan.solve(&SolveRequest { samples: 50, ..SolveRequest::new(target) });
    assert_eq!(result.solutions.len(), 50);
    let score = |s: &ik_studio::solvers::Solution| s.position_error_mm + s.orientation_error_deg;
    assert!(result.solutions.windows(2).all(|w| score(&w[0]) <= score(&w[1])));
    // The wrong model kind for a checkpoint is refused.
    assert!(matches!(solvers::build("cycleik-mlp", &robot, Some(&ckpt)), Err(SolverError::WrongModel { .. })));
    // Reduced-precision weights by name, in the solver's name too.
    let half = solvers::build("cycleik-gan@f16+numeric", &robot, Some(&ckpt)).unwrap();
    assert_eq!(half.name(), "cycleik-gan@f16+numeric");
    assert!(half.solve(&SolveRequest::new(target)).best().unwrap().position_error_mm < 1.0);
    assert!(matches!(solvers::build("cycleik-gan@f8", &robot, Some(&ckpt)), Err(SolverError::Unknown(_))));
}

#[test]
fn registry_refuses_unknown_names_and_missing_checkpoints() {
    let robot = robots::builtin("omx").unwrap();
    assert!(matches!(solvers::build("trac-ik", &robot, None), Err(SolverError::Unknown(_))));
    assert!(matches!(solvers::build("cycleik-mlp+magic", &robot, None), Err(SolverError::Unknown(_))));
    let missing = solvers::build("cycleik-gan", &robot, Some(Path::new("/no/such/checkpoint")));
    assert!(matches!(missing, Err(SolverError::Model(_))));
    // A checkpoint for another chain is refused.
    let nicol = robots::builtin("nicol-left").unwrap();
    let dir = tempfile::tempdir().unwrap();
    trained_checkpoint(&nicol, ModelKind::CycleikMlp, 0, &dir.path().join("left"));
    let right = robots::builtin("nicol-right").unwrap();
    assert!(solvers::build("cycleik-mlp", &right, Some(&dir.path().join("left"))).is_err());
}

#[test]
fn fast_inference_path_equals_burn() {
    use ik_studio::models::{IknetFocusedConfig, IknetImprovedConfig, IknetOriginalConfig, LoadedModel};
    let dir = tempfile::tempdir().unwrap();
    let nicol = robots::builtin("nicol-right").unwrap();
    for (name, noise) in [("mlp", 0), ("gan", 4)] {
        let kind = if noise == 0 { ModelKind::CycleikMlp } else { ModelKind::CycleikGan };
        let path = dir.path().join(name);
        trained_checkpoint(&nicol, kind, noise, &path);
        compare_paths(LoadedModel::load(&path).unwrap(), &nicol);
    }
    // The IKNets on the OMX: Original (ReLU, dropout off at inference),
    // Improved (batch norms folded into the layers, residual blocks) and
    // Focused (two branches as block-diagonal layers).
    let omx = robots::builtin("omx").unwrap();
    let ws = omx.default_workspace().clone();
    let (data, _) = sample_dataset(&omx, &ws, &SampleConfig::new(2_000, 3), &|_| {}).unwrap();
    let data = Arc::new(data);
    let networks = [
        (ModelKind::IknetOriginal, Architecture::IknetOriginal(IknetOriginalConfig::new(4).with_hidden(vec![64, 32]))),
        (
            ModelKind::IknetImproved,
            Architecture::IknetImproved(IknetImprovedConfig::new(4).with_width(24).with_blocks(2)),
        ),
        (
            ModelKind::IknetFocused,
            Architecture::IknetFocused(
                IknetFocusedConfig::new(4)
                    .with_position_branch(vec![16, 12])
                    .with_orientation_branch(vec![16, 20])
                    .with_head(vec![40, 16]),
            ),
        ),
    ];
    for (kind, architecture) in networks {
        let mut config = TrainConfig::new(kind, Preset::Compact).unwrap();
        config.architecture = Some(architecture);
        (config.epochs, config.batch_size) = (2, 64);
        let path = dir.path().join(kind.to_string());
        let job =
            TrainJob { robot: omx.clone(), dataset: data.clone(), dataset_path: None, config, out: Some(path.clone()) };
        let (sender, _receiver) = mpsc::channel();
        train::train(&job, &sender, &AtomicBool::new(false)).unwrap();
        compare_paths(LoadedModel::load(&path).unwrap(), &omx);
    }
}

fn compare_paths(mut model: ik_studio::models::LoadedModel, robot: &ik_studio::Robot) {
    use ik_studio::models::{LoadedModel, Precision};
    assert!(model.uses_fast_path(), "{}", model.card.model);
    let ws = robot.default_workspace().clone();
    let (poses, _) = sample_dataset(robot, &ws, &SampleConfig::new(64, 9), &|_| {}).unwrap();
    let name = model.card.model;
    let worst = |a: &[f64], b: &[f64]| {
        assert_eq!(a.len(), b.len());
        a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
    };
    // One solution per pose; the generator's noise follows from the pose, so
    // that a pose gets the same answer alone or in a batch.
    let dim = model.card.io.noise_dim();
    let one = |model: &LoadedModel, poses: &[f64]| {
        if dim == 0 {
            return model.infer(poses, 1).unwrap();
        }
        let noise: Vec<f64> = poses
            .chunks(7)
            .flat_map(|p| (0..dim).map(move |k| (p[0] * 977.0 + k as f64 * 0.37).rem_euclid(1.0)))
            .collect();
        model.infer_with_noise(poses, &noise).unwrap()
    };
    // Many rows (sgemm) and one pose at a time (the matrix-vector kernel).
    let fast = model.infer(&poses.poses, 5).unwrap();
    let one_by_one: Vec<f64> = poses.poses.chunks(7).flat_map(|p| one(&model, p)).collect();
    let reduced: Vec<(Precision, Vec<f64>)> = [Precision::F16, Precision::Int8]
        .into_iter()
        .map(|p| {
            model.set_precision(p).unwrap();
            assert_eq!(model.precision(), p);
            let single: Vec<f64> = poses.poses.chunks(7).flat_map(|q| one(&model, q)).collect();
            let batched = one(&model, &poses.poses);
            assert!(worst(&single, &batched) < 1e-4, "{name} {p}: single and batched rows differ");
            (p, single)
        })
        .collect();
    model.set_fast_path(false);
    assert!(!model.uses_fast_path());
    let slow = model.infer(&poses.poses, 5).unwrap();
    assert!(worst(&fast, &slow) < 1e-5, "{name}: fast and burn paths differ by {}", worst(&fast, &slow));
    let slow_single = one(&model, &poses.poses);
    assert!(worst(&one_by_one, &slow_single) < 1e-5, "{name}: the one-row kernel differs from burn");
    // Reduced precision: close to the f32 answer, but not equal to it.
    for (p, answer) in reduced {
        let (difference, bound) = (worst(&answer, &slow_single), if p == Precision::F16 { 2e-2 } else { 0.5 });
        assert!(difference > 0.0 && difference < bound, "{name} {p}: differs from f32 by {difference}");
    }
}
