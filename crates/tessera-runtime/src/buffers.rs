//! Chunk buffers at the transport's edge: the transports move any shared byte buffer
//! ([`crate::array::buffer::Buffer`]); the runtime hands them its pooled chunk [`Buffer`]s and gets
//! the same allocations back, so a chunk crosses ranks without a copy.

use crate::array::buffer::Buffer;
use crate::comm::bytes::downcast;
use crate::comm::{BytesMut, Payload};
use std::sync::Arc;

/// The transports' allocation hook: received payloads land in pooled chunk buffers.
pub fn receive_buffer(len: usize) -> Box<dyn BytesMut> {
    Box::new(Buffer::for_overwrite(len))
}

/// A chunk buffer as a payload to send (shares it; no copy).
pub fn to_payload(b: Arc<Buffer>) -> Payload {
    b
}

/// A received payload as a chunk buffer: the very allocation when it is one (always, with
/// [`receive_buffer`] and in-process), else a counted copy.
pub fn to_buffer(p: Payload) -> Arc<Buffer> {
    match downcast::<Buffer>(p) {
        Ok(b) => b,
        Err(other) => Arc::new(Buffer::copy_from(other.bytes())),
    }
}
