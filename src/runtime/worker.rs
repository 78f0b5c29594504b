//! The worker loop: keep chunks in a store, run tasks whose inputs are present, send
//! chunks where the scheduler says, report completions in batches.

use super::plan::{ChunkKey, Plan};
use super::protocol::{Cmd, Msg};
use crate::array::chunk::Chunk;
use crate::comm::{CommError, Envelope, Rank, Transport};
use std::collections::{HashMap, VecDeque};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

struct Task {
    comp: u64,
    node: usize,
    block: usize,
    missing: Vec<ChunkKey>,
}

/// Finished tasks `(node, block, nbytes)` not yet reported, and the file bytes they read.
type Finished = (Vec<(u32, u64, u64)>, u64);

/// State of one worker.
pub struct Worker<T: Transport> {
    t: T,
    plans: HashMap<u64, Arc<Plan>>,
    store: HashMap<ChunkKey, Chunk>,
    ready: VecDeque<Task>,
    waiting: Vec<Task>,
    /// Finished tasks not yet reported, and file bytes they read, per computation.
    done: HashMap<u64, Finished>,
}

impl<T: Transport> Worker<T> {
    /// A worker on a transport endpoint.
    pub fn new(t: T) -> Worker<T> {
        Worker {
            t,
            plans: HashMap::new(),
            store: HashMap::new(),
            ready: VecDeque::new(),
            waiting: Vec::new(),
            done: HashMap::new(),
        }
    }

    /// Runs until the scheduler says stop (or the transport closes). Returns the transport
    /// so its owner can finalise it.
    pub fn run(mut self) -> Result<T, CommError> {
        // A failure of the loop itself (not of a task, which is reported per task) is told
        // to rank 0 so the caller gets an error instead of waiting forever.
        let outcome = catch_unwind(AssertUnwindSafe(|| self.serve()));
        let message = match outcome {
            Ok(Ok(())) => return Ok(self.t),
            Ok(Err(e)) => e.to_string(),
            Err(panic) => panic_message(panic),
        };
        let host = self.t.host();
        let _ = self.send(
            Rank::SCHEDULER,
            &Msg::WorkerDied {
                message: message.clone(),
                host,
            },
        );
        Err(CommError::Closed(format!(
            "worker {} stopped: {message}",
            self.t.rank()
        )))
    }

    fn serve(&mut self) -> Result<(), CommError> {
        loop {
            let env = if self.ready.is_empty() {
                Some(self.t.recv()?)
            } else {
                self.t.try_recv()?
            };
            let mut next = env;
            while let Some(e) = next {
                if !self.handle(e)? {
                    self.flush()?;
                    return Ok(());
                }
                next = self.t.try_recv()?;
            }
            // Run a few tasks, then look at the inbox again.
            for _ in 0..16 {
                match self.ready.pop_front() {
                    Some(task) => self.run_task(task)?,
                    None => break,
                }
            }
            self.flush()?;
        }
    }

    fn send(&self, to: Rank, msg: &Msg) -> Result<(), CommError> {
        self.t.send(to, msg.encode(), None)
    }

    fn flush(&mut self) -> Result<(), CommError> {
        for (comp, (items, bytes_read)) in std::mem::take(&mut self.done) {
            if !items.is_empty() {
                self.send(
                    Rank::SCHEDULER,
                    &Msg::Done {
                        comp,
                        items,
                        bytes_read,
                    },
                )?;
            }
        }
        Ok(())
    }

    fn handle(&mut self, env: Envelope) -> Result<bool, CommError> {
        let msg = match Msg::decode(&env.header) {
            Ok(m) => m,
            Err(e) => return Err(CommError::Closed(e)),
        };
        match msg {
            Msg::Shutdown => return Ok(false),
            Msg::Plan(p) => {
                self.plans.insert(p.comp, Arc::new(*p));
            }
            Msg::PlanCmds(p, cmds) => {
                self.plans.insert(p.comp, Arc::new(*p));
                for c in cmds {
                    self.command(c)?;
                }
            }
            Msg::Chunk { key, meta } => {
                let payload = env
                    .payload
                    .ok_or_else(|| CommError::Closed("chunk message without payload".into()))?;
                let chunk = Chunk::from_parts(meta, payload).map_err(CommError::Closed)?;
                self.store.insert(key, chunk);
                self.wake(key);
            }
            Msg::Cmds(cmds) => {
                for c in cmds {
                    self.command(c)?;
                }
            }
            Msg::Done { .. } | Msg::Failed { .. } | Msg::WorkerDied { .. } | Msg::Result { .. } => {
            }
        }
        Ok(true)
    }

    fn command(&mut self, c: Cmd) -> Result<(), CommError> {
        match c {
            Cmd::Run { comp, node, block } => {
                let Some(plan) = self.plans.get(&comp).cloned() else {
                    return Ok(());
                };
                let (node, block) = (node as usize, block as usize);
                let missing: Vec<ChunkKey> = plan
                    .task_deps(node, block)
                    .into_iter()
                    .map(|(n, b)| plan.key(n, b))
                    .filter(|k| !self.store.contains_key(k))
                    .collect();
                let task = Task {
                    comp,
                    node,
                    block,
                    missing,
                };
                if task.missing.is_empty() {
                    self.ready.push_back(task);
                } else {
                    self.waiting.push(task);
                }
            }
            Cmd::SendTo { key, dest } => {
                if let Some(c) = self.store.get(&key) {
                    let hdr = Msg::Chunk {
                        key,
                        meta: c.meta(),
                    }
                    .encode();
                    self.t.send(dest, hdr, Some(c.data.clone()))?;
                }
            }
            Cmd::Release(key) => {
                self.store.remove(&key);
            }
            Cmd::EndComp { comp, keep } => {
                self.plans.remove(&comp);
                self.store
                    .retain(|k, _| k.comp != comp || keep.contains(&k.node));
                self.ready.retain(|t| t.comp != comp);
                self.waiting.retain(|t| t.comp != comp);
                self.done.remove(&comp);
            }
            Cmd::DropNode { comp, node } => {
                self.store
                    .retain(|k, _| !(k.comp == comp && k.node == node));
            }
        }
        Ok(())
    }

    fn wake(&mut self, key: ChunkKey) {
        let mut i = 0;
        while i < self.waiting.len() {
            let t = &mut self.waiting[i];
            t.missing.retain(|k| *k != key);
            if t.missing.is_empty() {
                let t = self.waiting.swap_remove(i);
                self.ready.push_back(t);
            } else {
                i += 1;
            }
        }
    }

    fn run_task(&mut self, task: Task) -> Result<(), CommError> {
        let Some(plan) = self.plans.get(&task.comp).cloned() else {
            return Ok(());
        };
        let store = &self.store;
        let fetch = |k: ChunkKey| store.get(&k).cloned();
        let result = catch_unwind(AssertUnwindSafe(|| {
            plan.eval(task.node, task.block, &fetch)
        }));
        let outcome = match result {
            Ok(r) => r,
            Err(panic) => Err(format!("panic: {}", panic_message(panic))),
        };
        match outcome {
            Ok(chunk) => {
                let key = plan.key(task.node, task.block);
                let nbytes = chunk.nbytes() as u64;
                let bytes_read = crate::io::read::take_bytes_read();
                if plan.gather && task.node == plan.root {
                    // The result goes straight to the caller, and says the task is done;
                    // nothing here needs it again.
                    let hdr = Msg::Result {
                        key,
                        meta: chunk.meta(),
                        bytes_read,
                    }
                    .encode();
                    self.t
                        .send(Rank::SCHEDULER, hdr, Some(chunk.data.clone()))?;
                } else {
                    self.store.insert(key, chunk);
                    let entry = self.done.entry(task.comp).or_default();
                    entry.0.push((task.node as u32, task.block as u64, nbytes));
                    entry.1 += bytes_read;
                }
                self.wake(key);
            }
            Err(message) => {
                self.flush()?;
                let host = self.t.host();
                self.send(
                    Rank::SCHEDULER,
                    &Msg::Failed {
                        comp: task.comp,
                        node: task.node as u32,
                        block: task.block as u64,
                        message,
                        host,
                    },
                )?;
            }
        }
        Ok(())
    }
}

fn panic_message(panic: Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "unknown panic".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::comm::local::LocalTransport;

    #[test]
    fn a_broken_worker_loop_tells_the_scheduler() {
        let mut g = LocalTransport::group(2);
        let w = g.pop().expect("endpoint");
        let s = g.pop().expect("endpoint");
        let h = std::thread::spawn(move || Worker::new(w).run().is_err());
        s.send(Rank(1), b"not a message".to_vec(), None)
            .expect("send");
        let env = s.recv().expect("recv");
        assert!(matches!(
            Msg::decode(&env.header),
            Ok(Msg::WorkerDied { .. })
        ));
        assert!(h.join().expect("join"));
    }
}
