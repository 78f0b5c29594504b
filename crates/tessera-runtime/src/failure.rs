//! Running a task so that whatever goes wrong comes back as a message: an error return or a
//! panic (with the panic's backtrace when one can be taken), never an unwinding worker.
//!
//! A panic hook installed once per process records the backtrace of a panic raised on a
//! thread while it runs a task, instead of printing it: the failure travels to rank 0,
//! which prints it once, readably. Panics on other threads print as usual.

use std::cell::{Cell, RefCell};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Once;

/// What went wrong in a task.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Failure {
    /// The error message (an error's chain of causes, or `panic: ...`).
    pub message: String,
    /// Where a panic happened, user frames first (none for error returns).
    pub backtrace: Option<String>,
}

impl Failure {
    /// A failure with a message only.
    pub fn msg(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            backtrace: None,
        }
    }
}

thread_local! {
    /// This thread is running a task (its panics are captured, not printed).
    static IN_TASK: Cell<bool> = const { Cell::new(false) };
    /// The backtrace of this thread's last captured panic.
    static BACKTRACE: RefCell<Option<String>> = const { RefCell::new(None) };
}

fn install_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !IN_TASK.with(Cell::get) {
                previous(info);
                return;
            }
            let bt = std::backtrace::Backtrace::force_capture();
            BACKTRACE.with(|b| *b.borrow_mut() = Some(trim_backtrace(&bt.to_string())));
        }));
    });
}

/// Runs `f`, turning an error return or a panic into a [`Failure`]. A panic on this
/// thread brings its backtrace; one on a helper thread inside the task (rayon) brings its
/// message, and its backtrace is printed where it happened.
pub fn run_task<T>(f: impl FnOnce() -> Result<T, String>) -> Result<T, Failure> {
    install_hook();
    BACKTRACE.with(|b| b.borrow_mut().take());
    let outer = IN_TASK.with(|t| t.replace(true));
    let outcome = catch_unwind(AssertUnwindSafe(f));
    IN_TASK.with(|t| t.set(outer));
    match outcome {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(message)) => Err(Failure::msg(message)),
        Err(panic) => Err(Failure {
            message: format!("panic: {}", panic_message(panic)),
            backtrace: BACKTRACE.with(|b| b.borrow_mut().take()),
        }),
    }
}

/// The message a panic carried.
pub fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}

/// Keeps the frames a reader cares about: drops the panic machinery above the panicking
/// function and the runtime below the task.
fn trim_backtrace(text: &str) -> String {
    let mut frames: Vec<Vec<&str>> = Vec::new();
    for line in text.lines() {
        let starts_frame = line
            .trim_start()
            .split_once(':')
            .is_some_and(|(n, _)| !n.is_empty() && n.chars().all(|c| c.is_ascii_digit()));
        match frames.last_mut() {
            Some(f) if !starts_frame => f.push(line),
            _ => frames.push(vec![line]),
        }
    }
    let machinery = |f: &Vec<&str>| {
        let name = f[0].trim_start();
        [
            "std::",
            "core::",
            "alloc::",
            "__rust",
            "rust_begin",
            "<alloc::",
            "<core::",
            "<std::",
        ]
        .iter()
        .any(|p| name.split_once(": ").is_some_and(|(_, n)| n.starts_with(p)))
    };
    let kept: Vec<String> = frames
        .iter()
        .skip_while(|f| machinery(f))
        .take_while(|f| !f[0].contains("failure::run_task"))
        .filter(|f| !machinery(f))
        .map(|f| f.join("\n"))
        .collect();
    if kept.is_empty() {
        text.to_string()
    } else {
        kept.join("\n")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[inline(never)]
    fn deep_failure(x: i64) -> Result<i64, String> {
        if x > 2 {
            panic!("x is {x}");
        }
        Ok(x)
    }

    #[test]
    fn panics_become_failures_with_a_backtrace() {
        assert_eq!(run_task(|| deep_failure(1)), Ok(1));
        let f = run_task(|| deep_failure(5)).expect_err("fails");
        assert_eq!(f.message, "panic: x is 5");
        let bt = f.backtrace.expect("backtrace");
        assert!(bt.contains("deep_failure"), "{bt}");
        assert!(!bt.contains("std::panicking"), "{bt}");
        let e = run_task(|| -> Result<(), String> { Err("bad input".into()) }).expect_err("err");
        assert_eq!(e, Failure::msg("bad input"));
    }
}
