//! Reliability (issue 13): malformed URDFs, damaged dataset files, odd output
//! paths, absurd command-line numbers and unusable solver inputs get one clean
//! `error:` line and a failure status, or a valid result: never a panic, an
//! abort, a hang, or NaN printed as a result.
//!
//! The property-based cases are bounded (proptest, 48 to 128 cases each) so the
//! file stays well under a minute in a release build.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use ik_studio::data::{self, DataError, SampleConfig, Split, sample_dataset};
use ik_studio::kinematics::{Chain, KinematicTree, KinematicsError, Pose};
use ik_studio::robots;
use ik_studio::solvers::{self, GeneticSolver, SolveRequest};
use nalgebra::{Isometry3, Translation3, UnitQuaternion};
use proptest::prelude::*;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

// ---------------------------------------------------------------------------
// Running the binary

/// Longest any command here may run: beyond it, a hang.
const HANG: Duration = Duration::from_secs(60);

fn ik_with(args: &[&str], setup: impl FnOnce(&mut Command)) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ik-studio"));
    cmd.args(args).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    setup(&mut cmd);
    let mut child = cmd.spawn().unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > HANG {
            let _ = child.kill();
            panic!("{args:?} hangs (still running after {HANG:?})");
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.wait_with_output().unwrap()
}

fn ik(args: &[&str]) -> Output {
    ik_with(args, |_| {})
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Not a panic (101) nor a signal (abort); a failure says so in one `error:` line;
/// a success prints no NaN or infinity.
fn assert_clean(args: &[&str], o: &Output) {
    let err = stderr(o);
    assert!(o.status.code().is_some(), "{args:?} died of a signal: {err}");
    assert_ne!(o.status.code(), Some(101), "{args:?} panicked: {err}");
    if o.status.success() {
        let out = stdout(o).to_lowercase();
        let non_finite =
            out.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| matches!(w, "nan" | "inf" | "infinity"));
        assert!(!non_finite, "{args:?} printed {out}");
    } else {
        assert!(err.starts_with("error: "), "{args:?}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    }
}

/// [`assert_clean`], and it failed; the error mentions `needle`.
fn assert_refused(args: &[&str], needle: &str) -> String {
    let o = ik(args);
    assert_clean(args, &o);
    assert!(!o.status.success(), "{args:?} should fail: {}", stdout(&o));
    let err = stderr(&o);
    assert!(err.contains(needle), "{args:?}: {err}");
    err
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

// ---------------------------------------------------------------------------
// URDF numbers

/// Every joint kind, a link with collision geometry and one with a visual.
const URDF: &str = r#"<robot name="fuzz">
  <link name="base"/>
  <link name="a"><collision><origin xyz="0 0 0.05" rpy="0 0 0"/><geometry><cylinder radius="0.02" length="0.1"/></geometry></collision></link>
  <link name="b"><visual><origin xyz="0 0 0" rpy="0 0 0"/><geometry><box size="0.1 0.1 0.1"/></geometry></visual></link>
  <link name="c"/><link name="tool"/>
  <joint name="j1" type="revolute"><parent link="base"/><child link="a"/>
    <origin xyz="0 0 0.1" rpy="0 0 0"/><axis xyz="0 0 1"/><limit lower="-2" upper="2" effort="1" velocity="1"/></joint>
  <joint name="j2" type="prismatic"><parent link="a"/><child link="b"/>
    <origin xyz="0.1 0 0" rpy="0 0.5 0"/><axis xyz="1 0 0"/><limit lower="0" upper="0.3" effort="1" velocity="1"/></joint>
  <joint name="j3" type="continuous"><parent link="b"/><child link="c"/>
    <origin xyz="0 0.2 0" rpy="0 0 0"/><axis xyz="0 1 0"/></joint>
  <joint name="mount" type="fixed"><parent link="c"/><child link="tool"/><origin xyz="0.05 0 0"/></joint>
</robot>"#;

fn write_urdf(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("robot.urdf");
    std::fs::write(&path, text).unwrap();
    path
}

fn parse(text: &str) -> Result<Chain, KinematicsError> {
    KinematicTree::from_urdf_str(text).and_then(|t| Chain::from_tree(&t, "base", "tool"))
}

#[test]
fn urdf_limits_and_axes_are_validated_at_load() {
    let huge = URDF.replace(r#"lower="-2" upper="2""#, r#"lower="-1e308" upper="1e308""#);
    assert!(matches!(parse(&huge), Err(KinematicsError::OutOfRange { .. })), "{:?}", parse(&huge).err());
    let infinite = URDF.replace(r#"lower="-2" upper="2""#, r#"lower="-inf" upper="inf""#);
    let err = parse(&infinite).unwrap_err();
    assert!(matches!(err, KinematicsError::NonFinite { .. }) && err.to_string().contains("continuous"), "{err}");
    let prismatic = URDF.replace(r#"lower="0" upper="0.3""#, r#"lower="0" upper="2e6""#);
    assert!(matches!(parse(&prismatic), Err(KinematicsError::OutOfRange { .. })));
    let far = URDF.replace(r#"xyz="0.1 0 0""#, r#"xyz="1e300 0 0""#);
    assert!(matches!(parse(&far), Err(KinematicsError::OutOfRange { .. })));
    let radius = URDF.replace(r#"radius="0.02""#, r#"radius="1e308""#);
    assert!(matches!(parse(&radius), Err(KinematicsError::BadGeometry { .. })));
    let box_size = URDF.replace(r#"size="0.1 0.1 0.1""#, r#"size="0.1 nan 0.1""#);
    assert!(matches!(parse(&box_size), Err(KinematicsError::BadGeometry { .. })));
    // An axis with huge components is the same direction, not a zero vector.
    let big_axis = parse(&URDF.replace(r#"<axis xyz="0 0 1"/>"#, r#"<axis xyz="0 0 1e308"/>"#)).unwrap();
    let plain = parse(URDF).unwrap();
    assert_eq!(big_axis.joints[0].axis, plain.joints[0].axis);
    assert!(matches!(parse(&URDF.replace(r#"xyz="0 0 1""#, r#"xyz="0 0 1e-300""#)), Err(KinematicsError::ZeroAxis(_))));
    for e in [parse(&huge).unwrap_err(), parse(&radius).unwrap_err()] {
        assert!(!e.to_string().contains('\n') && e.to_string().contains("1e6"), "{e}");
    }
}

#[test]
fn huge_urdf_limits_are_one_line_errors_in_fk_solve_and_dataset() {
    let dir = tempfile::tempdir().unwrap();
    let huge = URDF.replace(r#"lower="-2" upper="2""#, r#"lower="-1e308" upper="1e308""#);
    let urdf = write_urdf(dir.path(), &huge);
    let out = dir.path().join("d.ikd");
    let robot = ["--urdf", s(&urdf), "--base", "base", "--tip", "tool"];
    assert_refused(&[&["fk"][..], &robot[..], &["--joints", "0,0,0"][..]].concat(), "1e6");
    assert_refused(&[&["solve"][..], &robot[..], &["--pose", "0.2,0,0.2,0,0,0,1"][..]].concat(), "1e6");
    assert_refused(&[&["dataset"][..], &robot[..], &["--samples", "10", "--out", s(&out)][..]].concat(), "1e6");
}

#[test]
fn fk_never_prints_an_infinite_pose() {
    // Two prismatic joints at 1e308 each: their sum overflows.
    let text = r#"<robot name="slides"><link name="base"/><link name="a"/><link name="tool"/>
      <joint name="x1" type="prismatic"><parent link="base"/><child link="a"/><axis xyz="1 0 0"/>
        <limit lower="-1e6" upper="1e6" effort="1" velocity="1"/></joint>
      <joint name="x2" type="prismatic"><parent link="a"/><child link="tool"/><axis xyz="1 0 0"/>
        <limit lower="-1e6" upper="1e6" effort="1" velocity="1"/></joint></robot>"#;
    let dir = tempfile::tempdir().unwrap();
    let urdf = write_urdf(dir.path(), text);
    let args = ["fk", "--urdf", s(&urdf), "--base", "base", "--tip", "tool", "--joints", "1e308,1e308"];
    assert_refused(&args, "not finite");
}

/// Numeric tokens of `text` (start, end), attribute values only.
fn numbers_in(text: &str) -> Vec<(usize, usize)> {
    let bytes = text.as_bytes();
    let mut spans = Vec::new();
    let mut in_value = false;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'"' => in_value = !in_value,
            c if in_value && (c.is_ascii_digit() || c == b'-' || c == b'.') => {
                let start = i;
                while i < bytes.len() && matches!(bytes[i], b'0'..=b'9' | b'-' | b'.' | b'e') {
                    i += 1;
                }
                spans.push((start, i));
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    spans
}

fn weird_number() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "NaN",
            "nan",
            "inf",
            "-inf",
            "1e308",
            "-1e308",
            "1.7976931348623157e308",
            "1e7",
            "-1e7",
            "1e6",
            "-5",
            "0",
            "-0",
            "1e-320",
            "3",
            "x",
            "",
        ])
        .prop_map(str::to_string),
        any::<f64>().prop_map(|v| v.to_string()),
        (-10.0..10.0f64).prop_map(|v| v.to_string()),
    ]
}

/// One edit of the URDF: a number replaced, an axis zeroed, or an element deleted.
fn urdf_edit() -> impl Strategy<Value = (usize, String, usize)> {
    (0usize..1000, weird_number(), 0usize..8)
}

fn apply_edit(text: &str, (index, value, kind): &(usize, String, usize)) -> String {
    let deletable = ["<limit", "<axis", "<origin", "<parent", "<child", "<collision>", "<visual>", "<geometry>"];
    match kind {
        // Mostly: replace a number.
        0..=4 => {
            let spans = numbers_in(text);
            let (a, b) = spans[index % spans.len()];
            format!("{}{value}{}", &text[..a], &text[b..])
        }
        5 => text.replacen(["0 0 1", "1 0 0", "0 1 0"][index % 3], "0 0 0", 1),
        _ => {
            let tag = deletable[index % deletable.len()];
            let Some(start) = text.find(tag) else { return text.to_string() };
            let end = if tag.ends_with('>') {
                let close = format!("</{}", &tag[1..]);
                text[start..].find(&close).map_or(start + tag.len(), |e| start + e + close.len())
            } else {
                text[start..].find("/>").map_or(start + tag.len(), |e| start + e + 2)
            };
            format!("{}{}", &text[..start], &text[end..])
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    /// A mutated URDF is refused at load, or every number of the chain is usable:
    /// limits finite and ordered, FK of random configurations finite, numeric IK finite.
    #[test]
    fn mutated_urdfs_are_refused_or_usable(edits in prop::collection::vec(urdf_edit(), 1..4)) {
        let text = edits.iter().fold(URDF.to_string(), |t, e| apply_edit(&t, e));
        let Ok(chain) = parse(&text) else { return Ok(()) };
        for l in chain.limits() {
            prop_assert!(l.lower.is_finite() && l.upper.is_finite() && l.lower <= l.upper, "{l:?}");
            prop_assert!(l.span().is_finite());
        }
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for _ in 0..20 {
            let q = chain.random_configuration(&mut rng);
            let tip = chain.fk(&q).unwrap();
            prop_assert!(Pose::from_isometry(&tip).to_array().iter().all(|v| v.is_finite()), "{q:?}");
        }
        let dir = tempfile::tempdir().unwrap();
        let robot = robots::from_urdf_file(&write_urdf(dir.path(), &text), "base", "tool").unwrap();
        let ws = robot.default_workspace();
        prop_assert!(ws.min.iter().chain(&ws.max).all(|v| v.is_finite()));
        let target = chain.fk(&chain.mid_configuration()).unwrap();
        let numeric = solvers::NumericSolver::new(chain.clone());
        let request = SolveRequest { budget: Duration::from_millis(2), ..SolveRequest::new(target) };
        // Targets from a usable chain's FK lie within reach of the solvers' bounds or are refused cleanly.
        if let Ok(result) = solvers::solve_checked(&numeric, &request) {
            prop_assert!(result.solutions.iter().all(|s| s.is_finite()));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]

    /// The same through the binary: `fk` and `dataset` on a mutated URDF.
    #[test]
    fn mutated_urdfs_in_the_cli_give_results_or_one_line_errors(edits in prop::collection::vec(urdf_edit(), 1..3)) {
        let text = edits.iter().fold(URDF.to_string(), |t, e| apply_edit(&t, e));
        let dir = tempfile::tempdir().unwrap();
        let urdf = write_urdf(dir.path(), &text);
        let out = dir.path().join("d.ikd");
        let robot = ["--urdf", s(&urdf), "--base", "base", "--tip", "tool"];
        for args in [
            [&["fk"][..], &robot[..], &["--joints", "0.1,0.1,0.1"][..]].concat(),
            [&["dataset"][..], &robot[..], &["--samples", "50", "--out", s(&out), "--json"][..]].concat(),
        ] {
            assert_clean(&args, &ik(&args));
        }
    }
}

// ---------------------------------------------------------------------------
// Dataset files

/// A 120-sample OMX dataset written into `dir`, and its bytes (sampled once).
fn small_dataset(dir: &Path) -> (PathBuf, Vec<u8>) {
    static BYTES: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    let bytes = BYTES.get_or_init(|| {
        let robot = robots::builtin("omx").unwrap();
        let ws = robot.workspace("small").unwrap().clone();
        let (ds, _) = sample_dataset(&robot, &ws, &SampleConfig::new(120, 9), &|_| {}).unwrap();
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("omx.ikd");
        data::write_dataset(&ds, &path).unwrap();
        std::fs::read(&path).unwrap()
    });
    let path = dir.join("omx.ikd");
    std::fs::write(&path, bytes).unwrap();
    (path, bytes.clone())
}

fn header_len(bytes: &[u8]) -> usize {
    u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize
}

/// The file with its header JSON edited and checksummed again.
fn with_header(bytes: &[u8], edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
    let len = header_len(bytes);
    let mut header: serde_json::Value = serde_json::from_slice(&bytes[12..12 + len]).unwrap();
    edit(&mut header);
    let new = serde_json::to_vec(&header).unwrap();
    let mut out = bytes[..8].to_vec();
    out.extend((new.len() as u32).to_le_bytes());
    out.extend(&new);
    out.extend(crc32fast::hash(&new).to_le_bytes());
    out.extend(&bytes[12 + len + 4..]);
    out
}

/// The file with its sample checksum made right again after editing samples.
fn fix_sample_crc(mut bytes: Vec<u8>) -> Vec<u8> {
    let start = 12 + header_len(&bytes) + 4;
    let end = bytes.len() - 12;
    let crc = crc32fast::hash(&bytes[start..end]);
    bytes[end..end + 4].copy_from_slice(&crc.to_le_bytes());
    bytes
}

fn sample_offset(bytes: &[u8]) -> usize {
    12 + header_len(bytes) + 4
}

#[test]
fn splits_that_run_backwards_or_past_the_end_are_clean_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (_, bytes) = small_dataset(dir.path());
    let cases = [
        // Tiles by its ends, but test runs backwards: eval used to panic slicing it.
        (
            "backwards.ikd",
            serde_json::json!({"train": {"start": 0, "end": 100}, "test": {"start": 100, "end": 50}, "val": {"start": 50, "end": 120}}),
        ),
        (
            "past.ikd",
            serde_json::json!({"train": {"start": 0, "end": 100}, "test": {"start": 100, "end": 130}, "val": {"start": 130, "end": 120}}),
        ),
        (
            "gap.ikd",
            serde_json::json!({"train": {"start": 0, "end": 10}, "test": {"start": 20, "end": 30}, "val": {"start": 30, "end": 120}}),
        ),
    ];
    for (name, splits) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, with_header(&bytes, |h| h["splits"] = splits.clone())).unwrap();
        assert!(matches!(data::read_meta(&path), Err(DataError::Corrupt { .. })), "{name}");
        assert!(matches!(data::read_dataset(&path), Err(DataError::Corrupt { .. })), "{name}");
        assert_refused(&["dataset", "info", s(&path)], "split");
        assert_refused(&["dataset", "info", "--header-only", s(&path)], "split");
        assert_refused(&["eval", "--data", s(&path), "--solver", "numeric", "--limit", "2"], "split");
        let args = ["train", "--robot", "omx", "--model", "iknet-original", "--data", s(&path), "--epochs", "1"];
        assert_refused(&[&args[..], &["--out", s(&dir.path().join("ckpt"))][..]].concat(), "split");
    }
}

#[test]
fn dataset_info_verifies_the_whole_file() {
    let dir = tempfile::tempdir().unwrap();
    let (path, bytes) = small_dataset(dir.path());
    let o = ik(&["dataset", "info", s(&path), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let n = bytes.len();
    let offset = sample_offset(&bytes);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("truncated.ikd", bytes[..n - 100].to_vec(), "bytes"),
        (
            "flipped.ikd",
            {
                let mut b = bytes.clone();
                b[offset + 40] ^= 0x08;
                b
            },
            "checksum",
        ),
        (
            "end.ikd",
            {
                let mut b = bytes.clone();
                b[n - 3] ^= 1;
                b
            },
            "end marker",
        ),
        // A NaN sample, checksummed as if it were fine.
        (
            "nan.ikd",
            fix_sample_crc({
                let mut b = bytes.clone();
                b[offset..offset + 8].copy_from_slice(&f64::NAN.to_le_bytes());
                b
            }),
            "finite",
        ),
    ];
    for (name, content, needle) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, content).unwrap();
        assert_refused(&["dataset", "info", s(&p)], needle);
        // Reading the header alone still works where the header is intact.
        let o = ik(&["dataset", "info", "--header-only", s(&p), "--json"]);
        assert!(o.status.success(), "{name}: {}", stderr(&o));
    }
}

#[test]
fn eval_refuses_a_dataset_whose_poses_are_not_targets() {
    let dir = tempfile::tempdir().unwrap();
    let (original, bytes) = small_dataset(dir.path());
    // Zero the quaternion of the test split's first pose: finite numbers, but no orientation.
    let first = data::read_meta(&original).unwrap().splits.test.start;
    let record = (4 + 7) * 8;
    let mut b = bytes.clone();
    let at = sample_offset(&bytes) + first * record + (4 + 3) * 8;
    b[at..at + 32].fill(0);
    let path = dir.path().join("zero-q.ikd");
    std::fs::write(&path, fix_sample_crc(b)).unwrap();
    let ds = data::read_dataset(&path).unwrap();
    assert_eq!(ds.split(Split::Test).pose(0)[3..], [0.0; 4]);
    assert_refused(&["eval", "--data", s(&path), "--solver", "numeric", "--budget-ms", "5"], "no finite solution");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, failure_persistence: None, ..ProptestConfig::default() })]

    /// Header fields set to odd values (and checksummed again): a clean error, or
    /// a dataset whose every split can be viewed.
    #[test]
    fn mutated_dataset_headers_never_panic(
        field in prop::sample::select(vec![
            "count", "dof", "/splits/train/start", "/splits/train/end", "/splits/test/start",
            "/splits/test/end", "/splits/val/start", "/splits/val/end", "joint_names", "format_version",
        ]),
        value in prop_oneof![
            (0u64..200).prop_map(serde_json::Value::from),
            any::<u64>().prop_map(serde_json::Value::from),
            Just(serde_json::json!(-1)),
            Just(serde_json::json!(1e300)),
            Just(serde_json::Value::Null),
            Just(serde_json::json!(["a"])),
        ],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (_, bytes) = small_dataset(dir.path());
        let edited = with_header(&bytes, |h| {
            let pointer = if field.starts_with('/') { field.to_string() } else { format!("/{field}") };
            if let Some(slot) = h.pointer_mut(&pointer) {
                *slot = value.clone();
            }
        });
        let path = dir.path().join("m.ikd");
        std::fs::write(&path, &edited).unwrap();
        let _ = data::read_meta(&path);
        let verified = data::verify_dataset(&path);
        match data::read_dataset(&path) {
            Ok(ds) => {
                prop_assert!(verified.is_ok());
                for split in Split::ALL {
                    let view = ds.split(split);
                    prop_assert_eq!(view.joints.len(), view.len() * ds.meta.dof);
                }
            }
            Err(e) => {
                prop_assert!(verified.is_err());
                prop_assert!(!e.to_string().contains('\n'));
            }
        }
    }

    /// Any flipped, cut or inserted byte is detected.
    #[test]
    fn damaged_dataset_bytes_are_detected(
        at in any::<prop::sample::Index>(),
        mask in 1u8..=255,
        how in 0usize..3,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let (_, bytes) = small_dataset(dir.path());
        let i = at.index(bytes.len());
        let mut damaged = bytes.clone();
        match how {
            0 => damaged[i] ^= mask,
            1 => damaged.truncate(i),
            _ => damaged.insert(i, mask),
        }
        let path = dir.path().join("d.ikd");
        std::fs::write(&path, &damaged).unwrap();
        prop_assert!(data::read_dataset(&path).is_err());
        prop_assert!(data::verify_dataset(&path).is_err());
    }
}

#[test]
fn killed_writes_leave_no_temporary_files_behind() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("d.ikd");
    // What a writer killed mid-way leaves: pid 0 is never a live writer.
    let stale = dir.path().join(".d.ikd.tmp-0");
    std::fs::write(&stale, vec![0u8; 4096]).unwrap();
    let other = dir.path().join(".other.ikd.tmp-0");
    std::fs::write(&other, b"x").unwrap();
    let o = ik(&["dataset", "--robot", "omx", "--samples", "50", "--out", s(&out), "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stale.exists(), "the stale temporary file of the target is removed");
    assert!(other.exists(), "another target's is not");
}

// ---------------------------------------------------------------------------
// Output paths

#[cfg(unix)]
#[test]
fn outputs_never_replace_links_or_fifos() {
    let dir = tempfile::tempdir().unwrap();
    let (data_path, _) = small_dataset(dir.path());
    let real = dir.path().join("real.txt");
    std::fs::write(&real, b"keep").unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let fifo = dir.path().join("fifo");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    for target in [&link, &fifo] {
        let eval = ["eval", "--data", s(&data_path), "--solver", "numeric", "--limit", "2", "--budget-ms", "5"];
        assert_refused(&[&eval[..], &["--report", s(target)][..]].concat(), "not a regular file");
        assert_refused(&[&eval[..], &["--csv", s(target)][..]].concat(), "not a regular file");
        assert_refused(&["dataset", "--robot", "omx", "--samples", "20", "--out", s(target)], "not a regular file");
    }
    assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
    assert_eq!(std::fs::read(&real).unwrap(), b"keep");
    // Nor are inputs read from a FIFO (the open would block forever) or a device.
    for input in [s(&fifo), "/dev/zero"] {
        assert_refused(&["dataset", "info", input], "not a regular file");
        assert_refused(&["fk", "--urdf", input, "--base", "a", "--tip", "b", "--joints", "0"], "not a regular file");
        assert_refused(&["fk", "--robot", "omx", "--joints-file", input], "not a regular file");
    }
    // An existing regular file is replaced, atomically.
    let report = dir.path().join("report.md");
    std::fs::write(&report, b"old").unwrap();
    let args = ["eval", "--data", s(&data_path), "--solver", "numeric", "--limit", "2", "--report", s(&report)];
    assert!(ik(&args).status.success());
    assert!(std::fs::read_to_string(&report).unwrap().starts_with("# Evaluation"));
}

// ---------------------------------------------------------------------------
// Command-line numbers

#[test]
fn absurd_counts_and_budgets_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.ikd");
    let pose = ["--pose", "0.2,0,0.2,0,0,0,1"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["dataset", "--robot", "omx", "--samples", "1000000000000", "--out", s(&out)], "50000000"),
        (vec!["dataset", "--robot", "omx", "--samples", "1e12", "--out", s(&out)], "50000000"),
        (vec!["bench", "--robot", "omx", "--queries", "1000000000000"], "1000000"),
        ([&["solve", "--robot", "omx", "--samples", "1000000000000"][..], &pose[..]].concat(), "100000"),
        ([&["solve", "--robot", "omx", "--budget-ms", "1e308"][..], &pose[..]].concat(), "3600000"),
        ([&["solve", "--robot", "omx", "--budget-ms", "nan"][..], &pose[..]].concat(), "3600000"),
        (vec!["bench", "--robot", "omx", "--budget-ms", "1e308"], "3600000"),
        (vec!["eval", "--data", s(&out), "--solver", "numeric", "--budget-ms", "1e308"], "3600000"),
        (vec!["eval", "--data", s(&out), "--solver", "numeric", "--samples", "1000000000"], "100000"),
        (
            vec![
                "train",
                "--robot",
                "omx",
                "--model",
                "cycleik-gan",
                "--data",
                s(&out),
                "--epochs",
                "1",
                "--out",
                s(&out),
                "--variance-batch",
                "1000000000",
            ],
            "100000",
        ),
        (
            vec![
                "train",
                "--robot",
                "omx",
                "--model",
                "cycleik-mlp",
                "--data",
                s(&out),
                "--epochs",
                "1",
                "--out",
                s(&out),
                "--batch",
                "1e9",
            ],
            "1000000",
        ),
        (vec!["studio", "--ghosts", "100000"], "500"),
        (vec!["dataset", "--robot", "omx", "--samples", "10", "--test-fraction", "nan", "--out", s(&out)], "fraction"),
    ];
    for (args, max) in &cases {
        let start = Instant::now();
        assert_refused(args, max);
        assert!(start.elapsed() < Duration::from_secs(10), "{args:?} took {:?}", start.elapsed());
    }
    assert!(!out.exists());
}

#[test]
fn help_states_the_maxima() {
    let help = |cmd: &[&str]| stdout(&ik(&[cmd, &["--help"][..]].concat()));
    assert!(help(&["dataset"]).contains("50000000"));
    assert!(help(&["bench"]).contains("1000000"));
    assert!(help(&["solve"]).contains("100000") && help(&["solve"]).contains("3600000"));
    assert!(help(&["eval"]).contains("3600000"));
    assert!(help(&["train"]).contains("100000"));
    assert!(help(&["studio"]).contains("500"));
}

/// Count-like values: small valid ones, absurd ones, and text that is no count.
fn count_text(small: u64) -> impl Strategy<Value = String> {
    prop_oneof![
        (0..=small).prop_map(|v| v.to_string()),
        (50_000_001u64..=u64::MAX).prop_map(|v| v.to_string()),
        prop::sample::select(vec!["-1", "1e12", "nan", "inf", "18446744073709551616", "", "0x10", "1.5"])
            .prop_map(str::to_string),
    ]
}

/// Number-like values: any f64 as text, and special ones.
fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<f64>().prop_map(|v| v.to_string()),
        (0.0..200.0f64).prop_map(|v| v.to_string()),
        prop::sample::select(vec!["nan", "-inf", "inf", "1e308", "-1e308", "0", "-0", "1e-320", "5e-324", "x"])
            .prop_map(str::to_string),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, failure_persistence: None, ..ProptestConfig::default() })]

    /// One number of one command replaced: a result or one `error:` line, quickly.
    #[test]
    fn command_line_numbers_give_results_or_one_line_errors(
        which in 0usize..11,
        count in count_text(300),
        number in number_text(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("x.ikd");
        let out = s(&out);
        let missing = "/no/such.ikd";
        // The OMX home tip: reachable, so a long budget ends as soon as it is solved.
        let pose = "0.286,0,0.2045,0,0,0,1";
        let (c, x) = (count.as_str(), number.as_str());
        let number_pose = format!("0.286,0,0.2045,{x},{x},0,1");
        let joints = format!("{x},0,0,0");
        let args: Vec<&str> = match which {
            0 => vec!["dataset", "--robot", "omx", "--samples", c, "--out", out, "--json"],
            1 => vec!["dataset", "--robot", "omx", "--samples", "50", "--test-fraction", x, "--out", out, "--json"],
            2 => vec!["solve", "--robot", "omx", "--goal", "position", "--pose", pose, "--budget-ms", x],
            3 => vec!["solve", "--robot", "omx", "--goal", "position", "--pose", pose, "--samples", c, "--budget-ms", "20"],
            4 => vec!["bench", "--robot", "omx", "--queries", c, "--budget-ms", "2", "--json"],
            5 => vec!["eval", "--data", missing, "--solver", "numeric", "--limit", c, "--tolerance-mm", x],
            6 => vec!["train", "--robot", "omx", "--model", "cycleik-gan", "--data", missing, "--epochs", c, "--out", out, "--variance-batch", c],
            7 => vec!["train", "--robot", "omx", "--model", "cycleik-mlp", "--data", missing, "--epochs", "1", "--out", out, "--lr", x, "--batch", c],
            8 => vec!["fk", "--robot", "omx", "--joints", joints.as_str()],
            9 => vec!["solve", "--robot", "omx", "--solver", "ga", "--goal", "position", "--budget-ms", "20", "--pose", number_pose.as_str()],
            _ => vec!["studio", "--ghosts", c],
        };
        let o = ik_with(&args, |cmd| {
            cmd.env_remove("DISPLAY").env_remove("WAYLAND_DISPLAY");
        });
        assert_clean(&args, &o);
    }
}

// ---------------------------------------------------------------------------
// Solvers

#[test]
fn huge_quaternion_components_are_normalised_not_nan() {
    let pose = Pose::from_slice(&[0.2, 0.0, 0.2, 1e300, 1e300, 0.0, 0.0]).unwrap();
    let q = pose.quaternion;
    assert!(q.iter().all(|v| v.is_finite()) && (q.iter().map(|v| v * v).sum::<f64>() - 1.0).abs() < 1e-12, "{q:?}");
    // The full goal: the orientation counts, so a NaN quaternion would reach the GA's fitness.
    let args = ["solve", "--robot", "omx", "--solver", "ga", "--budget-ms", "50"];
    let o = ik(&[&args[..], &["--pose", "0.2,0,0.2,1e300,1e300,0,0"][..]].concat());
    assert_clean(&args, &o);
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn the_ga_refuses_nan_and_far_targets_without_panicking() {
    let robot = robots::builtin("omx").unwrap();
    let ga = GeneticSolver::new(robot.chain.clone());
    for target in [
        Isometry3::from_parts(Translation3::new(f64::NAN, 0.0, 0.0), UnitQuaternion::identity()),
        Isometry3::from_parts(Translation3::new(1e308, 0.0, 0.0), UnitQuaternion::identity()),
    ] {
        let req = SolveRequest { budget: Duration::from_millis(20), ..SolveRequest::new(target) };
        let nan_seed = vec![f64::NAN; 4];
        let (result, _) = ga.solve_seeded(&req, &[nan_seed]);
        assert!(result.solutions.is_empty());
        assert!(solvers::solve_checked(&ga, &req).is_err());
    }
    // NaN seeds for a good target are dropped, not bred.
    let target = robot.chain.fk(&[0.1, 0.2, 0.1, 0.3]).unwrap();
    let req = SolveRequest { budget: Duration::from_millis(50), ..SolveRequest::new(target) };
    let (result, _) = ga.solve_seeded(&req, &[vec![f64::NAN; 4], vec![f64::INFINITY, 0.0, 0.0, 0.0]]);
    assert!(result.solutions.iter().all(|s| s.is_finite()) && !result.solutions.is_empty());
}

#[test]
fn targets_are_validated_once_at_the_solver_interface() {
    assert!(solvers::target_from_pose(&[0.2, 0.0, 0.2, 0.0, 0.0, 0.0, 1.0]).is_ok());
    for bad in [
        vec![1e308, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
        vec![2e3, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0],
        vec![0.2, f64::NAN, 0.0, 0.0, 0.0, 0.0, 1.0],
        vec![0.2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
        vec![0.2, 0.0, 0.0],
    ] {
        let err = solvers::target_from_pose(&bad).unwrap_err();
        assert!(!err.to_string().contains('\n'), "{err}");
    }
}

#[test]
fn a_gan_hybrid_fed_huge_positions_gives_an_error_not_a_panic() {
    if solvers::shipped_checkpoint("nicol-right", ik_studio::models::ModelKind::CycleikGan).is_none() {
        return;
    }
    for solver in ["cycleik-gan+ga", "cycleik-gan", "cycleik-gan+numeric"] {
        let args = ["solve", "--robot", "nicol-right", "--solver", solver, "--pose", "1e308,0,1,0,0,0,1"];
        assert_refused(&args, "1000 m");
    }
    // Called directly, past the CLI's check: no panic, and no non-finite solution.
    let robot = robots::builtin("nicol-right").unwrap();
    let hybrid = solvers::build("cycleik-gan+ga", &robot, None).unwrap();
    let target = Isometry3::from_parts(Translation3::new(1e308, 0.0, 1.0), UnitQuaternion::identity());
    let result = hybrid.solve(&SolveRequest { budget: Duration::from_millis(20), ..SolveRequest::new(target) });
    assert!(result.solutions.iter().all(|s| s.is_finite()));
}

// ---------------------------------------------------------------------------
// Studio and honest figures

#[test]
fn studio_without_a_display_says_so_in_one_line() {
    let args = ["studio", "--robot", "omx"];
    let o = ik_with(&args, |cmd| {
        cmd.env_remove("DISPLAY").env_remove("WAYLAND_DISPLAY");
    });
    assert_clean(&args, &o);
    assert!(!o.status.success());
    assert!(stderr(&o).starts_with("error: no display"), "{}", stderr(&o));
}

#[test]
fn reports_give_the_real_thread_count_and_say_what_the_memory_covers() {
    let dir = tempfile::tempdir().unwrap();
    let (data_path, _) = small_dataset(dir.path());
    let threads = |o: &Output| -> Vec<serde_json::Value> {
        assert!(o.status.success(), "{}", stderr(o));
        stdout(o).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    };
    let eval = ["eval", "--data", s(&data_path), "--solver", "numeric", "--solver", "ga", "--limit", "3", "--json"];
    let reports = threads(&ik_with(&eval, |c| {
        c.env("RAYON_NUM_THREADS", "3");
    }));
    assert_eq!(reports.len(), 2);
    for r in &reports {
        assert_eq!(r["threads"], 3, "{r}");
        if cfg!(target_os = "linux") {
            assert_eq!(r["peak_rss_scope"], "run", "{r}");
        }
    }
    let bench = ["bench", "--robot", "omx", "--solver", "numeric", "--queries", "5", "--budget-ms", "5", "--json"];
    let report = &threads(&ik_with(&bench, |c| {
        c.env("RAYON_NUM_THREADS", "3");
    }))[0];
    assert_eq!(report["threads"], 3, "{report}");
}
