//! Attribute values as both libraries report them, reduced to what CF decoding and
//! `tessera info` need: text, or numbers with the type they were stored in (the type
//! matters: xarray picks the decoded dtype from the type of `scale_factor`).

use crate::array::dtype::DType;
use serde::{Deserialize, Serialize};

/// One attribute value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AttrValue {
    /// A string.
    Text(String),
    /// Several strings.
    Texts(Vec<String>),
    /// Numbers, with the stored element type.
    Numbers {
        /// Stored type.
        dtype: DType,
        /// Values (64-bit integers beyond 2^53 lose precision).
        values: Vec<f64>,
    },
}

impl AttrValue {
    /// The single number, or the first of several.
    pub fn first_f64(&self) -> Option<f64> {
        match self {
            AttrValue::Numbers { values, .. } => values.first().copied(),
            AttrValue::Text(s) => s.trim().parse().ok(),
            AttrValue::Texts(_) => None,
        }
    }

    /// All numbers.
    pub fn numbers(&self) -> Vec<f64> {
        match self {
            AttrValue::Numbers { values, .. } => values.clone(),
            AttrValue::Text(s) => s.trim().parse().ok().into_iter().collect(),
            AttrValue::Texts(_) => vec![],
        }
    }

    /// The stored numeric type.
    pub fn dtype(&self) -> Option<DType> {
        match self {
            AttrValue::Numbers { dtype, .. } => Some(*dtype),
            _ => None,
        }
    }

    /// The text, if this is a string.
    pub fn text(&self) -> Option<&str> {
        match self {
            AttrValue::Text(s) => Some(s),
            AttrValue::Texts(v) => v.first().map(|s| s.as_str()),
            AttrValue::Numbers { .. } => None,
        }
    }

    /// CDL-like rendering: `"text"`, `1.5f`, `1, 2, 3`.
    pub fn render(&self) -> String {
        match self {
            AttrValue::Text(s) => format!("{s:?}"),
            AttrValue::Texts(v) => v
                .iter()
                .map(|s| format!("{s:?}"))
                .collect::<Vec<_>>()
                .join(", "),
            AttrValue::Numbers { dtype, values } => {
                let suffix = match dtype {
                    DType::F32 => "f",
                    DType::I8 | DType::U8 => "b",
                    DType::I16 | DType::U16 => "s",
                    DType::I64 | DType::U64 => "LL",
                    _ => "",
                };
                values
                    .iter()
                    .map(|v| {
                        if *dtype == DType::F32 && v.is_finite() {
                            format!("{:?}{suffix}", *v as f32)
                        } else if dtype.is_float() {
                            format!("{}{suffix}", fmt_float(*v))
                        } else {
                            format!("{}{suffix}", *v as i128)
                        }
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            }
        }
    }

    /// As JSON.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match self {
            AttrValue::Text(s) => J::String(s.clone()),
            AttrValue::Texts(v) => J::Array(v.iter().map(|s| J::String(s.clone())).collect()),
            AttrValue::Numbers { dtype, values } => {
                let one = |v: f64| number_json(v, *dtype);
                if values.len() == 1 {
                    one(values[0])
                } else {
                    J::Array(values.iter().map(|&v| one(v)).collect())
                }
            }
        }
    }
}

/// A number of `dtype` as JSON: integers as integers, non-finite floats as the strings
/// `nan`, `inf`, `-inf` (JSON has no literal for them).
pub fn number_json(v: f64, dtype: DType) -> serde_json::Value {
    use serde_json::Value as J;
    if !v.is_finite() {
        J::String(fmt_float(v))
    } else if dtype.is_float() {
        serde_json::Number::from_f64(v).map_or(J::Null, J::Number)
    } else {
        J::from(v as i64)
    }
}

/// Shortest text that reads back as the same float; `nan`, `inf`, `-inf` as numpy prints.
pub fn fmt_float(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        format!("{v:?}")
    }
}

/// Looks up an attribute by name.
pub fn find<'a>(attrs: &'a [(String, AttrValue)], name: &str) -> Option<&'a AttrValue> {
    attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}
