//! A transport that is not one of Tessera's own plugs into [`Client::with_transport`] and
//! [`serve`]: here a wrapper over in-process queues that counts the messages it carries.
//! An array computation and typed futures run through it, and its counters see the traffic.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tessera_comm::local::LocalTransport;
use tessera_comm::{CommError, CommStats, Envelope, Payload, Rank, Transport};
use tessera_runtime::futures::task;
use tessera_runtime::{serve, Client, ClientOptions};

/// Counts every message sent through it.
struct Counting {
    inner: LocalTransport,
    sent: Arc<AtomicU64>,
}

impl Transport for Counting {
    fn rank(&self) -> Rank {
        self.inner.rank()
    }
    fn size(&self) -> usize {
        self.inner.size()
    }
    fn send(&self, to: Rank, header: Vec<u8>, payload: Option<Payload>) -> Result<(), CommError> {
        self.sent.fetch_add(1, Ordering::Relaxed);
        self.inner.send(to, header, payload)
    }
    fn recv(&self) -> Result<Envelope, CommError> {
        self.inner.recv()
    }
    fn recv_timeout(&self, timeout: Duration) -> Result<Option<Envelope>, CommError> {
        self.inner.recv_timeout(timeout)
    }
    fn try_recv(&self) -> Result<Option<Envelope>, CommError> {
        self.inner.try_recv()
    }
    fn stats(&self) -> &CommStats {
        self.inner.stats()
    }
    fn kind(&self) -> &'static str {
        "counting"
    }
}

#[test]
fn a_third_transport_runs_arrays_and_typed_futures() {
    let double = task("ct-double", |(x,): (i64,)| Ok(2 * x));
    let sent = Arc::new(AtomicU64::new(0));
    let mut group = LocalTransport::group(3).into_iter();
    let me = group.next().expect("rank 0");
    let opts = ClientOptions::default();
    let workers: Vec<_> = group
        .map(|t| {
            let (sent, opts) = (sent.clone(), opts.clone());
            std::thread::spawn(move || serve(Counting { inner: t, sent }, &opts).map(|_| ()))
        })
        .collect();
    let client = Client::with_transport(
        Counting {
            inner: me,
            sent: sent.clone(),
        },
        &opts,
    )
    .expect("client");
    assert_eq!(client.transport_kind(), "counting");
    assert_eq!(client.workers(), 2);

    let fs = client.map(&double, 1..=20i64).expect("map");
    let got = client.gather(&fs).expect("gather");
    assert_eq!(got, (1..=20i64).map(|x| 2 * x).collect::<Vec<_>>());

    let a = tessera_core::array::typed::arange(
        0.0,
        1000.0,
        1.0,
        tessera_core::array::typed::Chunks::uniform(&[100]),
    )
    .expect("arange");
    let s: f64 = client
        .compute_scalar(&a.sum(tessera_core::array::typed::Axes::all()).expect("sum"))
        .expect("compute");
    assert_eq!(s, 499_500.0);

    let before = sent.load(Ordering::Relaxed);
    assert!(
        before > 20,
        "the traffic went through the transport: {before}"
    );
    drop(client);
    for w in workers {
        w.join().expect("worker thread").expect("worker served");
    }
}

#[test]
fn with_transport_on_a_worker_rank_is_refused() {
    let mut group = LocalTransport::group(2).into_iter();
    let _rank0 = group.next().expect("rank 0");
    let rank1 = group.next().expect("rank 1");
    let e = Client::with_transport(rank1, &ClientOptions::default())
        .err()
        .expect("refused");
    assert!(e.to_string().contains("serve"), "{e}");
}
