//! Capsules fitted to URDF collision geometry, for every link that moves with
//! a chain joint: the chain's own links and the links fixed below them (e.g.
//! Panda's `panda_linkN_sc`), each capsule in the frame of its movable joint.

use nalgebra::{Isometry3, Matrix3, Point3, Vector3};

use super::chain::Chain;
use super::tree::{JointKind, KinematicTree, origin_isometry};
use crate::visuals::{MeshResolver, load_mesh};

/// A capsule fixed to the frame of movable joint `segment` (after its
/// motion): the points within `radius` of the axis `a`–`b`.
#[derive(Debug, Clone, PartialEq)]
pub struct Capsule {
    pub segment: usize,
    pub a: Point3<f64>,
    pub b: Point3<f64>,
    pub radius: f64,
    /// The link whose geometry it covers.
    pub link: String,
}

/// The collision geometry of `chain`'s moving links, split as the model uses it.
#[derive(Debug, Clone, Default)]
pub struct LinkGeometry {
    /// Per segment: the largest cylinder, capsule or sphere radius of the
    /// chain's own links (the skeleton capsule between joint origins).
    pub radii: Vec<f64>,
    /// Boxes and meshes of chain links, and every shape of fixed child links.
    pub shapes: Vec<Capsule>,
    /// One line per geometry that could not be used.
    pub warnings: Vec<String>,
}

/// Collects and fits the geometry of every link that moves with a joint of `chain`.
pub fn link_geometry(tree: &KinematicTree, chain: &Chain, resolver: &MeshResolver) -> LinkGeometry {
    let mut out = LinkGeometry { radii: vec![0.0; chain.dof()], ..Default::default() };
    // Such a link's pose depends on a mimic joint's motion, which a capsule fixed
    // to a movable joint's frame cannot follow; the skeleton still covers it.
    for link in chain.links.iter().filter(|l| l.after_mimic.is_some()) {
        out.warnings.push(format!("collision geometry of link '{}' skipped: it moves with a mimic joint", link.name));
    }
    for (link, segment, offset, on_chain) in moving_links(tree, chain) {
        let Some(urdf_link) = tree.urdf.links.iter().find(|l| l.name == tree.links[link].name) else { continue };
        for collision in &urdf_link.collision {
            let frame = offset * origin_isometry(&collision.origin);
            match (&collision.geometry, on_chain) {
                // The chain's own round shapes keep the skeleton approximation,
                // so the built-in robots' datasets stay as they were.
                (
                    urdf_rs::Geometry::Cylinder { radius, .. }
                    | urdf_rs::Geometry::Capsule { radius, .. }
                    | urdf_rs::Geometry::Sphere { radius },
                    true,
                ) => {
                    if radius.is_finite() {
                        out.radii[segment] = out.radii[segment].max(*radius);
                    }
                }
                (geometry, _) => match fit_geometry(geometry, resolver) {
                    Ok(Some((a, b, radius))) => out.shapes.push(Capsule {
                        segment,
                        a: frame * a,
                        b: frame * b,
                        radius,
                        link: urdf_link.name.clone(),
                    }),
                    Ok(None) => {}
                    Err(reason) => {
                        out.warnings.push(format!("collision geometry of link '{}' skipped: {reason}", urdf_link.name))
                    }
                },
            }
        }
    }
    out.shapes.sort_by_key(|c| c.segment);
    out
}

/// Every link that moves with a chain joint: (tree index, segment, segment
/// frame → link frame, whether it lies on the chain). Chain links fixed to the
/// base, and what hangs off them, never move and are left out.
fn moving_links(tree: &KinematicTree, chain: &Chain) -> Vec<(usize, usize, Isometry3<f64>, bool)> {
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); tree.links.len()];
    for (j, joint) in tree.joints.iter().enumerate() {
        children[joint.parent_link].push(j);
    }
    let on_chain: Vec<usize> = chain.links.iter().filter_map(|l| tree.link_index(&l.name).ok()).collect();
    let mut out = Vec::new();
    for link in &chain.links {
        let (Some(segment), Ok(index), None) = (link.after_joint, tree.link_index(&link.name), link.after_mimic) else {
            continue;
        };
        out.push((index, segment, link.offset, true));
        // Links fixed below this one (not on the chain), depth first.
        let mut stack = vec![(index, link.offset)];
        while let Some((parent, offset)) = stack.pop() {
            for &j in &children[parent] {
                let joint = &tree.joints[j];
                if joint.kind != JointKind::Fixed || on_chain.contains(&joint.child_link) {
                    continue;
                }
                let child_offset = offset * joint.origin;
                out.push((joint.child_link, segment, child_offset, false));
                stack.push((joint.child_link, child_offset));
            }
        }
    }
    out
}

type Fit = (Point3<f64>, Point3<f64>, f64);

/// A capsule covering `geometry` in its own frame; `None` for an empty one
/// (a zero-size box), an error for a mesh that cannot be read.
fn fit_geometry(geometry: &urdf_rs::Geometry, resolver: &MeshResolver) -> Result<Option<Fit>, String> {
    let fit = match geometry {
        urdf_rs::Geometry::Cylinder { radius, length } | urdf_rs::Geometry::Capsule { radius, length } => {
            let h = Vector3::new(0.0, 0.0, length / 2.0);
            (Point3::from(-h), Point3::from(h), *radius)
        }
        urdf_rs::Geometry::Sphere { radius } => (Point3::origin(), Point3::origin(), *radius),
        urdf_rs::Geometry::Box { size } => {
            let h = Vector3::from(size.0) / 2.0;
            let corners: Vec<Point3<f64>> =
                (0..8).map(|c| Point3::new(sign(c, 0) * h.x, sign(c, 1) * h.y, sign(c, 2) * h.z)).collect();
            fit_points(&corners).ok_or("a box without size")?
        }
        urdf_rs::Geometry::Mesh { filename, scale } => {
            let path = resolver.resolve(filename).map_err(|e| e.to_string())?;
            let mesh = load_mesh(&path).map_err(|e| e.to_string())?;
            let s = scale.as_ref().map_or(Vector3::repeat(1.0), |s| Vector3::from(s.0));
            let points: Vec<Point3<f64>> = mesh
                .parts
                .iter()
                .flat_map(|p| &p.positions)
                .map(|v| Point3::new(v[0] as f64 * s.x, v[1] as f64 * s.y, v[2] as f64 * s.z))
                .collect();
            fit_points(&points).ok_or_else(|| format!("{}: no usable vertices", path.display()))?
        }
    };
    let (a, b, r) = fit;
    let usable = r.is_finite() && a.coords.iter().chain(b.coords.iter()).all(|v| v.is_finite());
    Ok((usable && r > 0.0).then_some(fit))
}

fn sign(corner: usize, axis: usize) -> f64 {
    if corner >> axis & 1 == 1 { 1.0 } else { -1.0 }
}

/// The smallest-volume capsule among those along the three principal axes of
/// `points` that cover every point (so it covers their convex hull).
pub fn fit_points(points: &[Point3<f64>]) -> Option<Fit> {
    if points.is_empty() || points.iter().any(|p| !p.coords.iter().all(|v| v.is_finite())) {
        return None;
    }
    let n = points.len() as f64;
    let center = Point3::from(points.iter().map(|p| p.coords).sum::<Vector3<f64>>() / n);
    let covariance = points.iter().fold(Matrix3::zeros(), |m, p| {
        let d = p - center;
        m + d * d.transpose()
    }) / n;
    let axes = covariance.symmetric_eigen().eigenvectors;
    (0..3)
        .map(|k| fit_along(points, &center, &axes.column(k).normalize()))
        .min_by(|x, y| capsule_volume(x).total_cmp(&capsule_volume(y)))
}

/// The tightest capsule with axis direction `axis` through `center` covering `points`.
fn fit_along(points: &[Point3<f64>], center: &Point3<f64>, axis: &Vector3<f64>) -> Fit {
    let split = |p: &Point3<f64>| {
        let d = p - center;
        let t = d.dot(axis);
        (t, (d - axis * t).norm())
    };
    let radius = points.iter().map(|p| split(p).1).fold(0.0, f64::max);
    // A point at axial t and distance d is covered by the end caps while the
    // segment reaches within sqrt(r² − d²) of t.
    let (mut s0, mut s1) = (f64::INFINITY, f64::NEG_INFINITY);
    for p in points {
        let (t, d) = split(p);
        let reach = (radius * radius - d * d).max(0.0).sqrt();
        s0 = s0.min(t + reach);
        s1 = s1.max(t - reach);
    }
    if s0 <= s1 {
        return (center + axis * s0, center + axis * s1, radius);
    }
    // Shorter than wide: a sphere around the middle.
    let middle = center + axis * (0.5 * (s0 + s1));
    let radius = points.iter().map(|p| (p - middle).norm()).fold(0.0, f64::max);
    (middle, middle, radius)
}

fn capsule_volume((a, b, r): &Fit) -> f64 {
    std::f64::consts::PI * r * r * ((b - a).norm() + 4.0 / 3.0 * r)
}
