//! `persist` keeps blocks on the workers; later expressions start from them, and results
//! equal a plain computation (regression test for issue #2's API requirement).

mod common;

use tessera::expr::eval::{evaluate, into_array, Bindings};

fn arr(src: &str, b: &Bindings) -> tessera::DArray {
    into_array(evaluate(src, b).expect("expr")).expect("array")
}

#[test]
fn persisted_array_feeds_later_expressions() {
    let client = tessera::Client::local(3).expect("client");
    let x = arr(
        "arange(1000, chunks=70).reshape((20, 50)).rechunk((7, 13)) * 2",
        &Bindings::new(),
    );
    let p = client.persist(&x).expect("persist");
    assert_eq!(p.chunks(), x.chunks());
    let mut b = Bindings::new();
    b.insert("p".into(), tessera::expr::Value::Array(p.clone()));
    let direct = client
        .compute(&arr(
            "(x + 1).sum(axis=0)",
            &[("x".to_string(), tessera::expr::Value::Array(x.clone()))]
                .into_iter()
                .collect(),
        ))
        .expect("direct");
    let from_persisted = client
        .compute(&arr("(p + 1).sum(axis=0)", &b))
        .expect("from persisted");
    assert_eq!(direct.to_f64_vec(), from_persisted.to_f64_vec());
    // Nothing was recomputed from the source: only the consumer tasks ran.
    let tasks = client.last_report().expect("report").tasks;
    assert!(tasks < 40, "{tasks} tasks");
    let whole = client.compute(&p).expect("gather persisted");
    let want: Vec<f64> = (0..1000).map(|v| (v * 2) as f64).collect();
    assert_eq!(whole.to_f64_vec(), want);
    drop(b);
    drop(p);
    // After the last handle is gone the next computation still works.
    assert_eq!(
        client
            .compute(&arr("ones(3).sum()", &Bindings::new()))
            .expect("after drop")
            .to_f64_vec(),
        vec![3.0]
    );
}

#[test]
fn persist_works_the_same_under_mpi() {
    let text = common::mpirun_self_test(3, "persist");
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "printed once, by rank 0: {text}");
    let r: serde_json::Value = serde_json::from_str(lines[0]).expect("json");
    assert_eq!(r["transport"], "mpi");
    assert_eq!(r["workers"], 2);
    assert_eq!(r["equal"], true);
    assert_eq!(r["gathered_ok"], true);
    assert!(r["tasks_after_persist"].as_u64().unwrap_or(999) < 40, "{r}");
}
