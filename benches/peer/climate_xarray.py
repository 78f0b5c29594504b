#!/usr/bin/env python3
"""Peer climate workflow with xarray + dask, timed step by step.

Opens a daily ``tas`` file (from make_climate_file.py) lazily, computes the
monthly climatology, writes the anomalies to NetCDF-4 (float32) and computes
the area-weighted global mean time series.  Prints ONE JSON line on stdout;
progress and library warnings go to stderr.

Bytes moved and read (distributed scheduler only): the workers' counters from
side_by_side_peer.py (bytes served to other workers, P2P shards to other workers,
rchar), after - before the three steps, as ``transfers``.

Memory: a background thread sums the RSS of this process and all of its
descendants (nanny and worker processes) every 0.1 s; ``peak_rss_bytes`` is
the highest such sum.  Summing RSS counts shared library pages once per
process, so it slightly overstates the true footprint.
"""
import argparse
import json
import os
import platform
import resource
import signal
import sys
import tempfile
import threading
import time

import dask
import netCDF4
import numpy as np
import pandas as pd
import psutil
import xarray as xr


class TreeRssSampler(threading.Thread):
    """Samples the summed RSS of this process tree until stopped."""

    def __init__(self, interval=0.1):
        super().__init__(daemon=True)
        self.interval, self.peak_total, self.peak_child = interval, 0, 0
        self._stop_event = threading.Event()

    def sample(self):
        me = psutil.Process()
        total, child_max = me.memory_info().rss, 0
        for child in me.children(recursive=True):
            try:
                rss = child.memory_info().rss
            except psutil.Error:        # a process ended between listing and reading
                continue
            total += rss
            child_max = max(child_max, rss)
        self.peak_total = max(self.peak_total, total)
        self.peak_child = max(self.peak_child, child_max)

    def run(self):
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval)

    def stop(self):
        self._stop_event.set()
        self.join()
        self.sample()


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("path", help="input NetCDF file with variable tas(time, lat, lon)")
    p.add_argument("--chunks", type=int, default=365, help="dask chunk length along time (default 365)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (threads for --scheduler threads)")
    p.add_argument("--scheduler", choices=["distributed", "threads"], default="distributed")
    p.add_argument("--out", help="anomaly output path (default: a temp file next to the input)")
    p.add_argument("--keep", action="store_true", help="keep the anomaly file")
    # xarray's groupby arithmetic chunks the climatology by month=1 and so
    # splits the anomalies into one-day chunks; this merges them back first.
    p.add_argument("--rechunk-anom", action="store_true",
                   help="rechunk the anomalies to --chunks days before writing")
    return p.parse_args()


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def main():
    args = parse_args()
    # Turn SIGTERM (e.g. from `timeout`) into an exit that runs the clean-up below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    sampler = TreeRssSampler()
    sampler.start()

    # Scheduler: a LocalCluster of single-threaded worker processes, or dask's
    # in-process thread pool.  Start-up is timed but kept out of wall_seconds.
    t = time.perf_counter()
    client = cluster = None
    if args.scheduler == "distributed":
        from dask.distributed import Client, LocalCluster
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1,
                               processes=True, dashboard_address=None)
        client = Client(cluster)
        counters = _transfer_counters(client)
    else:
        counters = None
        dask.config.set(scheduler="threads", num_workers=args.workers)
    startup = time.perf_counter() - t

    out = args.out
    if out is None:
        fd, out = tempfile.mkstemp(suffix=".anom.nc", dir=os.path.dirname(os.path.abspath(args.path)))
        os.close(fd)

    steps, checks = {}, {}
    counted_before = counters.now() if counters else None

    def step(name):
        """Context manager timing one step into steps[name]."""
        class Timer:
            def __enter__(self):
                log(f"{name} ...")
                self.t = time.perf_counter()

            def __exit__(self, *exc):
                steps[name] = round(time.perf_counter() - self.t, 3)
                log(f"{name}: {steps[name]} s")
        return Timer()

    try:
        with step("open"):
            ds = xr.open_dataset(args.path, chunks={"time": args.chunks})
            tas = ds.tas

        with step("climatology"):
            clim = tas.groupby("time.month").mean().compute()
        checks["climatology_mean"] = float(clim.mean())

        with step("anomalies_write"):
            anom = (tas.groupby("time.month") - clim).rename("tas")
            if args.rechunk_anom:
                anom = anom.chunk({"time": args.chunks})
            # Keep float32 and the input's fill value; the layout is the netCDF
            # default (contiguous).  The input's (73, 90, 180) chunking would make
            # every one-day write a read-modify-write of a 4.7 MB HDF5 chunk, since
            # xarray reopens the file for each task under the distributed scheduler.
            encoding = {"tas": {"dtype": "float32", "_FillValue": np.float32(1e20)}}
            anom.to_netcdf(out, format="NETCDF4", encoding=encoding)

        with step("weighted_mean"):
            weights = np.cos(np.deg2rad(tas.lat))
            series = tas.weighted(weights).mean(("lat", "lon")).compute()
        checks["weighted_mean_first"] = float(series[0])
        checks["weighted_mean_mean"] = float(series.mean())
        transfers = counters.delta(counted_before, counters.now()) if counters else None
        ds.close()
    finally:
        if client is not None:
            client.close()
            cluster.close()
        if not args.keep and os.path.exists(out):
            os.remove(out)
        sampler.stop()

    result = {
        "tool": "xarray+dask",
        "scheduler": args.scheduler,
        "versions": {
            "python": platform.python_version(), "xarray": xr.__version__, "dask": dask.__version__,
            "distributed": _version("distributed"), "numpy": np.__version__, "pandas": pd.__version__,
            "netCDF4": netCDF4.__version__, "netcdf-c": netCDF4.__netcdf4libversion__,
            "hdf5": netCDF4.__hdf5libversion__, "psutil": psutil.__version__,
        },
        "workers": args.workers,
        "chunks_time": args.chunks,
        "rechunk_anom": args.rechunk_anom,
        # Largest dask chunk of the input and of the anomalies written, (time, lat, lon).
        "input_chunk": [max(c) for c in tas.chunks],
        "anom_chunk": [max(c) for c in anom.chunks],
        "anom_chunks_count": int(np.prod(anom.data.numblocks)),
        "wall_seconds": round(sum(steps.values()), 3),
        "startup_seconds": round(startup, 3),
        "peak_rss_bytes": sampler.peak_total,
        "client_maxrss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,  # KiB on Linux
        "max_worker_rss_bytes": sampler.peak_child,
        "steps": steps,
        "checks": checks,
        "transfers": transfers,
        "anomalies_path": out if args.keep else None,
    }
    print(json.dumps(result), flush=True)


def _transfer_counters(client):
    """Worker transfer/read counters (side_by_side_peer.py), or None if they cannot be set up."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    try:
        import side_by_side_peer as sbs

        client.run(sbs._install_counters)
        return sbs.Counters(client)
    except Exception as e:  # counters are extra information; the workflow runs without them
        log(f"warning: no transfer counters ({e!r})")
        return None


def _version(module):
    try:
        return __import__(module).__version__
    except ImportError:
        return None


if __name__ == "__main__":
    main()
