//! A handle on a task's result that lives on a worker.
//!
//! Handles are reference counted across the cluster: clones share one record, and when the
//! last handle is dropped the scheduler is told, and the worker frees the value once no
//! waiting task needs it either. A handle is also a `std::future::Future`, so async code can
//! `.await` it; its waker is woken by whichever thread is driving the scheduler when the
//! status changes.
//!
//! The handle is typed by what its task returns: `TaskFuture<T>` of a typed task
//! ([`task`](super::task)) gives a `T`, the default `TaskFuture<Value>` of a function
//! registered by name gives the [`Value`]. (It is not called `Future`: that name is the
//! standard trait, in the prelude of edition 2024.)

use super::typed::TaskData;
use crate::error::{Error, Result};
use crate::link::{FutureStatus, Link, Request};
use crate::value::Value;
use std::marker::PhantomData;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

struct Handle {
    id: u64,
    key: String,
    link: Arc<Link>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.link.forget(self.id);
        let _ = self.link.request(Request::Release(self.id));
    }
}

/// The result of a submitted task (or scattered data), held on a worker: a `T` once
/// finished.
pub struct TaskFuture<T = Value> {
    inner: Arc<Handle>,
    _t: PhantomData<fn() -> T>,
}

impl<T> Clone for TaskFuture<T> {
    fn clone(&self) -> Self {
        TaskFuture {
            inner: self.inner.clone(),
            _t: PhantomData,
        }
    }
}

impl<T> std::fmt::Debug for TaskFuture<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TaskFuture({}, {:?})", self.inner.key, self.status())
    }
}

impl TaskFuture<Value> {
    pub(crate) fn new(id: u64, key: String, link: Arc<Link>) -> TaskFuture<Value> {
        TaskFuture {
            inner: Arc::new(Handle { id, key, link }),
            _t: PhantomData,
        }
    }
}

impl<T> TaskFuture<T> {
    /// The same handle, typed as `U` (the caller vouches for the type; a wrong one is
    /// named when the value is decoded).
    pub(crate) fn retype<U>(self) -> TaskFuture<U> {
        TaskFuture {
            inner: self.inner,
            _t: PhantomData,
        }
    }

    /// The same handle giving the raw [`Value`] (for the untyped API: `gather`,
    /// `as_completed`, arguments built with `args!`).
    pub fn untyped(&self) -> TaskFuture<Value> {
        self.clone().retype()
    }

    pub(crate) fn link(&self) -> &Arc<Link> {
        &self.inner.link
    }

    /// The task key, `function-id` (the name errors and reports use).
    pub fn key(&self) -> &str {
        &self.inner.key
    }

    /// The id, unique within the client.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// Where the task stands now.
    pub fn status(&self) -> FutureStatus {
        self.inner
            .link
            .lock()
            .get(&self.inner.id)
            .map_or(FutureStatus::Cancelled, |s| s.status.clone())
    }

    /// True once it finished, failed or was cancelled.
    pub fn done(&self) -> bool {
        self.status().is_terminal()
    }

    /// The raw value, once finished (waits).
    pub(crate) fn value(&self) -> Result<Value> {
        let link = self.inner.link.clone();
        link.wait_for(|t| self.check(t, None))
    }

    /// Asks for the task to be cancelled (with every task waiting for it) and waits until
    /// the scheduler has done so. A task already running finishes on its worker, but its
    /// result is dropped; `result()` then reports the cancellation.
    pub fn cancel(&self) -> Result<()> {
        self.inner.link.request(Request::Cancel(self.inner.id))?;
        self.inner.link.wait_for(|t| {
            t.get(&self.inner.id)
                .is_none_or(|s| {
                    matches!(s.status, FutureStatus::Cancelled | FutureStatus::Error(_))
                })
                .then_some(())
        });
        Ok(())
    }

    /// Asks for the value to come to rank 0 as soon as it is finished (once), without
    /// waiting, so several values travel at the same time.
    pub(crate) fn prefetch_when_done(&self) {
        let mut t = self.inner.link.lock();
        if let Some(s) = t.get_mut(&self.inner.id) {
            if s.value.is_none() && !s.fetching {
                s.fetching = true;
                drop(t);
                let _ = self.inner.link.request(Request::Fetch(self.inner.id));
            }
        }
    }

    /// The outcome if there is one; otherwise asks for the value when it is finished, and
    /// registers `waker`.
    fn check(
        &self,
        t: &mut std::collections::HashMap<u64, crate::link::Slot>,
        waker: Option<&std::task::Waker>,
    ) -> Option<Result<Value>> {
        let Some(slot) = t.get_mut(&self.inner.id) else {
            return Some(Err(Error::Cancelled(self.inner.key.clone())));
        };
        match &slot.status {
            FutureStatus::Error(f) => return Some(Err(f.to_error())),
            FutureStatus::Cancelled => return Some(Err(Error::Cancelled(self.inner.key.clone()))),
            FutureStatus::Finished => {
                if let Some(v) = &slot.value {
                    return Some(Ok(v.clone()));
                }
                if !slot.fetching {
                    slot.fetching = true;
                    if let Err(e) = self.inner.link.request(Request::Fetch(self.inner.id)) {
                        return Some(Err(e));
                    }
                }
            }
            FutureStatus::Pending => {}
        }
        if let Some(w) = waker {
            if !slot.wakers.iter().any(|x| x.will_wake(w)) {
                slot.wakers.push(w.clone());
            }
        }
        None
    }
}

impl<T: TaskData> TaskFuture<T> {
    /// Waits for the value and brings it to the caller. A failed task's error names the
    /// task, the worker rank and host, and carries the backtrace of a panic.
    pub fn result(&self) -> Result<T> {
        T::from_value(self.value()?).map_err(|e| self.wrong_type(e))
    }

    fn wrong_type(&self, message: String) -> Error {
        Error::Future(format!("result of {}: {message}", self.inner.key))
    }
}

impl<T: TaskData> std::future::Future for TaskFuture<T> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<T>> {
        let link = self.inner.link.clone();
        let mut t = link.lock();
        match self.check(&mut t, Some(cx.waker())) {
            Some(r) => {
                drop(t);
                Poll::Ready(r.and_then(|v| T::from_value(v).map_err(|e| self.wrong_type(e))))
            }
            None => Poll::Pending,
        }
    }
}
