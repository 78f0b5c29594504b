//! Scenarios that exercise the futures API end to end on whatever cluster this is
//! (in-process threads or MPI ranks). The test suite runs them in-process and, through the
//! hidden `tessera self-test futures`, under `mpirun -n 4`; each returns what it checked
//! as JSON and fails with a message naming what went wrong.

use crate::array::chunk::Chunk;
use crate::array::dtype::DType;
use crate::error::Error;
use crate::futures::{as_completed, register, Arg, FutureStatus, TaskFuture, Value};
use serde_json::{json, Value as Json};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use tessera::Client;

type Check = anyhow::Result<Json>;

fn int(v: &Value) -> anyhow::Result<i64> {
    v.as_i64()
        .ok_or_else(|| anyhow::anyhow!("expected an int, got {}", v.describe()))
}

fn ensure(ok: bool, what: impl FnOnce() -> String) -> anyhow::Result<()> {
    if ok {
        Ok(())
    } else {
        Err(anyhow::anyhow!(what()))
    }
}

/// Registers the functions the scenarios use (call on every rank before starting).
pub fn register_tasks() {
    register("st-inc", |a| Ok(Value::Int(int(&a[0])? + 1)));
    register("st-add", |a| Ok(Value::Int(int(&a[0])? + int(&a[1])?)));
    register("st-collatz", |a| {
        let n = int(&a[0])?;
        Ok(Value::Int(if n % 2 == 0 { n / 2 } else { 3 * n + 1 }))
    });
    register("st-sleep", |a| {
        std::thread::sleep(std::time::Duration::from_millis(int(&a[0])? as u64));
        Ok(a[0].clone())
    });
    register("st-spin", |a| {
        // Computes (no sleeping, no messages) for the given milliseconds.
        let until =
            std::time::Instant::now() + std::time::Duration::from_millis(int(&a[0])? as u64);
        let mut x = 1u64;
        while std::time::Instant::now() < until {
            for _ in 0..10_000 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
            }
        }
        std::hint::black_box(x);
        Ok(a[0].clone())
    });
    register("st-fragile", |a| {
        let n = int(&a[0])?;
        if n % 7 == 0 {
            return Err(format!("input {n} is a multiple of 7").into());
        }
        Ok(Value::Int(n * 10))
    });
    register("st-panicky", |a| {
        let n = int(&a[0])?;
        Ok(Value::Int(checked_reciprocal_scale(n)))
    });
    register("st-sum", |a| {
        let c = a[0].as_chunk().ok_or("st-sum wants an array")?;
        Ok(Value::Float(c.to_f64_vec().iter().sum()))
    });
    register("st-add-arrays", |a| {
        let (x, y) = match (a[0].as_chunk(), a[1].as_chunk()) {
            (Some(x), Some(y)) if x.shape == y.shape => (x.to_f64_vec(), y.to_f64_vec()),
            _ => return Err("st-add-arrays wants two arrays of one shape".into()),
        };
        let v: Vec<f64> = x.iter().zip(&y).map(|(p, q)| p + q).collect();
        Ok(Value::Array(Chunk::from_slice(
            DType::F64,
            &a[0].as_chunk().map(|c| c.shape.clone()).unwrap_or_default(),
            &v,
        )))
    });
    register("st-scale", |a| {
        let c = a[0].as_chunk().ok_or("st-scale wants an array")?;
        let k = a[1].as_f64().ok_or("st-scale wants a factor")?;
        let v: Vec<f64> = c.to_f64_vec().iter().map(|x| x * k).collect();
        Ok(Value::Array(Chunk::from_slice(DType::F64, &c.shape, &v)))
    });
}

#[inline(never)]
fn checked_reciprocal_scale(n: i64) -> i64 {
    if n == 0 {
        panic!("st-panicky cannot take 0");
    }
    1000 / n
}

/// Runs every scenario; the JSON names each one and what it measured.
pub fn run_all(client: &Client) -> Check {
    Ok(json!({
        "transport": client.transport_kind(),
        "workers": client.workers(),
        "submit_result": submit_result(client)?,
        "as_completed_adaptive": adaptive(client)?,
        "async_await": async_await(client)?,
        "scatter_gather": scatter_gather(client, 4 << 20)?,
        "cancel": cancel(client)?,
        "errors": errors(client)?,
        "refcount": refcount(client)?,
        "array_blocks": array_blocks(client)?,
        "stealing": stealing(client)?,
    }))
}

fn submit_result(c: &Client) -> Check {
    let a = c.submit("st-inc", tessera::args![1])?;
    let b = c.submit("st-add", tessera::args![&a, 10])?;
    ensure(int(&b.result()?)? == 12, || "inc(1) + 10 != 12".into())?;
    let fs = c.map("st-inc", 0..100i64)?;
    let got: Vec<i64> = c
        .gather(&fs)?
        .iter()
        .map(int)
        .collect::<anyhow::Result<_>>()?;
    ensure(got == (1..=100).collect::<Vec<i64>>(), || {
        format!("map(inc) gave {got:?}")
    })?;
    c.wait(&fs);
    ensure(fs.iter().all(TaskFuture::done), || {
        "wait returned early".into()
    })?;
    Ok(json!({"ok": true, "tasks": 102}))
}

/// Collatz sequences from 1..=24, one step per task: each finished step submits the next
/// (with the finished future as its argument) until the sequence reaches 1.
fn adaptive(c: &Client) -> Check {
    let starts: Vec<i64> = (1..=24).collect();
    let ac = as_completed(c.map("st-collatz", starts.iter().copied())?);
    let mut submitted = starts.len();
    let mut yielded = 0;
    let mut ended = 0;
    for f in &ac {
        yielded += 1;
        if int(&f.result()?)? != 1 {
            ac.add(c.submit("st-collatz", vec![Arg::from(&f)])?);
            submitted += 1;
        } else {
            ended += 1;
        }
    }
    let expected: usize = starts
        .iter()
        .map(|&n| {
            let (mut n, mut steps) = (n, 0);
            loop {
                n = if n % 2 == 0 { n / 2 } else { 3 * n + 1 };
                steps += 1;
                if n == 1 {
                    break steps;
                }
            }
        })
        .sum();
    ensure(
        yielded == submitted && submitted == expected && ended == starts.len(),
        || {
            format!("as_completed yielded {yielded} of {submitted} (expected {expected} steps, {ended} ends)")
        },
    )?;
    Ok(json!({"tasks": submitted, "yielded": yielded}))
}

/// A minimal executor: polls a future on this thread, parking between wake-ups.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    let mut f = std::pin::pin!(f);
    loop {
        if let Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park_timeout(std::time::Duration::from_millis(50));
    }
}

fn async_await(c: &Client) -> Check {
    let out = block_on(async {
        let a = c.submit("st-inc", tessera::args![41])?;
        let b = c.submit("st-add", tessera::args![&a, 100])?;
        let va = a.clone().await?;
        let vb = b.await?;
        let fs = c.map("st-inc", 0..10i64)?;
        let all = c.gather_async(&fs).await?;
        // as_completed as a Stream.
        let mut stream = as_completed(c.map("st-inc", 0..10i64)?);
        let mut n = 0;
        let mut sum = 0;
        while let Some(f) =
            std::future::poll_fn(|cx| futures_core::Stream::poll_next(Pin::new(&mut stream), cx))
                .await
        {
            sum += f.await?.as_i64().unwrap_or(0);
            n += 1;
        }
        Ok::<_, Error>((va, vb, all, n, sum))
    })?;
    let (va, vb, all, n, sum) = out;
    ensure(int(&va)? == 42 && int(&vb)? == 142, || {
        "await gave wrong values".into()
    })?;
    let all: Vec<i64> = all.iter().map(int).collect::<anyhow::Result<_>>()?;
    ensure(all == (1..=10).collect::<Vec<_>>(), || {
        format!("gather_async gave {all:?}")
    })?;
    ensure(n == 10 && sum == 55, || {
        format!("stream yielded {n} futures summing to {sum}")
    })?;
    Ok(json!({"ok": true}))
}

/// Large arrays scattered to workers, summed where they are, scaled, and gathered back
/// with their contents checked.
fn scatter_gather(c: &Client, elems: usize) -> Check {
    let nw = c.workers();
    let arrays: Vec<Value> = (0..2 * nw)
        .map(|k| {
            let v: Vec<f64> = (0..elems).map(|i| (i % 1000) as f64 + k as f64).collect();
            Value::Array(Chunk::from_slice(DType::F64, &[elems / 4, 4], &v))
        })
        .collect();
    let before = c.cluster_report()?;
    let futures = c.scatter(arrays.clone())?;
    let sums = futures
        .iter()
        .map(|f| c.submit("st-sum", vec![Arg::from(f)]))
        .collect::<tessera::Result<Vec<_>>>()?;
    let scaled = futures
        .iter()
        .map(|f| c.submit("st-scale", tessera::args![f, 2.0]))
        .collect::<tessera::Result<Vec<_>>>()?;
    let sums = c.gather(&sums)?;
    let back = c.gather(&futures)?;
    let doubled = c.gather(&scaled)?;
    for (k, a) in arrays.iter().enumerate() {
        ensure(back[k] == *a, || format!("array {k} came back different"))?;
        let want: f64 = a
            .as_chunk()
            .map(|x| x.to_f64_vec().iter().sum())
            .unwrap_or(0.0);
        ensure(sums[k].as_f64() == Some(want), || {
            format!("sum of array {k}: {:?} != {want}", sums[k])
        })?;
        let d = doubled[k]
            .as_chunk()
            .map(Chunk::to_f64_vec)
            .unwrap_or_default();
        let src = a.as_chunk().map(Chunk::to_f64_vec).unwrap_or_default();
        ensure(
            d.len() == src.len() && d.iter().zip(&src).all(|(x, y)| *x == 2.0 * y),
            || format!("array {k} scaled wrongly"),
        )?;
    }
    let after = c.cluster_report()?;
    let moved = after.bytes_moved - before.bytes_moved;
    let stolen = stolen_between(&before, &after);
    ensure(moved <= stolen * (elems as u64 * 8), || {
        format!("tasks on scattered data moved {moved} bytes with {stolen} stolen (they run where the data is unless stolen)")
    })?;
    Ok(
        json!({"arrays": arrays.len(), "bytes_each": elems * 8, "bytes_moved": moved, "stolen": stolen}),
    )
}

fn cancel(c: &Client) -> Check {
    let nw = c.workers();
    // Keep every worker busy, then cancel tasks still queued and a chain behind them.
    let busy = c.map("st-sleep", std::iter::repeat_n(300i64, 2 * nw))?;
    let victim = c.submit("st-sleep", tessera::args![5000])?;
    let dependent = c.submit("st-add", tessera::args![&victim, 1])?;
    victim.cancel()?;
    let r1 = victim.result();
    let r2 = dependent.result();
    ensure(matches!(r1, Err(Error::Cancelled(_))), || {
        format!("cancelled future gave {r1:?}")
    })?;
    ensure(matches!(r2, Err(Error::Cancelled(_))), || {
        format!("its dependent gave {r2:?}")
    })?;
    c.wait(&busy);
    let ok = c.gather(&busy)?;
    ensure(ok.len() == 2 * nw, || "busy tasks lost".into())?;
    Ok(json!({"ok": true}))
}

fn errors(c: &Client) -> Check {
    let fs = c.map("st-fragile", 0..15i64)?;
    c.wait(&fs);
    let mut failed = Vec::new();
    for (i, f) in fs.iter().enumerate() {
        match f.result() {
            Ok(v) => ensure(int(&v)? == i as i64 * 10, || {
                format!("fragile({i}) = {v:?}")
            })?,
            Err(Error::Task {
                task,
                rank,
                message,
                ..
            }) => {
                ensure(
                    task == f.key()
                        && rank >= 1
                        && message == format!("input {i} is a multiple of 7"),
                    || format!("error of fragile({i}): task {task} rank {rank}: {message}"),
                )?;
                failed.push(i);
            }
            Err(e) => return Err(anyhow::anyhow!("fragile({i}): unexpected {e}")),
        }
    }
    ensure(failed == vec![0, 7, 14], || {
        format!("failed inputs {failed:?}")
    })?;
    // A dependent of a failed task carries the original failure.
    let dep = c.submit("st-inc", vec![Arg::from(&fs[7])])?;
    let dep_err = dep.result();
    ensure(
        matches!(&dep_err, Err(Error::Task { task, .. }) if task == fs[7].key()),
        || format!("dependent of a failed task gave {dep_err:?}"),
    )?;
    // Run the failing task here: same message, raised in this process.
    let local = c.recreate_error_locally(&fs[7]);
    ensure(
        matches!(&local, Err(Error::Task { rank: 0, message, .. }) if message == "input 7 is a multiple of 7"),
        || format!("recreate_error_locally gave {local:?}"),
    )?;
    let fine = c.recreate_error_locally(&fs[3]);
    ensure(fine.is_err(), || {
        "recreating a successful task should be refused".into()
    })?;
    // A panic carries its backtrace.
    let p = c.submit("st-panicky", tessera::args![0])?;
    let (msg, bt) = match p.result() {
        Err(Error::Task {
            message, backtrace, ..
        }) => (message, backtrace.unwrap_or_default()),
        other => return Err(anyhow::anyhow!("panicking task gave {other:?}")),
    };
    ensure(msg == "panic: st-panicky cannot take 0", || {
        format!("panic message {msg}")
    })?;
    ensure(bt.contains("checked_reciprocal_scale"), || {
        format!("backtrace lacks the panicking function:\n{bt}")
    })?;
    // The recreated panic unwinds here (the default hook would print it; keep it quiet).
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        c.recreate_error_locally(&p)
    }));
    std::panic::set_hook(hook);
    ensure(again.is_err(), || {
        "the recreated panic should unwind here".into()
    })?;
    Ok(json!({"failed": failed, "backtrace_frames": bt.lines().count()}))
}

fn stored_futures(c: &Client) -> anyhow::Result<u64> {
    Ok(c.inspect_workers()?.iter().map(|w| w.store.keys).sum())
}

/// Dropping the last handle frees the value on its worker; a value a waiting task needs
/// stays until that task has run.
fn refcount(c: &Client) -> Check {
    // Earlier handles' releases may still be on their way: settle first.
    let mut base = stored_futures(c)?;
    loop {
        std::thread::sleep(std::time::Duration::from_millis(20));
        let now = stored_futures(c)?;
        if now == base {
            break;
        }
        base = now;
    }
    let big = c.scatter(vec![Value::Array(Chunk::from_slice(
        DType::F64,
        &[1 << 16],
        &vec![1.0f64; 1 << 16],
    ))])?;
    let f = c.submit("st-sum", vec![Arg::from(&big[0])])?;
    drop(big); // the task still needs it
    let sum = f.result()?.as_f64();
    ensure(sum == Some(65536.0), || {
        format!("sum after dropping the input handle: {sum:?}")
    })?;
    let held = stored_futures(c)?;
    drop(f);
    // Releases travel asynchronously; wait until the workers have freed both values.
    let mut now = stored_futures(c)?;
    for _ in 0..200 {
        if now == base {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        now = stored_futures(c)?;
    }
    ensure(now == base, || {
        format!("workers hold {now} values after every handle was dropped (before: {base})")
    })?;
    ensure(held == base + 1, || {
        format!("{held} values held while referenced (before: {base}; want the result only: its input is freed once the task ran)")
    })?;
    Ok(json!({"held_while_referenced": held - base, "after_drop": now - base}))
}

/// Blocks of a persisted array as task arguments run where the blocks are.
fn array_blocks(c: &Client) -> Check {
    let a = crate::expr::eval::into_array(crate::expr::eval::evaluate(
        "arange(4000, chunks=500).astype('float64')",
        &Default::default(),
    )?)?;
    let p = c.persist(&a)?;
    let start = c.cluster_report()?;
    let before = start.bytes_moved;
    let fs = (0..p.grid().num_blocks())
        .map(|b| c.submit("st-sum", vec![Arg::block(&p, b)]))
        .collect::<tessera::Result<Vec<_>>>()?;
    let sums = c.gather(&fs)?;
    let total: f64 = sums.iter().filter_map(Value::as_f64).sum();
    ensure(total == (0..4000).sum::<i64>() as f64, || {
        format!("block sums total {total}")
    })?;
    let end = c.cluster_report()?;
    let moved = end.bytes_moved - before;
    let stolen = stolen_between(&start, &end);
    ensure(moved <= stolen * 4000, || {
        format!("tasks on persisted blocks moved {moved} bytes with {stolen} stolen")
    })?;
    Ok(json!({"blocks": fs.len(), "bytes_moved": moved, "stolen": stolen}))
}

fn stolen_between(a: &tessera::RunReport, b: &tessera::RunReport) -> u64 {
    let total = |r: &tessera::RunReport| r.workers.iter().map(|w| w.tasks_stolen).sum::<u64>();
    total(b) - total(a)
}

/// All tasks placed by locality on one worker: idle workers steal, and each task runs once.
fn stealing(c: &Client) -> Check {
    if c.workers() < 2 {
        return Ok(json!({"skipped": "one worker"}));
    }
    let data = c.scatter_to(vec![(Value::Int(5), 1)])?;
    let before = c.cluster_report()?;
    let fs = (0..6 * c.workers())
        .map(|_| c.submit("st-sleep", vec![Arg::from(&data[0])]))
        .collect::<tessera::Result<Vec<_>>>()?;
    c.wait(&fs);
    let after = c.cluster_report()?;
    let per: Vec<u64> = after
        .workers
        .iter()
        .zip(&before.workers)
        .map(|(a, b)| a.tasks - b.tasks)
        .collect();
    let stolen = stolen_between(&before, &after);
    ensure(per.iter().sum::<u64>() == fs.len() as u64, || {
        format!("{} tasks ran {per:?} times in total", fs.len())
    })?;
    ensure(
        per.iter().filter(|&&n| n > 0).count() >= 2 && stolen > 0,
        || format!("no stealing: tasks per worker {per:?}"),
    )?;
    ensure(
        fs.iter()
            .all(|f| matches!(f.status(), FutureStatus::Finished)),
        || "a task did not finish".into(),
    )?;
    Ok(json!({"tasks_per_worker": per, "stolen": stolen}))
}

/// Data four times the workers' combined memory limit is persisted (so all of it must be
/// kept somewhere), then reduced; results equal a computation that never held the data.
/// Reports what was spilled and each worker's peak memory.
pub fn spill(c: &Client, limit: u64) -> Check {
    let nw = c.workers() as u64;
    let cols = 1usize << 15; // rows of 256 KiB
    let row_bytes = (cols * 8) as u64;
    let rows = (4 * limit * nw / row_bytes).max(8) as usize;
    let block_rows = (limit / 8 / row_bytes).max(1) as usize;
    let eval = |e: &str, b: &crate::expr::eval::Bindings| -> anyhow::Result<tessera::DArray> {
        Ok(crate::expr::eval::into_array(crate::expr::eval::evaluate(
            e, b,
        )?)?)
    };
    let mut b = crate::expr::eval::Bindings::new();
    let x = eval(
        &format!("random(({rows}, {cols}), chunks=({block_rows}, {cols}), seed=7)"),
        &b,
    )?;
    let p = c.persist(&x)?;
    b.insert("x".into(), crate::expr::eval::Value::Array(x));
    b.insert("p".into(), crate::expr::eval::Value::Array(p.clone()));
    let from_persisted = c.compute(&eval("(p * 2 - 1).mean(axis=0)[:64]", &b)?)?;
    let total_persisted = c.compute(&eval("p.sum()", &b)?)?;
    let direct = c.compute(&eval("(x * 2 - 1).mean(axis=0)[:64]", &b)?)?;
    let total_direct = c.compute(&eval("x.sum()", &b)?)?;
    let close = |a: &[f64], b: &[f64]| {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(x, y)| (x - y).abs() <= 1e-9 * (1.0 + y.abs()))
    };
    ensure(
        close(&from_persisted.to_f64_vec(), &direct.to_f64_vec()),
        || "means over spilled data differ from the direct computation".into(),
    )?;
    ensure(
        close(&total_persisted.to_f64_vec(), &total_direct.to_f64_vec()),
        || "sum over spilled data differs from the direct computation".into(),
    )?;
    let info = c.inspect_workers()?;
    let report = c.cluster_report()?;
    ensure(report.bytes_spilled > 0, || "nothing was spilled".into())?;
    drop(p);
    Ok(json!({
        "transport": c.transport_kind(),
        "memory_limit": limit,
        "data_bytes": rows as u64 * row_bytes,
        "block_bytes": block_rows as u64 * row_bytes,
        "bytes_spilled": report.bytes_spilled,
        "workers": info.iter().map(|w| json!({
            "rank": w.rank,
            "peak_rss": w.peak_rss,
            "peak_store": w.store.peak_bytes_in_memory,
            "bytes_spilled": w.store.bytes_spilled,
            "bytes_unspilled": w.store.bytes_unspilled,
            "bytes_on_disk": w.store.bytes_on_disk,
        })).collect::<Vec<_>>(),
    }))
}

/// Tasks that each run for `ms` milliseconds on the workers' main threads, half of them
/// sleeping and half computing, two per worker (issue #13 item 7: a legitimately long task
/// must not be taken for a hung worker). Prints `started` on stdout first, so a test knows
/// when the workers are busy.
pub fn long_tasks(c: &Client, ms: i64) -> Check {
    crate::render::console_line("started", false);
    let n = 2 * c.workers() as i64;
    let fs: Vec<TaskFuture> = (0..n)
        .map(|i| {
            c.submit(
                if i % 2 == 0 { "st-sleep" } else { "st-spin" },
                tessera::args![ms],
            )
        })
        .collect::<Result<_, _>>()?;
    let got: Vec<i64> = c
        .gather(&fs)?
        .iter()
        .map(int)
        .collect::<anyhow::Result<_>>()?;
    ensure(got.iter().all(|&v| v == ms), || {
        format!("long tasks gave {got:?}")
    })?;
    Ok(json!({"transport": c.transport_kind(), "tasks": n, "ms": ms}))
}

/// `n` float64 values that compress well: a ramp in which each value repeats 64 times.
pub fn ramp(n: usize) -> Vec<f64> {
    (0..n).map(|i| (i / 64) as f64).collect()
}

/// `n` float64 values in [0, 1) with random mantissas (xorshift from `seed`): lz4 cannot
/// shrink them.
pub fn noise(n: usize, seed: u64) -> Vec<f64> {
    let mut x = seed.max(1);
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            f64::from_bits((x >> 12) | 0x3ff0_0000_0000_0000) - 1.0
        })
        .collect()
}

/// A compressible and an incompressible array are sent between two workers; returns the
/// payload bytes before and after compression, and checks the results.
pub fn wire(c: &Client, compressing: bool) -> Check {
    if c.workers() < 2 {
        return Ok(json!({"skipped": "one worker"}));
    }
    let n = 1usize << 21; // 16 MiB of f64
    let mut out = serde_json::Map::new();
    for (name, data) in [
        ("compressible", ramp(n)),
        ("incompressible", noise(n, 0x9e3779b97f4a7c15)),
    ] {
        let a = Value::Array(Chunk::from_slice(DType::F64, &[n], &data));
        let twice: Vec<f64> = data.iter().map(|x| x + x).collect();
        let want = Value::Array(Chunk::from_slice(DType::F64, &[n], &twice));
        let before: (u64, u64) = bytes_sent(c)?;
        // The same data on two workers: the task runs on one, the other copy crosses, and
        // the result comes to rank 0.
        let placed = c.scatter_to(vec![(a.clone(), 1), (a, 2)])?;
        let f = c.submit(
            "st-add-arrays",
            vec![Arg::from(&placed[0]), Arg::from(&placed[1])],
        )?;
        let got = f.result()?;
        ensure(got == want, || {
            format!("{name}: the sum came back different")
        })?;
        let after = bytes_sent(c)?;
        let (raw, wire) = (after.0 - before.0, after.1 - before.1);
        if compressing && name == "compressible" {
            ensure(wire * 2 < raw, || {
                format!("{name}: {raw} raw bytes went out as {wire}")
            })?;
        } else {
            ensure(wire == raw, || {
                format!("{name}: {raw} raw bytes went out as {wire}")
            })?;
        }
        out.insert(name.into(), json!({"raw_bytes": raw, "wire_bytes": wire}));
    }
    Ok(Json::Object(out))
}

/// Payload bytes all workers have sent to other ranks: before and after compression.
pub fn bytes_sent(c: &Client) -> anyhow::Result<(u64, u64)> {
    let info = c.inspect_workers()?;
    Ok((
        info.iter().map(|w| w.bytes_sent).sum(),
        info.iter().map(|w| w.wire_bytes_sent).sum(),
    ))
}
