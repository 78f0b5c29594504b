#!/usr/bin/env python3
"""Re-express facts from Dask's own array tests as tessera expression cases.

Source suites (dask 2026.8.0, ``dask/array/tests/``): ``test_reshape.py``,
``test_rechunk.py`` and ``test_slicing.py``.  From each test we take the *facts* --
input shape, input chunks, the reshape / rechunk / basic-index operation, and (where
the test asserts them) the expected output chunks -- and write each one as a tessera
expression.  The input array is always integer ``arange`` data, laid out with the
test's shape and chunks:

    arange(N, chunks=N).reshape(SHAPE).rechunk(INPUT_CHUNKS)   # then the operation

Every expression is evaluated twice here:

* with dask (``arange`` -> ``da.arange``; ``.reshape``/``.rechunk``/indexing are dask's),
  giving ``dask_chunks`` (the result's ``.chunks`` before compute);
* with plain numpy (``arange`` -> ``np.arange``; ``.rechunk`` is a no-op), giving
  ``shape``/``dtype``/``data``.  The dask result is computed and checked equal.

When a test states the output chunks (``chunks_stated_by_dask_test``), the stated
value is kept in the table below and the script asserts dask still produces it.

Output: ``dask_cases.json`` next to this file:

    {"generated_by", "dask", "numpy",
     "cases": [{"suite", "source", "expr", "shape", "dtype", "dask_chunks",
                "chunks_stated_by_dask_test", "data", ["note"]}, ...],
     "skipped": [{"source", "why", ["expr"]}, ...]}

Usage:

    ~/.cache/tessera-peer-venv/bin/python tests/oracle/make_dask_cases.py
    # optional: also run the tessera binary on every case and print disagreements
    ~/.cache/tessera-peer-venv/bin/python tests/oracle/make_dask_cases.py \\
        --check-tessera target/release/tessera

The output is deterministic for given dask/numpy versions.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import dask
import dask.array as da

HERE = Path(__file__).resolve().parent
OUT = HERE / "dask_cases.json"
MAX_RESULT_ELEMENTS = 20000

CASES: list[dict] = []
SKIPPED: list[dict] = []


# --------------------------------------------------------------------------------------
# Case builders
# --------------------------------------------------------------------------------------

def fmt(obj) -> str:
    """Python-literal text for shapes / chunk specs (tuples, ints, dicts, None, str)."""
    if isinstance(obj, tuple):
        inner = ", ".join(fmt(o) for o in obj)
        return f"({inner},)" if len(obj) == 1 else f"({inner})"
    if isinstance(obj, list):
        return fmt(tuple(obj))
    if isinstance(obj, dict):
        return "{" + ", ".join(f"{k}: {fmt(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, str):
        return f'"{obj}"'
    return repr(obj)


def src(shape, chunks=None) -> str:
    """Expression for an int64 arange array with the given shape and chunks.

    ``chunks`` is anything dask/tessera accept: int, tuple of ints, tuple of tuples.
    ``None`` means a single block (dask's ``from_array``/``asarray`` of a small array).
    """
    shape = tuple(shape)
    n = math.prod(shape)
    if len(shape) == 1:
        return f"arange({n}, chunks={fmt(chunks if chunks is not None else max(n, 1))})"
    text = f"arange({n}, chunks={max(n, 1)}).reshape({fmt(shape)})"
    if chunks is not None:
        text += f".rechunk({fmt(chunks)})"
    return text


def case(suite, source, expr, stated=None, note=None):
    """Register a case.  ``stated``: the chunks the dask test asserts (or None)."""
    CASES.append({"suite": suite, "source": source, "expr": expr,
                  "stated": stated, "note": note})


def skip(source, why, expr=None):
    entry = {"source": source, "why": why}
    if expr is not None:
        entry["expr"] = expr
    SKIPPED.append(entry)


def norm_chunks(chunks):
    return tuple(tuple(int(c) for c in axis) for axis in chunks)


# --------------------------------------------------------------------------------------
# test_reshape.py
# --------------------------------------------------------------------------------------

def reshape_cases():
    R = "reshape"
    f = "test_reshape.py::"

    # The reshape_rechunk expectation table: (in shape, out shape, input chunks,
    # rechunked input chunks, output chunks).  We record a.reshape(out) on an array
    # with the input chunks; its chunks are the table's output chunks.
    table = [
        ((4,), (4,), ((2, 2),), ((2, 2),), ((2, 2),)),
        ((4,), (2, 2), ((2, 2),), ((2, 2),), ((1, 1), (2,))),
        ((4,), (4, 1), ((2, 2),), ((2, 2),), ((2, 2), (1,))),
        ((4,), (1, 4), ((2, 2),), ((2, 2),), ((1,), (2, 2))),
        ((1, 4), (4,), ((1,), (2, 2)), ((1,), (2, 2)), ((2, 2),)),
        ((4, 1), (4,), ((2, 2), (1,)), ((2, 2), (1,)), ((2, 2),)),
        ((4, 1, 4), (4, 4), ((2, 2), (1,), (2, 2)), ((2, 2), (1,), (2, 2)),
         ((2, 2), (2, 2))),
        ((4, 4), (4, 1, 4), ((2, 2), (2, 2)), ((2, 2), (2, 2)),
         ((2, 2), (1,), (2, 2))),
        ((2, 2), (4,), ((2,), (2,)), ((2,), (2,)), ((4,),)),
        ((2, 2), (4,), ((1, 1), (2,)), ((1, 1), (2,)), ((2, 2),)),
        ((2, 2), (4,), ((2,), (1, 1)), ((1, 1), (2,)), ((2, 2),)),
        ((64,), (4, 4, 4), ((8,) * 8,), ((8,) * 8,), ((1, 1, 1, 1), (2, 2), (4,))),
        ((64,), (4, 4, 4), ((32, 32),), ((32, 32),), ((2, 2), (4,), (4,))),
        ((64,), (4, 4, 4), ((16, 48),), ((16, 48),), ((1, 3), (4,), (4,))),
        ((64,), (4, 4, 4), ((20, 44),), ((16, 16, 32),), ((1, 1, 2), (4,), (4,))),
        ((64, 4), (8, 8, 4), ((16,) * 4, (2, 2)), ((16,) * 4, (2, 2)),
         ((2, 2, 2, 2), (8,), (2, 2))),
    ]
    for i, (ishape, oshape, pre, _inch, outch) in enumerate(table):
        case(R, f"{f}test_reshape_rechunk[{i}] {ishape}->{oshape}",
             f"{src(ishape, pre)}.reshape({fmt(oshape)})", stated=outch)

    case(R, f"{f}test_reshape_unknown_sizes",
         f"{src((10, 6, 6), (5, 2, 3))}.reshape((60, -1))")
    skip(f"{f}test_reshape_unknown_sizes (two -1 entries)",
         "error case (ValueError: only one -1); the case format has no error field")

    no_merge = [
        ((2, 3, 4), ((1, 1), (1, 2), (2, 2)), (6, 4), ((1, 2, 1, 2), (2, 2))),
        ((1, 2, 3, 4), ((1,), (1, 1), (1, 2), (2, 2)), (6, 4),
         ((1, 2, 1, 2), (2, 2))),
        ((2, 2, 3, 4), ((1, 1), (1, 1), (1, 2), (2, 2)), (12, 4),
         ((1, 2, 1, 2, 1, 2, 1, 2), (2, 2))),
        ((2, 2, 3, 4), ((1, 1), (1, 1), (1, 2), (2, 2)), (4, 3, 4),
         ((1, 1, 1, 1), (1, 2), (2, 2))),
        ((2, 2, 3, 4), ((1, 1), (2,), (1, 2), (4,)), (4, 3, 4),
         ((2, 2), (1, 2), (4,))),
        ((2, 3, 4), ((1, 1), (1, 1, 1), (2, 2)), (24,), ((2,) * 12,)),
        ((2, 3, 4), ((1, 1), (1, 1, 1), (4,)), (2, 12), ((1, 1), (4,) * 3)),
    ]
    for i, (ishape, inch, oshape, outch) in enumerate(no_merge):
        case(R, f"{f}test_reshape_all_chunked_no_merge[{i}] {ishape}->{oshape}",
             f"{src(ishape, inch)}.reshape({fmt(oshape)})", stated=outch)

    case(R, f"{f}test_reshape_all_not_chunked_merge (2, 3, 4)->(24,)",
         f"{src((2, 3, 4), ((1, 1), (1, 2), (2, 2)))}.reshape((24,))",
         stated=((4,) * 6,))

    # merge_chunks=False is not in tessera's reshape; record the default reshape of
    # the same inputs (dask's default chunks, which the test says differ).
    merge = [
        ((2, 3, 4), ((2,), (1, 2), (2, 2)), (6, 4)),
        ((1, 2, 3, 4), ((1,), (2,), (1, 2), (2, 2)), (6, 4)),
        ((2, 2, 3, 4), ((1, 1), (2,), (1, 2), (2, 2)), (12, 4)),
        ((2, 2, 3, 4), ((2,), (1, 1), (1, 2), (2, 2)), (12, 4)),
        ((2, 2, 3, 4), ((2,), (2,), (1, 2), (2, 2)), (12, 4)),
        ((2, 2, 3, 4), ((2,), (2,), (1, 2), (4,)), (4, 3, 4)),
    ]
    for i, (ishape, inch, oshape) in enumerate(merge):
        case(R, f"{f}test_reshape_merge_chunks[{i}] {ishape}->{oshape} "
                "(default merge_chunks=True; the test's merge_chunks=False is not "
                "expressible)",
             f"{src(ishape, inch)}.reshape({fmt(oshape)})")

    case(R, f"{f}test_reshape_not_squashing_chunks",
         f"{src((30, 10, 20), (30, 2, 1))}.reshape((30, 200))",
         stated=((30,), (2,) * 100))

    higher = [
        ((2, 2, 100), ((1, 1), (1, 1), (20,) * 5)),
        ((2, 200), ((1, 1), (20,) * 10)),
        ((10, 10, 4), ((1,) * 10, (5, 5), (4,))),
        ((2, 25, 8), ((1,) * 2, (2,) * 5 + (3,) * 5, (8,))),
    ]
    for i, (reshaper, outch) in enumerate(higher):
        case(R, f"{f}test_reshape_to_higher_dimension[{i}] (10, 400)->{(10,) + reshaper}",
             f"{src((10, 400), (5, (20,) * 19 + (19, 1)))}.reshape({fmt((10,) + reshaper)})",
             stated=((5, 5),) + outch)

    case(R, f"{f}test_reshape_lower_dimension",
         f"{src((20, 20, 5), (10, 10, 5))}.reshape((400, 5))",
         stated=((100,) * 4, (5,)))

    case(R, f"{f}test_reshape_split_out_chunks (shape scaled down: (2, 1000, 100, 4800) "
            "chunks (2, 1000, 100, 83) -> (2, 4800) chunks (2, 83), split 4800 -> 4x1200)",
         f"{src((2, 4800), (2, 83))}.reshape((2, 4, 1200))")

    for name in ("test_expand_tuple", "test_contract_tuple", "test_smooth_chunks",
                 "test_smooth_chunks_not_divisible", "test_smooth_chunks_first_dimension",
                 "test_smooth_chunks_large_dimension"):
        skip(f + name, "tests an internal chunk-arithmetic helper, no array operation")
    for name in ("test_reshape_blockwise", "test_reshape_blockwise_raises_for_expansion",
                 "test_reshape_blockwise_dimension_reduction_and_chunks",
                 "test_reshape_blockwise_identity", "test_blockwise_reshape_sanity_checks"):
        skip(f + name, "reshape_blockwise (block-order reshape) has no tessera equivalent")
    skip(f + "test_argwhere_reshaping_not_concatenating_chunks",
         "argwhere / unknown (nan) chunks; not in tessera")


# --------------------------------------------------------------------------------------
# test_rechunk.py
# --------------------------------------------------------------------------------------

def rechunk_cases():
    R = "rechunk"
    f = "test_rechunk.py::"

    def rc(name, shape, old, new, stated=None, note=None):
        case(R, f + name, f"{src(shape, old)}.rechunk({fmt(new)})", stated, note)

    rc("test_rechunk_1d", (30,), ((10,) * 3,), ((5,) * 6,), stated=((5,) * 6,))
    rc("test_rechunk_2d", (10, 30), ((1, 2, 3, 4), (5,) * 6), ((5, 5), (15,) * 2),
       stated=((5, 5), (15,) * 2))
    rc("test_rechunk_4d", (10,) * 4, ((5, 5),) * 4, ((10,),) * 4, stated=((10,),) * 4)
    rc("test_rechunk_expand", (10, 10), (5, 5), ((3, 3, 3, 1), (3, 3, 3, 1)))
    # a=3, b=2: off = off2 = 1
    rc("test_rechunk_expand2 [old ((2, 1),)*2 -> ((2, 1),)*2]", (3, 3),
       ((2, 1),) * 2, ((2, 1),) * 2)
    rc("test_rechunk_expand2 [old ((2, 1),)*2 -> ((1, 1, 1),)*2]", (3, 3),
       ((2, 1),) * 2, ((1, 1, 1),) * 2)
    rc("test_rechunk_method", (10,) * 4, ((5, 2, 3),) * 4, ((3, 3, 3, 1),) * 4,
       stated=((3, 3, 3, 1),) * 4)
    rc("test_rechunk_blockshape", (10, 10), ((4, 4, 2), (3, 3, 3, 1)), (4, 3),
       stated=((4, 4, 2), (3, 3, 3, 1)))
    rc("test_dtype", (5,), (2,), (1,))
    x24 = ((24, 24), (4, 8))
    rc("test_rechunk_with_dict [{0: 12}]", *x24, {0: 12}, stated=((12, 12), (8, 8, 8)))
    rc("test_rechunk_with_dict [{0: (12, 12)}]", *x24, {0: (12, 12)},
       stated=((12, 12), (8, 8, 8)))
    rc("test_rechunk_with_dict [{0: -1}]", *x24, {0: -1}, stated=((24,), (8, 8, 8)))
    rc("test_rechunk_with_dict [{0: None, 1: 'auto'}]", *x24, {0: None, 1: "auto"},
       stated=((4,) * 6, (24,)),
       note="'auto' chunking: dask's heuristic (128MiB default chunk-size)")
    rc("test_rechunk_with_empty_input [{}]", *x24, {}, stated=((4,) * 6, (8,) * 3))
    skip(f + "test_rechunk_with_empty_input [()]",
         "error case (ValueError for chunks=()); the case format has no error field")
    rc("test_rechunk_with_null_dimensions [(None, 4)]", *x24, (None, 4),
       stated=((4,) * 6, (4,) * 6))
    rc("test_rechunk_with_null_dimensions [{0: None, 1: 4}]", *x24, {0: None, 1: 4},
       stated=((4,) * 6, (4,) * 6))
    rc("test_rechunk_with_integer", (5,), 4, 3, stated=((3, 2),))
    case(R, f + "test_rechunk_0d", "arange(1, chunks=1).reshape(()).rechunk(())",
         stated=())
    for i, shape in enumerate([(0,), (2, 0), (2, 1, 0)]):
        case(R, f"{f}test_rechunk_empty_array[{i}] shape {shape} (rechunk() -> "
                "rechunk('auto'))", f"{src(shape)}.rechunk(\"auto\")")
    rc("test_rechunk_empty", (0, 10), (5, 5), (2, 2), stated=((0,), (2,) * 5))
    rc("test_rechunk_zero_dim_array", (4, 0), 3, {0: 4}, stated=((4,), (0,)))
    rc("test_rechunk_zero_dim_array_II", (4, 0, 6, 10), 3, {0: 4, 2: 2},
       stated=((4,), (0,), (2, 2, 2), (3, 3, 3, 1)))
    rc("test_rechunk_same", *x24, ((4,) * 6, (8,) * 3), stated=((4,) * 6, (8,) * 3))
    rc("test_rechunk_minus_one", *x24, (-1, 8), stated=((24,), (8, 8, 8)))
    rc("test_rechunk_intermediates", (10, 10), (10, 1), (1, 10))
    rc("test_rechunk_warning (shape scaled down: (20, 20, 100) -> (20, 20, 40))",
       (20, 20, 40), (1, 20, 40), (20, 1, 40))
    rc("test_rechunk_zero_dim", (0, 10, 100), (0, 10, 10), (0, 10, 50))
    rc("test_rechunk_avoid_needless_chunking", (16,), 2, 8)
    rc("test_rechunk_bad_keys [{-1: 4}]", (2, 3, 4), 1, {-1: 4},
       stated=((1, 1), (1, 1, 1), (4,)))
    rc("test_rechunk_bad_keys [{-ndim: 2}]", (2, 3, 4), 1, {-3: 2},
       stated=((2,), (1, 1, 1), (1, 1, 1, 1)))
    skip(f + "test_rechunk_bad_keys [{'blah': 4}, {100: 4}, {-100: 4}]",
         "error cases; the case format has no error field")
    for shape, chunks in [((4,), (2,)), ((4, 4), (2, 2)), ((4, 4), (4, 2))]:
        rc(f"test_dont_concatenate_single_chunks[{shape}-{chunks}]", shape, shape,
           chunks)

    # Old/new chunk pairs from the intersect / old_to_new tests, run as rechunks.
    rc("test_intersect_1 / test_old_to_new_known", (50,), ((10,) * 5,), ((25, 5, 20),))
    rc("test_intersect_2", (100,), ((20,) * 5,), ((58, 4, 20, 18),))
    rc("test_intersect_chunks_with_nonzero", (8, 2), ((4, 4), (2,)), ((8,), (1, 1)))

    # Old/new pairs from the plan_rechunk tests (final chunks = the requested ones).
    c, fn = (20,) * 2, (2,) * 20
    plan = [
        ("(c,) -> (f,)", (c,), (fn,)),
        ("(f,) -> (c,)", (fn,), (c,)),
        ("(c, c) -> (f, f)", (c, c), (fn, fn)),
        ("(f, f) -> (c, c)", (fn, fn), (c, c)),
        ("(f, c) -> (c, c)", (fn, c), (c, c)),
        ("(f, c) -> (c, f)", (fn, c), (c, fn)),
        ("(c+c, c+f) -> (f+f, c+c)", (c + c, c + fn), (fn + fn, c + c)),
    ]
    for label, old, new in plan:
        shape = tuple(sum(a) for a in old)
        rc(f"test_plan_rechunk [{label}, c=(20,)*2, f=(2,)*20]", shape, old, new)
    skip(f + "test_plan_rechunk [(c, c, c, c) -> (c, f, c, c)]",
         "result has 40**4 = 2.56M elements (> 20000)")
    c, fn = (10,), (1,) * 10
    cc, cf, ff, fc = c + c, c + fn, fn + fn, fn + c
    het = [
        ("(cc, cf) -> (ff, ff)", (cc, cf), (ff, ff)),
        ("(cf, fc) -> (ff, cf)", (cf, fc), (ff, cf)),
        ("(cc, cf) -> (ff, cc)", (cc, cf), (ff, cc)),
        ("(cc, cf, cc) -> (ff, cc, cf)", (cc, cf, cc), (ff, cc, cf)),
        ("(cc, ff, cf) -> (ff, cf, cc)", (cc, ff, cf), (ff, cf, cc)),
    ]
    for label, old, new in het:
        shape = tuple(sum(a) for a in old)
        rc(f"test_plan_rechunk_heterogeneous [{label}, c=(10,), f=(1,)*10]",
           shape, old, new)
    skip(f + "test_plan_rechunk_5d", "10**5-element 5-d arrays (> 20000 elements)")
    skip(f + "test_plan_rechunk_asymmetric", "1000 x 80000000 array; far too large")

    # Balance: tessera's rechunk has no balance= keyword; the unbalanced (default)
    # halves of these tests are kept.
    rc("test_balance_basics [balance=False]", (220,), 100, 100, stated=((100, 100, 20),))
    rc("test_balance_chunks_unchanged [balance=False]", (220,), None, 100,
       stated=((100, 100, 20),))
    rc("test_balance_small [13, balance=False]", (13,), None, 4, stated=((4, 4, 4, 1),))
    rc("test_balance_small [7, balance=False]", (7,), None, 3, stated=((3, 3, 1),))
    rc("test_balance_n_chunks_size [balance=False]", (100,), None, 12,
       stated=((12,) * 8 + (4,),))
    rc("test_balance_raises [balance=False]", (100,), None, 9)
    rc("test_balance_basics_2d [balance=False] (shape scaled down: (210, 210) chunks "
       "(100, 100) -> (105, 105) chunks (50, 50))", (105, 105), None, (50, 50))
    rc("test_balance_2d_negative_dimension [balance=False] (shape scaled down: "
       "(210, 210) chunks (100, -1) -> (105, 105) chunks (50, -1))", (105, 105), None,
       (50, -1))
    for name in ("test_balance_basics", "test_balance_chunks_unchanged",
                 "test_balance_small", "test_balance_n_chunks_size",
                 "test_balance_raises", "test_balance_basics_2d",
                 "test_balance_2d_negative_dimension", "test_balance_different_inputs",
                 "test_balance_split_into_n_chunks"):
        skip(f"{f}{name} [balance=True]", "tessera's rechunk has no balance= keyword",
             expr=f"{src((13,))}.rechunk(4, balance=True)"
             if name == "test_balance_small" else None)
    skip(f + "test_balance_different_inputs [balance=False]",
         "byte-size chunk spec ('10MB') on a 210x210 float array; size-string chunks "
         "not used here")

    # Zero-length blocks (tessera rejects explicit zero chunk sizes).
    zero_why = ("tessera rejects zero-length blocks in explicit chunks "
                "('explicit chunk sizes must be positive')")
    skip(f + "test_rechunk_with_zero_placeholders", zero_why,
         expr=f"{src((24, 24), (12, 12))}.rechunk(((12, 12), (24, 0)))")
    skip(f + "test_rechunk_with_zero", zero_why,
         expr=f"{src((8, 8), ((4, 4), (4, 0, 0, 4)))}.rechunk((4, 4))")
    skip(f + "test_rechunk_empty_chunks", zero_why,
         expr=f"{src((7, 24), ((7,), (10, 0, 0, 9, 0, 5)))}.rechunk((2, 3))")
    skip(f + "test_intersect_chunks_with_zero", zero_why,
         expr=f"{src((8, 2), ((4, 4), (2,)))}.rechunk(((4, 0, 0, 4), (1, 1)))")
    skip(f + "test_old_to_new_with_zero", zero_why,
         expr=f"{src((8,), ((4, 4),))}.rechunk(((4, 0, 4),))")

    skip(f + "test_rechunk_internals_1",
         "internal helper test; its new chunks (1, 5, 1) do not sum to the old axis (5)")
    for name in ("test_rechunk_auto_1d", "test_normalize_chunks_auto_2d",
                 "test_rechunk_auto_2d", "test_rechunk_auto_3d",
                 "test_rechunk_auto_image_stack", "test_rechunk_down",
                 "test_rechunk_zero"):
        skip(f + name, "'auto' with block_size_limit= / array.chunk-size config; "
                       "tessera's rechunk takes only chunks")
    for name in ("test_divide_to_width", "test_merge_to_number"):
        skip(f + name, "tests an internal chunk-arithmetic helper, no array operation")
    skip(f + "test_rechunk_same_fully_unknown / *unknown* / *nan* / test_old_to_new*",
         "unknown (nan) chunk sizes (dataframe-derived arrays); not in tessera")
    skip(f + "test_rechunk_non_perfect_slicing_of_dimensions",
         "uses da.coarsen; not in tessera")


# --------------------------------------------------------------------------------------
# test_slicing.py
# --------------------------------------------------------------------------------------

def block_sizes(blocks, slices, order):
    """Output chunk sizes implied by a test's per-block slices (dask's slice dicts)."""
    return tuple(len(range(blocks[b])[slices[b]]) for b in order)


def slicing_cases():
    S = "slicing"
    f = "test_slicing.py::"

    def sl(name, shape, chunks, index, stated=None, note=None):
        case(S, f + name, f"{src(shape, chunks)}[{index}]", stated, note)

    # _slice_1d facts: (length, block sizes, index text, {block: slice} from the test)
    s = slice
    one_d = [
        (100, [25] * 4, "10:51", {0: s(10, 25, 1), 1: s(None), 2: s(0, 1, 1)}),
        (100, [20] * 5, "100:12:-3", {0: s(-2, -8, -3), 1: s(-1, -21, -3),
                                      2: s(-3, -21, -3), 3: s(-2, -21, -3),
                                      4: s(-1, -21, -3)}),
        (100, [20] * 5, "102::-3", {0: s(-2, -21, -3), 1: s(-1, -21, -3),
                                    2: s(-3, -21, -3), 3: s(-2, -21, -3),
                                    4: s(-1, -21, -3)}),
        (100, [20] * 5, "::-4", {b: s(-1, -21, -4) for b in range(5)}),
        (100, [20] * 5, "::-7", {0: s(-5, -21, -7), 1: s(-4, -21, -7),
                                 2: s(-3, -21, -7), 3: s(-2, -21, -7),
                                 4: s(-1, -21, -7)}),
        (115, [23] * 5, "::-7", {0: s(-7, -24, -7), 1: s(-2, -24, -7),
                                 2: s(-4, -24, -7), 3: s(-6, -24, -7),
                                 4: s(-1, -24, -7)}),
        (100, [20] * 5, "79::-3", {0: s(-1, -21, -3), 1: s(-3, -21, -3),
                                   2: s(-2, -21, -3), 3: s(-1, -21, -3)}),
        (100, [20] * 5, "-1:92:-1", {4: s(-1, -8, -1)}),
        (100, [20] * 5, "20:0:-1", {0: s(-1, -20, -1), 1: s(-20, -21, -1)}),
        (100, [20] * 5, ":0", None),
        (99, [20, 20, 20, 19, 20], "100::-3", {0: s(-3, -21, -3), 1: s(-2, -21, -3),
                                               2: s(-1, -21, -3), 3: s(-2, -20, -3),
                                               4: s(-1, -21, -3)}),
        (104, [20, 23, 27, 13, 21], "::-3", {0: s(-1, -21, -3), 1: s(-3, -24, -3),
                                             2: s(-3, -28, -3), 3: s(-1, -14, -3),
                                             4: s(-1, -22, -3)}),
        (104, [20, 23, 27, 13, 21], ":27:-3", {1: s(-3, -16, -3), 2: s(-3, -28, -3),
                                               3: s(-1, -14, -3), 4: s(-1, -22, -3)}),
        (104, [20, 23, 27, 13, 21], "100:27:-3", {1: s(-3, -16, -3),
                                                  2: s(-3, -28, -3),
                                                  3: s(-1, -14, -3),
                                                  4: s(-4, -22, -3)}),
    ]
    for n, blocks, index, slices in one_d:
        stated = None
        if slices is not None:
            step_neg = "-" in index.split(":")[-1] if index.count(":") == 2 else False
            order = sorted(slices, reverse=step_neg)
            stated = (block_sizes(blocks, slices, order),)
        sl(f"test_slice_1d [x[{index}], len {n}, blocks {tuple(blocks)}]", (n,),
           (tuple(blocks),), index, stated)
    sl("test_slice_1d [x[1000:] on 10**12 elements in 10**9 blocks] (shape scaled "
       "down: 10000 elements in 1000 blocks of 10, x[5:])", (10000,), 10, "5:")

    sl("test_slice_singleton_value_on_boundary [len 15, blocks 5]", (15,), 5, "10")
    sl("test_slice_singleton_value_on_boundary [len 30, blocks 5]", (30,), 5, "10")

    b25 = [25] * 4
    sl("test_slice_array_1d [x[24::2]]", (100,), 25, "24::2",
       stated=(block_sizes(b25, {0: s(24, 25, 2), 1: s(1, 25, 2), 2: s(0, 25, 2),
                                 3: s(1, 25, 2)}, range(4)),))
    sl("test_slice_array_1d [x[26::2]]", (100,), 25, "26::2",
       stated=(block_sizes(b25, {1: s(1, 25, 2), 2: s(0, 25, 2), 3: s(1, 25, 2)},
                           (1, 2, 3)),))
    sl("test_slice_array_2d [x[13::2, 10::1]]", (20, 45), ((20,), (20, 20, 5)),
       "13::2, 10::1", stated=((4,), (10, 20, 5)))
    sl("test_slice_array_2d [x[5, 10::1]]", (20, 45), ((20,), (20, 20, 5)),
       "5, 10::1", stated=((10, 20, 5),))
    sl("test_slice_optimizations [bar[:]]", (100,), 100, ":", stated=((100,),))
    sl("test_slicing_with_singleton_indices", (10, 10), 5, "0:5, 8", stated=((5,),))
    sl("test_slicing_with_newaxis", (10, 10), 5, "0:3, None, :",
       stated=((3,), (1,), (5, 5)))
    sl("test_slicing_chunks [x[0:7, 1]]", (10, 10), 5, "0:7, 1", stated=((5, 2),))
    sl("test_slicing_and_chunks", (24, 16), ((4, 8, 8, 4), (2, 6, 6, 2)), "4:-4, 2:-2",
       stated=((8, 8), (6, 6)))
    ident = ((4, 8, 8, 4), (2, 6, 6, 2))
    for index in (":", "...", "0:", "::1", "0:24:1"):
        sl(f"test_slicing_identities [a[{index}]]", (24, 16), ident, index,
           stated=ident)
    sl("test_slice_stop_0", (10,), 10, ":0")
    sl("test_slicing_with_negative_step_flops_keys", (10,), 5, ":1:-1",
       stated=((5, 3),))
    sl("test_empty_slice", (5, 5), 2, ":0")
    sl("test_uneven_chunks", (20,), 5, "::2", stated=((3, 2, 3, 2),))
    sl("test_new_blockdim", (20,), 5, "0::2", stated=((3, 2, 3, 2),))
    for index in ("0", ":, 5:2:-1", "0, ...", "...", "-11:11", "-11:-9", "-1",
                  "0::-1", "0:-11:-1"):
        sl(f"test_slicing_consistent_names [a[{index}]]", (10, 10), (5, 5), index)
    for index in (":10", "0:10:1"):
        sl(f"test_slicing_consistent_names_after_normalization [x[{index}]]", (10,), 5,
           index)
    months = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30)
    sl("test_uneven_blockdims [1 axis of month blocks]", (sum(months), 100),
       (months, (100,)), "240:270, :", stated=((3, 27), (100,)))
    sl("test_uneven_blockdims [2 axes of month blocks]", (sum(months), sum(months)),
       (months, months), "240:270, 180:230", stated=((3, 27), (1, 31, 18)))
    for shape in [(2,), (2, 3), (2, 3, 5)]:
        for index in ("...", "None, ...", "..., None", "None, ..., None"):
            sl(f"test_slicing_with_Nones [shape {shape}, x[{index}]]", shape, None,
               index)
    sl("test_None_overlap_int", (2, 3, 5, 7, 11), None, "0, :2, None, ...")
    sl("test_negative_n_slicing", (2,), 2, "-2")
    for index in ("-102:", "102:", ":102", ":-102"):
        sl(f"test_permit_oob_slices [x[{index}]]", (5,), 2, index)
    sl("test_gh3579 [x[0::-1]]", (10,), 3, "0::-1")
    sl("test_gh3579 [x[::-1]]", (10,), 3, "::-1")
    sl("test_all_none_slices_just_mappings", (10, 10), (1, 5), ":6, :")

    # test_slicing_none_int_ellipes: a deterministic sample of the 4-index products.
    indexers = ["...", ":2", "0", "1", "-2", "-1", "-2:", "None"]
    combos = [c for c in itertools.product(indexers, repeat=4) if c.count("...") <= 1]
    for k, combo in enumerate(combos[::470]):
        sl(f"test_slicing_none_int_ellipes [sample {k}: x[{', '.join(combo)}]] "
           "(input chunked (1, 2, 2, 3, 4) instead of one block)",
           (2, 3, 5, 7, 11), (1, 2, 2, 3, 4), ", ".join(combo))

    fancy = "fancy indexing (integer lists/arrays, boolean masks, dask-array indexers)"
    for name in ("test_take", "test_take_sorted", "test_slicing_with_numpy_arrays",
                 "test_mixed_index", "test_slicing_and_unknown_chunks",
                 "test_slice_list_then_None", "test_multiple_list_slicing",
                 "test_boolean_list_slicing", "test_boolean_numpy_array_slicing",
                 "test_empty_list", "test_slicing_chunks [array index parts]",
                 "test_slicing_consistent_names [list index parts]",
                 "test_index_with_int_dask_array*", "test_index_with_bool_dask_array*",
                 "test_slicing_integer_no_warnings", "test_negative_list_slicing",
                 "test_take_semi_sorted", "test_getitem_avoids_large_chunks*",
                 "test_take_avoids_large_chunks", "test_pathological_unsorted_slicing",
                 "test_shuffle_slice", "test_unknown_chunks_length_one",
                 "test_slice_array_3d_with_bool_numpy_array", "test_slice_masked_arrays",
                 "test_slice_array_null_dimension", "test_take_sorted_indexer",
                 "test_minimal_dtype_doesnt_overflow", "test_vindex_with_dask_array",
                 "test_positional_indexer_newaxis", "test_make_blockwise_sorted_slice",
                 "test_setitem_with_different_chunks_preserves_shape",
                 "test_boolean_mask_with_unknown_shape"):
        skip(f + name, fancy + " or setitem; tessera has basic indexing only")
    skip(f + "test_oob_check",
         "error cases (IndexError); the case format has no error field")
    skip(f + "test_slice_optimizations [3 slices on 1-d blockdims]",
         "internal slice_array call with blockdims that do not match the index")
    skip(f + "test_sanitize_index*, test_normalize_index",
         "internal index-normalisation helpers, no array operation")
    skip(f + "test_gh4043", "da.stack of from_array with lock/fancy options; not slicing")
    skip(f + "test_slicing_exhaustively", "skipped in dask itself; random data")


# --------------------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------------------

class NpArray(np.ndarray):
    """numpy array with a no-op .rechunk, so tessera text evaluates with numpy."""

    def rechunk(self, *args, **kwargs):
        return self


def np_namespace():
    return {"__builtins__": {},
            "arange": lambda n, chunks=None: np.arange(n, dtype=np.int64).view(NpArray)}


def da_namespace():
    return {"__builtins__": {},
            "arange": lambda n, chunks=None: da.arange(n, chunks=chunks, dtype=np.int64)}


def evaluate(c):
    expr = c["expr"]
    ref = np.asarray(eval(expr, np_namespace()))
    res = eval(expr, da_namespace())
    chunks = norm_chunks(res.chunks)
    got = np.asarray(res.compute(scheduler="synchronous"))
    if got.shape != ref.shape or got.dtype != ref.dtype or not np.array_equal(got, ref):
        raise SystemExit(f"dask and numpy disagree on {expr!r}")
    if ref.size > MAX_RESULT_ELEMENTS:
        raise SystemExit(f"result too large ({ref.size}) for {expr!r}")
    stated = c["stated"]
    if stated is not None and norm_chunks(stated) != chunks:
        raise SystemExit(f"{c['source']}: dask gives {chunks}, test states {stated}")
    rec = {
        "suite": c["suite"],
        "source": c["source"],
        "expr": expr,
        "shape": list(ref.shape),
        "dtype": str(ref.dtype),
        "dask_chunks": [list(a) for a in chunks],
        "chunks_stated_by_dask_test": stated is not None,
        "data": ref.ravel(order="C").tolist(),
    }
    if c["note"]:
        rec["note"] = c["note"]
    return rec


def write(records):
    head = {"generated_by": "tests/oracle/make_dask_cases.py",
            "dask": dask.__version__, "numpy": np.__version__}
    lines = ["{" + ", ".join(f"{json.dumps(k)}: {json.dumps(v)}" for k, v in head.items())
             + ',', ' "cases": [']
    lines.append(",\n".join("  " + json.dumps(r) for r in records))
    lines.append(' ],')
    lines.append(' "skipped": [')
    lines.append(",\n".join("  " + json.dumps(s) for s in SKIPPED))
    lines.append(' ]}')
    text = "\n".join(lines) + "\n"
    json.loads(text)  # well-formed
    OUT.write_text(text)


# --------------------------------------------------------------------------------------
# Optional: compare the tessera binary against the cases
# --------------------------------------------------------------------------------------

def run_tessera(binary, expr):
    p = subprocess.run([binary, "eval", "--json", expr], capture_output=True, text=True)
    if p.returncode != 0:
        return None, (p.stderr.strip().splitlines() or ["(no message)"])[0]
    return json.loads(p.stdout), None


def finer(t_chunks, d_chunks):
    """Axes on which tessera's chunks are finer than dask's (more blocks, or a smaller
    largest block)."""
    axes = []
    for ax, (t, d) in enumerate(zip(t_chunks, d_chunks)):
        if len(t) > len(d) or (t and d and max(t) < max(d)):
            axes.append(ax)
    return axes


def check_tessera(binary, records):
    problems = 0
    for r in records:
        out, err = run_tessera(binary, r["expr"])
        tag = f"[{r['suite']}] {r['source']}\n    {r['expr']}"
        if err:
            print(f"ERROR {tag}\n    {err}")
            problems += 1
            continue
        msgs = []
        if out["shape"] != r["shape"]:
            msgs.append(f"shape {out['shape']} != numpy {r['shape']}")
        elif out["data"] != r["data"]:
            msgs.append("values differ from numpy")
        if out["dtype"] != r["dtype"]:
            msgs.append(f"dtype {out['dtype']} != {r['dtype']}")
        if out["chunks"] != r["dask_chunks"]:
            axes = finer(out["chunks"], r["dask_chunks"])
            kind = f"FINER on axes {axes}" if axes else "differ (not finer)"
            msgs.append(f"chunks {kind}: tessera {out['chunks']} vs dask "
                        f"{r['dask_chunks']}")
        if msgs:
            problems += 1
            print(f"MISMATCH {tag}\n    " + "\n    ".join(msgs))
    for s in SKIPPED:
        if "expr" in s:
            out, err = run_tessera(binary, s["expr"])
            state = f"tessera error: {err}" if err else "tessera ACCEPTS it now"
            print(f"SKIPPED {s['source']}: {state}")
    print(f"{len(records)} cases, {problems} with tessera errors/mismatches")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check-tessera", metavar="BINARY",
                    help="also run this tessera binary on every case and report")
    args = ap.parse_args()

    reshape_cases()
    rechunk_cases()
    slicing_cases()
    records = [evaluate(c) for c in CASES]
    write(records)
    counts = {}
    for r in records:
        counts[r["suite"]] = counts.get(r["suite"], 0) + 1
    print(f"wrote {OUT} : {len(records)} cases {counts}, {len(SKIPPED)} skipped")
    if args.check_tessera:
        check_tessera(args.check_tessera, records)


if __name__ == "__main__":
    main()
