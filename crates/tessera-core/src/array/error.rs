//! Errors of the array layer: everything a user can get wrong about shapes, dtypes and
//! chunks, caught while the lazy graph is built, before any work starts.

/// Problems with array operations.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ArrayError {
    /// A `chunks=` argument that does not fit the shape.
    #[error("bad chunks: {0}")]
    BadChunks(String),
    /// Shapes that cannot be broadcast together.
    #[error("operands could not be broadcast together with shapes {a:?} and {b:?}")]
    Broadcast {
        /// First shape.
        a: Vec<usize>,
        /// Second shape.
        b: Vec<usize>,
    },
    /// An axis number outside the array's dimensions.
    #[error("axis {axis} is out of bounds for array of dimension {ndim}")]
    AxisOutOfRange {
        /// The axis given.
        axis: i64,
        /// The array's number of dimensions.
        ndim: usize,
    },
    /// An integer index outside an axis.
    #[error("index {index} is out of bounds for axis {axis} with size {len}")]
    IndexOutOfRange {
        /// The index given.
        index: i64,
        /// The axis.
        axis: usize,
        /// The axis length.
        len: usize,
    },
    /// An operation not defined for a dtype.
    #[error("{0}")]
    DType(String),
    /// Invalid shapes for reshape, concatenate, and similar.
    #[error("{0}")]
    Shape(String),
    /// Any other invalid argument.
    #[error("{0}")]
    Invalid(String),
    /// More blocks than the scheduler takes ([`super::limits::max_blocks`]).
    #[error("too many blocks: {0}")]
    TooManyBlocks(String),
    /// A size, offset or index whose arithmetic overflows.
    #[error("{0}")]
    Overflow(String),
}
