//! The plain-HDF5 side through `hdf5-metno`: datasets addressed by path, their metadata and
//! filters, and strided hyperslab reads. Datasets without dimension scales get the
//! `dim_0, dim_1, ...` names xarray's HDF5 readers give them.

use super::attr::AttrValue;
use super::format::Format;
use super::meta::{FileInfo, VarInfo};
use crate::array::dtype::DType;
use crate::error::{Error, Result};
use hdf5::filters::Filter;
use hdf5::types::{FloatSize, IntSize, TypeDescriptor, VarLenUnicode};
use hdf5::{Dataset, Hyperslab, Selection, SliceOrIndex};
use std::path::Path;

/// Opens an HDF5 file for reading.
pub fn open(path: &Path) -> Result<hdf5::File> {
    super::quiet_hdf5();
    hdf5::File::open(path).map_err(|e| {
        Error::Io(format!(
            "{}: cannot be read as HDF5 ({e}); the file may be truncated or corrupted",
            path.display()
        ))
    })
}

/// The dataset at `name` (absolute or relative to the root), if it exists.
pub fn dataset(file: &hdf5::File, name: &str) -> Option<Dataset> {
    let n = name.trim_start_matches('/');
    if n.is_empty() {
        return None;
    }
    file.dataset(n).ok()
}

/// Tessera's dtype for an HDF5 type.
pub fn dtype_of(t: &TypeDescriptor) -> Option<DType> {
    Some(match t {
        TypeDescriptor::Integer(IntSize::U1) => DType::I8,
        TypeDescriptor::Integer(IntSize::U2) => DType::I16,
        TypeDescriptor::Integer(IntSize::U4) => DType::I32,
        TypeDescriptor::Integer(IntSize::U8) => DType::I64,
        TypeDescriptor::Unsigned(IntSize::U1) => DType::U8,
        TypeDescriptor::Unsigned(IntSize::U2) => DType::U16,
        TypeDescriptor::Unsigned(IntSize::U4) => DType::U32,
        TypeDescriptor::Unsigned(IntSize::U8) => DType::U64,
        TypeDescriptor::Float(FloatSize::U4) => DType::F32,
        TypeDescriptor::Float(FloatSize::U8) => DType::F64,
        TypeDescriptor::Boolean => DType::Bool,
        _ => return None,
    })
}

fn attr_value(a: &hdf5::Attribute) -> Option<AttrValue> {
    let t = a.dtype().ok()?.to_descriptor().ok()?;
    match &t {
        TypeDescriptor::VarLenUnicode | TypeDescriptor::VarLenAscii => {
            if a.shape().is_empty() {
                a.read_scalar::<VarLenUnicode>()
                    .ok()
                    .map(|s| AttrValue::Text(s.as_str().to_string()))
            } else {
                a.read_raw::<VarLenUnicode>()
                    .ok()
                    .map(|v| AttrValue::Texts(v.iter().map(|s| s.as_str().to_string()).collect()))
            }
        }
        TypeDescriptor::FixedAscii(_) | TypeDescriptor::FixedUnicode(_) => {
            // Read the raw bytes of a scalar fixed-length string.
            let n = a.dtype().ok()?.size();
            let bytes: Vec<u8> = read_fixed_string(a, n)?;
            let s = String::from_utf8_lossy(&bytes)
                .trim_end_matches('\0')
                .to_string();
            Some(AttrValue::Text(s))
        }
        other => {
            let dtype = dtype_of(other)?;
            let values = a.read_raw::<f64>().ok()?;
            Some(AttrValue::Numbers { dtype, values })
        }
    }
}

fn read_fixed_string(a: &hdf5::Attribute, n: usize) -> Option<Vec<u8>> {
    use hdf5::types::FixedAscii;
    // HDF5 converts between fixed-length strings of different sizes.
    if n <= 256 {
        a.read_scalar::<FixedAscii<256>>()
            .ok()
            .map(|s| s.as_bytes().to_vec())
    } else {
        a.read_scalar::<FixedAscii<4096>>()
            .ok()
            .map(|s| s.as_bytes().to_vec())
    }
}

fn attrs_of(loc: &hdf5::Location) -> Vec<(String, AttrValue)> {
    let Ok(names) = loc.attr_names() else {
        return vec![];
    };
    names
        .into_iter()
        .filter(|n| {
            !matches!(
                n.as_str(),
                "DIMENSION_LIST"
                    | "REFERENCE_LIST"
                    | "CLASS"
                    | "NAME"
                    | "_Netcdf4Dimid"
                    | "_Netcdf4Coordinates"
                    | "_NCProperties"
            )
        })
        .filter_map(|n| {
            let a = loc.attr(&n).ok()?;
            attr_value(&a).map(|v| (n, v))
        })
        .collect()
}

fn filter_names(d: &Dataset) -> Vec<String> {
    d.filters()
        .iter()
        .map(|f| match f {
            Filter::Deflate(l) => format!("deflate({l})"),
            Filter::Shuffle => "shuffle".into(),
            Filter::Fletcher32 => "fletcher32".into(),
            Filter::SZip(..) => "szip".into(),
            Filter::NBit => "nbit".into(),
            Filter::ScaleOffset(_) => "scaleoffset".into(),
            other => format!("{other:?}").to_lowercase(),
        })
        .collect()
}

/// Metadata of one dataset.
pub fn var_info(d: &Dataset, name: &str) -> VarInfo {
    let t = d.dtype().ok().and_then(|t| t.to_descriptor().ok());
    let shape = d.shape();
    VarInfo {
        name: name.to_string(),
        dims: (0..shape.len()).map(|k| format!("dim_{k}")).collect(),
        shape,
        dtype: t.as_ref().and_then(dtype_of),
        type_name: t.map_or_else(|| "unknown".into(), |t| t.to_string()),
        chunking: d.chunk(),
        filters: filter_names(d),
        attrs: attrs_of(d),
    }
}

/// Adds HDF5 filter names to the variables of a NetCDF-4 file (the NetCDF crate does not
/// report compression).
pub fn add_filters(path: &Path, vars: &mut [VarInfo]) {
    let Ok(file) = hdf5::File::open(path) else {
        return;
    };
    for v in vars {
        if let Some(d) = dataset(&file, &v.name) {
            v.filters = filter_names(&d);
        }
    }
}

/// Metadata of every dataset in the file, by path.
pub fn file_info(path: &Path) -> Result<FileInfo> {
    let file = open(path)?;
    let mut vars = Vec::new();
    fn walk(g: &hdf5::Group, prefix: &str, vars: &mut Vec<VarInfo>) {
        if let Ok(ds) = g.datasets() {
            for d in ds {
                let name = d.name();
                vars.push(var_info(&d, &name));
            }
        }
        if let Ok(gs) = g.groups() {
            for sub in gs {
                let p = format!("{prefix}{}/", sub.name());
                walk(&sub, &p, vars);
            }
        }
    }
    walk(&file, "/", &mut vars);
    Ok(FileInfo {
        path: path.display().to_string(),
        format: Format::Hdf5,
        dims: vec![],
        vars,
        attrs: attrs_of(&file),
    })
}

/// Reads the hyperslab `start + stride * (0..count)` per axis into `buf` (raw bytes of
/// `dtype`, C order).
pub fn read_into(
    d: &Dataset,
    dtype: DType,
    start: &[usize],
    count: &[usize],
    stride: &[usize],
    buf: &mut [u8],
) -> std::result::Result<(), String> {
    if count.contains(&0) {
        return Ok(());
    }
    let sel: Vec<SliceOrIndex> = (0..start.len())
        .map(|a| SliceOrIndex::SliceCount {
            start: start[a],
            step: stride[a],
            count: count[a],
            block: 1,
        })
        .collect();
    let sel = Selection::Hyperslab(Hyperslab::from(sel));
    crate::with_dtype!(dtype, T, {
        let arr = if start.is_empty() {
            d.read::<T, ndarray::IxDyn>()
        } else {
            d.read_slice::<T, _, ndarray::IxDyn>(sel)
        }
        .map_err(|e| e.to_string())?;
        let src = arr
            .as_slice()
            .ok_or("internal: HDF5 slice not contiguous")?;
        let bytes: &[u8] = bytemuck::cast_slice(src);
        if bytes.len() != buf.len() {
            return Err(format!(
                "internal: read {} bytes for a {} byte buffer",
                bytes.len(),
                buf.len()
            ));
        }
        buf.copy_from_slice(bytes);
    });
    Ok(())
}
