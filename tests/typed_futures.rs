//! `examples/typed_futures.rs` (typed tasks: serde arguments and results, futures as
//! arguments, map/gather/scatter/as_completed, a failing task rerun here, a function
//! registered after the start refused at submit; every result checked inside) runs
//! in-process and under `mpirun -n 3`; under mpirun, a function registered differently on
//! one rank is refused at submit, naming that rank.

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
    let path = dir.join("examples").join("typed_futures");
    assert!(
        path.is_file(),
        "{} missing: cargo test builds examples (run the suite with scripts/test.sh)",
        path.display()
    );
    path
}

fn stdout_of(out: &std::process::Output, how: &str) -> String {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "typed_futures {how} failed: {}{}",
        stdout,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

fn mpirun() -> Command {
    let mut cmd = Command::new("mpirun");
    cmd.args(["-n", "3", "--oversubscribe"])
        .env("OMPI_ALLOW_RUN_AS_ROOT", "1")
        .env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
    cmd
}

#[test]
fn typed_futures_run_in_process() {
    let out = output_within_deadline(Command::new(example()), "typed_futures in-process");
    let stdout = stdout_of(&out, "in-process");
    assert!(stdout.contains("(in-process, 2 workers)"), "{stdout}");
    assert!(stdout.contains("all checks passed"), "{stdout}");
}

#[test]
fn typed_futures_run_under_mpirun() {
    let mut cmd = mpirun();
    cmd.arg(example());
    let out = output_within_deadline(cmd, "typed_futures under mpirun -n 3");
    let stdout = stdout_of(&out, "under mpirun -n 3");
    assert!(stdout.contains("(mpi, 2 workers)"), "{stdout}");
    assert!(stdout.contains("all checks passed"), "{stdout}");
}

#[test]
fn a_function_registered_differently_on_one_rank_is_refused_at_submit() {
    let mut cmd = mpirun();
    cmd.args(["-x", "TESSERA_EXAMPLE_MISMATCH"])
        .arg(example())
        .env("TESSERA_EXAMPLE_MISMATCH", "1");
    let out = output_within_deadline(cmd, "typed_futures with a mismatched registration");
    let stdout = stdout_of(&out, "with a mismatched registration");
    assert!(
        stdout.contains("'ex-mixed' is registered as fn(i64,) -> i64 here but as fn(f64,) -> i64 on worker rank 2"),
        "{stdout}"
    );
}
