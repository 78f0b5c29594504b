//! `tessera info FILE`: what `ncdump -h` shows (dimensions, variables with their dims,
//! shape, type, on-disk chunking, filters and attributes), plus the decoded range of every
//! time coordinate; also as JSON.

use super::time::TimeUnits;
use crate::io::attr::AttrValue;
use crate::io::info::first_and_last;
use crate::io::meta::{FileInfo, VarInfo};
use serde_json::{json, Value as J};
use std::path::Path;

/// First and last decoded time of a 1-D variable with CF time units, or why not.
fn time_range(
    path: &Path,
    info: &VarInfo,
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
    let (first, last) = first_and_last(path, info)?;
    let (a, b) = (tu.decode(first), tu.decode(last));
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
