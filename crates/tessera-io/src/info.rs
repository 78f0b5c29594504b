//! What `tessera info FILE` shows, as read from the file: every variable's metadata, and
//! the first and last value of a 1-D variable (the labeled layer decodes times from them).

use super::format::detect;
use super::meta::FileInfo;
use crate::error::Result;
use std::path::Path;

/// Metadata of every variable of a NetCDF or HDF5 file.
pub fn inspect(path: &Path) -> Result<FileInfo> {
    let format = detect(path)?;
    #[cfg(not(feature = "netcdf"))]
    {
        let _ = format;
        Err(super::no_netcdf(&crate::quote::path(path)))
    }
    #[cfg(feature = "netcdf")]
    if format.is_netcdf() {
        super::nc::file_info(path, format)
    } else {
        super::h5::file_info(path)
    }
}

/// First and last stored value of the 1-D variable `info` of a NetCDF file, as f64.
pub fn first_and_last(path: &Path, info: &super::meta::VarInfo) -> Option<(f64, f64)> {
    if info.shape.len() != 1 || info.shape[0] == 0 {
        return None;
    }
    #[cfg(not(feature = "netcdf"))]
    {
        let _ = path;
        None
    }
    #[cfg(feature = "netcdf")]
    {
        let file = super::nc::open(path).ok()?;
        let n = info.shape[0];
        super::nc::with_var(&file, &info.name, |v| {
            let a = v.get_value::<f64, _>([0]).ok()?;
            let b = v.get_value::<f64, _>([n - 1]).ok()?;
            Some((a, b))
        })?
    }
}
