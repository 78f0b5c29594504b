//! The NetCDF side (classic and NetCDF-4 files) through the georust `netcdf` crate:
//! metadata, and strided hyperslab reads straight into a caller's buffer.

use super::attr::AttrValue;
use super::format::Format;
use super::meta::{DimInfo, FileInfo, VarInfo};
use crate::array::dtype::DType;
use crate::error::{Error, Result};
use netcdf::types::{FloatType, IntType, NcVariableType};
use netcdf::{AttributeValue, Extent, Variable};
use std::path::Path;

/// Opens a NetCDF file for reading.
pub fn open(path: &Path) -> Result<netcdf::File> {
    super::quiet_hdf5();
    netcdf::open(path).map_err(|e| {
        Error::Io(format!(
            "{}: cannot be read as NetCDF ({e}); the file may be truncated or corrupted",
            path.display()
        ))
    })
}

/// Runs `f` on variable `name` (`a/b/var` reaches into groups). `None` if absent.
pub fn with_var<R>(
    file: &netcdf::File,
    name: &str,
    f: impl FnOnce(&Variable<'_>) -> R,
) -> Option<R> {
    let parts: Vec<&str> = name
        .trim_start_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    // The netcdf crate panics on names longer than NC_MAX_NAME, and a NUL would cut the
    // name short: no variable can have such a name.
    if parts
        .iter()
        .any(|p| p.len() > super::names::NC_MAX_NAME || p.contains('\0'))
    {
        return None;
    }
    let (last, groups) = parts.split_last()?;
    if groups.is_empty() {
        return file.variable(last).map(|v| f(&v));
    }
    let root = file.root()?;
    fn descend<R>(
        g: &netcdf::Group<'_>,
        groups: &[&str],
        last: &str,
        f: impl FnOnce(&Variable<'_>) -> R,
    ) -> Option<R> {
        match groups.split_first() {
            None => g.variable(last).map(|v| f(&v)),
            Some((head, rest)) => {
                let sub = g.group(head)?;
                descend(&sub, rest, last, f)
            }
        }
    }
    descend(&root, groups, last, f)
}

/// Tessera's dtype for a NetCDF type.
pub fn dtype_of(t: &NcVariableType) -> Option<DType> {
    Some(match t {
        NcVariableType::Int(IntType::I8) => DType::I8,
        NcVariableType::Int(IntType::U8) => DType::U8,
        NcVariableType::Int(IntType::I16) => DType::I16,
        NcVariableType::Int(IntType::U16) => DType::U16,
        NcVariableType::Int(IntType::I32) => DType::I32,
        NcVariableType::Int(IntType::U32) => DType::U32,
        NcVariableType::Int(IntType::I64) => DType::I64,
        NcVariableType::Int(IntType::U64) => DType::U64,
        NcVariableType::Float(FloatType::F32) => DType::F32,
        NcVariableType::Float(FloatType::F64) => DType::F64,
        _ => return None,
    })
}

fn type_name(t: &NcVariableType) -> String {
    match dtype_of(t) {
        Some(d) => d.name().to_string(),
        None => match t {
            NcVariableType::String => "string".into(),
            NcVariableType::Char => "char".into(),
            NcVariableType::Compound(_) => "compound".into(),
            NcVariableType::Opaque(_) => "opaque".into(),
            NcVariableType::Enum(_) => "enum".into(),
            NcVariableType::Vlen(_) => "vlen".into(),
            _ => "unknown".into(),
        },
    }
}

fn convert(v: AttributeValue) -> AttrValue {
    use AttributeValue as A;
    let nums = |dtype: DType, values: Vec<f64>| AttrValue::Numbers { dtype, values };
    match v {
        A::Uchar(x) => nums(DType::U8, vec![x as f64]),
        A::Uchars(x) => nums(DType::U8, x.into_iter().map(|v| v as f64).collect()),
        A::Schar(x) => nums(DType::I8, vec![x as f64]),
        A::Schars(x) => nums(DType::I8, x.into_iter().map(|v| v as f64).collect()),
        A::Ushort(x) => nums(DType::U16, vec![x as f64]),
        A::Ushorts(x) => nums(DType::U16, x.into_iter().map(|v| v as f64).collect()),
        A::Short(x) => nums(DType::I16, vec![x as f64]),
        A::Shorts(x) => nums(DType::I16, x.into_iter().map(|v| v as f64).collect()),
        A::Uint(x) => nums(DType::U32, vec![x as f64]),
        A::Uints(x) => nums(DType::U32, x.into_iter().map(|v| v as f64).collect()),
        A::Int(x) => nums(DType::I32, vec![x as f64]),
        A::Ints(x) => nums(DType::I32, x.into_iter().map(|v| v as f64).collect()),
        A::Ulonglong(x) => nums(DType::U64, vec![x as f64]),
        A::Ulonglongs(x) => nums(DType::U64, x.into_iter().map(|v| v as f64).collect()),
        A::Longlong(x) => nums(DType::I64, vec![x as f64]),
        A::Longlongs(x) => nums(DType::I64, x.into_iter().map(|v| v as f64).collect()),
        A::Float(x) => nums(DType::F32, vec![x as f64]),
        A::Floats(x) => nums(DType::F32, x.into_iter().map(|v| v as f64).collect()),
        A::Double(x) => nums(DType::F64, vec![x]),
        A::Doubles(x) => nums(DType::F64, x),
        A::Str(s) => AttrValue::Text(s),
        A::Strs(v) => AttrValue::Texts(v),
    }
}

fn attrs_of<'a>(it: impl Iterator<Item = netcdf::Attribute<'a>>) -> Vec<(String, AttrValue)> {
    it.filter_map(|a| {
        let name = a.name().to_string();
        a.value().ok().map(|v| (name, convert(v)))
    })
    .collect()
}

/// Metadata of one variable.
pub fn var_info(v: &Variable<'_>, name: &str) -> VarInfo {
    let t = v.vartype();
    VarInfo {
        name: name.to_string(),
        dims: v.dimensions().iter().map(|d| d.name()).collect(),
        shape: v.dimensions().iter().map(|d| d.len()).collect(),
        dtype: dtype_of(&t),
        type_name: type_name(&t),
        chunking: v.chunking().ok().flatten(),
        filters: vec![],
        attrs: attrs_of(v.attributes()),
    }
}

/// Metadata of every variable of a file (groups included, as `group/var`).
pub fn file_info(path: &Path, format: Format) -> Result<FileInfo> {
    let file = open(path)?;
    let mut vars = Vec::new();
    for v in file.variables() {
        let name = v.name();
        vars.push(var_info(&v, &name));
    }
    fn walk(g: &netcdf::Group<'_>, prefix: &str, vars: &mut Vec<VarInfo>) {
        for sub in g.groups() {
            let p = format!("{prefix}{}/", sub.name());
            for v in sub.variables() {
                let name = format!("{p}{}", v.name());
                vars.push(var_info(&v, &name));
            }
            walk(&sub, &p, vars);
        }
    }
    if let Some(root) = file.root() {
        walk(&root, "", &mut vars);
    }
    if format == Format::Netcdf4 {
        super::h5::add_filters(path, &mut vars);
    }
    Ok(FileInfo {
        path: path.display().to_string(),
        format,
        dims: file
            .dimensions()
            .map(|d| DimInfo {
                name: d.name(),
                len: d.len(),
                unlimited: d.is_unlimited(),
            })
            .collect(),
        vars,
        attrs: attrs_of(file.attributes()),
    })
}

/// Reads the hyperslab `start + stride * (0..count)` per axis into `buf` (raw bytes of the
/// stored type, C order). Strides must be positive.
pub fn read_into(
    v: &Variable<'_>,
    start: &[usize],
    count: &[usize],
    stride: &[usize],
    buf: &mut [u8],
) -> std::result::Result<(), String> {
    let ext: Vec<Extent> = (0..start.len())
        .map(|a| Extent::SliceCount {
            start: start[a],
            count: count[a],
            stride: stride[a] as isize,
        })
        .collect();
    if count.contains(&0) {
        return Ok(());
    }
    v.get_raw_values_into(buf, ext).map_err(|e| e.to_string())
}
