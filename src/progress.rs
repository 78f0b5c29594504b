//! Progress for people: a live bar on a terminal, a concise log line every few seconds in
//! a batch job (where a bar would fill the Slurm output file with carriage returns).
//!
//! A thread polls the client's [`Progress`] counters; nothing in the scheduler waits for
//! the display. Log lines of the job go through [`Display::line`] so they print above the
//! bar instead of through it.

use crate::runtime::{Progress, ProgressSnapshot};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How progress shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A bar when stderr is a terminal, log lines otherwise.
    Auto,
    /// Always a bar.
    Bar,
    /// Always log lines.
    Log,
    /// Nothing.
    Off,
}

impl std::str::FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Mode, String> {
        match s {
            "auto" => Ok(Mode::Auto),
            "bar" => Ok(Mode::Bar),
            "log" => Ok(Mode::Log),
            "off" => Ok(Mode::Off),
            _ => Err(format!(
                "'{s}' is not a progress mode (auto, bar, log, off)"
            )),
        }
    }
}

/// A running progress display; stops when finished or dropped.
pub struct Display {
    bar: Option<ProgressBar>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    quiet: bool,
}

/// Seconds between log lines (`TESSERA_PROGRESS_SECONDS`, default 5).
fn log_interval() -> Duration {
    let secs = std::env::var("TESSERA_PROGRESS_SECONDS")
        .ok()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .unwrap_or(5.0);
    Duration::from_secs_f64(secs)
}

impl Display {
    /// Starts showing `progress` for the job `name`.
    pub fn start(mode: Mode, name: &str, progress: Arc<Progress>) -> Display {
        let mode = match mode {
            Mode::Auto if std::io::stderr().is_terminal() => Mode::Bar,
            Mode::Auto => Mode::Log,
            m => m,
        };
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();
        let bar = (mode == Mode::Bar).then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{prefix} [{bar:20.cyan/blue}] {pos}/{len} tasks, {msg}, {elapsed} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
            bar.set_style(style);
            bar.set_prefix(name.to_string());
            bar
        });
        let thread = match mode {
            Mode::Off => None,
            _ => {
                let stop = stop.clone();
                let bar = bar.clone();
                let name = name.to_string();
                std::thread::Builder::new()
                    .name("tessera-progress".into())
                    .spawn(move || {
                        let tick = if bar.is_some() {
                            Duration::from_millis(100)
                        } else {
                            log_interval()
                        };
                        let mut next = Instant::now() + tick;
                        while !stop.load(Ordering::Relaxed) {
                            std::thread::sleep(Duration::from_millis(50));
                            if Instant::now() < next {
                                continue;
                            }
                            next += tick;
                            let s = progress.snapshot();
                            match &bar {
                                Some(b) => {
                                    b.set_length(s.tasks_planned);
                                    b.set_position(s.tasks_done);
                                    b.set_message(format!(
                                        "read {} moved {} spilled {}",
                                        human(s.bytes_read),
                                        human(s.bytes_moved),
                                        human(s.bytes_spilled)
                                    ));
                                }
                                None => super::render::console_line(
                                    &format!("[{name}] {}", log_line(&s, started.elapsed())),
                                    true,
                                ),
                            }
                        }
                    })
                    .ok()
            }
        };
        Display {
            bar,
            stop,
            thread,
            quiet: mode == Mode::Off,
        }
    }

    /// Prints a line of the job's log (above the bar, if there is one).
    pub fn line(&self, msg: &str) {
        match &self.bar {
            Some(b) => b.println(msg),
            None if !self.quiet => super::render::console_line(msg, true),
            None => {}
        }
    }

    /// Stops the display and clears the bar.
    pub fn finish(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Some(b) = self.bar.take() {
            b.finish_and_clear();
        }
    }
}

impl Drop for Display {
    fn drop(&mut self) {
        self.finish();
    }
}

fn human(bytes: u64) -> String {
    let b = bytes as f64;
    if b >= 1e9 {
        format!("{:.2} GB", b / 1e9)
    } else if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.1} kB", b / 1e3)
    } else {
        format!("{bytes} B")
    }
}

fn bytes_line(s: &ProgressSnapshot) -> String {
    format!(
        "read {} | moved {} | spilled {}",
        human(s.bytes_read),
        human(s.bytes_moved),
        human(s.bytes_spilled)
    )
}

/// `1234/5000 tasks (24%) | read 1.20 GB | moved 300.0 MB | spilled 0 B | 12.3 s, ETA 38 s`
pub fn log_line(s: &ProgressSnapshot, elapsed: Duration) -> String {
    let secs = elapsed.as_secs_f64();
    let pct = if s.tasks_planned > 0 {
        100.0 * s.tasks_done as f64 / s.tasks_planned as f64
    } else {
        0.0
    };
    let eta = if s.tasks_done > 0 && s.tasks_planned >= s.tasks_done {
        let left = secs * (s.tasks_planned - s.tasks_done) as f64 / s.tasks_done as f64;
        format!("ETA {left:.0} s")
    } else {
        "ETA ?".into()
    };
    format!(
        "{}/{} tasks ({pct:.0}%) | {} | {secs:.1} s, {eta}",
        s.tasks_done,
        s.tasks_planned,
        bytes_line(s)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn log_lines_say_tasks_bytes_and_eta() {
        let s = ProgressSnapshot {
            tasks_planned: 200,
            tasks_done: 50,
            bytes_read: 1_500_000_000,
            bytes_moved: 2_000_000,
            bytes_spilled: 0,
            computations: 1,
        };
        let line = log_line(&s, Duration::from_secs(10));
        assert_eq!(
            line,
            "50/200 tasks (25%) | read 1.50 GB | moved 2.0 MB | spilled 0 B | 10.0 s, ETA 30 s"
        );
        assert!(log_line(&ProgressSnapshot::default(), Duration::ZERO).contains("ETA ?"));
    }
}
