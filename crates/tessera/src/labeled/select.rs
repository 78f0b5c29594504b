//! Selection by label (`sel`), translated into positional selection (`isel`): slices are
//! inclusive of both labels as in xarray/pandas, work on descending coordinates
//! (`lat=slice(60, 30)` on a north-to-south axis), and time labels are partial date
//! strings (`"2013-06"` is the whole month).

use super::coords::CoordValues;
use super::dataarray::DataArray;
use super::time::DateTime;
use crate::array::slicing::Index;
use crate::array::ArrayError;

type Result<T> = std::result::Result<T, ArrayError>;

fn invalid(msg: impl Into<String>) -> ArrayError {
    ArrayError::Invalid(msg.into())
}

/// A label as written by the user.
#[derive(Debug, Clone, PartialEq)]
pub enum Label {
    /// A number.
    Num(f64),
    /// Text: a date for time coordinates, a name for text coordinates.
    Text(String),
}

/// What to select along one dimension.
#[derive(Debug, Clone, PartialEq)]
pub enum Selector {
    /// One label (the dimension is dropped, except for partial dates, which select a range).
    One(Label),
    /// `slice(start, stop)`, both inclusive; `None` is open.
    Range(Option<Label>, Option<Label>),
}

fn show(l: &Label) -> String {
    match l {
        Label::Num(x) => format!("{x}"),
        Label::Text(s) => format!("'{s}'"),
    }
}

/// `x.sel(dim=selector, ...)`; `nearest` picks the closest label for single numbers.
pub fn sel(x: &DataArray, items: &[(String, Selector)], nearest: bool) -> Result<DataArray> {
    let mut isel: Vec<(String, Index)> = Vec::new();
    for (dim, s) in items {
        x.axis(dim)?;
        let c = x.coord(dim).ok_or_else(|| {
            invalid(format!(
                "dimension '{dim}' has no coordinate to select labels from; use isel({dim}=...)"
            ))
        })?;
        let ix = match (&c.values, s) {
            (CoordValues::Num { values, .. }, Selector::One(Label::Num(v))) => {
                let pos = if nearest {
                    values
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| !c.is_nan())
                        .min_by(|a, b| (a.1 - v).abs().total_cmp(&(b.1 - v).abs()))
                        .map(|(i, _)| i)
                } else {
                    values.iter().position(|c| c == v)
                };
                let pos = pos.ok_or_else(|| {
                    invalid(format!(
                        "label {v} not found in coordinate '{dim}' (use method=\"nearest\" for the closest)"
                    ))
                })?;
                Index::Int(pos as i64)
            }
            (CoordValues::Num { values, .. }, Selector::Range(a, b)) => {
                let num = |l: &Option<Label>| -> Result<Option<f64>> {
                    match l {
                        None => Ok(None),
                        Some(Label::Num(v)) => Ok(Some(*v)),
                        Some(t) => Err(invalid(format!(
                            "coordinate '{dim}' is numeric; cannot select it with {}",
                            show(t)
                        ))),
                    }
                };
                let (lo, hi) = (num(a)?, num(b)?);
                let descending = values.len() > 1 && values[0] > values[values.len() - 1];
                let inside = |v: f64| {
                    if descending {
                        lo.is_none_or(|l| v <= l) && hi.is_none_or(|h| v >= h)
                    } else {
                        lo.is_none_or(|l| v >= l) && hi.is_none_or(|h| v <= h)
                    }
                };
                run(dim, values.iter().map(|&v| inside(v)))?
            }
            (CoordValues::Time { values, units }, sel) => {
                let cal = units.calendar;
                let range = |l: &Label| -> Result<(DateTime, DateTime)> {
                    match l {
                        Label::Text(t) => DateTime::parse_range(t, cal)
                            .map_err(|e| invalid(format!("sel({dim}=...): {e}"))),
                        Label::Num(v) => Err(invalid(format!(
                            "coordinate '{dim}' holds dates; select it with date strings such as \"2013-01-01\", not {v}"
                        ))),
                    }
                };
                let (lo, hi) = match sel {
                    Selector::One(l) => {
                        let (a, b) = range(l)?;
                        (Some(a), Some(b))
                    }
                    Selector::Range(a, b) => (
                        a.as_ref().map(range).transpose()?.map(|r| r.0),
                        b.as_ref().map(range).transpose()?.map(|r| r.1),
                    ),
                };
                let ix = run(
                    dim,
                    values
                        .iter()
                        .map(|t| lo.is_none_or(|l| *t >= l) && hi.is_none_or(|h| *t < h)),
                )?;
                if let (Selector::One(l), Index::Slice(Some(s), Some(e), _)) = (sel, &ix) {
                    if s == e {
                        return Err(invalid(format!(
                            "no time in coordinate '{dim}' matches {}",
                            show(l)
                        )));
                    }
                }
                ix
            }
            (CoordValues::Text(v), Selector::One(Label::Text(t))) => {
                let pos = v.iter().position(|x| x == t).ok_or_else(|| {
                    invalid(format!("label '{t}' not found in coordinate '{dim}'"))
                })?;
                Index::Int(pos as i64)
            }
            (_, s) => {
                return Err(invalid(format!(
                    "cannot select {} coordinate '{dim}' with {s:?}",
                    c.kind()
                )))
            }
        };
        isel.push((dim.clone(), ix));
    }
    x.isel(&isel)
}

/// The contiguous run of positions where `inside` holds, as a slice (empty if none).
/// Matches that are not contiguous (an unsorted coordinate) are an error, as in pandas.
fn run(dim: &str, inside: impl Iterator<Item = bool>) -> Result<Index> {
    let hits: Vec<usize> = inside
        .enumerate()
        .filter_map(|(i, ok)| ok.then_some(i))
        .collect();
    match (hits.first(), hits.last()) {
        (Some(&f), Some(&l)) => {
            if l + 1 - f != hits.len() {
                return Err(invalid(format!(
                    "coordinate '{dim}' is not sorted, so a label range does not select a contiguous block; use isel"
                )));
            }
            Ok(Index::Slice(Some(f as i64), Some(l as i64 + 1), None))
        }
        _ => Ok(Index::Slice(Some(0), Some(0), None)),
    }
}
