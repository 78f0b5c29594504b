//! Core runtime figures, each beside a physical reference measured in the same run.
//!
//! In-process: `cargo bench --bench core`. Over MPI: `cargo bench --bench core --no-run`,
//! then launch the printed executable with `mpirun -n 3` (rank 0 schedules, two workers).

mod common;

use common::{local_reference, mpi_reference};
use std::time::Instant;
use tessera::comm::launch::launched_under_mpi;
use tessera::comm::mpi::MpiTransport;
use tessera::expr::eval::{evaluate, into_array, Bindings};
use tessera::{start, start_on, Client, ClientOptions, Started};

fn arr(src: &str, b: &Bindings) -> tessera::DArray {
    into_array(evaluate(src, b).expect("expr")).expect("array")
}

fn main() {
    let opts = ClientOptions {
        workers: 2,
        ..Default::default()
    };
    let (started, reference) = if launched_under_mpi() {
        let t = MpiTransport::init(tessera::runtime::buffers::receive_buffer).expect("MPI");
        let r = mpi_reference(&t);
        (start_on(t, &opts).expect("start"), r)
    } else {
        let r = local_reference();
        (start(&opts).expect("start"), Some(r))
    };
    let client = match started {
        Started::Client(c) => c,
        Started::WorkerFinished => return,
    };
    run(&client, reference.map_or(f64::NAN, |r| r.gbs));
}

fn run(client: &Client, reference_gbs: f64) {
    let none = Bindings::new();
    println!(
        "runtime: {} transport, {} workers",
        client.transport_kind(),
        client.workers()
    );

    let tiny = arr("ones(1, chunks=1) + 1", &none);
    for _ in 0..100 {
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
        "round trip of one trivial task (plan, run, gather), {n} in sequence: {:.1} us each",
        t.elapsed().as_secs_f64() * 1e6 / n as f64
    );

    let t = Instant::now();
    let graph = arr("(ones((1000, 1000), chunks=1) + 1).sum()", &none);
    println!(
        "graph construction of (x + 1).sum() with x in 1,000,000 chunks: {:.4} us per chunk (result {:?}, lazy)",
        t.elapsed().as_secs_f64() * 1e6 / 1e6,
        graph.shape()
    );

    let many = arr("(ones(100000, chunks=1) + 1).sum()", &none);
    let t = Instant::now();
    let r = client.compute(&many).expect("many tasks");
    let secs = t.elapsed().as_secs_f64();
    let tasks = client.last_report().map(|r| r.tasks).unwrap_or(0);
    println!(
        "{tasks} independent tiny tasks (+ reduction tree): {:.0} tasks/s (result {})",
        tasks as f64 / secs,
        r.to_f64_vec()[0]
    );

    let x = client
        .persist(&arr(
            "random((4000, 4000), chunks=(2000, 4000), seed=1)",
            &none,
        ))
        .expect("persist");
    let mut b = Bindings::new();
    b.insert("x".into(), tessera::expr::Value::Array(x));
    let sum = arr("(x + 1).sum()", &b);
    client.compute(&sum).expect("warm-up");
    let t = Instant::now();
    client.compute(&sum).expect("sum");
    println!(
        "(x + 1).sum(), x persisted 4000x4000 float64 in 2 chunks: {:.4} s",
        t.elapsed().as_secs_f64()
    );

    // Worker-to-worker movement: 16 blocks of 16 MiB, half on each worker, regrouped so
    // every output block needs rows from both workers.
    let y = client
        .persist(&arr(
            "random((16, 2097152), chunks=(1, 2097152), seed=3)",
            &none,
        ))
        .expect("persist");
    let mut b = Bindings::new();
    b.insert("y".into(), tessera::expr::Value::Array(y));
    let moved = arr("y.rechunk((16, 131072))", &b);
    let t = Instant::now();
    let kept = client.persist(&moved).expect("rechunk");
    let secs = t.elapsed().as_secs_f64();
    let rep = client.last_report().unwrap_or_default();
    println!(
        "rechunk 256 MiB rows->columns across 2 workers: {:.3} s, {} MiB moved worker to worker, {:.2} GB/s moved = {:.2} of the transfer reference",
        secs,
        rep.bytes_moved >> 20,
        rep.bytes_moved as f64 / secs / 1e9,
        rep.bytes_moved as f64 / secs / 1e9 / reference_gbs
    );
    drop(kept);
}
