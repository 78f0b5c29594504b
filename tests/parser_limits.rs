//! Issue #13 item 10: parser limits and the echo of user strings, through the real binary
//! (in-process and under `mpirun -n 3`).

mod common;

use common::{mpirun_available, ok_json, tessera};
use std::path::PathBuf;

/// numpy's `np.arange(24, dtype=np.int64).reshape(2, 3, 4) * 3 - 20`
/// (tests/oracle/make_expected.py wrote it).
fn v_file() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/oracle/data/i64_2x3x4.npy")
        .display()
        .to_string()
}

fn v_values() -> Vec<i64> {
    (0..24).map(|k| k * 3 - 20).collect()
}

fn flatten(v: &serde_json::Value, out: &mut Vec<i64>) {
    match v {
        serde_json::Value::Array(items) => items.iter().for_each(|x| flatten(x, out)),
        other => out.push(other.as_i64().expect("integer element")),
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!("limits-{name}"));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("temp dir");
    d
}

/// A flat sum of 10,000 terms (the issue: 250 failed with "nested too deeply"), mixing
/// arrays and numbers, evaluated end to end on a chunked array; the values come from the
/// numpy-written input and the term counts.
fn long_sum(ranks: Option<usize>) {
    let n = 10_000;
    let mut expr = String::from("v.rechunk((1, 2, 2))");
    let (mut coef, mut constant) = (1i64, 0i64);
    for k in 1..n {
        match k % 4 {
            0 => {
                expr.push_str("-v");
                coef -= 1;
            }
            2 => {
                expr.push_str("+2");
                constant += 2;
            }
            _ => {
                expr.push_str("+v");
                coef += 1;
            }
        }
    }
    let open = format!("v={}", v_file());
    let out = tessera(ranks, &["eval", &expr, "--json", "--open", &open]);
    let got = ok_json(&out);
    assert_eq!(got["shape"], serde_json::json!([2, 3, 4]));
    assert_eq!(got["dtype"], "int64");
    let mut data = Vec::new();
    flatten(&got["data"], &mut data);
    let want: Vec<i64> = v_values().iter().map(|x| coef * x + constant).collect();
    assert_eq!(data, want);
}

#[test]
fn issue13_item10_flat_sum_of_10000_terms_in_process() {
    long_sum(None);
}

#[test]
fn issue13_item10_flat_sum_of_10000_terms_under_mpirun() {
    if !mpirun_available() {
        eprintln!("skipped: mpirun not available");
        return;
    }
    long_sum(Some(3));
}

#[test]
fn issue13_item10_real_nesting_is_still_limited() {
    let expr = format!("{}1{}", "(".repeat(300), ")".repeat(300));
    let out = tessera(None, &["eval", &expr]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("nested too deeply"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn issue13_item10_expression_may_start_with_minus() {
    for ranks in [None, Some(3)] {
        if ranks.is_some() && !mpirun_available() {
            continue;
        }
        let got = ok_json(&tessera(ranks, &["eval", "-arange(3)", "--json"]));
        assert_eq!(got["data"], serde_json::json!([0, -1, -2]));
        let got = ok_json(&tessera(
            ranks,
            &["eval", "--json", "-1 + ones(2, dtype='int64')"],
        ));
        assert_eq!(got["data"], serde_json::json!([0, 0]));
    }
    let out = tessera(None, &["explain", "-arange(4, chunks=2)"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Flags keep working around it.
    let out = tessera(None, &["eval", "-h"]);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stdout).contains("Usage"));
}

/// The issue: a 1 MB path was echoed whole. Paths, names and expressions in error
/// messages are shortened to about 200 characters, with their length.
#[test]
fn issue13_item10_long_user_strings_are_shortened_in_errors() {
    let long_dir = "d/".repeat(50_000);
    let cases: Vec<Vec<String>> = vec![
        vec![
            "eval".into(),
            "x".into(),
            "--open".into(),
            format!("x={long_dir}x.npy"),
        ],
        vec![
            "eval".into(),
            "x".into(),
            "--open".into(),
            format!("x={}:tas", common::cf("daily.nc")),
        ],
        vec!["eval".into(), "a".repeat(100_000)],
        vec![
            "eval".into(),
            format!("arange(3) + {}", "1".repeat(100_000)),
        ],
        vec![
            "eval".into(),
            "arange(3)".into(),
            "--to".into(),
            format!("/nonexistent/{long_dir}o.nc"),
        ],
        vec!["run".into(), format!("{long_dir}job.toml")],
        // Found by a hostile review: these echoed about 1000 characters.
        vec![
            "eval".into(),
            "arange(3)".into(),
            "--report".into(),
            format!("/nonexistent/{long_dir}r.json"),
        ],
        vec![
            "eval".into(),
            "arange(3)".into(),
            "--spill-dir".into(),
            format!("/nonexistent/{long_dir}"),
        ],
        vec!["report".into(), format!("/nonexistent/{long_dir}r.json")],
        vec![
            "gen".into(),
            "climate".into(),
            format!("/nonexistent/{long_dir}c.nc"),
        ],
    ];
    for (k, args) in cases.iter().enumerate() {
        let mut args = args.clone();
        if k == 1 {
            // A long variable name of a real file.
            args[3] = format!("x={}:{}", common::cf("daily.nc"), "v".repeat(100_000));
        }
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = tessera(None, &refs);
        assert!(!out.status.success(), "case {k} succeeded");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!err.contains("panicked"), "case {k}: {err}");
        assert!(
            err.chars().count() < 800,
            "case {k}: {} characters of error:\n{}",
            err.chars().count(),
            err.chars().take(600).collect::<String>()
        );
        assert!(err.contains("tessera: error"), "case {k}: {err}");
    }
}

/// NetCDF variable names follow netCDF-C's rules and are checked before any work: the
/// output file is never created.
#[test]
fn issue13_item10_output_variable_names_are_checked_before_any_work() {
    let dir = temp_dir("names");
    for (target, problem) in [
        ("o.nc:a/b", "'/'"),
        ("o.nc:x ", "space"),
        ("o.nc:-x", "starts with"),
        ("o.h5:a//b", "empty part"),
    ] {
        let (file, var) = target.split_once(':').expect("target");
        let path = dir.join(file);
        let to = format!("{}:{var}", path.display());
        let out = tessera(None, &["eval", "arange(3)", "--to", &to]);
        assert!(!out.status.success(), "{target}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(&format!("'{var}'")), "{target}: {err}");
        assert!(err.contains(problem), "{target}: {err}");
        assert!(!path.exists(), "{target}: the file was written");
    }
    // A valid name by netCDF-C's rules (leading digit, '.', '-', non-ASCII) is written.
    let path = dir.join("ok.nc");
    let to = format!("{}:2m_t.é-x", path.display());
    let out = tessera(None, &["eval", "arange(3)", "--to", &to]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(path.exists());

    // Job outputs: refused while the job is checked, naming file, line and key.
    std::fs::create_dir_all(dir.join("data")).expect("data dir");
    let job = dir.join("bad.toml");
    std::fs::write(
        &job,
        "[arrays]\ny = \"arange(4)\"\n\n[[outputs]]\narray = \"y\"\nfile = \"data/y.nc\"\nvariable = \"y/z\"\n",
    )
    .expect("job");
    for ranks in [None, Some(3)] {
        if ranks.is_some() && !mpirun_available() {
            continue;
        }
        let out = tessera(ranks, &["run", &job.display().to_string()]);
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("outputs[0].variable"), "{err}");
        assert!(err.contains("'y/z'"), "{err}");
        assert_eq!(err.matches("tessera: error").count(), 1, "{err}");
        assert!(!dir.join("data/y.nc").exists());
    }
}

/// Issue #13 item 14, found while fuzzing the job checker: the cycle check walked the
/// arrays' references recursively, so a job chaining 100,000 arrays overflowed the stack
/// (an abort, before any message). The walk is iterative; the chain evaluates.
#[test]
fn issue13_item14_job_chaining_100000_arrays() {
    let dir = temp_dir("chain");
    let n = 100_000;
    let mut text = String::from("[arrays]\na0 = \"arange(4)\"\n");
    for k in 1..n {
        text.push_str(&format!("a{k} = \"a{} + 1\"\n", k - 1));
    }
    text.push_str(&format!(
        "\n[[outputs]]\narray = \"a{}\"\nformat = \"json\"\n",
        n - 1
    ));
    let job = dir.join("chain.toml");
    std::fs::write(&job, text).expect("job");
    let out = tessera(None, &["run", &job.display().to_string(), "--quiet"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let want: Vec<i64> = (0..4).map(|k| k + n as i64 - 1).collect();
    let got: Vec<i64> = stdout
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l.trim()).ok())
        .find_map(|v| {
            v["data"]
                .as_array()
                .map(|d| d.iter().filter_map(|x| x.as_i64()).collect())
        })
        .unwrap_or_default();
    assert_eq!(got, want, "{stdout}");
}
