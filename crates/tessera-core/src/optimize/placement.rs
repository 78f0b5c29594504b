//! Placement: which worker runs a task.
//!
//! A fixed rule rather than a run-time choice, so that the cost model can replay it and
//! predict exactly the bytes the run will move. A task runs on the worker that holds the
//! most bytes of its stored inputs, give or take `1 / (2 × workers)` of the task's input
//! bytes: workers within that margin of the most count as tied. Ties, and tasks without
//! stored inputs (reads, generators), go to the block's home worker, or the first tied
//! worker after it. The margin matters for all-to-all exchanges: when every worker holds
//! a similar share of each output block's input (30 % on two workers, 20 % on two
//! others), a strict maximum would send every output block to the workers that happen to
//! hold a little more, and they would build the whole result alone. The margin costs at
//! most half a worker's share of extra transfer; where one worker holds much more (a
//! local input, a merge of blocks mostly on one worker) it still wins.
//! Homes deal blocks to workers in runs of up to 16 consecutive blocks: runs keep the
//! groups a reduction tree combines (16 states) on one worker, and dealing runs round
//! robin spreads every stage over all workers in block order, which is the order the
//! scheduler streams tasks in. Equal blocks of arrays with the same grid share a home, so
//! elementwise work between them is local.
//!
//! Only primary owners count, not copies a worker received for an earlier task: which
//! copies exist depends on timing, and the rule must not.

/// The home worker of block `block` of a node with `blocks` blocks: runs of consecutive
/// blocks, short enough that every worker gets several runs.
pub fn home(workers: usize, block: usize, blocks: usize) -> usize {
    let nw = workers.max(1);
    let run = (blocks / (4 * nw)).clamp(1, 16);
    1 + (block / run) % nw
}

/// Worker (`1..=workers`) for block `block` of a node with `blocks` blocks, given
/// `(owner, bytes)` of each stored input. Owners outside `1..=workers` (rank 0, the
/// caller) attract nothing.
pub fn place(workers: usize, block: usize, blocks: usize, inputs: &[(u32, u64)]) -> usize {
    let nw = workers.max(1);
    let home = home(nw, block, blocks);
    if inputs.is_empty() {
        return home;
    }
    let mut bytes = vec![0u64; nw + 1];
    for &(w, b) in inputs {
        if w >= 1 && (w as usize) <= nw {
            bytes[w as usize] += b.max(1);
        }
    }
    let best = bytes.iter().copied().max().unwrap_or(0);
    if best == 0 {
        return home;
    }
    let total: u64 = bytes.iter().sum();
    let near = best.saturating_sub(total / (2 * nw as u64)).max(1);
    (0..nw)
        .map(|k| 1 + (home - 1 + k) % nw)
        .find(|&w| bytes[w] >= near)
        .unwrap_or(home)
}

#[cfg(test)]
mod tests {
    use super::place;

    #[test]
    fn inputs_attract_and_ties_go_home() {
        assert_eq!(place(4, 5, 8, &[]), 2);
        assert_eq!(place(4, 5, 8, &[(3, 10), (1, 20)]), 1);
        assert_eq!(place(4, 5, 8, &[(3, 10), (1, 10)]), 3);
        // Similar shares count as equal: the home worker takes the task.
        assert_eq!(place(4, 1, 8, &[(1, 19), (2, 18), (3, 18), (4, 18)]), 2);
        assert_eq!(place(4, 2, 8, &[(1, 30), (2, 30), (3, 20), (4, 20)]), 3);
        // A clear majority still decides.
        assert_eq!(place(2, 1, 8, &[(1, 66), (2, 33)]), 1);
        assert_eq!(place(4, 0, 8, &[(0, 100)]), 1);
    }

    #[test]
    fn homes_come_in_runs_when_blocks_are_many() {
        let homes: Vec<usize> = (0..40).map(|b| super::home(2, b, 1000)).collect();
        assert!(homes[..16].iter().all(|&w| w == 1) && homes[16..32].iter().all(|&w| w == 2));
        let few: Vec<usize> = (0..4).map(|b| super::home(2, b, 4)).collect();
        assert_eq!(few, vec![1, 2, 1, 2]);
    }
}
