//! What a lazily read array reads, as plain data: the file format, the hyperslab of a
//! variable and its CF decoding. The graph and plan carry it to the worker that reads; the
//! IO layer interprets it. Keeping it here (no file access, no library) lets the planner
//! push slicing into reads without knowing how files are read.

use super::chunk::Chunk;
use super::chunks::ChunkGrid;
use super::dtype::{DType, Element};
use super::graph::AxisPick;
use crate::with_dtype;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// On-disk formats Tessera reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Format {
    /// NetCDF-3 classic (`CDF\x01`).
    Nc3Classic,
    /// NetCDF-3 64-bit offset (`CDF\x02`).
    Nc3Offset64,
    /// NetCDF-3 64-bit data / CDF-5 (`CDF\x05`).
    Nc3Cdf5,
    /// NetCDF-4: HDF5 underneath, read through the NetCDF library (named dimensions).
    Netcdf4,
    /// A plain HDF5 file, read through the HDF5 library (dimensions are unnamed).
    Hdf5,
}

impl Format {
    /// Human name, as `ncdump -k` says it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Nc3Classic => "classic",
            Format::Nc3Offset64 => "64-bit offset",
            Format::Nc3Cdf5 => "cdf5",
            Format::Netcdf4 => "netCDF-4",
            Format::Hdf5 => "HDF5",
        }
    }

    /// True when the NetCDF library reads it.
    pub fn is_netcdf(self) -> bool {
        self != Format::Hdf5
    }
}

/// How to turn stored values into decoded ones. Travels to workers with each read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CfDecode {
    /// Stored type, after `_Unsigned` reinterpretation.
    pub stored: DType,
    /// Decoded type.
    pub decoded: DType,
    /// Values (in the stored type, as f64) that mean "missing".
    pub missing: Vec<f64>,
    /// Smallest valid value.
    pub valid_min: Option<f64>,
    /// Largest valid value.
    pub valid_max: Option<f64>,
    /// Multiply by.
    pub scale: Option<f64>,
    /// Then add.
    pub offset: Option<f64>,
}

impl CfDecode {
    /// Decodes a block of stored values (given in the file's type, before `_Unsigned`).
    pub fn apply(&self, raw: &Chunk) -> Chunk {
        let raw = if raw.dtype != self.stored && raw.dtype.size() == self.stored.size() {
            Chunk {
                dtype: self.stored,
                shape: raw.shape.clone(),
                data: raw.data.clone(),
            }
        } else {
            raw.clone()
        };
        let out_dt = self.decoded;
        with_dtype!(self.stored, S, {
            let src: &[S] = raw.data.typed();
            with_dtype!(out_dt, O, {
                let shape = raw.shape.clone();
                Chunk::build::<O>(out_dt, &shape, |out| {
                    if let Some(dst) = out.into_slice() {
                        dst.par_chunks_mut(1 << 14)
                            .zip(src.par_chunks(1 << 14))
                            .for_each(|(d, s)| {
                                for (o, &x) in d.iter_mut().zip(s) {
                                    *o = O::from_f64(self.value(x));
                                }
                            });
                    }
                })
            })
        })
    }

    #[inline]
    fn value<S: Element>(&self, x: S) -> f64 {
        let v = x.to_f64();
        if self.missing.contains(&v) {
            return f64::NAN;
        }
        if self.valid_min.is_some_and(|lo| v < lo) || self.valid_max.is_some_and(|hi| v > hi) {
            return f64::NAN;
        }
        if self.decoded == DType::F32 {
            // xarray unpacks into float32 in float32 arithmetic.
            let mut y = v as f32;
            if let Some(s) = self.scale {
                y *= s as f32;
            }
            if let Some(o) = self.offset {
                y += o as f32;
            }
            return y as f64;
        }
        let v = match self.scale {
            Some(s) => v * s,
            None => v,
        };
        match self.offset {
            Some(o) => v + o,
            None => v,
        }
    }
}

/// One output axis of a read: a strided run over a file axis, or a new length-1 axis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ReadAxis {
    /// Output position `i` reads file index `start + step * i` on `axis`.
    File {
        /// File axis.
        axis: usize,
        /// First file index.
        start: usize,
        /// Step (negative: reversed).
        step: isize,
    },
    /// A new axis of length 1.
    New,
}

/// Where a lazily read array's values come from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReadSpec {
    /// Absolute path.
    pub path: PathBuf,
    /// Variable or dataset name.
    pub var: String,
    /// Format (which library reads it).
    pub format: Format,
    /// Stored element type.
    pub stored: DType,
    /// Shape of the variable in the file.
    pub file_shape: Vec<usize>,
    /// Output axes.
    pub axes: Vec<ReadAxis>,
    /// File axes fixed at one index (dropped by integer indexing): `(axis, index)`.
    pub fixed: Vec<(usize, usize)>,
    /// CF decoding, if any.
    pub decode: Option<CfDecode>,
}

impl ReadSpec {
    /// The whole variable.
    pub fn whole(
        path: PathBuf,
        var: String,
        format: Format,
        stored: DType,
        shape: Vec<usize>,
        decode: Option<CfDecode>,
    ) -> ReadSpec {
        let axes = (0..shape.len())
            .map(|axis| ReadAxis::File {
                axis,
                start: 0,
                step: 1,
            })
            .collect();
        ReadSpec {
            path,
            var,
            format,
            stored,
            file_shape: shape,
            axes,
            fixed: vec![],
            decode,
        }
    }

    /// The same read with a basic-indexing selection applied on top (slicing pushed into
    /// the hyperslab): `picks` come from the slicing planner over `grid`, this read's grid.
    pub fn sliced(&self, picks: &[AxisPick], grid: &ChunkGrid) -> ReadSpec {
        let mut out = self.clone();
        out.axes.clear();
        let mut a = 0; // input (this read's output) axis
        for p in picks {
            match p {
                AxisPick::NewAxis => out.axes.push(ReadAxis::New),
                AxisPick::Whole => {
                    out.axes.push(self.axes[a].clone());
                    a += 1;
                }
                AxisPick::Index { block, local } => {
                    let g = grid.axis(a).offset(*block) + local;
                    if let ReadAxis::File { axis, start, step } = &self.axes[a] {
                        let idx = *start as isize + step * g as isize;
                        out.fixed.push((*axis, idx.max(0) as usize));
                    }
                    a += 1;
                }
                AxisPick::Range(pieces) => {
                    let ax = match (&self.axes[a], pieces.first()) {
                        (ReadAxis::File { axis, start, step }, Some(first)) => {
                            let g = grid.axis(a).offset(first.block) + first.start;
                            ReadAxis::File {
                                axis: *axis,
                                start: (*start as isize + step * g as isize).max(0) as usize,
                                step: step * first.step,
                            }
                        }
                        (other, _) => other.clone(),
                    };
                    out.axes.push(ax);
                    a += 1;
                }
            }
        }
        out.fixed.sort_unstable();
        out
    }

    /// Element type of the values produced.
    pub fn dtype(&self) -> DType {
        self.decode.as_ref().map_or(self.stored, |d| d.decoded)
    }

    /// Bytes read from the file for a block of `shape` (stored type).
    pub fn bytes_for(&self, shape: &[usize]) -> u64 {
        (shape.iter().product::<usize>() * self.stored.size()) as u64
    }
}
