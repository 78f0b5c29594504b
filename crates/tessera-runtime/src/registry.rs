//! Task functions are registered by name before the runtime starts. Every rank runs the same
//! binary and registers the same functions, so a name identifies the same code on the
//! scheduler and on every worker, and a task travels as its name and arguments.
//!
//! "Registers the same functions" is checked, not assumed: when a client starts, each
//! worker's table is taken as it stands ([`snapshot`]) and handed to rank 0 (under MPI, one
//! message per worker before the worker loop starts), and [`Client::submit`] refuses a
//! function that a worker lacks, or that a worker registered with another signature, naming
//! the ranks. A function registered after the start is refused in-process too, so a program
//! that passes in-process does not fail first under `mpirun`.
//!
//! [`Client::submit`]: crate::Client::submit

use super::value::Value;
use crate::failure::{run_task, Failure};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock, RwLock};

/// What a task function returns on failure: any error (its chain of causes is reported).
pub type TaskError = Box<dyn std::error::Error + Send + Sync>;

/// A registered task function.
pub type TaskFn = dyn Fn(&[Value]) -> Result<Value, TaskError> + Send + Sync;

/// The signature recorded for functions registered with [`register`] (they take and return
/// [`Value`]s).
pub const UNTYPED: &str = "fn(&[Value]) -> Value";

struct Entry {
    f: Arc<TaskFn>,
    signature: String,
}

fn table() -> &'static RwLock<HashMap<String, Entry>> {
    static T: OnceLock<RwLock<HashMap<String, Entry>>> = OnceLock::new();
    T.get_or_init(|| RwLock::new(HashMap::new()))
}

/// Registers `f` under `name` (replacing an earlier one). Call it on every rank before
/// [`crate::start`] (or [`Client::local`](crate::Client::local)): a function registered
/// later is refused at submit. For typed arguments and results use
/// [`task`](crate::futures::task).
pub fn register(
    name: &str,
    f: impl Fn(&[Value]) -> Result<Value, TaskError> + Send + Sync + 'static,
) {
    register_with_signature(name, UNTYPED.to_string(), f);
}

/// Registers `f` under `name` with a signature that every worker's registration must
/// equal.
pub(crate) fn register_with_signature(
    name: &str,
    signature: String,
    f: impl Fn(&[Value]) -> Result<Value, TaskError> + Send + Sync + 'static,
) {
    let mut t = table().write().unwrap_or_else(|p| p.into_inner());
    t.insert(
        name.to_string(),
        Entry {
            f: Arc::new(f),
            signature,
        },
    );
}

/// The function registered under `name`.
pub fn lookup(name: &str) -> Option<Arc<TaskFn>> {
    table()
        .read()
        .ok()
        .and_then(|t| t.get(name).map(|e| e.f.clone()))
}

/// The names and signatures registered on one rank when its runtime started.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Snapshot(pub BTreeMap<String, String>);

/// This process's table as it stands now.
pub fn snapshot() -> Snapshot {
    let t = table().read().unwrap_or_else(|p| p.into_inner());
    Snapshot(
        t.iter()
            .map(|(k, e)| (k.clone(), e.signature.clone()))
            .collect(),
    )
}

/// Ranks whose tables were equal when the cluster started, with that table (normally one
/// group: every rank runs the same program).
pub type Groups = Vec<(Vec<u32>, Snapshot)>;

/// `(rank, table)` pairs grouped by equal tables.
pub fn group(tables: Vec<(u32, Snapshot)>) -> Groups {
    let mut groups: Groups = Vec::new();
    for (rank, table) in tables {
        match groups.iter_mut().find(|g| g.1 == table) {
            Some(g) => g.0.push(rank),
            None => groups.push((vec![rank], table)),
        }
    }
    groups
}

/// Why `func` cannot be submitted to workers whose tables at the start were `workers`;
/// `None` when it is registered here and on every worker with the same signature.
pub fn check_everywhere(func: &str, workers: &[(Vec<u32>, Snapshot)]) -> Option<String> {
    let t = table().read().unwrap_or_else(|p| p.into_inner());
    let Some(here) = t.get(func) else {
        drop(t);
        return Some(unknown(func));
    };
    let mut missing: Vec<u32> = workers
        .iter()
        .filter(|(_, t)| !t.0.contains_key(func))
        .flat_map(|(r, _)| r.iter().copied())
        .collect();
    if !missing.is_empty() {
        missing.sort_unstable();
        return Some(format!(
            "task function '{func}' was not registered on worker rank{} {} when the runtime \
             started: register task functions on every rank before starting the client \
             (Client::local, Client::from_env or tessera::start), so every worker knows them \
             before the first task runs",
            if missing.len() == 1 { "" } else { "s" },
            ranks(&missing)
        ));
    }
    workers.iter().find_map(|(r, t)| {
        let theirs = t.0.get(func)?;
        (*theirs != here.signature).then(|| {
            format!(
                "task function '{func}' is registered as {} here but as {theirs} on worker \
                 rank{} {}: every rank must register the same function under a name",
                here.signature,
                if r.len() == 1 { "" } else { "s" },
                ranks(r)
            )
        })
    })
}

/// `1, 2, 3` (at most ten, then how many more).
fn ranks(r: &[u32]) -> String {
    let mut s: Vec<String> = r.iter().take(10).map(u32::to_string).collect();
    if r.len() > 10 {
        s.push(format!("and {} more", r.len() - 10));
    }
    s.join(", ")
}

/// Registered names, sorted (for error messages).
pub fn names() -> Vec<String> {
    let mut v: Vec<String> = table()
        .read()
        .map(|t| t.keys().cloned().collect())
        .unwrap_or_default();
    v.sort();
    v
}

/// The error for a name nobody registered.
pub fn unknown(name: &str) -> String {
    let known = names();
    if known.is_empty() {
        format!("no task function named '{name}' is registered (none are: call tessera::futures::register before tessera::start)")
    } else {
        format!(
            "no task function named '{name}' is registered (registered: {})",
            known.join(", ")
        )
    }
}

/// Runs the function named `name` on `args`, catching errors and panics.
pub fn call(name: &str, args: &[Value]) -> Result<Value, Failure> {
    let f = lookup(name).ok_or_else(|| Failure::msg(unknown(name)))?;
    run_task(|| f(args).map_err(|e| chain(e.as_ref())))
}

/// An error and its causes, `outer: cause: root`.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registered_functions_run_by_name() {
        register("registry-test-add", |a| {
            let x = a.first().and_then(Value::as_i64).ok_or("want an int")?;
            Ok(Value::Int(x + 1))
        });
        assert_eq!(
            call("registry-test-add", &[Value::Int(4)]),
            Ok(Value::Int(5))
        );
        let e = call("registry-test-add", &[Value::Str("a".into())]).expect_err("bad arg");
        assert_eq!(e.message, "want an int");
        let e = call("registry-test-missing", &[]).expect_err("unknown");
        assert!(e.message.contains("registry-test-missing"), "{}", e.message);
    }
}
