//! The model card (`card.json`): what a checkpoint holds and what it is for.

use serde::{Deserialize, Serialize};

use super::{Architecture, IoMapping, ModelError, ModelKind, Preset};
use crate::kinematics::{Chain, JointKind, JointLimits, ToolOffset};

pub const CARD_FORMAT_VERSION: u32 = 1;

/// The chain a model was trained for. `digest` covers every joint origin,
/// axis, type and limit, so a changed URDF with the same joint names is caught.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChainCard {
    pub base: String,
    pub tip: String,
    pub dof: usize,
    pub joint_names: Vec<String>,
    pub limits: Vec<JointLimits>,
    pub digest: String,
    /// The tool point in the tip link's frame (`--tip-offset`); absent for the
    /// tip link itself and in cards written before it existed. The digest covers it too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tip_offset: Option<ToolOffset>,
}

impl ChainCard {
    pub fn of(chain: &Chain) -> Self {
        Self {
            base: chain.base.clone(),
            tip: chain.tip.clone(),
            dof: chain.dof(),
            joint_names: chain.joint_names(),
            limits: chain.limits(),
            digest: chain_digest(chain),
            tip_offset: chain.tool,
        }
    }

    /// Refuses a chain other than the one the model was trained for.
    pub fn check(&self, robot_name: &str, chain: &Chain) -> Result<(), ModelError> {
        let other = ChainCard::of(chain);
        if other != *self {
            let what = |c: &ChainCard| {
                let tool = c.tip_offset.map_or(String::new(), |t| format!(", tip offset {}", t.describe()));
                format!("{} → {}{tool} ({} joints {:?}, digest {})", c.base, c.tip, c.dof, c.joint_names, c.digest)
            };
            return Err(ModelError::ChainMismatch {
                expected: format!("{robot_name}: {}; they differ in {}", what(&other), self.difference(&other)),
                found: what(self),
            });
        }
        Ok(())
    }

    /// The first thing that tells two chains apart, for a refusal the user can act on.
    fn difference(&self, other: &ChainCard) -> String {
        if (&self.base, &self.tip, &self.joint_names) != (&other.base, &other.tip, &other.joint_names) {
            return "their links or joints".into();
        }
        let limits = self.joint_names.iter().zip(self.limits.iter().zip(&other.limits));
        if let Some((name, (a, b))) = limits.clone().find(|(_, (a, b))| a != b) {
            return format!(
                "the limits of {name}: [{}, {}] on the card, [{}, {}] now (limits must match exactly)",
                a.lower, a.upper, b.lower, b.upper
            );
        }
        if self.tip_offset != other.tip_offset {
            return "the tip offset".into();
        }
        "joint origins, axes or mimic joints (the URDF's geometry)".into()
    }
}

/// CRC-32 over the chain's kinematic constants (f64 bits), as 8 hex digits.
fn chain_digest(chain: &Chain) -> String {
    fn isometry(iso: &nalgebra::Isometry3<f64>, values: &mut Vec<f64>) {
        values.extend(iso.translation.vector.iter());
        values.extend(iso.rotation.coords.iter());
    }
    let mut values = Vec::new();
    for joint in &chain.joints {
        isometry(&joint.origin, &mut values);
        values.extend(joint.axis.iter());
        values.push(match joint.kind {
            JointKind::Revolute => 1.0,
            JointKind::Continuous => 2.0,
            JointKind::Prismatic => 3.0,
            JointKind::Fixed => 4.0,
        });
        values.extend([joint.limits.lower, joint.limits.upper]);
    }
    isometry(&chain.tip_offset, &mut values);
    // Mimic joints (none in most chains, whose digests stay as they were).
    for m in &chain.mimics {
        isometry(&m.origin, &mut values);
        values.extend(m.axis.iter());
        let prismatic = (m.kind == JointKind::Prismatic) as u8 as f64;
        values.extend([m.master as f64, m.slot as f64, m.multiplier, m.offset, prismatic]);
    }
    let mut crc = crc32fast::Hasher::new();
    values.iter().for_each(|v| crc.update(&v.to_le_bytes()));
    format!("{:08x}", crc.finalize())
}

/// The weights file a card vouches for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightsCard {
    pub file: String,
    /// `burnpack` (burn-store's native format).
    pub format: String,
    pub bytes: u64,
    /// CRC-32 of the file, 8 hex digits.
    pub crc32: String,
}

/// Everything needed to rebuild, check and use a trained model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelCard {
    pub format_version: u32,
    pub model: ModelKind,
    pub preset: Preset,
    /// One line for people; `architecture` is the machine-readable form.
    pub summary: String,
    pub architecture: Architecture,
    pub parameter_count: usize,
    /// Pose normalisation (workspace box → [-1, 1]), output mapping (joint
    /// limits) and the generator's noise.
    pub io: IoMapping,
    pub robot: String,
    pub chain: ChainCard,
    /// Filled in when the checkpoint is written.
    pub weights: Option<WeightsCard>,
    pub created_by: String,
}

impl ModelCard {
    pub fn new(
        model: ModelKind,
        preset: Preset,
        architecture: Architecture,
        io: IoMapping,
        robot_name: &str,
        chain: &Chain,
    ) -> Result<Self, ModelError> {
        let card = Self {
            format_version: CARD_FORMAT_VERSION,
            model,
            preset,
            summary: format!("{model} ({preset}) for {robot_name}: {}", architecture.describe()),
            parameter_count: architecture.parameter_count(),
            architecture,
            io,
            robot: robot_name.to_string(),
            chain: ChainCard::of(chain),
            weights: None,
            created_by: format!("ik-studio {}", env!("CARGO_PKG_VERSION")),
        };
        card.check_consistent()?;
        Ok(card)
    }

    pub fn dof(&self) -> usize {
        self.chain.dof
    }

    /// The parts of a card must agree with each other (a hand-edited or
    /// mismatched card is refused before any weights are read).
    pub fn check_consistent(&self) -> Result<(), ModelError> {
        let bad = |what: String| Err(ModelError::InvalidArchitecture(what));
        self.architecture.validate()?;
        if !self.architecture.fits_kind(self.model) {
            return bad(format!("the architecture is not a {} network", self.model));
        }
        let dof = self.chain.dof;
        if self.architecture.dof() != dof || self.chain.joint_names.len() != dof || self.chain.limits.len() != dof {
            return bad(format!(
                "the network outputs {} joints, the chain has {dof} ({} names, {} limits)",
                self.architecture.dof(),
                self.chain.joint_names.len(),
                self.chain.limits.len()
            ));
        }
        if self.io.noise_dim() != self.architecture.noise_dim() {
            return bad(format!(
                "noise of {} values, the network takes {}",
                self.io.noise_dim(),
                self.architecture.noise_dim()
            ));
        }
        if let super::OutputDecoding::JointLimits { lower, upper } = &self.io.output
            && (lower.len() != dof || upper.len() != dof)
        {
            return bad(format!("output mapping for {} joints, the chain has {dof}", lower.len()));
        }
        self.io.check_ranges().map_err(ModelError::InvalidArchitecture)?;
        if self.model.is_supervised() != matches!(self.io.output, super::OutputDecoding::Raw) {
            return bad(format!("{} does not use this output mapping", self.model));
        }
        Ok(())
    }
}
