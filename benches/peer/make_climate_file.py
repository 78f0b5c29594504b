#!/usr/bin/env python3
"""Generate a synthetic, CF-1.8 daily climate file for the peer benchmarks.

The file holds one variable, ``tas`` (float32, time x lat x lon), on a global
0.5 degree grid with latitudes stored north to south (descending), as many
model outputs do.  Values are a smooth climate (warm tropics, opposite seasons
in the two hemispheres) plus Gaussian noise from a fixed seed, and a fixed
land-like ~2% of the grid cells is set to the _FillValue.  Days are written a
block at a time, so memory stays at a few hundred MB whatever --days is.
"""
import argparse
import os
import time

import netCDF4
import numpy as np

FILL = np.float32(1e20)
NLAT, NLON = 360, 720


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--days", type=int, default=2000, help="number of daily steps (default 2000, ~2.07 GB)")
    p.add_argument("--out", required=True, help="output NetCDF-4 path")
    p.add_argument("--zlib", type=int, metavar="LEVEL", default=0,
                   help="deflate level 1-9 (default 0: no compression)")
    # 73 days divides 365, so a one-year dask chunk never splits a stored chunk.
    p.add_argument("--chunks", default="73,90,180", help="on-disk chunk shape time,lat,lon")
    p.add_argument("--seed", type=int, default=20000101)
    return p.parse_args()


def land_mask(lat, lon):
    """A fixed, smooth 'continents' pattern covering 2% of the cells."""
    la, lo = np.meshgrid(np.deg2rad(lat), np.deg2rad(lon), indexing="ij")
    pattern = np.sin(3 * lo + 1.0) * np.cos(2 * la) + 0.5 * np.sin(5 * la) * np.cos(2 * lo)
    return pattern > np.quantile(pattern, 0.98)


def main():
    args = parse_args()
    chunks = [int(c) for c in args.chunks.split(",")]
    chunks[0] = min(chunks[0], args.days)  # HDF5 chunks may not exceed the dimension
    chunks = tuple(chunks)
    lat = np.linspace(89.75, -89.75, NLAT)          # descending, cell centres
    lon = np.linspace(0.25, 359.75, NLON)
    mask = land_mask(lat, lon)
    rng = np.random.default_rng(args.seed)

    # Parts of the field that do not depend on time, broadcast per block below.
    base = (273.15 + 30.0 * np.cos(np.deg2rad(lat)))[:, None] + np.zeros((1, NLON))
    hemisphere = np.sign(lat)[:, None]               # opposite seasons N/S

    t0 = time.perf_counter()
    with netCDF4.Dataset(args.out, "w", format="NETCDF4") as nc:
        nc.Conventions = "CF-1.8"
        nc.title = "Synthetic daily near-surface air temperature (Tessera peer benchmark)"
        nc.source = "benches/peer/make_climate_file.py, seed %d" % args.seed
        nc.createDimension("time", args.days)
        nc.createDimension("lat", NLAT)
        nc.createDimension("lon", NLON)

        coords = {
            "time": ("time", {"units": "days since 2000-01-01 00:00:00", "calendar": "standard",
                              "standard_name": "time", "long_name": "time", "axis": "T"}),
            "lat": ("lat", {"units": "degrees_north", "standard_name": "latitude",
                            "long_name": "latitude", "axis": "Y"}),
            "lon": ("lon", {"units": "degrees_east", "standard_name": "longitude",
                            "long_name": "longitude", "axis": "X"}),
        }
        for name, (dim, attrs) in coords.items():
            v = nc.createVariable(name, "f8", (dim,))
            v.setncatts(attrs)
        nc["time"][:] = np.arange(args.days, dtype="f8")
        nc["lat"][:] = lat
        nc["lon"][:] = lon

        tas = nc.createVariable("tas", "f4", ("time", "lat", "lon"), fill_value=FILL,
                                chunksizes=chunks, zlib=args.zlib > 0,
                                complevel=args.zlib or 4)
        tas.setncatts({"standard_name": "air_temperature", "long_name": "Near-Surface Air Temperature",
                       "units": "K", "cell_methods": "time: mean"})
        tas.set_auto_mask(False)  # we write the fill value ourselves

        # Write whole on-disk chunks along time: one block of chunks[0] days at a time.
        for start in range(0, args.days, chunks[0]):
            days = np.arange(start, min(start + chunks[0], args.days))
            doy = days % 365.25
            # Peak of the northern summer around mid-July (day ~196).
            season = 10.0 * np.sin(2 * np.pi * (doy - 105.0) / 365.25)
            block = base + season[:, None, None] * hemisphere
            block = block.astype(np.float32)
            block += rng.standard_normal(block.shape, dtype=np.float32) * np.float32(2.0)
            block[:, mask] = FILL
            tas[start:start + len(days)] = block
            print(f"\r  {start + len(days)}/{args.days} days", end="", flush=True)

    elapsed = time.perf_counter() - t0
    size = os.path.getsize(args.out)
    print(f"\nwrote {args.out}: {size} bytes ({size / 1e9:.2f} GB), {args.days} days, "
          f"{mask.mean() * 100:.2f}% masked, chunks {chunks}, zlib {args.zlib}, in {elapsed:.1f} s")


if __name__ == "__main__":
    main()
