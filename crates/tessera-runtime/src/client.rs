//! The client: what a caller on rank 0 holds. It plans array computations (the optimizer
//! runs here, on the caller's thread) and hands them, and futures tasks, to the scheduler
//! thread (`super::engine`), which owns rank 0's transport. In-process, the client also
//! owns the worker threads; under MPI every other rank serves as a worker.

use super::engine::Driver;
use super::heartbeat::{self, Beating, Watch};
use super::link::{idle_pause, ExecEvent, ExecOutcome, ExecRequest, Link, Request, DRIVE_FOR};
use super::protocol::{Msg, WorkerInfo};
use super::registry::{self, Snapshot};
use super::report::RunReport;
use super::worker::{Compression, Worker, WorkerConfig};
use crate::array::chunk::Chunk;
use crate::array::graph::{DArray, Op, PersistedKey, Resident};
use crate::array::plan::Plan;
use crate::comm::launch::launched_under_mpi;
use crate::comm::local::LocalTransport;
use crate::comm::mpi::MpiTransport;
use crate::comm::{Rank, Transport};
use crate::error::{Error, Result};
use crossbeam_channel::{unbounded, Receiver, Sender, TryRecvError};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Blocks of a persisted array, kept on the workers until the last handle is dropped.
#[derive(Debug)]
pub struct PersistHandle {
    key: PersistedKey,
    /// Holder of each block.
    pub locations: Vec<Rank>,
    /// Bytes of each block.
    pub nbytes: Vec<u64>,
    client: u64,
    release: Sender<Request>,
}

impl Resident for PersistHandle {
    fn locations(&self) -> Vec<u32> {
        self.locations.iter().map(|r| r.0).collect()
    }

    fn nbytes(&self) -> Vec<u64> {
        self.nbytes.clone()
    }

    fn client(&self) -> u64 {
        self.client
    }
}

impl Drop for PersistHandle {
    fn drop(&mut self) {
        let _ = self.release.send(Request::DropNode(self.key));
    }
}

/// How to start a client.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// In-process worker threads (ignored under MPI, where every rank but 0 is a worker).
    pub workers: usize,
    /// Each worker's memory limit, bytes: its store spills least-recently-used data to disk
    /// above 70 % of it, and the scheduler holds back new input tasks (reads, generators)
    /// while the workers together hold more than their limits.
    pub memory_per_worker: u64,
    /// Where workers spill (a node-local disk is best): each makes its own directory in
    /// it and removes it at exit.
    pub spill_dir: PathBuf,
    /// Compression of chunk payloads on the wire.
    pub compression: Compression,
    /// Run the optimizer's passes on every plan (off: every node stored, every block
    /// computed, as the expression was written; for comparisons and debugging).
    pub optimize: bool,
    /// Under MPI, a worker process silent for this long is declared lost and the job is
    /// aborted ([`super::heartbeat`]); `None` turns heartbeats off. Rank 0's setting holds
    /// for every rank. Default: `$TESSERA_HEARTBEAT_TIMEOUT` seconds, else 300 s.
    pub heartbeat_timeout: Option<Duration>,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
                .clamp(1, 8),
            memory_per_worker: default_memory_per_worker(),
            spill_dir: default_spill_dir(),
            compression: Compression::Auto,
            optimize: true,
            // An unreadable variable is reported by the command line, which reads it
            // through `heartbeat::default_timeout` first.
            heartbeat_timeout: super::heartbeat::default_timeout().unwrap_or(Some(
                Duration::from_secs(super::heartbeat::DEFAULT_TIMEOUT_SECS),
            )),
        }
    }
}

impl ClientOptions {
    fn worker_config(&self) -> WorkerConfig {
        WorkerConfig {
            memory_limit: self.memory_per_worker,
            spill_dir: self.spill_dir.clone(),
            compression: self.compression,
        }
    }
}

/// `$TESSERA_SPILL_DIR`, else `$TMPDIR`, else `/tmp`.
fn default_spill_dir() -> PathBuf {
    std::env::var_os("TESSERA_SPILL_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
}

/// Half the node's physical memory, shared by the workers of one node (at least 256 MiB
/// each). Workers per node: the launcher's local rank count under MPI, else the cores.
fn default_memory_per_worker() -> u64 {
    let total = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|k| k.parse::<u64>().ok())
                })
        })
        .map_or(8 << 30, |kib| kib * 1024);
    let local = crate::comm::launch::ranks_on_this_node().map(|n| n as u64);
    let per_node =
        local.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()) as u64);
    (total / 2 / per_node.max(1)).max(256 << 20)
}

/// The most in-process workers one client starts. Each is a thread with its own store,
/// spill directory and message queues: tens of thousands of them exhaust memory before
/// doing any work, and more threads than cores only add switching. Workers beyond a node
/// come from MPI ranks, which this limit does not touch.
pub const MAX_LOCAL_WORKERS: usize = 1024;

/// The caller's handle on a running cluster (in-process threads or MPI ranks).
pub struct Client {
    pub(crate) link: Arc<Link>,
    driver: Arc<Driver>,
    engine: Option<JoinHandle<()>>,
    threads: Vec<JoinHandle<()>>,
    _mpi: Option<MpiTransport>,
    /// Rank 0's heartbeat watcher (MPI runs with heartbeats on).
    watch: Option<Watch>,
    kind: &'static str,
    next_comp: AtomicU64,
    last_report: Mutex<Option<RunReport>>,
    memory_per_worker: u64,
    optimize: bool,
}

/// What `start` gives each process.
#[allow(clippy::large_enum_variant)]
pub enum Started {
    /// This process is rank 0 (or in-process): it drives the computation.
    Client(Client),
    /// This process was an MPI worker and has finished serving.
    WorkerFinished,
}

/// Starts a runtime: under an MPI launcher rank 0 gets a client and every other rank
/// serves as a worker until rank 0 shuts down; otherwise in-process worker threads.
pub fn start(opts: &ClientOptions) -> Result<Started> {
    if launched_under_mpi() {
        return start_on(MpiTransport::init(super::buffers::receive_buffer)?, opts);
    }
    Ok(Started::Client(Client::with_options(opts)?))
}

/// Like [`start`], on an MPI transport the caller already initialised (benchmarks use the
/// transport for reference measurements first).
#[cfg_attr(not(feature = "mpi"), allow(unreachable_code, clippy::drop_non_drop))]
pub fn start_on(t: MpiTransport, opts: &ClientOptions) -> Result<Started> {
    if t.size() == 1 {
        let mut c = Client::with_options(opts)?;
        c._mpi = Some(t);
        return Ok(Started::Client(c));
    }
    super::store::remove_stale_spill_dirs(&opts.spill_dir);
    crate::array::buffer::limit_pool(opts.memory_per_worker / 4);
    // Every rank opens the heartbeat channel (a collective call) and takes rank 0's timeout.
    let wanted = opts.heartbeat_timeout.map_or(0, |d| d.as_millis() as u64);
    let (side, agreed) = t.side_channel(wanted);
    let timeout = (agreed > 0).then(|| Duration::from_millis(agreed));
    let cannot = |e: std::io::Error| Error::Internal(format!("cannot start a thread: {e}"));
    if t.rank() != Rank::SCHEDULER {
        // The channel is a communicator: it must be freed before the transport finalises
        // MPI (freeing it after aborts the rank at exit). With heartbeats off it is freed
        // here; otherwise the heartbeat thread owns it and frees it when `beating` drops.
        let beating = match timeout {
            Some(d) => Some(Beating::start(side, heartbeat::interval(d)).map_err(cannot)?),
            None => {
                drop(side);
                None
            }
        };
        let served = serve(t, opts);
        // The heartbeat thread stops before the transport finalises MPI.
        drop(beating);
        drop(served?);
        return Ok(Started::WorkerFinished);
    }
    let watch = match timeout {
        Some(d) => Some(Watch::start(side, d).map_err(cannot)?),
        None => {
            drop(side);
            None
        }
    };
    let registered = collect_registries(&t)?;
    let mut c = Client::on_transport(Box::new(t), Vec::new(), opts, watch.as_ref(), registered)?;
    c.watch = watch;
    Ok(Started::Client(c))
}

/// Serves as a worker on `t` (any rank but 0) until rank 0's client shuts down; returns
/// the transport so its owner can close it. The other half of [`Client::with_transport`]:
/// the worker first tells rank 0 which task functions it has registered.
pub fn serve<T: Transport>(t: T, opts: &ClientOptions) -> Result<T> {
    let hello = Msg::Registered(registry::snapshot()).encode();
    t.send(Rank::SCHEDULER, hello, None)?;
    Ok(Worker::new(t, &opts.worker_config()).run()?)
}

/// How long rank 0 waits for every worker's first message.
const HELLO_TIMEOUT: Duration = Duration::from_secs(120);

/// Every worker's task functions, from the first message each sends ([`serve`]).
fn collect_registries(t: &dyn Transport) -> Result<Vec<(u32, Snapshot)>> {
    let nw = t.size().saturating_sub(1);
    let mut got: Vec<(u32, Snapshot)> = Vec::with_capacity(nw);
    let until = Instant::now() + HELLO_TIMEOUT;
    while got.len() < nw {
        let left = until.saturating_duration_since(Instant::now());
        let Some(env) = t.recv_timeout(left)? else {
            let silent: Vec<String> = (1..=nw as u32)
                .filter(|r| !got.iter().any(|(g, _)| g == r))
                .map(|r| r.to_string())
                .collect();
            return Err(Error::Internal(format!(
                "worker ranks {} did not report within {} s of the start (are they running \
                 the same program, and did each call tessera::start?)",
                silent.join(", "),
                HELLO_TIMEOUT.as_secs()
            )));
        };
        match Msg::decode(&env.header).map_err(Error::Internal)? {
            Msg::Registered(table) => got.push((env.from.0, table)),
            other => {
                return Err(Error::Internal(format!(
                    "rank {} sent {other:?} before reporting its task functions",
                    env.from.0
                )))
            }
        }
    }
    got.sort_by_key(|g| g.0);
    Ok(got)
}

impl Client {
    /// The cluster this process was started in: under `mpirun`/`srun`, rank 0 gets the
    /// client and every other rank serves as a worker until rank 0's client is dropped,
    /// then ends its process (exit 0), as dask-mpi's `initialize` does; otherwise
    /// in-process workers, one per core (at most 8). Options at their defaults.
    pub fn from_env() -> Result<Client> {
        match start(&ClientOptions::default())? {
            Started::Client(c) => Ok(c),
            Started::WorkerFinished => std::process::exit(0),
        }
    }

    /// An in-process cluster of `n` worker threads (other options at their defaults).
    pub fn local(n: usize) -> Result<Client> {
        Client::with_options(&ClientOptions {
            workers: n,
            ..Default::default()
        })
    }

    /// An in-process cluster as `opts` say.
    pub fn with_options(opts: &ClientOptions) -> Result<Client> {
        let n = opts.workers.max(1);
        if n > MAX_LOCAL_WORKERS {
            return Err(Error::Limit(format!(
                "{n} in-process workers requested (--workers, or workers in a job's [runtime]): \
                 the limit is {MAX_LOCAL_WORKERS} worker threads in one process; \
                 for more workers, start ranks with mpirun or srun"
            )));
        }
        super::store::remove_stale_spill_dirs(&opts.spill_dir);
        // The workers share this process's table: what it holds now is what each worker
        // knows from the start (a function registered later is refused at submit, as it
        // would be under MPI).
        let table = registry::snapshot();
        let registered = (1..=n as u32).map(|r| (r, table.clone())).collect();
        let mut group = LocalTransport::group(n + 1).into_iter();
        let me = group
            .next()
            .ok_or_else(|| Error::Internal("empty transport group".into()))?;
        let mut threads = Vec::new();
        for t in group {
            let cfg = opts.worker_config();
            let h = std::thread::Builder::new()
                .name(format!("tessera-worker-{}", t.rank()))
                .spawn(move || {
                    let _ = Worker::new(t, &cfg).run();
                })
                .map_err(|e| Error::Internal(format!("cannot start worker thread: {e}")))?;
            threads.push(h);
        }
        // Free payload buffers kept for reuse count as memory too.
        crate::array::buffer::limit_pool(opts.memory_per_worker.saturating_mul(n as u64) / 4);
        Client::on_transport(Box::new(me), threads, opts, None, registered)
    }

    /// A client on rank 0 of any transport: every other rank of `t`'s group runs [`serve`]
    /// with its own endpoint. This is how a third transport is plugged in (the built-in
    /// ones are started by [`Client::local`] and [`start`]). Waits until every worker has
    /// reported its task functions.
    pub fn with_transport<T: Transport + 'static>(t: T, opts: &ClientOptions) -> Result<Client> {
        if t.rank() != Rank::SCHEDULER {
            return Err(Error::Internal(format!(
                "Client::with_transport runs on rank 0; rank {} serves (tessera_runtime::serve)",
                t.rank().0
            )));
        }
        if t.size() < 2 {
            return Err(Error::Internal(
                "a transport group needs rank 0 and at least one worker".into(),
            ));
        }
        let registered = collect_registries(&t)?;
        Client::on_transport(Box::new(t), Vec::new(), opts, None, registered)
    }

    fn on_transport(
        t: Box<dyn Transport>,
        threads: Vec<JoinHandle<()>>,
        opts: &ClientOptions,
        watch: Option<&Watch>,
        registered: Vec<(u32, Snapshot)>,
    ) -> Result<Client> {
        let (tx, rx) = unbounded();
        let kind = t.kind();
        let link = Arc::new(Link::new(tx, t.size() - 1, registered));
        let lost = watch.map(Watch::lost);
        let driver = Arc::new(Driver::new(t, rx, link.clone(), lost));
        link.set_driver(&driver);
        let d = driver.clone();
        let engine = std::thread::Builder::new()
            .name("tessera-scheduler".into())
            .spawn(move || d.background())
            .map_err(|e| Error::Internal(format!("cannot start the scheduler thread: {e}")))?;
        Ok(Client {
            link,
            driver,
            engine: Some(engine),
            threads,
            _mpi: None,
            watch: None,
            kind,
            next_comp: AtomicU64::new(1),
            last_report: Mutex::new(None),
            memory_per_worker: opts.memory_per_worker.max(1),
            optimize: opts.optimize,
        })
    }

    /// Each worker's memory limit, bytes.
    pub fn memory_per_worker(&self) -> u64 {
        self.memory_per_worker
    }

    /// Sets how many bytes of intermediate chunks each worker may hold before the
    /// scheduler holds back new input tasks (the workers' spill limit is set at start).
    pub fn set_memory_per_worker(&mut self, bytes: u64) {
        self.memory_per_worker = bytes.max(1);
    }

    /// Turns the optimizer on or off for later computations.
    pub fn set_optimize(&mut self, on: bool) {
        self.optimize = on;
    }

    /// Number of workers.
    pub fn workers(&self) -> usize {
        self.link.workers
    }

    /// `"in-process"` or `"mpi"`.
    pub fn transport_kind(&self) -> &'static str {
        self.kind
    }

    /// Live counters of the work done so far (tasks planned and done, bytes read, moved
    /// and spilled), for a progress display running on another thread.
    pub fn progress(&self) -> Arc<crate::Progress> {
        self.driver.progress.clone()
    }

    /// The report of the last array computation.
    pub fn last_report(&self) -> Option<RunReport> {
        self.last_report.lock().ok().and_then(|r| r.clone())
    }

    /// Counters of everything since the client started (array computations and futures
    /// tasks), per worker.
    pub fn cluster_report(&self) -> Result<RunReport> {
        let (tx, rx) = unbounded();
        self.link.request(Request::Report(tx))?;
        rx.recv()
            .map_err(|_| Error::Future("the scheduler has stopped".into()))
    }

    /// Every worker's state: its store (entries, bytes in memory and spilled), peak
    /// resident memory, and payload bytes sent before and after compression.
    pub fn inspect_workers(&self) -> Result<Vec<WorkerInfo>> {
        let (tx, rx) = unbounded();
        self.link.request(Request::Inspect(tx))?;
        rx.recv_timeout(Duration::from_secs(60))
            .map_err(|_| Error::Future("the workers did not answer an inspection".into()))
    }

    /// Computes an array and gathers it to the caller.
    pub fn compute(&self, a: &DArray) -> Result<Chunk> {
        let out = self.execute(a, true, None)?;
        out.result
            .ok_or_else(|| Error::Internal("no result gathered".into()))
    }

    /// Computes an array into an `ndarray` of its own element type `T` (an array of
    /// another type is an error naming both: `astype` first).
    pub fn compute_ndarray<T: crate::array::dtype::Element>(
        &self,
        a: &DArray,
    ) -> Result<ndarray::ArrayD<T>> {
        if a.dtype() != T::DTYPE {
            return Err(Error::Array(crate::array::ArrayError::Invalid(format!(
                "compute_ndarray::<{}> of an array of {}: use astype({}) first",
                T::DTYPE,
                a.dtype(),
                T::DTYPE
            ))));
        }
        let c = self.compute(a)?;
        Ok(c.view::<T>().to_owned())
    }

    /// Computes a 0-d array (a full reduction) into its value.
    pub fn compute_scalar<T: crate::array::dtype::Element>(&self, a: &DArray) -> Result<T> {
        if !a.shape().is_empty() {
            return Err(Error::Array(crate::array::ArrayError::Invalid(format!(
                "compute_scalar of an array of shape {:?}: reduce it over Axes::all() first",
                a.shape()
            ))));
        }
        let v = self.compute_ndarray::<T>(a)?;
        v.iter()
            .next()
            .copied()
            .ok_or_else(|| Error::Internal("a 0-d result without a value".into()))
    }

    /// Computes an array and keeps its blocks on the workers.
    pub fn persist(&self, a: &DArray) -> Result<DArray> {
        let out = self.execute(a, false, None)?;
        let handle = PersistHandle {
            key: PersistedKey {
                comp: out.comp,
                node: out.root,
            },
            locations: out.root_locations,
            nbytes: out.root_nbytes,
            client: self.link.id,
            release: self.link.sender(),
        };
        let key = handle.key;
        Ok(DArray::new(
            a.dtype(),
            a.grid().clone(),
            Op::Persisted(Some(Arc::new(handle)), key),
        ))
    }

    /// Computes an array and hands each block to `sink` as it arrives, with its offset in
    /// the array, without assembling the whole result: at most a few blocks per worker are
    /// in flight, so memory on the caller stays bounded (writing a file larger than memory).
    pub fn compute_blocks(&self, a: &DArray, sink: &mut BlockSink<'_>) -> Result<()> {
        self.execute(a, true, Some(sink)).map(|_| ())
    }

    fn execute(
        &self,
        root: &DArray,
        gather: bool,
        mut sink: Option<&mut BlockSink<'_>>,
    ) -> Result<Box<ExecOutcome>> {
        let comp = self.next_comp.fetch_add(1, Ordering::Relaxed);
        let mut plan = Plan::build(comp, root, gather);
        super::admission::admit(&plan, gather && sink.is_none())?;
        if self.optimize {
            crate::optimize::optimize(
                &mut plan,
                &crate::optimize::Context {
                    workers: self.workers(),
                },
            );
        }
        let (tx, rx) = unbounded();
        self.link.request(Request::Execute(ExecRequest {
            plan: Arc::new(plan),
            stream: sink.is_some(),
            memory_per_worker: self.memory_per_worker,
            events: tx,
        }))?;
        loop {
            match self.next_event(&rx)? {
                ExecEvent::Block(offset, c) => {
                    if let Some(s) = sink.as_mut() {
                        if let Err(e) = s(&offset, c) {
                            let _ = self.link.request(Request::Abort { comp });
                            return Err(e);
                        }
                        self.link.request(Request::Consumed { comp, n: 1 })?;
                    }
                }
                ExecEvent::Done(outcome) => {
                    let o = outcome?;
                    if let Ok(mut r) = self.last_report.lock() {
                        *r = Some(o.report.clone());
                    }
                    return Ok(o);
                }
            }
        }
    }
}

impl Client {
    /// The next event of a computation: drives the scheduler for a while (a tiny
    /// computation answers within microseconds), then blocks while the background thread
    /// drives.
    fn next_event<T>(&self, rx: &Receiver<T>) -> Result<T> {
        {
            let _driving = self.driver.driving();
            let start = Instant::now();
            while start.elapsed() < DRIVE_FOR && !self.driver.stopped() {
                match rx.try_recv() {
                    Ok(v) => return Ok(v),
                    Err(TryRecvError::Disconnected) => break,
                    Err(TryRecvError::Empty) => {}
                }
                if self.driver.pump() != Some(true) {
                    idle_pause(start);
                }
            }
        }
        rx.recv()
            .map_err(|_| Error::Future("the scheduler has stopped".into()))
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        // Workers stop beating once told to shut down: the watcher stops first.
        let lost = self.watch.take().and_then(|w| {
            let lost = w.lost().get().cloned();
            drop(w);
            lost
        });
        if lost.is_some() {
            // A lost rank never reaches MPI_Finalize (nor completes a large send), so
            // waiting for it would hang: end the whole job, every rank, now. The watcher
            // has said why; the caller has cleaned up on the error it got.
            crate::comm::mpi::abort_job(1);
        }
        let _ = self.link.request(Request::Shutdown);
        if let Some(h) = self.engine.take() {
            let _ = h.join();
        }
        // The transport comes back so that MPI is finalised on this thread.
        let transport = self.driver.take_transport();
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
        drop(transport);
    }
}

/// Receives the blocks of a streamed computation: `(offset in the array, block)`.
pub type BlockSink<'s> = dyn FnMut(&[usize], Chunk) -> Result<()> + 's;
