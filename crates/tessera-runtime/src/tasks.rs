//! Futures tasks on the scheduler thread: which are waiting, where each runs, what each
//! holds, and when data can be freed.
//!
//! Placement is locality first: a task goes to the worker holding most of its input bytes
//! (ties and input-free tasks to the least loaded worker). Each worker gets a bounded number
//! of tasks in flight, sized from how long its tasks take (enough to cover a few
//! milliseconds, at least two), and the rest wait here in a queue per worker. A worker with
//! free room and an empty queue steals from the longest queue (the tasks cheapest to move
//! first); if no queue here has work but a worker still holds several unstarted calls, the
//! scheduler asks it to give some back ([`Cmd::Steal`]) and reassigns only the calls the
//! worker confirms it had not started, so no task runs twice.
//!
//! A value stays on its worker while a caller holds a handle on its future or a waiting task
//! needs it (cluster reference counting); then the worker frees it. A failed task keeps its
//! inputs while its future lives, so `recreate_error_locally` can fetch them.

use super::failure::Failure;
use super::link::{FutureStatus, Link, SchedArg, TaskFailure, TaskSpec};
use super::protocol::{CallDone, Cmd, Msg, WireArg};
use super::report::RunReport;
use crate::array::buffer::Buffer;
use crate::array::plan::ChunkKey;
use crate::buffers::to_payload;
use crate::comm::{Rank, Transport};
use crate::error::Result;
use crate::value::{Skel, Value};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Fewest and most calls in flight on one worker.
const MIN_IN_FLIGHT: usize = 2;
const MAX_IN_FLIGHT: usize = 512;
/// Work in flight per worker, in task time: enough to hide a round trip to the scheduler.
const IN_FLIGHT_NS: f64 = 2e6;
/// Bytes per second assumed for moving a stolen task's inputs (a conservative network
/// figure): a task is stolen only if moving its inputs takes less time than it runs.
const STEAL_BYTES_PER_S: f64 = 1e9;
/// After a give-back that moved nothing, the victim is not asked again for this long.
const STEAL_BACKOFF: Duration = Duration::from_millis(5);

#[derive(Debug, Clone, PartialEq)]
enum State {
    /// Waiting for `n` inputs.
    Waiting(usize),
    /// Inputs ready, in the queue of a worker here.
    Queued(usize),
    /// Sent to a worker.
    Running(usize),
    /// Finished; its value is on `holder` (and copies on `replicas`).
    Memory,
    Erred(Arc<TaskFailure>),
    Cancelled,
}

struct Rec {
    key: String,
    func: Option<String>,
    args: Vec<SchedArg>,
    state: State,
    /// A caller holds a handle.
    wanted: bool,
    /// Tasks that still need this value.
    waiters: usize,
    dependents: Vec<u64>,
    holder: u32,
    replicas: Vec<u32>,
    nbytes: u64,
    /// The caller asked for the value.
    fetch: bool,
}

/// The futures half of the scheduler.
pub(crate) struct Tasks {
    link: Arc<Link>,
    nw: usize,
    recs: HashMap<u64, Rec>,
    /// Per worker (index = rank): tasks queued here for it.
    queues: Vec<VecDeque<u64>>,
    in_flight: Vec<usize>,
    /// Per worker: a steal request is out.
    stealing: Vec<bool>,
    /// Per worker: its last give-back moved nothing; do not ask again before this.
    no_steal_until: Vec<Option<Instant>>,
    batches: Vec<Vec<Cmd>>,
    /// Mean task time, nanoseconds (exponential average), over all tasks and per function.
    mean_ns: f64,
    mean_ns_of: HashMap<String, f64>,
    next_worker: usize,
    /// Running totals (the cluster report).
    pub report: RunReport,
    /// Values scattered, waiting to be sent: (worker, key, value).
    outgoing: Vec<(usize, ChunkKey, Value)>,
    /// Stored data asked for by the caller, by key: the slot it goes to.
    stored_fetches: HashMap<ChunkKey, Vec<u64>>,
}

/// Where an argument of a task is.
pub(crate) enum ArgSource {
    /// Here (or it could not be decoded).
    Value(std::result::Result<Value, String>),
    /// On a worker.
    Stored { key: ChunkKey, holder: u32 },
}

impl Tasks {
    pub fn new(link: Arc<Link>, nw: usize) -> Tasks {
        Tasks {
            link,
            nw,
            recs: HashMap::new(),
            queues: vec![VecDeque::new(); nw + 1],
            in_flight: vec![0; nw + 1],
            stealing: vec![false; nw + 1],
            no_steal_until: vec![None; nw + 1],
            batches: vec![Vec::new(); nw + 1],
            mean_ns: 0.0,
            mean_ns_of: HashMap::new(),
            next_worker: 0,
            report: RunReport::for_workers(nw),
            outgoing: Vec::new(),
            stored_fetches: HashMap::new(),
        }
    }

    fn cap(&self) -> usize {
        if self.mean_ns <= 0.0 {
            return MIN_IN_FLIGHT;
        }
        ((IN_FLIGHT_NS / self.mean_ns).ceil() as usize).clamp(MIN_IN_FLIGHT, MAX_IN_FLIGHT)
    }

    /// A new task.
    pub fn submit(&mut self, spec: TaskSpec) {
        let mut missing = 0;
        let mut failed: Option<State> = None;
        for a in &spec.args {
            if let SchedArg::Future(d) = a {
                match self.recs.get_mut(d) {
                    Some(dep) => {
                        dep.waiters += 1;
                        dep.dependents.push(spec.id);
                        match &dep.state {
                            State::Memory => {}
                            State::Erred(f) => failed = Some(State::Erred(f.clone())),
                            State::Cancelled => failed = Some(State::Cancelled),
                            _ => missing += 1,
                        }
                    }
                    None => {
                        failed = Some(State::Erred(Arc::new(TaskFailure {
                            key: spec.key.clone(),
                            rank: 0,
                            host: String::new(),
                            message: format!("input future {d} was released before this task ran"),
                            backtrace: None,
                        })))
                    }
                }
            }
        }
        let rec = Rec {
            key: spec.key,
            func: Some(spec.func),
            args: spec.args,
            state: State::Waiting(missing),
            wanted: true,
            waiters: 0,
            dependents: Vec::new(),
            holder: 0,
            replicas: Vec::new(),
            nbytes: 0,
            fetch: false,
        };
        let id = spec.id;
        self.recs.insert(id, rec);
        match failed {
            Some(State::Erred(f)) => self.fail(id, f),
            Some(_) => self.cancel_tree(id),
            None if missing == 0 => self.enqueue(id),
            None => {}
        }
    }

    /// A value placed on a worker by the caller.
    pub fn scatter(&mut self, id: u64, value: Value, worker: Option<u32>) {
        let w = match worker {
            Some(w) if (1..=self.nw as u32).contains(&w) => w as usize,
            _ => self.least_loaded_by_bytes(),
        };
        let nbytes = value.nbytes();
        self.report.bytes_scattered += nbytes;
        self.recs.insert(
            id,
            Rec {
                key: format!("scatter-{id}"),
                func: None,
                args: Vec::new(),
                state: State::Memory,
                wanted: true,
                waiters: 0,
                dependents: Vec::new(),
                holder: w as u32,
                replicas: Vec::new(),
                nbytes,
                fetch: false,
            },
        );
        self.outgoing.push((w, ChunkKey::future(id), value));
        self.link.update(id, |s| s.status = FutureStatus::Finished);
    }

    fn least_loaded_by_bytes(&mut self) -> usize {
        let mut held = vec![0u64; self.nw + 1];
        for r in self.recs.values() {
            if r.state == State::Memory && (r.holder as usize) < held.len() {
                held[r.holder as usize] += r.nbytes;
            }
        }
        self.next_worker = self.next_worker % self.nw + 1;
        let start = self.next_worker;
        (0..self.nw)
            .map(|k| (start - 1 + k) % self.nw + 1)
            .min_by_key(|&w| held[w])
            .unwrap_or(1)
    }

    /// Input bytes of a task already on each worker.
    fn local_bytes(&self, id: u64) -> Vec<u64> {
        let mut b = vec![0u64; self.nw + 1];
        if let Some(r) = self.recs.get(&id) {
            for a in &r.args {
                match a {
                    SchedArg::Future(d) => {
                        if let Some(dep) = self.recs.get(d) {
                            for h in std::iter::once(dep.holder).chain(dep.replicas.iter().copied())
                            {
                                if let Some(x) = b.get_mut(h as usize) {
                                    *x += dep.nbytes.max(1);
                                }
                            }
                        }
                    }
                    SchedArg::Block { holder, nbytes, .. } => {
                        if let Some(x) = b.get_mut(*holder as usize) {
                            *x += (*nbytes).max(1);
                        }
                    }
                    SchedArg::Inline(_) => {}
                }
            }
        }
        b
    }

    /// Puts a ready task in the queue of the worker holding most of its inputs.
    fn enqueue(&mut self, id: u64) {
        let local = self.local_bytes(id);
        let load = |w: usize| self.in_flight[w] + self.queues[w].len();
        let best = local.iter().skip(1).copied().max().unwrap_or(0);
        let w = if best > 0 {
            (1..=self.nw)
                .filter(|&w| local[w] == best)
                .min_by_key(|&w| load(w))
                .unwrap_or(1)
        } else {
            self.next_worker = self.next_worker % self.nw + 1;
            let start = self.next_worker;
            (0..self.nw)
                .map(|k| (start - 1 + k) % self.nw + 1)
                .min_by_key(|&w| load(w))
                .unwrap_or(1)
        };
        if let Some(r) = self.recs.get_mut(&id) {
            r.state = State::Queued(w);
        }
        self.queues[w].push_back(id);
    }

    /// Dispatches queued tasks (stealing for idle workers) and sends the batches.
    pub fn step(&mut self, t: &dyn Transport) -> Result<()> {
        for (w, key, value) in std::mem::take(&mut self.outgoing) {
            let (skel, data) = value.to_wire();
            let hdr = Msg::Chunk {
                key,
                skel,
                packing: None,
            }
            .encode();
            t.send(Rank(w as u32), hdr, data.map(to_payload))?;
        }
        let cap = self.cap();
        for w in 1..=self.nw {
            while self.in_flight[w] < cap {
                let next = match self.queues[w].pop_front() {
                    Some(id) => Some(id),
                    None => self.steal_for(w),
                };
                let Some(id) = next else { break };
                self.dispatch(id, w);
            }
        }
        self.ask_to_give_back();
        for w in 1..=self.nw {
            if !self.batches[w].is_empty() {
                let cmds = std::mem::take(&mut self.batches[w]);
                t.send(Rank(w as u32), Msg::Cmds(cmds).encode(), None)?;
            }
        }
        Ok(())
    }

    /// Bytes that would move if task `id` ran on worker `w`.
    fn bytes_to_move(&self, id: u64, w: usize) -> u64 {
        let mut total = 0;
        if let Some(r) = self.recs.get(&id) {
            for a in &r.args {
                match a {
                    SchedArg::Future(d) => {
                        if let Some(dep) = self.recs.get(d) {
                            if dep.holder as usize != w && !dep.replicas.contains(&(w as u32)) {
                                total += dep.nbytes;
                            }
                        }
                    }
                    SchedArg::Block { holder, nbytes, .. } if *holder as usize != w => {
                        total += nbytes
                    }
                    _ => {}
                }
            }
        }
        total
    }

    /// True when moving task `id`'s inputs to `w` costs less time than tasks of its
    /// function take (never for a function not timed yet, unless nothing moves).
    fn worth_moving(&self, id: u64, w: usize) -> bool {
        let bytes = self.bytes_to_move(id, w);
        let took = self
            .recs
            .get(&id)
            .and_then(|r| r.func.as_ref())
            .and_then(|f| self.mean_ns_of.get(f))
            .copied()
            .unwrap_or(0.0);
        bytes == 0 || bytes as f64 / STEAL_BYTES_PER_S * 1e9 <= took
    }

    /// A task from the longest other queue that is worth moving (the one with the fewest
    /// input bytes to move among the last few queued).
    fn steal_for(&mut self, thief: usize) -> Option<u64> {
        let victim = (1..=self.nw)
            .filter(|&v| v != thief)
            .max_by_key(|&v| self.queues[v].len())?;
        if self.queues[victim].is_empty() {
            return None;
        }
        let q = &self.queues[victim];
        let look = q.len().min(8);
        let pos = (q.len() - look..q.len())
            .filter(|&i| self.worth_moving(q[i], thief))
            .min_by_key(|&i| self.bytes_to_move(q[i], thief))?;
        let id = self.queues[victim].remove(pos)?;
        if let Some(ws) = self.report.worker(thief) {
            ws.tasks_stolen += 1;
        }
        Some(id)
    }

    /// When a worker has room and nothing is queued here, asks the worker with the most
    /// calls in flight to give back the ones it has not started.
    fn ask_to_give_back(&mut self) {
        if self.queues.iter().any(|q| !q.is_empty()) {
            return;
        }
        let Some(idle) = (1..=self.nw).find(|&w| self.in_flight[w] == 0) else {
            return;
        };
        let Some(victim) = (1..=self.nw)
            .filter(|&v| v != idle)
            .max_by_key(|&v| self.in_flight[v])
        else {
            return;
        };
        let backing_off = self.no_steal_until[victim].is_some_and(|t| Instant::now() < t);
        if self.in_flight[victim] >= 3 && !self.stealing[victim] && !backing_off {
            self.stealing[victim] = true;
            let n = (self.in_flight[victim] / 2) as u32;
            self.batches[victim].push(Cmd::Steal { n });
        }
    }

    fn dispatch(&mut self, id: u64, w: usize) {
        let Some(r) = self.recs.get(&id) else { return };
        if !matches!(r.state, State::Queued(_)) {
            return; // released or cancelled while queued
        }
        let mut args = Vec::with_capacity(r.args.len());
        let mut sends: Vec<(u32, ChunkKey, u64, Option<u64>)> = Vec::new();
        for a in &r.args {
            match a {
                SchedArg::Inline(p) => args.push(WireArg::Inline(p.clone())),
                SchedArg::Future(d) => {
                    let key = ChunkKey::future(*d);
                    if let Some(dep) = self.recs.get(d) {
                        if dep.holder as usize != w && !dep.replicas.contains(&(w as u32)) {
                            sends.push((dep.holder, key, dep.nbytes, Some(*d)));
                        }
                    }
                    args.push(WireArg::Stored(key));
                }
                SchedArg::Block {
                    key,
                    holder,
                    nbytes,
                    ..
                } => {
                    if *holder as usize != w {
                        sends.push((*holder, *key, *nbytes, None));
                    }
                    args.push(WireArg::Stored(*key));
                }
            }
        }
        let func = r.func.clone().unwrap_or_default();
        for (src, key, nbytes, dep) in sends {
            self.batches[src as usize].push(Cmd::SendTo {
                key,
                dest: Rank(w as u32),
            });
            self.report.bytes_moved += nbytes;
            if let Some(s) = self.report.worker(src as usize) {
                s.bytes_sent += nbytes;
            }
            if let Some(s) = self.report.worker(w) {
                s.bytes_received += nbytes;
            }
            if let Some(d) = dep.and_then(|d| self.recs.get_mut(&d)) {
                d.replicas.push(w as u32);
            }
        }
        self.batches[w].push(Cmd::Call { id, func, args });
        self.in_flight[w] += 1;
        if let Some(r) = self.recs.get_mut(&id) {
            r.state = State::Running(w);
        }
    }

    /// A message for the futures half.
    pub fn handle(&mut self, from: Rank, msg: Msg, payload: Option<Arc<Buffer>>) -> Result<()> {
        let w = from.index();
        match msg {
            Msg::Called { items, counters } => {
                self.report.account(w, &counters);
                for d in items {
                    self.called(w, d);
                }
            }
            Msg::CallFailed { id, failure, host } => {
                if matches!(self.recs.get(&id).map(|r| &r.state), Some(State::Running(x)) if *x == w)
                {
                    self.in_flight[w] = self.in_flight[w].saturating_sub(1);
                }
                let key = self
                    .recs
                    .get(&id)
                    .map(|r| r.key.clone())
                    .unwrap_or_default();
                let Failure { message, backtrace } = failure;
                let f = Arc::new(TaskFailure {
                    key,
                    rank: from.0,
                    host,
                    message,
                    backtrace,
                });
                self.fail(id, f);
            }
            Msg::Stolen { ids } => {
                self.stealing[w] = false;
                let mut moved = false;
                for id in ids {
                    // A call cancelled or released meanwhile was already taken off the count.
                    let running_here = matches!(
                        self.recs.get(&id).map(|r| &r.state),
                        Some(State::Running(x)) if *x == w
                    );
                    if running_here {
                        self.in_flight[w] = self.in_flight[w].saturating_sub(1);
                        moved |= self.enqueue_elsewhere(id, w) != w;
                    }
                }
                if !moved {
                    // Nothing was worth moving: do not ask this worker again for a while.
                    self.no_steal_until[w] = Some(Instant::now() + STEAL_BACKOFF);
                }
            }
            Msg::Missing { key } => self.missing(key, from.0),

            Msg::Chunk { key, skel, packing } => {
                let data = super::worker::unpack(payload, packing)
                    .map_err(crate::error::Error::Internal)?;
                if !self.stored_arrived(key, &skel, data.clone()) && key.comp == 0 {
                    self.fetched(key.block, &skel, data);
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Requeues a call a worker gave back, on the least loaded other worker if its inputs
    /// are worth moving there, else back where it was. Returns the worker.
    fn enqueue_elsewhere(&mut self, id: u64, from: usize) -> usize {
        let target = (1..=self.nw)
            .filter(|&v| v != from)
            .min_by_key(|&v| self.in_flight[v] + self.queues[v].len())
            .filter(|&v| self.worth_moving(id, v))
            .unwrap_or(from);
        if let Some(r) = self.recs.get_mut(&id) {
            r.state = State::Queued(target);
        }
        self.queues[target].push_front(id);
        if target != from {
            if let Some(ws) = self.report.worker(target) {
                ws.tasks_stolen += 1;
            }
        }
        target
    }

    fn called(&mut self, w: usize, d: CallDone) {
        let CallDone {
            id,
            nbytes,
            busy_ns,
            small,
        } = d;
        let ema = |m: f64| {
            if m == 0.0 {
                busy_ns as f64
            } else {
                0.9 * m + 0.1 * busy_ns as f64
            }
        };
        self.mean_ns = ema(self.mean_ns);
        if let Some(f) = self.recs.get(&id).and_then(|r| r.func.as_ref()) {
            match self.mean_ns_of.get_mut(f) {
                Some(m) => *m = ema(*m),
                None => {
                    self.mean_ns_of.insert(f.clone(), busy_ns as f64);
                }
            }
        }
        self.report.tasks += 1;
        if let Some(s) = self.report.worker(w) {
            s.tasks += 1;
        }
        let running_here =
            matches!(self.recs.get(&id).map(|r| &r.state), Some(State::Running(x)) if *x == w);
        if !running_here {
            // Released or cancelled meanwhile: the worker need not keep it.
            self.batches[w].push(Cmd::Release(ChunkKey::future(id)));
            return;
        }
        self.in_flight[w] = self.in_flight[w].saturating_sub(1);
        let (fetch, dependents) = match self.recs.get_mut(&id) {
            Some(r) => {
                r.state = State::Memory;
                r.holder = w as u32;
                r.nbytes = nbytes;
                (r.fetch, r.dependents.clone())
            }
            None => return,
        };
        let value = small.and_then(|p| p.unpack().ok());
        let have_value = value.is_some();
        self.link.update(id, |s| {
            s.status = FutureStatus::Finished;
            if let Some(v) = value {
                s.value = Some(v);
            }
        });
        if fetch && !have_value {
            self.batches[w].push(Cmd::SendTo {
                key: ChunkKey::future(id),
                dest: Rank::SCHEDULER,
            });
        }
        for d in dependents {
            let ready = match self.recs.get_mut(&d) {
                Some(r) => match r.state {
                    State::Waiting(n) if n <= 1 => {
                        r.state = State::Waiting(0);
                        true
                    }
                    State::Waiting(n) => {
                        r.state = State::Waiting(n - 1);
                        false
                    }
                    _ => false,
                },
                None => false,
            };
            if ready {
                self.enqueue(d);
            }
        }
        self.release_inputs(id);
        self.maybe_forget(id);
    }

    /// A task's inputs are no longer needed by it.
    fn release_inputs(&mut self, id: u64) {
        let Some(r) = self.recs.get_mut(&id) else {
            return;
        };
        // Inline values stay (for `recreate_error_locally`); blocks of persisted arrays
        // are kept alive only while the task needs them.
        let (inline, stored): (Vec<SchedArg>, Vec<SchedArg>) = std::mem::take(&mut r.args)
            .into_iter()
            .partition(|a| matches!(a, SchedArg::Inline(_)));
        r.args = inline;
        self.drop_args(stored);
    }

    /// Arguments no task holds any more: their futures lose a waiter.
    fn drop_args(&mut self, args: Vec<SchedArg>) {
        for a in args {
            if let SchedArg::Future(d) = a {
                if let Some(dep) = self.recs.get_mut(&d) {
                    dep.waiters = dep.waiters.saturating_sub(1);
                }
                self.maybe_forget(d);
            }
        }
    }

    /// Forgets a task nobody wants any more, freeing its data on the workers.
    fn maybe_forget(&mut self, id: u64) {
        match self.recs.get(&id) {
            Some(r) if !r.wanted && r.waiters == 0 => {}
            _ => return,
        }
        let Some(r) = self.recs.remove(&id) else {
            return;
        };
        let key = ChunkKey::future(id);
        match r.state {
            State::Memory => {
                for h in std::iter::once(r.holder).chain(r.replicas) {
                    if let Some(b) = self.batches.get_mut(h as usize) {
                        b.push(Cmd::Release(key));
                    }
                }
            }
            State::Running(w) => {
                self.batches[w].push(Cmd::Cancel { id });
                self.in_flight[w] = self.in_flight[w].saturating_sub(1);
            }
            State::Queued(w) => self.queues[w].retain(|&x| x != id),
            State::Waiting(_) | State::Erred(_) | State::Cancelled => {}
        }
        // What it still held as inputs (a waiting, queued or failed task).
        self.drop_args(r.args);
    }

    /// The caller dropped its last handle.
    pub fn release(&mut self, id: u64) {
        if let Some(r) = self.recs.get_mut(&id) {
            r.wanted = false;
        }
        self.maybe_forget(id);
    }

    /// The caller wants the value at rank 0.
    pub fn fetch(&mut self, id: u64) {
        let Some(r) = self.recs.get_mut(&id) else {
            return;
        };
        r.fetch = true;
        if r.state == State::Memory {
            let h = r.holder as usize;
            self.batches[h].push(Cmd::SendTo {
                key: ChunkKey::future(id),
                dest: Rank::SCHEDULER,
            });
        }
    }

    fn fetched(&mut self, id: u64, skel: &Skel, data: Option<Arc<Buffer>>) {
        let nbytes = data.as_ref().map_or(0, |p| p.len() as u64);
        self.report.bytes_gathered += nbytes;
        let v = Value::from_wire(skel, data.as_ref());
        self.link.update(id, |s| match v {
            Ok(v) => s.value = Some(v),
            Err(e) => {
                s.status = FutureStatus::Error(Arc::new(TaskFailure {
                    key: format!("fetch of future {id}"),
                    rank: 0,
                    host: String::new(),
                    message: e,
                    backtrace: None,
                }))
            }
        });
    }

    /// Cancels a task (and the tasks waiting for it).
    pub fn cancel(&mut self, id: u64) {
        self.cancel_tree(id);
    }

    fn cancel_tree(&mut self, id: u64) {
        let mut stack = vec![id];
        while let Some(id) = stack.pop() {
            let Some(r) = self.recs.get_mut(&id) else {
                continue;
            };
            match r.state.clone() {
                State::Cancelled => continue,
                State::Running(w) => {
                    self.batches[w].push(Cmd::Cancel { id });
                    self.batches[w].push(Cmd::Release(ChunkKey::future(id)));
                    self.in_flight[w] = self.in_flight[w].saturating_sub(1);
                }
                State::Queued(w) => self.queues[w].retain(|&x| x != id),
                State::Memory => {
                    let key = ChunkKey::future(id);
                    for h in std::iter::once(r.holder).chain(r.replicas.iter().copied()) {
                        if let Some(b) = self.batches.get_mut(h as usize) {
                            b.push(Cmd::Release(key));
                        }
                    }
                }
                State::Waiting(_) | State::Erred(_) => {}
            }
            if let Some(r) = self.recs.get_mut(&id) {
                r.state = State::Cancelled;
                stack.extend(r.dependents.iter().copied());
            }
            self.link.update(id, |s| {
                s.status = FutureStatus::Cancelled;
                s.value = None;
            });
            self.release_inputs(id);
        }
    }

    /// A task failed: it and every task waiting for it carry the failure.
    fn fail(&mut self, id: u64, f: Arc<TaskFailure>) {
        let mut stack = vec![id];
        while let Some(id) = stack.pop() {
            let Some(r) = self.recs.get_mut(&id) else {
                continue;
            };
            if matches!(r.state, State::Erred(_) | State::Cancelled) {
                continue;
            }
            if let State::Queued(w) = r.state {
                self.queues[w].retain(|&x| x != id);
            }
            let r = match self.recs.get_mut(&id) {
                Some(r) => r,
                None => continue,
            };
            r.state = State::Erred(f.clone());
            stack.extend(r.dependents.iter().copied());
            self.link
                .update(id, |s| s.status = FutureStatus::Error(f.clone()));
        }
    }

    /// The inputs of a task (for `recreate_error_locally`): the function name and where
    /// each argument is.
    /// `None` unless the task itself ran and failed and every input future is still in
    /// memory on a worker.
    pub fn spec_of(&self, id: u64) -> Option<(String, Vec<ArgSource>)> {
        let r = self.recs.get(&id)?;
        if !matches!(&r.state, State::Erred(f) if f.key == r.key) {
            return None;
        }
        let inputs_here = r.args.iter().all(|a| match a {
            SchedArg::Future(d) => self.recs.get(d).is_some_and(|dep| {
                dep.state == State::Memory && (1..=self.nw).contains(&(dep.holder as usize))
            }),
            _ => true,
        });
        if !inputs_here {
            return None;
        }
        let args = r
            .args
            .iter()
            .map(|a| match a {
                SchedArg::Inline(p) => ArgSource::Value(p.unpack()),
                SchedArg::Future(d) => match self.recs.get(d) {
                    Some(dep) => ArgSource::Stored {
                        key: ChunkKey::future(*d),
                        holder: dep.holder,
                    },
                    None => ArgSource::Value(Err(format!("input future {d} was released"))),
                },
                SchedArg::Block { key, holder, .. } => ArgSource::Stored {
                    key: *key,
                    holder: *holder,
                },
            })
            .collect();
        Some((r.func.clone()?, args))
    }

    /// Brings a stored value or block to rank 0, into the caller-side slot `slot`.
    pub fn fetch_stored(&mut self, key: ChunkKey, holder: u32, slot: u64) {
        if holder == 0 || holder as usize > self.nw {
            self.slot_failed(slot, format!("no worker rank {holder} holds {key:?}"));
            return;
        }
        self.batches[holder as usize].push(Cmd::SendTo {
            key,
            dest: Rank::SCHEDULER,
        });
        self.stored_fetches.entry(key).or_default().push(slot);
    }

    fn slot_failed(&self, slot: u64, message: String) {
        let f = Arc::new(TaskFailure {
            key: format!("fetch {slot}"),
            rank: 0,
            host: String::new(),
            message,
            backtrace: None,
        });
        self.link
            .update(slot, |s| s.status = FutureStatus::Error(f));
    }

    /// A worker had nothing under `key` to send: whoever waits for it gets an error.
    pub fn missing(&mut self, key: ChunkKey, rank: u32) {
        let msg = format!("worker {rank} no longer holds {key:?}");
        for slot in self.stored_fetches.remove(&key).unwrap_or_default() {
            self.slot_failed(slot, msg.clone());
        }
        if key.comp == 0 {
            self.slot_failed(key.block, msg);
        }
    }

    /// True when the caller asked for this stored data.
    pub fn wants_stored(&self, key: &ChunkKey) -> bool {
        self.stored_fetches.contains_key(key)
    }

    /// A stored value or block fetched for a slot arrived.
    pub fn stored_arrived(
        &mut self,
        key: ChunkKey,
        skel: &Skel,
        data: Option<Arc<Buffer>>,
    ) -> bool {
        match self.stored_fetches.remove(&key) {
            Some(slots) => {
                for slot in slots {
                    self.fetched(slot, skel, data.clone());
                }
                true
            }
            None => false,
        }
    }
    /// Every pending task fails: a worker died.
    pub fn fail_all(&mut self, message: &str, rank: u32, host: &str) {
        let f = Arc::new(TaskFailure {
            key: "worker loop".into(),
            rank,
            host: host.to_string(),
            message: message.to_string(),
            backtrace: None,
        });
        let ids: Vec<u64> = self
            .recs
            .iter()
            .filter(|(_, r)| !matches!(r.state, State::Memory | State::Erred(_) | State::Cancelled))
            .map(|(&id, _)| id)
            .collect();
        for id in ids {
            self.fail(id, f.clone());
        }
    }
}
