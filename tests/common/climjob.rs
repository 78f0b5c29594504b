//! The climatology job the job and Slurm tests run, and checks of its outputs against
//! xarray's numbers (tests/oracle/cf_expected.json).

use super::cf;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The climatology job of jobs/climatology.toml on the small CF test file.
pub fn climatology_job(dir: &Path) -> PathBuf {
    let job = dir.join("clim.toml");
    let text = format!(
        r#"
[job]
name = "clim-test"

[inputs.tas]
file = "{daily}"
variable = "tas"
chunks = {{ time = 200 }}

[arrays]
anom = 'tas.groupby("time.month") - clim'
clim = 'tas.groupby("time.month").mean()'
series = 'tas.weighted(cos(radians(tas.lat))).mean(("lat", "lon"))'
unused = 'tas * 2'

[[outputs]]
array = "clim"
file = "out/clim.nc"
variable = "tas_clim"

[[outputs]]
array = "anom"
file = "out/anom.nc"
deflate = 4

[[outputs]]
array = "series"
format = "json"
"#,
        daily = cf("daily.nc")
    );
    std::fs::write(&job, text).expect("job file");
    job
}

pub fn oracle_case(name: &str) -> Value {
    let text = std::fs::read_to_string(super::oracle_dir().join("cf_expected.json"))
        .expect("cf_expected.json");
    let all: Value = serde_json::from_str(&text).expect("json");
    all["cases"]
        .as_array()
        .and_then(|v| v.iter().find(|c| c["name"] == name).cloned())
        .unwrap_or_else(|| panic!("oracle case {name}"))
}

fn read_f32(path: &Path, var: &str) -> Vec<f32> {
    hdf5::silence_errors(true);
    let f = netcdf::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v = f
        .variable(var)
        .unwrap_or_else(|| panic!("{}: no {var}", path.display()));
    v.get_values::<f32, _>(..).expect("values")
}

/// Values equal xarray's summary (size, sum, min, max and sampled elements).
fn assert_matches_summary(got: &[f32], case: &Value) {
    let s = &case["summary"];
    assert_eq!(got.len() as u64, s["size"].as_u64().expect("size"));
    // xarray's summary skips NaN (masked fill values) and counts them apart.
    let nans = got.iter().filter(|v| v.is_nan()).count() as u64;
    assert_eq!(
        nans,
        s["nan_count"].as_u64().unwrap_or(0),
        "{}",
        case["name"]
    );
    let finite = || got.iter().filter(|v| !v.is_nan()).map(|&v| v as f64);
    let sum: f64 = finite().sum();
    let want = s["sum"].as_f64().expect("sum");
    let scale = finite().map(f64::abs).sum::<f64>();
    assert!(
        (sum - want).abs() <= 2e-5 * scale + 1e-3,
        "{}: sum {sum} vs xarray {want}",
        case["name"]
    );
    for pair in s["samples"].as_array().expect("samples") {
        let i = pair[0].as_u64().expect("index") as usize;
        let g = got[i] as f64;
        let Some(w) = pair[1].as_f64() else {
            assert!(
                g.is_nan(),
                "{}: element {i}: {g} vs xarray NaN",
                case["name"]
            );
            continue;
        };
        assert!(
            (g - w).abs() <= 2e-5 * w.abs().max(1.0) + 5e-5,
            "{}: element {i}: {g} vs xarray {w}",
            case["name"]
        );
    }
}

pub fn check_climatology_outputs(dir: &Path, printed: &str) {
    assert_matches_summary(
        &read_f32(&dir.join("out/clim.nc"), "tas_clim"),
        &oracle_case("daily/tas_gb_month_mean"),
    );
    assert_matches_summary(
        &read_f32(&dir.join("out/anom.nc"), "anom"),
        &oracle_case("daily/tas_anom_month"),
    );
    let line = printed
        .lines()
        .find(|l| l.starts_with('{'))
        .expect("a JSON line");
    let got: Value = serde_json::from_str(line).expect("json output");
    let want = oracle_case("daily/tas_weighted_mean");
    let (g, w) = (
        got["data"].as_array().expect("data"),
        want["data"].as_array().expect("data"),
    );
    assert_eq!(g.len(), w.len());
    for (a, b) in g.iter().zip(w) {
        let (a, b) = (
            a.as_f64().unwrap_or(f64::NAN),
            b.as_f64().unwrap_or(f64::NAN),
        );
        if a.is_nan() || b.is_nan() {
            assert!(a.is_nan() && b.is_nan(), "{a} vs {b}");
            continue;
        }
        assert!((a - b).abs() <= 2e-5 * b.abs() + 5e-5, "{a} vs {b}");
    }
}
