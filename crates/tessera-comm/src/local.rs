//! The in-process transport: one endpoint per thread, connected by channels.
//!
//! Payloads travel as shared references to the sender's buffer, so an in-process
//! "transfer" costs no copy at all; the counters still record the bytes so that run
//! reports mean the same thing in both modes.

use super::{CommError, CommStats, Envelope, Payload, Rank, Transport};
use crossbeam_channel::{unbounded, Receiver, RecvTimeoutError, Sender, TryRecvError};
use std::time::Duration;

/// One rank's endpoint of an in-process group.
pub struct LocalTransport {
    rank: Rank,
    inbox: Receiver<Envelope>,
    peers: Vec<Sender<Envelope>>,
    stats: CommStats,
}

impl LocalTransport {
    /// Creates `n` connected endpoints; endpoint `i` has rank `i`.
    pub fn group(n: usize) -> Vec<LocalTransport> {
        let (txs, rxs): (Vec<_>, Vec<_>) = (0..n).map(|_| unbounded()).unzip();
        rxs.into_iter()
            .enumerate()
            .map(|(i, inbox)| LocalTransport {
                rank: Rank(i as u32),
                inbox,
                peers: txs.clone(),
                stats: CommStats::default(),
            })
            .collect()
    }
}

impl Transport for LocalTransport {
    fn rank(&self) -> Rank {
        self.rank
    }

    fn size(&self) -> usize {
        self.peers.len()
    }

    fn send(&self, to: Rank, header: Vec<u8>, payload: Option<Payload>) -> Result<(), CommError> {
        let peer = self.peers.get(to.index()).ok_or_else(|| {
            CommError::Closed(format!("no rank {to} in a group of {}", self.peers.len()))
        })?;
        CommStats::add(&self.stats.messages_sent, 1);
        if let Some(p) = &payload {
            CommStats::add(&self.stats.payload_bytes_sent, p.bytes().len() as u64);
        }
        peer.send(Envelope {
            from: self.rank,
            header,
            payload,
        })
        .map_err(|_| CommError::Closed(format!("rank {to} has exited")))
    }

    fn recv(&self) -> Result<Envelope, CommError> {
        // Poll first: a message that arrives within microseconds is taken without a
        // futex wake-up; then yield; then block.
        let start = std::time::Instant::now();
        loop {
            if let Some(env) = self.try_recv()? {
                return Ok(env);
            }
            let idle = start.elapsed();
            if idle < Duration::from_micros(50) {
                std::hint::spin_loop();
            } else if idle < Duration::from_millis(1) {
                std::thread::yield_now();
            } else {
                break;
            }
        }
        let env = self
            .inbox
            .recv()
            .map_err(|_| CommError::Closed("every peer has exited".into()))?;
        self.count_received(&env);
        Ok(env)
    }

    fn recv_timeout(&self, timeout: Duration) -> Result<Option<Envelope>, CommError> {
        match self.inbox.recv_timeout(timeout) {
            Ok(env) => {
                self.count_received(&env);
                Ok(Some(env))
            }
            Err(RecvTimeoutError::Timeout) => Ok(None),
            Err(RecvTimeoutError::Disconnected) => {
                Err(CommError::Closed("every peer has exited".into()))
            }
        }
    }

    fn try_recv(&self) -> Result<Option<Envelope>, CommError> {
        match self.inbox.try_recv() {
            Ok(env) => {
                self.count_received(&env);
                Ok(Some(env))
            }
            Err(TryRecvError::Empty) => Ok(None),
            Err(TryRecvError::Disconnected) => {
                Err(CommError::Closed("every peer has exited".into()))
            }
        }
    }

    fn stats(&self) -> &CommStats {
        &self.stats
    }

    fn kind(&self) -> &'static str {
        "in-process"
    }
}

impl LocalTransport {
    fn count_received(&self, env: &Envelope) {
        if let Some(p) = &env.payload {
            CommStats::add(&self.stats.payload_bytes_received, p.bytes().len() as u64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn payload_arrives_without_copy() {
        let mut g = LocalTransport::group(2);
        let b = g.pop().unwrap();
        let a = g.pop().unwrap();
        let p: Payload = Arc::new(vec![0u8; 1 << 20]);
        let addr = p.bytes().as_ptr() as usize;
        a.send(Rank(1), b"hdr".to_vec(), Some(p)).unwrap();
        let env = b.recv().unwrap();
        assert_eq!(env.from, Rank(0));
        assert_eq!(env.header, b"hdr");
        assert_eq!(env.payload.unwrap().bytes().as_ptr() as usize, addr);
        assert_eq!(CommStats::get(&a.stats().payload_bytes_copied), 0);
    }
}
