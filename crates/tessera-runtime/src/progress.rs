//! Live counters of the work in progress, for progress bars and batch-job log lines.
//!
//! The scheduler bumps them as tasks finish; a display thread reads them whenever it
//! likes without taking any lock of the scheduler's (relaxed atomics: a display may be a
//! message behind, never blocked).

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters since the client started.
#[derive(Debug, Default)]
pub struct Progress {
    tasks_planned: AtomicU64,
    tasks_done: AtomicU64,
    bytes_read: AtomicU64,
    bytes_moved: AtomicU64,
    bytes_spilled: AtomicU64,
    computations: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ProgressSnapshot {
    /// Array tasks of the computations started so far.
    pub tasks_planned: u64,
    /// Array tasks finished.
    pub tasks_done: u64,
    /// Bytes read from files.
    pub bytes_read: u64,
    /// Chunk bytes moved between workers.
    pub bytes_moved: u64,
    /// Bytes spilled to disk.
    pub bytes_spilled: u64,
    /// Computations started.
    pub computations: u64,
}

impl Progress {
    /// The counters now.
    pub fn snapshot(&self) -> ProgressSnapshot {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ProgressSnapshot {
            tasks_planned: get(&self.tasks_planned),
            tasks_done: get(&self.tasks_done),
            bytes_read: get(&self.bytes_read),
            bytes_moved: get(&self.bytes_moved),
            bytes_spilled: get(&self.bytes_spilled),
            computations: get(&self.computations),
        }
    }

    pub(crate) fn started(&self, tasks: u64) {
        self.computations.fetch_add(1, Ordering::Relaxed);
        self.tasks_planned.fetch_add(tasks, Ordering::Relaxed);
    }

    pub(crate) fn task_done(&self) {
        self.tasks_done.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn read(&self, bytes: u64) {
        self.bytes_read.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn moved(&self, bytes: u64) {
        self.bytes_moved.fetch_add(bytes, Ordering::Relaxed);
    }

    pub(crate) fn spilled(&self, bytes: u64) {
        self.bytes_spilled.fetch_add(bytes, Ordering::Relaxed);
    }
}
