//! The robot registry: built-in robots (their URDFs ship inside the binary)
//! and any chain of a user URDF, each with limits, workspaces and a collision model.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use nalgebra::Vector3;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::kinematics::{Chain, CollisionModel, KinematicTree, KinematicsError, Table, ToolOffset};
use crate::visuals::MeshResolver;

pub mod config;
pub use config::{NetworkSection, RobotConfig};

/// An axis-aligned box for end-effector positions, in the chain's base frame.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workspace {
    pub name: String,
    pub min: [f64; 3],
    pub max: [f64; 3],
}

impl Workspace {
    pub fn new(name: &str, min: [f64; 3], max: [f64; 3]) -> Self {
        Self { name: name.to_string(), min, max }
    }

    #[inline]
    pub fn contains(&self, p: &Vector3<f64>) -> bool {
        (0..3).all(|i| p[i] >= self.min[i] && p[i] <= self.max[i])
    }

    pub fn center(&self) -> [f64; 3] {
        std::array::from_fn(|i| 0.5 * (self.min[i] + self.max[i]))
    }

    /// A box `x0,y0,z0,x1,y1,z1` (metres): six finite numbers, each minimum
    /// below its maximum, within ±1 km. `None` when `spec` is not six numbers
    /// (it may be a workspace name); an error when it is a bad box.
    pub fn parse_box(spec: &str) -> Option<Result<Workspace, RobotError>> {
        let values: Vec<f64> = spec.split(',').map(|v| v.trim().parse::<f64>()).collect::<Result<_, _>>().ok()?;
        if values.len() != 6 {
            return (spec.contains(',')).then(|| Err(RobotError::BadBox(spec.into(), "it needs six numbers".into())));
        }
        let (min, max) = ([values[0], values[1], values[2]], [values[3], values[4], values[5]]);
        let ordered = (0..3).all(|i| min[i].is_finite() && max[i].is_finite() && min[i] < max[i]);
        let sane = values.iter().all(|v| v.abs() <= 1_000.0);
        Some(match (ordered, sane) {
            (true, true) => Ok(Workspace::new(spec, min, max)),
            (false, _) => Err(RobotError::BadBox(spec.into(), "each minimum must be below its maximum".into())),
            (true, false) => Err(RobotError::BadBox(spec.into(), "its corners must lie within 1 km".into())),
        })
    }
}

/// Where a robot came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RobotSource {
    Builtin,
    Urdf(PathBuf),
}

/// A robot ready for kinematics: one chain of a URDF with its workspaces.
#[derive(Debug, Clone)]
pub struct Robot {
    /// `omx`, `nicol-right`, … or the URDF's robot name for user files.
    pub name: String,
    pub summary: String,
    pub source: RobotSource,
    pub tree: Arc<KinematicTree>,
    pub chain: Chain,
    pub workspaces: Vec<Workspace>,
    pub collision: CollisionModel,
    /// The configuration to start from (the studio opens on it); `None`: the
    /// caller picks one (the studio samples a pose in the first workspace).
    pub home: Option<Vec<f64>>,
    /// One line each worth telling the user when the robot is loaded (a
    /// virtual base taken as the root, mimic joints).
    pub notes: Vec<String>,
}

#[derive(Debug, Error)]
pub enum RobotError {
    #[error(
        "unknown robot '{0}'; built-in robots: omx, nicol-right, nicol-left (or use --urdf PATH --base LINK --tip LINK)"
    )]
    Unknown(String),
    #[error("robot '{robot}' has no workspace '{name}'; it has: {known} (or give a box x0,y0,z0,x1,y1,z1)")]
    UnknownWorkspace { robot: String, name: String, known: String },
    #[error("workspace box '{0}' is invalid: {1}")]
    BadBox(String, String),
    #[error("{0}")]
    BadToolOffset(String),
    #[error("unknown base link '{base}'; links above '{tip}': {candidates} (or 'world' for the URDF's root)")]
    UnknownBase { base: String, tip: String, candidates: String },
    /// A robot config (CycleIK YAML) that cannot be used.
    #[error("robot config {}: {message}", path.display())]
    Config { path: PathBuf, message: String },
    #[error(transparent)]
    Kinematics(#[from] KinematicsError),
}

struct BuiltinSpec {
    name: &'static str,
    summary: &'static str,
    urdf: &'static str,
    base: &'static str,
    tip: &'static str,
    table: Table,
    workspaces: &'static [(&'static str, [f64; 3], [f64; 3])],
}

const OMX_URDF: &str = include_str!("../../robots/omx.urdf");
const NICOL_URDF: &str = include_str!("../../robots/nicol.urdf");

/// NICOL's tabletop (robots/nicol.urdf): 1 m deep, 2 m wide, in front of the torso.
const NICOL_TABLE: Table = Table { z: 0.8, min_xy: [0.0, -1.0], max_xy: [1.0, 1.0] };

const BUILTIN: &[BuiltinSpec] = &[
    BuiltinSpec {
        name: "omx",
        summary: "ROBOTIS OpenManipulator-X, 4 DoF; world = the controller's pose frame, 0.017 m below link1",
        urdf: OMX_URDF,
        base: "world",
        tip: "end_effector_link",
        // The robot stands on a large table.
        table: Table { z: 0.0, min_xy: [-1.0, -1.0], max_xy: [1.0, 1.0] },
        // Small: in front of the robot, where it works; Full: everything above the table it can reach.
        workspaces: &[
            ("small", [0.10, -0.20, 0.0], [0.35, 0.20, 0.30]),
            ("full", [-0.40, -0.40, 0.0], [0.40, 0.40, 0.46]),
        ],
    },
    BuiltinSpec {
        name: "nicol-right",
        summary: "NICOL right arm, 8 DoF, world → r_laser; tabletop at z = 0.8 m",
        urdf: NICOL_URDF,
        base: "world",
        tip: "r_laser",
        table: NICOL_TABLE,
        workspaces: &[("small", [0.2, -0.9, 0.8], [0.85, 0.0, 1.4]), ("full", [0.2, -0.9, 0.8], [0.85, 0.48, 1.4])],
    },
    BuiltinSpec {
        name: "nicol-left",
        summary: "NICOL left arm, 8 DoF, world → l_laser; tabletop at z = 0.8 m",
        urdf: NICOL_URDF,
        base: "world",
        tip: "l_laser",
        table: NICOL_TABLE,
        // Small mirrors the right arm's; Full is the paper's left-arm box.
        workspaces: &[("small", [0.2, 0.0, 0.8], [0.85, 0.9, 1.4]), ("full", [0.2, -0.478, 0.8], [0.848, 0.9, 1.4])],
    },
];

/// Names of the built-in robots.
pub fn builtin_names() -> Vec<&'static str> {
    BUILTIN.iter().map(|b| b.name).collect()
}

/// A built-in robot by name.
pub fn builtin(name: &str) -> Result<Robot, RobotError> {
    let spec = BUILTIN.iter().find(|b| b.name == name).ok_or_else(|| RobotError::Unknown(name.to_string()))?;
    let tree = Arc::new(KinematicTree::from_urdf_str(spec.urdf)?);
    let chain = Chain::from_tree(&tree, spec.base, spec.tip)?;
    let collision = CollisionModel::from_urdf(&tree, &chain, Some(spec.table));
    Ok(Robot {
        name: spec.name.to_string(),
        summary: spec.summary.to_string(),
        source: RobotSource::Builtin,
        workspaces: spec.workspaces.iter().map(|(n, lo, hi)| Workspace::new(n, *lo, *hi)).collect(),
        notes: chain.mimic_summary(),
        tree,
        chain,
        collision,
        home: None,
    })
}

/// Base names that stand for a URDF's root when the URDF has no such link:
/// MoveIt's virtual joint hangs the robot from a `world` frame (identity).
pub const VIRTUAL_ROOTS: &[&str] = &["world"];

/// The chain `base → tip` of a user URDF. Its one workspace, `full`, is the
/// bounding box of the tip over random configurations; no table is assumed.
/// It starts at zero, clamped into the limits. A base in [`VIRTUAL_ROOTS`]
/// that the URDF lacks means the root above `tip` (with a note).
pub fn from_urdf_file(path: &Path, base: &str, tip: &str) -> Result<Robot, RobotError> {
    let tree = Arc::new(KinematicTree::from_file(path)?);
    let (base, note) = resolve_base(&tree, base, tip)?;
    let chain = Chain::from_tree(&tree, &base, tip)?;
    // Collision meshes are found like the studio's visuals: relative to the URDF, or as packages around it.
    let resolver = MeshResolver { urdf_dir: path.parent().map(Path::to_path_buf), search: Vec::new() };
    let collision = CollisionModel::from_urdf_with(&tree, &chain, None, &resolver);
    let notes = note.into_iter().chain(chain.mimic_summary()).collect();
    Ok(Robot {
        name: tree.name.clone(),
        summary: format!("{} ({base} → {tip}) from {}", tree.name, path.display()),
        source: RobotSource::Urdf(path.to_path_buf()),
        workspaces: vec![reach_box(&chain)],
        home: Some(zero_home(&chain)),
        tree,
        chain,
        collision,
        notes,
    })
}

/// `base` itself when the URDF has it; else, for a virtual root name, the
/// root link above `tip` and a note saying so; else the unknown-link error
/// (which lists the links).
pub fn resolve_base(tree: &KinematicTree, base: &str, tip: &str) -> Result<(String, Option<String>), RobotError> {
    let above_tip = links_above(tree, tree.link_index(tip)?);
    if tree.link_index(base).is_ok() {
        return Ok((base.to_string(), None));
    }
    if !VIRTUAL_ROOTS.contains(&base) {
        return Err(RobotError::UnknownBase {
            base: base.to_string(),
            tip: tip.to_string(),
            candidates: above_tip.join(", "),
        });
    }
    let root = above_tip.last().cloned().unwrap_or_else(|| tip.to_string());
    let note = format!(
        "base '{base}' is not a link of the URDF: taken as its root link '{root}' (a virtual frame at identity, as MoveIt's)"
    );
    Ok((root, Some(note)))
}

/// Names of the links above link `index`, nearest first (the root last).
fn links_above(tree: &KinematicTree, index: usize) -> Vec<String> {
    let mut names = Vec::new();
    let mut link = index;
    while let Some(j) = tree.links[link].parent_joint {
        link = tree.joints[j].parent_link;
        names.push(tree.links[link].name.clone());
    }
    names
}

/// Zero for every joint, clamped into its limits.
pub fn zero_home(chain: &Chain) -> Vec<f64> {
    chain.joints.iter().map(|j| j.limits.clamp(0.0)).collect()
}

impl Robot {
    /// This robot with its tool point at `tool` in the tip link's frame. The
    /// URDF's reach box (`full`) follows the tool point; named boxes (a
    /// built-in robot's, a config's) stay as they are.
    pub fn with_tool(mut self, tool: Option<ToolOffset>) -> Result<Self, RobotError> {
        if let Some(t) = tool {
            t.validated().map_err(RobotError::BadToolOffset)?;
        }
        self.chain = self.chain.with_tool(tool);
        if matches!(self.source, RobotSource::Urdf(_)) {
            for w in self.workspaces.iter_mut().filter(|w| w.name == "full") {
                *w = reach_box(&self.chain);
            }
        }
        if let Some(t) = &tool {
            self.summary = format!("{}, tool point {} in {}", self.summary, t.describe(), self.chain.tip);
        }
        Ok(self)
    }

    pub fn workspace(&self, name: &str) -> Result<&Workspace, RobotError> {
        self.workspaces.iter().find(|w| w.name == name).ok_or_else(|| RobotError::UnknownWorkspace {
            robot: self.name.clone(),
            name: name.to_string(),
            known: self.workspaces.iter().map(|w| w.name.as_str()).collect::<Vec<_>>().join(", "),
        })
    }

    /// A workspace by name, or a box `x0,y0,z0,x1,y1,z1` (see [`Workspace::parse_box`]).
    pub fn workspace_or_box(&self, spec: &str) -> Result<Workspace, RobotError> {
        match Workspace::parse_box(spec) {
            Some(custom) => custom,
            None => self.workspace(spec).cloned(),
        }
    }

    /// The largest workspace (the last one listed).
    pub fn default_workspace(&self) -> &Workspace {
        self.workspaces.last().expect("every robot has a workspace")
    }
}

/// Bounding box of the tip over 20,000 random configurations within limits.
pub(crate) fn reach_box(chain: &Chain) -> Workspace {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut min = [f64::INFINITY; 3];
    let mut max = [f64::NEG_INFINITY; 3];
    let mut q = vec![0.0; chain.dof()];
    for _ in 0..20_000 {
        chain.fill_random(&mut rng, &mut q);
        let p = chain.fk_unchecked(&q).translation.vector;
        for i in 0..3 {
            min[i] = min[i].min(p[i]);
            max[i] = max[i].max(p[i]);
        }
    }
    Workspace::new("full", min, max)
}
