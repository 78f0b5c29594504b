//! Job files end to end through the real binary: results against xarray's numbers (the
//! CF oracle), in-process and under `mpirun`; checkpoints and resumption; every kind of
//! bad input giving a clear error with no output left behind; `tessera submit` against a
//! missing, failing and fake `sbatch`; `tessera report --plot`.

mod common;

use common::climjob::{check_climatology_outputs, climatology_job};
use common::{mpirun_available, tessera};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tessera-jobs-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(d.join("out")).expect("temp dir");
    d
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn climatology_job_matches_xarray_in_process_and_under_mpirun() {
    let dir = temp_dir("clim");
    let job = climatology_job(&dir);
    let job = job.to_str().expect("utf-8");
    let report = dir.join("report.json");
    let out = tessera(
        None,
        &[
            "run",
            job,
            "--workers",
            "3",
            "--report",
            report.to_str().expect("path"),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    check_climatology_outputs(&dir, &stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("worker  tasks"), "summary table: {err}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&report).expect("report"))
        .expect("report json");
    assert!(r["tasks"].as_u64().unwrap_or(0) > 0);
    assert!(!r["timeline"].as_array().expect("timeline").is_empty());
    assert!(!r["memory"].as_array().expect("memory").is_empty());
    // The same again refuses to replace the outputs; with --overwrite, on MPI ranks.
    let again = tessera(None, &["run", job]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("already exists"),
        "{}",
        stderr(&again)
    );
    if mpirun_available() {
        let mpi = tessera(Some(3), &["run", job, "--overwrite", "--progress", "log"]);
        assert!(mpi.status.success(), "{}", stderr(&mpi));
        assert!(stderr(&mpi).contains("(mpi)"), "{}", stderr(&mpi));
        check_climatology_outputs(&dir, &stdout(&mpi));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn checkpoints_resume_and_edits_recompute_what_they_touch() {
    let dir = temp_dir("ckpt");
    let job = climatology_job(&dir);
    let ck = dir.join("ck");
    let args = |extra: &[&str]| {
        let mut a = vec![
            "run",
            job.to_str().expect("utf-8"),
            "--checkpoint",
            ck.to_str().expect("utf-8"),
        ];
        a.extend_from_slice(extra);
        a.iter().map(|s| s.to_string()).collect::<Vec<_>>()
    };
    let run = |extra: &[&str]| {
        let a = args(extra);
        let refs: Vec<&str> = a.iter().map(String::as_str).collect();
        tessera(None, &refs)
    };
    let first = run(&[]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(ck.join("manifest.json").is_file());
    assert!(ck.join("clim.nc").is_file(), "clim is an intermediate");
    let mtime = |p: &Path| {
        std::fs::metadata(p)
            .and_then(|m| m.modified())
            .expect("mtime")
    };
    let anom_time = mtime(&dir.join("out/anom.nc"));
    // A rerun (as after a requeue) takes everything from the checkpoint.
    let second = run(&[]);
    assert!(second.status.success(), "{}", stderr(&second));
    let log = stderr(&second);
    assert!(log.contains("clim: taken from the checkpoint"), "{log}");
    assert!(log.contains("already complete (checkpoint)"), "{log}");
    assert_eq!(mtime(&dir.join("out/anom.nc")), anom_time);
    check_climatology_outputs(&dir, &stdout(&second));
    // Editing the anomaly expression recomputes it, not the climatology.
    let text = std::fs::read_to_string(&job).expect("job");
    std::fs::write(
        &job,
        text.replace(
            "anom = 'tas.groupby(\"time.month\") - clim'",
            "anom = '(tas.groupby(\"time.month\") - clim) * 1'",
        ),
    )
    .expect("edit");
    let third = run(&[]);
    assert!(third.status.success(), "{}", stderr(&third));
    let log = stderr(&third);
    assert!(log.contains("clim: taken from the checkpoint"), "{log}");
    assert!(log.contains("anom -> "), "anom rewritten: {log}");
    assert!(log.contains("wrote"), "{log}");
    check_climatology_outputs(&dir, &stdout(&third));
    // A leftover temporary file of a killed writer is cleaned up by the next run.
    let stale = dir.join("out/.anom.nc.tessera-999999999.tmp");
    std::fs::write(&stale, b"partial").expect("stale");
    let fourth = run(&["--overwrite"]);
    assert!(fourth.status.success(), "{}", stderr(&fourth));
    assert!(!stale.exists(), "stale temp file removed");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Files in `dir/out` (outputs must stay absent after a failed run).
fn outputs(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.join("out"))
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn bad_jobs_are_clear_errors_and_write_nothing() {
    let dir = temp_dir("bad");
    let good = std::fs::read_to_string(climatology_job(&dir)).expect("job");
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "malformed",
            good.replace("[arrays]", "[arrays"),
            vec!["bad.toml", "line"],
        ),
        (
            "unknown key",
            good.replace("deflate = 4", "deflat = 4"),
            vec!["bad.toml", "unknown field `deflat`"],
        ),
        (
            "undefined reference",
            good.replace("- clim'", "- clmi'"),
            vec![
                "bad.toml:11",
                "arrays.anom",
                "'clmi' is not defined",
                "^^^^",
            ],
        ),
        (
            "cycle",
            good.replace(
                "clim = 'tas.groupby(\"time.month\").mean()'",
                "clim = 'anom.groupby(\"time.month\").mean()'",
            ),
            vec!["bad.toml:", "cycle", "clim -> anom -> clim"],
        ),
        (
            "missing input",
            good.replace("daily.nc", "no-such-file.nc"),
            vec!["bad.toml:5", "inputs.tas.file", "does not exist"],
        ),
        (
            "missing output directory",
            good.replace("out/anom.nc", "nodir/anom.nc"),
            vec!["bad.toml:", "outputs[1].file", "does not exist"],
        ),
        (
            "unknown method (found before any output is written)",
            good.replace("tas.weighted(", "tas.weightd("),
            vec!["bad.toml:", "arrays.series", "weightd"],
        ),
        (
            "shadowed built-in",
            good.replace("unused = ", "sum = "),
            vec!["bad.toml:", "arrays.sum", "built-in"],
        ),
        (
            "no outputs",
            good[..good.find("[[outputs]]").expect("outputs")].to_string(),
            vec!["bad.toml", "no [[outputs]]"],
        ),
        (
            "bad size",
            good.replace("[job]", "[runtime]\nmemory_limit = \"lots\"\n[job]"),
            vec!["bad.toml:", "runtime.memory_limit", "lots"],
        ),
    ];
    let bad = dir.join("bad.toml");
    for (what, text, needles) in cases {
        std::fs::write(&bad, text).expect("write");
        let out = tessera(None, &["run", bad.to_str().expect("utf-8")]);
        let err = stderr(&out);
        assert!(!out.status.success(), "{what}: should fail");
        assert!(!err.contains("panicked"), "{what}: {err}");
        for n in needles {
            assert!(err.contains(n), "{what}: '{n}' not in: {err}");
        }
        assert!(outputs(&dir).is_empty(), "{what}: left {:?}", outputs(&dir));
    }
    // Under mpirun every rank agrees and the error is said once.
    if mpirun_available() {
        std::fs::write(&bad, good.replace("- clim'", "- clmi'")).expect("write");
        let out = tessera(Some(3), &["run", bad.to_str().expect("utf-8")]);
        assert!(!out.status.success());
        assert_eq!(
            stderr(&out).matches("'clmi' is not defined").count(),
            1,
            "{}",
            stderr(&out)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn explain_prints_each_output_plan_and_computes_nothing() {
    let dir = temp_dir("explain");
    let job = climatology_job(&dir);
    let out = tessera(None, &["run", job.to_str().expect("utf-8"), "--explain"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    assert_eq!(text.matches("== outputs[").count(), 3, "{text}");
    assert!(text.contains("bytes moved"), "{text}");
    assert!(text.contains("not computed): unused"), "{text}");
    assert!(outputs(&dir).is_empty());
    let _ = std::fs::remove_dir_all(&dir);
}

/// A fake `sbatch` in a directory of its own, put first on PATH.
fn fake_sbatch(dir: &Path, body: &str) -> String {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("bin");
    let p = bin.join("sbatch");
    std::fs::write(&p, format!("#!/bin/sh\n{body}\n")).expect("sbatch");
    let _ = std::process::Command::new("chmod")
        .args(["+x"])
        .arg(&p)
        .status();
    format!("{}:/usr/bin:/bin", bin.display())
}

fn submit(path_env: &str, args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .arg("submit")
        .args(args)
        .env("PATH", path_env)
        .output()
        .expect("tessera submit")
}

#[test]
fn submit_writes_a_script_and_reports_sbatch_failures() {
    let dir = temp_dir("submit");
    let job = climatology_job(&dir);
    let job = job.to_str().expect("utf-8");
    let dry = submit(
        "/usr/bin:/bin",
        &[
            job,
            "--dry-run",
            "--nodes",
            "2",
            "--ntasks-per-node",
            "4",
            "--time",
            "00:30:00",
            "--partition",
            "debug",
            "--account",
            "climate",
            "--mem",
            "8G",
            "--checkpoint",
            "ck",
            "--setup",
            "module load openmpi",
        ],
    );
    assert!(dry.status.success(), "{}", stderr(&dry));
    let script = stdout(&dry);
    for want in [
        "#SBATCH --nodes=2",
        "#SBATCH --ntasks-per-node=4",
        "#SBATCH --time=00:30:00",
        "#SBATCH --partition=debug",
        "#SBATCH --account=climate",
        "#SBATCH --mem=8G",
        "#SBATCH --requeue",
        "#SBATCH --open-mode=append",
        "module load openmpi",
        "srun --mpi=pmix --kill-on-bad-exit=1 /",
        env!("CARGO_BIN_EXE_tessera"),
    ] {
        assert!(script.contains(want), "'{want}' not in:\n{script}");
    }
    assert!(!script.contains("{{"), "unfilled placeholder:\n{script}");
    // sbatch missing.
    let empty = dir.join("empty");
    std::fs::create_dir_all(&empty).expect("dir");
    let out = submit(empty.to_str().expect("utf-8"), &[job]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("sbatch not found"),
        "{}",
        stderr(&out)
    );
    // sbatch failing.
    let path = fake_sbatch(&dir, "echo 'sbatch: error: Invalid account' >&2; exit 1");
    let out = submit(&path, &[job, "--account", "nope"]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("Invalid account"), "{}", stderr(&out));
    // sbatch succeeding: its own line first, then the output file.
    let path = fake_sbatch(&dir, "cat > /dev/null; echo 'Submitted batch job 4242'");
    let out = submit(
        &path,
        &[job, "--output", dir.join("log-%j.out").to_str().expect("p")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let text = stdout(&out);
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("Submitted batch job 4242"));
    assert_eq!(
        lines.next().map(PathBuf::from),
        Some(dir.join("log-4242.out"))
    );
    // Bad settings never reach sbatch.
    for (args, needle) in [
        (vec![job, "--time", "1h"], "--time"),
        (vec![job, "--ntasks-per-node", "1"], "at least 2 ranks"),
    ] {
        let out = submit(&path, &args);
        assert!(!out.status.success());
        assert!(stderr(&out).contains(needle), "{}", stderr(&out));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn gen_and_report_plot() {
    let dir = temp_dir("gen");
    let nc = dir.join("t.nc");
    let out = tessera(
        None,
        &[
            "gen",
            "climate",
            nc.to_str().expect("p"),
            "--days",
            "60",
            "--grid",
            "10",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    let bad = tessera(
        None,
        &[
            "gen",
            "climate",
            nc.to_str().expect("p"),
            "--grid",
            "0.7",
            "--overwrite",
        ],
    );
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("0.7"), "{}", stderr(&bad));
    let report = dir.join("r.json");
    let expr = format!(
        "open(\"{}\", \"tas\").groupby(\"time.month\").mean()",
        nc.display()
    );
    let out = tessera(
        None,
        &["eval", &expr, "--report", report.to_str().expect("p")],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    for ext in ["svg", "html"] {
        let plot = dir.join(format!("plot.{ext}"));
        let out = tessera(
            None,
            &[
                "report",
                report.to_str().expect("p"),
                "--plot",
                plot.to_str().expect("p"),
            ],
        );
        assert!(out.status.success(), "{}", stderr(&out));
        let text = std::fs::read_to_string(&plot).expect("plot");
        assert!(text.contains("worker 1"), "{ext}");
    }
    let out = tessera(
        None,
        &["report", report.to_str().expect("p"), "--plot", "x.gif"],
    );
    assert!(!out.status.success());
    let _ = std::fs::remove_dir_all(&dir);
}
