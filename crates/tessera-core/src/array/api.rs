//! Building lazy arrays: constructors and operations on [`DArray`].
//!
//! Each function checks shapes, dtypes and chunks up front (so bad input is refused before
//! any work starts) and adds one node to the graph. Elementwise operations merge into the
//! fused expression of their operands; chunk grids of operands are unified to their common
//! refinement, as dask's `unify_chunks` does.

use super::binop::BinOp;
use super::chunk::Chunk;
use super::chunks::{normalize, normalize_axis_index, AxisChunks, ChunkGrid, ChunkSpec};
use super::dtype::{DType, ScalarKind};
use super::elementwise::{BFunc, EExpr, Scalar, UFunc};
use super::error::ArrayError;
use super::graph::{AxisPick, DArray, Generator, Op};
use super::limits;
use super::reduce::{ReduceFunc, ReduceKind};
use super::slicing::{self, Index};
use super::Result;
use crate::optimize::reshape;
use std::sync::Arc;

/// A Python scalar as written in an expression (weakly typed under NEP 50).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PyScalar {
    /// bool, int or float.
    pub kind: ScalarKind,
    /// Float value (also set for ints and bools).
    pub f: f64,
    /// Integer value (for ints and bools).
    pub i: i128,
}

impl PyScalar {
    /// A float scalar.
    pub fn float(f: f64) -> PyScalar {
        PyScalar {
            kind: ScalarKind::Float,
            f,
            i: f as i128,
        }
    }
    /// An int scalar.
    pub fn int(i: i128) -> PyScalar {
        PyScalar {
            kind: ScalarKind::Int,
            f: i as f64,
            i,
        }
    }
    /// A bool scalar.
    pub fn boolean(b: bool) -> PyScalar {
        PyScalar {
            kind: ScalarKind::Bool,
            f: b as i32 as f64,
            i: b as i128,
        }
    }

    fn to_const(self, dtype: DType) -> Result<Scalar> {
        if let (ScalarKind::Int, Some((lo, hi))) = (self.kind, dtype.int_range()) {
            if self.i < lo || self.i > hi {
                return Err(ArrayError::DType(format!(
                    "Python integer {} out of bounds for {dtype}",
                    self.i
                )));
            }
        }
        let i = if dtype == DType::Bool {
            (self.f != 0.0) as i128
        } else {
            self.i
        };
        Ok(Scalar {
            dtype,
            f: self.f,
            i,
        })
    }
}

/// An operand of an elementwise operation.
#[derive(Debug, Clone)]
pub enum Operand {
    /// A chunked (or local) array.
    Array(DArray),
    /// A Python scalar.
    Scalar(PyScalar),
}

impl Operand {
    fn dtype_or_weak(&self) -> std::result::Result<DType, ScalarKind> {
        match self {
            Operand::Array(a) => Ok(a.dtype()),
            Operand::Scalar(s) => Err(s.kind),
        }
    }
}

/// `zeros`, `ones`, `full`, `arange`, `linspace`, `random`.
pub fn generate(
    shape: &[usize],
    dtype: DType,
    gen: Generator,
    chunks: &ChunkSpec,
) -> Result<DArray> {
    let grid = normalize(shape, chunks, dtype.size(), None)?;
    Ok(DArray::new(dtype, grid, Op::Generate(gen)))
}

/// Wraps data held by the caller (from a `.npy` file or an `ndarray`).
pub fn from_local(data: Chunk, chunks: &ChunkSpec) -> Result<DArray> {
    let grid = normalize(&data.shape.clone(), chunks, data.dtype.size(), None)?;
    Ok(DArray::new(
        data.dtype,
        grid,
        Op::Local(Some(std::sync::Arc::new(data))),
    ))
}

fn is_local(a: &DArray) -> bool {
    matches!(a.node().op, Op::Local(_))
}

impl DArray {
    /// Same data, another chunk grid (a rechunk node unless the grid is unchanged; local
    /// data is simply cut differently).
    pub fn with_grid(&self, grid: ChunkGrid) -> DArray {
        if *self.grid() == grid {
            return self.clone();
        }
        if let Op::Local(d) = &self.node().op {
            return DArray::new(self.dtype(), grid, Op::Local(d.clone()));
        }
        if let Op::Generate(g) = &self.node().op {
            return DArray::new(self.dtype(), grid, Op::Generate(g.clone()));
        }
        DArray::new(
            self.dtype(),
            grid,
            Op::Rechunk {
                input: self.clone(),
            },
        )
    }

    /// `x.rechunk(chunks)`.
    pub fn rechunk(&self, chunks: impl Into<super::typed::Chunks>) -> Result<DArray> {
        let spec = chunks.into().0;
        let grid = normalize(&self.shape(), &spec, self.dtype().size(), Some(self.grid()))?;
        Ok(self.with_grid(grid))
    }

    /// `x.astype(dtype)`.
    pub fn astype(&self, dtype: DType) -> DArray {
        if dtype == self.dtype() {
            return self.clone();
        }
        let (inputs, e) = fused_parts(self);
        DArray::new(
            dtype,
            self.grid().clone(),
            Op::Elementwise {
                inputs,
                expr: EExpr::Cast(Box::new(e), dtype),
            },
        )
    }

    /// A unary function such as `sqrt` or `isnan`, or `-x` / `~x`.
    pub fn unary(&self, f: UFunc) -> Result<DArray> {
        let dt = self.dtype();
        let (f, compute) = match f {
            UFunc::Neg if dt == DType::Bool => {
                return Err(ArrayError::DType(
                    "The numpy boolean negative, the `-` operator, is not supported, use the `~` operator or the logical_not function instead.".into(),
                ))
            }
            UFunc::Invert if dt == DType::Bool => (UFunc::LogicalNot, dt),
            UFunc::Invert if dt.is_float() => {
                return Err(ArrayError::DType(format!("ufunc 'invert' not supported for the input type {dt}")))
            }
            f if f.needs_float() => (f, dt.float_math_dtype()),
            UFunc::Floor | UFunc::Ceil | UFunc::Trunc if !dt.is_float() => return Ok(self.clone()),
            UFunc::Sign | UFunc::Square if dt == DType::Bool => (f, DType::I8),
            f => (f, dt),
        };
        let out = if f.gives_bool() { DType::Bool } else { compute };
        let (inputs, e) = fused_parts(self);
        let e = cast_expr(e, dt, compute);
        Ok(DArray::new(
            out,
            self.grid().clone(),
            Op::Elementwise {
                inputs,
                expr: EExpr::Unary(f, Box::new(e)),
            },
        ))
    }

    /// `x[items]` with numpy basic indexing.
    pub fn getitem(&self, items: &[Index]) -> Result<DArray> {
        let (picks, grid) = slicing::plan(self.grid(), items)?;
        let identity = picks.len() == self.ndim()
            && picks.iter().enumerate().all(|(a, p)| match p {
                AxisPick::Whole => true,
                AxisPick::Range(pieces) => {
                    pieces.len() == self.chunks()[a].len()
                        && pieces.iter().enumerate().all(|(b, pc)| {
                            pc.block == b
                                && pc.start == 0
                                && pc.step == 1
                                && pc.len == self.chunks()[a][b]
                        })
                }
                _ => false,
            });
        if identity {
            return Ok(self.clone());
        }
        if let Op::Read(spec) = &self.node().op {
            // Push the selection into the hyperslab: only selected elements are read.
            let sliced = spec.sliced(&picks, self.grid());
            return Ok(DArray::new(self.dtype(), grid, Op::Read(Arc::new(sliced))));
        }
        Ok(DArray::new(
            self.dtype(),
            grid,
            Op::Slice {
                input: self.clone(),
                picks,
            },
        ))
    }

    /// `x.transpose(axes)`; `None` reverses the axes.
    pub fn transpose(&self, axes: Option<&[i64]>) -> Result<DArray> {
        let nd = self.ndim();
        let perm: Vec<usize> = match axes {
            None => (0..nd).rev().collect(),
            Some(a) => {
                if a.len() != nd {
                    return Err(ArrayError::Invalid(format!(
                        "axes don't match array: got {} axes for an array of {nd} dimensions",
                        a.len()
                    )));
                }
                let p = a
                    .iter()
                    .map(|&x| normalize_axis_index(x, nd))
                    .collect::<Result<Vec<_>>>()?;
                let mut seen = vec![false; nd];
                for &x in &p {
                    if seen[x] {
                        return Err(ArrayError::Invalid("repeated axis in transpose".into()));
                    }
                    seen[x] = true;
                }
                p
            }
        };
        if perm.iter().enumerate().all(|(i, &p)| i == p) {
            return Ok(self.clone());
        }
        let grid = ChunkGrid::new(perm.iter().map(|&p| self.chunks()[p].clone()).collect());
        Ok(DArray::new(
            self.dtype(),
            grid,
            Op::Transpose {
                input: self.clone(),
                perm,
            },
        ))
    }

    /// `x.swapaxes(a, b)`.
    pub fn swapaxes(&self, a: i64, b: i64) -> Result<DArray> {
        let nd = self.ndim();
        let (a, b) = (normalize_axis_index(a, nd)?, normalize_axis_index(b, nd)?);
        let mut perm: Vec<i64> = (0..nd as i64).collect();
        perm.swap(a, b);
        self.transpose(Some(&perm))
    }

    /// `x.reshape(shape)`, one entry may be `-1`.
    pub fn reshape(&self, shape: &[i64]) -> Result<DArray> {
        let in_shape = self.shape();
        let out_shape = reshape::resolve_shape(self.size(), &in_shape, shape)?;
        if out_shape == in_shape {
            return Ok(self.clone());
        }
        if self.size() > usize::MAX as u128 {
            return Err(ArrayError::Overflow(format!(
                "cannot reshape an array of shape {in_shape:?}: {} elements are more than {}",
                self.size(),
                usize::MAX
            )));
        }
        // Closed-form where the chunks are: planning costs at most the block limit per
        // axis whatever the number of blocks (see `reshape::plan`).
        let (in_chunks, out_chunks) =
            reshape::plan(&in_shape, self.chunks(), &out_shape, self.dtype().size());
        let input = self.with_grid(ChunkGrid::new(in_chunks));
        Ok(DArray::new(
            self.dtype(),
            ChunkGrid::new(out_chunks),
            Op::Reshape { input },
        ))
    }

    /// A reduction such as `sum` or `nanmean` over `axes` (`None`: all axes).
    pub fn reduce(
        &self,
        name: &str,
        axes: Option<&[i64]>,
        keepdims: bool,
        ddof: f64,
    ) -> Result<DArray> {
        let nd = self.ndim();
        let mut func = ReduceFunc::by_name(name, self.dtype())
            .ok_or_else(|| ArrayError::Invalid(format!("unknown reduction '{name}'")))?;
        func.ddof = ddof;
        let mut axes: Vec<usize> = match axes {
            None => (0..nd).collect(),
            Some(a) => a
                .iter()
                .map(|&x| normalize_axis_index(x, nd))
                .collect::<Result<Vec<_>>>()?,
        };
        let before = axes.len();
        axes.sort_unstable();
        axes.dedup();
        if axes.len() != before {
            return Err(ArrayError::Invalid("duplicate value in 'axis'".into()));
        }
        let shape = self.shape();
        if func.needs_nonempty() && axes.iter().any(|&a| shape[a] == 0) {
            let what = if func.kind == ReduceKind::Min {
                "minimum"
            } else {
                "maximum"
            };
            return Err(ArrayError::Invalid(format!(
                "zero-size array to reduction operation {what} which has no identity"
            )));
        }
        // Partial states: one per block, reduced axes shrink to one element per block.
        let (state_dtype, _) = func.state_layout();
        let mut chunks: Vec<AxisChunks> = self.chunks().to_vec();
        for &a in &axes {
            chunks[a] = AxisChunks::regular(chunks[a].len(), 1);
        }
        let cur = DArray::new(
            state_dtype,
            ChunkGrid::new(chunks),
            Op::ReducePartial {
                input: self.clone(),
                axes: axes.clone(),
                func,
            },
        );
        let out_chunks: Vec<AxisChunks> = (0..nd)
            .filter_map(|a| {
                if axes.contains(&a) {
                    keepdims.then(|| AxisChunks::whole(1))
                } else {
                    Some(self.chunks()[a].clone())
                }
            })
            .collect();
        Ok(reduce_tree(cur, &axes, func, keepdims, out_chunks))
    }

    /// A grouped reduction along `axis` (xarray's `groupby(...).mean()`): `labels[i]` is
    /// the group of position `i`; the result has `ngroups` positions on `axis`, in one
    /// block there. Reductions skip NaN (xarray's default); integer inputs are reduced as
    /// float64 except for `sum`.
    pub fn group_reduce(
        &self,
        name: &str,
        axis: usize,
        labels: Arc<Vec<u32>>,
        ngroups: usize,
        ddof: f64,
    ) -> Result<DArray> {
        if axis >= self.ndim() || labels.len() != self.shape()[axis] {
            return Err(ArrayError::Invalid(format!(
                "group labels ({}) do not match axis {axis} of an array of shape {:?}",
                labels.len(),
                self.shape()
            )));
        }
        let x = if self.dtype().is_float() || name == "sum" {
            self.clone()
        } else {
            self.astype(DType::F64)
        };
        let base = name.strip_prefix("nan").unwrap_or(name);
        let mut func = ReduceFunc::by_name(&format!("nan{base}"), x.dtype())
            .or_else(|| ReduceFunc::by_name(base, x.dtype()))
            .filter(|f| !matches!(f.kind, ReduceKind::Any | ReduceKind::All | ReduceKind::Prod))
            .ok_or_else(|| ArrayError::Invalid(format!("unknown groupby reduction '{name}'")))?;
        func.ddof = ddof;
        let (state_dtype, _) = func.state_layout();
        let mut chunks = x.chunks().to_vec();
        let states = chunks[axis].len().checked_mul(ngroups).ok_or_else(|| {
            ArrayError::Overflow(format!(
                "{ngroups} groups in each of {} blocks overflow the axis length",
                chunks[axis].len()
            ))
        })?;
        chunks[axis] = AxisChunks::regular(states, ngroups);
        let partial = DArray::new(
            state_dtype,
            ChunkGrid::new(chunks),
            Op::GroupPartial {
                input: x.clone(),
                axis,
                labels,
                ngroups,
                func,
            },
        );
        let mut out_chunks = x.chunks().to_vec();
        out_chunks[axis] = AxisChunks::whole(ngroups);
        Ok(reduce_tree(partial, &[axis], func, true, out_chunks))
    }

    /// Positions picked along `axis`: output position `j` is input position `indices[j]`,
    /// with `chunks` as the output's block sizes on that axis.
    pub fn take(
        &self,
        axis: usize,
        indices: Arc<Vec<usize>>,
        chunks: impl Into<AxisChunks>,
    ) -> Result<DArray> {
        let chunks: AxisChunks = chunks.into();
        let n = *self
            .shape()
            .get(axis)
            .ok_or_else(|| ArrayError::Invalid(format!("axis {axis} out of range for take")))?;
        if let Some(&bad) = indices.iter().find(|&&i| i >= n) {
            return Err(ArrayError::Invalid(format!(
                "index {bad} is out of bounds for axis {axis} with size {n}"
            )));
        }
        if chunks.extent() != indices.len() {
            return Err(ArrayError::Invalid(
                "internal: take chunks do not cover the indices".into(),
            ));
        }
        let mut grid = self.chunks().to_vec();
        grid[axis] = chunks;
        Ok(DArray::new(
            self.dtype(),
            ChunkGrid::new(grid),
            Op::Take {
                input: self.clone(),
                axis,
                indices,
            },
        ))
    }
}

/// Combine levels (at most 16 states per combine) until one block per reduced axis, then
/// the final step producing blocks of `out_chunks`.
fn reduce_tree(
    mut cur: DArray,
    axes: &[usize],
    func: ReduceFunc,
    keepdims: bool,
    out_chunks: Vec<AxisChunks>,
) -> DArray {
    let state_dtype = cur.dtype();
    loop {
        let multi: Vec<usize> = axes
            .iter()
            .copied()
            .filter(|&a| cur.chunks()[a].len() > 1)
            .collect();
        if multi.is_empty() {
            break;
        }
        let per_axis = ((16f64).powf(1.0 / multi.len() as f64).floor() as usize).max(2);
        let mut factor = vec![1; axes.len()];
        let mut chunks = cur.chunks().to_vec();
        for (k, &a) in axes.iter().enumerate() {
            let n = chunks[a].len();
            if n > 1 {
                factor[k] = per_axis.min(n);
                let width = chunks[a][0];
                // n.div_ceil(factor) states of `width` each (the partial states are regular).
                chunks[a] = AxisChunks::regular(n.div_ceil(factor[k]) * width, width);
            }
        }
        cur = DArray::new(
            state_dtype,
            ChunkGrid::new(chunks),
            Op::ReduceCombine {
                input: cur,
                axes: axes.to_vec(),
                factor,
                func,
            },
        );
    }
    DArray::new(
        func.result_dtype(),
        ChunkGrid::new(out_chunks),
        Op::ReduceFinal {
            input: cur,
            axes: axes.to_vec(),
            func,
            keepdims,
        },
    )
}

/// Most operators an elementwise node's expression may hold and still take more: a longer
/// run of operations (a sum of thousands of arrays) continues in a new node with this one
/// as its input. Keeps every expression small enough to copy, send and evaluate
/// recursively, and building a chain of `n` operations linear in `n`.
pub const MAX_FUSED_OPS: usize = 64;

/// The fused expression of an array as (inputs, expression): an elementwise node's own
/// while it is below [`MAX_FUSED_OPS`], else the array itself as input 0.
fn fused_parts(a: &DArray) -> (Vec<DArray>, EExpr) {
    match &a.node().op {
        Op::Elementwise { inputs, expr } if expr.size() < MAX_FUSED_OPS => {
            (inputs.clone(), expr.clone())
        }
        _ => (vec![a.clone()], EExpr::Input(0)),
    }
}

fn cast_expr(e: EExpr, from: DType, to: DType) -> EExpr {
    if from == to {
        e
    } else {
        EExpr::Cast(Box::new(e), to)
    }
}

/// numpy broadcasting of two shapes.
pub fn broadcast_shapes(a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    super::elementwise::broadcast_shape(a, b).map_err(|_| ArrayError::Broadcast {
        a: a.to_vec(),
        b: b.to_vec(),
    })
}

/// Common refinement of two chunkings of one axis (union of block boundaries). Equal
/// chunkings are their own refinement at no cost; others are listed block by block, so
/// both must be within the block limit.
fn refine(a: &AxisChunks, b: &AxisChunks) -> Result<AxisChunks> {
    if a == b {
        return Ok(a.clone());
    }
    for c in [a, b] {
        limits::check_axis_blocks(c.len(), c.extent(), "unifying the chunks of two operands")?;
    }
    let mut bounds = std::collections::BTreeSet::new();
    for c in [a, b] {
        bounds.extend((1..=c.len()).map(|i| c.offset(i)));
    }
    let mut prev = 0;
    let mut out = Vec::new();
    for x in bounds {
        if x > prev {
            out.push(x - prev);
            prev = x;
        }
    }
    if out.is_empty() {
        out.push(0);
    }
    Ok(AxisChunks::from_sizes(out))
}

/// Brings array operands to the output shape's grid: the common refinement of the
/// operands' chunks on every axis they do not broadcast, local arrays following their
/// chunked partners.
fn align(arrays: &[&DArray], out_shape: &[usize]) -> Result<Vec<DArray>> {
    let n = out_shape.len();
    let mut out_chunks: Vec<Option<AxisChunks>> = vec![None; n];
    let all_local = arrays.iter().all(|a| is_local(a));
    for a in arrays {
        if is_local(a) && !all_local {
            continue;
        }
        let off = n - a.ndim();
        for (k, c) in a.chunks().iter().enumerate() {
            let ax = off + k;
            if a.shape()[k] == out_shape[ax] {
                out_chunks[ax] = Some(match &out_chunks[ax] {
                    None => c.clone(),
                    Some(prev) => refine(prev, c)?,
                });
            }
        }
    }
    let out_chunks: Vec<AxisChunks> = out_chunks
        .into_iter()
        .enumerate()
        .map(|(ax, c)| c.unwrap_or_else(|| AxisChunks::whole(out_shape[ax])))
        .collect();
    Ok(arrays
        .iter()
        .map(|a| {
            let off = n - a.ndim();
            let want: Vec<AxisChunks> = (0..a.ndim())
                .map(|k| {
                    if a.shape()[k] == out_shape[off + k] {
                        out_chunks[off + k].clone()
                    } else {
                        AxisChunks::whole(a.shape()[k])
                    }
                })
                .collect();
            a.with_grid(ChunkGrid::new(want))
        })
        .collect())
}

fn out_grid(arrays: &[DArray], out_shape: &[usize]) -> ChunkGrid {
    let n = out_shape.len();
    let chunks = (0..n)
        .map(|ax| {
            arrays
                .iter()
                .find_map(|a| {
                    let off = n - a.ndim();
                    (ax >= off && a.shape()[ax - off] == out_shape[ax])
                        .then(|| a.chunks()[ax - off].clone())
                })
                .unwrap_or_else(|| AxisChunks::whole(out_shape[ax]))
        })
        .collect();
    ChunkGrid::new(chunks)
}

/// Builds an elementwise node from operands (arrays and scalars) and a function from their
/// (already cast) expressions to the result expression.
/// Builds an elementwise node; operand `k` is cast to `compute[k]` (or the last entry).
fn elementwise(
    operands: &[Operand],
    compute: &[DType],
    out_dtype: DType,
    build: impl FnOnce(Vec<EExpr>) -> EExpr,
) -> Result<DArray> {
    let arrays: Vec<&DArray> = operands
        .iter()
        .filter_map(|o| match o {
            Operand::Array(a) => Some(a),
            Operand::Scalar(_) => None,
        })
        .collect();
    let mut shape: Vec<usize> = vec![];
    for a in &arrays {
        shape = broadcast_shapes(&shape, &a.shape())?;
    }
    let aligned = align(&arrays, &shape)?;
    let mut inputs: Vec<DArray> = Vec::new();
    let mut exprs = Vec::new();
    let mut it = aligned.into_iter();
    for (k, o) in operands.iter().enumerate() {
        let target = compute
            .get(k)
            .or(compute.last())
            .copied()
            .unwrap_or(out_dtype);
        match o {
            Operand::Array(orig) => {
                let a = it.next().unwrap_or_else(|| orig.clone());
                let (ins, e) = fused_parts(&a);
                let e = e.shift_inputs(inputs.len());
                inputs.extend(ins);
                exprs.push(cast_expr(e, a.dtype(), target));
            }
            Operand::Scalar(s) => exprs.push(EExpr::Const(s.to_const(target)?)),
        }
    }
    let grid = out_grid(&inputs, &shape);
    Ok(DArray::new(
        out_dtype,
        grid,
        Op::Elementwise {
            inputs,
            expr: build(exprs),
        },
    ))
}

/// Result dtype of mixing operands under NEP 50.
pub fn result_type(operands: &[&Operand]) -> DType {
    let arrays: Vec<DType> = operands
        .iter()
        .filter_map(|o| o.dtype_or_weak().ok())
        .collect();
    let mut dt = match arrays.first() {
        Some(&d) => arrays.iter().fold(d, |acc, &x| DType::promote(acc, x)),
        None => {
            let best = operands
                .iter()
                .filter_map(|o| o.dtype_or_weak().err())
                .max_by_key(|k| *k as u8)
                .unwrap_or(ScalarKind::Float);
            return DType::of_scalar(best);
        }
    };
    for o in operands {
        if let Err(k) = o.dtype_or_weak() {
            dt = DType::promote_weak(dt, k);
        }
    }
    dt
}

/// A binary operator between operands, at least one of them an array.
pub fn binary(op: BinOp, a: &Operand, b: &Operand) -> Result<DArray> {
    let mut common = result_type(&[a, b]);
    let is_cmp = matches!(
        op,
        BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge
    );
    if is_cmp && common.is_int() {
        // numpy 2 compares with an out-of-range Python int exactly instead of failing.
        let out_of_range = [a, b]
            .iter()
            .any(|o| matches!(o, Operand::Scalar(s) if s.to_const(common).is_err()));
        if out_of_range {
            common = DType::F64;
        }
    }
    let (func, compute, out) = match op {
        BinOp::Add if common == DType::Bool => (BFunc::Or, common, common),
        BinOp::Mul if common == DType::Bool => (BFunc::And, common, common),
        BinOp::Add => (BFunc::Add, common, common),
        BinOp::Mul => (BFunc::Mul, common, common),
        BinOp::Sub if common == DType::Bool => {
            return Err(ArrayError::DType(
                "numpy boolean subtract, the `-` operator, is not supported, use the bitwise_xor, the `^` operator, or the logical_xor function instead.".into(),
            ))
        }
        BinOp::Sub => (BFunc::Sub, common, common),
        BinOp::Div => {
            let c = if common.is_float() { common } else { DType::F64 };
            (BFunc::Div, c, c)
        }
        BinOp::FloorDiv | BinOp::Mod | BinOp::Pow => {
            let c = if common == DType::Bool { DType::I8 } else { common };
            let f = match op {
                BinOp::FloorDiv => BFunc::FloorDiv,
                BinOp::Mod => BFunc::Mod,
                _ => BFunc::Pow,
            };
            (f, c, c)
        }
        BinOp::And | BinOp::Or | BinOp::Xor => {
            if common.is_float() {
                return Err(ArrayError::DType(format!(
                    "ufunc 'bitwise_{}' not supported for the input types ({})",
                    match op {
                        BinOp::And => "and",
                        BinOp::Or => "or",
                        _ => "xor",
                    },
                    common
                )));
            }
            let f = match op {
                BinOp::And => BFunc::And,
                BinOp::Or => BFunc::Or,
                _ => BFunc::Xor,
            };
            (f, common, common)
        }
        BinOp::Eq => (BFunc::Eq, common, DType::Bool),
        BinOp::Ne => (BFunc::Ne, common, DType::Bool),
        BinOp::Lt => (BFunc::Lt, common, DType::Bool),
        BinOp::Le => (BFunc::Le, common, DType::Bool),
        BinOp::Gt => (BFunc::Gt, common, DType::Bool),
        BinOp::Ge => (BFunc::Ge, common, DType::Bool),
    };
    elementwise(&[a.clone(), b.clone()], &[compute], out, |mut e| {
        let r = e.pop().unwrap_or(EExpr::Input(0));
        let l = e.pop().unwrap_or(EExpr::Input(0));
        EExpr::Binary(func, Box::new(l), Box::new(r))
    })
}

/// `maximum`/`minimum` (NaN-propagating elementwise max/min).
pub fn extremum(is_max: bool, a: &Operand, b: &Operand) -> Result<DArray> {
    let common = result_type(&[a, b]);
    let f = if is_max {
        BFunc::Maximum
    } else {
        BFunc::Minimum
    };
    elementwise(&[a.clone(), b.clone()], &[common], common, |mut e| {
        let r = e.pop().unwrap_or(EExpr::Input(0));
        let l = e.pop().unwrap_or(EExpr::Input(0));
        EExpr::Binary(f, Box::new(l), Box::new(r))
    })
}

/// `where(cond, a, b)`.
pub fn where_(cond: &Operand, a: &Operand, b: &Operand) -> Result<DArray> {
    let common = result_type(&[a, b]);
    let ops = [cond.clone(), a.clone(), b.clone()];
    elementwise(&ops, &[DType::Bool, common, common], common, |mut e| {
        let y = e.pop().unwrap_or(EExpr::Input(0));
        let x = e.pop().unwrap_or(EExpr::Input(0));
        let c = e.pop().unwrap_or(EExpr::Input(0));
        EExpr::Where(Box::new(c), Box::new(x), Box::new(y))
    })
}

/// `concatenate(arrays, axis)`.
pub fn concatenate(arrays: &[DArray], axis: i64) -> Result<DArray> {
    let first = arrays
        .first()
        .ok_or_else(|| ArrayError::Invalid("need at least one array to concatenate".into()))?;
    let nd = first.ndim();
    if nd == 0 {
        return Err(ArrayError::Invalid(
            "zero-dimensional arrays cannot be concatenated".into(),
        ));
    }
    let ax = normalize_axis_index(axis, nd)?;
    let dtype = arrays
        .iter()
        .skip(1)
        .fold(first.dtype(), |acc, a| DType::promote(acc, a.dtype()));
    for (k, a) in arrays.iter().enumerate() {
        if a.ndim() != nd {
            return Err(ArrayError::Shape(format!(
                "all the input array dimensions except for the concatenation axis must match exactly, but along dimension 0, the array at index 0 has {} dimension(s) and the array at index {k} has {} dimension(s)",
                nd,
                a.ndim()
            )));
        }
        for d in 0..nd {
            if d != ax && a.shape()[d] != first.shape()[d] {
                return Err(ArrayError::Shape(format!(
                    "all the input array dimensions except for the concatenation axis must match exactly, but along dimension {d}, the array at index 0 has size {} and the array at index {k} has size {}",
                    first.shape()[d],
                    a.shape()[d]
                )));
            }
        }
    }
    // Unify chunks on the other axes: the common refinement of the chunked inputs'.
    let mut common: Vec<AxisChunks> = first
        .shape()
        .iter()
        .map(|&n| AxisChunks::whole(n))
        .collect();
    let mut seen = false;
    for a in arrays.iter().filter(|a| !is_local(a)) {
        for (d, c) in common.iter_mut().enumerate() {
            if d != ax {
                *c = if seen {
                    refine(c, &a.chunks()[d])?
                } else {
                    a.chunks()[d].clone()
                };
            }
        }
        seen = true;
    }
    // The concatenation axis is listed block by block: check its length and block count
    // before listing.
    let mut total_len = 0usize;
    let mut total_blocks = 0usize;
    for a in arrays {
        total_len = total_len
            .checked_add(a.shape()[ax])
            .filter(|&n| n <= i64::MAX as usize)
            .ok_or_else(|| {
                ArrayError::Overflow(format!(
                    "concatenate along axis {ax}: the total length overflows the maximum allowed dimension {}",
                    i64::MAX
                ))
            })?;
        total_blocks =
            total_blocks.saturating_add(if is_local(a) { 1 } else { a.chunks()[ax].len() });
    }
    limits::check_axis_blocks(total_blocks, total_len, "concatenate")?;
    let mut inputs = Vec::new();
    let mut axis_chunks = Vec::new();
    for a in arrays {
        let mut want = common.clone();
        want[ax] = if is_local(a) {
            AxisChunks::whole(a.shape()[ax])
        } else {
            a.chunks()[ax].clone()
        };
        let a = a.with_grid(ChunkGrid::new(want)).astype(dtype);
        axis_chunks.extend(a.chunks()[ax].iter().copied().filter(|&c| c > 0));
        inputs.push(a);
    }
    if axis_chunks.is_empty() {
        axis_chunks.push(0);
    }
    let mut chunks = common;
    chunks[ax] = AxisChunks::from_sizes(axis_chunks);
    // Inputs with an empty concatenation axis contribute no blocks.
    let inputs: Vec<DArray> = inputs.into_iter().filter(|a| a.shape()[ax] > 0).collect();
    if inputs.is_empty() {
        return Ok(first.astype(dtype));
    }
    Ok(DArray::new(
        dtype,
        ChunkGrid::new(chunks),
        Op::Concatenate { inputs, axis: ax },
    ))
}

/// `stack(arrays, axis)`.
pub fn stack(arrays: &[DArray], axis: i64) -> Result<DArray> {
    let first = arrays
        .first()
        .ok_or_else(|| ArrayError::Invalid("need at least one array to stack".into()))?;
    for (k, a) in arrays.iter().enumerate() {
        if a.shape() != first.shape() {
            return Err(ArrayError::Shape(format!(
                "all input arrays must have the same shape: array 0 has shape {:?}, array {k} has shape {:?}",
                first.shape(),
                a.shape()
            )));
        }
    }
    let ax = normalize_axis_index(axis, first.ndim() + 1)?;
    let refs: Vec<&DArray> = arrays.iter().collect();
    let aligned = align(&refs, &first.shape())?;
    let mut expanded = Vec::new();
    for a in &aligned {
        let mut items = vec![Index::Slice(None, None, None); a.ndim()];
        items.insert(ax, Index::NewAxis);
        expanded.push(a.getitem(&items)?);
    }
    concatenate(&expanded, ax as i64)
}

/// A 0-d array holding a Python scalar, with numpy's default dtype for its kind.
pub fn scalar_array(s: PyScalar) -> DArray {
    let c = match s.kind {
        ScalarKind::Bool => Chunk::from_slice::<u8>(DType::Bool, &[], &[s.i as u8]),
        ScalarKind::Int => Chunk::from_slice::<i64>(DType::I64, &[], &[s.i as i64]),
        ScalarKind::Float => Chunk::from_slice::<f64>(DType::F64, &[], &[s.f]),
    };
    DArray::new(c.dtype, ChunkGrid::scalar(), Op::Local(Some(Arc::new(c))))
}
