//! Crash-safe file writes: write a temporary file beside the target, flush and
//! sync it, then rename it over the target. A crash leaves the old file intact.
//!
//! The temporary file is `.{name}.tmp-{pid}`. One left behind by a killed
//! writer is removed by the next write of the same target (when its process is
//! gone; where that cannot be told, every other writer's temporary file goes).
//! Only a missing path or a regular file is ever replaced: a symbolic link, a
//! device, a FIFO or a folder at the target is refused. Inputs are read from
//! regular files only ([`open_regular`]).

use std::ffi::OsStr;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::Path;

/// Writes `path` through `fill`; the file appears complete or not at all.
pub fn write_atomically<T>(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<File>) -> std::io::Result<T>,
) -> std::io::Result<T> {
    ensure_replaceable(path)?;
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let name = path.file_name().ok_or_else(|| std::io::Error::other("path has no file name"))?;
    remove_stale_temporaries(dir, name);
    let tmp = dir.join(format!("{}{}", temporary_prefix(name), std::process::id()));
    let result = (|| {
        // A new file only: never write through whatever else sits at the temporary name.
        let file = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        let mut writer = BufWriter::with_capacity(1 << 20, file);
        let value = fill(&mut writer)?;
        writer.flush()?;
        writer.get_ref().sync_all()?;
        drop(writer);
        // Checked again: something may have appeared at the target meanwhile.
        ensure_replaceable(path)?;
        std::fs::rename(&tmp, path)?;
        Ok(value)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Opens an input file, refusing anything but a regular file (a link to one is
/// fine): a FIFO would block the open forever, a device like `/dev/zero` never ends.
pub fn open_regular(path: &Path) -> std::io::Result<File> {
    let meta = std::fs::metadata(path)?;
    if !meta.is_file() {
        let what = if meta.is_dir() { "a folder" } else { "a device, FIFO or socket" };
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!("{what}, not a regular file: refusing to read it"),
        ));
    }
    File::open(path)
}

/// A whole text input file (a regular one, see [`open_regular`]).
pub fn read_regular_to_string(path: &Path) -> std::io::Result<String> {
    let mut text = String::new();
    std::io::Read::read_to_string(&mut open_regular(path)?, &mut text)?;
    Ok(text)
}

/// Refuses a target that exists and is not a regular file (links are not followed).
pub fn ensure_replaceable(path: &Path) -> std::io::Result<()> {
    let kind = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta.file_type(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if kind.is_file() {
        return Ok(());
    }
    let what = if kind.is_symlink() {
        "a symbolic link"
    } else if kind.is_dir() {
        "a folder"
    } else {
        "a device, FIFO or socket"
    };
    // The caller names the path (e.g. `cannot write PATH: …`).
    Err(std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!("{what}, not a regular file: refusing to replace it"),
    ))
}

/// `.{name}.tmp-`: the temporary files of target `name` start with it.
fn temporary_prefix(name: &OsStr) -> String {
    format!(".{}.tmp-", name.to_string_lossy())
}

/// Removes the temporary files of target `name` in `dir` whose writer is gone
/// (our own process's name too: a write of it in progress would be ours).
fn remove_stale_temporaries(dir: &Path, name: &OsStr) {
    let prefix = temporary_prefix(name);
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid) = file_name.to_str().and_then(|n| n.strip_prefix(&prefix)) else { continue };
        let is_file = entry.file_type().is_ok_and(|t| t.is_file() || t.is_symlink());
        if is_file && !writer_alive(pid) {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Whether process `pid` (another one than this) may still be writing.
fn writer_alive(pid: &str) -> bool {
    let Ok(pid) = pid.parse::<u32>() else { return false };
    if pid == std::process::id() {
        return false;
    }
    let proc = Path::new("/proc");
    proc.join("self").exists() && proc.join(pid.to_string()).exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stale_temporaries_of_the_target_are_removed_others_kept() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("d.ikd");
        // pid 0 never names a live writer; the other file belongs to another target.
        let stale = dir.path().join(".d.ikd.tmp-0");
        let other = dir.path().join(".e.ikd.tmp-0");
        let garbage = dir.path().join(".d.ikd.tmp-notapid");
        for p in [&stale, &other, &garbage] {
            std::fs::write(p, b"old").unwrap();
        }
        write_atomically(&target, |w| w.write_all(b"new")).unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
        assert!(!stale.exists() && !garbage.exists());
        assert!(other.exists());
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_and_folders_at_the_target_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.txt");
        std::fs::write(&real, b"keep").unwrap();
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let err = write_atomically(&link, |w| w.write_all(b"new")).unwrap_err();
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"keep");
        let err = write_atomically(dir.path(), |w| w.write_all(b"x")).unwrap_err();
        assert!(err.to_string().contains("folder"), "{err}");
        // No temporary file left behind, and a regular file is still replaced.
        write_atomically(&real, |w| w.write_all(b"new")).unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names.len(), 2, "{names:?}");
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
    }
}
