//! The IO layer's error: a message that names the file (and variable, where there is one).

use crate::array::ArrayError;

/// What went wrong reading or writing a file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing files (the message names the file).
    #[error("{0}")]
    Io(String),
    /// Bad shapes, dtypes or chunks of what was read.
    #[error(transparent)]
    Array(#[from] ArrayError),
    /// A bug in Tessera.
    #[error("internal error (this is a bug, please report it): {0}")]
    Internal(String),
}

/// Result with the IO error.
pub type Result<T, E = Error> = std::result::Result<T, E>;
