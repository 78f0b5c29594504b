//! Shared helpers: the numpy/dask oracle cases and comparison of results against them.
#![allow(dead_code)]

pub mod climjob;

use serde_json::Value;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_tessera");

/// Path of a small CF test file in `tests/data/cf/`.
pub fn cf(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/cf")
        .join(name)
        .display()
        .to_string()
}

pub fn oracle_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/oracle")
}

pub fn cases() -> Vec<Value> {
    let text = std::fs::read_to_string(oracle_dir().join("expected.json"))
        .expect("tests/oracle/expected.json");
    match serde_json::from_str(&text).expect("valid oracle JSON") {
        Value::Array(v) => v,
        _ => panic!("oracle JSON must be a list"),
    }
}

fn num(v: &Value) -> f64 {
    match v {
        Value::Bool(b) => *b as u8 as f64,
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::String(s) => match s.as_str() {
            "nan" => f64::NAN,
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            _ => f64::NAN,
        },
        _ => f64::NAN,
    }
}

/// Compares a result object `{shape, dtype, chunks?, data}` with an oracle case; returns a
/// description of the first difference.
pub fn compare(case: &Value, got: &Value) -> Result<(), String> {
    if case["shape"] != got["shape"] {
        return Err(format!(
            "shape {} != expected {}",
            got["shape"], case["shape"]
        ));
    }
    let note = case["note"].as_str().unwrap_or("");
    let want_dt = case["dtype"].as_str().unwrap_or("");
    let got_dt = got["dtype"].as_str().unwrap_or("");
    let float16 = want_dt == "float16" && got_dt == "float32";
    if want_dt != got_dt && !float16 {
        return Err(format!("dtype {got_dt} != expected {want_dt}"));
    }
    // dask keeps zero-length blocks after some slices; Tessera drops them. Compare the
    // non-empty blocks.
    let nonzero = |v: &Value| -> Value {
        match v {
            Value::Array(axes) => Value::Array(
                axes.iter()
                    .map(|a| match a {
                        Value::Array(c) => {
                            let nz: Vec<Value> = c
                                .iter()
                                .filter(|x| x.as_u64() != Some(0))
                                .cloned()
                                .collect();
                            Value::Array(if nz.is_empty() {
                                vec![Value::from(0)]
                            } else {
                                nz
                            })
                        }
                        other => other.clone(),
                    })
                    .collect(),
            ),
            other => other.clone(),
        }
    };
    if !case["chunks"].is_null() && nonzero(&case["chunks"]) != nonzero(&got["chunks"]) {
        return Err(format!(
            "chunks {} != expected {}",
            got["chunks"], case["chunks"]
        ));
    }
    let (w, g) = (case["data"].as_array(), got["data"].as_array());
    let (Some(w), Some(g)) = (w, g) else {
        return Err("missing data".into());
    };
    if w.len() != g.len() {
        return Err(format!("{} values != expected {}", g.len(), w.len()));
    }
    let is_float = want_dt.starts_with("float");
    let rtol = if want_dt == "float32" || float16 {
        2e-6
    } else {
        1e-9
    };
    let rtol = if float16 { 1e-3 } else { rtol };
    let _ = note;
    for (i, (a, b)) in w.iter().zip(g).enumerate() {
        let (x, y) = (num(a), num(b));
        let ok = if is_float {
            (x.is_nan() && y.is_nan())
                || x == y
                || (x - y).abs() <= rtol * x.abs().max(y.abs()) + 1e-12
        } else {
            a == b || x == y
        };
        if !ok {
            return Err(format!("value [{i}] = {b} != expected {a}"));
        }
    }
    Ok(())
}

/// Cases where Tessera departs from numpy/dask on purpose (documented in README.md).
pub const KNOWN_DEPARTURES: &[(&str, &str)] = &[
    (
        "error/random_not_supported",
        "random() is part of Tessera's language; dask has no such function",
    ),
    (
        "promo/uint64_big",
        "integer literals are limited to the int64 range",
    ),
    (
        "reduce/uint64_sum",
        "integer literals are limited to the int64 range",
    ),
    (
        "math/where_int8_vs_pyint_out_of_range",
        "an out-of-range Python int is an error, where numpy silently wraps",
    ),
];

pub fn is_known_departure(name: &str) -> bool {
    KNOWN_DEPARTURES.iter().any(|(n, _)| *n == name)
}

/// Runs `mpirun -n RANKS tessera self-test WHAT` and returns its standard output, failing
/// the test if the run fails.
pub fn mpirun_self_test(ranks: usize, what: &str) -> String {
    let out = std::process::Command::new("mpirun")
        .args([
            "-n",
            &ranks.to_string(),
            "--oversubscribe",
            env!("CARGO_BIN_EXE_tessera"),
            "self-test",
            what,
        ])
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
        .output()
        .expect("mpirun must be installed (README.md, .ci/run)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// True when `mpirun` can be started.
pub fn mpirun_available() -> bool {
    Command::new("mpirun")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

/// `tessera ARGS`, in-process or under `mpirun -n ranks`, killed after a deadline.
pub fn tessera(ranks: Option<usize>, args: &[&str]) -> Output {
    let mut cmd = match ranks {
        None => Command::new(BIN),
        Some(n) => {
            let mut c = Command::new("mpirun");
            c.args(["-n", &n.to_string(), "--oversubscribe", BIN])
                .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
                .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
            c
        }
    };
    cmd.args(args);
    output_within_deadline(cmd, &format!("tessera {args:?}"))
}

/// Runs `cmd` to completion with its output captured, killing it after 120 s (the test
/// then fails naming `what`). The pipes are drained while waiting (large outputs).
pub fn output_within_deadline(mut cmd: Command, what: &str) -> Output {
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let child = cmd.spawn().expect("spawn tessera");
    let pid = child.id();
    let (done_tx, done_rx) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if done_rx.recv_timeout(Duration::from_secs(120)).is_err() {
            let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
            return true;
        }
        false
    });
    let out = child.wait_with_output().expect("output");
    let _ = done_tx.send(());
    let killed = watchdog.join().unwrap_or(false);
    assert!(!killed, "{what} did not finish within 120 s");
    out
}

/// A 2 MB tmpfs mounted for a test (a disk that fills), unmounted on drop; `None` (the
/// test skips, saying why) where mounting is not permitted.
pub struct SmallDisk(pub PathBuf);

impl SmallDisk {
    pub fn mount(dir: &std::path::Path) -> Option<SmallDisk> {
        std::fs::create_dir_all(dir).expect("mount point");
        match Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
            .arg(dir)
            .output()
        {
            Ok(o) if o.status.success() => Some(SmallDisk(dir.to_path_buf())),
            Ok(o) => {
                eprintln!(
                    "cannot mount a small tmpfs (skipped): {}",
                    String::from_utf8_lossy(&o.stderr)
                );
                None
            }
            Err(e) => {
                eprintln!("cannot run mount (skipped): {e}");
                None
            }
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

pub fn ok_json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON object on stdout")
}
