//! The plan of one computation: the user's graph flattened into indexed nodes, with the
//! decision of which nodes are materialised (stored, addressable chunks) and which are
//! fused into their single consumer's task. Rank 0 sends the plan once to every worker;
//! after that a task is just `(node, block)`, and both sides derive its inputs from the
//! plan, so task messages stay a few bytes each.

use crate::array::blocks;
use crate::array::chunk::Chunk;
use crate::array::chunks::ChunkGrid;
use crate::array::dtype::DType;
use crate::array::elementwise;
use crate::array::graph::{DArray, Op, PersistedKey};
use crate::array::reduce;
use crate::array::slicing::source_block;
use crate::array::source::ReadSpec;
use crate::array::{limits, ArrayError};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// Reads one block of a file variable: `(spec, block offset, block shape)`. The plan
/// stays free of file access; the worker passes the IO layer's reader.
pub type ReadBlock = dyn Fn(&ReadSpec, &[usize], &[usize]) -> Result<Chunk, String>;

/// How an error names the array a plan node computes.
pub fn describe(op: &Op<usize>) -> String {
    match op {
        Op::Read(spec) => format!("array read from {}:{}", spec.path.display(), spec.var),
        op => format!("array '{}'", op.name()),
    }
}

/// Refuses a plan with an array of more blocks than the scheduler takes
/// ([`limits::max_blocks`]): the first such array in topological order (usually the one
/// the user chunked) is named, with its block count, the limit and a chunking that fits.
pub fn check_blocks(plan: &Plan) -> Result<(), ArrayError> {
    for n in &plan.nodes {
        limits::check_grid(&n.grid, n.dtype.size(), &describe(&n.op))?;
    }
    Ok(())
}
/// Identifies a stored chunk in a worker's store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ChunkKey {
    /// The computation that produced it.
    pub comp: u64,
    /// Plan node index.
    pub node: u32,
    /// Flat block index.
    pub block: u64,
}

impl ChunkKey {
    /// The key of future `id`'s value (array computations number from 1, so computation 0
    /// is the futures' namespace).
    pub fn future(id: u64) -> ChunkKey {
        ChunkKey {
            comp: 0,
            node: 0,
            block: id,
        }
    }
}

/// One node of a plan.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PlanNode {
    /// Result dtype.
    pub dtype: DType,
    /// Result grid.
    pub grid: ChunkGrid,
    /// Operation, inputs as node indices.
    pub op: Op<usize>,
    /// Whether blocks are stored (otherwise computed inside the consumer's task).
    pub materialized: bool,
    /// Which blocks the computation needs (`None`: all). Set by the culling pass; only rank
    /// 0 uses it, so it does not travel with the plan.
    #[serde(skip)]
    pub needed: Option<std::sync::Arc<Vec<bool>>>,
    /// The order the scheduler visits blocks in (`None`: flat order). Set where the order
    /// decides memory: the pieces of a split rechunk come in the order their output
    /// blocks consume them. Rank 0 only.
    #[serde(skip)]
    pub order: Option<std::sync::Arc<Vec<usize>>>,
}

impl PlanNode {
    /// The `k`-th block to visit.
    pub fn visit(&self, k: usize) -> usize {
        self.order
            .as_ref()
            .map_or(k, |o| o.get(k).copied().unwrap_or(k))
    }

    /// True when block `b` must be computed.
    pub fn is_needed(&self, b: usize) -> bool {
        self.needed
            .as_ref()
            .is_none_or(|n| n.get(b).copied().unwrap_or(false))
    }
}

/// A flattened graph.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Plan {
    /// Computation id (unique per client).
    pub comp: u64,
    /// Nodes in topological order (inputs before consumers).
    pub nodes: Vec<PlanNode>,
    /// The node whose blocks are the result.
    pub root: usize,
    /// Workers send root blocks to rank 0 as soon as they are computed (`compute`), or
    /// keep them (`persist`).
    pub gather: bool,
}

/// A task's input that comes from storage.
pub type Dep = (usize, usize);

impl Plan {
    /// Flattens the graph under `root` into one plan node per array node, every node
    /// materialized (the optimizer decides what to fuse).
    pub fn build(comp: u64, root: &DArray, gather: bool) -> Plan {
        // Iterative post-order DFS, deduplicating shared nodes by id.
        let mut index: HashMap<u64, usize> = HashMap::new();
        let mut order: Vec<DArray> = Vec::new();
        let mut stack: Vec<(DArray, bool)> = vec![(root.clone(), false)];
        while let Some((a, expanded)) = stack.pop() {
            if index.contains_key(&a.node().id) {
                continue;
            }
            if expanded {
                index.insert(a.node().id, order.len());
                order.push(a);
            } else {
                stack.push((a.clone(), true));
                for i in a.node().op.inputs().into_iter().rev() {
                    if !index.contains_key(&i.node().id) {
                        stack.push((i.clone(), false));
                    }
                }
            }
        }
        let mut nodes: Vec<PlanNode> = order
            .iter()
            .map(|a| PlanNode {
                dtype: a.dtype(),
                grid: a.grid().clone(),
                op: a.node().op.map_inputs(|i| index[&i.node().id]),
                materialized: true,
                needed: None,
                order: None,
            })
            .collect();
        let root_idx = index[&root.node().id];
        nodes[root_idx].materialized = true;
        Plan {
            comp,
            nodes,
            root: root_idx,
            gather,
        }
    }

    /// Appends a node (inputs must already exist or be appended before [`Plan::compact`]).
    pub fn push(&mut self, dtype: DType, grid: ChunkGrid, op: Op<usize>) -> usize {
        self.nodes.push(PlanNode {
            dtype,
            grid,
            op,
            materialized: true,
            needed: None,
            order: None,
        });
        self.nodes.len() - 1
    }

    /// Number of consumers of each node among the nodes the root reaches (a node used
    /// twice by one consumer counts twice; nodes left behind by a rewrite do not count).
    pub fn consumers(&self) -> Vec<usize> {
        let n = self.nodes.len();
        let mut live = vec![false; n];
        let mut stack = vec![self.root];
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut live[i], true) {
                continue;
            }
            stack.extend(self.nodes[i].op.inputs().into_iter().copied());
        }
        let mut c = vec![0; n];
        for (i, node) in self.nodes.iter().enumerate() {
            if live[i] {
                for &j in node.op.inputs() {
                    c[j] += 1;
                }
            }
        }
        c
    }

    /// Drops nodes the root does not reach and renumbers the rest in topological order
    /// (after rewrites that appended nodes or redirected inputs).
    pub fn compact(&mut self) {
        let n = self.nodes.len();
        let mut state = vec![0u8; n]; // 0 unseen, 1 expanded, 2 placed
        let mut order = Vec::with_capacity(n);
        let mut stack = vec![self.root];
        while let Some(&i) = stack.last() {
            if state[i] == 0 {
                state[i] = 1;
                for &j in self.nodes[i].op.inputs().iter().rev() {
                    if state[*j] == 0 {
                        stack.push(*j);
                    }
                }
            } else {
                stack.pop();
                if state[i] == 1 {
                    state[i] = 2;
                    order.push(i);
                }
            }
        }
        let mut new_index = vec![usize::MAX; n];
        for (k, &i) in order.iter().enumerate() {
            new_index[i] = k;
        }
        let mut old: Vec<Option<PlanNode>> = std::mem::take(&mut self.nodes)
            .into_iter()
            .map(Some)
            .collect();
        self.nodes = order
            .iter()
            .filter_map(|&i| old[i].take())
            .map(|mut pn| {
                pn.op = pn.op.map_inputs(|&j| new_index[j]);
                pn
            })
            .collect();
        self.root = new_index[self.root];
    }

    /// The store key of a block.
    pub fn key(&self, node: usize, block: usize) -> ChunkKey {
        match &self.nodes[node].op {
            Op::Persisted(_, PersistedKey { comp, node: n }) => ChunkKey {
                comp: *comp,
                node: *n,
                block: block as u64,
            },
            _ => ChunkKey {
                comp: self.comp,
                node: node as u32,
                block: block as u64,
            },
        }
    }

    /// Blocks of the direct inputs that block `block` of `node` reads, in kernel order.
    pub fn direct_deps(&self, node: usize, block: usize) -> Vec<Dep> {
        let pn = &self.nodes[node];
        let idx = pn.grid.unravel(block);
        match &pn.op {
            Op::Generate(_) | Op::Local(_) | Op::Read(_) | Op::Persisted(..) => vec![],
            Op::Elementwise { inputs, .. } => inputs
                .iter()
                .map(|&i| {
                    let g = &self.nodes[i].grid;
                    let off = idx.len() - g.ndim();
                    let in_idx: Vec<usize> = (0..g.ndim())
                        .map(|a| {
                            if g.chunks()[a].len() == 1 {
                                0
                            } else {
                                idx[off + a]
                            }
                        })
                        .collect();
                    (i, g.ravel(&in_idx))
                })
                .collect(),
            Op::Slice { input, picks } => {
                let (in_idx, _) = source_block(picks, &idx);
                vec![(*input, self.nodes[*input].grid.ravel(&in_idx))]
            }
            Op::Transpose { input, perm } => {
                let mut in_idx = vec![0; perm.len()];
                for (k, &p) in perm.iter().enumerate() {
                    in_idx[p] = idx[k];
                }
                vec![(*input, self.nodes[*input].grid.ravel(&in_idx))]
            }
            Op::Reshape { input } => vec![(*input, block)],
            Op::Rechunk { input } => {
                let g = &self.nodes[*input].grid;
                let off = pn.grid.block_offset(&idx);
                let shp = pn.grid.block_shape(&idx);
                let ranges: Vec<std::ops::Range<usize>> = (0..idx.len())
                    .map(|a| {
                        let r = g.blocks_overlapping(a, off[a], off[a] + shp[a]);
                        if r.is_empty() {
                            0..1
                        } else {
                            r
                        }
                    })
                    .collect();
                product(&ranges)
                    .into_iter()
                    .map(|bi| (*input, g.ravel(&bi)))
                    .collect()
            }
            Op::Concatenate { inputs, axis } => {
                let mut k = idx[*axis];
                for &i in inputs {
                    let n = self.nodes[i].grid.chunks()[*axis].len();
                    if k < n {
                        let mut in_idx = idx.clone();
                        in_idx[*axis] = k;
                        return vec![(i, self.nodes[i].grid.ravel(&in_idx))];
                    }
                    k -= n;
                }
                vec![]
            }
            Op::ReducePartial { input, .. } | Op::GroupPartial { input, .. } => {
                vec![(*input, block)]
            }
            Op::Take {
                input,
                axis,
                indices,
            } => {
                let g = &self.nodes[*input].grid;
                let off = pn.grid.block_offset(&idx)[*axis];
                let len = pn.grid.block_shape(&idx)[*axis];
                let mut blocks: Vec<usize> = indices[off..off + len]
                    .iter()
                    .map(|&i| g.blocks_overlapping(*axis, i, i + 1).start)
                    .collect();
                blocks.sort_unstable();
                blocks.dedup();
                blocks
                    .into_iter()
                    .map(|b| {
                        let mut in_idx = idx.clone();
                        in_idx[*axis] = b;
                        (*input, g.ravel(&in_idx))
                    })
                    .collect()
            }
            Op::ReduceCombine {
                input,
                axes,
                factor,
                ..
            } => {
                let g = &self.nodes[*input].grid;
                let ranges: Vec<std::ops::Range<usize>> = (0..idx.len())
                    .map(|a| match axes.iter().position(|&x| x == a) {
                        Some(k) => {
                            let n = g.chunks()[a].len();
                            idx[a] * factor[k]..((idx[a] + 1) * factor[k]).min(n)
                        }
                        None => idx[a]..idx[a] + 1,
                    })
                    .collect();
                product(&ranges)
                    .into_iter()
                    .map(|bi| (*input, g.ravel(&bi)))
                    .collect()
            }
            Op::ReduceFinal {
                input,
                axes,
                keepdims,
                ..
            } => {
                let g = &self.nodes[*input].grid;
                let mut o = 0;
                let in_idx: Vec<usize> = (0..g.ndim())
                    .map(|a| {
                        if axes.contains(&a) {
                            if *keepdims {
                                o += 1;
                            }
                            0
                        } else {
                            o += 1;
                            idx[o - 1]
                        }
                    })
                    .collect();
                vec![(*input, g.ravel(&in_idx))]
            }
        }
    }

    /// The stored blocks a task reads, looking through fused inputs.
    pub fn task_deps(&self, node: usize, block: usize) -> Vec<Dep> {
        let mut out = Vec::new();
        let mut stack = self.direct_deps(node, block);
        stack.reverse();
        while let Some((n, b)) = stack.pop() {
            if self.nodes[n].materialized {
                if !out.contains(&(n, b)) {
                    out.push((n, b));
                }
            } else {
                let mut d = self.direct_deps(n, b);
                d.reverse();
                stack.extend(d);
            }
        }
        out
    }

    /// Computes one block; stored inputs come from `fetch`.
    pub fn eval(
        &self,
        node: usize,
        block: usize,
        fetch: &dyn Fn(ChunkKey) -> Option<Chunk>,
        read: &ReadBlock,
    ) -> Result<Chunk, String> {
        let pn = &self.nodes[node];
        let idx = pn.grid.unravel(block);
        let mut inputs = Vec::new();
        for (n, b) in self.direct_deps(node, block) {
            let c = if self.nodes[n].materialized {
                let key = self.key(n, b);
                fetch(key)
                    .ok_or_else(|| format!("internal: input chunk {key:?} is not on this worker"))?
            } else {
                self.eval(n, b, fetch, read)?
            };
            inputs.push(c);
        }
        let shape = pn.grid.block_shape(&idx);
        let first = || {
            inputs
                .first()
                .cloned()
                .ok_or_else(|| "internal: missing input".to_string())
        };
        match &pn.op {
            Op::Generate(g) => Ok(blocks::generate(
                g,
                pn.dtype,
                &pn.grid.shape(),
                &pn.grid.block_offset(&idx),
                &shape,
            )),
            Op::Read(spec) => read(spec, &pn.grid.block_offset(&idx), &shape),
            Op::Local(_) | Op::Persisted(..) => Err("internal: stored block evaluated".into()),
            Op::Elementwise { expr, .. } => {
                let c = elementwise::eval(expr, &inputs)?;
                let c = if c.dtype != pn.dtype {
                    elementwise::cast(&c, pn.dtype)
                } else {
                    c
                };
                elementwise::broadcast_to(c, &shape)
            }
            Op::Slice { picks, .. } => {
                let (_, local) = source_block(picks, &idx);
                blocks::slice_block(&first()?, &local)
            }
            Op::Transpose { perm, .. } => Ok(blocks::transpose_block(&first()?, perm)),
            Op::Reshape { .. } => Ok(first()?.reshaped(shape)),
            Op::Rechunk { input } => {
                let g = &self.nodes[*input].grid;
                let deps = self.direct_deps(node, block);
                let pieces: Vec<(Chunk, Vec<usize>)> = inputs
                    .into_iter()
                    .zip(deps)
                    .map(|(c, (_, b))| (c, g.block_offset(&g.unravel(b))))
                    .collect();
                Ok(blocks::assemble(
                    pn.dtype,
                    &shape,
                    &pn.grid.block_offset(&idx),
                    &pieces,
                ))
            }
            Op::Concatenate { .. } => first(),
            Op::ReducePartial { axes, func, .. } => Ok(reduce::partial(func, &first()?, axes)),
            Op::GroupPartial {
                input,
                axis,
                labels,
                ngroups,
                func,
            } => {
                let g = &self.nodes[*input].grid;
                let o = g.block_offset(&g.unravel(block))[*axis];
                let c = first()?;
                let n = c.shape[*axis];
                let labels = labels
                    .get(o..o + n)
                    .ok_or("internal: group labels shorter than the grouped axis")?;
                reduce::group_partial(func, &c, *axis, labels, *ngroups)
            }
            Op::Take {
                input,
                axis,
                indices,
            } => {
                let g = &self.nodes[*input].grid;
                let spans: Vec<(usize, usize)> = self
                    .direct_deps(node, block)
                    .iter()
                    .map(|&(_, b)| {
                        let bi = g.unravel(b);
                        (g.block_offset(&bi)[*axis], g.block_shape(&bi)[*axis])
                    })
                    .collect();
                let off = pn.grid.block_offset(&idx)[*axis];
                blocks::take_block(
                    &inputs,
                    &spans,
                    *axis,
                    &indices[off..off + shape[*axis]],
                    &shape,
                )
            }
            Op::ReduceCombine { func, .. } => reduce::combine(func, &inputs),
            Op::ReduceFinal { func, .. } => reduce::finalize(func, &first()?, &shape),
        }
    }

    /// A readable task name: `op#node (i, j)`.
    pub fn task_name(&self, node: usize, block: usize) -> String {
        let pn = &self.nodes[node];
        let idx = pn.grid.unravel(block);
        let parts: Vec<String> = idx.iter().map(|i| i.to_string()).collect();
        format!(
            "{}-{}{}{}",
            pn.op.name(),
            node,
            if parts.is_empty() { "" } else { " (" },
            if parts.is_empty() {
                String::new()
            } else {
                parts.join(", ") + ")"
            }
        )
    }
}

/// All multi-indices in the product of ranges, C order.
fn product(ranges: &[std::ops::Range<usize>]) -> Vec<Vec<usize>> {
    let mut out = vec![vec![]];
    for r in ranges {
        let mut next = Vec::with_capacity(out.len() * r.len());
        for p in &out {
            for i in r.clone() {
                let mut q = p.clone();
                q.push(i);
                next.push(q);
            }
        }
        out = next;
    }
    out
}
