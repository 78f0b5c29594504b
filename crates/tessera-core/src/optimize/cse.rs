//! Common subexpressions: identical nodes computed once.
//!
//! Two nodes are the same when they have the same operation, parameters, inputs (after
//! sharing), dtype and grid. The typical win is a file variable opened twice in one
//! expression (`ds - ds.groupby("time.month").mean()` reads `ds` once, not twice).
//! Caller-held data is compared by identity only.

use super::{Context, Pass};
use crate::array::graph::Op;
use crate::array::plan::Plan;
use std::collections::HashMap;

/// The sharing pass.
pub struct ShareCommon;

impl Pass for ShareCommon {
    fn name(&self) -> &'static str {
        "share-common"
    }

    fn run(&self, plan: &mut Plan, _ctx: &Context) -> bool {
        let n = plan.nodes.len();
        let mut names: Vec<&str> = plan.nodes.iter().map(|n| n.op.name()).collect();
        names.sort_unstable();
        if names.windows(2).all(|w| w[0] != w[1]) {
            return false; // no two nodes of one kind: nothing to share
        }
        let mut repl: Vec<usize> = (0..n).collect();
        let mut seen: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut changed = false;
        for i in 0..n {
            let op = plan.nodes[i].op.map_inputs(|&j| repl[j]);
            plan.nodes[i].op = op;
            let node = &plan.nodes[i];
            if matches!(node.op, Op::Local(_)) {
                continue;
            }
            let Ok(key) = postcard::to_allocvec(&(&node.dtype, &node.grid, &node.op)) else {
                continue;
            };
            match seen.get(&key) {
                Some(&first) => {
                    repl[i] = first;
                    changed = true;
                }
                None => {
                    seen.insert(key, i);
                }
            }
        }
        plan.root = repl[plan.root];
        changed
    }
}
