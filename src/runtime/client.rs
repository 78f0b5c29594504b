//! The client and the scheduler it runs on rank 0.
//!
//! `compute` and `persist` flatten the graph into a [`Plan`], let the optimizer rewrite
//! it, send it to the workers that run its tasks, then stream tasks: per materialised node
//! a cursor generates a bounded window of the blocks the result needs, a task is
//! dispatched once its inputs exist, to the worker the placement rule names (the one
//! holding most of its input bytes), and the scheduler tells holders to send missing
//! inputs straight to that worker. Chunks are released as soon as their last consumer has finished. Rank 0 never
//! relays payloads between workers; only local (caller-held) data is sent from it and
//! only results are gathered to it.

use super::plan::{ChunkKey, Dep, Plan};
use super::protocol::{Cmd, Msg};
use super::report::{RunReport, WorkerStats};
use super::worker::Worker;
use crate::array::blocks;
use crate::array::chunk::Chunk;
use crate::array::graph::{DArray, Op, PersistedKey, Resident};
use crate::comm::local::LocalTransport;
use crate::comm::mpi::{launched_under_mpi, MpiTransport};
use crate::comm::{CommStats, Rank, Transport};
use crate::error::{Error, Result};
use crate::optimize::cost::block_bytes;
use crate::optimize::placement::place;
use crossbeam_channel::{unbounded, Receiver, Sender};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

const NONE: u32 = u32::MAX;
/// Tasks queued on one worker at most.
const MAX_IN_FLIGHT: usize = 64;
/// Tasks generated ahead per node.
const WINDOW: usize = 1024;
/// Bytes of work (outputs and inputs to receive) queued on one worker at most, beyond its
/// first task: big tasks queue a few deep, so memory is not claimed long before use.
const QUEUE_BYTES: u64 = 256 << 20;

/// Blocks of a persisted array, kept on the workers until the last handle is dropped.
#[derive(Debug)]
pub struct PersistHandle {
    key: PersistedKey,
    /// Holder of each block.
    pub locations: Vec<Rank>,
    /// Bytes of each block.
    pub nbytes: Vec<u64>,
    release: Sender<PersistedKey>,
}

impl Resident for PersistHandle {
    fn locations(&self) -> Vec<u32> {
        self.locations.iter().map(|r| r.0).collect()
    }

    fn nbytes(&self) -> Vec<u64> {
        self.nbytes.clone()
    }
}

impl Drop for PersistHandle {
    fn drop(&mut self) {
        let _ = self.release.send(self.key);
    }
}

/// How to start a client.
#[derive(Debug, Clone)]
pub struct ClientOptions {
    /// In-process worker threads (ignored under MPI, where every rank but 0 is a worker).
    pub workers: usize,
    /// Bytes of intermediate chunks each worker may hold before the scheduler stops
    /// starting new input tasks (reads, generators) and lets consumers drain them.
    pub memory_per_worker: u64,
    /// Run the optimizer's passes on every plan (off: every node stored, every block
    /// computed, as the expression was written; for comparisons and debugging).
    pub optimize: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            workers: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(2)
                .clamp(1, 8),
            memory_per_worker: default_memory_per_worker(),
            optimize: true,
        }
    }
}

/// A quarter of the machine's physical memory, shared by the workers of one node (at
/// least 256 MiB each).
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
    let per_node = std::thread::available_parallelism().map_or(2, |n| n.get()) as u64;
    (total / 4 / per_node).max(256 << 20)
}

/// The caller's handle on a running cluster (in-process threads or MPI ranks).
pub struct Client {
    t: Box<dyn Transport>,
    threads: Vec<JoinHandle<()>>,
    _mpi: Option<MpiTransport>,
    next_comp: AtomicU64,
    release_tx: Sender<PersistedKey>,
    release_rx: Receiver<PersistedKey>,
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
        return start_on(MpiTransport::init()?, opts);
    }
    let mut c = Client::local(opts.workers)?;
    c.set_memory_per_worker(opts.memory_per_worker);
    c.set_optimize(opts.optimize);
    Ok(Started::Client(c))
}

/// Like [`start`], on an MPI transport the caller already initialised (benchmarks use the
/// transport for reference measurements first).
pub fn start_on(t: MpiTransport, opts: &ClientOptions) -> Result<Started> {
    if t.size() == 1 {
        let mut c = Client::local(opts.workers)?;
        c.set_memory_per_worker(opts.memory_per_worker);
        c.set_optimize(opts.optimize);
        c._mpi = Some(t);
        return Ok(Started::Client(c));
    }
    if t.rank() != Rank::SCHEDULER {
        drop(Worker::new(t).run()?);
        return Ok(Started::WorkerFinished);
    }
    let mut c = Client::with_transport(Box::new(t), Vec::new());
    c.set_memory_per_worker(opts.memory_per_worker);
    c.set_optimize(opts.optimize);
    Ok(Started::Client(c))
}

impl Client {
    /// An in-process cluster of `n` worker threads.
    pub fn local(n: usize) -> Result<Client> {
        let n = n.max(1);
        let mut group = LocalTransport::group(n + 1).into_iter();
        let me = group
            .next()
            .ok_or_else(|| Error::Internal("empty transport group".into()))?;
        let mut threads = Vec::new();
        for t in group {
            let h = std::thread::Builder::new()
                .name(format!("tessera-worker-{}", t.rank()))
                .spawn(move || {
                    let _ = Worker::new(t).run();
                })
                .map_err(|e| Error::Internal(format!("cannot start worker thread: {e}")))?;
            threads.push(h);
        }
        Ok(Client::with_transport(Box::new(me), threads))
    }

    fn with_transport(t: Box<dyn Transport>, threads: Vec<JoinHandle<()>>) -> Client {
        let (release_tx, release_rx) = unbounded();
        Client {
            t,
            threads,
            _mpi: None,
            next_comp: AtomicU64::new(1),
            release_tx,
            release_rx,
            last_report: Mutex::new(None),
            memory_per_worker: ClientOptions::default().memory_per_worker,
            optimize: true,
        }
    }

    /// Sets how many bytes of intermediate chunks each worker may hold before the
    /// scheduler holds back new input tasks.
    pub fn set_memory_per_worker(&mut self, bytes: u64) {
        self.memory_per_worker = bytes.max(1);
    }

    /// Turns the optimizer on or off for later computations.
    pub fn set_optimize(&mut self, on: bool) {
        self.optimize = on;
    }

    /// Number of workers.
    pub fn workers(&self) -> usize {
        self.t.size() - 1
    }

    /// `"in-process"` or `"mpi"`.
    pub fn transport_kind(&self) -> &'static str {
        self.t.kind()
    }

    /// Counters of rank 0's transport endpoint.
    pub fn comm_stats(&self) -> &CommStats {
        self.t.stats()
    }

    /// The report of the last computation.
    pub fn last_report(&self) -> Option<RunReport> {
        self.last_report.lock().ok().and_then(|r| r.clone())
    }

    /// Computes an array and gathers it to the caller.
    pub fn compute(&self, a: &DArray) -> Result<Chunk> {
        let out = self.execute(a, true, None)?;
        out.result
            .ok_or_else(|| Error::Internal("no result gathered".into()))
    }

    /// Computes an array and keeps its blocks on the workers.
    pub fn persist(&self, a: &DArray) -> Result<DArray> {
        let out = self.execute(a, false, None)?;
        let handle = PersistHandle {
            key: PersistedKey {
                comp: out.comp,
                node: out.root as u32,
            },
            locations: out.root_locations,
            nbytes: out.root_nbytes,
            release: self.release_tx.clone(),
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

    fn broadcast(&self, msg: &Msg) -> Result<()> {
        let bytes = msg.encode();
        for w in 1..self.t.size() {
            self.t.send(Rank(w as u32), bytes.clone(), None)?;
        }
        Ok(())
    }

    fn release_dropped(&self) -> Result<()> {
        while let Ok(k) = self.release_rx.try_recv() {
            self.broadcast(&Msg::Cmds(vec![Cmd::DropNode {
                comp: k.comp,
                node: k.node,
            }]))?;
        }
        Ok(())
    }

    fn execute(
        &self,
        root: &DArray,
        gather: bool,
        sink: Option<&mut BlockSink<'_>>,
    ) -> Result<Execution> {
        self.release_dropped()?;
        let comp = self.next_comp.fetch_add(1, Ordering::Relaxed);
        let started = Instant::now();
        let mut plan = Plan::build(comp, root, gather);
        if self.optimize {
            crate::optimize::optimize(
                &mut plan,
                &crate::optimize::Context {
                    workers: self.workers(),
                },
            );
        }
        let mut s = Scheduler::new(self, &plan, gather);
        if let Some(sink) = sink {
            s.root_cap = 2 * s.nw;
            s.sink = Some(sink);
        }
        let res = s.run();
        // Whatever happened, every worker forgets this computation.
        let keep = if res.is_ok() && !gather {
            vec![plan.root as u32]
        } else {
            vec![]
        };
        let end = Msg::Cmds(vec![Cmd::EndComp { comp, keep }]).encode();
        for w in (1..self.t.size()).filter(|&w| s.plan_sent[w]) {
            self.t.send(Rank(w as u32), end.clone(), None)?;
        }
        res?;
        let mut report = s.report;
        report.wall_seconds = started.elapsed().as_secs_f64();
        report.transport = self.t.kind().to_string();
        if let Ok(mut r) = self.last_report.lock() {
            *r = Some(report);
        }
        let root_locations = s.loc[plan.root].iter().map(|&r| Rank(r)).collect();
        let root_nbytes = s.nbytes[plan.root].clone();
        Ok(Execution {
            comp,
            root: plan.root,
            result: s.result,
            root_locations,
            root_nbytes,
        })
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.broadcast(&Msg::Shutdown);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

struct Execution {
    comp: u64,
    root: usize,
    result: Option<Chunk>,
    root_locations: Vec<Rank>,
    root_nbytes: Vec<u64>,
}

/// Receives the blocks of a streamed computation: `(offset in the array, block)`.
pub type BlockSink<'s> = dyn FnMut(&[usize], Chunk) -> Result<()> + 's;

struct Scheduler<'a, 's> {
    /// Where streamed result blocks go (instead of being assembled).
    sink: Option<&'s mut BlockSink<'s>>,
    /// Most root tasks dispatched but not yet gathered (bounded when streaming).
    root_cap: usize,
    root_dispatched: usize,
    /// Bytes of chunks the workers hold for this computation (task outputs and copies).
    held: u64,
    /// The same per worker (index = rank).
    held_by: Vec<u64>,
    /// Tasks the plan runs.
    planned_tasks: u64,
    /// Above this, no new input task (one without stored inputs) starts while others run.
    budget: u64,
    c: &'a Client,
    plan: &'a Plan,
    gather: bool,
    nw: usize,
    loc: Vec<Vec<u32>>,
    nbytes: Vec<Vec<u64>>,
    refs: Vec<Vec<u32>>,
    replicas: HashMap<(usize, usize), Vec<u32>>,
    todo: Vec<usize>,
    cursor: Vec<usize>,
    window: Vec<Vec<(usize, Vec<Dep>)>>,
    in_flight: Vec<usize>,
    /// Workers with `MAX_IN_FLIGHT` tasks queued.
    busy: usize,
    /// Dispatched tasks: their stored inputs and their queue cost.
    running: HashMap<(usize, usize), (Vec<Dep>, u64)>,
    /// Per worker, bytes of outputs and fetched inputs of its dispatched tasks.
    queued_bytes: Vec<u64>,
    batches: Vec<Vec<Cmd>>,
    root_done: usize,
    gathered: Vec<Option<Chunk>>,
    n_gathered: usize,
    result: Option<Chunk>,
    report: RunReport,
    /// Workers that have this computation's plan (only those that run its tasks).
    plan_sent: Vec<bool>,
    /// Workers whose plan goes out with their next batch.
    plan_pending: Vec<bool>,
    /// Root blocks received so far.
    got: Vec<bool>,
}

impl<'a, 's> Scheduler<'a, 's> {
    fn new(c: &'a Client, plan: &'a Plan, gather: bool) -> Scheduler<'a, 's> {
        let n = plan.nodes.len();
        let nw = c.workers();
        let mut loc = vec![Vec::new(); n];
        let mut nbytes = vec![Vec::new(); n];
        let mut refs = vec![Vec::new(); n];
        let mut todo = Vec::new();
        for (i, pn) in plan.nodes.iter().enumerate() {
            if !pn.materialized {
                continue;
            }
            let nb = pn.grid.num_blocks();
            refs[i] = vec![0; nb];
            match &pn.op {
                Op::Local(_) => {
                    loc[i] = vec![0; nb];
                    nbytes[i] = (0..nb)
                        .map(|b| {
                            (pn.grid
                                .block_shape(&pn.grid.unravel(b))
                                .iter()
                                .product::<usize>()
                                * pn.dtype.size()) as u64
                        })
                        .collect();
                }
                Op::Persisted(Some(h), _) => {
                    loc[i] = h.locations();
                    nbytes[i] = h.nbytes();
                }
                _ => {
                    loc[i] = vec![NONE; nb];
                    nbytes[i] = vec![0; nb];
                    todo.push(i);
                }
            }
        }
        let mut planned_tasks = 0;
        for &i in &todo {
            let pn = &plan.nodes[i];
            for b in (0..pn.grid.num_blocks()).filter(|&b| pn.is_needed(b)) {
                planned_tasks += 1;
                for (m, mb) in plan.task_deps(i, b) {
                    refs[m][mb] += 1;
                }
            }
        }
        let root_blocks = plan.nodes[plan.root].grid.num_blocks();
        let report = RunReport {
            workers: (1..=nw)
                .map(|r| WorkerStats {
                    rank: r as u32,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        };
        Scheduler {
            sink: None,
            root_cap: usize::MAX,
            root_dispatched: 0,
            held: 0,
            planned_tasks,
            held_by: vec![0; nw + 1],
            budget: c.memory_per_worker.saturating_mul(nw as u64),
            c,
            plan,
            gather,
            nw,
            loc,
            nbytes,
            refs,
            replicas: HashMap::new(),
            cursor: vec![0; n],
            window: vec![Vec::new(); n],
            todo,
            in_flight: vec![0; nw + 1],
            busy: 0,
            running: HashMap::new(),
            queued_bytes: vec![0; nw + 1],
            batches: vec![Vec::new(); nw + 1],
            root_done: 0,
            gathered: vec![None; root_blocks],
            n_gathered: 0,
            result: None,
            report,
            plan_sent: vec![false; nw + 1],
            plan_pending: vec![false; nw + 1],
            got: vec![false; root_blocks],
        }
    }

    fn root_blocks(&self) -> usize {
        self.gathered.len()
    }

    /// Done when the result is complete and every planned task has run (a plan that
    /// computes blocks the result does not need, as an unoptimized one does, runs them
    /// all: what ran is then what was planned and predicted).
    fn finished(&self) -> bool {
        let root = if self.gather {
            self.n_gathered == self.root_blocks()
        } else {
            self.root_done == self.root_blocks()
        };
        root && self.report.tasks == self.planned_tasks
    }

    fn run(&mut self) -> Result<()> {
        if self.nw == 0 {
            return Err(Error::Internal("no workers".into()));
        }
        // Root blocks that already exist (local or persisted data) are gathered at once.
        let root = self.plan.root;
        if !self.todo.contains(&root) {
            for b in 0..self.root_blocks() {
                self.root_finished(b)?;
            }
        }
        loop {
            self.schedule()?;
            self.flush()?;
            if self.finished() {
                break;
            }
            let env = self.c.t.recv()?;
            let mut next = Some(env);
            while let Some(e) = next {
                self.handle(e)?;
                next = self.c.t.try_recv()?;
            }
        }
        if self.gather && self.sink.is_none() {
            let pn = &self.plan.nodes[root];
            let shape = pn.grid.shape();
            let pieces: Vec<(Chunk, Vec<usize>)> = self
                .gathered
                .iter_mut()
                .enumerate()
                .filter_map(|(b, c)| {
                    c.take()
                        .map(|c| (c, pn.grid.block_offset(&pn.grid.unravel(b))))
                })
                .collect();
            let zero = vec![0; shape.len()];
            self.result = Some(blocks::assemble(pn.dtype, &shape, &zero, &pieces));
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<()> {
        for w in 1..=self.nw {
            if self.plan_pending[w] {
                self.plan_pending[w] = false;
                let cmds = std::mem::take(&mut self.batches[w]);
                let bytes = super::protocol::encode_plan_cmds(self.plan, &cmds);
                self.c.t.send(Rank(w as u32), bytes, None)?;
            } else if !self.batches[w].is_empty() {
                let cmds = std::mem::take(&mut self.batches[w]);
                self.c
                    .t
                    .send(Rank(w as u32), Msg::Cmds(cmds).encode(), None)?;
            }
        }
        Ok(())
    }

    fn schedule(&mut self) -> Result<()> {
        let todo = self.todo.clone();
        for &n in todo.iter().rev() {
            if self.busy == self.nw {
                return Ok(()); // every worker has enough queued
            }
            let nb = self.plan.nodes[n].grid.num_blocks();
            while self.window[n].len() < WINDOW && self.cursor[n] < nb {
                let b = self.plan.nodes[n].visit(self.cursor[n]);
                self.cursor[n] += 1;
                if !self.plan.nodes[n].is_needed(b) {
                    continue;
                }
                let deps = self.plan.task_deps(n, b);
                self.window[n].push((b, deps));
            }
            let mut i = 0;
            while i < self.window[n].len() {
                if n == self.plan.root
                    && self.root_dispatched - self.n_gathered.min(self.root_dispatched)
                        >= self.root_cap
                {
                    break;
                }
                let ready = self.window[n][i]
                    .1
                    .iter()
                    .all(|&(m, mb)| self.loc[m][mb] != NONE);
                if !ready {
                    i += 1;
                    continue;
                }
                if self.window[n][i].1.is_empty() && self.over_budget(n, self.window[n][i].0) {
                    // New data would exceed the memory budget: let consumers drain first.
                    break;
                }
                if self.busy == self.nw {
                    return Ok(());
                }
                let w = self.choose_worker(n, self.window[n][i].0, &self.window[n][i].1);
                let full = self.in_flight[w] > 0
                    && self.queued_bytes[w]
                        + self.queue_cost(n, self.window[n][i].0, &self.window[n][i].1, w)
                        > QUEUE_BYTES;
                if self.in_flight[w] >= MAX_IN_FLIGHT || full {
                    // Its worker is busy enough; later tasks may go elsewhere.
                    i += 1;
                    continue;
                }
                let (b, deps) = self.window[n].swap_remove(i);
                self.dispatch(n, b, deps, w)?;
            }
        }
        Ok(())
    }

    /// True when starting input task `(n, b)` would push held bytes over the budget while
    /// other tasks are still running (with nothing running, it always starts: progress).
    fn over_budget(&self, n: usize, b: usize) -> bool {
        // Below one task per worker, inputs always start: the budget slows a computation
        // that must hold more than it allows (no spill yet), it never stops it.
        let running: usize = self.in_flight.iter().sum();
        if running < self.nw {
            return false;
        }
        self.held + self.block_bytes(n, b) > self.budget
    }

    /// Bytes block `b` of node `n` will have.
    fn block_bytes(&self, n: usize, b: usize) -> u64 {
        let g = &self.plan.nodes[n].grid;
        (g.block_shape(&g.unravel(b)).iter().product::<usize>() * self.plan.nodes[n].dtype.size())
            as u64
    }

    /// True for blocks that stay on a worker after their task (not streamed to rank 0).
    fn stays(&self, n: usize) -> bool {
        !(self.gather && n == self.plan.root)
    }

    fn holders(&self, m: usize, b: usize) -> Vec<u32> {
        let mut h = vec![self.loc[m][b]];
        if let Some(r) = self.replicas.get(&(m, b)) {
            h.extend(r);
        }
        h
    }

    /// The worker of a task: the placement rule over the owners of its stored inputs
    /// (not their copies), so the cost model predicts the same choice.
    fn choose_worker(&self, n: usize, b: usize, deps: &[Dep]) -> usize {
        let inputs: Vec<(u32, u64)> = deps
            .iter()
            .map(|&(m, mb)| (self.loc[m][mb], block_bytes(self.plan, m, mb)))
            .collect();
        place(self.nw, b, self.plan.nodes[n].grid.num_blocks(), &inputs)
    }

    fn dispatch(&mut self, n: usize, b: usize, deps: Vec<Dep>, w: usize) -> Result<()> {
        let cost = self.queue_cost(n, b, &deps, w);
        self.queued_bytes[w] += cost;
        if !self.plan_sent[w] {
            // The plan travels with this worker's next batch of commands (one message).
            self.plan_pending[w] = true;
            self.plan_sent[w] = true;
        }
        for &(m, mb) in &deps {
            let holders = self.holders(m, mb);
            if holders.contains(&(w as u32)) {
                continue;
            }
            let key = self.plan.key(m, mb);
            let src = holders[0];
            if src == 0 {
                self.send_local(m, mb, key, w)?;
                self.report.bytes_scattered += self.nbytes[m][mb];
            } else {
                self.batches[src as usize].push(Cmd::SendTo {
                    key,
                    dest: Rank(w as u32),
                });
                self.report.bytes_moved += self.nbytes[m][mb];
                self.report.workers[src as usize - 1].bytes_sent += self.nbytes[m][mb];
                self.report.workers[w - 1].bytes_received += self.nbytes[m][mb];
            }
            self.replicas.entry((m, mb)).or_default().push(w as u32);
            self.hold(w, self.nbytes[m][mb], 0);
        }
        self.batches[w].push(Cmd::Run {
            comp: self.plan.comp,
            node: n as u32,
            block: b as u64,
        });
        self.in_flight[w] += 1;
        if self.in_flight[w] == MAX_IN_FLIGHT {
            self.busy += 1;
        }
        if self.stays(n) {
            // Reserved now, corrected to the real size when the task finishes.
            self.hold(w, self.block_bytes(n, b), 0);
        }
        if n == self.plan.root {
            self.root_dispatched += 1;
        }
        self.running.insert((n, b), (deps, cost));
        Ok(())
    }

    /// Bytes a task adds to its worker's queue: its output and the inputs it must
    /// receive.
    fn queue_cost(&self, n: usize, b: usize, deps: &[Dep], w: usize) -> u64 {
        let fetched: u64 = deps
            .iter()
            .filter(|&&(m, mb)| !self.holders(m, mb).contains(&(w as u32)))
            .map(|&(m, mb)| self.nbytes[m][mb])
            .sum();
        fetched + self.block_bytes(n, b)
    }

    fn send_local(&self, m: usize, mb: usize, key: ChunkKey, w: usize) -> Result<()> {
        let Op::Local(Some(data)) = &self.plan.nodes[m].op else {
            return Err(Error::Internal("data held by rank 0 is not local".into()));
        };
        let g = &self.plan.nodes[m].grid;
        let idx = g.unravel(mb);
        let c = blocks::sub_box(data, &g.block_offset(&idx), &g.block_shape(&idx));
        self.c.t.send(
            Rank(w as u32),
            Msg::Chunk {
                key,
                meta: c.meta(),
            }
            .encode(),
            Some(c.data.clone()),
        )?;
        Ok(())
    }

    fn handle(&mut self, env: crate::comm::Envelope) -> Result<()> {
        let msg = Msg::decode(&env.header).map_err(Error::Internal)?;
        match msg {
            Msg::Done {
                comp,
                items,
                bytes_read,
            } if comp == self.plan.comp => {
                let w = env.from.index();
                self.report.bytes_read += bytes_read;
                if let Some(ws) = self.report.workers.get_mut(w.wrapping_sub(1)) {
                    ws.bytes_read += bytes_read;
                }
                for (node, block, nb) in items {
                    self.task_done(node as usize, block as usize, nb, w)?;
                }
            }
            Msg::Failed {
                comp,
                node,
                block,
                message,
                host,
            } if comp == self.plan.comp => {
                return Err(Error::Task {
                    task: self.plan.task_name(node as usize, block as usize),
                    rank: env.from.0,
                    host,
                    message,
                });
            }
            Msg::Result {
                key,
                meta,
                bytes_read,
            } if key.comp == self.plan.comp => {
                let w = env.from.index();
                let payload = env
                    .payload
                    .ok_or_else(|| Error::Internal("result without payload".into()))?;
                let c = Chunk::from_parts(meta, payload).map_err(Error::Internal)?;
                let nb = c.nbytes() as u64;
                self.report.bytes_read += bytes_read;
                if let Some(ws) = self.report.workers.get_mut(w.wrapping_sub(1)) {
                    ws.bytes_read += bytes_read;
                }
                self.receive_root(key, c)?;
                self.task_done(key.node as usize, key.block as usize, nb, w)?;
            }
            Msg::Chunk { key, meta } if key.comp == self.plan.comp || self.gather => {
                let payload = env
                    .payload
                    .ok_or_else(|| Error::Internal("chunk without payload".into()))?;
                let c = Chunk::from_parts(meta, payload).map_err(Error::Internal)?;
                self.receive_root(key, c)?;
            }
            Msg::WorkerDied { message, host } => {
                return Err(Error::Task {
                    task: "worker loop".into(),
                    rank: env.from.0,
                    host,
                    message,
                });
            }
            _ => {}
        }
        Ok(())
    }

    /// A result block arrived at rank 0: into the sink or the assembled result; a block
    /// rank 0 asked for (already stored on a worker) is released there.
    fn receive_root(&mut self, key: ChunkKey, c: Chunk) -> Result<()> {
        let b = key.block as usize;
        // Only this computation's root blocks, each once (a chunk left over from an
        // earlier, failed computation is dropped).
        if b >= self.gathered.len() || key != self.plan.key(self.plan.root, b) || self.got[b] {
            return Ok(());
        }
        self.got[b] = true;
        self.report.bytes_gathered += c.nbytes() as u64;
        if let Some(sink) = self.sink.as_mut() {
            let g = &self.plan.nodes[self.plan.root].grid;
            sink(&g.block_offset(&g.unravel(b)), c)?;
            self.n_gathered += 1;
        } else {
            self.gathered[b] = Some(c);
            self.n_gathered += 1;
        }
        let holder = self.loc[self.plan.root][b];
        let asked = !self.todo.contains(&self.plan.root);
        if asked && holder != 0 && holder != NONE && key.comp == self.plan.comp {
            self.batches[holder as usize].push(Cmd::Release(key));
        }
        Ok(())
    }

    fn task_done(&mut self, n: usize, b: usize, nb: u64, w: usize) -> Result<()> {
        self.loc[n][b] = w as u32;
        self.nbytes[n][b] = nb;
        if self.stays(n) {
            self.hold(w, nb, self.block_bytes(n, b));
        }
        if self.in_flight[w] == MAX_IN_FLIGHT {
            self.busy -= 1;
        }
        self.in_flight[w] = self.in_flight[w].saturating_sub(1);
        self.report.tasks += 1;
        if let Some(ws) = self.report.workers.get_mut(w - 1) {
            ws.tasks += 1;
        }
        if let Some((deps, cost)) = self.running.remove(&(n, b)) {
            self.queued_bytes[w] = self.queued_bytes[w].saturating_sub(cost);
            for (m, mb) in deps {
                self.refs[m][mb] = self.refs[m][mb].saturating_sub(1);
                if self.refs[m][mb] == 0 {
                    self.release(m, mb);
                }
            }
        }
        if n == self.plan.root {
            self.root_finished(b)?;
        }
        Ok(())
    }

    fn release(&mut self, m: usize, mb: usize) {
        let key = self.plan.key(m, mb);
        let keep_holder = m == self.plan.root
            || matches!(self.plan.nodes[m].op, Op::Persisted(..) | Op::Local(_));
        if !keep_holder {
            let h = self.loc[m][mb];
            if h != 0 && h != NONE {
                self.batches[h as usize].push(Cmd::Release(key));
                self.hold(h as usize, 0, self.nbytes[m][mb]);
            }
        }
        if let Some(r) = self.replicas.remove(&(m, mb)) {
            for h in r {
                self.batches[h as usize].push(Cmd::Release(key));
                self.hold(h as usize, 0, self.nbytes[m][mb]);
            }
        }
    }

    /// Accounts chunk bytes a worker starts (`add`) or stops (`sub`) holding, and its peak.
    fn hold(&mut self, w: usize, add: u64, sub: u64) {
        self.held = (self.held + add).saturating_sub(sub);
        if let Some(h) = self.held_by.get_mut(w) {
            *h = (*h + add).saturating_sub(sub);
            if let Some(ws) = self.report.workers.get_mut(w.wrapping_sub(1)) {
                ws.peak_bytes = ws.peak_bytes.max(*h);
            }
        }
    }

    fn root_finished(&mut self, b: usize) -> Result<()> {
        self.root_done += 1;
        if !self.gather {
            return Ok(());
        }
        let root = self.plan.root;
        let holder = self.loc[root][b];
        if holder == 0 {
            if let Op::Local(Some(data)) = &self.plan.nodes[root].op {
                let g = &self.plan.nodes[root].grid;
                let idx = g.unravel(b);
                let c = blocks::sub_box(data, &g.block_offset(&idx), &g.block_shape(&idx));
                if let Some(sink) = self.sink.as_mut() {
                    sink(&g.block_offset(&idx), c)?;
                } else {
                    self.gathered[b] = Some(c);
                }
                self.n_gathered += 1;
            }
            return Ok(());
        }
        if self.todo.contains(&root) {
            // Computed root blocks come to rank 0 right after the task, unasked.
            return Ok(());
        }
        let key = self.plan.key(root, b);
        self.batches[holder as usize].push(Cmd::SendTo {
            key,
            dest: Rank::SCHEDULER,
        });
        Ok(())
    }
}
