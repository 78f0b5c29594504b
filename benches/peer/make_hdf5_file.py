#!/usr/bin/env python3
"""Generate a plain HDF5 file of daily temperatures for the regional-mean benchmark.

One dataset, ``/tas``: float32 (time, lat, lon) on a global 0.25 degree grid
(720 x 1440, latitudes north to south), chunked on disk and uncompressed, with
1-D ``/lat`` and ``/lon`` datasets beside it.  It is plain HDF5 written with
h5py (no netCDF conventions, no fill value), so both readers see the same
numbers with no decoding.  Values: 273.15 + 30 cos(lat) K, a +/-10 K seasonal
cycle opposite in the two hemispheres, and N(0, 2 K) noise from a fixed seed.
Days are written one chunk-row of time at a time, so memory stays near one
such block (~300 MB for 73 days) whatever --days is.

365 days make 365 x 720 x 1440 x 4 = 1,513,728,000 bytes of data.
"""
import argparse
import os
import time

import h5py
import numpy as np

NLAT, NLON = 720, 1440


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--days", type=int, default=365, help="daily steps (default 365, ~1.51 GB)")
    p.add_argument("--out", required=True, help="output HDF5 path")
    p.add_argument("--chunks", default="73,90,180", help="on-disk chunk shape time,lat,lon (default 73,90,180)")
    p.add_argument("--seed", type=int, default=20000102)
    return p.parse_args()


def main():
    args = parse_args()
    chunks = [int(c) for c in args.chunks.split(",")]
    chunks[0] = min(chunks[0], args.days)
    chunks = tuple(chunks)
    lat = np.linspace(89.875, -89.875, NLAT)
    lon = np.linspace(0.125, 359.875, NLON)
    rng = np.random.default_rng(args.seed)
    base = (273.15 + 30.0 * np.cos(np.deg2rad(lat)))[:, None].astype(np.float32)
    hemisphere = np.sign(lat)[:, None].astype(np.float32)

    t0 = time.perf_counter()
    tmp = args.out + ".part"
    # The oldest file format that holds these objects, so any HDF5 1.8+ library reads it.
    with h5py.File(tmp, "w", libver=("earliest", "v110")) as f:
        f.attrs["title"] = "Synthetic daily temperature (Tessera side-by-side benchmark)"
        f.attrs["source"] = f"benches/peer/make_hdf5_file.py, seed {args.seed}"
        f.create_dataset("lat", data=lat).attrs["units"] = "degrees_north"
        f.create_dataset("lon", data=lon).attrs["units"] = "degrees_east"
        tas = f.create_dataset("tas", shape=(args.days, NLAT, NLON), dtype="f4", chunks=chunks)
        tas.attrs["units"] = "K"
        for start in range(0, args.days, chunks[0]):
            n = min(chunks[0], args.days - start)
            doy = np.arange(start, start + n) % 365.25
            season = (10.0 * np.sin(2 * np.pi * (doy - 105.0) / 365.25)).astype(np.float32)
            block = rng.standard_normal((n, NLAT, NLON), dtype=np.float32)
            block *= np.float32(2.0)
            block += base
            block += season[:, None, None] * hemisphere
            tas[start:start + n] = block
            print(f"\r  {start + n}/{args.days} days", end="", flush=True)
    os.replace(tmp, args.out)
    size = os.path.getsize(args.out)
    print(f"\nwrote {args.out}: {size} bytes ({size / 1e9:.2f} GB), {args.days} days, chunks {chunks}, "
          f"in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
