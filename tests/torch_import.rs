//! PyTorch import: the fixtures in `tests/fixtures/torch` were written by
//! `tools/make_torch_fixtures.py` with PyTorch, together with the outputs
//! PyTorch gave; imported networks must give the same to 1e-5.

use std::path::{Path, PathBuf};
use std::process::Command;

use burn::tensor::{Tensor, TensorData};
use ik_studio::models::{FastMlp, ModelKind, Network, TorchImport, cpu_device, import_torch};
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
