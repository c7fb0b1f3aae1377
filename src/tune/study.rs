//! A study folder on disk: `study.json` (what is tuned, written once),
//! `study.jsonl` (one line per finished trial, appended), `trials/NNNN/`
//! (each trial's checkpoint) and `best/`.
//!
//! A trial's line is written with one `write` on a file opened for appending
//! and synced, so a kill leaves whole lines and at most one partial last line;
//! reading ignores that line and [`StudyLog::open`] cuts it off before new
//! lines follow it.

use std::collections::BTreeMap;
use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize, Serializer};

use super::TuneError;
use super::space::{SearchSpace, TrialParams};
use crate::atomic_file::{read_regular_to_string, write_atomically};
use crate::models::{ModelKind, Preset};
use crate::train::DatasetIdentity;

pub const META_FILE: &str = "study.json";
pub const LOG_FILE: &str = "study.jsonl";
pub const BEST_DIR: &str = "best";
pub const TRIALS_DIR: &str = "trials";

/// How a trial ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TrialState {
    /// Ran every epoch (or stopped early on its own patience).
    Complete,
    /// Stopped by the pruner at a rung.
    Pruned,
    /// Training refused or diverged; the error is recorded.
    Failed,
}

/// One line of `study.jsonl`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrialRecord {
    pub number: usize,
    #[serde(serialize_with = "whole_numbers_as_integers")]
    pub params: TrialParams,
    pub state: TrialState,
    /// Validation position error (mm) of the trial's best epoch; for a pruned
    /// trial, at the epoch it stopped; `None` for a failed one.
    pub value: Option<f64>,
    /// Epochs trained.
    pub epochs: usize,
    pub seconds: f64,
    /// The trial's checkpoint folder, relative to the study folder.
    pub checkpoint: Option<String>,
    /// The value reported after each epoch (what the pruner saw).
    #[serde(default)]
    pub curve: Vec<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Batch sizes and widths print as `300`, not `300.0`; reading them back as
/// f64 gives the same values.
fn whole_numbers_as_integers<S: Serializer>(params: &TrialParams, s: S) -> Result<S::Ok, S::Error> {
    let values: BTreeMap<&String, serde_json::Value> = params
        .iter()
        .map(|(name, &v)| {
            let value = if v.fract() == 0.0 && v.abs() < 9.0e15 {
                serde_json::Value::from(v as i64)
            } else {
                serde_json::Value::from(v)
            };
            (name, value)
        })
        .collect();
    values.serialize(s)
}

/// `study.json`: what the folder's study tunes. A resumed run must match it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StudyMeta {
    pub model: ModelKind,
    pub preset: Preset,
    pub robot: String,
    pub dataset: Option<PathBuf>,
    pub epochs: usize,
    pub seed: u64,
    pub space: SearchSpace,
    /// What the trials train on (absent in studies written before it was recorded,
    /// and while the studio has not read or drawn the data yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<DatasetIdentity>,
}

impl StudyMeta {
    /// Refuses a folder holding another model's or robot's study.
    pub fn check_same_study(&self, found: &StudyMeta, dir: &Path) -> Result<(), TuneError> {
        if (found.model, found.preset, &found.robot) != (self.model, self.preset, &self.robot) {
            return Err(TuneError::ForeignStudy(format!(
                "{} holds a study of {} ({}) for {}, not of {} ({}) for {}; choose another --out",
                dir.display(),
                found.model,
                found.preset,
                found.robot,
                self.model,
                self.preset,
                self.robot
            )));
        }
        let refuse = |what: &str, recorded: String, now: String| {
            Err(TuneError::ForeignStudy(format!(
                "{} holds a study with {what} {recorded}, not {now}: its trials would not compare; resume with the same {what} or choose another --out",
                dir.display()
            )))
        };
        if found.epochs != self.epochs {
            return refuse("--epochs", found.epochs.to_string(), self.epochs.to_string());
        }
        if found.seed != self.seed {
            return refuse("--seed", found.seed.to_string(), self.seed.to_string());
        }
        if let (Some(recorded), Some(now)) = (&found.data, &self.data)
            && !same_data(recorded, now)
        {
            return refuse("dataset", describe_data(recorded), describe_data(now));
        }
        Ok(())
    }
}

/// The same samples, wherever the file lies now.
fn same_data(a: &DatasetIdentity, b: &DatasetIdentity) -> bool {
    DatasetIdentity { path: None, ..a.clone() } == DatasetIdentity { path: None, ..b.clone() }
}

fn describe_data(data: &DatasetIdentity) -> String {
    let place = data.path.as_ref().map(|p| format!("{} ", p.display())).unwrap_or_default();
    let workspace = data.workspace.as_deref().unwrap_or("?");
    format!("{place}({} samples of {}, workspace {workspace}, seed {:?})", data.count, data.robot, data.seed)
}

/// Reads `study.json` of `dir`, if the folder has one. A folder with other
/// files and no `study.json` is not a study folder and is refused.
pub fn read_meta(dir: &Path) -> Result<Option<StudyMeta>, TuneError> {
    let path = dir.join(META_FILE);
    if !path.exists() {
        let has_files = std::fs::read_dir(dir).map(|mut entries| entries.next().is_some()).unwrap_or(false);
        if has_files {
            return Err(TuneError::ForeignStudy(format!(
                "{} is not empty and holds no {META_FILE}: not a study folder; choose another --out",
                dir.display()
            )));
        }
        return Ok(None);
    }
    let text = read_regular_to_string(&path).map_err(|e| TuneError::io(&path, e))?;
    serde_json::from_str(&text).map(Some).map_err(|e| TuneError::Corrupt { path, reason: e.to_string() })
}

pub fn write_meta(dir: &Path, meta: &StudyMeta) -> Result<(), TuneError> {
    let path = dir.join(META_FILE);
    let text = serde_json::to_string_pretty(meta)
        .map_err(|e| TuneError::Corrupt { path: path.clone(), reason: e.to_string() })?;
    write_atomically(&path, |w| w.write_all(text.as_bytes())).map_err(|e| TuneError::io(&path, e))
}

/// The finished trials of a `study.jsonl` text, and the byte length of its
/// whole lines. A last line without its newline, or one that does not parse,
/// is what a kill leaves: ignored. A bad line before the last is corruption.
pub fn parse_log(text: &str, path: &Path) -> Result<(Vec<TrialRecord>, usize), TuneError> {
    let mut records = Vec::new();
    let mut whole = 0;
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    for (i, line) in lines.iter().enumerate() {
        let last = i + 1 == lines.len();
        let complete = line.ends_with('\n');
        match (serde_json::from_str::<TrialRecord>(line.trim_end()), complete) {
            (Ok(record), true) => records.push(record),
            (Err(e), true) if !last => {
                return Err(TuneError::Corrupt { path: path.to_path_buf(), reason: format!("line {}: {e}", i + 1) });
            }
            // Only the last line can lack its newline or be cut short.
            _ => break,
        }
        whole += line.len();
    }
    Ok((records, whole))
}

/// `study.jsonl`, open for appending finished trials.
#[derive(Debug)]
pub struct StudyLog {
    path: PathBuf,
}

impl StudyLog {
    /// Opens the log of `dir` and returns the trials it holds; a partial last
    /// line is cut off (crash-safely) so that the next line starts clean.
    pub fn open(dir: &Path) -> Result<(Self, Vec<TrialRecord>), TuneError> {
        let path = dir.join(LOG_FILE);
        if !path.exists() {
            return Ok((Self { path }, Vec::new()));
        }
        let text = read_regular_to_string(&path).map_err(|e| TuneError::io(&path, e))?;
        let (records, whole) = parse_log(&text, &path)?;
        if whole < text.len() {
            write_atomically(&path, |w| w.write_all(&text.as_bytes()[..whole])).map_err(|e| TuneError::io(&path, e))?;
        }
        Ok((Self { path }, records))
    }

    /// Appends one trial as one line, in one write, synced.
    pub fn append(&self, record: &TrialRecord) -> Result<(), TuneError> {
        let mut line = serde_json::to_string(record)
            .map_err(|e| TuneError::Corrupt { path: self.path.clone(), reason: e.to_string() })?;
        line.push('\n');
        let io = |e| TuneError::io(&self.path, e);
        let mut file = OpenOptions::new().append(true).create(true).open(&self.path).map_err(io)?;
        file.write_all(line.as_bytes()).map_err(io)?;
        file.sync_data().map_err(io)
    }
}

/// The folder of trial `number`, relative to the study folder.
pub fn trial_dir(number: usize) -> String {
    format!("{TRIALS_DIR}/{number:04}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(number: usize, state: TrialState) -> TrialRecord {
        TrialRecord {
            number,
            params: [("batch_size".to_string(), 300.0), ("learning_rate".to_string(), 3.2e-4)].into(),
            state,
            value: (state != TrialState::Failed).then_some(12.5 + number as f64),
            epochs: 3,
            seconds: 1.25,
            checkpoint: Some(trial_dir(number)),
            curve: vec![20.0, 15.0, 12.5],
            error: (state == TrialState::Failed).then(|| "diverged".to_string()),
        }
    }

    #[test]
    fn records_round_trip_through_the_log() {
        let dir = tempfile::tempdir().unwrap();
        let (log, found) = StudyLog::open(dir.path()).unwrap();
        assert!(found.is_empty());
        let written: Vec<TrialRecord> = [TrialState::Complete, TrialState::Pruned, TrialState::Failed]
            .into_iter()
            .enumerate()
            .map(|(n, s)| record(n, s))
            .collect();
        for r in &written {
            log.append(r).unwrap();
        }
        let text = std::fs::read_to_string(dir.path().join(LOG_FILE)).unwrap();
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(first["params"]["batch_size"], serde_json::json!(300));
        assert_eq!(first["state"], "complete");
        for key in ["number", "params", "state", "value", "epochs", "seconds", "checkpoint"] {
            assert!(first.get(key).is_some(), "{key}");
        }
        let (_, read) = StudyLog::open(dir.path()).unwrap();
        assert_eq!(read, written);
    }

    #[test]
    fn a_partial_last_line_is_ignored_and_cut_off() {
        let dir = tempfile::tempdir().unwrap();
        let (log, _) = StudyLog::open(dir.path()).unwrap();
        log.append(&record(0, TrialState::Complete)).unwrap();
        let path = dir.path().join(LOG_FILE);
        let mut text = std::fs::read_to_string(&path).unwrap();
        let whole = text.len();
        text.push_str(r#"{"number":1,"params":{"batch"#);
        std::fs::write(&path, &text).unwrap();
        let (log, read) = StudyLog::open(dir.path()).unwrap();
        assert_eq!(read.len(), 1);
        assert_eq!(std::fs::read_to_string(&path).unwrap().len(), whole);
        log.append(&record(1, TrialState::Pruned)).unwrap();
        assert_eq!(StudyLog::open(dir.path()).unwrap().1.len(), 2);

        std::fs::write(&path, format!("garbage\n{}", &text[..whole])).unwrap();
        let err = StudyLog::open(dir.path()).unwrap_err().to_string();
        assert!(err.contains("line 1"), "{err}");
    }

    #[test]
    fn a_resume_with_other_epochs_seed_or_data_is_refused_a_moved_file_is_not() {
        let data = DatasetIdentity {
            path: Some("d.ikd".into()),
            robot: "omx".into(),
            count: 3000,
            seed: Some(1),
            workspace: Some("full".into()),
            source: "sampled".into(),
            train: 2670,
            val: 30,
        };
        let meta = StudyMeta {
            model: ModelKind::IknetOriginal,
            preset: Preset::Compact,
            robot: "omx".into(),
            dataset: None,
            epochs: 4,
            seed: 1,
            space: SearchSpace::default_for(ModelKind::IknetOriginal),
            data: Some(data.clone()),
        };
        let dir = Path::new("study");
        let moved = StudyMeta {
            data: Some(DatasetIdentity { path: Some("/elsewhere/d.ikd".into()), ..data.clone() }),
            ..meta.clone()
        };
        assert!(meta.check_same_study(&moved, dir).is_ok());
        assert!(meta.check_same_study(&StudyMeta { data: None, ..meta.clone() }, dir).is_ok(), "an older study.json");
        for other in [
            StudyMeta { epochs: 1, ..meta.clone() },
            StudyMeta { seed: 2, ..meta.clone() },
            StudyMeta {
                data: Some(DatasetIdentity { workspace: Some("small".into()), ..data.clone() }),
                ..meta.clone()
            },
        ] {
            let err = meta.check_same_study(&other, dir).unwrap_err().to_string();
            assert!(err.contains("choose another --out") && !err.contains('\n'), "{err}");
        }
    }
}
