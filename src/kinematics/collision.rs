//! Self- and table-collision check with one capsule per moving segment.
//!
//! The approximation: segment `i` runs from the origin of movable joint `i` to
//! the origin of joint `i + 1` (the last one to the tip). Its radius is the
//! largest radius among the URDF `<collision>` cylinders, capsules and spheres
//! of the links that move with joint `i` (0 when there are none: not checked).
//! Two capsules collide when their segments come closer than the sum of radii;
//! a capsule hits the table when a part of its axis above the tabletop's
//! footprint comes closer to the tabletop than its radius.
//!
//! As MoveIt's setup assistant does, pairs that touch in (almost) every
//! configuration are disabled: adjacent segments, and pairs (or segments and the
//! table) found in contact in ≥ 95 % of random configurations within limits.

use nalgebra::Point3;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::chain::Chain;
use super::tree::KinematicTree;

const CALIBRATION_SAMPLES: usize = 1000;
const ALWAYS_FRACTION: f64 = 0.95;

/// A horizontal tabletop: height and footprint in the chain's base frame.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Table {
    pub z: f64,
    pub min_xy: [f64; 2],
    pub max_xy: [f64; 2],
}

#[derive(Debug, Clone)]
pub struct CollisionModel {
    /// Capsule radius per segment (one per movable joint), metres.
    pub radii: Vec<f64>,
    pub table: Option<Table>,
    /// Segment pairs that are checked against each other.
    pub pairs: Vec<(usize, usize)>,
    /// Segments that are checked against the table.
    pub table_segments: Vec<usize>,
}

/// Scratch space for one check: joint origins and the tip.
pub type CollisionScratch = Vec<Point3<f64>>;

impl CollisionModel {
    /// The capsule model of `chain` with radii from `tree`'s collision geometry.
    pub fn from_urdf(tree: &KinematicTree, chain: &Chain, table: Option<Table>) -> Self {
        let mut radii = vec![0.0_f64; chain.dof()];
        for link in &chain.links {
            let Some(segment) = link.after_joint else { continue };
            let Some(urdf_link) = tree.urdf.links.iter().find(|l| l.name == link.name) else { continue };
            for collision in &urdf_link.collision {
                let r = match collision.geometry {
                    urdf_rs::Geometry::Cylinder { radius, .. }
                    | urdf_rs::Geometry::Capsule { radius, .. }
                    | urdf_rs::Geometry::Sphere { radius } => radius,
                    _ => 0.0,
                };
                if r.is_finite() {
                    radii[segment] = radii[segment].max(r);
                }
            }
        }
        Self::calibrated(chain, radii, table)
    }

    /// A model with the given radii whose always-touching pairs are disabled.
    pub fn calibrated(chain: &Chain, radii: Vec<f64>, table: Option<Table>) -> Self {
        let n = chain.dof();
        let candidates: Vec<(usize, usize)> = (0..n)
            .flat_map(|i| (i + 2..n).map(move |j| (i, j)))
            .filter(|&(i, j)| radii[i] > 0.0 && radii[j] > 0.0)
            .collect();
        let table_candidates: Vec<usize> = match table {
            Some(_) => (0..n).filter(|&i| radii[i] > 0.0).collect(),
            None => Vec::new(),
        };
        let mut model = Self { radii, table, pairs: candidates.clone(), table_segments: table_candidates.clone() };

        let mut pair_hits = vec![0usize; candidates.len()];
        let mut table_hits = vec![0usize; table_candidates.len()];
        let mut rng = ChaCha8Rng::seed_from_u64(0x1c0111);
        let mut q = vec![0.0; n];
        let mut points = model.scratch();
        for _ in 0..CALIBRATION_SAMPLES {
            chain.fill_random(&mut rng, &mut q);
            chain.fk_points(&q, &mut points);
            for (hits, &(i, j)) in pair_hits.iter_mut().zip(&candidates) {
                *hits += model.pair_touches(&points, i, j) as usize;
            }
            for (hits, &i) in table_hits.iter_mut().zip(&table_candidates) {
                *hits += model.segment_below_table(&points, i) as usize;
            }
        }
        let always = (ALWAYS_FRACTION * CALIBRATION_SAMPLES as f64) as usize;
        model.pairs = candidates.into_iter().zip(pair_hits).filter(|&(_, h)| h < always).map(|(p, _)| p).collect();
        model.table_segments =
            table_candidates.into_iter().zip(table_hits).filter(|&(_, h)| h < always).map(|(s, _)| s).collect();
        model
    }

    /// A model that never reports a collision.
    pub fn none(dof: usize) -> Self {
        Self { radii: vec![0.0; dof], table: None, pairs: Vec::new(), table_segments: Vec::new() }
    }

    pub fn scratch(&self) -> CollisionScratch {
        vec![Point3::origin(); self.radii.len() + 1]
    }

    /// True when the configuration whose joint origins and tip are `points`
    /// (as written by [`Chain::fk_points`]) collides with itself or the table.
    #[inline]
    pub fn in_collision(&self, points: &[Point3<f64>]) -> bool {
        self.table_segments.iter().any(|&i| self.segment_below_table(points, i))
            || self.pairs.iter().any(|&(i, j)| self.pair_touches(points, i, j))
    }

    #[inline]
    fn segment_below_table(&self, points: &[Point3<f64>], i: usize) -> bool {
        let Some(table) = &self.table else { return false };
        let (a, b, r) = (&points[i], &points[i + 1], self.radii[i]);
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
    fn pair_touches(&self, points: &[Point3<f64>], i: usize, j: usize) -> bool {
        let reach = self.radii[i] + self.radii[j];
        segment_distance_sq(&points[i], &points[i + 1], &points[j], &points[j + 1]) < reach * reach
    }
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
