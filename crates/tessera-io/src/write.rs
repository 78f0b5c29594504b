//! Writing arrays to NetCDF-4 and HDF5, safely: a [`FileSink`] takes an output's
//! description (dimensions, coordinates, attributes, block shape), then its blocks in any
//! order, then renames the finished file into place. It knows chunks, not who computes
//! them: the labeled layer streams a computation's blocks into it as they arrive. This is
//! the "one writer" design: serial HDF5/NetCDF builds (the default Debian/Ubuntu packages)
//! cannot have several processes write one file.
//!
//! A file is written under a temporary name in the target's directory and renamed over
//! the target only when complete, so a failed or interrupted run never leaves a truncated
//! file under the target name; an existing target is refused unless overwriting is asked.

use super::attr::AttrValue;
use crate::array::chunk::Chunk;
use crate::array::dtype::DType;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// File format of an output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// NetCDF-4 (HDF5 underneath, named dimensions, CF attributes).
    Netcdf4,
    /// Plain HDF5.
    Hdf5,
}

impl Target {
    /// From the file extension: `.h5`, `.hdf5`, `.he5` are HDF5, anything else NetCDF-4.
    pub fn from_path(p: &Path) -> Target {
        match p.extension().and_then(|e| e.to_str()) {
            Some("h5" | "hdf5" | "he5") => Target::Hdf5,
            _ => Target::Netcdf4,
        }
    }
}

/// How to write.
#[derive(Debug, Clone)]
pub struct WriteOptions {
    /// Replace an existing file.
    pub overwrite: bool,
    /// zlib/deflate level 1–9; `None` or 0 for no compression.
    pub deflate: Option<u8>,
    /// Byte shuffle before compressing.
    pub shuffle: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            overwrite: false,
            deflate: None,
            shuffle: true,
        }
    }
}

/// What a write did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WriteStats {
    /// Bytes of data written (uncompressed).
    pub bytes_written: u64,
    /// Wall time, seconds.
    pub seconds: f64,
    /// Blocks written.
    pub blocks: usize,
}

/// Attributes that describe an on-disk encoding of the values; the written values are
/// decoded, so these no longer apply.
#[cfg_attr(not(feature = "netcdf"), allow(dead_code))]
const ENCODING_ATTRS: &[&str] = &[
    "scale_factor",
    "add_offset",
    "_FillValue",
    "missing_value",
    "valid_range",
    "valid_min",
    "valid_max",
    "_Unsigned",
    "_ChunkSizes",
    "_Storage",
    "_DeflateLevel",
    "_Shuffle",
    "_Endianness",
];

fn tmp_path(target: &Path) -> Result<PathBuf> {
    let name = target
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| Error::Io(format!("{}: not a file path", crate::quote::path(target))))?;
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(Error::Io(format!(
            "{}: directory {} does not exist",
            crate::quote::path(target),
            crate::quote::path(&dir)
        )));
    }
    Ok(dir.join(format!(".{name}.tessera-{}.tmp", std::process::id())))
}

/// Removes temporary files of `target` left by writers that died (killed, preempted or
/// requeued by Slurm: a signal skips the cleanup), so a rerun starts clean. Files of
/// processes still running are left alone. Returns how many were removed.
pub fn remove_stale_temps(target: &Path) -> usize {
    let (Some(name), Some(dir)) = (target.file_name().and_then(|n| n.to_str()), target.parent())
    else {
        return 0;
    };
    let prefix = format!(".{name}.tessera-");
    remove_dead_writers_temps(dir, |file| file.strip_prefix(&prefix))
}

/// Removes every writer's temporary file in `dir` (`.NAME.tessera-PID.tmp`, whatever the
/// target) whose process is gone: a checkpoint directory may hold one for an array the
/// manifest does not list yet. Returns how many were removed.
pub fn remove_stale_temps_in(dir: &Path) -> usize {
    remove_dead_writers_temps(dir, |file| {
        let rest = file.strip_prefix('.')?;
        rest.rfind(".tessera-")
            .map(|k| &rest[k + ".tessera-".len()..])
    })
}

/// Removes files of `dir` for which `pid_part` gives `PID.tmp` and PID is not running
/// (or is this process, whose own earlier temp file is stale by now).
fn remove_dead_writers_temps(
    dir: &Path,
    pid_part: impl for<'a> Fn(&'a str) -> Option<&'a str>,
) -> usize {
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    let mut removed = 0;
    for e in entries.flatten() {
        let file = e.file_name();
        let Some(pid) = file
            .to_str()
            .and_then(&pid_part)
            .and_then(|rest| rest.strip_suffix(".tmp"))
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        let alive = Path::new(&format!("/proc/{pid}")).exists();
        if (!alive || pid == std::process::id()) && std::fs::remove_file(e.path()).is_ok() {
            removed += 1;
        }
    }
    removed
}

/// Removes the temporary file unless the write finished, also when SIGINT/SIGTERM stops
/// the process ([`crate::signal`]).
struct TmpGuard {
    path: PathBuf,
    done: bool,
    _on_signal: crate::signal::OnSignal,
}

impl TmpGuard {
    fn new(tmp: &Path) -> TmpGuard {
        let kind = crate::signal::Kind::File;
        TmpGuard {
            path: tmp.to_path_buf(),
            done: false,
            _on_signal: crate::signal::remove_on_signal(tmp, kind),
        }
    }
}

impl Drop for TmpGuard {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Block shape on disk: the array's first block, cut along leading axes to divisors of its
/// length until at most 16 MiB (a common NetCDF/HDF5 chunk-cache-friendly size).
#[cfg_attr(not(feature = "netcdf"), allow(dead_code))]
fn disk_chunks(out: &OutputVar) -> Vec<usize> {
    let mut c: Vec<usize> = out.block.iter().map(|&b| b.max(1)).collect();
    let item = out.dtype.size();
    let limit = 16usize << 20;
    // Shrink leading axes to divisors of the block length, so every block covers whole
    // disk chunks: a chunk split between two blocks would be written twice, and read back
    // in between once it falls out of the chunk cache (a 3x slower write, measured).
    for a in 0..c.len() {
        let rest: usize = c
            .iter()
            .enumerate()
            .filter(|&(k, _)| k != a)
            .map(|(_, &n)| n)
            .product();
        if c[a] * rest * item <= limit {
            break;
        }
        let fits = (1..=c[a])
            .rev()
            .find(|&d| c[a].is_multiple_of(d) && d * rest * item <= limit);
        c[a] = fits.unwrap_or(1);
    }
    c
}

/// What an output file holds besides its data: the data variable's name, dimensions,
/// type, shape, block shape and attributes, and the coordinates to write beside it.
#[derive(Debug, Clone)]
pub struct OutputVar {
    /// Variable (NetCDF) or dataset path (HDF5).
    pub name: String,
    /// One dimension name per axis.
    pub dims: Vec<String>,
    /// Element type.
    pub dtype: DType,
    /// Shape.
    pub shape: Vec<usize>,
    /// The first block's shape (on-disk chunks divide it, so no chunk is written twice).
    pub block: Vec<usize>,
    /// Attributes of the data variable (encoding attributes are dropped: values are
    /// written decoded).
    pub attrs: Vec<(String, AttrValue)>,
    /// Coordinate variables (NetCDF only).
    pub coords: Vec<OutputCoord>,
}

/// A coordinate variable to write.
#[derive(Debug, Clone)]
pub struct OutputCoord {
    /// Name (also its one dimension).
    pub name: String,
    /// Values.
    pub values: CoordData,
    /// Attributes.
    pub attrs: Vec<(String, AttrValue)>,
}

/// A coordinate's values as written.
#[derive(Debug, Clone)]
pub enum CoordData {
    /// Numbers, stored in `dtype`.
    Num {
        /// Stored type.
        dtype: DType,
        /// Values.
        values: Vec<f64>,
    },
    /// Times already encoded as numbers in `units` since an epoch, in `calendar`.
    Time {
        /// Encoded values.
        encoded: Vec<f64>,
        /// CF units (`days since 2000-01-01`).
        units: String,
        /// CF calendar name.
        calendar: String,
    },
    /// Text labels.
    Text(Vec<String>),
}

/// An output file being written under a temporary name next to its target: created with
/// its metadata by [`FileSink::create`], filled by [`FileSink::write_block`] (any order,
/// any thread, one at a time), renamed over the target by [`FileSink::finish`]. Dropped
/// unfinished (an error, a panic) or stopped by a signal, it leaves no file behind.
pub struct FileSink {
    target: PathBuf,
    shown: String,
    tmp: PathBuf,
    overwrite: bool,
    file: Option<Open>,
    bytes: u64,
    blocks: usize,
    started: Instant,
    guard: TmpGuard,
}

#[cfg(feature = "netcdf")]
#[path = "write_nc_h5.rs"]
mod libs;
#[cfg(not(feature = "netcdf"))]
#[path = "write_none.rs"]
mod libs;
use libs::Open;

impl FileSink {
    /// Creates `path`'s temporary file (NetCDF-4 or HDF5 by extension) with `out`'s
    /// metadata. An existing target is refused unless `opts.overwrite`.
    pub fn create(path: &Path, out: &OutputVar, opts: &WriteOptions) -> Result<FileSink> {
        let p = crate::quote::path(path);
        if path.exists() && !opts.overwrite {
            return Err(Error::Io(format!(
                "{p}: already exists; pass --overwrite to replace it"
            )));
        }
        if let Some(l) = opts.deflate {
            if l > 9 {
                return Err(Error::Io(format!(
                    "{p}: deflate level {l} is out of range (0-9)"
                )));
            }
        }
        let tmp = tmp_path(path)?;
        remove_stale_temps(path);
        let guard = TmpGuard::new(&tmp);
        let started = Instant::now();
        let file = libs::create(Target::from_path(path), &tmp, out, opts).map_err(|e| at(&p, e))?;
        Ok(FileSink {
            target: path.to_path_buf(),
            shown: p,
            tmp,
            overwrite: opts.overwrite,
            file: Some(file),
            bytes: 0,
            blocks: 0,
            started,
            guard,
        })
    }

    /// Writes the block `c` whose first element is at `offset`.
    pub fn write_block(&mut self, offset: &[usize], c: &Chunk) -> Result<()> {
        super::quiet_hdf5();
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| Error::Internal("write after close".into()))?;
        libs::put_block(file, &self.tmp, offset, c)?;
        self.bytes += c.nbytes() as u64;
        self.blocks += 1;
        Ok(())
    }

    /// Closes the file and moves it over the target (refused if a target appeared while
    /// writing and overwriting was not asked).
    pub fn finish(mut self) -> Result<WriteStats> {
        super::quiet_hdf5();
        let p = self.shown.clone();
        let file = self
            .file
            .take()
            .ok_or_else(|| Error::Internal("finish after close".into()))?;
        libs::close(file, &self.tmp).map_err(|e| at(&p, e))?;
        if self.target.exists() && !self.overwrite {
            return Err(Error::Io(format!(
                "{p}: appeared while writing; not replaced (pass --overwrite)"
            )));
        }
        std::fs::rename(&self.tmp, &self.target).map_err(|e| {
            Error::Io(format!(
                "{p}: cannot move the finished file into place: {e}"
            ))
        })?;
        self.guard.done = true;
        super::read::close_all();
        Ok(WriteStats {
            bytes_written: self.bytes,
            seconds: self.started.elapsed().as_secs_f64(),
            blocks: self.blocks,
        })
    }
}

/// An error of writing `shown`'s file, prefixed with its (quoted) path.
fn at(shown: &str, e: Error) -> Error {
    match e {
        Error::Io(m) => Error::Io(format!("{shown}: {m}")),
        other => other,
    }
}
