//! Property tests: random shapes, chunkings, dtypes and operation chains evaluated by
//! Tessera equal a plain `ndarray` evaluation written independently here, and results do
//! not depend on the number of workers.

use ndarray::{ArrayD, Axis, IxDyn};
use proptest::prelude::*;
use tessera::expr::eval::{evaluate, into_array, Bindings};

thread_local! {
    static CLIENTS: (tessera::Client, tessera::Client) =
        (tessera::Client::local(1).expect("client"), tessera::Client::local(3).expect("client"));
}

#[derive(Debug, Clone)]
enum Step {
    AddScalar(i32),
    MulScalar(i32),
    Abs,
    Square,
    WhereGt(i32),
    Slice {
        axis: usize,
        start: Option<i32>,
        stop: Option<i32>,
        step: i32,
    },
    Index {
        axis: usize,
        i: i32,
    },
    Transpose,
    Rechunk(Vec<usize>),
    Reduce {
        func: usize,
        axis: Option<usize>,
    },
    Flatten,
}

/// Python's slice semantics, written out directly.
fn py_slice(len: usize, start: Option<i32>, stop: Option<i32>, step: i32) -> Vec<usize> {
    let n = len as i64;
    let step = step as i64;
    let norm = |v: i64| if v < 0 { v + n } else { v };
    let mut out = Vec::new();
    if step > 0 {
        let s = start.map(|v| norm(v as i64).clamp(0, n)).unwrap_or(0);
        let e = stop.map(|v| norm(v as i64).clamp(0, n)).unwrap_or(n);
        let mut i = s;
        while i < e {
            out.push(i as usize);
            i += step;
        }
    } else {
        let s = start
            .map(|v| norm(v as i64).clamp(-1, n - 1))
            .unwrap_or(n - 1);
        let e = stop.map(|v| norm(v as i64).clamp(-1, n - 1)).unwrap_or(-1);
        let mut i = s;
        while i > e {
            out.push(i as usize);
            i += step;
        }
    }
    out
}

fn fmt_opt(v: Option<i32>) -> String {
    v.map(|x| x.to_string()).unwrap_or_default()
}

const FUNCS: [&str; 4] = ["sum", "max", "min", "mean"];

/// Applies a step to the expression text and to the reference array; `None` when the step
/// does not apply to the current shape.
fn apply(step: &Step, expr: &str, x: &ArrayD<f64>) -> Option<(String, ArrayD<f64>)> {
    let nd = x.ndim();
    Some(match step {
        Step::AddScalar(c) => (format!("({expr} + {c})"), x.mapv(|v| v + *c as f64)),
        Step::MulScalar(c) => (format!("({expr} * {c})"), x.mapv(|v| v * *c as f64)),
        Step::Abs => (format!("abs({expr})"), x.mapv(f64::abs)),
        Step::Square => (format!("({expr} * {expr})"), x.mapv(|v| v * v)),
        Step::WhereGt(c) => (
            format!("where({expr} > {c}, {expr}, -{expr})"),
            x.mapv(|v| if v > *c as f64 { v } else { -v }),
        ),
        Step::Slice {
            axis,
            start,
            stop,
            step,
        } => {
            if nd == 0 {
                return None;
            }
            let a = axis % nd;
            let idx = py_slice(x.shape()[a], *start, *stop, *step);
            let mut items: Vec<String> = vec![":".into(); nd];
            items[a] = format!("{}:{}:{}", fmt_opt(*start), fmt_opt(*stop), step);
            (
                format!("{expr}[{}]", items.join(", ")),
                x.select(Axis(a), &idx),
            )
        }
        Step::Index { axis, i } => {
            if nd == 0 {
                return None;
            }
            let a = axis % nd;
            let len = x.shape()[a] as i32;
            if *i >= len || *i < -len {
                return None;
            }
            let p = if *i < 0 { i + len } else { *i } as usize;
            let mut items: Vec<String> = vec![":".into(); nd];
            items[a] = i.to_string();
            (
                format!("{expr}[{}]", items.join(", ")),
                x.index_axis(Axis(a), p).to_owned(),
            )
        }
        Step::Transpose => (format!("{expr}.T"), x.t().to_owned()),
        Step::Rechunk(c) => {
            if nd == 0 {
                return None;
            }
            let cs: Vec<String> = (0..nd).map(|a| c[a % c.len()].max(1).to_string()).collect();
            (format!("{expr}.rechunk(({},))", cs.join(", ")), x.clone())
        }
        Step::Reduce { func, axis } => {
            let f = FUNCS[func % FUNCS.len()];
            let empty = x.is_empty();
            match axis {
                None => {
                    if empty && f != "sum" {
                        return None;
                    }
                    let v = match f {
                        "sum" => x.sum(),
                        "max" => x.fold(f64::NEG_INFINITY, |a, &b| a.max(b)),
                        "min" => x.fold(f64::INFINITY, |a, &b| a.min(b)),
                        _ => x.sum() / x.len() as f64,
                    };
                    (format!("{expr}.{f}()"), ArrayD::from_elem(IxDyn(&[]), v))
                }
                Some(ax) => {
                    if nd == 0 {
                        return None;
                    }
                    let a = ax % nd;
                    if x.shape()[a] == 0 && f != "sum" {
                        return None;
                    }
                    let r = match f {
                        "sum" => x.sum_axis(Axis(a)),
                        "max" => x.fold_axis(Axis(a), f64::NEG_INFINITY, |acc, &b| acc.max(b)),
                        "min" => x.fold_axis(Axis(a), f64::INFINITY, |acc, &b| acc.min(b)),
                        _ => x.sum_axis(Axis(a)) / x.shape()[a] as f64,
                    };
                    (format!("{expr}.{f}(axis={a})"), r)
                }
            }
        }
        Step::Flatten => {
            let flat: Vec<f64> = x.iter().copied().collect();
            (
                format!("{expr}.reshape(-1)"),
                ArrayD::from_shape_vec(IxDyn(&[flat.len()]), flat).ok()?,
            )
        }
    })
}

fn step_strategy() -> impl Strategy<Value = Step> {
    prop_oneof![
        (-5i32..5).prop_map(Step::AddScalar),
        (-3i32..4).prop_map(Step::MulScalar),
        Just(Step::Abs),
        Just(Step::Square),
        (-3i32..3).prop_map(Step::WhereGt),
        (
            0usize..3,
            proptest::option::of(-9i32..9),
            proptest::option::of(-9i32..9),
            prop_oneof![-3i32..-1, 1i32..4]
        )
            .prop_map(|(axis, start, stop, step)| Step::Slice {
                axis,
                start,
                stop,
                step
            }),
        (0usize..3, -4i32..4).prop_map(|(axis, i)| Step::Index { axis, i }),
        Just(Step::Transpose),
        proptest::collection::vec(1usize..6, 1..4).prop_map(Step::Rechunk),
        (0usize..4, proptest::option::of(0usize..3))
            .prop_map(|(func, axis)| Step::Reduce { func, axis }),
        Just(Step::Flatten),
    ]
}

fn compute(client: &tessera::Client, expr: &str) -> (Vec<usize>, Vec<f64>) {
    let a = into_array(evaluate(expr, &Bindings::new()).unwrap_or_else(|e| panic!("{expr}: {e}")))
        .expect("array");
    let c = client.compute(&a).unwrap_or_else(|e| panic!("{expr}: {e}"));
    (c.shape.clone(), c.to_f64_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn random_expressions_match_ndarray(
        shape in proptest::collection::vec(1usize..7, 1..4),
        chunks in proptest::collection::vec(1usize..5, 3),
        dtype in prop_oneof![Just("float64"), Just("int64"), Just("int32"), Just("float32")],
        steps in proptest::collection::vec(step_strategy(), 1..5),
    ) {
        let n: usize = shape.iter().product();
        let shp: Vec<String> = shape.iter().map(|s| s.to_string()).collect();
        let ch: Vec<String> = (0..shape.len()).map(|a| chunks[a].to_string()).collect();
        let mut expr = format!("(arange({n}, dtype=\"{dtype}\").reshape(({},)) - {}).rechunk(({},))", shp.join(", "), n / 2, ch.join(", "));
        let mut reference = ArrayD::from_shape_vec(IxDyn(&shape), (0..n).map(|v| v as f64 - (n / 2) as f64).collect()).expect("shape");
        for s in &steps {
            if let Some((e, r)) = apply(s, &expr, &reference) {
                expr = e;
                reference = r;
            }
        }
        // Keep the float path exact enough for float32 inputs, whose values here are small integers.
        let ((shape1, v1), (shape3, v3)) = CLIENTS.with(|(c1, c3)| (compute(c1, &expr), compute(c3, &expr)));
        prop_assert_eq!(&shape1, &reference.shape().to_vec(), "{}", expr);
        prop_assert_eq!(&shape1, &shape3);
        // The same bits whatever the number of workers.
        prop_assert!(v1.iter().zip(&v3).all(|(a, b)| a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())), "{}", expr);
        for (i, (got, want)) in v1.iter().zip(reference.iter()).enumerate() {
            let ok = (got - want).abs() <= 1e-6 * want.abs().max(1.0);
            prop_assert!(ok, "{}: element {} = {} but ndarray gives {}", expr, i, got, want);
        }
    }
}
