//! How results look to people: numpy-like text and the `--json` object.

use crate::array::axis_chunks::AxisChunks;
use crate::array::chunk::Chunk;
use crate::array::dtype::{DType, Element};
use crate::expr::eval::Value;
use crate::with_dtype;
use serde_json::{json, Value as Json};

/// `tas (time: 1096, lat: 12, lon: 16)` and one line per coordinate (first and last labels).
pub fn describe_labels(d: &crate::labeled::DataArray) -> String {
    let dims: Vec<String> = d.sizes().iter().map(|(n, l)| format!("{n}: {l}")).collect();
    let mut out = format!(
        "{} ({})",
        d.name.as_deref().unwrap_or("<array>"),
        dims.join(", ")
    );
    for (name, c) in &d.coords {
        let vals: Vec<String> = match c.to_json() {
            Json::Array(v) => v
                .iter()
                .map(|x| match x {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect(),
            _ => vec![],
        };
        let shown = if vals.len() > 6 {
            format!("{}, {}, ..., {}", vals[0], vals[1], vals[vals.len() - 1])
        } else {
            vals.join(", ")
        };
        out.push_str(&format!("\n  {name} ({}): {shown}", c.dtype_name()));
    }
    out
}

/// Dimension names and coordinates of a labeled result, for `--json`.
pub fn labels_json(v: &Value) -> Option<(Json, Json)> {
    let Value::Labeled(d) = v else { return None };
    let coords: serde_json::Map<String, Json> = d
        .coords
        .iter()
        .map(|(n, c)| (n.clone(), c.to_json()))
        .collect();
    Some((json!(d.dims), Json::Object(coords)))
}

/// One element as JSON (NaN and infinities as strings).
pub fn num_json<T: Element>(x: T, dtype: DType) -> Json {
    if dtype == DType::Bool {
        return Json::Bool(x.to_f64() != 0.0);
    }
    if dtype.is_float() {
        let v = x.to_f64();
        if v.is_nan() {
            return json!("nan");
        }
        if v.is_infinite() {
            return json!(if v > 0.0 { "inf" } else { "-inf" });
        }
        return json!(v);
    }
    if dtype.is_unsigned_int() {
        json!(x.to_i128() as u64)
    } else {
        json!(x.to_i128() as i64)
    }
}

/// A chunk's elements in C order as a JSON array.
pub fn data_json(c: &Chunk) -> Json {
    with_dtype!(c.dtype, T, {
        Json::Array(
            c.view::<T>()
                .iter()
                .map(|&x| num_json(x, c.dtype))
                .collect(),
        )
    })
}

/// A numpy-like rendering, abbreviated for large arrays.
pub fn render(c: &Chunk) -> String {
    let vals: Vec<String> = with_dtype!(c.dtype, T, {
        c.view::<T>()
            .iter()
            .take(1000)
            .map(|&x| match num_json(x, c.dtype) {
                Json::String(s) => s,
                v => v.to_string(),
            })
            .collect()
    });
    let body = if c.len() > 1000 {
        format!("{}, ...", vals.join(", "))
    } else {
        vals.join(", ")
    };
    if c.shape.is_empty() {
        format!("{} ({})", body, c.dtype)
    } else {
        format!("array(shape={:?}, dtype={}) [{}]", c.shape, c.dtype, body)
    }
}

/// The table printed after a job: wall time, throughput, bytes moved and each worker's
/// tasks, busy time and peak memory.
pub fn summary_table(r: &crate::runtime::RunReport) -> String {
    let mb = |b: u64| b as f64 / 1e6;
    let wall = r.wall_seconds.max(1e-9);
    let mut out = format!(
        "wall {:.2} s | {} tasks ({:.0}/s) | read {:.1} MB ({:.0} MB/s) | moved {:.1} MB | gathered {:.1} MB | spilled {:.1} MB, re-read {:.1} MB\n",
        r.wall_seconds,
        r.tasks,
        r.tasks as f64 / wall,
        mb(r.bytes_read),
        mb(r.bytes_read) / wall,
        mb(r.bytes_moved),
        mb(r.bytes_gathered),
        mb(r.bytes_spilled),
        mb(r.bytes_unspilled)
    );
    out.push_str("worker  tasks   busy s   sent MB   recv MB   read MB  spill MB  peak store MB  peak RSS MB\n");
    for w in &r.workers {
        out.push_str(&format!(
            "{:>6} {:>6} {:>8.2} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>14.1} {:>12.1}\n",
            w.rank,
            w.tasks,
            w.busy_seconds,
            mb(w.bytes_sent),
            mb(w.bytes_received),
            mb(w.bytes_read),
            mb(w.bytes_spilled),
            mb(w.peak_store_bytes),
            mb(w.peak_rss_bytes)
        ));
    }
    out
}

pub use crate::runtime::console::console_line;

/// `chunks` of the `--json` object: per axis the list of block sizes, as dask's `.chunks`,
/// except a regular axis of more than
/// [`LIST_BLOCKS_UP_TO`](crate::array::axis_chunks::LIST_BLOCKS_UP_TO) blocks, which is the object
/// `{"size": b, "blocks": n, "last": r}` (`n` blocks, all of `b` but the last of `r`): a
/// lazy array may have 10**12 blocks, and its chunks must print in a few bytes.
pub fn chunks_json(chunks: &[AxisChunks]) -> Json {
    Json::Array(
        chunks
            .iter()
            .map(|c| {
                if c.is_listed() {
                    json!(c.to_vec())
                } else {
                    json!({"size": c[0], "blocks": c.len(), "last": c[c.len() - 1]})
                }
            })
            .collect(),
    )
}

/// `chunks=` of the text line: Python-like per-axis lists, a long regular axis as
/// `1000x999999+1` (999999 blocks of 1000, then one of 1).
pub fn chunks_text(chunks: &[AxisChunks]) -> String {
    format!("{chunks:?}")
}
