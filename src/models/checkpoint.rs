//! Checkpoint folders: `weights.bpk` (burnpack), `card.json`, `history.json`.
//!
//! Every file is written atomically (temporary file + rename), the weights
//! first and the card last; the card carries the weights' size and CRC-32, so
//! a folder caught between two saves is refused on load rather than used.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleVisitor, Param};
use burn::store::ModuleRecord;
use burn::tensor::{Bytes, Device, Tensor, TensorData};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::Serialize;

use super::card::{CARD_FORMAT_VERSION, ModelCard, WeightsCard};
use super::{DeviceChoice, FastMlp, ModelError, Network, POSE_INPUT, Precision, cpu_device};
use crate::atomic_file::write_atomically;
use crate::kinematics::Chain;

pub const CARD_FILE: &str = "card.json";
pub const WEIGHTS_FILE: &str = "weights.bpk";
pub const HISTORY_FILE: &str = "history.json";

/// Writes `network` with its card (and the training history, when given) into
/// the folder `dir`, creating it. Returns the card as written.
///
/// The card is the single commit point of a save: the weights go to a new
/// file named after their CRC (`weights-<crc>.bpk`), the card naming it is
/// renamed into place, and only then are the files of the previous save
/// removed. A kill at any moment leaves the old checkpoint or the new one,
/// whole; leftovers of a killed save are removed by the next one.
pub fn save_checkpoint(
    dir: &Path,
    card: &ModelCard,
    network: &Network,
    history: Option<&impl Serialize>,
) -> Result<ModelCard, ModelError> {
    card.check_consistent()?;
    std::fs::create_dir_all(dir).map_err(ModelError::io(dir))?;
    let bytes = network
        .clone()
        .into_record()
        .into_bytes()
        .map_err(|e| ModelError::CorruptWeights { path: dir.join(WEIGHTS_FILE), reason: e.to_string() })?;
    let crc32 = format!("{:08x}", crc32fast::hash(&bytes));
    let file = format!("weights-{crc32}.bpk");
    let weights_path = dir.join(&file);
    write_atomically(&weights_path, |w| w.write_all(&bytes)).map_err(ModelError::io(&weights_path))?;

    let mut card = card.clone();
    card.weights = Some(WeightsCard { file, format: "burnpack".to_string(), bytes: bytes.len() as u64, crc32 });
    write_json(&dir.join(CARD_FILE), &card)?;
    if let Some(history) = history {
        write_json(&dir.join(HISTORY_FILE), history)?;
    }
    remove_superseded_files(dir, &card);
    Ok(card)
}

/// Weights files the card no longer names and temporary files of killed
/// saves. Best effort: a file that cannot be removed costs only disk space.
fn remove_superseded_files(dir: &Path, card: &ModelCard) {
    let current = card.weights.as_ref().map(|w| w.file.as_str());
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        let old_weights = name.starts_with("weights") && name.ends_with(".bpk") && Some(name.as_ref()) != current;
        // `write_atomically` names its temporary files `.<name>.tmp-<pid>`.
        let temporary = name.starts_with('.') && name.contains(".tmp-");
        if old_weights || temporary {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

fn write_json(path: &Path, value: &impl Serialize) -> Result<(), ModelError> {
    let text = serde_json::to_vec_pretty(value).map_err(|e| ModelError::BadInput(e.to_string()))?;
    write_atomically(path, |w| w.write_all(&text)).map_err(ModelError::io(path))
}

/// A checkpoint ready for inference on the CPU (`flex` backend).
#[derive(Debug, Clone)]
pub struct LoadedModel {
    pub card: ModelCard,
    pub dir: PathBuf,
    network: Network,
    device: Device,
    /// The fast CPU path (every network has one; see [`FastMlp`]).
    fast: Option<FastMlp>,
}

/// Folder of a checkpoint given as the folder itself or a file in it.
fn checkpoint_dir(path: &Path) -> PathBuf {
    if path.is_file() { path.parent().map(Path::to_path_buf).unwrap_or_default() } else { path.to_path_buf() }
}

/// The card and the network of a checkpoint, built on `device` (an autodiff
/// device to go on training it). Every check of [`LoadedModel::load`] applies.
pub fn read_checkpoint(path: &Path, device: &Device) -> Result<(ModelCard, Network), ModelError> {
    let dir = checkpoint_dir(path);
    let card = read_card(&dir)?;
    let weights = card.weights.as_ref().ok_or_else(|| ModelError::CorruptCard {
        path: dir.join(CARD_FILE),
        reason: "it names no weights file".into(),
    })?;
    let bytes = read_weights(&dir, weights)?;
    let weights_path = dir.join(&weights.file);
    let network = card.architecture.init(device);
    // burnpack parsing trusts its input more than a loader should: a file
    // that passed the CRC but still trips it must be an error, not a crash.
    let network = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        ModuleRecord::from_bytes(Bytes::from_bytes_vec(bytes))
            .map_err(|e| ModelError::CorruptWeights { path: weights_path.clone(), reason: e.to_string() })
            .and_then(|record| {
                network
                    .try_load_record(record)
                    .map_err(|e| ModelError::ArchitectureMismatch { path: weights_path.clone(), reason: e.to_string() })
            })
    }))
    .unwrap_or_else(|_| {
        Err(ModelError::CorruptWeights { path: weights_path.clone(), reason: "the burnpack reader failed".into() })
    })?;
    let count = network.num_params();
    if count != card.parameter_count {
        return Err(ModelError::ArchitectureMismatch {
            path: weights_path,
            reason: format!("{count} parameters, the card says {}", card.parameter_count),
        });
    }
    check_finite(&network, &weights_path)?;
    Ok((card, network))
}

impl LoadedModel {
    /// Reads and verifies a checkpoint (folder, or its `card.json`).
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let device = cpu_device();
        let (card, network) = read_checkpoint(path, &device)?;
        let network = network.valid();
        let fast = FastMlp::from_network(&network);
        Ok(Self { card, dir: checkpoint_dir(path), network, device, fast })
    }

    /// [`LoadedModel::load`], then refuses a checkpoint made for another chain.
    pub fn load_for(path: &Path, robot_name: &str, chain: &Chain) -> Result<Self, ModelError> {
        let model = Self::load(path)?;
        model.card.chain.check(robot_name, chain)?;
        Ok(model)
    }

    /// A model straight from training (not read from disk).
    pub fn from_parts(card: ModelCard, network: Network, dir: PathBuf) -> Result<Self, ModelError> {
        card.check_consistent()?;
        let device = cpu_device();
        let network = network.valid().to_device(&device);
        let fast = FastMlp::from_network(&network);
        Ok(Self { card, dir, network, device, fast })
    }

    /// Moves inference to `choice`'s device. The fast path is for the CPU: on
    /// a GPU every call runs burn, with f32 weights; back on the CPU the fast
    /// path is on again where the network has one.
    pub fn set_device(&mut self, choice: DeviceChoice) -> Result<(), ModelError> {
        if choice == DeviceChoice::Cpu {
            self.device = cpu_device();
            self.network = self.network.clone().to_device(&self.device);
            if self.fast.is_none() {
                self.fast = FastMlp::from_network(&self.network);
            }
            return Ok(());
        }
        if self.precision() != Precision::F32 {
            return Err(ModelError::BadInput(format!(
                "{} weights run on the CPU fast path only, not on {choice:?}",
                self.precision()
            )));
        }
        self.device = choice.device()?;
        self.network = self.network.clone().to_device(&self.device);
        self.fast = None;
        Ok(())
    }

    /// Whether inference takes the fast CPU path (see [`FastMlp`]).
    pub fn uses_fast_path(&self) -> bool {
        self.fast.is_some()
    }

    /// Turns the fast path off (burn runs every call) or back on where it exists.
    pub fn set_fast_path(&mut self, enabled: bool) {
        self.fast = if enabled { FastMlp::from_network(&self.network) } else { None };
    }

    /// Stores the fast path's weights at `precision` (f16/int8 trade accuracy
    /// for memory traffic). Networks without a fast path refuse anything but f32.
    pub fn set_precision(&mut self, precision: Precision) -> Result<(), ModelError> {
        match FastMlp::with_precision(&self.network, precision) {
            Some(fast) => self.fast = Some(fast),
            None if precision == Precision::F32 => {}
            None => {
                return Err(ModelError::BadInput(format!(
                    "{} runs on burn only: it has no {precision} weights",
                    self.card.model
                )));
            }
        }
        Ok(())
    }

    /// Bytes of the parameters as inference reads them (f32 on burn's path).
    pub fn weight_bytes(&self) -> usize {
        self.fast.as_ref().map_or(self.card.parameter_count * 4, FastMlp::weight_bytes)
    }

    /// The precision inference runs at.
    pub fn precision(&self) -> Precision {
        self.fast.as_ref().map_or(Precision::F32, FastMlp::precision)
    }

    pub fn network(&self) -> &Network {
        &self.network
    }

    pub fn dof(&self) -> usize {
        self.card.dof()
    }

    pub fn is_generative(&self) -> bool {
        self.card.model.is_generative()
    }

    /// Solutions per pose that [`LoadedModel::infer`] returns.
    pub fn solutions_per_pose(&self, samples_per_pose: usize) -> usize {
        if self.is_generative() { samples_per_pose.max(1) } else { 1 }
    }

    /// Joint solutions for `poses` (`n × 7`: `x y z qx qy qz qw`).
    ///
    /// Returns `n × s × dof` values, pose-major, where `s` is
    /// [`LoadedModel::solutions_per_pose`]: the generator draws
    /// `samples_per_pose` noise vectors per pose (deterministically: the same
    /// poses give the same solutions), other models give one solution.
    pub fn infer(&self, poses: &[f64], samples_per_pose: usize) -> Result<Vec<f64>, ModelError> {
        let noise = self.card.io.noise;
        let s = self.solutions_per_pose(samples_per_pose);
        let noise_values = noise.map(|spec| {
            let n = poses.len() / POSE_INPUT * s * spec.dim;
            let mut rng = ChaCha8Rng::seed_from_u64(0x1c_5eed);
            (0..n).map(|_| rng.random_range(spec.low..spec.high)).collect::<Vec<f64>>()
        });
        self.run(poses, s, noise_values.as_deref())
    }

    /// Generator only: one solution per row of `noise` (`n × s × noise_dim`
    /// values, the same layout as the output), e.g. to sweep one noise value.
    pub fn infer_with_noise(&self, poses: &[f64], noise: &[f64]) -> Result<Vec<f64>, ModelError> {
        let dim = self.card.io.noise_dim();
        if dim == 0 {
            return Err(ModelError::BadInput(format!("{} takes no noise", self.card.model)));
        }
        let n = poses.len() / POSE_INPUT;
        if n == 0 || !noise.len().is_multiple_of(n * dim) {
            return Err(ModelError::BadInput(format!(
                "{} noise values do not divide into {n} poses × {dim}",
                noise.len()
            )));
        }
        self.run(poses, noise.len() / (n * dim), Some(noise))
    }

    fn run(&self, poses: &[f64], per_pose: usize, noise: Option<&[f64]>) -> Result<Vec<f64>, ModelError> {
        if poses.is_empty() || !poses.len().is_multiple_of(POSE_INPUT) {
            return Err(ModelError::BadInput(format!("{} pose values are not a multiple of 7", poses.len())));
        }
        let n = poses.len() / POSE_INPUT;
        let width = self.card.architecture.input_dim();
        let dim = self.card.io.noise_dim();
        let mut input = Vec::with_capacity(n * per_pose * width);
        let mut encoded = Vec::with_capacity(POSE_INPUT);
        for (i, pose) in poses.chunks_exact(POSE_INPUT).enumerate() {
            encoded.clear();
            self.card.io.encode_pose(pose, &mut encoded)?;
            for k in 0..per_pose {
                input.extend_from_slice(&encoded);
                if let Some(noise) = noise {
                    let row = (i * per_pose + k) * dim;
                    input.extend(noise[row..row + dim].iter().map(|&v| v as f32));
                }
            }
        }
        let rows = n * per_pose;
        let values = match &self.fast {
            Some(fast) => {
                let mut values = Vec::with_capacity(rows * fast.outputs());
                fast.forward(&input, rows, &mut values);
                values
            }
            None => {
                let x = Tensor::<2>::from_data(TensorData::new(input, [rows, width]), &self.device);
                self.network
                    .forward(x)
                    .into_data()
                    .try_into_vec::<f32>()
                    .map_err(|e| ModelError::BadInput(format!("cannot read the network output: {e:?}")))?
            }
        };
        let mut joints = Vec::with_capacity(values.len());
        self.card.io.decode_values(&values, &mut joints);
        Ok(joints)
    }
}

/// The verified card of a checkpoint (folder, or a file in it), without its weights.
pub fn read_checkpoint_card(path: &Path) -> Result<ModelCard, ModelError> {
    read_card(&checkpoint_dir(path))
}

fn read_card(dir: &Path) -> Result<ModelCard, ModelError> {
    /// Far above any real card (the paper's widths take a few kB).
    const MAX_CARD_BYTES: u64 = 4 << 20;
    let path = dir.join(CARD_FILE);
    let corrupt = |reason: &str| ModelError::CorruptCard { path: path.clone(), reason: reason.into() };
    match std::fs::symlink_metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ModelError::NotACheckpoint { path: dir.to_path_buf(), file: CARD_FILE });
        }
        Err(e) => return Err(ModelError::Io { path, source: e }),
        Ok(m) if !m.file_type().is_file() => return Err(corrupt("not a regular file")),
        Ok(m) if m.len() > MAX_CARD_BYTES => return Err(corrupt("larger than 4 MiB")),
        Ok(_) => {}
    }
    let mut text = Vec::new();
    std::fs::File::open(&path)
        .and_then(|f| f.take(MAX_CARD_BYTES).read_to_end(&mut text))
        .map_err(|e| ModelError::Io { path: path.clone(), source: e })?;
    // The version first, so a newer card says so instead of failing to parse.
    let value: serde_json::Value = serde_json::from_slice(&text)
        .map_err(|e| ModelError::CorruptCard { path: path.clone(), reason: e.to_string() })?;
    let version = value.get("format_version").and_then(|v| v.as_u64()).unwrap_or(0) as u32;
    if version != CARD_FORMAT_VERSION {
        return Err(ModelError::UnsupportedCardVersion { path, found: version, supported: CARD_FORMAT_VERSION });
    }
    let card: ModelCard = serde_json::from_value(value)
        .map_err(|e| ModelError::CorruptCard { path: path.clone(), reason: e.to_string() })?;
    card.check_consistent().map_err(|e| ModelError::CorruptCard { path, reason: e.to_string() })?;
    Ok(card)
}

/// The weights file named by the card, read from inside `dir` only: a plain
/// file name, a regular file (no link, device or pipe), of the size the card
/// gives, checked against its CRC.
fn read_weights(dir: &Path, expected: &WeightsCard) -> Result<Vec<u8>, ModelError> {
    let path = dir.join(&expected.file);
    let corrupt = |reason: String| ModelError::CorruptCard { path: dir.join(CARD_FILE), reason };
    if !is_plain_file_name(&expected.file) {
        return Err(corrupt(format!("weights file '{}' is not a file name inside the checkpoint", expected.file)));
    }
    if expected.format != "burnpack" {
        return Err(corrupt(format!("unknown weights format '{}'", expected.format)));
    }
    let metadata = match std::fs::symlink_metadata(&path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(ModelError::NotACheckpoint { path: dir.to_path_buf(), file: WEIGHTS_FILE });
        }
        Err(e) => return Err(ModelError::Io { path, source: e }),
    };
    let corrupt = |reason: String| ModelError::CorruptWeights { path: path.clone(), reason };
    if !metadata.file_type().is_file() {
        return Err(corrupt("not a regular file (links, devices and pipes are refused)".into()));
    }
    if metadata.len() != expected.bytes {
        return Err(corrupt(format!("{} bytes, the card says {}", metadata.len(), expected.bytes)));
    }
    let mut bytes = Vec::with_capacity(expected.bytes as usize);
    std::fs::File::open(&path)
        .and_then(|f| f.take(expected.bytes + 1).read_to_end(&mut bytes))
        .map_err(|e| ModelError::Io { path: path.clone(), source: e })?;
    if bytes.len() as u64 != expected.bytes {
        return Err(corrupt(format!("{} bytes, the card says {}", bytes.len(), expected.bytes)));
    }
    let crc = format!("{:08x}", crc32fast::hash(&bytes));
    if crc != expected.crc32 {
        return Err(corrupt(format!("CRC-32 {crc}, the card says {}", expected.crc32)));
    }
    Ok(bytes)
}

/// One normal path component: no separators, no `.`/`..`, not absolute.
fn is_plain_file_name(name: &str) -> bool {
    let mut components = Path::new(name).components();
    matches!((components.next(), components.next()), (Some(std::path::Component::Normal(_)), None))
        && !name.contains(['/', '\\'])
}

/// Counts the non-finite values of a module's parameters.
struct NonFiniteCount(usize);

impl ModuleVisitor for NonFiniteCount {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        // `iter` converts from whatever element type the tensor holds.
        self.0 += param.val().into_data().iter::<f64>().filter(|v| !v.is_finite()).count();
    }
}

/// Refuses weights with NaN or infinite values (they would answer NaN joints).
fn check_finite(network: &Network, path: &Path) -> Result<(), ModelError> {
    let mut count = NonFiniteCount(0);
    network.visit(&mut count);
    match count.0 {
        0 => Ok(()),
        n => Err(ModelError::CorruptWeights { path: path.into(), reason: format!("{n} non-finite values") }),
    }
}
