//! The expression language shared by `tessera eval` and job files: Python expression
//! syntax with numpy/dask vocabulary. `parser` turns text into a syntax tree with spans;
//! `eval` turns the tree into lazy arrays, reporting errors at their position.

pub mod ast;
pub mod eval;
mod labeled;
pub mod parser;

pub use eval::{evaluate, Bindings, Value};
