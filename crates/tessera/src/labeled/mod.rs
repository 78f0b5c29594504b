//! Named dimensions and coordinates over lazy arrays: the xarray vocabulary climate users
//! think in (`x.mean("time")`, `x.groupby("time.month")`, `x.sel(lat=slice(60, 30))`).
//!
//! A [`DataArray`] is a [`DArray`](crate::array::graph::DArray) plus dimension names,
//! index coordinates (small, held by the caller) and attributes. Every operation here is
//! a rewrite into the positional array layer: names become axes, labels become positions,
//! groups become label vectors; nothing is computed.

pub mod coords;
pub mod dataarray;
pub mod groupby;
pub mod info;
pub mod open;
pub mod select;
pub mod time;
pub mod write;

pub use coords::{Coord, CoordValues};
pub use dataarray::DataArray;
