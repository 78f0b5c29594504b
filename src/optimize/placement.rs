//! Placement: which worker runs a task.
//!
//! A fixed rule rather than a run-time choice, so that the cost model can replay it and
//! predict exactly the bytes the run will move. A task runs on the worker that holds the
//! most bytes of its stored inputs (its "owner"); ties, and tasks without stored inputs
//! (reads, generators), go to the block's home worker, `1 + block mod workers`, or the
//! first tied worker after it. Cyclic homes spread every stage over all workers in block
//! order, which is also the order the scheduler streams tasks in, and put equal blocks of
//! arrays with the same grid on the same worker, so elementwise work between them is
//! local.
//!
//! Only primary owners count, not copies a worker received for an earlier task: which
//! copies exist depends on timing, and the rule must not.

/// Worker (`1..=workers`) for block `block`, given `(owner, bytes)` of each stored input.
/// Owners outside `1..=workers` (rank 0, the caller) attract nothing.
pub fn place(workers: usize, block: usize, inputs: &[(u32, u64)]) -> usize {
    let nw = workers.max(1);
    let home = 1 + block % nw;
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
    (0..nw)
        .map(|k| 1 + (home - 1 + k) % nw)
        .find(|&w| bytes[w] == best)
        .unwrap_or(home)
}

#[cfg(test)]
mod tests {
    use super::place;

    #[test]
    fn inputs_attract_and_ties_go_home() {
        assert_eq!(place(4, 5, &[]), 2);
        assert_eq!(place(4, 5, &[(3, 10), (1, 20)]), 1);
        assert_eq!(place(4, 5, &[(3, 10), (1, 10)]), 3);
        assert_eq!(place(4, 0, &[(0, 100)]), 1);
    }
}
