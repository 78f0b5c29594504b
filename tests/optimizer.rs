//! The optimizer keeps results identical and its cost model predicts the run report:
//! random expressions in-process and under `mpirun -n 4`; Dask's own reshape, rechunk and
//! slicing cases (tests/oracle/dask_cases.json, values from numpy); and named cases that
//! must move zero bytes between workers, measured.

mod common;

use common::{cf, mpirun_available, ok_json, tessera};
use serde_json::Value;
use tessera::Client;
use tessera_cli::selftest::optimizer as fuzz;

#[test]
fn random_expressions_in_process_keep_their_results_and_predictions() {
    for workers in [1, 3] {
        let mut c = Client::local(workers).expect("client");
        let bad = fuzz::check(&mut c, 1, 250);
        assert!(
            bad.is_empty(),
            "{} of 250 cases failed on {workers} workers, first ones:\n{}",
            bad.len(),
            bad.iter()
                .take(8)
                .map(|m| format!("  {}\n    {}", m.expr, m.what))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

#[test]
fn random_expressions_under_mpirun_keep_their_results_and_predictions() {
    if !mpirun_available() {
        panic!("mpirun must be installed (README.md, .ci/run)");
    }
    let out = common::mpirun_self_test(4, "optimizer");
    let v: Value = serde_json::from_str(out.trim()).expect("one JSON line");
    assert_eq!(v["transport"], "mpi");
    assert_eq!(v["workers"], 3);
    assert_eq!(
        v["mismatches"].as_array().map(|m| m.len()),
        Some(0),
        "{}",
        serde_json::to_string_pretty(&v["mismatches"]).unwrap_or_default()
    );
}

fn dask_cases() -> Vec<Value> {
    let p = common::oracle_dir().join("dask_cases.json");
    let v: Value = serde_json::from_str(&std::fs::read_to_string(p).expect("dask_cases.json"))
        .expect("valid JSON");
    v["cases"].as_array().cloned().unwrap_or_default()
}

#[test]
fn dask_reshape_rechunk_and_slicing_cases() {
    let cases = dask_cases();
    assert!(cases.len() > 100, "only {} dask cases", cases.len());
    let c = Client::local(3).expect("client");
    let mut failures = Vec::new();
    for case in &cases {
        let expr = case["expr"].as_str().unwrap_or_default();
        let src = case["source"].as_str().unwrap_or_default();
        let a = match fuzz::array(expr) {
            Ok(a) => a,
            Err(e) => {
                failures.push(format!("{src}: {expr}: {e}"));
                continue;
            }
        };
        let got = match c.compute(&a) {
            Ok(r) => r,
            Err(e) => {
                failures.push(format!("{src}: {expr}: {e}"));
                continue;
            }
        };
        let shape: Vec<usize> = serde_json::from_value(case["shape"].clone()).unwrap_or_default();
        let want: Vec<f64> = case["data"]
            .as_array()
            .map(|d| d.iter().map(|x| x.as_f64().unwrap_or(f64::NAN)).collect())
            .unwrap_or_default();
        if got.shape != shape || got.to_f64_vec() != want {
            failures.push(format!(
                "{src}: {expr}: values or shape {:?} differ from numpy {shape:?}",
                got.shape
            ));
        }
        if case["chunks_stated_by_dask_test"].as_bool() == Some(true) {
            let dask: Vec<Vec<usize>> =
                serde_json::from_value(case["dask_chunks"].clone()).unwrap_or_default();
            let finer = a.chunks().iter().zip(&dask).any(|(ours, theirs)| {
                ours.iter().filter(|&&x| x > 0).count() > theirs.iter().filter(|&&x| x > 0).count()
            });
            if finer {
                failures.push(format!(
                    "{src}: {expr}: chunks {:?} finer than dask's {dask:?}",
                    a.chunks()
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

/// Runs `eval EXPR --report` (in-process with 3 workers, or under mpirun -n 4) and the
/// matching `explain --json`; returns (report, prediction).
fn measured_and_predicted(ranks: Option<usize>, expr: &str, open: &[&str]) -> (Value, Value) {
    let dir = std::env::temp_dir().join(format!("tessera-opt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("scratch");
    let report = dir.join(format!("r{}.json", ranks.unwrap_or(0)));
    let mut args = vec!["eval", "--json", "--workers", "3", "--report"];
    let rp = report.display().to_string();
    args.push(&rp);
    let mut opens = Vec::new();
    for o in open {
        opens.push("--open");
        opens.push(o);
    }
    args.extend(&opens);
    args.push(expr);
    ok_json(&tessera(ranks, &args));
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&report).expect("report"))
        .expect("report JSON");
    let mut args = vec!["explain", "--json", "--workers", "3"];
    args.extend(&opens);
    args.push(expr);
    let p = ok_json(&tessera(None, &args));
    (r, p)
}

#[test]
fn named_cases_move_zero_bytes_as_predicted() {
    let h5 = format!("d={}:/group/dataset", cf("plain.h5"));
    let cases: Vec<(&str, Vec<&str>)> = vec![
        // A slice of one chunk of an HDF5 file.
        ("d[0:5, 0:6, 0:4]", vec![&h5]),
        // Elementwise work after a slice, reduced.
        ("(d[:, 3:27] * 2 + 1).sum(axis=0)", vec![&h5]),
        // A reshape that only merges whole chunks.
        (
            "(random((12, 6, 10), chunks=(3, 6, 10)) + 1).reshape((12, 60))",
            vec![],
        ),
        (
            "(random((12, 6, 10), chunks=(3, 6, 10)) + 1).reshape((72, 10))",
            vec![],
        ),
    ];
    let mut ranks = vec![None];
    if mpirun_available() {
        ranks.push(Some(4));
    }
    for r in ranks {
        for (expr, open) in &cases {
            let (measured, predicted) = measured_and_predicted(r, expr, open);
            assert_eq!(measured["bytes_moved"], 0, "{expr} under {r:?}: {measured}");
            for k in ["bytes_moved", "bytes_read", "tasks"] {
                assert_eq!(measured[k], predicted[k], "{k} of {expr} under {r:?}");
            }
        }
    }
}

#[test]
fn a_time_to_space_rechunk_moves_each_byte_at_most_once() {
    // (T, Y, X) = (24, 20, 30) float64 = 115200 bytes, time blocks of 4, space blocks of 10x10.
    let expr = "(random((24, 20, 30), chunks=(4, 20, 30)) + 0).rechunk((24, 10, 10)).sum()";
    let p = ok_json(&tessera(
        None,
        &["explain", "--json", "--workers", "3", expr],
    ));
    let moved = p["bytes_moved"].as_u64().unwrap_or(u64::MAX);
    assert!(moved <= 24 * 20 * 30 * 8, "{p}");
    // Without splitting, whole time blocks would travel to every space block's worker.
    assert!(
        p["before"]["bytes_moved"].as_u64().unwrap_or(0) > moved,
        "{p}"
    );
    let mut ranks = vec![None];
    if mpirun_available() {
        ranks.push(Some(4));
    }
    for r in ranks {
        let (measured, predicted) = measured_and_predicted(r, expr, &[]);
        for k in ["bytes_moved", "tasks"] {
            assert_eq!(measured[k], predicted[k], "{k} under {r:?}");
        }
    }
}

#[test]
fn the_dask_release_note_reshape_is_coarser_and_moves_no_more() {
    // dask 0.14.1: ones((2,3,4,5,6), chunks=2).reshape((6,2,2,30,1)) gives chunks of
    // (3,1,2,6,1); dask gets there by rechunking its input to the chunks below.
    let ours =
        fuzz::array("(ones((2,3,4,5,6), chunks=2) + 0).reshape((6,2,2,30,1))").expect("ours");
    let dask = fuzz::array(
        "(ones((2,3,4,5,6), chunks=2) + 0).rechunk(((1,1),(3,),(2,2),(1,1,1,1,1),(6,))).reshape((6,2,2,30,1))",
    )
    .expect("dask's plan");
    let largest = |a: &tessera::DArray| -> Vec<usize> {
        a.chunks()
            .iter()
            .map(|c| c.iter().copied().max().unwrap_or(0))
            .collect()
    };
    assert_eq!(largest(&dask), vec![3, 1, 2, 6, 1]);
    assert!(
        largest(&ours)
            .iter()
            .zip([3, 1, 2, 6, 1])
            .all(|(o, d)| *o >= d),
        "{:?}",
        ours.chunks()
    );
    for workers in 2..=6 {
        let o = tessera::optimize::explain::explain(&ours, workers).predicted_after;
        let d = tessera::optimize::explain::explain(&dask, workers).predicted_after;
        assert!(
            o.bytes_moved <= d.bytes_moved,
            "{workers} workers: {} > {}",
            o.bytes_moved,
            d.bytes_moved
        );
    }
}
