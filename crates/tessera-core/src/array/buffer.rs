//! Chunk buffers: aligned, pooled, moved between ranks without copies (the transports
//! send straight from them and receive straight into them).
//!
//! Buffers are `u64`-backed so any element type up to 8 bytes can be viewed in place with
//! `bytemuck`. Large buffers return to a bounded pool when dropped, because writing into
//! fresh pages costs a page fault per 4 KiB (memcpy into fresh pages runs at a fifth of
//! the speed of touched ones on the reference machine).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::sync::OnceLock;

/// Buffers smaller than this are not pooled.
const POOL_MIN_BYTES: usize = 64 * 1024;
/// Most bytes the pool keeps (lowered by [`limit_pool`] under a tight memory limit).
const POOL_MAX_BYTES: usize = 512 * 1024 * 1024;

static POOL_LIMIT: AtomicU64 = AtomicU64::new(POOL_MAX_BYTES as u64);

/// Caps the bytes of free buffers kept for reuse (they count as the process's memory).
pub fn limit_pool(bytes: u64) {
    POOL_LIMIT.store(bytes.min(POOL_MAX_BYTES as u64), Ordering::Relaxed);
}

struct Pool {
    free: HashMap<usize, Vec<Vec<u64>>>,
    bytes: usize,
}

fn pool() -> &'static Mutex<Pool> {
    static POOL: OnceLock<Mutex<Pool>> = OnceLock::new();
    POOL.get_or_init(|| {
        Mutex::new(Pool {
            free: HashMap::new(),
            bytes: 0,
        })
    })
}

static COPIED: AtomicU64 = AtomicU64::new(0);

/// Bytes copied into buffers from other memory so far in this process (by
/// [`Buffer::copy_from`]). Transfers never call it; tests assert the count does not move
/// while chunks cross ranks.
pub fn copied_bytes() -> u64 {
    COPIED.load(Ordering::Relaxed)
}

/// Records `n` bytes copied into a buffer by code that fills buffers itself (packing
/// several arrays into one message), so the copy counter stays complete.
pub fn count_copied(n: u64) {
    COPIED.fetch_add(n, Ordering::Relaxed);
}

/// A contiguous byte buffer aligned to 8 bytes.
pub struct Buffer {
    words: Vec<u64>,
    len: usize,
}

impl std::fmt::Debug for Buffer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Buffer({} bytes)", self.len)
    }
}

impl Buffer {
    /// A buffer of `len` bytes whose contents the caller will overwrite entirely
    /// (it may hold stale bytes from the pool, never uninitialised memory).
    pub fn for_overwrite(len: usize) -> Buffer {
        let nwords = len.div_ceil(8);
        if len >= POOL_MIN_BYTES {
            if let Ok(mut p) = pool().lock() {
                if let Some(list) = p.free.get_mut(&nwords) {
                    if let Some(words) = list.pop() {
                        p.bytes -= nwords * 8;
                        return Buffer { words, len };
                    }
                }
            }
        }
        Buffer {
            words: vec![0u64; nwords],
            len,
        }
    }

    /// A zero-filled buffer.
    pub fn zeroed(len: usize) -> Buffer {
        let mut p = Buffer::for_overwrite(len);
        p.as_bytes_mut().fill(0);
        p
    }

    /// A buffer holding a copy of `bytes`.
    pub fn copy_from(bytes: &[u8]) -> Buffer {
        COPIED.fetch_add(bytes.len() as u64, Ordering::Relaxed);
        let mut p = Buffer::for_overwrite(bytes.len());
        p.as_bytes_mut().copy_from_slice(bytes);
        p
    }

    /// A buffer holding bytes just serialized (a typed task value): serializing was the
    /// copy, so none is counted.
    pub fn from_serialized(bytes: &[u8]) -> Buffer {
        let mut p = Buffer::for_overwrite(bytes.len());
        p.as_bytes_mut().copy_from_slice(bytes);
        p
    }

    /// A buffer holding the given elements.
    pub fn from_elems<T: bytemuck::Pod>(v: &[T]) -> Buffer {
        Buffer::copy_from(bytemuck::cast_slice(v))
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &bytemuck::cast_slice::<u64, u8>(&self.words)[..self.len]
    }

    /// The bytes, writable.
    pub fn as_bytes_mut(&mut self) -> &mut [u8] {
        let len = self.len;
        &mut bytemuck::cast_slice_mut::<u64, u8>(&mut self.words)[..len]
    }

    /// The buffer viewed as elements. Panics only if `len` is not a multiple of the
    /// element size, which the chunk layer guarantees.
    pub fn typed<T: bytemuck::Pod>(&self) -> &[T] {
        bytemuck::cast_slice(self.as_bytes())
    }

    /// The buffer viewed as writable elements.
    pub fn typed_mut<T: bytemuck::Pod>(&mut self) -> &mut [T] {
        bytemuck::cast_slice_mut(self.as_bytes_mut())
    }

    /// Address of the first byte (for zero-copy assertions in tests).
    pub fn addr(&self) -> usize {
        self.words.as_ptr() as usize
    }
}

impl AsRef<[u8]> for Buffer {
    fn as_ref(&self) -> &[u8] {
        self.as_bytes()
    }
}

impl AsMut<[u8]> for Buffer {
    fn as_mut(&mut self) -> &mut [u8] {
        self.as_bytes_mut()
    }
}

impl Drop for Buffer {
    fn drop(&mut self) {
        let bytes = self.words.len() * 8;
        if bytes < POOL_MIN_BYTES {
            return;
        }
        if let Ok(mut p) = pool().lock() {
            if (p.bytes + bytes) as u64 <= POOL_LIMIT.load(Ordering::Relaxed) {
                p.bytes += bytes;
                let words = std::mem::take(&mut self.words);
                p.free.entry(words.len()).or_default().push(words);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooled_buffers_are_reused() {
        let a = Buffer::for_overwrite(1 << 20);
        let addr = a.addr();
        drop(a);
        let b = Buffer::for_overwrite(1 << 20);
        assert_eq!(b.addr(), addr);
    }

    #[test]
    fn typed_views() {
        let p = Buffer::from_elems(&[1.0f64, 2.0, 3.0]);
        assert_eq!(p.len(), 24);
        assert_eq!(p.typed::<f64>(), &[1.0, 2.0, 3.0]);
        let q = Buffer::from_elems(&[1u8, 2, 3]);
        assert_eq!(q.typed::<u8>(), &[1, 2, 3]);
    }
}
