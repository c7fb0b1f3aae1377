//! PyTorch import: the fixtures in `tests/fixtures/torch` were written by
//! `tools/make_torch_fixtures.py` with PyTorch, together with the outputs
//! PyTorch gave; imported networks must give the same to 1e-5.

use std::path::{Path, PathBuf};
use std::process::Command;

use burn::tensor::{Tensor, TensorData};
use ik_studio::models::{
    FastMlp, HiddenActivation, ModelKind, Network, QuaternionInput, TorchImport, cpu_device, import_torch,
};
use ik_studio::models::{LoadedModel, Preset};
use ik_studio::robots::{self, Robot};
use serde::Deserialize;

#[derive(Deserialize)]
struct Expected {
    robot: String,
    n_tanh: Option<usize>,
    inputs: Vec<Vec<f32>>,
    outputs: Vec<Vec<f32>>,
}

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/torch").join(name)
}

fn expected(model: &str) -> Expected {
    serde_json::from_slice(&std::fs::read(fixture(&format!("{model}.json"))).unwrap()).unwrap()
}

fn import(model: ModelKind, file: &str, robot: &Robot, n_tanh: Option<usize>, key: Option<&str>) -> Network {
    let spec = TorchImport {
        model,
        robot_name: &robot.name,
        chain: &robot.chain,
        workspace: robot.default_workspace(),
        n_tanh,
        activation: HiddenActivation::Gelu,
        quaternion: QuaternionInput::Canonical,
        top_level_key: key,
    };
    import_torch(&fixture(file), &spec).map(|(_, network)| network).unwrap()
}

fn forward(network: &Network, rows: &[Vec<f32>]) -> Vec<f32> {
    let flat: Vec<f32> = rows.concat();
    let input = Tensor::<2>::from_data(TensorData::new(flat, [rows.len(), rows[0].len()]), &cpu_device());
    network.forward(input).into_data().try_into_vec().unwrap()
}

fn assert_close(got: &[f32], want: &[Vec<f32>], what: &str) {
    let want: Vec<f32> = want.concat();
    assert_eq!(got.len(), want.len(), "{what}");
    let worst = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
    assert!(worst <= 1e-5, "{what}: largest difference from PyTorch {worst}");
}

#[test]
fn imported_networks_give_pytorchs_outputs() {
    for model in [ModelKind::IknetOriginal, ModelKind::CycleikMlp, ModelKind::CycleikGan] {
        let name = model.name();
        let want = expected(name);
        let robot = robots::builtin(&want.robot).unwrap();
        for (file, key) in [(format!("{name}.pth"), None), (format!("{name}-checkpoint.pth"), Some("model_state_dict"))]
        {
            let network = import(model, &file, &robot, want.n_tanh, key);
            assert_close(&forward(&network, &want.inputs), &want.outputs, &format!("{file} through burn"));

            let fast = FastMlp::from_network(&network).expect("a chain of dense layers");
            let mut out = Vec::new();
            fast.forward(&want.inputs.concat(), want.inputs.len(), &mut out);
            assert_close(&out, &want.outputs, &format!("{file} through the fast path"));
        }
    }
}

#[test]
fn the_cli_writes_a_checkpoint_that_loads_and_runs() {
    let want = expected("cycleik-gan");
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("gan");
    let status = Command::new(env!("CARGO_BIN_EXE_ik-studio"))
        .args(["import-torch", "--robot", "nicol-right", "--model", "cycleik-gan", "--n-tanh", "3", "--weights"])
        .arg(fixture("cycleik-gan.pth"))
        .arg("--out")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(status.status.success(), "{}", String::from_utf8_lossy(&status.stderr));

    let robot = robots::builtin("nicol-right").unwrap();
    let model = LoadedModel::load_for(&dir, "nicol-right", &robot.chain).unwrap();
    assert_eq!(model.card.model, ModelKind::CycleikGan);
    assert_eq!(model.card.preset, Preset::Custom);
    assert_eq!(model.card.io.noise_dim(), 3);
    assert_close(&forward(model.network(), &want.inputs), &want.outputs, "the written checkpoint");
}

#[test]
fn a_file_that_does_not_fit_is_refused_with_a_reason() {
    let omx = robots::builtin("omx").unwrap();
    let nicol = robots::builtin("nicol-right").unwrap();
    let refuse = |model: ModelKind, file: &Path, robot: &Robot| {
        let spec = TorchImport {
            model,
            robot_name: &robot.name,
            chain: &robot.chain,
            workspace: robot.default_workspace(),
            n_tanh: None,
            activation: HiddenActivation::Gelu,
            quaternion: QuaternionInput::Canonical,
            top_level_key: None,
        };
        import_torch(file, &spec).map(|_| ()).unwrap_err().to_string()
    };
    // Another layout, another kind, another robot.
    let err = refuse(ModelKind::IknetOriginal, &fixture("cycleik-mlp.pth"), &nicol);
    assert!(err.contains("index"), "{err}");
    let err = refuse(ModelKind::CycleikMlp, &fixture("cycleik-gan.pth"), &nicol);
    assert!(err.contains("GAN"), "{err}");
    let err = refuse(ModelKind::CycleikGan, &fixture("cycleik-mlp.pth"), &nicol);
    assert!(err.contains("MLP"), "{err}");
    let err = refuse(ModelKind::IknetOriginal, &fixture("iknet-original.pth"), &nicol);
    assert!(err.contains("8 joints"), "{err}");
    let err = refuse(ModelKind::IknetFocused, &fixture("iknet-original.pth"), &omx);
    assert!(err.contains("not iknet-focused"), "{err}");
    // The nested file without its key: the top level is no state dict.
    assert!(!refuse(ModelKind::IknetOriginal, &fixture("iknet-original-checkpoint.pth"), &omx).is_empty());

    // Damaged files: an error, not a panic.
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture("iknet-original.pth")).unwrap();
    for (name, damaged) in [
        ("truncated.pth", bytes[..bytes.len() / 2].to_vec()),
        ("garbage.pth", (0..4096u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect()),
        ("empty.pth", Vec::new()),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, damaged).unwrap();
        let err = refuse(ModelKind::IknetOriginal, &path, &omx);
        assert!(err.contains(name), "{name}: {err}");
    }
    let err = refuse(ModelKind::IknetOriginal, &dir.path().join("missing.pth"), &omx);
    assert!(err.contains("missing.pth"), "{err}");
}

/// PyTorch's definitions (default parameters), in f64.
fn torch_activation(activation: HiddenActivation, x: f64) -> f64 {
    match activation {
        HiddenActivation::Gelu => 0.5 * x * (1.0 + libm::erf(x / std::f64::consts::SQRT_2)),
        HiddenActivation::Relu => x.max(0.0),
        HiddenActivation::LeakyRelu => {
            if x < 0.0 {
                0.01 * x
            } else {
                x
            }
        }
        HiddenActivation::Celu => x.max(0.0) + (x.min(0.0).exp() - 1.0),
        HiddenActivation::Selu => {
            1.050_700_987_355_480_5 * (x.max(0.0) + 1.673_263_242_354_377_3 * (x.min(0.0).exp() - 1.0))
        }
    }
}

/// The CycleIK forward pass written out from the network's weights.
fn reference_forward(network: &Network, activation: HiddenActivation, row: &[f32]) -> Vec<f32> {
    let Network::CycleIk(net) = network else { panic!("a CycleIK network") };
    let first_tanh = net.layers.len() - net.n_tanh;
    let mut x: Vec<f64> = row.iter().map(|&v| v as f64).collect();
    for (k, layer) in net.layers.iter().enumerate() {
        let [inputs, outputs] = layer.weight.val().dims();
        let w: Vec<f32> = layer.weight.val().into_data().try_into_vec().unwrap();
        let b: Vec<f32> = layer.bias.as_ref().unwrap().val().into_data().try_into_vec().unwrap();
        x = (0..outputs)
            .map(|o| {
                let z = b[o] as f64 + (0..inputs).map(|i| x[i] * w[i * outputs + o] as f64).sum::<f64>();
                if k >= first_tanh { z.tanh() } else { torch_activation(activation, z) }
            })
            .collect();
    }
    x.into_iter().map(|v| v as f32).collect()
}

#[test]
fn every_cycleik_activation_is_the_one_pytorch_defines() {
    let want = expected("cycleik-mlp");
    let robot = robots::builtin(&want.robot).unwrap();
    // Wider inputs than the fixture's, so that negative pre-activations of all sizes occur.
    let rows: Vec<Vec<f32>> = want.inputs.iter().map(|r| r.iter().map(|v| 3.0 * v).collect()).collect();
    for activation in [
        HiddenActivation::Gelu,
        HiddenActivation::Relu,
        HiddenActivation::LeakyRelu,
        HiddenActivation::Celu,
        HiddenActivation::Selu,
    ] {
        let spec = TorchImport {
            model: ModelKind::CycleikMlp,
            robot_name: &robot.name,
            chain: &robot.chain,
            workspace: robot.default_workspace(),
            n_tanh: want.n_tanh,
            activation,
            quaternion: QuaternionInput::Canonical,
            top_level_key: None,
        };
        let (card, network) = import_torch(&fixture("cycleik-mlp.pth"), &spec).unwrap();
        assert!(card.summary.contains(activation.torch_name()), "{activation:?}: {}", card.summary);
        let reference: Vec<Vec<f32>> = rows.iter().map(|r| reference_forward(&network, activation, r)).collect();
        assert_close(&forward(&network, &rows), &reference, &format!("{activation:?} through burn"));
        let fast = FastMlp::from_network(&network).unwrap();
        let mut out = Vec::new();
        fast.forward(&rows.concat(), rows.len(), &mut out);
        assert_close(&out, &reference, &format!("{activation:?} through the fast path"));
    }
    // GELU is what the fixture was trained with: the other activations must differ from it.
    let gelu = forward(&import(ModelKind::CycleikMlp, "cycleik-mlp.pth", &robot, want.n_tanh, None), &rows);
    let mut selu_import = std::process::Command::new(env!("CARGO_BIN_EXE_ik-studio"));
    let dir = tempfile::tempdir().unwrap();
    let out = selu_import
        .args(["import-torch", "--robot", "nicol-right", "--model", "cycleik-mlp", "--activation", "SELU"])
        .args(["--n-tanh", &want.n_tanh.unwrap().to_string(), "--weights"])
        .arg(fixture("cycleik-mlp.pth"))
        .arg("--out")
        .arg(dir.path().join("selu"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let selu = LoadedModel::load_for(&dir.path().join("selu"), "nicol-right", &robot.chain).unwrap();
    let differs = forward(selu.network(), &rows).iter().zip(&gelu).any(|(a, b)| (a - b).abs() > 1e-3);
    assert!(differs, "the SELU checkpoint computes what the GELU one does");
}

#[test]
fn a_network_that_takes_quaternions_as_given_sees_the_callers_sign() {
    let robot = robots::builtin("nicol-right").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let import = |quaternion: &str| {
        let path = dir.path().join(quaternion);
        let out = Command::new(env!("CARGO_BIN_EXE_ik-studio"))
            .args(["import-torch", "--robot", "nicol-right", "--model", "cycleik-mlp", "--n-tanh", "2"])
            .args(["--quaternion", quaternion, "--weights"])
            .arg(fixture("cycleik-mlp.pth"))
            .arg("--out")
            .arg(&path)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        LoadedModel::load_for(&path, "nicol-right", &robot.chain).unwrap()
    };
    let (canonical, as_given) = (import("canonical"), import("as-given"));
    assert_eq!(as_given.card.io.quaternion, QuaternionInput::AsGiven);
    // One orientation, both signs of its quaternion.
    let q = [0.1, -0.3, 0.2, 0.927_361_8];
    let pose = |s: f64| vec![0.6, -0.2, 1.0, s * q[0], s * q[1], s * q[2], s * q[3]];
    let (plus, minus) = (pose(1.0), pose(-1.0));
    assert_eq!(canonical.infer(&plus, 1).unwrap(), canonical.infer(&minus, 1).unwrap(), "canonical: w ≥ 0 first");
    // A unit quaternion with w ≥ 0: the same input both ways (up to normalising's rounding).
    let same = as_given
        .infer(&plus, 1)
        .unwrap()
        .iter()
        .zip(canonical.infer(&plus, 1).unwrap())
        .all(|(a, b)| (a - b).abs() < 1e-6);
    assert!(same, "w ≥ 0: the same input");
    let (a, b) = (as_given.infer(&plus, 1).unwrap(), as_given.infer(&minus, 1).unwrap());
    assert!(a.iter().zip(&b).any(|(x, y)| (x - y).abs() > 1e-4), "as given: w < 0 reaches the network");

    // What PyTorch would compute for the raw input: the network on the encoded position and the
    // quaternion exactly as given, decoded onto the joint limits.
    let Network::CycleIk(_) = as_given.network() else { panic!("a CycleIK network") };
    let mut encoded = Vec::new();
    as_given.card.io.encode_pose(&minus, &mut encoded).unwrap();
    assert_eq!(&encoded[3..], &minus[3..].iter().map(|&v| v as f32).collect::<Vec<_>>()[..]);
    let raw = forward(as_given.network(), &[encoded]);
    let mut joints = Vec::new();
    as_given.card.io.decode_values(&raw, &mut joints);
    let worst = joints.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0, f64::max);
    assert!(worst < 1e-4, "the checkpoint's answer differs from the network's by {worst} rad");

    // Through `solve` as a user runs it: the caller's sign reaches the network.
    let solve = |checkpoint: &str, pose: &[f64]| {
        let pose = pose.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(",");
        let out = Command::new(env!("CARGO_BIN_EXE_ik-studio"))
            .args(["solve", "--robot", "nicol-right", "--solver", "cycleik-mlp", "--json", "--checkpoint"])
            .arg(dir.path().join(checkpoint))
            .arg(format!("--pose={pose}"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).unwrap()
    };
    let joints = |json: String| json.split("\"joints\":").nth(1).map(|s| s.split(']').next().unwrap().to_string());
    assert_ne!(joints(solve("as-given", &plus)), joints(solve("as-given", &minus)), "solve: as given");
    assert_eq!(joints(solve("canonical", &plus)), joints(solve("canonical", &minus)), "solve: canonical");
}
