//! What a transport moves: any shared, immutable byte buffer.
//!
//! The transports send straight from the caller's buffer and receive straight into one the
//! caller allocates, so the layer above keeps its own buffer type (pooled and aligned for
//! chunks) without this layer knowing it: a [`Payload`] is an `Arc` of anything that is
//! bytes, and a receiving transport asks an [`Alloc`] hook for a buffer to fill. The caller
//! gets its own type back by downcasting ([`Bytes`] is `Any`), so a chunk that crosses ranks
//! in-process is the sender's very allocation, and one received over MPI is the buffer the
//! caller's allocator handed out.

use std::any::Any;
use std::sync::Arc;

/// A byte buffer a transport can send from. Implemented for every `AsRef<[u8]>` type.
pub trait Bytes: Any + Send + Sync {
    /// The bytes.
    fn bytes(&self) -> &[u8];
}

impl<T: AsRef<[u8]> + Any + Send + Sync> Bytes for T {
    fn bytes(&self) -> &[u8] {
        self.as_ref()
    }
}

/// A byte buffer a transport can receive into. Implemented for every type that is
/// `AsRef<[u8]> + AsMut<[u8]>`.
pub trait BytesMut: Bytes {
    /// The bytes, writable.
    fn bytes_mut(&mut self) -> &mut [u8];
    /// The filled buffer, shared (moves the buffer's handle, not its bytes).
    fn share(self: Box<Self>) -> Payload;
}

impl<T: AsRef<[u8]> + AsMut<[u8]> + Any + Send + Sync> BytesMut for T {
    fn bytes_mut(&mut self) -> &mut [u8] {
        self.as_mut()
    }

    fn share(self: Box<Self>) -> Payload {
        Arc::new(*self)
    }
}

/// A message's payload: a shared buffer, sent and received without copying its bytes.
pub type Payload = Arc<dyn Bytes>;

/// Allocates a buffer of exactly `len` bytes for a transport to receive into; its contents
/// are overwritten entirely.
pub type Alloc = fn(usize) -> Box<dyn BytesMut>;

/// The allocator used when the caller gives none: a plain `Vec<u8>`.
pub fn vec_alloc(len: usize) -> Box<dyn BytesMut> {
    Box::new(vec![0u8; len])
}

/// The payload as a `T` again, without copying, if it was made from one.
pub fn downcast<T: Any + Send + Sync>(p: Payload) -> Result<Arc<T>, Payload> {
    if !(&*p as &dyn Any).is::<T>() {
        return Err(p);
    }
    let any: Arc<dyn Any + Send + Sync> = p;
    match any.downcast::<T>() {
        Ok(t) => Ok(t),
        Err(_) => unreachable!("the payload's type was checked just above"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn downcast_gives_back_the_same_allocation() {
        let v: Arc<Vec<u8>> = Arc::new(vec![1, 2, 3]);
        let addr = v.as_ptr() as usize;
        let p: Payload = v;
        assert_eq!(p.bytes(), &[1, 2, 3]);
        let Ok(back) = downcast::<Vec<u8>>(p) else {
            panic!("not given back as a Vec")
        };
        assert_eq!(back.as_ptr() as usize, addr);
        let p: Payload = Arc::new(Box::<[u8]>::from(&[4u8][..]));
        assert!(downcast::<Vec<u8>>(p).is_err());
    }

    #[test]
    fn received_buffers_are_shared_without_copy() {
        let mut b = vec_alloc(4);
        b.bytes_mut().copy_from_slice(&[9, 8, 7, 6]);
        let addr = b.bytes().as_ptr() as usize;
        let p = b.share();
        assert_eq!(p.bytes().as_ptr() as usize, addr);
    }
}
