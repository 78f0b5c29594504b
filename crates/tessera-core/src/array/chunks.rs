//! Chunk grids: the per-axis block sizes of a chunked array, as `dask.array`'s `.chunks`.
//!
//! Everything here is pure arithmetic on block sizes; the planners for slicing, reshape and
//! rechunk build on it. Normalisation follows dask: length 10 with block length 4 gives
//! `(4, 4, 2)`, a zero-length axis gives `(0,)`.

pub use super::axis_chunks::AxisChunks;
use super::error::ArrayError;
use serde::{Deserialize, Serialize};

/// How the user asked for one axis to be chunked.
#[derive(Debug, Clone, PartialEq)]
pub enum AxisSpec {
    /// Blocks of this length (the last one may be shorter).
    Size(i64),
    /// The whole axis in one block (`-1`).
    Full,
    /// Keep the current chunking (`None`, in `rechunk`).
    Keep,
    /// "auto" on this axis.
    Auto,
    /// Explicit block sizes.
    Explicit(Vec<i64>),
}

/// A whole `chunks=` argument.
#[derive(Debug, Clone, PartialEq)]
pub enum ChunkSpec {
    /// `chunks="auto"` or no argument.
    Auto,
    /// One spec for every axis (`chunks=5`).
    Uniform(AxisSpec),
    /// One spec per axis.
    PerAxis(Vec<AxisSpec>),
    /// `{axis: spec}` in `rechunk`; unnamed axes keep their chunking.
    ByAxis(Vec<(i64, AxisSpec)>),
}

/// Default byte target of one chunk for `"auto"` (dask's `array.chunk-size` default).
pub const AUTO_CHUNK_BYTES: usize = 128 * 1024 * 1024;

static AUTO_TARGET: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(AUTO_CHUNK_BYTES);

/// The byte target of `"auto"` chunks and of file blocks: [`AUTO_CHUNK_BYTES`] unless a
/// job set another (`chunk_target` in a job file). Plans are built on rank 0 only, so a
/// process-wide setting is enough.
pub fn auto_chunk_bytes() -> usize {
    AUTO_TARGET.load(std::sync::atomic::Ordering::Relaxed)
}

/// Sets the byte target of `"auto"` chunks (at least 1 KiB).
pub fn set_auto_chunk_bytes(bytes: usize) {
    AUTO_TARGET.store(bytes.max(1024), std::sync::atomic::Ordering::Relaxed);
}

/// The block sizes of every axis (see [`AxisChunks`]: closed form where regular, so a grid
/// costs a few words per axis however many blocks it has).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChunkGrid {
    chunks: Vec<AxisChunks>,
}

impl ChunkGrid {
    /// Builds a grid from per-axis block sizes (already validated): [`AxisChunks`], or
    /// explicit sizes as `Vec<usize>`.
    pub fn new<A: Into<AxisChunks>>(chunks: Vec<A>) -> ChunkGrid {
        ChunkGrid {
            chunks: chunks.into_iter().map(Into::into).collect(),
        }
    }

    /// The grid of a 0-d array: one block.
    pub fn scalar() -> ChunkGrid {
        ChunkGrid { chunks: vec![] }
    }

    /// Per-axis block sizes.
    pub fn chunks(&self) -> &[AxisChunks] {
        &self.chunks
    }

    /// Number of axes.
    pub fn ndim(&self) -> usize {
        self.chunks.len()
    }

    /// The array shape the grid covers.
    pub fn shape(&self) -> Vec<usize> {
        self.chunks.iter().map(|c| c.extent()).collect()
    }

    /// Blocks per axis.
    pub fn blocks_per_axis(&self) -> Vec<usize> {
        self.chunks.iter().map(|c| c.len()).collect()
    }

    /// Total number of blocks, exact however large (a lazy array may have more blocks than
    /// a `usize` counts; [`super::limits::check_grid`] refuses those before any work).
    pub fn block_count(&self) -> u128 {
        self.chunks
            .iter()
            .fold(1u128, |acc, c| acc.saturating_mul(c.len() as u128))
    }

    /// Total number of blocks (saturating at `usize::MAX`; grids that run have passed
    /// [`super::limits::check_grid`]).
    pub fn num_blocks(&self) -> usize {
        usize::try_from(self.block_count()).unwrap_or(usize::MAX)
    }

    /// Multi-index of a flat (C-order) block number.
    pub fn unravel(&self, mut flat: usize) -> Vec<usize> {
        let mut idx = vec![0; self.chunks.len()];
        for a in (0..self.chunks.len()).rev() {
            let n = self.chunks[a].len().max(1);
            idx[a] = flat % n;
            flat /= n;
        }
        idx
    }

    /// Flat (C-order) block number of a multi-index.
    pub fn ravel(&self, idx: &[usize]) -> usize {
        let mut flat = 0;
        for (a, &i) in idx.iter().enumerate() {
            flat = flat * self.chunks[a].len() + i;
        }
        flat
    }

    /// Shape of one block.
    pub fn block_shape(&self, idx: &[usize]) -> Vec<usize> {
        idx.iter()
            .enumerate()
            .map(|(a, &i)| self.chunks[a][i])
            .collect()
    }

    /// Start offset of one block along every axis.
    pub fn block_offset(&self, idx: &[usize]) -> Vec<usize> {
        idx.iter()
            .enumerate()
            .map(|(a, &i)| self.chunks[a].offset(i))
            .collect()
    }

    /// The block sizes of one axis (with their offsets: [`AxisChunks::offset`]).
    pub fn axis(&self, axis: usize) -> &AxisChunks {
        &self.chunks[axis]
    }

    /// Blocks of `axis` that intersect `[start, stop)`.
    pub fn blocks_overlapping(
        &self,
        axis: usize,
        start: usize,
        stop: usize,
    ) -> std::ops::Range<usize> {
        self.chunks[axis].overlapping(start, stop)
    }

    /// Largest block in elements, for memory estimates (saturating).
    pub fn max_block_elems(&self) -> usize {
        self.chunks
            .iter()
            .fold(1usize, |acc, c| acc.saturating_mul(c.max()))
    }
}

/// Normalises one axis of a `chunks=` argument against its length.
pub fn normalize_axis(
    len: usize,
    spec: &AxisSpec,
    current: Option<&AxisChunks>,
) -> Result<AxisChunks, ArrayError> {
    if len == 0 {
        return match spec {
            AxisSpec::Explicit(v) if v.iter().any(|&s| s != 0) => Err(ArrayError::BadChunks(
                format!("chunk sizes {v:?} do not add up to the axis length 0"),
            )),
            _ => Ok(AxisChunks::whole(0)),
        };
    }
    match spec {
        AxisSpec::Full => Ok(AxisChunks::whole(len)),
        AxisSpec::Auto => Ok(AxisChunks::whole(len)),
        AxisSpec::Keep => match current {
            Some(c) => Ok(c.clone()),
            None => Ok(AxisChunks::whole(len)),
        },
        AxisSpec::Size(s) => {
            if *s == -1 {
                return Ok(AxisChunks::whole(len));
            }
            if *s <= 0 {
                return Err(ArrayError::BadChunks(format!(
                    "chunk size must be positive or -1, got {s}"
                )));
            }
            Ok(AxisChunks::regular(len, usize::try_from(*s).unwrap_or(len)))
        }
        AxisSpec::Explicit(sizes) => {
            if sizes.iter().any(|&s| s <= 0) {
                return Err(ArrayError::BadChunks(format!(
                    "explicit chunk sizes must be positive, got {sizes:?}"
                )));
            }
            let total = sizes
                .iter()
                .try_fold(0u64, |acc, &s| acc.checked_add(s as u64));
            if total != Some(len as u64) {
                let total = total.map_or("more than 2^64".to_string(), |t| t.to_string());
                return Err(ArrayError::BadChunks(format!(
                    "chunk sizes {sizes:?} add up to {total}, but the axis has length {len}"
                )));
            }
            Ok(AxisChunks::from_sizes(
                sizes.iter().map(|&s| s as usize).collect(),
            ))
        }
    }
}

/// Chooses block sizes for `"auto"` axes: blocks as close to cubic as possible with at most
/// `target_bytes` per block, keeping the non-auto axes as given. Element counts are
/// exact (`u128`): a lazy array may have more elements than a `usize` counts.
fn auto_fill(
    shape: &[usize],
    itemsize: usize,
    target_bytes: usize,
    fixed: &[Option<AxisChunks>],
) -> Vec<AxisChunks> {
    let mut block: Vec<usize> = shape
        .iter()
        .zip(fixed)
        .map(|(&n, f)| match f {
            Some(c) => c.max().max(1),
            None => n.max(1),
        })
        .collect();
    let target_elems = (target_bytes / itemsize.max(1)).max(1) as u128;
    loop {
        let elems = block
            .iter()
            .fold(1u128, |acc, &b| acc.saturating_mul(b as u128));
        if elems <= target_elems {
            break;
        }
        // halve the largest auto axis
        let mut best: Option<usize> = None;
        for a in 0..shape.len() {
            if fixed[a].is_none() && block[a] > 1 && best.is_none_or(|b| block[a] > block[b]) {
                best = Some(a);
            }
        }
        match best {
            Some(a) => block[a] = block[a].div_ceil(2),
            None => break,
        }
    }
    shape
        .iter()
        .zip(fixed)
        .zip(&block)
        .map(|((&n, f), &b)| match f {
            Some(c) => c.clone(),
            None => AxisChunks::regular(n, b),
        })
        .collect()
}

/// Normalises a `chunks=` argument for an array of `shape`. `current` is the existing
/// grid (for `rechunk`'s `None` entries and dict form).
pub fn normalize(
    shape: &[usize],
    spec: &ChunkSpec,
    itemsize: usize,
    current: Option<&ChunkGrid>,
) -> Result<ChunkGrid, ArrayError> {
    let ndim = shape.len();
    if let Some(d) = shape.iter().find(|&&d| d > i64::MAX as usize) {
        return Err(ArrayError::Shape(format!(
            "shape {shape:?}: dimension {d} exceeds the maximum allowed dimension {} (as numpy)",
            i64::MAX
        )));
    }
    let per_axis: Vec<AxisSpec> = match spec {
        ChunkSpec::Auto => vec![AxisSpec::Auto; ndim],
        ChunkSpec::Uniform(s) => vec![s.clone(); ndim],
        ChunkSpec::PerAxis(v) => {
            if v.len() != ndim {
                return Err(ArrayError::BadChunks(format!(
                    "chunks has {} entries but the array has {} dimensions (shape {:?})",
                    v.len(),
                    ndim,
                    shape
                )));
            }
            v.clone()
        }
        ChunkSpec::ByAxis(pairs) => {
            let mut v = vec![AxisSpec::Keep; ndim];
            for (ax, s) in pairs {
                let a = normalize_axis_index(*ax, ndim)?;
                v[a] = s.clone();
            }
            v
        }
    };
    let cur = current.map(|g| g.chunks());
    let mut fixed = Vec::with_capacity(ndim);
    for (a, s) in per_axis.iter().enumerate() {
        if *s == AxisSpec::Auto {
            fixed.push(None);
        } else {
            fixed.push(Some(normalize_axis(shape[a], s, cur.map(|c| &c[a]))?));
        }
    }
    Ok(ChunkGrid::new(auto_fill(
        shape,
        itemsize,
        auto_chunk_bytes(),
        &fixed,
    )))
}

/// Resolves a possibly negative axis number against `ndim`.
pub fn normalize_axis_index(axis: i64, ndim: usize) -> Result<usize, ArrayError> {
    let n = ndim as i64;
    let a = if axis < 0 { axis + n } else { axis };
    if a < 0 || a >= n {
        return Err(ArrayError::AxisOutOfRange { axis, ndim });
    }
    Ok(a as usize)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_like_dask() {
        let cases: &[(usize, AxisSpec, &[usize])] = &[
            (10, AxisSpec::Size(4), &[4, 4, 2]),
            (10, AxisSpec::Size(5), &[5, 5]),
            (10, AxisSpec::Size(-1), &[10]),
            (10, AxisSpec::Size(20), &[10]),
            (0, AxisSpec::Size(3), &[0]),
            (24, AxisSpec::Explicit(vec![4, 8, 8, 4]), &[4, 8, 8, 4]),
        ];
        for (len, spec, want) in cases {
            assert_eq!(
                normalize_axis(*len, spec, None).unwrap(),
                *want,
                "{len} {spec:?}"
            );
        }
    }

    #[test]
    fn bad_chunks_are_errors() {
        assert!(normalize_axis(10, &AxisSpec::Explicit(vec![4, 4]), None).is_err());
        assert!(normalize_axis(10, &AxisSpec::Size(0), None).is_err());
        assert!(normalize_axis(10, &AxisSpec::Size(-3), None).is_err());
        assert!(normalize(
            &[4, 4],
            &ChunkSpec::PerAxis(vec![AxisSpec::Size(2)]),
            8,
            None
        )
        .is_err());
    }

    #[test]
    fn grid_indexing() {
        let g = ChunkGrid::new(vec![vec![4, 4, 2], vec![3, 3]]);
        assert_eq!(g.num_blocks(), 6);
        assert_eq!(g.unravel(5), vec![2, 1]);
        assert_eq!(g.ravel(&[2, 1]), 5);
        assert_eq!(g.block_shape(&[2, 1]), vec![2, 3]);
        assert_eq!(g.block_offset(&[2, 1]), vec![8, 3]);
        assert_eq!(g.blocks_overlapping(0, 3, 9), 0..3);
        assert_eq!(g.blocks_overlapping(0, 4, 8), 1..2);
        assert_eq!(g.blocks_overlapping(0, 5, 5), 0..0);
        assert_eq!(g.shape(), vec![10, 6]);
    }

    #[test]
    fn auto_respects_target() {
        let g = normalize(&[100_000, 100_000], &ChunkSpec::Auto, 8, None).unwrap();
        let block: usize = g.chunks().iter().map(|c| c[0]).product();
        assert!(block * 8 <= AUTO_CHUNK_BYTES);
        let small = normalize(&[10, 10], &ChunkSpec::Auto, 8, None).unwrap();
        assert_eq!(small.chunks(), &[vec![10], vec![10]]);
    }

    #[test]
    fn huge_grids_plan_in_closed_form() {
        // issue #13 item 4: 10**12 blocks, and more elements than a usize counts.
        let g = normalize(
            &[1_000_000_000_000],
            &ChunkSpec::Uniform(AxisSpec::Size(1)),
            8,
            None,
        )
        .unwrap();
        assert_eq!(g.block_count(), 1_000_000_000_000);
        assert_eq!(g.block_offset(&[123_456_789]), vec![123_456_789]);
        let big = normalize(&[10_000_000_000; 3], &ChunkSpec::Auto, 8, None).unwrap();
        let block: u128 = big.chunks().iter().map(|c| c[0] as u128).product();
        assert!(block * 8 <= AUTO_CHUNK_BYTES as u128);
        assert!(big.block_count() > u64::MAX as u128);
    }
}
