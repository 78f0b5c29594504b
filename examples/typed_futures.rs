//! Typed futures: plain Rust functions as tasks, any serde type as argument and result.
//! `cargo run --release --example typed_futures` (in-process), or
//! `mpirun -n 3 target/release/examples/typed_futures` (rank 0 submits, ranks 1–2 run the
//! tasks). Every result is checked on rank 0 against the same computation done here.
//!
//! With `TESSERA_EXAMPLE_MISMATCH=1` under mpirun, rank 2 registers another function under
//! one of the names, and the example checks that submit refuses it, naming the rank.

use serde::{Deserialize, Serialize};
use tessera::futures::{as_completed, task, TaskFuture};
use tessera::prelude::*;

/// A result richer than a number.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Summary {
    n: usize,
    mean: f64,
    max: f64,
}

fn summarize(xs: &[f64]) -> Summary {
    Summary {
        n: xs.len(),
        mean: xs.iter().sum::<f64>() / xs.len().max(1) as f64,
        max: xs.iter().copied().fold(f64::NEG_INFINITY, f64::max),
    }
}

fn check(ok: bool, what: &str) -> Result<()> {
    if ok {
        Ok(())
    } else {
        Err(Error::Future(format!("check failed: {what}")))
    }
}

fn main() -> Result<()> {
    // Registered on every rank, before the client starts.
    let add = task("ex-add", |(a, b): (i64, i64)| Ok(a + b));
    let square = task("ex-square", |(x,): (i64,)| Ok(x * x));
    let summary = task("ex-summary", |(xs,): (Vec<f64>,)| Ok(summarize(&xs)));
    let scale = task("ex-scale", |(s, k): (Summary, f64)| {
        Ok(Summary {
            n: s.n,
            mean: s.mean * k,
            max: s.max * k,
        })
    });
    let checked_sqrt = task("ex-sqrt", |(x,): (f64,)| {
        if x < 0.0 {
            Err(format!("cannot take the square root of {x}").into())
        } else {
            Ok(x.sqrt())
        }
    });
    let mismatch = std::env::var_os("TESSERA_EXAMPLE_MISMATCH").is_some();
    let mixed = task("ex-mixed", |(x,): (i64,)| Ok(x));
    if mismatch && tessera::comm::launch::rank() == 2 {
        // A program that registers something else on one rank: refused at submit.
        task("ex-mixed", |(x,): (f64,)| Ok(x as i64));
    }

    let client = Client::from_env()?;

    if mismatch {
        let e = client
            .submit(&mixed, (1,))
            .expect_err("a function registered differently on rank 2 is refused");
        let msg = e.to_string();
        check(
            msg.contains("ex-mixed") && msg.contains("rank 2") && msg.contains("f64"),
            &msg,
        )?;
        println!("typed futures: a mismatched registration is refused: {msg}");
        return Ok(());
    }

    // Futures as arguments of other tasks; map over one-argument tasks.
    let three = client.submit(&add, (1, 2))?;
    let nine = client.submit(&square, (&three,))?;
    let twelve: TaskFuture<i64> = client.submit(&add, (&three, &nine))?;
    check(twelve.result()? == 12, "1 + 2, squared, plus 3")?;
    let squares = client.map(&square, 1..=100i64)?;
    let want: Vec<i64> = (1..=100i64).map(|x| x * x).collect();
    check(client.gather(&squares)? == want, "map of squares")?;

    // A struct as a result and as an argument; a scattered vector as an argument.
    let xs: Vec<f64> = (0..1000).map(|i| (i as f64 * 0.37).sin()).collect();
    let data = client.scatter(vec![xs.clone()])?;
    let s = client.submit(&summary, (&data[0],))?;
    let scaled = client.submit(&scale, (&s, 2.0))?;
    let direct = summarize(&xs);
    check(s.result()? == direct, "summary of scattered data")?;
    let got = scaled.result()?;
    check(
        got.n == direct.n && got.mean == direct.mean * 2.0 && got.max == direct.max * 2.0,
        "scaled summary",
    )?;

    // Completion order, typed.
    let mut total = 0;
    for f in &as_completed(client.map(&square, 1..=10i64)?) {
        total += f.result()?;
    }
    check(total == 385, "as_completed over squares")?;

    // A failing task names its key and rank; it can be run again here.
    let bad = client.submit(&checked_sqrt, (-4.0,))?;
    let e = bad.result().expect_err("negative square root");
    check(
        e.to_string().contains("ex-sqrt") && e.to_string().contains("-4"),
        &e.to_string(),
    )?;
    let again = client
        .recreate_error_locally(&bad)
        .expect_err("fails again");
    check(again.to_string().contains("-4"), &again.to_string())?;

    // A function registered after the start is refused at submit, in-process as under
    // mpirun (where the workers, started before it, could not run it).
    let late = task("ex-late", |(x,): (i64,)| Ok(x));
    let e = client.submit(&late, (1,)).expect_err("late registration");
    check(
        e.to_string().contains("ex-late") && e.to_string().contains("when the runtime started"),
        &e.to_string(),
    )?;

    println!(
        "typed futures ({}, {} workers): 1+2 squared plus 3 = 12, mean {:.6}, all checks passed",
        client.transport_kind(),
        client.workers(),
        direct.mean
    );
    Ok(())
}
