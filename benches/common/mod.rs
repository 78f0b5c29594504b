//! Physical references the benchmarks print beside their figures: memcpy, and ping-pong
//! through raw MPI and through Tessera's transports, measured in the same run.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};
use tessera::array::buffer::Buffer;
use tessera::comm::local::LocalTransport;
use tessera::comm::mpi::MpiTransport;
use tessera::comm::{Payload, Rank, Transport};

pub const MIB16: usize = 16 << 20;

/// What a reference run measured.
#[derive(Debug, Clone, Copy)]
pub struct Reference {
    /// Bytes per second of the transfer reference (MPI with distinct buffers, or memcpy).
    pub gbs: f64,
    /// One-way time of an 8-byte message, microseconds (raw MPI, or the in-process channel).
    pub one_way_us: f64,
}

pub fn memcpy_gbs() -> f64 {
    let src = vec![1u8; MIB16];
    let mut dst = vec![0u8; MIB16];
    dst.copy_from_slice(&src);
    let reps = 20;
    let t = Instant::now();
    for _ in 0..reps {
        dst.copy_from_slice(std::hint::black_box(&src));
        std::hint::black_box(&mut dst);
    }
    (MIB16 * reps) as f64 / t.elapsed().as_secs_f64() / 1e9
}

/// One-way time per message through the `Transport` trait (rank 0 sends, the peer echoes
/// the very payload it received).
pub fn transport_pingpong(t: &dyn Transport, peer: Rank, bytes: usize, iters: usize) -> Duration {
    let payload: Payload = Arc::new(Buffer::zeroed(bytes));
    let run = |n: usize| {
        for _ in 0..n {
            if t.rank() == Rank(0) {
                t.send(peer, b"ping".to_vec(), Some(payload.clone()))
                    .expect("send");
                t.recv().expect("recv");
            } else {
                let e = t.recv().expect("recv");
                t.send(e.from, b"pong".to_vec(), e.payload).expect("send");
            }
        }
    };
    run(iters.div_ceil(10).max(2));
    let s = Instant::now();
    run(iters);
    s.elapsed() / (2 * iters as u32)
}

pub fn gbs(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / d.as_secs_f64() / 1e9
}

/// MPI references: raw ping-pong and the same through Tessera's transport (ranks 0 and 1).
pub fn mpi_reference(t: &MpiTransport) -> Option<Reference> {
    if t.rank().0 > 1 {
        return None;
    }
    let peer = Rank(1 - t.rank().0);
    let lat = t.raw_pingpong(peer, 8, 20_000, false);
    let bw_hot = t.raw_pingpong(peer, MIB16, 50, false);
    let bw = t.raw_pingpong(peer, MIB16, 50, true);
    let tlat = transport_pingpong(t, peer, 8, 20_000);
    let tbw = transport_pingpong(t, peer, MIB16, 50);
    if t.rank() == Rank(0) {
        println!(
            "reference: raw MPI ping-pong 8 B one-way {:.2} us; 16 MiB {:.2} GB/s with one cache-resident buffer, {:.2} GB/s with distinct send and receive buffers",
            lat.as_secs_f64() * 1e6,
            gbs(MIB16, bw_hot),
            gbs(MIB16, bw)
        );
        println!(
            "chunk transfer through the MPI transport: 8 B one-way {:.2} us; 16 MiB {:.2} GB/s = {:.2} of raw MPI with distinct buffers ({:.2} of the one-buffer figure)",
            tlat.as_secs_f64() * 1e6,
            gbs(MIB16, tbw),
            bw.as_secs_f64() / tbw.as_secs_f64(),
            bw_hot.as_secs_f64() / tbw.as_secs_f64()
        );
    }
    Some(Reference {
        gbs: gbs(MIB16, bw),
        one_way_us: lat.as_secs_f64() * 1e6,
    })
}

pub fn local_reference() -> Reference {
    let mut g = LocalTransport::group(2);
    let b = g.pop().expect("endpoint");
    let a = g.pop().expect("endpoint");
    let echo = std::thread::spawn(move || {
        while let Ok(e) = b.recv() {
            if e.header == b"stop" {
                break;
            }
            let _ = b.send(e.from, b"pong".to_vec(), e.payload);
        }
    });
    let lat = transport_pingpong(&a, Rank(1), 8, 20_000);
    let tbw = transport_pingpong(&a, Rank(1), MIB16, 50);
    let _ = a.send(Rank(1), b"stop".to_vec(), None);
    let _ = echo.join();
    let mem = memcpy_gbs();
    println!("reference: memcpy 16 MiB (touched pages) {mem:.2} GB/s");
    println!(
        "chunk transfer through the in-process transport: 8 B one-way {:.2} us; 16 MiB {:.1} GB/s (payloads are shared, not copied)",
        lat.as_secs_f64() * 1e6,
        gbs(MIB16, tbw)
    );
    Reference {
        gbs: mem,
        one_way_us: lat.as_secs_f64() * 1e6,
    }
}
