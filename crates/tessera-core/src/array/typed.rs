//! The typed Rust API: constructors that take shapes and [`Chunks`], arithmetic operators
//! on `&DArray` (and scalars) that return a `Result` instead of panicking on a shape
//! mismatch, reductions over [`Axes`], and slicing with ndarray's `s![...]`.
//!
//! Every function here is a thin layer over the graph-building API in [`super::api`],
//! which holds the numpy semantics; the expression language calls the same functions.

use super::api::{self, Operand, PyScalar};
use super::binop::BinOp;
use super::chunk::Chunk;
use super::chunks::{AxisSpec, ChunkSpec};
use super::dtype::{DType, Element};
use super::graph::{DArray, Generator};
use super::slicing::Index;
use super::{ArrayError, Result};

/// How an array is cut into blocks.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunks(pub ChunkSpec);

impl Chunks {
    /// Blocks of about the default byte target (dask's `chunks="auto"`).
    pub fn auto() -> Chunks {
        Chunks(ChunkSpec::Auto)
    }

    /// Blocks of `block[a]` elements along axis `a` (the last block of an axis may be
    /// shorter).
    pub fn uniform(block: &[usize]) -> Chunks {
        Chunks(ChunkSpec::PerAxis(
            block.iter().map(|&b| AxisSpec::Size(b as i64)).collect(),
        ))
    }

    /// Explicit block lengths per axis (`((2, 2, 1), (4,))` in dask).
    pub fn explicit(blocks: &[Vec<usize>]) -> Chunks {
        Chunks(ChunkSpec::PerAxis(
            blocks
                .iter()
                .map(|b| AxisSpec::Explicit(b.iter().map(|&n| n as i64).collect()))
                .collect(),
        ))
    }

    /// The chunk specification.
    pub fn spec(&self) -> &ChunkSpec {
        &self.0
    }
}

impl From<ChunkSpec> for Chunks {
    fn from(s: ChunkSpec) -> Chunks {
        Chunks(s)
    }
}

impl From<&ChunkSpec> for Chunks {
    fn from(s: &ChunkSpec) -> Chunks {
        Chunks(s.clone())
    }
}

/// The axes a reduction runs over: some (negative counts from the end), or all.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Axes(Option<Vec<i64>>);

impl Axes {
    /// Every axis (the result is a 0-d array).
    pub fn all() -> Axes {
        Axes(None)
    }

    /// The axes, or `None` for all.
    pub fn as_slice(&self) -> Option<&[i64]> {
        self.0.as_deref()
    }
}

impl<const N: usize> From<[i64; N]> for Axes {
    fn from(a: [i64; N]) -> Axes {
        Axes(Some(a.to_vec()))
    }
}

impl From<Vec<i64>> for Axes {
    fn from(a: Vec<i64>) -> Axes {
        Axes(Some(a))
    }
}

impl From<i64> for Axes {
    fn from(a: i64) -> Axes {
        Axes(Some(vec![a]))
    }
}

fn filled(shape: &[usize], value: f64, chunks: Chunks) -> Result<DArray> {
    let g = Generator::Full {
        f: value,
        i: value as i128,
    };
    api::generate(shape, DType::F64, g, &chunks.0)
}

/// float64 zeros.
pub fn zeros(shape: &[usize], chunks: Chunks) -> Result<DArray> {
    filled(shape, 0.0, chunks)
}

/// float64 ones.
pub fn ones(shape: &[usize], chunks: Chunks) -> Result<DArray> {
    filled(shape, 1.0, chunks)
}

/// float64 `value` everywhere (`astype` for another type).
pub fn full(shape: &[usize], value: f64, chunks: Chunks) -> Result<DArray> {
    filled(shape, value, chunks)
}

/// float64 `start, start + step, ...` below `stop` (above it for a negative step), as
/// `numpy.arange` with float arguments.
pub fn arange(start: f64, stop: f64, step: f64, chunks: Chunks) -> Result<DArray> {
    if step == 0.0 || !step.is_finite() || !start.is_finite() || !stop.is_finite() {
        return Err(ArrayError::Invalid(format!(
            "arange({start}, {stop}, {step}): start, stop and a non-zero step must be finite"
        )));
    }
    let n = ((stop - start) / step).ceil().max(0.0) as usize;
    let g = Generator::Arange {
        start,
        step,
        istart: 0,
        istep: 0,
    };
    api::generate(&[n], DType::F64, g, &chunks.0)
}

/// `num` float64 values evenly spaced from `start` to `stop`, both included.
pub fn linspace(start: f64, stop: f64, num: usize, chunks: Chunks) -> Result<DArray> {
    let g = Generator::Linspace { start, stop, num };
    api::generate(&[num], DType::F64, g, &chunks.0)
}

/// Uniform `[0, 1)` float64 values from `seed`, the same whatever the chunking.
pub fn random(shape: &[usize], chunks: Chunks, seed: u64) -> Result<DArray> {
    api::generate(shape, DType::F64, Generator::Random { seed }, &chunks.0)
}

impl DArray {
    /// A lazy array over `data` (kept by the caller until computed), cut into `chunks`.
    pub fn from_ndarray<T: Element>(data: ndarray::ArrayD<T>, chunks: Chunks) -> Result<DArray> {
        let shape = data.shape().to_vec();
        let values: Vec<T> = data.into_iter().collect();
        let c = Chunk::from_slice::<T>(T::DTYPE, &shape, &values);
        api::from_local(c, &chunks.0)
    }

    /// A basic-indexing selection written with ndarray's `s![...]` (ranges with ndarray's
    /// meaning: `a..b;-1` is the elements `a..b` in reverse order).
    pub fn slice<I: AsRef<[ndarray::SliceInfoElem]>>(&self, info: I) -> Result<DArray> {
        use ndarray::SliceInfoElem as E;
        let elems = info.as_ref();
        let mut first = Vec::with_capacity(elems.len());
        let mut reverse = Vec::new();
        let mut any_reverse = false;
        for e in elems {
            match *e {
                E::Index(i) => first.push(Index::Int(i as i64)),
                E::NewAxis => {
                    first.push(Index::NewAxis);
                    reverse.push(Index::Slice(None, None, None));
                }
                E::Slice { start, end, step } => {
                    if step == 0 {
                        return Err(ArrayError::Invalid("slice step cannot be zero".into()));
                    }
                    // ndarray's `a..b;-k`: the range a..b, then every k-th from its end.
                    let (outer, inner) = if step < 0 {
                        any_reverse = true;
                        (1, Some(step as i64))
                    } else {
                        (step as i64, None)
                    };
                    first.push(Index::Slice(
                        Some(start as i64),
                        end.map(|e| e as i64),
                        Some(outer),
                    ));
                    reverse.push(Index::Slice(None, None, inner));
                }
            }
        }
        let out = self.getitem(&first)?;
        if any_reverse {
            out.getitem(&reverse)
        } else {
            Ok(out)
        }
    }
}

macro_rules! reductions {
    ($($name:ident => $what:literal),* $(,)?) => {
        impl DArray {
            $(
                #[doc = concat!("`", $what, "` over `axes` (numpy's meaning; `ddof` 0 for var/std).")]
                pub fn $name(&self, axes: impl Into<Axes>) -> Result<DArray> {
                    self.reduce($what, axes.into().as_slice(), false, 0.0)
                }
            )*
        }
    };
}

reductions! {
    sum => "sum", mean => "mean", min => "min", max => "max", std => "std", var => "var",
    prod => "prod", any => "any", all => "all", nansum => "nansum", nanmean => "nanmean",
    nanmin => "nanmin", nanmax => "nanmax", nanstd => "nanstd", nanvar => "nanvar",
    nanprod => "nanprod",
}

fn op(a: Operand, op: BinOp, b: Operand) -> Result<DArray> {
    api::binary(op, &a, &b)
}

macro_rules! operators {
    ($($trait:ident $method:ident $binop:ident),*) => {$(
        impl std::ops::$trait<&DArray> for &DArray {
            type Output = Result<DArray>;
            fn $method(self, rhs: &DArray) -> Result<DArray> {
                op(Operand::Array(self.clone()), BinOp::$binop, Operand::Array(rhs.clone()))
            }
        }
        impl std::ops::$trait<DArray> for &DArray {
            type Output = Result<DArray>;
            fn $method(self, rhs: DArray) -> Result<DArray> {
                op(Operand::Array(self.clone()), BinOp::$binop, Operand::Array(rhs))
            }
        }
        impl std::ops::$trait<&DArray> for DArray {
            type Output = Result<DArray>;
            fn $method(self, rhs: &DArray) -> Result<DArray> {
                op(Operand::Array(self), BinOp::$binop, Operand::Array(rhs.clone()))
            }
        }
        impl std::ops::$trait<DArray> for DArray {
            type Output = Result<DArray>;
            fn $method(self, rhs: DArray) -> Result<DArray> {
                op(Operand::Array(self), BinOp::$binop, Operand::Array(rhs))
            }
        }
        impl std::ops::$trait<f64> for &DArray {
            type Output = Result<DArray>;
            fn $method(self, rhs: f64) -> Result<DArray> {
                op(Operand::Array(self.clone()), BinOp::$binop, Operand::Scalar(PyScalar::float(rhs)))
            }
        }
        impl std::ops::$trait<f64> for DArray {
            type Output = Result<DArray>;
            fn $method(self, rhs: f64) -> Result<DArray> {
                op(Operand::Array(self), BinOp::$binop, Operand::Scalar(PyScalar::float(rhs)))
            }
        }
        impl std::ops::$trait<&DArray> for f64 {
            type Output = Result<DArray>;
            fn $method(self, rhs: &DArray) -> Result<DArray> {
                op(Operand::Scalar(PyScalar::float(self)), BinOp::$binop, Operand::Array(rhs.clone()))
            }
        }
        impl std::ops::$trait<DArray> for f64 {
            type Output = Result<DArray>;
            fn $method(self, rhs: DArray) -> Result<DArray> {
                op(Operand::Scalar(PyScalar::float(self)), BinOp::$binop, Operand::Array(rhs))
            }
        }
    )*};
}

operators!(Add add Add, Sub sub Sub, Mul mul Mul, Div div Div);

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::s;

    #[test]
    fn shapes_and_chunks_of_the_constructors() {
        let x = random(&[40, 30], Chunks::uniform(&[10, 15]), 0).expect("random");
        assert_eq!(x.shape(), vec![40, 30]);
        assert_eq!(x.chunks()[0].to_vec(), vec![10; 4]);
        let y = arange(0.0, 30.0, 1.0, Chunks::auto()).expect("arange");
        assert_eq!(y.shape(), vec![30]);
        assert_eq!(
            arange(1.0, 0.0, 0.5, Chunks::auto())
                .expect("empty")
                .shape(),
            vec![0]
        );
        assert!(arange(0.0, 1.0, 0.0, Chunks::auto()).is_err());
        assert_eq!(
            linspace(0.0, 1.0, 11, Chunks::uniform(&[4]))
                .expect("l")
                .shape(),
            vec![11]
        );
        assert_eq!(
            zeros(&[3, 2], Chunks::auto()).expect("z").dtype(),
            DType::F64
        );
    }

    #[test]
    fn operators_broadcast_and_refuse_mismatches() {
        let x = random(&[40, 30], Chunks::uniform(&[10, 15]), 0).expect("random");
        let y = arange(0.0, 30.0, 1.0, Chunks::auto()).expect("arange");
        let z = ((&x + 1.0).expect("add") * &y).expect("mul");
        assert_eq!(z.shape(), vec![40, 30]);
        let w = arange(0.0, 7.0, 1.0, Chunks::auto()).expect("arange");
        let e = (&x * &w).expect_err("30 and 7 do not broadcast");
        assert!(e.to_string().contains("broadcast"), "{e}");
        assert_eq!((2.0 - &y).expect("rsub").shape(), vec![30]);
    }

    #[test]
    fn reductions_slices_and_reshapes() {
        let x = random(&[40, 30], Chunks::uniform(&[10, 15]), 0).expect("random");
        assert_eq!(x.mean(Axes::from([0])).expect("mean").shape(), vec![30]);
        assert_eq!(
            x.sum(Axes::all()).expect("sum").shape(),
            Vec::<usize>::new()
        );
        let s = x.slice(s![..10, ..20]).expect("slice");
        assert_eq!(s.shape(), vec![10, 20]);
        let r = s.reshape(&[40, 5]).expect("reshape");
        let r = r.rechunk(Chunks::uniform(&[10, 5])).expect("rechunk");
        assert_eq!(r.transpose(None).expect("T").shape(), vec![5, 40]);
        assert_eq!(x.slice(s![1..5;-2, 3]).expect("rev").shape(), vec![2]);
        assert_eq!(x.slice(s![1..6;-2, 3]).expect("rev").shape(), vec![3]);
    }

    #[test]
    fn from_ndarray_keeps_shape_and_type() {
        let a = DArray::from_ndarray(
            ndarray::ArrayD::<f32>::zeros(vec![6, 4]),
            Chunks::uniform(&[3, 4]),
        )
        .expect("from_ndarray");
        assert_eq!(a.shape(), vec![6, 4]);
        assert_eq!(a.dtype(), DType::F32);
        assert_eq!(a.chunks()[0].to_vec(), vec![3, 3]);
    }
}
