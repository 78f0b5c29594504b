//! Is a classic NetCDF file long enough for what its header declares?
//!
//! The NetCDF library reads a classic (CDF-1, CDF-2, CDF-5) file cut short by a failed copy
//! or a full disk without complaint: the missing bytes come back as fill values or zeros.
//! The header says where every variable's data lives (`begin`), its shape and type, and how
//! many records the file holds, so the length the file must have is known before any data
//! is read. This module parses just enough of the header (format: the NetCDF "Classic
//! Format Specification") to compute each variable's last byte and compares it with the
//! file's size. A record count of 0xFFFFFFFF ("streaming", left by a writer that never
//! finished) is taken at its word, as the library takes it: such a file is refused too.

use crate::error::{Error, Result};
use std::io::Read as _;
use std::path::Path;

/// Where a variable's data ends, in bytes from the start of the file.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Extent {
    name: String,
    /// One past the last byte the variable needs (0 for a record variable with no records).
    end: u64,
}

/// The header is at most this long in practice; larger headers are read in full.
const FIRST_READ: u64 = 1 << 20;

/// Checks that every variable of `names` (the ones present in the file) lies inside the
/// classic NetCDF file at `path`, reporting the first short one in the order given; names
/// absent from the header are ignored.
pub fn check(path: &Path, names: &[&str]) -> Result<()> {
    let p = path.display();
    let io = |e: std::io::Error| Error::Io(format!("{p}: cannot read: {e}"));
    let mut f = std::fs::File::open(path).map_err(io)?;
    let size = f.metadata().map_err(io)?.len();
    let mut head = Vec::new();
    (&mut f)
        .take(FIRST_READ)
        .read_to_end(&mut head)
        .map_err(io)?;
    let extents = match parse(&head) {
        Ok(e) => e,
        Err(Short) if size > FIRST_READ => {
            head.clear();
            std::fs::File::open(path)
                .and_then(|mut f| f.read_to_end(&mut head))
                .map_err(io)?;
            parse(&head).map_err(|_| truncated_header(path, size))?
        }
        Err(Short) => return Err(truncated_header(path, size)),
    };
    let wanted = names
        .iter()
        .filter_map(|n| extents.iter().find(|e| e.name == *n));
    for e in wanted {
        if e.end > size {
            return Err(Error::Io(format!(
                "{p}: variable '{}' needs the file to be at least {} bytes long, but it has {size} bytes: the file is truncated (an interrupted copy or download?)",
                e.name, e.end
            )));
        }
    }
    Ok(())
}

fn truncated_header(path: &Path, size: u64) -> Error {
    Error::Io(format!(
        "{}: the NetCDF header is cut short or malformed ({size} bytes in the file): the file is truncated or corrupted",
        path.display()
    ))
}

/// The header ended early or holds an impossible value.
#[derive(Debug)]
struct Short;

/// A cursor over the big-endian header.
struct Cursor<'a> {
    buf: &'a [u8],
    pos: usize,
    /// CDF-5: counts and lengths are 8 bytes.
    wide: bool,
}

impl Cursor<'_> {
    fn bytes(&mut self, n: usize) -> Result<&[u8], Short> {
        let end = self.pos.checked_add(n).ok_or(Short)?;
        let s = self.buf.get(self.pos..end).ok_or(Short)?;
        self.pos = end;
        Ok(s)
    }

    fn u32(&mut self) -> Result<u64, Short> {
        let b = self.bytes(4)?;
        Ok(u64::from(u32::from_be_bytes([b[0], b[1], b[2], b[3]])))
    }

    fn u64(&mut self) -> Result<u64, Short> {
        let b = self.bytes(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_be_bytes(a))
    }

    /// A count or length: 4 bytes, 8 in CDF-5.
    fn count(&mut self) -> Result<u64, Short> {
        if self.wide {
            self.u64()
        } else {
            self.u32()
        }
    }

    /// Skips `n` bytes padded to a multiple of 4.
    fn skip_padded(&mut self, n: u64) -> Result<(), Short> {
        let n = usize::try_from(n.checked_add(3).ok_or(Short)? & !3).map_err(|_| Short)?;
        self.bytes(n).map(|_| ())
    }

    fn name(&mut self) -> Result<String, Short> {
        let n = usize::try_from(self.count()?).map_err(|_| Short)?;
        let s = String::from_utf8_lossy(self.bytes(n)?).into_owned();
        self.bytes((4 - n % 4) % 4)?;
        Ok(s)
    }

    /// A list header: its tag and element count; `ABSENT` (two zeros) gives 0.
    fn list(&mut self, tag: u64) -> Result<u64, Short> {
        let t = self.u32()?;
        let n = self.count()?;
        if t == tag || (t == 0 && n == 0) {
            Ok(n)
        } else {
            Err(Short)
        }
    }

    fn attributes(&mut self) -> Result<(), Short> {
        const NC_ATTRIBUTE: u64 = 0x0C;
        for _ in 0..self.list(NC_ATTRIBUTE)? {
            self.name()?;
            let size = type_size(self.u32()?).ok_or(Short)?;
            let n = self.count()?;
            self.skip_padded(n.checked_mul(size).ok_or(Short)?)?;
        }
        Ok(())
    }
}

/// Bytes per value of a NetCDF external type.
fn type_size(t: u64) -> Option<u64> {
    Some(match t {
        1 | 2 | 7 => 1,   // byte, char, ubyte
        3 | 8 => 2,       // short, ushort
        4 | 5 | 9 => 4,   // int, float, uint
        6 | 10 | 11 => 8, // double, int64, uint64
        _ => return None,
    })
}

/// The data extent of every variable declared in a classic header.
fn parse(buf: &[u8]) -> Result<Vec<Extent>, Short> {
    const NC_DIMENSION: u64 = 0x0A;
    const NC_VARIABLE: u64 = 0x0B;
    let version = match buf.get(..4) {
        Some([b'C', b'D', b'F', v]) => *v,
        _ => return Err(Short),
    };
    let mut c = Cursor {
        buf,
        pos: 4,
        wide: version == 5,
    };
    let numrecs = c.count()?;
    let mut dims = Vec::new();
    for _ in 0..c.list(NC_DIMENSION)? {
        c.name()?;
        dims.push(c.count()?);
    }
    c.attributes()?;
    struct Var {
        name: String,
        record: bool,
        /// Bytes of one record (record variables) or of the whole variable.
        bytes: u64,
        begin: u64,
    }
    let mut vars = Vec::new();
    for _ in 0..c.list(NC_VARIABLE)? {
        let name = c.name()?;
        let ndims = c.count()?;
        let mut record = false;
        let mut elems: u64 = 1;
        for i in 0..ndims {
            let id = usize::try_from(c.count()?).map_err(|_| Short)?;
            let len = *dims.get(id).ok_or(Short)?;
            if i == 0 && len == 0 {
                record = true;
            } else {
                elems = elems.checked_mul(len).ok_or(Short)?;
            }
        }
        c.attributes()?;
        let size = type_size(c.u32()?).ok_or(Short)?;
        let _vsize = c.count()?; // may be clamped for huge variables: recomputed instead
        let begin = if version == 1 { c.u32()? } else { c.u64()? };
        vars.push(Var {
            name,
            record,
            bytes: elems.checked_mul(size).ok_or(Short)?,
            begin,
        });
    }
    // One record holds every record variable's slab, each padded to 4 bytes, except when
    // there is a single record variable (then it is not padded).
    let record_vars = vars.iter().filter(|v| v.record).count();
    let mut recsize: u64 = 0;
    for v in vars.iter().filter(|v| v.record) {
        let b = if record_vars == 1 {
            v.bytes
        } else {
            v.bytes.checked_add(3).ok_or(Short)? & !3
        };
        recsize = recsize.checked_add(b).ok_or(Short)?;
    }
    vars.into_iter()
        .map(|v| {
            let end = if !v.record {
                v.begin.checked_add(v.bytes)
            } else if numrecs == 0 {
                Some(0)
            } else {
                (numrecs - 1)
                    .checked_mul(recsize)
                    .and_then(|r| r.checked_add(v.begin))
                    .and_then(|r| r.checked_add(v.bytes))
            };
            Ok(Extent {
                name: v.name,
                end: end.ok_or(Short)?,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A CDF-1 header: dims x=3, rec=unlimited; vars a(x) int, r(rec) short, s(rec) short.
    fn header(numrecs: u32) -> Vec<u8> {
        let mut h = b"CDF\x01".to_vec();
        let w = |h: &mut Vec<u8>, v: u32| h.extend_from_slice(&v.to_be_bytes());
        let name = |h: &mut Vec<u8>, s: &str| {
            w(h, s.len() as u32);
            h.extend_from_slice(s.as_bytes());
            h.resize(h.len().div_ceil(4) * 4, 0);
        };
        w(&mut h, numrecs);
        w(&mut h, 0x0A);
        w(&mut h, 2);
        name(&mut h, "x");
        w(&mut h, 3);
        name(&mut h, "rec");
        w(&mut h, 0);
        w(&mut h, 0); // no global attributes
        w(&mut h, 0);
        w(&mut h, 0x0B);
        w(&mut h, 3);
        for (n, dim, ty, begin) in [
            ("a", 0u32, 4u32, 200u32),
            ("r", 1, 3, 212),
            ("s", 1, 3, 216),
        ] {
            name(&mut h, n);
            w(&mut h, 1);
            w(&mut h, dim);
            w(&mut h, 0x0C); // one attribute: units = "m"
            w(&mut h, 1);
            name(&mut h, "units");
            w(&mut h, 2);
            w(&mut h, 1);
            h.extend_from_slice(b"m\0\0\0");
            w(&mut h, ty);
            w(&mut h, 4);
            w(&mut h, begin);
        }
        h
    }

    #[test]
    fn extents_of_fixed_and_record_variables() {
        let e = parse(&header(5)).expect("parse");
        let ends: Vec<(&str, u64)> = e.iter().map(|e| (e.name.as_str(), e.end)).collect();
        // a: 3 ints from 200; records of 4 + 4 bytes (two padded shorts): r's last slab
        // starts at 212 + 4 * 8.
        assert_eq!(ends, [("a", 212), ("r", 246), ("s", 250)]);
        assert_eq!(parse(&header(0)).expect("parse")[1].end, 0);
    }

    #[test]
    fn a_streaming_record_count_is_taken_at_its_word() {
        // 0xFFFFFFFF ("streaming", left by a writer that never finished) is what the
        // library reports as the record count: the file would need that many records.
        let e = parse(&header(u32::MAX)).expect("parse");
        assert_eq!(e[1].end, 212 + (u64::from(u32::MAX) - 1) * 8 + 2);
    }

    #[test]
    fn cut_headers_are_short() {
        let h = header(5);
        for n in [0, 3, 10, h.len() - 1] {
            assert!(parse(&h[..n]).is_err(), "{n}");
        }
    }
}
