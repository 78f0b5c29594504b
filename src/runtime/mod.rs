//! The runtime: the client and scheduler on rank 0, the worker loop on every other rank,
//! the plan both sides share and the messages between them. Above the transport trait,
//! in-process and MPI runs execute exactly this code.

pub mod admission;
pub mod client;
mod engine;
pub mod failure;
pub mod heartbeat;
pub mod link;
pub mod plan;
pub mod progress;
pub mod protocol;
pub mod report;
mod scheduler;
pub mod store;
pub(crate) mod tasks;
pub mod worker;

pub use client::{start, start_on, Client, ClientOptions, Started};
pub use progress::{Progress, ProgressSnapshot};
pub use report::RunReport;
