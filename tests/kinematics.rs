//! Forward kinematics, Jacobian and URDF parsing.

use ik_studio::kinematics::{Chain, JointKind, KinematicTree, KinematicsError, Pose};
use ik_studio::robots;
use nalgebra::Vector3;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Deserialize;

#[derive(Deserialize)]
struct Fixture {
    robots: std::collections::HashMap<String, RobotCases>,
}

#[derive(Deserialize)]
struct RobotCases {
    tip: String,
    joint_names: Vec<String>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    joints: Vec<f64>,
    position: [f64; 3],
    quaternion: [f64; 4],
}

/// The fixture was computed by tools/reference_fk.py, an independent Python
/// implementation, from the manufacturers' descriptions in ../shared/reference.
#[test]
fn fk_matches_independent_reference_for_all_builtin_chains() {
    let fixture: Fixture = serde_json::from_str(include_str!("fixtures/reference_fk.json")).unwrap();
    for name in ["omx", "nicol-right", "nicol-left"] {
        let robot = robots::builtin(name).unwrap();
        let cases = &fixture.robots[name];
        assert_eq!(robot.chain.tip, cases.tip);
        assert_eq!(robot.chain.joint_names(), cases.joint_names);
        assert!(cases.cases.len() >= 20);
        for case in &cases.cases {
            let pose = Pose::from_isometry(&robot.chain.fk(&case.joints).unwrap());
            for i in 0..3 {
                assert!((pose.position[i] - case.position[i]).abs() < 1e-12, "{name} {:?}", case.joints);
            }
            for i in 0..4 {
                assert!((pose.quaternion[i] - case.quaternion[i]).abs() < 1e-12, "{name} {:?}", case.joints);
            }
        }
    }
}

#[test]
fn omx_home_pose_is_known() {
    // Zero configuration: arm stretched forward. x = 0.012 + 0.024 + 0.124 + 0.126,
    // z = 0.017 (controller frame) + 0.0595 + 0.128.
    let robot = robots::builtin("omx").unwrap();
    let pose = Pose::from_isometry(&robot.chain.fk(&[0.0; 4]).unwrap());
    assert!((pose.position[0] - 0.286).abs() < 1e-12);
    assert!(pose.position[1].abs() < 1e-12);
    assert!((pose.position[2] - 0.2045).abs() < 1e-12);
    assert_eq!(pose.quaternion, [0.0, 0.0, 0.0, 1.0]);
    // joint1 = π/2 turns the arm to +y about joint1's axis, which sits at x = 0.012.
    let turned = robot.chain.fk(&[std::f64::consts::FRAC_PI_2, 0.0, 0.0, 0.0]).unwrap();
    assert!((turned.translation.vector - Vector3::new(0.012, 0.274, 0.2045)).norm() < 1e-12);
}

fn random_q(chain: &Chain, rng: &mut ChaCha8Rng) -> Vec<f64> {
    chain.joints.iter().map(|j| rng.random_range(j.limits.lower..=j.limits.upper)).collect()
}

#[test]
fn jacobian_matches_finite_differences() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    for name in ["omx", "nicol-right", "nicol-left"] {
        let chain = robots::builtin(name).unwrap().chain;
        for _ in 0..20 {
            let q = random_q(&chain, &mut rng);
            let jac = chain.jacobian(&q).unwrap();
            let h = 1e-6;
            for i in 0..chain.dof() {
                let (mut qp, mut qm) = (q.clone(), q.clone());
                qp[i] += h;
                qm[i] -= h;
                let (tp, tm) = (chain.fk(&qp).unwrap(), chain.fk(&qm).unwrap());
                let dp = (tp.translation.vector - tm.translation.vector) / (2.0 * h);
                // Angular velocity from the relative rotation tm⁻¹·tp expressed in the base frame.
                let rel = tp.rotation * tm.rotation.inverse();
                let dw = rel.scaled_axis() / (2.0 * h);
                for k in 0..3 {
                    assert!((jac[(k, i)] - dp[k]).abs() < 1e-6, "{name} linear col {i}");
                    assert!((jac[(3 + k, i)] - dw[k]).abs() < 1e-6, "{name} angular col {i}");
                }
            }
        }
    }
}

#[test]
fn batch_fk_equals_single_and_frames_end_at_tip() {
    let chain = robots::builtin("nicol-right").unwrap().chain;
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let n = 10_000;
    let joints: Vec<f64> = (0..n).flat_map(|_| random_q(&chain, &mut rng)).collect();
    let mut serial = vec![0.0; n * 7];
    let mut parallel = vec![0.0; n * 7];
    chain.fk_batch(&joints, &mut serial).unwrap();
    chain.fk_batch_par(&joints, &mut parallel).unwrap();
    assert_eq!(serial, parallel);
    for i in (0..n).step_by(997) {
        let q = &joints[i * 8..(i + 1) * 8];
        assert_eq!(&serial[i * 7..(i + 1) * 7], &Pose::from_isometry(&chain.fk(q).unwrap()).to_array());
        let frames = chain.link_frames(q).unwrap();
        assert_eq!(frames.len(), chain.links.len());
        let tip = chain.fk(q).unwrap();
        assert!((frames.last().unwrap().translation.vector - tip.translation.vector).norm() < 1e-12);
        assert!(serial[i * 7 + 6] >= 0.0, "w ≥ 0");
    }
    assert!(matches!(chain.fk_batch(&joints[..7], &mut serial[..7]), Err(KinematicsError::WrongDof { .. })));
    assert!(matches!(chain.fk(&[0.0; 3]), Err(KinematicsError::WrongDof { expected: 8, got: 3 })));
}

#[test]
fn whole_tree_link_poses_agree_with_chain() {
    let robot = robots::builtin("nicol-left").unwrap();
    let tree = &robot.tree;
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let q = random_q(&robot.chain, &mut rng);
    let mut values = vec![0.0; tree.joints.len()];
    for (joint, v) in robot.chain.joints.iter().zip(&q) {
        values[tree.joint_index(&joint.name).unwrap()] = *v;
    }
    let poses = tree.link_poses(&values).unwrap();
    let tip = poses[tree.link_index("l_laser").unwrap()];
    assert!((tip.translation.vector - robot.chain.fk(&q).unwrap().translation.vector).norm() < 1e-12);
    // The tabletop is fixed at 0.8 m.
    assert!(poses.len() == tree.links.len());
}

const ARM: &str = r#"<robot name="arm">
  <link name="base"/><link name="a"/><link name="b"/><link name="tool"/>
  <joint name="slide" type="prismatic"><parent link="base"/><child link="a"/>
    <origin xyz="0 0 0.1"/><axis xyz="0 0 2"/><limit lower="0" upper="0.5" effort="1" velocity="1"/></joint>
  <joint name="spin" type="continuous"><parent link="a"/><child link="b"/>
    <origin xyz="0.2 0 0" rpy="0 0 0"/><axis xyz="0 0 1"/></joint>
  <joint name="mount" type="fixed"><parent link="b"/><child link="tool"/><origin xyz="0.3 0 0"/></joint>
</robot>"#;

#[test]
fn prismatic_continuous_and_fixed_joints() {
    let tree = KinematicTree::from_urdf_str(ARM).unwrap();
    let chain = Chain::from_tree(&tree, "base", "tool").unwrap();
    assert_eq!(chain.dof(), 2);
    assert_eq!(chain.joints[0].kind, JointKind::Prismatic);
    assert_eq!(chain.joints[1].kind, JointKind::Continuous);
    assert_eq!(chain.joints[1].limits.lower, -std::f64::consts::PI);
    // Axis (0 0 2) is normalised; fixed mount folded into the tip offset.
    let t = chain.fk(&[0.25, std::f64::consts::FRAC_PI_2]).unwrap();
    assert!((t.translation.vector - Vector3::new(0.2, 0.3, 0.35)).norm() < 1e-12);
    let jac = chain.jacobian(&[0.25, 0.3]).unwrap();
    assert!((jac.column(0).into_owned() - nalgebra::Vector6::new(0., 0., 1., 0., 0., 0.)).norm() < 1e-12);
    // A sub-chain that starts mid-way.
    let sub = Chain::from_tree(&tree, "a", "tool").unwrap();
    assert_eq!(sub.joint_names(), vec!["spin"]);
}

fn parse_err(text: &str) -> KinematicsError {
    KinematicTree::from_urdf_str(text).and_then(|t| Chain::from_tree(&t, "base", "tool")).unwrap_err()
}

#[test]
fn urdf_errors_are_reported_not_panicked() {
    use KinematicsError::*;
    // Unreadable file.
    let err = KinematicTree::from_file("/nonexistent/robot.urdf").unwrap_err();
    assert!(matches!(err, Unreadable { .. }), "{err}");
    // Malformed XML.
    assert!(matches!(parse_err("<robot name='x'><link name='a'></robot"), Malformed(_)));
    assert!(matches!(parse_err("not xml at all"), Malformed(_)));
    // Unknown base or tip.
    let tree = KinematicTree::from_urdf_str(ARM).unwrap();
    assert!(matches!(Chain::from_tree(&tree, "nope", "tool"), Err(UnknownLink { .. })));
    assert!(matches!(Chain::from_tree(&tree, "base", "nope"), Err(UnknownLink { .. })));
    // Tip not below base.
    assert!(matches!(Chain::from_tree(&tree, "tool", "base"), Err(TipNotBelowBase { .. })));
    // No movable joint.
    assert!(matches!(Chain::from_tree(&tree, "b", "tool"), Err(NoMovableJoint { .. })));
    assert!(matches!(Chain::from_tree(&tree, "base", "base"), Err(NoMovableJoint { .. })));
    // Several parents.
    let two_parents =
        ARM.replace(r#"<parent link="b"/><child link="tool"/>"#, r#"<parent link="b"/><child link="a"/>"#);
    assert!(matches!(parse_err(&two_parents), SeveralParents { .. }));
    // Cycle: base → a → b → base.
    let cycle = ARM.replace(r#"<parent link="b"/><child link="tool"/>"#, r#"<parent link="b"/><child link="base"/>"#);
    assert!(matches!(parse_err(&cycle), Cycle(_)), "{}", parse_err(&cycle));
    // Non-finite numbers.
    assert!(matches!(parse_err(&ARM.replace("0.2 0 0", "NaN 0 0")), NonFinite { .. }));
    assert!(matches!(parse_err(&ARM.replace(r#"rpy="0 0 0""#, r#"rpy="0 inf 0""#)), NonFinite { .. }));
    assert!(matches!(parse_err(&ARM.replace(r#"upper="0.5""#, r#"upper="nan""#)), NonFinite { .. }));
    // Zero-length axis.
    assert!(matches!(parse_err(&ARM.replace("0 0 2", "0 0 0")), ZeroAxis(_)));
    // Joint naming a link that doesn't exist, and inverted limits.
    assert!(matches!(
        parse_err(&ARM.replace(r#"<child link="b"/>"#, r#"<child link="zz"/>"#)),
        UnknownJointLink { .. }
    ));
    assert!(matches!(parse_err(&ARM.replace(r#"lower="0""#, r#"lower="1""#)), InvertedLimits { .. }));
    // Every message is one line.
    for e in [parse_err("<robot"), parse_err(&cycle)] {
        assert!(!e.to_string().contains('\n'), "{e}");
    }
}

#[test]
fn user_urdf_file_becomes_a_robot_with_a_reach_box() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("arm.urdf");
    std::fs::write(&path, ARM).unwrap();
    let robot = robots::from_urdf_file(&path, "base", "tool").unwrap();
    assert_eq!(robot.chain.dof(), 2);
    let full = robot.workspace("full").unwrap();
    // Reach: radius 0.3 around the spin axis at x = 0.2, z from 0.1 to 0.6.
    assert!(full.max[0] > 0.49 && full.min[0] < -0.09 && full.min[2] >= 0.1 - 1e-9 && full.max[2] <= 0.6 + 1e-9);
    assert!(robot.workspace("small").is_err());
    assert!(robots::builtin("ur5").is_err());
}

#[test]
fn collision_model_flags_table_and_self_contact() {
    let omx = robots::builtin("omx").unwrap();
    let mut points = omx.collision.scratch();
    omx.collision.place(&omx.chain, &[0.0; 4], &mut points);
    assert!(!omx.collision.in_collision(&points), "home pose is free");
    // Shoulder pitched fully forward: the straight arm goes into the table.
    let tip = omx.collision.place(&omx.chain, &[0.0, 1.5, 0.0, 0.0], &mut points);
    assert!(tip.translation.z < 0.0);
    assert!(omx.collision.in_collision(&points));

    let nicol = robots::builtin("nicol-right").unwrap();
    assert!(!nicol.collision.pairs.is_empty() && !nicol.collision.table_segments.is_empty());
    let mut points = nicol.collision.scratch();
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let colliding = (0..2000)
        .filter(|_| {
            let q = random_q(&nicol.chain, &mut rng);
            nicol.collision.place(&nicol.chain, &q, &mut points);
            nicol.collision.in_collision(&points)
        })
        .count();
    assert!(colliding > 20 && colliding < 1900, "some but not all random configurations collide: {colliding}");
}
