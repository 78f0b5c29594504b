//! Fusion: a node computed inside its consumer's task instead of being stored.
//!
//! Chains of elementwise operations are already one node (the API merges their
//! expressions); this pass fuses across node kinds: a read, a slice, a transpose, a
//! rechunk (the assembling stage) or an elementwise node feeding a consumer that uses
//! each of its blocks once is evaluated in that consumer's task, so one task per output block reads, computes and reduces
//! ("reductions fuse their first stage into the producing task"). Generators are always
//! fused: recomputing values is cheaper than storing and sending them.

use super::{Context, Pass};
use crate::array::graph::Op;
use crate::runtime::plan::Plan;

/// The fusion pass.
pub struct Fuse;

impl Pass for Fuse {
    fn name(&self) -> &'static str {
        "fuse"
    }

    fn run(&self, plan: &mut Plan, _ctx: &Context) -> bool {
        let consumers = plan.consumers();
        let mut changed = false;
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
                if fusable {
                    plan.nodes[i].materialized = false;
                    changed = true;
                }
            }
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optimize::testing::plan;

    #[test]
    fn elementwise_chain_and_first_reduction_stage_are_one_task() {
        let mut p = plan("sqrt(random((100, 100), chunks=50) + 1).sum()");
        Fuse.run(&mut p, &Context { workers: 2 });
        let stored: Vec<&str> = p
            .nodes
            .iter()
            .filter(|n| n.materialized)
            .map(|n| n.op.name())
            .collect();
        assert_eq!(stored, vec!["reduce-partial", "reduce-combine", "reduce"]);
    }
}
