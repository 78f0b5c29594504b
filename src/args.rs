//! Command-line settings shared by the commands that run work, and their value parsers.

use crate::runtime::size::parse_size;
use crate::runtime::worker::parse_compression;
use crate::runtime::ClientOptions;
use anyhow::anyhow;
use std::path::PathBuf;

/// Worker memory, spill and wire settings shared by the commands that run work.
#[derive(clap::Args, Debug, Clone)]
pub struct RuntimeArgs {
    /// Memory limit of each worker, e.g. 512M or 4G: above 70 % of it a worker spills its
    /// least recently used chunks to --spill-dir (default: half the node's memory shared
    /// by the workers on it).
    #[arg(long, alias = "memory-per-worker", value_name = "SIZE", value_parser = parse_size)]
    pub memory_limit: Option<u64>,
    /// Where workers spill (default $TESSERA_SPILL_DIR, else $TMPDIR, else /tmp); use a
    /// node-local disk. Each worker's files are removed when it exits.
    #[arg(long, value_name = "DIR")]
    pub spill_dir: Option<PathBuf>,
    /// Compress chunks sent between workers: auto (only between nodes), on, off.
    #[arg(long, value_name = "MODE", value_parser = parse_compression)]
    pub compression: Option<crate::runtime::worker::Compression>,
    /// Most blocks one array of a computation may have (default 1000000, or
    /// $TESSERA_MAX_BLOCKS): a computation that needs more is refused before it starts,
    /// with a coarser chunking that fits.
    #[arg(long, value_name = "N")]
    pub max_blocks: Option<usize>,
    /// Under MPI: abort every rank, naming the silent one, when a worker process sends no
    /// heartbeat for this long (stopped, hung or unreachable); long tasks do not count
    /// (default $TESSERA_HEARTBEAT_TIMEOUT, else 300; 0 turns it off).
    #[arg(long, value_name = "SECONDS", value_parser = parse_heartbeat_timeout)]
    pub heartbeat_timeout: Option<f64>,
}

impl RuntimeArgs {
    /// Client options with these settings applied.
    pub fn options(&self) -> anyhow::Result<ClientOptions> {
        let mut o = ClientOptions::default();
        if let Some(m) = self.memory_limit {
            if m < (1 << 20) {
                return Err(anyhow!(
                    "--memory-limit {m} bytes is too small (at least 1M)"
                ));
            }
            o.memory_per_worker = m;
        }
        if let Some(d) = &self.spill_dir {
            if !d.is_dir() {
                return Err(anyhow!(
                    "--spill-dir {}: no such directory",
                    crate::quote::path(d)
                ));
            }
            o.spill_dir = d.clone();
        }
        if let Some(c) = self.compression {
            o.compression = c;
        }
        apply_max_blocks(self.max_blocks)?;
        o.heartbeat_timeout = match self.heartbeat_timeout {
            Some(secs) => crate::runtime::heartbeat::timeout_from_secs(secs),
            None => crate::runtime::heartbeat::default_timeout().map_err(|e| anyhow!(e))?,
        };
        Ok(o)
    }
}

/// Sets the block limit from `--max-blocks`, else from `$TESSERA_MAX_BLOCKS`, else leaves
/// the default ([`crate::array::limits::DEFAULT_MAX_BLOCKS`]).
pub fn apply_max_blocks(flag: Option<usize>) -> anyhow::Result<()> {
    use crate::array::limits::{set_max_blocks, MAX_BLOCKS_ENV};
    let n = match flag {
        Some(0) => return Err(anyhow!("--max-blocks must be at least 1")),
        Some(n) => n,
        None => match std::env::var(MAX_BLOCKS_ENV) {
            Ok(v) => match v.trim().parse::<usize>() {
                Ok(n) if n > 0 => n,
                _ => {
                    let shown: String = v.chars().take(40).collect();
                    return Err(anyhow!(
                        "{MAX_BLOCKS_ENV}='{shown}' is not a positive block count"
                    ));
                }
            },
            Err(_) => return Ok(()),
        },
    };
    set_max_blocks(n);
    Ok(())
}

/// Seconds, from 0 (off).
pub fn parse_heartbeat_timeout(s: &str) -> Result<f64, String> {
    crate::runtime::heartbeat::parse_timeout(s).map(|d| d.map_or(0.0, |d| d.as_secs_f64()))
}
