//! Networks trained in PyTorch, brought into the studio: a `state_dict` saved
//! with `torch.save` is read by burn-store, its architecture is read off the
//! tensor shapes, and the result is an ordinary checkpoint.
//!
//! * `iknet-original`: an `nn.Sequential` named `layers` of Linear, ReLU,
//!   Dropout per hidden layer and a last Linear, so Linear layers sit at
//!   indices 0, 3, 6, …; raw pose in, raw joints out.
//! * `cycleik-mlp` / `cycleik-gan`: an `nn.ModuleList` named `layers` of
//!   Linear layers (GELU between them, or the activation the import names,
//!   the last `n_tanh` tanh). Inputs and outputs follow this project's
//!   normalisation ([`IoMapping::normalised`]: positions scaled from the
//!   workspace box to [-1, 1], outputs in [-1, 1] mapped onto the joint
//!   limits, noise uniform in [0, 1)); the quaternion is canonicalised
//!   (w ≥ 0) or passed as given, as the import says.

use std::collections::BTreeMap;
use std::path::Path;

use burn::store::pytorch_reader::PytorchReader;
use burn::store::{ModuleSnapshot, PytorchStore};

use super::{
    Architecture, CycleIkConfig, HiddenActivation, IknetOriginalConfig, IoMapping, ModelCard, ModelError, ModelKind,
    Network, POSE_INPUT, Preset, QuaternionInput, cpu_device, preset_spec,
};
use crate::kinematics::Chain;
use crate::robots::Workspace;

/// Everything an import needs besides the file.
#[derive(Debug, Clone)]
pub struct TorchImport<'a> {
    pub model: ModelKind,
    /// The robot and chain the network was trained for.
    pub robot_name: &'a str,
    pub chain: &'a Chain,
    /// CycleIK: the box the positions were normalised over.
    pub workspace: &'a Workspace,
    /// CycleIK: layers counted from the output that use tanh; `None`: the
    /// compact preset's count.
    pub n_tanh: Option<usize>,
    /// CycleIK: the hidden layers' activation.
    pub activation: HiddenActivation,
    /// What the network saw of the quaternion in training.
    pub quaternion: QuaternionInput,
    /// The key the state dict sits under in a larger checkpoint
    /// (`{"model_state_dict": …}`); `None`: the file is the state dict.
    pub top_level_key: Option<&'a str>,
}

/// One `layers.N` Linear layer of the file.
#[derive(Debug, Clone, Copy, PartialEq)]
struct LinearShape {
    index: usize,
    inputs: usize,
    outputs: usize,
}

/// Reads the PyTorch file `weights` and returns the card and network of the
/// model it holds, ready for [`super::save_checkpoint`].
pub fn import_torch(weights: &Path, spec: &TorchImport) -> Result<(ModelCard, Network), ModelError> {
    let bad = |reason: String| ModelError::BadInput(format!("{}: {reason}", weights.display()));
    let reader = match spec.top_level_key {
        Some(key) => PytorchReader::with_top_level_key(weights, key),
        None => PytorchReader::new(weights),
    }
    .map_err(|e| bad(format!("not a readable PyTorch file: {e}{}", zip_bug_hint(&e.to_string()))))?;
    let shapes: BTreeMap<String, Vec<usize>> =
        reader.tensors().iter().map(|(name, tensor)| (name.clone(), tensor.shape().to_vec())).collect();
    let layers = linear_layers(&shapes).map_err(bad)?;
    let architecture = architecture_of(spec, &layers).map_err(bad)?;
    architecture.validate()?;

    let mut store = PytorchStore::from_file(weights).map_indices_contiguous(false);
    if let Some(key) = spec.top_level_key {
        store = store.with_top_level_key(key);
    }
    let device = cpu_device();
    let network = match &architecture {
        Architecture::IknetOriginal(config) => {
            // Sequential index → burn field: hidden.K for the hidden layers, output for the last.
            let last = layers.len() - 1;
            for (k, layer) in layers.iter().enumerate() {
                let to = if k == last { "output.".to_string() } else { format!("hidden.{k}.") };
                store = store.with_key_remapping(format!(r"^layers\.{}\.", layer.index), to);
            }
            let mut net = config.init(&device);
            check_applied(net.load_from(&mut store).map_err(|e| bad(e.to_string()))?).map_err(bad)?;
            Network::IknetOriginal(net)
        }
        Architecture::CycleIk(config) => {
            let mut net = config.init(&device);
            check_applied(net.load_from(&mut store).map_err(|e| bad(e.to_string()))?).map_err(bad)?;
            Network::CycleIk(net)
        }
        _ => unreachable!("architecture_of builds only these two"),
    };

    let mut io = match spec.model {
        ModelKind::IknetOriginal => IoMapping::raw(),
        _ => IoMapping::normalised(spec.chain, spec.workspace, architecture.noise_dim())?,
    };
    io.quaternion = spec.quaternion;
    let preset = preset_for(spec.model, &architecture, spec.chain.dof());
    let card = ModelCard::new(spec.model, preset, architecture, io, spec.robot_name, spec.chain)?;
    Ok((card, network))
}

/// The `layers.N.weight` / `layers.N.bias` pairs, in order, checked to chain.
fn linear_layers(shapes: &BTreeMap<String, Vec<usize>>) -> Result<Vec<LinearShape>, String> {
    let mut layers = Vec::new();
    for (name, shape) in shapes {
        let index = name
            .strip_prefix("layers.")
            .and_then(|rest| rest.strip_suffix(".weight").or_else(|| rest.strip_suffix(".bias")))
            .and_then(|index| index.parse::<usize>().ok())
            .ok_or_else(|| format!("unexpected tensor '{name}': only layers.N.weight and layers.N.bias are read"))?;
        if name.ends_with(".bias") {
            continue;
        }
        let &[outputs, inputs] = shape.as_slice() else {
            return Err(format!("'{name}' has shape {shape:?}, a Linear weight is [out, in]"));
        };
        match shapes.get(&format!("layers.{index}.bias")) {
            Some(bias) if bias.as_slice() == [outputs] => {}
            Some(bias) => return Err(format!("layers.{index}.bias has shape {bias:?}, expected [{outputs}]")),
            None => return Err(format!("layers.{index} has a weight but no bias")),
        }
        layers.push(LinearShape { index, inputs, outputs });
    }
    layers.sort_by_key(|l| l.index);
    if layers.is_empty() {
        return Err("no layers.N.weight tensors: not a state dict of a network with a `layers` list".into());
    }
    for pair in layers.windows(2) {
        if pair[0].outputs != pair[1].inputs {
            return Err(format!(
                "layers.{} gives {} values but layers.{} takes {}",
                pair[0].index, pair[0].outputs, pair[1].index, pair[1].inputs
            ));
        }
    }
    Ok(layers)
}

fn architecture_of(spec: &TorchImport, layers: &[LinearShape]) -> Result<Architecture, String> {
    let dof = spec.chain.dof();
    let (first, last) = (layers[0], layers[layers.len() - 1]);
    if last.outputs != dof {
        return Err(format!("the network gives {} values, the chain has {dof} joints", last.outputs));
    }
    let hidden: Vec<usize> = layers[..layers.len() - 1].iter().map(|l| l.outputs).collect();
    match spec.model {
        ModelKind::IknetOriginal => {
            if spec.activation != HiddenActivation::Gelu {
                return Err("IKNet's hidden layers are ReLU; --activation is for CycleIK networks".into());
            }
            // Linear, ReLU, Dropout for each hidden layer.
            if let Some((k, l)) = layers.iter().enumerate().find(|(k, l)| l.index != 3 * k) {
                return Err(format!(
                    "layers.{} is Linear layer {k}; IKNet's Sequential puts it at index {}",
                    l.index,
                    3 * k
                ));
            }
            if first.inputs != POSE_INPUT {
                return Err(format!("IKNet takes the {POSE_INPUT} pose values, this network {}", first.inputs));
            }
            Ok(Architecture::IknetOriginal(IknetOriginalConfig::new(dof).with_hidden(hidden)))
        }
        ModelKind::CycleikMlp | ModelKind::CycleikGan => {
            if let Some((k, l)) = layers.iter().enumerate().find(|(k, l)| l.index != *k) {
                return Err(format!("layers.{} is Linear layer {k}; a ModuleList numbers them 0, 1, 2, …", l.index));
            }
            let noise_dim = first.inputs.checked_sub(POSE_INPUT).ok_or_else(|| {
                format!("CycleIK takes the {POSE_INPUT} pose values (plus noise), this network {}", first.inputs)
            })?;
            match (spec.model.is_generative(), noise_dim) {
                (false, n) if n > 0 => return Err(format!("{n} inputs beyond the pose: this is a GAN, not an MLP")),
                (true, 0) => return Err("no noise inputs beyond the pose: this is an MLP, not a GAN".into()),
                _ => {}
            }
            // Not given: the compact preset's count, at most every layer of this network.
            let n_tanh = match spec.n_tanh {
                Some(n) => n,
                None => match preset_spec(spec.model, Preset::Compact, dof).map_err(|e| e.to_string())?.architecture {
                    Architecture::CycleIk(c) => c.n_tanh.min(hidden.len() + 1),
                    _ => unreachable!("CycleIK presets are CycleIK networks"),
                },
            };
            // GELU is stored as no activation, as networks trained here are.
            let activation = (spec.activation != HiddenActivation::Gelu).then_some(spec.activation);
            Ok(Architecture::CycleIk(
                CycleIkConfig::new(dof, hidden, n_tanh).with_noise_dim(noise_dim).with_activation(activation),
            ))
        }
        other => Err(format!("import-torch reads iknet-original, cycleik-mlp and cycleik-gan, not {other}")),
    }
}

/// Every tensor of the file went into the network, and every parameter was filled.
fn check_applied(result: burn::store::ApplyResult) -> Result<(), String> {
    if let Some(error) = result.errors.first() {
        return Err(format!("{error:?}"));
    }
    if !result.missing.is_empty() {
        let missing: Vec<&str> = result.missing.iter().map(|(path, _)| path.as_str()).collect();
        return Err(format!("no tensor for {}", missing.join(", ")));
    }
    if !result.unused.is_empty() {
        return Err(format!("tensors left unused: {}", result.unused.join(", ")));
    }
    Ok(())
}

/// The preset whose sizes these are, or [`Preset::Custom`].
fn preset_for(model: ModelKind, architecture: &Architecture, dof: usize) -> Preset {
    model
        .presets()
        .iter()
        .copied()
        .find(|&p| preset_spec(model, p, dof).is_ok_and(|spec| &spec.architecture == architecture))
        .unwrap_or(Preset::Custom)
}

/// zip 9.4 takes the central directory to start right before the end record,
/// which is wrong for PyTorch's zip64 files exactly when the first entry is 76
/// bytes long: `torch.save` names the root folder after the file, so a file
/// saved under a 21-character stem cannot be read.
fn zip_bug_hint(error: &str) -> &'static str {
    if error.contains("Invalid Central Directory header") {
        " (files saved by torch.save under a name of exactly 21 characters before the extension hit a bug of \
         the zip reader; save it under another name)"
    } else {
        ""
    }
}
