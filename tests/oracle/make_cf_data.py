#!/usr/bin/env python3
"""Generate the CF/xarray test oracle for tessera's file-reading and labelled-array layer.

Two steps, both deterministic (fixed numpy seed, fixed case list):

1. Write small CF test files into ``tests/data/cf/`` with netCDF4-python and h5py
   (``daily.nc``, ``noleap3.nc``, ``months360.nc``, ``allleap.nc``, ``plain.h5``,
   ``bad_calendar.nc``).
2. Evaluate every case (a tessera expression, the single source of truth) with xarray
   and write ``tests/oracle/cf_expected.json``.

Regenerate (from the repository root):

    /work/venv-oracle/bin/pip install xarray netCDF4 h5py cftime pandas
    /work/venv-oracle/bin/python tests/oracle/make_cf_data.py

Evaluation rules (see CF_README.md):
- ``open(PATH, VAR)`` is ``xr.open_dataset(PATH)[VAR]`` with default decoding, PLUS one
  departure from xarray: values outside ``valid_min``/``valid_max``/``valid_range``
  (compared on the raw stored values, as netCDF4-python and the NUG do) are masked.
- ``open(PATH, VAR, decode=False)`` is ``xr.open_dataset(PATH, mask_and_scale=False,
  decode_times=False)[VAR]``: raw stored values (no _Unsigned, no masking, numeric time).
- ``open("....h5", "/path")`` reads an HDF5 dataset with h5py into a DataArray whose
  dims are ``dim_0, dim_1, ...`` and which has no coordinates.
- Reductions with named dims (or none) are xarray's (skipna for floats); reductions with
  ``axis=`` are numpy-style (``skipna=False``, NaN propagates).
- ``cos``/``radians``/``sqrt``/``abs`` are the numpy ufuncs applied to DataArrays.
- xarray's optional accelerators are switched off (use_flox/use_bottleneck/use_numbagg
  = False) so the numbers come from plain numpy whatever else is installed.
"""

from __future__ import annotations

import json
import math
import re
import sys
import warnings
from importlib.metadata import version as pkg_version
from pathlib import Path

import numpy as np
import netCDF4
import h5py
import cftime
import pandas as pd
import xarray as xr

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent                      # repository root
CF_DIR = ROOT / "tests" / "data" / "cf"
REAL_DIR = (ROOT / ".." / "shared" / "data" / "real").resolve()
OUT = HERE / "cf_expected.json"
SEED = 20240917
MAX_ELEMENTS = 2000
N_SAMPLES = 20

xr.set_options(use_flox=False, use_bottleneck=False, use_numbagg=False)


# ======================================================================================
# 1. Test files
# ======================================================================================

def _coord(ds, name, values, dtype, units, standard_name, axis, **extra):
    v = ds.createVariable(name, dtype, (name,))
    v.units = units
    v.standard_name = standard_name
    v.axis = axis
    for k, val in extra.items():
        v.setncattr(k, val)
    v[:] = np.asarray(values, dtype=dtype)
    return v


def _time_coord(ds, units, calendar, values, dtype="f8", bounds=None):
    v = ds.createVariable("time", dtype, ("time",))
    v.units = units
    v.calendar = calendar
    v.standard_name = "time"
    v.long_name = "time"
    v.axis = "T"
    if bounds is not None:
        v.bounds = bounds
    v[:] = np.asarray(values, dtype=dtype)
    return v


def write_daily(rng):
    """daily.nc: NETCDF4, 2012-01-01..2014-12-31 daily, lat descending, packed/masked vars."""
    path = CF_DIR / "daily.nc"
    nt, ny, nx = 1096, 12, 16
    t0 = (np.datetime64("2012-01-01") - np.datetime64("2000-01-01")).astype(int)  # 4383
    time = t0 + np.arange(nt, dtype="f8")
    lat = 67.5 - 7.5 * np.arange(ny)          # 67.5 .. -15.0, descending
    lon = 22.5 * np.arange(nx)                # 0 .. 337.5
    doy = np.arange(nt) % 365.25

    with netCDF4.Dataset(path, "w", format="NETCDF4") as ds:
        ds.Conventions = "CF-1.8"
        ds.title = "tessera CF test file: daily, descending lat, packed and masked variables"
        ds.createDimension("time", None)       # unlimited
        ds.createDimension("lat", ny)
        ds.createDimension("lon", nx)
        ds.createDimension("nv", 2)
        _time_coord(ds, "days since 2000-01-01 00:00:00", "standard", time, bounds="time_bnds")
        tb = ds.createVariable("time_bnds", "f8", ("time", "nv"), chunksizes=(512, 2))
        tb[:] = np.stack([time, time + 1.0], axis=1)
        _coord(ds, "lat", lat, "f4", "degrees_north", "latitude", "Y", long_name="latitude")
        _coord(ds, "lon", lon, "f4", "degrees_east", "longitude", "X", long_name="longitude")

        # tas: float32, _FillValue 1e20 on ~1% of cells, chunked (64, 6, 8), zlib 4.
        season = -12.0 * np.cos(2 * np.pi * (doy - 15.0) / 365.25)            # (t,)
        latgrad = 300.0 - 0.6 * np.abs(lat - 5.0)                              # (y,)
        lonwave = 1.5 * np.sin(np.deg2rad(lon))                                # (x,)
        hemi = np.sign(lat + 0.1)[None, :, None]
        tas = (season[:, None, None] * hemi + latgrad[None, :, None] + lonwave[None, None, :]
               + rng.normal(0.0, 0.6, (nt, ny, nx)))
        tas = (np.round(tas * 4.0) / 4.0).astype("f4")        # 1/4 K steps: compresses well
        tas_mask = rng.random((nt, ny, nx)) < 0.01
        tas[tas_mask] = np.float32(1e20)
        tas[0, 0, 5] = np.float32(1e20)       # fixed so the small raw/positional slices show one
        tas[1, 2, 4] = np.float32(1e20)
        v = ds.createVariable("tas", "f4", ("time", "lat", "lon"), zlib=True, complevel=4,
                              shuffle=False, chunksizes=(64, 6, 8), fill_value=np.float32(1e20))
        v.set_auto_maskandscale(False)
        v.units = "K"
        v.standard_name = "air_temperature"
        v.long_name = "near-surface air temperature"
        v[:] = tas

        # pr: int16 packed, scale_factor/add_offset float32, _FillValue -32767, zlib+shuffle.
        wet = rng.random((nt, ny, nx)) < 0.3
        pr_phys = np.where(wet, np.round(np.clip(rng.gamma(0.8, 5.0, (nt, ny, nx)), 0.0, 300.0), 1), 0.0)
        raw = np.round((pr_phys - 5.0) / 0.01).astype("i2")   # multiples of 10 (0.1 units)
        pr_mask = rng.random((nt, ny, nx)) < 0.02
        raw[pr_mask] = -32767
        raw[0, 0, 0:4] = [-32767, 1234, -500, 32000]   # fill, 17.34, 0.0, 325.0
        raw[1, 1, 0:4] = [-32766, 0, 1, -1]           # -322.66 (not fill), 5.0, 5.01, 4.99
        v = ds.createVariable("pr", "i2", ("time", "lat", "lon"), zlib=True, complevel=4,
                              shuffle=True, chunksizes=(128, 12, 16), fill_value=np.int16(-32767))
        v.set_auto_maskandscale(False)
        v.scale_factor = np.float32(0.01)
        v.add_offset = np.float32(5.0)
        v.units = "kg m-2 d-1"
        v.long_name = "precipitation (packed int16)"
        v[:] = raw

        # cnt: int32, missing_value -1, valid_range [0, 1000]; a few values above 1000.
        base = (200 + 10 * np.arange(ny)[:, None] + 5 * np.arange(nx)[None, :])  # (y, x)
        cnt = (base[None] + 40 * np.round(np.sin(2 * np.pi * np.arange(nt) / 365.25))[:, None, None]
               + rng.integers(0, 4, (nt, ny, nx)) * (rng.random((nt, ny, nx)) < 0.1)).astype("i4")
        cnt[rng.random((nt, ny, nx)) < 0.005] = -1
        hi = rng.random((nt, ny, nx)) < 0.005
        cnt[hi] = 1001 + rng.integers(0, 999, int(hi.sum()))
        # fixed cells so small slices show every case: [0:5, 0, 0:4]
        cnt[0, 0, 0:4] = [-1, 1000, 1001, 0]
        cnt[1, 0, 0:4] = [5, 1500, -1, 999]
        v = ds.createVariable("cnt", "i4", ("time", "lat", "lon"), zlib=True, complevel=4,
                              shuffle=True, chunksizes=(128, 12, 16))
        v.set_auto_maskandscale(False)
        v.missing_value = np.int32(-1)
        v.valid_range = np.array([0, 1000], dtype="i4")
        v.units = "1"
        v.long_name = "count with missing_value and valid_range"
        v[:] = cnt

        # flag: int8 with _Unsigned = "true" (stored bytes -128..-1 mean 128..255).
        ti = np.arange(nt)[:, None, None]
        yi = np.arange(ny)[None, :, None]
        xi = np.arange(nx)[None, None, :]
        flag_u = ((3 * (ti % 7) + 11 * yi + 17 * xi) % 256).astype("u1")
        v = ds.createVariable("flag", "i1", ("time", "lat", "lon"), zlib=True, complevel=4,
                              chunksizes=(128, 12, 16))
        v.set_auto_maskandscale(False)
        v.setncattr("_Unsigned", "true")
        v.long_name = "unsigned byte flag"
        v[:] = flag_u.view("i1")


def write_noleap3(rng):
    """noleap3.nc: NETCDF3_CLASSIC, unlimited time, 6-hourly noleap, 2 record variables."""
    path = CF_DIR / "noleap3.nc"
    nt, ny, nx = 2920, 4, 5
    time = 6.0 * np.arange(nt)
    lat = np.array([-45.0, -15.0, 15.0, 45.0])
    lon = np.array([0.0, 72.0, 144.0, 216.0, 288.0])
    with netCDF4.Dataset(path, "w", format="NETCDF3_CLASSIC") as ds:
        ds.Conventions = "CF-1.8"
        ds.title = "tessera CF test file: netCDF-3 record variables, noleap calendar"
        ds.createDimension("time", None)
        ds.createDimension("lat", ny)
        ds.createDimension("lon", nx)
        _time_coord(ds, "hours since 1990-01-01 00:00:00", "noleap", time)
        _coord(ds, "lat", lat, "f8", "degrees_north", "latitude", "Y")
        _coord(ds, "lon", lon, "f8", "degrees_east", "longitude", "X")
        doy = (time / 24.0) % 365.0
        hod = time % 24.0
        psl = (101300.0 + 800.0 * np.cos(2 * np.pi * doy / 365.0)[:, None, None]
               * np.sign(lat)[None, :, None]
               + 50.0 * np.cos(2 * np.pi * hod / 24.0)[:, None, None]
               + 10.0 * np.arange(nx)[None, None, :]
               + np.round(rng.normal(0.0, 120.0, (nt, ny, nx)), 1))
        psl[rng.random((nt, ny, nx)) < 0.003] = 1e20
        psl[1, 0, 2] = 1e20                   # fixed so the raw slice shows one
        v = ds.createVariable("psl", "f8", ("time", "lat", "lon"))
        v.set_auto_maskandscale(False)
        v.missing_value = 1e20
        v.units = "Pa"
        v.standard_name = "air_pressure_at_sea_level"
        v[:] = psl
        ts = (288.0 - 0.4 * np.abs(lat)[None, :, None]
              + 5.0 * np.sin(2 * np.pi * doy / 365.0)[:, None, None]
              + rng.normal(0.0, 0.5, (nt, ny, nx))).astype("f4")
        v = ds.createVariable("ts", "f4", ("time", "lat", "lon"))
        v.units = "K"
        v.standard_name = "surface_temperature"
        v[:] = ts


def write_months360(rng):
    """months360.nc: NETCDF4_CLASSIC, 360_day calendar, 120 monthly steps, lat ascending."""
    path = CF_DIR / "months360.nc"
    nt, ny, nx = 120, 6, 8
    time = 30.0 * np.arange(nt)
    lat = np.array([-50.0, -30.0, -10.0, 10.0, 30.0, 50.0])
    lon = 45.0 * np.arange(nx)
    with netCDF4.Dataset(path, "w", format="NETCDF4_CLASSIC") as ds:
        ds.Conventions = "CF-1.8"
        ds.title = "tessera CF test file: 360_day calendar monthly"
        ds.createDimension("time", nt)
        ds.createDimension("lat", ny)
        ds.createDimension("lon", nx)
        _time_coord(ds, "days since 1850-01-01", "360_day", time)
        _coord(ds, "lat", lat, "f8", "degrees_north", "latitude", "Y")
        _coord(ds, "lon", lon, "f8", "degrees_east", "longitude", "X")
        month = np.arange(nt) % 12
        tos = (20.0 - 0.3 * np.abs(lat)[None, :, None]
               + 3.0 * np.cos(2 * np.pi * (month - 1) / 12.0)[:, None, None] * np.sign(lat)[None, :, None]
               + 0.01 * np.arange(nt)[:, None, None]
               + rng.normal(0.0, 0.3, (nt, ny, nx))).astype("f4")
        v = ds.createVariable("tos", "f4", ("time", "lat", "lon"))
        v.units = "degC"
        v.standard_name = "sea_surface_temperature"
        v[:] = tos


def write_allleap(rng):
    """allleap.nc: NETCDF4, all_leap calendar, 2 years daily (732 steps), 3x4 grid."""
    path = CF_DIR / "allleap.nc"
    nt, ny, nx = 732, 3, 4
    time = np.arange(nt, dtype="f8")
    lat = np.array([0.0, 10.0, 20.0])
    lon = np.array([100.0, 110.0, 120.0, 130.0])
    with netCDF4.Dataset(path, "w", format="NETCDF4") as ds:
        ds.Conventions = "CF-1.8"
        ds.createDimension("time", nt)
        ds.createDimension("lat", ny)
        ds.createDimension("lon", nx)
        _time_coord(ds, "days since 2001-01-01", "all_leap", time)
        _coord(ds, "lat", lat, "f8", "degrees_north", "latitude", "Y")
        _coord(ds, "lon", lon, "f8", "degrees_east", "longitude", "X")
        doy = np.arange(nt) % 366
        val = (10.0 * np.sin(2 * np.pi * doy / 366.0)[:, None, None]
               + np.arange(ny)[None, :, None] + 0.1 * np.arange(nx)[None, None, :]
               + rng.normal(0.0, 1.0, (nt, ny, nx)))
        v = ds.createVariable("v", "f8", ("time", "lat", "lon"))
        v.units = "1"
        v[:] = val


def write_plain_h5(rng):
    """plain.h5: plain HDF5 (no netCDF, no dimension scales)."""
    path = CF_DIR / "plain.h5"
    i, j, k = np.meshgrid(np.arange(40), np.arange(30), np.arange(20), indexing="ij")
    data = 0.5 * i + 0.25 * j - 0.125 * k + rng.integers(-8, 8, (40, 30, 20)) / 16.0
    data = data.astype("f8")
    data[3, 2, 0] = np.nan
    data[17, 5, 7] = np.nan
    data[39, 29, 19] = np.nan
    ints = (np.arange(100, dtype="i4") * 37) % 101 - 50
    deep = (np.arange(63, dtype="f4").reshape(7, 9) * 0.5 - 7.0).astype("f4")
    with h5py.File(path, "w", track_order=False) as f:
        g = f.create_group("group")
        g.create_dataset("dataset", data=data, chunks=(10, 30, 20), compression="gzip",
                         compression_opts=4, track_times=False)
        f.create_dataset("ints", data=ints, track_times=False)          # contiguous
        g.create_group("sub").create_dataset("deep", data=deep, track_times=False)


def write_bad_calendar():
    path = CF_DIR / "bad_calendar.nc"
    with netCDF4.Dataset(path, "w", format="NETCDF4") as ds:
        ds.createDimension("time", 4)
        t = ds.createVariable("time", "f8", ("time",))
        t.units = "days since 2000-01-01"
        t.calendar = "martian"
        t[:] = np.arange(4.0)
        v = ds.createVariable("tas", "f4", ("time",))
        v.units = "K"
        v[:] = np.array([270.0, 271.0, 272.0, 273.0], dtype="f4")


def write_files():
    CF_DIR.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    write_daily(rng)
    write_noleap3(rng)
    write_months360(rng)
    write_allleap(rng)
    write_plain_h5(rng)
    write_bad_calendar()


# ======================================================================================
# 2. Evaluation of tessera expressions with xarray
# ======================================================================================

def _valid_range_mask(path: str, var: str, da: xr.DataArray) -> xr.DataArray:
    """Mask values outside valid_min/valid_max/valid_range (tessera's contract).

    xarray keeps these attributes but does not apply them; netCDF4-python does. The bounds
    compare with the raw stored values (as unsigned when _Unsigned is true)."""
    attrs = da.attrs
    if not any(k in attrs for k in ("valid_min", "valid_max", "valid_range")):
        return da
    lo = hi = None
    if "valid_range" in attrs:
        lo, hi = np.asarray(attrs["valid_range"]).tolist()
    if "valid_min" in attrs:
        lo = np.asarray(attrs["valid_min"]).item()
    if "valid_max" in attrs:
        hi = np.asarray(attrs["valid_max"]).item()
    with xr.open_dataset(path, mask_and_scale=False, decode_times=False) as raw_ds:
        raw = raw_ds[var].values
        if str(raw_ds[var].attrs.get("_Unsigned", "false")).lower() == "true" and raw.dtype.kind == "i":
            raw = raw.view(raw.dtype.str.replace("i", "u"))
    bad = np.zeros(raw.shape, dtype=bool)
    if lo is not None:
        bad |= raw < lo
    if hi is not None:
        bad |= raw > hi
    if not bad.any():
        return da
    VALID_RANGE_LOG.append(f"{var}: valid-range masking (not done by xarray) masked "
                           f"{int((bad & ~np.isnan(da.values)).sum())} more cells")
    if da.dtype.kind != "f":
        raise SystemExit(f"{path}:{var}: valid-range masking would change dtype {da.dtype}")
    return da.where(~bad)


VALID_RANGE_LOG: list[str] = []


def t_open(path: str, var: str, decode: bool = True) -> xr.DataArray:
    if path.endswith(".h5"):
        with h5py.File(path, "r") as f:
            return xr.DataArray(f[var][...])
    if decode:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with xr.open_dataset(path) as ds:
                da = ds[var].load()
        return _valid_range_mask(path, var, da)
    with xr.open_dataset(path, mask_and_scale=False, decode_times=False) as ds:
        return ds[var].load()


NAMESPACE = {
    "__builtins__": {"slice": slice, "True": True, "False": False, "None": None},
    "t_open": t_open,
    "cos": np.cos, "sin": np.sin, "radians": np.deg2rad, "degrees": np.rad2deg,
    "sqrt": np.sqrt, "abs": np.abs, "nan": np.nan,
}


def to_python(expr: str) -> str:
    s = expr.replace("{cf}", str(CF_DIR)).replace("{real}", str(REAL_DIR))
    s = re.sub(r"\bopen\(", "t_open(", s)
    # numpy-style positional reductions propagate NaN
    s = re.sub(r"\baxis=", "skipna=False, axis=", s)
    return s


def fmt_value(v):
    if isinstance(v, (bool, np.bool_)):
        return bool(v)
    if isinstance(v, (np.integer, int)):
        return int(v)
    f = float(v)
    if math.isnan(f):
        return "nan"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    return f


def fmt_coord(index: pd.Index):
    """Values and a dtype tag of an index coordinate."""
    if isinstance(index, xr.CFTimeIndex):
        return [t.isoformat() for t in index], f"cftime:{index.calendar}"
    if isinstance(index, pd.DatetimeIndex):
        vals = np.datetime_as_string(index.values, unit="s")
        return [str(x) for x in vals], str(index.dtype)
    values = index.values
    if values.dtype.kind == "O":
        return [str(x) for x in values], "str"
    return [fmt_value(x) for x in values], str(values.dtype)


def record(name: str, expr: str, note: str | None = None) -> dict:
    VALID_RANGE_LOG.clear()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = eval(to_python(expr), NAMESPACE)
    if VALID_RANGE_LOG:
        note = "; ".join(([note] if note else []) + sorted(set(VALID_RANGE_LOG)))
    assert isinstance(res, xr.DataArray), (name, type(res))
    out = {"name": name, "expr": expr, "dims": list(res.dims), "shape": list(res.shape),
           "dtype": str(res.dtype)}
    coords, coord_dtypes = {}, {}
    for d in res.dims:
        if d in res.indexes:
            coords[d], coord_dtypes[d] = fmt_coord(res.indexes[d])
    out["coords"] = coords
    out["coord_dtypes"] = coord_dtypes
    values = np.asarray(res.values)
    flat = values.reshape(-1)
    if flat.size <= MAX_ELEMENTS:
        out["data"] = [fmt_value(x) for x in flat]
    else:
        n = flat.size
        f64 = flat.astype("f8")
        nan_count = int(np.isnan(f64).sum())
        idx = [i * (n - 1) // (N_SAMPLES - 1) for i in range(N_SAMPLES)]
        all_nan = nan_count == n
        out["summary"] = {
            "size": n,
            "nan_count": nan_count,
            "sum": fmt_value(np.nansum(f64)),
            "min": "nan" if all_nan else fmt_value(np.nanmin(flat)),
            "max": "nan" if all_nan else fmt_value(np.nanmax(flat)),
            "samples": [[i, fmt_value(flat[i])] for i in idx],
        }
    if note:
        out["note"] = note
    return out


def record_error(name: str, expr: str) -> dict:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = eval(to_python(expr), NAMESPACE)
            res.values  # noqa: B018  (force)
    except Exception as e:  # noqa: BLE001
        msg = f"{type(e).__name__}: {e}".replace(str(CF_DIR), "{cf}")
        return {"name": name, "expr": expr, "error": msg.splitlines()[0]}
    raise SystemExit(f"{name}: expected an error, xarray returned a value")


# --------------------------------------------------------------------------------------
# The cases
# --------------------------------------------------------------------------------------

D = 'open("{cf}/daily.nc", "tas")'
PR = 'open("{cf}/daily.nc", "pr")'
CNT = 'open("{cf}/daily.nc", "cnt")'
FLAG = 'open("{cf}/daily.nc", "flag")'
PSL = 'open("{cf}/noleap3.nc", "psl")'
TS = 'open("{cf}/noleap3.nc", "ts")'
TOS = 'open("{cf}/months360.nc", "tos")'
AL = 'open("{cf}/allleap.nc", "v")'
H5 = 'open("{cf}/plain.h5", "/group/dataset")'
H5I = 'open("{cf}/plain.h5", "/ints")'
H5D = 'open("{cf}/plain.h5", "/group/sub/deep")'


def anom(x, key):
    return f'{x}.groupby("{key}") - {x}.groupby("{key}").mean()'


def weighted(x, lat="lat", lon="lon"):
    return f'{x}.weighted(cos(radians({x}.{lat}))).mean(("{lat}", "{lon}"))'


SYNTH_CASES = [
    # ---- daily.nc tas: float32 with _FillValue 1e20, descending lat ----
    ("daily/tas_mean_time", f'{D}.mean("time")'),
    ("daily/tas_mean_all", f"{D}.mean()"),
    ("daily/tas_mean_latlon", f'{D}.mean(("lat", "lon"))'),
    ("daily/tas_std_time", f'{D}.std("time")'),
    ("daily/tas_var_lon", f'{D}.isel(time=slice(0, 40)).var("lon")'),
    ("daily/tas_min_time", f'{D}.min("time")'),
    ("daily/tas_sum_time", f'{D}.sum("time")'),
    ("daily/tas_gb_month_mean", f'{D}.groupby("time.month").mean()'),
    ("daily/tas_gb_month_max", f'{D}.groupby("time.month").max()'),
    ("daily/tas_gb_season_mean", f'{D}.groupby("time.season").mean()'),
    ("daily/tas_gb_season_std", f'{D}.groupby("time.season").std()'),
    ("daily/tas_gb_year_mean", f'{D}.groupby("time.year").mean()'),
    ("daily/tas_gb_year_min", f'{D}.groupby("time.year").min()'),
    ("daily/tas_gb_dayofyear_mean", f'{D}.groupby("time.dayofyear").mean()'),
    ("daily/tas_gb_dayofyear_sum", f'{D}.groupby("time.dayofyear").sum()'),
    ("daily/tas_latlon_gb_month_mean", f'{D}.mean(("lat", "lon")).groupby("time.month").mean()'),
    ("daily/tas_anom_month", anom(D, "time.month")),
    ("daily/tas_anom_month_mean_latlon", f'({anom(D, "time.month")}).mean(("lat", "lon"))'),
    ("daily/tas_anom_season_std_time", f'({anom(D, "time.season")}).std("time")'),
    ("daily/tas_weighted_mean", weighted(D)),
    ("daily/tas_sel_time_lat_desc", f'{D}.sel(time=slice("2013-01-01", "2013-06-30"), lat=slice(60, 30))'),
    ("daily/tas_sel_time_lat_desc_mean", f'{D}.sel(time=slice("2013-01-01", "2013-06-30"), lat=slice(60, 30)).mean("time")'),
    ("daily/tas_isel", f'{D}.isel(time=slice(0, 10), lon=3)'),
    ("daily/tas_sel_nearest_mean", f'{D}.sel(lat=44, method="nearest").mean("time")'),
    ("daily/tas_sel_month_string", f'{D}.sel(time="2013-02")'),
    ("daily/tas_sel_month_string_mean", f'{D}.sel(time="2013-02").mean("time")'),
    ("daily/tas_sel_year_latlon", f'{D}.sel(time="2014").mean(("lat", "lon"))'),
    ("daily/tas_celsius_mean", f'({D} - 273.15).mean("time")'),
    ("daily/tas_mean_minus_global", f'{D}.mean("time") - {D}.mean()'),
    ("daily/tas_positional", f"{D}[0:10, 2, ::2]"),
    ("daily/tas_positional_sum_axis0", f"{D}[0:20].sum(axis=0)"),
    ("daily/tas_raw", f'open("{{cf}}/daily.nc", "tas", decode=False).isel(time=slice(0, 3), lat=0)'),
    # ---- daily.nc pr: int16 packed, float32 scale/offset, _FillValue -32767 ----
    ("daily/pr_mean_time", f'{PR}.mean("time")'),
    ("daily/pr_slice", f"{PR}[0:3, 0:2, 0:4]"),
    ("daily/pr_raw_slice", f'open("{{cf}}/daily.nc", "pr", decode=False)[0:3, 0:2, 0:4]'),
    ("daily/pr_gb_season_sum", f'{PR}.groupby("time.season").sum()'),
    ("daily/pr_max_all", f"{PR}.max()"),
    # ---- daily.nc cnt: int32, missing_value -1, valid_range [0, 1000] ----
    ("daily/cnt_slice", f"{CNT}[0:5, 0, 0:4]"),
    ("daily/cnt_raw_slice", f'open("{{cf}}/daily.nc", "cnt", decode=False)[0:5, 0, 0:4]'),
    ("daily/cnt_mean_time", f'{CNT}.mean("time")'),
    ("daily/cnt_max_all", f"{CNT}.max()"),
    # ---- daily.nc flag: int8 with _Unsigned ----
    ("daily/flag_slice", f"{FLAG}[0:2, 0, 0:16]"),
    ("daily/flag_raw_slice", f'open("{{cf}}/daily.nc", "flag", decode=False)[0:2, 0, 0:16]'),
    ("daily/flag_mean_time", f'{FLAG}.mean("time")'),
    ("daily/flag_sum_all", f"{FLAG}.sum()"),
    ("daily/flag_max_latlon", f'{FLAG}.max(("lat", "lon"))'),
    # ---- noleap3.nc: netCDF-3 record variables, noleap calendar ----
    ("noleap/psl_gb_month_mean", f'{PSL}.groupby("time.month").mean()'),
    ("noleap/psl_gb_season_max", f'{PSL}.groupby("time.season").max()'),
    ("noleap/psl_sel_feb_mean", f'{PSL}.sel(time="1991-02").mean("time")'),
    ("noleap/psl_latlon_gb_dayofyear_mean", f'{PSL}.mean(("lat", "lon")).groupby("time.dayofyear").mean()'),
    ("noleap/psl_anom_month_latlon", f'({anom(PSL, "time.month")}).mean(("lat", "lon"))'),
    ("noleap/psl_raw", f'open("{{cf}}/noleap3.nc", "psl", decode=False).isel(time=slice(0, 4), lat=0)'),
    ("noleap/ts_mean_time", f'{TS}.mean("time")'),
    ("noleap/ts_isel", f'{TS}.isel(time=slice(0, 8), lat=1)'),
    ("noleap/ts_gb_year_std", f'{TS}.groupby("time.year").std()'),
    # ---- months360.nc: 360_day calendar ----
    ("months360/tos_gb_month_mean", f'{TOS}.groupby("time.month").mean()'),
    ("months360/tos_gb_year_std", f'{TOS}.groupby("time.year").std()'),
    ("months360/tos_gb_season_min", f'{TOS}.groupby("time.season").min()'),
    ("months360/tos_sel_feb30_slice", f'{TOS}.sel(time=slice("1851-02-30", "1852-01-30")).mean(("lat", "lon"))'),
    ("months360/tos_weighted_mean", weighted(TOS)),
    ("months360/tos_sel_lat_asc_mean", f'{TOS}.sel(lat=slice(-20, 40)).mean("time")'),
    # ---- allleap.nc: all_leap calendar ----
    ("allleap/v_latlon_gb_dayofyear_max", f'{AL}.mean(("lat", "lon")).groupby("time.dayofyear").max()'),
    ("allleap/v_sel_feb_2001", f'{AL}.sel(time="2001-02").mean(("lat", "lon"))'),
    ("allleap/v_sel_slice_feb29", f'{AL}.sel(time=slice("2002-02-28", "2002-03-01"))'),
    # ---- plain.h5: no dimension scales -> dim_0, dim_1, ... ----
    ("h5/dataset_mean_dim0", f'{H5}.mean("dim_0")'),
    ("h5/dataset_max_dim12", f'{H5}.max(("dim_1", "dim_2"))'),
    ("h5/dataset_positional", f"{H5}[0:10, 2, ::2]"),
    ("h5/dataset_sum_axis0", f"{H5}.sum(axis=0)"),
    ("h5/ints_sum", f"{H5I}.sum()"),
    ("h5/ints_step", f"{H5I}[::7]"),
    ("h5/deep_mean", f"{H5D}.mean()"),
    ("h5/deep_negstep", f"{H5D}[1:5, ::-3]"),
]

R = "{real}"
ERA = lambda v: f'open("{R}/eraint_uvz.nc", "{v}")'  # noqa: E731
SST = f'open("{R}/sst_ndjfm_anom.nc", "sst")'
HGT = f'open("{R}/hgt_djf.nc", "z")'
UWND = f'open("{R}/uwnd_mean.nc", "uwnd")'
A1B = f'open("{R}/A1B_north_america.nc", "air_temperature")'
OSTIA = f'open("{R}/ostia_monthly.nc", "surface_temperature")'
SOI = f'open("{R}/SOI_Darwin.nc", "SOI_Darwin")'
ORCA = f'open("{R}/orca2_votemper.nc", "votemper")'
ATL = f'open("{R}/atlantic_profiles.nc", "theta")'
BASIN = f'open("{R}/basin_mask.nc", "basin")'
HYB = f'open("{R}/hybrid_height.nc", "air_potential_temperature")'
ROT = f'open("{R}/rotated_pole.nc", "air_pressure_at_sea_level")'
NEMO = f'open("{R}/nemo_1m_20150101-20150201_grid-T.nc", "tos")'

REAL_CASES = [
    ("real/eraint_z_mean", f'{ERA("z")}.mean()'),
    ("real/eraint_u_mean", f'{ERA("u")}.mean()'),
    ("real/eraint_v_mean", f'{ERA("v")}.mean()'),
    ("real/eraint_u_mean_latlon", f'{ERA("u")}.mean(("latitude", "longitude"))'),
    ("real/eraint_z_sel_lat_desc_zonal", f'{ERA("z")}.sel(level=500, latitude=slice(60, 30)).mean("longitude")'),
    ("real/eraint_u_raw_slice", f'open("{R}/eraint_uvz.nc", "u", decode=False)[0, 0, 0:3, 0:4]'),
    ("real/sst_mean_time", f'{SST}.mean("time")'),
    ("real/sst_mean_latlon", f'{SST}.mean(("latitude", "longitude"))'),
    ("real/hgt_isel_time", f"{HGT}.isel(time=slice(0, 3))"),
    ("real/hgt_mean_time", f'{HGT}.mean("time")'),
    ("real/uwnd_weighted_mean", weighted(UWND, "latitude", "longitude")),
    ("real/uwnd_zonal_mean", f'{UWND}.mean("longitude")'),
    ("real/a1b_gb_year_mean", f'{A1B}.groupby("time.year").mean()'),
    ("real/a1b_sel_1900_1910", f'{A1B}.sel(time=slice("1900-01-01", "1910-12-30"))'),
    ("real/a1b_mean_latlon", f'{A1B}.mean(("latitude", "longitude"))'),
    ("real/ostia_gb_month_mean", f'{OSTIA}.groupby("time.month").mean()'),
    ("real/ostia_mean_all", f"{OSTIA}.mean()"),
    ("real/soi_gb_month_mean", f'{SOI}.groupby("time.month").mean()'),
    ("real/soi_gb_month_std", f'{SOI}.groupby("time.month").std()'),
    ("real/soi_sel_1900", f'{SOI}.sel(time="1900")'),
    ("real/orca2_votemper_mean", f"{ORCA}.mean()"),
    ("real/orca2_votemper_mean_dim0", f'{ORCA}.mean("dim0")'),
    ("real/atlantic_theta_mean_depth", f'{ATL}.mean("depth")'),
    ("real/basin_mean", f"{BASIN}.mean()"),
    ("real/basin_max_yx_surface", f'{BASIN}.isel(Z=slice(0, 4)).max(("Y", "X"))'),
    ("real/basin_raw_min", f'open("{R}/basin_mask.nc", "basin", decode=False).min()'),
    ("real/hybrid_height_mean_level", f'{HYB}.mean(("grid_latitude", "grid_longitude"))'),
    ("real/rotated_pole_mean_lon", f'{ROT}.mean("grid_longitude")'),
    ("real/nemo_tos_mean", f"{NEMO}.mean()"),
]

ERROR_CASES = [
    ("error/bad_calendar", 'open("{cf}/bad_calendar.nc", "tas")'),
]


def versions() -> dict:
    out = {"python": sys.version.split()[0]}
    for p in ("numpy", "xarray", "pandas", "netCDF4", "h5py", "cftime", "dask"):
        out[p] = pkg_version(p)
    out["netcdf-c"] = netCDF4.__netcdf4libversion__
    out["hdf5"] = h5py.version.hdf5_version
    out["xarray_options"] = "use_flox=False, use_bottleneck=False, use_numbagg=False"
    return out


def main() -> None:
    write_files()
    cases = []
    for name, expr in SYNTH_CASES:
        cases.append(record(name, expr))
    if REAL_DIR.is_dir():
        for name, expr in REAL_CASES:
            cases.append(record(name, expr))
    else:
        raise SystemExit(f"real data not found at {REAL_DIR}")
    errors = [record_error(n, e) for n, e in ERROR_CASES]
    names = [c["name"] for c in cases]
    assert len(names) == len(set(names)), "duplicate case names"
    doc = {"versions": versions(), "cases": cases, "errors": errors}
    with open(OUT, "w") as f:
        f.write("{\n")
        f.write(f'"versions": {json.dumps(doc["versions"])},\n')
        f.write('"errors": [\n' + ",\n".join(json.dumps(e) for e in errors) + "\n],\n")
        f.write('"cases": [\n' + ",\n".join(json.dumps(c, allow_nan=False) for c in cases) + "\n]\n")
        f.write("}\n")
    json.loads(OUT.read_text())  # valid JSON
    print(f"wrote {len(cases)} cases to {OUT}; files in {CF_DIR}")


if __name__ == "__main__":
    main()
