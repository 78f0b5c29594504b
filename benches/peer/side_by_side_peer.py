#!/usr/bin/env python3
"""Dask's side of benches/side_by_side.sh: one workload per process, timed.

Starts a LocalCluster of ``--workers`` single-threaded worker processes (the
dask.distributed equivalent of Tessera's ``--workers 2``), runs one workload
``--repeat`` times and prints ONE JSON object on stdout with a record per run.
Progress and library warnings go to stderr.

Workloads (what Tessera runs for the same row is in ../side_by_side.sh):
  roundtrip    ``client.submit(inc, i).result()`` ``--n`` times in sequence,
               after ``--warmup`` untimed calls; per-call median and mean.
  throughput   ``client.gather(client.map(inc, range(n)))`` with n = ``--tasks``.
  array        a float32 array generated on the workers
               (``da.random.default_rng(seed).random(shape, chunks).astype(float32)``),
               then ``--op`` (none, ``reshape:SHAPE`` or ``rechunk:CHUNKS``) and
               ``.sum()``, computed.  Each repeat times the generation + sum alone
               ("base") and generation + op + sum ("op"), so the op costs the
               difference.
  hdf5         ``da.from_array(h5py.File(F)["/tas"], chunks="auto")[:, y0:y1, x0:x1]
               .mean(axis=0)``, computed, after one untimed run (warm page cache);
               the result is saved to ``--save`` (.npy) for the driver to compare.

Phases: each timed section is framed by ``@phase start NAME`` and
``@phase end NAME`` lines on stdout, so the driver, which samples the summed
RSS of this whole process tree (client, workers), can give the peak of each
section.

Bytes moved between workers: the bytes (dask's nbytes, i.e. sizeof) each worker
serves to other workers (its ``get_data`` handler, wrapped to count requests
that come from a worker; ``transfer_outgoing_bytes_total`` would also count the
results a client gathers, which Tessera reports apart) plus, for P2P rechunks,
the shard bytes sent to other workers (counter patched in by rechunk_dask.py),
after - before.  Bytes read: the sum over the worker processes of ``rchar`` in
/proc/PID/io (bytes returned by read()/pread(), page cache hits included),
after - before.
"""
import argparse
import json
import os
import platform
import signal
import statistics
import sys
import time

import dask
import dask.array as da
import distributed
import numpy as np
import psutil
from dask.distributed import Client, LocalCluster

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import rechunk_dask  # noqa: E402  (P2P shard counter, worker counters)


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def inc(x):
    return x + 1


def _install_counters(dask_worker):
    """In each worker: rechunk_dask's P2P shard counter, and a count of the bytes this
    worker serves to OTHER WORKERS.  transfer_outgoing_bytes_total also counts what a
    client gathers (results), which Tessera reports apart (bytes_gathered); a worker
    fetching a dependency names itself in `who`, a client does not."""
    rechunk_dask._install_p2p_counter(dask_worker)
    if getattr(dask_worker, "_sbs_to_workers", None) is not None:
        return True
    dask_worker._sbs_to_workers = 0
    serve = dask_worker.handlers["get_data"]

    async def get_data(comm, keys, who=None, serializers=None):
        if who is not None:
            tasks = dask_worker.state.tasks
            dask_worker._sbs_to_workers += sum(tasks[k].nbytes or 0 for k in keys
                                               if k in dask_worker.data and k in tasks)
        return await serve(comm, keys=keys, who=who, serializers=serializers)

    dask_worker.handlers["get_data"] = get_data
    return True


def _worker_io(dask_worker):
    """Transfer and P2P counters of one worker, plus its process's rchar."""
    c = rechunk_dask._worker_counters(dask_worker)
    c["to_workers"] = dask_worker._sbs_to_workers
    c["rchar"] = psutil.Process().io_counters().read_chars
    return c


class Counters:
    """Worker counters summed over the cluster, for after - before deltas."""

    def __init__(self, client):
        self.client = client

    def now(self):
        per = self.client.run(_worker_io)
        keys = ("to_workers", "transfer_out", "p2p_remote", "rchar", "spilled")
        return {k: sum(v[k] for v in per.values()) for k in keys}

    @staticmethod
    def delta(before, after):
        d = {k: after[k] - before[k] for k in before}
        return {"bytes_moved": d["to_workers"] + d["p2p_remote"],
                "bytes_task_transfers": d["to_workers"], "bytes_p2p_to_other_workers": d["p2p_remote"],
                "bytes_served_incl_client_gathers": d["transfer_out"],
                "bytes_read_rchar": d["rchar"], "bytes_spilled": d["spilled"]}


def phase(what, name):
    print(f"@phase {what} {name}", flush=True)


def timed(client, name, fn):
    """Runs fn() as the phase NAME; returns (seconds, value, counter deltas)."""
    counters = Counters(client)
    before = counters.now()
    phase("start", name)
    t = time.perf_counter()
    value = fn()
    seconds = time.perf_counter() - t
    phase("end", name)
    return seconds, value, Counters.delta(before, counters.now())


def run_roundtrip(client, args):
    for i in range(args.warmup):
        client.submit(inc, -1 - i).result()
    runs = []
    for r in range(args.repeat):
        offset = r * args.n          # distinct arguments, so distinct keys, every repeat
        times = []
        counters = Counters(client)
        before = counters.now()
        phase("start", f"run-{r + 1}")
        for i in range(offset, offset + args.n):
            t = time.perf_counter()
            v = client.submit(inc, i).result()
            times.append(time.perf_counter() - t)
            if v != i + 1:
                raise SystemExit(f"inc({i}) returned {v}")
        phase("end", f"run-{r + 1}")
        runs.append({"run": r + 1, "seconds": sum(times), "n": args.n,
                     "median_us": statistics.median(times) * 1e6,
                     "mean_us": sum(times) / len(times) * 1e6, "check_ok": True,
                     **Counters.delta(before, counters.now())})
        log(f"round trip run {r + 1}: median {runs[-1]['median_us']:.0f} us, mean {runs[-1]['mean_us']:.0f} us")
    return runs


def run_throughput(client, args):
    runs = []
    for r in range(args.repeat):
        lo = r * args.tasks            # distinct arguments, so distinct keys, every repeat
        seconds, total, d = timed(client, f"run-{r + 1}",
                                  lambda: sum(client.gather(client.map(inc, range(lo, lo + args.tasks)))))
        want = sum(range(lo + 1, lo + args.tasks + 1))
        runs.append({"run": r + 1, "seconds": seconds, "tasks": args.tasks,
                     "tasks_per_second": args.tasks / seconds, "check_ok": total == want, **d})
        log(f"map+gather run {r + 1}: {seconds:.2f} s ({args.tasks / seconds:.0f} tasks/s)")
    return runs


def parse_tuple(text):
    return tuple(int(v) for v in text.strip("()").split(",") if v.strip())


def run_array(client, args):
    shape, chunks = parse_tuple(args.shape), parse_tuple(args.chunks)
    op_kind, _, op_arg = args.op.partition(":")

    def gen():
        return da.random.default_rng(args.seed).random(shape, chunks=chunks).astype(np.float32)

    def with_op(x):
        if op_kind == "reshape":
            return x.reshape(parse_tuple(op_arg))
        if op_kind == "rechunk":
            return x.rechunk(parse_tuple(op_arg))
        return x

    info = {}
    if op_kind == "rechunk":
        from dask.array.core import normalize_chunks
        from dask.array.rechunk import _choose_rechunk_method

        new = normalize_chunks(parse_tuple(op_arg), shape, dtype=np.float32)
        info["dask_rechunk_method"] = _choose_rechunk_method(gen().chunks, new)
    if op_kind == "reshape":
        from dask.array.rechunk import _choose_rechunk_method
        from dask.array.reshape import reshape_rechunk

        x = gen()
        y = with_op(x)
        info["dask_output_chunk"] = [max(c) for c in y.chunks]
        info["dask_output_chunks_count"] = int(np.prod(y.numblocks))
        inchunks = reshape_rechunk(x.shape, y.shape, x.chunks)[0]
        if tuple(inchunks) != tuple(x.chunks):   # dask rechunks before reshaping
            info["dask_intermediate_chunk"] = [max(c) for c in inchunks]
            info["dask_rechunk_method"] = _choose_rechunk_method(x.chunks, inchunks)
    runs = []
    for r in range(args.repeat):
        for label, build in (("base", gen), ("op", lambda: with_op(gen()))):
            seconds, total, d = timed(client, f"{label}-{r + 1}", lambda: float(build().sum().compute()))
            runs.append({"run": r + 1, "label": label, "seconds": seconds, "sum": total,
                         "mean": total / float(np.prod(shape)), **d})
            log(f"{args.op} {label} run {r + 1}: {seconds:.2f} s, {d['bytes_moved'] / 1e6:.1f} MB moved")
    return runs, info


def run_hdf5(client, args):
    import h5py

    y0, y1, x0, x1 = (int(v) for v in args.box.split(","))

    def regional_mean():
        f = h5py.File(args.path, "r")
        x = da.from_array(f[args.var], chunks="auto")
        out = x[:, y0:y1, x0:x1].mean(axis=0).compute()
        info = {"shape": list(x.shape), "dask_chunk": [max(c) for c in x.chunks],
                "file_chunk": list(f[args.var].chunks or ())}
        f.close()
        return out, info

    (_, info) = regional_mean()  # untimed: warms the page cache and the workers
    runs, result = [], None
    for r in range(args.repeat):
        seconds, (result, _), d = timed(client, f"run-{r + 1}", regional_mean)
        selected = info["shape"][0] * (y1 - y0) * (x1 - x0) * result.dtype.itemsize
        runs.append({"run": r + 1, "seconds": seconds, "mean_of_means": float(result.astype(np.float64).mean()),
                     "bytes_selected": selected, **d})
        log(f"hdf5 regional mean run {r + 1}: {seconds:.3f} s")
    if args.save:
        np.save(args.save, result)
    return runs, info


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("workload", choices=["roundtrip", "throughput", "array", "hdf5"])
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--n", type=int, default=2000, help="roundtrip: timed calls")
    p.add_argument("--warmup", type=int, default=200, help="roundtrip: untimed calls first")
    p.add_argument("--tasks", type=int, default=100_000, help="throughput: tasks")
    p.add_argument("--shape", help="array: e.g. 365,720,1440")
    p.add_argument("--chunks", help="array: input chunks, e.g. 10,720,1440")
    p.add_argument("--op", default="none", help="array: none, reshape:SHAPE or rechunk:CHUNKS")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--path", help="hdf5: file")
    p.add_argument("--var", default="/tas", help="hdf5: dataset")
    p.add_argument("--box", help="hdf5: y0,y1,x0,x1 (index ranges along lat and lon)")
    p.add_argument("--save", help="hdf5: write the result here (.npy)")
    return p.parse_args()


def main():
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    t = time.perf_counter()
    cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None)
    client = Client(cluster)
    client.run(_install_counters)
    startup = time.perf_counter() - t
    info = {}
    try:
        if args.workload == "roundtrip":
            runs = run_roundtrip(client, args)
        elif args.workload == "throughput":
            runs = run_throughput(client, args)
        elif args.workload == "array":
            runs, info = run_array(client, args)
        else:
            runs, info = run_hdf5(client, args)
    finally:
        client.close()
        cluster.close()
    versions = {"python": platform.python_version(), "dask": dask.__version__,
                "distributed": distributed.__version__, "numpy": np.__version__, "psutil": psutil.__version__}
    if args.workload == "hdf5":
        import h5py

        versions.update({"h5py": h5py.__version__, "hdf5": h5py.version.hdf5_version})
    print(json.dumps({"tool": "dask", "workload": args.workload, "workers": args.workers,
                      "scheduler": f"LocalCluster, {args.workers} single-threaded worker processes",
                      "startup_seconds": round(startup, 3), "runs": runs, "info": info,
                      "versions": versions}), flush=True)


if __name__ == "__main__":
    main()
