//! The typed API in one page: `cargo run --release --example quickstart` (in-process), or
//! `mpirun -n 3 target/release/examples/quickstart` (rank 0 drives, ranks 1–2 compute).
//! Each result is checked against ndarray computing the same values on rank 0.

use ndarray::{ArrayD, Axis, IxDyn};
use tessera::prelude::*;

fn main() -> Result<()> {
    let client = Client::from_env()?; // Client::local(2)? for two in-process workers
    let x = tessera::random(&[4000, 4000], Chunks::uniform(&[1000, 1000]), 0)?;
    let y = tessera::arange(0.0, 4000.0, 1.0, Chunks::auto())?;
    let z = ((&x + 1.0)? * &y)?;
    let m = z.mean(Axes::from([0]))?;
    let s = z
        .slice(s![..10, ..200])?
        .reshape(&[40, 50])?
        .rechunk(Chunks::uniform(&[10, 50]))?
        .transpose(None)?;
    let v: ArrayD<f64> = client.compute_ndarray(&m)?;
    let t: f64 = client.compute_scalar(&z.sum(Axes::all())?)?;
    let p = client.persist(&x)?;
    let a = DArray::from_ndarray(ArrayD::<f32>::zeros(vec![6, 4]), Chunks::uniform(&[3, 4]))?;

    // The same numbers from ndarray, starting from x's values.
    let xv: ArrayD<f64> = client.compute_ndarray(&p)?;
    let yv = ndarray::Array1::from_iter((0..4000).map(f64::from)).into_dyn();
    let zv = (&xv + 1.0) * &yv;
    let near = |a: f64, b: f64| (a - b).abs() <= 1e-9 * (1.0 + b.abs());
    let mv = zv.mean_axis(Axis(0)).expect("4000 rows");
    assert!(
        v.iter().zip(mv.iter()).all(|(a, b)| near(*a, *b)),
        "mean over axis 0"
    );
    assert!(near(t, zv.sum()), "sum: {t} against {}", zv.sum());
    let sv = zv
        .slice(s![..10, ..200])
        .to_owned()
        .into_shape_with_order(IxDyn(&[40, 50]))
        .expect("reshape")
        .reversed_axes();
    let sc: ArrayD<f64> = client.compute_ndarray(&s)?;
    assert!(
        sc.iter().zip(sv.iter()).all(|(a, b)| near(*a, *b)),
        "slice, reshape, transpose"
    );
    assert_eq!(
        client.compute_ndarray::<f32>(&a)?,
        ArrayD::<f32>::zeros(vec![6, 4])
    );
    println!(
        "quickstart ({}, {} workers): sum {t:.6e}, mean of column 1 {:.6}, s {:?} — all equal to ndarray's",
        client.transport_kind(),
        client.workers(),
        v[[1]],
        sc.shape()
    );
    Ok(())
}
