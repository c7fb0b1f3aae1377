//! A URDF as a validated kinematic tree: links in topological order, each joint
//! with its fixed origin, axis and limits.

use std::collections::HashMap;
use std::path::Path;

use nalgebra::{Isometry3, Translation3, Unit, UnitQuaternion, Vector3};

use super::chain::JointLimits;
use super::error::KinematicsError;

/// How a joint moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JointKind {
    Revolute,
    /// A revolute joint without limits; treated as limited to [-π, π].
    Continuous,
    Prismatic,
    Fixed,
}

impl JointKind {
    pub fn is_movable(self) -> bool {
        self != JointKind::Fixed
    }
}

#[derive(Debug, Clone)]
pub struct TreeLink {
    pub name: String,
    /// Index into [`KinematicTree::joints`] of the joint whose child this link is.
    pub parent_joint: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct TreeJoint {
    pub name: String,
    pub kind: JointKind,
    pub parent_link: usize,
    pub child_link: usize,
    /// Parent link frame → joint frame (the child link frame at q = 0).
    pub origin: Isometry3<f64>,
    pub axis: Unit<Vector3<f64>>,
    pub limits: JointLimits,
    /// URDF `<mimic>`: this joint follows another one.
    pub mimic: Option<MimicOf>,
}

/// A joint's `<mimic>`: value = `multiplier` · value of `joint` + `offset`.
#[derive(Debug, Clone, PartialEq)]
pub struct MimicOf {
    pub joint: String,
    pub multiplier: f64,
    pub offset: f64,
}

/// A whole robot description: every link and joint, validated.
#[derive(Debug, Clone)]
pub struct KinematicTree {
    pub name: String,
    /// Parents come before their children.
    pub links: Vec<TreeLink>,
    pub joints: Vec<TreeJoint>,
    /// The parsed description, kept for visuals and collision geometry.
    pub urdf: urdf_rs::Robot,
}

impl KinematicTree {
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, KinematicsError> {
        let path = path.as_ref();
        let text = crate::atomic_file::read_regular_to_string(path)
            .map_err(|source| KinematicsError::Unreadable { path: path.display().to_string(), source })?;
        Self::from_urdf_str(&text)
    }

    pub fn from_urdf_str(text: &str) -> Result<Self, KinematicsError> {
        let robot =
            urdf_rs::read_from_string(text).map_err(|e| KinematicsError::Malformed(first_line(&e.to_string())))?;
        Self::from_urdf(robot)
    }

    pub fn from_urdf(robot: urdf_rs::Robot) -> Result<Self, KinematicsError> {
        if robot.links.is_empty() {
            return Err(KinematicsError::Empty);
        }
        let mut index: HashMap<&str, usize> = HashMap::new();
        for (i, link) in robot.links.iter().enumerate() {
            check_link(link)?;
            if index.insert(link.name.as_str(), i).is_some() {
                return Err(KinematicsError::DuplicateLink(link.name.clone()));
            }
        }
        let lookup = |joint: &str, link: &str| {
            index
                .get(link)
                .copied()
                .ok_or_else(|| KinematicsError::UnknownJointLink { joint: joint.to_string(), link: link.to_string() })
        };

        let mut joints = Vec::with_capacity(robot.joints.len());
        let mut parent_of: Vec<Option<usize>> = vec![None; robot.links.len()];
        for (j, joint) in robot.joints.iter().enumerate() {
            let parent_link = lookup(&joint.name, &joint.parent.link)?;
            let child_link = lookup(&joint.name, &joint.child.link)?;
            if let Some(first) = parent_of[child_link] {
                return Err(KinematicsError::SeveralParents {
                    link: joint.child.link.clone(),
                    first: robot.joints[first].name.clone(),
                    second: joint.name.clone(),
                });
            }
            parent_of[child_link] = Some(j);
            joints.push(convert_joint(joint, parent_link, child_link)?);
        }

        // Topological order from the roots; links never reached sit on a cycle.
        let mut children: Vec<Vec<usize>> = vec![Vec::new(); robot.links.len()];
        for joint in &joints {
            children[joint.parent_link].push(joint.child_link);
        }
        let mut order: Vec<usize> = (0..robot.links.len()).filter(|&l| parent_of[l].is_none()).collect();
        let mut next = 0;
        while next < order.len() {
            order.extend_from_slice(&children[order[next]]);
            next += 1;
        }
        if order.len() < robot.links.len() {
            let mut reached = vec![false; robot.links.len()];
            order.iter().for_each(|&l| reached[l] = true);
            let cycle = (0..robot.links.len()).filter(|&l| !reached[l]).map(|l| robot.links[l].name.clone()).collect();
            return Err(KinematicsError::Cycle(cycle));
        }

        // Renumber links into topological order.
        let mut new_index = vec![0; robot.links.len()];
        for (new, &old) in order.iter().enumerate() {
            new_index[old] = new;
        }
        let links = order
            .iter()
            .map(|&old| TreeLink { name: robot.links[old].name.clone(), parent_joint: parent_of[old] })
            .collect();
        for joint in &mut joints {
            joint.parent_link = new_index[joint.parent_link];
            joint.child_link = new_index[joint.child_link];
        }
        Ok(Self { name: robot.name.clone(), links, joints, urdf: robot })
    }

    pub fn link_index(&self, name: &str) -> Result<usize, KinematicsError> {
        self.links.iter().position(|l| l.name == name).ok_or_else(|| KinematicsError::UnknownLink {
            link: name.to_string(),
            known: self.links.iter().map(|l| l.name.as_str()).collect::<Vec<_>>().join(", "),
        })
    }

    pub fn joint_index(&self, name: &str) -> Option<usize> {
        self.joints.iter().position(|j| j.name == name)
    }

    /// Sets every mimic joint's value from its master's (one level of mimic at a
    /// time, so a mimic of a mimic settles too; masters missing from the tree are ignored).
    pub fn apply_mimics(&self, joint_values: &mut [f64]) {
        if joint_values.len() != self.joints.len() {
            return;
        }
        for _ in 0..self.joints.len().min(8) {
            for (j, joint) in self.joints.iter().enumerate() {
                let Some(mimic) = &joint.mimic else { continue };
                if let Some(master) = self.joint_index(&mimic.joint) {
                    joint_values[j] = mimic.multiplier * joint_values[master] + mimic.offset;
                }
            }
        }
    }

    /// World pose of every link (indexed like [`Self::links`]) for the given
    /// value of every joint (indexed like [`Self::joints`]; fixed joints ignore it).
    pub fn link_poses(&self, joint_values: &[f64]) -> Result<Vec<Isometry3<f64>>, KinematicsError> {
        if joint_values.len() != self.joints.len() {
            return Err(KinematicsError::WrongDof { expected: self.joints.len(), got: joint_values.len() });
        }
        let mut poses = vec![Isometry3::identity(); self.links.len()];
        for (l, link) in self.links.iter().enumerate() {
            if let Some(j) = link.parent_joint {
                let joint = &self.joints[j];
                poses[l] =
                    poses[joint.parent_link] * joint.origin * joint_motion(joint.kind, &joint.axis, joint_values[j]);
            }
        }
        Ok(poses)
    }
}

/// The joint's own motion for value `q`, in the joint frame.
pub(crate) fn joint_motion(kind: JointKind, axis: &Unit<Vector3<f64>>, q: f64) -> Isometry3<f64> {
    match kind {
        JointKind::Revolute | JointKind::Continuous => {
            Isometry3::from_parts(Translation3::identity(), UnitQuaternion::from_axis_angle(axis, q))
        }
        JointKind::Prismatic => {
            Isometry3::from_parts(Translation3::from(axis.into_inner() * q), UnitQuaternion::identity())
        }
        JointKind::Fixed => Isometry3::identity(),
    }
}

/// URDF origin (xyz, roll-pitch-yaw) as an isometry.
pub fn origin_isometry(pose: &urdf_rs::Pose) -> Isometry3<f64> {
    let [x, y, z] = pose.xyz.0;
    let [roll, pitch, yaw] = pose.rpy.0;
    Isometry3::from_parts(Translation3::new(x, y, z), UnitQuaternion::from_euler_angles(roll, pitch, yaw))
}

/// Largest magnitude a URDF may give a joint limit (rad or m), a joint or link
/// origin offset (m) or a geometry size (m): beyond it forward kinematics loses
/// all precision and sampling within the limits overflows.
pub const MAX_URDF_MAGNITUDE: f64 = 1e6;

/// Refuses values that are not finite or exceed [`MAX_URDF_MAGNITUDE`].
fn check_bounded(joint: &str, what: &'static str, values: &[f64], unit: &'static str) -> Result<(), KinematicsError> {
    for &value in values {
        if !value.is_finite() {
            return Err(KinematicsError::NonFinite { joint: joint.to_string(), what });
        }
        if value.abs() > MAX_URDF_MAGNITUDE {
            return Err(KinematicsError::OutOfRange {
                joint: joint.to_string(),
                what,
                value,
                max: MAX_URDF_MAGNITUDE,
                unit,
            });
        }
    }
    Ok(())
}

fn convert_joint(joint: &urdf_rs::Joint, parent_link: usize, child_link: usize) -> Result<TreeJoint, KinematicsError> {
    let name = joint.name.as_str();
    let non_finite = |what| KinematicsError::NonFinite { joint: joint.name.clone(), what };
    check_bounded(name, "origin xyz", &joint.origin.xyz.0, "m")?;
    if joint.origin.rpy.iter().any(|v| !v.is_finite()) {
        return Err(non_finite("origin rpy"));
    }
    let kind = match joint.joint_type {
        urdf_rs::JointType::Revolute => JointKind::Revolute,
        urdf_rs::JointType::Continuous => JointKind::Continuous,
        urdf_rs::JointType::Prismatic => JointKind::Prismatic,
        urdf_rs::JointType::Fixed => JointKind::Fixed,
        urdf_rs::JointType::Floating => return Err(KinematicsError::UnsupportedJoint(joint.name.clone(), "floating")),
        urdf_rs::JointType::Planar => return Err(KinematicsError::UnsupportedJoint(joint.name.clone(), "planar")),
        urdf_rs::JointType::Spherical => {
            return Err(KinematicsError::UnsupportedJoint(joint.name.clone(), "spherical"));
        }
    };
    let axis = if kind.is_movable() { unit_axis(name, Vector3::from(joint.axis.xyz.0))? } else { Vector3::x_axis() };
    let limits = match kind {
        // A continuous joint spans one turn; its <limit> (if any) is ignored.
        JointKind::Continuous => JointLimits::new(-std::f64::consts::PI, std::f64::consts::PI),
        JointKind::Fixed => JointLimits::new(0.0, 0.0),
        JointKind::Revolute | JointKind::Prismatic => {
            let (lower, upper) = (joint.limit.lower, joint.limit.upper);
            let (what, unit) = match kind {
                JointKind::Prismatic => ("limit", "m"),
                _ => ("limit (a revolute joint without limits is type continuous)", "rad"),
            };
            check_bounded(name, what, &[lower, upper], unit)?;
            if lower > upper {
                return Err(KinematicsError::InvertedLimits { joint: joint.name.clone(), lower, upper });
            }
            JointLimits::new(lower, upper)
        }
    };
    Ok(TreeJoint {
        name: joint.name.clone(),
        kind,
        parent_link,
        child_link,
        origin: origin_isometry(&joint.origin),
        axis,
        limits,
        mimic: convert_mimic(joint, kind)?,
    })
}

/// The `<mimic>` of a movable joint (URDF defaults: multiplier 1, offset 0);
/// a fixed joint has nothing to follow with.
fn convert_mimic(joint: &urdf_rs::Joint, kind: JointKind) -> Result<Option<MimicOf>, KinematicsError> {
    let Some(mimic) = joint.mimic.as_ref().filter(|_| kind.is_movable()) else { return Ok(None) };
    let (multiplier, offset) = (mimic.multiplier.unwrap_or(1.0), mimic.offset.unwrap_or(0.0));
    check_bounded(&joint.name, "mimic multiplier", &[multiplier], "")?;
    check_bounded(&joint.name, "mimic offset", &[offset], "rad or m")?;
    Ok(Some(MimicOf { joint: mimic.joint.clone(), multiplier, offset }))
}

/// The joint axis as a unit vector: finite and not (almost) zero. Scaled by its
/// largest component first, so huge components do not overflow the norm.
fn unit_axis(joint: &str, v: Vector3<f64>) -> Result<Unit<Vector3<f64>>, KinematicsError> {
    if v.iter().any(|c| !c.is_finite()) {
        return Err(KinematicsError::NonFinite { joint: joint.to_string(), what: "axis" });
    }
    let largest = v.amax();
    if largest <= 1e-12 {
        return Err(KinematicsError::ZeroAxis(joint.to_string()));
    }
    Ok(Unit::new_normalize(v / largest))
}

/// Refuses a link whose visual or collision origins or geometry sizes are not
/// finite or exceed [`MAX_URDF_MAGNITUDE`] (the collision model and the studio use them).
fn check_link(link: &urdf_rs::Link) -> Result<(), KinematicsError> {
    let fine = |values: &[f64]| values.iter().all(|v| v.is_finite() && v.abs() <= MAX_URDF_MAGNITUDE);
    let visuals = link.visual.iter().map(|v| (&v.origin, &v.geometry, ["a visual origin", "a visual geometry size"]));
    let collisions =
        link.collision.iter().map(|c| (&c.origin, &c.geometry, ["a collision origin", "a collision geometry size"]));
    for (origin, geometry, [origin_what, size_what]) in visuals.chain(collisions) {
        let what = if !fine(&origin.xyz.0) || origin.rpy.iter().any(|v| !v.is_finite()) {
            origin_what
        } else if !fine(&geometry_sizes(geometry)) {
            size_what
        } else {
            continue;
        };
        return Err(KinematicsError::BadGeometry { link: link.name.clone(), what, max: MAX_URDF_MAGNITUDE });
    }
    Ok(())
}

/// The numbers that size a geometry (a mesh: its scale).
fn geometry_sizes(geometry: &urdf_rs::Geometry) -> Vec<f64> {
    match geometry {
        urdf_rs::Geometry::Box { size } => size.0.to_vec(),
        urdf_rs::Geometry::Cylinder { radius, length } | urdf_rs::Geometry::Capsule { radius, length } => {
            vec![*radius, *length]
        }
        urdf_rs::Geometry::Sphere { radius } => vec![*radius],
        urdf_rs::Geometry::Mesh { scale, .. } => scale.as_ref().map_or_else(Vec::new, |s| s.0.to_vec()),
    }
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().to_string()
}
