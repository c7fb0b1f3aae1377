//! The search space: which hyper-parameters a study varies, over which ranges,
//! and how a trial's values become a [`TrainConfig`].
//!
//! Parameters are named as in `--space` files and `study.jsonl`:
//!
//! | name | models | kind |
//! |---|---|---|
//! | `batch_size` | all | whole number |
//! | `learning_rate` | all | number > 0 |
//! | `layers` | iknet-original, cycleik-* | hidden layers, whole number |
//! | `width_1` … `width_64` | iknet-original, cycleik-* | neurons of hidden layer k |
//! | `dropout` | iknet-original, iknet-improved | in [0, 0.95] |
//! | `width`, `blocks` | iknet-improved | residual width and block count |
//! | `tanh_layers` | cycleik-* | last layers with tanh (capped at layers + 1) |
//! | `noise_dim` | cycleik-gan | noise inputs |
//! | `position_weight`, `rotation_weight` | cycleik-* | loss weights |
//! | `variance_weight` | cycleik-gan | spread-term weight |
//!
//! A width that a trial's layer count does not reach is not part of the trial.
//! Parameters a space leaves out keep the preset's value.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::TuneError;
use crate::models::{Architecture, ModelKind, Preset, preset_spec};
use crate::train::TrainConfig;

/// The values of one trial, by parameter name.
pub type TrialParams = BTreeMap<String, f64>;

/// Most hidden layers a space may ask for (the architecture's own limit).
pub const MAX_LAYERS: usize = 64;
const MAX_WIDTH: f64 = 32_768.0;

/// One parameter's range: `[low, high]`, on a grid of `step` for whole-number
/// parameters, sampled uniformly in log space when `log`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParamRange {
    pub low: f64,
    pub high: f64,
    /// Grid spacing of a whole-number parameter (default 1); continuous
    /// parameters take none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<f64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub log: bool,
}

impl ParamRange {
    const fn new(low: f64, high: f64) -> Self {
        Self { low, high, step: None, log: false }
    }
    const fn stepped(low: f64, high: f64, step: f64) -> Self {
        Self { low, high, step: Some(step), log: false }
    }
    const fn log(low: f64, high: f64) -> Self {
        Self { low, high, step: None, log: true }
    }

    /// `value` moved onto this range (and its grid): where a proposal lands.
    pub fn snap(&self, value: f64) -> f64 {
        let value = value.clamp(self.low, self.high);
        match self.step {
            Some(step) => {
                let last = ((self.high - self.low) / step).floor();
                self.low + ((value - self.low) / step).round().clamp(0.0, last) * step
            }
            None => value,
        }
    }

    pub fn contains(&self, value: f64) -> bool {
        (self.low..=self.high).contains(&value)
    }
}

/// What a parameter name may take.
#[derive(Debug, Clone, Copy)]
struct ParamKind {
    whole: bool,
    min: f64,
    max: f64,
    /// `min` itself is not allowed (learning rates).
    above_min: bool,
}

const fn whole(min: f64, max: f64) -> ParamKind {
    ParamKind { whole: true, min, max, above_min: false }
}

/// The kind of `name` for `model`; `None`: the model has no such parameter.
fn param_kind(model: ModelKind, name: &str) -> Option<ParamKind> {
    let cycleik = !model.is_supervised();
    let layered = cycleik || model == ModelKind::IknetOriginal;
    let dropout = matches!(model, ModelKind::IknetOriginal | ModelKind::IknetImproved);
    let weight = ParamKind { whole: false, min: 0.0, max: 1e6, above_min: false };
    match name {
        "batch_size" => Some(whole(2.0, 1e6)),
        "learning_rate" => Some(ParamKind { whole: false, min: 0.0, max: 1.0, above_min: true }),
        "layers" if layered => Some(whole(1.0, MAX_LAYERS as f64)),
        "dropout" if dropout => Some(ParamKind { whole: false, min: 0.0, max: 0.95, above_min: false }),
        "width" if model == ModelKind::IknetImproved => Some(whole(1.0, MAX_WIDTH)),
        "blocks" if model == ModelKind::IknetImproved => Some(whole(0.0, 16.0)),
        "tanh_layers" if cycleik => Some(whole(1.0, MAX_LAYERS as f64 + 1.0)),
        "noise_dim" if model == ModelKind::CycleikGan => Some(whole(1.0, 64.0)),
        "position_weight" | "rotation_weight" if cycleik => Some(weight),
        "variance_weight" if model == ModelKind::CycleikGan => Some(weight),
        _ if layered && layer_of(name).is_some() => Some(whole(1.0, MAX_WIDTH)),
        _ => None,
    }
}

/// `width_k` → k (1-based, up to [`MAX_LAYERS`]).
fn layer_of(name: &str) -> Option<usize> {
    let k: usize = name.strip_prefix("width_")?.parse().ok()?;
    (1..=MAX_LAYERS).contains(&k).then_some(k)
}

fn width_name(k: usize) -> String {
    format!("width_{k}")
}

/// The parameters a study varies, by name.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SearchSpace {
    pub params: BTreeMap<String, ParamRange>,
}

impl SearchSpace {
    /// The paper's search, scaled to a CPU. Every model: batch 100–600 in
    /// steps of 50. CycleIK (Optuna in the paper): learning rate 1e-5–1e-3
    /// (log), 2–6 hidden layers of 64–1024 neurons (steps of 32; the paper's
    /// networks reach 3380, too slow for a CPU), 1–3 tanh layers, position
    /// weight 1–20 and rotation weight 0.5–10 for the MLP; the GAN adds noise
    /// 3–10 and takes position 50–200, rotation 5–50, spread 5–80. IKNet
    /// (its Optuna script): five widths of 10–500 and dropout 0–0.3, learning
    /// rate 1e-4–3e-2 (log, around the study's 0.01); the improved IKNet
    /// searches width 64–512, 1–4 blocks and dropout; the focused IKNet
    /// batch and learning rate only.
    pub fn default_for(model: ModelKind) -> Self {
        let mut params = BTreeMap::new();
        params.insert("batch_size".to_string(), ParamRange::stepped(100.0, 600.0, 50.0));
        let lr = if model.is_supervised() { ParamRange::log(1e-4, 3e-2) } else { ParamRange::log(1e-5, 1e-3) };
        params.insert("learning_rate".to_string(), lr);
        let mut add = |name: &str, range: ParamRange| params.insert(name.to_string(), range);
        match model {
            ModelKind::IknetOriginal => {
                for k in 1..=5 {
                    add(&width_name(k), ParamRange::stepped(10.0, 500.0, 1.0));
                }
                add("dropout", ParamRange::new(0.0, 0.3));
            }
            ModelKind::IknetImproved => {
                add("width", ParamRange::stepped(64.0, 512.0, 32.0));
                add("blocks", ParamRange::stepped(1.0, 4.0, 1.0));
                add("dropout", ParamRange::new(0.0, 0.3));
            }
            ModelKind::IknetFocused => {}
            ModelKind::CycleikMlp | ModelKind::CycleikGan => {
                add("layers", ParamRange::stepped(2.0, 6.0, 1.0));
                for k in 1..=6 {
                    add(&width_name(k), ParamRange::stepped(64.0, 1024.0, 32.0));
                }
                add("tanh_layers", ParamRange::stepped(1.0, 3.0, 1.0));
                if model == ModelKind::CycleikGan {
                    add("noise_dim", ParamRange::stepped(3.0, 10.0, 1.0));
                    add("position_weight", ParamRange::new(50.0, 200.0));
                    add("rotation_weight", ParamRange::new(5.0, 50.0));
                    add("variance_weight", ParamRange::new(5.0, 80.0));
                } else {
                    add("position_weight", ParamRange::new(1.0, 20.0));
                    add("rotation_weight", ParamRange::new(0.5, 10.0));
                }
            }
        }
        Self { params }
    }

    /// A `--space` file's text: `{"name": {"low": …, "high": …, "step": …, "log": …}, …}`.
    /// The file replaces the default space; parameters it leaves out keep the preset's value.
    pub fn from_json(model: ModelKind, text: &str) -> Result<Self, TuneError> {
        let params: BTreeMap<String, ParamRange> =
            serde_json::from_str(text).map_err(|e| TuneError::Space(e.to_string()))?;
        let space = Self { params };
        space.validate(model)?;
        Ok(space)
    }

    /// Refuses unknown names, empty or inverted ranges, fractional bounds or
    /// steps of whole-number parameters, log ranges reaching 0, values beyond
    /// what the parameter can take.
    pub fn validate(&self, model: ModelKind) -> Result<(), TuneError> {
        if self.params.is_empty() {
            return Err(TuneError::Space("the search space is empty: name at least one parameter".into()));
        }
        for (name, range) in &self.params {
            let kind = param_kind(model, name).ok_or_else(|| {
                TuneError::Space(format!("{model} has no parameter `{name}` (it has {})", known_names(model)))
            })?;
            check_range(name, range, kind).map_err(TuneError::Space)?;
        }
        Ok(())
    }

    /// The ranges in name order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ParamRange)> {
        self.params.iter().map(|(n, r)| (n.as_str(), r))
    }
}

fn known_names(model: ModelKind) -> String {
    let names = [
        "batch_size",
        "learning_rate",
        "layers",
        "width_1…width_64",
        "width",
        "blocks",
        "dropout",
        "tanh_layers",
        "noise_dim",
        "position_weight",
        "rotation_weight",
        "variance_weight",
    ];
    let probe = |n: &str| if n.starts_with("width_") { "width_1" } else { n }.to_string();
    names.into_iter().filter(|n| param_kind(model, &probe(n)).is_some()).collect::<Vec<_>>().join(", ")
}

fn check_range(name: &str, range: &ParamRange, kind: ParamKind) -> Result<(), String> {
    let ParamRange { low, high, step, log } = *range;
    if !(low.is_finite() && high.is_finite()) {
        return Err(format!("`{name}`: bounds must be finite numbers"));
    }
    if low > high {
        return Err(format!("`{name}`: the range {low}–{high} is inverted (low above high)"));
    }
    if low == high {
        return Err(format!("`{name}`: the range {low}–{high} is empty (leave the parameter out to keep one value)"));
    }
    let low_ok = if kind.above_min { low > kind.min } else { low >= kind.min };
    if !low_ok || high > kind.max {
        let open = if kind.above_min { "(" } else { "[" };
        return Err(format!("`{name}`: {low}–{high} leaves the allowed {open}{}, {}]", kind.min, kind.max));
    }
    if log && low <= 0.0 {
        return Err(format!("`{name}`: a log range needs a low bound above 0"));
    }
    match (kind.whole, step) {
        (false, Some(_)) => Err(format!("`{name}` is continuous: it takes no step")),
        (true, step) => {
            let step = step.unwrap_or(1.0);
            let is_whole = |v: f64| v.fract() == 0.0;
            if !(is_whole(low) && is_whole(high) && step.is_finite() && step >= 1.0 && is_whole(step)) {
                return Err(format!("`{name}` is a whole number: bounds and step must be whole, step ≥ 1"));
            }
            if log {
                return Err(format!("`{name}` is a whole number: log ranges are for continuous parameters"));
            }
            Ok(())
        }
        (false, None) => Ok(()),
    }
}

/// Parses a trial's values given by hand (`ik-studio train --params`): a JSON
/// object of parameter names and numbers, each one `model` has and within
/// what it can take.
pub fn params_from_json(model: ModelKind, text: &str) -> Result<TrialParams, TuneError> {
    let params: TrialParams = serde_json::from_str(text).map_err(|e| TuneError::Space(e.to_string()))?;
    for (name, &value) in &params {
        let kind = param_kind(model, name).ok_or_else(|| {
            TuneError::Space(format!("{model} has no parameter `{name}` (it has {})", known_names(model)))
        })?;
        let low_ok = if kind.above_min { value > kind.min } else { value >= kind.min };
        if !(value.is_finite() && low_ok && value <= kind.max) || (kind.whole && value.fract() != 0.0) {
            let what = if kind.whole { "a whole number" } else { "a number" };
            return Err(TuneError::Space(format!("`{name}` = {value} is not {what} in [{}, {}]", kind.min, kind.max)));
        }
    }
    Ok(params)
}

/// A space whose whole-number parameters all carry their step (1 unless given).
pub(super) fn with_steps(space: &SearchSpace, model: ModelKind) -> SearchSpace {
    let params = space
        .params
        .iter()
        .map(|(name, range)| {
            let whole = param_kind(model, name).is_some_and(|k| k.whole);
            let step = if whole { Some(range.step.unwrap_or(1.0)) } else { None };
            (name.clone(), ParamRange { step, ..*range })
        })
        .collect();
    SearchSpace { params }
}

/// The preset's network and training settings, which trials modify.
#[derive(Debug, Clone)]
pub struct Baseline {
    pub config: TrainConfig,
    pub architecture: Architecture,
}

impl Baseline {
    /// `model`'s `preset` for a chain of `dof` joints, run for `epochs`.
    pub fn new(model: ModelKind, preset: Preset, dof: usize, epochs: usize) -> Result<Self, TuneError> {
        let mut config = TrainConfig::new(model, preset)?;
        config.epochs = epochs;
        let architecture = preset_spec(model, preset, dof)?.architecture;
        Ok(Self { config, architecture })
    }

    /// The preset's own values of the space's parameters: trial 0. Widths of
    /// layers the preset does not have are left out.
    pub fn params(&self, space: &SearchSpace) -> TrialParams {
        space.params.keys().filter_map(|name| Some((name.clone(), self.value(name)?))).collect()
    }

    fn value(&self, name: &str) -> Option<f64> {
        let (config, loss) = (&self.config, &self.config.loss);
        let hidden = hidden_widths(&self.architecture);
        Some(match (name, &self.architecture) {
            ("batch_size", _) => config.batch_size as f64,
            ("learning_rate", _) => config.learning_rate,
            ("layers", _) => hidden?.len() as f64,
            ("dropout", Architecture::IknetOriginal(c)) => c.dropout,
            ("dropout", Architecture::IknetImproved(c)) => c.dropout,
            ("width", Architecture::IknetImproved(c)) => c.width as f64,
            ("blocks", Architecture::IknetImproved(c)) => c.blocks as f64,
            ("tanh_layers", Architecture::CycleIk(c)) => c.n_tanh as f64,
            ("noise_dim", Architecture::CycleIk(c)) => c.noise_dim as f64,
            ("position_weight", _) => loss.position_weight,
            ("rotation_weight", _) => loss.rotation_weight,
            ("variance_weight", _) => loss.variance_weight,
            (other, _) => *hidden?.get(layer_of(other)? - 1)? as f64,
        })
    }

    /// The training configuration of a trial: the preset with `params` applied.
    pub fn config_for(&self, params: &TrialParams) -> Result<TrainConfig, TuneError> {
        let mut config = self.config.clone();
        let get = |name: &str| params.get(name).copied();
        let count = |name: &str| get(name).map(|v| v.round().max(0.0) as usize);
        if let Some(b) = count("batch_size") {
            config.batch_size = b;
        }
        if let Some(lr) = get("learning_rate") {
            config.learning_rate = lr;
        }
        for (name, weight) in [
            ("position_weight", &mut config.loss.position_weight),
            ("rotation_weight", &mut config.loss.rotation_weight),
            ("variance_weight", &mut config.loss.variance_weight),
        ] {
            if let Some(w) = get(name) {
                *weight = w;
            }
        }
        let mut architecture = self.architecture.clone();
        let layered = |hidden: &[usize]| -> Vec<usize> {
            let layers = count("layers").unwrap_or(hidden.len());
            // Layers past the preset's repeat its last width unless the trial names one.
            let fallback = |k: usize| hidden.get(k).or(hidden.last()).copied().unwrap_or(1);
            (0..layers).map(|k| count(&width_name(k + 1)).unwrap_or_else(|| fallback(k))).collect()
        };
        match &mut architecture {
            Architecture::IknetOriginal(c) => {
                c.hidden = layered(&c.hidden);
                c.dropout = get("dropout").unwrap_or(c.dropout);
            }
            Architecture::IknetImproved(c) => {
                c.width = count("width").unwrap_or(c.width);
                c.blocks = count("blocks").unwrap_or(c.blocks);
                c.dropout = get("dropout").unwrap_or(c.dropout);
            }
            Architecture::IknetFocused(_) => {}
            Architecture::CycleIk(c) => {
                c.hidden = layered(&c.hidden);
                // More tanh layers than the network has would not build.
                c.n_tanh = count("tanh_layers").unwrap_or(c.n_tanh).clamp(1, c.hidden.len() + 1);
                c.noise_dim = count("noise_dim").unwrap_or(c.noise_dim);
            }
        }
        architecture.validate()?;
        config.architecture = Some(architecture);
        Ok(config)
    }

    /// The parameters a trial really uses: widths past its layer count dropped.
    pub fn used(&self, mut params: TrialParams) -> TrialParams {
        let layers =
            params.get("layers").map(|v| v.round() as usize).or_else(|| self.value("layers").map(|v| v as usize));
        if let Some(layers) = layers {
            params.retain(|name, _| layer_of(name).is_none_or(|k| k <= layers));
        }
        params
    }
}

/// The hidden widths of a layered network.
fn hidden_widths(architecture: &Architecture) -> Option<&[usize]> {
    match architecture {
        Architecture::IknetOriginal(c) => Some(&c.hidden),
        Architecture::CycleIk(c) => Some(&c.hidden),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_spaces_are_valid_and_hold_the_paper_ranges() {
        for model in ModelKind::ALL {
            SearchSpace::default_for(model).validate(model).unwrap();
        }
        let gan = SearchSpace::default_for(ModelKind::CycleikGan);
        assert_eq!(gan.params["batch_size"], ParamRange::stepped(100.0, 600.0, 50.0));
        assert_eq!(gan.params["learning_rate"], ParamRange::log(1e-5, 1e-3));
        assert_eq!(gan.params["tanh_layers"], ParamRange::stepped(1.0, 3.0, 1.0));
        assert_eq!(gan.params["noise_dim"], ParamRange::stepped(3.0, 10.0, 1.0));
    }

    #[test]
    fn bad_spaces_are_refused_with_the_reason() {
        let model = ModelKind::CycleikMlp;
        let cases = [
            ("{}", "empty"),
            (r#"{"learning_rate": {"low": 1e-3, "high": 1e-5}}"#, "inverted"),
            (r#"{"batch_size": {"low": 100, "high": 100}}"#, "empty"),
            (r#"{"momentum": {"low": 0, "high": 1}}"#, "no parameter `momentum`"),
            (r#"{"noise_dim": {"low": 3, "high": 8}}"#, "no parameter `noise_dim`"),
            (r#"{"learning_rate": {"low": 0, "high": 1e-3, "log": true}}"#, "leaves the allowed"),
            (r#"{"batch_size": {"low": 100.5, "high": 200}}"#, "whole"),
            (r#"{"learning_rate": {"low": 1e-5, "high": 1e-3, "step": 1}}"#, "no step"),
            (r#"{"batch_size": {"low": 100, "hi": 200}}"#, "unknown field"),
            ("[1, 2]", "invalid type"),
        ];
        for (text, reason) in cases {
            let err = SearchSpace::from_json(model, text).unwrap_err().to_string();
            assert!(err.contains(reason), "{text}: {err}");
            assert!(!err.contains('\n'), "{err}");
        }
    }

    #[test]
    fn trial_zero_is_the_preset_and_params_build_the_network() {
        let base = Baseline::new(ModelKind::CycleikMlp, Preset::Compact, 4, 3).unwrap();
        let space = SearchSpace::default_for(ModelKind::CycleikMlp);
        let preset = base.params(&space);
        assert_eq!(preset["layers"], 4.0);
        assert_eq!(preset["width_1"], 512.0);
        assert!(!preset.contains_key("width_5"), "the preset has four layers");
        let config = base.config_for(&preset).unwrap();
        assert_eq!(config.architecture.as_ref(), Some(&base.architecture));
        assert_eq!((config.batch_size, config.learning_rate), (base.config.batch_size, base.config.learning_rate));

        let params: TrialParams =
            [("layers", 2.0), ("width_1", 96.0), ("width_2", 64.0), ("width_3", 999.0), ("tanh_layers", 3.0)]
                .into_iter()
                .map(|(n, v)| (n.to_string(), v))
                .collect();
        let used = base.used(params);
        assert!(!used.contains_key("width_3"));
        let Some(Architecture::CycleIk(c)) = base.config_for(&used).unwrap().architecture else { panic!() };
        assert_eq!((c.hidden, c.n_tanh), (vec![96, 64], 3));
    }

    #[test]
    fn snapping_keeps_values_on_the_grid() {
        let r = ParamRange::stepped(100.0, 600.0, 50.0);
        assert_eq!(r.snap(124.0), 100.0);
        assert_eq!(r.snap(126.0), 150.0);
        assert_eq!(r.snap(1e9), 600.0);
        assert_eq!(ParamRange::stepped(1.0, 4.0, 2.0).snap(4.0), 3.0);
    }
}
