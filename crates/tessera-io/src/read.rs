//! Reading one block of a variable on the worker that needs it.
//!
//! A [`ReadSpec`] is what travels in the plan: the file, the variable, the selection (a
//! strided hyperslab per axis, composed with any slicing pushed into it) and the CF
//! decoding. Each worker opens the file itself and keeps it open across tasks; a block read
//! asks the library for exactly its hyperslab, so slicing before reading reads only the
//! selected bytes. Bytes read are counted per thread for the run report.

use crate::array::buffer::Buffer;
use crate::array::chunk::Chunk;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use crate::array::source::{ReadAxis, ReadSpec};

thread_local! {
    static BYTES_READ: Cell<u64> = const { Cell::new(0) };
    static HANDLES: RefCell<HashMap<PathBuf, (FileStamp, Handle)>> = RefCell::new(HashMap::new());
}

/// Bytes this thread has read from files since the last call (and resets the count).
pub fn take_bytes_read() -> u64 {
    BYTES_READ.with(|b| b.replace(0))
}

/// Identity of a file version: a rewritten file (same path, new inode or mtime) reopens.
#[derive(Debug, Clone, PartialEq)]
struct FileStamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    #[cfg(unix)]
    ino: u64,
}

fn stamp(p: &Path) -> Result<FileStamp, String> {
    let m = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
    Ok(FileStamp {
        len: m.len(),
        modified: m.modified().ok(),
        #[cfg(unix)]
        ino: std::os::unix::fs::MetadataExt::ino(&m),
    })
}

enum Handle {
    #[cfg(feature = "netcdf")]
    Nc(netcdf::File),
    #[cfg(feature = "netcdf")]
    H5(hdf5::File),
}

/// Most files a worker keeps open.
const MAX_OPEN: usize = 64;

#[cfg(not(feature = "netcdf"))]
fn open_handle(spec: &ReadSpec) -> Result<Handle, String> {
    Err(super::no_netcdf(&crate::quote::path(&spec.path)).to_string())
}

#[cfg(feature = "netcdf")]
fn open_handle(spec: &ReadSpec) -> Result<Handle, String> {
    Ok(if spec.format.is_netcdf() {
        Handle::Nc(super::nc::open(&spec.path).map_err(|e| e.to_string())?)
    } else {
        Handle::H5(super::h5::open(&spec.path).map_err(|e| e.to_string())?)
    })
}

/// Reads the hyperslab `start`/`count`/`stride` of the spec's variable into `buf`.
#[cfg(feature = "netcdf")]
fn read_hyperslab(
    h: &Handle,
    spec: &ReadSpec,
    start: &[usize],
    count: &[usize],
    stride: &[usize],
    buf: &mut [u8],
) -> Result<(), String> {
    match h {
        Handle::Nc(file) => super::nc::with_var(file, &spec.var, |v| {
            super::nc::read_into(v, start, count, stride, buf)
        })
        .unwrap_or_else(|| Err(format!("variable '{}' not found", spec.var))),
        Handle::H5(file) => match super::h5::dataset(file, &spec.var) {
            Some(d) => super::h5::read_into(&d, spec.stored, start, count, stride, buf),
            None => Err(format!("dataset '{}' not found", spec.var)),
        },
    }
}

#[cfg(not(feature = "netcdf"))]
fn read_hyperslab(
    h: &Handle,
    _spec: &ReadSpec,
    _start: &[usize],
    _count: &[usize],
    _stride: &[usize],
    _buf: &mut [u8],
) -> Result<(), String> {
    match *h {}
}

fn with_handle<R>(
    spec: &ReadSpec,
    f: impl FnOnce(&Handle) -> Result<R, String>,
) -> Result<R, String> {
    super::quiet_hdf5();
    let st = stamp(&spec.path)?;
    HANDLES.with(|h| {
        let mut h = h.borrow_mut();
        let fresh = matches!(h.get(&spec.path), Some((s, _)) if *s == st);
        if !fresh {
            if h.len() >= MAX_OPEN {
                h.clear();
            }
            let handle = open_handle(spec)?;
            h.insert(spec.path.clone(), (st, handle));
        }
        match h.get(&spec.path) {
            Some((_, handle)) => f(handle),
            None => Err("internal: file handle vanished".into()),
        }
    })
}

/// Closes every file this thread holds open (after writing a file it may read again).
pub fn close_all() {
    HANDLES.with(|h| h.borrow_mut().clear());
}

/// Reads the block at `offset` with `shape` (output coordinates) and decodes it.
pub fn read_block(spec: &ReadSpec, offset: &[usize], shape: &[usize]) -> Result<Chunk, String> {
    let nd = spec.file_shape.len();
    let mut start = vec![0usize; nd];
    let mut count = vec![1usize; nd];
    let mut stride = vec![1usize; nd];
    let mut reversed: Vec<usize> = Vec::new();
    for &(axis, index) in &spec.fixed {
        start[axis] = index;
    }
    // File axes in output order, for laying out the buffer.
    let mut file_order: Vec<usize> = Vec::new();
    for (k, ax) in spec.axes.iter().enumerate() {
        if let ReadAxis::File {
            axis,
            start: s,
            step,
        } = ax
        {
            let n = shape[k];
            let first = *s as isize + step * offset[k] as isize;
            let last = first + step * (n as isize - 1).max(0);
            start[*axis] = first.min(last).max(0) as usize;
            count[*axis] = n;
            stride[*axis] = step.unsigned_abs().max(1);
            if *step < 0 && n > 1 {
                reversed.push(k);
            }
            file_order.push(*axis);
        }
    }
    let n: usize = shape.iter().product();
    let mut buf = Buffer::for_overwrite(n * spec.stored.size());
    let sorted = file_order.windows(2).all(|w| w[0] < w[1]);
    if !sorted {
        return Err("internal: read axes out of file order".into());
    }
    with_handle(spec, |h| {
        read_hyperslab(h, spec, &start, &count, &stride, buf.as_bytes_mut())
    })
    .map_err(|e| format!("{}: {}: {e}", spec.path.display(), spec.var))?;
    BYTES_READ.with(|b| b.set(b.get() + (n * spec.stored.size()) as u64));
    let mut c = Chunk {
        dtype: spec.stored,
        shape: shape.to_vec(),
        data: Arc::new(buf),
    };
    if !reversed.is_empty() {
        c = reverse_axes(&c, &reversed);
    }
    Ok(match &spec.decode {
        Some(d) => d.apply(&c),
        None => c,
    })
}

fn reverse_axes(c: &Chunk, axes: &[usize]) -> Chunk {
    crate::with_dtype!(c.dtype, T, {
        let mut v = c.view::<T>();
        for &a in axes {
            v.invert_axis(ndarray::Axis(a));
        }
        Chunk::build::<T>(c.dtype, &c.shape, |mut out| out.assign(&v))
    })
}
