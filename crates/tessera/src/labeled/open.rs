//! Opening a file variable as a labeled array: the IO layer reads the values lazily and
//! the index coordinates whole; here they get their meaning (a coordinate with CF time
//! units becomes dates in its calendar, as xarray decodes it).

use super::time::TimeUnits;
use super::{Coord, CoordValues, DataArray};
use crate::error::{Error, Result};
use crate::io::open::{open_variable, IndexCoord, OpenOptions};
use std::path::Path;

/// Opens `var` of the file at `path` as a lazy labeled array.
pub fn open(path: &Path, var: &str, opts: &OpenOptions) -> Result<DataArray> {
    let p = crate::quote::path(path);
    let v = open_variable(path, var, opts)?;
    let coords = v
        .coords
        .into_iter()
        .map(|c| Ok((c.dim.clone(), label(c, opts.decode, &p)?)))
        .collect::<Result<Vec<_>>>()?;
    let mut da = DataArray::new(v.data, v.dims, coords)
        .map_err(|e| Error::Io(format!("{p}: variable '{var}': {e}")))?;
    da.name = Some(v.name);
    da.attrs = v.attrs;
    Ok(da)
}

/// The coordinate's values as labels: dates when decoding and the units say
/// `UNIT since DATE` (a time axis with missing values stays numeric: there is no "not a
/// time" label), else numbers.
fn label(c: IndexCoord, decode: bool, shown_path: &str) -> Result<Coord> {
    let units = c.text_attr("units").map(str::to_string);
    let is_time = decode
        && units.as_deref().is_some_and(|u| u.contains(" since "))
        && c.values.iter().all(|v| v.is_finite());
    let values = if is_time {
        let dim = &c.dim;
        let tu = TimeUnits::parse(units.as_deref().unwrap_or(""), c.text_attr("calendar"))
            .map_err(|e| Error::Io(format!("{shown_path}: variable '{dim}': {e}")))?;
        let times = c
            .values
            .iter()
            .map(|&v| tu.decode(v))
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::Io(format!("{shown_path}: variable '{dim}': {e}")))?;
        CoordValues::Time {
            values: times,
            units: tu,
        }
    } else {
        CoordValues::Num {
            dtype: c.dtype,
            values: c.values,
        }
    };
    Ok(Coord {
        values,
        attrs: c.attrs,
    })
}
