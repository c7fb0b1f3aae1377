//! CycleIK-style robot configs: a YAML file whose top-level keys name chains
//! (`arm:`, `right_arm:`, `left_arm:` …), each with its URDF, base and tip
//! links, joint names, limits, workspace box, home configuration and the
//! network sections (`IKNet:` for the MLP, `GAN:` for the generator):
//!
//! ```yaml
//! right_arm:
//!   robot_urdf: '../robots/nicol.urdf'   # relative to this file's folder
//!   base_link: world                      # absent from the URDF: its root
//!   robot_eef: r_laser
//!   robot_dof: 8
//!   joint_name: [r_joint1, r_joint2, …]
//!   limits: {upper: […], lower: […]}      # override the URDF's
//!   workspace: {upper: [x, y, z], lower: [x, y, z]}
//!   home_js: […]
//!   zero_joints_goal: [3, 4, 5]
//!   IKNet:
//!     position_weight: 9.
//!     orientation_weight: 2.
//!     zero_controller_weight: 2.
//!     training: {batch_size: 100, lr: 0.00018}
//!     architecture: {layers: [2780, 3480], nbr_tanh: 1, activation: GELU}
//! ```
//!
//! `layers`, `nbr_tanh` and `activation` may also stand directly in the
//! network section; `GAN:` takes `noise_vector_size` too. Keys this project
//! does not use (`FKNet`, `debug`, `move_group`, `train_data` …) are listed in
//! [`RobotConfig::unused`]. Everything is checked: a malformed file is an
//! error, never a panic.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_norway::Value;

use super::{Robot, RobotError, RobotSource, Workspace, reach_box, resolve_base};
use crate::kinematics::{Chain, CollisionModel, JointLimits, KinematicTree, MAX_URDF_MAGNITUDE};
use crate::models::HiddenActivation;
use crate::visuals::MeshResolver;

/// The name of the config's workspace box among the robot's workspaces.
pub const CONFIG_WORKSPACE: &str = "config";

/// Largest config file read (a robot config is a few kB).
const MAX_CONFIG_BYTES: u64 = 4 << 20;

/// Keys of a chain section that this project reads.
const CHAIN_KEYS: &[&str] = &[
    "robot_urdf",
    "base_link",
    "robot_eef",
    "robot_dof",
    "joint_name",
    "limits",
    "workspace",
    "home_js",
    "zero_joints_goal",
    "IKNet",
    "GAN",
];
/// Keys of a network section that this project reads.
const NETWORK_KEYS: &[&str] = &[
    "layers",
    "nbr_tanh",
    "activation",
    "position_weight",
    "orientation_weight",
    "zero_controller_weight",
    "noise_vector_size",
    "training",
    "architecture",
];
const TRAINING_KEYS: &[&str] = &["batch_size", "lr"];
const ARCHITECTURE_KEYS: &[&str] = &["layers", "nbr_tanh", "activation"];

/// One chain of a robot config, checked in itself (lengths, orders, finite
/// numbers); [`RobotConfig::robot`] checks it against its URDF.
#[derive(Debug, Clone, PartialEq)]
pub struct RobotConfig {
    /// The YAML file.
    pub path: PathBuf,
    /// The chain's key (`right_arm`, …).
    pub chain: String,
    /// `robot_urdf`, resolved against the YAML file's folder; `None` when the
    /// config names none (then `--urdf` must).
    pub urdf: Option<PathBuf>,
    pub base_link: String,
    pub tip: String,
    pub dof: usize,
    pub joint_names: Vec<String>,
    /// Per joint; `None`: the URDF's.
    pub limits: Option<Vec<JointLimits>>,
    /// Named [`CONFIG_WORKSPACE`]; `None`: the tip's reach box.
    pub workspace: Option<Workspace>,
    pub home: Option<Vec<f64>>,
    /// 0-based joint indices of CycleIK's zero controller.
    pub zero_joints: Vec<usize>,
    /// `IKNet:`: the CycleIK MLP.
    pub mlp: Option<NetworkSection>,
    /// `GAN:`: the CycleIK generator.
    pub gan: Option<NetworkSection>,
    /// Keys present in the chain that nothing here uses (`FKNet`, `IKNet.training.epochs` …).
    pub unused: Vec<String>,
}

/// A network section (`IKNet:` or `GAN:`), every value optional.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NetworkSection {
    pub layers: Option<Vec<usize>>,
    pub n_tanh: Option<usize>,
    pub activation: Option<HiddenActivation>,
    pub position_weight: Option<f64>,
    pub orientation_weight: Option<f64>,
    pub zero_controller_weight: Option<f64>,
    pub noise_dim: Option<usize>,
    pub batch_size: Option<usize>,
    pub learning_rate: Option<f64>,
}

#[derive(Deserialize)]
struct RawChain {
    robot_urdf: Option<String>,
    base_link: String,
    robot_eef: String,
    robot_dof: usize,
    joint_name: Vec<String>,
    limits: Option<RawBounds>,
    workspace: Option<RawBounds>,
    home_js: Option<Vec<f64>>,
    zero_joints_goal: Option<Vec<usize>>,
    #[serde(rename = "IKNet")]
    iknet: Option<RawNetwork>,
    #[serde(rename = "GAN")]
    gan: Option<RawNetwork>,
}

#[derive(Deserialize)]
struct RawBounds {
    upper: Vec<f64>,
    lower: Vec<f64>,
}

#[derive(Deserialize, Default)]
struct RawNetwork {
    layers: Option<Vec<usize>>,
    nbr_tanh: Option<usize>,
    activation: Option<String>,
    position_weight: Option<f64>,
    orientation_weight: Option<f64>,
    zero_controller_weight: Option<f64>,
    noise_vector_size: Option<usize>,
    training: Option<RawTraining>,
    architecture: Option<RawArchitecture>,
}

#[derive(Deserialize, Default)]
struct RawTraining {
    batch_size: Option<usize>,
    lr: Option<f64>,
}

#[derive(Deserialize, Default)]
struct RawArchitecture {
    layers: Option<Vec<usize>>,
    nbr_tanh: Option<usize>,
    activation: Option<String>,
}

/// Deserialises the value of top-level key `key` as a [`RawChain`], skipping the others.
struct PickChain<'a> {
    key: &'a str,
}

impl<'de> DeserializeSeed<'de> for PickChain<'_> {
    type Value = Option<RawChain>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for PickChain<'_> {
    type Value = Option<RawChain>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a mapping of chain keys")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<Value>()? {
            if found.is_none() && matches!(&key, Value::String(k) if k == self.key) {
                found = Some(map.next_value::<RawChain>()?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// The chain keys of a config text, in file order.
pub fn chain_keys(text: &str) -> Result<Vec<String>, String> {
    Ok(top_level(text)?.into_iter().map(|(k, _)| k).collect())
}

fn top_level(text: &str) -> Result<Vec<(String, Value)>, String> {
    let doc: Value =
        serde_norway::from_str(text).map_err(|e| format!("not valid YAML: {}", one_line(&e.to_string())))?;
    let Value::Mapping(map) = doc else {
        return Err("expected a mapping of chain keys (e.g. `arm:`) at the top level".into());
    };
    let mut chains = Vec::with_capacity(map.len());
    for (key, value) in map {
        let Value::String(key) = key else {
            return Err(format!("top-level key {} is not a chain name", describe_key(&key)));
        };
        chains.push((key, value));
    }
    if chains.is_empty() {
        return Err("it names no chain".into());
    }
    Ok(chains)
}

fn describe_key(key: &Value) -> String {
    let text = serde_norway::to_string(key).unwrap_or_default();
    let text = one_line(text.trim());
    if text.chars().count() > 40 { format!("{}…", text.chars().take(40).collect::<String>()) } else { text }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl RobotConfig {
    /// Reads `path` and picks chain `chain` (the only one when `None` and the
    /// file has one).
    pub fn load(path: &Path, chain: Option<&str>) -> Result<Self, RobotError> {
        let err = |message: String| RobotError::Config { path: path.to_path_buf(), message };
        let meta = std::fs::metadata(path).map_err(|e| err(format!("cannot read it: {e}")))?;
        if !meta.is_file() {
            return Err(err("not a file".into()));
        }
        if meta.len() > MAX_CONFIG_BYTES {
            return Err(err(format!(
                "{} bytes: too large for a robot config (at most {MAX_CONFIG_BYTES})",
                meta.len()
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read it: {e}")))?;
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Self::parse(&text, &dir, chain).map(|c| Self { path: path.to_path_buf(), ..c }).map_err(err)
    }

    /// Parses a config text; a relative `robot_urdf` is resolved against
    /// `dir`. The error is one line without the file's name.
    pub fn parse(text: &str, dir: &Path, chain: Option<&str>) -> Result<Self, String> {
        let chains = top_level(text)?;
        let keys = || one_line(&chains.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>().join(", "));
        let (key, value) = match chain {
            Some(name) => chains
                .iter()
                .find(|(k, _)| k == name)
                .ok_or_else(|| one_line(&format!("no chain '{name}'; its chains: {}", keys())))?,
            None if chains.len() == 1 => &chains[0],
            None => return Err(format!("several chains ({}): choose one with --chain", keys())),
        };
        Self::parse_chain(text, key, value, dir).map_err(|e| one_line(&format!("chain '{key}': {e}")))
    }

    fn parse_chain(text: &str, key: &str, value: &Value, dir: &Path) -> Result<Self, String> {
        let Value::Mapping(map) = value else {
            return Err("expected a mapping (robot_urdf, base_link, robot_eef, …)".into());
        };
        let mut unused = Vec::new();
        for (k, v) in map {
            let name = match k {
                Value::String(s) => s.clone(),
                other => describe_key(other),
            };
            if !CHAIN_KEYS.contains(&name.as_str()) {
                unused.push(name);
            } else if name == "IKNet" || name == "GAN" {
                unused_in_network(&name, v, &mut unused);
            }
        }
        // Read from the text again (not from `value`): serde_norway's errors then
        // name the field and the line.
        let raw = PickChain { key }
            .deserialize(serde_norway::Deserializer::from_str(text))
            .map_err(|e| one_line(&e.to_string()))?
            .ok_or("it vanished on a second reading")?;
        let dof = raw.robot_dof;
        if dof == 0 || dof > 1000 {
            return Err(format!("robot_dof {dof} is not a joint count (1 to 1000)"));
        }
        if raw.joint_name.len() != dof {
            return Err(format!("joint_name has {} names for robot_dof {dof}", raw.joint_name.len()));
        }
        let limits = raw.limits.map(|b| check_limits(&b, dof)).transpose()?;
        let workspace = raw.workspace.map(|b| check_workspace(&b)).transpose()?;
        if let Some(home) = &raw.home_js {
            if home.len() != dof {
                return Err(format!("home_js has {} values for robot_dof {dof}", home.len()));
            }
            if let Some(i) = home.iter().position(|v| !v.is_finite()) {
                return Err(format!("home_js[{i}] is not a finite number"));
            }
            if let Some(limits) = &limits
                && let Some(i) = (0..dof).find(|&i| !limits[i].contains(home[i]))
            {
                return Err(format!(
                    "home_js[{i}] = {} ({}) is outside its limits [{}, {}]",
                    home[i], raw.joint_name[i], limits[i].lower, limits[i].upper
                ));
            }
        }
        let zero_joints = raw.zero_joints_goal.unwrap_or_default();
        if let Some(j) = zero_joints.iter().find(|&&j| j >= dof) {
            return Err(format!("zero_joints_goal names joint {j} (0-based) of a {dof}-joint chain"));
        }
        let urdf = raw.robot_urdf.map(|u| {
            let p = PathBuf::from(u);
            if p.is_relative() { dir.join(p) } else { p }
        });
        Ok(Self {
            path: PathBuf::new(),
            chain: key.to_string(),
            urdf,
            base_link: raw.base_link,
            tip: raw.robot_eef,
            dof,
            joint_names: raw.joint_name,
            limits,
            workspace,
            home: raw.home_js,
            zero_joints,
            mlp: raw.iknet.map(|n| network_section("IKNet", n)).transpose()?,
            gan: raw.gan.map(|n| network_section("GAN", n)).transpose()?,
            unused,
        })
    }

    /// The robot this chain describes, from `urdf_override` or the config's
    /// `robot_urdf`: the chain `base_link → robot_eef` (a base absent from the
    /// URDF, such as MoveIt's virtual `world`, is its root), checked against
    /// `robot_dof` and `joint_name`, with the config's limits, its workspace as
    /// the only (so default) workspace, and `home_js` as home. No table is
    /// assumed (as for any URDF).
    pub fn robot(&self, urdf_override: Option<&Path>) -> Result<Robot, RobotError> {
        // Every error names the config file and the chain.
        self.build(urdf_override)
            .map_err(|e| match e {
                RobotError::Config { .. } => e,
                other => {
                    RobotError::Config { path: self.path.clone(), message: format!("chain '{}': {other}", self.chain) }
                }
            })
            // Names from the file (joints, links) may hold line breaks: one line all the same.
            .map_err(|e| match e {
                RobotError::Config { path, message } => RobotError::Config { path, message: one_line(&message) },
                other => other,
            })
    }

    fn build(&self, urdf_override: Option<&Path>) -> Result<Robot, RobotError> {
        let err = |message: String| RobotError::Config { path: self.path.clone(), message };
        let urdf = match (urdf_override, &self.urdf) {
            (Some(p), _) => p.to_path_buf(),
            (None, Some(p)) => p.clone(),
            (None, None) => return Err(err(format!("chain '{}' names no robot_urdf (give --urdf)", self.chain))),
        };
        let tree = Arc::new(KinematicTree::from_file(&urdf)?);
        let (base, note) = resolve_base(&tree, &self.base_link, &self.tip)?;
        let mut chain = Chain::from_tree(&tree, &base, &self.tip)?;
        let within = format!("the chain {base} → {} of {}", self.tip, urdf.display());
        if chain.dof() != self.dof {
            return Err(err(format!(
                "chain '{}': robot_dof is {} but {within} has {} movable joints ({})",
                self.chain,
                self.dof,
                chain.dof(),
                chain.joint_names().join(", ")
            )));
        }
        if chain.joint_names() != self.joint_names {
            return Err(err(format!(
                "chain '{}': joint_name {:?} differs from the joints of {within}: {:?}",
                self.chain,
                self.joint_names,
                chain.joint_names()
            )));
        }
        if let Some(limits) = &self.limits {
            for (joint, l) in chain.joints.iter_mut().zip(limits) {
                joint.limits = *l;
            }
        }
        if let Some(home) = &self.home
            && !chain.within_limits(home)
        {
            return Err(err(format!("chain '{}': home_js lies outside the joint limits of {within}", self.chain)));
        }
        let resolver = MeshResolver { urdf_dir: urdf.parent().map(Path::to_path_buf), search: Vec::new() };
        let collision = CollisionModel::from_urdf_with(&tree, &chain, None, &resolver);
        let mut notes: Vec<String> = note.into_iter().chain(chain.mimic_summary()).collect();
        if !self.unused.is_empty() {
            notes.push(format!("config chain '{}': not used here: {}", self.chain, self.unused.join(", ")));
        }
        let workspace = match &self.workspace {
            Some(w) => w.clone(),
            None => reach_box(&chain),
        };
        Ok(Robot {
            name: tree.name.clone(),
            summary: format!(
                "{} ({base} → {}) from {} [{}] and {}",
                tree.name,
                self.tip,
                self.path.display(),
                self.chain,
                urdf.display()
            ),
            source: RobotSource::Urdf(urdf),
            workspaces: vec![workspace],
            home: Some(self.home.clone().unwrap_or_else(|| super::zero_home(&chain))),
            tree,
            chain,
            collision,
            notes,
        })
    }
}

fn unused_in_network(section: &str, value: &Value, unused: &mut Vec<String>) {
    let Value::Mapping(map) = value else { return };
    for (k, v) in map {
        let Value::String(name) = k else {
            unused.push(format!("{section}.{}", describe_key(k)));
            continue;
        };
        let nested = match name.as_str() {
            "training" => Some(TRAINING_KEYS),
            "architecture" => Some(ARCHITECTURE_KEYS),
            _ => None,
        };
        if !NETWORK_KEYS.contains(&name.as_str()) {
            unused.push(format!("{section}.{name}"));
        } else if let (Some(known), Value::Mapping(inner)) = (nested, v) {
            for key in inner.keys() {
                let inner_name = match key {
                    Value::String(s) => s.clone(),
                    other => describe_key(other),
                };
                if !known.contains(&inner_name.as_str()) {
                    unused.push(format!("{section}.{name}.{inner_name}"));
                }
            }
        }
    }
}

fn check_limits(b: &RawBounds, dof: usize) -> Result<Vec<JointLimits>, String> {
    if b.lower.len() != dof || b.upper.len() != dof {
        return Err(format!(
            "limits have {} lower and {} upper values for robot_dof {dof}",
            b.lower.len(),
            b.upper.len()
        ));
    }
    (0..dof)
        .map(|i| {
            let (lo, hi) = (b.lower[i], b.upper[i]);
            if !(lo.is_finite() && hi.is_finite() && lo.abs() <= MAX_URDF_MAGNITUDE && hi.abs() <= MAX_URDF_MAGNITUDE) {
                return Err(format!("limits of joint {i} are not finite numbers within ±{MAX_URDF_MAGNITUDE}"));
            }
            if lo >= hi {
                return Err(format!("limits of joint {i}: lower {lo} is not below upper {hi}"));
            }
            Ok(JointLimits::new(lo, hi))
        })
        .collect()
}

fn check_workspace(b: &RawBounds) -> Result<Workspace, String> {
    if b.lower.len() != 3 || b.upper.len() != 3 {
        return Err(format!(
            "workspace needs 3 lower and 3 upper values (x, y, z), it has {} and {}",
            b.lower.len(),
            b.upper.len()
        ));
    }
    let (min, max) = ([b.lower[0], b.lower[1], b.lower[2]], [b.upper[0], b.upper[1], b.upper[2]]);
    if !min.iter().chain(&max).all(|v| v.is_finite() && v.abs() <= 1_000.0) {
        return Err("workspace corners must be finite and within 1 km".into());
    }
    if let Some(i) = (0..3).find(|&i| min[i] >= max[i]) {
        return Err(format!("workspace lower {} is not below upper {} along {}", min[i], max[i], ["x", "y", "z"][i]));
    }
    Ok(Workspace::new(CONFIG_WORKSPACE, min, max))
}

fn network_section(name: &str, raw: RawNetwork) -> Result<NetworkSection, String> {
    let arch = raw.architecture.unwrap_or_default();
    let training = raw.training.unwrap_or_default();
    fn pick<T: PartialEq>(direct: Option<T>, nested: Option<T>, name: &str, key: &str) -> Result<Option<T>, String> {
        match (direct, nested) {
            (Some(a), Some(b)) if a != b => Err(format!("{name}: {key} is given twice with different values")),
            (a, b) => Ok(a.or(b)),
        }
    }
    let layers = pick(raw.layers, arch.layers, name, "layers")?;
    let n_tanh = pick(raw.nbr_tanh, arch.nbr_tanh, name, "nbr_tanh")?;
    let activation = pick(raw.activation, arch.activation, name, "activation")?;
    if let Some(layers) = &layers {
        if layers.is_empty() || layers.len() > 64 {
            return Err(format!("{name}: layers needs 1 to 64 widths"));
        }
        if let Some(w) = layers.iter().find(|&&w| w == 0 || w > 1 << 16) {
            return Err(format!("{name}: layer width {w} is outside 1 to 65536"));
        }
    }
    if let Some(n) = n_tanh {
        let depth = layers.as_ref().map_or(65, |l| l.len() + 1);
        if n == 0 || n > depth {
            return Err(format!("{name}: nbr_tanh {n} is outside 1 to {depth} (the hidden layers and the output)"));
        }
    }
    let activation = activation.map(|a| parse_activation(&a).map_err(|e| format!("{name}: {e}"))).transpose()?;
    for (key, w) in [
        ("position_weight", raw.position_weight),
        ("orientation_weight", raw.orientation_weight),
        ("zero_controller_weight", raw.zero_controller_weight),
    ] {
        if let Some(w) = w
            && !(w.is_finite() && (0.0..=1e6).contains(&w))
        {
            return Err(format!("{name}: {key} {w} is outside 0 to 1000000"));
        }
    }
    if let Some(n) = raw.noise_vector_size
        && !(1..=1000).contains(&n)
    {
        return Err(format!("{name}: noise_vector_size {n} is outside 1 to 1000"));
    }
    if let Some(b) = training.batch_size
        && !(2..=1_000_000).contains(&b)
    {
        return Err(format!("{name}: training.batch_size {b} is outside 2 to 1000000"));
    }
    if let Some(lr) = training.lr
        && !(lr.is_finite() && lr > 0.0 && lr <= 1e6)
    {
        return Err(format!("{name}: training.lr {lr} is not a positive number"));
    }
    Ok(NetworkSection {
        layers,
        n_tanh,
        activation,
        position_weight: raw.position_weight,
        orientation_weight: raw.orientation_weight,
        zero_controller_weight: raw.zero_controller_weight,
        noise_dim: raw.noise_vector_size,
        batch_size: training.batch_size,
        learning_rate: training.lr,
    })
}

/// CycleIK's activation names (PyTorch class names), any case, `-`/`_` ignored.
pub fn parse_activation(name: &str) -> Result<HiddenActivation, String> {
    let key: String = name.chars().filter(|c| !matches!(c, '-' | '_' | ' ')).collect::<String>().to_lowercase();
    Ok(match key.as_str() {
        "gelu" => HiddenActivation::Gelu,
        "relu" => HiddenActivation::Relu,
        "leakyrelu" => HiddenActivation::LeakyRelu,
        "celu" => HiddenActivation::Celu,
        "selu" => HiddenActivation::Selu,
        _ => {
            let shown: String = name.chars().take(40).collect();
            return Err(format!("activation '{shown}' is not one of GELU, ReLU, LeakyReLU, CELU, SELU"));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TWO: &str = "
right_arm:
  robot_urdf: 'x.urdf'
  base_link: world
  robot_eef: tip
  robot_dof: 2
  joint_name: [a, b]
  limits: {upper: [1, 2], lower: [-1, -2.]}
  workspace: {upper: [1, 1, 1], lower: [0, 0, 0]}
  home_js: [0.5, 0]
  zero_joints_goal: [1]
  move_group: r_arm
  FKNet: {layers: [1]}
  IKNet:
    position_weight: 9.
    orientation_weight: 2
    training: {batch_size: 100, lr: 0.00018, epochs: 3}
    architecture: {layers: [30, 20], nbr_tanh: 1, activation: \"GELU\"}
left_arm: 3
";

    #[test]
    fn picks_and_parses_a_chain() {
        let c = RobotConfig::parse(TWO, Path::new("/cfg"), Some("right_arm")).unwrap();
        assert_eq!(c.urdf.as_deref(), Some(Path::new("/cfg/x.urdf")));
        assert_eq!((c.base_link.as_str(), c.tip.as_str(), c.dof), ("world", "tip", 2));
        assert_eq!(c.limits.as_ref().unwrap()[1], JointLimits::new(-2.0, 2.0));
        assert_eq!(c.workspace.as_ref().unwrap().max, [1.0; 3]);
        assert_eq!(c.zero_joints, [1]);
        let mlp = c.mlp.unwrap();
        assert_eq!(mlp.layers.as_deref(), Some(&[30, 20][..]));
        assert_eq!((mlp.n_tanh, mlp.activation, mlp.batch_size), (Some(1), Some(HiddenActivation::Gelu), Some(100)));
        assert_eq!(mlp.orientation_weight, Some(2.0));
        assert_eq!(c.unused, ["move_group", "FKNet", "IKNet.training.epochs"]);
        assert!(c.gan.is_none());
    }

    #[test]
    fn several_chains_need_a_choice() {
        let e = RobotConfig::parse(TWO, Path::new("."), None).unwrap_err();
        assert!(e.contains("right_arm, left_arm") && e.contains("--chain"), "{e}");
        let e = RobotConfig::parse(TWO, Path::new("."), Some("arm")).unwrap_err();
        assert!(e.contains("no chain 'arm'"), "{e}");
        let e = RobotConfig::parse(TWO, Path::new("."), Some("left_arm")).unwrap_err();
        assert!(e.contains("chain 'left_arm'"), "{e}");
    }

    #[test]
    fn bad_values_are_errors() {
        let cases = [
            ("robot_dof: 2", "robot_dof: 3", "joint_name has 2"),
            ("lower: [-1, -2.]", "lower: [-1, 3]", "lower 3 is not below"),
            ("lower: [0, 0, 0]", "lower: [0, 2, 0]", "along y"),
            ("home_js: [0.5, 0]", "home_js: [1.5, 0]", "outside its limits"),
            ("zero_joints_goal: [1]", "zero_joints_goal: [2]", "zero_joints_goal"),
            ("\"GELU\"", "\"Swish\"", "not one of"),
            ("nbr_tanh: 1", "nbr_tanh: 4", "nbr_tanh 4"),
            ("robot_dof: 2", "robot_dof: two", "robot_dof"),
        ];
        for (from, to, expected) in cases {
            let text = TWO.replace(from, to);
            let e = RobotConfig::parse(&text, Path::new("."), Some("right_arm")).unwrap_err();
            assert!(e.contains(expected), "{to}: {e}");
            assert!(!e.contains('\n'), "{e}");
        }
        for text in ["", "[1, 2]", "a: [", "? [1]\n: 2", "arm: {base_link: 1}"] {
            let e = RobotConfig::parse(text, Path::new("."), None).unwrap_err();
            assert!(!e.contains('\n'), "{e}");
        }
    }
}
