//! Tessera: distributed n-dimensional arrays for HPC.
//!
//! A lazy, chunked array ([`DArray`]) is built with numpy/dask vocabulary, planned on rank 0
//! and computed by workers that exchange chunks directly, over MPI or in-process threads.
//! Layers: [`array`] (pure: dtypes, chunk grids, the operation graph, kernels), [`comm`]
//! (transports), [`optimize`] (plan rewrites and the cost model), [`runtime`] (scheduler, workers), [`expr`] (the expression language),
//! [`io`] (files), [`cli`].
#![warn(missing_docs)]

pub mod array;
pub mod cli;
pub mod comm;
pub mod error;
pub mod expr;
pub mod futures;
pub mod gen;
pub mod io;
pub mod job;
pub mod labeled;
pub mod optimize;
pub mod plot;
pub mod quote;
pub mod render;
pub mod runtime;
pub mod signal;

pub use array::graph::DArray;
pub use error::{Error, Result};
pub use runtime::{start, start_on, Client, ClientOptions, RunReport, Started};
