//! File formats. `.npy` for now; HDF5 and NetCDF arrive with issue #3.

pub mod npy;
