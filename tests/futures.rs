//! The futures API end to end, in-process and on real MPI ranks: adaptive `as_completed`,
//! async/await, scatter/gather of large arrays, cancel, task errors and
//! `recreate_error_locally`, cluster reference counting, blocks of persisted arrays as
//! arguments, work stealing; spilling under a tight memory limit; compression on and off.

mod common;

use common::{mpirun_available, ok_json, tessera};
use futures::StreamExt;
use serde_json::Value as Json;
use tessera::futures::{as_completed, register, selftest, Value};
use tessera::{Client, ClientOptions};

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
    let c = Client::local(1).expect("client");
    let e = c.submit("no-such-function", vec![]).expect_err("unknown");
    assert!(e.to_string().contains("no-such-function"), "{e}");
    register("t-id", |a| Ok(a[0].clone()));
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
    let a = ok_json(&tessera(
        None,
        &[
            "eval",
            "--json",
            "--workers",
            "3",
            "--compression",
            "on",
            expr,
        ],
    ));
    let b = ok_json(&tessera(
        None,
        &[
            "eval",
            "--json",
            "--workers",
            "3",
            "--compression",
            "off",
            expr,
        ],
    ));
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
