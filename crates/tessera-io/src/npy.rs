//! Reading and writing numpy `.npy` files (format versions 1–3), little- or big-endian,
//! C or Fortran order; data always comes out C-ordered and native-endian.

use crate::array::chunk::Chunk;
use crate::array::dtype::DType;
use crate::error::{Error, Result};
use std::path::Path;

fn parse_descr(descr: &str) -> Option<(DType, bool)> {
    // `get`, not `split_at`: an empty or non-ASCII descr is an error, not a panic.
    let (endian, code) = (descr.get(..1)?, descr.get(1..)?);
    let big = endian == ">";
    let dt = match (endian, code) {
        ("|", "b1") => DType::Bool,
        ("|", "i1") | ("<", "i1") => DType::I8,
        ("|", "u1") | ("<", "u1") => DType::U8,
        (_, "i2") => DType::I16,
        (_, "i4") => DType::I32,
        (_, "i8") => DType::I64,
        (_, "u2") => DType::U16,
        (_, "u4") => DType::U32,
        (_, "u8") => DType::U64,
        (_, "f4") => DType::F32,
        (_, "f8") => DType::F64,
        _ => return None,
    };
    Some((dt, big))
}

fn header_value<'a>(header: &'a str, key: &str) -> Option<&'a str> {
    let k = format!("'{key}':");
    let start = header.find(&k)? + k.len();
    Some(header[start..].trim_start())
}

/// Reads a `.npy` file into a chunk.
pub fn read(path: &Path) -> Result<Chunk> {
    let p = crate::quote::path(path);
    let bytes = std::fs::read(path).map_err(|e| Error::Io(format!("{p}: cannot read: {e}")))?;
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(Error::Io(format!(
            "{p}: not a .npy file (missing the \\x93NUMPY magic)"
        )));
    }
    let major = bytes[6];
    let (hlen, hstart) = if major == 1 {
        (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10)
    } else {
        if bytes.len() < 12 {
            return Err(Error::Io(format!("{p}: truncated .npy header")));
        }
        (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        )
    };
    let header = bytes
        .get(hstart..hstart + hlen)
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| Error::Io(format!("{p}: truncated or non-text .npy header")))?;
    let descr = header_value(header, "descr")
        .and_then(|v| v.strip_prefix('\'')?.split('\'').next())
        .ok_or_else(|| Error::Io(format!("{p}: .npy header has no 'descr'")))?;
    let (dtype, big) = parse_descr(descr)
        .ok_or_else(|| Error::Io(format!("{p}: unsupported dtype '{descr}' in .npy file")))?;
    let fortran = header_value(header, "fortran_order")
        .map(|v| v.starts_with("True"))
        .unwrap_or(false);
    let shape_txt = header_value(header, "shape")
        .and_then(|v| v.strip_prefix('(')?.split(')').next())
        .ok_or_else(|| Error::Io(format!("{p}: .npy header has no 'shape'")))?;
    let shape: Vec<usize> = shape_txt
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| Error::Io(format!("{p}: bad shape entry '{s}' in .npy header")))
        })
        .collect::<Result<_>>()?;
    if let Some(d) = shape.iter().find(|&&d| d > i64::MAX as usize) {
        return Err(Error::Io(format!(
            "{p}: shape {shape:?} in the .npy header: dimension {d} exceeds the maximum allowed dimension {}",
            i64::MAX
        )));
    }
    // Checked: a shape whose byte size wraps must not pass the truncation check below
    // (numpy: "array is too big").
    let need = shape
        .iter()
        .try_fold(dtype.size(), |acc, &d| acc.checked_mul(d))
        .filter(|&b| b <= isize::MAX as usize)
        .ok_or_else(|| {
            Error::Io(format!(
                "{p}: shape {shape:?} of {dtype} in the .npy header is too big: its size in bytes is more than {}",
                isize::MAX
            ))
        })?;
    let data = &bytes[hstart + hlen..];
    if data.len() < need {
        return Err(Error::Io(format!("{p}: truncated: shape {shape:?} of {dtype} needs {need} bytes of data, the file has {}", data.len())));
    }
    let mut raw = data[..need].to_vec();
    if big && dtype.size() > 1 {
        for e in raw.chunks_mut(dtype.size()) {
            e.reverse();
        }
    }
    let c = Chunk {
        dtype,
        shape: shape.clone(),
        data: std::sync::Arc::new(crate::array::buffer::Buffer::copy_from(&raw)),
    };
    if fortran && shape.len() > 1 {
        // Fortran order: the bytes are the C-order array of the reversed shape, transposed.
        let rev: Vec<usize> = shape.iter().rev().copied().collect();
        let t = c.reshaped(rev);
        let perm: Vec<usize> = (0..shape.len()).rev().collect();
        return Ok(crate::array::blocks::transpose_block(&t, &perm));
    }
    Ok(c)
}

fn descr_of(d: DType) -> &'static str {
    match d {
        DType::Bool => "|b1",
        DType::I8 => "|i1",
        DType::U8 => "|u1",
        DType::I16 => "<i2",
        DType::I32 => "<i4",
        DType::I64 => "<i8",
        DType::U16 => "<u2",
        DType::U32 => "<u4",
        DType::U64 => "<u8",
        DType::F32 => "<f4",
        DType::F64 => "<f8",
    }
}

/// Writes a chunk as a version 1.0 `.npy` file (to a temporary name, then renamed).
pub fn write(path: &Path, c: &Chunk) -> Result<()> {
    let shape = match c.shape.len() {
        0 => "()".to_string(),
        1 => format!("({},)", c.shape[0]),
        _ => format!(
            "({})",
            c.shape
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!(
        "{{'descr': '{}', 'fortran_order': False, 'shape': {}, }}",
        descr_of(c.dtype),
        shape
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + c.nbytes());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(c.data.as_bytes());
    let tmp = path.with_extension("npy.tmp");
    std::fs::write(&tmp, &out)
        .map_err(|e| Error::Io(format!("{}: cannot write: {e}", crate::quote::path(&tmp))))?;
    std::fs::rename(&tmp, path).map_err(|e| {
        Error::Io(format!(
            "{}: cannot rename into place: {e}",
            crate::quote::path(path)
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let dir = std::env::temp_dir().join(format!("tessera-npy-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("a.npy");
        let c = Chunk::from_slice::<i32>(DType::I32, &[2, 3], &[1, 2, 3, 4, 5, 6]);
        write(&p, &c).unwrap();
        let r = read(&p).unwrap();
        assert_eq!(r.shape, vec![2, 3]);
        assert_eq!(r.dtype, DType::I32);
        assert_eq!(r.to_f64_vec(), c.to_f64_vec());
        std::fs::write(dir.join("bad.npy"), b"hello").unwrap();
        assert!(read(&dir.join("bad.npy")).is_err());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn shape_whose_byte_size_wraps_is_refused() {
        // issue #13 item 5: (2**62, 4) float64 is 2**67 bytes, 0 after wrapping, so the
        // truncation check passed and a worker panicked later.
        let dir = std::env::temp_dir().join(format!("tessera-npy-wrap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("wrap.npy");
        let mut header =
            "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904, 4), }"
                .to_string();
        while !(10 + header.len() + 1).is_multiple_of(64) {
            header.push(' ');
        }
        header.push('\n');
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        std::fs::write(&p, &bytes).unwrap();
        let e = read(&p).unwrap_err().to_string();
        assert!(e.contains("too big") && e.contains("wrap.npy"), "{e}");
        std::fs::remove_dir_all(&dir).ok();
    }
}
