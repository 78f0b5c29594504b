//! Which library a file needs, decided from its first bytes rather than its name, so a
//! NetCDF file called `.h5` or an HDF5 file called `.nc` still opens, and a file that is
//! neither gets a clear error before any library prints its own diagnostics.

use crate::error::{Error, Result};
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

pub use crate::array::source::Format;

const HDF5_MAGIC: &[u8; 8] = b"\x89HDF\r\n\x1a\n";

/// Detects the format of `path`. Missing, unreadable, empty or foreign files are errors
/// that name the file.
pub fn detect(path: &Path) -> Result<Format> {
    let p = crate::quote::path(path);
    let mut f = std::fs::File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::Io(format!("{p}: no such file")),
        _ => Error::Io(format!("{p}: cannot open: {e}")),
    })?;
    if f.metadata().map(|m| m.is_dir()).unwrap_or(false) {
        return Err(Error::Io(format!("{p}: is a directory, not a file")));
    }
    let mut head = [0u8; 8];
    let n = read_up_to(&mut f, &mut head)?;
    if n >= 4 && &head[..3] == b"CDF" {
        return match head[3] {
            1 => Ok(Format::Nc3Classic),
            2 => Ok(Format::Nc3Offset64),
            5 => Ok(Format::Nc3Cdf5),
            v => Err(Error::Io(format!(
                "{p}: unknown NetCDF-3 version byte {v} (expected 1, 2 or 5)"
            ))),
        };
    }
    // The HDF5 superblock sits at 0, 512, 1024, 2048, ... (a user block may precede it).
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut off = 0u64;
    while off + 8 <= len {
        if off > 0 {
            f.seek(SeekFrom::Start(off))
                .map_err(|e| Error::Io(format!("{p}: cannot read: {e}")))?;
            if read_up_to(&mut f, &mut head)? < 8 {
                break;
            }
        }
        if &head == HDF5_MAGIC {
            return Ok(if is_netcdf4(path) {
                Format::Netcdf4
            } else {
                Format::Hdf5
            });
        }
        off = if off == 0 { 512 } else { off * 2 };
    }
    if len == 0 {
        return Err(Error::Io(format!(
            "{p}: empty file, not a NetCDF or HDF5 file"
        )));
    }
    Err(Error::Io(format!(
        "{p}: not a NetCDF or HDF5 file (no CDF or HDF5 signature)"
    )))
}

fn read_up_to(f: &mut std::fs::File, buf: &mut [u8]) -> Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::Io(format!("cannot read: {e}"))),
        }
    }
    Ok(n)
}

/// Whether an HDF5 file is NetCDF-4: one written by the NetCDF library carries `_NCProperties` (since 4.4) or, in
/// older files, dimension scales on its root datasets.
#[cfg(not(feature = "netcdf"))]
fn is_netcdf4(_path: &Path) -> bool {
    // Without the HDF5 library the two cannot be told apart; reading either is refused.
    true
}

#[cfg(feature = "netcdf")]
fn is_netcdf4(path: &Path) -> bool {
    super::quiet_hdf5();
    let Ok(file) = hdf5::File::open(path) else {
        return false;
    };
    if file.attr("_NCProperties").is_ok() {
        return true;
    }
    let Ok(names) = file.member_names() else {
        return false;
    };
    names.iter().any(|n| {
        file.dataset(n)
            .ok()
            .and_then(|d| d.attr("CLASS").ok())
            .is_some()
    })
}
