//! Opening a variable lazily: metadata and index coordinates are read by the caller (they
//! are small), the values are left to the workers as `read` tasks whose blocks are whole
//! multiples of the on-disk chunks. What the values mean (dimension labels, decoded times)
//! is the labeled layer's business: this returns numbers and attributes.

use super::attr::AttrValue;
#[cfg(feature = "netcdf")]
use super::cf::CfDecode;
use super::format::{detect, Format};
use super::meta::VarInfo;
use super::read::ReadSpec;
use crate::array::chunks::{auto_chunk_bytes, normalize, AxisChunks, ChunkGrid, ChunkSpec};
use crate::array::dtype::DType;
use crate::array::graph::DArray;
use crate::error::{Error, Result};
use std::path::{Path, PathBuf};

/// How to open a variable.
#[derive(Debug, Clone)]
pub struct OpenOptions {
    /// Apply CF decoding (masking, unpacking, time decoding).
    pub decode: bool,
    /// Block sizes; `None` for multiples of the on-disk chunks near the byte target.
    pub chunks: Option<ChunkSpec>,
}

impl Default for OpenOptions {
    fn default() -> Self {
        OpenOptions {
            decode: true,
            chunks: None,
        }
    }
}

/// Metadata of variable `var` of the file at `path`, with its format.
pub fn var_info(path: &Path, var: &str) -> Result<(Format, VarInfo)> {
    #[cfg(not(feature = "netcdf"))]
    {
        let _ = var;
        detect(path)?;
        Err(super::no_netcdf(&crate::quote::path(path)))
    }
    #[cfg(feature = "netcdf")]
    read_var_info(path, var)
}

#[cfg(feature = "netcdf")]
fn read_var_info(path: &Path, var: &str) -> Result<(Format, VarInfo)> {
    let format = detect(path)?;
    let p = crate::quote::path(path);
    let classic = matches!(
        format,
        Format::Nc3Classic | Format::Nc3Offset64 | Format::Nc3Cdf5
    );
    if classic {
        // A header cut short opens as a file with fewer (or no) variables: say what is
        // wrong with it rather than that the variable is missing.
        super::nc3_extent::check(path, &[])?;
    }
    let info = if format.is_netcdf() {
        let file = super::nc::open(path)?;
        match super::nc::with_var(&file, var, |v| super::nc::var_info(v, var)) {
            Some(i) => i,
            None => {
                let names: Vec<String> = file.variables().map(|v| v.name()).collect();
                return Err(Error::Io(format!(
                    "{p}: no variable {} (variables: {})",
                    crate::quote::quote(var),
                    names.join(", ")
                )));
            }
        }
    } else {
        let file = super::h5::open(path)?;
        match super::h5::dataset(&file, var) {
            Some(d) => super::h5::var_info(&d, var),
            None => {
                let names: Vec<String> = super::h5::file_info(path)?
                    .vars
                    .into_iter()
                    .map(|v| v.name)
                    .collect();
                return Err(Error::Io(format!(
                    "{p}: no dataset {} (datasets: {})",
                    crate::quote::quote(var),
                    names.join(", ")
                )));
            }
        }
    };
    if classic {
        // The library reads a cut-short classic file as zeros: check the variable and its
        // coordinates against the file's length first.
        let mut names = vec![var];
        names.extend(info.dims.iter().map(String::as_str));
        super::nc3_extent::check(path, &names)?;
    }
    Ok((format, info))
}

/// Block shape: the on-disk chunk (or a row for contiguous data) grown along the axes that
/// cover the smallest share of their length, in whole multiples, up to the byte target.
pub fn default_chunks(shape: &[usize], disk: Option<&[usize]>, itemsize: usize) -> Vec<usize> {
    let nd = shape.len();
    let mut block: Vec<usize> = match disk {
        Some(d) if d.len() == nd => d
            .iter()
            .zip(shape)
            .map(|(&c, &n)| c.clamp(1, n.max(1)))
            .collect(),
        _ => (0..nd)
            .map(|a| if a + 1 == nd { shape[a].max(1) } else { 1 })
            .collect(),
    };
    let unit = block.clone();
    let target = auto_chunk_bytes();
    let bytes = |b: &[usize]| b.iter().product::<usize>() * itemsize;
    loop {
        // Axis whose block covers the smallest fraction of the axis and can still grow.
        let pick = (0..nd).filter(|&a| block[a] < shape[a]).min_by(|&a, &b| {
            let fa = block[a] as f64 / shape[a] as f64;
            let fb = block[b] as f64 / shape[b] as f64;
            fa.total_cmp(&fb).then(b.cmp(&a))
        });
        let Some(a) = pick else { break };
        let mut next = block.clone();
        next[a] = (block[a] * 2)
            .min(shape[a].div_ceil(unit[a]) * unit[a])
            .min(shape[a].max(unit[a]));
        if next[a] == block[a] || bytes(&next) > target {
            // Try a smaller whole multiple on this axis before giving up.
            let room = target / bytes(&block).max(1);
            if room >= 2 && block[a] < shape[a] {
                block[a] = (block[a] * room).min(shape[a]);
                block[a] = (block[a] / unit[a]).max(1) * unit[a];
            }
            break;
        }
        block = next;
    }
    block
        .iter()
        .zip(shape)
        .map(|(&b, &n)| b.min(n.max(1)))
        .collect()
}

/// A variable opened lazily: its values as a lazy array and what labels them.
#[derive(Debug, Clone)]
pub struct OpenedVar {
    /// The values, read by the workers block by block.
    pub data: DArray,
    /// The variable's name (the last part of an HDF5 path).
    pub name: String,
    /// One dimension name per axis.
    pub dims: Vec<String>,
    /// The variable's attributes.
    pub attrs: Vec<(String, AttrValue)>,
    /// Index coordinates found in the file, in axis order.
    pub coords: Vec<IndexCoord>,
}

/// A 1-D variable named like a dimension, read whole (CF-decoded as numbers when asked).
#[derive(Debug, Clone)]
pub struct IndexCoord {
    /// The dimension it labels.
    pub dim: String,
    /// Element type of the values (after CF decoding, when decoded).
    pub dtype: DType,
    /// The values, as f64.
    pub values: Vec<f64>,
    /// Its attributes (`units` and `calendar` tell a time axis).
    pub attrs: Vec<(String, AttrValue)>,
}

impl IndexCoord {
    /// A text attribute.
    pub fn text_attr(&self, key: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, a)| a.text())
    }
}

/// Opens `var` of the file at `path` lazily.
pub fn open_variable(path: &Path, var: &str, opts: &OpenOptions) -> Result<OpenedVar> {
    let p = crate::quote::path(path);
    detect(path)?;
    let abs: PathBuf =
        std::fs::canonicalize(path).map_err(|e| Error::Io(format!("{p}: cannot open: {e}")))?;
    let (format, info) = var_info(path, var)?;
    let stored = info.dtype.ok_or_else(|| {
        Error::Io(format!(
            "{p}: variable '{var}' has type {}, which Tessera cannot read as an array (supported: integers, float32, float64)",
            info.type_name
        ))
    })?;
    let decode = if opts.decode {
        super::cf::decode_for(&info, stored)
    } else {
        None
    };
    let spec = ReadSpec::whole(
        abs,
        var.to_string(),
        format,
        stored,
        info.shape.clone(),
        decode,
    );
    let dtype = spec.dtype();
    let default_grid = || {
        let b = default_chunks(&info.shape, info.chunking.as_deref(), dtype.size());
        ChunkGrid::new(
            info.shape
                .iter()
                .zip(&b)
                .map(|(&n, &k)| AxisChunks::regular(n, k))
                .collect(),
        )
    };
    let grid = match &opts.chunks {
        // `{axis: size}`: the axes not named keep the default blocks.
        Some(c @ ChunkSpec::ByAxis(_)) => {
            let d = default_grid();
            normalize(&info.shape, c, dtype.size(), Some(&d))
                .map_err(|e| Error::Io(format!("{p}: variable '{var}': {e}")))?
        }
        Some(c) => normalize(&info.shape, c, dtype.size(), None)
            .map_err(|e| Error::Io(format!("{p}: variable '{var}': {e}")))?,
        None => default_grid(),
    };
    let data = DArray::from_read(spec, grid);
    let coords = if format.is_netcdf() {
        read_coords(path, &info, opts.decode)?
    } else {
        vec![]
    };
    Ok(OpenedVar {
        data,
        name: var.rsplit('/').next().unwrap_or(var).to_string(),
        dims: info.dims.clone(),
        attrs: info.attrs.clone(),
        coords,
    })
}

/// Index coordinates: 1-D variables named like the dimensions of `info`.
#[cfg(not(feature = "netcdf"))]
fn read_coords(path: &Path, _info: &VarInfo, _decode: bool) -> Result<Vec<IndexCoord>> {
    Err(super::no_netcdf(&crate::quote::path(path)))
}

/// Index coordinates: 1-D variables named like the dimensions of `info`.
#[cfg(feature = "netcdf")]
fn read_coords(path: &Path, info: &VarInfo, decode: bool) -> Result<Vec<IndexCoord>> {
    let p = crate::quote::path(path);
    let file = super::nc::open(path)?;
    let mut out = Vec::new();
    for (dim, &len) in info.dims.iter().zip(&info.shape) {
        let got = super::nc::with_var(&file, dim, |v| -> Result<Option<(VarInfo, Vec<f64>)>> {
            let ci = super::nc::var_info(v, dim);
            if ci.shape != [len] || ci.dtype.is_none() {
                return Ok(None);
            }
            let raw: Vec<f64> = v
                .get_values::<f64, _>(..)
                .map_err(|e| Error::Io(format!("{p}: coordinate '{dim}': {e}")))?;
            Ok(Some((ci, raw)))
        });
        let Some(res) = got else { continue };
        let Some((ci, raw)) = res? else { continue };
        let Some(dt) = ci.dtype else { continue };
        let values = if decode {
            match super::cf::decode_for(&ci, dt) {
                Some(d) => {
                    let c = crate::array::chunk::Chunk::from_slice::<f64>(DType::F64, &[len], &raw);
                    // Values were read as f64; mask and unpack them in f64.
                    let as_f64 = CfDecode {
                        stored: DType::F64,
                        decoded: DType::F64,
                        ..d
                    };
                    as_f64.apply(&c).to_f64_vec()
                }
                None => raw,
            }
        } else {
            raw
        };
        let dtype = match super::cf::decode_for(&ci, dt) {
            Some(d) if decode => d.decoded,
            _ => dt,
        };
        out.push(IndexCoord {
            dim: dim.clone(),
            dtype,
            values,
            attrs: ci.attrs,
        });
    }
    Ok(out)
}

#[cfg(all(test, not(feature = "netcdf")))]
mod tests {
    #[test]
    fn without_the_libraries_netcdf_files_are_refused_with_the_reason() {
        let dir = std::env::temp_dir().join(format!("tessera-no-netcdf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("classic.nc");
        let mut header = b"CDF\x01".to_vec();
        header.extend_from_slice(&[0u8; 28]);
        std::fs::write(&path, &header).expect("write");
        let err = super::var_info(&path, "tas").expect_err("no NetCDF in this build");
        let _ = std::fs::remove_dir_all(&dir);
        let msg = err.to_string();
        assert!(
            msg.contains("classic.nc") && msg.contains("`netcdf` feature"),
            "{msg}"
        );
    }
}
