//! The worker loop: keep chunks and values in a store (spilling to disk above the memory
//! limit), run tasks whose inputs are present, send stored data where the scheduler says,
//! report completions in batches.

use super::failure::{run_task, Failure};
use super::protocol::{CallDone, Cmd, Msg, Packing, TaskDone, WireArg, WorkerCounters, WorkerInfo};
use super::report::{peak_rss_bytes, rss_now_and_peak, unix_ns};
use super::store::{Entry, Store, StoreConfig, StoreStats};
use crate::array::buffer::Buffer;
use crate::array::chunk::Chunk;
use crate::array::plan::{ChunkKey, Plan};
use crate::buffers::{to_buffer, to_payload};
use crate::comm::{CommError, Envelope, Rank, Transport};
use crate::compress::{self, Policy};
use crate::value::{Skel, Value};
use std::collections::{HashMap, HashSet, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Results at most this big travel back with their completion message, so the caller
/// needs no separate fetch.
const SMALL_RESULT: u64 = 4096;

/// When chunk payloads are compressed before they go to another rank.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, Default)]
pub enum Compression {
    /// Only between ranks on different hosts: on one node MPI moves bytes through shared
    /// memory faster than lz4 compresses them, so compression cannot pay there.
    #[default]
    Auto,
    /// Always try (payloads above the size threshold whose samples shrink well).
    On,
    /// Never.
    Off,
}

/// `auto`, `on` or `off`.
pub fn parse_compression(s: &str) -> Result<Compression, String> {
    match s {
        "auto" => Ok(Compression::Auto),
        "on" => Ok(Compression::On),
        "off" => Ok(Compression::Off),
        _ => Err(format!("'{s}' is not a compression mode (auto, on, off)")),
    }
}

/// What a worker is given at start.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Payload bytes the store holds in memory before spilling.
    pub memory_limit: u64,
    /// Parent directory of the spill directory.
    pub spill_dir: PathBuf,
    /// Compression on the wire.
    pub compression: Compression,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            memory_limit: u64::MAX,
            spill_dir: std::env::temp_dir(),
            compression: Compression::Auto,
        }
    }
}

enum Job {
    Block {
        comp: u64,
        node: usize,
        block: usize,
    },
    Call {
        id: u64,
        func: String,
        args: Vec<WireArg>,
    },
}

struct Task {
    job: Job,
    /// Stored inputs.
    deps: Vec<ChunkKey>,
    /// Inputs not here yet.
    missing: Vec<ChunkKey>,
}

/// Finished tasks `(node, block, nbytes)` not yet reported, the file bytes they read and
/// the time they ran.
#[derive(Default)]
struct Finished {
    items: Vec<TaskDone>,
    bytes_read: u64,
    busy_ns: u64,
}

/// State of one worker.
pub struct Worker<T: Transport> {
    t: T,
    compression: Compression,
    policy: Policy,
    plans: HashMap<u64, Arc<Plan>>,
    store: Store<Skel>,
    ready: VecDeque<Task>,
    waiting: Vec<Task>,
    done: HashMap<u64, Finished>,
    called: Vec<CallDone>,
    /// Store counters at the last report (spill deltas are reported).
    reported: StoreStats,
    peak_rss: u64,
    /// Resident memory at the last read.
    rss: u64,
    rss_read_at: Option<Instant>,
    /// Payload bytes sent, before and after compression.
    bytes_sent: std::cell::Cell<(u64, u64)>,
    /// Futures' values released before their copy arrived here.
    released: HashSet<ChunkKey>,
}

impl<T: Transport> Worker<T> {
    /// A worker on a transport endpoint.
    pub fn new(t: T, cfg: &WorkerConfig) -> Worker<T> {
        let rank = t.rank().0;
        Worker {
            t,
            compression: cfg.compression,
            policy: Policy::default(),
            plans: HashMap::new(),
            store: Store::new(StoreConfig {
                limit: cfg.memory_limit,
                dir: cfg.spill_dir.clone(),
                rank,
            }),
            ready: VecDeque::new(),
            waiting: Vec::new(),
            done: HashMap::new(),
            called: Vec::new(),
            reported: StoreStats::default(),
            peak_rss: 0,
            rss: 0,
            rss_read_at: None,
            bytes_sent: std::cell::Cell::new((0, 0)),
            released: HashSet::new(),
        }
    }

    /// Runs until the scheduler says stop (or the transport closes). Returns the transport
    /// so its owner can finalise it.
    pub fn run(mut self) -> Result<T, CommError> {
        // A failure of the loop itself (not of a task, which is reported per task) is told
        // to rank 0 so the caller gets an error instead of waiting forever.
        let outcome = catch_unwind(AssertUnwindSafe(|| self.serve()));
        let message = match outcome {
            Ok(Ok(())) => return Ok(self.t),
            Ok(Err(e)) => e.to_string(),
            Err(panic) => super::failure::panic_message(panic),
        };
        let host = self.t.host();
        let _ = self.send(
            Rank::SCHEDULER,
            &Msg::WorkerDied {
                message: message.clone(),
                host,
            },
        );
        Err(CommError::Closed(format!(
            "worker {} stopped: {message}",
            self.t.rank()
        )))
    }

    fn serve(&mut self) -> Result<(), CommError> {
        loop {
            let env = if self.ready.is_empty() {
                Some(self.t.recv()?)
            } else {
                self.t.try_recv()?
            };
            let mut next = env;
            while let Some(e) = next {
                if !self.handle(e)? {
                    self.flush()?;
                    return Ok(());
                }
                next = self.t.try_recv()?;
            }
            // Run a few tasks, then look at the inbox again.
            for _ in 0..16 {
                match self.ready.pop_front() {
                    Some(task) => self.run_task(task)?,
                    None => break,
                }
            }
            self.flush()?;
        }
    }

    fn send(&self, to: Rank, msg: &Msg) -> Result<(), CommError> {
        self.t.send(to, msg.encode(), None)
    }

    /// Counters since the last report.
    fn counters(&mut self, busy_ns: u64) -> WorkerCounters {
        let now = self.store.stats();
        let c = WorkerCounters {
            busy_ns,
            spilled: now.bytes_spilled - self.reported.bytes_spilled,
            unspilled: now.bytes_unspilled - self.reported.bytes_unspilled,
            peak_rss: self.peak_rss(),
            peak_store: now.peak_bytes_in_memory,
            store_bytes: now.bytes_in_memory,
            rss: self.rss,
            at_ns: unix_ns(),
        };
        self.reported = now;
        c
    }

    /// The process's peak resident memory, read at most every 50 ms (reading /proc costs
    /// more than a tiny task).
    fn peak_rss(&mut self) -> u64 {
        if self
            .rss_read_at
            .is_none_or(|t| t.elapsed() > Duration::from_millis(50))
        {
            (self.rss, self.peak_rss) = rss_now_and_peak();
            self.rss_read_at = Some(Instant::now());
        }
        self.peak_rss
    }

    fn flush(&mut self) -> Result<(), CommError> {
        for (comp, f) in std::mem::take(&mut self.done) {
            if !f.items.is_empty() {
                let counters = self.counters(f.busy_ns);
                self.send(
                    Rank::SCHEDULER,
                    &Msg::Done {
                        comp,
                        items: f.items,
                        bytes_read: f.bytes_read,
                        counters,
                    },
                )?;
            }
        }
        if !self.called.is_empty() {
            let items = std::mem::take(&mut self.called);
            let busy = items.iter().map(|c| c.busy_ns).sum();
            let counters = self.counters(busy);
            self.send(Rank::SCHEDULER, &Msg::Called { items, counters })?;
        }
        Ok(())
    }

    fn handle(&mut self, env: Envelope) -> Result<bool, CommError> {
        let msg = match Msg::decode(&env.header) {
            Ok(m) => m,
            Err(e) => return Err(CommError::Closed(e)),
        };
        match msg {
            Msg::Shutdown => return Ok(false),
            Msg::Plan(p) => {
                self.plans.insert(p.comp, Arc::new(*p));
            }
            Msg::PlanCmds(p, cmds) => {
                self.plans.insert(p.comp, Arc::new(*p));
                for c in cmds {
                    self.command(c)?;
                }
            }
            Msg::Chunk { key, skel, packing } => {
                if self.released.remove(&key) {
                    return Ok(true);
                }
                let data =
                    unpack(env.payload.map(to_buffer), packing).map_err(CommError::Closed)?;
                self.store
                    .insert(key, Entry { head: skel, data })
                    .map_err(CommError::Closed)?;
                self.wake(key);
            }
            Msg::Cmds(cmds) => {
                for c in cmds {
                    self.command(c)?;
                }
            }
            _ => {}
        }
        Ok(true)
    }

    fn queue(&mut self, job: Job, deps: Vec<ChunkKey>) {
        let missing: Vec<ChunkKey> = deps
            .iter()
            .filter(|k| !self.store.contains(k))
            .copied()
            .collect();
        let task = Task { job, deps, missing };
        if task.missing.is_empty() {
            self.ready.push_back(task);
        } else {
            self.waiting.push(task);
        }
    }

    fn command(&mut self, c: Cmd) -> Result<(), CommError> {
        match c {
            Cmd::Run { comp, node, block } => {
                let Some(plan) = self.plans.get(&comp).cloned() else {
                    return Ok(());
                };
                let (node, block) = (node as usize, block as usize);
                let deps = plan
                    .task_deps(node, block)
                    .into_iter()
                    .map(|(n, b)| plan.key(n, b))
                    .collect();
                self.queue(Job::Block { comp, node, block }, deps);
            }
            Cmd::Call { id, func, args } => {
                let deps = args
                    .iter()
                    .filter_map(|a| match a {
                        WireArg::Stored(k) => Some(*k),
                        WireArg::Inline(_) => None,
                    })
                    .collect();
                self.queue(Job::Call { id, func, args }, deps);
            }
            Cmd::Cancel { id } => {
                let keep = |t: &Task| !matches!(t.job, Job::Call { id: i, .. } if i == id);
                self.ready.retain(keep);
                self.waiting.retain(keep);
            }
            Cmd::Steal { n } => {
                let mut ids = Vec::new();
                // Waiting calls first (their inputs are not here anyway), then the last
                // queued ready ones.
                let mut i = self.waiting.len();
                while i > 0 && ids.len() < n as usize {
                    i -= 1;
                    if let Job::Call { id, .. } = self.waiting[i].job {
                        ids.push(id);
                        self.waiting.swap_remove(i);
                    }
                }
                let mut i = self.ready.len();
                while i > 0 && ids.len() < n as usize {
                    i -= 1;
                    if let Job::Call { id, .. } = self.ready[i].job {
                        ids.push(id);
                        self.ready.remove(i);
                    }
                }
                self.send(Rank::SCHEDULER, &Msg::Stolen { ids })?;
            }
            Cmd::Inspect => {
                let (bytes_sent, wire_bytes_sent) = self.bytes_sent.get();
                let info = WorkerInfo {
                    rank: self.t.rank().0,
                    store: self.store.stats(),
                    peak_rss: peak_rss_bytes(),
                    bytes_sent,
                    wire_bytes_sent,
                };
                self.send(Rank::SCHEDULER, &Msg::Inspected(info))?;
            }
            Cmd::SendTo { key, dest } => {
                let entry = self.store.get(&key).map_err(CommError::Closed)?;
                match entry {
                    Some(e) => self.send_entry(key, e, dest)?,
                    // Rank 0 waits for what it asked for: tell it there is nothing.
                    None if dest == Rank::SCHEDULER => {
                        self.send(Rank::SCHEDULER, &Msg::Missing { key })?
                    }
                    None => {}
                }
            }
            Cmd::Release(key) => {
                if key.comp == 0 && !self.store.contains(&key) {
                    // A future's copy still on its way here: drop it when it arrives
                    // (future ids are never reused).
                    self.released.insert(key);
                }
                self.store.remove(&key);
            }
            Cmd::EndComp { comp, keep } => {
                self.plans.remove(&comp);
                self.store
                    .retain(|k| k.comp != comp || keep.contains(&k.node));
                let other = |t: &Task| !matches!(t.job, Job::Block { comp: c, .. } if c == comp);
                self.ready.retain(other);
                self.waiting.retain(other);
                self.done.remove(&comp);
            }
            Cmd::DropNode { comp, node } => {
                self.store.retain(|k| !(k.comp == comp && k.node == node));
            }
        }
        Ok(())
    }

    /// Sends a stored entry, compressed when the policy says it pays.
    fn send_entry(&self, key: ChunkKey, e: Entry<Skel>, dest: Rank) -> Result<(), CommError> {
        let (data, packing) = self.maybe_compress(e.data, dest);
        let hdr = Msg::Chunk {
            key,
            skel: e.head,
            packing,
        }
        .encode();
        self.t.send(dest, hdr, data.map(to_payload))
    }

    fn maybe_compress(
        &self,
        data: Option<Arc<Buffer>>,
        dest: Rank,
    ) -> (Option<Arc<Buffer>>, Option<Packing>) {
        let raw = data.as_ref().map_or(0, |p| p.len() as u64);
        let (data, packing) = self.compress_if_on(data, dest);
        let wire = data.as_ref().map_or(0, |p| p.len() as u64);
        let (r, w) = self.bytes_sent.get();
        self.bytes_sent.set((r + raw, w + wire));
        (data, packing)
    }

    fn compress_if_on(
        &self,
        data: Option<Arc<Buffer>>,
        dest: Rank,
    ) -> (Option<Arc<Buffer>>, Option<Packing>) {
        let on = match self.compression {
            Compression::Off => false,
            Compression::On => true,
            Compression::Auto => !self.t.same_host(dest),
        };
        match data {
            Some(p) if on && p.len() >= self.policy.min_bytes => {
                match compress::compress(p.as_bytes(), &self.policy) {
                    Some(c) => (
                        Some(Arc::new(c.data)),
                        Some(Packing {
                            codec: c.codec,
                            raw_len: c.raw_len as u64,
                        }),
                    ),
                    None => (Some(p), None),
                }
            }
            other => (other, None),
        }
    }

    fn wake(&mut self, key: ChunkKey) {
        let mut i = 0;
        while i < self.waiting.len() {
            let t = &mut self.waiting[i];
            t.missing.retain(|k| *k != key);
            if t.missing.is_empty() {
                let t = self.waiting.swap_remove(i);
                self.ready.push_back(t);
            } else {
                i += 1;
            }
        }
    }

    /// The task's stored inputs, read back from disk where spilled.
    fn inputs(&mut self, deps: &[ChunkKey]) -> Result<HashMap<ChunkKey, Entry<Skel>>, String> {
        let mut m = HashMap::with_capacity(deps.len());
        for k in deps {
            if let Some(e) = self.store.get(k)? {
                m.insert(*k, e);
            }
        }
        Ok(m)
    }

    fn run_task(&mut self, task: Task) -> Result<(), CommError> {
        let started = Instant::now();
        match task.job {
            Job::Block { comp, node, block } => {
                self.run_block(comp, node, block, &task.deps, started)
            }
            Job::Call { id, func, args } => self.run_call(id, &func, args, &task.deps, started),
        }
    }

    fn run_block(
        &mut self,
        comp: u64,
        node: usize,
        block: usize,
        deps: &[ChunkKey],
        started: Instant,
    ) -> Result<(), CommError> {
        let Some(plan) = self.plans.get(&comp).cloned() else {
            return Ok(());
        };
        let outcome = self.inputs(deps).map_err(Failure::msg).and_then(|inputs| {
            let fetch = |k: ChunkKey| {
                inputs.get(&k).and_then(|e| {
                    let meta = e.head.chunk_meta()?.clone();
                    Chunk::from_parts(meta, e.data.clone()?).ok()
                })
            };
            run_task(|| plan.eval(node, block, &fetch, &crate::io::read::read_block))
        });
        let busy_ns = started.elapsed().as_nanos() as u64;
        match outcome {
            Ok(chunk) => {
                let key = plan.key(node, block);
                let nbytes = chunk.nbytes() as u64;
                let bytes_read = crate::io::read::take_bytes_read();
                if plan.gather && node == plan.root {
                    // The result goes straight to the caller, and says the task is done;
                    // nothing here needs it again.
                    let counters = self.counters(busy_ns);
                    let (data, packing) =
                        self.maybe_compress(Some(chunk.data.clone()), Rank::SCHEDULER);
                    let hdr = Msg::Result {
                        key,
                        skel: Skel::of_chunk(chunk.meta()),
                        packing,
                        bytes_read,
                        counters,
                    }
                    .encode();
                    self.t.send(Rank::SCHEDULER, hdr, data.map(to_payload))?;
                } else {
                    let entry = Entry {
                        head: Skel::of_chunk(chunk.meta()),
                        data: Some(chunk.data),
                    };
                    self.store.insert(key, entry).map_err(CommError::Closed)?;
                    let f = self.done.entry(comp).or_default();
                    f.items.push(TaskDone {
                        node: node as u32,
                        block: block as u64,
                        nbytes,
                        end_ns: unix_ns(),
                        busy_ns,
                    });
                    f.bytes_read += bytes_read;
                    f.busy_ns += busy_ns;
                }
                self.wake(key);
            }
            Err(failure) => {
                self.flush()?;
                let host = self.t.host();
                self.send(
                    Rank::SCHEDULER,
                    &Msg::Failed {
                        comp,
                        node: node as u32,
                        block: block as u64,
                        failure,
                        host,
                    },
                )?;
            }
        }
        Ok(())
    }

    fn run_call(
        &mut self,
        id: u64,
        func: &str,
        args: Vec<WireArg>,
        deps: &[ChunkKey],
        started: Instant,
    ) -> Result<(), CommError> {
        let outcome = self
            .inputs(deps)
            .and_then(|inputs| {
                args.iter()
                    .map(|a| match a {
                        WireArg::Inline(p) => p.unpack(),
                        WireArg::Stored(k) => {
                            let e = inputs
                                .get(k)
                                .ok_or_else(|| format!("input {k:?} is missing"))?;
                            Value::from_wire(&e.head, e.data.as_ref())
                        }
                    })
                    .collect::<Result<Vec<Value>, String>>()
            })
            .map_err(Failure::msg)
            .and_then(|values| crate::registry::call(func, &values));
        let busy_ns = started.elapsed().as_nanos() as u64;
        match outcome {
            Ok(v) => {
                let nbytes = v.nbytes();
                let small = (nbytes <= SMALL_RESULT).then(|| v.pack());
                let (head, data) = v.to_wire();
                let key = ChunkKey::future(id);
                self.store
                    .insert(key, Entry { head, data })
                    .map_err(CommError::Closed)?;
                self.called.push(CallDone {
                    id,
                    nbytes,
                    busy_ns,
                    small,
                });
                self.wake(key);
            }
            Err(failure) => {
                self.flush()?;
                let host = self.t.host();
                self.send(Rank::SCHEDULER, &Msg::CallFailed { id, failure, host })?;
            }
        }
        Ok(())
    }
}

/// The payload as stored: decompressed if it travelled compressed.
pub fn unpack(
    payload: Option<Arc<Buffer>>,
    packing: Option<Packing>,
) -> Result<Option<Arc<Buffer>>, String> {
    match (payload, packing) {
        (Some(p), Some(k)) => Ok(Some(Arc::new(compress::decompress(
            k.codec,
            p.as_bytes(),
            k.raw_len as usize,
        )?))),
        (p, _) => Ok(p),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comm::local::LocalTransport;

    #[test]
    fn a_broken_worker_loop_tells_the_scheduler() {
        let mut g = LocalTransport::group(2);
        let w = g.pop().expect("endpoint");
        let s = g.pop().expect("endpoint");
        let h = std::thread::spawn(move || Worker::new(w, &WorkerConfig::default()).run().is_err());
        s.send(Rank(1), b"not a message".to_vec(), None)
            .expect("send");
        let env = s.recv().expect("recv");
        assert!(matches!(
            Msg::decode(&env.header),
            Ok(Msg::WorkerDied { .. })
        ));
        assert!(h.join().expect("join"));
    }
}
