//! The cost model: what a plan will do, predicted without running it.
//!
//! It replays the plan with the scheduler's own rules: the same needed blocks (culling),
//! the same worker per task ([`place`]), a copy of a stored input sent to a worker at
//! most once per computation, inputs released when their last consumer has run. So the
//! counts it predicts — tasks, bytes moved between workers, bytes sent from and gathered
//! to rank 0, bytes read from files — are the counts the run report measures. Peak memory
//! is an estimate: the replay runs stage after stage, while the real scheduler overlaps
//! stages and holds back inputs under a memory budget, so the measured peak is usually
//! lower.

use super::placement::place;
use crate::array::graph::Op;
use crate::array::plan::{Dep, Plan};
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// Predicted counters of one plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Prediction {
    /// Workers the plan was placed on.
    pub workers: usize,
    /// Tasks run.
    pub tasks: u64,
    /// Chunk bytes sent from one worker to another.
    pub bytes_moved: u64,
    /// Bytes of caller-held data sent from rank 0 to workers.
    pub bytes_scattered: u64,
    /// Bytes of the result gathered to rank 0.
    pub bytes_gathered: u64,
    /// Bytes read from files (stored size of the selected elements).
    pub bytes_read: u64,
    /// Largest peak of chunk bytes held by one worker (estimate, see module docs).
    pub peak_bytes_per_worker: u64,
    /// The peak of each worker (rank 1 first).
    pub peak_bytes: Vec<u64>,
}

/// Bytes of block `b` of node `n` as a worker holds it (reduction states carry one field
/// per statistic in front of their grid shape).
pub fn block_bytes(plan: &Plan, n: usize, b: usize) -> u64 {
    let pn = &plan.nodes[n];
    if let Op::Persisted(Some(h), _) = &pn.op {
        return h.nbytes().get(b).copied().unwrap_or(0);
    }
    let g = &pn.grid;
    let elems: usize = g.block_shape(&g.unravel(b)).iter().product();
    let fields = match &pn.op {
        Op::ReducePartial { func, .. }
        | Op::GroupPartial { func, .. }
        | Op::ReduceCombine { func, .. } => func.state_layout().1,
        _ => 1,
    };
    (elems * fields * pn.dtype.size()) as u64
}

/// Bytes read from files by the task computing block `b` of node `n` (its own read and
/// the reads fused into it).
pub fn read_bytes(plan: &Plan, n: usize, b: usize) -> u64 {
    let pn = &plan.nodes[n];
    if let Op::Read(spec) = &pn.op {
        return spec.bytes_for(&pn.grid.block_shape(&pn.grid.unravel(b)));
    }
    plan.direct_deps(n, b)
        .into_iter()
        .filter(|&(m, _)| !plan.nodes[m].materialized)
        .map(|(m, mb)| read_bytes(plan, m, mb))
        .sum()
}

/// True for nodes whose blocks exist before the computation (no task computes them).
pub fn is_source(op: &Op<usize>) -> bool {
    matches!(op, Op::Local(_) | Op::Persisted(..))
}

/// Where the blocks of stored nodes live or will be computed: rank 0 for caller-held
/// data, the recorded ranks of persisted data, [`place`] for everything else.
pub struct Owners {
    owner: Vec<Vec<u32>>,
}

impl Owners {
    /// An empty table for `plan`.
    pub fn new(plan: &Plan) -> Owners {
        let owner = plan
            .nodes
            .iter()
            .map(|pn| match &pn.op {
                Op::Local(_) if pn.materialized => vec![0; pn.grid.num_blocks()],
                Op::Persisted(Some(h), _) => h.locations(),
                _ if pn.materialized => vec![u32::MAX; pn.grid.num_blocks()],
                _ => vec![],
            })
            .collect();
        Owners { owner }
    }

    /// Owner of a block (`u32::MAX` when not yet placed).
    pub fn get(&self, n: usize, b: usize) -> u32 {
        self.owner[n].get(b).copied().unwrap_or(u32::MAX)
    }

    /// Records the worker of a task.
    pub fn set(&mut self, n: usize, b: usize, w: u32) {
        if let Some(x) = self.owner[n].get_mut(b) {
            *x = w;
        }
    }

    /// The worker that runs task `(n, b)` with stored inputs `deps`.
    pub fn place(
        &self,
        plan: &Plan,
        workers: usize,
        n: usize,
        b: usize,
        deps: &[(usize, usize)],
    ) -> usize {
        let inputs: Vec<(u32, u64)> = deps
            .iter()
            .map(|&(m, mb)| (self.get(m, mb), block_bytes(plan, m, mb)))
            .collect();
        place(workers, b, plan.nodes[n].grid.num_blocks(), &inputs)
    }
}

/// Replays `plan` on `workers` workers.
pub fn predict(plan: &Plan, workers: usize) -> Prediction {
    let nw = workers.max(1);
    let mut p = Prediction {
        workers: nw,
        peak_bytes: vec![0; nw + 1],
        ..Default::default()
    };
    let mut owners = Owners::new(plan);
    let mut refs: HashMap<(usize, usize), u32> = HashMap::new();
    let mut tasks: Vec<(usize, usize, Vec<Dep>)> = Vec::new();
    for (n, pn) in plan.nodes.iter().enumerate() {
        if !pn.materialized || is_source(&pn.op) {
            continue;
        }
        for b in (0..pn.grid.num_blocks())
            .map(|k| pn.visit(k))
            .filter(|&b| pn.is_needed(b))
        {
            let deps = plan.task_deps(n, b);
            for &d in &deps {
                *refs.entry(d).or_default() += 1;
            }
            tasks.push((n, b, deps));
        }
    }
    let mut held = vec![0u64; nw + 1];
    let mut copies: HashMap<(usize, usize), Vec<usize>> = HashMap::new();
    let mut sent: HashSet<(usize, usize, usize)> = HashSet::new();
    for (n, b, deps) in tasks {
        let w = owners.place(plan, nw, n, b, &deps);
        owners.set(n, b, w as u32);
        p.tasks += 1;
        p.bytes_read += read_bytes(plan, n, b);
        for &(m, mb) in &deps {
            let o = owners.get(m, mb) as usize;
            if o == w || !sent.insert((m, mb, w)) {
                continue;
            }
            let bytes = block_bytes(plan, m, mb);
            if o == 0 {
                p.bytes_scattered += bytes;
            } else {
                p.bytes_moved += bytes;
            }
            held[w] += bytes;
            copies.entry((m, mb)).or_default().push(w);
        }
        let out = block_bytes(plan, n, b);
        if plan.gather && n == plan.root {
            p.bytes_gathered += out;
        } else {
            held[w] += out;
        }
        p.peak_bytes[w] = p.peak_bytes[w].max(held[w]);
        for d in deps {
            let r = refs.entry(d).or_default();
            *r = r.saturating_sub(1);
            if *r > 0 {
                continue;
            }
            let bytes = block_bytes(plan, d.0, d.1);
            let keep = d.0 == plan.root || is_source(&plan.nodes[d.0].op);
            if !keep {
                let o = owners.get(d.0, d.1) as usize;
                if let Some(h) = held.get_mut(o) {
                    *h = h.saturating_sub(bytes);
                }
            }
            for c in copies.remove(&d).unwrap_or_default() {
                held[c] = held[c].saturating_sub(bytes);
            }
        }
    }
    if plan.gather && is_source(&plan.nodes[plan.root].op) {
        let root = plan.root;
        p.bytes_gathered += (0..plan.nodes[root].grid.num_blocks())
            .filter(|&b| owners.get(root, b) != 0)
            .map(|b| block_bytes(plan, root, b))
            .sum::<u64>();
    }
    p.peak_bytes.remove(0);
    p.peak_bytes_per_worker = p.peak_bytes.iter().copied().max().unwrap_or(0);
    p
}
