//! NetCDF/HDF5 through the real binary: `tessera info`, writing with `--to` and reading the
//! file back with the netCDF/HDF5 command-line tools (independent readers), slicing that
//! reads only the selected bytes, the same results under `mpirun -n 3`, and bad input
//! (missing, truncated or foreign files, missing variables, unsupported types, slices out
//! of bounds, unknown calendars): one clear line, non-zero exit, no panic, no hang.

mod common;

use common::{cf, mpirun_available, ok_json, tessera};
use std::path::{Path, PathBuf};
use std::process::Command;

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("tessera-io-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("scratch dir");
    d
}

fn num(v: &serde_json::Value) -> f64 {
    v.as_f64().unwrap_or_else(|| match v.as_str() {
        Some("inf") => f64::INFINITY,
        Some("-inf") => f64::NEG_INFINITY,
        _ => f64::NAN,
    })
}

/// Values of `var` as printed by `ncdump` (fill values, `_`, as NaN).
fn ncdump_values(file: &Path, var: &str) -> Vec<f64> {
    let out = Command::new("ncdump")
        .args(["-v", var, "-p", "9,17"])
        .arg(file)
        .output()
        .expect("ncdump (netcdf-bin) is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let data = text.split("data:").nth(1).expect("data section");
    let body = data
        .split(&format!(" {var} ="))
        .nth(1)
        .expect("variable values")
        .split(';')
        .next()
        .unwrap_or("");
    body.split(',')
        .map(|t| t.trim())
        .filter(|t| !t.is_empty())
        .map(|t| match t {
            "_" | "NaN" | "NaNf" | "nan" => f64::NAN,
            x => x.trim_end_matches('f').parse().expect("a number"),
        })
        .collect()
}

fn same(a: &[f64], b: &[f64]) {
    assert_eq!(a.len(), b.len());
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!(
            (x.is_nan() && y.is_nan()) || (x - y).abs() <= 1e-6 * y.abs().max(1.0),
            "element {i}: {x} vs {y}"
        );
    }
}

const ANOMALY: &str = "open(\"{f}\", \"tas\").groupby(\"time.month\") - open(\"{f}\", \"tas\").groupby(\"time.month\").mean()";

#[test]
fn netcdf_write_round_trips_through_ncdump() {
    let dir = scratch("nc");
    let expr = ANOMALY.replace("{f}", &cf("daily.nc"));
    let want = ok_json(&tessera(None, &["eval", &expr, "--json"]));
    let want: Vec<f64> = want["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(num)
        .collect();
    let mut runs: Vec<Option<usize>> = vec![None];
    if mpirun_available() {
        runs.push(Some(3));
    }
    for ranks in runs {
        let out = dir.join(format!("anom-{}.nc", ranks.unwrap_or(0)));
        let target = format!("{}:tas_anom", out.display());
        let o = tessera(ranks, &["eval", &expr, "--to", &target, "--deflate", "4"]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        same(&ncdump_values(&out, "tas_anom"), &want);
        // Dimensions named, coordinates and CF time carried over, compressed.
        let info = ok_json(&tessera(
            None,
            &["info", &out.display().to_string(), "--json"],
        ));
        let vars = info["variables"].as_array().expect("variables");
        let v = vars
            .iter()
            .find(|v| v["name"] == "tas_anom")
            .expect("tas_anom");
        assert_eq!(v["dims"], serde_json::json!(["time", "lat", "lon"]));
        assert!(v["filters"].to_string().contains("deflate(4)"), "{v}");
        let t = vars.iter().find(|v| v["name"] == "time").expect("time");
        assert_eq!(
            t["time_range"],
            serde_json::json!(["2012-01-01T00:00:00", "2014-12-31T00:00:00"])
        );
        assert!(vars.iter().any(|v| v["name"] == "lat"));
        // Nothing but the target is left in the directory.
        let names: Vec<String> = std::fs::read_dir(&dir)
            .expect("dir")
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.contains(".tmp")), "{names:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hdf5_write_round_trips_through_h5dump() {
    let dir = scratch("h5");
    let out = dir.join("x.h5");
    let target = format!("{}:/results/x", out.display());
    let expr = "arange(60.0, chunks=7).reshape((5, 12)) / 4 - 3";
    let o = tessera(None, &["eval", expr, "--to", &target]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let txt = dir.join("x.txt");
    let d = Command::new("h5dump")
        .args(["-d", "/results/x", "-y", "-o"])
        .arg(&txt)
        .arg(&out)
        .output()
        .expect("h5dump (hdf5-tools) is installed");
    assert!(d.status.success(), "{}", String::from_utf8_lossy(&d.stderr));
    let got: Vec<f64> = std::fs::read_to_string(&txt)
        .expect("h5dump output")
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .map(|t| t.parse().expect("number"))
        .collect();
    let want: Vec<f64> = (0..60).map(|k| k as f64 / 4.0 - 3.0).collect();
    same(&got, &want);
    // And Tessera reads it back by dataset path.
    let back = ok_json(&tessera(
        None,
        &[
            "eval",
            &format!("open(\"{}\", \"/results/x\").sum()", out.display()),
            "--json",
        ],
    ));
    assert!((num(&back["data"][0]) - want.iter().sum::<f64>()).abs() < 1e-9);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn writes_are_atomic_and_refuse_to_overwrite() {
    let dir = scratch("atomic");
    let out = dir.join("r.nc");
    let target = out.display().to_string();
    // A task fails mid-run: no file under the target name, no temporary left behind.
    let o = tessera(
        None,
        &["eval", "arange(6, chunks=2) ** -1", "--to", &target],
    );
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("failed on worker rank"));
    assert_eq!(
        std::fs::read_dir(&dir).expect("dir").count(),
        0,
        "left files behind"
    );
    // Existing files are refused unless --overwrite.
    assert!(
        tessera(None, &["eval", "ones(4, chunks=2)", "--to", &target])
            .status
            .success()
    );
    let o = tessera(None, &["eval", "zeros(4, chunks=2)", "--to", &target]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("already exists") && err.contains("r.nc"),
        "{err}"
    );
    assert_eq!(ncdump_values(&out, "data"), vec![1.0; 4]);
    let o = tessera(
        None,
        &["eval", "zeros(4, chunks=2)", "--to", &target, "--overwrite"],
    );
    assert!(o.status.success());
    assert_eq!(ncdump_values(&out, "data"), vec![0.0; 4]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_small_slice_of_a_large_file_reads_only_its_bytes() {
    let dir = scratch("slice");
    let big = dir.join("big.nc");
    // 64 x 200 x 300 float64 = 30.7 MB, written in blocks.
    let o = tessera(
        None,
        &[
            "eval",
            "random((64, 200, 300), chunks=(8, 100, 300), seed=3)",
            "--to",
            &format!("{}:v", big.display()),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let report = dir.join("report.json");
    let f = big.display().to_string();
    let expr = format!("open(\"{f}\", \"v\")[3:5, 10:20, ::10].sum()");
    let mut runs: Vec<Option<usize>> = vec![None];
    if mpirun_available() {
        runs.push(Some(3));
    }
    let mut results = Vec::new();
    for ranks in runs {
        let out = ok_json(&tessera(
            ranks,
            &[
                "eval",
                &expr,
                "--json",
                "--report",
                &report.display().to_string(),
            ],
        ));
        results.push(num(&out["data"][0]));
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
        // 2 x 10 x 30 elements of 8 bytes: only the selection is read.
        assert_eq!(r["bytes_read"], 2 * 10 * 30 * 8, "{r}");
        let per_worker: u64 = r["workers"]
            .as_array()
            .expect("workers")
            .iter()
            .map(|w| w["bytes_read"].as_u64().unwrap_or(0))
            .sum();
        assert_eq!(per_worker, 4800);
        assert_eq!(r["bytes_moved"], 0);
    }
    // The same values whatever the transport, and equal to slicing after reading.
    let whole = ok_json(&tessera(
        None,
        &[
            "eval",
            &format!("(open(\"{f}\", \"v\") + 0)[3:5, 10:20, ::10].sum()"),
            "--json",
        ],
    ));
    for r in &results {
        assert!((r - num(&whole["data"][0])).abs() < 1e-9);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn climatology_is_identical_under_mpirun() {
    if !mpirun_available() {
        panic!("mpirun not found");
    }
    let f = cf("daily.nc");
    let expr = format!(
        "open(\"{f}\", \"tas\", chunks=(100, 6, 8)).groupby(\"time.season\").std().sel(season=\"JJA\")"
    );
    let a = ok_json(&tessera(None, &["eval", &expr, "--json"]));
    let b = ok_json(&tessera(Some(3), &["eval", &expr, "--json"]));
    assert_eq!(a, b);
    assert_eq!(a["dims"], serde_json::json!(["lat", "lon"]));
}

#[test]
fn info_describes_variables_like_ncdump() {
    let o = tessera(None, &["info", &cf("daily.nc")]);
    assert!(o.status.success());
    let text = String::from_utf8_lossy(&o.stdout);
    for needle in [
        "time = UNLIMITED",
        "float32 tas(time, lat, lon)",
        "chunks [64, 6, 8]",
        "deflate(4)",
        "tas:_FillValue = 1e20f",
        "int16 pr(time, lat, lon)",
        "pr:scale_factor = 0.01",
        "time range: 2012-01-01T00:00:00 .. 2014-12-31T00:00:00",
    ] {
        assert!(text.contains(needle), "missing '{needle}' in:\n{text}");
    }
    let h = tessera(None, &["info", &cf("plain.h5"), "--json"]);
    let v = ok_json(&h);
    assert_eq!(v["format"], "HDF5");
    assert!(v["variables"].to_string().contains("/group/dataset"));
}

#[test]
fn bad_input_gives_one_clear_line() {
    let dir = scratch("bad");
    let truncated = dir.join("truncated.nc");
    let bytes = std::fs::read(cf("daily.nc")).expect("daily.nc");
    std::fs::write(&truncated, &bytes[..bytes.len() / 3]).expect("write");
    let text = dir.join("notes.nc");
    std::fs::write(&text, "just some text, not a NetCDF file\n").expect("write");
    let strings = dir.join("seasons.nc");
    let o = tessera(
        None,
        &[
            "eval",
            &format!(
                "open(\"{}\", \"tas\").groupby(\"time.season\").mean()",
                cf("daily.nc")
            ),
            "--to",
            &format!("{}:clim", strings.display()),
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let t = truncated.display().to_string();
    let x = text.display().to_string();
    let s = strings.display().to_string();
    let daily = cf("daily.nc");
    let cases: Vec<(String, Vec<&str>)> = vec![
        (
            format!("open(\"{}/nope.nc\", \"tas\")", dir.display()),
            vec!["nope.nc", "no such file"],
        ),
        (
            format!("open(\"{daily}\", \"air\")"),
            vec!["daily.nc", "no variable 'air'", "tas"],
        ),
        (
            format!("open(\"{t}\", \"tas\").mean()"),
            vec!["truncated.nc"],
        ),
        (
            format!("open(\"{x}\", \"tas\")"),
            vec!["notes.nc", "not a NetCDF or HDF5 file"],
        ),
        (
            format!("open(\"{s}\", \"season\")"),
            vec!["seasons.nc", "season", "cannot read"],
        ),
        (
            format!("open(\"{daily}\", \"tas\")[2000]"),
            vec!["out of bounds"],
        ),
        (
            format!("open(\"{daily}\", \"tas\").isel(lat=40)"),
            vec!["out of bounds"],
        ),
        (
            format!("open(\"{daily}\", \"tas\").sel(lat=1000)"),
            vec!["not found", "lat"],
        ),
        (
            format!("open(\"{}\", \"tas\")", cf("bad_calendar.nc")),
            vec!["bad_calendar.nc", "martian"],
        ),
        (
            format!("open(\"{}\", \"/group/missing\")", cf("plain.h5")),
            vec!["plain.h5", "/group/missing"],
        ),
    ];
    for ranks in [None, Some(3)] {
        if ranks.is_some() && !mpirun_available() {
            continue;
        }
        for (expr, needles) in &cases {
            let o = tessera(ranks, &["eval", expr]);
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(!o.status.success(), "{expr} should fail");
            assert!(!err.contains("panicked"), "{expr}: {err}");
            for n in needles {
                assert!(err.contains(n), "{expr}: '{n}' not in: {err}");
            }
            let lines = err.lines().filter(|l| l.contains("tessera: error")).count();
            assert_eq!(lines, 1, "{expr}: one error line expected: {err}");
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}
