//! Optional compression of chunk payloads before they cross ranks.
//!
//! Compression pays only when the link is slower than the codec and the data shrinks.
//! Measured with [`measure`] on a 2-core development machine (64 MiB, one thread): LZ4
//! compresses a smooth f64 ramp (ratio 0.50) at 0.6–0.7 GB/s and decodes it at 0.7–1.2
//! GB/s, while memcpy runs at ~7 GB/s; float data without repeats (a sine) does not shrink.
//! So over same-node shared memory (~6–8 GB/s) compression costs far more than it saves;
//! it pays only on links slower than the codec (break-even ~0.2 GB/s for such data when
//! compressing, sending and decoding run one after another, ~0.7 GB/s when they overlap),
//! and the caller decides per link whether to try it. Even then a payload is compressed
//! only when it is large ([`Policy::min_bytes`]) and a few small samples of it compress
//! well ([`Policy::max_ratio`]); otherwise it travels raw and costs only the sampling.
//!
//! The sampler works on the flat bytes: [`sample_ranges`] depends only on the byte length,
//! so the amount sampled is at most `samples × sample_bytes` whatever the chunk's shape.
//! (Sampling through an n-d view instead, where "the first 10 KB" slices whole rows or
//! planes, can read a large part of the chunk; dask.distributed once did exactly that.)
//!
//! Format: LZ4 block format (no frame); the raw length travels beside the data in
//! [`Compressed::raw_len`] and decompression writes straight into a pooled [`Buffer`].

use crate::array::buffer::Buffer;
use lz4_flex::block::{compress_into, decompress_into, get_maximum_output_size};
use std::hint::black_box;
use std::ops::Range;
use std::time::Instant;

/// A compression codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Codec {
    /// LZ4 block format (`lz4_flex`).
    Lz4,
}

/// When to compress.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Policy {
    /// Payloads smaller than this are never compressed (default 64 KiB).
    pub min_bytes: usize,
    /// Bytes per sample (default 10 000).
    pub sample_bytes: usize,
    /// Number of samples, spread evenly from start to end (default 3).
    pub samples: usize,
    /// Compress only if compressed sample bytes / raw sample bytes <= this (default 0.9).
    pub max_ratio: f64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            min_bytes: 64 * 1024,
            sample_bytes: 10_000,
            samples: 3,
            max_ratio: 0.9,
        }
    }
}

/// Byte ranges the sampler looks at for a payload of `len` bytes: at most `samples` ranges
/// of at most `sample_bytes` each, inside `0..len`, sorted, non-overlapping, evenly spread
/// from the start to the end. Depends on nothing but `len` and the policy (not the shape).
pub fn sample_ranges(len: usize, p: &Policy) -> Vec<Range<usize>> {
    if len == 0 || p.samples == 0 || p.sample_bytes == 0 {
        return Vec::new();
    }
    let n = p.samples.min(len);
    let w = p.sample_bytes.min(len / n); // n * w <= len, so evenly spaced ranges cannot overlap
    let span = (len - w) as u128;
    (0..n)
        .map(|i| {
            let start = (i as u128 * span / (n as u128 - 1).max(1)) as usize;
            start..start + w
        })
        .collect()
}

/// True when `bytes` is at least `min_bytes` long and its samples compress to at most
/// `max_ratio` of their size.
pub fn worth_compressing(bytes: &[u8], p: &Policy) -> bool {
    if bytes.len() < p.min_bytes {
        return false;
    }
    let ranges = sample_ranges(bytes.len(), p);
    let widest = ranges.iter().map(|r| r.len()).max().unwrap_or(0);
    let mut scratch = vec![0u8; get_maximum_output_size(widest)];
    let (mut raw, mut packed) = (0usize, 0usize);
    for r in ranges {
        match compress_into(&bytes[r.clone()], &mut scratch) {
            Ok(n) => packed += n,
            Err(_) => return false,
        }
        raw += r.len();
    }
    raw > 0 && packed as f64 <= p.max_ratio * raw as f64
}

/// A compressed payload and what is needed to restore it.
#[derive(Debug)]
pub struct Compressed {
    /// Codec that produced `data`.
    pub codec: Codec,
    /// Length of the original bytes.
    pub raw_len: usize,
    /// The compressed bytes.
    pub data: Buffer,
}

/// Compresses `bytes` when the policy says it pays (sampling first). `None` when it does
/// not: too small, samples do not shrink enough, or the whole result is not smaller.
/// The result is copied once out of a pooled scratch buffer (counted by
/// [`crate::array::buffer::copied_bytes`]).
pub fn compress(bytes: &[u8], p: &Policy) -> Option<Compressed> {
    if !worth_compressing(bytes, p) {
        return None;
    }
    let mut scratch = Buffer::for_overwrite(get_maximum_output_size(bytes.len()));
    let n = compress_into(bytes, scratch.as_bytes_mut()).ok()?;
    if n >= bytes.len() {
        return None;
    }
    Some(Compressed {
        codec: Codec::Lz4,
        raw_len: bytes.len(),
        data: Buffer::copy_from(&scratch.as_bytes()[..n]),
    })
}

/// Restores the original bytes into a fresh pooled buffer of exactly `raw_len` bytes,
/// decoding straight into it. Corrupt input or a `raw_len` that does not match the data
/// is an error message, never a panic; an impossible `raw_len` is refused before allocating.
pub fn decompress(codec: Codec, data: &[u8], raw_len: usize) -> Result<Buffer, String> {
    let Codec::Lz4 = codec; // the only codec: adding one makes this line fail to compile
    let m = data.len();
    // A valid LZ4 block expands at most 255-fold (a match-length byte adds 255).
    if raw_len > m.saturating_mul(255) {
        return Err(format!(
            "lz4: {raw_len} raw bytes cannot come from {m} compressed bytes"
        ));
    }
    let mut out = Buffer::for_overwrite(raw_len);
    let n = decompress_into(data, out.as_bytes_mut())
        .map_err(|e| format!("lz4: corrupt data or raw_len {raw_len} too small: {e}"))?;
    if n != raw_len {
        return Err(format!("lz4: decoded {n} bytes, expected {raw_len}"));
    }
    Ok(out)
}

/// Measured LZ4 speed on this machine: compresses and then decompresses `bytes` `reps`
/// times (at least once) into preallocated buffers and returns
/// `(compress_bytes_per_sec, decompress_bytes_per_sec, compressed_len / raw_len)`.
/// Speeds count raw bytes. For documentation and benchmarks, not for the send path.
pub fn measure(bytes: &[u8], reps: usize) -> (f64, f64, f64) {
    let reps = reps.max(1);
    let mut packed = vec![0u8; get_maximum_output_size(bytes.len())];
    let mut out = vec![0u8; bytes.len()];
    let mut n = 0;
    let t = Instant::now();
    for _ in 0..reps {
        n = compress_into(black_box(bytes), &mut packed).unwrap_or(0);
    }
    let (tc, t) = (t.elapsed().as_secs_f64().max(1e-9), Instant::now());
    for _ in 0..reps {
        black_box(decompress_into(black_box(&packed[..n]), &mut out).ok());
    }
    let td = t.elapsed().as_secs_f64().max(1e-9);
    let total = (bytes.len() * reps) as f64;
    (total / tc, total / td, n as f64 / bytes.len().max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xorshift_bytes(len: usize, mut s: u64) -> Vec<u8> {
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                s as u8
            })
            .collect()
    }

    fn pol(min_bytes: usize, samples: usize, sample_bytes: usize, max_ratio: f64) -> Policy {
        Policy {
            min_bytes,
            samples,
            sample_bytes,
            max_ratio,
        }
    }

    fn ramp(n: usize) -> Vec<u8> {
        (0..n)
            .flat_map(|i| (i as f64 * 0.25).to_le_bytes())
            .collect()
    }

    fn round_trip(bytes: &[u8]) {
        let c = compress(bytes, &Policy::default()).expect("compressible");
        assert!(c.data.len() < bytes.len());
        let back = decompress(c.codec, c.data.as_bytes(), c.raw_len).expect("decodes");
        assert_eq!(back.as_bytes(), bytes);
    }

    #[test]
    fn compressible_inputs_round_trip() {
        round_trip(&vec![0u8; 1 << 20]);
        let pattern: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
        round_trip(&pattern);
        round_trip(&ramp(1 << 17));
    }

    #[test]
    fn incompressible_input_is_sent_raw() {
        let bytes = xorshift_bytes(1 << 20, 0x9e37_79b9_7f4a_7c15);
        let p = Policy::default();
        assert!(!worth_compressing(&bytes, &p)); // so compress stops after the samples
        assert!(compress(&bytes, &p).is_none());
        // With the ratio bound lifted the samples pass, but the whole result is not smaller.
        let lax = pol(p.min_bytes, p.samples, p.sample_bytes, 2.0);
        assert!(worth_compressing(&bytes, &lax));
        assert!(compress(&bytes, &lax).is_none());
    }

    fn check_ranges(len: usize, p: &Policy) -> usize {
        let r = sample_ranges(len, p);
        assert!(r.len() <= p.samples);
        for x in &r {
            assert!(
                x.start < x.end && x.end <= len && x.len() <= p.sample_bytes,
                "{x:?}"
            );
        }
        assert!(
            r.windows(2).all(|w| w[0].end <= w[1].start),
            "overlap or unsorted: {r:?}"
        );
        let total: usize = r.iter().map(|x| x.len()).sum();
        assert!(total <= p.samples * p.sample_bytes && total <= len);
        total
    }

    #[test]
    fn sample_ranges_are_bounded_sorted_disjoint() {
        let mut lens = vec![0, 1, 2, 3, 7, 9_999, 10_000, 30_001];
        lens.extend([64 << 10, 1 << 20, 1 << 30]);
        for p in [Policy::default(), pol(0, 1, 10_000, 0.9), pol(0, 7, 3, 0.9)] {
            for &len in &lens {
                check_ranges(len, &p);
            }
        }
        let p = Policy::default();
        assert!(sample_ranges(0, &p).is_empty());
        let big = sample_ranges(1 << 30, &p);
        assert_eq!((big.len(), big[0].start, big[2].end), (3, 0, 1 << 30));
        assert_eq!(check_ranges(1 << 30, &p), 30_000);
        assert_eq!(check_ranges(usize::MAX, &p), 30_000);
    }

    #[test]
    fn n_d_chunks_sample_a_bounded_amount_whatever_the_shape() {
        let p = pol(0, 3, 10_000, 0.9);
        let bound = p.samples * p.sample_bytes;
        let shapes: [&[usize]; 5] = [
            &[1000, 1000],
            &[10, 500, 500],
            &[2, 3, 4, 5, 6, 7, 8],
            &[1_000_000, 1],
            &[1, 1_000_000],
        ];
        let mut by_len = std::collections::HashMap::new();
        for shape in shapes {
            // The flat, C-order bytes of an f64 chunk of this shape; the shape goes no further.
            let elems: usize = shape.iter().product();
            let mut chunk = xorshift_bytes(elems * 8, elems as u64);
            let sampled = check_ranges(chunk.len(), &p);
            assert!(sampled <= bound, "{shape:?}: sampled {sampled} > {bound}");
            // Only the sampled ranges are read: zeroing exactly them flips the verdict.
            assert!(!worth_compressing(&chunk, &p), "{shape:?}");
            let ranges = sample_ranges(chunk.len(), &p);
            for r in ranges.iter().cloned() {
                chunk[r].fill(0);
            }
            assert!(worth_compressing(&chunk, &p), "{shape:?}");
            assert_eq!(by_len.entry(chunk.len()).or_insert(ranges.clone()), &ranges);
        }
        assert_eq!(by_len.len(), 3); // (1000,1000), (1e6,1), (1,1e6) share their samples
    }

    #[test]
    fn small_payloads_are_not_compressed() {
        let p = Policy::default();
        let zeros = vec![0u8; p.min_bytes - 1];
        assert!(!worth_compressing(&zeros, &p));
        assert!(compress(&zeros, &p).is_none());
        assert!(compress(&[], &pol(0, 3, 10_000, 0.9)).is_none());
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let bytes = ramp(1 << 16);
        let c = compress(&bytes, &Policy::default()).expect("compressible");
        let d = c.data.as_bytes();
        let n = c.raw_len;
        for bad in [&d[..d.len() / 2], &d[..1], &[], &[0xff; 64][..]] {
            let e = decompress(Codec::Lz4, bad, n).expect_err("corrupt");
            assert!(e.contains("lz4"), "{e}");
        }
        let garbage = xorshift_bytes(4096, 7);
        assert!(decompress(Codec::Lz4, &garbage, n).is_err());
        for wrong in [n - 1, n + 1, 0, usize::MAX] {
            let e = decompress(Codec::Lz4, d, wrong).expect_err("wrong raw_len");
            assert!(!e.is_empty());
        }
        let ok = decompress(Codec::Lz4, d, n).expect("right raw_len");
        assert_eq!(ok.as_bytes(), &bytes[..]);
    }

    #[test]
    fn measure_is_positive() {
        let (c, d, r) = measure(&ramp(1 << 14), 3);
        assert!(c > 0.0 && d > 0.0 && r > 0.0, "{c} {d} {r}");
    }
}
