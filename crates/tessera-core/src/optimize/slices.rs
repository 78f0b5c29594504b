//! Slice pushdown: a slice moves next to the data it selects.
//!
//! `x[...]` is rewritten so that the selection happens as early as possible: merged with
//! a slice below it, pushed through elementwise operations (each input sliced, with
//! broadcast axes kept whole), through rechunks and transposes, through reductions and grouped
//! reductions over other axes, through `take` (the climatology broadcast back onto time),
//! and finally into the leaves: a file read reads only the selected hyperslab and a
//! constant or integer `arange` is generated only where selected. Selections that touch
//! few blocks then schedule only those (culling), and every output block depends on one
//! block of the data under it, so it is computed where that data lives: no transfers.
//!
//! A slice is pushed through an operation only when the slice is its only consumer
//! (otherwise the operation would be computed twice); into reads and generators always.

use super::selection::{compose, from_picks, is_identity, to_picks, Sel};
use super::{Context, Pass};
use crate::array::chunks::{AxisChunks, ChunkGrid};
use crate::array::graph::{Generator, Op};
use crate::array::plan::Plan;

/// The slice pushdown pass.
pub struct PushSlices;

impl Pass for PushSlices {
    fn name(&self) -> &'static str {
        "push-slices"
    }

    fn run(&self, plan: &mut Plan, _ctx: &Context) -> bool {
        let mut changed = false;
        let mut s = 0;
        // Rewrites append the slices they create; the loop reaches those too.
        while s < plan.nodes.len() {
            if rewrite(plan, s) {
                changed = true;
            } else {
                s += 1;
            }
        }
        changed
    }
}

/// Rewrites slice node `s` one step down, if it can; true when it did.
fn rewrite(plan: &mut Plan, s: usize) -> bool {
    let Op::Slice { input, picks } = &plan.nodes[s].op else {
        return false;
    };
    let input = *input;
    let sels = from_picks(picks, &plan.nodes[input].grid);
    let out_grid = plan.nodes[s].grid.clone();
    let in_shape = plan.nodes[input].grid.shape();
    if is_identity(&sels, &in_shape) && plan.nodes[input].grid == out_grid {
        redirect(plan, s, input);
        return true;
    }
    let single_use = plan.consumers()[input] == 1;
    let new_op = match plan.nodes[input].op.clone() {
        Op::Slice {
            input: j,
            picks: inner,
        } => compose(&sels, &from_picks(&inner, &plan.nodes[j].grid)).and_then(|sel| {
            let (picks, grid) = to_picks(&sel, &plan.nodes[j].grid);
            (grid == out_grid).then_some(Op::Slice { input: j, picks })
        }),
        Op::Read(spec) => Some(Op::Read(std::sync::Arc::new(
            spec.sliced(picks_of(plan, s), &plan.nodes[input].grid),
        ))),
        Op::Generate(g) => generator(&g, &sels, plan.nodes[s].dtype.is_float()).map(Op::Generate),
        Op::Elementwise { inputs, expr } if single_use => {
            elementwise(plan, &sels, &inputs, &out_grid)
                .map(|inputs| Op::Elementwise { inputs, expr })
        }
        Op::Rechunk { input: j } if single_use => {
            let (picks, grid) = to_picks(&sels, &plan.nodes[j].grid);
            if grid == out_grid {
                Some(Op::Slice { input: j, picks })
            } else {
                Some(Op::Rechunk {
                    input: slice_of(plan, j, &sels),
                })
            }
        }
        Op::Transpose { input: j, perm } if single_use => {
            transpose(plan, &sels, j, &perm, &out_grid)
        }
        Op::ReduceFinal { .. } if single_use => reduction(plan, &sels, input, &out_grid),
        Op::Take {
            input: j,
            axis,
            indices,
        } if single_use => take(plan, &sels, j, axis, &indices, &out_grid),
        _ => None,
    };
    match new_op {
        Some(op) => {
            plan.nodes[s].op = op;
            true
        }
        None => false,
    }
}

fn picks_of(plan: &Plan, s: usize) -> &[crate::array::graph::AxisPick] {
    match &plan.nodes[s].op {
        Op::Slice { picks, .. } => picks,
        _ => &[],
    }
}

/// Makes every consumer of `from` (and the root) use `to` instead.
fn redirect(plan: &mut Plan, from: usize, to: usize) {
    for n in plan.nodes.iter_mut() {
        n.op = n.op.map_inputs(|&i| if i == from { to } else { i });
    }
    if plan.root == from {
        plan.root = to;
    }
    // `from` is now unused: make it a harmless leaf until compaction drops it.
    plan.nodes[from].op = Op::Generate(Generator::Full { f: 0.0, i: 0 });
}

/// A slice node over `input`, or `input` itself when the selection takes everything.
fn slice_of(plan: &mut Plan, input: usize, sels: &[Sel]) -> usize {
    let g = plan.nodes[input].grid.clone();
    if is_identity(sels, &g.shape()) {
        return input;
    }
    let (picks, grid) = to_picks(sels, &g);
    let dtype = plan.nodes[input].dtype;
    plan.push(dtype, grid, Op::Slice { input, picks })
}

/// A constant stays constant; an integer `arange` becomes another one (float ranges are
/// left alone: `start + k * step` would not round like the original).
fn generator(g: &Generator, sels: &[Sel], float: bool) -> Option<Generator> {
    match g {
        Generator::Full { .. } => Some(g.clone()),
        Generator::Arange {
            start,
            step,
            istart,
            istep,
        } if !float => match sels {
            [Sel::Range {
                start: s, step: t, ..
            }] => Some(Generator::Arange {
                start: *start,
                step: *step,
                istart: istart + *s as i128 * istep,
                istep: istep * *t as i128,
            }),
            [Sel::Index(k)] => {
                let v = istart + *k as i128 * istep;
                Some(Generator::Full { f: v as f64, i: v })
            }
            _ => None,
        },
        _ => None,
    }
}

/// Each input of an elementwise node sliced to match (inputs broadcast from the right;
/// broadcast axes of length 1 stay whole).
fn elementwise(
    plan: &mut Plan,
    sels: &[Sel],
    inputs: &[usize],
    out: &ChunkGrid,
) -> Option<Vec<usize>> {
    let nd: usize = sels.iter().filter(|s| s.consumes()).count();
    let mut new_inputs = Vec::with_capacity(inputs.len());
    for &k in inputs {
        let shape = plan.nodes[k].grid.shape();
        let off = nd - shape.len();
        let mut mine = Vec::new();
        let mut a = 0; // axis of the elementwise node
        for s in sels {
            if a >= off {
                let here = shape.get(a - off).copied();
                mine.push(match (s, here) {
                    (Sel::New, _) => Sel::New,
                    (Sel::Index(_), Some(1)) => Sel::Index(0),
                    (Sel::Range { .. }, Some(1)) => Sel::all(1),
                    (other, _) => other.clone(),
                });
            }
            if s.consumes() {
                a += 1;
            }
        }
        let id = slice_of(plan, k, &mine);
        // The sliced input must be blocked like the output on the axes it spans.
        let g = &plan.nodes[id].grid;
        let o = out.ndim().checked_sub(g.ndim())?;
        let aligned = (0..g.ndim()).all(|ax| {
            g.chunks()[ax] == out.chunks()[o + ax]
                || g.chunks()[ax].len() == 1 && g.shape()[ax] == 1
        });
        if !aligned {
            return None;
        }
        new_inputs.push(id);
    }
    Some(new_inputs)
}

/// `x.transpose(p)[sel]` as `x[sel'].transpose(p')` (slices adding axes stay above).
fn transpose(
    plan: &mut Plan,
    sels: &[Sel],
    j: usize,
    perm: &[usize],
    out: &ChunkGrid,
) -> Option<Op<usize>> {
    if sels.iter().any(|s| !s.consumes()) || sels.len() != perm.len() {
        return None;
    }
    let mut inner = vec![Sel::New; perm.len()];
    for (k, &p) in perm.iter().enumerate() {
        inner[p] = sels[k].clone();
    }
    let kept: Vec<usize> = (0..perm.len())
        .filter(|&p| !matches!(inner[p], Sel::Index(_)))
        .collect();
    let new_perm: Vec<usize> = perm
        .iter()
        .filter(|&&p| kept.contains(&p))
        .map(|p| kept.iter().position(|q| q == p).unwrap_or(0))
        .collect();
    if new_perm.iter().enumerate().all(|(i, &p)| i == p) {
        let (picks, grid) = to_picks(&inner, &plan.nodes[j].grid);
        return (grid == *out).then_some(Op::Slice { input: j, picks });
    }
    let sliced = slice_of(plan, j, &inner);
    let g = &plan.nodes[sliced].grid;
    let grid = ChunkGrid::new(new_perm.iter().map(|&p| g.chunks()[p].clone()).collect());
    (grid == *out).then_some(Op::Transpose {
        input: sliced,
        perm: new_perm,
    })
}

/// A reduction (or grouped reduction) sliced on the axes it keeps: the slice moves to its
/// input and the reduction tree is rebuilt over it (block counts on the reduced axes do
/// not change, so the tree keeps its shape).
fn reduction(plan: &mut Plan, sels: &[Sel], fin: usize, out: &ChunkGrid) -> Option<Op<usize>> {
    let Op::ReduceFinal {
        input,
        axes,
        func,
        keepdims,
    } = plan.nodes[fin].op.clone()
    else {
        return None;
    };
    // Walk down the combine levels to the first stage.
    let consumers = plan.consumers();
    let mut levels = Vec::new();
    let mut cur = input;
    while let Op::ReduceCombine { input, factor, .. } = &plan.nodes[cur].op {
        if consumers[cur] != 1 {
            return None;
        }
        levels.push(factor.clone());
        cur = *input;
    }
    if consumers[cur] != 1 {
        return None;
    }
    let (x, group) = match &plan.nodes[cur].op {
        Op::ReducePartial { input, .. } => (*input, None),
        Op::GroupPartial {
            input,
            labels,
            ngroups,
            ..
        } => (*input, Some((labels.clone(), *ngroups))),
        _ => return None,
    };
    if sels.iter().any(|s| !s.consumes()) {
        return None;
    }
    let x_shape = plan.nodes[x].grid.shape();
    // Selection on the reduction's input: whole reduced axes, the slice on kept ones.
    let mut inner = Vec::with_capacity(x_shape.len());
    let mut it = sels.iter();
    for (a, &n) in x_shape.iter().enumerate() {
        if axes.contains(&a) {
            if keepdims {
                let s = it.next()?;
                let whole = match group {
                    Some((_, g)) => Sel::all(g),
                    None => Sel::all(1),
                };
                if *s != whole {
                    return None;
                }
            }
            inner.push(Sel::all(n));
        } else {
            inner.push(it.next()?.clone());
        }
    }
    let dropped_before = |a: usize| {
        inner[..a]
            .iter()
            .filter(|s| matches!(s, Sel::Index(_)))
            .count()
    };
    let new_axes: Vec<usize> = axes.iter().map(|&a| a - dropped_before(a)).collect();
    let sliced = slice_of(plan, x, &inner);
    let xg = plan.nodes[sliced].grid.clone();
    let state = plan.nodes[cur].dtype;
    let (first_op, mut chunks) = match (&plan.nodes[cur].op, group) {
        (Op::ReducePartial { func, .. }, None) => {
            let mut c = xg.chunks().to_vec();
            for &a in &new_axes {
                c[a] = AxisChunks::regular(c[a].len(), 1);
            }
            (
                Op::ReducePartial {
                    input: sliced,
                    axes: new_axes.clone(),
                    func: *func,
                },
                c,
            )
        }
        (Op::GroupPartial { func, .. }, Some((labels, ngroups))) => {
            let axis = *new_axes.first()?;
            let mut c = xg.chunks().to_vec();
            c[axis] = AxisChunks::regular(c[axis].len().checked_mul(ngroups)?, ngroups);
            (
                Op::GroupPartial {
                    input: sliced,
                    axis,
                    labels,
                    ngroups,
                    func: *func,
                },
                c,
            )
        }
        _ => return None,
    };
    let mut node = plan.push(state, ChunkGrid::new(chunks.clone()), first_op);
    for factor in levels.iter().rev() {
        for (k, &a) in new_axes.iter().enumerate() {
            let n = chunks[a].len();
            if n > 1 {
                let width = chunks[a][0];
                chunks[a] = AxisChunks::regular(n.div_ceil(factor[k]) * width, width);
            }
        }
        node = plan.push(
            state,
            ChunkGrid::new(chunks.clone()),
            Op::ReduceCombine {
                input: node,
                axes: new_axes.clone(),
                factor: factor.clone(),
                func,
            },
        );
    }
    let expect: Vec<AxisChunks> = (0..xg.ndim())
        .filter_map(|a| {
            if new_axes.contains(&a) {
                keepdims.then(|| match plan.nodes[cur].op {
                    Op::GroupPartial { ngroups, .. } => AxisChunks::whole(ngroups),
                    _ => AxisChunks::whole(1),
                })
            } else {
                Some(xg.chunks()[a].clone())
            }
        })
        .collect();
    (ChunkGrid::new(expect) == *out).then_some(Op::ReduceFinal {
        input: node,
        axes: new_axes,
        func,
        keepdims,
    })
}

/// `take(x, idx, axis)[sel]`: the slice on other axes moves to `x`; on the take axis it
/// selects among the indices.
fn take(
    plan: &mut Plan,
    sels: &[Sel],
    x: usize,
    axis: usize,
    indices: &std::sync::Arc<Vec<usize>>,
    out: &ChunkGrid,
) -> Option<Op<usize>> {
    if sels.iter().any(|s| !s.consumes()) || sels.len() <= axis {
        return None;
    }
    let mut inner: Vec<Sel> = sels.to_vec();
    let n = plan.nodes[x].grid.shape()[axis];
    match sels[axis] {
        Sel::Index(g) => {
            inner[axis] = Sel::Index(*indices.get(g)?);
            let (picks, grid) = to_picks(&inner, &plan.nodes[x].grid);
            (grid == *out).then_some(Op::Slice { input: x, picks })
        }
        Sel::Range { start, step, len } => {
            inner[axis] = Sel::all(n);
            let picked: Vec<usize> = (0..len)
                .map(|k| {
                    indices
                        .get((start as isize + step * k as isize) as usize)
                        .copied()
                })
                .collect::<Option<_>>()?;
            let dropped = sels[..axis]
                .iter()
                .filter(|s| matches!(s, Sel::Index(_)))
                .count();
            let sliced = slice_of(plan, x, &inner);
            let g = &plan.nodes[sliced].grid;
            let new_axis = axis - dropped;
            let aligned = (0..g.ndim()).all(|a| a == new_axis || g.chunks()[a] == out.chunks()[a]);
            aligned.then_some(Op::Take {
                input: sliced,
                axis: new_axis,
                indices: std::sync::Arc::new(picked),
            })
        }
        Sel::New => None,
    }
}
