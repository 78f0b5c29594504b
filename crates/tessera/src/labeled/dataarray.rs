//! [`DataArray`]: a lazy array with dimension names, index coordinates and attributes,
//! and the operations that keep them right: alignment by name for arithmetic, reductions
//! over named dimensions (skipping NaN, as xarray does), positional indexing.

use super::coords::Coord;
use crate::array::api::{self, Operand};
use crate::array::chunks::ChunkSpec;
use crate::array::dtype::DType;
use crate::array::elementwise::UFunc;
use crate::array::graph::DArray;
use crate::array::slicing::{slice_indices, Index};
use crate::array::ArrayError;
use crate::expr::ast::BinOp;
use crate::io::attr::AttrValue;

type Result<T> = std::result::Result<T, ArrayError>;

fn invalid(msg: impl Into<String>) -> ArrayError {
    ArrayError::Invalid(msg.into())
}

/// A lazy array with named dimensions.
#[derive(Debug, Clone)]
pub struct DataArray {
    /// Variable name, when it has one.
    pub name: Option<String>,
    /// The values.
    pub data: DArray,
    /// One name per axis.
    pub dims: Vec<String>,
    /// Index coordinates, keyed by the dimension they label.
    pub coords: Vec<(String, Coord)>,
    /// Attributes.
    pub attrs: Vec<(String, AttrValue)>,
}

/// An operand of labeled arithmetic.
#[derive(Debug, Clone)]
pub enum LOperand {
    /// A labeled array.
    Labeled(DataArray),
    /// A plain array or scalar (broadcast positionally against the labeled one).
    Plain(Operand),
}

impl DataArray {
    /// Wraps `data` with `dims`; coordinates must match the dimension lengths.
    pub fn new(data: DArray, dims: Vec<String>, coords: Vec<(String, Coord)>) -> Result<DataArray> {
        if dims.len() != data.ndim() {
            return Err(invalid(format!(
                "{} dimension names for an array of {} dimensions",
                dims.len(),
                data.ndim()
            )));
        }
        let shape = data.shape();
        for (name, c) in &coords {
            let Some(a) = dims.iter().position(|d| d == name) else {
                return Err(invalid(format!("coordinate '{name}' names no dimension")));
            };
            if c.len() != shape[a] {
                return Err(invalid(format!(
                    "coordinate '{name}' has {} labels for a dimension of length {}",
                    c.len(),
                    shape[a]
                )));
            }
        }
        Ok(DataArray {
            name: None,
            data,
            dims,
            coords,
            attrs: vec![],
        })
    }

    /// Same labels, new values of the same shape.
    pub fn with_data(&self, data: DArray) -> DataArray {
        DataArray {
            name: self.name.clone(),
            data,
            dims: self.dims.clone(),
            coords: self.coords.clone(),
            attrs: vec![],
        }
    }

    /// The coordinate of dimension `dim`.
    pub fn coord(&self, dim: &str) -> Option<&Coord> {
        self.coords.iter().find(|(n, _)| n == dim).map(|(_, c)| c)
    }

    /// Axis of dimension `dim`, or an error listing the dimensions.
    pub fn axis(&self, dim: &str) -> Result<usize> {
        self.dims.iter().position(|d| d == dim).ok_or_else(|| {
            invalid(format!(
                "dimension '{dim}' not found; the array has dimensions ({})",
                self.dims.join(", ")
            ))
        })
    }

    /// Length of every dimension.
    pub fn sizes(&self) -> Vec<(String, usize)> {
        self.dims.iter().cloned().zip(self.data.shape()).collect()
    }

    /// Elementwise function; labels unchanged.
    pub fn unary(&self, f: UFunc) -> Result<DataArray> {
        Ok(self.with_data(self.data.unary(f)?))
    }

    /// Cast; labels unchanged.
    pub fn astype(&self, d: DType) -> DataArray {
        self.with_data(self.data.astype(d))
    }

    /// Reduction over named dimensions (`None`: all), skipping NaN as xarray does.
    pub fn reduce_dims(&self, name: &str, dims: Option<&[String]>, ddof: f64) -> Result<DataArray> {
        let base = name.strip_prefix("nan").unwrap_or(name);
        let axes: Vec<usize> = match dims {
            None => (0..self.dims.len()).collect(),
            Some(ds) => ds.iter().map(|d| self.axis(d)).collect::<Result<_>>()?,
        };
        let skip = self.data.dtype().is_float() && !matches!(base, "any" | "all" | "prod");
        let fname = if skip {
            format!("nan{base}")
        } else {
            base.to_string()
        };
        let ax: Vec<i64> = axes.iter().map(|&a| a as i64).collect();
        let data = self.data.reduce(&fname, Some(&ax), false, ddof)?;
        Ok(self.drop_axes(data, &axes))
    }

    /// numpy-style reduction over positional axes (NaN propagates unless `nan*`).
    pub fn reduce_axes(
        &self,
        name: &str,
        axes: Option<&[i64]>,
        keepdims: bool,
        ddof: f64,
    ) -> Result<DataArray> {
        let data = self.data.reduce(name, axes, keepdims, ddof)?;
        if keepdims {
            return Ok(DataArray {
                name: self.name.clone(),
                data,
                dims: self.dims.clone(),
                coords: vec![],
                attrs: vec![],
            });
        }
        let nd = self.dims.len();
        let axes: Vec<usize> = match axes {
            None => (0..nd).collect(),
            Some(a) => a
                .iter()
                .map(|&x| crate::array::chunks::normalize_axis_index(x, nd))
                .collect::<Result<_>>()?,
        };
        Ok(self.drop_axes(data, &axes))
    }

    /// Labels of the result of removing `axes` (values already computed in `data`).
    fn drop_axes(&self, data: DArray, axes: &[usize]) -> DataArray {
        let dims: Vec<String> = self
            .dims
            .iter()
            .enumerate()
            .filter(|(a, _)| !axes.contains(a))
            .map(|(_, d)| d.clone())
            .collect();
        let coords = self
            .coords
            .iter()
            .filter(|(n, _)| dims.contains(n))
            .cloned()
            .collect();
        DataArray {
            name: self.name.clone(),
            data,
            dims,
            coords,
            attrs: vec![],
        }
    }

    /// Positional indexing with one entry per dimension (`Index::Int` drops the dimension).
    /// `...` expands to full slices; `None` (new axis) is refused on labeled arrays.
    pub fn getitem(&self, items: &[Index]) -> Result<DataArray> {
        let nd = self.dims.len();
        let explicit = items
            .iter()
            .filter(|i| !matches!(i, Index::Ellipsis))
            .count();
        if items.iter().any(|i| matches!(i, Index::NewAxis)) {
            return Err(invalid(
                "None (new axis) is not supported on arrays with named dimensions",
            ));
        }
        if explicit > nd {
            return Err(invalid(format!(
                "too many indices for array: array is {nd}-dimensional, but {explicit} were indexed"
            )));
        }
        let mut full: Vec<Index> = Vec::with_capacity(nd);
        let mut seen_ellipsis = false;
        for it in items {
            if matches!(it, Index::Ellipsis) {
                if seen_ellipsis {
                    return Err(invalid("an index can only have a single ellipsis ('...')"));
                }
                seen_ellipsis = true;
                for _ in 0..nd - explicit {
                    full.push(Index::Slice(None, None, None));
                }
            } else {
                full.push(it.clone());
            }
        }
        while full.len() < nd {
            full.push(Index::Slice(None, None, None));
        }
        let data = self.data.getitem(&full)?;
        let shape = self.data.shape();
        let mut dims = Vec::new();
        let mut coords = Vec::new();
        for (a, it) in full.iter().enumerate() {
            if let Index::Slice(s, e, st) = it {
                dims.push(self.dims[a].clone());
                if let Some(c) = self.coord(&self.dims[a]) {
                    let (start, _, step, len) = slice_indices(shape[a], *s, *e, *st)?;
                    let pos: Vec<usize> = (0..len)
                        .map(|k| (start + step * k as i64) as usize)
                        .collect();
                    coords.push((self.dims[a].clone(), c.pick(&pos)));
                }
            }
        }
        Ok(DataArray {
            name: self.name.clone(),
            data,
            dims,
            coords,
            attrs: self.attrs.clone(),
        })
    }

    /// `isel(dim=index, ...)`: positional selection by dimension name.
    pub fn isel(&self, sel: &[(String, Index)]) -> Result<DataArray> {
        let mut items = vec![Index::Slice(None, None, None); self.dims.len()];
        for (d, ix) in sel {
            if matches!(ix, Index::Ellipsis | Index::NewAxis) {
                return Err(invalid(format!(
                    "isel({d}=...) takes an integer or a slice"
                )));
            }
            items[self.axis(d)?] = ix.clone();
        }
        self.getitem(&items)
    }

    /// Renames a dimension (and its coordinate).
    pub fn rename_dim(&self, from: &str, to: &str) -> DataArray {
        let mut out = self.clone();
        for d in &mut out.dims {
            if d == from {
                *d = to.to_string();
            }
        }
        for (n, _) in &mut out.coords {
            if n == from {
                *n = to.to_string();
            }
        }
        out
    }

    /// Rechunks along named dimensions.
    pub fn rechunk(&self, spec: &ChunkSpec) -> Result<DataArray> {
        Ok(self.with_data(self.data.rechunk(spec)?))
    }
}

/// Result dimension names, their coordinates, and the operands laid out on them.
pub type Aligned<T> = (Vec<String>, Vec<(String, Coord)>, Vec<T>);

/// Brings labeled arrays onto one set of dimensions (the first operand's order, then new
/// dimensions in order of appearance): each is transposed and given length-1 axes for the
/// dimensions it lacks, so positional broadcasting lines names up. Shared dimensions must
/// have equal lengths and equal coordinates.
pub fn align(arrays: &[&DataArray]) -> Result<Aligned<DArray>> {
    let mut dims: Vec<String> = Vec::new();
    let mut sizes: Vec<usize> = Vec::new();
    let mut coords: Vec<(String, Coord)> = Vec::new();
    for a in arrays {
        for (d, n) in a.sizes() {
            match dims.iter().position(|x| x == &d) {
                Some(k) => {
                    if sizes[k] != n && sizes[k] != 1 && n != 1 {
                        return Err(invalid(format!(
                            "cannot align: dimension '{d}' has length {} in one operand and {n} in another",
                            sizes[k]
                        )));
                    }
                    sizes[k] = sizes[k].max(n);
                }
                None => {
                    dims.push(d.clone());
                    sizes.push(n);
                }
            }
            if let Some(c) = a.coord(&d) {
                match coords.iter().find(|(x, _)| x == &d) {
                    Some((_, prev)) => {
                        if prev.values != c.values && prev.len() == c.len() {
                            return Err(invalid(format!(
                                "cannot align: the '{d}' coordinates of the operands differ (select matching labels with sel/isel first)"
                            )));
                        }
                    }
                    None => coords.push((d.clone(), c.clone())),
                }
            }
        }
    }
    let mut out = Vec::new();
    for a in arrays {
        let mut own: Vec<(usize, usize)> = a
            .dims
            .iter()
            .enumerate()
            .map(|(ax, d)| (dims.iter().position(|x| x == d).unwrap_or(0), ax))
            .collect();
        own.sort_unstable();
        let perm: Vec<i64> = own.iter().map(|&(_, ax)| ax as i64).collect();
        let mut x = if perm.iter().enumerate().all(|(k, &p)| p == k as i64) {
            a.data.clone()
        } else {
            a.data.transpose(Some(&perm))?
        };
        if a.dims.len() < dims.len() {
            let items: Vec<Index> = dims
                .iter()
                .map(|d| {
                    if a.dims.contains(d) {
                        Index::Slice(None, None, None)
                    } else {
                        Index::NewAxis
                    }
                })
                .collect();
            x = x.getitem(&items)?;
        }
        out.push(x);
    }
    coords.retain(|(n, c)| {
        dims.iter()
            .position(|d| d == n)
            .is_some_and(|k| sizes[k] == c.len())
    });
    Ok((dims, coords, out))
}

/// Result labels and positional operands for an operation over labeled and plain operands.
fn prepare(ops: &[&LOperand]) -> Result<Aligned<Operand>> {
    let labeled: Vec<&DataArray> = ops
        .iter()
        .filter_map(|o| match o {
            LOperand::Labeled(d) => Some(d),
            LOperand::Plain(_) => None,
        })
        .collect();
    let (dims, coords, aligned) = align(&labeled)?;
    let mut it = aligned.into_iter();
    let mut out = Vec::new();
    for o in ops {
        out.push(match o {
            LOperand::Labeled(_) => {
                Operand::Array(it.next().ok_or_else(|| invalid("internal: align"))?)
            }
            LOperand::Plain(p) => p.clone(),
        });
    }
    Ok((dims, coords, out))
}

fn finish(dims: Vec<String>, coords: Vec<(String, Coord)>, data: DArray) -> Result<LOperand> {
    if data.ndim() != dims.len() {
        // A plain operand added dimensions: the result has no meaningful names.
        return Ok(LOperand::Plain(Operand::Array(data)));
    }
    Ok(LOperand::Labeled(DataArray::new(data, dims, coords)?))
}

/// `a OP b` with names aligned.
pub fn binary(op: BinOp, a: &LOperand, b: &LOperand) -> Result<LOperand> {
    let (dims, coords, v) = prepare(&[a, b])?;
    finish(dims, coords, api::binary(op, &v[0], &v[1])?)
}

/// `where(c, a, b)` with names aligned.
pub fn where_(c: &LOperand, a: &LOperand, b: &LOperand) -> Result<LOperand> {
    let (dims, coords, v) = prepare(&[c, a, b])?;
    let cond = match &v[0] {
        Operand::Scalar(s) => Operand::Array(api::scalar_array(*s)),
        other => other.clone(),
    };
    finish(dims, coords, api::where_(&cond, &v[1], &v[2])?)
}

/// `maximum`/`minimum` with names aligned.
pub fn extremum(is_max: bool, a: &LOperand, b: &LOperand) -> Result<LOperand> {
    let (dims, coords, v) = prepare(&[a, b])?;
    let x = match &v[0] {
        Operand::Scalar(s) => Operand::Array(api::scalar_array(*s)),
        other => other.clone(),
    };
    finish(dims, coords, api::extremum(is_max, &x, &v[1])?)
}

/// xarray's weighted reduction: `sum` is `Σ x·w` over `dims` skipping NaN in `x`; `mean`
/// divides by the sum of the weights where `x` is not NaN.
pub fn weighted(
    x: &DataArray,
    w: &DataArray,
    name: &str,
    dims: Option<&[String]>,
) -> Result<DataArray> {
    for d in &w.dims {
        x.axis(d).map_err(|_| {
            invalid(format!(
                "weights have dimension '{d}', which the array ({}) does not have",
                x.dims.join(", ")
            ))
        })?;
    }
    let xl = LOperand::Labeled(x.clone());
    let wl = LOperand::Labeled(w.clone());
    let LOperand::Labeled(prod) = binary(BinOp::Mul, &xl, &wl)? else {
        return Err(invalid("internal: weighted product lost its names"));
    };
    let dims_owned: Vec<String> = match dims {
        Some(d) => d.to_vec(),
        None => x.dims.clone(),
    };
    let num = prod.reduce_dims("sum", Some(&dims_owned), 0.0)?;
    match name {
        "sum" => Ok(num),
        "mean" => {
            let nan = LOperand::Labeled(x.unary(UFunc::IsNan)?);
            let zero = LOperand::Plain(Operand::Scalar(api::PyScalar::int(0)));
            let LOperand::Labeled(masked) = where_(&nan, &zero, &wl)? else {
                return Err(invalid("internal: masked weights lost their names"));
            };
            let den = masked.reduce_dims("sum", Some(&dims_owned), 0.0)?;
            match binary(BinOp::Div, &LOperand::Labeled(num), &LOperand::Labeled(den))? {
                LOperand::Labeled(r) => Ok(r),
                LOperand::Plain(_) => Err(invalid("internal: weighted mean lost its names")),
            }
        }
        other => Err(invalid(format!(
            "weighted() supports sum and mean, not '{other}'"
        ))),
    }
}
