//! Fused elementwise expressions and their kernels.
//!
//! A chain of elementwise operations is one [`EExpr`] tree evaluated per block in a single
//! task: the graph builder merges `(x + 1) * y` into one node instead of one node per
//! operator. Operands of every binary node already share one compute dtype (the builder
//! inserts casts following numpy 2 promotion), so kernels are homogeneous: `T, T -> T` or
//! `T, T -> bool`. Integer semantics are numpy's: wrapping overflow, floor division and
//! modulo with Python's signs, and 0 for integer division or modulo by zero.

use super::chunk::Chunk;
use super::dtype::{DType, Element};
use super::nesting::bounded;
use crate::with_dtype;
use ndarray::{ArrayViewD, IxDyn, Zip};
use serde::{Deserialize, Serialize};

/// A scalar constant already converted to its dtype.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct Scalar {
    /// Its dtype.
    pub dtype: DType,
    /// Value for float dtypes.
    pub f: f64,
    /// Value for integer and bool dtypes.
    pub i: i128,
}

/// Unary elementwise functions (operand in the compute dtype).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum UFunc {
    /// `-x`
    Neg,
    /// `~x` on integers
    Invert,
    /// `~x` on booleans
    LogicalNot,
    /// `abs`
    Abs,
    /// `sqrt`
    Sqrt,
    /// `exp`
    Exp,
    /// `log`
    Log,
    /// `log10`
    Log10,
    /// `log2`
    Log2,
    /// `sin`
    Sin,
    /// `cos`
    Cos,
    /// `tan`
    Tan,
    /// `floor`
    Floor,
    /// `ceil`
    Ceil,
    /// `trunc`
    Trunc,
    /// `radians`
    Radians,
    /// `degrees`
    Degrees,
    /// `square`
    Square,
    /// `sign`
    Sign,
    /// `isnan` (bool result)
    IsNan,
    /// `isinf` (bool result)
    IsInf,
    /// `isfinite` (bool result)
    IsFinite,
}

impl UFunc {
    /// Looks a function up by its numpy name.
    pub fn by_name(name: &str) -> Option<UFunc> {
        Some(match name {
            "negative" => UFunc::Neg,
            "invert" => UFunc::Invert,
            "abs" | "absolute" => UFunc::Abs,
            "sqrt" => UFunc::Sqrt,
            "exp" => UFunc::Exp,
            "log" => UFunc::Log,
            "log10" => UFunc::Log10,
            "log2" => UFunc::Log2,
            "sin" => UFunc::Sin,
            "cos" => UFunc::Cos,
            "tan" => UFunc::Tan,
            "floor" => UFunc::Floor,
            "ceil" => UFunc::Ceil,
            "trunc" => UFunc::Trunc,
            "radians" | "deg2rad" => UFunc::Radians,
            "degrees" | "rad2deg" => UFunc::Degrees,
            "square" => UFunc::Square,
            "sign" => UFunc::Sign,
            "isnan" => UFunc::IsNan,
            "isinf" => UFunc::IsInf,
            "isfinite" => UFunc::IsFinite,
            _ => return None,
        })
    }

    /// True when the function needs a floating-point operand (integers are cast first).
    pub fn needs_float(self) -> bool {
        matches!(
            self,
            UFunc::Sqrt
                | UFunc::Exp
                | UFunc::Log
                | UFunc::Log10
                | UFunc::Log2
                | UFunc::Sin
                | UFunc::Cos
                | UFunc::Tan
                | UFunc::Radians
                | UFunc::Degrees
        )
    }

    /// True when the result is boolean.
    pub fn gives_bool(self) -> bool {
        matches!(self, UFunc::IsNan | UFunc::IsInf | UFunc::IsFinite)
    }
}

/// Binary elementwise functions (operands in one compute dtype).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum BFunc {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/` (floats only; integers are cast to float64 first)
    Div,
    /// `//`
    FloorDiv,
    /// `%`
    Mod,
    /// `**`
    Pow,
    /// `&`
    And,
    /// `|`
    Or,
    /// `^`
    Xor,
    /// `==`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `maximum` (NaN-propagating)
    Maximum,
    /// `minimum` (NaN-propagating)
    Minimum,
}

impl BFunc {
    /// True for comparisons (bool result).
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BFunc::Eq | BFunc::Ne | BFunc::Lt | BFunc::Le | BFunc::Gt | BFunc::Ge
        )
    }
}

/// A fused elementwise expression. Its nesting is bounded when decoded from the wire
/// ([`bounded`]).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum EExpr {
    /// Block of input `k` of the node.
    Input(usize),
    /// A constant.
    Const(Scalar),
    /// Conversion to another dtype (numpy `astype` semantics).
    Cast(#[serde(deserialize_with = "bounded")] Box<EExpr>, DType),
    /// A unary function.
    Unary(UFunc, #[serde(deserialize_with = "bounded")] Box<EExpr>),
    /// A binary function.
    Binary(
        BFunc,
        #[serde(deserialize_with = "bounded")] Box<EExpr>,
        #[serde(deserialize_with = "bounded")] Box<EExpr>,
    ),
    /// `where(cond, a, b)`.
    Where(
        #[serde(deserialize_with = "bounded")] Box<EExpr>,
        #[serde(deserialize_with = "bounded")] Box<EExpr>,
        #[serde(deserialize_with = "bounded")] Box<EExpr>,
    ),
}

impl EExpr {
    /// Shifts input indices by `by` (used when two fused expressions are merged).
    pub fn shift_inputs(&self, by: usize) -> EExpr {
        match self {
            EExpr::Input(k) => EExpr::Input(k + by),
            EExpr::Const(c) => EExpr::Const(*c),
            EExpr::Cast(e, d) => EExpr::Cast(Box::new(e.shift_inputs(by)), *d),
            EExpr::Unary(f, e) => EExpr::Unary(*f, Box::new(e.shift_inputs(by))),
            EExpr::Binary(f, a, b) => EExpr::Binary(
                *f,
                Box::new(a.shift_inputs(by)),
                Box::new(b.shift_inputs(by)),
            ),
            EExpr::Where(c, a, b) => EExpr::Where(
                Box::new(c.shift_inputs(by)),
                Box::new(a.shift_inputs(by)),
                Box::new(b.shift_inputs(by)),
            ),
        }
    }

    /// Number of operators (for plan printing).
    pub fn size(&self) -> usize {
        match self {
            EExpr::Input(_) | EExpr::Const(_) => 0,
            EExpr::Cast(e, _) | EExpr::Unary(_, e) => 1 + e.size(),
            EExpr::Binary(_, a, b) => 1 + a.size() + b.size(),
            EExpr::Where(c, a, b) => 1 + c.size() + a.size() + b.size(),
        }
    }
}

/// Arithmetic with numpy's per-dtype semantics.
pub trait Arith: Element {
    /// `a + b`
    fn add(a: Self, b: Self) -> Self;
    /// `a - b`
    fn sub(a: Self, b: Self) -> Self;
    /// `a * b`
    fn mul(a: Self, b: Self) -> Self;
    /// `a / b` (only used for floats)
    fn div(a: Self, b: Self) -> Self;
    /// `a // b`
    fn floordiv(a: Self, b: Self) -> Self;
    /// `a % b`
    fn rem(a: Self, b: Self) -> Self;
    /// `a ** b`; `None` for a negative integer exponent.
    fn pow(a: Self, b: Self) -> Option<Self>;
    /// bitwise and
    fn bitand(a: Self, b: Self) -> Self;
    /// bitwise or
    fn bitor(a: Self, b: Self) -> Self;
    /// bitwise xor
    fn bitxor(a: Self, b: Self) -> Self;
    /// bitwise not
    fn not(a: Self) -> Self;
    /// negation
    fn neg(a: Self) -> Self;
    /// absolute value
    fn abs(a: Self) -> Self;
    /// sign
    fn sign(a: Self) -> Self;
    /// NaN test
    fn is_nan(a: Self) -> bool;
    /// Infinity test
    fn is_inf(a: Self) -> bool;
    /// Float-only functions; identity for integers.
    fn float_fn(f: UFunc, a: Self) -> Self;
}

macro_rules! int_arith {
    ($t:ty, $signed:expr) => {
        impl Arith for $t {
            #[inline]
            fn add(a: Self, b: Self) -> Self {
                a.wrapping_add(b)
            }
            #[inline]
            fn sub(a: Self, b: Self) -> Self {
                a.wrapping_sub(b)
            }
            #[inline]
            fn mul(a: Self, b: Self) -> Self {
                a.wrapping_mul(b)
            }
            #[inline]
            fn div(a: Self, b: Self) -> Self {
                if b == 0 {
                    0
                } else {
                    a.wrapping_div(b)
                }
            }
            #[inline]
            #[allow(unused_comparisons)]
            fn floordiv(a: Self, b: Self) -> Self {
                if b == 0 {
                    return 0;
                }
                let q = a.wrapping_div(b);
                if $signed && a.wrapping_rem(b) != 0 && ((a < 0) != (b < 0)) {
                    q.wrapping_sub(1)
                } else {
                    q
                }
            }
            #[inline]
            #[allow(unused_comparisons)]
            fn rem(a: Self, b: Self) -> Self {
                if b == 0 {
                    return 0;
                }
                let r = a.wrapping_rem(b);
                if $signed && r != 0 && ((r < 0) != (b < 0)) {
                    r.wrapping_add(b)
                } else {
                    r
                }
            }
            #[inline]
            #[allow(unused_comparisons)]
            fn pow(a: Self, b: Self) -> Option<Self> {
                if b < 0 {
                    return None;
                }
                let mut e = b as u128;
                let mut base = a;
                let mut acc: Self = 1;
                while e > 0 {
                    if e & 1 == 1 {
                        acc = acc.wrapping_mul(base);
                    }
                    base = base.wrapping_mul(base);
                    e >>= 1;
                }
                Some(acc)
            }
            #[inline]
            fn bitand(a: Self, b: Self) -> Self {
                a & b
            }
            #[inline]
            fn bitor(a: Self, b: Self) -> Self {
                a | b
            }
            #[inline]
            fn bitxor(a: Self, b: Self) -> Self {
                a ^ b
            }
            #[inline]
            fn not(a: Self) -> Self {
                !a
            }
            #[inline]
            fn neg(a: Self) -> Self {
                (0 as $t).wrapping_sub(a)
            }
            #[inline]
            #[allow(unused_comparisons)]
            fn abs(a: Self) -> Self {
                if a < 0 {
                    (0 as $t).wrapping_sub(a)
                } else {
                    a
                }
            }
            #[inline]
            #[allow(unused_comparisons)]
            fn sign(a: Self) -> Self {
                if a > 0 {
                    1
                } else if a < 0 {
                    (0 as $t).wrapping_sub(1)
                } else {
                    0
                }
            }
            #[inline]
            fn is_nan(_a: Self) -> bool {
                false
            }
            #[inline]
            fn is_inf(_a: Self) -> bool {
                false
            }
            #[inline]
            fn float_fn(_f: UFunc, a: Self) -> Self {
                a
            }
        }
    };
}
int_arith!(i8, true);
int_arith!(i16, true);
int_arith!(i32, true);
int_arith!(i64, true);
int_arith!(u8, false);
int_arith!(u16, false);
int_arith!(u32, false);
int_arith!(u64, false);

macro_rules! float_arith {
    ($t:ty) => {
        impl Arith for $t {
            #[inline]
            fn add(a: Self, b: Self) -> Self {
                a + b
            }
            #[inline]
            fn sub(a: Self, b: Self) -> Self {
                a - b
            }
            #[inline]
            fn mul(a: Self, b: Self) -> Self {
                a * b
            }
            #[inline]
            fn div(a: Self, b: Self) -> Self {
                a / b
            }
            #[inline]
            fn floordiv(a: Self, b: Self) -> Self {
                py_divmod(a as f64, b as f64).0 as $t
            }
            #[inline]
            fn rem(a: Self, b: Self) -> Self {
                py_divmod(a as f64, b as f64).1 as $t
            }
            #[inline]
            fn pow(a: Self, b: Self) -> Option<Self> {
                Some(a.powf(b))
            }
            #[inline]
            fn bitand(_a: Self, _b: Self) -> Self {
                <$t>::NAN
            }
            #[inline]
            fn bitor(_a: Self, _b: Self) -> Self {
                <$t>::NAN
            }
            #[inline]
            fn bitxor(_a: Self, _b: Self) -> Self {
                <$t>::NAN
            }
            #[inline]
            fn not(_a: Self) -> Self {
                <$t>::NAN
            }
            #[inline]
            fn neg(a: Self) -> Self {
                -a
            }
            #[inline]
            fn abs(a: Self) -> Self {
                a.abs()
            }
            #[inline]
            fn sign(a: Self) -> Self {
                if a > 0.0 {
                    1.0
                } else if a < 0.0 {
                    -1.0
                } else if a == 0.0 {
                    0.0
                } else {
                    a
                }
            }
            #[inline]
            fn is_nan(a: Self) -> bool {
                a.is_nan()
            }
            #[inline]
            fn is_inf(a: Self) -> bool {
                a.is_infinite()
            }
            #[inline]
            fn float_fn(f: UFunc, a: Self) -> Self {
                match f {
                    UFunc::Sqrt => a.sqrt(),
                    UFunc::Exp => a.exp(),
                    UFunc::Log => a.ln(),
                    UFunc::Log10 => a.log10(),
                    UFunc::Log2 => a.log2(),
                    UFunc::Sin => a.sin(),
                    UFunc::Cos => a.cos(),
                    UFunc::Tan => a.tan(),
                    UFunc::Floor => a.floor(),
                    UFunc::Ceil => a.ceil(),
                    UFunc::Trunc => a.trunc(),
                    UFunc::Radians => a.to_radians(),
                    UFunc::Degrees => a.to_degrees(),
                    _ => a,
                }
            }
        }
    };
}
float_arith!(f32);
float_arith!(f64);

/// numpy's float `divmod`: floor quotient and remainder with the divisor's sign.
pub fn py_divmod(a: f64, b: f64) -> (f64, f64) {
    if b == 0.0 {
        return (a / b, f64::NAN);
    }
    let mut m = a % b;
    let mut div = (a - m) / b;
    if m != 0.0 {
        if (b < 0.0) != (m < 0.0) {
            m += b;
            div -= 1.0;
        }
    } else {
        m = 0.0f64.copysign(b);
    }
    let fd = if div != 0.0 {
        let mut f = div.floor();
        if div - f > 0.5 {
            f += 1.0;
        }
        f
    } else {
        0.0f64.copysign(a / b)
    };
    (fd, m)
}

/// Elements above which kernels use rayon.
const PARALLEL_MIN: usize = 1 << 16;

/// numpy broadcasting of two shapes (right-aligned, length 1 stretches).
pub fn broadcast_shape(a: &[usize], b: &[usize]) -> Result<Vec<usize>, String> {
    let n = a.len().max(b.len());
    let mut out = vec![0; n];
    for k in 0..n {
        let x = if k + a.len() >= n {
            a[k + a.len() - n]
        } else {
            1
        };
        let y = if k + b.len() >= n {
            b[k + b.len() - n]
        } else {
            1
        };
        out[k] = if x == y || y == 1 {
            x
        } else if x == 1 {
            y
        } else {
            return Err(format!("cannot broadcast block shapes {a:?} and {b:?}"));
        };
    }
    Ok(out)
}

fn bview<'a, T: Element>(
    v: &'a ArrayViewD<'a, T>,
    from: &[usize],
    shape: &[usize],
) -> Result<ArrayViewD<'a, T>, String> {
    v.broadcast(IxDyn(shape))
        .ok_or_else(|| format!("cannot broadcast block shape {from:?} to {shape:?}"))
}

macro_rules! map2 {
    ($dtype:expr, $T:ty, $O:ty, $shape:expr, $a:expr, $b:expr, |$x:ident, $y:ident| $body:expr) => {{
        let av0 = $a.view::<$T>();
        let av = bview::<$T>(&av0, &$a.shape, $shape)?;
        let bv0 = $b.view::<$T>();
        let bv = bview::<$T>(&bv0, &$b.shape, $shape)?;
        let n: usize = $shape.iter().product();
        Chunk::build::<$O>($dtype, $shape, |out| {
            let z = Zip::from(out).and(&av).and(&bv);
            if n >= PARALLEL_MIN {
                z.par_for_each(|o, &$x, &$y| *o = $body);
            } else {
                z.for_each(|o, &$x, &$y| *o = $body);
            }
        })
    }};
}

macro_rules! map1 {
    ($dtype:expr, $T:ty, $O:ty, $a:expr, |$x:ident| $body:expr) => {{
        let av = $a.view::<$T>();
        let n = $a.len();
        Chunk::build::<$O>($dtype, &$a.shape, |out| {
            let z = Zip::from(out).and(&av);
            if n >= PARALLEL_MIN {
                z.par_for_each(|o, &$x| *o = $body);
            } else {
                z.for_each(|o, &$x| *o = $body);
            }
        })
    }};
}

/// Applies a binary function to two chunks of the same dtype, broadcasting.
pub fn binary(f: BFunc, a: &Chunk, b: &Chunk) -> Result<Chunk, String> {
    let shape = broadcast_shape(&a.shape, &b.shape)?;
    let dt = a.dtype;
    let is_float = dt.is_float();
    with_dtype!(dt, T, {
        let out = match f {
            BFunc::Add => map2!(dt, T, T, &shape, a, b, |x, y| <T as Arith>::add(x, y)),
            BFunc::Sub => map2!(dt, T, T, &shape, a, b, |x, y| <T as Arith>::sub(x, y)),
            BFunc::Mul => map2!(dt, T, T, &shape, a, b, |x, y| <T as Arith>::mul(x, y)),
            BFunc::Div => map2!(dt, T, T, &shape, a, b, |x, y| <T as Arith>::div(x, y)),
            BFunc::FloorDiv => map2!(dt, T, T, &shape, a, b, |x, y| <T as Arith>::floordiv(x, y)),
            BFunc::Mod => map2!(dt, T, T, &shape, a, b, |x, y| <T as Arith>::rem(x, y)),
            BFunc::Pow => {
                let mut bad = false;
                let av0 = a.view::<T>();
                let av = bview::<T>(&av0, &a.shape, &shape)?;
                let bv0 = b.view::<T>();
                let bv = bview::<T>(&bv0, &b.shape, &shape)?;
                let c = Chunk::build::<T>(dt, &shape, |out| {
                    Zip::from(out).and(&av).and(&bv).for_each(|o, &x, &y| {
                        match <T as Arith>::pow(x, y) {
                            Some(v) => *o = v,
                            None => {
                                bad = true;
                                *o = x
                            }
                        }
                    })
                });
                if bad {
                    return Err("Integers to negative integer powers are not allowed.".into());
                }
                c
            }
            BFunc::And => map2!(dt, T, T, &shape, a, b, |x, y| <T as Arith>::bitand(x, y)),
            BFunc::Or => map2!(dt, T, T, &shape, a, b, |x, y| <T as Arith>::bitor(x, y)),
            BFunc::Xor => map2!(dt, T, T, &shape, a, b, |x, y| <T as Arith>::bitxor(x, y)),
            BFunc::Eq => map2!(DType::Bool, T, u8, &shape, a, b, |x, y| (x == y) as u8),
            BFunc::Ne => map2!(DType::Bool, T, u8, &shape, a, b, |x, y| (x != y) as u8),
            BFunc::Lt => map2!(DType::Bool, T, u8, &shape, a, b, |x, y| (x < y) as u8),
            BFunc::Le => map2!(DType::Bool, T, u8, &shape, a, b, |x, y| (x <= y) as u8),
            BFunc::Gt => map2!(DType::Bool, T, u8, &shape, a, b, |x, y| (x > y) as u8),
            BFunc::Ge => map2!(DType::Bool, T, u8, &shape, a, b, |x, y| (x >= y) as u8),
            BFunc::Maximum => map2!(dt, T, T, &shape, a, b, |x, y| if is_float
                && <T as Arith>::is_nan(x)
            {
                x
            } else if x >= y || (is_float && <T as Arith>::is_nan(y)) {
                if <T as Arith>::is_nan(y) {
                    y
                } else {
                    x
                }
            } else {
                y
            }),
            BFunc::Minimum => map2!(dt, T, T, &shape, a, b, |x, y| if is_float
                && <T as Arith>::is_nan(x)
            {
                x
            } else if x <= y || (is_float && <T as Arith>::is_nan(y)) {
                if <T as Arith>::is_nan(y) {
                    y
                } else {
                    x
                }
            } else {
                y
            }),
        };
        Ok(out)
    })
}

/// Applies a unary function.
pub fn unary(f: UFunc, a: &Chunk) -> Result<Chunk, String> {
    let dt = a.dtype;
    with_dtype!(dt, T, {
        Ok(match f {
            UFunc::Neg => map1!(dt, T, T, a, |x| <T as Arith>::neg(x)),
            UFunc::Invert => map1!(dt, T, T, a, |x| <T as Arith>::not(x)),
            UFunc::LogicalNot => map1!(dt, T, T, a, |x| <T as Arith>::bitxor(
                x,
                T::from_i128_wrapping(1)
            )),
            UFunc::Abs => map1!(dt, T, T, a, |x| <T as Arith>::abs(x)),
            UFunc::Sign => map1!(dt, T, T, a, |x| <T as Arith>::sign(x)),
            UFunc::Square => map1!(dt, T, T, a, |x| <T as Arith>::mul(x, x)),
            UFunc::IsNan => map1!(DType::Bool, T, u8, a, |x| <T as Arith>::is_nan(x) as u8),
            UFunc::IsInf => map1!(DType::Bool, T, u8, a, |x| <T as Arith>::is_inf(x) as u8),
            UFunc::IsFinite => map1!(DType::Bool, T, u8, a, |x| (!<T as Arith>::is_nan(x)
                && !<T as Arith>::is_inf(x))
                as u8),
            other => map1!(dt, T, T, a, |x| <T as Arith>::float_fn(other, x)),
        })
    })
}

/// Converts a chunk to another dtype with numpy `astype` semantics.
pub fn cast(a: &Chunk, to: DType) -> Chunk {
    if a.dtype == to || (a.dtype == DType::Bool && matches!(to, DType::U8 | DType::I8)) {
        return Chunk {
            dtype: to,
            shape: a.shape.clone(),
            data: a.data.clone(),
        };
    }
    let from = a.dtype;
    with_dtype!(from, S, {
        if to == DType::Bool {
            return map1!(
                DType::Bool,
                S,
                u8,
                a,
                |x| (x.to_f64() != 0.0 || S::is_nan(x)) as u8
            );
        }
        with_dtype!(to, D, {
            if from.is_float() || to.is_float() {
                map1!(to, S, D, a, |x| D::from_f64(x.to_f64()))
            } else {
                map1!(to, S, D, a, |x| D::from_i128_wrapping(x.to_i128()))
            }
        })
    })
}

/// A 0-d chunk holding a scalar.
pub fn scalar_chunk(s: &Scalar) -> Chunk {
    with_dtype!(s.dtype, T, {
        let v = if s.dtype.is_float() {
            T::from_f64(s.f)
        } else {
            T::from_i128_wrapping(s.i)
        };
        Chunk::from_slice::<T>(s.dtype, &[], &[v])
    })
}

/// `where(c, a, b)` with broadcasting; `a` and `b` share a dtype.
pub fn select(c: &Chunk, a: &Chunk, b: &Chunk) -> Result<Chunk, String> {
    let shape = broadcast_shape(&broadcast_shape(&c.shape, &a.shape)?, &b.shape)?;
    let cv0 = c.view::<u8>();
    let cv = bview::<u8>(&cv0, &c.shape, &shape)?;
    let dt = a.dtype;
    with_dtype!(dt, T, {
        let av0 = a.view::<T>();
        let av = bview::<T>(&av0, &a.shape, &shape)?;
        let bv0 = b.view::<T>();
        let bv = bview::<T>(&bv0, &b.shape, &shape)?;
        Ok(Chunk::build::<T>(dt, &shape, |out| {
            Zip::from(out)
                .and(&cv)
                .and(&av)
                .and(&bv)
                .for_each(|o, &c, &x, &y| *o = if c != 0 { x } else { y })
        }))
    })
}

/// Materialises a chunk broadcast to `shape` (a copy only when the shapes differ).
pub fn broadcast_to(c: Chunk, shape: &[usize]) -> Result<Chunk, String> {
    if c.shape == shape {
        return Ok(c);
    }
    let dt = c.dtype;
    with_dtype!(dt, T, {
        let v0 = c.view::<T>();
        let v = bview::<T>(&v0, &c.shape, shape)?;
        Ok(Chunk::build::<T>(dt, shape, |mut out| out.assign(&v)))
    })
}

/// Evaluates an expression given the blocks of the node's inputs.
pub fn eval(e: &EExpr, inputs: &[Chunk]) -> Result<Chunk, String> {
    Ok(match e {
        EExpr::Input(k) => inputs
            .get(*k)
            .cloned()
            .ok_or_else(|| format!("internal: elementwise input {k} missing"))?,
        EExpr::Const(s) => scalar_chunk(s),
        EExpr::Cast(x, d) => cast(&eval(x, inputs)?, *d),
        EExpr::Unary(f, x) => unary(*f, &eval(x, inputs)?)?,
        EExpr::Binary(f, a, b) => binary(*f, &eval(a, inputs)?, &eval(b, inputs)?)?,
        EExpr::Where(c, a, b) => select(&eval(c, inputs)?, &eval(a, inputs)?, &eval(b, inputs)?)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_floor_semantics() {
        assert_eq!(<i32 as Arith>::floordiv(-7, 2), -4);
        assert_eq!(<i32 as Arith>::rem(-7, 2), 1);
        assert_eq!(<i32 as Arith>::rem(7, -2), -1);
        assert_eq!(<i32 as Arith>::floordiv(7, 0), 0);
        assert_eq!(<i32 as Arith>::rem(7, 0), 0);
        assert_eq!(<i8 as Arith>::floordiv(i8::MIN, -1), i8::MIN);
        assert_eq!(py_divmod(-7.0, 2.0), (-4.0, 1.0));
        assert_eq!(py_divmod(7.5, -2.0), (-4.0, -0.5));
        assert!(py_divmod(1.0, 0.0).0.is_infinite());
    }

    #[test]
    fn wrapping_and_pow() {
        assert_eq!(<u8 as Arith>::add(255, 1), 0);
        assert_eq!(<i32 as Arith>::pow(3, 4), Some(81));
        assert_eq!(<i32 as Arith>::pow(3, -1), None);
        assert_eq!(<u8 as Arith>::pow(2, 9), Some(0));
    }

    #[test]
    fn broadcasting_binary() {
        let a = Chunk::from_slice::<f64>(DType::F64, &[3, 1], &[1.0, 2.0, 3.0]);
        let b = Chunk::from_slice::<f64>(DType::F64, &[2], &[10.0, 20.0]);
        let c = binary(BFunc::Add, &a, &b).unwrap();
        assert_eq!(c.shape, vec![3, 2]);
        assert_eq!(c.to_f64_vec(), vec![11.0, 21.0, 12.0, 22.0, 13.0, 23.0]);
    }

    #[test]
    fn casts_follow_numpy() {
        let a = Chunk::from_slice::<f64>(DType::F64, &[3], &[-1.7, 0.0, f64::NAN]);
        assert_eq!(cast(&a, DType::I32).to_f64_vec(), vec![-1.0, 0.0, 0.0]);
        assert_eq!(cast(&a, DType::Bool).to_f64_vec(), vec![1.0, 0.0, 1.0]);
        let b = Chunk::from_slice::<i32>(DType::I32, &[2], &[300, -1]);
        assert_eq!(cast(&b, DType::U8).to_f64_vec(), vec![44.0, 255.0]);
    }
}
