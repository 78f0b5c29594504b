//! The xarray half of the expression language: `open(...)`, methods and attributes of
//! arrays with named dimensions (`x.mean("time")`, `x.groupby("time.month")`,
//! `x.weighted(w)`, `x.sel(...)`, `x.isel(...)`, `x.lat`), and arithmetic that aligns
//! operands by dimension name.

use super::ast::{BinOp, Span};
use super::eval::{Args, Ev, Value};
use crate::array::api::{Operand, PyScalar};
use crate::array::chunk::Chunk;
use crate::array::chunks::{AxisSpec, ChunkSpec};
use crate::array::dtype::{DType, ScalarKind};
use crate::array::elementwise::UFunc;
use crate::array::slicing::Index;
use crate::error::Result;
use crate::io::open::OpenOptions;
use crate::labeled::dataarray::{self, LOperand};
use crate::labeled::groupby::GroupBy;
use crate::labeled::open::open;
use crate::labeled::select::{sel, Label, Selector};
use crate::labeled::{CoordValues, DataArray};

/// Functions that only exist in the labeled vocabulary.
pub(super) const LABELED_FUNCTIONS: &[&str] = &["open", "slice"];

/// Reductions offered on labeled arrays and groupbys.
const LABELED_REDUCTIONS: &[&str] = &[
    "sum", "mean", "min", "max", "std", "var", "prod", "any", "all", "median",
];

/// True for values that carry dimension names.
pub(super) fn is_labeled(v: &Value) -> bool {
    matches!(v, Value::Labeled(_) | Value::GroupBy(_))
}

fn from_loperand(o: LOperand) -> Value {
    match o {
        LOperand::Labeled(d) => Value::Labeled(d),
        LOperand::Plain(Operand::Array(a)) => Value::Array(a),
        LOperand::Plain(Operand::Scalar(s)) => Value::Scalar(s),
    }
}

impl Ev<'_> {
    fn loperand(&self, v: Value, sp: Span) -> Result<LOperand> {
        match v {
            Value::Labeled(d) => Ok(LOperand::Labeled(d)),
            other => Ok(LOperand::Plain(self.operand(other, sp)?)),
        }
    }

    /// Arithmetic with at least one labeled operand.
    pub(super) fn labeled_binary(&self, op: BinOp, a: Value, b: Value, sp: Span) -> Result<Value> {
        let r = match (a, b) {
            (Value::GroupBy(g), other) => {
                let o = self.loperand(other, sp)?;
                self.at(sp, g.binary(op, &o, false))?
            }
            (other, Value::GroupBy(g)) => {
                let o = self.loperand(other, sp)?;
                self.at(sp, g.binary(op, &o, true))?
            }
            (a, b) => {
                let (a, b) = (self.loperand(a, sp)?, self.loperand(b, sp)?);
                self.at(sp, dataarray::binary(op, &a, &b))?
            }
        };
        Ok(from_loperand(r))
    }

    /// Attributes of labeled values.
    pub(super) fn labeled_attr(&self, v: Value, name: &str, sp: Span) -> Result<Value> {
        let method = |v: Value| Ok(Value::Method(Box::new(v), name.to_string()));
        match v {
            Value::Labeled(d) => {
                let ints = |xs: Vec<usize>| {
                    Value::Seq(
                        xs.into_iter()
                            .map(|x| Value::Scalar(PyScalar::int(x as i128)))
                            .collect(),
                    )
                };
                match name {
                    "dims" => Ok(Value::Seq(
                        d.dims.iter().map(|s| Value::Str(s.clone())).collect(),
                    )),
                    "shape" => Ok(ints(d.data.shape())),
                    "ndim" => Ok(Value::Scalar(PyScalar::int(d.dims.len() as i128))),
                    "size" => Ok(Value::Scalar(PyScalar::int(d.data.size() as i128))),
                    "dtype" => Ok(Value::Str(d.data.dtype().name().to_string())),
                    "chunks" => Ok(Value::Seq(
                        d.data
                            .chunks()
                            .iter()
                            .map(|c| self.at(sp, c.to_vec_limited("x.chunks")).map(ints))
                            .collect::<Result<_>>()?,
                    )),
                    "data" | "values" => Ok(Value::Array(d.data.clone())),
                    "T" => {
                        let rev: Vec<String> = d.dims.iter().rev().cloned().collect();
                        Ok(Value::Labeled(self.at(sp, transpose_dims(&d, &rev))?))
                    }
                    "groupby" | "weighted" | "sel" | "isel" | "astype" | "rechunk" | "chunk"
                    | "transpose" => method(Value::Labeled(d)),
                    m if LABELED_REDUCTIONS.contains(&m) => method(Value::Labeled(d)),
                    c => match d.coord(c) {
                        Some(coord) => Ok(Value::Labeled(self.at(sp, coord_array(c, coord))?)),
                        None => Err(self.e(
                            sp,
                            format!(
                                "array has no attribute or coordinate '{c}' (dimensions: {})",
                                d.dims.join(", ")
                            ),
                        )),
                    },
                }
            }
            Value::GroupBy(g) => match name {
                m if LABELED_REDUCTIONS.contains(&m) => method(Value::GroupBy(g)),
                _ => Err(self.e(sp, format!("groupby object has no attribute '{name}'"))),
            },
            Value::Weighted(w) => match name {
                "mean" | "sum" => method(Value::Weighted(w)),
                _ => Err(self.e(
                    sp,
                    format!("weighted object has no attribute '{name}' (use mean or sum)"),
                )),
            },
            other => Err(self.e(
                sp,
                format!(
                    "{} has no attribute '{name}'",
                    super::eval::describe(&other)
                ),
            )),
        }
    }

    /// Calls of methods on labeled values.
    pub(super) fn labeled_method(&self, recv: Value, m: &str, mut a: Args) -> Result<Value> {
        let sp = a.span;
        match recv {
            Value::Labeled(d) => self.dataarray_method(d, m, a),
            Value::GroupBy(g) => {
                let ddof = self.ddof(&mut a)?;
                self.no_extra(&a)?;
                Ok(Value::Labeled(self.at(sp, g.reduce(m, ddof))?))
            }
            Value::Weighted(w) => {
                let dims = self.dims_arg(&mut a)?;
                self.no_extra(&a)?;
                let (x, wt) = *w;
                Ok(Value::Labeled(self.at(
                    sp,
                    dataarray::weighted(&x, &wt, m, dims.as_deref()),
                )?))
            }
            other => Err(self.e(
                sp,
                format!("{} has no method '{m}'", super::eval::describe(&other)),
            )),
        }
    }

    fn ddof(&self, a: &mut Args) -> Result<f64> {
        match take_kw(a, "ddof") {
            Some((Value::Scalar(s), _)) => Ok(s.f),
            Some((v, s)) => Err(self.e(
                s,
                format!("ddof must be a number, got {}", super::eval::describe(&v)),
            )),
            None => Ok(0.0),
        }
    }

    /// `"time"`, `("lat", "lon")` or `dim=...`; `None` when absent.
    fn dims_arg(&self, a: &mut Args) -> Result<Option<Vec<String>>> {
        let v = match take_kw(a, "dim") {
            Some(v) => Some(v),
            None if !a.pos.is_empty() => Some(a.pos.remove(0)),
            None => None,
        };
        match v {
            None | Some((Value::None, _)) => Ok(None),
            Some((Value::Str(s), _)) => Ok(Some(vec![s])),
            Some((Value::Seq(items), s)) => items
                .into_iter()
                .map(|v| match v {
                    Value::Str(x) => Ok(x),
                    other => Err(self.e(
                        s,
                        format!(
                            "dimension names must be strings, got {}",
                            super::eval::describe(&other)
                        ),
                    )),
                })
                .collect::<Result<Vec<_>>>()
                .map(Some),
            Some((other, s)) => Err(self.e(
                s,
                format!(
                    "expected a dimension name or a tuple of names, got {}",
                    super::eval::describe(&other)
                ),
            )),
        }
    }

    fn dataarray_method(&self, d: DataArray, m: &str, mut a: Args) -> Result<Value> {
        let sp = a.span;
        match m {
            r if LABELED_REDUCTIONS.contains(&r) => {
                let ddof = self.ddof(&mut a)?;
                let skipna = match take_kw(&mut a, "skipna") {
                    Some((Value::Scalar(s), _)) => Some(s.i != 0),
                    Some((Value::None, _)) | None => None,
                    Some((_, s)) => return Err(self.e(s, "skipna must be True or False")),
                };
                if let Some((axis, s)) = take_kw(&mut a, "axis") {
                    let keepdims = matches!(take_kw(&mut a, "keepdims"), Some((Value::Scalar(k), _)) if k.i != 0);
                    self.no_extra(&a)?;
                    let axes = match axis {
                        Value::None => None,
                        Value::Seq(xs) => Some(
                            xs.iter()
                                .map(|v| self.int_of(v, s, "axis"))
                                .collect::<Result<Vec<_>>>()?,
                        ),
                        v => Some(vec![self.int_of(&v, s, "axis")?]),
                    };
                    let name = if skipna == Some(true) {
                        format!("nan{r}")
                    } else {
                        r.to_string()
                    };
                    return Ok(Value::Labeled(
                        self.at(sp, d.reduce_axes(&name, axes.as_deref(), keepdims, ddof))?,
                    ));
                }
                let dims = self.dims_arg(&mut a)?;
                self.no_extra(&a)?;
                if r == "median" {
                    return Err(self.e(
                        sp,
                        "median is not supported yet (it needs a sort across chunks)",
                    ));
                }
                if skipna == Some(false) {
                    let axes: Vec<i64> = match &dims {
                        None => (0..d.dims.len() as i64).collect(),
                        Some(ds) => ds
                            .iter()
                            .map(|x| d.axis(x).map(|v| v as i64))
                            .collect::<std::result::Result<_, _>>()
                            .map_err(|e| self.e(sp, e.to_string()))?,
                    };
                    return Ok(Value::Labeled(
                        self.at(sp, d.reduce_axes(r, Some(&axes), false, ddof))?,
                    ));
                }
                Ok(Value::Labeled(
                    self.at(sp, d.reduce_dims(r, dims.as_deref(), ddof))?,
                ))
            }
            "groupby" => {
                let (key, ks) = self
                    .exact::<1>(&mut a)?
                    .into_iter()
                    .next()
                    .ok_or_else(|| self.e(sp, "groupby() needs a key"))?;
                let Value::Str(key) = key else {
                    return Err(self.e(ks, "groupby() takes a string such as \"time.month\""));
                };
                Ok(Value::GroupBy(Box::new(
                    self.at(sp, GroupBy::new(&d, &key))?,
                )))
            }
            "weighted" => {
                let (w, ws) = self
                    .exact::<1>(&mut a)?
                    .into_iter()
                    .next()
                    .ok_or_else(|| self.e(sp, "weighted() needs weights"))?;
                let Value::Labeled(w) = w else {
                    return Err(self.e(ws, "weighted() needs weights with named dimensions, such as cos(radians(x.lat))"));
                };
                Ok(Value::Weighted(Box::new((d, w))))
            }
            "isel" => {
                let mut items = Vec::new();
                for (k, v, s) in std::mem::take(&mut a.kw) {
                    items.push((k, self.index_of(v, s)?));
                }
                self.no_extra(&a)?;
                Ok(Value::Labeled(self.at(sp, d.isel(&items))?))
            }
            "sel" => {
                let nearest = match take_kw(&mut a, "method") {
                    Some((Value::Str(m), _)) if m == "nearest" => true,
                    Some((Value::None, _)) | None => false,
                    Some((_, s)) => {
                        return Err(self.e(s, "sel() method must be \"nearest\" or None"))
                    }
                };
                let mut items = Vec::new();
                for (k, v, s) in std::mem::take(&mut a.kw) {
                    items.push((k, self.selector_of(v, s)?));
                }
                self.no_extra(&a)?;
                Ok(Value::Labeled(self.at(sp, sel(&d, &items, nearest))?))
            }
            "astype" => {
                let (v, s) = take_kw(&mut a, "dtype")
                    .or_else(|| (!a.pos.is_empty()).then(|| a.pos.remove(0)))
                    .ok_or_else(|| self.e(sp, "astype() needs a dtype"))?;
                self.no_extra(&a)?;
                let Value::Str(t) = v else {
                    return Err(self.e(s, "astype() takes a dtype name such as \"float32\""));
                };
                let dt = DType::parse(&t)
                    .ok_or_else(|| self.e(s, format!("data type '{t}' not understood")))?;
                Ok(Value::Labeled(d.astype(dt)))
            }
            "rechunk" | "chunk" => {
                let (v, s) = take_kw(&mut a, "chunks")
                    .or_else(|| (!a.pos.is_empty()).then(|| a.pos.remove(0)))
                    .ok_or_else(|| self.e(sp, format!("{m}() needs chunks")))?;
                self.no_extra(&a)?;
                let spec = match v {
                    Value::Dict(pairs) if pairs.iter().all(|(k, _)| matches!(k, Value::Str(_))) => {
                        let mut by = Vec::new();
                        for (k, v) in pairs {
                            let Value::Str(name) = k else { continue };
                            let ax = self.at(s, d.axis(&name))?;
                            let spec = match v {
                                Value::Scalar(x) if x.kind != ScalarKind::Float && x.i == -1 => {
                                    AxisSpec::Full
                                }
                                Value::Scalar(x) if x.kind != ScalarKind::Float => {
                                    AxisSpec::Size(x.i as i64)
                                }
                                Value::Str(t) if t == "auto" => AxisSpec::Auto,
                                other => {
                                    return Err(self.e(
                                        s,
                                        format!(
                                            "chunk size for '{name}' must be an integer, got {}",
                                            super::eval::describe(&other)
                                        ),
                                    ))
                                }
                            };
                            by.push((ax as i64, spec));
                        }
                        ChunkSpec::ByAxis(by)
                    }
                    other => self.chunk_spec(&other, s)?,
                };
                Ok(Value::Labeled(self.at(sp, d.rechunk(&spec))?))
            }
            "transpose" => {
                let mut names = Vec::new();
                for (v, s) in std::mem::take(&mut a.pos) {
                    match v {
                        Value::Str(n) => names.push(n),
                        other => {
                            return Err(self.e(
                                s,
                                format!(
                                    "transpose() takes dimension names, got {}",
                                    super::eval::describe(&other)
                                ),
                            ))
                        }
                    }
                }
                self.no_extra(&a)?;
                if names.is_empty() {
                    names = d.dims.iter().rev().cloned().collect();
                }
                Ok(Value::Labeled(self.at(sp, transpose_dims(&d, &names))?))
            }
            other => Err(self.e(sp, format!("array has no method '{other}'"))),
        }
    }

    fn index_of(&self, v: Value, s: Span) -> Result<Index> {
        match v {
            Value::Scalar(x) if x.kind != ScalarKind::Float => Ok(Index::Int(x.i as i64)),
            Value::SliceObj(parts) => {
                let mut p = parts.into_iter();
                let mut next = || -> Result<Option<i64>> {
                    match p.next() {
                        None | Some(Value::None) => Ok(None),
                        Some(v) => Ok(Some(self.int_of(&v, s, "an isel slice bound")?)),
                    }
                };
                Ok(Index::Slice(next()?, next()?, next()?))
            }
            other => Err(self.e(
                s,
                format!(
                    "isel() takes integers or slice(...), got {}",
                    super::eval::describe(&other)
                ),
            )),
        }
    }

    fn label_of(&self, v: Value, s: Span) -> Result<Option<Label>> {
        match v {
            Value::None => Ok(None),
            Value::Scalar(x) => Ok(Some(Label::Num(x.f))),
            Value::Str(t) => Ok(Some(Label::Text(t))),
            other => Err(self.e(
                s,
                format!(
                    "sel() labels must be numbers or strings, got {}",
                    super::eval::describe(&other)
                ),
            )),
        }
    }

    fn selector_of(&self, v: Value, s: Span) -> Result<Selector> {
        match v {
            Value::SliceObj(parts) => {
                let mut p = parts.into_iter();
                let a = self.label_of(p.next().unwrap_or(Value::None), s)?;
                let b = self.label_of(p.next().unwrap_or(Value::None), s)?;
                if let Some(step) = p.next() {
                    if !matches!(step, Value::None) {
                        return Err(self.e(s, "sel() slices take no step"));
                    }
                }
                Ok(Selector::Range(a, b))
            }
            other => match self.label_of(other, s)? {
                Some(l) => Ok(Selector::One(l)),
                None => Err(self.e(s, "sel() needs a label or slice(start, stop)")),
            },
        }
    }

    /// A `chunks={"time": 365}` dict keyed by dimension names, as axis numbers of the
    /// variable (other values pass through).
    fn dims_to_axes(&self, v: Value, s: Span, path: &std::path::Path, var: &str) -> Result<Value> {
        let Value::Dict(pairs) = v else { return Ok(v) };
        if !pairs.iter().any(|(k, _)| matches!(k, Value::Str(_))) {
            return Ok(Value::Dict(pairs));
        }
        let (_, info) =
            crate::io::open::var_info(path, var).map_err(|e| self.e(s, e.to_string()))?;
        let mut out = Vec::new();
        for (k, val) in pairs {
            let axis = match &k {
                Value::Str(name) => info.dims.iter().position(|d| d == name).ok_or_else(|| {
                    self.e(
                        s,
                        format!(
                            "'{name}' is not a dimension of '{var}' (dimensions: {})",
                            info.dims.join(", ")
                        ),
                    )
                })?,
                _ => {
                    return Err(self.e(
                        s,
                        "chunks keys must be all dimension names or all axis numbers",
                    ))
                }
            };
            out.push((Value::Scalar(PyScalar::int(axis as i128)), val));
        }
        Ok(Value::Dict(out))
    }

    /// `open(...)`, `slice(...)`, and numpy functions applied to labeled arrays. `None`
    /// when the call is not a labeled one.
    pub(super) fn labeled_function(&self, name: &str, a: &mut Args) -> Result<Option<Value>> {
        let sp = a.span;
        match name {
            "open" => {
                let (path, ps) = take_kw(a, "path")
                    .or_else(|| (!a.pos.is_empty()).then(|| a.pos.remove(0)))
                    .ok_or_else(|| self.e(sp, "open() needs a file path"))?;
                let (var, vs) = take_kw(a, "variable")
                    .or_else(|| (!a.pos.is_empty()).then(|| a.pos.remove(0)))
                    .ok_or_else(|| {
                        self.e(
                            sp,
                            "open() needs a variable name, e.g. open(\"file.nc\", \"air\")",
                        )
                    })?;
                let (Value::Str(path), Value::Str(var)) = (path, var) else {
                    return Err(self.e(
                        ps.to(vs),
                        "open() takes a file path and a variable name as strings",
                    ));
                };
                let mut opts = OpenOptions::default();
                if let Some((v, s)) = take_kw(a, "decode") {
                    match v {
                        Value::Scalar(x) if x.kind == ScalarKind::Bool => opts.decode = x.i != 0,
                        _ => return Err(self.e(s, "decode must be True or False")),
                    }
                }
                let chunks = take_kw(a, "chunks");
                self.no_extra(a)?;
                let path = match self.base_dir {
                    Some(base) if std::path::Path::new(&path).is_relative() => base.join(&path),
                    _ => std::path::PathBuf::from(&path),
                };
                if let Some((v, s)) = chunks {
                    let v = self.dims_to_axes(v, s, &path, &var)?;
                    opts.chunks = Some(self.chunk_spec(&v, s)?);
                }
                let d = open(&path, &var, &opts).map_err(|e| self.e(sp, e.to_string()))?;
                Ok(Some(Value::Labeled(d)))
            }
            "slice" => {
                let parts: Vec<Value> = std::mem::take(&mut a.pos)
                    .into_iter()
                    .map(|(v, _)| v)
                    .collect();
                self.no_extra(a)?;
                if parts.is_empty() || parts.len() > 3 {
                    return Err(self.e(sp, "slice() takes 1 to 3 arguments"));
                }
                let parts = if parts.len() == 1 {
                    vec![Value::None, parts.into_iter().next().unwrap_or(Value::None)]
                } else {
                    parts
                };
                Ok(Some(Value::SliceObj(parts)))
            }
            _ => {
                let first_labeled = a.pos.iter().any(|(v, _)| matches!(v, Value::Labeled(_)));
                if !first_labeled {
                    return Ok(None);
                }
                if let Some(f) = UFunc::by_name(name) {
                    let [(x, xs)] = self.exact::<1>(a)?;
                    let Value::Labeled(d) = x else {
                        return Err(self.e(xs, "internal: labeled ufunc"));
                    };
                    return Ok(Some(Value::Labeled(self.at(sp, d.unary(f))?)));
                }
                match name {
                    "where" => {
                        let [c, x, y] = self.exact::<3>(a)?;
                        let (c, x, y) = (
                            self.loperand(c.0, c.1)?,
                            self.loperand(x.0, x.1)?,
                            self.loperand(y.0, y.1)?,
                        );
                        Ok(Some(from_loperand(
                            self.at(sp, dataarray::where_(&c, &x, &y))?,
                        )))
                    }
                    "maximum" | "minimum" => {
                        let [x, y] = self.exact::<2>(a)?;
                        let (x, y) = (self.loperand(x.0, x.1)?, self.loperand(y.0, y.1)?);
                        Ok(Some(from_loperand(
                            self.at(sp, dataarray::extremum(name == "maximum", &x, &y))?,
                        )))
                    }
                    _ => {
                        // numpy functions (sum, mean, ...) on a labeled array act positionally.
                        if let Some((Value::Labeled(d), _)) = a.pos.first_mut() {
                            let data = d.data.clone();
                            a.pos[0].0 = Value::Array(data);
                        }
                        Ok(None)
                    }
                }
            }
        }
    }
}

fn take_kw(a: &mut Args, kw: &str) -> Option<(Value, Span)> {
    let i = a.kw.iter().position(|(k, _, _)| k == kw)?;
    let (_, v, s) = a.kw.remove(i);
    Some((v, s))
}

/// A coordinate as a 1-D labeled array (numbers only: dates are labels, not values).
fn coord_array(
    name: &str,
    c: &crate::labeled::Coord,
) -> std::result::Result<DataArray, crate::array::ArrayError> {
    let CoordValues::Num { dtype, values } = &c.values else {
        return Err(crate::array::ArrayError::Invalid(format!(
            "coordinate '{name}' holds {} labels, which are not numbers to compute with",
            c.kind()
        )));
    };
    let chunk = crate::with_dtype!(*dtype, T, {
        let v: Vec<T> = values
            .iter()
            .map(|&x| <T as crate::array::dtype::Element>::from_f64(x))
            .collect();
        Chunk::from_slice::<T>(*dtype, &[v.len()], &v)
    });
    let data = crate::array::api::from_local(chunk, &ChunkSpec::Auto)?;
    let mut d = DataArray::new(
        data,
        vec![name.to_string()],
        vec![(name.to_string(), c.clone())],
    )?;
    d.name = Some(name.to_string());
    Ok(d)
}

/// Reorders dimensions by name.
fn transpose_dims(
    d: &DataArray,
    order: &[String],
) -> std::result::Result<DataArray, crate::array::ArrayError> {
    if order.len() != d.dims.len() {
        return Err(crate::array::ArrayError::Invalid(format!(
            "transpose needs all dimensions ({}), got ({})",
            d.dims.join(", "),
            order.join(", ")
        )));
    }
    let perm: Vec<i64> = order
        .iter()
        .map(|n| d.axis(n).map(|a| a as i64))
        .collect::<std::result::Result<_, _>>()?;
    let data = d.data.transpose(Some(&perm))?;
    let mut out = DataArray::new(data, order.to_vec(), d.coords.clone())?;
    out.name = d.name.clone();
    Ok(out)
}
