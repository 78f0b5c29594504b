//! The MPI transport (rsmpi), for runs under `mpirun`/`srun`.
//!
//! One thread drives the transport per rank (the scheduler's on rank 0, the worker loop
//! elsewhere), so no helper thread competes with computation for cores; the only other
//! MPI user is the heartbeat thread, on a communicator of its own ([`SideChannel`]), which
//! wakes a few times per heartbeat timeout. Every send is non-blocking
//! (`MPI_Isend`) straight from the buffer it is given: the payload's `Arc` and the framed
//! header are kept in a pending list until MPI reports completion, so two ranks sending
//! large payloads to each other cannot deadlock. Receiving probes for a header, then
//! receives the payload straight into the pooled buffer that becomes the chunk.
//!
//! Framing: every message is a header on `TAG_HEADER` whose first 8 bytes give the payload
//! length (or `NO_PAYLOAD`), followed, if present, by the payload in parts of at most
//! `MAX_PART` bytes on `TAG_PAYLOAD`. MPI keeps messages with the same tag between two
//! ranks in order, so the receiver finds the parts right after their header.
//!
//! All `unsafe` of the crate's MPI use lives in this file.

use super::bytes::Alloc;
use super::{CommError, CommStats, Envelope, Payload, Rank, Transport};
use mpi::collective::CommunicatorCollectives;
use mpi::environment::Universe;
use mpi::point_to_point::{Destination, MatchedReceiveVec, Source};
use mpi::request::{Request, StaticScope};
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::Threading;
use std::cell::RefCell;
use std::time::{Duration, Instant};

const TAG_HEADER: i32 = 11;
const TAG_PAYLOAD: i32 = 12;
const NO_PAYLOAD: u64 = u64::MAX;
/// Largest payload part in one MPI message (counts are 32-bit in MPI).
const MAX_PART: usize = 1 << 30;

/// A send in flight and the buffer it reads from.
struct PendingSend {
    request: Request<'static, [u8], StaticScope>,
    _header: Option<Box<[u8]>>,
    _payload: Option<Payload>,
}

/// One MPI rank's endpoint.
pub struct MpiTransport {
    rank: Rank,
    size: usize,
    world: SimpleCommunicator,
    pending: RefCell<Vec<PendingSend>>,
    /// Headers sent to each rank and received from each rank, so that at the end every
    /// message sent is also received (see `Drop`).
    sent_to: RefCell<Vec<u64>>,
    received_from: RefCell<Vec<u64>>,
    stats: CommStats,
    /// A hash of each rank's host name (gathered at start), to tell same-node peers.
    hosts: Vec<u64>,
    universe: Option<Universe>,
    /// Allocates the buffers payloads are received into.
    alloc: Alloc,
}

// SAFETY: MPI is initialised with `MPI_THREAD_MULTIPLE` (checked in `init`), so MPI may be
// called from whichever thread owns the transport. The transport is not `Sync` (the
// pending list is a `RefCell`), so only one thread uses it at a time.
unsafe impl Send for MpiTransport {}

/// Extends a borrow to `'static` for a non-blocking send.
///
/// # Safety
/// The caller keeps the owner of `bytes` alive and unmoved (a `Box` or an `Arc`, whose heap
/// address is stable) in the same [`PendingSend`] as the request, and never drops that entry
/// before MPI reports the request complete.
unsafe fn extend(bytes: &[u8]) -> &'static [u8] {
    // SAFETY: the transmute changes only the lifetime: `&[u8]` and `&'static [u8]` have the
    // same layout (a pointer and a length). The reference stays valid for as long as it is
    // used because, per this function's contract, the allocation it points into is owned by
    // the same `PendingSend` as the MPI request that reads it, is never moved (heap memory
    // behind a `Box`/`Arc`), and is dropped only after `MPI_Test`/`MPI_Wait` reports the
    // request complete, so no read by MPI can outlive the bytes.
    unsafe { std::mem::transmute::<&[u8], &'static [u8]>(bytes) }
}

impl MpiTransport {
    /// Initialises MPI with `MPI_THREAD_MULTIPLE`; payloads are received into buffers from
    /// `alloc` (the caller's own type, which it gets back by [`super::bytes::downcast`];
    /// [`super::bytes::vec_alloc`] for plain `Vec<u8>`s).
    pub fn init(alloc: Alloc) -> Result<MpiTransport, CommError> {
        let (universe, level) = mpi::initialize_with_threading(Threading::Multiple)
            .ok_or_else(|| CommError::Init("MPI was already initialised".into()))?;
        if level != Threading::Multiple {
            return Err(CommError::Init(format!(
                "the MPI library granted thread level {level:?}; Tessera needs MPI_THREAD_MULTIPLE"
            )));
        }
        let world = universe.world();
        let name = mpi::environment::processor_name().unwrap_or_default();
        let mine = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            name.hash(&mut h);
            h.finish()
        };
        let mut hosts = vec![0u64; world.size() as usize];
        world.all_gather_into(&mine, &mut hosts[..]);
        Ok(MpiTransport {
            rank: Rank(world.rank() as u32),
            size: world.size() as usize,
            world,
            pending: RefCell::new(Vec::new()),
            sent_to: RefCell::new(vec![0; hosts.len()]),
            received_from: RefCell::new(vec![0; hosts.len()]),
            stats: CommStats::default(),
            hosts,
            universe: Some(universe),
            alloc,
        })
    }

    /// Ends the whole MPI job at once (used when a rank cannot continue).
    pub fn abort(&self, code: i32) -> ! {
        self.world.abort(code)
    }

    /// Raw MPI ping-pong with `peer` (both ranks call it): the physical reference that
    /// benchmarks print beside their figures. Returns the one-way time per message of
    /// `bytes` bytes, averaged over `iters` round trips after a warm-up. With
    /// `distinct_buffers` each rank receives into a different buffer than it sends from, as
    /// real chunk traffic does; with one buffer the data stays cache-resident between
    /// round trips, which flatters large messages.
    pub fn raw_pingpong(
        &self,
        peer: Rank,
        bytes: usize,
        iters: usize,
        distinct_buffers: bool,
    ) -> Duration {
        const TAG: i32 = 99;
        let mut send = vec![0u8; bytes.max(1)];
        let mut recv = if distinct_buffers {
            vec![0u8; bytes.max(1)]
        } else {
            Vec::new()
        };
        let other = self.world.process_at_rank(peer.0 as i32);
        let first = self.rank < peer;
        let mut run = |n: usize| {
            for _ in 0..n {
                let into: &mut Vec<u8> = if distinct_buffers {
                    &mut recv
                } else {
                    &mut send
                };
                if first {
                    if distinct_buffers {
                        other.send_with_tag(&send[..], TAG);
                        other.receive_into_with_tag(&mut recv[..], TAG);
                    } else {
                        other.send_with_tag(&into[..], TAG);
                        other.receive_into_with_tag(&mut into[..], TAG);
                    }
                } else if distinct_buffers {
                    other.receive_into_with_tag(&mut recv[..], TAG);
                    other.send_with_tag(&send[..], TAG);
                } else {
                    other.receive_into_with_tag(&mut into[..], TAG);
                    other.send_with_tag(&into[..], TAG);
                }
                if distinct_buffers {
                    std::mem::swap(&mut send, &mut recv);
                }
            }
        };
        run(iters.div_ceil(10).max(2));
        let t = Instant::now();
        run(iters);
        t.elapsed() / (2 * iters.max(1) as u32)
    }

    /// Completes finished sends and frees their buffers.
    fn progress(&self) {
        let mut pending = self.pending.borrow_mut();
        let mut still = Vec::with_capacity(pending.len());
        for p in pending.drain(..) {
            let PendingSend {
                request,
                _header,
                _payload,
            } = p;
            match request.test() {
                Ok(_) => {}
                Err(request) => still.push(PendingSend {
                    request,
                    _header,
                    _payload,
                }),
            }
        }
        *pending = still;
    }

    fn post(
        &self,
        to: Rank,
        bytes: &'static [u8],
        tag: i32,
        header: Option<Box<[u8]>>,
        payload: Option<Payload>,
    ) {
        let request = self
            .world
            .process_at_rank(to.0 as i32)
            .immediate_send_with_tag(StaticScope, bytes, tag);
        self.pending.borrow_mut().push(PendingSend {
            request,
            _header: header,
            _payload: payload,
        });
    }

    fn poll(&self) -> Option<Envelope> {
        self.progress();
        let (msg, status) = self
            .world
            .any_process()
            .immediate_matched_probe_with_tag(TAG_HEADER)?;
        let src = status.source_rank();
        let (framed, _) = (msg, status).matched_receive_vec::<u8>();
        if let Some(n) = self.received_from.borrow_mut().get_mut(src as usize) {
            *n += 1;
        }
        let mut len_bytes = [0u8; 8];
        len_bytes.copy_from_slice(framed.get(..8).unwrap_or(&[0xff; 8]));
        let len = u64::from_le_bytes(len_bytes);
        let payload = if len == NO_PAYLOAD {
            None
        } else {
            // Received straight into the buffer that becomes the chunk.
            let mut buf = (self.alloc)(len as usize);
            CommStats::set_addr(&self.stats.last_recv_addr, buf.bytes().as_ptr() as usize);
            let from = self.world.process_at_rank(src);
            for part in buf.bytes_mut().chunks_mut(MAX_PART) {
                from.receive_into_with_tag(part, TAG_PAYLOAD);
            }
            CommStats::add(&self.stats.payload_bytes_received, len);
            Some(buf.share())
        };
        Some(Envelope {
            from: Rank(src as u32),
            header: framed.get(8..).unwrap_or(&[]).to_vec(),
            payload,
        })
    }

    fn wait_for(&self, deadline: Option<Instant>) -> Option<Envelope> {
        let start = Instant::now();
        loop {
            if let Some(e) = self.poll() {
                return Some(e);
            }
            if deadline.is_some_and(|d| Instant::now() >= d) {
                return None;
            }
            // Spin briefly for latency, then yield, then sleep so an idle rank leaves the
            // core to ranks that compute.
            // While our own sends are in flight keep driving MPI (large transfers are
            // pipelined and need the sender's progress); otherwise back off to sleeping.
            let idle = start.elapsed();
            let sending = !self.pending.borrow().is_empty();
            if idle < Duration::from_micros(50) {
                std::hint::spin_loop();
            } else if sending || idle < Duration::from_millis(2) {
                std::thread::yield_now();
            } else {
                std::thread::sleep(Duration::from_micros(50));
            }
        }
    }
}

impl Transport for MpiTransport {
    fn rank(&self) -> Rank {
        self.rank
    }

    fn size(&self) -> usize {
        self.size
    }

    fn send(&self, to: Rank, header: Vec<u8>, payload: Option<Payload>) -> Result<(), CommError> {
        if to.index() >= self.size {
            return Err(CommError::Closed(format!(
                "no rank {to} in a job of {} ranks",
                self.size
            )));
        }
        let len = payload
            .as_ref()
            .map(|p| p.bytes().len() as u64)
            .unwrap_or(NO_PAYLOAD);
        let mut framed = Vec::with_capacity(8 + header.len());
        framed.extend_from_slice(&len.to_le_bytes());
        framed.extend_from_slice(&header);
        let framed = framed.into_boxed_slice();
        // SAFETY: the box moves into the pending entry with its request.
        let bytes = unsafe { extend(&framed) };
        self.post(to, bytes, TAG_HEADER, Some(framed), None);
        if let Some(n) = self.sent_to.borrow_mut().get_mut(to.index()) {
            *n += 1;
        }
        if let Some(p) = payload {
            // Straight from the chunk's own buffer.
            CommStats::set_addr(&self.stats.last_send_addr, p.bytes().as_ptr() as usize);
            for part in p.bytes().chunks(MAX_PART) {
                // SAFETY: the Arc moves into the pending entry with its request; `part`
                // borrows from the value the Arc owns, which cannot move or change while
                // it is shared.
                let bytes = unsafe { extend(part) };
                self.post(to, bytes, TAG_PAYLOAD, None, Some(p.clone()));
            }
            CommStats::add(&self.stats.payload_bytes_sent, p.bytes().len() as u64);
        }
        CommStats::add(&self.stats.messages_sent, 1);
        self.progress();
        Ok(())
    }

    fn recv(&self) -> Result<Envelope, CommError> {
        self.wait_for(None)
            .ok_or_else(|| CommError::Closed("no message".into()))
    }

    fn recv_timeout(&self, timeout: Duration) -> Result<Option<Envelope>, CommError> {
        Ok(self.wait_for(Some(Instant::now() + timeout)))
    }

    fn try_recv(&self) -> Result<Option<Envelope>, CommError> {
        Ok(self.poll())
    }

    fn stats(&self) -> &CommStats {
        &self.stats
    }

    fn kind(&self) -> &'static str {
        "mpi"
    }

    fn host(&self) -> String {
        mpi::environment::processor_name().unwrap_or_else(|_| "unknown-host".into())
    }

    fn same_host(&self, other: Rank) -> bool {
        self.hosts.get(self.rank.index()) == self.hosts.get(other.index())
    }
}

impl Drop for MpiTransport {
    fn drop(&mut self) {
        // Every send must complete before MPI is finalised, and a large send completes only
        // when its receiver takes it. A run that stopped early leaves messages nobody will
        // read (rank 0 stops taking results when writing the output fails; a worker stops
        // taking chunks at shutdown), and their senders would wait forever. So the ranks
        // tell each other how many messages each sent to each (one all-to-all), and every
        // rank receives, and drops, what it has not read yet before waiting for its sends.
        let sent = std::mem::take(self.sent_to.get_mut());
        let mut expected = vec![0u64; sent.len()];
        self.world.all_to_all_into(&sent[..], &mut expected[..]);
        let unread = |t: &MpiTransport| {
            let got = t.received_from.borrow();
            expected
                .iter()
                .zip(got.iter())
                .any(|(want, got)| got < want)
        };
        while unread(self) {
            if self.poll().is_none() {
                std::thread::yield_now();
            }
        }
        for p in self.pending.get_mut().drain(..) {
            p.request.wait();
        }
        self.universe.take();
    }
}

/// Tag of heartbeat messages on a [`SideChannel`].
const TAG_BEAT: i32 = 21;
/// Bytes of a host name in the gathered table (longer names are cut).
const HOST_BYTES: usize = 256;

/// A second path to rank 0 for another thread than the one that owns the transport: a
/// duplicate of the world communicator (rsmpi communicators are not `Sync`; each thread
/// gets its own), carrying only heartbeats, plus every rank's host name for messages.
pub struct SideChannel {
    comm: SimpleCommunicator,
    rank: Rank,
    hosts: Vec<String>,
}

// SAFETY: MPI is initialised with `MPI_THREAD_MULTIPLE` (checked in `MpiTransport::init`),
// so a communicator may be used from any thread. The channel owns its own duplicate of the
// world communicator and is not `Sync`: it moves to one heartbeat thread, which alone uses
// it (and frees it, before the transport finalises MPI).
unsafe impl Send for SideChannel {}

impl MpiTransport {
    /// Opens the side channel and agrees on `setting`: every rank must call this at the
    /// same point (it is collective); every rank gets rank 0's `setting` back, so ranks
    /// whose environments differ still follow rank 0.
    pub fn side_channel(&self, setting: u64) -> (SideChannel, u64) {
        use mpi::collective::Root as _;
        let comm = self.world.duplicate();
        let mut agreed = setting;
        comm.process_at_rank(0).broadcast_into(&mut agreed);
        let mine = mpi::environment::processor_name().unwrap_or_default();
        let mut name = [0u8; HOST_BYTES];
        let n = mine.len().min(HOST_BYTES);
        name[..n].copy_from_slice(&mine.as_bytes()[..n]);
        let mut all = vec![0u8; HOST_BYTES * self.size];
        comm.all_gather_into(&name[..], &mut all[..]);
        let hosts = all
            .chunks(HOST_BYTES)
            .map(|h| {
                let end = h.iter().position(|&b| b == 0).unwrap_or(h.len());
                String::from_utf8_lossy(&h[..end]).into_owned()
            })
            .collect();
        let rank = self.rank;
        (SideChannel { comm, rank, hosts }, agreed)
    }
}

impl SideChannel {
    /// This rank.
    pub fn rank(&self) -> Rank {
        self.rank
    }

    /// Number of ranks.
    pub fn size(&self) -> usize {
        self.hosts.len()
    }

    /// The host name of `rank` (empty if unknown).
    pub fn host(&self, rank: Rank) -> &str {
        self.hosts.get(rank.index()).map_or("", String::as_str)
    }

    /// Tells rank 0 this process is alive (a one-byte message; returns at once).
    pub fn beat(&self) {
        self.comm
            .process_at_rank(0)
            .send_with_tag(&[1u8][..], TAG_BEAT);
    }

    /// Receives every heartbeat that has arrived; returns their senders.
    pub fn take_beats(&self) -> Vec<Rank> {
        let mut from = Vec::new();
        while let Some((msg, status)) = self
            .comm
            .any_process()
            .immediate_matched_probe_with_tag(TAG_BEAT)
        {
            let src = status.source_rank();
            let _ = (msg, status).matched_receive_vec::<u8>();
            from.push(Rank(src as u32));
        }
        from
    }
}

/// Ends the whole MPI job at once, from any thread (`MPI_Abort` on the world): the launcher
/// kills every rank, including one that is stopped or hung.
pub fn abort_job(code: i32) -> ! {
    SimpleCommunicator::world().abort(code)
}
