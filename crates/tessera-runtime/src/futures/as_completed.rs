//! Futures in the order they finish, as an iterator or an async stream, open to new
//! futures while it is being consumed: an adaptive algorithm keeps work in flight by adding
//! the tasks each result suggests, and the loop ends only when every future added has been
//! yielded.

use super::future::Future;
use crate::link::Listener;
use futures_core::Stream;
use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

#[derive(Default)]
struct State {
    /// Futures added and not yet yielded, by id (with how many times each was added).
    pending: HashMap<u64, (Future, usize)>,
    finished: VecDeque<u64>,
    waker: Option<Waker>,
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    cond: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Listener for Shared {
    fn finished(&self, id: u64) {
        let mut s = self.lock();
        s.finished.push_back(id);
        if let Some(w) = s.waker.take() {
            w.wake();
        }
        drop(s);
        self.cond.notify_all();
    }
}

/// Yields futures as they finish (done, failed or cancelled). Iterate with `for f in &ac`
/// (so `ac.add(..)` works inside the loop), or use it as a `Stream` in async code.
#[derive(Default)]
pub struct AsCompleted {
    shared: Arc<Shared>,
}

/// Futures in the order they finish; more can be added while iterating.
pub fn as_completed(futures: impl IntoIterator<Item = Future>) -> AsCompleted {
    let ac = AsCompleted::default();
    for f in futures {
        ac.add(f);
    }
    ac
}

impl AsCompleted {
    /// An empty set.
    pub fn new() -> AsCompleted {
        AsCompleted::default()
    }

    /// Adds a future; it will be yielded once it finishes (at once if it already has).
    pub fn add(&self, f: Future) {
        let id = f.id();
        let link = f.link().clone();
        {
            let mut s = self.shared.lock();
            s.pending.entry(id).or_insert_with(|| (f, 0)).1 += 1;
        }
        let mut t = link.lock();
        match t.get_mut(&id) {
            Some(slot) if !slot.status.is_terminal() => {
                let l: Arc<dyn Listener> = self.shared.clone();
                slot.listeners.push(Arc::downgrade(&l));
            }
            _ => {
                drop(t);
                self.shared.finished(id);
            }
        }
    }

    /// Futures added and not yet yielded.
    pub fn count(&self) -> usize {
        self.shared.lock().pending.values().map(|p| p.1).sum()
    }

    /// True when every future added has been yielded.
    pub fn is_empty(&self) -> bool {
        self.count() == 0
    }

    fn take(s: &mut State) -> Option<Future> {
        while let Some(id) = s.finished.pop_front() {
            if let Some(entry) = s.pending.get_mut(&id) {
                entry.1 -= 1;
                let f = entry.0.clone();
                if entry.1 == 0 {
                    s.pending.remove(&id);
                }
                return Some(f);
            }
        }
        None
    }

    /// The next finished future, waiting for one; `None` when all have been yielded.
    pub fn next_finished(&self) -> Option<Future> {
        let mut s = self.shared.lock();
        loop {
            if let Some(f) = Self::take(&mut s) {
                return Some(f);
            }
            if s.pending.is_empty() {
                return None;
            }
            s = self.shared.cond.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }
}

impl Iterator for &AsCompleted {
    type Item = Future;

    fn next(&mut self) -> Option<Future> {
        self.next_finished()
    }
}

impl Stream for AsCompleted {
    type Item = Future;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Future>> {
        let mut s = self.shared.lock();
        if let Some(f) = Self::take(&mut s) {
            return Poll::Ready(Some(f));
        }
        if s.pending.is_empty() {
            return Poll::Ready(None);
        }
        s.waker = Some(cx.waker().clone());
        Poll::Pending
    }
}
