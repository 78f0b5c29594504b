//! Reshape planning: choose input chunks so that every input block becomes exactly one
//! output block (a relabelling of bytes, no data movement in the reshape itself).
//!
//! Axes are grouped where the running products of the input and output shapes meet.
//! Within a group, every axis but the first must be whole, and the first axis' chunks are
//! rounded to multiples of `lcm(rest_in, rest_out) / rest_in` elements so the flat ranges
//! of blocks line up with whole output blocks. Merges (`(4, 5) -> (20,)`) keep the input
//! chunks of the leading axis; splits round the chunks to whole output rows. Size-1 axes
//! are set aside first and get single blocks.

use crate::array::axis_chunks::AxisChunks;
use crate::array::limits;
use crate::array::ArrayError;

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Resolves a `-1` in a requested shape and checks the size.
pub fn resolve_shape(
    size: u128,
    in_shape: &[usize],
    want: &[i64],
) -> Result<Vec<usize>, ArrayError> {
    let unknown = want.iter().filter(|&&d| d == -1).count();
    if unknown > 1 {
        return Err(ArrayError::Shape(
            "can only specify one unknown dimension".into(),
        ));
    }
    if let Some(&d) = want.iter().find(|&&d| d < -1) {
        return Err(ArrayError::Shape(format!(
            "negative dimensions not allowed in reshape, got {d}"
        )));
    }
    // Exact products (u128, saturating): a product that wraps must not pass as a match.
    let known: u128 = want
        .iter()
        .filter(|&&d| d != -1)
        .fold(1u128, |acc, &d| acc.saturating_mul(d as u128));
    let out: Vec<usize> = if unknown == 1 {
        if known == 0 || !size.is_multiple_of(known) {
            return Err(ArrayError::Shape(format!(
                "cannot reshape array of size {size} (shape {in_shape:?}) into shape {want:?}"
            )));
        }
        let rest = usize::try_from(size / known).map_err(|_| {
            ArrayError::Shape(format!(
                "cannot reshape array of size {size} (shape {in_shape:?}) into shape {want:?}: the unknown dimension would be {}",
                size / known
            ))
        })?;
        want.iter()
            .map(|&d| if d == -1 { rest } else { d as usize })
            .collect()
    } else {
        want.iter().map(|&d| d as usize).collect()
    };
    let out_size = out
        .iter()
        .fold(1u128, |acc, &d| acc.saturating_mul(d as u128));
    if out_size != size {
        return Err(ArrayError::Shape(format!(
            "cannot reshape array of size {size} (shape {in_shape:?}) into shape {out:?}"
        )));
    }
    Ok(out)
}

/// Largest block a reshape creates by merging input blocks, unless the input already has
/// bigger ones (dask's `array.chunk-size` default, the same target as `chunks="auto"`).
pub const MAX_BLOCK_BYTES: usize = crate::array::chunks::AUTO_CHUNK_BYTES;

/// One run of input axes whose product equals a run of output axes.
struct Group {
    ins: Vec<usize>,
    outs: Vec<usize>,
    /// Product of the input axes after the first, and of the output axes after the first.
    rest_in: usize,
    rest_out: usize,
    /// Lead-axis elements per aligned unit (whole output rows).
    unit: usize,
    /// Chunks of the lead input axis.
    lead: AxisChunks,
    /// Input chunks kept as they are (a merge that needs no data movement).
    kept: bool,
    /// The output axis of a kept merge.
    kept_out: Option<AxisChunks>,
}

/// Given input shape and chunks and the output shape, the input chunks to rechunk to and
/// the output chunks, such that block `b` of the former is block `b` of the latter.
///
/// Per group of axes: a merge whose leading axes are already cut into single elements
/// keeps the input blocks (they are contiguous runs of the merged axis: nothing moves,
/// as in dask's special case). Otherwise the trailing input axes of the group become
/// whole and the lead axis keeps its chunks, rounded to whole output rows; then, while a
/// block would exceed both the input's largest block and [`MAX_BLOCK_BYTES`], the largest
/// lead chunks are halved (splitting is local, it moves nothing).
///
/// Cost: never more than the block limit ([`limits::max_blocks`]) per axis, whatever the
/// number of blocks. Where the rules above would list more blocks than that on one axis
/// (an irregular pattern repeated, or a huge regular axis rounded or halved unevenly),
/// the axis is cut regularly instead, in closed form: a kept merge falls back to the
/// general rule (trailing axes whole), and a lead axis gets regular blocks of the rounded
/// or halved size. The result may still have more blocks than a computation takes; that
/// is refused when it is computed, with the count and a chunking that fits.
pub fn plan(
    in_shape: &[usize],
    in_chunks: &[AxisChunks],
    out_shape: &[usize],
    itemsize: usize,
) -> (Vec<AxisChunks>, Vec<AxisChunks>) {
    let size = in_shape
        .iter()
        .fold(1u128, |acc, &n| acc.saturating_mul(n as u128));
    if size == 0 {
        let whole = |s: &[usize]| s.iter().map(|&n| AxisChunks::whole(n)).collect::<Vec<_>>();
        return (whole(in_shape), whole(out_shape));
    }
    let limit = limits::max_blocks();
    let in_axes: Vec<usize> = (0..in_shape.len()).filter(|&a| in_shape[a] != 1).collect();
    let out_axes: Vec<usize> = (0..out_shape.len())
        .filter(|&a| out_shape[a] != 1)
        .collect();
    let mut groups = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < in_axes.len() && j < out_axes.len() {
        let (i0, j0) = (i, j);
        let mut pi = in_shape[in_axes[i]];
        let mut pj = out_shape[out_axes[j]];
        i += 1;
        j += 1;
        while pi != pj {
            if pi < pj {
                pi *= in_shape[in_axes[i]];
                i += 1;
            } else {
                pj *= out_shape[out_axes[j]];
                j += 1;
            }
        }
        let ins = in_axes[i0..i].to_vec();
        let outs = out_axes[j0..j].to_vec();
        let rest_in: usize = ins[1..].iter().map(|&a| in_shape[a]).product();
        let rest_out: usize = outs[1..].iter().map(|&a| out_shape[a]).product();
        let lcm = rest_in / gcd(rest_in, rest_out) * rest_out;
        let unit = lcm / rest_in;
        // A merge with every axis before the last chunked one cut into single elements,
        // whose output axis has a closed form or few enough blocks to list.
        let last_cut = ins.iter().rposition(|&a| in_chunks[a].len() > 1);
        let kept_out = last_cut
            .filter(|&p| {
                outs.len() == 1
                    && ins.len() > 1
                    && ins[..p].iter().all(|&a| in_chunks[a].len() == in_shape[a])
            })
            .and_then(|p| kept_output(in_shape, in_chunks, &ins, p, limit));
        let kept = kept_out.is_some();
        let lead = if kept {
            in_chunks[ins[0]].clone()
        } else {
            round_to(&in_chunks[ins[0]], unit, in_shape[ins[0]], limit)
        };
        groups.push(Group {
            ins,
            outs,
            rest_in,
            rest_out,
            unit,
            lead,
            kept,
            kept_out,
        });
    }
    let input_max: usize = in_chunks
        .iter()
        .map(|c| c.max().max(1))
        .fold(1usize, |acc, m| acc.saturating_mul(m));
    let cap = input_max.max(MAX_BLOCK_BYTES / itemsize.max(1));
    loop {
        let block: usize = groups
            .iter()
            .map(|g| {
                if g.kept {
                    g.ins
                        .iter()
                        .map(|&a| in_chunks[a].max().max(1))
                        .fold(1usize, |acc, m| acc.saturating_mul(m))
                } else {
                    g.lead.max().max(1).saturating_mul(g.rest_in)
                }
            })
            .fold(1usize, |acc, b| acc.saturating_mul(b));
        if block <= cap {
            break;
        }
        let widest = groups
            .iter_mut()
            .filter(|g| !g.kept && g.lead.max() > g.unit)
            .max_by_key(|g| g.lead.max().saturating_mul(g.rest_in));
        let Some(g) = widest else {
            break;
        };
        let part = (g.lead.max() / 2 / g.unit).max(1) * g.unit;
        g.lead = split(&g.lead, part, limit);
    }
    let mut new_in: Vec<AxisChunks> = in_shape.iter().map(|_| AxisChunks::whole(1)).collect();
    let mut new_out: Vec<AxisChunks> = out_shape.iter().map(|_| AxisChunks::whole(1)).collect();
    for g in groups {
        if let Some(out) = g.kept_out {
            for &a in &g.ins {
                new_in[a] = in_chunks[a].clone();
            }
            new_out[g.outs[0]] = out;
            continue;
        }
        new_out[g.outs[0]] = scale(&g.lead, g.rest_in, g.rest_out);
        new_in[g.ins[0]] = g.lead;
        for &a in &g.ins[1..] {
            new_in[a] = AxisChunks::whole(in_shape[a]);
        }
        for &a in &g.outs[1..] {
            new_out[a] = AxisChunks::whole(out_shape[a]);
        }
    }
    (new_in, new_out)
}

/// The output axis of a kept merge: the chunks of axis `ins[p]` times the elements after
/// it, repeated once per element before it. `None` when that is an irregular pattern of
/// more than `limit` blocks (the caller then does not keep the blocks).
fn kept_output(
    in_shape: &[usize],
    in_chunks: &[AxisChunks],
    ins: &[usize],
    p: usize,
    limit: usize,
) -> Option<AxisChunks> {
    let before = ins[..p]
        .iter()
        .try_fold(1usize, |acc, &a| acc.checked_mul(in_shape[a]))?;
    let after = ins[p + 1..]
        .iter()
        .try_fold(1usize, |acc, &a| acc.checked_mul(in_shape[a]))?;
    let cut = &in_chunks[ins[p]];
    let len = cut.extent().checked_mul(after)?.checked_mul(before)?;
    if before == 1 || cut.len() == 1 || cut.size(cut.len() - 1) == cut.size(0) {
        if let Some(b) = cut.regular_block() {
            return Some(AxisChunks::regular(len, b * after));
        }
    }
    if before.checked_mul(cut.len())? > limit {
        return None;
    }
    Some(AxisChunks::from_sizes(
        (0..before)
            .flat_map(|_| cut.iter().map(move |&c| c * after))
            .collect(),
    ))
}

/// The lead chunks times `rest_in / rest_out` (exact: every chunk is a whole number of
/// output rows).
fn scale(lead: &AxisChunks, rest_in: usize, rest_out: usize) -> AxisChunks {
    // Multiply first (in u128, so no overflow): a chunk of 3 rows of 4 is 2 rows of 6.
    let times = |c: usize| (c as u128 * rest_in as u128 / rest_out.max(1) as u128) as usize;
    let len = times(lead.extent());
    match lead.regular_block() {
        Some(b) => AxisChunks::regular(len, times(b)),
        None => AxisChunks::from_sizes(lead.iter().map(|&c| times(c)).collect()),
    }
}

/// Every chunk split into pieces of `part` (and a remainder). A regular axis whose blocks
/// `part` divides stays in closed form; a split that would list more than `limit` blocks
/// becomes regular blocks of `part`.
fn split(lead: &AxisChunks, part: usize, limit: usize) -> AxisChunks {
    let len = lead.extent();
    if lead.regular_block().is_some_and(|b| b % part == 0) {
        return AxisChunks::regular(len, part);
    }
    // Block count of the split, in closed form for a regular axis.
    let count = match lead.regular_block() {
        Some(b) => {
            let n = lead.len();
            (n as u128 - 1) * b.div_ceil(part) as u128 + lead.size(n - 1).div_ceil(part) as u128
        }
        None => lead.iter().map(|&c| c.div_ceil(part) as u128).sum(),
    };
    if count > limit as u128 {
        return AxisChunks::regular(len, part);
    }
    AxisChunks::from_sizes(
        lead.iter()
            .flat_map(|&c| {
                let mut parts = vec![part; c / part];
                if c % part > 0 {
                    parts.push(c % part);
                }
                parts
            })
            .collect(),
    )
}

/// Block boundaries of one axis rounded to multiples of `unit` (the last one to the end).
/// A regular axis whose block is a multiple of `unit` is kept; one with more than `limit`
/// blocks becomes regular blocks of its block rounded to `unit` (never zero).
fn round_to(chunks: &AxisChunks, unit: usize, len: usize, limit: usize) -> AxisChunks {
    if let Some(b) = chunks.regular_block() {
        if b % unit == 0 {
            return chunks.clone();
        }
        if chunks.len() > limit {
            let rounded = ((b + unit / 2) / unit).max(1) * unit;
            return AxisChunks::regular(len, rounded);
        }
    }
    let mut bounds = vec![0usize];
    let mut acc = 0;
    for &c in chunks.iter() {
        acc += c;
        let r = ((acc + unit / 2) / unit * unit).min(len);
        if r > *bounds.last().unwrap_or(&0) {
            bounds.push(r);
        }
    }
    if *bounds.last().unwrap_or(&0) != len {
        bounds.push(len);
    }
    AxisChunks::from_sizes(bounds.windows(2).map(|w| w[1] - w[0]).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ax(c: &[Vec<usize>]) -> Vec<AxisChunks> {
        c.iter()
            .map(|v| AxisChunks::from_sizes(v.clone()))
            .collect()
    }

    fn blocks(c: &[AxisChunks]) -> usize {
        c.iter().map(|v| v.len()).product()
    }

    #[test]
    fn merge_keeps_leading_chunks() {
        let (i, o) = plan(&[4, 5], &ax(&[vec![2, 2], vec![5]]), &[20], 8);
        assert_eq!(i, vec![vec![2, 2], vec![5]]);
        assert_eq!(o, vec![vec![10, 10]]);
    }

    #[test]
    fn split_rounds_to_rows() {
        let (i, o) = plan(&[24], &ax(&[vec![5, 5, 5, 5, 4]]), &[4, 6], 8);
        assert_eq!(blocks(&i), blocks(&o));
        assert!(i[0].iter().all(|c| c % 6 == 0));
        assert_eq!(o[1], vec![6]);
    }

    #[test]
    fn dask_release_note_case() {
        let chunks: Vec<Vec<usize>> = vec![
            vec![2],
            vec![2, 1],
            vec![2, 2],
            vec![2, 2, 1],
            vec![2, 2, 2],
        ];
        let (i, o) = plan(&[2, 3, 4, 5, 6], &ax(&chunks), &[6, 2, 2, 30, 1], 8);
        assert_eq!(blocks(&i), blocks(&o));
        assert_eq!(
            o.iter()
                .map(|c| c.iter().sum::<usize>())
                .collect::<Vec<_>>(),
            vec![6, 2, 2, 30, 1]
        );
    }

    #[test]
    fn interleaved_groups() {
        let (i, o) = plan(&[6, 4], &ax(&[vec![3, 3], vec![2, 2]]), &[4, 6], 8);
        assert_eq!(blocks(&i), blocks(&o));
        assert_eq!(i[1], vec![4]);
    }

    #[test]
    fn merging_single_element_rows_moves_nothing() {
        // (4, 4) cut into rows of one and columns of two: blocks are already runs.
        let (i, o) = plan(&[4, 4], &ax(&[vec![1; 4], vec![2, 2]]), &[16], 8);
        assert_eq!(i, vec![vec![1; 4], vec![2, 2]]);
        assert_eq!(o, vec![vec![2; 8]]);
    }

    #[test]
    fn merged_blocks_stay_below_the_cap() {
        // (3650, 720, 1440) float32 in space blocks: merging the space axes would make
        // 1.5 GB blocks; the lead axes are cut instead.
        let chunks = vec![vec![365; 10], vec![90; 8], vec![90; 16]];
        let (i, o) = plan(&[3650, 720, 1440], &ax(&chunks), &[3650, 720 * 1440], 4);
        let biggest: usize = i
            .iter()
            .map(|c| c.iter().copied().max().unwrap_or(0))
            .product();
        assert!(biggest * 4 <= MAX_BLOCK_BYTES, "{biggest}");
        assert_eq!(i[2], vec![1440]);
        assert_eq!(o[1].iter().sum::<usize>(), 720 * 1440);
        assert_eq!(blocks(&i), blocks(&o));
    }

    #[test]
    fn resolve() {
        assert_eq!(resolve_shape(24, &[2, 12], &[-1, 6]).unwrap(), vec![4, 6]);
        assert!(resolve_shape(24, &[24], &[5, -1]).is_err());
        assert!(resolve_shape(24, &[24], &[-1, -1]).is_err());
        assert!(resolve_shape(24, &[24], &[5, 5]).is_err());
    }
}
