//! xarray's `groupby` along one dimension: `x.groupby("time.month").mean()` computes a
//! climatology with a tree of per-block grouped partial reductions (each block reduced
//! per group where it lives, partial states combined), and `x.groupby("time.month") - clim`
//! broadcasts the climatology back onto the time axis with a `take` (anomalies).

use super::coords::{Coord, CoordValues};
use super::dataarray::{binary, DataArray, LOperand};
use crate::array::dtype::DType;
use crate::array::ArrayError;
use crate::expr::ast::BinOp;
use std::sync::Arc;

type Result<T> = std::result::Result<T, ArrayError>;

fn invalid(msg: impl Into<String>) -> ArrayError {
    ArrayError::Invalid(msg.into())
}

/// A grouping of one dimension of an array.
#[derive(Debug, Clone)]
pub struct GroupBy {
    /// The grouped array.
    pub array: DataArray,
    /// The grouped dimension (`time`).
    pub dim: String,
    /// Name of the group coordinate (`month`).
    pub name: String,
    /// Group index of every position along `dim`.
    pub labels: Arc<Vec<u32>>,
    /// Group labels, sorted (as xarray sorts them: seasons alphabetically).
    pub groups: Coord,
}

/// Time components usable as `"time.<component>"`.
const COMPONENTS: &[&str] = &["year", "month", "day", "hour", "dayofyear", "season"];

impl GroupBy {
    /// Groups `array` by `key`: `"dim.component"` on a time coordinate (`"time.month"`,
    /// `"time.season"`, `"time.dayofyear"`, `"time.year"`, ...) or the name of a dimension
    /// whose coordinate values are the groups.
    pub fn new(array: &DataArray, key: &str) -> Result<GroupBy> {
        let (dim, comp) = match key.split_once('.') {
            Some((d, c)) => (d, Some(c)),
            None => (key, None),
        };
        array.axis(dim)?;
        let coord = array.coord(dim).ok_or_else(|| {
            invalid(format!(
                "cannot group by '{key}': dimension '{dim}' has no coordinate"
            ))
        })?;
        // Per-position keys, as numbers or text.
        let mut num_dtype = DType::I64;
        let (num, text): (Vec<f64>, Vec<String>) = match (&coord.values, comp) {
            (CoordValues::Time { values, units }, Some(c)) => {
                let cal = units.calendar;
                match c {
                    "season" => (vec![], values.iter().map(|t| t.season().to_string()).collect()),
                    "year" => (values.iter().map(|t| t.year as f64).collect(), vec![]),
                    "month" => (values.iter().map(|t| t.month as f64).collect(), vec![]),
                    "day" => (values.iter().map(|t| t.day as f64).collect(), vec![]),
                    "hour" => (values.iter().map(|t| t.hour as f64).collect(), vec![]),
                    "dayofyear" => (values.iter().map(|t| t.day_of_year(cal) as f64).collect(), vec![]),
                    other => {
                        return Err(invalid(format!(
                            "unknown time component '{other}' in '{key}'; expected one of {}",
                            COMPONENTS.join(", ")
                        )))
                    }
                }
            }
            (_, Some(c)) => {
                return Err(invalid(format!(
                    "cannot group by '{key}': '{dim}' is a {} coordinate, and '.{c}' needs a time coordinate",
                    coord.kind()
                )))
            }
            (CoordValues::Num { values, dtype }, None) => {
                num_dtype = *dtype;
                (values.clone(), vec![])
            }
            (CoordValues::Text(v), None) => (vec![], v.clone()),
            (CoordValues::Time { .. }, None) => {
                return Err(invalid(format!(
                    "grouping by the time values themselves is not supported; use '{dim}.year', '{dim}.month', ..."
                )))
            }
        };
        let name = comp.unwrap_or(dim).to_string();
        let (labels, groups) = if text.is_empty() {
            if num.iter().any(|v| v.is_nan()) {
                return Err(invalid(format!(
                    "cannot group by '{key}': the coordinate has missing (NaN) labels"
                )));
            }
            let mut uniq = num.clone();
            uniq.sort_unstable_by(f64::total_cmp);
            uniq.dedup();
            let labels = num
                .iter()
                .map(|v| uniq.partition_point(|u| u < v) as u32)
                .collect();
            (
                labels,
                Coord::new(CoordValues::Num {
                    dtype: num_dtype,
                    values: uniq,
                }),
            )
        } else {
            let mut uniq = text.clone();
            uniq.sort();
            uniq.dedup();
            let labels = text
                .iter()
                .map(|v| uniq.binary_search(v).unwrap_or(0) as u32)
                .collect();
            (labels, Coord::new(CoordValues::Text(uniq)))
        };
        Ok(GroupBy {
            array: array.clone(),
            dim: dim.to_string(),
            name,
            labels: Arc::new(labels),
            groups,
        })
    }

    /// A grouped reduction (`mean`, `sum`, `min`, `max`, `std`, `var`), skipping NaN.
    /// The grouped dimension is replaced, in place, by the group dimension.
    pub fn reduce(&self, func: &str, ddof: f64) -> Result<DataArray> {
        let axis = self.array.axis(&self.dim)?;
        let data = self.array.data.group_reduce(
            func,
            axis,
            self.labels.clone(),
            self.groups.len(),
            ddof,
        )?;
        let mut dims = self.array.dims.clone();
        dims[axis] = self.name.clone();
        let mut coords: Vec<(String, Coord)> = self
            .array
            .coords
            .iter()
            .filter(|(n, _)| n != &self.dim)
            .cloned()
            .collect();
        coords.push((self.name.clone(), self.groups.clone()));
        let mut out = DataArray::new(data, dims, coords)?;
        out.name = self.array.name.clone();
        Ok(out)
    }

    /// `grouped OP other` where `other` is indexed by the group dimension (anomalies:
    /// `x.groupby("time.month") - clim`). With `reversed`, `other OP grouped`.
    pub fn binary(&self, op: BinOp, other: &LOperand, reversed: bool) -> Result<LOperand> {
        let LOperand::Labeled(o) = other else {
            let me = LOperand::Labeled(self.array.clone());
            return if reversed {
                binary(op, other, &me)
            } else {
                binary(op, &me, other)
            };
        };
        let g_axis = o.axis(&self.name).map_err(|_| {
            invalid(format!(
                "the other operand has no '{}' dimension to match the groups (its dimensions are ({}))",
                self.name,
                o.dims.join(", ")
            ))
        })?;
        // Position in `o` of every group, then of every position along the grouped dim.
        let pos_of_group: Vec<usize> = match (o.coord(&self.name), &self.groups.values) {
            (Some(c), _) => (0..self.groups.len())
                .map(|g| {
                    let want = self.groups.pick(&[g]);
                    (0..c.len())
                        .find(|&k| c.pick(&[k]).values == want.values)
                        .ok_or_else(|| {
                            invalid(format!(
                                "group {} of '{}' is missing from the other operand",
                                g + 1,
                                self.name
                            ))
                        })
                })
                .collect::<Result<_>>()?,
            (None, _) if o.data.shape()[g_axis] == self.groups.len() => {
                (0..self.groups.len()).collect()
            }
            (None, _) => {
                return Err(invalid(format!(
                    "the other operand's '{}' dimension has length {}, but there are {} groups",
                    self.name,
                    o.data.shape()[g_axis],
                    self.groups.len()
                )))
            }
        };
        let indices: Vec<usize> = self
            .labels
            .iter()
            .map(|&g| pos_of_group[g as usize])
            .collect();
        let axis = self.array.axis(&self.dim)?;
        let chunks = self.array.data.chunks()[axis].clone();
        let taken = o.data.take(g_axis, Arc::new(indices), chunks)?;
        let mut dims = o.dims.clone();
        dims[g_axis] = self.dim.clone();
        let mut coords: Vec<(String, Coord)> = o
            .coords
            .iter()
            .filter(|(n, _)| n != &self.name)
            .cloned()
            .collect();
        if let Some(c) = self.array.coord(&self.dim) {
            coords.push((self.dim.clone(), c.clone()));
        }
        let spread = LOperand::Labeled(DataArray::new(taken, dims, coords)?);
        let me = LOperand::Labeled(self.array.clone());
        if reversed {
            binary(op, &spread, &me)
        } else {
            binary(op, &me, &spread)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::api::from_local;
    use crate::array::chunk::Chunk;
    use crate::array::chunks::ChunkSpec;

    fn labeled(coord: Vec<f64>) -> DataArray {
        let n = coord.len();
        let vals: Vec<f64> = (0..n).map(|i| i as f64).collect();
        let data = from_local(
            Chunk::from_slice::<f64>(DType::F64, &[n], &vals),
            &ChunkSpec::Auto,
        )
        .expect("array");
        let c = Coord::new(CoordValues::Num {
            dtype: DType::F32,
            values: coord,
        });
        DataArray::new(data, vec!["x".into()], vec![("x".into(), c)]).expect("labels")
    }

    #[test]
    fn numeric_groups_keep_fractional_labels_and_dtype() {
        let g = GroupBy::new(&labeled(vec![0.5, -0.5, 0.5, -1.25]), "x").expect("groupby");
        assert_eq!(g.labels.as_slice(), &[2, 1, 2, 0]);
        assert_eq!(
            g.groups.values,
            CoordValues::Num {
                dtype: DType::F32,
                values: vec![-1.25, -0.5, 0.5]
            }
        );
        assert!(GroupBy::new(&labeled(vec![0.0, f64::NAN]), "x").is_err());
    }

    #[test]
    fn unsorted_coordinates_refuse_label_ranges() {
        use crate::labeled::select::{sel, Label, Selector};
        let x = labeled(vec![0.0, 10.0, 5.0]);
        let r = sel(
            &x,
            &[(
                "x".into(),
                Selector::Range(Some(Label::Num(0.0)), Some(Label::Num(6.0))),
            )],
            false,
        );
        assert!(r.is_err_and(|e| e.to_string().contains("not sorted")));
        let ok = sel(
            &x,
            &[("x".into(), Selector::Range(Some(Label::Num(1.0)), None))],
            false,
        )
        .expect("contiguous");
        assert_eq!(ok.data.shape(), vec![2]);
    }
}
