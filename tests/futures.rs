//! The futures API end to end, in-process and on real MPI ranks: adaptive `as_completed`,
//! async/await, scatter/gather of large arrays, cancel, task errors and
//! `recreate_error_locally`, cluster reference counting, blocks of persisted arrays as
//! arguments, work stealing; spilling under a tight memory limit; compression on and off.

mod common;

use common::{mpirun_available, ok_json, tessera};
use futures::StreamExt;
use serde_json::Value as Json;
use tessera::futures::{as_completed, register, Value};
use tessera::{Client, ClientOptions};
use tessera_cli::selftest::futures as selftest;

#[test]
fn scenarios_in_process() {
    selftest::register_tasks();
    for workers in [1, 3] {
        let c = Client::local(workers).expect("client");
        let out = selftest::run_all(&c).unwrap_or_else(|e| panic!("{workers} workers: {e:#}"));
        assert_eq!(out["workers"], workers);
    }
}

#[test]
fn scenarios_under_mpirun() {
    if !mpirun_available() {
        eprintln!("skipped: mpirun not found");
        return;
    }
    let out = ok_json(&tessera(Some(4), &["self-test", "futures"]));
    assert_eq!(out["transport"], "mpi");
    assert_eq!(out["workers"], 3);
    assert_eq!(
        out["as_completed_adaptive"]["tasks"],
        out["as_completed_adaptive"]["yielded"]
    );
}

/// The futures work with a real async executor and `StreamExt`.
#[test]
fn async_with_the_futures_crate() {
    register("t-double", |a| {
        Ok(Value::Int(a[0].as_i64().ok_or("want an int")? * 2))
    });
    let c = Client::local(2).expect("client");
    let total = futures::executor::block_on(async {
        let fs = c.map("t-double", 0..50i64).expect("map");
        let mut stream = as_completed(fs);
        let mut total = 0;
        while let Some(f) = stream.next().await {
            total += f.await.expect("value").as_i64().expect("int");
        }
        let more = c.map("t-double", [1i64, 2, 3]).expect("map");
        let back = c.gather_async(&more).await.expect("gather");
        total + back.iter().filter_map(Value::as_i64).sum::<i64>()
    });
    assert_eq!(total, 2 * (0..50).sum::<i64>() + 12);
}

/// An unknown function or a future of another client is refused before anything runs.
#[test]
fn bad_calls_are_refused() {
    register("t-id", |a| Ok(a[0].clone()));
    let c = Client::local(1).expect("client");
    let e = c.submit("no-such-function", vec![]).expect_err("unknown");
    assert!(e.to_string().contains("no-such-function"), "{e}");
    let other = Client::local(1).expect("client");
    let f = other.submit("t-id", tessera::args![1]).expect("submit");
    let e = c
        .submit("t-id", tessera::args![&f])
        .expect_err("foreign future");
    assert!(e.to_string().contains("another client"), "{e}");
    let a = tessera::expr::eval::into_array(
        tessera::expr::eval::evaluate("ones(10, chunks=5)", &Default::default()).expect("expr"),
    )
    .expect("array");
    let e = c
        .submit("t-id", vec![tessera::futures::Arg::block(&a, 0)])
        .expect_err("not persisted");
    assert!(e.to_string().contains("persist"), "{e}");
}

fn spill_dir(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("tessera-test-spill-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).expect("spill dir");
    d
}

fn check_spill(out: &Json, dir: &std::path::Path, per_worker_rss: bool) {
    let limit = out["memory_limit"].as_u64().expect("limit");
    let workers = out["workers"].as_array().expect("workers");
    let data = out["data_bytes"].as_u64().expect("data");
    assert!(data >= 4 * limit * workers.len() as u64, "{out}");
    assert!(out["bytes_spilled"].as_u64().unwrap_or(0) > 0, "{out}");
    for w in workers {
        let store = w["peak_store"].as_u64().expect("peak store");
        let block = out["block_bytes"].as_u64().expect("block");
        assert!(
            store <= limit + 2 * block,
            "a store held {store} bytes over a {limit} limit: {out}"
        );
        let rss = w["peak_rss"].as_u64().expect("rss");
        // MPI workers are processes of their own; in-process all share one.
        let bound = if per_worker_rss {
            limit + (64 << 20)
        } else {
            workers.len() as u64 * limit + (128 << 20)
        };
        assert!(
            rss < bound,
            "peak RSS {rss} over {bound} with {data} bytes of data: {out}"
        );
    }
    let left: Vec<_> = std::fs::read_dir(dir).expect("dir").collect();
    assert!(left.is_empty(), "spill files left behind: {left:?}");
}

/// `self-test spill` with a 32 MiB limit per worker (in-process with 2 workers, or under
/// `mpirun -n 4`), then its checks.
fn spill_run(ranks: Option<usize>, tag: &str) {
    let dir = spill_dir(tag);
    let d = dir.display().to_string();
    let mut args = vec![
        "self-test",
        "spill",
        "--memory-limit",
        "32M",
        "--spill-dir",
        &d,
    ];
    if ranks.is_none() {
        args.extend(["--workers", "2"]);
    }
    let out = ok_json(&tessera(ranks, &args));
    check_spill(&out, &dir, ranks.is_some());
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn spill_in_process_under_a_tight_limit() {
    spill_run(None, "local");
}

#[test]
fn spill_under_mpirun_under_a_tight_limit() {
    if !mpirun_available() {
        eprintln!("skipped: mpirun not found");
        return;
    }
    spill_run(Some(4), "mpi");
}

/// Spill files go away when the client ends after a failed task.
#[test]
fn spill_files_are_removed_after_a_failure() {
    selftest::register_tasks();
    let dir = spill_dir("fail");
    {
        let c = Client::with_options(&ClientOptions {
            workers: 2,
            memory_per_worker: 8 << 20,
            spill_dir: dir.clone(),
            ..Default::default()
        })
        .expect("client");
        let a = tessera::expr::eval::into_array(
            tessera::expr::eval::evaluate(
                "random((4000, 2000), chunks=(100, 2000))",
                &Default::default(),
            )
            .expect("expr"),
        )
        .expect("array");
        let p = c.persist(&a).expect("persist");
        let spilled: u64 = c
            .inspect_workers()
            .expect("inspect")
            .iter()
            .map(|w| w.store.bytes_on_disk)
            .sum();
        assert!(spilled > 0, "nothing spilled");
        let f = c.submit("st-fragile", tessera::args![7]).expect("submit");
        let e = f.result().expect_err("fails");
        assert!(e.to_string().contains("multiple of 7"), "{e}");
        drop(p);
    }
    let left: Vec<_> = std::fs::read_dir(&dir).expect("dir").collect();
    assert!(left.is_empty(), "spill files left behind: {left:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Results are equal with compression on and off; only compressible data shrinks on the
/// wire.
#[test]
fn compression_on_and_off() {
    let mut runs = vec![];
    for mode in ["on", "off"] {
        runs.push(ok_json(&tessera(
            None,
            &["self-test", "wire", "--workers", "2", "--compression", mode],
        )));
        if mpirun_available() {
            runs.push(ok_json(&tessera(
                Some(3),
                &["self-test", "wire", "--compression", mode],
            )));
        }
    }
    for r in &runs {
        let inc = &r["incompressible"];
        assert_eq!(inc["raw_bytes"], inc["wire_bytes"], "{r}");
    }
    let on = &runs[0]["compressible"];
    assert!(
        on["wire_bytes"].as_u64() < Some(on["raw_bytes"].as_u64().unwrap_or(0) / 10),
        "{on}"
    );
    // The same eval gives the same numbers either way (a rechunk moves every block).
    let expr =
        "(arange(200000, chunks=7000).reshape((400, 500)).rechunk((500, 13)) % 7).sum(axis=0)";
    let [a, b] = ["on", "off"].map(|mode| {
        ok_json(&tessera(
            None,
            &[
                "eval",
                "--json",
                "--workers",
                "3",
                "--compression",
                mode,
                expr,
            ],
        ))
    });
    assert_eq!(a["data"], b["data"]);
}

/// A new cluster's workers hold nothing.
#[test]
fn options_take_effect() {
    let c = Client::with_options(&ClientOptions {
        workers: 2,
        memory_per_worker: 16 << 20,
        ..Default::default()
    })
    .expect("client");
    let info = c.inspect_workers().expect("inspect");
    assert_eq!(info.len(), 2);
    assert!(info.iter().all(|w| w.store.keys == 0));
}

/// Runs `f` on a thread and fails the test if it does not finish within a minute (a
/// deadlock must fail CI, not hang it).
fn within_a_minute(name: &str, f: impl FnOnce() + Send + 'static) {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        f();
        let _ = tx.send(());
    });
    rx.recv_timeout(std::time::Duration::from_secs(60))
        .unwrap_or_else(|_| panic!("{name}: did not finish within a minute (or panicked)"));
}

/// Dropping an `as_completed` set early, recreating an error whose cause was an input,
/// and asking for values after the client is gone all end with an answer, not a hang.
#[test]
fn early_exits_do_not_hang() {
    selftest::register_tasks();
    within_a_minute("as_completed dropped early", || {
        let c = Client::local(2).expect("client");
        let fs = c.map("st-sleep", [1i64, 50, 50, 50, 50, 50]).expect("map");
        let ac = as_completed(fs);
        let first = ac.next_finished().expect("one");
        assert!(first.result().is_ok());
        drop(ac); // the other futures finish later, with no one listening
        let f = c.submit("st-inc", tessera::args![1]).expect("submit");
        assert_eq!(f.result().expect("value").as_i64(), Some(2));
        std::thread::sleep(std::time::Duration::from_millis(100));
    });
    within_a_minute("recreate a dependent's error", || {
        let c = Client::local(2).expect("client");
        let bad = c.submit("st-fragile", tessera::args![7]).expect("submit");
        let dep = c.submit("st-inc", tessera::args![&bad]).expect("submit");
        assert!(dep.result().is_err());
        let e = c.recreate_error_locally(&dep).expect_err("refused");
        assert!(e.to_string().contains("an input failed"), "{e}");
        assert!(c.recreate_error_locally(&bad).is_err());
    });
    within_a_minute("values after the client is gone", || {
        let c = Client::local(2).expect("client");
        let done = c.submit("st-add", tessera::args![1, 2]).expect("submit");
        done.result().expect("value");
        let big = c
            .scatter(vec![Value::from(ndarray::ArrayD::<f64>::zeros(vec![
                100_000,
            ]))])
            .expect("scatter");
        let pending = c.submit("st-sleep", tessera::args![5000]).expect("submit");
        drop(c);
        assert_eq!(done.result().expect("kept").as_i64(), Some(3));
        assert!(
            big[0].result().is_err(),
            "a value never fetched cannot come any more"
        );
        assert!(pending.result().is_err());
    });
}

/// A block of an array of caller data (held by rank 0) is refused as a task argument with
/// a message saying what to do.
#[test]
fn blocks_held_by_the_caller_are_refused() {
    register("t-id2", |a| Ok(a[0].clone()));
    let c = Client::local(2).expect("client");
    let data = tessera::array::chunk::Chunk::from_slice(
        tessera::array::dtype::DType::F64,
        &[4],
        &[1.0f64, 2.0, 3.0, 4.0],
    );
    let a = tessera::array::api::from_local(data, &tessera::array::chunks::ChunkSpec::Auto)
        .expect("array");
    let p = c.persist(&a).expect("persist");
    let e = c
        .submit("t-id2", vec![tessera::futures::Arg::block(&p, 0)])
        .expect_err("refused");
    assert!(e.to_string().contains("scatter"), "{e}");
}
