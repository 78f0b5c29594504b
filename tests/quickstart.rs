//! `examples/quickstart.rs` (the typed API of README's "From Rust" section, each result
//! checked inside against ndarray) runs in-process and under `mpirun -n 3`.

mod common;

use common::output_within_deadline;
use std::path::PathBuf;
use std::process::Command;

/// The example's executable, built beside this test by `cargo test`.
fn example() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target profile directory");
    let path = dir.join("examples").join("quickstart");
    assert!(
        path.is_file(),
        "{} missing: cargo test builds examples (run the suite with scripts/test.sh)",
        path.display()
    );
    path
}

fn check(out: std::process::Output, how: &str) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "quickstart {how} failed: {}{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("all equal to ndarray's"), "{how}: {stdout}");
}

#[test]
fn quickstart_runs_in_process() {
    let out = output_within_deadline(Command::new(example()), "quickstart in-process");
    check(out, "in-process");
}

#[test]
fn quickstart_runs_under_mpirun() {
    let mut cmd = Command::new("mpirun");
    cmd.args(["-n", "3", "--oversubscribe"])
        .arg(example())
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
    let out = output_within_deadline(cmd, "quickstart under mpirun -n 3");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(stdout.contains("(mpi, 2 workers)"), "{stdout}");
    check(out, "under mpirun -n 3");
}
