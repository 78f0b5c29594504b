//! The futures API: the concurrent.futures model on a cluster. Named task functions
//! (registered once; every rank runs the same binary) are submitted with plain values,
//! other futures or blocks of persisted arrays as arguments; results stay on the workers
//! until someone asks for them, and are freed when the last handle is dropped.
//!
//! ```
//! use tessera_runtime::futures::{register, as_completed, Value};
//! register("doc-square", |a| {
//!     let x = a[0].as_i64().ok_or("want an int")?;
//!     Ok(Value::Int(x * x))
//! });
//! let client = tessera_runtime::Client::local(2)?;
//! let fs = client.map("doc-square", 1..=4i64)?;
//! let total: i64 = client.gather(&fs)?.iter().filter_map(Value::as_i64).sum();
//! assert_eq!(total, 30);
//! let mut seen = 0;
//! for f in &as_completed(fs) {
//!     seen += f.result()?.as_i64().unwrap_or(0);
//! }
//! assert_eq!(seen, 30);
//! # Ok::<(), tessera_runtime::Error>(())
//! ```

pub mod api;
pub mod as_completed;
pub mod future;
pub mod typed;

pub use crate::link::{FutureStatus, TaskFailure};
pub use crate::registry::{self, register, TaskError};
pub use crate::value::{self, Value};
pub use api::{Arg, MapWith, Submit};
pub use as_completed::{as_completed, AsCompleted};
pub use future::TaskFuture;
pub use typed::{task, In, IntoArgs, Task, TaskArgs, TaskData};
