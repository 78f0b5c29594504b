//! Tree reductions: per-block partial states, combined in a fixed order, then finalised.
//!
//! A reduction is three kinds of task: a partial per input block (fused with whatever
//! produced the block), combine levels that merge groups of neighbouring partials, and a
//! final step that turns a state into values. The combine order depends only on the chunk
//! grid, so results are identical whatever the number of workers. Float sums accumulate in
//! f64 (numpy's float32 results within ~1e-7); integer sums and products wrap in 64 bits as
//! numpy's int64/uint64 accumulators do; variance combines (count, mean, M2) with Chan's
//! parallel formula.

use super::chunk::Chunk;
use super::dtype::{DType, Element};
use super::elementwise::Arith;
use crate::with_dtype;
use ndarray::IxDyn;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// The reduction functions.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum ReduceKind {
    /// `sum`
    Sum,
    /// `prod`
    Prod,
    /// `min`
    Min,
    /// `max`
    Max,
    /// `mean`
    Mean,
    /// `var`
    Var,
    /// `std`
    Std,
    /// `any`
    Any,
    /// `all`
    All,
}

/// A reduction with its options.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct ReduceFunc {
    /// Which function.
    pub kind: ReduceKind,
    /// Skip NaN (the `nan*` variants).
    pub skipna: bool,
    /// Delta degrees of freedom for `var`/`std`.
    pub ddof: f64,
    /// Dtype of the reduced array.
    pub input: DType,
}

impl ReduceFunc {
    /// Parses a numpy reduction name: `sum`, `nanmean`, ...
    pub fn by_name(name: &str, input: DType) -> Option<ReduceFunc> {
        let (skipna, base) = match name.strip_prefix("nan") {
            Some(b) => (true, b),
            None => (false, name),
        };
        let kind = match base {
            "sum" => ReduceKind::Sum,
            "prod" => ReduceKind::Prod,
            "min" | "amin" => ReduceKind::Min,
            "max" | "amax" => ReduceKind::Max,
            "mean" => ReduceKind::Mean,
            "var" => ReduceKind::Var,
            "std" => ReduceKind::Std,
            "any" if !skipna => ReduceKind::Any,
            "all" if !skipna => ReduceKind::All,
            _ => return None,
        };
        Some(ReduceFunc {
            kind,
            skipna: skipna && input.is_float(),
            ddof: 0.0,
            input,
        })
    }

    /// numpy's result dtype.
    pub fn result_dtype(&self) -> DType {
        match self.kind {
            ReduceKind::Sum | ReduceKind::Prod => self.input.sum_dtype(),
            ReduceKind::Min | ReduceKind::Max => self.input,
            ReduceKind::Mean | ReduceKind::Var | ReduceKind::Std => self.input.mean_dtype(),
            ReduceKind::Any | ReduceKind::All => DType::Bool,
        }
    }

    /// Dtype and number of fields of the partial state.
    pub fn state_layout(&self) -> (DType, usize) {
        match self.kind {
            ReduceKind::Sum | ReduceKind::Prod => {
                if self.input.is_float() {
                    (DType::F64, 1)
                } else {
                    (DType::U64, 1)
                }
            }
            ReduceKind::Min | ReduceKind::Max => (self.input, 1),
            ReduceKind::Mean => (DType::F64, 2),
            ReduceKind::Var | ReduceKind::Std => (DType::F64, 3),
            ReduceKind::Any | ReduceKind::All => (DType::Bool, 1),
        }
    }

    /// True when the function has no identity (min/max of nothing is an error).
    pub fn needs_nonempty(&self) -> bool {
        matches!(self.kind, ReduceKind::Min | ReduceKind::Max)
    }
}

/// Elements per piece when one long row is reduced in parallel (fixed, so the result does
/// not depend on the thread count).
const PIECE: usize = 1 << 15;

/// Reduces `block` over `axes` (block axes) to a partial state chunk of shape
/// `[fields, ...block shape with reduced axes set to 1]`.
pub fn partial(func: &ReduceFunc, block: &Chunk, axes: &[usize]) -> Chunk {
    let nd = block.shape.len();
    let kept: Vec<usize> = (0..nd).filter(|a| !axes.contains(a)).collect();
    let outer: usize = kept.iter().map(|&a| block.shape[a]).product();
    let inner: usize = axes.iter().map(|&a| block.shape[a]).product();
    let mut state_shape: Vec<usize> = block.shape.clone();
    for &a in axes {
        state_shape[a] = 1;
    }
    let (sdt, nf) = func.state_layout();
    let mut full_shape = vec![nf];
    full_shape.extend_from_slice(&state_shape);
    with_dtype!(block.dtype, T, {
        let v = block.view::<T>();
        let perm: Vec<usize> = kept.iter().chain(axes.iter()).copied().collect();
        let pv = v.permuted_axes(IxDyn(&perm));
        let std = pv.as_standard_layout();
        let flat = std.as_slice().unwrap_or(&[]);
        let rows: Vec<&[T]> = if inner == 0 {
            vec![&[][..]; outer]
        } else {
            flat.chunks(inner).collect()
        };
        let minmax_kind = matches!(func.kind, ReduceKind::Min | ReduceKind::Max);
        match sdt {
            DType::F64 if !minmax_kind => {
                let vals: Vec<[f64; 3]> =
                    map_rows(&rows, |r| row_f64(func, r), |a, b| combine_f64(func, a, b));
                Chunk::build::<f64>(DType::F64, &full_shape, |out| {
                    let o = out.into_slice().unwrap_or(&mut []);
                    for (i, s) in vals.iter().enumerate() {
                        for f in 0..nf {
                            o[f * outer + i] = s[f];
                        }
                    }
                })
            }
            DType::U64 if func.kind == ReduceKind::Sum || func.kind == ReduceKind::Prod => {
                let vals: Vec<u64> =
                    map_rows(&rows, |r| row_u64(func, r), |a, b| combine_u64(func, a, b));
                Chunk::build::<u64>(DType::U64, &full_shape, |out| {
                    let o = out.into_slice().unwrap_or(&mut []);
                    o.copy_from_slice(&vals);
                })
            }
            DType::Bool if !minmax_kind => {
                let any = func.kind == ReduceKind::Any;
                let vals: Vec<u8> = map_rows(
                    &rows,
                    |r: &[T]| {
                        let truthy = |x: &T| x.to_f64() != 0.0 || <T as Arith>::is_nan(*x);
                        (if any {
                            r.iter().any(truthy)
                        } else {
                            r.iter().all(truthy)
                        }) as u8
                    },
                    |a, b| if any { a | b } else { a & b },
                );
                Chunk::build::<u8>(DType::Bool, &full_shape, |out| {
                    let o = out.into_slice().unwrap_or(&mut []);
                    o.copy_from_slice(&vals);
                })
            }
            _ => {
                // min / max in the input dtype; `None` marks "no value yet".
                let is_min = func.kind == ReduceKind::Min;
                let skip = func.skipna;
                let vals: Vec<Option<T>> = map_rows(
                    &rows,
                    |r: &[T]| {
                        r.iter()
                            .fold(None, |acc, &x| minmax(is_min, skip, acc, Some(x)))
                    },
                    |a, b| minmax(is_min, skip, a, b),
                );
                Chunk::build::<T>(block.dtype, &full_shape, |out| {
                    let o = out.into_slice().unwrap_or(&mut []);
                    for (i, s) in vals.iter().enumerate() {
                        o[i] = s.unwrap_or_else(|| T::from_f64(f64::NAN));
                    }
                })
            }
        }
    })
}

/// Reduces each row, splitting long rows into fixed pieces reduced in parallel.
fn map_rows<T: Sync, S: Send + Copy>(
    rows: &[&[T]],
    row: impl Fn(&[T]) -> S + Sync,
    comb: impl Fn(S, S) -> S + Sync,
) -> Vec<S> {
    if rows.len() >= 64 {
        rows.par_iter().map(|r| row(r)).collect()
    } else {
        rows.iter()
            .map(|r| {
                if r.len() > 2 * PIECE {
                    let parts: Vec<S> = r.par_chunks(PIECE).map(&row).collect();
                    let mut it = parts.into_iter();
                    let first = it.next().unwrap_or_else(|| row(&[]));
                    it.fold(first, &comb)
                } else {
                    row(r)
                }
            })
            .collect()
    }
}

fn minmax<T: Arith>(is_min: bool, skipna: bool, a: Option<T>, b: Option<T>) -> Option<T> {
    match (a, b) {
        (None, x) | (x, None) => x,
        (Some(x), Some(y)) => {
            let (xn, yn) = (<T as Arith>::is_nan(x), <T as Arith>::is_nan(y));
            if xn || yn {
                return Some(if skipna {
                    if xn {
                        y
                    } else {
                        x
                    }
                } else if xn {
                    x
                } else {
                    y
                });
            }
            Some(if (is_min && y < x) || (!is_min && y > x) {
                y
            } else {
                x
            })
        }
    }
}

fn row_u64<T: Element>(func: &ReduceFunc, r: &[T]) -> u64 {
    match func.kind {
        ReduceKind::Prod => r
            .iter()
            .fold(1u64, |acc, &x| acc.wrapping_mul(x.to_i128() as u64)),
        _ => r
            .iter()
            .fold(0u64, |acc, &x| acc.wrapping_add(x.to_i128() as u64)),
    }
}

fn combine_u64(func: &ReduceFunc, a: u64, b: u64) -> u64 {
    match func.kind {
        ReduceKind::Prod => a.wrapping_mul(b),
        _ => a.wrapping_add(b),
    }
}

fn row_f64<T: Arith>(func: &ReduceFunc, r: &[T]) -> [f64; 3] {
    let skip = func.skipna;
    match func.kind {
        ReduceKind::Prod => {
            let p = r.iter().fold(1.0, |acc, &x| {
                let v = x.to_f64();
                if skip && v.is_nan() {
                    acc
                } else {
                    acc * v
                }
            });
            [p, 0.0, 0.0]
        }
        ReduceKind::Sum | ReduceKind::Mean => {
            let (s, n) = sum_count(r, skip);
            [s, n, 0.0]
        }
        _ => {
            let (s, n) = sum_count(r, skip);
            if n == 0.0 {
                return [0.0, 0.0, 0.0];
            }
            let mean = s / n;
            let m2 = r
                .iter()
                .map(|&x| x.to_f64())
                .filter(|v| !(skip && v.is_nan()))
                .map(|v| (v - mean) * (v - mean))
                .sum::<f64>();
            [n, mean, m2]
        }
    }
}

/// Sum and count of a slice in f64, with four independent accumulators (fixed order).
fn sum_count<T: Arith>(r: &[T], skipna: bool) -> (f64, f64) {
    let mut acc = [0.0f64; 4];
    let mut n = r.len() as f64;
    if skipna {
        for (i, &x) in r.iter().enumerate() {
            let v = x.to_f64();
            if v.is_nan() {
                n -= 1.0;
            } else {
                acc[i & 3] += v;
            }
        }
    } else {
        let mut it = r.chunks_exact(4);
        for c in &mut it {
            acc[0] += c[0].to_f64();
            acc[1] += c[1].to_f64();
            acc[2] += c[2].to_f64();
            acc[3] += c[3].to_f64();
        }
        for &x in it.remainder() {
            acc[0] += x.to_f64();
        }
    }
    ((acc[0] + acc[1]) + (acc[2] + acc[3]), n)
}

fn combine_f64(func: &ReduceFunc, a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    match func.kind {
        ReduceKind::Prod => [a[0] * b[0], 0.0, 0.0],
        ReduceKind::Sum | ReduceKind::Mean => [a[0] + b[0], a[1] + b[1], 0.0],
        _ => {
            let (na, nb) = (a[0], b[0]);
            if na == 0.0 {
                return b;
            }
            if nb == 0.0 {
                return a;
            }
            let n = na + nb;
            let delta = b[1] - a[1];
            [
                n,
                a[1] + delta * nb / n,
                a[2] + b[2] + delta * delta * na * nb / n,
            ]
        }
    }
}

/// Combines partial states of equal shape, in the order given.
#[allow(clippy::needless_range_loop)]
pub fn combine(func: &ReduceFunc, states: &[Chunk]) -> Result<Chunk, String> {
    let first = states.first().ok_or("internal: combine of no states")?;
    let shape = first.shape.clone();
    if states.iter().any(|s| s.shape != shape) {
        return Err("internal: partial states of different shapes".into());
    }
    let nf = shape.first().copied().unwrap_or(1);
    let outer: usize = shape.iter().skip(1).product();
    let (sdt, _) = func.state_layout();
    let minmax_kind = matches!(func.kind, ReduceKind::Min | ReduceKind::Max);
    Ok(match sdt {
        DType::F64 if !minmax_kind => Chunk::build::<f64>(DType::F64, &shape, |out| {
            let o = out.into_slice().unwrap_or(&mut []);
            for i in 0..outer {
                let get = |s: &Chunk| {
                    let d = s.data.typed::<f64>();
                    let mut v = [0.0; 3];
                    for f in 0..nf {
                        v[f] = d[f * outer + i];
                    }
                    v
                };
                let mut acc = get(first);
                for s in &states[1..] {
                    acc = combine_f64(func, acc, get(s));
                }
                for f in 0..nf {
                    o[f * outer + i] = acc[f];
                }
            }
        }),
        DType::U64 if matches!(func.kind, ReduceKind::Sum | ReduceKind::Prod) => {
            Chunk::build::<u64>(DType::U64, &shape, |out| {
                let o = out.into_slice().unwrap_or(&mut []);
                for i in 0..outer {
                    o[i] = states[1..]
                        .iter()
                        .fold(first.data.typed::<u64>()[i], |acc, s| {
                            combine_u64(func, acc, s.data.typed::<u64>()[i])
                        });
                }
            })
        }
        DType::Bool if !minmax_kind => {
            let any = func.kind == ReduceKind::Any;
            Chunk::build::<u8>(DType::Bool, &shape, |out| {
                let o = out.into_slice().unwrap_or(&mut []);
                for i in 0..outer {
                    o[i] = states[1..]
                        .iter()
                        .fold(first.data.typed::<u8>()[i], |acc, s| {
                            let v = s.data.typed::<u8>()[i];
                            if any {
                                acc | v
                            } else {
                                acc & v
                            }
                        });
                }
            })
        }
        dt => with_dtype!(dt, T, {
            let is_min = func.kind == ReduceKind::Min;
            Chunk::build::<T>(dt, &shape, |out| {
                let o = out.into_slice().unwrap_or(&mut []);
                for i in 0..outer {
                    let mut acc = first.data.typed::<T>()[i];
                    for st in &states[1..] {
                        let x = st.data.typed::<T>()[i];
                        acc = minmax(is_min, func.skipna, Some(acc), Some(x)).unwrap_or(acc);
                    }
                    o[i] = acc;
                }
            })
        }),
    })
}

/// Turns a fully combined state into result values of `out_shape`.
pub fn finalize(func: &ReduceFunc, state: &Chunk, out_shape: &[usize]) -> Result<Chunk, String> {
    let outer: usize = state.shape.iter().skip(1).product();
    if out_shape.iter().product::<usize>() != outer {
        return Err(format!(
            "internal: state of shape {:?} for result block {:?}",
            state.shape, out_shape
        ));
    }
    let rdt = func.result_dtype();
    Ok(match func.kind {
        ReduceKind::Min | ReduceKind::Max => state.reshaped(out_shape.to_vec()),
        ReduceKind::Sum | ReduceKind::Prod if !func.input.is_float() => {
            let bits = state.data.typed::<u64>();
            with_dtype!(rdt, R, {
                Chunk::build::<R>(rdt, out_shape, |out| {
                    for (o, &b) in out.into_iter().zip(bits) {
                        *o = R::from_i128_wrapping(b as i128);
                    }
                })
            })
        }
        ReduceKind::Sum
        | ReduceKind::Prod
        | ReduceKind::Mean
        | ReduceKind::Var
        | ReduceKind::Std => {
            let d = state.data.typed::<f64>();
            let value = |i: usize| -> f64 {
                match func.kind {
                    ReduceKind::Sum | ReduceKind::Prod => d[i],
                    ReduceKind::Mean => d[i] / d[outer + i],
                    _ => {
                        let n = d[i];
                        let dof = (n - func.ddof).max(0.0);
                        let var = if n == 0.0 {
                            f64::NAN
                        } else {
                            d[2 * outer + i] / dof
                        };
                        if func.kind == ReduceKind::Std {
                            var.sqrt()
                        } else {
                            var
                        }
                    }
                }
            };
            with_dtype!(rdt, R, {
                Chunk::build::<R>(rdt, out_shape, |out| {
                    for (i, o) in out.into_iter().enumerate() {
                        *o = R::from_f64(value(i));
                    }
                })
            })
        }
        _ => state.reshaped(out_shape.to_vec()),
    })
}

/// Partial states of a grouped reduction: `block` reduced along `axis` separately for each
/// group (`labels[i]` is the group of position `i`), giving a state chunk of shape
/// `[fields, ...block shape with axis set to ngroups]`. Groups absent from the block get the
/// empty state (zero count and sum; NaN, which `nan*` extrema skip, for min and max).
pub fn group_partial(
    func: &ReduceFunc,
    block: &Chunk,
    axis: usize,
    labels: &[u32],
    ngroups: usize,
) -> Result<Chunk, String> {
    let n = block.shape.get(axis).copied().unwrap_or(0);
    if labels.len() != n {
        return Err("internal: group labels do not match the block".into());
    }
    if labels.iter().any(|&g| g as usize >= ngroups) {
        return Err("internal: group label out of range".into());
    }
    let (sdt, nf) = func.state_layout();
    let mut shape = vec![nf];
    shape.extend_from_slice(&block.shape);
    shape[axis + 1] = ngroups;
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); ngroups];
    for (i, &g) in labels.iter().enumerate() {
        members[g as usize].push(i);
    }
    let states: Vec<Option<Chunk>> = members
        .par_iter()
        .map(|pos| -> Result<Option<Chunk>, String> {
            if pos.is_empty() {
                return Ok(None);
            }
            let mut sub_shape = block.shape.clone();
            sub_shape[axis] = pos.len();
            let sub = super::blocks::take_block(
                std::slice::from_ref(block),
                &[(0, n)],
                axis,
                pos,
                &sub_shape,
            )?;
            Ok(Some(partial(func, &sub, &[axis])))
        })
        .collect::<Result<_, String>>()?;
    let empty = if matches!(func.kind, ReduceKind::Min | ReduceKind::Max) {
        f64::NAN
    } else {
        0.0
    };
    Ok(with_dtype!(sdt, S, {
        Chunk::build::<S>(sdt, &shape, |mut out| {
            for (g, st) in states.iter().enumerate() {
                let mut dst = out.index_axis_mut(ndarray::Axis(axis + 1), g);
                match st {
                    Some(c) => {
                        let v = c.view::<S>();
                        dst.assign(&v.index_axis(ndarray::Axis(axis + 1), 0));
                    }
                    None => dst.fill(S::from_f64(empty)),
                }
            }
        })
    }))
}

/// Reduces a block completely along `axes`, for tests: partial + finalize.
pub fn reduce_block(
    func: &ReduceFunc,
    block: &Chunk,
    axes: &[usize],
    keepdims: bool,
) -> Result<Chunk, String> {
    let st = partial(func, block, axes);
    let mut shape: Vec<usize> = Vec::new();
    for (a, &n) in block.shape.iter().enumerate() {
        if axes.contains(&a) {
            if keepdims {
                shape.push(1);
            }
        } else {
            shape.push(n);
        }
    }
    finalize(func, &st, &shape)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(kind: &str, d: DType) -> ReduceFunc {
        ReduceFunc::by_name(kind, d).unwrap()
    }

    #[test]
    fn sums_and_means() {
        let c = Chunk::from_slice::<f64>(DType::F64, &[2, 3], &[1., 2., 3., 4., 5., 6.]);
        assert_eq!(
            reduce_block(&f("sum", DType::F64), &c, &[0, 1], false)
                .unwrap()
                .to_f64_vec(),
            vec![21.0]
        );
        assert_eq!(
            reduce_block(&f("sum", DType::F64), &c, &[0], false)
                .unwrap()
                .to_f64_vec(),
            vec![5., 7., 9.]
        );
        assert_eq!(
            reduce_block(&f("mean", DType::F64), &c, &[1], false)
                .unwrap()
                .to_f64_vec(),
            vec![2., 5.]
        );
        let v = reduce_block(&f("var", DType::F64), &c, &[0, 1], false)
            .unwrap()
            .to_f64_vec()[0];
        assert!((v - 35.0 / 12.0).abs() < 1e-12);
    }

    #[test]
    fn variance_combines_like_one_pass() {
        let func = f("var", DType::F64);
        let a = Chunk::from_slice::<f64>(DType::F64, &[3], &[1., 2., 3.]);
        let b = Chunk::from_slice::<f64>(DType::F64, &[2], &[10., 20.]);
        let s = combine(&func, &[partial(&func, &a, &[0]), partial(&func, &b, &[0])]).unwrap();
        let v = finalize(&func, &s, &[]).unwrap().to_f64_vec()[0];
        let all = [1., 2., 3., 10., 20.];
        let m = all.iter().sum::<f64>() / 5.0;
        let want = all.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / 5.0;
        assert!((v - want).abs() < 1e-12);
    }

    #[test]
    fn nan_handling() {
        let c = Chunk::from_slice::<f64>(DType::F64, &[3], &[1., f64::NAN, 3.]);
        assert!(reduce_block(&f("max", DType::F64), &c, &[0], false)
            .unwrap()
            .to_f64_vec()[0]
            .is_nan());
        assert_eq!(
            reduce_block(&f("nanmax", DType::F64), &c, &[0], false)
                .unwrap()
                .to_f64_vec(),
            vec![3.0]
        );
        assert_eq!(
            reduce_block(&f("nanmean", DType::F64), &c, &[0], false)
                .unwrap()
                .to_f64_vec(),
            vec![2.0]
        );
    }

    #[test]
    fn integer_sums_wrap_in_64_bits() {
        let c = Chunk::from_slice::<i8>(DType::I8, &[3], &[100, 100, -3]);
        let r = reduce_block(&f("sum", DType::I8), &c, &[0], false).unwrap();
        assert_eq!(r.dtype, DType::I64);
        assert_eq!(r.to_f64_vec(), vec![197.0]);
    }
}
