//! The block sizes of one axis, in closed form where they are regular.
//!
//! Why: planning must cost as much as the expression, not as much as its blocks. An axis of
//! length `n` cut in blocks of `b` (the last one shorter) is three numbers whatever `n / b`
//! is, so `ones(10**12, chunks=1)` plans in microseconds; only sizes a user or a planner
//! gave block by block (irregular ones) are stored explicitly, with their prefix sums.
//!
//! The form is canonical (explicit sizes that happen to be regular are stored as regular),
//! so two axes are equal exactly when their block sizes are.

use serde::{Deserialize, Serialize};

/// Block sizes of one axis. Invariant: sizes add up to the axis length and are positive,
/// except a zero-length axis, which has the single block `0`.
///
/// Serialized as the list of sizes (dask's `.chunks` entry), so plans on the wire and JSON
/// look as they did with explicit lists; only grids within the block limit are sent.
#[derive(Clone, PartialEq, Eq)]
pub struct AxisChunks(Form);

impl Serialize for AxisChunks {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for AxisChunks {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<AxisChunks, D::Error> {
        let sizes = Vec::<usize>::deserialize(d)?;
        if sizes.is_empty() {
            return Err(serde::de::Error::custom("an axis has at least one block"));
        }
        Ok(AxisChunks::from_sizes(sizes))
    }
}

#[derive(Clone, PartialEq, Eq)]
enum Form {
    /// `len / block` blocks of `block`, then one of `last` if the division leaves a
    /// remainder (`last == block` otherwise). A zero-length axis is `0, 0, 0`.
    Regular {
        len: usize,
        block: usize,
        last: usize,
    },
    /// Irregular sizes with their prefix sums (`offsets[i]` is the start of block `i`,
    /// `offsets[n]` the axis length).
    Explicit {
        sizes: Vec<usize>,
        offsets: Vec<usize>,
    },
}

impl AxisChunks {
    /// An axis of `len` cut in blocks of `block` (the last one shorter); `block` is
    /// clamped to `1..=len`.
    pub fn regular(len: usize, block: usize) -> AxisChunks {
        if len == 0 {
            return AxisChunks(Form::Regular {
                len: 0,
                block: 0,
                last: 0,
            });
        }
        let block = block.clamp(1, len);
        let rem = len % block;
        AxisChunks(Form::Regular {
            len,
            block,
            last: if rem == 0 { block } else { rem },
        })
    }

    /// The whole axis in one block.
    pub fn whole(len: usize) -> AxisChunks {
        AxisChunks::regular(len, len)
    }

    /// From explicit block sizes (which must satisfy the invariant); regular ones are stored
    /// in closed form.
    pub fn from_sizes(sizes: Vec<usize>) -> AxisChunks {
        let len: usize = sizes.iter().sum();
        if let Some((&first, rest)) = sizes.split_first() {
            let (body, tail) = rest.split_at(rest.len().saturating_sub(1));
            let regular = body.iter().all(|&s| s == first)
                && tail.iter().all(|&s| s > 0 && s <= first)
                && first > 0;
            if regular || len == 0 {
                return AxisChunks::regular(len, first);
            }
        } else {
            return AxisChunks::regular(0, 0);
        }
        let mut offsets = Vec::with_capacity(sizes.len() + 1);
        let mut acc = 0;
        offsets.push(0);
        for &s in &sizes {
            acc += s;
            offsets.push(acc);
        }
        AxisChunks(Form::Explicit { sizes, offsets })
    }

    /// Number of blocks.
    #[allow(clippy::len_without_is_empty)] // never empty: a zero-length axis has one block
    pub fn len(&self) -> usize {
        match &self.0 {
            Form::Regular { len, block, .. } => {
                if *len == 0 {
                    1
                } else {
                    len.div_ceil(*block)
                }
            }
            Form::Explicit { sizes, .. } => sizes.len(),
        }
    }

    /// The axis length (sum of the block sizes).
    pub fn extent(&self) -> usize {
        match &self.0 {
            Form::Regular { len, .. } => *len,
            Form::Explicit { offsets, .. } => offsets.last().copied().unwrap_or(0),
        }
    }

    /// True when the sizes are stored in closed form.
    pub fn is_regular(&self) -> bool {
        matches!(self.0, Form::Regular { .. })
    }

    /// The size of the regular blocks (all but possibly the last), or `None` for an
    /// irregular axis.
    pub fn regular_block(&self) -> Option<usize> {
        match &self.0 {
            Form::Regular { block, .. } => Some(*block),
            Form::Explicit { .. } => None,
        }
    }

    /// Size of block `i` (`i < len()`).
    pub fn size(&self, i: usize) -> usize {
        self[i]
    }

    /// Start of block `i`; `offset(len())` is the axis length.
    pub fn offset(&self, i: usize) -> usize {
        match &self.0 {
            Form::Regular { len, block, .. } => (i * block).min(*len),
            Form::Explicit { offsets, .. } => offsets[i],
        }
    }

    /// The block holding position `pos` (`pos < extent()`; positions past the end give the
    /// number of blocks).
    pub fn block_of(&self, pos: usize) -> usize {
        match &self.0 {
            Form::Regular { len, block, .. } => {
                if pos >= *len {
                    self.len()
                } else {
                    pos / block
                }
            }
            Form::Explicit { offsets, .. } => offsets[1..].partition_point(|&end| end <= pos),
        }
    }

    /// Blocks that intersect `[start, stop)`.
    pub fn overlapping(&self, start: usize, stop: usize) -> std::ops::Range<usize> {
        if start >= stop {
            return 0..0;
        }
        let n = self.len();
        let first = self.block_of(start).min(n);
        let last = if stop >= self.extent() {
            n
        } else {
            // first block starting at or after stop
            let b = self.block_of(stop);
            if self.offset(b) < stop {
                b + 1
            } else {
                b
            }
        };
        first..last.max(first)
    }

    /// The largest block.
    pub fn max(&self) -> usize {
        match &self.0 {
            Form::Regular { block, .. } => *block,
            Form::Explicit { sizes, .. } => sizes.iter().copied().max().unwrap_or(0),
        }
    }

    /// Block sizes in order, as a `Vec`'s `iter()` gives them (lazily: a regular axis is
    /// never expanded by iterating).
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &usize> + ExactSizeIterator + '_ {
        (0..self.len()).map(move |i| &self[i])
    }

    /// The first block's size (an axis always has one).
    pub fn first(&self) -> Option<usize> {
        Some(self[0])
    }

    /// Every block size, refused with the block-limit message when there are more than
    /// [`crate::array::limits::max_blocks`]: for front ends that list sizes (`x.chunks`).
    pub fn to_vec_limited(&self, what: &str) -> Result<Vec<usize>, crate::array::ArrayError> {
        crate::array::limits::check_axis_blocks(self.len(), self.extent(), what)?;
        Ok(self.to_vec())
    }

    /// Every block size, expanded. Costs one word per block: planners call it only on axes
    /// whose block count passed [`crate::array::limits::check_axis_blocks`].
    pub fn to_vec(&self) -> Vec<usize> {
        self.iter().copied().collect()
    }
}

impl std::ops::Index<usize> for AxisChunks {
    type Output = usize;
    fn index(&self, i: usize) -> &usize {
        match &self.0 {
            Form::Regular { len, block, last } => {
                let n = if *len == 0 { 1 } else { len.div_ceil(*block) };
                assert!(i < n, "block {i} out of range for an axis of {n} blocks");
                if i + 1 == n {
                    last
                } else {
                    block
                }
            }
            Form::Explicit { sizes, .. } => &sizes[i],
        }
    }
}

impl From<Vec<usize>> for AxisChunks {
    fn from(sizes: Vec<usize>) -> AxisChunks {
        AxisChunks::from_sizes(sizes)
    }
}

impl PartialEq<Vec<usize>> for AxisChunks {
    fn eq(&self, other: &Vec<usize>) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl PartialEq<[usize]> for AxisChunks {
    fn eq(&self, other: &[usize]) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl PartialEq<&[usize]> for AxisChunks {
    fn eq(&self, other: &&[usize]) -> bool {
        *self == **other
    }
}

impl<const N: usize> PartialEq<[usize; N]> for AxisChunks {
    fn eq(&self, other: &[usize; N]) -> bool {
        *self == other[..]
    }
}

/// Axes of at most this many blocks are printed size by size (as dask's `.chunks`); a
/// regular axis with more is printed in closed form (see [`AxisChunks::compact`]).
pub const LIST_BLOCKS_UP_TO: usize = 1000;

/// The sizes as a list, or the closed form for a regular axis of more than
/// [`LIST_BLOCKS_UP_TO`] blocks.
impl std::fmt::Debug for AxisChunks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_listed() {
            f.debug_list().entries(self.iter()).finish()
        } else {
            write!(f, "{}", self.compact())
        }
    }
}

impl AxisChunks {
    /// True when the axis is printed size by size: few blocks, or stored explicitly anyway
    /// (printing costs what storing did).
    pub fn is_listed(&self) -> bool {
        self.len() <= LIST_BLOCKS_UP_TO || !self.is_regular()
    }

    /// Closed-form text of the sizes, honest for any number of blocks: `1000x1000000`
    /// (a million blocks of 1000), `1000x999999+1` (then one of 1); an irregular axis is
    /// `N blocks of MIN..=MAX`.
    pub fn compact(&self) -> String {
        match &self.0 {
            Form::Regular { len, block, last } => {
                let full = if *len == 0 { 1 } else { len / block };
                if last == block || *len == 0 {
                    format!("{block}x{full}")
                } else {
                    format!("{block}x{full}+{last}")
                }
            }
            Form::Explicit { sizes, .. } => {
                let lo = sizes.iter().copied().min().unwrap_or(0);
                format!("{} blocks of {lo}..={}", sizes.len(), self.max())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regular_and_explicit_agree() {
        let cases: &[&[usize]] = &[
            &[4, 4, 2],
            &[5, 5],
            &[10],
            &[0],
            &[1, 1, 1, 1],
            &[4, 8, 8, 4],
            &[3, 3, 4],
            &[2, 3],
        ];
        for sizes in cases {
            let a = AxisChunks::from_sizes(sizes.to_vec());
            assert_eq!(a.to_vec(), sizes.to_vec());
            assert_eq!(a.len(), sizes.len());
            let mut acc = 0;
            for (i, &s) in sizes.iter().enumerate() {
                assert_eq!(a.offset(i), acc, "{sizes:?} block {i}");
                assert_eq!(a[i], s);
                if s > 0 {
                    assert_eq!(a.block_of(acc), i);
                    assert_eq!(a.block_of(acc + s - 1), i);
                }
                acc += s;
            }
            assert_eq!(a.offset(a.len()), acc);
            assert_eq!(a.extent(), acc);
        }
        assert!(AxisChunks::from_sizes(vec![4, 4, 2]).is_regular());
        assert!(!AxisChunks::from_sizes(vec![2, 3]).is_regular());
        assert_eq!(
            AxisChunks::from_sizes(vec![4, 4, 2]),
            AxisChunks::regular(10, 4)
        );
    }

    #[test]
    fn overlapping_matches_a_scan() {
        for a in [
            AxisChunks::regular(10, 4),
            AxisChunks::from_sizes(vec![2, 3, 5]),
        ] {
            for start in 0..=10 {
                for stop in 0..=11 {
                    let want: Vec<usize> = (0..a.len())
                        .filter(|&b| start < stop && a.offset(b) < stop && a.offset(b + 1) > start)
                        .collect();
                    let got: Vec<usize> = a.overlapping(start, stop).collect();
                    assert_eq!(got, want, "{a:?} [{start}, {stop})");
                }
            }
        }
    }

    #[test]
    fn huge_axes_cost_nothing() {
        let a = AxisChunks::regular(1_000_000_000_000, 1);
        assert_eq!(a.len(), 1_000_000_000_000);
        assert_eq!(a[999_999_999_999], 1);
        assert_eq!(a.offset(500), 500);
        assert_eq!(a.compact(), "1x1000000000000");
        assert_eq!(
            AxisChunks::regular(10_000_000_001, 10).compact(),
            "10x1000000000+1"
        );
    }

    #[test]
    fn serialized_as_dask_lists() {
        let a = AxisChunks::regular(10, 4);
        let text = serde_json::to_string(&a).unwrap();
        assert_eq!(text, "[4,4,2]");
        let back: AxisChunks = serde_json::from_str(&text).unwrap();
        assert_eq!(back, a);
        assert!(back.is_regular());
        assert!(serde_json::from_str::<AxisChunks>("[]").is_err());
    }
}
