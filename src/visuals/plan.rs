//! What the studio draws for each link, and what it draws instead when a
//! visual cannot be drawn. Per link whose visuals all fail, in order:
//!
//! 1. the link's collision geometry, when one of its collision meshes loads;
//! 2. the link's collision primitives (boxes, cylinders, spheres, capsules);
//! 3. a skeleton: capsules from the link's origin to its child joints.
//!
//! A robot with nothing to draw at all gets the skeleton for every link:
//! the scene is never empty.

use std::collections::HashMap;
use std::sync::Arc;

use nalgebra::{Isometry3, Translation3, UnitQuaternion, Vector3};

use super::mesh::{MeshData, MeshError, load_mesh};
use super::resolve::MeshResolver;
use crate::kinematics::{KinematicTree, origin_isometry};

/// Grey of a part whose URDF and mesh give no colour.
pub const DEFAULT_COLOR: [f32; 4] = [0.7, 0.7, 0.72, 1.0];
/// Amber of skeleton capsules: plainly a stand-in.
pub const SKELETON_COLOR: [f32; 4] = [0.93, 0.62, 0.18, 1.0];

/// A shape in its part's frame (cylinders and capsules along z, as in URDF).
#[derive(Debug, Clone)]
pub enum Shape {
    Mesh { data: Arc<MeshData>, scale: [f64; 3] },
    Box { size: [f64; 3] },
    Cylinder { radius: f64, length: f64 },
    Capsule { radius: f64, length: f64 },
    Sphere { radius: f64 },
}

/// Where a drawn part comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Visual,
    CollisionMesh,
    CollisionPrimitive,
    Skeleton,
}

impl Source {
    pub fn label(self) -> &'static str {
        match self {
            Source::Visual => "visual",
            Source::CollisionMesh => "collision mesh",
            Source::CollisionPrimitive => "collision primitives",
            Source::Skeleton => "skeleton",
        }
    }
}

/// One drawn shape of a link, placed in the link frame.
#[derive(Debug, Clone)]
pub struct Part {
    pub shape: Shape,
    pub origin: Isometry3<f64>,
    /// The URDF's colour, which wins over the mesh's own; `None`: the mesh's
    /// material colour, else [`DEFAULT_COLOR`].
    pub color: Option<[f32; 4]>,
    pub source: Source,
}

impl Part {
    /// The colour a sub-mesh (or primitive, `None`) of this part is drawn in.
    pub fn color_for(&self, mesh_color: Option<[f32; 4]>) -> [f32; 4] {
        self.color.or(mesh_color).unwrap_or(DEFAULT_COLOR)
    }
}

/// A visual that could not be drawn, and what is drawn instead.
#[derive(Debug, Clone, PartialEq)]
pub struct Missing {
    pub link: String,
    pub reason: String,
    /// `None`: the link's other visuals are drawn.
    pub fallback: Option<Source>,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.fallback {
            Some(source) => write!(f, "{}: {}; drawn as {}", self.link, self.reason, source.label()),
            None => write!(f, "{}: {}; the link's other visuals are drawn", self.link, self.reason),
        }
    }
}

/// What was drawn, for the notice and the console line.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VisualReport {
    /// Visuals drawn from their own geometry.
    pub drawn: usize,
    /// Parts drawn in place of missing visuals.
    pub from_fallbacks: usize,
    pub missing: Vec<Missing>,
    /// The URDF has no visual geometry at all: the whole robot is a skeleton.
    pub skeleton_only: bool,
}

impl VisualReport {
    /// `visuals: N drawn, M from fallbacks, K missing`
    pub fn summary(&self) -> String {
        format!("visuals: {} drawn, {} from fallbacks, {} missing", self.drawn, self.from_fallbacks, self.missing.len())
    }

    /// Anything the user should be told about.
    pub fn has_notice(&self) -> bool {
        !self.missing.is_empty() || self.skeleton_only
    }
}

/// Every link's parts (indexed like `tree.links`) and the report.
#[derive(Debug, Clone, Default)]
pub struct VisualPlan {
    pub links: Vec<Vec<Part>>,
    pub report: VisualReport,
}

impl VisualPlan {
    pub fn part_count(&self) -> usize {
        self.links.iter().map(Vec::len).sum()
    }
}

/// Decodes every visual of `tree` and chooses the fallbacks.
pub fn plan_visuals(tree: &KinematicTree, resolver: &MeshResolver) -> VisualPlan {
    let mut meshes = MeshCache::new(resolver);
    let colors = named_colors(&tree.urdf);
    let skeleton = Skeleton::of(tree);
    let mut plan = VisualPlan::default();
    for (index, link) in tree.links.iter().enumerate() {
        let parts = match tree.urdf.links.iter().find(|l| l.name == link.name) {
            Some(urdf_link) => link_parts(urdf_link, index, &colors, &mut meshes, &skeleton, &mut plan.report),
            None => Vec::new(),
        };
        plan.links.push(parts);
    }
    if plan.part_count() == 0 {
        plan.links = (0..tree.links.len()).map(|l| skeleton.parts(l)).collect();
        plan.report.from_fallbacks = plan.part_count();
        plan.report.skeleton_only = true;
    }
    plan
}

/// A link's own visuals, or its fallback when none of them can be drawn.
fn link_parts(
    link: &urdf_rs::Link,
    index: usize,
    colors: &HashMap<&str, [f32; 4]>,
    meshes: &mut MeshCache,
    skeleton: &Skeleton,
    report: &mut VisualReport,
) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut failures = Vec::new();
    for visual in &link.visual {
        let color = visual_color(visual, colors);
        match shape(&visual.geometry, meshes) {
            Ok(shape) => {
                parts.push(Part { shape, origin: origin_isometry(&visual.origin), color, source: Source::Visual })
            }
            Err(e) => failures.push(e.to_string()),
        }
    }
    report.drawn += parts.len();
    if failures.is_empty() {
        return parts;
    }
    let fallback_color = link.visual.iter().find_map(|v| visual_color(v, colors));
    let fallback =
        if parts.is_empty() { fallback_parts(link, index, fallback_color, meshes, skeleton) } else { Vec::new() };
    let source = fallback.first().map(|p| p.source);
    report.from_fallbacks += fallback.len();
    report.missing.extend(failures.into_iter().map(|reason| Missing {
        link: link.name.clone(),
        reason,
        fallback: source,
    }));
    parts.extend(fallback);
    parts
}

/// Collision meshes, else collision primitives, else the skeleton.
fn fallback_parts(
    link: &urdf_rs::Link,
    index: usize,
    color: Option<[f32; 4]>,
    meshes: &mut MeshCache,
    skeleton: &Skeleton,
) -> Vec<Part> {
    let collision: Vec<Part> = link
        .collision
        .iter()
        .filter_map(|c| {
            let shape = shape(&c.geometry, meshes).ok()?;
            let source =
                if matches!(shape, Shape::Mesh { .. }) { Source::CollisionMesh } else { Source::CollisionPrimitive };
            Some(Part { shape, origin: origin_isometry(&c.origin), color, source })
        })
        .collect();
    let mut collision = collision;
    // The collision mesh names the fallback when there is one: list it first.
    collision.sort_by_key(|p| p.source != Source::CollisionMesh);
    if collision.is_empty() { skeleton.parts(index) } else { collision }
}

/// A URDF geometry as a shape; meshes are decoded (once per file).
fn shape(geometry: &urdf_rs::Geometry, meshes: &mut MeshCache) -> Result<Shape, MeshError> {
    // Sizes are checked finite by the tree; a negative one is read as its size.
    Ok(match geometry {
        urdf_rs::Geometry::Box { size } => Shape::Box { size: size.0.map(f64::abs) },
        urdf_rs::Geometry::Cylinder { radius, length } => {
            Shape::Cylinder { radius: radius.abs(), length: length.abs() }
        }
        urdf_rs::Geometry::Capsule { radius, length } => Shape::Capsule { radius: radius.abs(), length: length.abs() },
        urdf_rs::Geometry::Sphere { radius } => Shape::Sphere { radius: radius.abs() },
        urdf_rs::Geometry::Mesh { filename, scale } => {
            Shape::Mesh { data: meshes.get(filename)?, scale: scale.as_ref().map_or([1.0; 3], |s| s.0) }
        }
    })
}

/// Decoded files by URI: a mesh used by several links, or as visual and
/// collision, is read once.
struct MeshCache<'a> {
    resolver: &'a MeshResolver,
    loaded: HashMap<String, Result<Arc<MeshData>, MeshError>>,
}

impl<'a> MeshCache<'a> {
    fn new(resolver: &'a MeshResolver) -> Self {
        Self { resolver, loaded: HashMap::new() }
    }

    fn get(&mut self, uri: &str) -> Result<Arc<MeshData>, MeshError> {
        let resolver = self.resolver;
        self.loaded
            .entry(uri.to_string())
            .or_insert_with(|| resolver.resolve(uri).and_then(|path| load_mesh(&path)).map(Arc::new))
            .clone()
    }
}

/// Colours of the URDF's top-level materials, by name.
fn named_colors(urdf: &urdf_rs::Robot) -> HashMap<&str, [f32; 4]> {
    urdf.materials.iter().filter_map(|m| Some((m.name.as_str(), rgba(m.color.as_ref()?)))).collect()
}

/// A visual's colour: its own material's, else the named material's.
fn visual_color(visual: &urdf_rs::Visual, named: &HashMap<&str, [f32; 4]>) -> Option<[f32; 4]> {
    let material = visual.material.as_ref()?;
    material.color.as_ref().map(rgba).or_else(|| named.get(material.name.as_str()).copied())
}

fn rgba(color: &urdf_rs::Color) -> [f32; 4] {
    color.rgba.0.map(|c| if c.is_finite() { c.clamp(0.0, 1.0) as f32 } else { 1.0 })
}

/// Capsules between joint origins: the stand-in that needs no geometry.
struct Skeleton {
    /// Child joint origins (translations) of each link, in the link frame.
    children: Vec<Vec<Vector3<f64>>>,
    radius: f64,
}

impl Skeleton {
    fn of(tree: &KinematicTree) -> Self {
        let mut children = vec![Vec::new(); tree.links.len()];
        for joint in &tree.joints {
            children[joint.parent_link].push(joint.origin.translation.vector);
        }
        Self { children, radius: skeleton_radius(tree) }
    }

    /// A capsule to each child joint that is away from the link origin, or a
    /// sphere at the origin when there is none (a leaf, or coincident frames).
    fn parts(&self, link: usize) -> Vec<Part> {
        let part = |shape, origin| Part { shape, origin, color: Some(SKELETON_COLOR), source: Source::Skeleton };
        let segments: Vec<Part> = self.children[link]
            .iter()
            .filter(|v| v.norm() > self.radius)
            .map(|v| part(Shape::Capsule { radius: self.radius, length: v.norm() }, segment_frame(v)))
            .collect();
        if segments.is_empty() {
            vec![part(Shape::Sphere { radius: self.radius * 1.3 }, Isometry3::identity())]
        } else {
            segments
        }
    }
}

/// About a tenth of the typical link length, within 8–40 mm: thick enough to
/// see on a 5 m mobile robot, thin enough on a 20 cm gripper.
fn skeleton_radius(tree: &KinematicTree) -> f64 {
    let mut lengths: Vec<f64> =
        tree.joints.iter().map(|j| j.origin.translation.vector.norm()).filter(|l| *l > 1e-6).collect();
    lengths.sort_by(f64::total_cmp);
    let median = lengths.get(lengths.len() / 2).copied().unwrap_or(0.1);
    (median * 0.1).clamp(0.008, 0.04)
}

/// The frame halfway along `v` whose z axis points along it.
fn segment_frame(v: &Vector3<f64>) -> Isometry3<f64> {
    let rotation = UnitQuaternion::rotation_between(&Vector3::z(), v)
        .unwrap_or_else(|| UnitQuaternion::from_axis_angle(&Vector3::x_axis(), std::f64::consts::PI));
    Isometry3::from_parts(Translation3::from(v / 2.0), rotation)
}
