//! Block kernels for the structural operations: generating, cutting, permuting and
//! assembling blocks.

use super::chunk::Chunk;
use super::dtype::{DType, Element};
use super::graph::Generator;
use super::slicing::LocalPick;
use crate::with_dtype;
use ndarray::{IxDyn, Slice, SliceInfo, SliceInfoElem};
use rayon::prelude::*;

/// Values of a generated block at `offset` of an array of `shape`.
pub fn generate(
    gen: &Generator,
    dtype: DType,
    shape: &[usize],
    offset: &[usize],
    block: &[usize],
) -> Chunk {
    with_dtype!(dtype, T, {
        let conv_f = |v: f64| {
            if dtype == DType::Bool {
                T::from_f64((v != 0.0) as u8 as f64)
            } else {
                T::from_f64(v)
            }
        };
        match gen {
            Generator::Full { f, i } => {
                let v = if dtype.is_float() {
                    T::from_f64(*f)
                } else if dtype == DType::Bool {
                    T::from_f64((*i != 0) as u8 as f64)
                } else {
                    T::from_i128_wrapping(*i)
                };
                Chunk::build::<T>(dtype, block, |mut out| out.fill(v))
            }
            Generator::Arange {
                start,
                step,
                istart,
                istep,
            } => {
                let o = offset.first().copied().unwrap_or(0);
                Chunk::build::<T>(dtype, block, |out| {
                    for (k, x) in out.into_iter().enumerate() {
                        let g = (o + k) as i128;
                        *x = if dtype.is_float() {
                            T::from_f64(*start + (g as f64) * *step)
                        } else {
                            T::from_i128_wrapping(istart + g * istep)
                        };
                    }
                })
            }
            Generator::Linspace { start, stop, num } => {
                let o = offset.first().copied().unwrap_or(0);
                let div = if *num > 1 { (*num - 1) as f64 } else { 1.0 };
                let step = (stop - start) / div;
                Chunk::build::<T>(dtype, block, |out| {
                    for (k, x) in out.into_iter().enumerate() {
                        let g = o + k;
                        let v = if *num > 1 && g == *num - 1 {
                            *stop
                        } else {
                            g as f64 * step + start
                        };
                        *x = conv_f(v);
                    }
                })
            }
            Generator::Random { seed } => {
                // Global C-order position of every element, hashed with the seed; rows of
                // the block are contiguous runs of positions, filled in parallel.
                let nd = shape.len();
                let mut strides = vec![1usize; nd];
                for a in (0..nd.saturating_sub(1)).rev() {
                    strides[a] = strides[a + 1] * shape[a + 1];
                }
                let row = block.last().copied().unwrap_or(1).max(1);
                let outer = &block[..nd.saturating_sub(1)];
                Chunk::build::<T>(dtype, block, |out| {
                    let Some(flat) = out.into_slice() else { return };
                    flat.par_chunks_mut(row).enumerate().for_each(|(r, dst)| {
                        let mut rem = r;
                        let mut start = if nd > 0 { offset[nd - 1] } else { 0 };
                        for a in (0..outer.len()).rev() {
                            let i = rem % outer[a].max(1);
                            rem /= outer[a].max(1);
                            start += (offset[a] + i) * strides[a];
                        }
                        for (k, x) in dst.iter_mut().enumerate() {
                            *x = conv_f(uniform(*seed, (start + k) as u64));
                        }
                    });
                })
            }
        }
    })
}

/// Uniform `[0, 1)` value for position `i` under `seed` (splitmix64 of both).
pub fn uniform(seed: u64, i: u64) -> f64 {
    let mut z = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ i.wrapping_add(0x632B_E59B_D9B4_E019);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

/// Applies a per-axis selection to a block (copying the selected elements).
pub fn slice_block(c: &Chunk, picks: &[LocalPick]) -> Result<Chunk, String> {
    let elems: Vec<SliceInfoElem> = picks
        .iter()
        .map(|p| match *p {
            LocalPick::Index(i) => SliceInfoElem::Index(i as isize),
            LocalPick::NewAxis => SliceInfoElem::NewAxis,
            LocalPick::Whole => SliceInfoElem::from(Slice::new(0, None, 1)),
            LocalPick::Range { start, step, len } => {
                if len == 0 {
                    SliceInfoElem::from(Slice::new(start as isize, Some(start as isize), 1))
                } else if step > 0 {
                    SliceInfoElem::from(Slice::new(
                        start as isize,
                        Some(start as isize + (len as isize - 1) * step + 1),
                        step,
                    ))
                } else {
                    let lowest = start as isize + (len as isize - 1) * step;
                    SliceInfoElem::from(Slice::new(lowest, Some(start as isize + 1), step))
                }
            }
        })
        .collect();
    let info = SliceInfo::<Vec<SliceInfoElem>, IxDyn, IxDyn>::try_from(elems)
        .map_err(|e| format!("internal: bad slice: {e}"))?;
    with_dtype!(c.dtype, T, {
        let v = c.view::<T>();
        let s = v.slice(info.as_ref());
        let shape = s.shape().to_vec();
        Ok(Chunk::build::<T>(c.dtype, &shape, |mut out| out.assign(&s)))
    })
}

/// Permutes the axes of a block.
pub fn transpose_block(c: &Chunk, perm: &[usize]) -> Chunk {
    with_dtype!(c.dtype, T, {
        let v = c.view::<T>().permuted_axes(IxDyn(perm));
        let shape = v.shape().to_vec();
        Chunk::build::<T>(c.dtype, &shape, |mut out| out.assign(&v))
    })
}

/// Copies the box `[start, start + len)` of a block into a new block.
pub fn sub_box(c: &Chunk, start: &[usize], len: &[usize]) -> Chunk {
    if start.iter().all(|&s| s == 0) && len == c.shape.as_slice() {
        return c.clone();
    }
    with_dtype!(c.dtype, T, {
        let v = c.view::<T>();
        let s = v.slice_each_axis(|ax| {
            let a = ax.axis.index();
            Slice::from(start[a]..start[a] + len[a])
        });
        Chunk::build::<T>(c.dtype, len, |mut out| out.assign(&s))
    })
}

/// Builds a block of `shape` at `offset` from pieces `(chunk, chunk offset)` that cover it.
pub fn assemble(
    dtype: DType,
    shape: &[usize],
    offset: &[usize],
    pieces: &[(Chunk, Vec<usize>)],
) -> Chunk {
    if let [(c, off)] = pieces {
        if off.as_slice() == offset && c.shape.as_slice() == shape {
            return c.clone();
        }
    }
    with_dtype!(dtype, T, {
        Chunk::build::<T>(dtype, shape, |mut out| {
            for (c, coff) in pieces {
                let v = c.view::<T>();
                // Intersection of the piece with the output block, in global coordinates.
                let lo: Vec<usize> = (0..shape.len()).map(|a| offset[a].max(coff[a])).collect();
                let hi: Vec<usize> = (0..shape.len())
                    .map(|a| (offset[a] + shape[a]).min(coff[a] + c.shape[a]))
                    .collect();
                if lo.iter().zip(&hi).any(|(l, h)| l >= h) {
                    continue;
                }
                let src = v.slice_each_axis(|ax| {
                    let a = ax.axis.index();
                    Slice::from(lo[a] - coff[a]..hi[a] - coff[a])
                });
                out.slice_each_axis_mut(|ax| {
                    let a = ax.axis.index();
                    Slice::from(lo[a] - offset[a]..hi[a] - offset[a])
                })
                .assign(&src);
            }
        })
    })
}

/// Output block of a `take` along `axis`: position `j` copies input position `picks[j]`,
/// found in the input block whose `(offset, length)` on `axis` is in `spans` (same order as
/// `inputs`).
pub fn take_block(
    inputs: &[Chunk],
    spans: &[(usize, usize)],
    axis: usize,
    picks: &[usize],
    shape: &[usize],
) -> Result<Chunk, String> {
    let first = inputs.first().ok_or("internal: take without inputs")?;
    with_dtype!(first.dtype, T, {
        let views: Vec<_> = inputs.iter().map(|c| c.view::<T>()).collect();
        let mut missing = None;
        let out = Chunk::build::<T>(first.dtype, shape, |mut out| {
            for (j, &p) in picks.iter().enumerate() {
                match spans.iter().position(|&(o, n)| p >= o && p < o + n) {
                    Some(k) => out
                        .index_axis_mut(ndarray::Axis(axis), j)
                        .assign(&views[k].index_axis(ndarray::Axis(axis), p - spans[k].0)),
                    None => missing = Some(p),
                }
            }
        });
        match missing {
            Some(p) => Err(format!(
                "internal: take position {p} not in any input block"
            )),
            None => Ok(out),
        }
    })
}

/// Element access for tests.
pub fn get_f64(c: &Chunk, idx: &[usize]) -> Option<f64> {
    with_dtype!(c.dtype, T, {
        c.view::<T>().get(IxDyn(idx)).map(|x: &T| x.to_f64())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negative_step_pieces() {
        let c = Chunk::from_slice::<i64>(DType::I64, &[6], &[0, 1, 2, 3, 4, 5]);
        let r = slice_block(
            &c,
            &[LocalPick::Range {
                start: 5,
                step: -2,
                len: 3,
            }],
        )
        .unwrap();
        assert_eq!(r.to_f64_vec(), vec![5.0, 3.0, 1.0]);
        let r = slice_block(&c, &[LocalPick::Index(2), LocalPick::NewAxis]);
        assert!(r.is_err() || r.unwrap().shape == vec![1]);
    }

    #[test]
    fn assemble_from_pieces() {
        let a = Chunk::from_slice::<f64>(DType::F64, &[2], &[1.0, 2.0]);
        let b = Chunk::from_slice::<f64>(DType::F64, &[2], &[3.0, 4.0]);
        let out = assemble(DType::F64, &[3], &[1], &[(a, vec![0]), (b, vec![2])]);
        assert_eq!(out.to_f64_vec(), vec![2.0, 3.0, 4.0]);
    }

    #[test]
    fn random_is_independent_of_chunking() {
        let g = Generator::Random { seed: 7 };
        let whole = generate(&g, DType::F64, &[4, 5], &[0, 0], &[4, 5]);
        let part = generate(&g, DType::F64, &[4, 5], &[2, 3], &[2, 2]);
        assert_eq!(part.to_f64_vec()[0], whole.to_f64_vec()[2 * 5 + 3]);
    }
}
