//! The futures methods of [`Client`]: submit, map, scatter, gather, wait, and running a
//! failed task again on the caller's thread. Each takes typed tasks ([`Task`]) and
//! functions registered by name alike; the traits [`Submit`] and [`MapWith`] say which
//! arguments go with which.

use super::future::TaskFuture;
use super::typed::{In, IntoArgs, Task, TaskData};
use crate::array::chunk::Chunk;
use crate::array::dtype::Element;
use crate::array::graph::{DArray, Op};
use crate::array::plan::ChunkKey;
use crate::error::{Error, Result};
use crate::link::{FutureStatus, Request, SchedArg, TaskSpec};
use crate::registry;
use crate::tasks::ArgSource;
use crate::value::Value;
use crate::Client;
use std::sync::Arc;

/// A task argument.
#[derive(Clone, Debug)]
pub enum Arg {
    /// A value sent with the task (copied into the command; scatter large data first).
    Value(Value),
    /// Another task's result: the worker fetches it straight from the worker holding it.
    Future(TaskFuture<Value>),
    /// Block `b` (flat index) of a persisted array: fetched from the worker holding it.
    Block(DArray, usize),
}

impl Arg {
    /// Block `b` (flat C-order index over the block grid) of a persisted array.
    pub fn block(a: &DArray, b: usize) -> Arg {
        Arg::Block(a.clone(), b)
    }
}

macro_rules! arg_from_value {
    ($($t:ty),*) => {$(
        impl From<$t> for Arg {
            fn from(v: $t) -> Arg {
                Arg::Value(Value::from(v))
            }
        }
    )*};
}
arg_from_value!(
    (),
    bool,
    i64,
    i32,
    u32,
    usize,
    f64,
    f32,
    String,
    &str,
    Chunk,
    Vec<Value>
);

impl From<Value> for Arg {
    fn from(v: Value) -> Arg {
        Arg::Value(v)
    }
}

impl<T> From<TaskFuture<T>> for Arg {
    fn from(f: TaskFuture<T>) -> Arg {
        Arg::Future(f.retype())
    }
}

impl<T> From<&TaskFuture<T>> for Arg {
    fn from(f: &TaskFuture<T>) -> Arg {
        Arg::Future(f.untyped())
    }
}

impl<T: Element> From<ndarray::ArrayD<T>> for Arg {
    fn from(a: ndarray::ArrayD<T>) -> Arg {
        Arg::Value(Value::from(a))
    }
}

/// Builds a `Vec<Arg>` from values, futures and blocks: `args![1, &f, "x"]`.
#[macro_export]
macro_rules! args {
    ($($a:expr),* $(,)?) => {
        vec![$($crate::futures::Arg::from($a)),*]
    };
}

/// A task function and the arguments it is submitted with: a typed [`Task`] with a tuple
/// of its argument types (each item a value or a `&TaskFuture` of that type), or the name of
/// a function registered with [`register`](crate::registry::register) with a `Vec<Arg>`
/// (`args![..]`).
pub trait Submit<X> {
    /// What the task returns.
    type Output;
    /// The registered name.
    fn func(&self) -> &str;
    /// The arguments for the wire.
    fn args(x: X) -> std::result::Result<Vec<Arg>, String>;
}

impl Submit<Vec<Arg>> for &str {
    type Output = Value;
    fn func(&self) -> &str {
        self
    }
    fn args(x: Vec<Arg>) -> std::result::Result<Vec<Arg>, String> {
        Ok(x)
    }
}

impl Submit<Vec<Arg>> for &String {
    type Output = Value;
    fn func(&self) -> &str {
        self
    }
    fn args(x: Vec<Arg>) -> std::result::Result<Vec<Arg>, String> {
        Ok(x)
    }
}

impl<A, R, X: IntoArgs<A>> Submit<X> for &Task<A, R> {
    type Output = R;
    fn func(&self) -> &str {
        self.name()
    }
    fn args(x: X) -> std::result::Result<Vec<Arg>, String> {
        x.into_args()
    }
}

/// A function mapped over items, each item its one argument: a typed [`Task`] of one
/// argument with values (or futures) of that argument's type, or a registered name with
/// anything `Into<Arg>`.
pub trait MapWith<X>: Copy {
    /// What the task returns.
    type Output;
    /// The registered name.
    fn func(&self) -> &str;
    /// The one argument for the wire.
    fn arg(x: X) -> std::result::Result<Arg, String>;
}

impl<X: Into<Arg>> MapWith<X> for &str {
    type Output = Value;
    fn func(&self) -> &str {
        self
    }
    fn arg(x: X) -> std::result::Result<Arg, String> {
        Ok(x.into())
    }
}

impl<X: Into<Arg>> MapWith<X> for &String {
    type Output = Value;
    fn func(&self) -> &str {
        self
    }
    fn arg(x: X) -> std::result::Result<Arg, String> {
        Ok(x.into())
    }
}

impl<A0: TaskData, R, X: Into<In<A0>>> MapWith<X> for &Task<(A0,), R> {
    type Output = R;
    fn func(&self) -> &str {
        self.name()
    }
    fn arg(x: X) -> std::result::Result<Arg, String> {
        let mut args = (x,).into_args()?;
        args.pop().ok_or_else(|| "no argument".to_string())
    }
}

impl Client {
    /// Runs task `f` on `args` on a worker; returns at once. `f` is a typed [`Task`] (its
    /// arguments a tuple) or the name of a function registered with
    /// [`register`](crate::registry::register) (its arguments `args![..]`).
    ///
    /// The function must have been registered on every rank before the client started:
    /// otherwise this call fails, naming the ranks that lack it (in-process too).
    pub fn submit<F: Submit<X>, X>(&self, f: F, args: X) -> Result<TaskFuture<F::Output>> {
        let func = f.func();
        let args = F::args(args).map_err(|e| Error::Future(format!("{func}: {e}")))?;
        Ok(self.submit_args(func, args)?.retype())
    }

    fn submit_args(&self, func: &str, args: Vec<Arg>) -> Result<TaskFuture<Value>> {
        if let Some(why) = registry::check_everywhere(func, &self.link.registered) {
            return Err(Error::Future(why));
        }
        let mut sched = Vec::with_capacity(args.len());
        for (i, a) in args.iter().enumerate() {
            sched.push(match a {
                Arg::Value(v) => SchedArg::Inline(v.pack()),
                Arg::Future(f) => {
                    if !Arc::ptr_eq(f.link(), &self.link) {
                        return Err(Error::Future(format!(
                            "argument {i} of {func}: future {} belongs to another client",
                            f.key()
                        )));
                    }
                    SchedArg::Future(f.id())
                }
                Arg::Block(d, b) => block_arg(func, i, d, *b, self.link.id, self.workers())?,
            });
        }
        let id = self.link.new_future();
        let key = format!("{func}-{id}");
        let f = TaskFuture::new(id, key.clone(), self.link.clone());
        self.link.request(Request::Submit(Box::new(TaskSpec {
            id,
            key,
            func: func.to_string(),
            args: sched,
        })))?;
        // `args` (and the futures in it) are dropped only now: the scheduler registered the
        // dependencies before it hears of any release.
        drop(args);
        Ok(f)
    }

    /// Submits `f` once per item (each item its only argument).
    pub fn map<F, I>(&self, f: F, items: I) -> Result<Vec<TaskFuture<F::Output>>>
    where
        I: IntoIterator,
        F: MapWith<I::Item>,
    {
        let func = f.func();
        items
            .into_iter()
            .map(|x| {
                let arg = F::arg(x).map_err(|e| Error::Future(format!("{func}: {e}")))?;
                Ok(self.submit_args(func, vec![arg])?.retype())
            })
            .collect()
    }

    /// Places values on workers, spread evenly (by bytes held); returns their futures.
    /// Arrays travel without a copy.
    pub fn scatter<T: TaskData>(&self, values: Vec<T>) -> Result<Vec<TaskFuture<T>>> {
        values
            .into_iter()
            .map(|v| Ok(self.scatter_one(to_value(v)?, None)?.retype()))
            .collect()
    }

    /// Places each value on the worker rank given beside it.
    pub fn scatter_to<T: TaskData>(&self, values: Vec<(T, u32)>) -> Result<Vec<TaskFuture<T>>> {
        let nw = self.workers() as u32;
        values
            .into_iter()
            .map(|(v, r)| {
                if r == 0 || r > nw {
                    return Err(Error::Future(format!(
                        "cannot scatter to rank {r}: workers are ranks 1..={nw}"
                    )));
                }
                Ok(self.scatter_one(to_value(v)?, Some(r))?.retype())
            })
            .collect()
    }

    fn scatter_one(&self, value: Value, worker: Option<u32>) -> Result<TaskFuture<Value>> {
        let id = self.link.new_future();
        let f = TaskFuture::new(id, format!("scatter-{id}"), self.link.clone());
        self.link.request(Request::Scatter { id, value, worker })?;
        Ok(f)
    }

    /// The values of several futures (fetched in parallel). The first failure is returned.
    pub fn gather<T: TaskData>(&self, futures: &[TaskFuture<T>]) -> Result<Vec<T>> {
        for f in futures {
            f.prefetch_when_done();
        }
        futures.iter().map(TaskFuture::result).collect()
    }

    /// [`Client::gather`] for async code.
    pub async fn gather_async<T: TaskData>(&self, futures: &[TaskFuture<T>]) -> Result<Vec<T>> {
        for f in futures {
            f.prefetch_when_done();
        }
        let mut out = Vec::with_capacity(futures.len());
        for f in futures {
            out.push(f.clone().await?);
        }
        Ok(out)
    }

    /// Waits until every future has finished, failed or been cancelled (errors are not
    /// raised here; read them with `result`).
    pub fn wait<T>(&self, futures: &[TaskFuture<T>]) {
        let ids: Vec<u64> = futures.iter().map(TaskFuture::id).collect();
        self.link.wait_for(|t| {
            ids.iter()
                .all(|id| t.get(id).is_none_or(|s| s.status.is_terminal()))
                .then_some(())
        });
    }

    /// Runs a failed task again on the calling thread, with its inputs brought here, so
    /// the failure happens where a debugger or logging can reach it. Returns what the
    /// function returns this time (normally the same error). A panic is not caught: it
    /// unwinds from this call (set a breakpoint on `rust_panic` to stop there).
    pub fn recreate_error_locally<T: TaskData>(&self, f: &TaskFuture<T>) -> Result<T> {
        if !matches!(f.status(), FutureStatus::Error(_)) {
            self.wait(std::slice::from_ref(f));
            if !matches!(f.status(), FutureStatus::Error(_)) {
                return Err(Error::Future(format!(
                    "{} did not fail (status {:?}); nothing to recreate",
                    f.key(),
                    f.status()
                )));
            }
        }
        let (tx, rx) = crossbeam_channel::unbounded();
        self.link.request(Request::Spec(f.id(), tx))?;
        let (func, sources) = rx
            .recv()
            .map_err(|_| Error::Future("the scheduler has stopped".into()))?
            .ok_or_else(|| {
                Error::Future(format!(
                    "{} cannot be rerun here: it failed because an input failed (recreate that input's error instead), or its inputs are no longer held",
                    f.key()
                ))
            })?;
        let mut args = Vec::with_capacity(sources.len());
        for (i, s) in sources.into_iter().enumerate() {
            args.push(match s {
                ArgSource::Value(v) => {
                    v.map_err(|e| Error::Future(format!("argument {i} of {}: {e}", f.key())))?
                }
                ArgSource::Stored { key, holder } => self.fetch_stored(key, holder)?,
            });
        }
        let run = registry::lookup(&func).ok_or_else(|| Error::Future(registry::unknown(&func)))?;
        let value = run(&args).map_err(|e| Error::Task {
            task: f.key().to_string(),
            rank: 0,
            host: "local".into(),
            message: e.to_string(),
            backtrace: None,
        })?;
        T::from_value(value).map_err(|e| Error::Future(format!("result of {}: {e}", f.key())))
    }

    /// Brings one stored value or block to the caller.
    fn fetch_stored(&self, key: ChunkKey, holder: u32) -> Result<Value> {
        let slot = self.link.new_future();
        self.link
            .update(slot, |s| s.status = FutureStatus::Finished);
        let got = self
            .link
            .request(Request::FetchStored { key, holder, slot })
            .map(|_| {
                self.link.wait_for(|t| match t.get(&slot) {
                    Some(s) => match (&s.value, &s.status) {
                        (Some(v), _) => Some(Ok(v.clone())),
                        (None, FutureStatus::Error(e)) => Some(Err(e.to_error())),
                        _ => None,
                    },
                    None => Some(Err(Error::Internal("fetch slot vanished".into()))),
                })
            });
        self.link.forget(slot);
        got?
    }
}

/// A scattered value for the wire.
fn to_value<T: TaskData>(v: T) -> Result<Value> {
    v.into_value()
        .map_err(|e| Error::Future(format!("cannot scatter: {e}")))
}

/// A block of a persisted array as a task argument.
fn block_arg(
    func: &str,
    i: usize,
    d: &DArray,
    b: usize,
    client: u64,
    workers: usize,
) -> Result<SchedArg> {
    let Op::Persisted(Some(h), key) = &d.node().op else {
        return Err(Error::Future(format!(
            "argument {i} of {func}: array blocks can be task arguments only once the array is persisted (client.persist)"
        )));
    };
    let n = d.grid().num_blocks();
    if b >= n {
        return Err(Error::Future(format!(
            "argument {i} of {func}: block {b} is out of range (the array has {n} blocks)"
        )));
    }
    if h.client() != client {
        return Err(Error::Future(format!(
            "argument {i} of {func}: the array was persisted by another client"
        )));
    }
    let holder = h.locations().get(b).copied().unwrap_or(0);
    if holder == 0 || holder as usize > workers {
        return Err(Error::Future(format!(
            "argument {i} of {func}: block {b} is held by rank {holder}, not by a worker (an array of caller data: scatter it instead)"
        )));
    }
    Ok(SchedArg::Block {
        key: ChunkKey {
            comp: key.comp,
            node: key.node,
            block: b as u64,
        },
        holder,
        nbytes: h.nbytes().get(b).copied().unwrap_or(0),
        _keep: d.clone(),
    })
}
