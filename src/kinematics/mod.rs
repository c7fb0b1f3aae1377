//! Kinematics in f64: URDF parsing into a tree, chains between two links,
//! forward kinematics (single, batched), the geometric Jacobian and a capsule
//! collision model.

mod capsule_fit;
mod chain;
mod collision;
mod error;
mod fk;
mod path;
mod pose;
mod tree;

pub use capsule_fit::{Capsule, fit_points};
pub use chain::{Chain, ChainJoint, ChainLink, JointLimits, MAX_TOOL_OFFSET, MimicJoint, ToolOffset};
pub use collision::{CollisionKind, CollisionModel, CollisionScratch, Table, segment_distance_sq};
pub use error::KinematicsError;
pub use path::pose_along;
pub use pose::{Pose, orientation_error_deg, position_error_mm};
pub use tree::{JointKind, KinematicTree, MAX_URDF_MAGNITUDE, MimicOf, TreeJoint, TreeLink, origin_isometry};
