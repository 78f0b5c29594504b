//! Element types and numpy 2 type promotion (NEP 50).
//!
//! Promotion is table-free: it follows the rules numpy 2 applies between its "kinds"
//! (bool < unsigned/signed integer < float) so a reader can check each rule against NEP 50.
//! Python scalars are "weak": they take the array's dtype when of the same or lower kind.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The element types Tessera computes with. `Bool` is stored as one byte holding 0 or 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, PartialOrd, Ord)]
pub enum DType {
    /// `bool`
    Bool,
    /// `int8`
    I8,
    /// `int16`
    I16,
    /// `int32`
    I32,
    /// `int64`
    I64,
    /// `uint8`
    U8,
    /// `uint16`
    U16,
    /// `uint32`
    U32,
    /// `uint64`
    U64,
    /// `float32`
    F32,
    /// `float64`
    F64,
}

/// The three numeric kinds of NEP 50, ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// booleans
    Bool,
    /// signed or unsigned integers
    Int,
    /// floating point
    Float,
}

impl DType {
    /// Every dtype, for tests and help texts.
    pub const ALL: [DType; 11] = [
        DType::Bool,
        DType::I8,
        DType::I16,
        DType::I32,
        DType::I64,
        DType::U8,
        DType::U16,
        DType::U32,
        DType::U64,
        DType::F32,
        DType::F64,
    ];

    /// numpy's name of the dtype.
    pub fn name(self) -> &'static str {
        match self {
            DType::Bool => "bool",
            DType::I8 => "int8",
            DType::I16 => "int16",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::U8 => "uint8",
            DType::U16 => "uint16",
            DType::U32 => "uint32",
            DType::U64 => "uint64",
            DType::F32 => "float32",
            DType::F64 => "float64",
        }
    }

    /// Parses a numpy dtype name (`"float32"`, `"f4"`, `"int"`, `"float"`, ...).
    pub fn parse(s: &str) -> Option<DType> {
        Some(match s {
            "bool" | "bool_" | "?" => DType::Bool,
            "int8" | "i1" | "b" => DType::I8,
            "int16" | "i2" | "h" => DType::I16,
            "int32" | "i4" | "i" => DType::I32,
            "int64" | "i8" | "int" | "l" => DType::I64,
            "uint8" | "u1" | "B" => DType::U8,
            "uint16" | "u2" | "H" => DType::U16,
            "uint32" | "u4" | "I" => DType::U32,
            "uint64" | "u8" | "uint" | "L" => DType::U64,
            "float32" | "f4" | "f" | "single" => DType::F32,
            "float64" | "f8" | "d" | "float" | "double" => DType::F64,
            _ => return None,
        })
    }

    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            DType::Bool | DType::I8 | DType::U8 => 1,
            DType::I16 | DType::U16 => 2,
            DType::I32 | DType::U32 | DType::F32 => 4,
            DType::I64 | DType::U64 | DType::F64 => 8,
        }
    }

    /// The NEP 50 kind.
    pub fn kind(self) -> Kind {
        match self {
            DType::Bool => Kind::Bool,
            DType::F32 | DType::F64 => Kind::Float,
            _ => Kind::Int,
        }
    }

    /// True for signed integers.
    pub fn is_signed_int(self) -> bool {
        matches!(self, DType::I8 | DType::I16 | DType::I32 | DType::I64)
    }

    /// True for unsigned integers.
    pub fn is_unsigned_int(self) -> bool {
        matches!(self, DType::U8 | DType::U16 | DType::U32 | DType::U64)
    }

    /// True for integers of either sign.
    pub fn is_int(self) -> bool {
        self.kind() == Kind::Int
    }

    /// True for floats.
    pub fn is_float(self) -> bool {
        self.kind() == Kind::Float
    }

    fn signed_of_size(bytes: usize) -> DType {
        match bytes {
            1 => DType::I8,
            2 => DType::I16,
            4 => DType::I32,
            _ => DType::I64,
        }
    }

    /// `np.result_type(a, b)` for two arrays.
    pub fn promote(a: DType, b: DType) -> DType {
        use Kind::*;
        if a == b {
            return a;
        }
        match (a.kind(), b.kind()) {
            (Bool, _) => b,
            (_, Bool) => a,
            (Float, Float) => {
                if a.size() >= b.size() {
                    a
                } else {
                    b
                }
            }
            (Float, Int) => float_with_int(a, b),
            (Int, Float) => float_with_int(b, a),
            (Int, Int) => {
                let (sa, sb) = (a.is_signed_int(), b.is_signed_int());
                if sa == sb {
                    if a.size() >= b.size() {
                        a
                    } else {
                        b
                    }
                } else {
                    let (s, u) = if sa { (a, b) } else { (b, a) };
                    if s.size() > u.size() {
                        s
                    } else if u.size() < 8 {
                        DType::signed_of_size(u.size() * 2)
                    } else {
                        DType::F64
                    }
                }
            }
        }
    }

    /// The dtype of `array OP python_scalar` under NEP 50 (weak scalars).
    pub fn promote_weak(array: DType, scalar: ScalarKind) -> DType {
        match (array.kind(), scalar) {
            (_, ScalarKind::Bool) => array,
            (Kind::Bool, ScalarKind::Int) => DType::I64,
            (Kind::Bool | Kind::Int, ScalarKind::Float) => DType::F64,
            _ => array,
        }
    }

    /// The default dtype numpy gives a Python scalar of this kind on its own.
    pub fn of_scalar(kind: ScalarKind) -> DType {
        match kind {
            ScalarKind::Bool => DType::Bool,
            ScalarKind::Int => DType::I64,
            ScalarKind::Float => DType::F64,
        }
    }

    /// The smallest and largest integer values representable, for integer dtypes.
    pub fn int_range(self) -> Option<(i128, i128)> {
        Some(match self {
            DType::I8 => (i8::MIN as i128, i8::MAX as i128),
            DType::I16 => (i16::MIN as i128, i16::MAX as i128),
            DType::I32 => (i32::MIN as i128, i32::MAX as i128),
            DType::I64 => (i64::MIN as i128, i64::MAX as i128),
            DType::U8 => (0, u8::MAX as i128),
            DType::U16 => (0, u16::MAX as i128),
            DType::U32 => (0, u32::MAX as i128),
            DType::U64 => (0, u64::MAX as i128),
            _ => return None,
        })
    }

    /// Accumulator dtype of `sum`/`prod` (numpy: bool and signed ints give int64, unsigned uint64).
    pub fn sum_dtype(self) -> DType {
        match self {
            DType::Bool | DType::I8 | DType::I16 | DType::I32 | DType::I64 => DType::I64,
            DType::U8 | DType::U16 | DType::U32 | DType::U64 => DType::U64,
            f => f,
        }
    }

    /// Result dtype of `mean`/`var`/`std` (numpy: integers and bool give float64).
    pub fn mean_dtype(self) -> DType {
        if self.is_float() {
            self
        } else {
            DType::F64
        }
    }

    /// Result dtype of float-valued math functions (`sqrt`, `exp`, ...). numpy gives float16
    /// for 1-byte integers; Tessera has no float16 and gives float32 (documented in README).
    pub fn float_math_dtype(self) -> DType {
        match self {
            DType::F32 | DType::F64 => self,
            DType::Bool | DType::I8 | DType::U8 | DType::I16 | DType::U16 => DType::F32,
            _ => DType::F64,
        }
    }
}

fn float_with_int(f: DType, i: DType) -> DType {
    if f == DType::F64 || i.size() >= 4 {
        DType::F64
    } else {
        DType::F32
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The kind of a Python scalar literal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarKind {
    /// `True` / `False`
    Bool,
    /// an integer literal
    Int,
    /// a float literal or constant (`nan`, `pi`)
    Float,
}

/// Element types stored in chunk buffers, with conversions through f64/i128 used by kernels.
pub trait Element: bytemuck::Pod + Send + Sync + Copy + PartialOrd + 'static {
    /// The dtype tag.
    const DTYPE: DType;
    /// Converts to f64 (as numpy's `astype(float64)`).
    fn to_f64(self) -> f64;
    /// Converts from f64 with numpy's cast semantics for in-range values (truncation toward zero).
    fn from_f64(v: f64) -> Self;
    /// Converts to i128 (floats truncate).
    fn to_i128(self) -> i128;
    /// Converts from i128 with wrap-around, as C casts between integers do.
    fn from_i128_wrapping(v: i128) -> Self;
}

macro_rules! int_element {
    ($t:ty, $d:expr) => {
        impl Element for $t {
            const DTYPE: DType = $d;
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline]
            fn from_f64(v: f64) -> Self {
                if v.is_nan() {
                    0 as $t
                } else {
                    (v as i128) as $t
                }
            }
            #[inline]
            fn to_i128(self) -> i128 {
                self as i128
            }
            #[inline]
            fn from_i128_wrapping(v: i128) -> Self {
                v as $t
            }
        }
    };
}
int_element!(i8, DType::I8);
int_element!(i16, DType::I16);
int_element!(i32, DType::I32);
int_element!(i64, DType::I64);
int_element!(u16, DType::U16);
int_element!(u32, DType::U32);
int_element!(u64, DType::U64);

/// `u8` is shared by `uint8` and `bool`; kernels pass the dtype explicitly where it matters.
impl Element for u8 {
    const DTYPE: DType = DType::U8;
    #[inline]
    fn to_f64(self) -> f64 {
        self as f64
    }
    #[inline]
    fn from_f64(v: f64) -> Self {
        if v.is_nan() {
            0
        } else {
            (v as i128) as u8
        }
    }
    #[inline]
    fn to_i128(self) -> i128 {
        self as i128
    }
    #[inline]
    fn from_i128_wrapping(v: i128) -> Self {
        v as u8
    }
}

macro_rules! float_element {
    ($t:ty, $d:expr) => {
        impl Element for $t {
            const DTYPE: DType = $d;
            #[inline]
            fn to_f64(self) -> f64 {
                self as f64
            }
            #[inline]
            fn from_f64(v: f64) -> Self {
                v as $t
            }
            #[inline]
            fn to_i128(self) -> i128 {
                self as i128
            }
            #[inline]
            fn from_i128_wrapping(v: i128) -> Self {
                v as $t
            }
        }
    };
}
float_element!(f32, DType::F32);
float_element!(f64, DType::F64);

/// Calls `$body` with the type alias `$T` bound to the Rust element type of `$dtype`
/// (`bool` maps to `u8`).
#[macro_export]
macro_rules! with_dtype {
    ($dtype:expr, $T:ident, $body:expr) => {
        match $dtype {
            $crate::array::dtype::DType::Bool | $crate::array::dtype::DType::U8 => {
                type $T = u8;
                #[allow(unused_braces)]
                let r = $body;
                r
            }
            $crate::array::dtype::DType::I8 => {
                type $T = i8;
                #[allow(unused_braces)]
                let r = $body;
                r
            }
            $crate::array::dtype::DType::I16 => {
                type $T = i16;
                #[allow(unused_braces)]
                let r = $body;
                r
            }
            $crate::array::dtype::DType::I32 => {
                type $T = i32;
                #[allow(unused_braces)]
                let r = $body;
                r
            }
            $crate::array::dtype::DType::I64 => {
                type $T = i64;
                #[allow(unused_braces)]
                let r = $body;
                r
            }
            $crate::array::dtype::DType::U16 => {
                type $T = u16;
                #[allow(unused_braces)]
                let r = $body;
                r
            }
            $crate::array::dtype::DType::U32 => {
                type $T = u32;
                #[allow(unused_braces)]
                let r = $body;
                r
            }
            $crate::array::dtype::DType::U64 => {
                type $T = u64;
                #[allow(unused_braces)]
                let r = $body;
                r
            }
            $crate::array::dtype::DType::F32 => {
                type $T = f32;
                #[allow(unused_braces)]
                let r = $body;
                r
            }
            $crate::array::dtype::DType::F64 => {
                type $T = f64;
                #[allow(unused_braces)]
                let r = $body;
                r
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::DType::*;
    use super::*;

    #[test]
    fn nep50_array_pairs() {
        let cases = [
            (I32, F32, F64),
            (I8, F32, F32),
            (I16, F32, F32),
            (U8, I8, I16),
            (U32, I32, I64),
            (U64, I64, F64),
            (U64, I8, F64),
            (Bool, I8, I8),
            (Bool, F32, F32),
            (U8, U16, U16),
            (I64, F64, F64),
            (F32, F64, F64),
        ];
        for (a, b, want) in cases {
            assert_eq!(DType::promote(a, b), want, "{a} + {b}");
            assert_eq!(DType::promote(b, a), want, "{b} + {a}");
        }
    }

    #[test]
    fn nep50_weak_scalars() {
        assert_eq!(DType::promote_weak(F32, ScalarKind::Int), F32);
        assert_eq!(DType::promote_weak(F32, ScalarKind::Float), F32);
        assert_eq!(DType::promote_weak(I8, ScalarKind::Int), I8);
        assert_eq!(DType::promote_weak(I32, ScalarKind::Float), F64);
        assert_eq!(DType::promote_weak(Bool, ScalarKind::Int), I64);
        assert_eq!(DType::promote_weak(U8, ScalarKind::Bool), U8);
    }
}
