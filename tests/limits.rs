//! Issue #13 items 4, 5 and 6 through the real binary: planning costs what the expression
//! costs, not what its blocks would (`--no-compute` and `explain` of 10**12 blocks answer
//! at once in a few MB); a computation with more blocks than the scheduler takes is refused
//! before it starts with the count, the limit and a chunking that fits; shapes, sizes and
//! slice steps near the integer limits give numpy's answer or a clear error; `--workers`
//! is bounded. Every run has a hang-detecting deadline (tests/common), and runs that must
//! stay small are measured with `/usr/bin/time` (peak RSS), when the machine has it.

mod common;

use common::{mpirun_available, ok_json, output_within_deadline, tessera};
use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_tessera");

/// Peak RSS a planning-only run may reach: the binary and its runtime take ~20 MB; the
/// defects took 8 TB (an allocation abort) and 6.3 GB.
const PLANNING_RSS_KB: u64 = 150 * 1024;

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tessera-limits-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// `tessera ARGS` under `/usr/bin/time`, with `env` set: the output (time's line removed
/// from stderr) and the peak RSS in KiB (`None` without `/usr/bin/time`). Killed after
/// 120 s (a hang fails the test).
fn measured(args: &[&str], env: &[(&str, &str)]) -> (Output, Option<u64>) {
    let timed = std::path::Path::new("/usr/bin/time").exists();
    let mut cmd = if timed {
        let mut c = Command::new("/usr/bin/time");
        c.args(["-f", "RSS_KB=%M", BIN]);
        c
    } else {
        eprintln!("/usr/bin/time not found: peak memory not checked");
        Command::new(BIN)
    };
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut out = output_within_deadline(cmd, &format!("tessera {args:?}"));
    let mut rss = None;
    if timed {
        let text = stderr(&out);
        let mut kept = Vec::new();
        for line in text.lines() {
            match line.strip_prefix("RSS_KB=") {
                Some(v) => rss = v.trim().parse().ok(),
                None => kept.push(line),
            }
        }
        out.stderr = kept.join("\n").into_bytes();
    }
    (out, rss)
}

fn assert_small(args: &[&str], rss: Option<u64>) {
    if let Some(kb) = rss {
        assert!(
            kb < PLANNING_RSS_KB,
            "tessera {args:?} peaked at {kb} KiB (limit {PLANNING_RSS_KB} KiB)"
        );
    }
}

/// A clean refusal: non-zero exit 1 (not an abort's 134 or a panic's 101), no panic text.
fn assert_refused(o: &Output, what: &str) -> String {
    let err = stderr(o);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{what}: want exit 1, got {:?}: {err}",
        o.status
    );
    assert!(
        !err.contains("panicked") && !err.contains("memory allocation"),
        "{what}: {err}"
    );
    err
}

#[test]
fn no_compute_of_a_trillion_blocks_plans_in_closed_form() {
    // issue #13 item 4: "ones(10**12, chunks=1) --no-compute aborts (exit 134, memory
    // allocation of 8000000000000 bytes failed)".
    let args = ["eval", "ones(10**12, chunks=1)", "--no-compute"];
    let (o, rss) = measured(&args, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("shape=[1000000000000]") && text.contains("1000000000000 blocks"),
        "{text}"
    );
    assert!(text.contains("1x1000000000000"), "{text}");
    assert_small(&args, rss);

    // --json: the long regular axis in closed form, a short one as dask's list.
    let args = [
        "eval",
        "ones((10**12, 6), chunks=(1, 4))",
        "--no-compute",
        "--json",
    ];
    let (o, rss) = measured(&args, &[]);
    let v = ok_json(&o);
    assert_eq!(v["shape"], serde_json::json!([1_000_000_000_000u64, 6]));
    assert_eq!(
        v["chunks"],
        serde_json::json!([{"size": 1, "blocks": 1_000_000_000_000u64, "last": 1}, [4, 2]])
    );
    assert_small(&args, rss);
}

/// issue #13 item 4: "`ones((10**6,10**6), chunks=(1,7)).reshape((10**12,)) --no-compute`
/// grows to 24 GB and is OOM-killed; (10**4,10**4) takes 5.3 s and 2.3 GB; (3000,3000)
/// prints a chunk list of 9 million 7s". Reshape plans its chunks in closed form: the
/// merge that would list an irregular pattern of more blocks than the limit makes the
/// trailing axis whole instead (a regular output axis, one block per row).
#[test]
fn reshape_plans_in_closed_form_whatever_the_blocks() {
    for (n, blocks) in [
        ("10**6", "1000000 blocks"),
        ("10**4", "10000 blocks"),
        ("3000", "3000 blocks"),
    ] {
        let expr = format!("ones(({n}, {n}), chunks=(1, 7)).reshape((({n})**2,))");
        let args = ["eval", expr.as_str(), "--no-compute"];
        let started = std::time::Instant::now();
        let (o, rss) = measured(&args, &[]);
        assert!(o.status.success(), "{expr}: {}", stderr(&o));
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{expr} took {:?}",
            started.elapsed()
        );
        let text = stdout(&o);
        assert!(text.contains(blocks), "{expr}: {text}");
        assert!(text.len() < 1000, "{expr} printed {} bytes", text.len());
        assert_small(&args, rss);
    }
    // A split whose halving would list more blocks than the limit stays closed-form too.
    let args = [
        "eval",
        "ones((10**9, 10**9), chunks=(10**5, 10**5)).reshape((10**18,))",
        "--no-compute",
    ];
    let (o, rss) = measured(&args, &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("shape=[1000000000000000000]"));
    assert_small(&args, rss);
    // Few blocks: the plan that moves nothing and the values are unchanged.
    let o = tessera(
        None,
        &[
            "eval",
            "arange(12, chunks=12).reshape((3, 4))[1:, ::3].sum()",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).starts_with("30"), "{}", stdout(&o));
}

/// issue #13 item 4: refusals of one axis' blocks (here slicing `ones(10**12, chunks=1)`
/// backwards) carry the count, the limit and a block size that fits.
#[test]
fn refusing_one_axis_of_too_many_blocks_suggests_a_chunking() {
    let args = ["eval", "ones(10**12, chunks=1)[::-1]", "--no-compute"];
    let (o, rss) = measured(&args, &[]);
    let err = assert_refused(&o, "reversed slice");
    assert!(
        err.contains("1000000000000 blocks")
            && err.contains("limit of 1000000")
            && err.contains("chunks of 1000000 along that axis"),
        "{err}"
    );
    assert_small(&args, rss);
}

#[test]
fn no_compute_of_a_reduction_over_1e30_elements_is_instant() {
    // issue #13 item 4: "ones((10**10,)*3).sum() --no-compute takes 26 s and 6.3 GB" (the
    // language has no tuple repetition, so the shape is written out).
    let args = [
        "eval",
        "ones((10**10, 10**10, 10**10)).sum()",
        "--no-compute",
        "--json",
    ];
    let (o, rss) = measured(&args, &[]);
    let v = ok_json(&o);
    assert_eq!(v["shape"], serde_json::json!([]));
    assert_eq!(v["dtype"], "float64");
    assert_eq!(v["chunks"], serde_json::json!([]));
    assert_small(&args, rss);
    // The operand itself: auto chunks (128 MiB blocks) over more blocks than a u64 counts.
    let (o, rss) = measured(
        &["eval", "ones((10**10, 10**10, 10**10))", "--no-compute"],
        &[],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stdout(&o).contains("shape=[10000000000, 10000000000, 10000000000]"));
    assert_small(&args, rss);
}

#[test]
fn explain_of_too_many_blocks_is_refused_with_a_chunking_that_fits() {
    // issue #13 item 4: "`explain` aborts likewise".
    let args = ["explain", "ones(10**12, chunks=1)"];
    let (o, rss) = measured(&args, &[]);
    let err = assert_refused(&o, "explain");
    assert!(err.contains("1000000000000 blocks"), "{err}");
    assert!(err.contains("limit of 1000000"), "{err}");
    assert!(err.contains("chunks=(1000000,)"), "{err}");
    assert_small(&args, rss);
    let (o, rss) = measured(&["explain", "ones((10**10, 10**10, 10**10)).sum()"], &[]);
    let err = assert_refused(&o, "explain of a 3-d sum");
    assert!(err.contains("--max-blocks"), "{err}");
    assert_small(&args, rss);
}

#[test]
fn computing_too_many_blocks_is_refused_before_it_starts() {
    let args = ["eval", "ones(10**12, chunks=1).sum()"];
    let (o, rss) = measured(&args, &[]);
    let err = assert_refused(&o, "eval");
    assert!(
        err.contains("1000000000000 blocks")
            && err.contains("limit of 1000000")
            && err.contains("chunks=(1000000,)"),
        "{err}"
    );
    assert_small(&args, rss);

    // Writing: refused before the file exists (no half-written output).
    let dir = scratch("write");
    let target = format!("{}:v", dir.join("out.nc").display());
    let o = tessera(None, &["eval", "ones(10**12, chunks=1)", "--to", &target]);
    assert_refused(&o, "eval --to");
    let left: Vec<_> = std::fs::read_dir(&dir).expect("scratch").collect();
    assert!(left.is_empty(), "files left behind: {left:?}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn computing_too_many_blocks_is_refused_under_mpirun() {
    if !mpirun_available() {
        eprintln!("mpirun not found: skipping");
        return;
    }
    let o = tessera(Some(3), &["eval", "ones(10**12, chunks=1).sum()"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        err.matches("1000000000000 blocks").count(),
        1,
        "said once, by rank 0: {err}"
    );
}

#[test]
fn the_block_limit_is_configurable_and_its_suggestion_fits() {
    // --max-blocks and TESSERA_MAX_BLOCKS; the suggested chunking, taken as is, runs.
    let (o, _) = measured(
        &["eval", "arange(100, chunks=1).sum()", "--max-blocks", "30"],
        &[],
    );
    let err = assert_refused(&o, "--max-blocks 30");
    assert!(
        err.contains("100 blocks") && err.contains("limit of 30"),
        "{err}"
    );
    let fit = err
        .split("chunks=")
        .nth(1)
        .and_then(|r| r.split(" gives").next())
        .expect("a suggested chunking")
        .to_string();
    let expr = format!("arange(100, chunks={fit}).sum()");
    let (o, _) = measured(&["eval", &expr, "--max-blocks", "30", "--json"], &[]);
    assert_eq!(ok_json(&o)["data"], serde_json::json!([4950]));

    let (o, _) = measured(
        &["eval", "arange(100, chunks=1).sum()"],
        &[("TESSERA_MAX_BLOCKS", "30")],
    );
    let err = assert_refused(&o, "TESSERA_MAX_BLOCKS=30");
    assert!(err.contains("limit of 30"), "{err}");
    let (o, _) = measured(
        &["eval", "arange(100, chunks=1).sum()", "--json"],
        &[("TESSERA_MAX_BLOCKS", "100")],
    );
    assert_eq!(ok_json(&o)["data"], serde_json::json!([4950]));
    let (o, _) = measured(&["eval", "1"], &[("TESSERA_MAX_BLOCKS", "many")]);
    let err = assert_refused(&o, "a bad TESSERA_MAX_BLOCKS");
    assert!(err.contains("TESSERA_MAX_BLOCKS"), "{err}");
}

/// `arange(10)[START:STOP:STEP]` and what numpy 2.4 gives (generated with numpy:
/// `np.arange(10)[slice(start, stop, step)].tolist()`).
const NUMPY_SLICES: &[(&str, &[i64])] = &[
    ("::9223372036854775806", &[0]),
    ("::-9223372036854775807", &[9]),
    ("::9223372036854775807", &[0]),
    ("3::9223372036854775807", &[3]),
    ("-2::-9223372036854775807", &[8]),
    ("::4611686018427387904", &[0]),
    ("1::9223372036854775806", &[1]),
    (":5:-9223372036854775807", &[9]),
    (
        "-9223372036854775807:9223372036854775807:9223372036854775807",
        &[0],
    ),
    (
        "9223372036854775807:-9223372036854775807:-9223372036854775807",
        &[9],
    ),
    ("9223372036854775807::1", &[]),
];

fn check_numpy_slices(ranks: Option<usize>) {
    for (sl, want) in NUMPY_SLICES {
        for chunks in ["", ", chunks=3"] {
            let expr = format!("arange(10{chunks})[{sl}]");
            let o = tessera(ranks, &["eval", &expr, "--json"]);
            let v = ok_json(&o);
            assert_eq!(
                v["data"],
                serde_json::json!(want),
                "{expr} (ranks {ranks:?})"
            );
        }
    }
    let o = tessera(ranks, &["eval", "arange(10)[::0]"]);
    let err = assert_refused(&o, "step 0");
    assert!(err.contains("slice step cannot be zero"), "{err}");
}

#[test]
fn slice_steps_near_i64_max_match_numpy() {
    // issue #13 item 5: "arange(10)[::9223372036854775806] is [0], [::-9223372036854775807]
    // is [9]" in numpy; Tessera returned [].
    check_numpy_slices(None);
}

#[test]
fn slice_steps_near_i64_max_match_numpy_under_mpirun() {
    if !mpirun_available() {
        eprintln!("mpirun not found: skipping");
        return;
    }
    check_numpy_slices(Some(3));
}

/// A `.npy` file whose header declares `shape` of float64 and carries `data` bytes.
fn npy(path: &std::path::Path, shape: &str, data: usize) {
    let mut header = format!("{{'descr': '<f8', 'fortran_order': False, 'shape': {shape}, }}");
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend(std::iter::repeat_n(0u8, data));
    std::fs::write(path, bytes).expect("write .npy");
}

#[test]
fn npy_shape_whose_byte_size_wraps_is_refused() {
    // issue #13 item 5: "a .npy shape whose byte size wraps passes the truncation check and
    // panics a worker". 2**61 * 8 elements of 8 bytes is 2**67 bytes: 0 after wrapping.
    let dir = scratch("npy");
    let wrap = dir.join("wrap.npy");
    npy(&wrap, "(2305843009213693952, 8)", 16);
    let huge_dim = dir.join("dim.npy");
    npy(&huge_dim, "(0, 18446744073709551615)", 0);
    let bind = format!("x={}", wrap.display());
    for ranks in [None, Some(3)] {
        if ranks.is_some() && !mpirun_available() {
            eprintln!("mpirun not found: skipping the MPI run");
            continue;
        }
        let o = tessera(ranks, &["eval", "x.sum()", "--open", &bind]);
        let err = stderr(&o);
        assert!(!o.status.success(), "{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            err.contains("wrap.npy") && err.contains("too big"),
            "names the file and the problem: {err}"
        );
    }
    let bind = format!("x={}", huge_dim.display());
    let o = tessera(None, &["eval", "x", "--open", &bind]);
    let err = assert_refused(&o, "a dimension beyond i64");
    assert!(
        err.contains("dim.npy") && err.contains("maximum allowed dimension"),
        "{err}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn shapes_and_sizes_near_the_limits_are_errors_not_wraps() {
    // numpy: "Maximum allowed dimension exceeded"; reshape of a size that only matches
    // after wrapping must not pass.
    let o = tessera(None, &["eval", "ones(2**63)", "--no-compute"]);
    let err = assert_refused(&o, "a dimension of 2**63");
    assert!(err.contains("too large"), "{err}");
    let o = tessera(
        None,
        &[
            "eval",
            "ones((2**32, 2**32), chunks=2**31).reshape((0,))",
            "--no-compute",
        ],
    );
    // 2**64 elements wrapped to 0, which matched the requested shape (0,).
    let err = assert_refused(&o, "reshape of 2**64 elements into 0");
    assert!(err.contains("reshape"), "{err}");
    let o = tessera(
        None,
        &[
            "eval",
            "concatenate([ones(2**62, chunks=2**60), ones(2**62, chunks=2**60)])",
            "--no-compute",
        ],
    );
    let err = assert_refused(&o, "a concatenation longer than 2**63 - 1");
    assert!(err.contains("overflow"), "{err}");
}

#[test]
fn workers_are_bounded_with_a_clear_error() {
    // issue #13 item 6: "--workers 100000 runs away (4 GB, still going after 30 s)".
    let args = ["eval", "ones(10).sum()", "--workers", "100000"];
    let (o, rss) = measured(&args, &[]);
    let err = assert_refused(&o, "--workers 100000");
    assert!(
        err.contains("100000") && err.contains("1024") && err.contains("mpirun"),
        "names the request, the limit and the way to more workers: {err}"
    );
    assert_small(&args, rss);
    // The limit itself is allowed.
    let o = tessera(
        None,
        &["eval", "ones(10).sum()", "--workers", "1024", "--json"],
    );
    assert_eq!(ok_json(&o)["data"], serde_json::json!([10.0]));
}

#[test]
fn blocks_and_results_larger_than_memory_are_refused_before_they_start() {
    // Within the block limit, but one block (8e13 bytes) or the gathered result (8e12
    // bytes) could never be allocated: refused up front, not by an allocation abort.
    let args = ["eval", "ones(10**13, chunks=-1).sum()"];
    let (o, rss) = measured(&args, &[]);
    let err = assert_refused(&o, "one block of 80 TB");
    assert!(
        err.contains("80000000000000 bytes") && err.contains("memory"),
        "{err}"
    );
    assert_small(&args, rss);
    let args = ["eval", "ones(10**12, chunks=10**7)"];
    let (o, rss) = measured(&args, &[]);
    let err = assert_refused(&o, "gathering 8 TB");
    assert!(
        err.contains("8000000000000 bytes") && err.contains("--to"),
        "{err}"
    );
    assert_small(&args, rss);
}
