//! Synthetic test data, made on the spot instead of downloaded.
//!
//! Benchmarks, examples and tests need realistic input files of any size, and shipping
//! gigabytes of sample data is not an option. This module writes such files from a few
//! parameters and a seed, so the same command always gives the same values.
//!
//! - [`climate()`]: a CF-1.8 daily near-surface air temperature field (time x lat x lon,
//!   float32) as NetCDF-4 or plain HDF5, the same kind of data as the Python peer
//!   benchmarks' `benches/peer/make_climate_file.py` (`tessera gen climate`).

pub mod climate;

pub use climate::{climate, ClimateSpec, GenSummary};
