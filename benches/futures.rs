//! The futures API: the submit→result round trip (the loop from dask.distributed's
//! release notes, `for i in range(n): client.submit(inc, i).result()`), a 100,000-task
//! map, and bytes on the wire with and without compression — each beside the transport
//! reference measured in the same run (8-byte ping-pong, memcpy or MPI bandwidth).
//!
//! In-process: `cargo bench --bench futures`. Over MPI: `cargo bench --bench futures
//! --no-run`, then `mpirun -n 3 target/release/deps/futures-HASH` (rank 0 schedules, two
//! workers); add `--compression on|off` to pick the wire mode under MPI (in-process, both
//! run).

mod common;

use common::{local_reference, mpi_reference, Reference};
use std::time::Instant;
use tessera::array::chunk::Chunk;
use tessera::array::dtype::DType;
use tessera::comm::launch::launched_under_mpi;
use tessera::comm::mpi::MpiTransport;
use tessera::futures::{register, Arg, Value};
use tessera::runtime::worker::Compression;
use tessera::{start_on, Client, ClientOptions, Started};
use tessera_cli::selftest::futures::{bytes_sent, noise, ramp};

fn register_tasks() {
    register("bench-inc", |a| {
        Ok(Value::Int(a[0].as_i64().ok_or("want an int")? + 1))
    });
    register("bench-add-arrays", |a| {
        let (x, y) = match (a[0].as_chunk(), a[1].as_chunk()) {
            (Some(x), Some(y)) => (x, y),
            _ => return Err("want two arrays".into()),
        };
        let v: Vec<f64> = x
            .view::<f64>()
            .iter()
            .zip(y.view::<f64>().iter())
            .map(|(p, q)| p + q)
            .collect();
        Ok(Value::Array(Chunk::from_slice(DType::F64, &x.shape, &v)))
    });
}

fn arg_mode() -> Option<Compression> {
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|a| a == "--compression")?;
    match args.get(i + 1).map(String::as_str) {
        Some("on") => Some(Compression::On),
        Some("off") => Some(Compression::Off),
        _ => Some(Compression::Auto),
    }
}

fn main() {
    register_tasks();
    let mode = arg_mode();
    let opts = |c: Compression| ClientOptions {
        workers: 2,
        compression: c,
        ..Default::default()
    };
    if launched_under_mpi() {
        let t = MpiTransport::init(tessera::runtime::buffers::receive_buffer).expect("MPI");
        let r = mpi_reference(&t);
        let c = mode.unwrap_or(Compression::On);
        let client = match start_on(t, &opts(c)).expect("start") {
            Started::Client(c) => c,
            Started::WorkerFinished => return,
        };
        let r = r.expect("rank 0 measures the reference");
        latency_and_throughput(&client, r);
        wire(&client, c, r);
    } else {
        let r = local_reference();
        let client = Client::with_options(&opts(Compression::Off)).expect("client");
        latency_and_throughput(&client, r);
        wire(&client, Compression::Off, r);
        drop(client);
        let client = Client::with_options(&opts(Compression::On)).expect("client");
        wire(&client, Compression::On, r);
    }
}

fn latency_and_throughput(c: &Client, r: Reference) {
    println!(
        "runtime: {} transport, {} workers",
        c.transport_kind(),
        c.workers()
    );
    for i in 0..200i64 {
        c.submit("bench-inc", tessera::args![i])
            .expect("submit")
            .result()
            .expect("warm-up");
    }
    let n: i64 = std::env::var("TESSERA_BENCH_ROUNDTRIPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let mut times = Vec::with_capacity(n as usize);
    let t = Instant::now();
    for i in 0..n {
        let s = Instant::now();
        let v = c
            .submit("bench-inc", tessera::args![i])
            .expect("submit")
            .result()
            .expect("result");
        assert_eq!(v.as_i64(), Some(i + 1));
        times.push(s.elapsed().as_secs_f64() * 1e6);
    }
    let mean = t.elapsed().as_secs_f64() * 1e6 / n as f64;
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "submit(inc, i).result() round trip, {n} in sequence: mean {mean:.1} us, median {median:.1} us = {:.0}x the 8-byte one-way reference ({:.2} us)",
        median / r.one_way_us,
        r.one_way_us
    );

    let tasks: i64 = std::env::var("TESSERA_BENCH_TASKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let start = c.cluster_report().expect("report");
    let t = Instant::now();
    let fs = c.map("bench-inc", 0..tasks).expect("map");
    let submitted = t.elapsed().as_secs_f64();
    let vals = c.gather(&fs).expect("gather");
    let secs = t.elapsed().as_secs_f64();
    let sum: i64 = vals.iter().filter_map(Value::as_i64).sum();
    assert_eq!(sum, (1..=tasks).sum::<i64>());
    drop(fs);
    let rep = c.cluster_report().expect("report");
    let busy: Vec<String> = rep
        .workers
        .iter()
        .zip(&start.workers)
        .map(|(w, b)| {
            format!(
                "rank {} ran {} ({} stolen)",
                w.rank,
                w.tasks - b.tasks,
                w.tasks_stolen - b.tasks_stolen
            )
        })
        .collect();
    println!(
        "map(inc, range({tasks})) then gather: {secs:.3} s = {:.0} tasks/s (submitting took {submitted:.3} s; {})",
        tasks as f64 / secs,
        busy.join(", ")
    );
}

/// A 64 MiB chunk held on worker 1 and worker 2; a task on one needs the other's copy, and
/// the result comes back to rank 0: two transfers.
fn wire(c: &Client, mode: Compression, r: Reference) {
    let n = 8usize << 20;
    for (name, data) in [
        ("compressible (a ramp of repeated values)", ramp(n)),
        (
            "incompressible (random mantissas)",
            noise(n, 0x2545f4914f6cdd1d),
        ),
    ] {
        let a = Value::Array(Chunk::from_slice(DType::F64, &[n], &data));
        let placed = c.scatter_to(vec![(a.clone(), 1), (a, 2)]).expect("scatter");
        c.wait(&placed);
        let before = bytes_sent(c).expect("inspect");
        let t = Instant::now();
        let f = c
            .submit(
                "bench-add-arrays",
                vec![Arg::from(&placed[0]), Arg::from(&placed[1])],
            )
            .expect("submit");
        f.result().expect("result");
        let secs = t.elapsed().as_secs_f64();
        let after = bytes_sent(c).expect("inspect");
        let (raw, wire) = (after.0 - before.0, after.1 - before.1);
        println!(
            "wire, compression {mode:?}, {name}: {} MiB sent as {:.1} MiB ({:.3} of raw) in {secs:.3} s including the task; transfer reference {:.2} GB/s",
            raw >> 20,
            wire as f64 / (1 << 20) as f64,
            wire as f64 / raw.max(1) as f64,
            r.gbs
        );
    }
}
