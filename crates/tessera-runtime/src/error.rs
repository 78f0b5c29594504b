//! The error every Tessera call above the IO layer returns: one variant per kind of
//! failure, each message naming what went wrong.

use crate::array::ArrayError;
use crate::comm::CommError;

/// Every error Tessera reports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Bad shapes, dtypes, chunks or indices.
    #[error(transparent)]
    Array(#[from] ArrayError),
    /// An expression that does not parse or does not make sense.
    #[error("{0}")]
    Expr(String),
    /// Transport failure.
    #[error(transparent)]
    Comm(#[from] CommError),
    /// A task failed on a worker.
    #[error("task {task} failed on worker rank {rank} ({host}): {message}")]
    Task {
        /// Readable task key.
        task: String,
        /// Worker rank.
        rank: u32,
        /// Worker host.
        host: String,
        /// The error message.
        message: String,
        /// Where a panicking task panicked (user frames first), when it could be taken.
        backtrace: Option<String>,
    },
    /// A future was cancelled (by `cancel`, or because an input was).
    #[error("future {0} was cancelled")]
    Cancelled(String),
    /// A futures call that cannot be made (unknown function, bad argument, no cluster).
    #[error("{0}")]
    Future(String),
    /// Reading or writing files.
    #[error("{0}")]
    Io(String),
    /// A job file that cannot run as written (the message names the file, line and key).
    #[error("{0}")]
    Job(String),
    /// A setting beyond a documented limit (the message names the setting and the limit).
    #[error("{0}")]
    Limit(String),
    /// A bug in Tessera.
    #[error("internal error (this is a bug, please report it): {0}")]
    Internal(String),
}

impl Error {
    /// The backtrace of a failed task, if it carries one.
    pub fn backtrace(&self) -> Option<&str> {
        match self {
            Error::Task { backtrace, .. } => backtrace.as_deref(),
            _ => None,
        }
    }
}

/// Result with the crate error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<tessera_io::error::Error> for Error {
    fn from(e: tessera_io::error::Error) -> Error {
        use tessera_io::error::Error as E;
        match e {
            E::Io(m) => Error::Io(m),
            E::Array(a) => Error::Array(a),
            E::Internal(m) => Error::Internal(m),
            other => Error::Io(other.to_string()),
        }
    }
}
