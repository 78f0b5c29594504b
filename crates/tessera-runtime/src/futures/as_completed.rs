//! Futures in the order they finish, as an iterator or an async stream, open to new
//! futures while it is being consumed: an adaptive algorithm keeps work in flight by adding
//! the tasks each result suggests, and the loop ends only when every future added has been
//! yielded.

use super::future::TaskFuture;
use crate::link::Listener;
use crate::value::Value;
use futures_core::Stream;
use std::collections::{HashMap, VecDeque};
use std::pin::Pin;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};

struct State<T> {
    /// Futures added and not yet yielded, by id (with how many times each was added).
    pending: HashMap<u64, (TaskFuture<T>, usize)>,
    finished: VecDeque<u64>,
    waker: Option<Waker>,
}

struct Shared<T> {
    state: Mutex<State<T>>,
    cond: Condvar,
}

impl<T> Default for Shared<T> {
    fn default() -> Self {
        Shared {
            state: Mutex::new(State {
                pending: HashMap::new(),
                finished: VecDeque::new(),
                waker: None,
            }),
            cond: Condvar::new(),
        }
    }
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, State<T>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl<T: 'static> Listener for Shared<T> {
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
pub struct AsCompleted<T = Value> {
    shared: Arc<Shared<T>>,
}

impl<T> Default for AsCompleted<T> {
    fn default() -> Self {
        AsCompleted {
            shared: Arc::default(),
        }
    }
}

/// Futures in the order they finish; more can be added while iterating.
pub fn as_completed<T: 'static>(
    futures: impl IntoIterator<Item = TaskFuture<T>>,
) -> AsCompleted<T> {
    let ac = AsCompleted::default();
    for f in futures {
        ac.add(f);
    }
    ac
}

impl<T: 'static> AsCompleted<T> {
    /// An empty set.
    pub fn new() -> AsCompleted<T> {
        AsCompleted::default()
    }

    /// Adds a future; it will be yielded once it finishes (at once if it already has).
    pub fn add(&self, f: TaskFuture<T>) {
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

    fn take(s: &mut State<T>) -> Option<TaskFuture<T>> {
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
    pub fn next_finished(&self) -> Option<TaskFuture<T>> {
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

impl<T: 'static> Iterator for &AsCompleted<T> {
    type Item = TaskFuture<T>;

    fn next(&mut self) -> Option<TaskFuture<T>> {
        self.next_finished()
    }
}

impl<T: 'static> Stream for AsCompleted<T> {
    type Item = TaskFuture<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<TaskFuture<T>>> {
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
