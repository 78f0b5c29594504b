//! NetCDF/HDF5 reading, CF decoding and the xarray vocabulary, checked against numbers
//! xarray produced on the same files (`tests/oracle/make_cf_data.py`): small files made by
//! netCDF4-python/h5py in `tests/data/cf`, and the real files in `../shared/data/real`
//! when present (skipped with a message otherwise).

use serde_json::{json, Value as J};
use std::path::PathBuf;
use tessera::expr::eval::{evaluate, Bindings, Value};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn real_dir() -> PathBuf {
    root().join("../shared/data/real")
}

fn load() -> J {
    let text = std::fs::read_to_string(root().join("tests/oracle/cf_expected.json"))
        .expect("tests/oracle/cf_expected.json");
    serde_json::from_str(&text).expect("valid JSON")
}

fn expr_of(case: &J) -> String {
    case["expr"]
        .as_str()
        .unwrap_or("")
        .replace("{cf}", &root().join("tests/data/cf").display().to_string())
        .replace("{real}", &real_dir().display().to_string())
}

fn num(v: &J) -> f64 {
    match v {
        J::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        J::Bool(b) => *b as u8 as f64,
        J::String(s) => match s.as_str() {
            "inf" => f64::INFINITY,
            "-inf" => f64::NEG_INFINITY,
            _ => f64::NAN,
        },
        _ => f64::NAN,
    }
}

/// Values agree within float tolerance: float32 results (numpy accumulates float32 in
/// float32, pairwise) within 2e-5 of the largest magnitude around; float64 within 1e-9.
fn close(got: f64, want: f64, dtype: &str, scale: f64) -> bool {
    if want.is_nan() || got.is_nan() {
        return want.is_nan() && got.is_nan();
    }
    // float32: numpy sums in float32, so results near zero (anomalies, values after
    // subtracting a large offset) carry an absolute error of float32 epsilon times the
    // magnitude of the inputs.
    let (rtol, atol) = if dtype == "float32" {
        (2e-5, 5e-5)
    } else {
        (1e-9, 1e-12)
    };
    (got - want).abs() <= rtol * want.abs().max(scale * 1e-3) + atol
}

fn run(client: &tessera::Client, case: &J) -> Result<(), String> {
    let expr = expr_of(case);
    let v = evaluate(&expr, &Bindings::new()).map_err(|e| format!("error: {e}"))?;
    let (data, dims, coords) = match v {
        Value::Labeled(d) => (d.data.clone(), d.dims.clone(), d.coords.clone()),
        Value::Array(a) => (a, vec![], vec![]),
        other => return Err(format!("not an array: {other:?}")),
    };
    let want_dims: Vec<String> = serde_json::from_value(case["dims"].clone()).unwrap_or_default();
    if !dims.is_empty() && dims != want_dims {
        return Err(format!("dims {dims:?} != expected {want_dims:?}"));
    }
    let dtype = data.dtype().name().to_string();
    let want_dt = case["dtype"].as_str().unwrap_or("");
    if dtype != want_dt {
        return Err(format!("dtype {dtype} != expected {want_dt}"));
    }
    if let Some(want) = case["coords"].as_object() {
        for (name, values) in want {
            let Some((_, c)) = coords.iter().find(|(n, _)| n == name) else {
                return Err(format!("missing coordinate '{name}'"));
            };
            let got = c.to_json();
            let ok = match (&got, values) {
                (J::Array(g), J::Array(w)) => {
                    g.len() == w.len()
                        && g.iter().zip(w).all(|(a, b)| match (a, b) {
                            (J::String(x), J::String(y)) => x == y,
                            (a, b) => {
                                close(num(a), num(b), "float64", 0.0)
                                    || num(a) as f32 == num(b) as f32
                            }
                        })
                }
                _ => false,
            };
            if !ok {
                let show = |v: &J| v.to_string().chars().take(200).collect::<String>();
                return Err(format!(
                    "coordinate '{name}': {} != expected {}",
                    show(&got),
                    show(values)
                ));
            }
        }
    }
    let c = client.compute(&data).map_err(|e| format!("compute: {e}"))?;
    let want_shape: Vec<usize> = serde_json::from_value(case["shape"].clone()).unwrap_or_default();
    if c.shape != want_shape {
        return Err(format!("shape {:?} != expected {want_shape:?}", c.shape));
    }
    let vals = c.to_f64_vec();
    if let Some(w) = case["data"].as_array() {
        let scale = w
            .iter()
            .map(num)
            .filter(|x| x.is_finite())
            .fold(0.0f64, |m, x| m.max(x.abs()));
        for (i, (g, e)) in vals.iter().zip(w).enumerate() {
            if !close(*g, num(e), &dtype, scale) {
                return Err(format!("element {i}: {g} != expected {e}"));
            }
        }
    } else if let Some(s) = case["summary"].as_object() {
        let nan = vals.iter().filter(|x| x.is_nan()).count();
        if json!(nan) != s["nan_count"] {
            return Err(format!("{nan} NaN != expected {}", s["nan_count"]));
        }
        let fin: Vec<f64> = vals.iter().copied().filter(|x| !x.is_nan()).collect();
        let sum: f64 = fin.iter().sum();
        let scale = fin.iter().fold(0.0f64, |m, x| m.max(x.abs()));
        let tol_sum = if dtype == "float32" { 2e-5 } else { 1e-9 }
            * fin.iter().map(|x| x.abs()).sum::<f64>()
            + 1e-9;
        if (sum - num(&s["sum"])).abs() > tol_sum {
            return Err(format!("sum {sum} != expected {}", s["sum"]));
        }
        let mn = fin.iter().copied().fold(f64::INFINITY, f64::min);
        let mx = fin.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        if !close(mn, num(&s["min"]), &dtype, scale) || !close(mx, num(&s["max"]), &dtype, scale) {
            return Err(format!(
                "min/max {mn}/{mx} != expected {}/{}",
                s["min"], s["max"]
            ));
        }
        for pair in s["samples"].as_array().into_iter().flatten() {
            let i = pair[0].as_u64().unwrap_or(0) as usize;
            let g = vals.get(i).copied().unwrap_or(f64::NAN);
            if !close(g, num(&pair[1]), &dtype, scale) {
                return Err(format!("sample {i}: {g} != expected {}", pair[1]));
            }
        }
    } else {
        return Err("case has neither data nor summary".into());
    }
    Ok(())
}

#[test]
fn cf_cases_match_xarray() {
    let all = load();
    let client = tessera::Client::local(3).expect("client");
    let have_real = real_dir().join("eraint_uvz.nc").exists();
    if !have_real {
        eprintln!(
            "skipping real-file cases: {} not found (the ../shared/data/real files are optional)",
            real_dir().display()
        );
    }
    let mut failures = Vec::new();
    let mut ran = 0;
    for case in all["cases"].as_array().into_iter().flatten() {
        let name = case["name"].as_str().unwrap_or("?");
        if name.starts_with("real/") && !have_real {
            continue;
        }
        ran += 1;
        if let Err(e) = run(&client, case) {
            failures.push(format!(
                "{name}: {}\n    {e}",
                case["expr"].as_str().unwrap_or("")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {ran} cases differ from xarray:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn expected_errors_are_clear() {
    let all = load();
    for case in all["errors"].as_array().into_iter().flatten() {
        let expr = expr_of(case);
        let e = match evaluate(&expr, &Bindings::new()) {
            Ok(_) => panic!("{expr} should fail"),
            Err(e) => e.to_string(),
        };
        assert!(
            e.contains("martian") && e.contains("bad_calendar.nc"),
            "{e}"
        );
    }
}
