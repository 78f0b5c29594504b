//! The job file as written: TOML read with serde into plain structs, rejecting unknown
//! keys. Nothing here is checked beyond its type; [`super::check`] turns a [`JobFile`]
//! into a validated [`super::Job`] and says where each problem is.

use indexmap::IndexMap;
use serde::Deserialize;
use toml::Spanned;

/// A whole job file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobFile {
    /// `[job]`: name and description.
    #[serde(default)]
    pub job: JobMeta,
    /// `[runtime]`: optional settings (command-line flags override them).
    #[serde(default)]
    pub runtime: RuntimeSpec,
    /// `[inputs.NAME]`: files bound to names.
    #[serde(default)]
    pub inputs: IndexMap<String, Spanned<InputSpec>>,
    /// `[arrays]`: `NAME = "expression"`, in any order; each may use inputs and other
    /// arrays.
    #[serde(default)]
    pub arrays: IndexMap<String, Spanned<String>>,
    /// `[[outputs]]`: what to write or print, in order.
    #[serde(default)]
    pub outputs: Vec<Spanned<OutputSpec>>,
}

/// `[job]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobMeta {
    /// Shown in logs and used as the Slurm job name (default: the file's stem).
    pub name: Option<String>,
    /// What the job does, for people.
    pub description: Option<String>,
}

/// A byte size: `4096` or `"512M"`, `"4G"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum SizeSpec {
    /// Bytes.
    Bytes(u64),
    /// With a K, M, G or T suffix.
    Text(String),
}

/// `[runtime]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuntimeSpec {
    /// In-process workers (under MPI the ranks after 0 are the workers).
    pub workers: Option<Spanned<usize>>,
    /// Memory limit of each worker.
    pub memory_limit: Option<Spanned<SizeSpec>>,
    /// Where workers spill.
    pub spill_dir: Option<Spanned<String>>,
    /// Byte target of automatically chosen blocks (default 128M).
    pub chunk_target: Option<Spanned<SizeSpec>>,
    /// `auto`, `on` or `off`.
    pub compression: Option<Spanned<String>>,
    /// Directory for checkpoints (completed intermediate arrays and outputs).
    pub checkpoint: Option<Spanned<String>>,
    /// Replace existing output files.
    pub overwrite: Option<bool>,
    /// Seconds of silence after which a worker process is declared lost (0: off).
    pub heartbeat_timeout: Option<Spanned<f64>>,
}

/// `[inputs.NAME]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// A NetCDF, HDF5 or `.npy` file.
    pub file: String,
    /// The variable (NetCDF) or dataset path (HDF5); not for `.npy`.
    pub variable: Option<String>,
    /// Block sizes as in `open(..., chunks=)`: an int, a list (`-1` for a whole axis), a
    /// table by dimension name (`{ time = 365 }`) or `"auto"`.
    pub chunks: Option<toml::Value>,
    /// CF decoding (default true).
    pub decode: Option<bool>,
    /// Make the file first when it does not exist.
    pub generate: Option<GenerateSpec>,
}

/// `[inputs.NAME.generate]`: synthetic data for examples and benchmarks.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GenerateSpec {
    /// Only `"climate"`.
    pub kind: String,
    /// Daily time steps.
    pub days: Option<usize>,
    /// Grid spacing in degrees.
    pub grid: Option<f64>,
    /// Random seed.
    pub seed: Option<u64>,
    /// First day, `YYYY-MM-DD`.
    pub start: Option<String>,
    /// `standard`, `noleap` or `360_day`.
    pub calendar: Option<String>,
    /// On-disk chunks (time, lat, lon).
    pub chunks: Option<[usize; 3]>,
    /// zlib level.
    pub deflate: Option<u8>,
}

/// `[[outputs]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// An array's name, or an expression over inputs and arrays.
    pub array: String,
    /// Write to this NetCDF-4 (`.nc`) or HDF5 (`.h5`) file; without it the value is
    /// printed.
    pub file: Option<String>,
    /// The variable name in the file (default: the array's name).
    pub variable: Option<String>,
    /// zlib level 1–9.
    pub deflate: Option<u8>,
    /// How to print: `text` (default) or `json`.
    pub format: Option<String>,
}
