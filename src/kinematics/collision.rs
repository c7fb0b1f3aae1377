//! Self-, table- and floor-collision check with capsules.
//!
//! Two kinds of capsule (each a "body"), both moving with one movable joint:
//! * segment `i` runs from the origin of movable joint `i` to the origin of
//!   joint `i + 1` (the last one to the tip). Its radius is the largest radius
//!   among the URDF `<collision>` cylinders, capsules and spheres of the chain
//!   links that move with joint `i` (0 when there are none: not checked);
//! * a fitted capsule per box or mesh of those links, and per shape of any
//!   link fixed below them (see [`super::capsule_fit`]).
//!
//! Two capsules collide when their axes come closer than the sum of radii; a
//! capsule hits the table when a part of its axis above the tabletop's
//! footprint comes closer to the tabletop than its radius, and the floor when
//! its lowest point is below it.
//!
//! As MoveIt's setup assistant does, pairs that touch in (almost) every
//! configuration are disabled: bodies of the same or adjacent segments, and
//! pairs (or bodies and the table or floor) found in contact in ≥ 95 % of
//! random configurations within limits.

use nalgebra::{Isometry3, Point3};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::capsule_fit::{Capsule, LinkGeometry, link_geometry};
use super::chain::Chain;
use super::tree::KinematicTree;
use crate::visuals::MeshResolver;

const CALIBRATION_SAMPLES: usize = 1000;
const ALWAYS_FRACTION: f64 = 0.95;

/// A horizontal tabletop: height and footprint in the chain's base frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Table {
    pub z: f64,
    pub min_xy: [f64; 2],
    pub max_xy: [f64; 2],
}

/// Why a configuration was refused (the first thing it hits).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CollisionKind {
    Floor,
    Table,
    SelfCollision,
}

#[derive(Debug, Clone)]
pub struct CollisionModel {
    /// Capsule radius per segment (one per movable joint), metres.
    pub radii: Vec<f64>,
    /// Fitted capsules, sorted by segment; body `radii.len() + k` is `shapes[k]`.
    pub shapes: Vec<Capsule>,
    pub table: Option<Table>,
    /// Height of a floor plane in the base frame (the whole plane, unlike the table).
    pub floor: Option<f64>,
    /// Body pairs that are checked against each other.
    pub pairs: Vec<(usize, usize)>,
    /// Bodies that are checked against the table.
    pub table_segments: Vec<usize>,
    /// Bodies that are checked against the floor.
    pub floor_bodies: Vec<usize>,
    /// Geometry that could not be used (one line each).
    pub warnings: Vec<String>,
    /// `shapes[shape_start[i]..shape_start[i + 1]]` move with joint `i`.
    shape_start: Vec<usize>,
    /// Per body: scratch indices of its axis ends, and its radius.
    bodies: Vec<(usize, usize, f64)>,
}

/// Scratch space for one check: joint origins, the tip, then both ends of
/// every fitted capsule, in the base frame.
#[derive(Debug, Clone)]
pub struct CollisionScratch {
    pub points: Vec<Point3<f64>>,
}

impl CollisionModel {
    /// The capsule model of `chain` from `tree`'s collision geometry; mesh
    /// paths relative to the working directory.
    pub fn from_urdf(tree: &KinematicTree, chain: &Chain, table: Option<Table>) -> Self {
        Self::from_urdf_with(tree, chain, table, &MeshResolver::default())
    }

    /// [`Self::from_urdf`] with collision meshes found through `resolver`.
    pub fn from_urdf_with(tree: &KinematicTree, chain: &Chain, table: Option<Table>, resolver: &MeshResolver) -> Self {
        let LinkGeometry { radii, shapes, warnings } = link_geometry(tree, chain, resolver);
        let mut model = Self::calibrated(chain, radii, shapes, table, None);
        model.warnings = warnings;
        model
    }

    /// The same bodies with a floor at height `z`, recalibrated.
    pub fn with_floor(self, chain: &Chain, z: f64) -> Self {
        let warnings = self.warnings;
        let mut model = Self::calibrated(chain, self.radii, self.shapes, self.table, Some(z));
        model.warnings = warnings;
        model
    }

    /// A model of the given bodies whose always-touching pairs are disabled.
    pub fn calibrated(
        chain: &Chain,
        radii: Vec<f64>,
        mut shapes: Vec<Capsule>,
        table: Option<Table>,
        floor: Option<f64>,
    ) -> Self {
        let n = chain.dof();
        shapes.retain(|c| c.segment < n);
        shapes.sort_by_key(|c| c.segment);
        let shape_start = (0..=n).map(|i| shapes.partition_point(|c| c.segment < i)).collect();
        let bodies = body_table(&radii, &shapes);
        let mut model = Self {
            radii,
            shapes,
            table,
            floor,
            pairs: Vec::new(),
            table_segments: Vec::new(),
            floor_bodies: Vec::new(),
            warnings: Vec::new(),
            shape_start,
            bodies,
        };
        let live: Vec<usize> = (0..model.bodies.len()).filter(|&b| model.radius(b) > 0.0).collect();
        let candidates: Vec<(usize, usize)> = live
            .iter()
            .flat_map(|&x| live.iter().map(move |&y| (x, y)))
            .filter(|&(x, y)| x < y && model.segment(x).abs_diff(model.segment(y)) >= 2)
            .collect();
        model.pairs = candidates;
        model.table_segments = if table.is_some() { live.clone() } else { Vec::new() };
        model.floor_bodies = if floor.is_some() { live } else { Vec::new() };
        model.disable_permanent_contacts(chain);
        model
    }

    /// Drops the pairs, table and floor checks that hit in ≥ 95 % of random configurations.
    fn disable_permanent_contacts(&mut self, chain: &Chain) {
        let mut pair_hits = vec![0usize; self.pairs.len()];
        let mut table_hits = vec![0usize; self.table_segments.len()];
        let mut floor_hits = vec![0usize; self.floor_bodies.len()];
        let mut rng = ChaCha8Rng::seed_from_u64(0x1c0111);
        let mut q = vec![0.0; chain.dof()];
        let mut s = self.scratch();
        for _ in 0..CALIBRATION_SAMPLES {
            chain.fill_random(&mut rng, &mut q);
            self.place(chain, &q, &mut s);
            let p = &s.points;
            for (hits, &(x, y)) in pair_hits.iter_mut().zip(&self.pairs) {
                *hits += self.pair_touches(p, x, y) as usize;
            }
            for (hits, &b) in table_hits.iter_mut().zip(&self.table_segments) {
                *hits += self.below_table(p, b) as usize;
            }
            for (hits, &b) in floor_hits.iter_mut().zip(&self.floor_bodies) {
                *hits += self.below_floor(p, b) as usize;
            }
        }
        let always = (ALWAYS_FRACTION * CALIBRATION_SAMPLES as f64) as usize;
        keep_rare(&mut self.pairs, pair_hits, always);
        keep_rare(&mut self.table_segments, table_hits, always);
        keep_rare(&mut self.floor_bodies, floor_hits, always);
    }

    /// A model that never reports a collision.
    pub fn none(dof: usize) -> Self {
        Self {
            radii: vec![0.0; dof],
            shapes: Vec::new(),
            table: None,
            floor: None,
            pairs: Vec::new(),
            table_segments: Vec::new(),
            floor_bodies: Vec::new(),
            warnings: Vec::new(),
            shape_start: vec![0; dof + 1],
            bodies: body_table(&vec![0.0; dof], &[]),
        }
    }

    pub fn scratch(&self) -> CollisionScratch {
        CollisionScratch { points: vec![Point3::origin(); self.radii.len() + 1 + 2 * self.shapes.len()] }
    }

    /// Places every body for configuration `q` (checked length: the chain's
    /// dof) and returns the tip pose.
    #[inline]
    pub fn place(&self, chain: &Chain, q: &[f64], scratch: &mut CollisionScratch) -> Isometry3<f64> {
        let n = self.radii.len();
        let points = &mut scratch.points;
        let last = chain.fold_joints(q, |i, frame| {
            points[i] = Point3::from(frame.translation.vector);
            for k in self.shape_start[i]..self.shape_start[i + 1] {
                points[n + 1 + 2 * k] = frame * self.shapes[k].a;
                points[n + 2 + 2 * k] = frame * self.shapes[k].b;
            }
        });
        // The last capsule ends at the tip link; a tool offset moves only the tool point.
        points[n] = last * Point3::from(chain.flange_offset().translation.vector);
        last * chain.tip_offset
    }

    /// True when the configuration last placed into `scratch` collides with
    /// itself, the table or the floor.
    #[inline]
    pub fn in_collision(&self, scratch: &CollisionScratch) -> bool {
        let p = &scratch.points;
        self.floor_bodies.iter().any(|&b| self.below_floor(p, b))
            || self.table_segments.iter().any(|&b| self.below_table(p, b))
            || self.pairs.iter().any(|&(x, y)| self.pair_touches(p, x, y))
    }

    /// What the configuration last placed into `scratch` hits first, in the
    /// order [`Self::in_collision`] checks: floor, table, itself.
    #[inline]
    pub fn collision_kind(&self, scratch: &CollisionScratch) -> Option<CollisionKind> {
        let p = &scratch.points;
        if self.floor_bodies.iter().any(|&b| self.below_floor(p, b)) {
            Some(CollisionKind::Floor)
        } else if self.table_segments.iter().any(|&b| self.below_table(p, b)) {
            Some(CollisionKind::Table)
        } else if self.pairs.iter().any(|&(x, y)| self.pair_touches(p, x, y)) {
            Some(CollisionKind::SelfCollision)
        } else {
            None
        }
    }

    /// Bodies with a radius (the ones that can collide).
    pub fn capsule_count(&self) -> usize {
        self.bodies.iter().filter(|b| b.2 > 0.0).count()
    }

    /// Every body as placed in `scratch`: axis ends and radius (0: unchecked).
    pub fn capsules<'a>(
        &'a self,
        scratch: &'a CollisionScratch,
    ) -> impl Iterator<Item = (Point3<f64>, Point3<f64>, f64)> + 'a {
        self.bodies.iter().map(|&(a, e, r)| (scratch.points[a], scratch.points[e], r))
    }

    /// Indices into the scratch points of body `b`'s axis ends.
    #[inline]
    fn ends(&self, b: usize) -> (usize, usize) {
        (self.bodies[b].0, self.bodies[b].1)
    }

    #[inline]
    fn radius(&self, b: usize) -> f64 {
        self.bodies[b].2
    }

    fn segment(&self, b: usize) -> usize {
        let n = self.radii.len();
        if b < n { b } else { self.shapes[b - n].segment }
    }

    #[inline]
    fn below_floor(&self, points: &[Point3<f64>], body: usize) -> bool {
        let Some(floor) = self.floor else { return false };
        let (a, b) = self.ends(body);
        points[a].z.min(points[b].z) - self.radius(body) < floor
    }

    #[inline]
    fn below_table(&self, points: &[Point3<f64>], body: usize) -> bool {
        let Some(table) = &self.table else { return false };
        let (ia, ib) = self.ends(body);
        let (a, b, r) = (&points[ia], &points[ib], self.radius(body));
        // Clip the capsule's axis to the footprint (Liang–Barsky); the lowest
        // point of what remains is one of the clipped ends.
        let (mut t0, mut t1) = (0.0_f64, 1.0_f64);
        for axis in 0..2 {
            let d = b[axis] - a[axis];
            let (lo, hi) = (table.min_xy[axis] - a[axis], table.max_xy[axis] - a[axis]);
            if d.abs() < 1e-15 {
                if lo > 0.0 || hi < 0.0 {
                    return false;
                }
            } else {
                let (u, v) = if d > 0.0 { (lo / d, hi / d) } else { (hi / d, lo / d) };
                t0 = t0.max(u);
                t1 = t1.min(v);
            }
        }
        if t0 > t1 {
            return false;
        }
        let z = |t: f64| a.z + (b.z - a.z) * t;
        z(t0).min(z(t1)) - r < table.z
    }

    #[inline]
    fn pair_touches(&self, points: &[Point3<f64>], x: usize, y: usize) -> bool {
        let reach = self.radius(x) + self.radius(y);
        let ((a1, b1), (a2, b2)) = (self.ends(x), self.ends(y));
        segment_distance_sq(&points[a1], &points[b1], &points[a2], &points[b2]) < reach * reach
    }
}

/// Keeps the items hit fewer than `always` times, the most often hit first so
/// that a colliding sample is rejected after few checks.
fn keep_rare<T: Copy>(items: &mut Vec<T>, hits: Vec<usize>, always: usize) {
    let mut kept: Vec<(T, usize)> = items.iter().copied().zip(hits).filter(|&(_, h)| h < always).collect();
    kept.sort_by_key(|&(_, h)| std::cmp::Reverse(h));
    *items = kept.into_iter().map(|(item, _)| item).collect();
}

/// Scratch indices of each body's axis ends and its radius: segments, then shapes.
fn body_table(radii: &[f64], shapes: &[Capsule]) -> Vec<(usize, usize, f64)> {
    let n = radii.len();
    let segments = radii.iter().enumerate().map(|(i, &r)| (i, i + 1, r));
    let fitted = shapes.iter().enumerate().map(|(k, c)| (n + 1 + 2 * k, n + 2 + 2 * k, c.radius));
    segments.chain(fitted).collect()
}

/// Squared distance between segments `p1 q1` and `p2 q2` (Ericson, Real-Time
/// Collision Detection, §5.1.9).
pub fn segment_distance_sq(p1: &Point3<f64>, q1: &Point3<f64>, p2: &Point3<f64>, q2: &Point3<f64>) -> f64 {
    const EPS: f64 = 1e-12;
    let d1 = q1 - p1;
    let d2 = q2 - p2;
    let r = p1 - p2;
    let a = d1.norm_squared();
    let e = d2.norm_squared();
    let f = d2.dot(&r);
    let (s, t) = if a <= EPS && e <= EPS {
        (0.0, 0.0)
    } else if a <= EPS {
        (0.0, (f / e).clamp(0.0, 1.0))
    } else {
        let c = d1.dot(&r);
        if e <= EPS {
            ((-c / a).clamp(0.0, 1.0), 0.0)
        } else {
            let b = d1.dot(&d2);
            let denom = a * e - b * b;
            let mut s = if denom > EPS { ((b * f - c * e) / denom).clamp(0.0, 1.0) } else { 0.0 };
            let mut t = (b * s + f) / e;
            if t < 0.0 {
                t = 0.0;
                s = (-c / a).clamp(0.0, 1.0);
            } else if t > 1.0 {
                t = 1.0;
                s = ((b - c) / a).clamp(0.0, 1.0);
            }
            (s, t)
        }
    };
    ((p1 + d1 * s) - (p2 + d2 * t)).norm_squared()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segment_distance_cases() {
        let p = |x, y, z| Point3::new(x, y, z);
        // Parallel segments 1 apart.
        assert!(
            (segment_distance_sq(&p(0., 0., 0.), &p(1., 0., 0.), &p(0., 1., 0.), &p(1., 1., 0.)) - 1.0).abs() < 1e-12
        );
        // Crossing segments.
        assert!(segment_distance_sq(&p(-1., 0., 0.), &p(1., 0., 0.), &p(0., -1., 0.), &p(0., 1., 0.)) < 1e-12);
        // Skew: x axis and a line parallel to y at z = 2.
        assert!(
            (segment_distance_sq(&p(-1., 0., 0.), &p(1., 0., 0.), &p(0., -1., 2.), &p(0., 1., 2.)) - 4.0).abs() < 1e-12
        );
        // Endpoint to endpoint, and a degenerate point segment.
        assert!(
            (segment_distance_sq(&p(0., 0., 0.), &p(1., 0., 0.), &p(2., 0., 0.), &p(3., 0., 0.)) - 1.0).abs() < 1e-12
        );
        assert!(
            (segment_distance_sq(&p(0., 0., 0.), &p(0., 0., 0.), &p(0., 3., 0.), &p(1., 3., 0.)) - 9.0).abs() < 1e-12
        );
    }
}
