//! A serial chain between a base and a tip link. Fixed joints are folded into
//! the origin of the next moving joint (or into the tip offset); joints that
//! mimic another joint of the chain move with it and take no entry of the joint
//! vector; an optional tool offset places the tool point in the tip link's frame.

use nalgebra::{Isometry3, Translation3, Unit, UnitQuaternion, Vector3};
use serde::{Deserialize, Serialize};

use super::error::KinematicsError;
use super::tree::{JointKind, KinematicTree, MimicOf};

/// Lower and upper bound of a joint (rad or m).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct JointLimits {
    pub lower: f64,
    pub upper: f64,
}

impl JointLimits {
    pub fn new(lower: f64, upper: f64) -> Self {
        Self { lower, upper }
    }
    pub fn span(&self) -> f64 {
        self.upper - self.lower
    }
    pub fn contains(&self, q: f64) -> bool {
        q >= self.lower && q <= self.upper
    }
    pub fn clamp(&self, q: f64) -> f64 {
        q.clamp(self.lower, self.upper)
    }
}

/// A movable joint of a chain.
#[derive(Debug, Clone)]
pub struct ChainJoint {
    pub name: String,
    pub kind: JointKind,
    /// Frame of the previous movable joint (or the base) → this joint's frame,
    /// with every fixed joint in between folded in.
    pub origin: Isometry3<f64>,
    pub axis: Unit<Vector3<f64>>,
    pub limits: JointLimits,
}

/// A joint of the chain that follows a movable joint of the chain (URDF
/// `<mimic>`): value = `multiplier` · q[`master`] + `offset`. It takes no entry
/// of the joint vector; FK and the Jacobian account for its motion.
#[derive(Debug, Clone)]
pub struct MimicJoint {
    pub name: String,
    /// The joint named in the URDF's `<mimic>` (may itself be a mimic joint).
    pub mimics: String,
    pub kind: JointKind,
    /// Frame of the previous moving joint (movable or mimic) or the base → this joint's frame.
    pub origin: Isometry3<f64>,
    pub axis: Unit<Vector3<f64>>,
    /// Index into [`Chain::joints`] of the joint it finally follows.
    pub master: usize,
    pub multiplier: f64,
    pub offset: f64,
    /// Movable joints before it: it moves between `joints[slot - 1]` and `joints[slot]`.
    pub slot: usize,
}

impl MimicJoint {
    /// Its value for the chain's joint vector `q`.
    #[inline]
    pub fn value(&self, q: &[f64]) -> f64 {
        self.multiplier * q[self.master] + self.offset
    }
}

/// A link along the chain, located relative to the last moving joint before it.
#[derive(Debug, Clone)]
pub struct ChainLink {
    pub name: String,
    /// Index of the last movable joint above this link; `None`: fixed to the base.
    pub after_joint: Option<usize>,
    /// Index into [`Chain::mimics`] when a mimic joint moves after that joint and
    /// before this link: `offset` is then relative to the mimic joint's frame.
    pub after_mimic: Option<usize>,
    /// That joint's frame (after its motion), or the base, → this link's frame.
    pub offset: Isometry3<f64>,
}

/// A tool point that is not a link: a translation (m) and roll-pitch-yaw (rad)
/// in the tip link's frame, like a URDF origin.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ToolOffset {
    pub xyz: [f64; 3],
    pub rpy: [f64; 3],
}

/// Largest tool offset (m): a tool point farther from its link is a mistake.
pub const MAX_TOOL_OFFSET: f64 = 10.0;

impl ToolOffset {
    /// `x,y,z` (m) or `x,y,z,roll,pitch,yaw` (m, rad): finite, each translation
    /// within ±[`MAX_TOOL_OFFSET`] m and each angle within ±2π.
    pub fn parse(spec: &str) -> Result<Self, String> {
        let values: Vec<f64> = spec
            .split(',')
            .map(|v| v.trim().parse::<f64>())
            .collect::<Result<_, _>>()
            .map_err(|_| format!("tip offset '{spec}' is not a list of numbers (x,y,z or x,y,z,roll,pitch,yaw)"))?;
        let rpy = match values.len() {
            3 => [0.0; 3],
            6 => [values[3], values[4], values[5]],
            n => return Err(format!("tip offset '{spec}' has {n} numbers; give x,y,z or x,y,z,roll,pitch,yaw")),
        };
        Self { xyz: [values[0], values[1], values[2]], rpy }.validated()
    }

    /// The offset itself when finite and within bounds (files and configs are checked too).
    pub fn validated(self) -> Result<Self, String> {
        let tau = std::f64::consts::TAU;
        if !self.xyz.iter().chain(&self.rpy).all(|v| v.is_finite()) {
            return Err("tip offset values must be finite numbers".into());
        }
        if self.xyz.iter().any(|v| v.abs() > MAX_TOOL_OFFSET) {
            return Err(format!("tip offset {:?} m is beyond ±{MAX_TOOL_OFFSET} m", self.xyz));
        }
        if self.rpy.iter().any(|v| v.abs() > tau) {
            return Err(format!("tip offset angles {:?} rad are beyond ±2π", self.rpy));
        }
        Ok(self)
    }

    pub fn isometry(&self) -> Isometry3<f64> {
        let [x, y, z] = self.xyz;
        let [roll, pitch, yaw] = self.rpy;
        Isometry3::from_parts(Translation3::new(x, y, z), UnitQuaternion::from_euler_angles(roll, pitch, yaw))
    }

    /// `x,y,z[,roll,pitch,yaw]`, as [`ToolOffset::parse`] reads it.
    pub fn describe(&self) -> String {
        let values: Vec<f64> = if self.rpy == [0.0; 3] { self.xyz.to_vec() } else { [self.xyz, self.rpy].concat() };
        values.iter().map(|v| v.to_string()).collect::<Vec<_>>().join(",")
    }
}

/// A serial kinematic chain from `base` to `tip`.
#[derive(Debug, Clone)]
pub struct Chain {
    pub base: String,
    pub tip: String,
    /// The movable joints: one entry of the joint vector each.
    pub joints: Vec<ChainJoint>,
    /// Joints that follow a movable joint, in chain order (usually none).
    pub mimics: Vec<MimicJoint>,
    /// Last moving joint's frame → the tool point: the tip link's frame, then the tool offset.
    pub tip_offset: Isometry3<f64>,
    /// The tool point in the tip link's frame; `None`: the tip link's origin.
    pub tool: Option<ToolOffset>,
    /// Every link from base to tip, in order.
    pub links: Vec<ChainLink>,
}

/// A moving joint met while walking down the chain, before it is sorted into
/// movable joints and mimic joints.
struct Walked {
    tree_joint: usize,
    origin: Isometry3<f64>,
}

impl Chain {
    /// The chain of `tree` from link `base` down to link `tip`.
    pub fn from_tree(tree: &KinematicTree, base: &str, tip: &str) -> Result<Self, KinematicsError> {
        let path = joint_path(tree, base, tip)?;
        // Moving joints in chain order, each with its origin relative to the previous one.
        let mut walked: Vec<Walked> = Vec::new();
        let mut links = vec![ChainLink {
            name: base.to_string(),
            after_joint: None,
            after_mimic: None,
            offset: Isometry3::identity(),
        }];
        let mut pending = Isometry3::identity();
        let mut is_dof = Vec::new();
        for &j in &path {
            let joint = &tree.joints[j];
            pending *= joint.origin;
            if joint.kind.is_movable() {
                walked.push(Walked { tree_joint: j, origin: pending });
                is_dof.push(!follows_chain_joint(tree, &path, j));
                pending = Isometry3::identity();
            }
            links.push(ChainLink {
                name: tree.links[joint.child_link].name.clone(),
                after_joint: None,
                after_mimic: None,
                offset: pending,
            });
        }
        let dof_index = dof_indices(&is_dof);
        let (joints, mimics) = sort_moving(tree, &walked, &is_dof, &dof_index)?;
        place_links(tree, &path, &is_dof, &dof_index, &mut links);
        if joints.is_empty() {
            return Err(KinematicsError::NoMovableJoint { base: base.into(), tip: tip.into() });
        }
        Ok(Self {
            base: base.to_string(),
            tip: tip.to_string(),
            joints,
            mimics,
            tip_offset: pending,
            tool: None,
            links,
        })
    }

    /// This chain with its tool point at `tool` in the tip link's frame
    /// (replacing any earlier tool); `None` puts it back at the tip link's origin.
    pub fn with_tool(mut self, tool: Option<ToolOffset>) -> Self {
        let flange = *self.flange_offset();
        self.tip_offset = match &tool {
            Some(t) => flange * t.isometry(),
            None => flange,
        };
        self.tool = tool;
        self
    }

    /// Last moving joint's frame → the tip link's frame (without the tool offset).
    #[inline]
    pub fn flange_offset(&self) -> &Isometry3<f64> {
        &self.links.last().expect("a chain has its base link").offset
    }

    /// Each mimic joint as `(name, followed joint, multiplier, offset)`, for notes.
    pub fn mimic_summary(&self) -> Vec<String> {
        self.mimics
            .iter()
            .map(|m| {
                format!(
                    "joint '{}' mimics '{}' (= {} × {} + {}); it follows it and is not a degree of freedom",
                    m.name, m.mimics, m.multiplier, self.joints[m.master].name, m.offset
                )
            })
            .collect()
    }

    pub fn dof(&self) -> usize {
        self.joints.len()
    }

    pub fn joint_names(&self) -> Vec<String> {
        self.joints.iter().map(|j| j.name.clone()).collect()
    }

    pub fn limits(&self) -> Vec<JointLimits> {
        self.joints.iter().map(|j| j.limits).collect()
    }

    pub fn check_dof(&self, q: &[f64]) -> Result<(), KinematicsError> {
        if q.len() == self.dof() {
            Ok(())
        } else {
            Err(KinematicsError::WrongDof { expected: self.dof(), got: q.len() })
        }
    }

    /// True when every value lies within its joint's limits.
    pub fn within_limits(&self, q: &[f64]) -> bool {
        q.len() == self.dof() && self.joints.iter().zip(q).all(|(j, &v)| j.limits.contains(v))
    }

    /// Fills `q` with values drawn uniformly within each joint's limits.
    pub fn fill_random(&self, rng: &mut impl rand::Rng, q: &mut [f64]) {
        for (v, joint) in q.iter_mut().zip(&self.joints) {
            *v = rng.random_range(joint.limits.lower..=joint.limits.upper);
        }
    }

    /// A configuration drawn uniformly within the limits.
    pub fn random_configuration(&self, rng: &mut impl rand::Rng) -> Vec<f64> {
        let mut q = vec![0.0; self.dof()];
        self.fill_random(rng, &mut q);
        q
    }

    /// The middle of every joint's range.
    pub fn mid_configuration(&self) -> Vec<f64> {
        self.joints.iter().map(|j| 0.5 * (j.limits.lower + j.limits.upper)).collect()
    }
}

/// Tree joints from `base` down to `tip`, in order.
fn joint_path(tree: &KinematicTree, base: &str, tip: &str) -> Result<Vec<usize>, KinematicsError> {
    let base_index = tree.link_index(base)?;
    let tip_index = tree.link_index(tip)?;
    // Walk up from the tip until the base; joints collected tip → base.
    let mut path = Vec::new();
    let mut link = tip_index;
    while link != base_index {
        let Some(j) = tree.links[link].parent_joint else {
            return Err(KinematicsError::TipNotBelowBase { base: base.into(), tip: tip.into() });
        };
        path.push(j);
        link = tree.joints[j].parent_link;
    }
    path.reverse();
    Ok(path)
}

/// True when tree joint `j` mimics a movable joint on `path`; a mimic of a
/// joint outside the chain stays a degree of freedom (nothing in the chain drives it).
fn follows_chain_joint(tree: &KinematicTree, path: &[usize], j: usize) -> bool {
    let Some(mimic) = &tree.joints[j].mimic else { return false };
    path.iter().any(|&p| p != j && tree.joints[p].kind.is_movable() && tree.joints[p].name == mimic.joint)
}

/// For each moving joint, its index among the movable (non-mimic) ones.
fn dof_indices(is_dof: &[bool]) -> Vec<usize> {
    is_dof
        .iter()
        .scan(0, |count, &dof| {
            let index = *count;
            *count += dof as usize;
            Some(index)
        })
        .collect()
}

/// Splits the walked joints into movable joints and mimic joints, each mimic
/// resolved to the movable joint it finally follows.
fn sort_moving(
    tree: &KinematicTree,
    walked: &[Walked],
    is_dof: &[bool],
    dof_index: &[usize],
) -> Result<(Vec<ChainJoint>, Vec<MimicJoint>), KinematicsError> {
    let mut joints = Vec::new();
    let mut mimics = Vec::new();
    for (k, w) in walked.iter().enumerate() {
        let joint = &tree.joints[w.tree_joint];
        if is_dof[k] {
            joints.push(ChainJoint {
                name: joint.name.clone(),
                kind: joint.kind,
                origin: w.origin,
                axis: joint.axis,
                limits: joint.limits,
            });
            continue;
        }
        let mimic = joint.mimic.as_ref().expect("only mimic joints are not degrees of freedom");
        let (master, multiplier, offset) = resolve_master(tree, walked, is_dof, dof_index, k, mimic)?;
        mimics.push(MimicJoint {
            name: joint.name.clone(),
            mimics: mimic.joint.clone(),
            kind: joint.kind,
            origin: w.origin,
            axis: joint.axis,
            master,
            multiplier,
            offset,
            slot: dof_index[k],
        });
    }
    Ok((joints, mimics))
}

/// Follows a chain of `<mimic>`s from walked joint `k` to a movable joint:
/// (its index among the movable joints, composed multiplier, composed offset).
fn resolve_master(
    tree: &KinematicTree,
    walked: &[Walked],
    is_dof: &[bool],
    dof_index: &[usize],
    k: usize,
    first: &MimicOf,
) -> Result<(usize, f64, f64), KinematicsError> {
    let (mut multiplier, mut offset, mut mimic) = (1.0, 0.0, first);
    for _ in 0..=walked.len() {
        // value = multiplier · (m · master + o) + offset
        offset += multiplier * mimic.offset;
        multiplier *= mimic.multiplier;
        let m = walked
            .iter()
            .position(|w| tree.joints[w.tree_joint].name == mimic.joint)
            .expect("a mimic joint that is no degree of freedom follows a chain joint");
        if is_dof[m] {
            return Ok((dof_index[m], multiplier, offset));
        }
        mimic = tree.joints[walked[m].tree_joint].mimic.as_ref().expect("not a degree of freedom: a mimic joint");
    }
    Err(KinematicsError::MimicCycle(tree.joints[walked[k].tree_joint].name.clone()))
}

/// Sets each chain link's last movable joint and last mimic joint above it.
fn place_links(tree: &KinematicTree, path: &[usize], is_dof: &[bool], dof_index: &[usize], links: &mut [ChainLink]) {
    let (mut after_joint, mut after_mimic, mut moving, mut mimics) = (None, None, 0, 0);
    for (link, &j) in links[1..].iter_mut().zip(path) {
        if tree.joints[j].kind.is_movable() {
            if is_dof[moving] {
                after_joint = Some(dof_index[moving]);
                after_mimic = None;
            } else {
                after_mimic = Some(mimics);
                mimics += 1;
            }
            moving += 1;
        }
        link.after_joint = after_joint;
        link.after_mimic = after_mimic;
    }
}
