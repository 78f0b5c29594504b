//! Heartbeats: how rank 0 notices a worker process that is stopped (`kill -STOP`), hung
//! in the kernel, or cut off, instead of waiting for it forever.
//!
//! Every worker process runs a small thread that sends rank 0 a heartbeat a few times per
//! timeout over its own communicator ([`SideChannel`]), so a task that computes for an
//! hour on the worker's main thread does not silence it; a stopped process stops every
//! thread, so it falls silent. On rank 0 a watcher thread receives the heartbeats; when a
//! rank has been silent for longer than the timeout it names the rank and its host on
//! stderr and records the loss. The scheduler then fails the run with that message (temp
//! files are removed on the way out as for any error), and the client ends the MPI job
//! with `MPI_Abort`, which kills every rank, the silent one too: `MPI_Finalize` would wait
//! for it forever. Should the caller never drop its client, the watcher aborts the job
//! itself after a grace period.
//!
//! In-process workers are threads of one process: a stopped process stops them all, so
//! heartbeats apply to MPI runs only.

use crate::comm::mpi::SideChannel;
use crate::comm::Rank;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Seconds of silence after which a worker is declared lost, by default.
pub const DEFAULT_TIMEOUT_SECS: u64 = 300;
/// The environment variable that sets the timeout (seconds; 0 turns heartbeats off).
pub const ENV_TIMEOUT: &str = "TESSERA_HEARTBEAT_TIMEOUT";
/// How long the watcher waits, after declaring a worker lost, for the client to end the
/// job before it ends the job itself.
const GRACE: Duration = Duration::from_secs(30);

/// The timeout a setting in seconds gives (`0`: off).
pub fn timeout_from_secs(secs: f64) -> Option<Duration> {
    (secs > 0.0).then(|| Duration::from_secs_f64(secs))
}

/// The shortest timeout accepted, seconds (`0`, off, aside). Why a floor: a worker beats
/// at most every 20 ms and a busy node delays threads by milliseconds, so a shorter timeout
/// would declare healthy ranks lost; and a timeout is sent to every rank in whole
/// milliseconds, where a sub-millisecond one would silently become "off".
pub const MIN_TIMEOUT_SECS: f64 = 1.0;

/// Parses a timeout in seconds as given on the command line, in the environment or in a
/// job file: `0` turns heartbeats off, otherwise from [`MIN_TIMEOUT_SECS`] to 1e9.
pub fn parse_timeout(s: &str) -> Result<Option<Duration>, String> {
    let secs: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a number of seconds (0 turns heartbeats off)"))?;
    if !secs.is_finite() || !(0.0..=1e9).contains(&secs) {
        return Err(format!(
            "'{s}' is not a number of seconds from 0 (off) to 1e9"
        ));
    }
    if secs > 0.0 && secs < MIN_TIMEOUT_SECS {
        return Err(format!(
            "a heartbeat timeout of '{s}' seconds is below the floor of {MIN_TIMEOUT_SECS} s \
             (healthy ranks would be declared lost); use {MIN_TIMEOUT_SECS} or more, or 0 to \
             turn heartbeats off"
        ));
    }
    Ok(timeout_from_secs(secs))
}

/// The default timeout: `$TESSERA_HEARTBEAT_TIMEOUT`, else 300 s.
pub fn default_timeout() -> Result<Option<Duration>, String> {
    match std::env::var(ENV_TIMEOUT) {
        Ok(v) => parse_timeout(&v).map_err(|e| format!("{ENV_TIMEOUT}: {e}")),
        Err(_) => Ok(Some(Duration::from_secs(DEFAULT_TIMEOUT_SECS))),
    }
}

/// How often a worker beats for a timeout: five times per timeout, at most every 10 s.
pub fn interval(timeout: Duration) -> Duration {
    (timeout / 5).clamp(Duration::from_millis(20), Duration::from_secs(10))
}

/// A worker declared lost.
#[derive(Debug, Clone, PartialEq)]
pub struct Lost {
    /// Its rank.
    pub rank: u32,
    /// Its host.
    pub host: String,
    /// How long it had been silent.
    pub silent_for: Duration,
    /// The timeout.
    pub timeout: Duration,
}

impl std::fmt::Display for Lost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "worker rank {} on host {} sent no heartbeat for {:.1} s (heartbeat timeout {} s): \
             the process is stopped, hung or unreachable; aborting every rank \
             (--heartbeat-timeout / {ENV_TIMEOUT} set the timeout, 0 turns it off)",
            self.rank,
            if self.host.is_empty() {
                "?"
            } else {
                &self.host
            },
            self.silent_for.as_secs_f64(),
            fmt_secs(self.timeout),
        )
    }
}

fn fmt_secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s.fract() == 0.0 {
        format!("{s:.0}")
    } else {
        format!("{s}")
    }
}

/// When each worker was last heard from: the decision, kept apart from threads and MPI.
#[derive(Debug)]
pub struct Liveness {
    /// Index = rank; rank 0 (the watcher's own) is never judged.
    last: Vec<Instant>,
    timeout: Duration,
    /// When the watcher last looked.
    looked: Instant,
}

impl Liveness {
    /// Every one of `ranks` ranks counts as just heard from.
    pub fn new(ranks: usize, timeout: Duration, now: Instant) -> Liveness {
        Liveness {
            last: vec![now; ranks],
            timeout,
            looked: now,
        }
    }

    /// `rank` was heard from at `now`.
    pub fn heard(&mut self, rank: Rank, now: Instant) {
        if let Some(t) = self.last.get_mut(rank.index()) {
            *t = (*t).max(now);
        }
    }

    /// The first worker silent for longer than the timeout at `now`, with how long. If the
    /// watcher itself did not run for half a timeout (the whole job was suspended, or the
    /// node starved it), nobody is judged on that gap: every clock restarts.
    pub fn silent(&mut self, now: Instant) -> Option<(Rank, Duration)> {
        let gap = now.saturating_duration_since(self.looked);
        self.looked = now;
        if gap > self.timeout / 2 {
            self.last.iter_mut().for_each(|t| *t = now);
            return None;
        }
        self.last
            .iter()
            .enumerate()
            .skip(1)
            .map(|(r, t)| (Rank(r as u32), now.saturating_duration_since(*t)))
            .find(|(_, quiet)| *quiet > self.timeout)
    }
}

/// A worker's heartbeat thread; stops (and frees its channel) when dropped.
pub struct Beating {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Beating {
    /// Starts beating every `every` over `channel`.
    #[cfg_attr(not(feature = "mpi"), allow(clippy::drop_non_drop))]
    pub fn start(channel: SideChannel, every: Duration) -> std::io::Result<Beating> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::Builder::new()
            .name("tessera-heartbeat".into())
            .spawn(move || {
                while !flag.load(Ordering::SeqCst) {
                    channel.beat();
                    std::thread::park_timeout(every);
                }
                drop(channel);
            })?;
        Ok(Beating {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Beating {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

/// Rank 0's watcher thread; stops (and frees its channel) when dropped.
pub struct Watch {
    lost: Arc<OnceLock<Lost>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Watch {
    /// Starts watching the workers' heartbeats over `channel`.
    pub fn start(channel: SideChannel, timeout: Duration) -> std::io::Result<Watch> {
        let lost = Arc::new(OnceLock::new());
        let stop = Arc::new(AtomicBool::new(false));
        let (found, flag) = (lost.clone(), stop.clone());
        let tick = (timeout / 10).clamp(Duration::from_millis(10), Duration::from_secs(1));
        let thread = std::thread::Builder::new()
            .name("tessera-watch".into())
            .spawn(move || watch(&channel, timeout, tick, &found, &flag))?;
        Ok(Watch {
            lost,
            stop,
            thread: Some(thread),
        })
    }

    /// The shared record of a lost worker (set at most once).
    pub fn lost(&self) -> Arc<OnceLock<Lost>> {
        self.lost.clone()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

fn watch(
    channel: &SideChannel,
    timeout: Duration,
    tick: Duration,
    found: &OnceLock<Lost>,
    stop: &AtomicBool,
) {
    let mut live = Liveness::new(channel.size(), timeout, Instant::now());
    let mut declared: Option<Instant> = None;
    while !stop.load(Ordering::SeqCst) {
        std::thread::park_timeout(tick);
        let now = Instant::now();
        for r in channel.take_beats() {
            live.heard(r, now);
        }
        if let Some(at) = declared {
            if at.elapsed() > GRACE {
                eprintln!("tessera: the run did not end after a lost worker; aborting the job");
                crate::comm::mpi::abort_job(1);
            }
            continue;
        }
        if let Some((rank, silent_for)) = live.silent(now) {
            let lost = Lost {
                rank: rank.0,
                host: channel.host(rank).to_string(),
                silent_for,
                timeout,
            };
            crate::console::console_line(&format!("tessera: error: {lost}"), true);
            let _ = found.set(lost);
            declared = Some(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_parse_and_zero_turns_them_off() {
        assert_eq!(parse_timeout("3"), Ok(Some(Duration::from_secs(3))));
        assert_eq!(
            parse_timeout(" 1.5 "),
            Ok(Some(Duration::from_millis(1500)))
        );
        assert_eq!(parse_timeout("1"), Ok(Some(Duration::from_secs(1))));
        assert_eq!(parse_timeout("0"), Ok(None));
        for bad in [
            "", "-1", "ten", "nan", "inf", "1e30", "1e-4", "0.5", "0.999",
        ] {
            let e = parse_timeout(bad).expect_err(bad);
            assert!(e.contains(&format!("'{bad}'")), "{e}");
        }
        assert_eq!(interval(Duration::from_secs(3)), Duration::from_millis(600));
        assert_eq!(interval(Duration::from_secs(300)), Duration::from_secs(10));
    }

    /// issue #13 item 7: the decision itself, on a made-up clock.
    #[test]
    fn a_silent_rank_is_named_after_the_timeout_and_not_before() {
        let t0 = Instant::now();
        let s = Duration::from_secs(1);
        let mut l = Liveness::new(4, 3 * s, t0);
        for k in 1..=6u32 {
            let now = t0 + s * k;
            l.heard(Rank(1), now);
            l.heard(Rank(3), now);
            let silent = l.silent(now);
            if k <= 3 {
                assert_eq!(silent, None, "at {k} s");
            } else {
                assert_eq!(silent, Some((Rank(2), s * k)), "at {k} s");
            }
        }
        // The watcher itself stalled for longer than half a timeout: no verdict on that gap.
        let mut l = Liveness::new(3, 3 * s, t0);
        assert_eq!(l.silent(t0 + 10 * s), None);
        assert_eq!(l.silent(t0 + 11 * s), None);
        assert_eq!(l.silent(t0 + 12 * s), None);
        assert_eq!(l.silent(t0 + 13 * s), None);
        assert!(l.silent(t0 + 14 * s).is_some());
        let lost = Lost {
            rank: 2,
            host: "node7".into(),
            silent_for: Duration::from_millis(3400),
            timeout: 3 * s,
        };
        let text = lost.to_string();
        assert!(
            text.starts_with(
                "worker rank 2 on host node7 sent no heartbeat for 3.4 s (heartbeat timeout 3 s)"
            ),
            "{text}"
        );
    }
}
