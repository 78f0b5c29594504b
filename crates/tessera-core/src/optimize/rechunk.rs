//! Rechunk planning: every byte crosses the network at most once, memory stays bounded.
//!
//! A rechunk where output blocks straddle input blocks *and* input blocks straddle output
//! blocks (time-contiguous to space-contiguous on a `(T, Y, X)` array is the classic
//! case) would, done directly, send every whole input block to every worker building an
//! output block that overlaps it. It is split in two stages over the intersection grid
//! (the union of both grids' block boundaries): each input block is cut into its pieces
//! where it lives (no transfer), then each output block is assembled from its pieces,
//! which travel worker to worker once each — the all-to-all exchange, done directly
//! between workers. Pieces are cut in the order output blocks consume them, and a piece
//! is freed once its output block is built, so a worker holds its share of the input and
//! of the output plus the pieces in flight, never a full set of pieces.
//!
//! Rechunks of values that are computed from their position anyway need no exchange:
//! a generator or a file read simply takes the new grid (each block reads its own
//! hyperslab), and that is what this pass does with them first.

use super::{Context, Pass};
use crate::array::chunks::{AxisChunks, ChunkGrid};
use crate::array::graph::Op;
use crate::array::plan::Plan;

/// The rechunk pass.
pub struct SplitRechunks;

/// The intersection grid of two grids over the same shape.
pub fn intersection(a: &ChunkGrid, b: &ChunkGrid) -> ChunkGrid {
    let chunks = (0..a.ndim())
        .map(|ax| {
            let (ca, cb) = (a.axis(ax), b.axis(ax));
            if ca == cb {
                return ca.clone();
            }
            let mut bounds: Vec<usize> = (0..=ca.len())
                .map(|i| ca.offset(i))
                .chain((0..=cb.len()).map(|i| cb.offset(i)))
                .collect();
            bounds.sort_unstable();
            bounds.dedup();
            let sizes: Vec<usize> = bounds.windows(2).map(|w| w[1] - w[0]).collect();
            if sizes.is_empty() {
                AxisChunks::whole(0)
            } else {
                AxisChunks::from_sizes(sizes)
            }
        })
        .collect();
    ChunkGrid::new(chunks)
}

impl Pass for SplitRechunks {
    fn name(&self) -> &'static str {
        "rechunk"
    }

    fn run(&self, plan: &mut Plan, _ctx: &Context) -> bool {
        let mut changed = false;
        for r in 0..plan.nodes.len() {
            let Op::Rechunk { input } = plan.nodes[r].op else {
                continue;
            };
            let out = plan.nodes[r].grid.clone();
            match &plan.nodes[input].op {
                Op::Generate(g) => {
                    plan.nodes[r].op = Op::Generate(g.clone());
                    changed = true;
                    continue;
                }
                Op::Read(spec) => {
                    plan.nodes[r].op = Op::Read(spec.clone());
                    changed = true;
                    continue;
                }
                _ => {}
            }
            let inp = plan.nodes[input].grid.clone();
            let inter = intersection(&inp, &out);
            if inter == out || inter == inp {
                continue; // pure split or pure merge: one stage moves each byte once
            }
            let dtype = plan.nodes[input].dtype;
            let pieces = plan.push(dtype, inter, Op::Rechunk { input });
            plan.nodes[r].op = Op::Rechunk { input: pieces };
            // Cut pieces in the order output blocks use them, so each output block can be
            // built (and its pieces freed) while the rest are still being cut.
            let order: Vec<usize> = (0..out.num_blocks())
                .flat_map(|b| plan.direct_deps(r, b).into_iter().map(|(_, pb)| pb))
                .collect();
            plan.nodes[pieces].order = Some(std::sync::Arc::new(order));
            changed = true;
        }
        changed
    }
}
