//! Basic indexing planned on the chunk grid, as dask does: every output block is cut from
//! exactly one input block, so a slice never moves data between workers and never
//! touches blocks it does not select.

use super::chunks::{AxisChunks, ChunkGrid};
use super::error::ArrayError;
use super::graph::{AxisPick, RangePiece};
use super::limits;

/// One item of a subscript, after parsing.
#[derive(Debug, Clone, PartialEq)]
pub enum Index {
    /// `x[3]`, `x[-1]`
    Int(i64),
    /// `x[a:b:c]`, each part optional.
    Slice(Option<i64>, Option<i64>, Option<i64>),
    /// `...`
    Ellipsis,
    /// `None`
    NewAxis,
}

/// Python's `slice.indices(len)`: normalised `(start, stop, step)` and the element count.
/// Exact for every `i64` bound and step (the arithmetic is done in `i128`, so a step near
/// `i64::MAX` selects one element as numpy does instead of wrapping to none).
pub fn slice_indices(
    len: usize,
    start: Option<i64>,
    stop: Option<i64>,
    step: Option<i64>,
) -> Result<(i64, i64, i64, usize), ArrayError> {
    let n = i64::try_from(len).map_err(|_| {
        ArrayError::Overflow(format!(
            "cannot slice an axis of length {len} (more than {})",
            i64::MAX
        ))
    })? as i128;
    let step = step.unwrap_or(1) as i128;
    if step == 0 {
        return Err(ArrayError::Invalid("slice step cannot be zero".into()));
    }
    let clamp = |v: i128, lo: i128, hi: i128| v.max(lo).min(hi);
    let norm = |v: i64| {
        let v = v as i128;
        if v < 0 {
            v + n
        } else {
            v
        }
    };
    let (start, stop) = if step > 0 {
        (
            start.map(|s| clamp(norm(s), 0, n)).unwrap_or(0),
            stop.map(|s| clamp(norm(s), 0, n)).unwrap_or(n),
        )
    } else {
        (
            start.map(|s| clamp(norm(s), -1, n - 1)).unwrap_or(n - 1),
            stop.map(|s| clamp(norm(s), -1, n - 1)).unwrap_or(-1),
        )
    };
    let count = if step > 0 {
        if stop > start {
            (stop - start + step - 1) / step
        } else {
            0
        }
    } else if start > stop {
        (start - stop + (-step) - 1) / (-step)
    } else {
        0
    };
    // Every value is within [-1, len] (or the step given), so the casts are exact.
    Ok((start as i64, stop as i64, step as i64, count as usize))
}

/// Pieces of one axis selected by a normalised slice, one per touched input block, in
/// output order.
pub fn range_pieces(axis: &AxisChunks, start: i64, step: i64, count: usize) -> Vec<RangePiece> {
    if count == 0 {
        return vec![RangePiece {
            block: 0,
            start: 0,
            step: 1,
            len: 0,
        }];
    }
    let nblocks = axis.len();
    let (start, step) = (start as i128, step as i128);
    let last = start + (count as i128 - 1) * step;
    let mut pieces = Vec::new();
    let block_of = |p: i128| axis.block_of(p as usize);
    let bounds = |b: usize| (axis.offset(b) as i128, axis.offset(b + 1) as i128);
    if step > 0 {
        for b in block_of(start)..=block_of(last).min(nblocks - 1) {
            let (lo, hi) = bounds(b);
            let first = if start >= lo {
                start
            } else {
                start + (lo - start + step - 1) / step * step
            };
            let end = hi.min(last + 1);
            if first < end {
                let len = ((end - first + step - 1) / step) as usize;
                pieces.push(RangePiece {
                    block: b,
                    start: (first - lo) as usize,
                    step: step as isize,
                    len,
                });
            }
        }
    } else {
        let s = -step;
        let (bstart, blast) = (block_of(start), block_of(last));
        for b in (blast..=bstart.min(nblocks - 1)).rev() {
            let (lo, hi) = bounds(b);
            let first = if start < hi {
                start
            } else {
                start - (start - (hi - 1) + s - 1) / s * s
            };
            let lower = lo.max(last);
            if first >= lower {
                let len = ((first - lower) / s + 1) as usize;
                pieces.push(RangePiece {
                    block: b,
                    start: (first - lo) as usize,
                    step: step as isize,
                    len,
                });
            }
        }
    }
    pieces
}

/// Plans `x[items]` on a grid: the per-axis picks (in output order) and the output grid.
pub fn plan(grid: &ChunkGrid, items: &[Index]) -> Result<(Vec<AxisPick>, ChunkGrid), ArrayError> {
    let shape = grid.shape();
    let ndim = shape.len();
    let ellipses = items
        .iter()
        .filter(|i| matches!(i, Index::Ellipsis))
        .count();
    if ellipses > 1 {
        return Err(ArrayError::Invalid(
            "an index can only have a single ellipsis ('...')".into(),
        ));
    }
    let consuming = items
        .iter()
        .filter(|i| matches!(i, Index::Int(_) | Index::Slice(..)))
        .count();
    if consuming > ndim {
        return Err(ArrayError::Invalid(format!(
            "too many indices for array: array is {ndim}-dimensional, but {consuming} were indexed"
        )));
    }
    let mut expanded: Vec<Index> = Vec::new();
    for it in items {
        if let Index::Ellipsis = it {
            for _ in 0..ndim - consuming {
                expanded.push(Index::Slice(None, None, None));
            }
        } else {
            expanded.push(it.clone());
        }
    }
    if ellipses == 0 {
        for _ in consuming..ndim {
            expanded.push(Index::Slice(None, None, None));
        }
    }
    let mut picks = Vec::new();
    let mut out_chunks = Vec::new();
    let mut axis = 0;
    for it in expanded {
        match it {
            Index::NewAxis => {
                picks.push(AxisPick::NewAxis);
                out_chunks.push(AxisChunks::whole(1));
            }
            Index::Int(i) => {
                let len = shape[axis];
                let p = if i < 0 { i + len as i64 } else { i };
                if p < 0 || p >= len as i64 {
                    return Err(ArrayError::IndexOutOfRange {
                        index: i,
                        axis,
                        len,
                    });
                }
                let ax = grid.axis(axis);
                let block = ax.block_of(p as usize);
                picks.push(AxisPick::Index {
                    block,
                    local: p as usize - ax.offset(block),
                });
                axis += 1;
            }
            Index::Slice(a, b, c) => {
                let (start, _stop, step, count) = slice_indices(shape[axis], a, b, c)?;
                let ax = grid.axis(axis);
                if start == 0 && step == 1 && count == shape[axis] && count > 0 {
                    picks.push(AxisPick::Whole);
                    out_chunks.push(ax.clone());
                    axis += 1;
                    continue;
                }
                if count > 0 {
                    // The pieces are listed one per touched block: refuse a list longer
                    // than a computation could run.
                    let last = (start as i128 + (count as i128 - 1) * step as i128) as usize;
                    let (lo, hi) = (ax.block_of(start as usize), ax.block_of(last));
                    limits::check_axis_blocks(lo.abs_diff(hi) + 1, shape[axis], "slicing")?;
                }
                // One element: the step does not matter, and 1 keeps later compositions
                // of steps (slices of slices, hyperslabs) from overflowing.
                let step = if count <= 1 { 1 } else { step };
                let pieces = range_pieces(ax, start, step, count);
                out_chunks.push(AxisChunks::from_sizes(
                    pieces.iter().map(|p| p.len).collect(),
                ));
                picks.push(AxisPick::Range(pieces));
                axis += 1;
            }
            Index::Ellipsis => {}
        }
    }
    Ok((picks, ChunkGrid::new(out_chunks)))
}

/// For an output block, the input block it is cut from and the per-axis selection
/// (`(start, step, len)` or an index) within that input block.
pub fn source_block(picks: &[AxisPick], out_idx: &[usize]) -> (Vec<usize>, Vec<LocalPick>) {
    let mut in_idx = Vec::new();
    let mut local = Vec::new();
    let mut o = 0;
    for p in picks {
        match p {
            AxisPick::Index { block, local: l } => {
                in_idx.push(*block);
                local.push(LocalPick::Index(*l));
            }
            AxisPick::Range(pieces) => {
                let piece = &pieces[out_idx[o]];
                in_idx.push(piece.block);
                local.push(LocalPick::Range {
                    start: piece.start,
                    step: piece.step,
                    len: piece.len,
                });
                o += 1;
            }
            AxisPick::Whole => {
                in_idx.push(out_idx[o]);
                local.push(LocalPick::Whole);
                o += 1;
            }
            AxisPick::NewAxis => {
                local.push(LocalPick::NewAxis);
                o += 1;
            }
        }
    }
    (in_idx, local)
}

/// Selection within one block.
#[derive(Debug, Clone, PartialEq)]
pub enum LocalPick {
    /// One position (axis dropped).
    Index(usize),
    /// Strided positions.
    Range {
        /// First position.
        start: usize,
        /// Step, may be negative.
        step: isize,
        /// Count.
        len: usize,
    },
    /// New axis.
    NewAxis,
    /// The whole block along this axis.
    Whole,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(
        len: usize,
        chunks: Vec<usize>,
        a: Option<i64>,
        b: Option<i64>,
        c: Option<i64>,
    ) -> (Vec<usize>, Vec<usize>) {
        let g = ChunkGrid::new(vec![chunks]);
        let (picks, out) = plan(&g, &[Index::Slice(a, b, c)]).unwrap();
        assert_eq!(out.shape()[0], slice_indices(len, a, b, c).unwrap().3);
        // Expand to the global positions selected.
        let mut positions = Vec::new();
        if let AxisPick::Whole = &picks[0] {
            positions.extend(0..len);
        }
        if let AxisPick::Range(pieces) = &picks[0] {
            for p in pieces {
                let lo = g.axis(0).offset(p.block) as isize;
                for k in 0..p.len as isize {
                    positions.push((lo + p.start as isize + k * p.step) as usize);
                }
            }
        }
        (out.chunks()[0].to_vec(), positions)
    }

    #[test]
    fn slices_match_python() {
        let cases: &[(Option<i64>, Option<i64>, Option<i64>)] = &[
            (None, None, None),
            (Some(2), Some(9), None),
            (Some(-3), None, None),
            (None, None, Some(-1)),
            (Some(8), Some(1), Some(-3)),
            (None, None, Some(3)),
            (Some(1), Some(-1), Some(2)),
            (Some(5), Some(2), None),
            (Some(100), None, Some(-2)),
            (Some(-100), Some(100), Some(4)),
        ];
        for &(a, b, c) in cases {
            let (_, pos) = sel(10, vec![3, 3, 4], a, b, c);
            let (s, _, st, n) = slice_indices(10, a, b, c).unwrap();
            let want: Vec<usize> = (0..n as i64).map(|k| (s + k * st) as usize).collect();
            assert_eq!(pos, want, "{a:?}:{b:?}:{c:?}");
        }
    }

    #[test]
    fn steps_near_i64_max_like_numpy() {
        // issue #13 item 5: numpy gives arange(10)[::9223372036854775806] == [0] and
        // arange(10)[::-9223372036854775807] == [9]; the i64 arithmetic wrapped to [].
        let (_, pos) = sel(10, vec![3, 3, 4], None, None, Some(i64::MAX - 1));
        assert_eq!(pos, vec![0]);
        let (_, pos) = sel(10, vec![3, 3, 4], None, None, Some(-i64::MAX));
        assert_eq!(pos, vec![9]);
        let (_, pos) = sel(
            10,
            vec![3, 3, 4],
            Some(i64::MIN),
            Some(i64::MAX),
            Some(i64::MAX),
        );
        assert_eq!(pos, vec![0]);
        let (_, pos) = sel(
            10,
            vec![3, 3, 4],
            Some(i64::MAX),
            Some(i64::MIN),
            Some(i64::MIN),
        );
        assert_eq!(pos, vec![9]);
    }

    #[test]
    fn chunks_like_dask() {
        assert_eq!(sel(10, vec![5, 5], Some(2), Some(8), None).0, vec![3, 3]);
        assert_eq!(sel(10, vec![5, 5], None, None, Some(-1)).0, vec![5, 5]);
        assert_eq!(sel(10, vec![5, 5], Some(5), Some(5), None).0, vec![0]);
    }

    #[test]
    fn errors() {
        let g = ChunkGrid::new(vec![vec![5]]);
        assert!(plan(&g, &[Index::Int(5)]).is_err());
        assert!(plan(&g, &[Index::Int(-6)]).is_err());
        assert!(plan(&g, &[Index::Int(0), Index::Int(0)]).is_err());
        assert!(plan(&g, &[Index::Slice(None, None, Some(0))]).is_err());
        assert!(plan(&g, &[Index::Ellipsis, Index::Ellipsis]).is_err());
    }
}
