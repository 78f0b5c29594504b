//! `tessera info FILE`: what `ncdump -h` shows (dimensions, variables with their dims,
//! shape, type, on-disk chunking, filters and attributes), plus the decoded range of every
//! time coordinate; also as JSON.

use super::attr::AttrValue;
use super::format::detect;
use super::meta::FileInfo;
use crate::error::Result;
use crate::labeled::time::TimeUnits;
use serde_json::{json, Value as J};
use std::path::Path;

/// Metadata of every variable of a NetCDF or HDF5 file.
pub fn inspect(path: &Path) -> Result<FileInfo> {
    let format = detect(path)?;
    if format.is_netcdf() {
        super::nc::file_info(path, format)
    } else {
        super::h5::file_info(path)
    }
}

/// First and last decoded time of a 1-D variable with CF time units, or why not.
fn time_range(
    path: &Path,
    info: &super::meta::VarInfo,
) -> Option<std::result::Result<(String, String), String>> {
    let units = info.attr("units")?.text()?;
    if !units.contains(" since ") || info.shape.len() != 1 || info.shape[0] == 0 {
        return None;
    }
    let cal = info.attr("calendar").and_then(AttrValue::text);
    let tu = match TimeUnits::parse(units, cal) {
        Ok(t) => t,
        Err(e) => return Some(Err(e)),
    };
    let file = super::nc::open(path).ok()?;
    let n = info.shape[0];
    let vals: Vec<f64> = super::nc::with_var(&file, &info.name, |v| {
        let a = v.get_value::<f64, _>([0]).ok()?;
        let b = v.get_value::<f64, _>([n - 1]).ok()?;
        Some(vec![a, b])
    })??;
    let (a, b) = (tu.decode(vals[0]), tu.decode(vals[1]));
    Some(match (a, b) {
        (Ok(a), Ok(b)) => Ok((a.iso(), b.iso())),
        (Err(e), _) | (_, Err(e)) => Err(e),
    })
}

/// `ncdump -h`-like text.
pub fn render_text(path: &Path, fi: &FileInfo) -> String {
    let mut out = format!("{} ({})\n", fi.path, fi.format.name());
    if !fi.dims.is_empty() {
        out.push_str("dimensions:\n");
        for d in &fi.dims {
            if d.unlimited {
                out.push_str(&format!(
                    "    {} = UNLIMITED ; // ({} currently)\n",
                    d.name, d.len
                ));
            } else {
                out.push_str(&format!("    {} = {} ;\n", d.name, d.len));
            }
        }
    }
    out.push_str("variables:\n");
    for v in &fi.vars {
        out.push_str(&format!(
            "    {} {}({}) ;  // shape {:?}",
            v.type_name,
            v.name,
            v.dims.join(", "),
            v.shape
        ));
        match &v.chunking {
            Some(c) => out.push_str(&format!(", chunks {c:?}")),
            None => out.push_str(", contiguous"),
        }
        if !v.filters.is_empty() {
            out.push_str(&format!(", filters {}", v.filters.join(" ")));
        }
        out.push('\n');
        for (k, a) in &v.attrs {
            out.push_str(&format!("        {}:{} = {} ;\n", v.name, k, a.render()));
        }
        match time_range(path, v) {
            Some(Ok((a, b))) => out.push_str(&format!("        // time range: {a} .. {b}\n")),
            Some(Err(e)) => out.push_str(&format!("        // time not decodable: {e}\n")),
            None => {}
        }
    }
    if !fi.attrs.is_empty() {
        out.push_str("// global attributes:\n");
        for (k, a) in &fi.attrs {
            out.push_str(&format!("        :{} = {} ;\n", k, a.render()));
        }
    }
    out
}

/// The same as JSON.
pub fn render_json(path: &Path, fi: &FileInfo) -> J {
    let attrs = |a: &[(String, AttrValue)]| -> J {
        J::Object(a.iter().map(|(k, v)| (k.clone(), v.to_json())).collect())
    };
    let vars: Vec<J> = fi
        .vars
        .iter()
        .map(|v| {
            let mut o = json!({
                "name": v.name,
                "dims": v.dims,
                "shape": v.shape,
                "dtype": v.type_name,
                "chunks": v.chunking,
                "filters": v.filters,
                "attributes": attrs(&v.attrs),
            });
            if let (Some(Ok((a, b))), Some(m)) = (time_range(path, v), o.as_object_mut()) {
                m.insert("time_range".into(), json!([a, b]));
            }
            o
        })
        .collect();
    json!({
        "path": fi.path,
        "format": fi.format.name(),
        "dimensions": fi.dims.iter().map(|d| json!({"name": d.name, "length": d.len, "unlimited": d.unlimited})).collect::<Vec<_>>(),
        "variables": vars,
        "attributes": attrs(&fi.attrs),
    })
}
