//! A chunk: one block of an array, as it lives on a worker.
//!
//! The bytes sit in a shared `Payload` so that sending a chunk to another rank, keeping it
//! in a store, or handing it to a reshape or concatenate costs no copy. Typed access goes
//! through `ndarray` views of those bytes.

use super::dtype::{DType, Element};
use crate::array::buffer::Buffer;
use ndarray::{ArrayViewD, ArrayViewMutD, IxDyn};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// One block of an array: C-contiguous elements of `dtype` with `shape`.
#[derive(Clone, Debug)]
pub struct Chunk {
    /// Element type.
    pub dtype: DType,
    /// Block shape.
    pub shape: Vec<usize>,
    /// The elements, C order.
    pub data: Arc<Buffer>,
}

/// What travels in front of a chunk's payload: enough to rebuild the chunk around it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct ChunkMeta {
    /// Element type.
    pub dtype: DType,
    /// Block shape.
    pub shape: Vec<usize>,
}

impl Chunk {
    /// Number of elements.
    pub fn len(&self) -> usize {
        self.shape.iter().product()
    }

    /// True if the chunk has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Size in bytes.
    pub fn nbytes(&self) -> usize {
        self.data.len()
    }

    /// The header that describes this chunk on the wire.
    pub fn meta(&self) -> ChunkMeta {
        ChunkMeta {
            dtype: self.dtype,
            shape: self.shape.clone(),
        }
    }

    /// Rebuilds a chunk around a received payload, checking its size.
    pub fn from_parts(meta: ChunkMeta, data: Arc<Buffer>) -> Result<Chunk, String> {
        let want = meta.shape.iter().product::<usize>() * meta.dtype.size();
        if want != data.len() {
            return Err(format!(
                "payload of {} bytes does not match a {} chunk of shape {:?}",
                data.len(),
                meta.dtype,
                meta.shape
            ));
        }
        Ok(Chunk {
            dtype: meta.dtype,
            shape: meta.shape,
            data,
        })
    }

    /// A typed view. `T` must be the storage type of `self.dtype` (`u8` for bool).
    pub fn view<T: Element>(&self) -> ArrayViewD<'_, T> {
        let s: &[T] = self.data.typed();
        ArrayViewD::from_shape(IxDyn(&self.shape), s)
            .expect("internal invariant: a chunk's shape matches its payload length")
    }

    /// Builds a chunk by filling a fresh buffer through `fill`, which receives a C-order
    /// mutable view of the new block.
    pub fn build<T: Element>(
        dtype: DType,
        shape: &[usize],
        fill: impl FnOnce(ArrayViewMutD<'_, T>),
    ) -> Chunk {
        let n: usize = shape.iter().product();
        let mut p = Buffer::for_overwrite(n * std::mem::size_of::<T>());
        {
            let s: &mut [T] = p.typed_mut();
            if let Ok(v) = ArrayViewMutD::from_shape(IxDyn(shape), s) {
                fill(v);
            }
        }
        Chunk {
            dtype,
            shape: shape.to_vec(),
            data: Arc::new(p),
        }
    }

    /// A chunk holding the elements of `v` (copied once into a payload).
    pub fn from_slice<T: Element>(dtype: DType, shape: &[usize], v: &[T]) -> Chunk {
        Chunk {
            dtype,
            shape: shape.to_vec(),
            data: Arc::new(Buffer::from_elems(v)),
        }
    }

    /// The same bytes under another shape with the same number of elements (no copy).
    pub fn reshaped(&self, shape: Vec<usize>) -> Chunk {
        Chunk {
            dtype: self.dtype,
            shape,
            data: self.data.clone(),
        }
    }

    /// All elements converted to f64, C order (for tests and printing).
    pub fn to_f64_vec(&self) -> Vec<f64> {
        crate::with_dtype!(self.dtype, T, {
            self.view::<T>().iter().map(|x| x.to_f64()).collect()
        })
    }
}
