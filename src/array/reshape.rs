//! Reshape planning: choose input chunks so that every input block becomes exactly one
//! output block (a relabelling of bytes, no data movement in the reshape itself).
//!
//! Axes are grouped where the running products of the input and output shapes meet.
//! Within a group, every axis but the first must be whole, and the first axis' chunks are
//! rounded to multiples of `lcm(rest_in, rest_out) / rest_in` elements so the flat ranges
//! of blocks line up with whole output blocks. Merges (`(4, 5) -> (20,)`) keep the input
//! chunks of the leading axis; splits round the chunks to whole output rows. Size-1 axes
//! are set aside first and get single blocks.

use super::error::ArrayError;

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

/// Resolves a `-1` in a requested shape and checks the size.
pub fn resolve_shape(
    size: usize,
    in_shape: &[usize],
    want: &[i64],
) -> Result<Vec<usize>, ArrayError> {
    let unknown = want.iter().filter(|&&d| d == -1).count();
    if unknown > 1 {
        return Err(ArrayError::Shape(
            "can only specify one unknown dimension".into(),
        ));
    }
    if let Some(&d) = want.iter().find(|&&d| d < -1) {
        return Err(ArrayError::Shape(format!(
            "negative dimensions not allowed in reshape, got {d}"
        )));
    }
    let known: usize = want
        .iter()
        .filter(|&&d| d != -1)
        .map(|&d| d as usize)
        .product();
    let out: Vec<usize> = if unknown == 1 {
        if known == 0 || !size.is_multiple_of(known) {
            return Err(ArrayError::Shape(format!(
                "cannot reshape array of size {size} (shape {in_shape:?}) into shape {want:?}"
            )));
        }
        want.iter()
            .map(|&d| if d == -1 { size / known } else { d as usize })
            .collect()
    } else {
        want.iter().map(|&d| d as usize).collect()
    };
    if out.iter().product::<usize>() != size {
        return Err(ArrayError::Shape(format!(
            "cannot reshape array of size {size} (shape {in_shape:?}) into shape {out:?}"
        )));
    }
    Ok(out)
}

/// Given input shape and chunks and the output shape, the input chunks to rechunk to and
/// the output chunks, such that block `b` of the former is block `b` of the latter.
pub fn plan(
    in_shape: &[usize],
    in_chunks: &[Vec<usize>],
    out_shape: &[usize],
) -> (Vec<Vec<usize>>, Vec<Vec<usize>>) {
    let size: usize = in_shape.iter().product();
    if size == 0 {
        let whole = |s: &[usize]| s.iter().map(|&n| vec![n]).collect::<Vec<_>>();
        return (whole(in_shape), whole(out_shape));
    }
    let mut new_in: Vec<Vec<usize>> = in_shape.iter().map(|_| vec![1]).collect();
    let mut new_out: Vec<Vec<usize>> = out_shape.iter().map(|_| vec![1]).collect();
    let in_axes: Vec<usize> = (0..in_shape.len()).filter(|&a| in_shape[a] != 1).collect();
    let out_axes: Vec<usize> = (0..out_shape.len())
        .filter(|&a| out_shape[a] != 1)
        .collect();
    let (mut i, mut j) = (0, 0);
    while i < in_axes.len() && j < out_axes.len() {
        let (i0, j0) = (i, j);
        let mut pi = in_shape[in_axes[i]];
        let mut pj = out_shape[out_axes[j]];
        i += 1;
        j += 1;
        while pi != pj {
            if pi < pj {
                pi *= in_shape[in_axes[i]];
                i += 1;
            } else {
                pj *= out_shape[out_axes[j]];
                j += 1;
            }
        }
        let lead_in = in_axes[i0];
        let lead_out = out_axes[j0];
        let rest_in: usize = in_axes[i0 + 1..i].iter().map(|&a| in_shape[a]).product();
        let rest_out: usize = out_axes[j0 + 1..j].iter().map(|&a| out_shape[a]).product();
        let lcm = rest_in / gcd(rest_in, rest_out) * rest_out;
        let unit = lcm / rest_in; // input-lead elements per aligned unit
                                  // Round the input block boundaries of the lead axis to multiples of `unit`.
        let len = in_shape[lead_in];
        let mut bounds = vec![0usize];
        let mut acc = 0;
        for &c in &in_chunks[lead_in] {
            acc += c;
            let r = ((acc + unit / 2) / unit * unit).min(len);
            if r > *bounds.last().unwrap_or(&0) {
                bounds.push(r);
            }
        }
        if *bounds.last().unwrap_or(&0) != len {
            bounds.push(len);
        }
        let lead_chunks: Vec<usize> = bounds.windows(2).map(|w| w[1] - w[0]).collect();
        new_out[lead_out] = lead_chunks
            .iter()
            .map(|&c| c * rest_in / rest_out)
            .collect();
        new_in[lead_in] = lead_chunks;
        for &a in &in_axes[i0 + 1..i] {
            new_in[a] = vec![in_shape[a]];
        }
        for &a in &out_axes[j0 + 1..j] {
            new_out[a] = vec![out_shape[a]];
        }
    }
    (new_in, new_out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blocks(c: &[Vec<usize>]) -> usize {
        c.iter().map(|v| v.len()).product()
    }

    #[test]
    fn merge_keeps_leading_chunks() {
        let (i, o) = plan(&[4, 5], &[vec![2, 2], vec![5]], &[20]);
        assert_eq!(i, vec![vec![2, 2], vec![5]]);
        assert_eq!(o, vec![vec![10, 10]]);
    }

    #[test]
    fn split_rounds_to_rows() {
        let (i, o) = plan(&[24], &[vec![5, 5, 5, 5, 4]], &[4, 6]);
        assert_eq!(blocks(&i), blocks(&o));
        assert!(i[0].iter().all(|c| c % 6 == 0));
        assert_eq!(o[1], vec![6]);
    }

    #[test]
    fn dask_release_note_case() {
        let chunks: Vec<Vec<usize>> = vec![
            vec![2],
            vec![2, 1],
            vec![2, 2],
            vec![2, 2, 1],
            vec![2, 2, 2],
        ];
        let (i, o) = plan(&[2, 3, 4, 5, 6], &chunks, &[6, 2, 2, 30, 1]);
        assert_eq!(blocks(&i), blocks(&o));
        assert_eq!(
            o.iter()
                .map(|c| c.iter().sum::<usize>())
                .collect::<Vec<_>>(),
            vec![6, 2, 2, 30, 1]
        );
    }

    #[test]
    fn interleaved_groups() {
        let (i, o) = plan(&[6, 4], &[vec![3, 3], vec![2, 2]], &[4, 6]);
        assert_eq!(blocks(&i), blocks(&o));
        assert_eq!(i[1], vec![4]);
    }

    #[test]
    fn resolve() {
        assert_eq!(resolve_shape(24, &[2, 12], &[-1, 6]).unwrap(), vec![4, 6]);
        assert!(resolve_shape(24, &[24], &[5, -1]).is_err());
        assert!(resolve_shape(24, &[24], &[-1, -1]).is_err());
        assert!(resolve_shape(24, &[24], &[5, 5]).is_err());
    }
}
