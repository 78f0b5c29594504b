//! The run report: what a computation did, measured (not predicted). The same struct
//! holds the counters of one array computation ([`crate::Client::last_report`]) and the
//! running totals of everything since the client started, futures included
//! ([`crate::Client::cluster_report`]).

use serde::{Deserialize, Serialize};

/// Per-worker counters.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct WorkerStats {
    /// Worker rank.
    pub rank: u32,
    /// Tasks it ran.
    pub tasks: u64,
    /// Chunk payload bytes it sent to other workers.
    pub bytes_sent: u64,
    /// Chunk payload bytes it received from other workers.
    pub bytes_received: u64,
    /// Bytes it read from files (stored size of the selected elements).
    pub bytes_read: u64,
    /// Most chunk bytes it held at once for this computation (its outputs and the copies
    /// it received), as the scheduler accounts them.
    pub peak_bytes: u64,
    /// Seconds it spent running tasks.
    pub busy_seconds: f64,
    /// Bytes it wrote to spill files.
    pub bytes_spilled: u64,
    /// Bytes it read back from spill files.
    pub bytes_unspilled: u64,
    /// Most bytes its store held in memory (since the worker started).
    pub peak_store_bytes: u64,
    /// Peak resident memory of its process (VmHWM; in-process workers share one process).
    pub peak_rss_bytes: u64,
    /// Futures tasks it took from another worker's queue (work stealing).
    pub tasks_stolen: u64,
}

impl WorkerStats {
    /// Adds what a worker reported with its completions.
    pub fn account(&mut self, c: &super::protocol::WorkerCounters) {
        self.busy_seconds += c.busy_ns as f64 * 1e-9;
        self.bytes_spilled += c.spilled;
        self.bytes_unspilled += c.unspilled;
        self.peak_rss_bytes = self.peak_rss_bytes.max(c.peak_rss);
        self.peak_store_bytes = self.peak_store_bytes.max(c.peak_store);
    }
}

/// Most task spans a report keeps (a 100,000-task run fits); later ones are counted in
/// `tasks` but not drawn, and `timeline_truncated` says so.
pub const MAX_SPANS: usize = 200_000;
/// Most memory samples a report keeps.
pub const MAX_SAMPLES: usize = 50_000;

/// One task run by a worker, in seconds since the client started (rank 0's clock; workers
/// on other nodes are placed by their own wall clock).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TaskSpan {
    /// Worker rank.
    pub worker: u32,
    /// When it started.
    pub start: f64,
    /// When it ended.
    pub end: f64,
    /// What it did: the plan operation (`read`, `fused`, `rechunk`, ...).
    pub kind: String,
}

/// A worker's memory at one moment, in seconds since the client started.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MemorySample {
    /// Worker rank.
    pub worker: u32,
    /// When.
    pub t: f64,
    /// Bytes its store held in memory.
    pub store_bytes: u64,
    /// Resident memory of its process.
    pub rss_bytes: u64,
}

/// Counters of one computation, or of a whole session.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunReport {
    /// `"in-process"` or `"mpi"`.
    pub transport: String,
    /// Wall time of the computation, seconds.
    pub wall_seconds: f64,
    /// Tasks run.
    pub tasks: u64,
    /// Chunk payload bytes sent from one worker to another.
    pub bytes_moved: u64,
    /// Bytes of caller-held data sent from rank 0 to workers.
    pub bytes_scattered: u64,
    /// Bytes of the result gathered to rank 0.
    pub bytes_gathered: u64,
    /// Bytes read from files by all workers.
    pub bytes_read: u64,
    /// Bytes all workers wrote to spill files (each stored chunk at most once).
    pub bytes_spilled: u64,
    /// Bytes all workers read back from spill files (a chunk read by several tasks is
    /// read back each time it is needed and not in memory).
    #[serde(default)]
    pub bytes_unspilled: u64,
    /// Per worker.
    pub workers: Vec<WorkerStats>,
    /// Every task, for the timeline plot (`tessera report --plot`).
    #[serde(default)]
    pub timeline: Vec<TaskSpan>,
    /// Each worker's memory over time, sampled as its completions arrive.
    #[serde(default)]
    pub memory: Vec<MemorySample>,
    /// More than [`MAX_SPANS`] tasks ran: the timeline holds the first ones.
    #[serde(default)]
    pub timeline_truncated: bool,
}

/// Resident memory of this process now (`VmRSS`) and its peak so far (`VmHWM`), bytes;
/// 0 where unknown.
pub fn rss_now_and_peak() -> (u64, u64) {
    let Ok(status) = std::fs::read_to_string("/proc/self/status") else {
        return (0, 0);
    };
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|k| k.parse::<u64>().ok())
            .map_or(0, |kib| kib * 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Nanoseconds since the Unix epoch (0 if the clock is before it).
pub fn unix_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Peak resident memory of this process so far (`VmHWM`), bytes; 0 where unknown.
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|k| k.parse::<u64>().ok())
        })
        .map_or(0, |kib| kib * 1024)
}

impl RunReport {
    /// An empty report for `workers` workers (ranks 1..=workers).
    pub fn for_workers(workers: usize) -> RunReport {
        RunReport {
            workers: (1..=workers)
                .map(|r| WorkerStats {
                    rank: r as u32,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    /// The stats of worker rank `w` (1-based), if there is one.
    pub fn worker(&mut self, w: usize) -> Option<&mut WorkerStats> {
        self.workers.get_mut(w.wrapping_sub(1))
    }

    /// Records a task span (dropped beyond [`MAX_SPANS`]).
    pub fn span(&mut self, span: TaskSpan) {
        if self.timeline.len() < MAX_SPANS {
            self.timeline.push(span);
        } else {
            self.timeline_truncated = true;
        }
    }

    /// Records a memory sample (dropped beyond [`MAX_SAMPLES`]).
    pub fn sample(&mut self, s: MemorySample) {
        if self.memory.len() < MAX_SAMPLES {
            self.memory.push(s);
        }
    }

    /// Adds another report's counters (peaks take the larger value).
    pub fn add(&mut self, r: &RunReport) {
        self.tasks += r.tasks;
        self.bytes_moved += r.bytes_moved;
        self.bytes_scattered += r.bytes_scattered;
        self.bytes_gathered += r.bytes_gathered;
        self.bytes_read += r.bytes_read;
        self.bytes_spilled += r.bytes_spilled;
        self.bytes_unspilled += r.bytes_unspilled;
        for s in &r.timeline {
            self.span(s.clone());
        }
        self.timeline_truncated |= r.timeline_truncated;
        for m in &r.memory {
            self.sample(m.clone());
        }
        for (a, b) in self.workers.iter_mut().zip(&r.workers) {
            a.tasks += b.tasks;
            a.bytes_sent += b.bytes_sent;
            a.bytes_received += b.bytes_received;
            a.bytes_read += b.bytes_read;
            a.busy_seconds += b.busy_seconds;
            a.bytes_spilled += b.bytes_spilled;
            a.bytes_unspilled += b.bytes_unspilled;
            a.tasks_stolen += b.tasks_stolen;
            a.peak_bytes = a.peak_bytes.max(b.peak_bytes);
            a.peak_rss_bytes = a.peak_rss_bytes.max(b.peak_rss_bytes);
            a.peak_store_bytes = a.peak_store_bytes.max(b.peak_store_bytes);
        }
    }

    /// Adds a worker's reported counters (and its spill to the totals).
    pub fn account(&mut self, w: usize, c: &super::protocol::WorkerCounters) {
        self.bytes_spilled += c.spilled;
        self.bytes_unspilled += c.unspilled;
        if let Some(ws) = self.worker(w) {
            ws.account(c);
        }
    }
}
