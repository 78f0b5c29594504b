//! [`super::FileSink`] in a build without the NetCDF/HDF5 libraries (the `netcdf` feature
//! off): creating a file is refused with a message saying so; nothing else is reachable.

use super::{OutputVar, Target, WriteOptions};
use crate::array::chunk::Chunk;
use crate::error::Result;
use std::path::Path;

/// Cannot exist in this build.
pub(super) enum Open {}

pub(super) fn create(_: Target, _: &Path, _: &OutputVar, _: &WriteOptions) -> Result<Open> {
    Err(crate::error::Error::Io(crate::NO_NETCDF.into()))
}

pub(super) fn put_block(file: &mut Open, _: &Path, _: &[usize], _: &Chunk) -> Result<()> {
    match *file {}
}

pub(super) fn close(file: Open, _: &Path) -> Result<()> {
    match file {}
}
