//! Core runtime figures beside a physical reference measured in the same run.
//! In-process: `cargo bench --bench core`. Over MPI: build with `cargo bench --no-run` and
//! launch the bench executable under `mpirun -n 3` (rank 0 schedules, two workers).

use std::time::Instant;
use tessera::expr::eval::{evaluate, into_array, Bindings};
use tessera::{start, ClientOptions, Started};

fn memcpy_gbs() -> f64 {
    let n = 16 << 20;
    let src = vec![1u8; n];
    let mut dst = vec![0u8; n];
    dst.copy_from_slice(&src);
    let t = Instant::now();
    let reps = 20;
    for _ in 0..reps {
        dst.copy_from_slice(std::hint::black_box(&src));
        std::hint::black_box(&mut dst);
    }
    (n * reps) as f64 / t.elapsed().as_secs_f64() / 1e9
}

fn arr(src: &str) -> tessera::DArray {
    into_array(evaluate(src, &Bindings::new()).expect("expr")).expect("array")
}

fn main() {
    let client = match start(&ClientOptions { workers: 2 }).expect("start") {
        Started::Client(c) => c,
        Started::WorkerFinished => return,
    };
    println!(
        "transport: {} with {} workers",
        client.transport_kind(),
        client.workers()
    );
    println!(
        "reference: memcpy 16 MiB (touched pages): {:.2} GB/s",
        memcpy_gbs()
    );

    let tiny = arr("ones(1, chunks=1) + 1");
    for _ in 0..50 {
        client.compute(&tiny).expect("warm-up");
    }
    let n: usize = std::env::var("TESSERA_BENCH_ROUNDTRIPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1000);
    let t = Instant::now();
    for _ in 0..n {
        client.compute(&tiny).expect("round trip");
    }
    println!(
        "round trip of one tiny task (submit, compute, gather), {n} in sequence: {:.1} us each",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );

    let t = Instant::now();
    let many = arr("(ones((1000, 1000), chunks=1) + 1).sum()");
    let per_chunk = t.elapsed().as_secs_f64() * 1e9 / 1e6;
    println!(
        "graph construction of (x + 1).sum() over 1,000,000 chunks: {per_chunk:.3} ns per chunk"
    );
    let t = Instant::now();
    let tasks_arr = arr("(ones((100000,), chunks=1) + 1).sum()");
    let r = client.compute(&tasks_arr).expect("many tasks");
    let secs = t.elapsed().as_secs_f64();
    let tasks = client.last_report().map(|r| r.tasks).unwrap_or(0);
    println!("{tasks} small tasks (100,000 one-element chunks + reduction tree): {:.0} tasks/s, result {}", tasks as f64 / secs, r.to_f64_vec()[0]);
    drop(many);

    let big = arr("(random((4000, 4000), chunks=(2000, 4000), seed=1) + 1).sum()");
    let t = Instant::now();
    client.compute(&big).expect("sum");
    println!(
        "(x + 1).sum(), 4000x4000 float64, 2 chunks: {:.3} s",
        t.elapsed().as_secs_f64()
    );

    let moved =
        arr("random((2048, 2048), chunks=(2048, 1024), seed=2).rechunk((1024, 2048)).sum()");
    let t = Instant::now();
    client.compute(&moved).expect("rechunk");
    let rep = client.last_report().unwrap_or_default();
    println!(
        "rechunk 32 MiB columns->rows then sum: {:.3} s, bytes moved between workers {} ({:.2} GB/s of wall time)",
        t.elapsed().as_secs_f64(),
        rep.bytes_moved,
        rep.bytes_moved as f64 / t.elapsed().as_secs_f64() / 1e9
    );
}
