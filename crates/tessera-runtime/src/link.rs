//! How callers on rank 0 talk to the scheduler thread: requests go in through a channel;
//! array computations answer through a channel of their own; futures answer through a
//! shared table that the scheduler updates and waiting callers (blocking, async, or
//! `as_completed`) watch.
//!
//! Whoever drives the scheduler (a waiting caller or the background thread, one at a time
//! under the engine's mutex) is the only user of the transport; MPI is initialised with
//! `MPI_THREAD_MULTIPLE`, so that may be any thread. Any number of caller threads can
//! submit work.

use super::engine::Driver;
use super::protocol::WorkerInfo;
use super::report::RunReport;
use super::tasks::ArgSource;
use crate::array::chunk::Chunk;
use crate::array::graph::{DArray, PersistedKey};
use crate::array::plan::{ChunkKey, Plan};
use crate::comm::Rank;
use crate::error::{Error, Result};
use crate::value::{Packed, Value};
use crossbeam_channel::Sender;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, OnceLock, Weak};
use std::task::Waker;
use std::time::{Duration, Instant};

/// A request to the scheduler thread.
pub(crate) enum Request {
    /// Run an array computation.
    Execute(ExecRequest),
    /// The caller consumed `n` more streamed blocks of computation `comp`.
    Consumed { comp: u64, n: usize },
    /// Stop computation `comp` (its caller gave up).
    Abort { comp: u64 },
    /// Forget the blocks of a persisted array.
    DropNode(PersistedKey),
    /// Run a futures task.
    Submit(Box<TaskSpec>),
    /// Place a value on a worker (`None`: the scheduler picks).
    Scatter {
        id: u64,
        value: Value,
        worker: Option<u32>,
    },
    /// Bring future `id`'s value to rank 0.
    Fetch(u64),
    /// The caller dropped its last handle on future `id`.
    Release(u64),
    /// Cancel future `id`.
    Cancel(u64),
    /// The state of every worker.
    Inspect(Sender<Vec<WorkerInfo>>),
    /// Counters since the start.
    Report(Sender<RunReport>),
    /// The function and argument sources of a task (`recreate_error_locally`).
    Spec(u64, Sender<Option<(String, Vec<ArgSource>)>>),
    /// Bring stored data to rank 0, into the caller-side record `slot`.
    FetchStored {
        key: ChunkKey,
        holder: u32,
        slot: u64,
    },
    /// Stop the workers and the scheduler thread.
    Shutdown,
}

/// An array computation to run.
pub(crate) struct ExecRequest {
    pub plan: Arc<Plan>,
    pub stream: bool,
    pub memory_per_worker: u64,
    pub events: Sender<ExecEvent>,
}

/// What an array computation sends back.
pub(crate) enum ExecEvent {
    /// A streamed result block and its offset in the array.
    Block(Vec<usize>, Chunk),
    /// The computation is over.
    Done(Result<Box<ExecOutcome>>),
}

/// A finished array computation.
pub(crate) struct ExecOutcome {
    pub comp: u64,
    pub root: u32,
    pub report: RunReport,
    pub result: Option<Chunk>,
    pub root_locations: Vec<Rank>,
    pub root_nbytes: Vec<u64>,
}

/// A futures task as the scheduler sees it.
pub(crate) struct TaskSpec {
    pub id: u64,
    pub key: String,
    pub func: String,
    pub args: Vec<SchedArg>,
}

/// A task argument as the scheduler sees it.
pub(crate) enum SchedArg {
    /// Carried in the command.
    Inline(Packed),
    /// Another future's value.
    Future(u64),
    /// A block of a persisted array (the array is kept alive while the task needs it).
    Block {
        key: ChunkKey,
        holder: u32,
        nbytes: u64,
        _keep: DArray,
    },
}

/// Why a futures task failed, as the caller sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskFailure {
    /// The key of the task that failed (for a task whose input failed: that input's key).
    pub key: String,
    /// Worker rank.
    pub rank: u32,
    /// Worker host.
    pub host: String,
    /// The error message.
    pub message: String,
    /// Where a panic happened, when it could be taken.
    pub backtrace: Option<String>,
}

impl TaskFailure {
    /// The crate error for it.
    pub fn to_error(&self) -> Error {
        Error::Task {
            task: self.key.clone(),
            rank: self.rank,
            host: self.host.clone(),
            message: self.message.clone(),
            backtrace: self.backtrace.clone(),
        }
    }
}

/// Where a future stands.
#[derive(Debug, Clone, PartialEq)]
pub enum FutureStatus {
    /// Waiting for inputs, queued or running.
    Pending,
    /// Its value is on a worker (or already here).
    Finished,
    /// It failed.
    Error(Arc<TaskFailure>),
    /// It was cancelled.
    Cancelled,
}

impl FutureStatus {
    /// True once it will not change any more.
    pub fn is_terminal(&self) -> bool {
        !matches!(self, FutureStatus::Pending)
    }
}

/// Someone waiting for futures to finish in any order (`as_completed`).
pub(crate) trait Listener: Send + Sync {
    /// Future `id` reached a terminal status.
    fn finished(&self, id: u64);
}

/// The caller-side record of one future.
pub(crate) struct Slot {
    pub status: FutureStatus,
    /// The value, once fetched (or sent back with the completion when small).
    pub value: Option<Value>,
    /// A fetch was requested.
    pub fetching: bool,
    pub wakers: Vec<Waker>,
    /// `as_completed` sets waiting for it (weak: a dropped set lets its futures go).
    pub listeners: Vec<Weak<dyn Listener>>,
}

/// How long a waiting caller drives the scheduler itself before it sleeps and leaves that
/// to the background thread.
pub(crate) const DRIVE_FOR: Duration = Duration::from_millis(2);

/// The shared state between callers and the scheduler.
pub(crate) struct Link {
    tx: Sender<Request>,
    /// The scheduler, for callers that drive it while they wait.
    driver: OnceLock<Weak<Driver>>,
    table: Mutex<HashMap<u64, Slot>>,
    cond: Condvar,
    next_id: AtomicU64,
    /// Workers in the cluster.
    pub workers: usize,
    /// Unique in the process (tells whose persisted arrays and futures these are).
    pub id: u64,
    /// The workers' task functions when the cluster started, grouped by equal tables.
    pub registered: crate::registry::Groups,
}

impl Link {
    pub fn new(
        tx: Sender<Request>,
        workers: usize,
        registered: Vec<(u32, crate::registry::Snapshot)>,
    ) -> Link {
        let registered = crate::registry::group(registered);
        Link {
            tx,
            driver: OnceLock::new(),
            table: Mutex::new(HashMap::new()),
            cond: Condvar::new(),
            next_id: AtomicU64::new(1),
            workers,
            registered,
            id: {
                static NEXT: AtomicU64 = AtomicU64::new(1);
                NEXT.fetch_add(1, Ordering::Relaxed)
            },
        }
    }

    /// Connects the scheduler (once, at start).
    pub fn set_driver(&self, d: &Arc<Driver>) {
        let _ = self.driver.set(Arc::downgrade(d));
    }

    /// The scheduler, while it exists.
    pub fn driver(&self) -> Option<Arc<Driver>> {
        self.driver.get().and_then(Weak::upgrade)
    }

    /// A sender of requests (for handles that outlive a borrow of the link).
    pub fn sender(&self) -> Sender<Request> {
        self.tx.clone()
    }

    /// Sends a request to the scheduler thread.
    pub fn request(&self, r: Request) -> Result<()> {
        let sent = self.tx.send(r).map_err(|_| {
            Error::Future(
                "the scheduler has stopped (the client was shut down or a worker died)".into(),
            )
        });
        if let Some(d) = self.driver() {
            d.wake();
        }
        sent
    }

    /// A fresh future id, registered as pending.
    pub fn new_future(&self) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(
            id,
            Slot {
                status: FutureStatus::Pending,
                value: None,
                fetching: false,
                wakers: Vec::new(),
                listeners: Vec::new(),
            },
        );
        id
    }

    pub fn lock(&self) -> MutexGuard<'_, HashMap<u64, Slot>> {
        self.table.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Forgets a future's caller-side record (its last handle was dropped).
    pub fn forget(&self, id: u64) {
        self.lock().remove(&id);
    }

    /// Changes a future's record (if a handle still exists) and wakes whoever waits on it.
    /// A failed or cancelled future stays so (a late completion cannot revive it); wakers
    /// and listeners run after the table is unlocked (they may drop the last handle on a
    /// future, which locks the table again).
    pub fn update(&self, id: u64, f: impl FnOnce(&mut Slot)) {
        let mut t = self.lock();
        let Some(slot) = t.get_mut(&id) else {
            return;
        };
        let before = slot.status.clone();
        f(slot);
        if matches!(before, FutureStatus::Error(_) | FutureStatus::Cancelled) {
            slot.status = before.clone();
        }
        let wakers = std::mem::take(&mut slot.wakers);
        let listeners = if !before.is_terminal() && slot.status.is_terminal() {
            std::mem::take(&mut slot.listeners)
        } else {
            Vec::new()
        };
        drop(t);
        for w in wakers {
            w.wake();
        }
        for l in listeners.iter().filter_map(Weak::upgrade) {
            l.finished(id);
        }
        self.cond.notify_all();
    }

    /// Waits until `check` returns something: drives the scheduler for a while (a tiny
    /// task answers within microseconds), then sleeps on the condition variable while the
    /// background thread drives.
    pub fn wait_for<T>(&self, mut check: impl FnMut(&mut HashMap<u64, Slot>) -> Option<T>) -> T {
        if let Some(d) = self.driver() {
            let _driving = d.driving();
            let start = Instant::now();
            while start.elapsed() < DRIVE_FOR && !d.stopped() {
                if let Some(v) = check(&mut self.lock()) {
                    return v;
                }
                if d.pump() != Some(true) {
                    idle_pause(start);
                }
            }
        }
        let mut t = self.lock();
        loop {
            if let Some(v) = check(&mut t) {
                return v;
            }
            t = match self.cond.wait_timeout(t, Duration::from_millis(100)) {
                Ok((g, _)) => g,
                Err(p) => p.into_inner().0,
            };
        }
    }

    /// Tells every waiter the scheduler is gone: every future whose value is not here yet
    /// becomes an error (its value can no longer be fetched either).
    pub fn fail_all(&self, message: &str) {
        let t = self.lock();
        let ids: Vec<u64> = t
            .iter()
            .filter(|(_, s)| s.value.is_none() && !matches!(s.status, FutureStatus::Error(_)))
            .map(|(&id, _)| id)
            .collect();
        drop(t);
        for id in ids {
            self.update(id, |s| {
                s.status = FutureStatus::Error(Arc::new(TaskFailure {
                    key: format!("future {id}"),
                    rank: 0,
                    host: String::new(),
                    message: message.to_string(),
                    backtrace: None,
                }))
            });
        }
        self.cond.notify_all();
    }
}

/// A pause while driving found nothing to do: spin at first, then yield the core.
pub(crate) fn idle_pause(since: Instant) {
    if since.elapsed() < Duration::from_micros(50) {
        std::hint::spin_loop();
    } else {
        std::thread::yield_now();
    }
}
