//! The real binary, in-process and under `mpirun -n 2` and `-n 4`, on a sample of the
//! numpy/dask oracle cases, plus failure behaviour (clear message, non-zero exit, no hang).

mod common;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_tessera");

fn mpirun_available() -> bool {
    Command::new("mpirun")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// Runs a command with a deadline so a hang fails the test instead of blocking CI.
fn run_with_timeout(mut cmd: Command, limit: Duration) -> Output {
    let start = Instant::now();
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    loop {
        if child.try_wait().expect("wait").is_some() {
            return child.wait_with_output().expect("output");
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("command did not finish within {limit:?}: {cmd:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn eval_cmd(ranks: Option<usize>, args: &[&str]) -> Command {
    let mut cmd = match ranks {
        None => {
            let mut c = Command::new(BIN);
            c.arg("eval");
            c
        }
        Some(n) => {
            let mut c = Command::new("mpirun");
            c.args(["-n", &n.to_string(), "--oversubscribe", BIN, "eval"]);
            c.env("OMPI_ALLOW_RUN_AS_ROOT", "1")
                .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
            c
        }
    };
    cmd.args(args);
    cmd.current_dir(common::oracle_dir());
    cmd
}

fn check_sample(ranks: Option<usize>, every: usize) {
    let cases = common::cases();
    let mut failures = Vec::new();
    let mut ran = 0;
    for (i, case) in cases.iter().enumerate() {
        let name = case["name"].as_str().unwrap_or("?");
        if i % every != 0 || common::is_known_departure(name) {
            continue;
        }
        ran += 1;
        let expr = case["expr"].as_str().unwrap_or("");
        let mut args: Vec<String> = vec![expr.to_string(), "--json".into()];
        if let Some(opens) = case["opens"].as_object() {
            for (n, p) in opens {
                args.push("--open".into());
                args.push(format!("{n}={}", p.as_str().unwrap_or("")));
            }
        }
        let argv: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        let out = run_with_timeout(eval_cmd(ranks, &argv), Duration::from_secs(60));
        let stdout = String::from_utf8_lossy(&out.stdout);
        if case["error"].is_null() {
            if !out.status.success() {
                failures.push(format!(
                    "{name}: failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                        .lines()
                        .next()
                        .unwrap_or("")
                ));
                continue;
            }
            let lines: Vec<&str> = stdout.lines().filter(|l| !l.trim().is_empty()).collect();
            if lines.len() != 1 {
                failures.push(format!(
                    "{name}: expected exactly one line of output, got {}",
                    lines.len()
                ));
                continue;
            }
            match serde_json::from_str(lines[0]) {
                Ok(got) => {
                    if let Err(e) = common::compare(case, &got) {
                        failures.push(format!("{name}: {e}"));
                    }
                }
                Err(e) => failures.push(format!("{name}: output is not JSON: {e}")),
            }
        } else if out.status.success() {
            failures.push(format!("{name}: expected a non-zero exit"));
        }
    }
    assert!(ran > 10);
    assert!(
        failures.is_empty(),
        "{:?} failures:\n{}",
        ranks,
        failures.join("\n")
    );
}

#[test]
fn oracle_sample_in_process_binary() {
    check_sample(None, 7);
}

#[test]
fn oracle_sample_mpirun_4() {
    assert!(
        mpirun_available(),
        "mpirun not found: install openmpi-bin (README.md, .ci/run)"
    );
    check_sample(Some(4), 13);
}

#[test]
fn oracle_sample_mpirun_2() {
    assert!(
        mpirun_available(),
        "mpirun not found: install openmpi-bin (README.md, .ci/run)"
    );
    check_sample(Some(2), 29);
}

#[test]
fn task_failure_names_task_and_rank_and_exits_nonzero() {
    for ranks in [None, Some(4)] {
        if ranks.is_some() && !mpirun_available() {
            panic!("mpirun not found");
        }
        let out = run_with_timeout(
            eval_cmd(ranks, &["arange(6, chunks=2) ** -1"]),
            Duration::from_secs(60),
        );
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("failed on worker rank"), "{err}");
        assert!(err.contains("negative integer powers"), "{err}");
        assert!(err.contains("elementwise-"), "{err}");
    }
}

#[test]
fn bad_input_is_refused_before_work() {
    let cases = [
        ("ones(3) + ones(4)", "broadcast"),
        ("ones((3, 4), chunks=(2,))", "chunks"),
        ("frobnicate(3)", "not defined"),
        ("ones(3)[7]", "out of bounds"),
        ("ones(3).sum(axis=2)", "out of bounds"),
        ("ones(4).reshape((3, 2))", "cannot reshape"),
        ("ones(3, chunks=((1, 1),))", "add up"),
        ("ones((2, 3)", "expected"),
    ];
    for (expr, needle) in cases {
        let out = run_with_timeout(eval_cmd(None, &[expr]), Duration::from_secs(30));
        assert!(!out.status.success(), "{expr}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{expr}: {err}");
        assert!(!err.contains("panicked"), "{expr}: {err}");
    }
    if mpirun_available() {
        let out = run_with_timeout(
            eval_cmd(Some(4), &["ones(3) + ones(4)"]),
            Duration::from_secs(60),
        );
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            err.matches("broadcast").count(),
            1,
            "printed once, by rank 0: {err}"
        );
    }
}

#[test]
fn no_compute_prints_metadata_only() {
    let out = run_with_timeout(
        eval_cmd(
            None,
            &[
                "ones((1000000, 1000000), chunks=1000).sum()",
                "--json",
                "--no-compute",
            ],
        ),
        Duration::from_secs(30),
    );
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(v["shape"], serde_json::json!([]));
    assert!(v.get("data").is_none());
}
