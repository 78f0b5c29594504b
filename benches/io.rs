//! Read throughput of a multi-GB NetCDF-4 file: Tessera (`open(f, v).sum()`, each worker
//! reading its own blocks) beside the raw HDF5 C library reading the same dataset
//! sequentially, chunk row by chunk row, in the same run (the disk/library limit).
//!
//! `cargo bench --bench io [-- FILE VAR]` in-process; the executable under `mpirun -n 3`
//! for two MPI workers reading in parallel. Without a file, one is written first
//! (`TESSERA_BENCH_DIR`, default `/tmp`): 2000 x 360 x 720 float32 (2.07 GB), chunks of
//! (73, 90, 180) like the peer's climate file. Both readers run twice; the figures are from
//! the second (warm page cache) pass, so they measure the library and memory path, not the
//! disk.

use std::path::PathBuf;
use std::time::Instant;
use tessera::expr::eval::{evaluate, into_array, Bindings};
use tessera::{start, ClientOptions, Started};

fn ensure_file() -> (PathBuf, String) {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    if args.len() >= 2 {
        return (PathBuf::from(&args[0]), args[1].clone());
    }
    let dir = std::env::var("TESSERA_BENCH_DIR").unwrap_or_else(|_| "/tmp".into());
    let path = PathBuf::from(dir).join("tessera-bench-read.nc");
    if !path.exists() {
        eprintln!("writing {} (2.07 GB) ...", path.display());
        let client = tessera::Client::local(2).expect("client");
        let a = into_array(
            evaluate(
                "random((2000, 360, 720), chunks=(73, 360, 720), seed=1).astype(\"float32\")",
                &Bindings::new(),
            )
            .expect("expr"),
        )
        .expect("array");
        let dims = vec!["time".into(), "lat".into(), "lon".into()];
        let da = tessera::labeled::DataArray::new(a, dims, vec![]).expect("labels");
        tessera::labeled::write::write(&client, &da, &path, "tas", &Default::default())
            .expect("write");
    }
    (path, "tas".into())
}

/// The raw C library: the whole dataset read sequentially, one row of on-disk chunks along
/// the first axis at a time, into one reused buffer.
fn raw_hdf5(path: &PathBuf, var: &str) -> (f64, u64) {
    let f = hdf5::File::open(path).expect("open with HDF5");
    let d = f.dataset(var).expect("dataset");
    let shape = d.shape();
    let step = d.chunk().map_or(1, |c| c[0]).max(1);
    let t = Instant::now();
    let mut bytes = 0u64;
    let mut checksum = 0f64;
    let mut start = 0;
    while start < shape[0] {
        let n = step.min(shape[0] - start);
        let a: ndarray::ArrayD<f32> = d
            .read_slice(ndarray::s![start..start + n, .., ..])
            .expect("read");
        bytes += (a.len() * 4) as u64;
        checksum += a.iter().take(16).map(|&x| x as f64).sum::<f64>();
        start += n;
    }
    std::hint::black_box(checksum);
    (t.elapsed().as_secs_f64(), bytes)
}

fn main() {
    let started = match start(&ClientOptions {
        workers: 2,
        ..Default::default()
    })
    .expect("start")
    {
        Started::Client(c) => c,
        Started::WorkerFinished => return,
    };
    let client = started;
    let (path, var) = ensure_file();
    let expr = format!("open(\"{}\", \"{var}\").sum()", path.display());
    let arr = into_array(evaluate(&expr, &Bindings::new()).expect("expr")).expect("array");
    let mut raw = (0.0, 0);
    let mut ours = (0.0, 0u64);
    for _pass in 0..2 {
        raw = raw_hdf5(&path, &var);
        let t = Instant::now();
        client.compute(&arr).expect("compute");
        let secs = t.elapsed().as_secs_f64();
        let read = client.last_report().map_or(0, |r| r.bytes_read);
        ours = (secs, read);
    }
    let gbs = |(s, b): (f64, u64)| b as f64 / s / 1e9;
    println!(
        "read {} ({:.2} GB), transport {}, {} workers",
        path.display(),
        ours.1 as f64 / 1e9,
        client.transport_kind(),
        client.workers()
    );
    println!(
        "  raw HDF5 C library, sequential (reference): {:.3} s, {:.2} GB/s",
        raw.0,
        gbs(raw)
    );
    println!(
        "  tessera open(...).sum():                    {:.3} s, {:.2} GB/s ({:.2}x the reference)",
        ours.0,
        gbs(ours),
        gbs(ours) / gbs(raw)
    );
}
