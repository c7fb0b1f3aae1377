//! The GPU path (cargo feature `gpu`: burn's wgpu backend), on whatever Vulkan
//! device the machine has (CI: Mesa's lavapipe, a software device): inference
//! and a short training run on `--device gpu` agree with the CPU.
#![cfg(feature = "gpu")]

use std::process::Command;

use ik_studio::models::{DeviceChoice, LoadedModel};
use ik_studio::robots;

/// A few reachable OMX and NICOL poses (tip poses of fixed configurations).
fn poses(robot: &robots::Robot, n: usize) -> Vec<f64> {
    let chain = &robot.chain;
    (0..n)
        .flat_map(|i| {
            let q: Vec<f64> = chain.mid_configuration().iter().map(|v| v + 0.05 * i as f64).collect();
            ik_studio::kinematics::Pose::from_isometry(&chain.fk_unchecked(&q)).to_array()
        })
        .collect()
}

fn worst_difference(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len());
    a.iter().zip(b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max)
}

#[test]
fn shipped_networks_answer_on_the_gpu_as_on_the_cpu() {
    for (robot, model, samples) in
        [("omx", "iknet-original", 1), ("omx", "iknet-improved", 1), ("nicol-right", "cycleik-gan", 500)]
    {
        let robot = robots::builtin(robot).unwrap();
        let dir = ik_studio::solvers::checkpoints_dir().join(&robot.name).join(model);
        let cpu = LoadedModel::load_for(&dir, &robot.name, &robot.chain).unwrap();
        let mut gpu = LoadedModel::load_for(&dir, &robot.name, &robot.chain).unwrap();
        gpu.set_device(DeviceChoice::Gpu).unwrap();
        let poses = poses(&robot, 4);
        let (a, b) = (cpu.infer(&poses, samples).unwrap(), gpu.infer(&poses, samples).unwrap());
        let worst = worst_difference(&a, &b);
        assert!(worst < 1e-3, "{model}: the GPU's joints differ from the CPU's by {worst} rad");
    }
}

#[test]
fn a_short_training_run_on_the_gpu_learns_and_its_checkpoint_answers_on_both() {
    let dir = tempfile::tempdir().unwrap();
    let bin = env!("CARGO_BIN_EXE_ik-studio");
    let data = dir.path().join("omx.ikd");
    let out = Command::new(bin)
        .args(["dataset", "--robot", "omx", "--workspace", "full", "--samples", "3000", "--seed", "3", "--out"])
        .arg(&data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ckpt = dir.path().join("net");
    let out = Command::new(bin)
        .args(["train", "--robot", "omx", "--model", "iknet-original", "--device", "gpu", "--epochs", "3"])
        .args(["--batch", "64", "--max-steps-per-epoch", "20", "--seed", "1", "--data"])
        .arg(&data)
        .arg("--out")
        .arg(&ckpt)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let history: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(ckpt.join("history.json")).unwrap()).unwrap();
    let losses: Vec<f64> =
        history["epochs"].as_array().unwrap().iter().map(|e| e["train_loss"].as_f64().unwrap()).collect();
    assert!(losses.iter().all(|l| l.is_finite()), "{losses:?}");
    assert!(losses.last() < losses.first(), "the GPU run did not learn: {losses:?}");

    let robot = robots::builtin("omx").unwrap();
    let cpu = LoadedModel::load_for(&ckpt, "omx", &robot.chain).unwrap();
    let mut gpu = LoadedModel::load_for(&ckpt, "omx", &robot.chain).unwrap();
    gpu.set_device(DeviceChoice::Gpu).unwrap();
    let poses = poses(&robot, 8);
    let worst = worst_difference(&cpu.infer(&poses, 1).unwrap(), &gpu.infer(&poses, 1).unwrap());
    assert!(worst < 1e-3, "the trained network differs by {worst} rad between GPU and CPU");
}
