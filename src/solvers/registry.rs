//! Solvers by name, as the command line and the studio offer them:
//! `numeric`, `ga`, a model (`cycleik-mlp`, …) by checkpoint, and the hybrids
//! `<model>+numeric` and `<model>+ga`; `<model>@f16` / `<model>@int8` run the
//! network with reduced-precision weights.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use thiserror::Error;

use super::neural::{NeuralGa, NeuralNumeric, NeuralSolver};
use super::{GeneticSolver, NumericSolver, Solver};
use crate::models::{DeviceChoice, LoadedModel, ModelError, ModelKind, Precision};
use crate::robots::Robot;

#[derive(Debug, Error)]
pub enum SolverError {
    #[error(
        "unknown solver '{0}'; solvers: numeric, ga, a model ({models}) with --checkpoint, and <model>+numeric, <model>+ga; <model>@f16 / <model>@int8 for reduced-precision weights",
        models = ModelKind::ALL.map(|k| k.to_string()).join(", ")
    )]
    Unknown(String),
    #[error("solver '{solver}' needs a checkpoint: none given and none shipped at {shipped}")]
    NoCheckpoint { solver: String, shipped: String },
    #[error("checkpoint is a {found} model, solver '{solver}' asks for {expected}")]
    WrongModel { solver: String, expected: ModelKind, found: ModelKind },
    #[error(transparent)]
    Model(#[from] ModelError),
    /// A request the solvers cannot work on (see [`super::SolveRequest::validate`]).
    #[error("{0}")]
    BadRequest(String),
    #[error("solver '{0}' found no solution with finite joint values")]
    NoFiniteSolution(String),
}

/// Solvers that need no checkpoint.
pub const SOLVER_NAMES: &[&str] = &["numeric", "ga"];

/// Where the project's trained checkpoints are: `IK_STUDIO_CHECKPOINTS`, else
/// the `checkpoints/` folder of the source tree this binary was built from.
pub fn checkpoints_dir() -> PathBuf {
    std::env::var_os("IK_STUDIO_CHECKPOINTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("checkpoints"))
}

/// The shipped checkpoint of `model` for `robot`, if there is one.
pub fn shipped_checkpoint(robot: &str, model: ModelKind) -> Option<PathBuf> {
    let dir = checkpoints_dir().join(robot).join(model.to_string());
    dir.join(crate::models::CARD_FILE).is_file().then_some(dir)
}

/// A shipped checkpoint: its folder, model and, for a variant, its label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shipped {
    pub path: PathBuf,
    pub kind: ModelKind,
    pub label: Option<String>,
}

/// Every shipped checkpoint of `robot`: the folder `<model>` is the model's own,
/// `<model>-<variant>` (e.g. `cycleik-mlp-full`, trained on another workspace)
/// a variant labelled `<variant>`. Sorted by model, the model's own first;
/// folders without a card or a model name are skipped.
pub fn shipped_checkpoints(robot: &str) -> Vec<Shipped> {
    let Ok(entries) = std::fs::read_dir(checkpoints_dir().join(robot)) else { return Vec::new() };
    let mut found: Vec<Shipped> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|dir| dir.join(crate::models::CARD_FILE).is_file())
        .filter_map(|path| {
            let (kind, label) = shipped_name(path.file_name()?.to_str()?)?;
            Some(Shipped { path, kind, label })
        })
        .collect();
    found.sort_by_key(|s| (ModelKind::ALL.iter().position(|k| *k == s.kind), s.label.clone()));
    found
}

/// The model and variant a checkpoint folder's name gives.
fn shipped_name(folder: &str) -> Option<(ModelKind, Option<String>)> {
    ModelKind::ALL.into_iter().find_map(|kind| {
        let rest = folder.strip_prefix(kind.to_string().as_str())?;
        match rest.strip_prefix('-') {
            _ if rest.is_empty() => Some((kind, None)),
            Some(label) if !label.is_empty() => Some((kind, Some(label.to_string()))),
            _ => None,
        }
    })
}

/// The solver `name` for `robot`'s chain; models use `checkpoint`, or the shipped one.
pub fn build(name: &str, robot: &Robot, checkpoint: Option<&Path>) -> Result<Arc<dyn Solver>, SolverError> {
    build_on(name, robot, checkpoint, DeviceChoice::Cpu)
}

/// [`build`], with the network (if any) running on `device`.
pub fn build_on(
    name: &str,
    robot: &Robot,
    checkpoint: Option<&Path>,
    device: DeviceChoice,
) -> Result<Arc<dyn Solver>, SolverError> {
    match name {
        "numeric" => return Ok(Arc::new(NumericSolver::new(robot.chain.clone()))),
        "ga" => return Ok(Arc::new(GeneticSolver::new(robot.chain.clone()))),
        _ => {}
    }
    let (model_name, hybrid) = match name.split_once('+') {
        Some((m, h)) => (m, Some(h)),
        None => (name, None),
    };
    // `cycleik-mlp@f16`: the network with reduced-precision weights.
    let (model_name, precision) = match model_name.split_once('@') {
        Some((m, p)) => (m, p.parse::<Precision>().map_err(|_| SolverError::Unknown(name.to_string()))?),
        None => (model_name, Precision::F32),
    };
    let kind: ModelKind = model_name.parse().map_err(|_| SolverError::Unknown(name.to_string()))?;
    if !matches!(hybrid, None | Some("numeric") | Some("ga")) {
        return Err(SolverError::Unknown(name.to_string()));
    }
    let model = load_model(name, kind, robot, checkpoint, precision, device)?;
    let neural = NeuralSolver::new(model, robot.chain.clone());
    Ok(match hybrid {
        None => Arc::new(neural),
        Some("numeric") => Arc::new(NeuralNumeric::new(neural)),
        _ => Arc::new(NeuralGa::new(neural)),
    })
}

/// A model and its two hybrids (`<model>`, `<model>+numeric`, `<model>+ga`)
/// sharing one loaded checkpoint.
pub fn model_family(
    kind: ModelKind,
    robot: &Robot,
    checkpoint: Option<&Path>,
) -> Result<[Arc<dyn Solver>; 3], SolverError> {
    let model = load_model(&kind.to_string(), kind, robot, checkpoint, Precision::F32, DeviceChoice::Cpu)?;
    let neural = || NeuralSolver::new(model.clone(), robot.chain.clone());
    Ok([Arc::new(neural()), Arc::new(NeuralNumeric::new(neural())), Arc::new(NeuralGa::new(neural()))])
}

/// The checkpoint for solver `name` (given, else shipped), checked against the chain and kind.
fn load_model(
    name: &str,
    kind: ModelKind,
    robot: &Robot,
    checkpoint: Option<&Path>,
    precision: Precision,
    device: DeviceChoice,
) -> Result<Arc<LoadedModel>, SolverError> {
    let path = match checkpoint {
        Some(p) => p.to_path_buf(),
        None => shipped_checkpoint(&robot.name, kind).ok_or_else(|| SolverError::NoCheckpoint {
            solver: name.to_string(),
            shipped: checkpoints_dir().join(&robot.name).join(kind.to_string()).display().to_string(),
        })?,
    };
    let mut model = LoadedModel::load_for(&path, &robot.name, &robot.chain)?;
    if model.card.model != kind {
        return Err(SolverError::WrongModel { solver: name.to_string(), expected: kind, found: model.card.model });
    }
    model.set_precision(precision)?;
    // Loaded on the CPU already: only another device moves it.
    if device != DeviceChoice::Cpu {
        model.set_device(device)?;
    }
    Ok(Arc::new(model))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_folder_names_its_model_and_variant() {
        assert_eq!(shipped_name("cycleik-mlp"), Some((ModelKind::CycleikMlp, None)));
        assert_eq!(shipped_name("cycleik-mlp-full"), Some((ModelKind::CycleikMlp, Some("full".into()))));
        assert_eq!(shipped_name("iknet-original"), Some((ModelKind::IknetOriginal, None)));
        for other in ["cycleik-mlp-", "cycleik-mlpx", "notes", "cycleik"] {
            assert_eq!(shipped_name(other), None, "{other}");
        }
    }

    #[test]
    fn the_shipped_nicol_models_are_found_own_first() {
        let shipped = shipped_checkpoints("nicol-right");
        let own: Vec<_> = shipped.iter().filter(|s| s.label.is_none()).map(|s| s.kind).collect();
        assert!(own.contains(&ModelKind::CycleikMlp) && own.contains(&ModelKind::CycleikGan), "{shipped:?}");
        assert!(shipped_checkpoints("no-such-robot").is_empty());
    }
}
