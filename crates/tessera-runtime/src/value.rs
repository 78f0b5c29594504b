//! What a task takes and returns: plain values and n-d arrays, in one type.
//!
//! On the wire and in a worker's store a value is split in two: a small [`Skel`] (the plain
//! parts, and each array's dtype, shape and offset) and at most one payload buffer holding
//! the array bytes. A value with a single array (the common case: a block, a scattered
//! array) keeps that array's own buffer as the payload, so storing, sending and receiving it
//! copies nothing, exactly as array chunks travel. Values with several arrays are packed
//! into one buffer (one copy, counted like every other payload copy).
//!
//! Typed tasks ([`crate::futures::task`]) exchange Rust values serialized with postcard:
//! [`Value::Encoded`] keeps those bytes in a payload buffer (so a large result travels like
//! an array block, not inside a control message) together with the Rust type's name, which
//! lets a mismatch be named instead of decoded as garbage.

use crate::array::buffer::Buffer;
use crate::array::chunk::{Chunk, ChunkMeta};
use crate::array::dtype::{DType, Element};
use ndarray::ArrayD;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// A task argument or result.
#[derive(Clone, Debug)]
pub enum Value {
    /// Nothing.
    Unit,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// Several values.
    List(Vec<Value>),
    /// An n-d array (C order), held without copying.
    Array(Chunk),
    /// A Rust value serialized by a typed task (see [`Encoded`]).
    Encoded(Encoded),
}

/// A Rust value of type `type_name` serialized with postcard.
#[derive(Clone, Debug)]
pub struct Encoded {
    /// `std::any::type_name` of the value's type (every rank runs the same binary, so the
    /// name identifies one type on all of them).
    pub type_name: String,
    /// The postcard bytes.
    pub bytes: Arc<Buffer>,
}

/// The plain part of a [`Value`]: arrays are replaced by where their bytes sit in the
/// payload.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Skel {
    /// See [`Value::Unit`].
    Unit,
    /// See [`Value::Bool`].
    Bool(bool),
    /// See [`Value::Int`].
    Int(i64),
    /// See [`Value::Float`].
    Float(f64),
    /// See [`Value::Str`].
    Str(String),
    /// See [`Value::List`] (nesting bounded when decoded from the wire).
    List(#[serde(deserialize_with = "crate::array::nesting::bounded")] Vec<Skel>),
    /// An array whose bytes start at `offset` in the payload.
    Array {
        /// Dtype and shape.
        meta: ChunkMeta,
        /// Byte offset in the payload.
        offset: u64,
    },
    /// A typed value whose `len` bytes start at `offset` in the payload.
    Encoded {
        /// See [`Encoded::type_name`].
        type_name: String,
        /// Byte offset in the payload.
        offset: u64,
        /// Length in bytes.
        len: u64,
    },
}

/// A whole value in one serializable piece (array bytes copied in): for small values that
/// ride inside control messages.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Packed {
    skel: Skel,
    bytes: Vec<u8>,
}

impl Skel {
    /// The skeleton of a single array block.
    pub fn of_chunk(meta: ChunkMeta) -> Skel {
        Skel::Array { meta, offset: 0 }
    }

    /// The block this skeleton describes when it is a whole-payload array.
    pub fn chunk_meta(&self) -> Option<&ChunkMeta> {
        match self {
            Skel::Array { meta, offset: 0 } => Some(meta),
            _ => None,
        }
    }
}

impl Value {
    /// Payload bytes of its arrays.
    pub fn nbytes(&self) -> u64 {
        match self {
            Value::Array(c) => c.nbytes() as u64,
            Value::List(v) => v.iter().map(Value::nbytes).sum(),
            Value::Str(s) => s.len() as u64,
            Value::Encoded(e) => e.bytes.len() as u64,
            _ => 0,
        }
    }

    /// The array, if this is one.
    pub fn as_chunk(&self) -> Option<&Chunk> {
        match self {
            Value::Array(c) => Some(c),
            _ => None,
        }
    }

    /// The integer (also a bool or an integral float), if this is one.
    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int(i) => Some(i),
            Value::Bool(b) => Some(b as i64),
            Value::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(f as i64),
            _ => None,
        }
    }

    /// The number as f64 (also an integer), if this is one.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::Float(f) => Some(f),
            Value::Int(i) => Some(i as f64),
            _ => None,
        }
    }

    /// The boolean, if this is one.
    pub fn as_bool(&self) -> Option<bool> {
        match *self {
            Value::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The items, if this is a list.
    pub fn as_list(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) => Some(v),
            _ => None,
        }
    }

    /// The array as an owned `ndarray` of element type `T` (which must be the array's
    /// storage type: `f64` for float64, `u8` for bool and uint8, ...).
    pub fn to_ndarray<T: Element>(&self) -> Option<ArrayD<T>> {
        let c = self.as_chunk()?;
        if c.dtype.size() != std::mem::size_of::<T>()
            || (c.dtype != T::DTYPE && !(c.dtype == DType::Bool && T::DTYPE == DType::U8))
        {
            return None;
        }
        Some(c.view::<T>().to_owned())
    }

    /// A short description for error messages: `int`, `float64 array (3, 4)`, ...
    pub fn describe(&self) -> String {
        match self {
            Value::Unit => "unit".into(),
            Value::Bool(_) => "bool".into(),
            Value::Int(_) => "int".into(),
            Value::Float(_) => "float".into(),
            Value::Str(_) => "string".into(),
            Value::List(v) => format!("list of {}", v.len()),
            Value::Array(c) => format!("{} array {:?}", c.dtype, c.shape),
            Value::Encoded(e) => e.type_name.clone(),
        }
    }

    /// Splits the value into its skeleton and the payload holding its array (and encoded)
    /// bytes.
    pub fn to_wire(&self) -> (Skel, Option<Arc<Buffer>>) {
        let mut blobs = Vec::new();
        collect_blobs(self, &mut blobs);
        match blobs.as_slice() {
            [] => (skeleton(self, &mut Vec::new().into_iter()), None),
            [only] => {
                let data = (*only).clone();
                (skeleton(self, &mut vec![0u64].into_iter()), Some(data))
            }
            many => {
                let mut offsets = Vec::with_capacity(many.len());
                let mut total = 0usize;
                for b in many {
                    offsets.push(total as u64);
                    total += b.len().div_ceil(8) * 8;
                }
                let mut p = Buffer::for_overwrite(total);
                let bytes = p.as_bytes_mut();
                for (b, &o) in many.iter().zip(&offsets) {
                    let o = o as usize;
                    bytes[o..o + b.len()].copy_from_slice(b.as_bytes());
                }
                crate::array::buffer::count_copied(total as u64);
                (skeleton(self, &mut offsets.into_iter()), Some(Arc::new(p)))
            }
        }
    }

    /// Rebuilds a value from its skeleton and payload. A single array spanning the whole
    /// payload keeps the buffer (no copy); arrays packed together are copied out.
    pub fn from_wire(skel: &Skel, payload: Option<&Arc<Buffer>>) -> Result<Value, String> {
        Ok(match skel {
            Skel::Unit => Value::Unit,
            Skel::Bool(b) => Value::Bool(*b),
            Skel::Int(i) => Value::Int(*i),
            Skel::Float(f) => Value::Float(*f),
            Skel::Str(s) => Value::Str(s.clone()),
            Skel::List(v) => Value::List(
                v.iter()
                    .map(|s| Value::from_wire(s, payload))
                    .collect::<Result<_, _>>()?,
            ),
            Skel::Array { meta, offset } => {
                let p = payload.ok_or("an array value arrived without its bytes")?;
                let len = meta.shape.iter().product::<usize>() * meta.dtype.size();
                Value::Array(Chunk::from_parts(meta.clone(), slice_of(p, *offset, len)?)?)
            }
            Skel::Encoded {
                type_name,
                offset,
                len,
            } => {
                let p = payload.ok_or("a typed value arrived without its bytes")?;
                let len = usize::try_from(*len).map_err(|_| "a typed value too long")?;
                Value::Encoded(Encoded {
                    type_name: type_name.clone(),
                    bytes: slice_of(p, *offset, len)?,
                })
            }
        })
    }

    /// The whole value as one serializable piece (array bytes copied in).
    pub fn pack(&self) -> Packed {
        let (skel, payload) = self.to_wire();
        Packed {
            skel,
            bytes: payload.map(|p| p.as_bytes().to_vec()).unwrap_or_default(),
        }
    }
}

impl Packed {
    /// The value back.
    pub fn unpack(&self) -> Result<Value, String> {
        let payload = if self.bytes.is_empty() {
            Some(Arc::new(Buffer::zeroed(0)))
        } else {
            Some(Arc::new(Buffer::copy_from(&self.bytes)))
        };
        Value::from_wire(&self.skel, payload.as_ref())
    }

    /// Payload bytes inside.
    pub fn nbytes(&self) -> usize {
        self.bytes.len()
    }
}

/// `len` bytes at `offset` of the payload: the payload itself when they span it (no copy),
/// else a copy.
fn slice_of(p: &Arc<Buffer>, offset: u64, len: usize) -> Result<Arc<Buffer>, String> {
    let o = usize::try_from(offset).map_err(|_| format!("offset {offset} out of range"))?;
    if o == 0 && len == p.len() {
        return Ok(p.clone());
    }
    let bytes = o
        .checked_add(len)
        .and_then(|end| p.as_bytes().get(o..end))
        .ok_or_else(|| {
            format!(
                "bytes {o}..{} lie outside a payload of {}",
                o.saturating_add(len),
                p.len()
            )
        })?;
    Ok(Arc::new(Buffer::copy_from(bytes)))
}

/// The buffers of a value's arrays and encoded values, in order.
fn collect_blobs<'v>(v: &'v Value, out: &mut Vec<&'v Arc<Buffer>>) {
    match v {
        Value::Array(c) => out.push(&c.data),
        Value::Encoded(e) => out.push(&e.bytes),
        Value::List(items) => items.iter().for_each(|i| collect_blobs(i, out)),
        _ => {}
    }
}

fn skeleton(v: &Value, offsets: &mut impl Iterator<Item = u64>) -> Skel {
    match v {
        Value::Unit => Skel::Unit,
        Value::Bool(b) => Skel::Bool(*b),
        Value::Int(i) => Skel::Int(*i),
        Value::Float(f) => Skel::Float(*f),
        Value::Str(s) => Skel::Str(s.clone()),
        Value::List(items) => Skel::List(items.iter().map(|i| skeleton(i, offsets)).collect()),
        Value::Array(c) => Skel::Array {
            meta: c.meta(),
            offset: offsets.next().unwrap_or(0),
        },
        Value::Encoded(e) => Skel::Encoded {
            type_name: e.type_name.clone(),
            offset: offsets.next().unwrap_or(0),
            len: e.bytes.len() as u64,
        },
    }
}

macro_rules! from_scalar {
    ($t:ty, $v:ident, $e:expr) => {
        impl From<$t> for Value {
            fn from($v: $t) -> Value {
                $e
            }
        }
    };
}
from_scalar!((), _u, Value::Unit);
from_scalar!(bool, b, Value::Bool(b));
from_scalar!(i64, i, Value::Int(i));
from_scalar!(i32, i, Value::Int(i as i64));
from_scalar!(u32, i, Value::Int(i as i64));
from_scalar!(usize, i, Value::Int(i as i64));
from_scalar!(f64, f, Value::Float(f));
from_scalar!(f32, f, Value::Float(f as f64));
from_scalar!(String, s, Value::Str(s));
from_scalar!(&str, s, Value::Str(s.to_string()));
from_scalar!(Chunk, c, Value::Array(c));
from_scalar!(Vec<Value>, v, Value::List(v));

impl<T: Element> From<ArrayD<T>> for Value {
    fn from(a: ArrayD<T>) -> Value {
        let shape = a.shape().to_vec();
        let c = match a.as_slice() {
            Some(s) => Chunk::from_slice(T::DTYPE, &shape, s),
            None => {
                let v: Vec<T> = a.iter().copied().collect();
                Chunk::from_slice(T::DTYPE, &shape, &v)
            }
        };
        Value::Array(c)
    }
}

impl PartialEq for Value {
    /// Equal kinds and contents (arrays: dtype, shape and bytes).
    fn eq(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Unit, Value::Unit) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Int(a), Value::Int(b)) => a == b,
            (Value::Float(a), Value::Float(b)) => a == b,
            (Value::Str(a), Value::Str(b)) => a == b,
            (Value::List(a), Value::List(b)) => a == b,
            (Value::Array(a), Value::Array(b)) => {
                a.dtype == b.dtype && a.shape == b.shape && a.data.as_bytes() == b.data.as_bytes()
            }
            (Value::Encoded(a), Value::Encoded(b)) => {
                a.type_name == b.type_name && a.bytes.as_bytes() == b.bytes.as_bytes()
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arr(n: usize, start: f64) -> Value {
        let v: Vec<f64> = (0..n).map(|i| start + i as f64).collect();
        Value::Array(Chunk::from_slice(DType::F64, &[n], &v))
    }

    #[test]
    fn a_single_array_keeps_its_buffer() {
        let v = arr(1000, 0.0);
        let (skel, p) = v.to_wire();
        let p = p.expect("payload");
        assert_eq!(p.addr(), v.as_chunk().expect("array").data.addr());
        let back = Value::from_wire(&skel, Some(&p)).expect("decode");
        assert_eq!(back.as_chunk().expect("array").data.addr(), p.addr());
        assert_eq!(back, v);
    }

    #[test]
    fn nested_values_round_trip() {
        let v = Value::List(vec![
            Value::Int(3),
            arr(3, 1.0),
            Value::Str("x".into()),
            Value::List(vec![arr(5, 10.0), Value::Bool(true), Value::Unit]),
            Value::Float(2.5),
        ]);
        let (skel, p) = v.to_wire();
        assert_eq!(Value::from_wire(&skel, p.as_ref()).expect("decode"), v);
        assert_eq!(v.pack().unpack().expect("unpack"), v);
        assert_eq!(
            Value::Int(7).pack().unpack().expect("unpack"),
            Value::Int(7)
        );
    }

    #[test]
    fn typed_access() {
        let a = ndarray::Array::from_shape_vec(vec![2, 3], (0..6i32).collect()).expect("shape");
        let v = Value::from(a.clone());
        assert_eq!(v.to_ndarray::<i32>(), Some(a));
        assert_eq!(v.to_ndarray::<f32>(), None);
        assert_eq!(Value::from(4.0).as_i64(), Some(4));
        assert_eq!(v.describe(), "int32 array [2, 3]");
    }
}
