//! From syntax tree to lazy arrays. Nothing is computed here: every function builds graph
//! nodes, and every error is reported with the span of the call or operator that caused
//! it, before any work starts.

use super::ast::{BinOp, Expr, ExprKind, IndexItem, Kwarg, Span, UnaryOp};
use super::labeled::{is_labeled, LABELED_FUNCTIONS};
use super::parser::{parse, ParseError};
use crate::array::api::{self, scalar_array, Operand, PyScalar};
use crate::array::chunk::Chunk;
use crate::array::chunks::{AxisSpec, ChunkSpec};
use crate::array::dtype::{DType, ScalarKind};
use crate::array::elementwise::UFunc;
use crate::array::graph::{DArray, Generator};
use crate::array::slicing::Index;
use crate::error::{Error, Result};
use crate::labeled::groupby::GroupBy;
use crate::labeled::DataArray;
use std::collections::HashMap;
use std::path::Path;

/// Names bound to values (from `--open`, job inputs, earlier job arrays).
pub type Bindings = HashMap<String, Value>;

/// A value during evaluation.
#[derive(Debug, Clone)]
pub enum Value {
    /// A lazy array.
    Array(DArray),
    /// A Python scalar.
    Scalar(PyScalar),
    /// A string.
    Str(String),
    /// A tuple or list.
    Seq(Vec<Value>),
    /// `{k: v}`
    Dict(Vec<(Value, Value)>),
    /// `None`
    None,
    /// A function name.
    Func(String),
    /// A bound method.
    Method(Box<Value>, String),
    /// An array with named dimensions and coordinates.
    Labeled(DataArray),
    /// `x.groupby(key)`.
    GroupBy(Box<GroupBy>),
    /// `x.weighted(w)`: the array and the weights.
    Weighted(Box<(DataArray, DataArray)>),
    /// `slice(start, stop, step)`, for `sel`/`isel`.
    SliceObj(Vec<Value>),
}

const FUNCTIONS: &[&str] = &[
    "zeros",
    "ones",
    "full",
    "arange",
    "linspace",
    "random",
    "where",
    "maximum",
    "minimum",
    "concatenate",
    "stack",
    "transpose",
    "swapaxes",
    "reshape",
    "sum",
    "mean",
    "min",
    "max",
    "std",
    "var",
    "prod",
    "any",
    "all",
    "nansum",
    "nanmean",
    "nanmin",
    "nanmax",
    "nanprod",
    "nanstd",
    "nanvar",
    "amin",
    "amax",
    "asarray",
    "array",
];
const REDUCTIONS: &[&str] = &[
    "sum", "mean", "min", "max", "std", "var", "prod", "any", "all", "nansum", "nanmean", "nanmin",
    "nanmax", "nanprod", "nanstd", "nanvar", "amin", "amax",
];

/// A positioned error message, rendered with a caret under the source.
fn err(src: &str, span: Span, msg: impl Into<String>) -> Error {
    Error::Expr(
        ParseError {
            span,
            message: msg.into(),
        }
        .render(src),
    )
}

/// Parses and evaluates `src`.
pub fn evaluate(src: &str, bindings: &Bindings) -> Result<Value> {
    evaluate_in(src, bindings, None)
}

/// Parses and evaluates `src`, resolving relative paths given to `open()` against
/// `base_dir` (a job file's directory) instead of the working directory.
pub fn evaluate_in(src: &str, bindings: &Bindings, base_dir: Option<&Path>) -> Result<Value> {
    let e = parse(src).map_err(|pe| Error::Expr(pe.render(src)))?;
    Ev {
        src,
        bindings,
        base_dir,
    }
    .eval(&e)
}

/// Whether `n` means something without being bound: a function, a constant or a dtype
/// name. A job array with such a name would hide it.
pub fn is_builtin_name(n: &str) -> bool {
    matches!(
        n,
        "nan" | "NaN" | "NAN" | "inf" | "Inf" | "infty" | "pi" | "e" | "newaxis"
    ) || (DType::parse(n).is_some() && n.len() > 2)
        || FUNCTIONS.contains(&n)
        || LABELED_FUNCTIONS.contains(&n)
        || UFunc::by_name(n).is_some()
}

/// Turns a final value into an array: scalars become 0-d arrays, tuples of ints 1-d.
pub fn into_array(v: Value) -> Result<DArray> {
    match v {
        Value::Array(a) => Ok(a),
        Value::Labeled(d) => Ok(d.data),
        Value::Scalar(s) => Ok(scalar_array(s)),
        Value::Seq(items) => {
            let ints: Option<Vec<i64>> = items
                .iter()
                .map(|v| match v {
                    Value::Scalar(s) if s.kind != ScalarKind::Float => Some(s.i as i64),
                    _ => None,
                })
                .collect();
            let ints = ints.ok_or_else(|| {
                Error::Expr("the expression's result is a sequence that is not all integers".into())
            })?;
            let c = Chunk::from_slice::<i64>(DType::I64, &[ints.len()], &ints);
            Ok(api::from_local(c, &ChunkSpec::Auto)?)
        }
        other => Err(Error::Expr(format!(
            "the expression's result is not an array: {}",
            describe(&other)
        ))),
    }
}

pub(super) fn describe(v: &Value) -> String {
    match v {
        Value::Array(a) => format!("array of shape {:?}", a.shape()),
        Value::Scalar(_) => "a number".into(),
        Value::Str(s) => format!("the string '{s}'"),
        Value::Seq(_) => "a tuple/list".into(),
        Value::Dict(_) => "a dict".into(),
        Value::None => "None".into(),
        Value::Func(f) => format!("the function '{f}'"),
        Value::Method(_, m) => format!("the method '{m}'"),
        Value::Labeled(d) => format!(
            "array of shape {:?} with dimensions ({})",
            d.data.shape(),
            d.dims.join(", ")
        ),
        Value::GroupBy(g) => format!("a groupby over '{}.{}'", g.dim, g.name),
        Value::Weighted(_) => "a weighted array".into(),
        Value::SliceObj(_) => "a slice".into(),
    }
}

pub(super) struct Ev<'a> {
    pub(super) src: &'a str,
    pub(super) bindings: &'a Bindings,
    /// Where relative `open()` paths start (`None`: the working directory).
    pub(super) base_dir: Option<&'a Path>,
}

pub(super) struct Args {
    pub(super) pos: Vec<(Value, Span)>,
    pub(super) kw: Vec<(String, Value, Span)>,
    pub(super) span: Span,
    pub(super) name: String,
}

impl<'a> Ev<'a> {
    pub(super) fn e(&self, span: Span, msg: impl Into<String>) -> Error {
        err(self.src, span, msg)
    }

    pub(super) fn at<T>(
        &self,
        span: Span,
        r: std::result::Result<T, crate::array::ArrayError>,
    ) -> Result<T> {
        r.map_err(|e| self.e(span, e.to_string()))
    }

    pub(super) fn eval(&self, e: &Expr) -> Result<Value> {
        let sp = e.span;
        Ok(match &e.kind {
            ExprKind::Int(i) => Value::Scalar(PyScalar::int(*i as i128)),
            ExprKind::Float(f) => Value::Scalar(PyScalar::float(*f)),
            ExprKind::Bool(b) => Value::Scalar(PyScalar::boolean(*b)),
            ExprKind::NoneLit => Value::None,
            ExprKind::Str(s) => Value::Str(s.clone()),
            ExprKind::Name(n) => self.name(n, sp)?,
            ExprKind::Tuple(items) | ExprKind::List(items) => {
                Value::Seq(items.iter().map(|x| self.eval(x)).collect::<Result<_>>()?)
            }
            ExprKind::Dict(pairs) => Value::Dict(
                pairs
                    .iter()
                    .map(|(k, v)| Ok((self.eval(k)?, self.eval(v)?)))
                    .collect::<Result<_>>()?,
            ),
            ExprKind::Unary { op, operand } => {
                let v = self.eval(operand)?;
                self.unary(*op, v, sp)?
            }
            ExprKind::Binary { op, lhs, rhs } => {
                let a = self.eval(lhs)?;
                let b = self.eval(rhs)?;
                self.binary(*op, a, b, sp)?
            }
            ExprKind::Chain { first, rest } => {
                // Left to right with a loop: a sum of any length needs no deep recursion.
                let mut acc = self.eval(first)?;
                for link in rest {
                    let b = self.eval(&link.rhs)?;
                    acc = self.binary(link.op, acc, b, first.span.to(link.rhs.span))?;
                }
                acc
            }
            ExprKind::Attr {
                value,
                name,
                name_span,
            } => {
                let v = self.eval(value)?;
                self.attr(v, name, *name_span)?
            }
            ExprKind::Index { value, items } => {
                let v = self.eval(value)?;
                self.index(v, items, sp)?
            }
            ExprKind::Call { func, args, kwargs } => {
                let f = self.eval(func)?;
                let args = self.args(args, kwargs, sp, &f)?;
                self.call(f, args)?
            }
        })
    }

    pub(super) fn name(&self, n: &str, sp: Span) -> Result<Value> {
        if let Some(v) = self.bindings.get(n) {
            return Ok(v.clone());
        }
        Ok(match n {
            "nan" | "NaN" | "NAN" => Value::Scalar(PyScalar::float(f64::NAN)),
            "inf" | "Inf" | "infty" => Value::Scalar(PyScalar::float(f64::INFINITY)),
            "pi" => Value::Scalar(PyScalar::float(std::f64::consts::PI)),
            "e" => Value::Scalar(PyScalar::float(std::f64::consts::E)),
            "newaxis" => Value::None,
            _ if DType::parse(n).is_some() && n.len() > 2 => Value::Str(n.to_string()),
            _ if FUNCTIONS.contains(&n)
                || LABELED_FUNCTIONS.contains(&n)
                || UFunc::by_name(n).is_some() =>
            {
                Value::Func(n.to_string())
            }
            _ => {
                let mut known: Vec<&String> = self.bindings.keys().collect();
                known.sort();
                let hint = if known.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (bound arrays: {})",
                        known
                            .iter()
                            .map(|s| s.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                };
                let n = crate::quote::quote(n);
                return Err(self.e(sp, format!("name {n} is not defined{hint}")));
            }
        })
    }

    pub(super) fn operand(&self, v: Value, sp: Span) -> Result<Operand> {
        match v {
            Value::Array(a) => Ok(Operand::Array(a)),
            Value::Scalar(s) => Ok(Operand::Scalar(s)),
            other => Err(self.e(
                sp,
                format!("expected an array or a number, got {}", describe(&other)),
            )),
        }
    }

    pub(super) fn unary(&self, op: UnaryOp, v: Value, sp: Span) -> Result<Value> {
        match (op, v) {
            (UnaryOp::Pos, v @ (Value::Array(_) | Value::Scalar(_))) => Ok(v),
            (UnaryOp::Neg, Value::Scalar(s)) => Ok(Value::Scalar(match s.kind {
                ScalarKind::Float => PyScalar::float(-s.f),
                _ => PyScalar::int(-s.i),
            })),
            (UnaryOp::Invert, Value::Scalar(s)) => Ok(Value::Scalar(match s.kind {
                ScalarKind::Bool => PyScalar::boolean(s.i == 0),
                ScalarKind::Int => PyScalar::int(!s.i),
                ScalarKind::Float => {
                    return Err(self.e(sp, "bad operand type for unary ~: 'float'"))
                }
            })),
            (op, Value::Labeled(d)) => {
                let f = if op == UnaryOp::Neg {
                    UFunc::Neg
                } else {
                    UFunc::Invert
                };
                Ok(Value::Labeled(self.at(sp, d.unary(f))?))
            }
            (op, Value::Array(a)) => {
                let f = if op == UnaryOp::Neg {
                    UFunc::Neg
                } else {
                    UFunc::Invert
                };
                Ok(Value::Array(self.at(sp, a.unary(f))?))
            }
            (_, other) => Err(self.e(
                sp,
                format!("bad operand for a unary operator: {}", describe(&other)),
            )),
        }
    }

    pub(super) fn binary(&self, op: BinOp, a: Value, b: Value, sp: Span) -> Result<Value> {
        if let (Value::Scalar(x), Value::Scalar(y)) = (&a, &b) {
            return self.fold(op, *x, *y, sp).map(Value::Scalar);
        }
        if is_labeled(&a) || is_labeled(&b) {
            return self.labeled_binary(op, a, b, sp);
        }
        let (a, b) = (self.operand(a, sp)?, self.operand(b, sp)?);
        Ok(Value::Array(self.at(sp, api::binary(op, &a, &b))?))
    }

    /// Python semantics for operators between two scalars.
    pub(super) fn fold(&self, op: BinOp, x: PyScalar, y: PyScalar, sp: Span) -> Result<PyScalar> {
        let float = x.kind == ScalarKind::Float || y.kind == ScalarKind::Float;
        let both_bool = x.kind == ScalarKind::Bool && y.kind == ScalarKind::Bool;
        let cmp = |r: bool| Ok(PyScalar::boolean(r));
        let (a, b) = (x.f, y.f);
        match op {
            BinOp::Eq => return cmp(if float { a == b } else { x.i == y.i }),
            BinOp::Ne => return cmp(if float { a != b } else { x.i != y.i }),
            BinOp::Lt => return cmp(if float { a < b } else { x.i < y.i }),
            BinOp::Le => return cmp(if float { a <= b } else { x.i <= y.i }),
            BinOp::Gt => return cmp(if float { a > b } else { x.i > y.i }),
            BinOp::Ge => return cmp(if float { a >= b } else { x.i >= y.i }),
            BinOp::And | BinOp::Or | BinOp::Xor => {
                if float {
                    return Err(self.e(
                        sp,
                        format!("unsupported operand type(s) for {}: 'float'", op.symbol()),
                    ));
                }
                let r = match op {
                    BinOp::And => x.i & y.i,
                    BinOp::Or => x.i | y.i,
                    _ => x.i ^ y.i,
                };
                return Ok(if both_bool {
                    PyScalar::boolean(r != 0)
                } else {
                    PyScalar::int(r)
                });
            }
            _ => {}
        }
        if float {
            let r = match op {
                BinOp::Add => a + b,
                BinOp::Sub => a - b,
                BinOp::Mul => a * b,
                BinOp::Div | BinOp::FloorDiv | BinOp::Mod if b == 0.0 => {
                    return Err(self.e(sp, "division by zero"))
                }
                BinOp::Div => a / b,
                BinOp::FloorDiv => crate::array::elementwise::py_divmod(a, b).0,
                BinOp::Mod => crate::array::elementwise::py_divmod(a, b).1,
                _ => a.powf(b),
            };
            return Ok(PyScalar::float(r));
        }
        let (i, j) = (x.i, y.i);
        let overflow = || self.e(sp, "integer result too large");
        Ok(match op {
            BinOp::Add => PyScalar::int(i.checked_add(j).ok_or_else(overflow)?),
            BinOp::Sub => PyScalar::int(i.checked_sub(j).ok_or_else(overflow)?),
            BinOp::Mul => PyScalar::int(i.checked_mul(j).ok_or_else(overflow)?),
            BinOp::Div => {
                if j == 0 {
                    return Err(self.e(sp, "division by zero"));
                }
                PyScalar::float(i as f64 / j as f64)
            }
            BinOp::FloorDiv | BinOp::Mod => {
                if j == 0 {
                    return Err(self.e(sp, "integer division or modulo by zero"));
                }
                let q = i.div_euclid(j);
                let (q, r) = if j > 0 {
                    (q, i.rem_euclid(j))
                } else {
                    let q = (i as f64 / j as f64).floor() as i128;
                    (q, i - q * j)
                };
                PyScalar::int(if op == BinOp::FloorDiv { q } else { r })
            }
            _ => {
                if j < 0 {
                    PyScalar::float((i as f64).powf(j as f64))
                } else {
                    let e = u32::try_from(j).map_err(|_| overflow())?;
                    PyScalar::int(i.checked_pow(e).ok_or_else(overflow)?)
                }
            }
        })
    }

    pub(super) fn attr(&self, v: Value, name: &str, sp: Span) -> Result<Value> {
        let v = match v {
            Value::Array(a) => Value::Array(a),
            other => return self.labeled_attr(other, name, sp),
        };
        let Value::Array(a) = v else {
            return Err(self.e(sp, format!("{} has no attribute '{name}'", describe(&v))));
        };
        let ints = |xs: Vec<usize>| {
            Value::Seq(
                xs.into_iter()
                    .map(|x| Value::Scalar(PyScalar::int(x as i128)))
                    .collect(),
            )
        };
        Ok(match name {
            "T" => Value::Array(self.at(sp, a.transpose(None))?),
            "shape" => ints(a.shape()),
            "ndim" => Value::Scalar(PyScalar::int(a.ndim() as i128)),
            "size" => Value::Scalar(PyScalar::int(a.size() as i128)),
            "nbytes" => Value::Scalar(PyScalar::int(a.nbytes() as i128)),
            "dtype" => Value::Str(a.dtype().name().to_string()),
            "chunks" => Value::Seq(
                a.chunks()
                    .iter()
                    .map(|c| self.at(sp, c.to_vec_limited("x.chunks")).map(ints))
                    .collect::<Result<_>>()?,
            ),
            "astype" | "rechunk" | "reshape" | "transpose" | "swapaxes" => {
                Value::Method(Box::new(Value::Array(a)), name.to_string())
            }
            m if REDUCTIONS.contains(&m) => {
                Value::Method(Box::new(Value::Array(a)), name.to_string())
            }
            _ => return Err(self.e(sp, format!("array has no attribute '{name}'"))),
        })
    }

    pub(super) fn int_of(&self, v: &Value, sp: Span, what: &str) -> Result<i64> {
        match v {
            Value::Scalar(s) if s.kind != ScalarKind::Float => {
                i64::try_from(s.i).map_err(|_| self.e(sp, format!("{what} is too large")))
            }
            other => Err(self.e(
                sp,
                format!("{what} must be an integer, got {}", describe(other)),
            )),
        }
    }

    pub(super) fn index(&self, v: Value, items: &[IndexItem], sp: Span) -> Result<Value> {
        match &v {
            Value::Seq(xs) => {
                let [IndexItem::Expr(e)] = items else {
                    return Err(self.e(sp, "only single integer indices are supported on tuples"));
                };
                let i = self.int_of(&self.eval(e)?, e.span, "a tuple index")?;
                let n = xs.len() as i64;
                let k = if i < 0 { i + n } else { i };
                xs.get(k as usize)
                    .filter(|_| k >= 0)
                    .cloned()
                    .ok_or_else(|| self.e(e.span, "tuple index out of range"))
            }
            Value::Array(_) | Value::Labeled(_) => {
                let mut idx = Vec::new();
                for it in items {
                    idx.push(match it {
                        IndexItem::Ellipsis(_) => Index::Ellipsis,
                        IndexItem::Expr(e) => match self.eval(e)? {
                            Value::None => Index::NewAxis,
                            Value::Scalar(s) if s.kind != ScalarKind::Float => Index::Int(s.i as i64),
                            other => {
                                return Err(self.e(
                                    e.span,
                                    format!("only integers, slices (`:`), ellipsis (`...`) and None are valid indices, got {}", describe(&other)),
                                ))
                            }
                        },
                        IndexItem::Slice { start, stop, step, .. } => {
                            let part = |p: &Option<Expr>| -> Result<Option<i64>> {
                                match p {
                                    None => Ok(None),
                                    Some(e) => match self.eval(e)? {
                                        Value::None => Ok(None),
                                        v => Ok(Some(self.int_of(&v, e.span, "a slice bound")?)),
                                    },
                                }
                            };
                            Index::Slice(part(start)?, part(stop)?, part(step)?)
                        }
                    });
                }
                match v {
                    Value::Labeled(d) => Ok(Value::Labeled(self.at(sp, d.getitem(&idx))?)),
                    Value::Array(a) => Ok(Value::Array(self.at(sp, a.getitem(&idx))?)),
                    _ => Err(self.e(sp, "internal: indexing")),
                }
            }
            other => Err(self.e(sp, format!("{} cannot be indexed", describe(other)))),
        }
    }

    pub(super) fn args(
        &self,
        args: &[Expr],
        kwargs: &[Kwarg],
        span: Span,
        f: &Value,
    ) -> Result<Args> {
        let name = match f {
            Value::Func(n) | Value::Method(_, n) => n.clone(),
            other => return Err(self.e(span, format!("{} is not callable", describe(other)))),
        };
        Ok(Args {
            pos: args
                .iter()
                .map(|a| Ok((self.eval(a)?, a.span)))
                .collect::<Result<_>>()?,
            kw: kwargs
                .iter()
                .map(|k| Ok((k.name.clone(), self.eval(&k.value)?, k.name_span)))
                .collect::<Result<_>>()?,
            span,
            name,
        })
    }

    pub(super) fn call(&self, f: Value, mut a: Args) -> Result<Value> {
        match f {
            Value::Method(recv, m) => match *recv {
                Value::Array(arr) => {
                    a.pos.insert(0, (Value::Array(arr), a.span));
                    self.function(&m, a)
                }
                other => self.labeled_method(other, &m, a),
            },
            Value::Func(n) => self.function(&n, a),
            other => Err(self.e(a.span, format!("{} is not callable", describe(&other)))),
        }
    }

    pub(super) fn function(&self, name: &str, mut a: Args) -> Result<Value> {
        if let Some(v) = self.labeled_function(name, &mut a)? {
            return Ok(v);
        }
        let sp = a.span;
        let allowed: &[&str] = match name {
            "zeros" | "ones" => &["shape", "dtype", "chunks"],
            "full" => &["shape", "fill_value", "dtype", "chunks"],
            "arange" => &["start", "stop", "step", "dtype", "chunks"],
            "linspace" => &["start", "stop", "num", "endpoint", "dtype", "chunks"],
            "random" => &["shape", "chunks", "seed", "size"],
            "concatenate" | "stack" => &["axis"],
            "astype" => &["dtype"],
            "rechunk" => &["chunks"],
            "reshape" => &["shape"],
            "transpose" => &["axes"],
            "asarray" | "array" => &["chunks", "dtype"],
            n if REDUCTIONS.contains(&n) => &["axis", "keepdims", "ddof"],
            _ => &[],
        };
        for (k, _, ks) in &a.kw {
            if !allowed.contains(&k.as_str()) {
                let valid = if allowed.is_empty() {
                    "it takes no keyword arguments".to_string()
                } else {
                    format!("expected one of: {}", allowed.join(", "))
                };
                return Err(self.e(
                    *ks,
                    format!(
                        "{}() got an unexpected keyword argument '{k}'; {valid}",
                        a.name
                    ),
                ));
            }
        }
        match name {
            "zeros" | "ones" | "full" => {
                let shape = self.shape_arg(&mut a, "shape")?;
                let fill = match name {
                    "zeros" => PyScalar::int(0),
                    "ones" => PyScalar::int(1),
                    _ => match self.take(&mut a, "fill_value") {
                        Some((Value::Scalar(s), _)) => s,
                        Some((v, s)) => {
                            return Err(self.e(
                                s,
                                format!("full() fill_value must be a number, got {}", describe(&v)),
                            ))
                        }
                        None => {
                            return Err(self.e(sp, "full() missing required argument 'fill_value'"))
                        }
                    },
                };
                let default = if name == "full" {
                    DType::of_scalar(fill.kind)
                } else {
                    DType::F64
                };
                let dtype = self.dtype_arg(&mut a, default)?;
                if let (ScalarKind::Int, Some((lo, hi))) = (fill.kind, dtype.int_range()) {
                    if fill.i < lo || fill.i > hi {
                        return Err(self.e(
                            sp,
                            format!("Python integer {} out of bounds for {dtype}", fill.i),
                        ));
                    }
                }
                let chunks = self.chunks_arg(&mut a)?;
                self.no_extra(&a)?;
                let g = Generator::Full {
                    f: fill.f,
                    i: fill.i,
                };
                Ok(Value::Array(
                    self.at(sp, api::generate(&shape, dtype, g, &chunks))?,
                ))
            }
            "arange" => {
                let nums: Vec<(PyScalar, Span)> = (0..3)
                    .filter_map(|k| self.take(&mut a, ["start", "stop", "step"][k]))
                    .map(|(v, s)| match v {
                        Value::Scalar(x) => Ok((x, s)),
                        other => Err(self.e(
                            s,
                            format!(
                                "arange() arguments must be numbers, got {}",
                                describe(&other)
                            ),
                        )),
                    })
                    .collect::<Result<_>>()?;
                let (start, stop, step) = match nums.len() {
                    1 => (PyScalar::int(0), nums[0].0, PyScalar::int(1)),
                    2 => (nums[0].0, nums[1].0, PyScalar::int(1)),
                    3 => (nums[0].0, nums[1].0, nums[2].0),
                    _ => return Err(self.e(sp, "arange() requires stop, or start and stop")),
                };
                let float = [start, stop, step]
                    .iter()
                    .any(|s| s.kind == ScalarKind::Float);
                if step.f == 0.0 {
                    return Err(self.e(sp, "arange() step must not be zero"));
                }
                let n = if float {
                    ((stop.f - start.f) / step.f).ceil().max(0.0) as usize
                } else {
                    let (s, e, st) = (start.i, stop.i, step.i);
                    if st > 0 {
                        if e > s {
                            ((e - s + st - 1) / st) as usize
                        } else {
                            0
                        }
                    } else if s > e {
                        ((s - e + (-st) - 1) / (-st)) as usize
                    } else {
                        0
                    }
                };
                let dtype = self.dtype_arg(&mut a, if float { DType::F64 } else { DType::I64 })?;
                let chunks = self.chunks_arg(&mut a)?;
                self.no_extra(&a)?;
                let g = Generator::Arange {
                    start: start.f,
                    step: step.f,
                    istart: start.i,
                    istep: step.i,
                };
                Ok(Value::Array(
                    self.at(sp, api::generate(&[n], dtype, g, &chunks))?,
                ))
            }
            "linspace" => {
                let start = self.num_arg(&mut a, "start", None)?;
                let stop = self.num_arg(&mut a, "stop", None)?;
                let num = self.num_arg(&mut a, "num", Some(PyScalar::int(50)))?;
                if num.kind == ScalarKind::Float || num.i < 0 {
                    return Err(self.e(
                        sp,
                        format!(
                            "linspace() num must be a non-negative integer, got {}",
                            num.f
                        ),
                    ));
                }
                let endpoint = match self.take(&mut a, "endpoint") {
                    Some((Value::Scalar(s), _)) => s.i != 0,
                    _ => true,
                };
                let dtype = self.dtype_arg(&mut a, DType::F64)?;
                let chunks = self.chunks_arg(&mut a)?;
                self.no_extra(&a)?;
                let n = num.i as usize;
                let g = if endpoint {
                    Generator::Linspace {
                        start: start.f,
                        stop: stop.f,
                        num: n,
                    }
                } else {
                    let step = if n > 0 {
                        (stop.f - start.f) / n as f64
                    } else {
                        0.0
                    };
                    Generator::Arange {
                        start: start.f,
                        step,
                        istart: 0,
                        istep: 0,
                    }
                };
                Ok(Value::Array(
                    self.at(sp, api::generate(&[n], dtype, g, &chunks))?,
                ))
            }
            "random" => {
                let shape = match self
                    .take(&mut a, "shape")
                    .or_else(|| self.take(&mut a, "size"))
                {
                    Some((v, s)) => self.shape_of(&v, s)?,
                    None => vec![],
                };
                let chunks = self.chunks_arg(&mut a)?;
                let seed = match self.take(&mut a, "seed") {
                    Some((v, s)) => self.int_of(&v, s, "seed")? as u64,
                    None => 0,
                };
                self.no_extra(&a)?;
                Ok(Value::Array(self.at(
                    sp,
                    api::generate(&shape, DType::F64, Generator::Random { seed }, &chunks),
                )?))
            }
            "where" => {
                let [c, x, y] = self.exact::<3>(&mut a)?;
                let (c, x, y) = (
                    self.operand(c.0, c.1)?,
                    self.operand(x.0, x.1)?,
                    self.operand(y.0, y.1)?,
                );
                if let (Operand::Scalar(_), Operand::Scalar(_), Operand::Scalar(_)) = (&c, &x, &y) {
                    return Err(self.e(sp, "where() needs at least one array argument"));
                }
                let c = self.arrayish(c);
                Ok(Value::Array(self.at(sp, api::where_(&c, &x, &y))?))
            }
            "maximum" | "minimum" => {
                let [x, y] = self.exact::<2>(&mut a)?;
                let x = self.arrayish(self.operand(x.0, x.1)?);
                let y = self.operand(y.0, y.1)?;
                Ok(Value::Array(
                    self.at(sp, api::extremum(name == "maximum", &x, &y))?,
                ))
            }
            "concatenate" | "stack" => {
                let (seq, s) = self
                    .take(&mut a, "arrays")
                    .ok_or_else(|| self.e(sp, format!("{name}() needs a list of arrays")))?;
                let Value::Seq(items) = seq else {
                    return Err(self.e(
                        s,
                        format!("{name}() needs a list of arrays, got {}", describe(&seq)),
                    ));
                };
                let arrays: Vec<DArray> = items
                    .into_iter()
                    .map(|v| match v {
                        Value::Array(x) => Ok(x),
                        Value::Scalar(x) => Ok(scalar_array(x)),
                        other => Err(self.e(
                            s,
                            format!("{name}() items must be arrays, got {}", describe(&other)),
                        )),
                    })
                    .collect::<Result<_>>()?;
                let axis = match self.take(&mut a, "axis") {
                    Some((v, s)) => self.int_of(&v, s, "axis")?,
                    None => 0,
                };
                self.no_extra(&a)?;
                let r = if name == "concatenate" {
                    api::concatenate(&arrays, axis)
                } else {
                    api::stack(&arrays, axis)
                };
                Ok(Value::Array(self.at(sp, r)?))
            }
            "astype" => {
                let x = self.array_arg(&mut a)?;
                let dtype = self.dtype_arg(&mut a, x.dtype())?;
                self.no_extra(&a)?;
                Ok(Value::Array(x.astype(dtype)))
            }
            "rechunk" => {
                let x = self.array_arg(&mut a)?;
                let chunks = self.chunks_arg(&mut a)?;
                self.no_extra(&a)?;
                Ok(Value::Array(self.at(sp, x.rechunk(&chunks))?))
            }
            "reshape" => {
                let x = self.array_arg(&mut a)?;
                let dims = self.int_list(&mut a, "shape")?;
                let dims = dims.ok_or_else(|| self.e(sp, "reshape() needs a shape"))?;
                Ok(Value::Array(self.at(sp, x.reshape(&dims))?))
            }
            "transpose" => {
                let x = self.array_arg(&mut a)?;
                let axes = self.int_list(&mut a, "axes")?;
                Ok(Value::Array(self.at(sp, x.transpose(axes.as_deref()))?))
            }
            "swapaxes" => {
                let x = self.array_arg(&mut a)?;
                let [p, q] = self.exact::<2>(&mut a)?;
                let (p, q) = (
                    self.int_of(&p.0, p.1, "axis1")?,
                    self.int_of(&q.0, q.1, "axis2")?,
                );
                Ok(Value::Array(self.at(sp, x.swapaxes(p, q))?))
            }
            "asarray" | "array" => {
                let x = self.array_arg(&mut a)?;
                let chunks = self.chunks_arg(&mut a)?;
                Ok(Value::Array(self.at(sp, x.rechunk(&chunks))?))
            }
            n if REDUCTIONS.contains(&n) => {
                let x = self.array_arg(&mut a)?;
                let axis = match self.take(&mut a, "axis") {
                    None | Some((Value::None, _)) => None,
                    Some((Value::Seq(xs), s)) => Some(
                        xs.iter()
                            .map(|v| self.int_of(v, s, "axis"))
                            .collect::<Result<Vec<_>>>()?,
                    ),
                    Some((v, s)) => Some(vec![self.int_of(&v, s, "axis")?]),
                };
                let keepdims = match self.take(&mut a, "keepdims") {
                    Some((Value::Scalar(s), _)) => s.i != 0,
                    _ => false,
                };
                let ddof = match self.take(&mut a, "ddof") {
                    Some((Value::Scalar(s), _)) => s.f,
                    _ => 0.0,
                };
                self.no_extra(&a)?;
                let base = match n {
                    "amin" => "min",
                    "amax" => "max",
                    other => other,
                };
                Ok(Value::Array(
                    self.at(sp, x.reduce(base, axis.as_deref(), keepdims, ddof))?,
                ))
            }
            n => {
                let f = UFunc::by_name(n)
                    .ok_or_else(|| self.e(sp, format!("unknown function '{n}'")))?;
                let [x] = self.exact::<1>(&mut a)?;
                let x = match self.operand(x.0, x.1)? {
                    Operand::Array(arr) => arr,
                    Operand::Scalar(s) => scalar_array(s),
                };
                Ok(Value::Array(self.at(sp, x.unary(f))?))
            }
        }
    }

    pub(super) fn arrayish(&self, o: Operand) -> Operand {
        match o {
            Operand::Scalar(s) => Operand::Array(scalar_array(s)),
            a => a,
        }
    }

    /// Removes and returns keyword argument `kw`, or else the next positional argument.
    pub(super) fn take(&self, a: &mut Args, kw: &str) -> Option<(Value, Span)> {
        if let Some(i) = a.kw.iter().position(|(k, _, _)| k == kw) {
            let (_, v, s) = a.kw.remove(i);
            return Some((v, s));
        }
        if a.pos.is_empty() {
            None
        } else {
            Some(a.pos.remove(0))
        }
    }

    pub(super) fn exact<const N: usize>(&self, a: &mut Args) -> Result<[(Value, Span); N]> {
        if a.pos.len() != N || !a.kw.is_empty() {
            return Err(self.e(
                a.span,
                format!(
                    "{}() takes exactly {N} positional argument(s), got {}",
                    a.name,
                    a.pos.len()
                ),
            ));
        }
        let v: Vec<(Value, Span)> = std::mem::take(&mut a.pos);
        v.try_into()
            .map_err(|_| self.e(a.span, "wrong number of arguments"))
    }

    pub(super) fn no_extra(&self, a: &Args) -> Result<()> {
        if let Some((_, s)) = a.pos.first() {
            return Err(self.e(
                *s,
                format!("{}() got too many positional arguments", a.name),
            ));
        }
        if let Some((k, _, s)) = a.kw.first() {
            return Err(self.e(
                *s,
                format!("{}() got an unexpected keyword argument '{k}'", a.name),
            ));
        }
        Ok(())
    }

    pub(super) fn array_arg(&self, a: &mut Args) -> Result<DArray> {
        match self.take(a, "x") {
            Some((Value::Array(x), _)) => Ok(x),
            Some((Value::Scalar(s), _)) => Ok(scalar_array(s)),
            Some((v, s)) => Err(self.e(
                s,
                format!("{}() expects an array, got {}", a.name, describe(&v)),
            )),
            None => Err(self.e(a.span, format!("{}() expects an array argument", a.name))),
        }
    }

    pub(super) fn num_arg(
        &self,
        a: &mut Args,
        kw: &str,
        default: Option<PyScalar>,
    ) -> Result<PyScalar> {
        match self.take(a, kw) {
            Some((Value::Scalar(s), _)) => Ok(s),
            Some((v, s)) => Err(self.e(
                s,
                format!(
                    "{}() argument '{kw}' must be a number, got {}",
                    a.name,
                    describe(&v)
                ),
            )),
            None => default.ok_or_else(|| {
                self.e(
                    a.span,
                    format!("{}() missing required argument '{kw}'", a.name),
                )
            }),
        }
    }

    pub(super) fn shape_of(&self, v: &Value, s: Span) -> Result<Vec<usize>> {
        let dims: Vec<i64> = match v {
            Value::Seq(xs) => xs
                .iter()
                .map(|x| self.int_of(x, s, "a shape entry"))
                .collect::<Result<_>>()?,
            other => vec![self.int_of(other, s, "shape")?],
        };
        if let Some(d) = dims.iter().find(|&&d| d < 0) {
            return Err(self.e(s, format!("negative dimensions are not allowed (got {d})")));
        }
        Ok(dims.into_iter().map(|d| d as usize).collect())
    }

    pub(super) fn shape_arg(&self, a: &mut Args, kw: &str) -> Result<Vec<usize>> {
        let (v, s) = self.take(a, kw).ok_or_else(|| {
            self.e(
                a.span,
                format!("{}() missing required argument '{kw}'", a.name),
            )
        })?;
        self.shape_of(&v, s)
    }

    /// `reshape(2, 3)`, `reshape((2, 3))` or `shape=(2, 3)`; also `transpose(1, 0)`.
    pub(super) fn int_list(&self, a: &mut Args, kw: &str) -> Result<Option<Vec<i64>>> {
        if let Some(i) = a.kw.iter().position(|(k, _, _)| k == kw) {
            let (_, v, s) = a.kw.remove(i);
            return self.ints_of(&v, s).map(Some);
        }
        if a.pos.is_empty() {
            return Ok(None);
        }
        let args: Vec<(Value, Span)> = std::mem::take(&mut a.pos);
        if args.len() == 1 {
            let (v, s) = &args[0];
            if matches!(v, Value::None) {
                return Ok(None);
            }
            return self.ints_of(v, *s).map(Some);
        }
        args.iter()
            .map(|(v, s)| self.int_of(v, *s, "a dimension"))
            .collect::<Result<Vec<_>>>()
            .map(Some)
    }

    pub(super) fn ints_of(&self, v: &Value, s: Span) -> Result<Vec<i64>> {
        match v {
            Value::Seq(xs) => xs.iter().map(|x| self.int_of(x, s, "an entry")).collect(),
            other => Ok(vec![self.int_of(other, s, "an entry")?]),
        }
    }

    pub(super) fn dtype_arg(&self, a: &mut Args, default: DType) -> Result<DType> {
        match self.take_kw_or_pos_dtype(a) {
            None => Ok(default),
            Some((Value::Str(s), sp)) => DType::parse(&s).ok_or_else(|| {
                let all: Vec<&str> = DType::ALL.iter().map(|d| d.name()).collect();
                self.e(
                    sp,
                    format!(
                        "data type '{s}' not understood; supported: {}",
                        all.join(", ")
                    ),
                )
            }),
            Some((Value::None, _)) => Ok(default),
            Some((v, sp)) => Err(self.e(
                sp,
                format!(
                    "dtype must be a string such as \"float32\", got {}",
                    describe(&v)
                ),
            )),
        }
    }

    pub(super) fn take_kw_or_pos_dtype(&self, a: &mut Args) -> Option<(Value, Span)> {
        if let Some(i) = a.kw.iter().position(|(k, _, _)| k == "dtype") {
            let (_, v, s) = a.kw.remove(i);
            return Some((v, s));
        }
        if a.name == "astype" && !a.pos.is_empty() {
            return Some(a.pos.remove(0));
        }
        None
    }

    pub(super) fn chunks_arg(&self, a: &mut Args) -> Result<ChunkSpec> {
        let v = if let Some(i) = a.kw.iter().position(|(k, _, _)| k == "chunks") {
            let (_, v, s) = a.kw.remove(i);
            Some((v, s))
        } else if a.name == "rechunk" && !a.pos.is_empty() {
            Some(a.pos.remove(0))
        } else {
            None
        };
        match v {
            None => Ok(ChunkSpec::Auto),
            Some((v, s)) => self.chunk_spec(&v, s),
        }
    }

    pub(super) fn axis_spec(&self, v: &Value, s: Span) -> Result<AxisSpec> {
        Ok(match v {
            Value::None => AxisSpec::Keep,
            Value::Str(x) if x == "auto" => AxisSpec::Auto,
            Value::Seq(xs) => AxisSpec::Explicit(
                xs.iter()
                    .map(|x| self.int_of(x, s, "a chunk size"))
                    .collect::<Result<_>>()?,
            ),
            other => {
                let n = self.int_of(other, s, "a chunk size")?;
                if n == -1 {
                    AxisSpec::Full
                } else {
                    AxisSpec::Size(n)
                }
            }
        })
    }

    pub(super) fn chunk_spec(&self, v: &Value, s: Span) -> Result<ChunkSpec> {
        Ok(match v {
            Value::Str(x) if x == "auto" => ChunkSpec::Auto,
            Value::Str(x) => {
                return Err(self.e(
                    s,
                    format!(
                        "chunks must be an int, a tuple, a dict or \"auto\", got the string '{x}'"
                    ),
                ))
            }
            Value::Seq(xs) => ChunkSpec::PerAxis(
                xs.iter()
                    .map(|x| self.axis_spec(x, s))
                    .collect::<Result<_>>()?,
            ),
            Value::Dict(pairs) => ChunkSpec::ByAxis(
                pairs
                    .iter()
                    .map(|(k, v)| {
                        Ok((
                            self.int_of(k, s, "a chunks dict key")?,
                            self.axis_spec(v, s)?,
                        ))
                    })
                    .collect::<Result<_>>()?,
            ),
            other => ChunkSpec::Uniform(self.axis_spec(other, s)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(src: &str) -> (Vec<usize>, DType, Vec<Vec<usize>>) {
        let a = into_array(evaluate(src, &Bindings::new()).unwrap()).unwrap();
        (
            a.shape(),
            a.dtype(),
            a.chunks().iter().map(|c| c.to_vec()).collect(),
        )
    }

    #[test]
    fn shapes_dtypes_chunks() {
        assert_eq!(
            meta("zeros((10, 4), chunks=(4, 2))"),
            (vec![10, 4], DType::F64, vec![vec![4, 4, 2], vec![2, 2]])
        );
        assert_eq!(meta("ones(5, dtype='float32', chunks=2) * 2").1, DType::F32);
        assert_eq!(meta("arange(10, chunks=3).sum()").1, DType::I64);
        assert_eq!(meta("arange(12, chunks=5).reshape((3, 4))").0, vec![3, 4]);
        assert_eq!(meta("ones((4, 6), chunks=2)[1:, ::-2]").0, vec![3, 3]);
        assert_eq!(meta("stack([ones(3).sum(), ones(3).max()])").0, vec![2]);
    }

    #[test]
    fn errors_point_at_the_problem() {
        let e = evaluate("ones(3) + ones(4)", &Bindings::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("broadcast"), "{e}");
        assert!(e.contains("column 1"), "{e}");
        let e = evaluate("ones(3)[5]", &Bindings::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("out of bounds"), "{e}");
        let e = evaluate("foo(3)", &Bindings::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("'foo' is not defined"), "{e}");
        let e = evaluate("ones(3, chunks=0)", &Bindings::new())
            .unwrap_err()
            .to_string();
        assert!(e.contains("chunk"), "{e}");
    }
}
