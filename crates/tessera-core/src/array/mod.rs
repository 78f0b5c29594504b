//! Lazy chunked arrays: dtypes, chunk grids, the operation graph, and the pure planners and
//! kernels behind each operation.
//!
//! This layer knows nothing of MPI, threads or files. Planners (`chunks`, `slicing`) are
//! pure functions on shapes and block sizes; kernels (`elementwise`, `reduce`, `blocks`) are pure functions on [`chunk::Chunk`]s.

pub mod api;
pub mod axis_chunks;
pub mod binop;
pub mod blocks;
pub mod buffer;
pub mod chunk;
pub mod chunks;
pub mod dtype;
pub mod elementwise;
pub mod error;
pub mod graph;
pub mod limits;
pub mod nesting;
pub mod plan;
pub mod reduce;
pub mod slicing;
pub mod source;
pub mod typed;

pub use error::ArrayError;

/// Result of array operations.
pub type Result<T, E = ArrayError> = std::result::Result<T, E>;
