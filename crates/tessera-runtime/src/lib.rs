//! Tessera's runtime: the client and scheduler on rank 0, the worker loop on every other rank,
//! the messages between them, and the futures engine (task-function registry and the values
//! tasks take and return). Above the transport trait,
//! in-process and MPI runs execute exactly this code.

#![warn(missing_docs)]

pub mod admission;
pub mod buffers;
pub mod client;
pub mod compress;
pub mod console;
mod engine;
pub mod error;
pub mod failure;
pub mod futures;
pub mod heartbeat;
pub mod link;
pub mod progress;
pub mod protocol;
pub mod registry;
pub mod report;
mod scheduler;
pub mod size;
pub mod store;
pub(crate) mod tasks;
pub mod value;
pub mod worker;

pub use client::{serve, start, start_on, Client, ClientOptions, Started};
pub use progress::{Progress, ProgressSnapshot};
pub use report::RunReport;

pub use error::{Error, Result};

pub(crate) use tessera_comm as comm;
pub(crate) use tessera_core::{array, optimize};
pub(crate) use tessera_io as io;
pub(crate) use tessera_io::signal;
