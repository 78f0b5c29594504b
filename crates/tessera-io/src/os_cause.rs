//! The operating-system cause of a failed write inside the NetCDF library.
//!
//! netCDF-C turns every failure of the HDF5 layer under it into one code, "NetCDF: HDF
//! error", so a full disk, an exceeded quota or a read-only filesystem all read the same
//! (issue #13 item 9). The cause is still there to be found: the HDF5 error stack of the
//! failing thread records the errno of the failed system call ("errno = 28"), `errno`
//! itself usually still holds it, and a filesystem with no free blocks left is full. The
//! first of these that answers names the cause, as the HDF5 path's own messages do.

use std::path::Path;

/// errno values that explain a failed write (and only these: errno may be stale).
const WRITE_ERRNOS: &[i32] = &[
    libc::ENOSPC,
    libc::EDQUOT,
    libc::EFBIG,
    libc::EIO,
    libc::EROFS,
];

/// Why writing into `dir` failed, as the OS says it (e.g. "No space left on device (os
/// error 28)"), if it can be told. Call it on the failing thread, right after the failure.
pub fn write_failure_cause(dir: &Path) -> Option<String> {
    let errno = std::io::Error::last_os_error().raw_os_error();
    let from_stack = hdf5_stack_errno();
    let code = from_stack
        .or(errno.filter(|e| WRITE_ERRNOS.contains(e)))
        .or_else(|| filesystem_full(dir).then_some(libc::ENOSPC))?;
    Some(std::io::Error::from_raw_os_error(code).to_string())
}

/// The errno an HDF5 file driver recorded on this thread's error stack ("..., errno =
/// 28, error message = 'No space left on device', ...").
#[cfg(not(feature = "netcdf"))]
fn hdf5_stack_errno() -> Option<i32> {
    None
}

#[cfg(feature = "netcdf")]
fn hdf5_stack_errno() -> Option<i32> {
    let stack = hdf5::Error::query().ok()?.stack()?;
    stack.iter().find_map(|frame| {
        let d = frame.description();
        let rest = &d[d.find("errno = ")? + "errno = ".len()..];
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        digits.parse().ok().filter(|e| WRITE_ERRNOS.contains(e))
    })
}

/// True when the filesystem holding `dir` has no block left for an unprivileged writer.
fn filesystem_full(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: a zeroed statvfs is a valid out-parameter; `c` is a NUL-terminated path.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    // SAFETY: as above; statvfs only writes into `st`.
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    rc == 0 && st.f_blocks > 0 && st.f_bavail == 0
}
