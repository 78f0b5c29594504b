//! The run report: what a computation did, measured (not predicted).

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
}

/// Counters of one computation.
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
    /// Per worker.
    pub workers: Vec<WorkerStats>,
}
