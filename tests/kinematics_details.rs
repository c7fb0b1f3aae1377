//! Issue 12's kinematics details: a tool offset (`--tip-offset`), MoveIt's
//! virtual `world` base, mimic joints, the start configuration of a URDF robot
//! and a dataset summary whose counts add up. Fixtures are written by the tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use ik_studio::data::{self, SampleConfig, sample_dataset};
use ik_studio::kinematics::{Chain, KinematicTree, KinematicsError, ToolOffset};
use ik_studio::models::ChainCard;
use ik_studio::robots;
use ik_studio::solvers::{GoalMask, NumericSolver, SolveRequest, Solver};
use nalgebra::{Isometry3, Matrix6xX};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A 7-joint arm: j0 (before the first movable joint) mimics j1, j3 mimics
/// j2, j6 (after the last movable joint) mimics j3 — a mimic of a mimic.
/// With `mimic == false` the same arm has no `<mimic>` tags: 7 independent joints.
fn arm(mimic: bool) -> String {
    let tag = |text: &str| if mimic { text.to_string() } else { String::new() };
    format!(
        r#"<robot name="mimic_arm">
  <link name="base"/><link name="l0"/><link name="l1"/><link name="l2"/><link name="l3"/>
  <link name="l4"/><link name="l5"/><link name="l6"/><link name="tool"/>
  <joint name="j0" type="revolute"><parent link="base"/><child link="l0"/>
    <origin xyz="0 0 0.05"/><axis xyz="1 0 0"/><limit lower="-3" upper="3" effort="1" velocity="1"/>
    {}</joint>
  <joint name="j1" type="revolute"><parent link="l0"/><child link="l1"/>
    <origin xyz="0 0 0.1" rpy="0 0 0.2"/><axis xyz="0 0 1"/><limit lower="-2" upper="2" effort="1" velocity="1"/></joint>
  <joint name="j2" type="revolute"><parent link="l1"/><child link="l2"/>
    <origin xyz="0.2 0 0.05"/><axis xyz="0 1 0"/><limit lower="0.2" upper="1.5" effort="1" velocity="1"/></joint>
  <joint name="j3" type="revolute"><parent link="l2"/><child link="l3"/>
    <origin xyz="0.25 0 0" rpy="0.1 0 0"/><axis xyz="0 1 0"/><limit lower="-3" upper="3" effort="1" velocity="1"/>
    {}</joint>
  <joint name="j4" type="prismatic"><parent link="l3"/><child link="l4"/>
    <origin xyz="0 0 0.02"/><axis xyz="1 0 0"/><limit lower="-0.05" upper="0.1" effort="1" velocity="1"/></joint>
  <joint name="j5" type="revolute"><parent link="l4"/><child link="l5"/>
    <origin xyz="0.1 0 0"/><axis xyz="1 0 0"/><limit lower="-3" upper="3" effort="1" velocity="1"/></joint>
  <joint name="j6" type="revolute"><parent link="l5"/><child link="l6"/>
    <origin xyz="0.05 0.01 0"/><axis xyz="0 0 1"/><limit lower="-3" upper="3" effort="1" velocity="1"/>
    {}</joint>
  <joint name="mount" type="fixed"><parent link="l6"/><child link="tool"/><origin xyz="0.05 0 0"/></joint>
</robot>"#,
        tag(r#"<mimic joint="j1" multiplier="0.3"/>"#),
        tag(r#"<mimic joint="j2" multiplier="-0.5" offset="0.1"/>"#),
        tag(r#"<mimic joint="j3" multiplier="2" offset="-0.2"/>"#),
    )
}

/// The 7 joint values of the arm without mimic tags for the 4 values of the one with them.
fn expand(q: &[f64]) -> Vec<f64> {
    let j3 = -0.5 * q[1] + 0.1;
    vec![0.3 * q[0], q[0], q[1], j3, q[2], q[3], 2.0 * j3 - 0.2]
}

/// The same tool point as a link: a fixed joint `tool → tcp`.
fn arm_with_tcp(tool: &ToolOffset) -> String {
    let [x, y, z] = tool.xyz;
    let [r, p, w] = tool.rpy;
    arm(false).replace(
        "</robot>",
        &format!(
            r#"<link name="tcp"/><joint name="tcp_mount" type="fixed"><parent link="tool"/><child link="tcp"/>
    <origin xyz="{x} {y} {z}" rpy="{r} {p} {w}"/></joint></robot>"#
        ),
    )
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn chain(text: &str, base: &str, tip: &str) -> Chain {
    Chain::from_tree(&KinematicTree::from_urdf_str(text).unwrap(), base, tip).unwrap()
}

fn random_q(chain: &Chain, rng: &mut ChaCha8Rng) -> Vec<f64> {
    chain.joints.iter().map(|j| rng.random_range(j.limits.lower..=j.limits.upper)).collect()
}

fn same_pose(a: &Isometry3<f64>, b: &Isometry3<f64>, tol: f64) -> bool {
    (a.translation.vector - b.translation.vector).norm() < tol && a.rotation.angle_to(&b.rotation) < tol
}

/// Central differences of the tip pose: linear velocity, then angular velocity (base frame).
fn numeric_jacobian(chain: &Chain, q: &[f64]) -> Matrix6xX<f64> {
    let h = 1e-6;
    let mut jac = Matrix6xX::zeros(q.len());
    for i in 0..q.len() {
        let (mut up, mut down) = (q.to_vec(), q.to_vec());
        up[i] += h;
        down[i] -= h;
        let (a, b) = (chain.fk(&up).unwrap(), chain.fk(&down).unwrap());
        let linear = (a.translation.vector - b.translation.vector) / (2.0 * h);
        let angular = (a.rotation * b.rotation.inverse()).scaled_axis() / (2.0 * h);
        jac.fixed_view_mut::<3, 1>(0, i).copy_from(&linear);
        jac.fixed_view_mut::<3, 1>(3, i).copy_from(&angular);
    }
    jac
}

const TOOL: ToolOffset = ToolOffset { xyz: [0.1, -0.02, 0.03], rpy: [0.2, -0.1, 0.3] };

#[test]
fn mimic_joints_follow_their_masters_and_take_no_entry() {
    let mimic = chain(&arm(true), "base", "tool");
    let free = chain(&arm(false), "base", "tool");
    assert_eq!(mimic.joint_names(), ["j1", "j2", "j4", "j5"]);
    let names: Vec<&str> = mimic.mimics.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names, ["j0", "j3", "j6"]);
    // j6 follows j3, which follows j2: composed to 2 · (−0.5 · j2 + 0.1) − 0.2.
    let j6 = &mimic.mimics[2];
    assert_eq!((mimic.joints[j6.master].name.as_str(), j6.multiplier, j6.offset), ("j2", -1.0, 0.0));
    assert!(mimic.check_dof(&[0.0; 7]).is_err());

    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for _ in 0..50 {
        let q = random_q(&mimic, &mut rng);
        let full = expand(&q);
        // FK against the same arm with every joint free, set by hand.
        assert!(same_pose(&mimic.fk(&q).unwrap(), &free.fk(&full).unwrap(), 1e-12));
        for (a, b) in mimic.link_frames(&q).unwrap().iter().zip(free.link_frames(&full).unwrap()) {
            assert!(same_pose(a, &b, 1e-12));
        }
        // The Jacobian: the master's column carries its mimics' motion × multiplier.
        let jac = mimic.jacobian(&q).unwrap();
        let diff = (&jac - numeric_jacobian(&mimic, &q)).abs().max();
        assert!(diff < 1e-7, "Jacobian off by {diff}");
    }
}

#[test]
fn the_tree_sets_mimic_joints_like_the_chain() {
    let tree = KinematicTree::from_urdf_str(&arm(true)).unwrap();
    let chain = Chain::from_tree(&tree, "base", "tool").unwrap();
    let q = [0.4, 0.9, 0.05, -1.0];
    let mut values = vec![0.0; tree.joints.len()];
    for (j, v) in chain.joints.iter().zip(q) {
        values[tree.joint_index(&j.name).unwrap()] = v;
    }
    tree.apply_mimics(&mut values);
    let poses = tree.link_poses(&values).unwrap();
    for (link, frame) in chain.links.iter().zip(chain.link_frames(&q).unwrap()) {
        assert!(same_pose(&poses[tree.link_index(&link.name).unwrap()], &frame, 1e-12), "{}", link.name);
    }
}

#[test]
fn numeric_ik_solves_a_chain_with_mimic_joints() {
    let chain = chain(&arm(true), "base", "tool");
    let solver = NumericSolver::new(chain.clone());
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut solved = 0;
    for _ in 0..20 {
        let target = chain.fk(&random_q(&chain, &mut rng)).unwrap();
        let req =
            SolveRequest { mask: GoalMask::Position, budget: Duration::from_millis(200), ..SolveRequest::new(target) };
        let best = solver.solve(&req).best().cloned().unwrap();
        let reached = chain.fk(&best.joints).unwrap();
        solved += ((reached.translation.vector - target.translation.vector).norm() < 1e-4) as usize;
    }
    assert!(solved >= 19, "solved {solved}/20");
}

#[test]
fn mimic_cycles_and_masters_outside_the_chain() {
    let cycle = arm(true).replace(r#"<origin xyz="0.2 0 0.05"/>"#, r#"<origin xyz="0.2 0 0.05"/><mimic joint="j3"/>"#);
    let err = Chain::from_tree(&KinematicTree::from_urdf_str(&cycle).unwrap(), "base", "tool").unwrap_err();
    assert!(matches!(err, KinematicsError::MimicCycle(_)), "{err}");
    // A sub-chain without j2: j3 has nothing in the chain to follow and stays free.
    let sub = chain(&arm(true), "l2", "tool");
    assert_eq!(sub.joint_names(), ["j3", "j4", "j5"]);
    assert_eq!(sub.mimics.len(), 1);
    // Bad mimic numbers are refused like any bad URDF number.
    let bad = arm(true).replace(r#"multiplier="2""#, r#"multiplier="nan""#);
    assert!(KinematicTree::from_urdf_str(&bad).is_err());
}

#[test]
fn loading_a_mimic_chain_notes_each_mimic_and_training_refuses_it() {
    let dir = tempfile::tempdir().unwrap();
    let robot = robots::from_urdf_file(&write(dir.path(), "m.urdf", &arm(true)), "base", "tool").unwrap();
    assert_eq!(robot.notes.len(), 3);
    assert!(robot.notes[1].contains("'j3'") && robot.notes[1].contains("j2"), "{}", robot.notes[1]);
    assert!(ik_studio::train::check_trainable(&robot.chain).is_err());
    let plain = robots::from_urdf_file(&write(dir.path(), "p.urdf", &arm(false)), "base", "tool").unwrap();
    assert!(plain.notes.is_empty());
    assert!(ik_studio::train::check_trainable(&plain.chain).is_ok());
}

#[test]
fn tool_offset_equals_an_extra_fixed_joint() {
    let tooled = chain(&arm(false), "base", "tool").with_tool(Some(TOOL));
    let linked = chain(&arm_with_tcp(&TOOL), "base", "tcp");
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    for _ in 0..50 {
        let q = random_q(&tooled, &mut rng);
        assert!(same_pose(&tooled.fk(&q).unwrap(), &linked.fk(&q).unwrap(), 1e-12));
        let diff = (tooled.jacobian(&q).unwrap() - linked.jacobian(&q).unwrap()).abs().max();
        assert!(diff < 1e-12, "Jacobian off by {diff}");
    }
    // The tip link's frame itself is unchanged, and removing the tool restores the chain.
    let q = vec![0.1; 7];
    let plain = chain(&arm(false), "base", "tool");
    assert!(same_pose(tooled.link_frames(&q).unwrap().last().unwrap(), &plain.fk(&q).unwrap(), 1e-12));
    assert!(same_pose(&tooled.clone().with_tool(None).fk(&q).unwrap(), &plain.fk(&q).unwrap(), 1e-15));
    // With mimic joints too.
    let mimic = chain(&arm(true), "base", "tool").with_tool(Some(TOOL));
    let q = [0.3, 0.7, 0.02, -0.4];
    assert!(same_pose(&mimic.fk(&q).unwrap(), &linked.fk(&expand(&q)).unwrap(), 1e-12));
}

#[test]
fn numeric_ik_reaches_the_tool_point() {
    let chain = chain(&arm(false), "base", "tool").with_tool(Some(TOOL));
    let solver = NumericSolver::new(chain.clone());
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    for _ in 0..10 {
        let target = chain.fk(&random_q(&chain, &mut rng)).unwrap();
        let req = SolveRequest { budget: Duration::from_millis(300), ..SolveRequest::new(target) };
        let best = solver.solve(&req).best().cloned().unwrap();
        assert!(same_pose(&chain.fk(&best.joints).unwrap(), &target, 1e-3));
    }
}

#[test]
fn tool_offsets_are_parsed_and_checked() {
    assert_eq!(ToolOffset::parse("0.1, 0, -0.2").unwrap(), ToolOffset { xyz: [0.1, 0.0, -0.2], rpy: [0.0; 3] });
    assert_eq!(ToolOffset::parse("0,0,0.1,0,1.5,0").unwrap().rpy, [0.0, 1.5, 0.0]);
    for bad in ["1,2", "1,2,3,4", "a,b,c", "nan,0,0", "0,inf,0", "11,0,0", "0,0,0,7,0,0", ""] {
        let e = ToolOffset::parse(bad).unwrap_err();
        assert!(!e.contains('\n') && e.contains("tip offset"), "{bad}: {e}");
    }
}

#[test]
fn datasets_and_cards_record_the_tool_offset() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "arm.urdf", &arm(false));
    let plain = robots::from_urdf_file(&path, "base", "tool").unwrap();
    let tooled = plain.clone().with_tool(Some(TOOL)).unwrap();
    let workspace = tooled.default_workspace().clone();
    let (dataset, _) = sample_dataset(&tooled, &workspace, &SampleConfig::new(200, 1), &|_| {}).unwrap();
    for i in 0..dataset.len() {
        let q = &dataset.joints[i * 7..(i + 1) * 7];
        let p = tooled.chain.fk(q).unwrap().translation.vector;
        assert!((p - nalgebra::Vector3::from_column_slice(&dataset.poses[i * 7..i * 7 + 3])).norm() < 1e-12);
    }
    assert_eq!(dataset.meta.tip_offset, Some(TOOL));
    assert!(dataset.meta.check_robot(&tooled).is_ok());
    let err = dataset.meta.check_robot(&plain).unwrap_err().to_string();
    assert!(err.contains("tip offset"), "{err}");
    // Written and read back; a header from before tip offsets (no such key) still reads.
    let file = dir.path().join("d.ikd");
    data::write_dataset(&dataset, &file).unwrap();
    assert_eq!(data::read_meta(&file).unwrap().tip_offset, Some(TOOL));
    let mut old = serde_json::to_value(&dataset.meta).unwrap();
    old.as_object_mut().unwrap().remove("tip_offset");
    let old: data::DatasetMeta = serde_json::from_value(old).unwrap();
    assert_eq!(old.tip_offset, None);
    assert!(old.check_robot(&plain).is_ok());
    // A header with an absurd offset is damaged.
    let mut wild = dataset.meta.clone();
    wild.tip_offset = Some(ToolOffset { xyz: [1e9, 0.0, 0.0], rpy: [0.0; 3] });
    assert!(wild.problem().is_some());

    // The checkpoint card: records the offset, refuses the chain without it.
    let card = ChainCard::of(&tooled.chain);
    assert_eq!(card.tip_offset, Some(TOOL));
    assert!(card.check("arm", &tooled.chain).is_ok());
    assert!(card.check("arm", &plain.chain).is_err());
    assert!(ChainCard::of(&plain.chain).check("arm", &tooled.chain).is_err());
    let mut old = serde_json::to_value(ChainCard::of(&plain.chain)).unwrap();
    assert!(old.get("tip_offset").is_none());
    old.as_object_mut().unwrap().remove("tip_offset");
    assert!(serde_json::from_value::<ChainCard>(old).unwrap().check("arm", &plain.chain).is_ok());
}

#[test]
fn collision_checks_the_links_not_the_tool_point() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "arm.urdf", &arm(false));
    let plain = robots::from_urdf_file(&path, "base", "tool").unwrap();
    let tooled = plain.clone().with_tool(Some(TOOL)).unwrap();
    let q = [0.1, 0.2, 0.5, 0.3, 0.02, 0.4, -0.3];
    let (mut a, mut b) = (plain.collision.scratch(), tooled.collision.scratch());
    plain.collision.place(&plain.chain, &q, &mut a);
    let tip = tooled.collision.place(&tooled.chain, &q, &mut b);
    assert!(same_pose(&tip, &tooled.chain.fk(&q).unwrap(), 1e-12), "place returns the tool pose");
    let capsules = |m: &ik_studio::kinematics::CollisionModel, s: &ik_studio::kinematics::CollisionScratch| {
        m.capsules(s).collect::<Vec<_>>()
    };
    assert_eq!(capsules(&plain.collision, &a), capsules(&tooled.collision, &b));
}

#[test]
fn virtual_world_base_is_the_root_and_unknown_bases_list_candidates() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "arm.urdf", &arm(false));
    let world = robots::from_urdf_file(&path, "world", "tool").unwrap();
    let base = robots::from_urdf_file(&path, "base", "tool").unwrap();
    assert_eq!(world.chain.base, "base");
    assert_eq!(world.notes.len(), 1);
    assert!(world.notes[0].contains("'world'") && world.notes[0].contains("'base'"), "{}", world.notes[0]);
    let q = vec![0.2; 7];
    assert!(same_pose(&world.chain.fk(&q).unwrap(), &base.chain.fk(&q).unwrap(), 1e-15));

    let err = robots::from_urdf_file(&path, "nowhere", "l2").unwrap_err().to_string();
    assert!(err.contains("'nowhere'") && err.contains("l1, l0, base") && !err.contains('\n'), "{err}");
    // A URDF that has a `world` link uses it as it is.
    let nicol = robots::builtin("nicol-right").unwrap();
    assert_eq!(nicol.chain.base, "world");
    assert!(nicol.notes.is_empty());
}

#[test]
fn a_urdf_robot_starts_at_zero_clamped_into_its_limits() {
    let dir = tempfile::tempdir().unwrap();
    let robot = robots::from_urdf_file(&write(dir.path(), "arm.urdf", &arm(true)), "base", "tool").unwrap();
    // j2's range is [0.2, 1.5].
    assert_eq!(robot.home, Some(vec![0.0, 0.2, 0.0, 0.0]));
    assert!(robots::builtin("omx").unwrap().home.is_none());
}

#[test]
fn sampling_report_counts_add_up() {
    for (name, floor) in [("omx", Some(0.05)), ("nicol-right", None)] {
        let mut robot = robots::builtin(name).unwrap();
        if let Some(z) = floor {
            robot.collision = robot.collision.with_floor(&robot.chain, z);
        }
        let workspace = robot.default_workspace().clone();
        let (_, r) = sample_dataset(&robot, &workspace, &SampleConfig::new(3000, 2), &|_| {}).unwrap();
        assert_eq!(r.candidates, r.passed + r.outside_workspace + r.in_collision, "{name}");
        assert_eq!(r.in_collision, r.self_collision + r.table_collision + r.floor_collision, "{name}");
        assert_eq!(r.passed, r.accepted as u64 + r.surplus, "{name}");
        assert!(r.in_collision > 0 && r.surplus > 0, "{name}: {r:?}");
        assert!((r.acceptance_rate() - r.passed as f64 / r.candidates as f64).abs() < 1e-15);
    }
}

// ---- the command line ----

fn ik(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ik-studio")).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The error of a failed run: one line, after any notes about the robot.
fn one_line_error(o: &Output) -> String {
    assert!(!o.status.success());
    let text = stderr(o);
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with("note: ")).collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(lines[0].starts_with("error: "), "{text}");
    lines[0].to_string()
}

#[test]
fn cli_tip_offset_matches_the_linked_tool_and_refuses_bad_values() {
    let dir = tempfile::tempdir().unwrap();
    let plain = write(dir.path(), "arm.urdf", &arm(false));
    let linked = write(dir.path(), "tcp.urdf", &arm_with_tcp(&TOOL));
    let (plain, linked) = (plain.to_str().unwrap(), linked.to_str().unwrap());
    let q = "0.1,0.5,0.7,-0.2,0.03,0.4,1.0";
    let with_offset = ik(&[
        "fk",
        "--urdf",
        plain,
        "--base",
        "base",
        "--tip",
        "tool",
        "--tip-offset",
        "0.1,-0.02,0.03,0.2,-0.1,0.3",
        "--joints",
        q,
    ]);
    assert!(with_offset.status.success(), "{}", stderr(&with_offset));
    let reference = ik(&["fk", "--urdf", linked, "--base", "base", "--tip", "tcp", "--joints", q]);
    assert_eq!(stdout(&with_offset), stdout(&reference));
    let without = ik(&["fk", "--urdf", plain, "--base", "base", "--tip", "tool", "--joints", q]);
    assert_ne!(stdout(&with_offset), stdout(&without));

    for bad in ["1,2", "nan,0,0", "20,0,0", "0,0,0,9,0,0", "x,y,z"] {
        let o = ik(&["fk", "--urdf", plain, "--base", "base", "--tip", "tool", "--tip-offset", bad, "--joints", q]);
        let text = one_line_error(&o);
        assert!(text.contains("tip offset"), "{bad}: {text}");
    }
}

#[test]
fn cli_dataset_records_the_tool_and_its_summary_adds_up() {
    let dir = tempfile::tempdir().unwrap();
    let urdf = write(dir.path(), "arm.urdf", &arm(false));
    let out = dir.path().join("d.ikd");
    let o = ik(&[
        "dataset",
        "--urdf",
        urdf.to_str().unwrap(),
        "--base",
        "base",
        "--tip",
        "tool",
        "--tip-offset",
        "0,0,0.1",
        "--samples",
        "500",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = ik(&["dataset", "info", out.to_str().unwrap(), "--header-only", "--json"]);
    let meta: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(meta["tip_offset"]["xyz"], serde_json::json!([0.0, 0.0, 0.1]));

    // NICOL rejects samples for every reason; text shares add up to 100.0 %.
    let o = ik(&["dataset", "--robot", "nicol-right", "--samples", "2000", "--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    let line = text.lines().find(|l| l.trim_start().starts_with("candidates")).expect("a candidates line");
    let shares: Vec<f64> = line
        .split(" %")
        .filter_map(|part| part.rsplit('(').next().and_then(|v| v.trim().parse::<f64>().ok()))
        .collect();
    assert_eq!(shares.len(), 3, "{line}");
    assert!((shares.iter().sum::<f64>() - 100.0).abs() < 1e-9, "{line}");

    let o = ik(&["dataset", "--robot", "nicol-right", "--samples", "2000", "--out", out.to_str().unwrap(), "--json"]);
    let s: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let n = |k: &str| s[k].as_u64().unwrap_or_else(|| panic!("{k} in {s}"));
    assert_eq!(n("candidates"), n("accepted") + n("outside_workspace") + n("in_collision"));
    assert_eq!(n("in_collision"), n("self_collision") + n("table_collision") + n("floor_collision"));
    assert_eq!(n("accepted"), n("count") + n("surplus"));
    assert!(n("self_collision") > 0 && n("table_collision") > 0, "{s}");
}

#[test]
fn cli_world_base_is_noted_and_unknown_bases_are_one_line_errors() {
    let dir = tempfile::tempdir().unwrap();
    let urdf = write(dir.path(), "arm.urdf", &arm(false));
    let urdf = urdf.to_str().unwrap();
    let q = "0.1,0.5,0.7,-0.2,0.03,0.4,1.0";
    let world = ik(&["fk", "--urdf", urdf, "--base", "world", "--tip", "tool", "--joints", q]);
    assert!(world.status.success(), "{}", stderr(&world));
    assert!(stderr(&world).starts_with("note: base 'world'"), "{}", stderr(&world));
    let base = ik(&["fk", "--urdf", urdf, "--base", "base", "--tip", "tool", "--joints", q]);
    assert_eq!(stdout(&world), stdout(&base));
    let text = one_line_error(&ik(&["fk", "--urdf", urdf, "--base", "wrld", "--tip", "tool", "--joints", q]));
    assert!(text.contains("'wrld'") && text.contains("base"), "{text}");
}

#[test]
fn cli_mimic_chain_is_noted_solved_by_fk_and_refused_by_training() {
    let dir = tempfile::tempdir().unwrap();
    let urdf = write(dir.path(), "arm.urdf", &arm(true));
    let urdf = urdf.to_str().unwrap();
    let o = ik(&["fk", "--urdf", urdf, "--base", "base", "--tip", "tool", "--joints", "0.1,0.5,0.03,0.4"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stderr(&o).lines().filter(|l| l.starts_with("note: joint")).count(), 3, "{}", stderr(&o));
    let text = one_line_error(&ik(&[
        "train",
        "--urdf",
        urdf,
        "--base",
        "base",
        "--tip",
        "tool",
        "--model",
        "cycleik-mlp",
        "--data",
        "/nonexistent.ikd",
        "--epochs",
        "1",
        "--out",
        dir.path().join("c").to_str().unwrap(),
    ]));
    assert!(text.contains("mimic joint 'j0'"), "{text}");
}

#[test]
fn cli_a_checkpoint_trained_with_a_tool_offset_needs_the_same_offset() {
    let dir = tempfile::tempdir().unwrap();
    let (data, ckpt) = (dir.path().join("omx.ikd"), dir.path().join("ckpt"));
    let (data, ckpt) = (data.to_str().unwrap(), ckpt.to_str().unwrap());
    let tool = ["--robot", "omx", "--tip-offset", "0.05,0,0.01"];
    let o = ik(&[&["dataset"][..], &tool, &["--samples", "400", "--out", data]].concat());
    assert!(o.status.success(), "{}", stderr(&o));
    let train = |robot: &[&str]| {
        let args = [&["train"][..], robot, &["--model", "cycleik-mlp", "--data", data, "--epochs", "1"]].concat();
        ik(&[&args[..], &["--max-steps-per-epoch", "2", "--batch", "32", "--out", ckpt]].concat())
    };
    // The dataset was made with the tool: training without it is refused.
    let text = one_line_error(&train(&["--robot", "omx"]));
    assert!(text.contains("tip offset 0.05,0,0.01"), "{text}");
    let o = train(&tool);
    assert!(o.status.success(), "{}", stderr(&o));
    let card: serde_json::Value =
        serde_json::from_slice(&std::fs::read(Path::new(ckpt).join("card.json")).unwrap()).unwrap();
    assert_eq!(card["chain"]["tip_offset"]["xyz"], serde_json::json!([0.05, 0.0, 0.01]));

    let solve = |robot: &[&str]| {
        let args = [&["solve"][..], robot, &["--solver", "cycleik-mlp", "--checkpoint", ckpt]].concat();
        ik(&[&args[..], &["--pose", "0.25,0,0.15,0,0,0,1", "--json"]].concat())
    };
    let o = solve(&tool);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = one_line_error(&solve(&["--robot", "omx"]));
    assert!(text.contains("tip offset"), "{text}");
}
