//! Index coordinates: the labels along one dimension (numbers, CF times, or text such as
//! season names), held by the caller because they are small.

use super::time::{DateTime, TimeUnits};
use crate::array::dtype::DType;
use crate::io::attr::{number_json, AttrValue};

/// Values of a coordinate.
#[derive(Debug, Clone, PartialEq)]
pub enum CoordValues {
    /// Numbers, with the dtype they have in the file or computation.
    Num {
        /// Element type.
        dtype: DType,
        /// Values.
        values: Vec<f64>,
    },
    /// Decoded CF times, with the units and calendar they were decoded from.
    Time {
        /// Dates.
        values: Vec<DateTime>,
        /// Units and calendar.
        units: TimeUnits,
    },
    /// Text labels (`"DJF"`, ...).
    Text(Vec<String>),
}

/// One index coordinate.
#[derive(Debug, Clone, PartialEq)]
pub struct Coord {
    /// Values.
    pub values: CoordValues,
    /// Attributes (units, standard_name, ...).
    pub attrs: Vec<(String, AttrValue)>,
}

impl Coord {
    /// A coordinate without attributes.
    pub fn new(values: CoordValues) -> Coord {
        Coord {
            values,
            attrs: vec![],
        }
    }

    /// Number of labels.
    pub fn len(&self) -> usize {
        match &self.values {
            CoordValues::Num { values, .. } => values.len(),
            CoordValues::Time { values, .. } => values.len(),
            CoordValues::Text(v) => v.len(),
        }
    }

    /// True when there are no labels.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The labels at `positions`.
    pub fn pick(&self, positions: &[usize]) -> Coord {
        let values = match &self.values {
            CoordValues::Num { dtype, values } => CoordValues::Num {
                dtype: *dtype,
                values: positions.iter().map(|&i| values[i]).collect(),
            },
            CoordValues::Time { values, units } => CoordValues::Time {
                values: positions.iter().map(|&i| values[i]).collect(),
                units: units.clone(),
            },
            CoordValues::Text(v) => {
                CoordValues::Text(positions.iter().map(|&i| v[i].clone()).collect())
            }
        };
        Coord {
            values,
            attrs: self.attrs.clone(),
        }
    }

    /// Name of the value type, for messages.
    pub fn kind(&self) -> &'static str {
        match &self.values {
            CoordValues::Num { .. } => "numeric",
            CoordValues::Time { .. } => "time",
            CoordValues::Text(_) => "text",
        }
    }

    /// The dtype name users see (`float32`, `datetime`, `str`).
    pub fn dtype_name(&self) -> String {
        match &self.values {
            CoordValues::Num { dtype, .. } => dtype.name().to_string(),
            CoordValues::Time { units, .. } => format!("datetime ({})", units.calendar.name()),
            CoordValues::Text(_) => "str".into(),
        }
    }

    /// Values as JSON: numbers, ISO date strings, or strings.
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.values {
            CoordValues::Num { dtype, values } => {
                J::Array(values.iter().map(|&v| number_json(v, *dtype)).collect())
            }
            CoordValues::Time { values, .. } => {
                J::Array(values.iter().map(|t| J::String(t.iso())).collect())
            }
            CoordValues::Text(v) => J::Array(v.iter().map(|s| J::String(s.clone())).collect()),
        }
    }
}
