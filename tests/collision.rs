//! Collision from the URDF: fixed child links, capsules fitted to meshes, the
//! floor plane, and bad collision meshes.

use std::path::Path;
use std::process::{Command, Output};

use ik_studio::data;
use ik_studio::kinematics::{fit_points, segment_distance_sq};
use ik_studio::robots;
use nalgebra::{Point3, Vector3};

fn ik(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ik-studio")).args(args).output().unwrap()
}

/// A 3-joint arm standing up along z: joint1 (yaw) at z 0.1, joint2 and
/// joint3 (pitch) each 0.3 above the last; each link 0.3 long. `geometry[i]`
/// is the `<collision>` body of link i + 1, and `extra` goes before `</robot>`.
fn arm_urdf(geometry: [&str; 3], extra: &str) -> String {
    let link = |name: &str, body: &str| {
        let collision = if body.is_empty() { String::new() } else { format!("<collision>{body}</collision>") };
        format!("<link name=\"{name}\">{collision}</link>")
    };
    let joint = |name: &str, parent: &str, child: &str, z: f64, axis: &str| {
        format!(
            "<joint name=\"{name}\" type=\"revolute\"><parent link=\"{parent}\"/><child link=\"{child}\"/>\
             <origin xyz=\"0 0 {z}\"/><axis xyz=\"{axis}\"/><limit lower=\"-2.8\" upper=\"2.8\" effort=\"1\" velocity=\"1\"/></joint>"
        )
    };
    format!(
        "<robot name=\"arm\"><link name=\"base_link\"/>{}{}{}\
         <link name=\"tool0\"/><joint name=\"tool\" type=\"fixed\"><parent link=\"link3\"/><child link=\"tool0\"/><origin xyz=\"0 0 0.3\"/></joint>\
         {}{}{}{extra}</robot>",
        link("link1", geometry[0]),
        link("link2", geometry[1]),
        link("link3", geometry[2]),
        joint("j1", "base_link", "link1", 0.1, "0 0 1"),
        joint("j2", "link1", "link2", 0.3, "0 1 0"),
        joint("j3", "link2", "link3", 0.3, "0 1 0"),
    )
}

/// Elbow bent so that link3 folds back into link1.
const FOLDED: [f64; 3] = [0.0, 1.5, 2.6];

const CYLINDER: &str = "<origin xyz=\"0 0 0.15\"/><geometry><cylinder radius=\"0.04\" length=\"0.3\"/></geometry>";

/// The 8 corners of the link boxes the mesh arm uses: x, y ±0.03, z 0–0.3.
fn box_corners() -> Vec<Point3<f64>> {
    (0..8)
        .map(|c| {
            Point3::new(
                if c & 1 == 1 { 0.03 } else { -0.03 },
                if c & 2 == 2 { 0.03 } else { -0.03 },
                if c & 4 == 4 { 0.3 } else { 0.0 },
            )
        })
        .collect()
}

/// A binary STL of the link box (12 triangles).
fn write_box_stl(path: &Path) {
    let v = box_corners();
    let faces = [
        [0, 1, 3],
        [0, 3, 2],
        [4, 6, 7],
        [4, 7, 5],
        [0, 4, 5],
        [0, 5, 1],
        [2, 3, 7],
        [2, 7, 6],
        [0, 2, 6],
        [0, 6, 4],
        [1, 5, 7],
        [1, 7, 3],
    ];
    let mut bytes = vec![0u8; 80];
    bytes.extend_from_slice(&(faces.len() as u32).to_le_bytes());
    for face in faces {
        bytes.extend_from_slice(&[0u8; 12]);
        for i in face {
            for c in v[i].coords.iter() {
                bytes.extend_from_slice(&(*c as f32).to_le_bytes());
            }
        }
        bytes.extend_from_slice(&[0, 0]);
    }
    std::fs::write(path, bytes).unwrap();
}

const MESH: &str = "<geometry><mesh filename=\"meshes/box.stl\"/></geometry>";

/// The mesh-only arm in `dir` (URDF and meshes/box.stl); returns the URDF path.
fn mesh_arm(dir: &Path) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("meshes")).unwrap();
    write_box_stl(&dir.join("meshes/box.stl"));
    let urdf = dir.join("arm.urdf");
    std::fs::write(&urdf, arm_urdf([MESH, MESH, MESH], "")).unwrap();
    urdf
}

fn collides(robot: &ik_studio::Robot, q: &[f64]) -> bool {
    let mut scratch = robot.collision.scratch();
    robot.collision.place(&robot.chain, q, &mut scratch);
    robot.collision.in_collision(&scratch)
}

#[test]
fn collision_on_a_fixed_child_link_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    // link3 has no geometry itself: its body sits on link3_sc, fixed below it.
    let sc = "<link name=\"link3_sc\"><collision><origin xyz=\"0 0 0.15\"/><geometry><cylinder radius=\"0.04\" length=\"0.3\"/></geometry></collision></link>\
              <joint name=\"link3_sc_joint\" type=\"fixed\"><parent link=\"link3\"/><child link=\"link3_sc\"/></joint>";
    let urdf = dir.path().join("sc.urdf");
    std::fs::write(&urdf, arm_urdf([CYLINDER, CYLINDER, ""], sc)).unwrap();
    let robot = robots::from_urdf_file(&urdf, "base_link", "tool0").unwrap();
    assert_eq!(robot.collision.shapes.len(), 1);
    let shape = &robot.collision.shapes[0];
    assert_eq!((shape.link.as_str(), shape.segment, shape.radius), ("link3_sc", 2, 0.04));
    assert!(robot.collision.pairs.iter().any(|&(a, b)| (a, b) == (0, 3)), "{:?}", robot.collision.pairs);
    assert!(!collides(&robot, &[0.0; 3]), "the straight arm is free");
    assert!(collides(&robot, &FOLDED), "link3_sc folded into link1");
}

#[test]
fn capsules_fitted_to_meshes_detect_what_primitives_alone_missed() {
    let dir = tempfile::tempdir().unwrap();
    let robot = robots::from_urdf_file(&mesh_arm(dir.path()), "base_link", "tool0").unwrap();
    // Before: radii only from primitive shapes, so a mesh-only arm had none.
    assert!(robot.collision.radii.iter().all(|&r| r == 0.0));
    assert_eq!(robot.collision.shapes.len(), 3);
    assert!(robot.collision.warnings.is_empty(), "{:?}", robot.collision.warnings);
    // Each capsule covers its box's corners, and is not much fatter.
    for shape in &robot.collision.shapes {
        assert!(shape.radius < 0.05, "{shape:?}");
        for c in box_corners() {
            let d = ik_studio::kinematics::segment_distance_sq(&c, &c, &shape.a, &shape.b).sqrt();
            assert!(d <= shape.radius + 1e-6, "{c} outside {shape:?}");
        }
    }
    assert!(!collides(&robot, &[0.0; 3]));
    assert!(collides(&robot, &FOLDED));
}

/// Lowest z of any link box corner for configuration `q`.
fn lowest_corner(robot: &ik_studio::Robot, q: &[f64]) -> f64 {
    let frames = robot.chain.link_frames(q).unwrap();
    let corners = box_corners();
    robot
        .chain
        .links
        .iter()
        .zip(&frames)
        .filter(|(l, _)| l.name.starts_with("link"))
        .flat_map(|(_, f)| corners.iter().map(move |c| (f * c).z))
        .fold(f64::INFINITY, f64::min)
}

#[test]
fn a_dataset_sampled_with_a_floor_has_no_link_below_it() {
    let dir = tempfile::tempdir().unwrap();
    let urdf = mesh_arm(dir.path());
    let robot = robots::from_urdf_file(&urdf, "base_link", "tool0").unwrap();
    let (urdf_s, floored, free) = (urdf.to_str().unwrap(), dir.path().join("floor.ikd"), dir.path().join("free.ikd"));
    let run = |out: &Path, floor: Option<&str>| {
        let mut args = vec!["dataset", "--urdf", urdf_s, "--base", "base_link", "--tip", "tool0", "--samples", "3000"];
        args.extend(["--out", out.to_str().unwrap(), "--json"]);
        args.extend(floor.iter().flat_map(|z| ["--floor", *z]));
        let o = ik(&args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        (data::read_dataset(out).unwrap(), summary)
    };
    let lowest = |d: &data::Dataset| {
        let all = d.all();
        (0..all.len()).map(|i| lowest_corner(&robot, all.joints(i))).fold(f64::INFINITY, f64::min)
    };
    // Without a floor the arm reaches well below z = 0.05 …
    let (without, _) = run(&free, None);
    assert!(lowest(&without) < 0.0);
    // … with one, no link box does, and the rejections are counted.
    let (with, summary) = run(&floored, Some("0.05"));
    assert_eq!(with.len(), 3000);
    assert!(lowest(&with) >= 0.05, "{}", lowest(&with));
    assert!(summary["in_collision"].as_u64().unwrap() > 0 && summary["floor"] == 0.05, "{summary}");

    for bad in ["nan", "inf", "2e6", "-1e7", "low"] {
        let o =
            ik(&["dataset", "--robot", "omx", "--floor", bad, "--samples", "10", "--out", floored.to_str().unwrap()]);
        let err = String::from_utf8_lossy(&o.stderr).into_owned();
        assert!(!o.status.success() && err.starts_with("error:") && err.trim().lines().count() == 1, "{bad}: {err}");
    }
    // A negative floor is a number, not a flag.
    let o =
        ik(&["dataset", "--robot", "omx", "--floor", "-0.5", "--samples", "10", "--out", floored.to_str().unwrap()]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

#[test]
fn malformed_or_absent_collision_meshes_are_skipped_with_one_line_warnings() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("meshes")).unwrap();
    write_box_stl(&dir.path().join("meshes/box.stl"));
    std::fs::write(dir.path().join("meshes/bad.stl"), b"solid x\n facet normal 0 0 nope\n").unwrap();
    std::fs::write(dir.path().join("meshes/bad.dae"), b"<COLLADA><library_geometries><geometry>").unwrap();
    let urdf = dir.path().join("arm.urdf");
    let bad = |file: &str| format!("<geometry><mesh filename=\"meshes/{file}\"/></geometry>");
    let extra = format!(
        "<link name=\"link2_sc\"><collision>{}</collision></link>\
         <joint name=\"link2_sc_joint\" type=\"fixed\"><parent link=\"link2\"/><child link=\"link2_sc\"/></joint>",
        bad("absent.stl")
    );
    std::fs::write(&urdf, arm_urdf([MESH, &bad("bad.stl"), &bad("bad.dae")], &extra)).unwrap();

    let robot = robots::from_urdf_file(&urdf, "base_link", "tool0").unwrap();
    let warnings = &robot.collision.warnings;
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(warnings.iter().all(|w| w.lines().count() == 1 && w.contains("skipped")), "{warnings:?}");
    assert!(warnings.iter().any(|w| w.contains("link2_sc") && w.contains("not found")), "{warnings:?}");
    assert_eq!(robot.collision.shapes.len(), 1, "the good mesh is kept");

    let out = dir.path().join("d.ikd");
    let args =
        ["dataset", "--urdf", urdf.to_str().unwrap(), "--base", "base_link", "--tip", "tool0", "--samples", "100"];
    let o = ik(&[&args[..], &["--out", out.to_str().unwrap(), "--json"]].concat());
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(o.status.success(), "{err}");
    assert_eq!(err.lines().filter(|l| l.starts_with("warning: collision geometry of link")).count(), 3, "{err}");
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(summary["collision_warnings"].as_array().unwrap().len(), 3);
}

fn covered(points: &[Point3<f64>], (a, b, r): &(Point3<f64>, Point3<f64>, f64)) -> bool {
    points.iter().all(|p| segment_distance_sq(p, p, a, b).sqrt() <= r + 1e-9)
}

#[test]
fn a_long_box_gets_a_capsule_along_its_length_and_a_compact_cloud_a_sphere() {
    let h = Vector3::new(0.02, 0.03, 0.2);
    let corners: Vec<Point3<f64>> = (0..8)
        .map(|c| {
            Point3::new(h.x, h.y, h.z)
                .coords
                .zip_map(&Vector3::new(c & 1, c >> 1 & 1, c >> 2 & 1), |v, s| if s == 1 { v } else { -v })
        })
        .map(|v| Point3::from(v + Vector3::z()))
        .collect();
    let fit = fit_points(&corners).unwrap();
    assert!(covered(&corners, &fit));
    let (a, b, r) = fit;
    assert!((r - 0.02f64.hypot(0.03)).abs() < 1e-9, "{r}");
    assert!(((b - a).norm() - 0.4).abs() < 1e-9 && (b - a).x.abs() < 1e-9 && (b - a).y.abs() < 1e-9);

    let cloud: Vec<Point3<f64>> =
        (0..50).map(|i| i as f64 * 0.7).map(|t| Point3::new(t.cos(), t.sin(), (3.0 * t).sin()) * 0.1).collect();
    let fit = fit_points(&cloud).unwrap();
    assert!(covered(&cloud, &fit) && fit.2 <= 0.15, "{fit:?}");
    assert!(fit_points(&[]).is_none());
    assert!(fit_points(&[Point3::new(f64::NAN, 0.0, 0.0)]).is_none());
}
