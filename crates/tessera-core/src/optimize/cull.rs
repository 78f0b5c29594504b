//! Culling: only the blocks the result needs are computed.
//!
//! Unreachable nodes are already gone (`Plan::compact`); this pass works per block. From
//! the root backwards, every stored node gets the set of its blocks that some needed task
//! reads, so `x.rechunk(c)[:10]` or a slice of a persisted array schedules only the blocks
//! the slice touches. Nodes needing every block keep `needed = None` (no bitmap).

use super::{Context, Pass};
use crate::array::graph::Op;
use crate::array::plan::Plan;
use std::sync::Arc;

/// The culling pass (run after fusion: it follows the stored inputs of each task).
pub struct CullBlocks;

impl Pass for CullBlocks {
    fn name(&self) -> &'static str {
        "cull"
    }

    fn run(&self, plan: &mut Plan, _ctx: &Context) -> bool {
        // Only slices and takes read part of their input; without them every block of
        // every node is needed and the walk below would find nothing to drop.
        if !plan
            .nodes
            .iter()
            .any(|n| matches!(n.op, Op::Slice { .. } | Op::Take { .. }))
        {
            return false;
        }
        let n = plan.nodes.len();
        let mut needed: Vec<Option<Vec<bool>>> = vec![None; n];
        needed[plan.root] = Some(vec![true; plan.nodes[plan.root].grid.num_blocks()]);
        for i in (0..n).rev() {
            let Some(mine) = needed[i].take() else {
                continue;
            };
            for (b, _) in mine.iter().enumerate().filter(|(_, &x)| x) {
                for (m, mb) in plan.task_deps(i, b) {
                    let nb = plan.nodes[m].grid.num_blocks();
                    needed[m].get_or_insert_with(|| vec![false; nb])[mb] = true;
                }
            }
            needed[i] = Some(mine);
        }
        let mut changed = false;
        for (node, need) in plan.nodes.iter_mut().zip(needed) {
            let need = need.filter(|v| v.iter().any(|x| !x));
            changed |= need.is_some();
            node.needed = need.map(Arc::new);
        }
        changed
    }
}
