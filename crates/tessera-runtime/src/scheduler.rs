//! The state of one array computation on the scheduler thread: per materialised node a
//! cursor generates a bounded window of the blocks the result needs, a task is dispatched
//! once its inputs exist, to the worker the placement rule names (the one holding most of
//! its input bytes), and the scheduler tells holders to send missing inputs straight to
//! that worker. Chunks are released as soon as their last consumer has finished. Rank 0
//! never relays payloads between workers; only local (caller-held) data is sent from it
//! and only results are gathered to it.
//!
//! The engine ([`super::engine`]) feeds it messages and lets it dispatch; placement is the
//! optimizer's fixed rule (no stealing here), so the cost model's predictions of bytes
//! moved hold exactly.

use super::link::{ExecEvent, ExecOutcome};
use super::progress::Progress;
use super::protocol::{Cmd, Msg, WorkerCounters};
use super::report::{MemorySample, RunReport, TaskSpan};
use crate::array::blocks;
use crate::array::buffer::Buffer;
use crate::array::chunk::Chunk;
use crate::array::graph::Op;
use crate::array::plan::{ChunkKey, Dep, Plan};
use crate::comm::{Rank, Transport};
use crate::error::{Error, Result};
use crate::optimize::cost::block_bytes;
use crate::optimize::placement::place;
use crate::value::Skel;
use crossbeam_channel::Sender;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

const NONE: u32 = u32::MAX;
/// Tasks queued on one worker at most.
const MAX_IN_FLIGHT: usize = 64;
/// Tasks generated ahead per node.
const WINDOW: usize = 1024;
/// Bytes of work (outputs and inputs to receive) queued on one worker at most, beyond its
/// first task: big tasks queue a few deep, so memory is not claimed long before use.
const QUEUE_BYTES: u64 = 256 << 20;

pub(crate) struct Scheduler {
    /// Where streamed result blocks go (instead of being assembled), and the outcome.
    events: Sender<ExecEvent>,
    /// Stream result blocks to the caller instead of assembling them.
    stream: bool,
    /// Streamed blocks the caller has consumed.
    pub(crate) consumed: usize,
    started: Instant,
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
    pub(crate) plan: Arc<Plan>,
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
    report: RunReport,
    /// Workers that have this computation's plan (only those that run its tasks).
    plan_sent: Vec<bool>,
    /// Workers whose plan goes out with their next batch.
    plan_pending: Vec<bool>,
    /// Root blocks received so far.
    got: Vec<bool>,
    /// When the client started, ns since the Unix epoch: the timeline's zero.
    origin_ns: u64,
    /// Per worker, when its memory was last sampled.
    last_sample: Vec<u64>,
    /// Live counters for progress displays.
    progress: Arc<Progress>,
}

impl Scheduler {
    pub(crate) fn new(
        plan: Arc<Plan>,
        nw: usize,
        memory_per_worker: u64,
        stream: bool,
        events: Sender<ExecEvent>,
        origin_ns: u64,
        progress: Arc<Progress>,
    ) -> Scheduler {
        let gather = plan.gather;
        let n = plan.nodes.len();
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
        let report = RunReport::for_workers(nw);
        Scheduler {
            events,
            stream,
            consumed: 0,
            started: Instant::now(),
            root_cap: if stream { 2 * nw } else { usize::MAX },
            root_dispatched: 0,
            held: 0,
            planned_tasks,
            held_by: vec![0; nw + 1],
            budget: memory_per_worker.saturating_mul(nw as u64),
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
            report,
            plan_sent: vec![false; nw + 1],
            plan_pending: vec![false; nw + 1],
            got: vec![false; root_blocks],
            origin_ns,
            last_sample: vec![0; nw + 1],
            progress,
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

    /// Starts the computation: root blocks that already exist (local or persisted data)
    /// are gathered at once.
    pub(crate) fn start(&mut self) -> Result<()> {
        if self.nw == 0 {
            return Err(Error::Internal("no workers".into()));
        }
        self.progress.started(self.planned_tasks);
        if !self.todo.contains(&self.plan.root) {
            for b in 0..self.root_blocks() {
                self.root_finished(b)?;
            }
        }
        Ok(())
    }

    /// Dispatches what can run and sends the batches. True when the computation is over.
    pub(crate) fn step(&mut self, t: &dyn Transport) -> Result<bool> {
        self.schedule(t)?;
        self.flush(t)?;
        Ok(self.finished())
    }

    /// The outcome of a finished computation: the assembled result (unless streamed), the
    /// report, and where the root's blocks are.
    pub(crate) fn finish(&mut self, kind: &str) -> ExecOutcome {
        let root = self.plan.root;
        let mut result = None;
        if self.gather && !self.stream {
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
            result = Some(blocks::assemble(pn.dtype, &shape, &zero, &pieces));
        }
        let mut report = std::mem::take(&mut self.report);
        report.wall_seconds = self.started.elapsed().as_secs_f64();
        report.transport = kind.to_string();
        ExecOutcome {
            comp: self.plan.comp,
            root: root as u32,
            report,
            result,
            root_locations: self.loc[root].iter().map(|&r| Rank(r)).collect(),
            root_nbytes: self.nbytes[root].clone(),
        }
    }

    /// Workers that received this computation's plan (they must be told when it ends).
    pub(crate) fn plan_holders(&self) -> Vec<usize> {
        (1..=self.nw).filter(|&w| self.plan_sent[w]).collect()
    }

    /// Sends a streamed block to the caller.
    fn emit(&mut self, offset: Vec<usize>, c: Chunk) -> Result<()> {
        self.events
            .send(ExecEvent::Block(offset, c))
            .map_err(|_| Error::Internal("the caller stopped listening".into()))
    }

    fn flush(&mut self, t: &dyn Transport) -> Result<()> {
        for w in 1..=self.nw {
            if self.plan_pending[w] {
                self.plan_pending[w] = false;
                let cmds = std::mem::take(&mut self.batches[w]);
                let bytes = super::protocol::encode_plan_cmds(&self.plan, &cmds);
                t.send(Rank(w as u32), bytes, None)?;
            } else if !self.batches[w].is_empty() {
                let cmds = std::mem::take(&mut self.batches[w]);
                t.send(Rank(w as u32), Msg::Cmds(cmds).encode(), None)?;
            }
        }
        Ok(())
    }

    fn schedule(&mut self, t: &dyn Transport) -> Result<()> {
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
                let taken = if self.stream {
                    self.consumed
                } else {
                    self.n_gathered
                };
                if n == self.plan.root
                    && self.root_dispatched - taken.min(self.root_dispatched) >= self.root_cap
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
                self.dispatch(t, n, b, deps, w)?;
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
            .map(|&(m, mb)| (self.loc[m][mb], block_bytes(&self.plan, m, mb)))
            .collect();
        place(self.nw, b, self.plan.nodes[n].grid.num_blocks(), &inputs)
    }

    fn dispatch(
        &mut self,
        t: &dyn Transport,
        n: usize,
        b: usize,
        deps: Vec<Dep>,
        w: usize,
    ) -> Result<()> {
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
                self.send_local(t, m, mb, key, w)?;
                self.report.bytes_scattered += self.nbytes[m][mb];
            } else {
                self.batches[src as usize].push(Cmd::SendTo {
                    key,
                    dest: Rank(w as u32),
                });
                self.report.bytes_moved += self.nbytes[m][mb];
                self.progress.moved(self.nbytes[m][mb]);
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

    fn send_local(
        &self,
        t: &dyn Transport,
        m: usize,
        mb: usize,
        key: ChunkKey,
        w: usize,
    ) -> Result<()> {
        let Op::Local(Some(data)) = &self.plan.nodes[m].op else {
            return Err(Error::Internal("data held by rank 0 is not local".into()));
        };
        let g = &self.plan.nodes[m].grid;
        let idx = g.unravel(mb);
        let c = blocks::sub_box(data, &g.block_offset(&idx), &g.block_shape(&idx));
        t.send(
            Rank(w as u32),
            Msg::Chunk {
                key,
                skel: Skel::of_chunk(c.meta()),
                packing: None,
            }
            .encode(),
            Some(c.data.clone()),
        )?;
        Ok(())
    }

    /// A message for this computation (the engine routes by computation id).
    pub(crate) fn handle(
        &mut self,
        from: Rank,
        msg: Msg,
        payload: Option<Arc<Buffer>>,
    ) -> Result<()> {
        let w = from.index();
        match msg {
            Msg::Done {
                comp,
                items,
                bytes_read,
                counters,
            } if comp == self.plan.comp => {
                self.report.bytes_read += bytes_read;
                self.progress.read(bytes_read);
                self.progress.spilled(counters.spilled);
                self.report.account(w, &counters);
                if let Some(ws) = self.report.worker(w) {
                    ws.bytes_read += bytes_read;
                }
                self.sample_memory(w, &counters);
                for it in items {
                    self.record_span(w, it.node as usize, it.end_ns, it.busy_ns);
                    self.task_done(it.node as usize, it.block as usize, it.nbytes, w)?;
                }
            }
            Msg::Failed {
                comp,
                node,
                block,
                failure,
                host,
            } if comp == self.plan.comp => {
                return Err(Error::Task {
                    task: self.plan.task_name(node as usize, block as usize),
                    rank: from.0,
                    host,
                    message: failure.message,
                    backtrace: failure.backtrace,
                });
            }
            Msg::Result {
                key,
                skel,
                packing,
                bytes_read,
                counters,
            } if key.comp == self.plan.comp => {
                let c = received_chunk(&skel, payload, packing)?;
                let nb = c.nbytes() as u64;
                self.report.bytes_read += bytes_read;
                self.progress.read(bytes_read);
                self.progress.spilled(counters.spilled);
                self.report.account(w, &counters);
                if let Some(ws) = self.report.worker(w) {
                    ws.bytes_read += bytes_read;
                }
                self.sample_memory(w, &counters);
                self.record_span(w, key.node as usize, counters.at_ns, counters.busy_ns);
                self.receive_root(key, c)?;
                self.task_done(key.node as usize, key.block as usize, nb, w)?;
            }
            Msg::Chunk { key, skel, packing } if key.comp == self.plan.comp || self.gather => {
                let c = received_chunk(&skel, payload, packing)?;
                self.receive_root(key, c)?;
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
        if self.stream {
            let g = &self.plan.nodes[self.plan.root].grid;
            let offset = g.block_offset(&g.unravel(b));
            self.emit(offset, c)?;
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

    /// Seconds since the client started of a worker's Unix-epoch timestamp.
    fn since_origin(&self, ns: u64) -> f64 {
        ns.saturating_sub(self.origin_ns) as f64 * 1e-9
    }

    /// A task's span on the timeline.
    fn record_span(&mut self, w: usize, node: usize, end_ns: u64, busy_ns: u64) {
        let kind = self.plan.nodes.get(node).map_or("task", |n| n.op.name());
        let span = TaskSpan {
            worker: w as u32,
            start: self.since_origin(end_ns.saturating_sub(busy_ns)),
            end: self.since_origin(end_ns),
            kind: kind.to_string(),
        };
        self.report.span(span);
    }

    /// A worker's memory, at most every 10 ms per worker.
    fn sample_memory(&mut self, w: usize, c: &WorkerCounters) {
        let Some(last) = self.last_sample.get_mut(w) else {
            return;
        };
        if c.at_ns < last.saturating_add(10_000_000) {
            return;
        }
        *last = c.at_ns;
        let t = self.since_origin(c.at_ns);
        self.report.sample(MemorySample {
            worker: w as u32,
            t,
            store_bytes: c.store_bytes,
            rss_bytes: c.rss,
        });
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
        self.progress.task_done();
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
                if self.stream {
                    let offset = g.block_offset(&idx);
                    self.emit(offset, c)?;
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

/// A block received by rank 0, decompressed if it travelled compressed.
fn received_chunk(
    skel: &Skel,
    payload: Option<Arc<Buffer>>,
    packing: Option<super::protocol::Packing>,
) -> Result<Chunk> {
    let data = super::worker::unpack(payload, packing)
        .map_err(Error::Internal)?
        .ok_or_else(|| Error::Internal("a block arrived without its bytes".into()))?;
    let meta = skel
        .chunk_meta()
        .ok_or_else(|| Error::Internal("a block arrived described as a non-array".into()))?;
    Chunk::from_parts(meta.clone(), data).map_err(Error::Internal)
}
