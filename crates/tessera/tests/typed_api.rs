//! The typed API against ndarray computing the same values on the caller (an independent
//! evaluation: ndarray's own arithmetic, slicing and reductions).

use ndarray::{ArrayD, Axis, IxDyn};
use tessera::prelude::*;

fn close(a: &ArrayD<f64>, b: &ArrayD<f64>) -> bool {
    a.shape() == b.shape()
        && a.iter()
            .zip(b.iter())
            .all(|(x, y)| (x - y).abs() <= 1e-9 * (1.0 + y.abs()))
}

#[test]
fn the_issue_snippet_matches_ndarray() -> Result<()> {
    let client = Client::local(2)?;
    let x = tessera::random(&[400, 300], Chunks::uniform(&[100, 100]), 0)?;
    let y = tessera::arange(0.0, 300.0, 1.0, Chunks::auto())?;
    let z = ((&x + 1.0)? * &y)?;
    let m = z.mean(Axes::from([0]))?;
    let s = z
        .slice(s![..10, ..200])?
        .reshape(&[40, 50])?
        .rechunk(Chunks::uniform(&[10, 50]))?
        .transpose(None)?;
    // The oracle: x's values computed once, then everything else in ndarray.
    let xv: ArrayD<f64> = client.compute_ndarray(&x)?;
    let yv = ndarray::Array1::from_iter((0..300).map(|k| k as f64)).into_dyn();
    let zv = (&xv + 1.0) * &yv;
    let mv = zv.mean_axis(Axis(0)).expect("rows");
    let sv = zv
        .slice(s![..10, ..200])
        .to_owned()
        .into_shape_with_order(IxDyn(&[40, 50]))
        .expect("reshape")
        .reversed_axes();
    assert!(close(&client.compute_ndarray::<f64>(&m)?, &mv));
    assert!(close(&client.compute_ndarray::<f64>(&s)?, &sv));
    let t: f64 = client.compute_scalar(&z.sum(Axes::all())?)?;
    assert!((t - zv.sum()).abs() <= 1e-9 * zv.sum().abs());
    let p = client.persist(&x)?;
    assert!(close(&client.compute_ndarray::<f64>(&p)?, &xv));
    let a = DArray::from_ndarray(ArrayD::<f32>::zeros(vec![6, 4]), Chunks::uniform(&[3, 4]))?;
    assert_eq!(
        client.compute_ndarray::<f32>(&a)?,
        ArrayD::<f32>::zeros(vec![6, 4])
    );
    Ok(())
}

#[test]
fn negative_steps_mean_what_they_mean_in_ndarray() -> Result<()> {
    let client = Client::local(2)?;
    let data = ArrayD::from_shape_fn(IxDyn(&[9, 7]), |i| (i[0] * 10 + i[1]) as f64);
    let a = DArray::from_ndarray(data.clone(), Chunks::uniform(&[4, 3]))?;
    for (ours, theirs) in [
        (
            a.slice(s![1..6;-2, ..])?,
            data.slice(s![1..6;-2, ..]).to_owned().into_dyn(),
        ),
        (
            a.slice(s![..;-1, 2..;3])?,
            data.slice(s![..;-1, 2..;3]).to_owned().into_dyn(),
        ),
        (
            a.slice(s![-3.., -1])?,
            data.slice(s![-3.., -1]).to_owned().into_dyn(),
        ),
    ] {
        assert_eq!(client.compute_ndarray::<f64>(&ours)?, theirs);
    }
    Ok(())
}

#[test]
fn type_and_shape_mistakes_are_errors() -> Result<()> {
    let client = Client::local(1)?;
    let x = tessera::ones(&[4], Chunks::auto())?;
    let e = client
        .compute_ndarray::<f32>(&x)
        .expect_err("float64 is not f32");
    assert!(e.to_string().contains("astype"), "{e}");
    let e = client.compute_scalar::<f64>(&x).expect_err("not 0-d");
    assert!(e.to_string().contains("Axes::all()"), "{e}");
    assert!((&x + &tessera::ones(&[5], Chunks::auto())?).is_err());
    Ok(())
}
