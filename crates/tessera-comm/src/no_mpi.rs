//! The MPI transport's place in a build without MPI (the `mpi` feature off): the same names,
//! but nothing can be made. [`MpiTransport::init`] says that the build has no MPI, so a
//! program started by `mpirun` stops with that message instead of running every rank as a
//! separate single-process run; [`MpiTransport`] and [`SideChannel`] are uninhabited, so
//! the code above that would use one type-checks and is never reached.

use super::bytes::Alloc;
use super::{CommError, CommStats, Envelope, Payload, Rank, Transport};
use std::time::Duration;

/// Cannot exist in this build (see the module docs).
pub enum MpiTransport {}

impl MpiTransport {
    /// Always an error: this build has no MPI.
    pub fn init(alloc: Alloc) -> Result<MpiTransport, CommError> {
        let _ = alloc;
        Err(CommError::Init(
            "this program was started by an MPI launcher, but this build of Tessera has no \
             MPI support (build with the `mpi` feature, on by default)"
                .into(),
        ))
    }

    /// Unreachable: no transport exists.
    pub fn abort(&self, _code: i32) -> ! {
        match *self {}
    }

    /// Unreachable: no transport exists.
    pub fn side_channel(&self, _setting: u64) -> (SideChannel, u64) {
        match *self {}
    }
}

impl Transport for MpiTransport {
    fn rank(&self) -> Rank {
        match *self {}
    }
    fn size(&self) -> usize {
        match *self {}
    }
    fn send(&self, _to: Rank, _header: Vec<u8>, _p: Option<Payload>) -> Result<(), CommError> {
        match *self {}
    }
    fn recv(&self) -> Result<Envelope, CommError> {
        match *self {}
    }
    fn recv_timeout(&self, _timeout: Duration) -> Result<Option<Envelope>, CommError> {
        match *self {}
    }
    fn try_recv(&self) -> Result<Option<Envelope>, CommError> {
        match *self {}
    }
    fn stats(&self) -> &CommStats {
        match *self {}
    }
    fn kind(&self) -> &'static str {
        match *self {}
    }
}

/// Cannot exist in this build (see the module docs).
pub enum SideChannel {}

impl SideChannel {
    /// Unreachable.
    pub fn rank(&self) -> Rank {
        match *self {}
    }
    /// Unreachable.
    pub fn size(&self) -> usize {
        match *self {}
    }
    /// Unreachable.
    pub fn host(&self, _rank: Rank) -> &str {
        match *self {}
    }
    /// Unreachable.
    pub fn beat(&self) {
        match *self {}
    }
    /// Unreachable.
    pub fn take_beats(&self) -> Vec<Rank> {
        match *self {}
    }
}

/// Ends the process: without MPI there is no job to abort beyond it.
pub fn abort_job(code: i32) -> ! {
    std::process::exit(code)
}
