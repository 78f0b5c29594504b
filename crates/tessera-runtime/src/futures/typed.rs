//! Typed tasks: plain Rust functions whose arguments and results are any
//! `Serialize + DeserializeOwned` types, so a task is written and called without unpacking
//! [`Value`]s by hand.
//!
//! ```
//! use tessera_runtime::futures::task;
//! let add = task("doc-typed-add", |(a, b): (i64, i64)| Ok(a + b));
//! let label = task("doc-typed-label", |(n, unit): (i64, String)| Ok(format!("{n} {unit}")));
//! let square = task("doc-typed-square", |(x,): (i64,)| Ok(x * x));
//! let client = tessera_runtime::Client::local(2)?;
//! let three = client.submit(&add, (1, 2))?;             // TaskFuture<i64>
//! let five = client.submit(&add, (&three, 2))?;         // a future as an argument
//! let text = client.submit(&label, (&five, "K".to_string()))?;
//! assert_eq!(text.result()?, "5 K");
//! assert_eq!(client.gather(&client.map(&square, [1, 2, 3])?)?, vec![1, 4, 9]);
//! # Ok::<(), tessera_runtime::Error>(())
//! ```
//!
//! A typed value travels as postcard bytes in the payload of a [`Value::Encoded`], beside
//! its type's name, so a value of another type (a future of an untyped task, say) is named
//! in the error instead of being decoded as garbage. Registration is by name, as for
//! untyped functions, and is checked on every worker at submit (see [`crate::registry`]);
//! the signature recorded is the argument and result types, so two ranks registering
//! different functions under one name are refused too.

use super::future::TaskFuture;
use super::Arg;
use crate::array::buffer::Buffer;
use crate::array::graph::DArray;
use crate::registry::{self, TaskError};
use crate::value::{Encoded, Value};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::any::type_name;
use std::marker::PhantomData;
use std::sync::Arc;

/// What a typed task takes and returns: [`Value`] itself (untouched, for arrays that should
/// travel without a copy) or any serde type.
pub trait TaskData: Sized + Send + 'static {
    /// Into a value for the wire.
    fn into_value(self) -> Result<Value, String>;
    /// Back from a value; the error says what was found instead.
    fn from_value(v: Value) -> Result<Self, String>;
}

impl TaskData for Value {
    fn into_value(self) -> Result<Value, String> {
        Ok(self)
    }

    fn from_value(v: Value) -> Result<Self, String> {
        Ok(v)
    }
}

impl<T: Serialize + DeserializeOwned + Send + 'static> TaskData for T {
    fn into_value(self) -> Result<Value, String> {
        let bytes = postcard::to_allocvec(&self)
            .map_err(|e| format!("cannot serialize a {}: {e}", type_name::<T>()))?;
        Ok(Value::Encoded(Encoded {
            type_name: type_name::<T>().to_string(),
            bytes: Arc::new(Buffer::from_serialized(&bytes)),
        }))
    }

    fn from_value(v: Value) -> Result<Self, String> {
        let want = type_name::<T>();
        match v {
            Value::Encoded(e) if e.type_name == want => postcard::from_bytes(e.bytes.as_bytes())
                .map_err(|err| format!("cannot decode a {want}: {err}")),
            other => Err(format!("expected a {want}, got a {}", other.describe())),
        }
    }
}

/// A typed task function registered under a name; submit it with
/// [`Client::submit`](crate::Client::submit). `A` is the tuple of its arguments.
pub struct Task<A, R> {
    name: Arc<str>,
    _t: PhantomData<fn(A) -> R>,
}

impl<A, R> Clone for Task<A, R> {
    fn clone(&self) -> Self {
        Task {
            name: self.name.clone(),
            _t: PhantomData,
        }
    }
}

impl<A, R> std::fmt::Debug for Task<A, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Task({}: {})", self.name, signature::<A, R>())
    }
}

impl<A, R> Task<A, R> {
    /// The name it is registered under.
    pub fn name(&self) -> &str {
        &self.name
    }
}

fn signature<A, R>() -> String {
    format!("fn{} -> {}", type_name::<A>(), type_name::<R>())
}

/// Registers `f` as task `name` (replacing an earlier registration) and returns the handle
/// to submit it with. Call it on every rank before the client starts, as for
/// [`register`](crate::registry::register): every rank runs the same program, so each
/// registers the same function. `f` takes its arguments as one tuple: `|(a, b): (i64,
/// String)| ...`.
pub fn task<A, R, F>(name: &str, f: F) -> Task<A, R>
where
    A: TaskArgs,
    R: TaskData,
    F: Fn(A) -> Result<R, TaskError> + Send + Sync + 'static,
{
    let task_name: Arc<str> = Arc::from(name);
    let n = task_name.clone();
    registry::register_with_signature(name, signature::<A, R>(), move |values: &[Value]| {
        let args = A::decode(values).map_err(|e| format!("{n}: {e}"))?;
        f(args)?.into_value().map_err(TaskError::from)
    });
    Task {
        name: task_name,
        _t: PhantomData,
    }
}

/// One argument of a typed task: a value sent with the task, another task's future (its
/// value fetched by the worker from the worker holding it), or a block of a persisted
/// array (for a [`Value`] argument).
pub enum In<T> {
    /// A value, serialized into the task.
    Value(T),
    /// Another task's result.
    Future(TaskFuture<T>),
    /// Block `b` (flat C-order index) of a persisted array.
    Block(DArray, usize),
}

impl<T> From<T> for In<T> {
    fn from(v: T) -> Self {
        In::Value(v)
    }
}

impl<T> From<&TaskFuture<T>> for In<T> {
    fn from(f: &TaskFuture<T>) -> Self {
        In::Future(f.clone())
    }
}

impl In<Value> {
    /// Block `b` (flat C-order index over the block grid) of a persisted array.
    pub fn block(a: &DArray, b: usize) -> In<Value> {
        In::Block(a.clone(), b)
    }
}

impl<T: TaskData> In<T> {
    fn into_arg(self) -> Result<Arg, String> {
        Ok(match self {
            In::Value(v) => Arg::Value(v.into_value()?),
            In::Future(f) => Arg::Future(f.retype()),
            In::Block(a, b) => Arg::Block(a, b),
        })
    }
}

/// The argument tuple of a typed task (tuples of up to eight [`TaskData`] types).
pub trait TaskArgs: Sized + Send + 'static {
    /// How many arguments.
    const LEN: usize;
    /// The arguments back from the values a worker received.
    fn decode(values: &[Value]) -> Result<Self, String>;
}

/// What [`Client::submit`](crate::Client::submit) accepts for a task taking `A`: a tuple of
/// the same length whose items are values or futures of the argument types (anything
/// `Into<In<_>>`).
pub trait IntoArgs<A> {
    /// The task arguments.
    fn into_args(self) -> Result<Vec<Arg>, String>;
}

/// Takes argument `i` out of `values`.
fn decode_at<T: TaskData>(values: &[Value], i: usize) -> Result<T, String> {
    let v = values
        .get(i)
        .cloned()
        .ok_or_else(|| format!("argument {i} is missing"))?;
    T::from_value(v).map_err(|e| format!("argument {i}: {e}"))
}

macro_rules! tuple_args {
    ($n:expr; $($a:ident $x:ident $i:tt),+) => {
        impl<$($a: TaskData),+> TaskArgs for ($($a,)+) {
            const LEN: usize = $n;
            fn decode(values: &[Value]) -> Result<Self, String> {
                if values.len() != $n {
                    return Err(format!("takes {} arguments, got {}", $n, values.len()));
                }
                Ok(($(decode_at::<$a>(values, $i)?,)+))
            }
        }

        impl<$($a: TaskData, $x: Into<In<$a>>),+> IntoArgs<($($a,)+)> for ($($x,)+) {
            fn into_args(self) -> Result<Vec<Arg>, String> {
                Ok(vec![$(self.$i.into().into_arg().map_err(|e| format!("argument {}: {e}", $i))?),+])
            }
        }
    };
}

impl TaskArgs for () {
    const LEN: usize = 0;
    fn decode(values: &[Value]) -> Result<Self, String> {
        if values.is_empty() {
            Ok(())
        } else {
            Err(format!("takes no arguments, got {}", values.len()))
        }
    }
}

impl IntoArgs<()> for () {
    fn into_args(self) -> Result<Vec<Arg>, String> {
        Ok(Vec::new())
    }
}

tuple_args!(1; A0 X0 0);
tuple_args!(2; A0 X0 0, A1 X1 1);
tuple_args!(3; A0 X0 0, A1 X1 1, A2 X2 2);
tuple_args!(4; A0 X0 0, A1 X1 1, A2 X2 2, A3 X3 3);
tuple_args!(5; A0 X0 0, A1 X1 1, A2 X2 2, A3 X3 3, A4 X4 4);
tuple_args!(6; A0 X0 0, A1 X1 1, A2 X2 2, A3 X3 3, A4 X4 4, A5 X5 5);
tuple_args!(7; A0 X0 0, A1 X1 1, A2 X2 2, A3 X3 3, A4 X4 4, A5 X5 5, A6 X6 6);
tuple_args!(8; A0 X0 0, A1 X1 1, A2 X2 2, A3 X3 3, A4 X4 4, A5 X5 5, A6 X6 6, A7 X7 7);
