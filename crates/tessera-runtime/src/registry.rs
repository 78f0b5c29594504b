//! Task functions are registered by name before the runtime starts. Every rank runs the same
//! binary and registers the same functions, so a name identifies the same code on the
//! scheduler and on every worker, and a task travels as its name and arguments.

use super::value::Value;
use crate::failure::{run_task, Failure};
use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};

/// What a task function returns on failure: any error (its chain of causes is reported).
pub type TaskError = Box<dyn std::error::Error + Send + Sync>;

/// A registered task function.
pub type TaskFn = dyn Fn(&[Value]) -> Result<Value, TaskError> + Send + Sync;

fn table() -> &'static RwLock<HashMap<String, Arc<TaskFn>>> {
    static T: OnceLock<RwLock<HashMap<String, Arc<TaskFn>>>> = OnceLock::new();
    T.get_or_init(|| RwLock::new(HashMap::new()))
}

/// Registers `f` under `name` (replacing an earlier one). Call it on every rank before
/// [`crate::start`], so MPI workers know the function too.
pub fn register(
    name: &str,
    f: impl Fn(&[Value]) -> Result<Value, TaskError> + Send + Sync + 'static,
) {
    if let Ok(mut t) = table().write() {
        t.insert(name.to_string(), Arc::new(f));
    }
}

/// The function registered under `name`.
pub fn lookup(name: &str) -> Option<Arc<TaskFn>> {
    table().read().ok().and_then(|t| t.get(name).cloned())
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
