//! Distributed rechunk and reshape of a multi-GB array, each figure beside the MPI
//! bandwidth measured in the same run.
//!
//! `cargo bench --bench optimize --no-run`, then launch the printed executable with
//! `mpirun -n 5 --oversubscribe` (rank 0 schedules, four workers). In-process it runs too
//! (`cargo bench --bench optimize`), against memcpy. `TESSERA_BENCH_DAYS` sets T (default
//! 730: a (730, 720, 1440) float32 array, 3.03 GB).
//!
//! The array is made and persisted on the workers first, untimed, so only the operation
//! is measured: time-contiguous blocks (10, 720, 1440) rechunked to space-contiguous
//! (T, 90, 90); a reshape to (T, 720 * 1440) that merges whole blocks; the same reshape
//! from the space-contiguous blocks, which must move data.

mod common;

use common::memcpy_gbs;
use std::time::Instant;
use tessera::comm::launch::launched_under_mpi;
use tessera::comm::mpi::MpiTransport;
use tessera::comm::{Rank, Transport};
use tessera::expr::eval::{evaluate, into_array, Bindings};
use tessera::expr::Value;
use tessera::{start, start_on, Client, ClientOptions, DArray, Started};

use common::MIB16;

fn arr(src: &str, b: &Bindings) -> DArray {
    into_array(evaluate(src, b).expect("expr")).expect("array")
}

fn main() {
    let opts = ClientOptions {
        workers: 4,
        ..Default::default()
    };
    let (started, reference, what) = if launched_under_mpi() {
        let t = MpiTransport::init(tessera::runtime::buffers::receive_buffer).expect("MPI");
        let mut r = None;
        if t.rank().0 <= 1 {
            let peer = Rank(1 - t.rank().0);
            let d = t.raw_pingpong(peer, MIB16, 50, true);
            r = Some(MIB16 as f64 / d.as_secs_f64() / 1e9);
        }
        (
            start_on(t, &opts).expect("start"),
            r,
            "raw MPI ping-pong 16 MiB, distinct buffers",
        )
    } else {
        (
            start(&opts).expect("start"),
            Some(memcpy_gbs()),
            "memcpy 16 MiB",
        )
    };
    let client = match started {
        Started::Client(c) => c,
        Started::WorkerFinished => return,
    };
    let reference = reference.unwrap_or(f64::NAN);
    println!("reference: {what}: {reference:.2} GB/s");
    run(&client, reference);
}

/// Times `persist(a)`; prints seconds, bytes moved (measured and predicted), the
/// all-to-all lower bound where one applies, throughput against the reference and the
/// largest per-worker peak of held chunk bytes.
fn timed(
    client: &Client,
    label: &str,
    a: &DArray,
    lower_bound: Option<u64>,
    reference: f64,
) -> DArray {
    // The plan `persist` runs: blocks stay on the workers.
    let mut plan = tessera::array::plan::Plan::build(0, a, false);
    let ctx = tessera::optimize::Context {
        workers: client.workers(),
    };
    tessera::optimize::optimize(&mut plan, &ctx);
    let predicted = tessera::optimize::cost::predict(&plan, client.workers());
    let t = Instant::now();
    let out = client.persist(a).expect("persist");
    let secs = t.elapsed().as_secs_f64();
    let r = client.last_report().unwrap_or_default();
    let peak = r.workers.iter().map(|w| w.peak_bytes).max().unwrap_or(0);
    let bytes = a.nbytes() as f64;
    println!(
        "{label}: {secs:.2} s, {:.2} GB/s of array = {:.2} of the reference; moved {:.3} GB (predicted {:.3} GB{}), {:.2} GB/s moved = {:.2} of the reference; peak held per worker {:.2} GB (predicted {:.2} GB); {} tasks",
        bytes / secs / 1e9,
        bytes / secs / 1e9 / reference,
        r.bytes_moved as f64 / 1e9,
        predicted.bytes_moved as f64 / 1e9,
        lower_bound.map_or(String::new(), |lb| format!(", lower bound {:.3} GB", lb as f64 / 1e9)),
        r.bytes_moved as f64 / secs / 1e9,
        r.bytes_moved as f64 / secs / 1e9 / reference,
        peak as f64 / 1e9,
        predicted.peak_bytes_per_worker as f64 / 1e9,
        r.tasks,
    );
    out
}

fn run(client: &Client, reference: f64) {
    let days: usize = std::env::var("TESSERA_BENCH_DAYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(730);
    let nw = client.workers();
    println!(
        "runtime: {} transport, {nw} workers; array ({days}, 720, 1440) float32, {:.2} GB",
        client.transport_kind(),
        (days * 720 * 1440 * 4) as f64 / 1e9
    );
    let t = Instant::now();
    let x = client
        .persist(&arr(
            &format!(
                "random(({days}, 720, 1440), chunks=(10, 720, 1440), seed=1).astype(\"float32\")"
            ),
            &Bindings::new(),
        ))
        .expect("persist input");
    println!(
        "(input made and persisted in {:.2} s, untimed)",
        t.elapsed().as_secs_f64()
    );
    let total = (days * 720 * 1440 * 4) as u64;
    // Balanced all-to-all: every output block needs (nw - 1) / nw of its bytes from others.
    let all_to_all = total * (nw as u64 - 1) / nw as u64;
    let mut b = Bindings::new();
    b.insert("x".into(), Value::Array(x.clone()));
    let space = timed(
        client,
        "rechunk time->space (10,720,1440)->(T,90,90)",
        &arr(&format!("x.rechunk(({days}, 90, 90))"), &b),
        Some(all_to_all),
        reference,
    );
    let merged = timed(
        client,
        "reshape (T,720,1440)->(T,1036800), time blocks (merges whole blocks)",
        &arr(&format!("x.reshape(({days}, 1036800))"), &b),
        Some(0),
        reference,
    );
    drop(merged);
    drop(x);
    b.insert("s".into(), Value::Array(space));
    let split = timed(
        client,
        "reshape (T,720,1440)->(T,1036800), space blocks (must move)",
        &arr(&format!("s.reshape(({days}, 1036800))"), &b),
        None,
        reference,
    );
    println!(
        "reshape output chunks: {} blocks of up to {:?}",
        split.grid().num_blocks(),
        split
            .chunks()
            .iter()
            .map(|c| c.iter().copied().max().unwrap_or(0))
            .collect::<Vec<_>>()
    );
}
