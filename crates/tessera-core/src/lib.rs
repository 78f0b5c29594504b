//! Tessera's pure layer: what an array computation is, independent of where it runs.
//!
//! `array` holds dtypes, chunk grids, the lazy operation graph and the plan built from it,
//! and the chunk kernels (elementwise, reductions, slicing, rechunk pieces); [`optimize`]
//! rewrites plans and predicts their cost. Nothing here touches MPI, threads or files, and
//! this crate depends on no system library and on no other Tessera crate, so the compiler
//! keeps it that way.
#![warn(missing_docs)]

pub mod array;
pub mod optimize;
pub mod quote;

pub use array::graph::DArray;
