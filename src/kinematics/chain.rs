//! A serial chain between a base and a tip link. Fixed joints are folded into
//! the origin of the next movable joint (or into the tip offset).

use nalgebra::{Isometry3, Unit, Vector3};
use serde::{Deserialize, Serialize};

use super::error::KinematicsError;
use super::tree::{JointKind, KinematicTree};

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

/// A link along the chain, located relative to the last movable joint before it.
#[derive(Debug, Clone)]
pub struct ChainLink {
    pub name: String,
    /// Index of the last movable joint above this link; `None`: fixed to the base.
    pub after_joint: Option<usize>,
    /// That joint's frame (after its motion), or the base, → this link's frame.
    pub offset: Isometry3<f64>,
}

/// A serial kinematic chain from `base` to `tip`.
#[derive(Debug, Clone)]
pub struct Chain {
    pub base: String,
    pub tip: String,
    pub joints: Vec<ChainJoint>,
    /// Last movable joint's frame → tip link frame.
    pub tip_offset: Isometry3<f64>,
    /// Every link from base to tip, in order.
    pub links: Vec<ChainLink>,
}

impl Chain {
    /// The chain of `tree` from link `base` down to link `tip`.
    pub fn from_tree(tree: &KinematicTree, base: &str, tip: &str) -> Result<Self, KinematicsError> {
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

        let mut joints = Vec::new();
        let mut links = vec![ChainLink { name: base.to_string(), after_joint: None, offset: Isometry3::identity() }];
        let mut pending = Isometry3::identity();
        for &j in &path {
            let joint = &tree.joints[j];
            pending *= joint.origin;
            if joint.kind.is_movable() {
                joints.push(ChainJoint {
                    name: joint.name.clone(),
                    kind: joint.kind,
                    origin: pending,
                    axis: joint.axis,
                    limits: joint.limits,
                });
                pending = Isometry3::identity();
            }
            links.push(ChainLink {
                name: tree.links[joint.child_link].name.clone(),
                after_joint: joints.len().checked_sub(1),
                offset: pending,
            });
        }
        if joints.is_empty() {
            return Err(KinematicsError::NoMovableJoint { base: base.into(), tip: tip.into() });
        }
        Ok(Self { base: base.to_string(), tip: tip.to_string(), joints, tip_offset: pending, links })
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
