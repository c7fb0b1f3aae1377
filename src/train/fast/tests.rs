//! The fast path against burn's autodiff and Adam on the same network, batch
//! and chain, and a short training run.

use burn::grad_clipping::GradientClippingConfig;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::kinematics::Pose;
use crate::models::{Architecture, CycleIkConfig, TensorFk, cpu_device, quaternions_to_matrices};
use crate::robots::{self, Robot};
use crate::train::losses::{diversity_loss, position_loss, rotation_loss, zero_loss};
use crate::train::{DiversityLoss, PositionLoss, RotationLoss};

/// A batch as plain rows, kept so that both paths read the same values.
struct Rows {
    inputs: Vec<f32>,
    positions: Vec<f32>,
    rotations: Vec<f32>,
    variance_rows: usize,
}

impl Rows {
    /// `rows` reachable target poses (random configurations), then
    /// `variance_rows` copies of the first one; uniform [0, 1) noise per row.
    fn random(robot: &Robot, io: &IoMapping, rows: usize, variance_rows: usize, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let chain = &robot.chain;
        let mut poses: Vec<[f64; 7]> = (0..rows)
            .map(|_| Pose::from_isometry(&chain.fk_unchecked(&chain.random_configuration(&mut rng))).to_array())
            .collect();
        poses.extend(std::iter::repeat_n(poses[0], variance_rows));
        let (mut inputs, mut positions) = (Vec::new(), Vec::new());
        for pose in &poses {
            io.encode_pose(pose, &mut inputs).expect("poses from FK are valid");
            inputs.extend((0..io.noise_dim()).map(|_| rng.random::<f32>()));
            positions.extend(pose[..3].iter().map(|&v| v as f32));
        }
        let quaternions: Vec<[f64; 4]> = poses.iter().map(|p| [p[3], p[4], p[5], p[6]]).collect();
        Self { inputs, positions, rotations: quaternions_to_matrices(&quaternions), variance_rows }
    }

    fn batch(&self) -> FastBatch<'_> {
        FastBatch {
            inputs: &self.inputs,
            positions: &self.positions,
            rotations: &self.rotations,
            variance_rows: self.variance_rows,
        }
    }

    fn len(&self) -> usize {
        self.positions.len() / 3
    }
}

struct Setup {
    robot: Robot,
    io: IoMapping,
    network: Network,
    device: Device,
}

fn setup(robot: &str, hidden: &[usize], n_tanh: usize, noise_dim: usize) -> Setup {
    let robot = robots::builtin(robot).expect("a built-in robot");
    let io = IoMapping::normalised(&robot.chain, robot.default_workspace(), noise_dim).expect("valid limits");
    let device = cpu_device().autodiff();
    device.seed(7);
    let config = CycleIkConfig::new(robot.chain.dof(), hidden.to_vec(), n_tanh).with_noise_dim(noise_dim);
    let network = Architecture::CycleIk(config).init(&device);
    Setup { robot, io, network, device }
}

/// The CycleIK loss as the burn trainer assembles it.
fn burn_loss(s: &Setup, network: &Network, loss: &LossConfig, rows: &Rows) -> Tensor<1> {
    let n = rows.len();
    let width = rows.inputs.len() / n;
    let tensor2 = |v: &[f32], w: usize| Tensor::<2>::from_data(TensorData::new(v.to_vec(), [n, w]), &s.device);
    let input = tensor2(&rows.inputs, width);
    let output = network.forward(input.clone());
    let joints = s.io.decode(output.clone());
    let reached = TensorFk::new(&s.robot.chain).forward(joints.clone());
    let rotation_target = Tensor::<3>::from_data(TensorData::new(rows.rotations.clone(), [n, 3, 3]), &s.device);
    let mut total = position_loss(loss.position, reached.position, tensor2(&rows.positions, 3))
        .mul_scalar(loss.position_weight)
        + rotation_loss(loss.rotation, reached.rotation, rotation_target).mul_scalar(loss.rotation_weight);
    if loss.zero_weight > 0.0 && !loss.zero_joints.is_empty() {
        total = total + zero_loss(joints, &loss.zero_joints).mul_scalar(loss.zero_weight);
    }
    let r = rows.variance_rows;
    if r >= 2 {
        let noise = input.narrow(1, POSE_INPUT, width - POSE_INPUT).narrow(0, n - r, r);
        let spread = diversity_loss(loss.diversity, output.narrow(0, n - r, r), noise);
        total = total + spread.mul_scalar(loss.variance_weight);
    }
    total
}

fn scalar(t: Tensor<1>) -> f64 {
    t.into_data().convert::<f32>().try_into_vec::<f32>().expect("f32 data")[0] as f64
}

/// Every parameter's burn gradient, in the fast path's order (weights, bias per layer).
fn burn_gradients(network: &Network, grads: &burn::tensor::Gradients) -> Vec<Vec<f32>> {
    let Network::CycleIk(net) = network else { unreachable!("the tests build CycleIK networks") };
    let grad = |t: Tensor<2>| values(t.grad(grads).expect("a parameter has a gradient")).expect("f32");
    net.layers
        .iter()
        .flat_map(|l| {
            let bias = l.bias.as_ref().expect("CycleIK layers have biases").val();
            [grad(l.weight.val()), values(bias.grad(grads).expect("a gradient")).expect("f32")]
        })
        .collect()
}

fn fast_gradients(fast: &FastTrainer) -> Vec<Vec<f32>> {
    fast.grads.iter().flat_map(|g| [g.weights.clone(), g.bias.clone()]).collect()
}

fn fast_parameters(fast: &FastTrainer) -> Vec<Vec<f32>> {
    fast.layers.iter().flat_map(|l| [l.weights.clone(), l.bias.clone()]).collect()
}

fn burn_parameters(network: &Network) -> Vec<Vec<f32>> {
    let Network::CycleIk(net) = network else { unreachable!("the tests build CycleIK networks") };
    net.layers
        .iter()
        .flat_map(|l| {
            let bias = l.bias.as_ref().expect("CycleIK layers have biases").val();
            [values(l.weight.val()).expect("f32"), values(bias).expect("f32")]
        })
        .collect()
}

/// ‖a − b‖ / ‖b‖.
fn relative_error(a: &[f32], b: &[f32]) -> f64 {
    let diff: f64 = a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum();
    let norm: f64 = b.iter().map(|y| (*y as f64).powi(2)).sum();
    (diff / norm.max(1e-300)).sqrt()
}

fn assert_matches_burn(s: &Setup, loss: &LossConfig, rows: &Rows, what: &str) {
    let reference = burn_loss(s, &s.network, loss, rows);
    let want_loss = scalar(reference.clone());
    let want = burn_gradients(&s.network, &reference.backward());
    for (threads, threading) in [(1, Threading::SplitRows), (2, Threading::SplitRows), (2, Threading::Gemm)] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("a rayon pool");
        let mut fast = FastTrainer::new(&s.network, &s.io, &s.robot.chain, loss, None).expect("a CycleIK network");
        fast.set_threading(threading);
        let parts = pool.install(|| fast.loss_and_gradients(&rows.batch()).expect("a valid batch"));
        let context = format!("{what}, {threads} threads, {threading:?}");
        assert!((parts.total - want_loss).abs() <= 1e-5 * want_loss.abs(), "{context}: {} vs {want_loss}", parts.total);
        for (k, (got, want)) in fast_gradients(&fast).iter().zip(&want).enumerate() {
            let error = relative_error(got, want);
            // Measured: ≤ 1e-6 (f32 sums, GELU/tanh approximations, f64 FK).
            assert!(error < 1e-4, "{context}: parameter {k}: relative gradient error {error}");
        }
    }
}

#[test]
fn loss_and_gradients_equal_burn_autodiff() {
    let l1_chordal = LossConfig { zero_weight: 0.0, ..LossConfig::mlp_reference() };
    let smooth = LossConfig {
        position: PositionLoss::SmoothL1 { beta: 0.05 },
        rotation: RotationLoss::QuaternionDistance,
        ..l1_chordal.clone()
    };
    let zero = LossConfig {
        rotation: RotationLoss::Geodesic,
        zero_weight: 2.0,
        zero_joints: vec![0, 2],
        ..l1_chordal.clone()
    };
    for robot in ["nicol-right", "omx"] {
        let s = setup(robot, &[48, 40, 24], 2, 0);
        let rows = Rows::random(&s.robot, &s.io, 37, 0, 11);
        assert_matches_burn(&s, &l1_chordal, &rows, &format!("{robot} L1 + chordal"));
        assert_matches_burn(&s, &smooth, &rows, &format!("{robot} smooth L1 + quaternion"));
        assert_matches_burn(&s, &zero, &rows, &format!("{robot} L1 + geodesic + zero controller"));
    }
}

#[test]
fn generator_loss_and_gradients_equal_burn_autodiff() {
    let s = setup("nicol-right", &[40, 32], 2, 5);
    let rows = Rows::random(&s.robot, &s.io, 24, 16, 3);
    let paper = LossConfig { diversity: DiversityLoss::PaperVariance, ..LossConfig::gan_reference() };
    assert_matches_burn(&s, &paper, &rows, "generator, paper variance");
    // A target above the spread the fresh network gives, so that the hinge pushes.
    let hinge = LossConfig { diversity: DiversityLoss::SpreadHinge { target_std: 0.5 }, ..LossConfig::gan_reference() };
    assert_matches_burn(&s, &hinge, &rows, "generator, spread hinge");
}

#[test]
fn adam_steps_equal_burn_adam() {
    for clip in [None, Some(0.05f32)] {
        let s = setup("nicol-right", &[32, 24], 2, 0);
        let loss = LossConfig::mlp_reference();
        let mut fast = FastTrainer::new(&s.network, &s.io, &s.robot.chain, &loss, clip).expect("a CycleIK network");
        let mut optimizer =
            AdamConfig::new().with_epsilon(1e-8).with_grad_clipping(clip.map(GradientClippingConfig::Norm)).init();
        let mut network = s.network.clone();
        for (step, lr) in [(0u64, 1e-2), (1, 5e-3), (2, 5e-3)] {
            let rows = Rows::random(&s.robot, &s.io, 16, 0, 100 + step);
            let grads = burn_loss(&s, &network, &loss, &rows).backward();
            // The same gradients on both sides: this compares the optimisers alone.
            for (g, value) in
                fast.grads.iter_mut().flat_map(|g| [&mut g.weights, &mut g.bias]).zip(burn_gradients(&network, &grads))
            {
                *g = value;
            }
            let grads = GradientsParams::from_grads(grads, &network);
            network = optimizer.step(lr, network, grads);
            fast.apply_gradients(lr);
            for (k, (got, want)) in fast_parameters(&fast).iter().zip(burn_parameters(&network)).enumerate() {
                let worst = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
                assert!(worst < 1e-6, "clip {clip:?}, step {step}, parameter {k}: {worst}");
            }
        }
    }
}

#[test]
fn weights_round_trip_through_burn() {
    let s = setup("omx", &[16, 8], 1, 0);
    let loss = LossConfig::mlp_reference();
    let mut fast = FastTrainer::new(&s.network, &s.io, &s.robot.chain, &loss, None).expect("a CycleIK network");
    fast.step(&Rows::random(&s.robot, &s.io, 8, 0, 1).batch(), 1e-2).expect("a valid batch");
    let written = fast.write_into(s.network.clone()).expect("the same shape");
    assert_eq!(burn_parameters(&written), fast_parameters(&fast));
    let again = FastTrainer::new(&written, &s.io, &s.robot.chain, &loss, None).expect("a CycleIK network");
    assert_eq!(fast_parameters(&again), fast_parameters(&fast));
}

#[test]
fn a_short_run_cuts_the_loss_threefold() {
    let s = setup("nicol-right", &[128, 128], 2, 0);
    let loss = LossConfig::mlp_reference();
    let mut fast = FastTrainer::new(&s.network, &s.io, &s.robot.chain, &loss, None).expect("a CycleIK network");
    let data = Rows::random(&s.robot, &s.io, 2048, 0, 5);
    let batch = 128;
    let mut losses = Vec::new();
    for step in 0..400 {
        let start = (step * batch) % data.len();
        let rows = FastBatch {
            inputs: &data.inputs[start * POSE_INPUT..(start + batch) * POSE_INPUT],
            positions: &data.positions[start * 3..(start + batch) * 3],
            rotations: &data.rotations[start * 9..(start + batch) * 9],
            variance_rows: 0,
        };
        losses.push(fast.step(&rows, 2e-3).expect("a valid batch").total);
    }
    let last: f64 = losses[losses.len() - 20..].iter().sum::<f64>() / 20.0;
    assert!(last * 3.0 <= losses[0], "loss {} → {last}", losses[0]);
}
