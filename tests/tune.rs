//! `ik-studio tune` end to end on a small OpenManipulator-X dataset: a study
//! folder, resuming it, refusing bad input; `train --events jsonl`; the
//! trainer's epoch observer stopping a run.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use ik_studio::models::{ModelKind, Preset};
use ik_studio::train::{EpochControl, StopReason, TrainConfig, TrainJob, train_observed};

fn ik(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ik-studio")).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// 3000 OMX samples, 10 % of them for validation.
fn omx_dataset(dir: &Path) -> PathBuf {
    let out = dir.join("omx.ikd");
    let o = ik(&[
        "dataset",
        "--robot",
        "omx",
        "--samples",
        "3000",
        "--val-fraction",
        "0.1",
        "--seed",
        "1",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    out
}

fn tune(data: &Path, out: &Path, model: &str, trials: &str, extra: &[&str]) -> Output {
    let mut args = vec![
        "tune",
        "--robot",
        "omx",
        "--model",
        model,
        "--data",
        data.to_str().unwrap(),
        "--trials",
        trials,
        "--epochs",
        "3",
        "--max-steps-per-epoch",
        "8",
        "--seed",
        "5",
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ik(&args)
}

fn study_lines(out: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read_to_string(out.join("study.jsonl")).unwrap();
    text.lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn assert_one_line_error(o: &Output, needle: &str) {
    assert!(!o.status.success());
    let err = stderr(o);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.starts_with("error:") && err.contains(needle), "{err}");
}

#[test]
fn a_study_runs_resumes_and_refuses_what_is_not_its_own() {
    let dir = tempfile::tempdir().unwrap();
    let data = omx_dataset(dir.path());
    let out = dir.path().join("study");

    // One trial at a time: trial 0 reaches every rung first and goes on.
    let o = tune(&data, &out, "iknet-original", "6", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines = study_lines(&out);
    assert_eq!(lines.len(), 6);
    let mut numbers: Vec<u64> = lines.iter().map(|l| l["number"].as_u64().unwrap()).collect();
    numbers.sort();
    assert_eq!(numbers, [0, 1, 2, 3, 4, 5]);
    for line in &lines {
        for key in ["number", "params", "state", "value", "epochs", "seconds", "checkpoint"] {
            assert!(line.get(key).is_some(), "{key} missing in {line}");
        }
        assert!(["complete", "pruned", "failed"].contains(&line["state"].as_str().unwrap()));
    }
    // Trial 0 is the preset: IKNet's batch 256, lr 0.01, widths 400 … 50, dropout 0.1.
    let preset = lines.iter().find(|l| l["number"] == 0).unwrap();
    assert_eq!(preset["params"]["batch_size"], 256);
    assert_eq!(preset["params"]["learning_rate"], 0.01);
    assert_eq!(preset["params"]["width_1"], 400);
    assert_eq!(preset["params"]["width_5"], 50);
    assert_eq!(preset["state"], "complete", "the first trial is alone at its rungs: {preset}");
    for name in ["study.json", "summary.md", "history.png", "best/card.json", "best/history.json"] {
        assert!(out.join(name).exists(), "{name}");
    }
    let summary = std::fs::read_to_string(out.join("summary.md")).unwrap();
    assert!(summary.contains("**Best: trial"), "{summary}");

    // Resuming skips the six finished trials and runs two more, side by side; the old lines
    // stay as they were.
    let before = std::fs::read_to_string(out.join("study.jsonl")).unwrap();
    let o = tune(&data, &out, "iknet-original", "8", &["--jobs", "2"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("resuming: 6 trials finished, 2 to run"), "{}", stdout(&o));
    let after = std::fs::read_to_string(out.join("study.jsonl")).unwrap();
    assert!(after.starts_with(&before));
    assert_eq!(study_lines(&out).len(), 8);

    // A kill mid-line leaves a partial last line: ignored and cut off; nothing is rerun.
    std::fs::write(out.join("study.jsonl"), format!("{after}{{\"number\":8,\"par")).unwrap();
    let o = tune(&data, &out, "iknet-original", "8", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("0 trials to run"), "{}", stdout(&o));
    assert_eq!(std::fs::read_to_string(out.join("study.jsonl")).unwrap(), after);

    // Another model's study, another folder's files, bad spaces, zero trials: one line each.
    let o = tune(&data, &out, "cycleik-mlp", "2", &[]);
    assert_one_line_error(&o, "holds a study of iknet-original (compact) for omx");
    let o = tune(&data, dir.path(), "iknet-original", "2", &[]);
    assert_one_line_error(&o, "not a study folder");
    let space = dir.path().join("space.json");
    std::fs::write(&space, r#"{"learning_rate": {"low": 1e-2, "high": 1e-4, "log": true}}"#).unwrap();
    let o = tune(&data, &dir.path().join("s2"), "iknet-original", "2", &["--space", space.to_str().unwrap()]);
    assert_one_line_error(&o, "inverted");
    std::fs::write(&space, r#"{"noise_dim": {"low": 3, "high": 8}}"#).unwrap();
    let o = tune(&data, &dir.path().join("s2"), "iknet-original", "2", &["--space", space.to_str().unwrap()]);
    assert_one_line_error(&o, "has no parameter `noise_dim`");
    std::fs::write(&space, "{}").unwrap();
    let o = tune(&data, &dir.path().join("s2"), "iknet-original", "2", &["--space", space.to_str().unwrap()]);
    assert_one_line_error(&o, "empty");
    let o = tune(&data, &dir.path().join("s2"), "iknet-original", "0", &[]);
    assert_one_line_error(&o, "--trials");
    assert!(!dir.path().join("s2").exists(), "nothing is written for refused input");
}

#[test]
fn a_cycleik_study_with_its_own_space_searches_only_that_space() {
    let dir = tempfile::tempdir().unwrap();
    let data = omx_dataset(dir.path());
    let out = dir.path().join("study");
    let space = dir.path().join("space.json");
    std::fs::write(
        &space,
        r#"{"layers": {"low": 1, "high": 2}, "width_1": {"low": 16, "high": 64, "step": 16},
            "width_2": {"low": 16, "high": 64, "step": 16}, "learning_rate": {"low": 1e-4, "high": 1e-2, "log": true}}"#,
    )
    .unwrap();
    let o = tune(&data, &out, "cycleik-mlp", "4", &["--space", space.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let printed: Vec<serde_json::Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(printed.len(), 4);
    for line in study_lines(&out).iter().filter(|l| l["number"] != 0) {
        let params = line["params"].as_object().unwrap();
        let layers = params["layers"].as_u64().unwrap();
        assert!((1..=2).contains(&layers), "{line}");
        assert_eq!(params.contains_key("width_2"), layers == 2, "{line}");
        let w1 = params["width_1"].as_u64().unwrap();
        assert!((16..=64).contains(&w1) && w1 % 16 == 0, "{line}");
        let lr = params["learning_rate"].as_f64().unwrap();
        assert!((1e-4..=1e-2).contains(&lr), "{line}");
        assert!(!params.contains_key("batch_size"), "left out of the space: the preset's value");
    }
}

#[test]
fn train_events_jsonl_prints_one_object_per_epoch() {
    let dir = tempfile::tempdir().unwrap();
    let data = omx_dataset(dir.path());
    let ckpt = dir.path().join("ckpt");
    let o = ik(&[
        "train",
        "--robot",
        "omx",
        "--model",
        "iknet-original",
        "--data",
        data.to_str().unwrap(),
        "--epochs",
        "2",
        "--max-steps-per-epoch",
        "5",
        "--out",
        ckpt.to_str().unwrap(),
        "--events",
        "jsonl",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<serde_json::Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let epochs: Vec<&serde_json::Value> = lines.iter().filter(|l| l["event"] == "epoch").collect();
    assert_eq!(epochs.len(), 2);
    assert_eq!(epochs[1]["epoch"], 1);
    assert!(epochs[0]["position_mm"].as_f64().unwrap() > 0.0);
    assert!(epochs[0]["orientation_deg"].as_f64().is_some());
    assert_eq!(lines.last().unwrap()["event"], "finished");
}

#[test]
fn the_epoch_observer_stops_a_run_after_the_epoch_it_saw() {
    let dir = tempfile::tempdir().unwrap();
    let data = omx_dataset(dir.path());
    let dataset = ik_studio::data::read_dataset(&data).unwrap();
    let mut config = TrainConfig::new(ModelKind::IknetOriginal, Preset::Compact).unwrap();
    config.epochs = 5;
    config.max_steps_per_epoch = Some(4);
    let job = TrainJob {
        robot: ik_studio::robots::builtin("omx").unwrap(),
        dataset: Arc::new(dataset),
        dataset_path: None,
        config,
        out: Some(dir.path().join("ckpt")),
    };
    let (events, _) = std::sync::mpsc::channel();
    let mut seen = Vec::new();
    let outcome = train_observed(&job, &events, &AtomicBool::new(false), &mut |epoch| {
        seen.push(epoch.validation.position_mm);
        if epoch.epoch == 1 { EpochControl::Stop } else { EpochControl::Continue }
    })
    .unwrap();
    assert_eq!(seen.len(), 2);
    assert_eq!(outcome.summary.stop, StopReason::Stopped);
    assert_eq!(outcome.summary.epochs_run, 2);
    assert!(dir.path().join("ckpt/card.json").exists(), "the best network so far is kept");
}
