//! CF decoding of stored values, as xarray and netCDF4-python do it by default: mask
//! `_FillValue` / `missing_value` and values outside `valid_min`/`valid_max`/`valid_range`,
//! reinterpret `_Unsigned = "true"` integers, then unpack `scale_factor`/`add_offset`.
//!
//! The decoded dtype follows xarray: a packed variable takes the float type of its
//! `scale_factor`/`add_offset` (float64 for 32-bit integers, or whenever only an offset is
//! given); a masked integer variable becomes float32 (1–2 byte integers) or float64. Fill
//! values are compared in the variable's own type, so a NaN `_FillValue` on an integer
//! variable masks nothing.

use super::attr::AttrValue;
use super::meta::VarInfo;
use crate::array::dtype::DType;
pub use crate::array::source::CfDecode;

/// The unsigned twin of a signed integer type.
fn unsigned_of(d: DType) -> DType {
    match d {
        DType::I8 => DType::U8,
        DType::I16 => DType::U16,
        DType::I32 => DType::U32,
        DType::I64 => DType::U64,
        other => other,
    }
}

/// True if `v` is exactly representable in `d` (so it can equal a stored value).
fn representable(v: f64, d: DType) -> bool {
    if d.is_float() {
        return true;
    }
    match d.int_range() {
        Some((lo, hi)) => v.is_finite() && v.fract() == 0.0 && v >= lo as f64 && v <= hi as f64,
        None => false,
    }
}

/// Reinterprets a fill value given in the signed type as the unsigned one.
fn as_unsigned(v: f64, signed: DType) -> f64 {
    if v >= 0.0 {
        return v;
    }
    let bits = signed.size() * 8;
    v + 2f64.powi(bits as i32)
}

/// Builds the decoding for a variable from its attributes, or `None` when decoding
/// changes nothing.
pub fn decode_for(v: &VarInfo, stored: DType) -> Option<CfDecode> {
    let unsigned = stored.is_signed_int()
        && v.attr("_Unsigned")
            .and_then(|a| a.text())
            .is_some_and(|t| t.eq_ignore_ascii_case("true"));
    let st = if unsigned {
        unsigned_of(stored)
    } else {
        stored
    };
    let conv = |x: f64| if unsigned { as_unsigned(x, stored) } else { x };
    let mut missing: Vec<f64> = Vec::new();
    for key in ["_FillValue", "missing_value"] {
        if let Some(a) = v.attr(key) {
            for x in a.numbers() {
                let x = if st.is_float() {
                    // Compare in the stored type: a float32 variable's fill is a float32.
                    if st == DType::F32 {
                        x as f32 as f64
                    } else {
                        x
                    }
                } else {
                    conv(x)
                };
                if representable(x, st)
                    && !missing
                        .iter()
                        .any(|m| m == &x || (m.is_nan() && x.is_nan()))
                {
                    missing.push(x);
                }
            }
        }
    }
    let mut valid_min = v.attr("valid_min").and_then(AttrValue::first_f64).map(conv);
    let mut valid_max = v.attr("valid_max").and_then(AttrValue::first_f64).map(conv);
    if let Some(r) = v.attr("valid_range") {
        let n = r.numbers();
        if n.len() == 2 {
            valid_min = Some(conv(n[0]));
            valid_max = Some(conv(n[1]));
        }
    }
    let scale_attr = v.attr("scale_factor");
    let offset_attr = v.attr("add_offset");
    let scale = scale_attr.and_then(AttrValue::first_f64);
    let offset = offset_attr.and_then(AttrValue::first_f64);
    let masks = !missing.is_empty() || valid_min.is_some() || valid_max.is_some();
    let decoded = if scale.is_some() || offset.is_some() {
        let st_t = scale_attr.and_then(AttrValue::dtype);
        let of_t = offset_attr.and_then(AttrValue::dtype);
        match (st_t, of_t) {
            (Some(a), Some(b)) if a == b && a.is_float() => {
                if st.is_int() && st.size() == 4 {
                    DType::F64
                } else {
                    a
                }
            }
            (_, Some(_)) => DType::F64,
            (Some(a), None) if a.is_float() => a,
            _ => DType::F64,
        }
    } else if masks && !st.is_float() {
        if st.size() <= 2 {
            DType::F32
        } else {
            DType::F64
        }
    } else {
        st
    };
    if !masks && scale.is_none() && offset.is_none() && decoded == stored {
        return None;
    }
    Some(CfDecode {
        stored: st,
        decoded,
        missing,
        valid_min,
        valid_max,
        scale,
        offset,
    })
}
