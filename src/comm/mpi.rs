//! The MPI transport (rsmpi), for runs under `mpirun`/`srun`.
//!
//! Each rank runs two helper threads on one communicator: a sender that performs blocking
//! sends straight from the payload buffers it is given (no copy, no serialization), and a
//! receiver that probes for incoming headers and receives each payload straight into the
//! buffer that becomes the chunk. Separate send and receive threads mean two ranks sending
//! large payloads to each other cannot deadlock, whatever the eager/rendezvous protocol.
//!
//! Framing: every message is a header on [`TAG_HEADER`] whose first 8 bytes give the payload
//! length (or [`NO_PAYLOAD`]), followed, if present, by the payload in parts of at most
//! [`MAX_PART`] bytes on [`TAG_PAYLOAD`]. MPI keeps messages between two ranks on one
//! communicator in order, so the receiver finds the parts right after their header.
//!
//! All `unsafe` of the crate's MPI use lives in this file.

use super::{CommError, CommStats, Envelope, Payload, Rank, Transport};
use crossbeam_channel::{unbounded, Receiver, RecvTimeoutError, Sender, TryRecvError};
use mpi::environment::Universe;
use mpi::point_to_point::{Destination, MatchedReceiveVec, Source};
use mpi::topology::{Communicator, SimpleCommunicator};
use mpi::Threading;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

const TAG_HEADER: i32 = 11;
const TAG_PAYLOAD: i32 = 12;
const NO_PAYLOAD: u64 = u64::MAX;
const STOP: u64 = u64::MAX - 1;
/// Largest payload part in one MPI message (counts are 32-bit in MPI).
const MAX_PART: usize = 1 << 30;

/// A communicator shared by this rank's sender and receiver threads.
///
/// # Safety
/// rsmpi communicators are not `Sync` because MPI only allows concurrent calls when the
/// library was initialised with `MPI_THREAD_MULTIPLE`. [`MpiTransport::init`] refuses to
/// run unless that level was granted, and only point-to-point operations (never
/// collectives) are issued concurrently, which the MPI standard permits from any thread.
struct SharedComm(SimpleCommunicator);
unsafe impl Send for SharedComm {}
unsafe impl Sync for SharedComm {}

/// The MPI universe, finalised when dropped.
///
/// # Safety
/// The universe is only dropped by the thread that owns the transport, after both helper
/// threads have been joined, so MPI is finalised once and with no call in flight.
struct UniverseHolder(Option<Universe>);
unsafe impl Send for UniverseHolder {}

struct Outgoing {
    to: Rank,
    header: Vec<u8>,
    payload: Option<Arc<Payload>>,
}

/// One MPI rank's endpoint.
pub struct MpiTransport {
    rank: Rank,
    size: usize,
    comm: Arc<SharedComm>,
    outbox: Option<Sender<Outgoing>>,
    inbox: Receiver<Envelope>,
    threads: Vec<JoinHandle<()>>,
    stats: Arc<CommStats>,
    universe: UniverseHolder,
}

/// True when this process was started by an MPI launcher (mpirun/mpiexec or srun with PMI/PMIx)
/// as part of a job of more than one rank.
pub fn launched_under_mpi() -> bool {
    let var = |k: &str| std::env::var(k).ok();
    let size = var("OMPI_COMM_WORLD_SIZE")
        .or_else(|| var("PMI_SIZE"))
        .or_else(|| var("PMIX_SIZE"))
        .or_else(|| var("MPI_LOCALNRANKS"))
        .or_else(|| {
            if var("PMIX_RANK").is_some() {
                var("SLURM_NTASKS")
            } else {
                None
            }
        });
    matches!(size.and_then(|s| s.parse::<usize>().ok()), Some(n) if n > 1)
        || (var("PMIX_RANK").is_some()
            && var("SLURM_NTASKS").is_none()
            && var("OMPI_COMM_WORLD_SIZE").is_none())
}

impl MpiTransport {
    /// Initialises MPI with `MPI_THREAD_MULTIPLE` and starts the helper threads.
    pub fn init() -> Result<MpiTransport, CommError> {
        let (universe, level) = mpi::initialize_with_threading(Threading::Multiple)
            .ok_or_else(|| CommError::Init("MPI was already initialised".into()))?;
        if level != Threading::Multiple {
            return Err(CommError::Init(format!(
                "the MPI library granted thread level {level:?}; Tessera needs MPI_THREAD_MULTIPLE"
            )));
        }
        let world = universe.world();
        let rank = Rank(world.rank() as u32);
        let size = world.size() as usize;
        let comm = Arc::new(SharedComm(world));
        let stats = Arc::new(CommStats::default());
        let (out_tx, out_rx) = unbounded::<Outgoing>();
        let (in_tx, in_rx) = unbounded::<Envelope>();

        let sender = {
            let comm = comm.clone();
            let stats = stats.clone();
            std::thread::Builder::new()
                .name("tessera-mpi-send".into())
                .spawn(move || send_loop(&comm, &stats, out_rx))
                .map_err(|e| CommError::Init(format!("cannot start the MPI sender thread: {e}")))?
        };
        let receiver = {
            let comm = comm.clone();
            let stats = stats.clone();
            std::thread::Builder::new()
                .name("tessera-mpi-recv".into())
                .spawn(move || recv_loop(&comm, &stats, in_tx))
                .map_err(|e| {
                    CommError::Init(format!("cannot start the MPI receiver thread: {e}"))
                })?
        };
        Ok(MpiTransport {
            rank,
            size,
            comm,
            outbox: Some(out_tx),
            inbox: in_rx,
            threads: vec![sender, receiver],
            stats,
            universe: UniverseHolder(Some(universe)),
        })
    }

    /// Ends the whole MPI job at once (used when a rank cannot continue).
    pub fn abort(&self, code: i32) -> ! {
        self.comm.0.abort(code)
    }
}

fn send_loop(comm: &SharedComm, stats: &CommStats, rx: Receiver<Outgoing>) {
    while let Ok(msg) = rx.recv() {
        let len = msg
            .payload
            .as_ref()
            .map(|p| p.len() as u64)
            .unwrap_or(NO_PAYLOAD);
        let mut framed = Vec::with_capacity(8 + msg.header.len());
        framed.extend_from_slice(&len.to_le_bytes());
        framed.extend_from_slice(&msg.header);
        let dest = comm.0.process_at_rank(msg.to.0 as i32);
        dest.send_with_tag(&framed[..], TAG_HEADER);
        if let Some(p) = &msg.payload {
            // Straight from the chunk's own buffer.
            for part in p.as_bytes().chunks(MAX_PART) {
                dest.send_with_tag(part, TAG_PAYLOAD);
            }
            CommStats::add(&stats.payload_bytes_sent, p.len() as u64);
        }
        CommStats::add(&stats.messages_sent, 1);
    }
}

fn recv_loop(comm: &SharedComm, stats: &CommStats, tx: Sender<Envelope>) {
    let any = comm.0.any_process();
    let mut idle_since = Instant::now();
    loop {
        let Some((msg, status)) = any.immediate_matched_probe_with_tag(TAG_HEADER) else {
            // Spin briefly for latency, then back off so an idle rank leaves the core to
            // the compute threads (OpenMPI's blocking probe would busy-poll a core).
            let idle = idle_since.elapsed();
            if idle < Duration::from_micros(200) {
                std::hint::spin_loop();
            } else if idle < Duration::from_millis(5) {
                std::thread::yield_now();
            } else {
                std::thread::sleep(Duration::from_micros(50));
            }
            continue;
        };
        idle_since = Instant::now();
        let src = status.source_rank();
        let (framed, _) = (msg, status).matched_receive_vec::<u8>();
        if framed.len() < 8 {
            continue;
        }
        let mut len_bytes = [0u8; 8];
        len_bytes.copy_from_slice(&framed[..8]);
        let len = u64::from_le_bytes(len_bytes);
        if len == STOP && src == comm.0.rank() {
            return;
        }
        let payload = if len == NO_PAYLOAD {
            None
        } else {
            // Received straight into the buffer that becomes the chunk.
            let mut buf = Payload::for_overwrite(len as usize);
            let from = comm.0.process_at_rank(src);
            for part in buf.as_bytes_mut().chunks_mut(MAX_PART) {
                from.receive_into_with_tag(part, TAG_PAYLOAD);
            }
            CommStats::add(&stats.payload_bytes_received, len);
            Some(Arc::new(buf))
        };
        let env = Envelope {
            from: Rank(src as u32),
            header: framed[8..].to_vec(),
            payload,
        };
        if tx.send(env).is_err() {
            return;
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

    fn send(
        &self,
        to: Rank,
        header: Vec<u8>,
        payload: Option<Arc<Payload>>,
    ) -> Result<(), CommError> {
        if to.index() >= self.size {
            return Err(CommError::Closed(format!(
                "no rank {to} in a job of {} ranks",
                self.size
            )));
        }
        self.outbox
            .as_ref()
            .ok_or_else(|| CommError::Closed("transport is shutting down".into()))?
            .send(Outgoing {
                to,
                header,
                payload,
            })
            .map_err(|_| CommError::Closed("the MPI sender thread has exited".into()))
    }

    fn recv(&self) -> Result<Envelope, CommError> {
        self.inbox
            .recv()
            .map_err(|_| CommError::Closed("the MPI receiver thread has exited".into()))
    }

    fn recv_timeout(&self, timeout: Duration) -> Result<Option<Envelope>, CommError> {
        match self.inbox.recv_timeout(timeout) {
            Ok(e) => Ok(Some(e)),
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => Err(CommError::Closed(
                "the MPI receiver thread has exited".into(),
            )),
        }
    }

    fn try_recv(&self) -> Result<Option<Envelope>, CommError> {
        match self.inbox.try_recv() {
            Ok(e) => Ok(Some(e)),
            Err(TryRecvError::Empty) => Ok(None),
            Err(TryRecvError::Disconnected) => Err(CommError::Closed(
                "the MPI receiver thread has exited".into(),
            )),
        }
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
}

impl Drop for MpiTransport {
    fn drop(&mut self) {
        // Let the sender drain its queue and exit, stop the receiver with a message to
        // ourselves, join both, then finalise MPI.
        self.outbox.take();
        let mut threads = self.threads.drain(..);
        if let Some(sender) = threads.next() {
            let _ = sender.join();
        }
        let stop = STOP.to_le_bytes();
        self.comm
            .0
            .process_at_rank(self.rank.0 as i32)
            .send_with_tag(&stop[..], TAG_HEADER);
        for t in threads {
            let _ = t.join();
        }
        self.universe.0.take();
    }
}
