//! Job files: a climatology or a rechunk written as TOML instead of Rust.
//!
//! A job names its inputs (NetCDF/HDF5 variables or `.npy` files), defines arrays with the
//! expression language of `tessera eval` (each named, referring to inputs and to each
//! other in any order), and names its outputs (files, or values to print). It is checked
//! completely before any rank starts work ([`check`]): unknown keys, undefined names,
//! cycles, missing inputs and output directories are errors that give the job file, the
//! line and the key. `run` then evaluates it on a client: arrays used more than once are
//! persisted on the workers; with a checkpoint directory ([`checkpoint`]) completed
//! intermediate arrays and outputs are kept on disk so a requeued job resumes.

pub mod check;
pub mod checkpoint;
pub mod run;
pub mod script;
pub mod spec;
pub mod submit;

pub use check::load;
pub use run::{run, InputGenerator, RunOptions};

use std::path::PathBuf;

/// A checked job, ready to run.
#[derive(Debug, Clone)]
pub struct Job {
    /// The job file (absolute).
    pub path: PathBuf,
    /// Its directory: relative paths in the job start here.
    pub dir: PathBuf,
    /// Name for logs and Slurm (`[job] name`, else the file's stem).
    pub name: String,
    /// `[job] description`.
    pub description: Option<String>,
    /// `[runtime]`, resolved.
    pub runtime: Runtime,
    /// Inputs, in file order.
    pub inputs: Vec<Input>,
    /// The arrays the outputs need, each after the arrays it uses.
    pub arrays: Vec<ArrayDef>,
    /// Outputs, in file order.
    pub outputs: Vec<Output>,
    /// Arrays defined but used by no output (not computed).
    pub unused: Vec<String>,
}

/// `[runtime]` with sizes parsed and paths resolved.
#[derive(Debug, Clone, Default)]
pub struct Runtime {
    /// In-process workers.
    pub workers: Option<usize>,
    /// Memory limit per worker, bytes.
    pub memory_limit: Option<u64>,
    /// Spill directory.
    pub spill_dir: Option<PathBuf>,
    /// Block byte target.
    pub chunk_target: Option<u64>,
    /// Wire compression.
    pub compression: Option<crate::runtime::worker::Compression>,
    /// Checkpoint directory.
    pub checkpoint: Option<PathBuf>,
    /// Replace existing outputs.
    pub overwrite: bool,
    /// Heartbeat timeout, seconds (0: off).
    pub heartbeat_timeout: Option<f64>,
}

/// One input.
#[derive(Debug, Clone)]
pub struct Input {
    /// The name expressions use.
    pub name: String,
    /// The file (absolute).
    pub file: PathBuf,
    /// What to read from it.
    pub source: InputSource,
    /// How to make the file when it is missing.
    pub generate: Option<spec::GenerateSpec>,
    /// Where it is defined (`file:line`).
    pub at: String,
}

/// What an input reads.
#[derive(Debug, Clone)]
pub enum InputSource {
    /// A whole `.npy` file.
    Npy,
    /// A NetCDF variable or HDF5 dataset.
    Variable {
        /// Its name or path.
        variable: String,
        /// `chunks=` as an expression literal, e.g. `{"time": 365}`.
        chunks: Option<String>,
        /// CF decoding.
        decode: bool,
    },
}

/// One `[arrays]` entry.
#[derive(Debug, Clone)]
pub struct ArrayDef {
    /// Its name.
    pub name: String,
    /// The expression.
    pub expr: String,
    /// The inputs and arrays it uses.
    pub uses: Vec<String>,
    /// How many arrays and outputs use it.
    pub users: usize,
    /// Where it is defined (`file:line`).
    pub at: String,
}

/// One `[[outputs]]` entry.
#[derive(Debug, Clone)]
pub struct Output {
    /// Position among the outputs, from 0.
    pub index: usize,
    /// An array name or an expression.
    pub expr: String,
    /// The inputs and arrays it uses.
    pub uses: Vec<String>,
    /// Where the value goes.
    pub target: OutputTarget,
    /// Where it is defined (`file:line`).
    pub at: String,
}

/// Where an output goes.
#[derive(Debug, Clone)]
pub enum OutputTarget {
    /// A NetCDF-4 or HDF5 file.
    File {
        /// The file (absolute).
        path: PathBuf,
        /// Variable name.
        variable: String,
        /// zlib level.
        deflate: Option<u8>,
    },
    /// Printed on stdout.
    Print {
        /// As one JSON object instead of text.
        json: bool,
    },
}

impl Output {
    /// A short label for logs: `anom -> out/anom.nc` or `print clim.mean()`.
    pub fn label(&self) -> String {
        match &self.target {
            OutputTarget::File { path, variable, .. } => {
                format!("{} -> {}:{variable}", self.expr, path.display())
            }
            OutputTarget::Print { .. } => format!("print {}", self.expr),
        }
    }
}
