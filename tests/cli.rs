//! The `ik-studio` binary as a script would use it.

use std::process::{Command, Output};

fn ik(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ik-studio")).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn fk_prints_the_pose() {
    let o = ik(&["fk", "--robot", "omx", "--joints", "0,0,0,0"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        stdout(&o).trim(),
        "0.286000000 0.000000000 0.204500000 0.000000000 0.000000000 0.000000000 1.000000000"
    );

    let o = ik(&["fk", "--robot", "nicol-right", "--joints", "0,0,0,0,0,0,0,0", "--json"]);
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    let p = v["position"].as_array().unwrap();
    assert!((p[1].as_f64().unwrap() + 0.51319663).abs() < 1e-9);
    assert_eq!(v["quaternion"].as_array().unwrap().len(), 4);
}

#[test]
fn fk_batch_file_gives_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("q.csv");
    std::fs::write(&file, "0,0,0,0\n\n0.5,-0.2,0.1,0.3\n1,1,-1,0\n").unwrap();
    let o = ik(&["fk", "--robot", "omx", "--joints-file", file.to_str().unwrap(), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let lines: Vec<_> = stdout(&o).lines().map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()).collect();
    assert_eq!(lines.len(), 3);
    std::fs::write(&file, "0,0,0\n").unwrap();
    let o = ik(&["fk", "--robot", "omx", "--joints-file", file.to_str().unwrap()]);
    assert!(!o.status.success());
    assert!(stderr(&o).contains("q.csv:1"), "{}", stderr(&o));
}

#[test]
fn robots_lists_all_builtins_as_json() {
    let o = ik(&["robots", "--json"]);
    assert!(o.status.success());
    let names: Vec<String> = stdout(&o)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["omx", "nicol-right", "nicol-left"]);
}

#[test]
fn bad_input_gives_one_line_errors_and_failure_status() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.urdf");
    std::fs::write(&broken, "<robot name='x'><link name='a'>").unwrap();
    let cases: Vec<Vec<&str>> = vec![
        vec!["fk", "--robot", "ur5", "--joints", "0"],
        vec!["fk", "--robot", "omx", "--joints", "0,0,0"],
        vec!["fk", "--robot", "omx", "--joints", "0,0,x,0"],
        vec!["fk", "--robot", "omx", "--joints", "0,0,nan,0"],
        vec!["fk", "--urdf", broken.to_str().unwrap(), "--base", "a", "--tip", "b", "--joints", "0"],
        vec!["fk", "--urdf", "/no/such.urdf", "--base", "a", "--tip", "b", "--joints", "0"],
        vec!["dataset", "--robot", "omx", "--workspace", "huge", "--samples", "10", "--out", "/tmp/x.ikd"],
        vec!["dataset", "info", "/no/such.ikd"],
        vec!["solve", "--robot", "omx", "--solver", "iknet-original@f12", "--pose", "0.2,0,0.2,0,0,0,1"],
        vec![
            "import-torch",
            "--robot",
            "omx",
            "--model",
            "iknet-original",
            "--weights",
            "/no/such.pth",
            "--out",
            "/tmp/x",
        ],
    ];
    // Without the `gpu` feature, asking for the GPU is an error, not a silent CPU run.
    #[cfg(not(feature = "gpu"))]
    let cases = {
        let mut cases = cases;
        cases.push(vec![
            "solve",
            "--robot",
            "omx",
            "--solver",
            "iknet-original",
            "--device",
            "gpu",
            "--pose",
            "0.2,0,0.2,0,0,0,1",
        ]);
        cases
    };
    for args in cases {
        let o = ik(&args);
        assert!(!o.status.success(), "{args:?} should fail");
        let err = stderr(&o);
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    }
}

#[test]
fn dataset_command_writes_a_file_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("omx.ikd");
    let npy = dir.path().join("npy");
    let o = ik(&[
        "dataset",
        "--robot",
        "omx",
        "--workspace",
        "small",
        "--samples",
        "2000",
        "--seed",
        "4",
        "--out",
        out.to_str().unwrap(),
        "--npy",
        npy.to_str().unwrap(),
        "--json",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(v["count"], 2000);
    assert_eq!(v["test"], 200);
    assert!(v["acceptance_rate"].as_f64().unwrap() > 0.0);
    assert!(npy.join("test_poses.npy").exists());
    let o = ik(&["dataset", "info", out.to_str().unwrap(), "--json"]);
    let meta: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(meta["robot"], "omx");
    assert_eq!(meta["seed"], 4);
}

#[test]
fn a_custom_workspace_box_bounds_the_dataset_and_bad_boxes_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("box.ikd");
    let o = ik(&[
        "dataset",
        "--robot",
        "nicol-right",
        "--workspace",
        "0.3,-0.6,0.85,0.7,-0.1,1.2",
        "--samples",
        "2000",
        "--out",
        out.to_str().unwrap(),
        "--seed",
        "3",
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let dataset = ik_studio::data::read_dataset(&out).unwrap();
    let all = dataset.all();
    for i in 0..all.len() {
        let p = all.pose(i);
        assert!((0.3..=0.7).contains(&p[0]) && (-0.6..=-0.1).contains(&p[1]) && (0.85..=1.2).contains(&p[2]), "{p:?}");
    }
    for bad in ["0.7,-0.6,0.85,0.3,-0.1,1.2", "0.3,-0.6,0.85,0.7,-0.1", "0.3,-0.6,nan,0.7,-0.1,1.2", "huge"] {
        let o = ik(&[
            "dataset",
            "--robot",
            "nicol-right",
            "--workspace",
            bad,
            "--samples",
            "10",
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(!o.status.success(), "{bad}");
        let err = stderr(&o);
        assert!(err.starts_with("error:") && err.trim().lines().count() == 1, "{bad}: {err}");
    }
}

#[test]
fn study_compares_the_three_iknets_each_in_its_own_process() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("omx.ikd");
    let o = ik(&["dataset", "--robot", "omx", "--samples", "400", "--out", data.to_str().unwrap(), "--seed", "5"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let o = ik(&["study", "--data", data.to_str().unwrap(), "--limit", "30", "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let reports: Vec<serde_json::Value> = stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let names: Vec<&str> = reports.iter().map(|r| r["solver"].as_str().unwrap()).collect();
    assert_eq!(names, ["iknet-original", "iknet-improved", "iknet-focused"]);
    for r in &reports {
        assert!(r["joint_mse"].as_f64().unwrap().is_finite() && r["parameters"].as_u64().unwrap() > 100_000, "{r}");
    }
    let o = ik(&["study", "--data", data.to_str().unwrap(), "--models", "iknet-original,nonsense"]);
    assert!(!o.status.success());
    assert_eq!(stderr(&o).trim().lines().last().map(|l| l.starts_with("error:")), Some(true), "{}", stderr(&o));
}
