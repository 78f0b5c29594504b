//! Writing a labeled array to NetCDF-4 or HDF5: its coordinates encoded as CF says (dates
//! back to numbers in their units and calendar), its blocks computed by the workers and
//! streamed into the IO layer's [`FileSink`] on a writer thread as they arrive, at most a
//! few in flight (so a result larger than memory writes with bounded memory, and computing
//! the next blocks overlaps writing this one).

use super::{CoordValues, DataArray};
use crate::array::chunk::Chunk;
use crate::error::{Error, Result};
use crate::io::write::{CoordData, FileSink, OutputCoord, OutputVar, WriteOptions, WriteStats};
use crate::runtime::Client;
use std::path::Path;

/// Writes `da` as variable `var` of a new file at `path` (NetCDF-4 or HDF5 by extension),
/// complete or not at all.
pub fn write(
    client: &Client,
    da: &DataArray,
    path: &Path,
    var: &str,
    opts: &WriteOptions,
) -> Result<WriteStats> {
    let p = crate::quote::path(path);
    let out = describe(da, var).map_err(|e| at(&p, e))?;
    let mut sink = FileSink::create(path, &out, opts)?;
    let (tx, rx) = crossbeam_channel::bounded::<(Vec<usize>, Chunk)>(4);
    let streamed = std::thread::scope(|scope| {
        let sink = &mut sink;
        let writer = scope.spawn(move || -> Result<()> {
            for (offset, c) in rx.iter() {
                sink.write_block(&offset, &c)?;
            }
            Ok(())
        });
        let mut send = |offset: &[usize], c: Chunk| -> Result<()> {
            tx.send((offset.to_vec(), c))
                .map_err(|_| Error::Io("the writer stopped".into()))
        };
        let computed = client.compute_blocks(&da.data, &mut send);
        drop(tx);
        let written = writer
            .join()
            .map_err(|_| Error::Internal("the writer thread panicked".into()))?;
        // A writer error explains a failed send better than the send itself.
        match (computed, written) {
            (_, Err(e)) => Err(e),
            (Err(e), _) => Err(e),
            (Ok(()), Ok(())) => Ok(()),
        }
    });
    streamed.map_err(|e| at(&p, e))?;
    Ok(sink.finish()?)
}

/// The output's description: dimensions, type, shape, first block, attributes and the
/// coordinates (except one written as the variable itself, `x.lat`).
fn describe(da: &DataArray, var: &str) -> Result<OutputVar> {
    let coords = da
        .coords
        .iter()
        .filter(|(n, _)| n != var)
        .map(|(name, c)| {
            let values = match &c.values {
                CoordValues::Num { dtype, values } => CoordData::Num {
                    dtype: *dtype,
                    values: values.clone(),
                },
                CoordValues::Time { values, units } => CoordData::Time {
                    encoded: values
                        .iter()
                        .map(|t| units.encode(t))
                        .collect::<std::result::Result<_, _>>()
                        .map_err(|e| Error::Io(format!("coordinate '{name}': {e}")))?,
                    units: units.to_cf_string(),
                    calendar: units.calendar.name().to_string(),
                },
                CoordValues::Text(labels) => CoordData::Text(labels.clone()),
            };
            Ok(OutputCoord {
                name: name.clone(),
                values,
                attrs: c.attrs.clone(),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(OutputVar {
        name: var.to_string(),
        dims: da.dims.clone(),
        dtype: da.data.dtype(),
        shape: da.data.shape(),
        block: da
            .data
            .chunks()
            .iter()
            .map(|axis| axis.first().unwrap_or(1))
            .collect(),
        attrs: da.attrs.clone(),
        coords,
    })
}

/// An error of writing the file shown as `shown`, prefixed with it.
fn at(shown: &str, e: Error) -> Error {
    match e {
        Error::Io(m) => Error::Io(format!("{shown}: {m}")),
        other => other,
    }
}
