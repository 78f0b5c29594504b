//! The lazy graph: one node per array operation, never one per chunk.
//!
//! A [`DArray`] is a cheap handle to a [`Node`]; building an expression allocates a node per
//! operation whatever the number of chunks, so a million-chunk array costs one node. The
//! per-block work is described by each [`Op`]'s parameters and expanded into tasks only
//! while scheduling. `Op` is generic over how it refers to its inputs: handles in the user's
//! graph, plan indices in the [`Plan`](crate::array::plan::Plan) sent to workers.

use super::chunk::Chunk;
use super::chunks::{AxisChunks, ChunkGrid};
use super::dtype::DType;
use super::elementwise::EExpr;
use super::reduce::ReduceFunc;
use serde::{Deserialize, Serialize};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// A lazy, chunked n-dimensional array.
#[derive(Clone)]
pub struct DArray(pub(crate) Arc<Node>);

/// One operation in the graph, with the metadata of its result.
pub struct Node {
    /// Unique id (for deduplicating shared subexpressions).
    pub id: u64,
    /// Result dtype.
    pub dtype: DType,
    /// Result chunk grid (which also gives the shape).
    pub grid: ChunkGrid,
    /// The operation.
    pub op: Op<DArray>,
}

fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

impl DArray {
    /// Wraps a new node.
    /// A file variable read lazily by the workers, in blocks of `grid`.
    pub fn from_read(spec: super::source::ReadSpec, grid: ChunkGrid) -> DArray {
        DArray::new(spec.dtype(), grid, Op::Read(std::sync::Arc::new(spec)))
    }

    /// A graph node computing `op` into blocks of `grid` (the array API and the runtime's
    /// `persist` build these; users call the API).
    pub fn new(dtype: DType, grid: ChunkGrid, op: Op<DArray>) -> DArray {
        DArray(Arc::new(Node {
            id: next_id(),
            dtype,
            grid,
            op,
        }))
    }

    /// The node behind the handle.
    pub fn node(&self) -> &Node {
        &self.0
    }

    /// Shape.
    pub fn shape(&self) -> Vec<usize> {
        self.0.grid.shape()
    }

    /// Number of dimensions.
    pub fn ndim(&self) -> usize {
        self.0.grid.ndim()
    }

    /// Element type.
    pub fn dtype(&self) -> DType {
        self.0.dtype
    }

    /// Chunk grid.
    pub fn grid(&self) -> &ChunkGrid {
        &self.0.grid
    }

    /// Per-axis block sizes, as dask's `.chunks`.
    pub fn chunks(&self) -> &[AxisChunks] {
        self.0.grid.chunks()
    }

    /// Total number of elements, exact (a lazy array may have more than a `usize` counts).
    pub fn size(&self) -> u128 {
        self.shape()
            .iter()
            .fold(1u128, |acc, &n| acc.saturating_mul(n as u128))
    }

    /// Bytes of the whole array (saturating).
    pub fn nbytes(&self) -> u128 {
        self.size().saturating_mul(self.dtype().size() as u128)
    }
}

impl std::fmt::Debug for DArray {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "DArray<{} {:?} chunks={:?} op={}>",
            self.dtype(),
            self.shape(),
            self.chunks(),
            self.0.op.name()
        )
    }
}

/// How generated arrays get their values (evaluated per block from global positions, so a
/// block's values never depend on where it runs).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum Generator {
    /// Every element the same (`zeros`, `ones`, `full`), given as f64 and i128 so both float
    /// and 64-bit integer values are exact.
    Full {
        /// Value for float dtypes.
        f: f64,
        /// Value for integer and bool dtypes.
        i: i128,
    },
    /// `arange(start, stop, step)`: element `k` is `start + k * step`.
    Arange {
        /// First value.
        start: f64,
        /// Step.
        step: f64,
        /// Integer start for integer dtypes.
        istart: i128,
        /// Integer step for integer dtypes.
        istep: i128,
    },
    /// `linspace(start, stop, num)`.
    Linspace {
        /// First value.
        start: f64,
        /// Last value (included).
        stop: f64,
        /// Number of values.
        num: usize,
    },
    /// Uniform `[0, 1)` values from a counter-based generator keyed by seed and global
    /// element position: independent of chunking and placement.
    Random {
        /// Seed.
        seed: u64,
    },
}

/// Per-axis selection of a basic-indexing slice (`x[2, 1:-1:2, None, ...]`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum AxisPick {
    /// An integer index: the axis disappears. `(block, offset within block)`.
    Index {
        /// Input block on this axis.
        block: usize,
        /// Position within that block.
        local: usize,
    },
    /// A strided range: one entry per output block on this axis.
    Range(Vec<RangePiece>),
    /// The whole axis in order (`:`): output block `i` is input block `i`. Nothing is
    /// listed, so `x[None]` or `stack` costs nothing on an axis of any number of blocks.
    Whole,
    /// A new axis of length 1 (`None`), no input axis consumed.
    NewAxis,
}

/// One output block of a sliced axis: which input block and which of its elements.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RangePiece {
    /// Input block index on this axis.
    pub block: usize,
    /// First selected position within the block.
    pub start: usize,
    /// Step (negative for reversed selections).
    pub step: isize,
    /// Number of selected elements.
    pub len: usize,
}

/// The operations. `I` is how inputs are referred to.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Op<I> {
    /// A constructor (`zeros`, `arange`, `random`, ...).
    Generate(Generator),
    /// Data held by the caller (a `.npy` file, an `ndarray`), cut into blocks on demand.
    Local(#[serde(skip)] Option<Arc<Chunk>>),
    /// Values read from a file by the worker that runs the block (hyperslab per block).
    Read(std::sync::Arc<super::source::ReadSpec>),
    /// Chunks already held by workers from an earlier `persist`.
    Persisted(#[serde(skip)] Option<Arc<dyn Resident>>, PersistedKey),
    /// A fused elementwise expression over inputs broadcast to this node's grid.
    Elementwise {
        /// Inputs, referenced by `EExpr::Input(k)`.
        inputs: Vec<I>,
        /// The expression evaluated per block.
        expr: EExpr,
    },
    /// Basic indexing; each output block comes from exactly one input block.
    Slice {
        /// The sliced array.
        input: I,
        /// One pick per input axis, plus `NewAxis` entries, in output order.
        picks: Vec<AxisPick>,
    },
    /// Axis permutation.
    Transpose {
        /// The array.
        input: I,
        /// `perm[k]` is the input axis that becomes output axis `k`.
        perm: Vec<usize>,
    },
    /// Reshape of an input whose chunks were prepared so that block `b` of the input is
    /// block `b` of the output (see `reshape.rs`): a relabelling of bytes.
    Reshape {
        /// The rechunked input.
        input: I,
    },
    /// Rechunk: output blocks assembled from overlapping input blocks.
    Rechunk {
        /// The array.
        input: I,
    },
    /// Concatenation along an axis of inputs sharing chunks on all other axes.
    Concatenate {
        /// The arrays.
        inputs: Vec<I>,
        /// The axis.
        axis: usize,
    },
    /// First stage of a tree reduction: each block reduced to a partial state.
    ReducePartial {
        /// The array.
        input: I,
        /// Reduced axes.
        axes: Vec<usize>,
        /// The function.
        func: ReduceFunc,
    },
    /// First stage of a grouped reduction (xarray's `groupby(...).mean()`): each block is
    /// reduced per group along `axis`, giving `ngroups` partial states on that axis (an
    /// empty state for groups absent from the block); later stages are the reduction tree.
    GroupPartial {
        /// The array.
        input: I,
        /// Grouped axis.
        axis: usize,
        /// Group of every position along `axis`.
        labels: Arc<Vec<u32>>,
        /// Number of groups.
        ngroups: usize,
        /// The function.
        func: ReduceFunc,
    },
    /// Positions picked along one axis: output position `j` is input position
    /// `indices[j]` (broadcasting a climatology back onto the time axis).
    Take {
        /// The array.
        input: I,
        /// The axis.
        axis: usize,
        /// Input position of each output position.
        indices: Arc<Vec<usize>>,
    },
    /// A level of the reduction tree: groups of `factor` blocks per reduced axis combined.
    ReduceCombine {
        /// Partial states.
        input: I,
        /// Reduced axes.
        axes: Vec<usize>,
        /// Blocks combined per reduced axis.
        factor: Vec<usize>,
        /// The function.
        func: ReduceFunc,
    },
    /// Last stage: one partial state per output block turned into values.
    ReduceFinal {
        /// Fully combined partial states.
        input: I,
        /// Reduced axes.
        axes: Vec<usize>,
        /// The function.
        func: ReduceFunc,
        /// Keep reduced axes as length 1.
        keepdims: bool,
    },
}

/// Blocks that already live on workers (a persisted array), as the runtime records them.
/// The array layer only needs to carry this along; the runtime implements it, and frees
/// the blocks when the last holder drops it.
pub trait Resident: Send + Sync + std::fmt::Debug {
    /// Rank holding each block, in flat block order.
    fn locations(&self) -> Vec<u32>;
    /// Bytes of each block.
    fn nbytes(&self) -> Vec<u64>;
    /// Which client holds the blocks (0: unknown).
    fn client(&self) -> u64 {
        0
    }
}

/// Where a persisted array's blocks live in worker stores: the computation and node that
/// produced them.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct PersistedKey {
    /// Computation id.
    pub comp: u64,
    /// Plan node index in that computation.
    pub node: u32,
}

impl<I> Op<I> {
    /// Short name for task keys and plans.
    pub fn name(&self) -> &'static str {
        match self {
            Op::Generate(Generator::Full { .. }) => "full",
            Op::Generate(Generator::Arange { .. }) => "arange",
            Op::Generate(Generator::Linspace { .. }) => "linspace",
            Op::Generate(Generator::Random { .. }) => "random",
            Op::Local(_) => "local",
            Op::Read(_) => "read",
            Op::Persisted(..) => "persisted",
            Op::Elementwise { .. } => "elementwise",
            Op::Slice { .. } => "getitem",
            Op::Transpose { .. } => "transpose",
            Op::Reshape { .. } => "reshape",
            Op::Rechunk { .. } => "rechunk",
            Op::Concatenate { .. } => "concatenate",
            Op::ReducePartial { .. } => "reduce-partial",
            Op::GroupPartial { .. } => "groupby-partial",
            Op::Take { .. } => "take",
            Op::ReduceCombine { .. } => "reduce-combine",
            Op::ReduceFinal { .. } => "reduce",
        }
    }

    /// The inputs, in order.
    pub fn inputs(&self) -> Vec<&I> {
        match self {
            Op::Generate(_) | Op::Local(_) | Op::Read(_) | Op::Persisted(..) => vec![],
            Op::Elementwise { inputs, .. } | Op::Concatenate { inputs, .. } => {
                inputs.iter().collect()
            }
            Op::Slice { input, .. }
            | Op::Transpose { input, .. }
            | Op::Reshape { input }
            | Op::Rechunk { input }
            | Op::ReducePartial { input, .. }
            | Op::GroupPartial { input, .. }
            | Op::Take { input, .. }
            | Op::ReduceCombine { input, .. }
            | Op::ReduceFinal { input, .. } => vec![input],
        }
    }

    /// The same operation with inputs mapped through `f`.
    pub fn map_inputs<J>(&self, mut f: impl FnMut(&I) -> J) -> Op<J> {
        match self {
            Op::Generate(g) => Op::Generate(g.clone()),
            Op::Local(c) => Op::Local(c.clone()),
            Op::Read(r) => Op::Read(r.clone()),
            Op::Persisted(h, k) => Op::Persisted(h.clone(), *k),
            Op::Elementwise { inputs, expr } => Op::Elementwise {
                inputs: inputs.iter().map(f).collect(),
                expr: expr.clone(),
            },
            Op::Slice { input, picks } => Op::Slice {
                input: f(input),
                picks: picks.clone(),
            },
            Op::Transpose { input, perm } => Op::Transpose {
                input: f(input),
                perm: perm.clone(),
            },
            Op::Reshape { input } => Op::Reshape { input: f(input) },
            Op::Rechunk { input } => Op::Rechunk { input: f(input) },
            Op::Concatenate { inputs, axis } => Op::Concatenate {
                inputs: inputs.iter().map(f).collect(),
                axis: *axis,
            },
            Op::ReducePartial { input, axes, func } => Op::ReducePartial {
                input: f(input),
                axes: axes.clone(),
                func: *func,
            },
            Op::GroupPartial {
                input,
                axis,
                labels,
                ngroups,
                func,
            } => Op::GroupPartial {
                input: f(input),
                axis: *axis,
                labels: labels.clone(),
                ngroups: *ngroups,
                func: *func,
            },
            Op::Take {
                input,
                axis,
                indices,
            } => Op::Take {
                input: f(input),
                axis: *axis,
                indices: indices.clone(),
            },
            Op::ReduceCombine {
                input,
                axes,
                factor,
                func,
            } => Op::ReduceCombine {
                input: f(input),
                axes: axes.clone(),
                factor: factor.clone(),
                func: *func,
            },
            Op::ReduceFinal {
                input,
                axes,
                func,
                keepdims,
            } => Op::ReduceFinal {
                input: f(input),
                axes: axes.clone(),
                func: *func,
                keepdims: *keepdims,
            },
        }
    }
}
