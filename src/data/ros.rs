//! Import of poses and joint states recorded on a robot with
//! `ros2 topic echo --csv`:
//!
//! * `kinematics_pose.csv`: `sec, nanosec, frame_id, px, py, pz, qx, qy, qz, qw, …`
//! * `joint_states.csv`: `sec, nanosec, frame_id, name0..k, position0..k, velocity…, effort…`
//!
//! Rows pair by timestamp (nearest joint row within a tolerance, each used
//! once) or by index. Rows that don't parse, don't pair, or whose recorded pose
//! disagrees with forward kinematics of the paired joints are dropped and counted.

use std::path::Path;

use serde::Serialize;

use super::{DataError, Dataset, DatasetMeta, POSE_DIM, Splits};
use crate::atomic_file::read_regular_to_string;
use crate::kinematics::Pose;
use crate::robots::Robot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PairBy {
    Timestamp,
    Index,
}

#[derive(Debug, Clone)]
pub struct RosImportOptions {
    pub pair_by: PairBy,
    /// Largest time difference between a pose row and its joint row, seconds.
    pub max_dt: f64,
    /// Largest distance between the recorded position and FK of the joints, metres.
    pub max_fk_deviation: f64,
    pub test_fraction: f64,
    pub val_fraction: f64,
}

impl Default for RosImportOptions {
    fn default() -> Self {
        Self {
            pair_by: PairBy::Timestamp,
            max_dt: 0.005,
            max_fk_deviation: 0.001,
            test_fraction: 0.10,
            val_fraction: 0.01,
        }
    }
}

/// What happened to every row.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RosImportReport {
    pub pose_rows: usize,
    pub joint_rows: usize,
    pub garbled_pose_rows: usize,
    pub garbled_joint_rows: usize,
    pub unpaired_pose_rows: usize,
    pub unpaired_joint_rows: usize,
    pub out_of_limits: usize,
    pub fk_mismatch: usize,
    pub imported: usize,
    /// Largest |recorded position − FK position| among imported rows, metres.
    pub max_fk_deviation: f64,
    /// Largest |Δt| among imported pairs, seconds.
    pub max_dt: f64,
    /// The first few problems, as `file:line: reason`.
    pub examples: Vec<String>,
}

impl RosImportReport {
    fn note(&mut self, example: String) {
        if self.examples.len() < 10 {
            self.examples.push(example);
        }
    }
}

struct Row<T> {
    time: f64,
    value: T,
}

pub fn import_ros_csv(
    robot: &Robot,
    poses_path: &Path,
    joints_path: &Path,
    opts: &RosImportOptions,
) -> Result<(Dataset, RosImportReport), DataError> {
    let mut report = RosImportReport::default();
    let chain = &robot.chain;
    let names = chain.joint_names();

    let pose_text = read_regular_to_string(poses_path).map_err(DataError::io(poses_path))?;
    let joint_text = read_regular_to_string(joints_path).map_err(DataError::io(joints_path))?;
    let file = |p: &Path| p.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();

    let mut poses = Vec::new();
    for (line, text) in pose_text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        report.pose_rows += 1;
        match parse_pose_row(text) {
            Ok(row) => poses.push(row),
            Err(why) => {
                report.garbled_pose_rows += 1;
                report.note(format!("{}:{}: {why}", file(poses_path), line + 1));
            }
        }
    }
    let mut joints = Vec::new();
    for (line, text) in joint_text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        report.joint_rows += 1;
        match parse_joint_row(text, &names) {
            Ok(row) => joints.push(row),
            Err(why) => {
                report.garbled_joint_rows += 1;
                report.note(format!("{}:{}: {why}", file(joints_path), line + 1));
            }
        }
    }

    let pairs = match opts.pair_by {
        PairBy::Index => (0..poses.len().min(joints.len())).map(|i| (i, i)).collect(),
        PairBy::Timestamp => pair_by_time(&poses, &joints, opts.max_dt),
    };
    report.unpaired_pose_rows = poses.len() - pairs.len();
    report.unpaired_joint_rows = joints.len() - pairs.len();

    let mut out_joints = Vec::with_capacity(pairs.len() * chain.dof());
    let mut out_poses = Vec::with_capacity(pairs.len() * POSE_DIM);
    for (p, j) in pairs {
        let (pose, q) = (&poses[p].value, &joints[j].value);
        if !chain.within_limits(q) {
            report.out_of_limits += 1;
            report.note(format!("{}: joints {q:?} outside the limits", file(joints_path)));
            continue;
        }
        let fk = chain.fk_unchecked(q).translation.vector;
        let deviation = (fk - nalgebra::Vector3::from(pose.position)).norm();
        if deviation > opts.max_fk_deviation {
            report.fk_mismatch += 1;
            report.note(format!(
                "pose at t={:.6}: recorded position is {:.1} mm from FK of its joint row",
                poses[p].time,
                deviation * 1000.0
            ));
            continue;
        }
        report.max_fk_deviation = report.max_fk_deviation.max(deviation);
        report.max_dt = report.max_dt.max((poses[p].time - joints[j].time).abs());
        out_joints.extend_from_slice(q);
        out_poses.extend_from_slice(&pose.to_array());
    }
    let n = out_poses.len() / POSE_DIM;
    report.imported = n;
    if n == 0 {
        return Err(DataError::Invalid(format!(
            "no pose row paired with a joint row ({} pose rows, {} joint rows; first problems: {})",
            report.pose_rows,
            report.joint_rows,
            report.examples.join("; ")
        )));
    }
    let meta = DatasetMeta::new(robot, n, "ros-import", Splits::new(n, opts.test_fraction, opts.val_fraction));
    Ok((Dataset { meta, joints: out_joints, poses: out_poses }, report))
}

/// Greedy nearest-in-time pairing; each joint row is used at most once.
fn pair_by_time(poses: &[Row<Pose>], joints: &[Row<Vec<f64>>], max_dt: f64) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..joints.len()).collect();
    order.sort_by(|&a, &b| joints[a].time.total_cmp(&joints[b].time));
    let times: Vec<f64> = order.iter().map(|&i| joints[i].time).collect();
    let mut used = vec![false; joints.len()];
    let mut pairs = Vec::new();
    for (p, pose) in poses.iter().enumerate() {
        let at = times.partition_point(|&t| t < pose.time);
        // Look outwards from the insertion point for the nearest unused row.
        let (mut lo, mut hi) = (at, at);
        let best = loop {
            let below = (lo > 0).then(|| lo - 1).filter(|&k| pose.time - times[k] <= max_dt);
            let above = (hi < times.len()).then_some(hi).filter(|&k| times[k] - pose.time <= max_dt);
            let k = match (below, above) {
                (None, None) => break None,
                (Some(b), None) => b,
                (None, Some(a)) => a,
                (Some(b), Some(a)) => {
                    if pose.time - times[b] <= times[a] - pose.time {
                        b
                    } else {
                        a
                    }
                }
            };
            if !used[k] {
                break Some(k);
            }
            if Some(k) == below { lo -= 1 } else { hi += 1 }
        };
        if let Some(k) = best {
            used[k] = true;
            pairs.push((p, order[k]));
        }
    }
    pairs
}

fn split_fields(text: &str) -> Vec<&str> {
    text.split(',').map(str::trim).collect()
}

fn parse_time(fields: &[&str]) -> Result<f64, String> {
    let sec: i64 = fields.first().and_then(|s| s.parse().ok()).ok_or("no integer seconds in column 1")?;
    let nanosec: i64 = fields.get(1).and_then(|s| s.parse().ok()).ok_or("no integer nanoseconds in column 2")?;
    Ok(sec as f64 + nanosec as f64 * 1e-9)
}

fn parse_number(field: Option<&&str>, what: &str) -> Result<f64, String> {
    let text = field.ok_or_else(|| format!("missing {what}"))?;
    let v: f64 = text.parse().map_err(|_| format!("{what} '{text}' is not a number"))?;
    if v.is_finite() { Ok(v) } else { Err(format!("{what} is not finite")) }
}

fn parse_pose_row(text: &str) -> Result<Row<Pose>, String> {
    let f = split_fields(text);
    let time = parse_time(&f)?;
    let labels =
        ["position_x", "position_y", "position_z", "orientation_x", "orientation_y", "orientation_z", "orientation_w"];
    let mut v = [0.0; 7];
    for (i, label) in labels.iter().enumerate() {
        v[i] = parse_number(f.get(3 + i), label)?;
    }
    let pose = Pose::from_slice(&v).ok_or("zero quaternion")?;
    Ok(Row { time, value: pose })
}

/// `names` are the chain's joints in order; the row may carry more (a gripper).
fn parse_joint_row(text: &str, names: &[String]) -> Result<Row<Vec<f64>>, String> {
    let f = split_fields(text);
    let time = parse_time(&f)?;
    // Names are the non-numeric fields after frame_id; as many positions follow.
    let k = f.iter().skip(3).take_while(|s| s.parse::<f64>().is_err() && !s.is_empty()).count();
    if k == 0 {
        return Err("no joint names after frame_id".into());
    }
    if f.len() < 3 + 2 * k {
        return Err(format!("{k} joint names but fewer than {k} positions"));
    }
    let row_names = &f[3..3 + k];
    let mut q = Vec::with_capacity(names.len());
    for name in names {
        let i = row_names.iter().position(|n| n == name).ok_or_else(|| format!("joint '{name}' missing"))?;
        q.push(parse_number(f.get(3 + k + i), &format!("position of {name}"))?);
    }
    Ok(Row { time, value: q })
}
