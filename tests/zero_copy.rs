//! The zero-copy claim, instrumented: a chunk payload goes from its own buffer into MPI and
//! arrives in the buffer that becomes the chunk, with no payload bytes copied on either
//! rank (`mpirun -n 2 tessera self-test zero-copy`). Issue #2.

mod common;

#[test]
fn payloads_cross_mpi_ranks_without_copies() {
    let text = common::mpirun_self_test(2, "zero-copy");
    let reports: Vec<serde_json::Value> = text
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    assert_eq!(reports.len(), 2, "{text}");
    for r in reports {
        assert_eq!(r["sent_from_chunk_buffer"], true, "{r}");
        assert_eq!(r["received_in_place"], true, "{r}");
        assert_eq!(r["content_ok"], true, "{r}");
        assert_eq!(r["bytes_copied"], 0, "{r}");
    }
}

#[test]
fn in_process_transfers_share_the_buffer() {
    use std::sync::Arc;
    use tessera::array::buffer::Buffer;
    use tessera::comm::bytes::downcast;
    use tessera::comm::local::LocalTransport;
    use tessera::comm::{Payload, Rank, Transport};
    let mut g = LocalTransport::group(2);
    let b = g.pop().expect("endpoint");
    let a = g.pop().expect("endpoint");
    let before = tessera::array::buffer::copied_bytes();
    let p = Arc::new(Buffer::zeroed(1 << 24));
    a.send(Rank(1), b"chunk".to_vec(), Some(p.clone() as Payload))
        .expect("send");
    let got = b.recv().expect("recv").payload.expect("payload");
    let Ok(got) = downcast::<Buffer>(got) else {
        panic!("the payload is not the chunk buffer that was sent")
    };
    assert!(Arc::ptr_eq(&p, &got));
    assert_eq!(tessera::array::buffer::copied_bytes(), before);
}
