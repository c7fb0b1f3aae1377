//! Uniform joint-space sampling, filtered by workspace box and collisions.
//!
//! Candidates are drawn in fixed-size chunks; chunk `k` uses its own ChaCha8
//! stream of the seed, and accepted samples are concatenated in chunk order, so
//! a dataset depends only on (robot, workspace, seed, count) — not on the number
//! of threads — and a smaller count gives a prefix of a larger one.

use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::Serialize;

use super::{DataError, Dataset, DatasetMeta, POSE_DIM, Splits};
use crate::kinematics::{CollisionKind, Pose};
use crate::robots::{Robot, Workspace};

const CHUNK: usize = 16 * 1024;
/// Give up when this many candidates yield nothing.
const GIVE_UP_AFTER: u64 = 20_000_000;

#[derive(Debug, Clone)]
pub struct SampleConfig {
    pub count: usize,
    pub seed: u64,
    pub test_fraction: f64,
    pub val_fraction: f64,
    /// Reject self- and table-collisions.
    pub check_collisions: bool,
}

impl SampleConfig {
    pub fn new(count: usize, seed: u64) -> Self {
        Self { count, seed, test_fraction: 0.10, val_fraction: 0.01, check_collisions: true }
    }
}

/// What happened to every candidate drawn: `candidates = passed +
/// outside_workspace + in_collision`, and `in_collision = self_collision +
/// table_collision + floor_collision`. The last round draws whole chunks, so
/// `passed` may exceed `accepted` (the samples kept); the rest is `surplus`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SampleReport {
    pub candidates: u64,
    /// Samples kept in the dataset.
    pub accepted: usize,
    /// Candidates inside the workspace and free of collision.
    pub passed: u64,
    /// Passed candidates beyond the count asked for, not kept.
    pub surplus: u64,
    pub outside_workspace: u64,
    pub in_collision: u64,
    pub self_collision: u64,
    pub table_collision: u64,
    pub floor_collision: u64,
    pub seconds: f64,
}

impl SampleReport {
    /// Share of the candidates that passed both filters (whether kept or surplus).
    pub fn acceptance_rate(&self) -> f64 {
        if self.candidates == 0 { 0.0 } else { self.passed as f64 / self.candidates as f64 }
    }

    fn add_chunk(&mut self, chunk: &Chunk) {
        self.candidates += CHUNK as u64;
        self.passed += (chunk.poses.len() / POSE_DIM) as u64;
        self.outside_workspace += chunk.outside;
        self.self_collision += chunk.self_collision;
        self.table_collision += chunk.table;
        self.floor_collision += chunk.floor;
        self.in_collision = self.self_collision + self.table_collision + self.floor_collision;
    }
}

#[derive(Default)]
struct Chunk {
    joints: Vec<f64>,
    poses: Vec<f64>,
    outside: u64,
    self_collision: u64,
    table: u64,
    floor: u64,
}

/// Samples `cfg.count` configurations whose tip lies in `workspace`.
/// `progress(accepted)` is called after every round.
pub fn sample_dataset(
    robot: &Robot,
    workspace: &Workspace,
    cfg: &SampleConfig,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<(Dataset, SampleReport), DataError> {
    if !(0.0..1.0).contains(&(cfg.test_fraction + cfg.val_fraction)) {
        return Err(DataError::Invalid("test and validation fractions must add up to less than 1".into()));
    }
    let start = Instant::now();
    let dof = robot.chain.dof();
    let mut joints = Vec::with_capacity(cfg.count * dof);
    let mut poses = Vec::with_capacity(cfg.count * POSE_DIM);
    let mut report = SampleReport::default();
    let mut next_chunk = 0u64;
    // First round: a few chunks per thread to measure the acceptance rate.
    let mut round = 2 * rayon::current_num_threads() as u64;
    while poses.len() < cfg.count * POSE_DIM {
        let chunks: Vec<Chunk> =
            (next_chunk..next_chunk + round).into_par_iter().map(|k| sample_chunk(robot, workspace, cfg, k)).collect();
        next_chunk += round;
        for chunk in chunks {
            report.add_chunk(&chunk);
            let room = cfg.count - poses.len() / POSE_DIM;
            let take = (chunk.poses.len() / POSE_DIM).min(room);
            joints.extend_from_slice(&chunk.joints[..take * dof]);
            poses.extend_from_slice(&chunk.poses[..take * POSE_DIM]);
        }
        let accepted = poses.len() / POSE_DIM;
        progress(accepted);
        if accepted == 0 && report.candidates >= GIVE_UP_AFTER {
            return Err(DataError::Invalid(format!(
                "no collision-free configuration of {} reaches workspace '{}' in {} candidates",
                robot.name, workspace.name, report.candidates
            )));
        }
        // Next round: enough chunks for what is missing at the rate seen, plus 10 %.
        let rate = (accepted.max(1) as f64 / report.candidates as f64).max(1e-6);
        let missing = (cfg.count - accepted) as f64;
        round = ((missing / rate / CHUNK as f64) * 1.1).ceil().clamp(1.0, 4096.0) as u64;
    }
    report.accepted = cfg.count;
    report.surplus = report.passed - cfg.count as u64;
    report.seconds = start.elapsed().as_secs_f64();

    let splits = Splits::new(cfg.count, cfg.test_fraction, cfg.val_fraction);
    let mut meta = DatasetMeta::new(robot, cfg.count, "sampled", splits);
    meta.workspace = Some(workspace.clone());
    meta.seed = Some(cfg.seed);
    Ok((Dataset { meta, joints, poses }, report))
}

fn sample_chunk(robot: &Robot, workspace: &Workspace, cfg: &SampleConfig, k: u64) -> Chunk {
    let chain = &robot.chain;
    let dof = chain.dof();
    let mut rng = ChaCha8Rng::seed_from_u64(cfg.seed);
    rng.set_stream(k);
    let mut chunk = Chunk::default();
    let mut q = vec![0.0; dof];
    let mut scratch = robot.collision.scratch();
    for _ in 0..CHUNK {
        for (v, joint) in q.iter_mut().zip(&chain.joints) {
            *v = joint.limits.lower + rng.random::<f64>() * joint.limits.span();
        }
        let tip = robot.collision.place(chain, &q, &mut scratch);
        if !workspace.contains(&tip.translation.vector) {
            chunk.outside += 1;
            continue;
        }
        if cfg.check_collisions
            && let Some(kind) = robot.collision.collision_kind(&scratch)
        {
            *match kind {
                CollisionKind::SelfCollision => &mut chunk.self_collision,
                CollisionKind::Table => &mut chunk.table,
                CollisionKind::Floor => &mut chunk.floor,
            } += 1;
            continue;
        }
        chunk.joints.extend_from_slice(&q);
        chunk.poses.extend_from_slice(&Pose::from_isometry(&tip).to_array());
    }
    chunk
}
