#!/usr/bin/env python3
"""Generate the numpy/dask test oracle for tessera's expression language.

Every case is a tessera expression (the text is the single source of truth).  The
expression is evaluated here with Python's ``eval`` in a namespace that maps our
language onto ``dask.array`` + ``numpy`` (see ``make_namespace``), computed with dask's
synchronous scheduler, and written to ``expected.json`` next to this file.  Small
``.npy`` inputs for ``--open NAME=PATH`` are (re)written to ``data/``.

Regenerate (from anywhere; the output paths are relative to this file):

    python3 -m venv /work/venv-oracle
    /work/venv-oracle/bin/pip install 'numpy>=2' 'dask[array]'
    /work/venv-oracle/bin/python tests/oracle/make_expected.py

The output is deterministic for a given numpy/dask version (random cases use a fixed
seed).  Output record, one per case:

    {"name", "expr", "opens": {NAME: "data/x.npy"}, "shape", "dtype", "chunks",
     "data" (flattened C order; NaN/inf as "nan"/"inf"/"-inf"), "error", ["note"]}

``chunks`` is dask's ``.chunks`` of the result before compute, or null where the result
is not a dask array or dask's chunk choice is not meant to be compared (reshape, "auto"
chunks, reductions).  ``error`` is null, or "ExceptionType: message" when numpy/dask
raised (then shape/dtype/chunks/data are null); our binary only has to fail non-zero.
"""

from __future__ import annotations

import ast
import json
import math
import random
import re
import sys
import warnings
from pathlib import Path

import numpy as np
import dask
import dask.array as da

HERE = Path(__file__).resolve().parent
DATA_DIR = HERE / "data"
OUT = HERE / "expected.json"
MAX_ELEMENTS = 2000
SEED = 20240611

DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
          "uint64", "float32", "float64"]
REDUCTIONS = ["sum", "mean", "min", "max", "std", "var", "prod", "any", "all",
              "nansum", "nanmean", "nanmin", "nanmax"]

# --------------------------------------------------------------------------------------
# Input .npy files (each tiny, written deterministically).
# --------------------------------------------------------------------------------------

NAN = np.nan
INF = np.inf


def make_data() -> dict[str, np.ndarray]:
    return {
        "f64_3x4": np.array([[1.5, -2.0, 3.25, 0.0],
                             [4.0, -5.5, 6.0, 7.0],
                             [-8.0, 9.0, 10.125, -11.0]], dtype=np.float64),
        "nan_4x5": np.array([[1.0, NAN, 3.0, -4.0, 5.0],
                             [NAN, NAN, NAN, NAN, NAN],
                             [-1.5, 2.5, NAN, INF, 0.0],
                             [7.0, -8.0, 9.0, 10.0, NAN]], dtype=np.float64),
        "f32_nan_10": np.array([0.1, NAN, 2.5, -3.25, NAN, 1e-3, 7.0, -0.5, NAN, 4.0],
                               dtype=np.float32),
        "i32_6": np.array([-3, 7, 0, 12, -8, 5], dtype=np.int32),
        "u8_col": np.array([[0], [128], [255]], dtype=np.uint8),
        "bool_3x4": np.array([[True, False, True, True],
                              [False, False, False, False],
                              [True, True, True, True]], dtype=np.bool_),
        "i64_2x3x4": np.arange(24, dtype=np.int64).reshape(2, 3, 4) * 3 - 20,
    }


def write_data(arrays: dict[str, np.ndarray]) -> None:
    DATA_DIR.mkdir(exist_ok=True)
    for name, arr in arrays.items():
        path = DATA_DIR / f"{name}.npy"
        np.save(path, arr, allow_pickle=False)
        assert path.stat().st_size < 50_000, path


def opens(*names: str) -> dict[str, str]:
    """`opens("a=f64_3x4")` -> {"a": "data/f64_3x4.npy"}."""
    out = {}
    for item in names:
        var, file = item.split("=")
        out[var] = f"data/{file}.npy"
    return out


# --------------------------------------------------------------------------------------
# Language -> dask namespace.
# --------------------------------------------------------------------------------------

def make_namespace(bound: dict[str, str]) -> dict:
    ns = {
        "__builtins__": {"__import__": __import__},
        # constructors (empty and random are deliberately absent)
        "zeros": da.zeros,
        "ones": da.ones,
        "full": da.full,
        "arange": da.arange,
        "linspace": da.linspace,
        # constants (True/False/None are Python keywords)
        "nan": math.nan,
        "inf": math.inf,
        "pi": math.pi,
        # elementwise functions
        "where": da.where,
        "sqrt": da.sqrt,
        "exp": da.exp,
        "log": da.log,
        "abs": da.absolute,
        "sin": da.sin,
        "cos": da.cos,
        "floor": da.floor,
        "ceil": da.ceil,
        "isnan": da.isnan,
        # structural functions
        "swapaxes": da.swapaxes,
        "concatenate": da.concatenate,
        "stack": da.stack,
        "_reshape": _reshape,
        "_rechunk": lambda x, *a, **k: x.rechunk(*a, **k),
        "_getitem": _getitem,
        "_slice": slice,
    }
    for r in REDUCTIONS:
        ns[r] = getattr(da, r)
    # A bound .npy is a LOCAL numpy array (not chunked); combined with a dask array it
    # is chunked to match its partner, which is what dask does with an np.ndarray.
    for var, rel in bound.items():
        ns[var] = np.load(HERE / rel, allow_pickle=False)
    return ns


# Interpretation helpers. Expressions are rewritten (on the Python AST) so that
#   x.nansum(...) / x.nanmean / x.nanmin / x.nanmax  -> nansum(x, ...) etc.
#     (our language has them as methods too; numpy and dask only as functions)
#   x.reshape(...) -> _reshape(x, ...), which falls back to numpy's reshape when dask
#     raises NotImplementedError (dask only merges/splits dimensions evenly; the
#     semantics are numpy's C-order reshape, which we record).
NAN_METHODS = ("nansum", "nanmean", "nanmin", "nanmax")
_WRAPPED = {"reshape": "_reshape", "rechunk": "_rechunk"}
_FALLBACKS: list[str] = []


def _reshape(x, *args, **kwargs):
    if isinstance(x, da.Array):
        try:
            return x.reshape(*args, **kwargs)
        except NotImplementedError:
            _FALLBACKS.append("dask cannot do this reshape (NotImplementedError); "
                              "numpy's reshape of the computed input recorded")
            val = np.asarray(x.compute()).reshape(*args, **kwargs)
            return da.from_array(val, chunks=-1)
    return x.reshape(*args, **kwargs)


def _getitem(x, items: tuple):
    """x[items], working around dask/dask#10555: dask returns data for a negative-step
    slice whose start lies before the array (numpy: empty).  When dask's result shape
    differs from numpy's, the slices are normalised with slice.indices() first."""
    key = items[0] if len(items) == 1 else items
    if not isinstance(x, da.Array):
        return x[key]
    res = x[key]
    want = np.broadcast_to(np.empty((), dtype=np.bool_), x.shape)[key].shape
    if res.shape == want:
        return res
    n_real = sum(1 for it in items if it is not None and it is not Ellipsis)
    axis, fixed = 0, []
    for it in items:
        if it is Ellipsis:
            axis += x.ndim - n_real
            fixed.append(it)
        elif it is None:
            fixed.append(it)
        elif isinstance(it, slice):
            start, stop, step = it.indices(x.shape[axis])
            if len(range(start, stop, step)) == 0:
                fixed.append(slice(0, 0, 1))
            else:
                fixed.append(slice(start, None if stop < 0 else stop, step))
            axis += 1
        else:
            fixed.append(it)
            axis += 1
    res = x[tuple(fixed)]
    assert res.shape == want, (items, res.shape, want)
    _FALLBACKS.append("dask mis-slices a negative-step slice starting before the array "
                      "(dask/dask#10555); numpy's result and the normalised slice's chunks recorded")
    return res


class _Rewrite(ast.NodeTransformer):
    def visit_Subscript(self, node: ast.Subscript):
        self.generic_visit(node)
        sl = node.slice
        elts = sl.elts if isinstance(sl, ast.Tuple) else [sl]
        items = []
        for e in elts:
            if isinstance(e, ast.Slice):
                parts = [p if p is not None else ast.Constant(None)
                         for p in (e.lower, e.upper, e.step)]
                items.append(ast.Call(func=ast.Name(id="_slice", ctx=ast.Load()),
                                      args=parts, keywords=[]))
            else:
                items.append(e)
        return ast.copy_location(
            ast.Call(func=ast.Name(id="_getitem", ctx=ast.Load()),
                     args=[node.value, ast.Tuple(elts=items, ctx=ast.Load())], keywords=[]),
            node)

    def visit_Call(self, node: ast.Call):
        self.generic_visit(node)
        f = node.func
        if isinstance(f, ast.Attribute) and (f.attr in NAN_METHODS or f.attr in _WRAPPED):
            target = _WRAPPED.get(f.attr, f.attr)
            return ast.copy_location(
                ast.Call(func=ast.Name(id=target, ctx=ast.Load()),
                         args=[f.value] + node.args, keywords=node.keywords), node)
        return node


def compile_expr(expr: str):
    tree = ast.parse(expr, mode="eval")
    tree = ast.fix_missing_locations(_Rewrite().visit(tree))
    return compile(tree, "<expr>", "eval")


def make_numpy_namespace(bound: dict[str, str]) -> dict:
    """Plain-numpy reading of the language (chunks ignored), used only to cross-check."""
    def ctor(fn):
        def f(*args, chunks=None, dtype=None):
            return fn(*args, dtype=dtype) if dtype is not None else fn(*args)
        return f

    ns = {
        "__builtins__": {"__import__": __import__},
        "zeros": ctor(np.zeros), "ones": ctor(np.ones), "full": ctor(np.full),
        "arange": ctor(np.arange),
        "linspace": lambda a, b, n, chunks=None: np.linspace(a, b, n),
        "nan": math.nan, "inf": math.inf, "pi": math.pi,
        "abs": np.absolute, "_reshape": lambda x, *a: x.reshape(*a),
        "_rechunk": lambda x, *a, **k: x,
        "_getitem": lambda x, items: x[items[0] if len(items) == 1 else items],
        "_slice": slice,
    }
    for n in ["where", "sqrt", "exp", "log", "sin", "cos", "floor", "ceil", "isnan",
              "swapaxes", "concatenate", "stack"] + REDUCTIONS:
        ns[n] = getattr(np, n)
    for var, rel in bound.items():
        ns[var] = np.load(HERE / rel, allow_pickle=False)
    return ns


def numpy_check(rec: dict) -> str | None:
    """Evaluate with plain numpy; describe any disagreement with the recorded result."""
    try:
        res = eval(compile_expr(rec["expr"]), make_numpy_namespace(rec["opens"]))
        if isinstance(res, tuple):
            res = np.array(res, dtype=np.int64)
        elif isinstance(res, int) and not isinstance(res, bool):
            res = np.array(res, dtype=np.int64)
        val = np.asarray(res)
    except Exception as e:
        if rec["error"] is None:
            return f"numpy raised {type(e).__name__}: {_short(e)}"
        return None
    if rec["error"] is not None:
        return "numpy succeeded where dask raised"
    if list(val.shape) != rec["shape"]:
        return f"numpy shape {val.shape}"
    if val.dtype.name != rec["dtype"]:
        return f"numpy dtype {val.dtype}"
    mine = [v if not isinstance(v, str) else float(v) for v in rec["data"]]
    ref = val.ravel().tolist()
    if val.dtype.kind == "f":
        a = np.array(mine, dtype=np.float64)
        b = np.array(ref, dtype=np.float64)
        eps = np.finfo(val.dtype).eps
        if not np.allclose(a, b, rtol=16 * eps, atol=0, equal_nan=True):
            diff = np.abs(a - b)
            return (f"numpy values differ (max abs diff {np.nanmax(diff):.3g}, "
                    f"max rel diff {np.nanmax(diff / np.maximum(np.abs(b), 1e-300)):.3g})")
        if not np.array_equal(a, b, equal_nan=True):
            return "numpy values differ in the last bits (rounding/summation order)"
    elif mine != ref:
        return "numpy values differ"
    return None


# --------------------------------------------------------------------------------------
# Case list.
# --------------------------------------------------------------------------------------

CASES: list[dict] = []


def case(group: str, name: str, expr: str, *, opens_: dict | None = None,
         chunks: bool | None = None, note: str | None = None,
         numpy_fallback: bool = False) -> None:
    """chunks=None: decide with `compare_chunks_default`; True/False force it.
    numpy_fallback: dask raises where numpy does not (a dask limitation); record numpy's
    result (evaluated with chunks ignored) instead."""
    CASES.append({"name": f"{group}/{name}", "expr": expr, "opens": opens_ or {},
                  "chunks_flag": chunks, "note": note, "numpy_fallback": numpy_fallback})


_RED_RE = re.compile(r"(?<![A-Za-z0-9_])(?:" + "|".join(REDUCTIONS) + r")\(")


def compare_chunks_default(expr: str) -> bool:
    if "reshape" in expr or '"auto"' in expr:
        return False
    if _RED_RE.search(expr):
        return False
    if "chunks=" not in expr and ".rechunk(" not in expr:
        return False  # every dask array in it has default ("auto") chunks
    return True


# 2-d array (24,16) with irregular chunks and 3-d array (2,3,4), both with distinct values.
X = 'arange(384, chunks=100).reshape((24, 16)).rechunk(((4, 8, 8, 4), (2, 6, 6, 2)))'
Y = 'arange(24, chunks=5).reshape((2, 3, 4)).rechunk((1, 2, 3))'
Z = 'arange(60, chunks=7, dtype="float64").reshape((3, 4, 5)).rechunk((2, 3, 2))'


def g_ctor() -> None:
    g = "ctor"
    case(g, "zeros_1d_int_chunks", 'zeros(5, chunks=2)')
    case(g, "zeros_2d_int_chunks", 'zeros((3, 4), chunks=2)')
    case(g, "zeros_int32_tuple_chunks", 'zeros((3, 4), chunks=(2, 3), dtype="int32")')
    case(g, "zeros_uint32_minus1", 'zeros((2, 3), chunks=(1, -1), dtype="uint32")')
    case(g, "zeros_bool", 'zeros(6, chunks=4, dtype="bool")')
    case(g, "zeros_0d", 'zeros(())')
    case(g, "zeros_auto_chunks", 'zeros((3, 4), chunks="auto")')
    case(g, "ones_default_chunks", 'ones((3, 4))')
    case(g, "ones_minus1", 'ones((4, 6), chunks=(2, -1))')
    case(g, "ones_all_minus1", 'ones((3, 5), chunks=-1, dtype="int16")')
    case(g, "ones_irregular", 'ones((24, 16), chunks=((4, 8, 8, 4), (2, 6, 6, 2)))')
    case(g, "ones_1d_tuple_of_tuple", 'ones(7, chunks=((3, 4),), dtype="uint8")')
    case(g, "ones_uint64", 'ones(3, chunks=2, dtype="uint64")')
    case(g, "ones_int8", 'ones((2, 2), chunks=1, dtype="int8")')
    case(g, "ones_float32", 'ones(5, chunks=(3,), dtype="float32")')
    case(g, "ones_chunk_bigger_than_dim", 'ones((2, 3), chunks=10)')
    case(g, "full_int_value", 'full((2, 3), 7, chunks=2)')
    case(g, "full_float_value", 'full((2, 3), 2.5, chunks=(1, 2))')
    case(g, "full_bool_value", 'full(4, True, chunks=3)')
    case(g, "full_float32", 'full((2, 2), 3, chunks=1, dtype="float32")')
    case(g, "full_int8_negative", 'full(3, -1, chunks=2, dtype="int8")')
    case(g, "full_uint8_255", 'full(3, 255, chunks=2, dtype="uint8")')
    case(g, "full_nan", 'full(3, nan, chunks=2)')
    case(g, "full_inf_float32", 'full(3, -inf, chunks=2, dtype="float32")')
    case(g, "full_pi", 'full(2, pi, chunks=1)')
    case(g, "full_uint8_overflow", 'full(3, 300, chunks=2, dtype="uint8")')
    case(g, "full_0d", 'full((), 3.5)')
    case(g, "arange_n", 'arange(10, chunks=3)')
    case(g, "arange_start_stop", 'arange(2, 11, chunks=4)')
    case(g, "arange_negative_step", 'arange(10, 0, -3, chunks=2)')
    case(g, "arange_float_step", 'arange(0, 1, 0.1, chunks=4)')
    case(g, "arange_float_start", 'arange(0.5, 5, chunks=2)')
    case(g, "arange_float32", 'arange(12, chunks=5, dtype="float32")')
    case(g, "arange_uint16", 'arange(10, chunks=4, dtype="uint16")')
    case(g, "arange_int8_minus1", 'arange(5, chunks=-1, dtype="int8")')
    case(g, "arange_empty", 'arange(0, chunks=3)')
    case(g, "arange_empty_start_eq_stop", 'arange(5, 5, chunks=2)')
    case(g, "arange_empty_wrong_direction", 'arange(5, 0, chunks=2)')
    case(g, "linspace_11", 'linspace(0, 1, 11, chunks=4)')
    case(g, "linspace_symmetric", 'linspace(-2, 2, 5, chunks=5)')
    case(g, "linspace_one", 'linspace(0, 10, 1, chunks=1)')
    case(g, "linspace_descending_irregular", 'linspace(1, 0, 6, chunks=((2, 4),))')
    case(g, "linspace_default_chunks", 'linspace(0, 3, 7)')
    case(g, "zero_length_axis", 'zeros((0, 3), chunks=2)')
    case(g, "zero_length_middle_axis", 'ones((2, 0, 3), chunks=(1, 1, 2), dtype="int32")')


def g_promo() -> None:
    g = "promo"
    # every unordered pair (incl. equal) of the 11 dtypes for +
    for i, a in enumerate(DTYPES):
        for b in DTYPES[i:]:
            case(g, f"add_{a}_{b}",
                 f'ones(4, chunks=3, dtype="{a}") + ones(4, chunks=3, dtype="{b}")')
    # Python scalars are weak (NEP 50)
    scal = [
        ("float32_mul_int", 'ones(3, chunks=2, dtype="float32") * 2'),
        ("float32_mul_float", 'ones(3, chunks=2, dtype="float32") * 2.5'),
        ("float32_add_true", 'ones(3, chunks=2, dtype="float32") + True'),
        ("int8_add_int", 'ones(3, chunks=2, dtype="int8") + 1'),
        ("int_sub_int8_reversed", '1 - arange(4, chunks=3, dtype="int8")'),
        ("int8_add_float", 'ones(3, chunks=2, dtype="int8") + 1.5'),
        ("int32_add_float", 'ones(3, chunks=2, dtype="int32") + 2.5'),
        ("int64_add_float", 'arange(3, chunks=2) + 1.0'),
        ("uint8_add_int", 'ones(3, chunks=2, dtype="uint8") + 1'),
        ("uint64_add_int", 'ones(3, chunks=2, dtype="uint64") + 1'),
        ("uint16_mul_true", 'arange(3, chunks=2, dtype="uint16") * True'),
        ("bool_add_int", 'ones(3, chunks=2, dtype="bool") + 1'),
        ("bool_add_float", 'ones(3, chunks=2, dtype="bool") + 1.5'),
        ("bool_add_true", 'zeros(3, chunks=2, dtype="bool") + True'),
        ("int64_add_big_int", 'ones(2, chunks=1, dtype="int64") + 1099511627776'),
        ("int8_add_out_of_range", 'ones(3, chunks=2, dtype="int8") + 200'),
        ("uint8_add_negative", 'ones(3, chunks=2, dtype="uint8") + (-1)'),
        ("uint8_mul_256", 'ones(3, chunks=2, dtype="uint8") * 256'),
        ("uint8_wrap", 'ones(3, chunks=2, dtype="uint8") * 255 + 1'),
        ("uint8_sub_wrap", 'arange(5, chunks=2, dtype="uint8") - 3'),
        ("int8_wrap", 'ones(3, chunks=2, dtype="int8") * 127 + ones(3, chunks=2, dtype="int8")'),
        ("int32_wrap", 'full(2, 2147483647, chunks=1, dtype="int32") + 1'),
        ("int64_wrap", 'full(2, 9223372036854775807, chunks=1) + 1'),
        ("uint64_big", 'full(2, 18446744073709551615, chunks=1, dtype="uint64") - 1'),
        ("neg_uint8", '-arange(4, chunks=3, dtype="uint8")'),
        ("neg_int8_min", '-full(2, -128, chunks=1, dtype="int8")'),
        ("neg_bool", '-ones(3, chunks=2, dtype="bool")'),
        ("sub_bool_bool", 'ones(3, chunks=2, dtype="bool") - ones(3, chunks=2, dtype="bool")'),
        ("mul_bool_bool", 'ones(3, chunks=2, dtype="bool") * zeros(3, chunks=2, dtype="bool")'),
        ("pos_int8", '+arange(3, chunks=2, dtype="int8")'),
    ]
    for n, e in scal:
        case(g, n, e)
    # true division
    div = [
        ("div_int8_scalar", 'arange(6, chunks=4, dtype="int8") / 2'),
        ("div_int8_int8", 'arange(6, chunks=4, dtype="int8") / full(6, 4, chunks=4, dtype="int8")'),
        ("div_uint8_uint8", 'arange(6, chunks=4, dtype="uint8") / full(6, 4, chunks=4, dtype="uint8")'),
        ("div_int16_int16", 'arange(6, chunks=4, dtype="int16") / full(6, 4, chunks=4, dtype="int16")'),
        ("div_int32_int32", 'arange(6, chunks=4, dtype="int32") / full(6, 4, chunks=4, dtype="int32")'),
        ("div_int64_by_zero", 'arange(-2, 3, chunks=2) / 0'),
        ("div_bool_bool", 'ones(3, chunks=2, dtype="bool") / ones(3, chunks=2, dtype="bool")'),
        ("div_float32_int", 'arange(5, chunks=2, dtype="float32") / 3'),
        ("div_float32_int16", 'arange(5, chunks=2, dtype="float32") / full(5, 3, chunks=2, dtype="int16")'),
        ("div_float32_int32", 'arange(5, chunks=2, dtype="float32") / full(5, 3, chunks=2, dtype="int32")'),
        ("div_float_by_zero", 'arange(-2, 3, chunks=2, dtype="float64") / 0.0'),
    ]
    for n, e in div:
        case(g, n, e)
    # floor division and modulo (Python sign rules; integer division by zero gives 0)
    fm = [
        ("floordiv_neg_pos", 'arange(-5, 6, chunks=4) // 3'),
        ("mod_neg_pos", 'arange(-5, 6, chunks=4) % 3'),
        ("floordiv_neg_neg", 'arange(-5, 6, chunks=4) // -3'),
        ("mod_neg_neg", 'arange(-5, 6, chunks=4) % -3'),
        ("floordiv_int_zero", 'arange(-3, 4, chunks=3) // 0'),
        ("mod_int_zero", 'arange(-3, 4, chunks=3) % 0'),
        ("floordiv_int8_arrays_with_zero",
         'arange(-4, 4, chunks=3, dtype="int8") // arange(3, -5, -1, chunks=5, dtype="int8")'),
        ("mod_int8_arrays_with_zero",
         'arange(-4, 4, chunks=3, dtype="int8") % arange(3, -5, -1, chunks=5, dtype="int8")'),
        ("floordiv_int8_min_by_minus1",
         'full(2, -128, chunks=1, dtype="int8") // full(2, -1, chunks=1, dtype="int8")'),
        ("floordiv_uint8_zero", 'arange(4, chunks=3, dtype="uint8") // 0'),
        ("mod_uint8_zero", 'arange(4, chunks=3, dtype="uint8") % 0'),
        ("floordiv_float", 'arange(-5, 6, chunks=4, dtype="float64") // 2.5'),
        ("mod_float_negative_divisor", 'arange(-5, 6, chunks=4, dtype="float64") % -2.5'),
        ("floordiv_float_zero", 'arange(-2, 3, chunks=2, dtype="float64") // 0'),
        ("mod_float_zero", 'arange(-2, 3, chunks=2, dtype="float64") % 0'),
        ("mod_float32_int", 'linspace(-3, 3, 7, chunks=3).astype("float32") % 2'),
        ("floordiv_bool", 'ones(3, chunks=2, dtype="bool") // ones(3, chunks=2, dtype="bool")'),
    ]
    for n, e in fm:
        case(g, n, e)
    # power
    pw = [
        ("pow_int32_2", 'arange(5, chunks=2, dtype="int32") ** 2'),
        ("pow_int_half", 'arange(5, chunks=2) ** 0.5'),
        ("pow_scalar_base", '2 ** arange(5, chunks=2)'),
        ("pow_float_base_int8", '2.0 ** arange(5, chunks=2, dtype="int8")'),
        ("pow_float32_2", 'linspace(-1, 2, 4, chunks=3).astype("float32") ** 2'),
        ("pow_float32_half", 'arange(5, chunks=2, dtype="float32") ** 0.5'),
        ("pow_int8_wrap", 'arange(3, 7, chunks=2, dtype="int8") ** 3'),
        ("pow_int_zero", 'arange(-2, 3, chunks=2) ** 0'),
        ("pow_negative_base_cube", '(-arange(1, 4, chunks=2)) ** 3'),
        ("pow_array_array", 'arange(4, chunks=3) ** arange(3, -1, -1, chunks=2)'),
        ("pow_uint8_int8", 'arange(4, chunks=3, dtype="uint8") ** ones(4, chunks=3, dtype="int8")'),
        ("pow_float_negative_exponent", 'arange(1, 5, chunks=2, dtype="float64") ** -1'),
        ("pow_float_negative_base_fractional", 'arange(-2, 2, chunks=2, dtype="float64") ** 0.5'),
        ("pow_bool_bool", 'ones(2, chunks=1, dtype="bool") ** zeros(2, chunks=1, dtype="bool")'),
    ]
    for n, e in pw:
        case(g, n, e)
    # comparisons
    cmp = [
        ("lt_int_float", 'arange(5, chunks=2) < 2.5'),
        ("eq_int8_int", 'arange(-2, 3, chunks=2, dtype="int8") == 1'),
        ("ge_int_int", 'arange(5, chunks=2) >= arange(4, -1, -1, chunks=3)'),
        ("ne_int32_float32", 'ones(3, chunks=2, dtype="int32") != full(3, 1.5, chunks=2, dtype="float32")'),
        ("le_uint8_negative_scalar", 'arange(3, chunks=2, dtype="uint8") <= -1'),
        ("gt_int8_out_of_range_scalar", 'arange(3, chunks=2, dtype="int8") > 300'),
        ("eq_float32_pyfloat", 'full(2, 0.1, chunks=1, dtype="float32") == 0.1'),
        ("eq_float64_float32", 'full(2, 0.1, chunks=1) == full(2, 0.1, chunks=1, dtype="float32")'),
        ("eq_bool_int", 'ones(3, chunks=2, dtype="bool") == 1'),
        ("eq_nan", 'full(2, nan, chunks=1) == nan'),
        ("ne_nan", 'full(2, nan, chunks=1) != full(2, nan, chunks=1)'),
        ("gt_inf", 'full(2, inf, chunks=1) > 1e308'),
        ("lt_uint64_int64", 'ones(2, chunks=1, dtype="uint64") < full(2, -1, chunks=1)'),
    ]
    for n, e in cmp:
        case(g, n, e)
    # bitwise / logical
    bw = [
        ("precedence_and_binds_tighter_than_gt", 'arange(4, chunks=3) > 1 & ones(4, chunks=3, dtype="bool")'),
        ("and_bool_paren", '(arange(4, chunks=3) > 1) & (arange(4, chunks=3) < 3)'),
        ("or_bool", '(arange(4, chunks=3) > 2) | (arange(4, chunks=3) < 1)'),
        ("xor_bool", '(arange(4, chunks=3) > 1) ^ (arange(4, chunks=3) % 2 == 0)'),
        ("invert_bool", '~(arange(4, chunks=3) > 1)'),
        ("and_int", 'arange(8, chunks=3) & 5'),
        ("or_int", 'arange(8, chunks=3) | 8'),
        ("xor_int8_minus1", 'arange(-3, 3, chunks=4, dtype="int8") ^ -1'),
        ("invert_int8", '~arange(-3, 3, chunks=4, dtype="int8")'),
        ("invert_uint8", '~arange(4, chunks=3, dtype="uint8")'),
        ("invert_uint64", '~zeros(2, chunks=1, dtype="uint64")'),
        ("and_uint8_int8", 'arange(4, chunks=3, dtype="uint8") & full(4, -1, chunks=3, dtype="int8")'),
        ("and_bool_pyint", 'ones(3, chunks=2, dtype="bool") & 1'),
        ("or_bool_true", 'zeros(3, chunks=2, dtype="bool") | True'),
        ("and_bool_int8", 'ones(3, chunks=2, dtype="bool") & full(3, 3, chunks=2, dtype="int8")'),
        ("invert_float", '~ones(3, chunks=2)'),
        ("and_float_int", 'ones(3, chunks=2) & 1'),
    ]
    for n, e in bw:
        case(g, n, e)


def g_math() -> None:
    g = "math"
    m = [
        ("sqrt_float64", 'sqrt(arange(6, chunks=4, dtype="float64"))'),
        ("sqrt_float32", 'sqrt(arange(6, chunks=4, dtype="float32"))'),
        ("sqrt_int8", 'sqrt(arange(6, chunks=4, dtype="int8"))'),
        ("sqrt_uint8", 'sqrt(arange(6, chunks=4, dtype="uint8"))'),
        ("sqrt_int16", 'sqrt(arange(6, chunks=4, dtype="int16"))'),
        ("sqrt_uint16", 'sqrt(arange(6, chunks=4, dtype="uint16"))'),
        ("sqrt_int32", 'sqrt(arange(6, chunks=4, dtype="int32"))'),
        ("sqrt_int64", 'sqrt(arange(6, chunks=4))'),
        ("sqrt_uint64", 'sqrt(arange(6, chunks=4, dtype="uint64"))'),
        ("sqrt_bool", 'sqrt(arange(4, chunks=3) > 1)'),
        ("sqrt_negative", 'sqrt(arange(-2, 3, chunks=2, dtype="float64"))'),
        ("exp_linspace", 'exp(linspace(-2, 2, 9, chunks=4))'),
        ("exp_int8", 'exp(arange(-3, 3, chunks=4, dtype="int8"))'),
        ("exp_float32_overflow", 'exp(full(2, 100, chunks=1, dtype="float32"))'),
        ("exp_overflow", 'exp(arange(705, 715, 2, chunks=3, dtype="float64"))'),
        ("log_with_zero_and_negative", 'log(arange(-1, 5, chunks=4, dtype="float64"))'),
        ("log_uint8", 'log(arange(1, 6, chunks=4, dtype="uint8"))'),
        ("log_int32", 'log(arange(1, 6, chunks=4, dtype="int32"))'),
        ("abs_int8_min", 'abs(arange(-128, -124, chunks=3, dtype="int8"))'),
        ("abs_float_with_neg_zero", 'abs(linspace(-1, 1, 5, chunks=2) * -0.0 - linspace(-1, 1, 5, chunks=2))'),
        ("abs_bool", 'abs(arange(4, chunks=3) > 1)'),
        ("abs_uint64", 'abs(arange(3, chunks=2, dtype="uint64"))'),
        ("abs_float32", 'abs(linspace(-1.5, 1.5, 5, chunks=2).astype("float32"))'),
        ("sin_linspace", 'sin(linspace(0, pi, 5, chunks=2))'),
        ("cos_linspace", 'cos(linspace(0, pi, 5, chunks=2))'),
        ("sin_int16", 'sin(arange(4, chunks=3, dtype="int16"))'),
        ("cos_float32", 'cos(arange(4, chunks=3, dtype="float32"))'),
        ("floor_float", 'floor(linspace(-2, 2, 9, chunks=4))'),
        ("ceil_float", 'ceil(linspace(-2, 2, 9, chunks=4))'),
        ("floor_int8", 'floor(arange(-3, 3, chunks=4, dtype="int8"))'),
        ("ceil_uint16", 'ceil(arange(3, chunks=2, dtype="uint16"))'),
        ("floor_bool", 'floor(arange(4, chunks=3) > 1)'),
        ("floor_float32", 'floor(linspace(-1, 1, 5, chunks=2).astype("float32") * 1.5)'),
        ("isnan_float", 'isnan(where(arange(6, chunks=4) % 2 == 0, nan, 1.0))'),
        ("isnan_int", 'isnan(arange(3, chunks=2))'),
        ("isnan_inf", 'isnan(full(2, inf, chunks=1) - full(2, inf, chunks=1))'),
        ("where_broadcast_cond_row",
         'where(arange(4, chunks=2) > 1, ones((3, 4), chunks=2), 0)'),
        ("where_int_nan_scalar", 'where(arange(5, chunks=2) > 2, arange(5, chunks=2), nan)'),
        ("where_col_row", 'where(arange(3, chunks=2)[:, None] % 2 == 0, arange(4, chunks=3), -arange(4, chunks=3))'),
        ("where_scalars_int", 'where(arange(5, chunks=2) > 2, 1, 0)'),
        ("where_float32_pyfloat", 'where(arange(5, chunks=2) > 2, 1.5, arange(5, chunks=2, dtype="float32"))'),
        ("where_int8_vs_pyint_out_of_range",
         'where(arange(4, chunks=3) > 1, arange(4, chunks=3, dtype="int8"), 1000)'),
        ("where_uint8_int8", 'where(arange(3, chunks=2) > 0, arange(3, chunks=2, dtype="uint8"), full(3, -1, chunks=2, dtype="int8"))'),
        ("where_int_cond", 'where(arange(4, chunks=3), 10, 20)'),
        ("where_3d_broadcast", 'where(ones((2, 1, 1), chunks=1, dtype="bool"), arange(3, chunks=2)[:, None], arange(4, chunks=3))'),
    ]
    for n, e in m:
        case(g, n, e)
    case(g, "sqrt_local_npy", 'sqrt(abs(a))', opens_=opens("a=f64_3x4"))
    case(g, "isnan_local_npy", 'isnan(a)', opens_=opens("a=nan_4x5"))


def g_bcast() -> None:
    g = "bcast"
    case(g, "col_plus_row", 'ones((3, 1), chunks=(2, 1)) + linspace(0, 3, 4, chunks=3)[None, :]')
    case(g, "col_plus_row_index", 'arange(3, chunks=2)[:, None] * 10 + arange(4, chunks=3)[None, :]')
    case(g, "1d_plus_3d", 'arange(5, chunks=2) + zeros((2, 1, 5), chunks=(1, 1, 3))')
    case(g, "3d_size1_times_1d", 'ones((2, 3, 1), chunks=(1, 2, 1), dtype="int32") * arange(5, chunks=2, dtype="int32")')
    case(g, "size1_chunk_vs_wide", 'ones((4, 1), chunks=2) + ones((1, 6), chunks=(1, 4))')
    case(g, "size1_vs_full", 'arange(4, chunks=2)[:, None] + ones((4, 6), chunks=3)')
    case(g, "different_chunkings_unify", 'ones((4, 6), chunks=(2, 3)) + ones((4, 6), chunks=(3, 2))',
         note="dask unifies different chunkings to the common refinement")
    case(g, "different_chunkings_1d", 'arange(10, chunks=3) * arange(10, chunks=4)',
         note="dask unifies different chunkings to the common refinement")
    case(g, "scalar_left", '10 - arange(4, chunks=3)')
    case(g, "0d_dask_broadcast", 'arange(6, chunks=4) - arange(6, chunks=4).mean()', chunks=True)
    case(g, "0d_constructor_broadcast", 'full((), 2.0) * ones((2, 3), chunks=2)')
    case(g, "local_plus_chunked", 'a + ones((3, 4), chunks=2)', opens_=opens("a=f64_3x4"))
    case(g, "chunked_plus_local", 'arange(6, chunks=4, dtype="int64") + b', opens_=opens("b=i32_6"))
    case(g, "local_times_chunked_row", 'a * arange(4, chunks=3)', opens_=opens("a=f64_3x4"))
    case(g, "local_col_uint8_plus_int8_row", 'c + arange(4, chunks=2, dtype="int8")', opens_=opens("c=u8_col"))
    case(g, "local_only_scalar", 'a + 1', opens_=opens("a=f64_3x4"))
    case(g, "local_only_local", 'a * a - 1', opens_=opens("a=f64_3x4"))
    case(g, "two_locals_with_chunked", '(a + b[None, :3, None]) * ones((3, 4), chunks=(1, 3))',
         opens_=opens("a=f64_3x4", "b=i32_6"))
    case(g, "local_bool_and_chunked", 'm & (arange(4, chunks=3) > 1)', opens_=opens("m=bool_3x4"))
    case(g, "local_3d_plus_chunked_row", 'v + arange(4, chunks=2)', opens_=opens("v=i64_2x3x4"))


def g_reduce() -> None:
    g = "reduce"
    R = [
        ("float32_sum_large", 'arange(100000, chunks=10000, dtype="float32").sum()'),
        ("float32_sum_large_one_chunk", 'arange(100000, chunks=-1, dtype="float32").sum()'),
        ("float32_sum_tenths", '(arange(100000, chunks=30000, dtype="float32") * 0.1).sum()'),
        ("float32_mean_large", 'arange(100000, chunks=10000, dtype="float32").mean()'),
        ("float32_sum_axis", 'sum(ones((300, 4), chunks=(70, 3), dtype="float32") * 0.1, axis=0)'),
        ("float32_var", 'arange(1000, chunks=300, dtype="float32").var()'),
        ("sum_none", f'{Z}.sum()'),
        ("sum_axis0", f'{Z}.sum(axis=0)'),
        ("sum_axis_neg1", f'{Z}.sum(axis=-1)'),
        ("sum_axis_tuple", f'{Z}.sum(axis=(0, 2))'),
        ("sum_axis_tuple_keepdims", f'{Z}.sum(axis=(0, 2), keepdims=True)'),
        ("sum_axis_none_keepdims", f'{Z}.sum(keepdims=True)'),
        ("sum_axis1_keepdims_fn", f'sum({Z}, axis=1, keepdims=True)'),
        ("sum_axis_tuple_neg", f'{Z}.sum(axis=(-1, -3))'),
        ("mean_axis_neg2", f'{Z}.mean(axis=-2)'),
        ("mean_fn_tuple", f'mean({Z}, axis=(0, 1))'),
        ("max_axis_tuple", f'{Z}.max(axis=(1, 2))'),
        ("min_axis1", f'{Z}.min(axis=1)'),
        ("prod_axis2", f'({Z} * 0.1).prod(axis=2)'),
        ("std_axis0", f'{Z}.std(axis=0)'),
        ("std_ddof1", f'{Z}.std(ddof=1)'),
        ("var_ddof2_axis", f'var({Z}, axis=1, ddof=2)'),
        ("std_ddof1_keepdims", f'std({Z}, axis=(0, 2), ddof=1, keepdims=True)'),
        ("int8_sum", 'arange(100, chunks=30, dtype="int8").sum()'),
        ("int8_sum_axis", 'ones((50, 3), chunks=(20, 2), dtype="int8").sum(axis=0)'),
        ("int8_prod", 'full(10, 3, chunks=4, dtype="int8").prod()'),
        ("int8_max", 'arange(-5, 5, chunks=3, dtype="int8").max()'),
        ("int8_mean", 'arange(-5, 6, chunks=3, dtype="int8").mean()'),
        ("uint8_sum", 'full(100, 200, chunks=30, dtype="uint8").sum()'),
        ("uint8_min_axis", 'arange(12, chunks=5, dtype="uint8").reshape((3, 4)).min(axis=1)'),
        ("uint16_prod", 'arange(1, 8, chunks=3, dtype="uint16").prod()'),
        ("uint32_sum", 'arange(10, chunks=3, dtype="uint32").sum()'),
        ("uint64_sum", 'full(3, 18446744073709551615, chunks=2, dtype="uint64").sum()'),
        ("int32_sum", 'full(4, 2147483647, chunks=3, dtype="int32").sum()'),
        ("int64_prod_overflow", 'full(5, 10000, chunks=2).prod()'),
        ("bool_sum", '(arange(10, chunks=3) % 3 == 0).sum()'),
        ("bool_sum_axis", 'm.sum(axis=1)'),
        ("bool_any", '(arange(10, chunks=3) > 8).any()'),
        ("bool_all", '(arange(10, chunks=3) > 0).all()'),
        ("bool_any_axis0", 'any(ones((3, 4), chunks=2, dtype="bool") & (arange(4, chunks=3) > 1), axis=0)'),
        ("bool_all_keepdims", 'all(arange(12, chunks=5).reshape((3, 4)) % 4 != 3, axis=1, keepdims=True)'),
        ("bool_min_max", 'stack([(arange(4, chunks=3) > 1).min(), (arange(4, chunks=3) > 1).max()])'),
        ("bool_mean_std", 'stack([(arange(4, chunks=3) > 0).mean(), (arange(4, chunks=3) > 0).std()])'),
        ("any_float", 'any(linspace(-1, 1, 5, chunks=2) * 0.0)'),
        ("all_int", 'arange(1, 5, chunks=2).all()'),
        ("int_mean", 'arange(10, chunks=3).mean()'),
        ("int_var", 'arange(10, chunks=3, dtype="int32").var()'),
        ("int_std_ddof1", 'arange(10, chunks=3, dtype="int16").std(ddof=1)'),
        ("uint8_mean_axis", 'arange(12, chunks=5, dtype="uint8").reshape((3, 4)).mean(axis=0)'),
        ("nansum_int", 'nansum(arange(5, chunks=2, dtype="int8"))'),
        ("nan_where_nansum", 'where(arange(10, chunks=3) % 3 == 0, nan, arange(10, chunks=3)).nansum()'),
        ("nan_where_sum", 'where(arange(10, chunks=3) % 3 == 0, nan, arange(10, chunks=3)).sum()'),
        ("nan_where_max", 'where(arange(10, chunks=3) % 3 == 0, nan, arange(10, chunks=3)).max()'),
        ("nan_where_nanmax", 'nanmax(where(arange(10, chunks=3) % 3 == 0, nan, arange(10, chunks=3)))'),
        ("max_with_inf", 'where(arange(5, chunks=2) == 3, inf, arange(5, chunks=2)).max()'),
        ("min_with_neg_inf", 'where(arange(5, chunks=2) == 3, -inf, arange(5, chunks=2)).min()'),
        ("sum_inf_minus_inf", 'where(arange(4, chunks=3) % 2 == 0, inf, -inf).sum()'),
        ("prod_float", 'linspace(0.5, 2, 4, chunks=3).prod()'),
        ("empty_sum_axis0", 'zeros((0, 3), chunks=2).sum(axis=0)'),
        ("empty_sum", 'zeros((0, 3), chunks=2).sum()'),
        ("empty_prod", 'ones((0, 3), chunks=2, dtype="int32").prod()'),
        ("empty_mean", 'zeros((0, 3), chunks=2).mean()'),
        ("empty_any_all", 'stack([zeros(0, chunks=1, dtype="bool").any(), zeros(0, chunks=1, dtype="bool").all()])'),
        ("empty_max", 'zeros((0, 3), chunks=2).max()'),
    ]
    for n, e in R:
        op = opens("m=bool_3x4") if "m." in e else None
        case(g, n, e, opens_=op)
    case(g, "empty_max_axis1", 'zeros((0, 3), chunks=2).max(axis=1)', numpy_fallback=True)
    case(g, "empty_min_keepdims_axis1", 'zeros((0, 3), chunks=2).min(axis=1, keepdims=True)',
         numpy_fallback=True)
    N = opens("a=nan_4x5")
    case(g, "local_nan_sum", 'a.sum(axis=0)', opens_=N)
    case(g, "local_nan_nansum", 'nansum(a, axis=0)', opens_=N)
    case(g, "local_nan_nansum_chunked", 'nansum(a * ones((4, 5), chunks=(3, 2)), axis=1)', opens_=N)
    case(g, "local_nan_nanmean_axis1", '(a + zeros((4, 5), chunks=2)).nanmean(axis=1)', opens_=N)
    case(g, "local_nan_nanmean_fn", 'nanmean(a + zeros((4, 5), chunks=2), axis=0)', opens_=N)
    case(g, "local_nan_nanmin_nanmax", 'stack([nanmin(a + zeros((4, 5), chunks=3)), nanmax(a + zeros((4, 5), chunks=3))])', opens_=N)
    case(g, "local_nan_nanmin_axis1", 'nanmin(a + zeros((4, 5), chunks=3), axis=1)', opens_=N)
    case(g, "local_nan_nanmax_axis0_keepdims", 'nanmax(a + zeros((4, 5), chunks=3), axis=0, keepdims=True)', opens_=N)
    case(g, "local_nan_min_propagates", '(a + zeros((4, 5), chunks=3)).min(axis=1)', opens_=N)
    case(g, "local_nan_max_propagates", 'max(a + zeros((4, 5), chunks=3), axis=0)', opens_=N)
    F = opens("f=f32_nan_10")
    case(g, "local_f32_nanmean", 'nanmean(f + zeros(10, chunks=4, dtype="float32"))', opens_=F)
    case(g, "local_f32_nansum", 'nansum(f + zeros(10, chunks=4, dtype="float32"))', opens_=F)
    case(g, "local_f32_mean_nan", 'mean(f + zeros(10, chunks=4, dtype="float32"))', opens_=F)
    case(g, "local_only_sum", 'b.sum()', opens_=opens("b=i32_6"))
    case(g, "local_3d_sum_axis_tuple", 'sum(v, axis=(0, 2), keepdims=True)', opens_=opens("v=i64_2x3x4"))


def g_index() -> None:
    g = "index"
    ix = [
        ("int", '[3]'), ("neg_int", '[-1]'), ("two_ints", '[5, 7]'), ("two_neg_ints", '[-3, -2]'),
        ("slice", '[2:10]'), ("slice_neg_bounds", '[-10:-2]'), ("step", '[::3]'),
        ("reverse", '[::-1]'), ("neg_step3", '[::-3]'), ("neg_step_bounds", '[20:3:-4]'),
        ("neg_step_neg_bounds_2d", '[-2:-20:-5, 1::4]'), ("empty_equal_bounds", '[5:5]'),
        ("empty_wrong_direction", '[10:2]'), ("empty_neg_step_wrong_direction", '[2:10:-1]'),
        ("out_of_range_slice_clamped", '[:, -100:100]'), ("ellipsis_int", '[..., 3]'),
        ("none_front", '[None]'), ("none_middle", '[:, None, :5]'), ("none_both_ends", '[None, ..., None]'),
        ("int_ellipsis", '[1, ...]'), ("ellipsis_neg_step", '[..., ::-5]'), ("slice_int", '[3:4, 7]'),
        ("int_reverse", '[-1, ::-1]'), ("neg_step_to_start", '[5::-2, 0:16:15]'),
        ("cross_chunk_step", '[3:21:7, 1:15:6]'), ("chained", '[::-1][2:9][::2]'),
    ]
    for n, s in ix:
        case(g, f"x2d_{n}", f'{X}{s}', chunks=True)
    one = [
        ("neg_step_bounds", '[7:1:-2]'), ("tail", '[-3:]'), ("reverse_then_step", '[::-1][::2]'),
        ("trim", '[1:-1]'), ("past_end", '[100:]'), ("neg_start_clamped", '[-100:3]'),
        ("neg_step_neg_stop", '[-2:-9:-3]'), ("scalar", '[-4]'), ("none_1d", '[None, 2:5]'),
        ("reverse_from_minus_one", '[-1::-4]'),
        ("neg_step_start_before_array", '[-20::-1]'),
        ("neg_step_start_before_array_stop", '[-11:-7:-2]'),
        ("neg_step_start_past_end", '[100:2:-3]'),
    ]
    for n, s in one:
        case(g, f"x1d_{n}", f'arange(10, chunks=3){s}')
    three = [
        ("ellipsis_last", '[..., 1]'), ("int_ellipsis_none", '[1, ..., None]'),
        ("slices_mixed", '[:, ::-1, 1:3]'), ("scalar_0d", '[-1, -1, -1]'),
        ("nones_and_ints", '[None, 0, None, :, 2]'), ("ellipsis_middle", '[0, ..., -2:]'),
    ]
    for n, s in three:
        case(g, f"x3d_{n}", f'{Y}{s}', chunks=True)
    case(g, "x1d_irregular_chunks_reverse", 'arange(10, chunks=((1, 4, 5),))[8:0:-3]')
    case(g, "local_slice", 'a[1:, ::-1]', opens_=opens("a=f64_3x4"))
    case(g, "local_row_plus_chunked", 'a[1] + ones(4, chunks=3)', opens_=opens("a=f64_3x4"))
    case(g, "index_after_arith", f'({Y} * 2 - 1)[1, :, ::-2]', chunks=True)
    case(g, "index_0d_then_arith", 'arange(10, chunks=3)[4] * 2.5')


def g_shape() -> None:
    g = "shape"
    T = [
        ("T_2d", f'{X}.T'), ("T_3d", f'{Y}.T'), ("transpose_tuple", f'{Y}.transpose((2, 0, 1))'),
        ("transpose_varargs", f'{Y}.transpose(1, 2, 0)'), ("transpose_noargs", f'{Y}.transpose()'),
        ("transpose_neg_axes", f'{Y}.transpose((-1, 0, -2))'),
        ("swapaxes_fn", f'swapaxes({Y}, 0, 2)'), ("swapaxes_method_neg", f'{Y}.swapaxes(-1, 1)'),
        ("swapaxes_same", f'{Y}.swapaxes(1, 1)'),
        ("T_then_slice_rechunk", f'{X}.T[::2, 1:].rechunk(4)'),
    ]
    for n, e in T:
        case(g, n, e, chunks=True)
    case(g, "T_simple", 'ones((3, 4), chunks=(2, 3)).T')
    case(g, "T_1d", 'arange(5, chunks=2).T')
    rs = [
        ("reshape_1d_to_6x4", 'arange(24, chunks=5).reshape((6, 4))'),
        ("reshape_6x4_to_4x6", 'arange(24, chunks=5).reshape((6, 4)).reshape((4, 6))'),
        ("reshape_to_1d_minus1", f'{Y}.reshape(-1)'),
        ("reshape_to_1d_tuple", f'{Y}.reshape((24,))'),
        ("reshape_split_minus1", 'arange(24, chunks=5).reshape((2, -1, 3))'),
        ("reshape_merge", f'{Y}.reshape((6, 4))'),
        ("reshape_merge_last", f'{Y}.reshape((2, 12))'),
        ("reshape_size1_dims", f'{Y}.reshape((1, 24, 1))'),
        ("reshape_drop_size1", 'arange(6, chunks=4).reshape((1, 6, 1)).reshape((3, 2))'),
        ("reshape_5d_to_5d", 'arange(720, chunks=100).reshape((2, 3, 4, 5, 6)).rechunk(2).reshape((6, 2, 2, 30, 1))'),
        ("reshape_transposed", f'{Y}.T.reshape((4, 6))'),
        ("reshape_reversed", 'arange(12, chunks=5)[::-1].reshape((3, 4))'),
        ("reshape_to_0d", 'arange(1, chunks=1).reshape(())'),
        ("reshape_0d_to_2d", 'full((), 2.0).reshape((1, 1))'),
        ("reshape_zero_size", 'zeros((0, 3), chunks=2).reshape((3, 0))'),
        ("reshape_irregular", f'{X}.reshape((16, 24))'),
        ("reshape_then_rechunk", 'arange(24, chunks=5).reshape((4, 6)).rechunk((3, 4))'),
    ]
    for n, e in rs:
        case(g, n, e, chunks=(True if n == "reshape_then_rechunk" else None))
    rc = [
        ("rechunk_int", f'{X}.rechunk(5)'),
        ("rechunk_tuple_minus1", f'{X}.rechunk((5, -1))'),
        ("rechunk_tuple_none", f'{X}.rechunk((None, 4))'),
        ("rechunk_dict", f'{X}.rechunk({{0: 5}})'),
        ("rechunk_dict_minus1", f'{X}.rechunk({{1: -1}})'),
        ("rechunk_tuple_of_tuples", f'{X}.rechunk(((12, 12), (1, 15)))'),
        ("rechunk_minus1", f'{X}.rechunk(-1)'),
        ("rechunk_3d_mixed", f'{Y}.rechunk((2, None, -1))'),
        ("rechunk_1d", 'arange(10, chunks=3).rechunk(4)'),
        ("rechunk_1d_tuple", 'arange(10, chunks=3).rechunk(((5, 5),))'),
        ("rechunk_auto", f'{X}.rechunk("auto")'),
    ]
    for n, e in rc:
        case(g, n, e, chunks=(None if "auto" in e else True))
    cc = [
        ("concat_axis0", 'concatenate([ones((2, 3), chunks=2), zeros((4, 3), chunks=3)], axis=0)'),
        ("concat_axis1", 'concatenate([arange(6, chunks=4).reshape((2, 3)).rechunk(2), ones((2, 2), chunks=1)], axis=1)'),
        ("concat_axis_neg1", 'concatenate([ones((2, 2, 1), chunks=1), zeros((2, 2, 3), chunks=2)], axis=-1)'),
        ("concat_three_1d", 'concatenate([arange(3, chunks=2), arange(4, chunks=3), arange(2, chunks=2)])'),
        ("concat_default_axis_2d", 'concatenate([ones((1, 3), chunks=1), zeros((2, 3), chunks=(1, 2))])'),
        ("concat_with_local", 'concatenate([a, ones((2, 4), chunks=(1, 2))], axis=0)'),
        ("concat_dtypes_int8_float32", 'concatenate([ones(2, chunks=1, dtype="int8"), full(2, 0.5, chunks=2, dtype="float32")])'),
        ("concat_dtypes_bool_int16", 'concatenate([ones(2, chunks=1, dtype="bool"), arange(2, chunks=2, dtype="int16")])'),
        ("concat_dtypes_uint8_int8", 'concatenate([ones(2, chunks=1, dtype="uint8"), full(2, -1, chunks=2, dtype="int8")])'),
        ("concat_empty_piece", 'concatenate([arange(3, chunks=2), arange(0, chunks=1), arange(2, chunks=2)])'),
        ("stack_axis0", 'stack([arange(3, chunks=2), arange(3, chunks=2) * 2])'),
        ("stack_axis1", 'stack([arange(3, chunks=2), arange(3, chunks=2) * 2], axis=1)'),
        ("stack_axis_neg1_2d", 'stack([ones((2, 3), chunks=2), zeros((2, 3), chunks=2)], axis=-1)'),
        ("stack_2d_axis1", 'stack([ones((2, 3), chunks=(1, 2)), zeros((2, 3), chunks=(1, 2)), full((2, 3), 2, chunks=(1, 2))], axis=1)'),
        ("stack_dtypes", 'stack([arange(3, chunks=2, dtype="int32"), arange(3, chunks=2, dtype="uint8")])'),
        ("stack_different_chunks", 'stack([arange(6, chunks=4), arange(6, chunks=2)])'),
        ("stack_with_local", 'stack([b, arange(6, chunks=4, dtype="int32")])'),
    ]
    for n, e in cc:
        op = opens("a=f64_3x4") if "[a," in e else (opens("b=i32_6") if "[b," in e else None)
        case(g, n, e, opens_=op, chunks=(True if "reshape" in e else None))
    case(g, "stack_0d_reductions", 'stack([arange(10, chunks=3).sum(), arange(10, chunks=3).mean(), arange(10, chunks=3).max()])')
    case(g, "stack_0d_reductions_float32", 'stack([ones(4, chunks=3, dtype="float32").sum(), ones(4, chunks=3, dtype="float32").min()])')
    case(g, "stack_0d_int_reductions", 'stack([arange(5, chunks=2, dtype="int8").sum(), arange(5, chunks=2, dtype="int8").max()])')
    sh = [
        ("shape_2d", f'{X}.shape'), ("shape_sliced", f'{Y}[1:, None].shape'),
        ("shape_reduced", f'{X}.sum(axis=0).shape'), ("shape_T", f'{Y}.T.shape'),
        ("shape_0d", 'zeros(()).shape'), ("shape_index", f'{X}.shape[1]'),
        ("shape_empty", 'arange(5, chunks=2)[3:1].shape'), ("shape_local", 'a.shape', ),
        ("ndim_2d", f'{X}.ndim'), ("ndim_0d", 'arange(4, chunks=2).sum().ndim'),
        ("ndim_none_index", f'{Y}[None, ..., None].ndim'),
    ]
    for n, e in sh:
        case(g, n, e, opens_=(opens("a=f64_3x4") if e.startswith("a.") else None))
    at = [
        ("astype_float32", 'arange(5, chunks=2).astype("float32")'),
        ("astype_int32_truncates", 'linspace(-1.5, 1.5, 7, chunks=3).astype("int32")'),
        ("astype_bool", 'linspace(-1, 1, 5, chunks=2).astype("bool")'),
        ("astype_uint8_wrap", 'arange(-2, 3, chunks=2).astype("uint8")'),
        ("astype_uint8_from_int_300", 'full(2, 300, chunks=1).astype("uint8")'),
        ("astype_int8_from_bool", '(arange(4, chunks=3) > 1).astype("int8")'),
        ("astype_float32_rounding", 'full(2, 16777217, chunks=1).astype("float32")'),
        ("astype_float32_pi", 'full(2, pi, chunks=1).astype("float32")'),
        ("astype_uint64_from_neg", 'full(2, -1, chunks=1).astype("uint64")'),
    ]
    for n, e in at:
        case(g, n, e)


def g_error() -> None:
    g = "error"
    E = [
        ("broadcast_mismatch", 'ones((3, 4), chunks=2) + ones((4, 3), chunks=2)'),
        ("broadcast_mismatch_1d", 'arange(5, chunks=2) * arange(4, chunks=2)'),
        ("index_out_of_range", 'arange(10, chunks=3)[10]'),
        ("index_neg_out_of_range", 'arange(10, chunks=3)[-11]'),
        ("index_out_of_range_axis1", 'ones((3, 4), chunks=2)[0, 4]'),
        ("too_many_indices", 'ones((3, 4), chunks=2)[0, 0, 0]'),
        ("two_ellipses", 'ones((3, 4), chunks=2)[..., 0, ...]'),
        ("slice_step_zero", 'arange(6, chunks=2)[::0]'),
        ("reshape_wrong_size", 'arange(12, chunks=4).reshape((5, 3))'),
        ("reshape_two_minus1", 'arange(12, chunks=4).reshape((-1, -1))'),
        ("reshape_minus1_not_divisible", 'arange(12, chunks=4).reshape((5, -1))'),
        ("concat_mismatched", 'concatenate([ones((2, 3), chunks=2), ones((2, 4), chunks=2)], axis=0)'),
        ("concat_axis_out_of_range", 'concatenate([ones((2, 3), chunks=2), ones((2, 3), chunks=2)], axis=2)'),
        ("stack_mismatched", 'stack([ones(3, chunks=2), ones(4, chunks=2)])'),
        ("bad_chunks_sum", 'ones(10, chunks=((3, 3, 3),))'),
        ("bad_chunks_2d", 'ones((4, 6), chunks=((2, 2), (3, 2)))'),
        ("bad_rechunk_sum", 'arange(10, chunks=3).rechunk(((4, 4),))'),
        ("reduce_axis_out_of_range", 'ones((3, 4), chunks=2).sum(axis=2)'),
        ("reduce_neg_axis_out_of_range", 'ones((3, 4), chunks=2).mean(axis=-3)'),
        ("reduce_duplicate_axis", 'ones((3, 4), chunks=2).sum(axis=(0, 0))'),
        ("int_negative_power", 'arange(5, chunks=2) ** -1'),
        ("int_array_negative_power", 'arange(1, 4, chunks=2) ** full(3, -2, chunks=2)'),
        ("transpose_repeated_axis", 'ones((3, 4), chunks=2).transpose((0, 0))'),
        ("transpose_wrong_len", 'ones((3, 4), chunks=2).transpose((1, 0, 2))'),
        ("swapaxes_out_of_range", 'swapaxes(ones((3, 4), chunks=2), 0, 2)'),
        ("empty_not_supported", 'empty((3,), chunks=2)'),
        ("random_not_supported", 'random((3,), chunks=2)'),
        ("unknown_name", 'foo + 1'),
        ("min_of_empty", 'arange(5, chunks=2)[3:1].min()'),
        ("where_shape_mismatch", 'where(ones(3, chunks=2, dtype="bool"), ones(4, chunks=2), 0)'),
        ("local_shape_mismatch", 'a + ones((4, 3), chunks=2)'),
    ]
    notes = {
        "int_negative_power": "dask's ** returns NotImplemented, so Python reports a TypeError; "
                              "numpy itself raises ValueError: Integers to negative integer "
                              "powers are not allowed.",
        "two_ellipses": "numpy: IndexError: an index can only have a single ellipsis ('...')",
        "bad_chunks_sum": "a chunking error: plain numpy has no chunks and would succeed",
        "bad_chunks_2d": "a chunking error: plain numpy has no chunks and would succeed",
        "bad_rechunk_sum": "a chunking error: plain numpy has no chunks and would succeed",
    }
    for n, e in E:
        case(g, n, e, opens_=(opens("a=f64_3x4") if e.startswith("a ") else None),
             note=notes.get(n))


# --------------------------------------------------------------------------------------
# Randomized cases.
# --------------------------------------------------------------------------------------

def _rand_chunks(rng: random.Random, n: int):
    """A chunk spec for one axis of length n: int, -1, or an irregular tuple."""
    r = rng.random()
    if r < 0.45:
        return rng.randint(1, n)
    if r < 0.6:
        return -1
    parts, left = [], n
    while left > 0:
        p = rng.randint(1, left)
        parts.append(p)
        left -= p
    return tuple(parts)


def _fmt_chunks(specs) -> str:
    """Tuple of int/-1 entries, one per axis."""
    return "(" + ", ".join(str(s) for s in specs) + ("," if len(specs) == 1 else "") + ")"


def _axis_tuple(specs, shape):
    out = []
    for s, n in zip(specs, shape):
        if isinstance(s, tuple):
            out.append(s)
        elif s == -1:
            out.append((n,))
        else:
            out.append(tuple([s] * (n // s) + ([n % s] if n % s else [])))
    return tuple(out)


def _py(t) -> str:
    return repr(tuple(t)) if not isinstance(t, tuple) else repr(t)


def _rand_slice(rng: random.Random, n: int) -> tuple[str, int | None]:
    """Returns (index text, resulting length or None if an integer index).
    Empty results are kept only one time in ten."""
    while True:
        txt, length = _rand_slice1(rng, n)
        if length != 0 or rng.random() < 0.1:
            return txt, length


def _rand_slice1(rng: random.Random, n: int) -> tuple[str, int | None]:
    r = rng.random()
    if r < 0.15:
        i = rng.randrange(n)
        if rng.random() < 0.5:
            i -= n
        return str(i), None
    if r < 0.3:
        return ":", n

    def bound():
        if rng.random() < 0.3:
            return None
        v = rng.randint(-n - 2, n + 2)
        return v

    start, stop = bound(), bound()
    step = rng.choice([None, 1, 2, 3, -1, -2, -3])
    s = slice(start, stop, step)
    length = len(range(n)[s])
    txt = ("" if start is None else str(start)) + ":" + ("" if stop is None else str(stop))
    if step is not None:
        txt += ":" + str(step)
    return txt, length


def g_random() -> None:
    g = "random"
    rng = random.Random(SEED)
    count = 0
    while count < 60:
        nd = rng.randint(1, 4)
        while True:
            shape = tuple(rng.randint(1, 13) for _ in range(nd))
            if math.prod(shape) <= 1500:
                break
        size = math.prod(shape)
        dt = rng.choice(["float32", "float64", "int32", "int64", "uint8", "bool"])
        c1 = rng.randint(1, max(1, size // 2))
        if dt in ("float32", "float64", "int32", "int64"):
            base = f'arange({size}, chunks={c1}, dtype="{dt}")'
            if rng.random() < 0.5:
                base = f'({base} - {size // 2})'
        elif dt == "uint8":
            base = f'(arange({size}, chunks={c1}) % 200).astype("uint8")'
        else:
            base = f'(arange({size}, chunks={c1}) % 3 == 1)'
        specs = [_rand_chunks(rng, n) for n in shape]
        if any(isinstance(s, tuple) for s in specs):
            chunk_txt = _py(_axis_tuple(specs, shape))
        else:
            chunk_txt = _fmt_chunks(specs)
        if nd > 1:
            x = f'{base}.reshape({_py(shape)}).rechunk({chunk_txt})'
        else:
            x = f'{base}.rechunk({chunk_txt})'

        # elementwise op appropriate for the dtype
        if dt == "bool":
            ops = ['~{x}', '{x} & ({x} ^ True)', '{x} | ~{x}', 'where({x}, 2, -1)',
                   '{x} * 3', '{x} + {x}']
        elif dt == "uint8":
            ops = ['{x} * 3 - 1', '{x} // 7', '{x} % 5', '({x} > 100) | ({x} < 10)',
                   'where({x} > 50, {x}, 0)', '{x} + {x}', 'sqrt({x})']
        elif dt.startswith("int"):
            ops = ['{x} * 3 - 1', '{x} // 4', '{x} % 7', '-{x}', 'abs({x})',
                   'where({x} > 10, {x}, -{x})', '{x} / 8', '{x} ** 2', '({x} & 6) ^ 3']
        else:
            ops = ['{x} * 0.5 + 1', '{x} / 3', 'sqrt(abs({x}))', 'sin({x})', 'exp({x} / 100)',
                   'where({x} > 10, nan, {x})', 'floor({x} / 4)', '{x} % 3.5', '{x} ** 2']
        op = rng.choice(ops)
        # occasionally combine with a differently-chunked copy of itself
        other = None
        if rng.random() < 0.2:
            alt = [_rand_chunks(rng, n) for n in shape]
            other = f'{x}.rechunk({_py(_axis_tuple(alt, shape))})'

        def elem(u: str, v: str | None) -> str:
            e = op.replace('{x}', u)
            return e if v is None else f'({e}) + {v}'

        # slice (applied before or after the elementwise op)
        items, out_shape = [], []
        for n in shape:
            txt, ln = _rand_slice(rng, n)
            items.append(txt)
            if ln is not None:
                out_shape.append(ln)
        while len(items) > 1 and items[-1] == ":" and rng.random() < 0.7:
            items.pop()
        idx = "[" + ", ".join(items) + "]"
        if rng.random() < 0.5:
            expr = elem(f'{x}{idx}', None if other is None else f'{other}{idx}')
        else:
            expr = f'({elem(x, other)}){idx}'

        # reduction (most of the time)
        if rng.random() < 0.65 and len(out_shape) > 0:
            rname = rng.choice(["sum", "mean", "max", "min", "prod", "std", "var", "any", "all",
                                "nansum", "nanmax"])
            k = len(out_shape)
            r = rng.random()
            if r < 0.3:
                axis = None
            elif r < 0.7:
                a = rng.randrange(k)
                axis = a - k if rng.random() < 0.4 else a
            else:
                axis = tuple(sorted(rng.sample(range(k), rng.randint(1, k))))
            red_axes = range(k) if axis is None else (
                [axis % k] if isinstance(axis, int) else list(axis))
            # (dask cannot min/max an array with an empty axis even when not reducing it)
            if rname in ("max", "min", "nanmax") and 0 in out_shape:
                rname = "sum"
            if rname == "prod" and dt not in ("bool",) and sum(out_shape[a] for a in red_axes) > 8:
                rname = "sum"
            args = []
            if axis is not None:
                args.append(f"axis={axis}")
            if rng.random() < 0.3:
                args.append("keepdims=True")
            if rname in ("std", "var") and rng.random() < 0.4:
                args.append("ddof=1")
            if rng.random() < 0.5:
                expr = f'({expr}).{rname}({", ".join(args)})'
            else:
                expr = f'{rname}({", ".join([expr] + args)})'
            flag = False
        else:
            flag = True
        count += 1
        case(g, f"r{count:02d}", expr, chunks=flag)


# --------------------------------------------------------------------------------------
# Evaluation and encoding.
# --------------------------------------------------------------------------------------

def encode_value(v, kind: str):
    if kind == "f":
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return float(v)
    if kind == "b":
        return bool(v)
    return int(v)


def evaluate(c: dict) -> dict:
    expr = c["expr"]
    rec = {"name": c["name"], "expr": expr, "opens": c["opens"]}
    notes = [c["note"]] if c["note"] else []
    try:
        ns = make_namespace(c["opens"])
        _FALLBACKS.clear()
        res = eval(compile_expr(expr), ns)
        chunks = None
        meta_dtype = None
        if res is NotImplemented:  # dask's operator overloads do this for e.g. -bool
            raise TypeError("operation not supported for these operand dtypes "
                            "(dask returned NotImplemented)")
        if isinstance(res, da.Array):
            chunks = res.chunks
            meta_dtype = res.dtype
            meta_shape = res.shape
            val = np.asarray(res.compute())
            if val.shape != meta_shape:
                notes.append(f"dask metadata shape {meta_shape} != computed {val.shape}")
        elif isinstance(res, tuple):  # .shape
            val = np.array(res, dtype=np.int64)
        elif isinstance(res, (np.ndarray, np.generic)):
            val = np.asarray(res)
        elif isinstance(res, int) and not isinstance(res, bool):  # .ndim, .shape[i]
            val = np.array(res, dtype=np.int64)
        else:
            raise RuntimeError(f"oracle: unexpected result type {type(res)} for {expr!r}")
    except RuntimeError as e:
        if str(e).startswith("oracle:"):
            raise
        rec.update(shape=None, dtype=None, chunks=None, data=None,
                   error=f"{type(e).__name__}: {_short(e)}")
        return _finish(rec, notes)
    except Exception as e:  # numpy/dask raised: an expected-error case
        if c["numpy_fallback"]:
            res = eval(compile_expr(expr), make_numpy_namespace(c["opens"]))
            val, chunks, meta_dtype = np.asarray(res), None, None
            notes.append(f"dask raises {type(e).__name__} ({_short(e)[:80]}); "
                         "numpy's result recorded")
        else:
            rec.update(shape=None, dtype=None, chunks=None, data=None,
                       error=f"{type(e).__name__}: {_short(e)}")
            return _finish(rec, notes)

    notes.extend(dict.fromkeys(_FALLBACKS))
    if val.size > MAX_ELEMENTS:
        raise RuntimeError(f"oracle: result of {c['name']} too large ({val.size})")
    if meta_dtype is not None and meta_dtype != val.dtype:
        notes.append(f"dask metadata dtype {meta_dtype} != computed {val.dtype}; computed recorded")
    if val.dtype == np.float16:
        notes.insert(0, "float16")
    flag = c["chunks_flag"]
    if flag is None:
        flag = compare_chunks_default(expr)
    if chunks is not None and flag and all(
            not (isinstance(b, float) and math.isnan(b)) for ax in chunks for b in ax):
        rec_chunks = [[int(b) for b in ax] for ax in chunks]
    else:
        rec_chunks = None
    kind = val.dtype.kind
    if kind not in "biuf":
        raise RuntimeError(f"oracle: unexpected dtype {val.dtype} for {expr!r}")
    flat = val.ravel(order="C").tolist()
    rec.update(shape=list(val.shape), dtype=val.dtype.name, chunks=rec_chunks,
               data=[encode_value(v, kind) for v in flat], error=None)
    return _finish(rec, notes)


def _short(e: Exception) -> str:
    msg = str(e).strip()
    # dask wraps backend errors: keep the original message
    if "Original Message:" in msg:
        msg = msg.split("Original Message:", 1)[1].strip()
    msg = " ".join(msg.split())
    return msg[:300]


def _finish(rec: dict, notes: list[str]) -> dict:
    if notes:
        rec["note"] = "; ".join(notes)
    return rec


def main() -> int:
    write_data(make_data())
    for gen in (g_ctor, g_promo, g_math, g_bcast, g_reduce, g_index, g_shape, g_error, g_random):
        gen()
    names = [c["name"] for c in CASES]
    dup = {n for n in names if names.count(n) > 1}
    assert not dup, dup

    dask.config.set(scheduler="synchronous")  # errstate is thread-local: compute here
    out = []
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        for c in CASES:
            out.append(evaluate(c))

        for r in out:
            d = numpy_check(r)
            if d is None:
                continue
            print(f"  [numpy cross-check] {r['name']}: {d}")
            if r["error"] is None:
                # only float rounding differences are expected here (dask computes per
                # chunk / in a different order); anything else is an oracle bug.
                assert "values differ" in d and r["dtype"].startswith("float"), (r["name"], d)
                r["note"] = "; ".join(filter(None, [r.get("note"),
                                                    f"unchunked numpy differs: {d}"]))

    text = "[\n" + ",\n".join(json.dumps(r, allow_nan=False) for r in out) + "\n]\n"
    json.loads(text)  # sanity
    OUT.write_text(text)

    groups: dict[str, list[int]] = {}
    for r in out:
        gname = r["name"].split("/")[0]
        t = groups.setdefault(gname, [0, 0])
        t[0] += 1
        t[1] += r["error"] is not None
    print(f"numpy {np.__version__}, dask {dask.__version__}: {len(out)} cases -> {OUT}")
    for gname, (n, nerr) in groups.items():
        print(f"  {gname:8s} {n:4d} cases ({nerr} errors)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
