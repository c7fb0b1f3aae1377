//! Names of the model families and their size presets.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::ModelError;

/// The five networks of SPEC §1, named as on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    IknetOriginal,
    IknetImproved,
    IknetFocused,
    CycleikMlp,
    CycleikGan,
}

impl ModelKind {
    pub const ALL: [ModelKind; 5] =
        [Self::IknetOriginal, Self::IknetImproved, Self::IknetFocused, Self::CycleikMlp, Self::CycleikGan];

    pub fn name(self) -> &'static str {
        match self {
            Self::IknetOriginal => "iknet-original",
            Self::IknetImproved => "iknet-improved",
            Self::IknetFocused => "iknet-focused",
            Self::CycleikMlp => "cycleik-mlp",
            Self::CycleikGan => "cycleik-gan",
        }
    }

    /// IKNets learn joint labels; CycleIK learns through the forward kinematics.
    pub fn is_supervised(self) -> bool {
        matches!(self, Self::IknetOriginal | Self::IknetImproved | Self::IknetFocused)
    }

    /// The generator takes noise and yields many solutions per pose.
    pub fn is_generative(self) -> bool {
        self == Self::CycleikGan
    }

    /// The presets this model offers: the IKNet architectures are fixed by the
    /// study (only `compact`), CycleIK has the paper's Table 3 sizes too.
    pub fn presets(self) -> &'static [Preset] {
        if self.is_supervised() { &[Preset::Compact] } else { &Preset::ALL }
    }
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for ModelKind {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|k| k.name() == s).ok_or_else(|| ModelError::UnknownModel(s.to_string()))
    }
}

/// Network size presets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Preset {
    /// Small enough to train a useful model on a 2-core CPU in minutes.
    #[default]
    Compact,
    /// CycleIK paper, Table 3, "Small" workspace networks.
    PaperSmall,
    /// CycleIK paper, Table 3, "Full" workspace networks.
    PaperFull,
    /// Sizes of no preset (an imported network); nothing to train from.
    #[value(skip)]
    Custom,
}

impl Preset {
    pub const ALL: [Preset; 3] = [Self::Compact, Self::PaperSmall, Self::PaperFull];

    pub fn name(self) -> &'static str {
        match self {
            Self::Compact => "compact",
            Self::PaperSmall => "paper-small",
            Self::PaperFull => "paper-full",
            Self::Custom => "custom",
        }
    }
}

impl fmt::Display for Preset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Preset {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|p| p.name() == s).ok_or_else(|| ModelError::UnknownPreset(s.to_string()))
    }
}
