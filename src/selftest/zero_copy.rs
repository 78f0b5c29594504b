//! An instrumented check that chunk payloads cross MPI ranks without copies, run by the
//! test suite as `mpirun -n 2 tessera self-test zero-copy`. Each rank prints one JSON line.

use crate::array::buffer::{copied_bytes, Buffer};
use crate::comm::bytes::downcast;
use crate::comm::mpi::MpiTransport;
use crate::comm::{CommStats, Payload, Rank, Transport};
use std::sync::Arc;

/// Rank 0 sends a 16 MiB payload built in place; rank 1 receives it and sends the very
/// same buffer back. Both report whether the buffer handed to MPI was the chunk's own, whether
/// the receive buffer is the one that was returned, and how many payload bytes were copied.
pub fn zero_copy() -> anyhow::Result<()> {
    let t = MpiTransport::init(crate::runtime::buffers::receive_buffer)?;
    if t.size() != 2 {
        anyhow::bail!(
            "self-test zero-copy needs exactly 2 ranks, got {}",
            t.size()
        );
    }
    let n = 2 * 1024 * 1024;
    let before = copied_bytes();
    let report = if t.rank() == Rank(0) {
        let mut p = Buffer::for_overwrite(n * 8);
        for (i, x) in p.typed_mut::<u64>().iter_mut().enumerate() {
            *x = i as u64 * 7;
        }
        let p = Arc::new(p);
        t.send(Rank(1), b"chunk".to_vec(), Some(p.clone() as Payload))?;
        let sent_from_buffer = CommStats::addr(&t.stats().last_send_addr) == p.addr();
        let back = t.recv()?;
        let q = back
            .payload
            .and_then(|q| downcast::<Buffer>(q).ok())
            .ok_or_else(|| anyhow::anyhow!("echo without a chunk buffer"))?;
        let received_in_place = q.addr() == CommStats::addr(&t.stats().last_recv_addr);
        let content_ok = q
            .typed::<u64>()
            .iter()
            .enumerate()
            .all(|(i, &x)| x == i as u64 * 7);
        serde_json::json!({"rank": 0, "sent_from_chunk_buffer": sent_from_buffer, "received_in_place": received_in_place,
            "content_ok": content_ok, "payload_bytes": n * 8, "bytes_copied": copied_bytes() - before})
    } else {
        let e = t.recv()?;
        let q = e
            .payload
            .and_then(|q| downcast::<Buffer>(q).ok())
            .ok_or_else(|| anyhow::anyhow!("chunk without a chunk buffer"))?;
        let received_in_place = q.addr() == CommStats::addr(&t.stats().last_recv_addr);
        t.send(Rank(0), b"echo".to_vec(), Some(q.clone() as Payload))?;
        let sent_from_buffer = CommStats::addr(&t.stats().last_send_addr) == q.addr();
        serde_json::json!({"rank": 1, "sent_from_chunk_buffer": sent_from_buffer, "received_in_place": received_in_place,
            "content_ok": true, "payload_bytes": n * 8, "bytes_copied": copied_bytes() - before})
    };
    println!("{report}");
    Ok(())
}
