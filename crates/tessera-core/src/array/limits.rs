//! The most blocks one array of a computation may have, and the message when it has more.
//!
//! Why a limit: planning is closed-form (see [`super::axis_chunks`]) and costs nothing per
//! block, but running does: the scheduler keeps a few words per block of every stored
//! array, and a task per block costs far more than the words. `ones(10**12, chunks=1)` is a
//! fine lazy expression and a hopeless computation, so it is refused before any work with
//! the count, the limit and a chunking that fits, never by an allocation abort. The same
//! check guards the few planners that must list one axis' blocks one by one (unifying two
//! irregular chunkings, slicing), so they never list more than the scheduler would take.

use super::chunks::ChunkGrid;
use super::error::ArrayError;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Default of [`max_blocks`]: a million blocks per array, about what one scheduler drives
/// at a useful speed. Override with `--max-blocks` or `TESSERA_MAX_BLOCKS`.
pub const DEFAULT_MAX_BLOCKS: usize = 1_000_000;

/// Environment variable that sets [`max_blocks`] (the `--max-blocks` flag wins).
pub const MAX_BLOCKS_ENV: &str = "TESSERA_MAX_BLOCKS";

static MAX_BLOCKS: AtomicUsize = AtomicUsize::new(DEFAULT_MAX_BLOCKS);

/// The most blocks one array of a computation may have.
pub fn max_blocks() -> usize {
    MAX_BLOCKS.load(Ordering::Relaxed)
}

/// Sets [`max_blocks`] (at least 1). Plans are built on rank 0 only, so a process-wide
/// setting is enough.
pub fn set_max_blocks(n: usize) {
    MAX_BLOCKS.store(n.max(1), Ordering::Relaxed);
}

/// Refuses to list the blocks of one axis when there are more than [`max_blocks`]: `what`
/// names the operation for the message, which gives the count, the limit and the block
/// size along that axis that fits.
pub fn check_axis_blocks(n: usize, len: usize, what: &str) -> Result<(), ArrayError> {
    let limit = max_blocks();
    if n <= limit {
        return Ok(());
    }
    let fit = len.div_ceil(limit).max(1);
    Err(ArrayError::TooManyBlocks(format!(
        "{what}: an axis of length {len} in {n} blocks, more than the limit of {limit} blocks \
         per array ({}); chunks of {fit} along that axis give {} blocks",
        how_to_raise(),
        len.div_ceil(fit)
    )))
}

/// Refuses a grid with more than [`max_blocks`] blocks, naming `what` (the array), the
/// count, the limit and a coarser chunking that fits.
pub fn check_grid(grid: &ChunkGrid, itemsize: usize, what: &str) -> Result<(), ArrayError> {
    let limit = max_blocks();
    let count = grid.block_count();
    if count <= limit as u128 {
        return Ok(());
    }
    let fit = fitting_blocks(grid, limit);
    let fit_count = blocks_of(&grid.shape(), &fit);
    let fit_bytes = fit
        .iter()
        .try_fold(itemsize as u128, |acc, &b| acc.checked_mul(b as u128));
    let bytes = fit_bytes.map_or("more than 2^128".to_string(), |b| b.to_string());
    Err(ArrayError::TooManyBlocks(format!(
        "{what} of shape {:?} has {count} blocks, more than the limit of {limit} blocks per \
         array ({}); chunks={} gives {fit_count} blocks of up to {bytes} bytes",
        grid.shape(),
        how_to_raise(),
        tuple(&fit)
    )))
}

fn how_to_raise() -> String {
    format!("set with --max-blocks or {MAX_BLOCKS_ENV}")
}

/// Python tuple syntax, as a `chunks=` argument is written.
pub fn tuple(v: &[usize]) -> String {
    match v {
        [one] => format!("({one},)"),
        _ => format!(
            "({})",
            v.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

fn blocks_of(shape: &[usize], block: &[usize]) -> u128 {
    shape
        .iter()
        .zip(block)
        .map(|(&n, &b)| {
            if n == 0 {
                1
            } else {
                n.div_ceil(b.max(1)) as u128
            }
        })
        .fold(1u128, |acc, x| acc.saturating_mul(x))
}

/// Regular block sizes, each at least the grid's largest on that axis, with at most
/// `limit` blocks: every axis that has several blocks grows by the same factor, so the
/// blocks keep their proportions.
fn fitting_blocks(grid: &ChunkGrid, limit: usize) -> Vec<usize> {
    let shape = grid.shape();
    let mut block: Vec<usize> = grid
        .chunks()
        .iter()
        .zip(&shape)
        .map(|(c, &n)| c.max().clamp(1, n.max(1)))
        .collect();
    loop {
        let count = blocks_of(&shape, &block);
        if count <= limit as u128 {
            return block;
        }
        let growing: Vec<usize> = (0..shape.len())
            .filter(|&a| shape[a].div_ceil(block[a]) > 1)
            .collect();
        if growing.is_empty() {
            return block; // one block per axis: 1 <= limit, unreachable
        }
        let ratio = count as f64 / limit as f64;
        let factor = ratio.powf(1.0 / growing.len() as f64).ceil().max(2.0);
        for a in growing {
            let grown = (block[a] as f64 * factor).min(shape[a] as f64);
            block[a] = (grown as usize).clamp(block[a] + 1, shape[a]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::array::axis_chunks::AxisChunks;

    #[test]
    fn suggestion_fits_and_keeps_proportions() {
        let g = ChunkGrid::new(vec![AxisChunks::regular(1_000_000_000_000, 1)]);
        assert_eq!(fitting_blocks(&g, 1_000_000), vec![1_000_000]);
        let g = ChunkGrid::new(vec![AxisChunks::regular(10_000_000_000, 256); 3]);
        let b = fitting_blocks(&g, 1_000_000);
        assert!(blocks_of(&g.shape(), &b) <= 1_000_000);
        assert!(b[0] == b[1] && b[1] == b[2], "{b:?}");
    }

    #[test]
    fn message_names_count_limit_and_fit() {
        let g = ChunkGrid::new(vec![AxisChunks::regular(1_000_000_000_000, 1)]);
        let e = check_grid(&g, 8, "ones").unwrap_err().to_string();
        assert!(e.contains("1000000000000 blocks"), "{e}");
        assert!(e.contains("limit of 1000000"), "{e}");
        assert!(e.contains("chunks=(1000000,)"), "{e}");
        let e = check_axis_blocks(1_000_000_000_000, 1_000_000_000_000, "slicing")
            .unwrap_err()
            .to_string();
        assert!(e.contains("1000000000000 blocks"), "{e}");
        assert!(e.contains("limit of 1000000"), "{e}");
        assert!(e.contains("chunks of 1000000 along that axis"), "{e}");
        let small = ChunkGrid::new(vec![AxisChunks::regular(100, 1)]);
        assert!(check_grid(&small, 8, "ones").is_ok());
    }
}
