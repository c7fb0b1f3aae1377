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

use std::fs::File;
use std::io::{BufReader, Read, Write};
use std::path::Path;

use super::{DataError, Dataset, DatasetMeta, POSE_DIM};
use crate::atomic_file::write_atomically;

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

/// Reads only the header.
pub fn read_meta(path: &Path) -> Result<DatasetMeta, DataError> {
    let mut reader = BufReader::new(File::open(path).map_err(DataError::io(path))?);
    read_header(&mut reader, path).map(|(meta, _)| meta)
}

pub fn read_dataset(path: &Path) -> Result<Dataset, DataError> {
    let file = File::open(path).map_err(DataError::io(path))?;
    let file_len = file.metadata().map_err(DataError::io(path))?.len();
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let (meta, header_bytes) = read_header(&mut reader, path)?;
    let corrupt = |what: String| DataError::Corrupt { path: path.to_path_buf(), what };

    let (dof, n) = (meta.dof, meta.count);
    let record = (dof + POSE_DIM) * 8;
    let expected = n
        .checked_mul(record)
        .and_then(|b| b.checked_add(header_bytes + 4 + END_MAGIC.len()))
        .ok_or_else(|| corrupt("sample count overflows".into()))?;
    if file_len != expected as u64 {
        return Err(corrupt(format!(
            "the header announces {n} samples of {} values ({expected} bytes in all), the file has {file_len} bytes",
            dof + POSE_DIM
        )));
    }
    let s = meta.splits.clone();
    if s.train.start != 0 || s.train.end != s.test.start || s.test.end != s.val.start || s.val.end != n {
        return Err(corrupt("splits do not tile the samples".into()));
    }
    if meta.joint_names.len() != dof {
        return Err(corrupt("joint names do not match dof".into()));
    }

    let mut joints = Vec::with_capacity(n * dof);
    let mut poses = Vec::with_capacity(n * POSE_DIM);
    let mut crc = crc32fast::Hasher::new();
    let mut buf = vec![0u8; record * 4096];
    let mut left = n;
    while left > 0 {
        let batch = left.min(4096);
        let bytes = &mut buf[..batch * record];
        reader.read_exact(bytes).map_err(DataError::io(path))?;
        crc.update(bytes);
        for rec in bytes.chunks_exact(record) {
            let mut values = rec.chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap()));
            joints.extend(values.by_ref().take(dof));
            poses.extend(values);
        }
        left -= batch;
    }
    let stored = read_u32(&mut reader, path)?;
    if stored != crc.finalize() {
        return Err(corrupt("sample checksum mismatch".into()));
    }
    let mut end = [0u8; 8];
    reader.read_exact(&mut end).map_err(DataError::io(path))?;
    if &end != END_MAGIC {
        return Err(corrupt("missing end marker".into()));
    }
    Ok(Dataset { meta, joints, poses })
}

/// The header and the number of bytes it took.
fn read_header(reader: &mut impl Read, path: &Path) -> Result<(DatasetMeta, usize), DataError> {
    let corrupt = |what: &str| DataError::Corrupt { path: path.to_path_buf(), what: what.to_string() };
    let mut magic = [0u8; 8];
    if reader.read_exact(&mut magic).is_err() || &magic != MAGIC {
        return Err(DataError::NotADataset { path: path.to_path_buf() });
    }
    let len = read_u32(reader, path)? as usize;
    if len > MAX_HEADER {
        return Err(corrupt("header length out of range"));
    }
    let mut header = vec![0u8; len];
    reader.read_exact(&mut header).map_err(|_| corrupt("truncated header"))?;
    if read_u32(reader, path)? != crc32fast::hash(&header) {
        return Err(corrupt("header checksum mismatch"));
    }
    let meta: DatasetMeta = serde_json::from_slice(&header).map_err(|e| corrupt(&format!("header: {e}")))?;
    if meta.format_version != super::FORMAT_VERSION {
        return Err(DataError::UnsupportedVersion {
            path: path.to_path_buf(),
            found: meta.format_version,
            supported: super::FORMAT_VERSION,
        });
    }
    Ok((meta, MAGIC.len() + 4 + len + 4))
}

fn read_u32(reader: &mut impl Read, path: &Path) -> Result<u32, DataError> {
    let mut b = [0u8; 4];
    reader
        .read_exact(&mut b)
        .map_err(|_| DataError::Corrupt { path: path.to_path_buf(), what: "truncated file".into() })?;
    Ok(u32::from_le_bytes(b))
}
