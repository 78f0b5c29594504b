//! Every oracle case (numbers produced by numpy 2 and dask) evaluated in-process through
//! the library, on 3 worker threads.

mod common;

use serde_json::json;
use tessera::array::api;
use tessera::array::chunks::ChunkSpec;
use tessera::expr::eval::{evaluate, into_array, Bindings, Value};
use tessera::with_dtype;

fn run(client: &tessera::Client, case: &serde_json::Value) -> Result<serde_json::Value, String> {
    let mut b = Bindings::new();
    if let Some(opens) = case["opens"].as_object() {
        for (name, path) in opens {
            let p = common::oracle_dir().join(path.as_str().unwrap_or(""));
            let data = tessera::io::npy::read(&p).map_err(|e| e.to_string())?;
            b.insert(
                name.clone(),
                Value::Array(api::from_local(data, &ChunkSpec::Auto).map_err(|e| e.to_string())?),
            );
        }
    }
    let expr = case["expr"].as_str().unwrap_or("");
    let arr =
        into_array(evaluate(expr, &b).map_err(|e| e.to_string())?).map_err(|e| e.to_string())?;
    let chunks = json!(arr.chunks());
    let c = client.compute(&arr).map_err(|e| e.to_string())?;
    let data: Vec<serde_json::Value> = with_dtype!(c.dtype, T, {
        use tessera::array::dtype::Element;
        c.view::<T>()
            .iter()
            .map(|&x| {
                let v = x.to_f64();
                if c.dtype == tessera::array::dtype::DType::Bool {
                    json!(v != 0.0)
                } else if v.is_nan() {
                    json!("nan")
                } else if v.is_infinite() {
                    json!(if v > 0.0 { "inf" } else { "-inf" })
                } else if c.dtype.is_float() {
                    json!(v)
                } else if c.dtype.is_unsigned_int() {
                    json!(x.to_i128() as u64)
                } else {
                    json!(x.to_i128() as i64)
                }
            })
            .collect()
    });
    Ok(json!({"shape": c.shape, "dtype": c.dtype.name(), "chunks": chunks, "data": data}))
}

#[test]
fn oracle_cases_in_process() {
    let client = tessera::Client::local(3).expect("client");
    let mut failures = Vec::new();
    let cases = common::cases();
    for case in &cases {
        let name = case["name"].as_str().unwrap_or("?");
        let expr = case["expr"].as_str().unwrap_or("");
        if common::is_known_departure(name) {
            continue;
        }
        let outcome = run(&client, case);
        match (case["error"].is_null(), outcome) {
            (true, Ok(got)) => {
                if let Err(e) = common::compare(case, &got) {
                    failures.push(format!("{name}: `{expr}`: {e}"));
                }
            }
            (true, Err(e)) => failures.push(format!(
                "{name}: `{expr}`: unexpected error: {}",
                e.lines().next().unwrap_or("")
            )),
            (false, Ok(_)) => failures.push(format!(
                "{name}: `{expr}`: expected an error ({}), got a result",
                case["error"]
            )),
            (false, Err(_)) => {}
        }
    }
    for f in &failures {
        eprintln!("FAIL {f}");
    }
    assert!(
        failures.is_empty(),
        "{} of {} oracle cases failed",
        failures.len(),
        cases.len()
    );
}
