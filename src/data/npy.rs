//! NumPy interchange: export a dataset as `.npy` arrays, import joint (and
//! optionally pose) arrays written by NumPy.
//!
//! Export writes, into a folder, `{train,test,val}_joints.npy` (n × dof) and
//! `{train,test,val}_poses.npy` (n × 7: x y z qx qy qz qw), float64, C order,
//! plus `meta.json` (the dataset header). `numpy.load` reads them as they are.

use std::io::BufReader;
use std::path::Path;

use npyz::WriterBuilder;

use super::{DataError, Dataset, DatasetMeta, POSE_DIM, Split, Splits};
use crate::atomic_file::{open_regular, write_atomically};
use crate::kinematics::Pose;
use crate::robots::Robot;

pub fn export_npy(dataset: &Dataset, dir: &Path) -> Result<(), DataError> {
    std::fs::create_dir_all(dir).map_err(DataError::io(dir))?;
    for split in Split::ALL {
        let view = dataset.split(split);
        write_matrix(&dir.join(format!("{}_joints.npy", split.name())), view.joints, dataset.meta.dof)?;
        write_matrix(&dir.join(format!("{}_poses.npy", split.name())), view.poses, POSE_DIM)?;
    }
    let meta_path = dir.join("meta.json");
    write_atomically(&meta_path, |w| serde_json::to_writer_pretty(w, &dataset.meta).map_err(std::io::Error::other))
        .map_err(DataError::io(&meta_path))
}

fn write_matrix(path: &Path, values: &[f64], cols: usize) -> Result<(), DataError> {
    let rows = (values.len() / cols.max(1)) as u64;
    write_atomically(path, |w| {
        let mut writer = npyz::WriteOptions::new().default_dtype().shape(&[rows, cols as u64]).writer(w).begin_nd()?;
        writer.extend(values.iter().copied())?;
        writer.finish()
    })
    .map_err(DataError::io(path))
}

/// Reads a 2-D float array (float64 or float32, C order) with `cols` columns.
pub fn read_matrix(path: &Path, cols: usize) -> Result<Vec<f64>, DataError> {
    let invalid = |what: String| DataError::Invalid(format!("{}: {what}", path.display()));
    let file = BufReader::new(open_regular(path).map_err(DataError::io(path))?);
    let npy = npyz::NpyFile::new(file).map_err(|e| invalid(format!("not a .npy file ({e})")))?;
    let shape = npy.shape().to_vec();
    if shape.len() != 2 || shape[1] != cols as u64 {
        return Err(invalid(format!("expected shape (n, {cols}), found {shape:?}")));
    }
    if npy.order() != npyz::Order::C {
        return Err(invalid("Fortran-ordered arrays are not supported; use numpy.ascontiguousarray".into()));
    }
    let values = match npy.dtype() {
        npyz::DType::Plain(t) if t.to_string().ends_with("f8") => npy.into_vec::<f64>(),
        npyz::DType::Plain(t) if t.to_string().ends_with("f4") => {
            npy.into_vec::<f32>().map(|v| v.into_iter().map(f64::from).collect())
        }
        other => return Err(invalid(format!("dtype {other:?} is not float32/float64"))),
    }
    .map_err(|e| invalid(e.to_string()))?;
    if values.iter().any(|v| !v.is_finite()) {
        return Err(invalid("contains NaN or infinite values".into()));
    }
    Ok(values)
}

/// A dataset from a joints array (n × dof) and, optionally, the matching poses
/// (n × 7); without poses they are computed by forward kinematics.
pub fn import_npy(
    robot: &Robot,
    joints_path: &Path,
    poses_path: Option<&Path>,
    splits: (f64, f64),
) -> Result<Dataset, DataError> {
    let chain = &robot.chain;
    let joints = read_matrix(joints_path, chain.dof())?;
    let n = joints.len() / chain.dof();
    let poses = match poses_path {
        Some(p) => {
            let raw = read_matrix(p, POSE_DIM)?;
            if raw.len() != n * POSE_DIM {
                return Err(DataError::Invalid(format!(
                    "{} has {} poses for {n} joint vectors",
                    p.display(),
                    raw.len() / 7
                )));
            }
            // Normalise quaternions to the project's convention.
            raw.chunks_exact(POSE_DIM)
                .flat_map(|p| Pose::from_slice(p).map(|p| p.to_array()).unwrap_or([f64::NAN; 7]))
                .collect::<Vec<f64>>()
        }
        None => {
            let mut out = vec![0.0; n * POSE_DIM];
            chain.fk_batch_par(&joints, &mut out).map_err(|e| DataError::Invalid(e.to_string()))?;
            out
        }
    };
    if poses.iter().any(|v| !v.is_finite()) {
        return Err(DataError::Invalid(
            "a pose has a zero quaternion or is not finite (joint values too large for the chain?)".into(),
        ));
    }
    let meta = DatasetMeta::new(robot, n, "npy-import", Splits::new(n, splits.0, splits.1));
    Ok(Dataset { meta, joints, poses })
}
