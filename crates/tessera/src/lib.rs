//! Tessera: distributed n-dimensional arrays for HPC.
//!
//! A lazy, chunked array ([`DArray`]) is built with numpy/dask vocabulary, planned on rank 0
//! and computed by workers that exchange chunks directly, over MPI or in-process threads.
//! This crate is the face users depend on: labeled arrays and the xarray vocabulary
//! ([`labeled`]), the expression language ([`expr`]), job files ([`job`]) and
//! futures ([`futures`], from the runtime), over the layers it re-exports: `array` and [`optimize`] (tessera-core: pure
//! planning and kernels), [`comm`] (tessera-comm: transports), [`io`] (tessera-io: files)
//! and [`runtime`] (tessera-runtime: scheduler and workers).
#![warn(missing_docs)]

pub mod expr;
pub mod job;
pub mod labeled;
pub mod render;

pub use tessera_comm as comm;
pub use tessera_core::{array, optimize, quote, with_dtype};
pub use tessera_io as io;
pub use tessera_io::signal;
pub use tessera_runtime as runtime;
pub use tessera_runtime::{args, error, futures};

pub use array::graph::DArray;
pub use array::typed::{arange, full, linspace, ones, random, zeros, Axes, Chunks};
pub use error::{Error, Result};
pub use runtime::{start, start_on, Client, ClientOptions, RunReport, Started};

/// What a program using Tessera usually needs: `use tessera::prelude::*;`.
pub mod prelude {
    pub use crate::array::dtype::DType;
    pub use crate::array::typed::{Axes, Chunks};
    pub use crate::{Client, DArray, Error, Result};
    pub use ndarray::s;
}
