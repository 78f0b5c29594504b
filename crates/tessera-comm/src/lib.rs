//! Tessera's transports: how ranks exchange control messages and chunk payloads.
//!
//! This layer knows nothing of arrays. A message is an opaque header (small, serialized
//! by the caller) and an optional payload: a shared byte buffer of the caller's own type
//! ([`bytes`]) that the transport moves without copying. Two implementations share one trait:
//! [`local::LocalTransport`] (threads and channels, the embedded default) and
//! [`mpi::MpiTransport`] (real MPI ranks). Everything above this module runs the same code
//! on either.
#![warn(missing_docs)]

pub mod bytes;
pub mod launch;
pub mod local;
#[cfg(feature = "mpi")]
pub mod mpi;
#[cfg(not(feature = "mpi"))]
#[path = "no_mpi.rs"]
pub mod mpi;

pub use bytes::{Alloc, Bytes, BytesMut, Payload};

use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// A process (or in-process worker) number. Rank 0 is the scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Rank(pub u32);

impl Rank {
    /// The scheduler's rank.
    pub const SCHEDULER: Rank = Rank(0);

    /// The rank as an index.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl std::fmt::Display for Rank {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// One received message.
pub struct Envelope {
    /// Who sent it.
    pub from: Rank,
    /// The caller's serialized header.
    pub header: Vec<u8>,
    /// The payload, if any: the buffer it was received into, shared without copying.
    pub payload: Option<Payload>,
}

impl std::fmt::Debug for Envelope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Envelope")
            .field("from", &self.from)
            .field("header_bytes", &self.header.len())
            .field(
                "payload_bytes",
                &self.payload.as_ref().map(|p| p.bytes().len()),
            )
            .finish()
    }
}

/// Transport failures. Any of these ends the run.
#[derive(Debug, thiserror::Error)]
pub enum CommError {
    /// The peer or the local receiver thread has gone away.
    #[error("transport closed: {0}")]
    Closed(String),
    /// MPI could not be initialised as needed.
    #[error("MPI initialisation failed: {0}")]
    Init(String),
}

/// Counters every transport keeps; the run report reads them.
#[derive(Debug, Default)]
pub struct CommStats {
    /// Payload bytes handed to the transport for sending.
    pub payload_bytes_sent: AtomicU64,
    /// Payload bytes received.
    pub payload_bytes_received: AtomicU64,
    /// Messages sent (headers).
    pub messages_sent: AtomicU64,
    /// Payload bytes the transport copied on the way (zero by design; tests assert it).
    pub payload_bytes_copied: AtomicU64,
    /// Address of the last payload buffer handed to the network (tests compare it with the
    /// chunk's own buffer).
    pub last_send_addr: AtomicUsize,
    /// Address of the last buffer a payload was received into.
    pub last_recv_addr: AtomicUsize,
}

impl CommStats {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    #[cfg_attr(not(feature = "mpi"), allow(dead_code))]
    pub(crate) fn set_addr(slot: &AtomicUsize, addr: usize) {
        slot.store(addr, Ordering::Relaxed);
    }

    /// Reads an address slot.
    pub fn addr(slot: &AtomicUsize) -> usize {
        slot.load(Ordering::Relaxed)
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Moves headers and payloads between ranks.
///
/// Sends never block on the receiver (they are queued and progressed by the transport),
/// so two ranks sending large payloads to each other cannot deadlock. Messages from one
/// rank to another arrive in the order they were sent.
pub trait Transport: Send {
    /// This endpoint's rank.
    fn rank(&self) -> Rank;
    /// Number of ranks, scheduler included.
    fn size(&self) -> usize;
    /// Queues a message. The payload is sent straight from its buffer.
    fn send(&self, to: Rank, header: Vec<u8>, payload: Option<Payload>) -> Result<(), CommError>;
    /// Waits for the next message from any rank (polling briefly before blocking, so a
    /// message that arrives within microseconds costs no thread wake-up).
    fn recv(&self) -> Result<Envelope, CommError>;
    /// Waits at most `timeout` for the next message.
    fn recv_timeout(&self, timeout: Duration) -> Result<Option<Envelope>, CommError>;
    /// The next message if one is already here.
    fn try_recv(&self) -> Result<Option<Envelope>, CommError>;
    /// This endpoint's counters.
    fn stats(&self) -> &CommStats;
    /// A short name for reports: `"in-process"` or `"mpi"`.
    fn kind(&self) -> &'static str;
    /// Host name of this endpoint, for error reports.
    fn host(&self) -> String {
        std::env::var("HOSTNAME").unwrap_or_else(|_| "localhost".to_string())
    }
    /// True when `other` runs on the same host as this endpoint (in-process: always).
    fn same_host(&self, other: Rank) -> bool {
        let _ = other;
        true
    }
}
