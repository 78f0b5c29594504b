//! The NetCDF-4 and HDF5 libraries behind [`super::FileSink`]: creating the file with its
//! metadata, writing a block's hyperslab, closing.

use super::{disk_chunks, CoordData, OutputVar, Target, WriteOptions, ENCODING_ATTRS};
use crate::array::chunk::Chunk;
use crate::array::dtype::{DType, Element};
use crate::attr::AttrValue;
use crate::error::{Error, Result};
use crate::with_dtype;
use std::path::Path;

/// An open output file.
pub(super) enum Open {
    Nc { file: netcdf::FileMut, var: String },
    H5 { file: hdf5::File, ds: hdf5::Dataset },
}

/// Creates the temporary file `tmp` as `target` with `out`'s metadata.
pub(super) fn create(
    target: Target,
    tmp: &Path,
    out: &OutputVar,
    opts: &WriteOptions,
) -> Result<Open> {
    match target {
        Target::Netcdf4 => create_nc(tmp, out, opts),
        Target::Hdf5 => create_h5(tmp, out, opts),
    }
}

/// Writes block `c` at `offset`.
pub(super) fn put_block(file: &mut Open, tmp: &Path, offset: &[usize], c: &Chunk) -> Result<()> {
    match file {
        Open::Nc { file, var } => {
            let write_err = nc_write_err(tmp);
            let mut v = file
                .variable_mut(var)
                .ok_or_else(|| Error::Internal("written variable vanished".into()))?;
            let ext: Vec<netcdf::Extent> = offset
                .iter()
                .zip(&c.shape)
                .map(|(&o, &n)| netcdf::Extent::SliceCount {
                    start: o,
                    count: n,
                    stride: 1,
                })
                .collect();
            with_dtype!(c.dtype, T, {
                let vals: &[T] = c.data.typed();
                if c.shape.is_empty() {
                    v.put_values(vals, ..).map_err(&write_err)?;
                } else if !vals.is_empty() {
                    v.put_values(vals, ext).map_err(&write_err)?;
                }
            });
        }
        Open::H5 { ds, .. } => {
            let sel: Vec<hdf5::SliceOrIndex> = offset
                .iter()
                .zip(&c.shape)
                .map(|(&o, &n)| hdf5::SliceOrIndex::SliceCount {
                    start: o,
                    step: 1,
                    count: n,
                    block: 1,
                })
                .collect();
            with_dtype!(c.dtype, T, {
                let view = c.view::<T>();
                if c.shape.is_empty() {
                    ds.write_raw(view.as_slice().unwrap_or(&[]))
                        .map_err(h5_err)?;
                } else if !c.is_empty() {
                    ds.write_slice(&view, hdf5::Hyperslab::from(sel))
                        .map_err(h5_err)?;
                }
            });
        }
    }
    Ok(())
}

/// Closes the file (everything is on disk after this).
pub(super) fn close(file: Open, tmp: &Path) -> Result<()> {
    match file {
        Open::Nc { file, .. } => file.close().map_err(nc_write_err(tmp)),
        Open::H5 { file, ds } => {
            drop(ds);
            file.close().map_err(h5_err)
        }
    }
}

fn nc_err(e: netcdf::Error) -> Error {
    Error::Io(e.to_string())
}

/// An error of NetCDF writing data into `tmp`, with the OS cause when the library hides
/// it behind "NetCDF: HDF error" (a full disk, a quota).
fn nc_write_err(tmp: &Path) -> impl Fn(netcdf::Error) -> Error + '_ {
    move |e| {
        let dir = tmp.parent().unwrap_or(Path::new("."));
        match crate::os_cause::write_failure_cause(dir) {
            Some(cause) => Error::Io(format!(
                "cannot write {}: {cause} ({e})",
                crate::quote::path(tmp)
            )),
            None => Error::Io(format!("cannot write {}: {e}", crate::quote::path(tmp))),
        }
    }
}

fn to_nc_attr(v: &AttrValue) -> netcdf::AttributeValue {
    use netcdf::AttributeValue as A;
    match v {
        AttrValue::Text(s) => A::Str(s.clone()),
        AttrValue::Texts(v) => A::Strs(v.clone()),
        AttrValue::Numbers { dtype, values } => match dtype {
            DType::F32 => A::Floats(values.iter().map(|&x| x as f32).collect()),
            DType::I8 => A::Schars(values.iter().map(|&x| x as i8).collect()),
            DType::U8 | DType::Bool => A::Uchars(values.iter().map(|&x| x as u8).collect()),
            DType::I16 => A::Shorts(values.iter().map(|&x| x as i16).collect()),
            DType::U16 => A::Ushorts(values.iter().map(|&x| x as u16).collect()),
            DType::I32 => A::Ints(values.iter().map(|&x| x as i32).collect()),
            DType::U32 => A::Uints(values.iter().map(|&x| x as u32).collect()),
            DType::I64 => A::Longlongs(values.iter().map(|&x| x as i64).collect()),
            DType::U64 => A::Ulonglongs(values.iter().map(|&x| x as u64).collect()),
            _ => A::Doubles(values.clone()),
        },
    }
}

fn nc_type(d: DType) -> netcdf::types::NcVariableType {
    use netcdf::types::{FloatType, IntType, NcVariableType as V};
    match d {
        DType::F32 => V::Float(FloatType::F32),
        DType::F64 => V::Float(FloatType::F64),
        DType::I8 => V::Int(IntType::I8),
        DType::U8 | DType::Bool => V::Int(IntType::U8),
        DType::I16 => V::Int(IntType::I16),
        DType::U16 => V::Int(IntType::U16),
        DType::I32 => V::Int(IntType::I32),
        DType::U32 => V::Int(IntType::U32),
        DType::I64 => V::Int(IntType::I64),
        DType::U64 => V::Int(IntType::U64),
    }
}

fn create_nc(tmp: &Path, out: &OutputVar, opts: &WriteOptions) -> Result<Open> {
    let var = out.name.as_str();
    let mut f = netcdf::create_with(tmp, netcdf::Options::NETCDF4).map_err(nc_err)?;
    let shape = &out.shape;
    for (d, &n) in out.dims.iter().zip(shape) {
        f.add_dimension(d, n).map_err(nc_err)?;
    }
    f.add_attribute("Conventions", "CF-1.8").map_err(nc_err)?;
    f.add_attribute(
        "history",
        format!("written by tessera {}", env!("CARGO_PKG_VERSION")),
    )
    .map_err(nc_err)?;
    // Coordinates (a coordinate written as the variable itself, `x.lat`, is not repeated).
    for c in out.coords.iter().filter(|c| c.name != var) {
        let name = &c.name;
        let dims = [name.as_str()];
        match &c.values {
            CoordData::Num { dtype, values } => {
                let mut v = f
                    .add_variable_with_type(name, &dims, &nc_type(*dtype))
                    .map_err(nc_err)?;
                with_dtype!(*dtype, T, {
                    let vals: Vec<T> = values.iter().map(|&x| T::from_f64(x)).collect();
                    v.put_values(&vals, ..).map_err(nc_err)?;
                });
                for (k, a) in &c.attrs {
                    if !ENCODING_ATTRS.contains(&k.as_str()) && k != "bounds" {
                        v.put_attribute(k, to_nc_attr(a)).map_err(nc_err)?;
                    }
                }
            }
            CoordData::Time {
                encoded,
                units,
                calendar,
            } => {
                let mut v = f.add_variable::<f64>(name, &dims).map_err(nc_err)?;
                v.put_values(encoded, ..).map_err(nc_err)?;
                for (k, a) in &c.attrs {
                    // Bounds variables are not written, so no attribute may point at one.
                    if !ENCODING_ATTRS.contains(&k.as_str())
                        && !matches!(k.as_str(), "units" | "calendar" | "bounds")
                    {
                        v.put_attribute(k, to_nc_attr(a)).map_err(nc_err)?;
                    }
                }
                v.put_attribute("units", units.as_str()).map_err(nc_err)?;
                v.put_attribute("calendar", calendar.as_str())
                    .map_err(nc_err)?;
            }
            CoordData::Text(labels) => {
                let mut v = f.add_string_variable(name, &dims).map_err(nc_err)?;
                for (i, s) in labels.iter().enumerate() {
                    v.put_string(s, [i]).map_err(nc_err)?;
                }
            }
        }
    }
    // The data variable.
    let dtype = out.dtype;
    {
        let dims: Vec<&str> = out.dims.iter().map(|s| s.as_str()).collect();
        let mut v = f
            .add_variable_with_type(var, &dims, &nc_type(dtype))
            .map_err(nc_err)?;
        if !shape.is_empty() && shape.iter().all(|&n| n > 0) {
            let ch: Vec<usize> = disk_chunks(out)
                .iter()
                .zip(shape)
                .map(|(&c, &n)| c.min(n))
                .collect();
            v.set_chunking(&ch).map_err(nc_err)?;
            if let Some(l) = opts.deflate.filter(|&l| l > 0) {
                v.set_compression(l as i32, opts.shuffle).map_err(nc_err)?;
            }
        }
        match dtype {
            DType::F32 => v.set_fill_value(f32::NAN).map_err(nc_err)?,
            DType::F64 => v.set_fill_value(f64::NAN).map_err(nc_err)?,
            _ => {}
        }
        for (k, a) in &out.attrs {
            if !ENCODING_ATTRS.contains(&k.as_str()) {
                v.put_attribute(k, to_nc_attr(a)).map_err(nc_err)?;
            }
        }
    }
    Ok(Open::Nc {
        file: f,
        var: var.to_string(),
    })
}

fn h5_err(e: hdf5::Error) -> Error {
    Error::Io(e.to_string())
}

fn create_h5(tmp: &Path, out: &OutputVar, opts: &WriteOptions) -> Result<Open> {
    let var = out.name.as_str();
    crate::quiet_hdf5();
    let file = hdf5::File::create(tmp).map_err(h5_err)?;
    let name = var.trim_start_matches('/');
    // Intermediate groups of `/a/b/dataset`.
    let parts: Vec<&str> = name.split('/').filter(|s| !s.is_empty()).collect();
    let (leaf, groups) = parts
        .split_last()
        .ok_or_else(|| Error::Io(format!("'{var}' is not a dataset name")))?;
    let mut group = file.as_group().map_err(h5_err)?;
    for g in groups {
        group = match group.group(g) {
            Ok(x) => x,
            Err(_) => group.create_group(g).map_err(h5_err)?,
        };
    }
    let shape = out.shape.clone();
    let dtype = out.dtype;
    let ds = with_dtype!(dtype, T, {
        let mut b = group.new_dataset::<T>();
        if !shape.is_empty() && shape.iter().all(|&n| n > 0) {
            let ch: Vec<usize> = disk_chunks(out)
                .iter()
                .zip(&shape)
                .map(|(&c, &n)| c.min(n))
                .collect();
            b = b.chunk(ch);
            if let Some(l) = opts.deflate.filter(|&l| l > 0) {
                if opts.shuffle {
                    b = b.shuffle();
                }
                b = b.deflate(l);
            }
        }
        b.shape(shape.clone()).create(*leaf).map_err(h5_err)?
    });
    for (k, a) in &out.attrs {
        if ENCODING_ATTRS.contains(&k.as_str()) {
            continue;
        }
        match a {
            AttrValue::Numbers { values, .. } => {
                let at = ds
                    .new_attr::<f64>()
                    .shape(values.len())
                    .create(k.as_str())
                    .map_err(h5_err)?;
                at.write_raw(values).map_err(h5_err)?;
            }
            AttrValue::Text(s) => {
                if let Ok(v) = s.parse::<hdf5::types::VarLenUnicode>() {
                    let at = ds
                        .new_attr::<hdf5::types::VarLenUnicode>()
                        .create(k.as_str())
                        .map_err(h5_err)?;
                    at.write_scalar(&v).map_err(h5_err)?;
                }
            }
            AttrValue::Texts(_) => {}
        }
    }
    Ok(Open::H5 { file, ds })
}
