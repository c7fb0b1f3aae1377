//! Dataset sampling, the .ikd format, .npy export/import and ROS CSV import.

use std::io::Read;

use ik_studio::data::{self, DataError, PairBy, RosImportOptions, SampleConfig, Split};
use ik_studio::kinematics::Pose;
use ik_studio::robots;

fn sample(name: &str, workspace: &str, count: usize, seed: u64) -> data::Dataset {
    let robot = robots::builtin(name).unwrap();
    let ws = robot.workspace(workspace).unwrap().clone();
    data::sample_dataset(&robot, &ws, &SampleConfig::new(count, seed), &|_| {}).unwrap().0
}

#[test]
fn samples_lie_in_the_box_within_limits_free_of_collision_and_match_fk() {
    for (name, ws) in [("nicol-right", "small"), ("nicol-left", "full"), ("omx", "small")] {
        let robot = robots::builtin(name).unwrap();
        let box_ = robot.workspace(ws).unwrap();
        let ds = sample(name, ws, 5_000, 11);
        assert_eq!(ds.len(), 5_000);
        let all = ds.all();
        let mut points = robot.collision.scratch();
        for i in 0..all.len() {
            let q = all.joints(i);
            assert!(robot.chain.within_limits(q));
            let tip = robot.collision.place(&robot.chain, q, &mut points);
            assert!(!robot.collision.in_collision(&points));
            let pose = all.pose(i);
            assert!(box_.contains(&nalgebra::Vector3::new(pose[0], pose[1], pose[2])));
            assert_eq!(pose, Pose::from_isometry(&tip).to_array());
            assert!(pose[6] >= 0.0);
            let qn: f64 = pose[3..7].iter().map(|v| v * v).sum();
            assert!((qn - 1.0).abs() < 1e-12);
        }
    }
}

#[test]
fn splits_are_disjoint_and_sized() {
    let ds = sample("nicol-right", "full", 10_000, 1);
    let s = &ds.meta.splits;
    assert_eq!((s.train.len(), s.test.len(), s.val.len()), (8_900, 1_000, 100));
    let key = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    let train: std::collections::HashSet<_> =
        (0..s.train.len()).map(|i| key(ds.split(Split::Train).joints(i))).collect();
    for split in [Split::Test, Split::Val] {
        let view = ds.split(split);
        for i in 0..view.len() {
            assert!(!train.contains(&key(view.joints(i))));
        }
    }
    let test: std::collections::HashSet<_> = (0..s.test.len()).map(|i| key(ds.split(Split::Test).joints(i))).collect();
    let val = ds.split(Split::Val);
    assert!((0..val.len()).all(|i| !test.contains(&key(val.joints(i)))));
}

#[test]
fn sampling_is_deterministic_for_a_seed_and_prefix_stable() {
    let a = sample("omx", "full", 3_000, 42);
    let b = sample("omx", "full", 3_000, 42);
    assert_eq!(a, b);
    let c = sample("omx", "full", 40_000, 42);
    assert_eq!(&a.joints[..], &c.joints[..a.joints.len()]);
    // Thread count does not matter.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build().unwrap();
    let d = pool.install(|| sample("omx", "full", 3_000, 42));
    assert_eq!(a, d);
    assert_ne!(a.joints, sample("omx", "full", 3_000, 43).joints);
}

#[test]
fn file_round_trip_is_bit_exact_and_damage_is_detected() {
    let ds = sample("nicol-left", "small", 2_000, 3);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("d.ikd");
    data::write_dataset(&ds, &path).unwrap();
    let back = data::read_dataset(&path).unwrap();
    assert_eq!(back.meta, ds.meta);
    let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
    assert_eq!(bits(&back.joints), bits(&ds.joints));
    assert_eq!(bits(&back.poses), bits(&ds.poses));
    assert_eq!(data::read_meta(&path).unwrap(), ds.meta);
    // No temporary file left behind.
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);

    let bytes = std::fs::read(&path).unwrap();
    let damaged = |name: &str, edit: &dyn Fn(&mut Vec<u8>)| {
        let mut b = bytes.clone();
        edit(&mut b);
        let p = dir.path().join(name);
        std::fs::write(&p, b).unwrap();
        data::read_dataset(&p).unwrap_err()
    };
    let n = bytes.len();
    assert!(matches!(damaged("flip.ikd", &|b| b[n / 2] ^= 0x10), DataError::Corrupt { .. }));
    assert!(matches!(damaged("trunc.ikd", &|b| b.truncate(n - 100)), DataError::Corrupt { .. }));
    assert!(matches!(damaged("magic.ikd", &|b| b[0] = b'X'), DataError::NotADataset { .. }));
    assert!(matches!(damaged("header.ikd", &|b| b[20] ^= 1), DataError::Corrupt { .. }));
    assert!(matches!(damaged("empty.ikd", &|b| b.clear()), DataError::NotADataset { .. }));
    let err = damaged("crc.ikd", &|b| b[n - 20] ^= 1);
    assert!(err.to_string().contains("checksum"), "{err}");
    assert!(matches!(data::read_dataset(&dir.path().join("missing.ikd")), Err(DataError::Io { .. })));
}

#[test]
fn npy_export_has_a_valid_header_and_round_trips() {
    let robot = robots::builtin("omx").unwrap();
    let ds = sample("omx", "small", 1_000, 5);
    let dir = tempfile::tempdir().unwrap();
    data::export_npy(&ds, dir.path()).unwrap();
    let path = dir.path().join("train_joints.npy");
    let mut raw = Vec::new();
    std::fs::File::open(&path).unwrap().read_to_end(&mut raw).unwrap();
    // NPY 1.0: magic, version, little-endian header length, dict padded to 64 bytes.
    assert_eq!(&raw[..8], b"\x93NUMPY\x01\x00");
    let hlen = u16::from_le_bytes([raw[8], raw[9]]) as usize;
    assert_eq!((10 + hlen) % 64, 0);
    let header = std::str::from_utf8(&raw[10..10 + hlen]).unwrap();
    let train = ds.meta.splits.train.len();
    assert!(header.contains("'descr': '<f8'"), "{header}");
    assert!(header.contains("'fortran_order': False"), "{header}");
    assert!(header.contains(&format!("'shape': ({train}, 4")), "{header}");
    assert!(header.ends_with('\n'));
    assert_eq!(raw.len(), 10 + hlen + train * 4 * 8);
    let first = f64::from_le_bytes(raw[10 + hlen..18 + hlen].try_into().unwrap());
    assert_eq!(first, ds.joints[0]);
    assert!(dir.path().join("meta.json").exists());
    for split in ["train", "test", "val"] {
        assert!(dir.path().join(format!("{split}_poses.npy")).exists());
    }

    // Import the joints back: poses come from FK and equal the originals.
    let back = data::import_npy(&robot, &path, None, (0.1, 0.01)).unwrap();
    assert_eq!(back.joints, ds.split(Split::Train).joints);
    assert_eq!(back.poses, ds.split(Split::Train).poses);
    // Wrong width is refused.
    let poses = dir.path().join("train_poses.npy");
    assert!(data::import_npy(&robot, &poses, None, (0.1, 0.01)).is_err());
}

/// Writes a pair of CSV files as `ros2 topic echo --csv` would, from joint
/// vectors (poses by FK), then damages some rows.
fn ros_fixture(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let ds = sample("omx", "small", 50, 8);
    let all = ds.all();
    let stamp = |i: usize| (1_700_000_000 + i as i64, 250_000_000 + (i as i64 % 3) * 1_000_000);
    let joint_row = |i: usize, q: &[f64]| {
        let (sec, nsec) = stamp(i);
        format!(
            "{sec},{nsec},,joint1,joint2,joint3,joint4,gripper,{},{},{},{},0.01,0,0,0,0,0,0,0,0,0,0",
            q[0], q[1], q[2], q[3]
        )
    };
    let mut pose_lines = Vec::new();
    let mut joint_lines = Vec::new();
    for i in 0..all.len() {
        let (sec, nsec) = stamp(i);
        let p = all.pose(i);
        // Pose stamped 1 ms after the joints; an extra trailing column as the real topic has.
        pose_lines.push(format!(
            "{sec},{},world,{},{},{},{},{},{},{},0.0",
            nsec + 1_000_000,
            p[0],
            p[1],
            p[2],
            p[3],
            p[4],
            p[5],
            p[6]
        ));
        joint_lines.push(joint_row(i, all.joints(i)));
    }
    pose_lines[3] = "garbage,row".into(); // garbled pose row
    pose_lines[5] = pose_lines[5].replacen(",world,", ",world,abc,", 1); // a non-number
    joint_lines[7] = "1700000007,250000000,,joint1,joint2".into(); // names without positions
    joint_lines[20] = joint_row(20, &[0.5, 0.5, 0.5, 0.5]); // disagrees with its pose
    joint_lines.remove(10); // pose 10 has no partner
    pose_lines.insert(0, String::new()); // a blank line
    let (pp, jp) = (dir.join("kinematics_pose.csv"), dir.join("joint_states.csv"));
    std::fs::write(&pp, pose_lines.join("\n")).unwrap();
    std::fs::write(&jp, joint_lines.join("\n")).unwrap();
    (pp, jp)
}

#[test]
fn ros_csv_import_pairs_by_time_and_reports_what_it_drops() {
    let robot = robots::builtin("omx").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (poses, joints) = ros_fixture(dir.path());
    let (ds, report) = data::import_ros_csv(&robot, &poses, &joints, &RosImportOptions::default()).unwrap();
    assert_eq!(report.pose_rows, 50);
    assert_eq!(report.joint_rows, 49);
    assert_eq!(report.garbled_pose_rows, 2);
    assert_eq!(report.garbled_joint_rows, 1);
    // Poses 3 and 5 are garbled; poses 7 (garbled joint row) and 10 (removed row) find no partner.
    assert_eq!(report.unpaired_pose_rows, 2);
    assert_eq!(report.fk_mismatch, 1);
    assert_eq!(report.imported, 50 - 2 - 2 - 1);
    assert_eq!(ds.len(), report.imported);
    assert!(report.max_fk_deviation < 1e-9, "recorded poses agree with FK: {}", report.max_fk_deviation);
    assert!((report.max_dt - 0.001).abs() < 1e-6);
    assert!(!report.examples.is_empty());
    // Every imported pair is consistent.
    let all = ds.all();
    for i in 0..all.len() {
        let fk = robot.chain.fk(all.joints(i)).unwrap();
        assert!((fk.translation.x - all.pose(i)[0]).abs() < 1e-9);
    }

    // A tolerance tighter than the 1 ms offset pairs nothing: a clear error.
    let tight = RosImportOptions { max_dt: 1e-4, ..RosImportOptions::default() };
    assert!(data::import_ros_csv(&robot, &poses, &joints, &tight).is_err());
    // By index, dropped rows shift pairs (poses 4–10 here): the FK check rejects those.
    let by_index = RosImportOptions { pair_by: PairBy::Index, ..RosImportOptions::default() };
    let (_, r) = data::import_ros_csv(&robot, &poses, &joints, &by_index).unwrap();
    assert_eq!(r.fk_mismatch, 7, "{r:?}");
    assert!(r.imported < report.imported);
}
