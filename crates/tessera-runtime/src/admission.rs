//! What a plan may ask of the cluster, checked before anything is allocated per block.
//!
//! Why: a lazy expression costs nothing to build, whatever its size, but running it costs
//! a few words of scheduler state per block, a task per block, a block's bytes on a worker
//! and the whole result's bytes on the caller when it is gathered. Each of those could
//! otherwise end in an allocation abort half-way through a run (`ones(10**12, chunks=1)`
//! needed 8 TB for the scheduler's bookkeeping alone). Like Slurm refusing a job that
//! asks more than a partition has, Tessera refuses such a plan at once, naming the array,
//! the amount, the limit and what would fit.

use crate::array::plan::{check_blocks, describe, Plan};
use crate::error::{Error, Result};

/// Refuses a plan whose largest block, or whose gathered result (`gather_whole`: the
/// caller assembles it), is larger than `memory` bytes (the node's physical memory):
/// neither could be allocated.
pub fn check_memory(plan: &Plan, gather_whole: bool, memory: u64) -> Result<()> {
    for n in &plan.nodes {
        let block = n
            .grid
            .chunks()
            .iter()
            .fold(n.dtype.size() as u128, |acc, c| {
                acc.saturating_mul(c.max() as u128)
            });
        if block > memory as u128 {
            return Err(Error::Limit(format!(
                "a block of the {} of shape {:?} would take {block} bytes, more than this \
                 node's memory ({memory} bytes): use smaller chunks (chunks='auto' makes \
                 blocks of about {} bytes)",
                describe(&n.op),
                n.grid.shape(),
                crate::array::chunks::auto_chunk_bytes()
            )));
        }
    }
    if gather_whole {
        let root = &plan.nodes[plan.root];
        let bytes = root
            .grid
            .shape()
            .iter()
            .fold(root.dtype.size() as u128, |acc, &d| {
                acc.saturating_mul(d as u128)
            });
        if bytes > memory as u128 {
            return Err(Error::Limit(format!(
                "the result of shape {:?} ({}) would take {bytes} bytes, more than this \
                 node's memory ({memory} bytes) to gather: reduce it, or write it to a file \
                 with --to (written block by block)",
                root.grid.shape(),
                root.dtype
            )));
        }
    }
    Ok(())
}

/// Physical memory of this node in bytes (`MemTotal`), if it can be read.
pub fn node_memory() -> Option<u64> {
    let m = std::fs::read_to_string("/proc/meminfo").ok()?;
    let kib = m
        .lines()
        .find(|l| l.starts_with("MemTotal:"))?
        .split_whitespace()
        .nth(1)?
        .parse::<u64>()
        .ok()?;
    Some(kib.saturating_mul(1024))
}

/// Both checks, as the client runs them before a computation starts.
pub fn admit(plan: &Plan, gather_whole: bool) -> Result<()> {
    check_blocks(plan)?;
    if let Some(m) = node_memory() {
        check_memory(plan, gather_whole, m)?;
    }
    Ok(())
}
