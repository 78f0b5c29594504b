//! Random expressions for checking the optimizer: every pass must leave results unchanged
//! and the cost model must predict what the run report measures.
//!
//! Lives with the binary (not only in `tests/`) so the same check runs in-process from the
//! test suite and on real MPI ranks through `tessera self-test optimizer`.

use crate::array::chunk::Chunk;
use crate::array::graph::DArray;
use crate::expr::eval::{evaluate, into_array, Bindings};
use crate::runtime::Client;

/// A small deterministic generator (xorshift64*), so a failing case is reproducible from
/// its seed.
pub struct Rng(u64);

impl Rng {
    /// Seeded generator.
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    /// Next raw value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next_u64() % ((hi - lo + 1) as u64)) as i64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }
}

use crate::array::limits::tuple;

/// Random explicit chunks for a shape (`((2, 3), (4,))`).
fn chunks(r: &mut Rng, shape: &[usize]) -> String {
    let axes: Vec<String> = shape
        .iter()
        .map(|&n| {
            let mut left = n.max(1);
            let mut sizes = Vec::new();
            let target = r.range(1, (n as i64).max(1)) as usize;
            while left > 0 {
                let c = r.range(1, target as i64).min(left as i64) as usize;
                sizes.push(c);
                left -= c;
            }
            if n == 0 {
                sizes = vec![0];
            }
            tuple(&sizes)
        })
        .collect();
    format!(
        "({})",
        axes.join(", ") + if axes.len() == 1 { "," } else { "" }
    )
}

/// One random expression in the language of `tessera eval`, from its seed.
pub fn expression(seed: u64) -> String {
    let mut r = Rng::new(seed);
    let nd = r.range(1, 3) as usize;
    let mut shape: Vec<usize> = (0..nd).map(|_| r.range(1, 9) as usize).collect();
    let size: usize = shape.iter().product();
    let mut e = match r.range(0, 2) {
        0 => format!(
            "random({}, chunks={}, seed={})",
            tuple(&shape),
            chunks(&mut r, &shape),
            r.range(0, 99)
        ),
        1 => format!(
            "arange({size}, chunks={}).reshape({}).rechunk({})",
            r.range(1, size as i64),
            tuple(&shape),
            chunks(&mut r, &shape)
        ),
        _ => format!(
            "(random({}, chunks={}, seed=7) * 10).astype(\"int64\")",
            tuple(&shape),
            chunks(&mut r, &shape)
        ),
    };
    for _ in 0..r.range(1, 5) {
        let nd = shape.len();
        match r.range(0, 7) {
            0 => e = format!("({e} + 1)"),
            1 => {
                let other = format!(
                    "random({}, chunks={}, seed={})",
                    tuple(&shape),
                    chunks(&mut r, &shape),
                    r.range(0, 99)
                );
                e = format!("({e} * {other})");
            }
            2 if nd > 0 => {
                // Broadcast a trailing-axes array.
                let k = r.range(1, nd as i64) as usize;
                let tail = &shape[nd - k..];
                e = format!(
                    "({e} - random({}, chunks={}, seed=3))",
                    tuple(tail),
                    chunks(&mut r, tail)
                );
            }
            3 if nd > 0 => {
                let mut items = Vec::new();
                let mut out = Vec::new();
                for &n in &shape {
                    let n = n as i64;
                    match r.range(0, 5) {
                        0 if n > 0 => items.push(r.range(-n, n - 1).to_string()),
                        1 => {
                            items.push("None".into());
                            out.push(1);
                            let step = [1, 2, -1, -2][r.range(0, 3) as usize];
                            let (a, b) = (r.range(-n, n), r.range(-n, n));
                            items.push(format!("{a}:{b}:{step}"));
                            out.push(slice_len(n, a, b, step));
                        }
                        _ => {
                            let step = [1, 1, 2, -1, 3, -2][r.range(0, 5) as usize];
                            let (a, b) = (r.range(-n, n), r.range(-n, n));
                            items.push(format!("{a}:{b}:{step}"));
                            out.push(slice_len(n, a, b, step));
                        }
                    }
                }
                e = format!("{e}[{}]", items.join(", "));
                shape = out;
            }
            4 if nd > 1 => {
                let mut perm: Vec<usize> = (0..nd).collect();
                for i in (1..nd).rev() {
                    perm.swap(i, r.range(0, i as i64) as usize);
                }
                e = format!("{e}.transpose({})", tuple(&perm));
                shape = perm.iter().map(|&p| shape[p]).collect();
            }
            5 if nd > 0 => {
                let a = r.range(0, nd as i64 - 1) as usize;
                let f = ["sum", "mean", "max", "min"][r.range(0, 3) as usize];
                if shape[a] == 0 && (f == "max" || f == "min") {
                    continue;
                }
                let keep = r.chance(0.3);
                e = format!(
                    "{e}.{f}(axis={a}{})",
                    if keep { ", keepdims=True" } else { "" }
                );
                if keep {
                    shape[a] = 1;
                } else {
                    shape.remove(a);
                }
            }
            6 if nd > 0 => {
                e = format!("{e}.rechunk({})", chunks(&mut r, &shape));
            }
            7 if nd > 1 => {
                // Merge two adjacent axes, or split one.
                let a = r.range(0, nd as i64 - 2) as usize;
                if r.chance(0.5) {
                    let m = shape[a] * shape[a + 1];
                    shape.splice(a..a + 2, [m]);
                } else if shape[a].is_multiple_of(2) && shape[a] > 0 {
                    let h = shape[a] / 2;
                    shape.splice(a..a + 1, [2, h]);
                }
                e = format!("{e}.reshape({})", tuple(&shape));
            }
            _ => {}
        }
    }
    e
}

fn slice_len(n: i64, a: i64, b: i64, step: i64) -> usize {
    let norm = |x: i64, lo: i64, hi: i64| {
        let x = if x < 0 { x + n } else { x };
        x.clamp(lo, hi)
    };
    let (start, stop) = if step > 0 {
        (norm(a, 0, n), norm(b, 0, n))
    } else {
        (norm(a, -1, n - 1), norm(b, -1, n - 1))
    };
    let len = if step > 0 {
        (stop - start + step - 1) / step
    } else {
        (start - stop - step - 1) / -step
    };
    len.max(0) as usize
}

/// The array of an expression.
pub fn array(src: &str) -> tessera::Result<DArray> {
    into_array(evaluate(src, &Bindings::new())?)
}

/// What went wrong with one expression.
#[derive(Debug, Clone)]
pub struct Mismatch {
    /// The expression.
    pub expr: String,
    /// The difference.
    pub what: String,
}

fn same(a: &Chunk, b: &Chunk) -> bool {
    a.shape == b.shape
        && a.dtype == b.dtype
        && a.to_f64_vec().iter().zip(b.to_f64_vec()).all(|(x, y)| {
            x == &y || (x.is_nan() && y.is_nan()) || (x - y).abs() <= 1e-12 * x.abs().max(y.abs())
        })
}

/// Runs `count` random expressions from `seed` with and without the optimizer on
/// `client`, checking equal results and predicted counters equal to measured ones.
pub fn check(client: &mut Client, seed: u64, count: usize) -> Vec<Mismatch> {
    let mut bad = Vec::new();
    let nw = client.workers();
    for k in 0..count as u64 {
        let expr = expression(seed.wrapping_add(k));
        let fail = |what: String| Mismatch {
            expr: expr.clone(),
            what,
        };
        let a = match array(&expr) {
            Ok(a) => a,
            Err(e) => {
                bad.push(fail(format!("does not build: {e}")));
                continue;
            }
        };
        let e = crate::optimize::explain::explain(&a, nw);
        let mut results = Vec::new();
        for (on, predicted) in [(false, &e.predicted_before), (true, &e.predicted_after)] {
            client.set_optimize(on);
            match client.compute(&a) {
                Ok(c) => results.push(c),
                Err(err) => {
                    bad.push(fail(format!("optimize={on}: {err}")));
                    break;
                }
            }
            let r = client.last_report().unwrap_or_default();
            let measured = (
                r.tasks,
                r.bytes_moved,
                r.bytes_read,
                r.bytes_gathered,
                r.bytes_scattered,
            );
            let want = (
                predicted.tasks,
                predicted.bytes_moved,
                predicted.bytes_read,
                predicted.bytes_gathered,
                predicted.bytes_scattered,
            );
            if measured != want {
                bad.push(fail(format!(
                    "optimize={on}: measured (tasks, moved, read, gathered, scattered) {measured:?} != predicted {want:?}"
                )));
            }
        }
        client.set_optimize(true);
        if let [off, on] = &results[..] {
            if !same(off, on) {
                bad.push(fail(format!(
                    "results differ: unoptimized {:?} {:?}, optimized {:?} {:?}",
                    off.shape,
                    &off.to_f64_vec()[..off.to_f64_vec().len().min(6)],
                    on.shape,
                    &on.to_f64_vec()[..on.to_f64_vec().len().min(6)]
                )));
            }
        }
    }
    bad
}
#[cfg(test)]
mod tests {
    #[test]
    fn passes_are_exercised() {
        let mut counts = std::collections::BTreeMap::new();
        for k in 0..400 {
            let a = super::array(&super::expression(k)).expect("builds");
            for p in crate::optimize::explain::explain(&a, 3).passes {
                *counts.entry(p).or_insert(0) += 1;
            }
        }
        eprintln!("{counts:?}");
        for p in ["push-slices", "rechunk", "fuse", "cull", "share-common"] {
            assert!(counts.get(p).copied().unwrap_or(0) >= 10, "{p}: {counts:?}");
        }
    }
}
