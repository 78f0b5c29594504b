//! SIGINT, SIGTERM and SIGHUP (a closed terminal or ssh session) end a run cleanly: what
//! the run has half-written is removed, one line says why it stopped, and the exit code is
//! 128 + the signal (130, 143, 129), as shells and Slurm expect.
//!
//! Without this, Ctrl-C, `scancel` or a Slurm time limit (SIGTERM, then SIGKILL) killed
//! the process where it stood: output temp files and spill directories stayed behind, and
//! under `mpirun` the run ended with a silent exit 1. Files that must not outlive an
//! interrupted run register here while they exist ([`remove_on_signal`]): a writer's temp
//! file, a worker's spill directory. The signal handler only records the signal and wakes
//! a watcher thread through a pipe (all a handler may safely do); the watcher removes the
//! registered files and directories, says so once (rank 0 only, under MPI), and ends the
//! process with `_exit`, which skips exit handlers: other threads may be inside HDF5 or
//! MPI, whose exit-time cleanup would then deadlock or crash. A SIGKILL cannot be caught;
//! the next run removes what a killed one left (`remove_stale_temps`,
//! `remove_stale_spill_dirs`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, Once};

/// What a registered path is, so it is removed the right way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A file (a writer's temporary file).
    File,
    /// A directory and everything in it (a spill directory).
    Dir,
}

/// The signal received (0: none yet).
static SIGNAL: AtomicI32 = AtomicI32::new(0);
/// The write end of the pipe that wakes the watcher (-1 before [`install`]).
static WAKE: AtomicI32 = AtomicI32::new(-1);
/// Whether this process prints the one-line message (rank 0, or not under MPI).
static SPEAK: AtomicBool = AtomicBool::new(true);
/// Milliseconds to wait after cleanup before exiting (see [`install`]).
static LINGER_MS: AtomicU64 = AtomicU64::new(0);
static NEXT: AtomicU64 = AtomicU64::new(1);

fn registry() -> MutexGuard<'static, BTreeMap<u64, (PathBuf, Kind)>> {
    static PATHS: Mutex<BTreeMap<u64, (PathBuf, Kind)>> = Mutex::new(BTreeMap::new());
    // A panic while holding the lock leaves a consistent map: use it anyway.
    PATHS.lock().unwrap_or_else(|p| p.into_inner())
}

/// Keeps a path registered for removal on SIGINT/SIGTERM until dropped.
#[derive(Debug)]
#[must_use = "the path is unregistered when this is dropped"]
pub struct OnSignal(u64);

impl Drop for OnSignal {
    fn drop(&mut self) {
        registry().remove(&self.0);
    }
}

/// Registers `path` to be removed if the process is stopped by SIGINT or SIGTERM, for as
/// long as the returned guard lives. The path need not exist yet.
pub fn remove_on_signal(path: &Path, kind: Kind) -> OnSignal {
    let id = NEXT.fetch_add(1, Ordering::Relaxed);
    registry().insert(id, (path.to_path_buf(), kind));
    OnSignal(id)
}

/// The signal that is stopping the process, if any (work may stop early when it is set).
pub fn stopping() -> Option<i32> {
    match SIGNAL.load(Ordering::SeqCst) {
        0 => None,
        s => Some(s),
    }
}

/// When a signal is stopping the process, waits for the watcher to end it (so the
/// caller prints nothing more and returns no exit code of its own); else returns. The
/// wait is bounded, should the watcher be unable to finish.
pub fn wait_if_stopping() {
    if stopping().is_some() {
        for _ in 0..300 {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

/// The signal's name for the message.
fn name(sig: i32) -> &'static str {
    match sig {
        libc::SIGINT => "SIGINT",
        libc::SIGTERM => "SIGTERM",
        libc::SIGHUP => "SIGHUP",
        _ => "a signal",
    }
}

extern "C" fn on_signal(sig: libc::c_int) {
    // Only async-signal-safe work here: atomics and write(2). errno is kept, since the
    // interrupted thread may be about to read it.
    // SAFETY: __errno_location returns this thread's errno slot, valid for the thread's life.
    let errno = unsafe { *libc::__errno_location() };
    let _ = SIGNAL.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
    let fd = WAKE.load(Ordering::SeqCst);
    if fd >= 0 {
        let byte = 1u8;
        // SAFETY: write(2) is async-signal-safe; the buffer is one valid byte on the stack.
        let _ = unsafe { libc::write(fd, (&byte as *const u8).cast(), 1) };
    }
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

/// Installs the SIGINT and SIGTERM handlers and the watcher thread (once per process).
/// `speak`: whether this process prints the message (false on MPI ranks other than 0,
/// so an interrupted MPI run says it once). `linger`: how long to stay after cleanup
/// before exiting (the caller knows whether this process is one rank of an MPI job).
pub fn install(speak: bool, linger: std::time::Duration) {
    SPEAK.store(speak, Ordering::SeqCst);
    LINGER_MS.store(linger.as_millis() as u64, Ordering::SeqCst);
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let mut fds = [0 as libc::c_int; 2];
        // SAFETY: pipe2 writes two descriptors into the two-element array it is given.
        if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
            return; // no handler: the signals keep their default action
        }
        let (read_end, write_end) = (fds[0], fds[1]);
        let watcher = std::thread::Builder::new()
            .name("tessera-signals".into())
            .spawn(move || watch(read_end));
        if watcher.is_err() {
            return;
        }
        WAKE.store(write_end, Ordering::SeqCst);
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            // A signal the process was started with ignored stays ignored: `nohup` (SIGHUP)
            // and a shell's background job (SIGINT) count on that.
            // SAFETY: with a null new action, sigaction only writes the current one into
            // the zeroed struct it is given.
            let ignored = unsafe {
                let mut current: libc::sigaction = std::mem::zeroed();
                libc::sigaction(sig, std::ptr::null(), &mut current) == 0
                    && current.sa_sigaction == libc::SIG_IGN
            };
            if ignored {
                continue;
            }
            // SAFETY: a zeroed sigaction is a valid empty one; the handler has the
            // signature sa_handler expects, and only touches atomics and write(2).
            unsafe {
                let mut action: libc::sigaction = std::mem::zeroed();
                action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
                action.sa_flags = libc::SA_RESTART;
                libc::sigemptyset(&mut action.sa_mask);
                libc::sigaction(sig, &action, std::ptr::null_mut());
            }
        }
    });
}

/// Waits for the handler's wake-up byte, then cleans up and ends the process.
fn watch(read_end: libc::c_int) {
    let mut byte = 0u8;
    loop {
        // SAFETY: reads at most one byte into a valid one-byte buffer.
        let n = unsafe { libc::read(read_end, (&mut byte as *mut u8).cast(), 1) };
        if n == 1 {
            break;
        }
        let interrupted = std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted;
        if n < 0 && interrupted {
            continue;
        }
        return; // the pipe is gone: nothing more to watch
    }
    let sig = stopping().unwrap_or(libc::SIGTERM);
    let removed = remove_registered();
    if SPEAK.load(Ordering::SeqCst) {
        let what = if removed == 0 {
            String::new()
        } else {
            format!("; removed {removed} unfinished file(s) and spill folder(s)")
        };
        eprintln!("tessera: stopped by {}{what}", name(sig));
    }
    let linger = LINGER_MS.load(Ordering::SeqCst);
    if linger > 0 {
        // mpirun SIGKILLs every rank as soon as one exits, and all ranks got the signal at
        // about the same time: staying a moment lets the others finish their cleanup.
        std::thread::sleep(std::time::Duration::from_millis(linger));
    }
    // SAFETY: _exit ends the process at once; nothing after it runs.
    unsafe { libc::_exit(128 + sig) }
}

/// Removes every registered path; returns how many existed. A spill directory another
/// thread is still writing into is tried again, briefly.
fn remove_registered() -> usize {
    let paths: Vec<(PathBuf, Kind)> = registry().values().cloned().collect();
    let mut removed = 0;
    for (path, kind) in paths {
        let gone = match kind {
            Kind::File => std::fs::remove_file(&path).is_ok(),
            Kind::Dir => {
                let mut ok = false;
                for _ in 0..5 {
                    ok = std::fs::remove_dir_all(&path).is_ok();
                    if ok || !path.exists() {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                ok
            }
        };
        removed += usize::from(gone);
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registration_lives_as_long_as_its_guard() {
        let p = Path::new("/nonexistent/tessera-signal-test");
        let count = |p: &Path| registry().values().filter(|(q, _)| q == p).count();
        let g = remove_on_signal(p, Kind::File);
        assert_eq!(count(p), 1);
        drop(g);
        assert_eq!(count(p), 0);
    }
}
