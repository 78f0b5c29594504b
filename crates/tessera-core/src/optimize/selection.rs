//! Slices as positions in the whole array, for composing and moving them.
//!
//! A planned slice ([`AxisPick`]) says which block and which elements of it each output
//! block takes: right for running it, awkward for rewriting it. [`Sel`] is the same
//! selection in global positions, one entry per output item of `x[...]`; it converts
//! back to picks for any input grid, which is how a slice moves below an operation that
//! changes the grid (a transpose, a reduction) or merges with another slice.

use crate::array::chunks::{AxisChunks, ChunkGrid};
use crate::array::graph::AxisPick;
use crate::array::slicing::range_pieces;

/// One item of a basic-indexing selection, in global positions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sel {
    /// A single position; the axis disappears.
    Index(usize),
    /// Positions `start + step * k` for `k < len`.
    Range {
        /// First position.
        start: usize,
        /// Step, negative for reversed selections.
        step: isize,
        /// Number of positions.
        len: usize,
    },
    /// A new axis of length 1 (consumes no input axis).
    New,
}

impl Sel {
    /// The whole axis of length `n`, in order.
    pub fn all(n: usize) -> Sel {
        Sel::Range {
            start: 0,
            step: 1,
            len: n,
        }
    }

    /// True for the items that consume an input axis.
    pub fn consumes(&self) -> bool {
        !matches!(self, Sel::New)
    }
}

/// The global selection of planned picks over `grid` (the sliced array's grid).
pub fn from_picks(picks: &[AxisPick], grid: &ChunkGrid) -> Vec<Sel> {
    let mut a = 0;
    picks
        .iter()
        .map(|p| match p {
            AxisPick::NewAxis => Sel::New,
            AxisPick::Whole => {
                let s = Sel::Range {
                    start: 0,
                    step: 1,
                    len: grid.axis(a).extent(),
                };
                a += 1;
                s
            }
            AxisPick::Index { block, local } => {
                let s = Sel::Index(grid.axis(a).offset(*block) + local);
                a += 1;
                s
            }
            AxisPick::Range(pieces) => {
                let len: usize = pieces.iter().map(|p| p.len).sum();
                let s = match pieces.iter().find(|p| p.len > 0) {
                    Some(first) => Sel::Range {
                        start: grid.axis(a).offset(first.block) + first.start,
                        step: first.step,
                        len,
                    },
                    None => Sel::Range {
                        start: 0,
                        step: 1,
                        len: 0,
                    },
                };
                a += 1;
                s
            }
        })
        .collect()
}

/// Plans a global selection over `grid`: the picks and the output grid (blocks split
/// where the selection crosses input blocks, as the slicing planner does).
pub fn to_picks(sels: &[Sel], grid: &ChunkGrid) -> (Vec<AxisPick>, ChunkGrid) {
    let mut picks = Vec::with_capacity(sels.len());
    let mut chunks = Vec::new();
    let mut a = 0;
    for s in sels {
        match *s {
            Sel::New => {
                picks.push(AxisPick::NewAxis);
                chunks.push(AxisChunks::whole(1));
            }
            Sel::Index(g) => {
                let ax = grid.axis(a);
                let block = ax.block_of(g);
                picks.push(AxisPick::Index {
                    block,
                    local: g - ax.offset(block),
                });
                a += 1;
            }
            Sel::Range {
                start: 0,
                step: 1,
                len,
            } if len > 0 && len == grid.axis(a).extent() => {
                picks.push(AxisPick::Whole);
                chunks.push(grid.axis(a).clone());
                a += 1;
            }
            Sel::Range { start, step, len } => {
                let pieces = range_pieces(grid.axis(a), start as i64, step as i64, len);
                chunks.push(AxisChunks::from_sizes(
                    pieces.iter().map(|p| p.len).collect(),
                ));
                picks.push(AxisPick::Range(pieces));
                a += 1;
            }
        }
    }
    (picks, ChunkGrid::new(chunks))
}

/// True when the selection takes every element of `shape` in order and adds no axis.
pub fn is_identity(sels: &[Sel], shape: &[usize]) -> bool {
    sels.len() == shape.len()
        && sels.iter().zip(shape).all(|(s, &n)| match *s {
            Sel::Range { start, step, len } => len == n && (start == 0 && step == 1 || n <= 1),
            _ => false,
        })
}

/// `x[inner][outer]` as one selection on `x`, or `None` when it cannot be written as one
/// (a zero-length range over a new axis).
pub fn compose(outer: &[Sel], inner: &[Sel]) -> Option<Vec<Sel>> {
    let mut out = Vec::with_capacity(inner.len() + outer.len());
    let mut j = 0;
    for it in inner {
        if let Sel::Index(g) = it {
            out.push(Sel::Index(*g));
            continue;
        }
        while let Some(Sel::New) = outer.get(j) {
            out.push(Sel::New);
            j += 1;
        }
        let o = outer.get(j)?;
        j += 1;
        match (it, o) {
            (Sel::Range { start, step, .. }, Sel::Index(k)) => {
                out.push(Sel::Index((*start as isize + step * *k as isize) as usize))
            }
            (
                Sel::Range { start, step, .. },
                Sel::Range {
                    start: s2,
                    step: t2,
                    len,
                },
            ) => out.push(if *len == 0 {
                Sel::Range {
                    start: 0,
                    step: 1,
                    len: 0,
                }
            } else {
                Sel::Range {
                    start: (*start as isize + step * *s2 as isize) as usize,
                    step: step * t2,
                    len: *len,
                }
            }),
            (Sel::New, Sel::Index(_)) => {}
            (Sel::New, Sel::Range { len: 1, .. }) => out.push(Sel::New),
            _ => return None,
        }
    }
    while let Some(o) = outer.get(j) {
        if *o != Sel::New {
            return None;
        }
        out.push(Sel::New);
        j += 1;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::slicing::{plan, Index};

    fn global(items: &[Index], chunks: Vec<Vec<usize>>) -> (Vec<Sel>, ChunkGrid) {
        let g = ChunkGrid::new(chunks);
        let (picks, out) = plan(&g, items).unwrap();
        assert_eq!(
            to_picks(&from_picks(&picks, &g), &g),
            (picks.clone(), out.clone())
        );
        (from_picks(&picks, &g), out)
    }

    #[test]
    fn round_trips_through_picks() {
        let (s, _) = global(
            &[
                Index::Slice(Some(-2), None, Some(-3)),
                Index::NewAxis,
                Index::Int(7),
            ],
            vec![vec![4, 4, 4], vec![5, 5]],
        );
        assert_eq!(
            s,
            vec![
                Sel::Range {
                    start: 10,
                    step: -3,
                    len: 4
                },
                Sel::New,
                Sel::Index(7)
            ]
        );
    }

    #[test]
    fn composes_like_numpy() {
        // x[2:20:3][::-2] on a length-30 axis: inner picks 2,5,...,17 (6), outer 5,3,1.
        let inner = vec![Sel::Range {
            start: 2,
            step: 3,
            len: 6,
        }];
        let outer = vec![Sel::Range {
            start: 5,
            step: -2,
            len: 3,
        }];
        assert_eq!(
            compose(&outer, &inner).unwrap(),
            vec![Sel::Range {
                start: 17,
                step: -6,
                len: 3
            }]
        );
        let outer = vec![Sel::New, Sel::Index(1)];
        assert_eq!(
            compose(&outer, &inner).unwrap(),
            vec![Sel::New, Sel::Index(5)]
        );
    }
}
