//! Fusion: a node computed inside its consumer's task instead of being stored.
//!
//! Chains of elementwise operations are already one node (the API merges their
//! expressions); this pass fuses across node kinds: a read, a slice, a transpose, a
//! rechunk (the assembling stage) or an elementwise node feeding a consumer that uses
//! each of its blocks once is evaluated in that consumer's task, so one task per output block reads, computes and reduces
//! ("reductions fuse their first stage into the producing task"). Generators are always
//! fused: recomputing values is cheaper than storing and sending them.
//!
//! A fused task evaluates its unstored inputs recursively, so the depth of what one task
//! fuses is bounded ([`MAX_FUSED_COST`]): a sum of thousands of arrays becomes a chain of
//! tasks of bounded depth instead of one task that could overflow a worker's stack.

use super::{Context, Pass};
use crate::array::graph::Op;
use crate::array::plan::Plan;

/// The fusion pass.
pub struct Fuse;

/// Most evaluation levels one task may stack up: each fused node counts one, plus the
/// operators of its elementwise expression.
pub const MAX_FUSED_COST: usize = 256;

/// Evaluation levels of a node on its own.
fn own_cost(op: &Op<usize>) -> usize {
    match op {
        Op::Elementwise { expr, .. } => 1 + expr.size(),
        _ => 1,
    }
}

impl Pass for Fuse {
    fn name(&self) -> &'static str {
        "fuse"
    }

    fn run(&self, plan: &mut Plan, _ctx: &Context) -> bool {
        let consumers = plan.consumers();
        let mut changed = false;
        // Evaluation levels of each node's task including its unstored inputs (nodes are in
        // topological order, so inputs come first).
        let mut cost: Vec<usize> = Vec::with_capacity(plan.nodes.len());
        for c in 0..plan.nodes.len() {
            // Consumers that read each input block for exactly one of their blocks.
            let injective = matches!(
                &plan.nodes[c].op,
                Op::Elementwise { .. }
                    | Op::Slice { .. }
                    | Op::Transpose { .. }
                    | Op::Reshape { .. }
                    | Op::Concatenate { .. }
                    | Op::ReducePartial { .. }
                    | Op::GroupPartial { .. }
            );
            let consumer_blocks = plan.nodes[c].grid.num_blocks();
            let inputs: Vec<usize> = plan.nodes[c].op.inputs().into_iter().copied().collect();
            for i in inputs {
                if i == plan.root || !plan.nodes[i].materialized {
                    continue;
                }
                let node = &plan.nodes[i];
                let fusable = match node.op {
                    Op::Generate(_) => true,
                    Op::Elementwise { .. }
                    | Op::Read(_)
                    | Op::Slice { .. }
                    | Op::Transpose { .. }
                    | Op::Reshape { .. }
                    | Op::Rechunk { .. }
                    | Op::Concatenate { .. } => {
                        // An elementwise consumer broadcasting a smaller input would
                        // recompute it for every block it is broadcast to.
                        consumers[i] == 1
                            && injective
                            && (node.grid.num_blocks() >= consumer_blocks
                                || !matches!(plan.nodes[c].op, Op::Elementwise { .. }))
                    }
                    _ => false,
                };
                // An input after its consumer (not topological) is left stored.
                let deep = cost
                    .get(i)
                    .is_none_or(|&ci| own_cost(&plan.nodes[c].op) + ci > MAX_FUSED_COST);
                if fusable && !deep {
                    plan.nodes[i].materialized = false;
                    changed = true;
                }
            }
            let below = plan.nodes[c]
                .op
                .inputs()
                .into_iter()
                .filter(|&&i| !plan.nodes[i].materialized)
                .map(|&i| cost.get(i).copied().unwrap_or(MAX_FUSED_COST))
                .max()
                .unwrap_or(0);
            cost.push(own_cost(&plan.nodes[c].op) + below);
        }
        changed
    }
}
