//! The scheduler on rank 0: the one owner of rank 0's transport. It takes requests from
//! callers, routes worker messages to the array computation they belong to or to the
//! futures half, and lets both dispatch. Array computations run one at a time (each
//! already spreads over every worker); futures tasks run beside them.
//!
//! Who drives it: a caller waiting for an answer drives the scheduler itself for the first
//! couple of milliseconds (so a tiny task's round trip costs no thread hand-over: caller →
//! worker → caller), and a background thread drives it whenever no caller does (async
//! waiters, long computations, work submitted without waiting). The engine sits behind a
//! mutex; only its holder touches the transport. When idle, the background thread spins
//! for a few microseconds, then yields, then waits on the request channel in short slices
//! between transport polls, so an idle scheduler leaves the cores to the workers.

use super::heartbeat::Lost;
use super::link::{ExecEvent, ExecRequest, Link, Request};
use super::protocol::WorkerInfo;
use super::protocol::{Cmd, Msg};
use super::report::RunReport;
use super::scheduler::Scheduler;
use super::tasks::Tasks;
use crate::buffers::to_buffer;
use crate::comm::{Envelope, Rank, Transport};
use crate::error::{Error, Result};
use crossbeam_channel::{Receiver, Sender};
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, TryLockError};
use std::time::{Duration, Instant};

/// Messages handled per pass before requests are looked at again.
const MESSAGES_PER_PASS: usize = 256;

type InspectReply = Sender<Vec<WorkerInfo>>;

struct Active {
    s: Scheduler,
    events: Sender<ExecEvent>,
}

struct Engine {
    t: Box<dyn Transport>,
    link: Arc<Link>,
    nw: usize,
    active: Option<Active>,
    queue: VecDeque<ExecRequest>,
    tasks: Tasks,
    /// Array computations' counters, summed.
    totals: RunReport,
    /// When the engine started (ns since the Unix epoch): the zero of report timelines.
    origin_ns: u64,
    /// Live counters (shared with the client's progress displays).
    progress: Arc<super::progress::Progress>,
    inspect: Option<(Vec<InspectReply>, Vec<WorkerInfo>)>,
    /// Set when a worker died or the transport broke: later work fails at once.
    dead: Option<Error>,
    started: Instant,
    /// Set by the heartbeat watcher when a worker falls silent (MPI runs).
    lost: Option<Arc<OnceLock<Lost>>>,
}

/// The engine and who may drive it.
pub(crate) struct Driver {
    /// Live counters for progress displays.
    pub(crate) progress: Arc<super::progress::Progress>,
    engine: Mutex<Option<Engine>>,
    requests: Receiver<Request>,
    /// Callers driving the engine right now (the background thread stands back).
    callers: AtomicUsize,
    /// Set once the engine has shut down.
    stopped: AtomicBool,
    /// The transport, handed back at shutdown.
    returned: Mutex<Option<Box<dyn Transport>>>,
    /// When a caller last stopped driving (microseconds since `epoch`): the background
    /// thread waits a little longer before it takes over, so a caller looping over
    /// round trips does not compete with it for a core.
    last_driven: AtomicU64,
    epoch: Instant,
    background: OnceLock<std::thread::Thread>,
    /// The background thread is asleep (a request must wake it).
    sleeping: AtomicBool,
}

/// How long after a caller stopped driving the background thread takes over.
const TAKE_OVER_AFTER_US: u64 = 1000;

/// What one pass over the engine ended with.
enum Pass {
    /// Whether anything happened.
    Progress(bool),
    /// A shutdown request.
    Stop,
}

/// Marks a caller as driving the engine while it lives.
pub(crate) struct Driving<'d>(&'d Driver);

impl Drop for Driving<'_> {
    fn drop(&mut self) {
        self.0.last_driven.store(self.0.now_us(), Ordering::SeqCst);
        self.0.callers.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Driver {
    pub(crate) fn new(
        t: Box<dyn Transport>,
        requests: Receiver<Request>,
        link: Arc<Link>,
        lost: Option<Arc<OnceLock<Lost>>>,
    ) -> Driver {
        let nw = t.size() - 1;
        let progress = Arc::new(super::progress::Progress::default());
        Driver {
            progress: progress.clone(),
            engine: Mutex::new(Some(Engine {
                tasks: Tasks::new(link.clone(), nw),
                totals: RunReport::for_workers(nw),
                origin_ns: super::report::unix_ns(),
                progress,
                t,
                link,
                nw,
                active: None,
                queue: VecDeque::new(),
                inspect: None,
                dead: None,
                started: Instant::now(),
                lost,
            })),
            requests,
            callers: AtomicUsize::new(0),
            stopped: AtomicBool::new(false),
            returned: Mutex::new(None),
            last_driven: AtomicU64::new(0),
            epoch: Instant::now(),
            background: OnceLock::new(),
            sleeping: AtomicBool::new(false),
        }
    }

    fn now_us(&self) -> u64 {
        self.epoch.elapsed().as_micros() as u64
    }

    /// True once the engine has shut down.
    pub(crate) fn stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    /// Registers the calling thread as a driver until the guard drops.
    pub(crate) fn driving(&self) -> Driving<'_> {
        self.callers.fetch_add(1, Ordering::SeqCst);
        Driving(self)
    }

    /// One pass over requests, messages and dispatch, unless someone else is driving.
    /// `Some(true)` when something happened.
    pub(crate) fn pump(&self) -> Option<bool> {
        let mut guard = match self.engine.try_lock() {
            Ok(g) => g,
            Err(TryLockError::WouldBlock) => return None,
            Err(TryLockError::Poisoned(p)) => {
                let mut g = p.into_inner();
                self.stop(&mut g);
                return Some(true);
            }
        };
        let e = guard.as_mut()?;
        // A bug in the scheduler must not leave callers or workers waiting: it fails
        // everything pending and shuts the cluster down.
        match catch_unwind(AssertUnwindSafe(|| self.pass(e))) {
            Ok(Pass::Progress(p)) => Some(p),
            Ok(Pass::Stop) => {
                self.stop(&mut guard);
                Some(true)
            }
            Err(panic) => {
                let msg = super::failure::panic_message(panic);
                if let Some(e) = guard.as_mut() {
                    e.broken(Error::Internal(format!("the scheduler panicked: {msg}")));
                }
                self.stop(&mut guard);
                Some(true)
            }
        }
    }

    fn pass(&self, e: &mut Engine) -> Pass {
        let mut progressed = false;
        if e.dead.is_none() {
            if let Some(lost) = e.lost.as_ref().and_then(|l| l.get()) {
                // A silent worker: everything waiting on the cluster fails with its name.
                e.tasks.fail_all(&lost.to_string(), lost.rank, &lost.host);
                e.broken(Error::Future(lost.to_string()));
                progressed = true;
            }
        }
        while let Ok(r) = self.requests.try_recv() {
            progressed = true;
            if !e.request(r) {
                return Pass::Stop;
            }
        }
        for _ in 0..MESSAGES_PER_PASS {
            match e.t.try_recv() {
                Ok(Some(env)) => {
                    progressed = true;
                    e.message(env);
                }
                Ok(None) => break,
                Err(err) => {
                    e.broken(Error::Comm(err));
                    break;
                }
            }
        }
        e.advance();
        Pass::Progress(progressed)
    }

    fn stop(&self, guard: &mut std::sync::MutexGuard<'_, Option<Engine>>) {
        if let Some(e) = guard.take() {
            let t = e.shutdown();
            if let Ok(mut r) = self.returned.lock() {
                *r = Some(t);
            }
        }
        self.stopped.store(true, Ordering::SeqCst);
    }

    /// Wakes the background thread if it sleeps (a request arrived). Requests stay in the
    /// channel, so whoever drives next handles them in the order they were sent.
    pub(crate) fn wake(&self) {
        if self.sleeping.load(Ordering::SeqCst) {
            if let Some(t) = self.background.get() {
                t.unpark();
            }
        }
    }

    /// The transport, once the engine has shut down.
    pub(crate) fn take_transport(&self) -> Option<Box<dyn Transport>> {
        self.returned.lock().ok().and_then(|mut r| r.take())
    }

    /// The background thread: drives the engine whenever no caller does, until shutdown.
    pub(crate) fn background(&self) {
        let _ = self.background.set(std::thread::current());
        let mut idle_since: Option<Instant> = None;
        while !self.stopped() {
            let since = self
                .now_us()
                .saturating_sub(self.last_driven.load(Ordering::SeqCst));
            if self.callers.load(Ordering::SeqCst) > 0 || since < TAKE_OVER_AFTER_US {
                let wait = TAKE_OVER_AFTER_US.saturating_sub(since).clamp(50, 500);
                std::thread::sleep(Duration::from_micros(wait));
                idle_since = None;
                continue;
            }
            if self.pump() == Some(true) {
                idle_since = None;
                continue;
            }
            let idle = idle_since.get_or_insert_with(Instant::now).elapsed();
            if idle < Duration::from_micros(50) {
                std::hint::spin_loop();
            } else if idle < Duration::from_millis(2) {
                std::thread::yield_now();
            } else {
                // Sleep between transport polls; a request wakes the thread at once.
                let slice = if idle < Duration::from_millis(100) {
                    Duration::from_micros(50)
                } else {
                    Duration::from_millis(1)
                };
                self.sleeping.store(true, Ordering::SeqCst);
                if self.requests.is_empty() {
                    std::thread::park_timeout(slice);
                }
                self.sleeping.store(false, Ordering::SeqCst);
            }
        }
    }
}

impl Engine {
    /// Handles a request; false on shutdown.
    fn request(&mut self, r: Request) -> bool {
        if let Some(err) = &self.dead {
            // A broken cluster answers futures requests with its error at once.
            let id = match &r {
                Request::Submit(spec) => Some(spec.id),
                Request::Scatter { id, .. } | Request::Fetch(id) => Some(*id),
                Request::FetchStored { slot, .. } => Some(*slot),
                _ => None,
            };
            if let Some(id) = id {
                let f = Arc::new(super::link::TaskFailure {
                    key: format!("future {id}"),
                    rank: 0,
                    host: String::new(),
                    message: err.to_string(),
                    backtrace: None,
                });
                self.link
                    .update(id, |s| s.status = super::link::FutureStatus::Error(f));
                return true;
            }
        }
        match r {
            Request::Shutdown => return false,
            Request::Execute(x) => match &self.dead {
                Some(err) => {
                    let _ = x.events.send(ExecEvent::Done(Err(clone_error(err))));
                }
                None => self.queue.push_back(x),
            },
            Request::Consumed { comp, n } => {
                if let Some(a) = self.active.as_mut().filter(|a| a.s.plan.comp == comp) {
                    a.s.consumed += n;
                }
            }
            Request::Abort { comp } => {
                self.queue.retain(|x| x.plan.comp != comp);
                if self.active.as_ref().is_some_and(|a| a.s.plan.comp == comp) {
                    self.finish_active(Err(Error::Internal("aborted by the caller".into())));
                }
            }
            Request::DropNode(k) => {
                let _ = self.broadcast(&Msg::Cmds(vec![Cmd::DropNode {
                    comp: k.comp,
                    node: k.node,
                }]));
            }
            Request::Submit(spec) => self.tasks.submit(*spec),
            Request::Scatter { id, value, worker } => self.tasks.scatter(id, value, worker),
            Request::Fetch(id) => self.tasks.fetch(id),
            Request::Release(id) => self.tasks.release(id),
            Request::Cancel(id) => self.tasks.cancel(id),
            Request::Inspect(reply) => {
                // One inspection at a time; later askers share its answer. A broken
                // cluster drops the reply, so the asker gets an error at once.
                if let Some((waiting, _)) = self.inspect.as_mut() {
                    waiting.push(reply);
                } else if self.dead.is_none()
                    && self.broadcast(&Msg::Cmds(vec![Cmd::Inspect])).is_ok()
                {
                    self.inspect = Some((vec![reply], Vec::new()));
                }
            }
            Request::Report(reply) => {
                let _ = reply.send(self.cluster_report());
            }
            Request::Spec(id, reply) => {
                let _ = reply.send(self.tasks.spec_of(id));
            }
            Request::FetchStored { key, holder, slot } => {
                self.tasks.fetch_stored(key, holder, slot)
            }
        }
        true
    }

    /// Everything since the start: array computations and futures tasks; wall time is
    /// the time since the client started.
    fn cluster_report(&self) -> RunReport {
        let mut r = self.totals.clone();
        r.add(&self.tasks.report);
        r.wall_seconds = self.started.elapsed().as_secs_f64();
        r.transport = self.t.kind().to_string();
        r
    }

    /// Sends `msg` to every worker. A worker that has exited (its loop failed, e.g. on a
    /// full spill disk) does not stop the others from getting it: a `Shutdown` that
    /// stopped at the first dead rank left the later ones waiting forever (issue #13 items
    /// 9/11). The first error is returned.
    fn broadcast(&self, msg: &Msg) -> Result<()> {
        let bytes = msg.encode();
        let mut first: Result<()> = Ok(());
        for w in 1..=self.nw {
            if let Err(e) = self.t.send(Rank(w as u32), bytes.clone(), None) {
                if first.is_ok() {
                    first = Err(e.into());
                }
            }
        }
        first
    }

    fn message(&mut self, env: Envelope) {
        let msg = match Msg::decode(&env.header) {
            Ok(m) => m,
            Err(e) => {
                self.broken(Error::Internal(e));
                return;
            }
        };
        let from = env.from;
        let comp = match &msg {
            Msg::Done { comp, .. } | Msg::Failed { comp, .. } => Some(*comp),
            Msg::Result { key, .. } => Some(key.comp),
            Msg::Chunk { key, .. } if key.comp != 0 && !self.tasks.wants_stored(key) => {
                Some(key.comp)
            }
            _ => None,
        };
        match msg {
            Msg::WorkerDied { message, host } => {
                let err = Error::Task {
                    task: "worker loop".into(),
                    rank: from.0,
                    host: host.clone(),
                    message: message.clone(),
                    backtrace: None,
                };
                self.tasks.fail_all(&message, from.0, &host);
                self.broken(err);
            }
            Msg::Inspected(info) => {
                if let Some((waiting, got)) = self.inspect.as_mut() {
                    got.push(info);
                    if got.len() == self.nw {
                        got.sort_by_key(|g| g.rank);
                        for reply in waiting.drain(..) {
                            let _ = reply.send(got.clone());
                        }
                        self.inspect = None;
                    }
                }
            }
            msg => match comp {
                Some(_) => {
                    // An array computation's message (a stale one from a computation that
                    // already ended is dropped).
                    if let Some(a) = self.active.as_mut() {
                        let is_root_gather = matches!(msg, Msg::Chunk { .. }) && a.s.plan.gather;
                        if comp == Some(a.s.plan.comp) || is_root_gather {
                            if let Err(err) = a.s.handle(from, msg, env.payload.map(to_buffer)) {
                                self.finish_active(Err(err));
                            }
                        }
                    }
                }
                None => {
                    if let Err(err) = self.tasks.handle(from, msg, env.payload.map(to_buffer)) {
                        self.broken(err);
                    }
                }
            },
        }
    }

    /// Starts queued computations, lets the active one and the futures dispatch.
    fn advance(&mut self) {
        if self.active.is_none() {
            if let Some(x) = self.queue.pop_front() {
                let mut s = Scheduler::new(
                    x.plan,
                    self.nw,
                    x.memory_per_worker,
                    x.stream,
                    x.events.clone(),
                    self.origin_ns,
                    self.progress.clone(),
                );
                let started = s.start();
                self.active = Some(Active {
                    s,
                    events: x.events,
                });
                if let Err(err) = started {
                    self.finish_active(Err(err));
                }
            }
        }
        if let Some(a) = self.active.as_mut() {
            match a.s.step(&*self.t) {
                Ok(true) => self.finish_active(Ok(())),
                Ok(false) => {}
                Err(err) => self.finish_active(Err(err)),
            }
        }
        if let Err(err) = self.tasks.step(&*self.t) {
            self.broken(err);
        }
    }

    /// Ends the active computation: every worker that had its plan forgets it (keeping a
    /// persisted result), and the caller gets the outcome.
    fn finish_active(&mut self, outcome: Result<()>) {
        let Some(mut a) = self.active.take() else {
            return;
        };
        let comp = a.s.plan.comp;
        let keep = if outcome.is_ok() && !a.s.plan.gather {
            vec![a.s.plan.root as u32]
        } else {
            vec![]
        };
        let end = Msg::Cmds(vec![Cmd::EndComp { comp, keep }]).encode();
        for w in a.s.plan_holders() {
            let _ = self.t.send(Rank(w as u32), end.clone(), None);
        }
        let event = match outcome {
            Ok(()) => {
                let o = a.s.finish(self.t.kind());
                self.totals.add(&o.report);
                ExecEvent::Done(Ok(Box::new(o)))
            }
            Err(e) => ExecEvent::Done(Err(e)),
        };
        let _ = a.events.send(event);
    }

    /// A worker died or the transport broke: fail everything now and later.
    fn broken(&mut self, err: Error) {
        let text = err.to_string();
        if self.active.is_some() {
            self.finish_active(Err(clone_error(&err)));
        }
        for x in self.queue.drain(..) {
            let _ = x.events.send(ExecEvent::Done(Err(clone_error(&err))));
        }
        self.link.fail_all(&text);
        self.inspect = None;
        self.dead = Some(err);
    }

    fn shutdown(mut self) -> Box<dyn Transport> {
        let stop = Error::Future("the client was shut down".into());
        if self.active.is_some() {
            self.finish_active(Err(clone_error(&stop)));
        }
        for x in self.queue.drain(..) {
            let _ = x.events.send(ExecEvent::Done(Err(clone_error(&stop))));
        }
        self.link.fail_all("the client was shut down");
        let _ = self.broadcast(&Msg::Shutdown);
        self.t
    }
}

/// Errors are not `Clone` (some wrap IO errors); this keeps what a caller reads.
fn clone_error(e: &Error) -> Error {
    match e {
        Error::Task {
            task,
            rank,
            host,
            message,
            backtrace,
        } => Error::Task {
            task: task.clone(),
            rank: *rank,
            host: host.clone(),
            message: message.clone(),
            backtrace: backtrace.clone(),
        },
        Error::Cancelled(k) => Error::Cancelled(k.clone()),
        other => Error::Future(other.to_string()),
    }
}
