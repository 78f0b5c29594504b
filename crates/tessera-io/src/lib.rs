//! Tessera's files: `.npy`, NetCDF (classic and NetCDF-4) and HDF5, read block by block
//! and written through block sinks. This crate knows chunks, not who computes them.
//!
//! Reading happens on workers (`read`), block by block, each worker opening the file
//! itself; metadata (`meta`, `nc`, `h5`), CF decoding (`cf`) and format detection
//! (`format`) are shared by the caller, the workers and `tessera info`.

#![warn(missing_docs)]

pub mod attr;
pub mod cf;
pub mod error;
pub mod format;
#[cfg(feature = "netcdf")]
pub mod h5;
pub mod identity;
pub mod info;
pub mod meta;
pub mod names;
#[cfg(feature = "netcdf")]
pub mod nc;
pub mod nc3_extent;
pub mod npy;
pub mod open;
pub mod os_cause;
pub mod read;
pub mod signal;
pub mod write;

pub(crate) use tessera_core::{array, quote, with_dtype};

/// Turns off the HDF5 library's printing of its error stack on this thread (it is
/// per-thread in thread-safe HDF5 builds). NetCDF-4 probes for optional attributes and
/// expects failures; Tessera reports real errors itself.
pub fn quiet_hdf5() {
    thread_local! {
        static DONE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    }
    DONE.with(|d| {
        if !d.get() {
            #[cfg(feature = "netcdf")]
            hdf5::silence_errors(true);
            d.set(true);
        }
    });
}

#[cfg(not(feature = "netcdf"))]
pub(crate) const NO_NETCDF: &str = "this build of Tessera reads and writes NetCDF and HDF5 \
    files only with the `netcdf` feature (on by default); .npy files work without it";

/// The error of reading or writing a NetCDF/HDF5 file in a build without the libraries.
#[cfg(not(feature = "netcdf"))]
pub(crate) fn no_netcdf(shown_path: &str) -> error::Error {
    error::Error::Io(format!("{shown_path}: {NO_NETCDF}"))
}
