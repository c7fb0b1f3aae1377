//! The `.ikd` dataset file (little-endian throughout):
//!
//! | bytes | content |
//! | --- | --- |
//! | 8 | magic `IKDATA\0\0` |
//! | 4 | header length `h` (u32) |
//! | h | header: [`DatasetMeta`] as UTF-8 JSON (format version, robot, chain, dof, count, splits, workspace, seed) |
//! | 4 | CRC-32 of the header bytes |
//! | count × (dof + 7) × 8 | samples: per sample `dof` joint values then `x y z qx qy qz qw`, f64 |
//! | 4 | CRC-32 of the sample bytes |
//! | 8 | end marker `IKDEND\0\0` |
//!
//! Writing streams the samples straight from memory into the file (no second
//! copy) and is atomic: a temporary file is renamed over the target.
//!
//! Reading checks the header on its own (splits in order within the count,
//! joint names for `dof`; see [`DatasetMeta::problem`]), the file length, both
//! checksums, the end marker and that every value is finite. [`verify_dataset`]
//! does all of it without keeping the samples (`ik-studio dataset info`).

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::Path;

use super::{DataError, Dataset, DatasetMeta, POSE_DIM};
use crate::atomic_file::{open_regular, write_atomically};

pub const MAGIC: &[u8; 8] = b"IKDATA\0\0";
const END_MAGIC: &[u8; 8] = b"IKDEND\0\0";
pub const FORMAT_VERSION: u32 = 1;
const MAX_HEADER: usize = 1 << 20;

pub fn write_dataset(dataset: &Dataset, path: &Path) -> Result<(), DataError> {
    let meta = &dataset.meta;
    let (dof, n) = (meta.dof, meta.count);
    if dataset.joints.len() != n * dof || dataset.poses.len() != n * POSE_DIM {
        return Err(DataError::Invalid(format!(
            "dataset arrays do not match its header ({n} samples of {dof} joints)"
        )));
    }
    if let Some(problem) = meta.problem() {
        return Err(DataError::Invalid(format!("dataset header: {problem}")));
    }
    let header = serde_json::to_vec(meta).map_err(|e| DataError::Invalid(e.to_string()))?;
    write_atomically(path, |w| {
        w.write_all(MAGIC)?;
        w.write_all(&(header.len() as u32).to_le_bytes())?;
        w.write_all(&header)?;
        w.write_all(&crc32fast::hash(&header).to_le_bytes())?;
        let mut crc = crc32fast::Hasher::new();
        let mut record = Vec::with_capacity((dof + POSE_DIM) * 8);
        for (q, pose) in dataset.joints.chunks_exact(dof.max(1)).zip(dataset.poses.chunks_exact(POSE_DIM)) {
            record.clear();
            q.iter().chain(pose).for_each(|v| record.extend_from_slice(&v.to_le_bytes()));
            crc.update(&record);
            w.write_all(&record)?;
        }
        w.write_all(&crc.finalize().to_le_bytes())?;
        w.write_all(END_MAGIC)
    })
    .map_err(DataError::io(path))
}

/// Reads only the header (checksummed and checked on its own: splits, joint names).
pub fn read_meta(path: &Path) -> Result<DatasetMeta, DataError> {
    let mut reader = BufReader::new(open_regular(path).map_err(DataError::io(path))?);
    read_header(&mut reader, path).map(|(meta, _)| meta)
}

pub fn read_dataset(path: &Path) -> Result<Dataset, DataError> {
    let (meta, mut reader) = open_checked(path)?;
    let dof = meta.dof;
    let mut joints = Vec::with_capacity(meta.count * dof);
    let mut poses = Vec::with_capacity(meta.count * POSE_DIM);
    read_samples(&mut reader, &meta, path, |values| {
        joints.extend_from_slice(&values[..dof]);
        poses.extend_from_slice(&values[dof..]);
    })?;
    Ok(Dataset { meta, joints, poses })
}

/// Reads the whole file without keeping the samples: header, file length,
/// sample checksum, finite values and end marker, as [`read_dataset`] does.
pub fn verify_dataset(path: &Path) -> Result<DatasetMeta, DataError> {
    let (meta, mut reader) = open_checked(path)?;
    read_samples(&mut reader, &meta, path, |_| {})?;
    Ok(meta)
}

/// Opens a dataset and reads its header; the file length must be the one it announces.
fn open_checked(path: &Path) -> Result<(DatasetMeta, BufReader<File>), DataError> {
    let file = open_regular(path).map_err(DataError::io(path))?;
    let file_len = file.metadata().map_err(DataError::io(path))?.len();
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let (meta, header_bytes) = read_header(&mut reader, path)?;
    let (dof, n) = (meta.dof, meta.count);
    let expected = (dof + POSE_DIM)
        .checked_mul(8)
        .and_then(|record| n.checked_mul(record))
        .and_then(|b| b.checked_add(header_bytes + 4 + END_MAGIC.len()));
    if expected.is_none_or(|e| e as u64 != file_len) {
        return Err(corrupt(
            path,
            format!(
                "the header announces {n} samples of {} values ({} bytes in all), the file has {file_len} bytes",
                dof + POSE_DIM,
                expected.map_or_else(|| "too many".to_string(), |e| e.to_string())
            ),
        ));
    }
    Ok((meta, reader))
}

/// Samples are read in blocks of about this many bytes.
const BLOCK_BYTES: usize = 4 << 20;

/// Streams every sample (its `dof` joint values, then the 7 pose values) to
/// `visit`, then checks the sample checksum, the end marker and that every
/// value is finite (a checksum error is reported before a non-finite value).
fn read_samples(
    reader: &mut impl Read,
    meta: &DatasetMeta,
    path: &Path,
    mut visit: impl FnMut(&[f64]),
) -> Result<(), DataError> {
    let width = meta.dof + POSE_DIM;
    let record = width * 8;
    let per_block = (BLOCK_BYTES / record).clamp(1, meta.count.max(1));
    let mut buf = vec![0u8; per_block * record];
    let mut values = vec![0.0; width];
    let mut crc = crc32fast::Hasher::new();
    let mut first_non_finite = None;
    let mut done = 0;
    while done < meta.count {
        let batch = (meta.count - done).min(per_block);
        let bytes = &mut buf[..batch * record];
        reader.read_exact(bytes).map_err(DataError::io(path))?;
        crc.update(bytes);
        for (i, rec) in bytes.chunks_exact(record).enumerate() {
            for (v, b) in values.iter_mut().zip(rec.chunks_exact(8)) {
                // chunks_exact(8) yields 8-byte slices only.
                *v = f64::from_le_bytes(b.try_into().expect("8 bytes"));
            }
            if first_non_finite.is_none() && values.iter().any(|v| !v.is_finite()) {
                first_non_finite = Some(done + i);
            }
            visit(&values);
        }
        done += batch;
    }
    let stored = read_u32(reader, path)?;
    if stored != crc.finalize() {
        return Err(corrupt(path, "sample checksum mismatch".into()));
    }
    let mut end = [0u8; 8];
    if reader.read_exact(&mut end).is_err() || &end != END_MAGIC {
        return Err(corrupt(path, "missing end marker".into()));
    }
    match first_non_finite {
        Some(i) => Err(corrupt(path, format!("sample {i} holds a value that is not a finite number"))),
        None => Ok(()),
    }
}

fn corrupt(path: &Path, what: String) -> DataError {
    DataError::Corrupt { path: path.to_path_buf(), what }
}

/// The header and the number of bytes it took.
fn read_header(reader: &mut impl Read, path: &Path) -> Result<(DatasetMeta, usize), DataError> {
    let mut magic = [0u8; 8];
    if reader.read_exact(&mut magic).is_err() || &magic != MAGIC {
        return Err(DataError::NotADataset { path: path.to_path_buf() });
    }
    let len = read_u32(reader, path)? as usize;
    if len > MAX_HEADER {
        return Err(corrupt(path, "header length out of range".into()));
    }
    let mut header = vec![0u8; len];
    reader.read_exact(&mut header).map_err(|_| corrupt(path, "truncated header".into()))?;
    if read_u32(reader, path)? != crc32fast::hash(&header) {
        return Err(corrupt(path, "header checksum mismatch".into()));
    }
    let meta: DatasetMeta = serde_json::from_slice(&header).map_err(|e| corrupt(path, format!("header: {e}")))?;
    if meta.format_version != super::FORMAT_VERSION {
        return Err(DataError::UnsupportedVersion {
            path: path.to_path_buf(),
            found: meta.format_version,
            supported: super::FORMAT_VERSION,
        });
    }
    if let Some(problem) = meta.problem() {
        return Err(corrupt(path, problem));
    }
    Ok((meta, MAGIC.len() + 4 + len + 4))
}

fn read_u32(reader: &mut impl Read, path: &Path) -> Result<u32, DataError> {
    let mut b = [0u8; 4];
    reader.read_exact(&mut b).map_err(|_| corrupt(path, "truncated file".into()))?;
    Ok(u32::from_le_bytes(b))
}
