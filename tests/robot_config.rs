//! CycleIK-style robot configs (`--config robot.yaml [--chain KEY]`): the same
//! chain, limits and workspace box as the equivalent options, chain selection,
//! one-line errors for every bad input, and a parser that never panics.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ik_studio::data;
use ik_studio::kinematics::JointLimits;
use ik_studio::models::{Architecture, HiddenActivation, read_checkpoint_card};
use ik_studio::robots::{self, RobotConfig};
use proptest::prelude::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/config").join(name)
}

fn nicol() -> String {
    fixture("nicol.yaml").to_string_lossy().into_owned()
}

fn tiny() -> String {
    fixture("tiny_arm.yaml").to_string_lossy().into_owned()
}

fn nicol_urdf() -> String {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("robots/nicol.urdf").to_string_lossy().into_owned()
}

fn ik(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ik-studio")).args(args).output().unwrap()
}

fn ik_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ik-studio")).current_dir(dir).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn ok(o: Output) -> Output {
    assert!(o.status.success(), "{}", stderr(&o));
    o
}

/// The failure's one `error:` line (notes aside), with exit status 1 and no panic.
fn one_line_error(o: &Output) -> String {
    let text = stderr(o);
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(!text.contains("panicked"), "{text}");
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with("note: ")).collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(lines[0].starts_with("error: "), "{text}");
    lines[0].to_string()
}

const Q_RIGHT: &str = "0.4,0.2,-0.3,0.5,0.1,-0.2,0.3,-0.1";
const Q_LEFT: &str = "-0.4,0.2,-0.3,0.5,0.1,-0.2,0.3,-0.1";

#[test]
fn fk_through_a_config_equals_the_builtin_and_the_urdf_options() {
    let urdf = nicol_urdf();
    for (chain, builtin, tip, q) in
        [("right_arm", "nicol-right", "r_laser", Q_RIGHT), ("left_arm", "nicol-left", "l_laser", Q_LEFT)]
    {
        let config = ok(ik(&["fk", "--config", &nicol(), "--chain", chain, "--joints", q, "--frames"]));
        let by_name = ok(ik(&["fk", "--robot", builtin, "--joints", q, "--frames"]));
        let by_urdf = ok(ik(&["fk", "--urdf", &urdf, "--base", "world", "--tip", tip, "--joints", q, "--frames"]));
        assert_eq!(stdout(&config), stdout(&by_name), "{chain}");
        assert_eq!(stdout(&config), stdout(&by_urdf), "{chain}");
        // The unused CycleIK keys are named once, on a note line.
        if chain == "right_arm" {
            let notes = stderr(&config);
            assert!(notes.contains("note: config chain 'right_arm': not used here: train_data"), "{notes}");
            assert!(notes.contains("FKNet"), "{notes}");
        }
    }
}

#[test]
fn the_reference_urdf_can_replace_robot_urdf() {
    // shared/ beside the repository (as in CI); skipped where it is absent.
    let reference = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/reference/NICOL.urdf");
    if !reference.exists() {
        eprintln!("skipped: {} is absent", reference.display());
        return;
    }
    let reference = reference.to_string_lossy().into_owned();
    let q = Q_RIGHT;
    let with_reference =
        ok(ik(&["fk", "--config", &nicol(), "--chain", "right_arm", "--urdf", &reference, "--joints", q, "--json"]));
    let builtin = ok(ik(&["fk", "--robot", "nicol-right", "--joints", q, "--json"]));
    let parse = |o: &Output| -> Vec<f64> {
        let v: serde_json::Value = serde_json::from_str(stdout(o).trim()).unwrap();
        ["position", "quaternion"]
            .iter()
            .flat_map(|k| v[k].as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect::<Vec<_>>())
            .collect()
    };
    for (a, b) in parse(&with_reference).iter().zip(parse(&builtin)) {
        assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    }
}

#[test]
fn dataset_through_a_config_equals_the_urdf_with_the_same_box() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("config.ikd");
    let b = dir.path().join("options.ikd");
    let common = ["--samples", "200", "--seed", "5", "--json"];
    let config_file = nicol();
    let mut config_args =
        vec!["dataset", "--config", &config_file, "--chain", "right_arm", "--out", a.to_str().unwrap()];
    config_args.extend(common);
    let nicol_urdf = nicol_urdf();
    let mut option_args = vec![
        "dataset",
        "--urdf",
        &nicol_urdf,
        "--base",
        "world",
        "--tip",
        "r_laser",
        // The SPEC's Small box, the config's workspace.
        "--workspace",
        "0.2,-0.9,0.8,0.85,0.0,1.4",
        "--out",
        b.to_str().unwrap(),
    ];
    option_args.extend(common);
    let summary: serde_json::Value = serde_json::from_str(stdout(&ok(ik(&config_args))).trim()).unwrap();
    assert_eq!(summary["workspace"], "config");
    ok(ik(&option_args));
    let (a, b) = (data::read_dataset(&a).unwrap(), data::read_dataset(&b).unwrap());
    assert_eq!(a.joints, b.joints);
    assert_eq!(a.poses, b.poses);
    assert_eq!((&a.meta.base, &a.meta.tip, &a.meta.joint_names), (&b.meta.base, &b.meta.tip, &b.meta.joint_names));
    let (wa, wb) = (a.meta.workspace.unwrap(), b.meta.workspace.unwrap());
    assert_eq!((wa.min, wa.max), (wb.min, wb.max));
    assert_eq!(wa.min, [0.2, -0.9, 0.8]);
    // The builtin robot's `small` is the same box too.
    let small = robots::builtin("nicol-right").unwrap().workspace("small").unwrap().clone();
    assert_eq!((wa.min, wa.max), (small.min, small.max));
}

#[test]
fn config_chains_match_the_builtin_robots_in_the_library() {
    for (chain, builtin) in [("right_arm", "nicol-right"), ("left_arm", "nicol-left")] {
        let config = RobotConfig::load(&fixture("nicol.yaml"), Some(chain)).unwrap();
        let robot = config.robot(None).unwrap();
        let reference = robots::builtin(builtin).unwrap();
        assert_eq!(robot.chain.joint_names(), reference.chain.joint_names());
        let limits = |r: &robots::Robot| r.chain.joints.iter().map(|j| j.limits).collect::<Vec<_>>();
        assert_eq!(limits(&robot), limits(&reference));
        assert_eq!(robot.default_workspace().min, reference.workspace("small").unwrap().min);
        assert_eq!(robot.default_workspace().max, reference.workspace("small").unwrap().max);
        assert_eq!(robot.home.as_ref().unwrap()[0], if chain == "right_arm" { 1.57 } else { -1.57 });
        assert_eq!(config.zero_joints, [3, 4, 5]);
    }
}

#[test]
fn config_limits_override_the_urdf_and_world_means_its_root() {
    let config = RobotConfig::load(&fixture("tiny_arm.yaml"), None).unwrap();
    assert_eq!(config.chain, "arm");
    let robot = config.robot(None).unwrap();
    assert_eq!(robot.chain.base, "base_link");
    assert!(robot.notes.iter().any(|n| n.contains("base 'world' is not a link")), "{:?}", robot.notes);
    let limits: Vec<JointLimits> = robot.chain.joints.iter().map(|j| j.limits).collect();
    assert_eq!(limits[1], JointLimits::new(-0.3, 1.2));
    assert_eq!(robot.home.as_deref(), Some(&[0.0, 0.3, 0.6, 0.4][..]));
    assert_eq!(robot.workspaces.len(), 1);
    assert_eq!(robot.default_workspace().name, "config");
    // Through the command line: a dataset stays inside the config's limits and box.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("tiny.ikd");
    ok(ik(&["dataset", "--config", &tiny(), "--samples", "300", "--seed", "1", "--out", out.to_str().unwrap()]));
    let d = data::read_dataset(&out).unwrap();
    for q in d.joints.chunks(4) {
        for (v, l) in q.iter().zip(&limits) {
            assert!(l.contains(*v), "{q:?}");
        }
    }
    for p in d.poses.chunks(7) {
        assert!(p[0] >= -0.1 && p[0] <= 0.5 && p[2] >= 0.0 && p[2] <= 0.55, "{p:?}");
    }
    // fk warns about values outside the config's limits (inside the URDF's).
    let o = ok(ik(&["fk", "--config", &tiny(), "--joints", "0,-1,0,0"]));
    assert!(stderr(&o).contains("joint2 = -1 is outside its limits [-0.3, 1.2]"), "{}", stderr(&o));
    // A tool offset keeps the config's box.
    let o = ok(ik(&[
        "dataset",
        "--config",
        &tiny(),
        "--tip-offset",
        "0,0,0.02",
        "--samples",
        "50",
        "--out",
        out.to_str().unwrap(),
        "--json",
    ]));
    let summary: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(summary["workspace"], "config");
}

#[test]
fn relative_robot_urdf_is_found_from_the_config_folder_and_urdf_replaces_it() {
    let dir = tempfile::tempdir().unwrap();
    // Another working directory: the URDF is still found next to the YAML file.
    ok(ik_in(dir.path(), &["fk", "--config", &tiny(), "--joints", "0,0,0,0"]));
    // A copy of the config without robot_urdf needs --urdf.
    let text = std::fs::read_to_string(fixture("tiny_arm.yaml")).unwrap().replace("robot_urdf: 'tiny_arm.urdf'", "");
    let bare = dir.path().join("bare.yaml");
    std::fs::write(&bare, text).unwrap();
    let bare = bare.to_str().unwrap();
    let e = one_line_error(&ik(&["fk", "--config", bare, "--joints", "0,0,0,0"]));
    assert!(e.contains("names no robot_urdf (give --urdf)"), "{e}");
    let urdf = fixture("tiny_arm.urdf");
    let with = ok(ik(&["fk", "--config", bare, "--urdf", urdf.to_str().unwrap(), "--joints", "0.1,0.2,0.3,0.4"]));
    let plain = ok(ik(&["fk", "--config", &tiny(), "--joints", "0.1,0.2,0.3,0.4"]));
    assert_eq!(stdout(&with), stdout(&plain));
}

#[test]
fn chain_selection() {
    // One chain: the default.
    ok(ik(&["fk", "--config", &tiny(), "--joints", "0,0,0,0"]));
    ok(ik(&["fk", "--config", &tiny(), "--chain", "arm", "--joints", "0,0,0,0"]));
    // Several: --chain picks, none is a one-line error listing them.
    let e = one_line_error(&ik(&["fk", "--config", &nicol(), "--joints", Q_RIGHT]));
    assert!(e.contains("several chains (right_arm, left_arm)") && e.contains("--chain"), "{e}");
    let e = one_line_error(&ik(&["fk", "--config", &nicol(), "--chain", "torso", "--joints", Q_RIGHT]));
    assert!(e.contains("no chain 'torso'; its chains: right_arm, left_arm"), "{e}");
    // --chain without --config: refused; --config with --robot: clap's refusal (status 2).
    for args in [
        vec!["fk", "--robot", "omx", "--chain", "arm", "--joints", "0,0,0,0"],
        vec!["fk", "--chain", "arm", "--joints", "0"],
    ] {
        let o = ik(&args);
        assert!(!o.status.success());
        assert!(stderr(&o).trim().lines().count() == 1 && stderr(&o).contains("--config"), "{}", stderr(&o));
    }
    let o = ik(&["fk", "--robot", "omx", "--config", &tiny(), "--joints", "0,0,0,0"]);
    assert_eq!(o.status.code(), Some(2));
}

/// The tiny arm's config with `from` replaced by `to`, written into `dir`.
fn mutated(dir: &Path, name: &str, from: &str, to: &str) -> String {
    let text = std::fs::read_to_string(fixture("tiny_arm.yaml")).unwrap();
    assert!(text.contains(from), "{from}");
    let text = text.replace(from, to).replace("'tiny_arm.urdf'", &format!("'{}'", fixture("tiny_arm.urdf").display()));
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

#[test]
fn every_bad_config_is_a_one_line_error() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: Vec<(String, &str)> = vec![
        (mutated(d, "a.yaml", "  robot_dof: 4", "  robot_dof: 4\n  limits: [broken"), "not valid YAML"),
        (mutated(d, "b.yaml", "robot_dof: 4", "robot_dof: 3"), "joint_name has 4 names for robot_dof 3"),
        (
            mutated(
                d,
                "c.yaml",
                "[\"joint1\", \"joint2\", \"joint3\", \"joint4\"]",
                "[\"joint1\", \"joint2\", \"joint3\"]",
            ),
            "joint_name has 3 names",
        ),
        (
            mutated(d, "c2.yaml", "robot_eef: 'tool0'\n  robot_dof: 4", "robot_eef: 'link3'\n  robot_dof: 4"),
            "robot_dof is 4 but the chain base_link → link3",
        ),
        (
            mutated(
                d,
                "d.yaml",
                "[\"joint1\", \"joint2\", \"joint3\", \"joint4\"]",
                "[\"joint2\", \"joint1\", \"joint3\", \"joint4\"]",
            ),
            "differs from the joints",
        ),
        (
            mutated(d, "e.yaml", "lower: [-1.5, -0.3, -1.5, -1.5]", "lower: [-1.5, 1.3, -1.5, -1.5]"),
            "lower 1.3 is not below upper 1.2",
        ),
        (
            mutated(d, "f.yaml", "lower: [-1.5, -0.3, -1.5, -1.5]", "lower: [-1.5, -0.3, -1.5]"),
            "limits have 3 lower and 4 upper",
        ),
        (
            mutated(d, "g.yaml", "lower: [-0.1, -0.45, 0.0]", "lower: [0.6, -0.45, 0.0]"),
            "workspace lower 0.6 is not below upper 0.5 along x",
        ),
        (mutated(d, "h.yaml", "home_js: [0.0, 0.3, 0.6, 0.4]", "home_js: [0.0, -0.5, 0.6, 0.4]"), "home_js[1] = -0.5"),
        (mutated(d, "i.yaml", "home_js: [0.0, 0.3, 0.6, 0.4]", "home_js: [0.0, 0.3]"), "home_js has 2 values"),
        (mutated(d, "j.yaml", "robot_dof: 4", "robot_dof: four"), "robot_dof"),
        (mutated(d, "k.yaml", "base_link: 'world'", "base_link: 'shoulder'"), "unknown base link 'shoulder'"),
        (mutated(d, "l.yaml", "robot_eef: 'tool0'", "robot_eef: 'gripper'"), "gripper"),
        (mutated(d, "m.yaml", "'tiny_arm.urdf'", "'/no/such.urdf'"), "such.urdf"),
        (mutated(d, "n.yaml", "\"ReLU\"", "\"Swish\""), "activation 'Swish'"),
        (mutated(d, "o.yaml", "zero_joints_goal: [0]", "zero_joints_goal: [7]"), "zero_joints_goal"),
        (mutated(d, "p.yaml", "arm:", "- arm:"), "mapping of chain keys"),
        (mutated(d, "q.yaml", "  robot_eef: 'tool0'\n", ""), "missing field `robot_eef`"),
    ];
    for (path, expected) in &cases {
        let e = one_line_error(&ik(&["fk", "--config", path, "--joints", "0,0.3,0.6,0.4"]));
        assert!(e.contains(expected), "{path}: expected '{expected}' in: {e}");
        assert!(e.contains("robot config"), "{e}");
    }
    // Not a file, absent, empty.
    for path in [d.to_str().unwrap(), "/no/such.yaml"] {
        one_line_error(&ik(&["fk", "--config", path, "--joints", "0"]));
    }
    let empty = d.join("empty.yaml");
    std::fs::write(&empty, "").unwrap();
    one_line_error(&ik(&["fk", "--config", empty.to_str().unwrap(), "--joints", "0"]));
    // Every command that takes a robot says the same.
    let bad = &cases[1].0;
    let data_file = d.join("x.ikd");
    for args in [
        vec!["dataset", "--config", bad, "--samples", "10", "--out", data_file.to_str().unwrap()],
        vec!["solve", "--config", bad, "--pose", "0.3,0,0.3,0,0,0,1"],
        vec![
            "import-torch",
            "--config",
            bad,
            "--model",
            "cycleik-mlp",
            "--weights",
            "/no/such.pth",
            "--out",
            "/tmp/never",
        ],
    ] {
        let e = one_line_error(&ik(&args));
        assert!(e.contains("joint_name has 4 names for robot_dof 3"), "{args:?}: {e}");
    }
}

#[test]
fn train_takes_the_network_and_loss_from_the_config_and_options_win() {
    let dir = tempfile::tempdir().unwrap();
    let data_file = dir.path().join("tiny.ikd");
    let data_path = data_file.to_str().unwrap();
    ok(ik(&["dataset", "--config", &tiny(), "--samples", "400", "--seed", "2", "--out", data_path]));
    let config_file = tiny();
    let train = |out: &Path, model: &str, extra: &[&str]| {
        let mut args = vec![
            "train",
            "--config",
            &config_file,
            "--model",
            model,
            "--data",
            data_path,
            "--epochs",
            "1",
            "--max-steps-per-epoch",
            "2",
            "--json",
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend(extra);
        ok(ik(&args))
    };
    // cycleik-mlp: IKNet's layers, nbr_tanh, activation, batch, lr, weights; zero_joints_goal; the box.
    let mlp = dir.path().join("mlp");
    let o = train(&mlp, "cycleik-mlp", &[]);
    assert!(stderr(&o).contains("note: config: the GAN section is not used for cycleik-mlp"), "{}", stderr(&o));
    let card = read_checkpoint_card(&mlp).unwrap();
    let Architecture::CycleIk(c) = &card.architecture else { panic!("{:?}", card.architecture) };
    assert_eq!((c.hidden.as_slice(), c.n_tanh, c.hidden_activation()), (&[48, 32][..], 2, HiddenActivation::Relu));
    let history = ik_studio::train::read_history(&mlp).unwrap();
    let cfg = &history.config;
    assert_eq!((cfg.batch_size, cfg.learning_rate), (64, 0.0005));
    assert_eq!((cfg.loss.position_weight, cfg.loss.rotation_weight, cfg.loss.zero_weight), (5.0, 1.0, 0.5));
    assert_eq!(cfg.loss.zero_joints, [0]);
    let ws = cfg.workspace.as_ref().unwrap();
    assert_eq!((ws.min, ws.max), ([-0.1, -0.45, 0.0], [0.5, 0.45, 0.55]));

    // cycleik-gan: the GAN section (keys straight in the section), noise size.
    let gan = dir.path().join("gan");
    train(&gan, "cycleik-gan", &[]);
    let card = read_checkpoint_card(&gan).unwrap();
    let Architecture::CycleIk(c) = &card.architecture else { panic!() };
    assert_eq!((c.hidden.as_slice(), c.n_tanh, c.noise_dim), (&[40, 24][..], 1, 3));
    assert_eq!(c.hidden_activation(), HiddenActivation::LeakyRelu);
    let history = ik_studio::train::read_history(&gan).unwrap();
    assert_eq!((history.config.batch_size, history.config.loss.position_weight), (32, 50.0));

    // Explicit options win: --preset keeps the preset's network, --lr and --position-weight theirs.
    let explicit = dir.path().join("explicit");
    let o = train(&explicit, "cycleik-mlp", &["--preset", "compact", "--lr", "0.002", "--position-weight", "7"]);
    assert!(stderr(&o).contains("--preset compact given"), "{}", stderr(&o));
    let card = read_checkpoint_card(&explicit).unwrap();
    let Architecture::CycleIk(c) = &card.architecture else { panic!() };
    assert_eq!(c.hidden, [512, 512, 512, 256]);
    let history = ik_studio::train::read_history(&explicit).unwrap();
    assert_eq!((history.config.learning_rate, history.config.loss.position_weight), (0.002, 7.0));
    assert_eq!(history.config.loss.rotation_weight, 1.0);
}

#[test]
fn eval_takes_a_config_robot() {
    let dir = tempfile::tempdir().unwrap();
    let data_file = dir.path().join("tiny.ikd");
    let data_path = data_file.to_str().unwrap();
    ok(ik(&["dataset", "--config", &tiny(), "--samples", "300", "--seed", "3", "--out", data_path]));
    // Without a robot option the dataset's robot must be built in: the config names it.
    let e = one_line_error(&ik(&["eval", "--data", data_path, "--solver", "numeric", "--limit", "3"]));
    assert!(e.contains("--config"), "{e}");
    let o =
        ok(ik(&["eval", "--config", &tiny(), "--data", data_path, "--solver", "numeric", "--limit", "3", "--json"]));
    let report: serde_json::Value = serde_json::from_str(stdout(&o).lines().next().unwrap()).unwrap();
    assert!(report.is_object());
}

#[test]
fn import_torch_takes_the_box_and_the_network_section_from_the_config() {
    let dir = tempfile::tempdir().unwrap();
    let weights = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/torch/cycleik-mlp.pth");
    let weights = weights.to_str().unwrap();
    let out = dir.path().join("mlp");
    let out_s = out.to_str().unwrap();
    let config = nicol();
    let base =
        ["import-torch", "--config", &config, "--chain", "right_arm", "--model", "cycleik-mlp", "--weights", weights];
    // The config's IKNet: nbr_tanh 1, GELU; its Small box.
    let mut args = base.to_vec();
    args.extend(["--out", out_s]);
    ok(ik(&args));
    let card = read_checkpoint_card(&out).unwrap();
    let Architecture::CycleIk(c) = &card.architecture else { panic!() };
    assert_eq!((c.n_tanh, c.hidden_activation()), (1, HiddenActivation::Gelu));
    let text = serde_json::to_string(&card.io).unwrap();
    assert!(text.contains("0.85") && text.contains("-0.9"), "{text}");
    // Options win.
    let out2 = dir.path().join("mlp2");
    let mut args = base.to_vec();
    args.extend(["--out", out2.to_str().unwrap(), "--n-tanh", "2", "--activation", "relu"]);
    ok(ik(&args));
    let card = read_checkpoint_card(&out2).unwrap();
    let Architecture::CycleIk(c) = &card.architecture else { panic!() };
    assert_eq!((c.n_tanh, c.hidden_activation()), (2, HiddenActivation::Relu));
}

// ---------------------------------------------------------------------------
// The parser never panics

fn valid_text() -> String {
    std::fs::read_to_string(fixture("tiny_arm.yaml")).unwrap()
}

/// Checks one text: parse and, when it parses, build the robot; either may
/// fail, neither may panic; errors are one line.
fn check_text(text: &str) {
    let dir = fixture("");
    for chain in [None, Some("arm")] {
        match RobotConfig::parse(text, &dir, chain) {
            Ok(config) => {
                if let Err(e) = config.robot(None) {
                    assert!(!e.to_string().contains('\n'), "{e}");
                }
            }
            Err(e) => assert!(!e.contains('\n'), "{e}"),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 192, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "[ -~\n\t]{0,300}") {
        check_text(&text);
    }

    #[test]
    fn yaml_shaped_text_never_panics(text in "([a-z_]{1,8}: ?(\\[[-0-9., a-z]{0,20}\\]|[-0-9.a-z'\"]{0,8}|\\{[a-z:, 0-9]{0,12}\\})?\n {0,4}){0,12}") {
        check_text(&text);
    }

    #[test]
    fn mutated_configs_never_panic(
        edits in proptest::collection::vec((0usize..2000, 0usize..12, "[ -~\n]{0,6}"), 1..4)
    ) {
        let mut text = valid_text();
        for (at, cut, insert) in edits {
            let mut at = at % (text.len() + 1);
            while !text.is_char_boundary(at) { at -= 1; }
            let mut end = (at + cut).min(text.len());
            while !text.is_char_boundary(end) { end -= 1; }
            text.replace_range(at..end, &insert);
        }
        check_text(&text);
    }

    #[test]
    fn mutated_numbers_never_panic(
        field in 0usize..8,
        value in prop_oneof![
            Just("-1e309".to_string()), Just(".nan".to_string()), Just(".inf".to_string()),
            Just("18446744073709551616".to_string()), Just("-3".to_string()), Just("0".to_string()),
            Just("~".to_string()), Just("[]".to_string()), Just("{}".to_string()), Just("1e300".to_string()),
            "-?[0-9]{1,25}(\\.[0-9]{0,4})?",
        ]
    ) {
        let targets = [
            "robot_dof: 4", "upper: [1.5, 1.2, 1.5, 1.5]", "home_js: [0.0, 0.3, 0.6, 0.4]",
            "zero_joints_goal: [0]", "noise_vector_size: 3", "layers: [48, 32]", "nbr_tanh: 2", "batch_size: 64",
        ];
        let target = targets[field];
        let key = target.split(':').next().unwrap();
        let text = valid_text().replacen(target, &format!("{key}: {value}"), 1);
        check_text(&text);
        let listed = valid_text().replacen(target, &format!("{key}: [{value}, {value}]"), 1);
        check_text(&listed);
    }
}
