#!/usr/bin/env python3
"""Peer distributed rechunk / reshape benchmark with dask.distributed.

Starts a LocalCluster of ``--workers`` single-threaded worker processes,
creates a float32 (T, 720, 1440) random array ON THE WORKERS and persists it
before any timing, then times one operation per workload (persist + wait of
the result).  Prints ONE JSON line per workload and method on stdout; progress
goes to stderr.

Workloads:
  rechunk-time-space  (10, 720, 1440) chunks -> (T, 90, 90): all-to-all.
  reshape-merge       (10, 720, 1440) chunks reshaped to (T, 720*1440): whole
                      chunks are reshaped in place, nothing should move.
  reshape-split       (T, 90, 90) chunks (rechunked untimed) reshaped to
                      (T, 720*1440): dask first rechunks to whole rows of lon,
                      which moves data.

Rechunk methods (--methods): ``p2p`` (dask's P2P rechunk as shipped, shards
buffered on disk), ``p2p-mem`` (P2P with distributed.p2p.storage.disk=False)
and ``tasks`` (the task-graph rechunk).  reshape-split runs once per method
(set through array.rechunk.method); reshape-merge has no rechunk at all.

Bytes moved between workers:
  * task transfers: the sum over workers of Worker.transfer_outgoing_bytes_total
    (sizeof() of the values served to other workers), after - before;
  * P2P shards: P2P does not go through those transfers but through the shuffle
    extension's own RPCs.  The script patches, in each worker process,
    CommShardsBuffer.process (the one place every outgoing shard message passes,
    with the sizeof() the buffer accounts) to count the bytes sent to OTHER
    workers apart from the bytes a worker sends to itself (P2P sends those over
    TCP to its own address too).
  ``bytes_transferred`` is the sum of both; ``bytes_breakdown`` has the parts and,
  as an unrelated cross-check, the bytes sent on the loopback interface (psutil;
  includes scheduler traffic and P2P self-sends, and anything else on ``lo``).

Quietness: ``foreign_cpu_seconds`` is the CPU time the machine spent outside
this process tree during the operation; well above 0, other jobs competed for
the cores and the time is not comparable.

Memory: a thread samples the RSS of each worker process every 0.1 s;
``peak_worker_rss_bytes`` is the per-worker peak during the operation (the
persisted input, about array_bytes / workers, is included; ``worker_rss_before_bytes``
is the RSS just before).
"""
import argparse
import gc
import json
import os
import platform
import signal
import sys
import threading
import time

import dask
import dask.array as da
import distributed
import numpy as np
import psutil
from dask.distributed import Client, LocalCluster, wait

LAT, LON = 720, 1440
WORKLOADS = ["rechunk-time-space", "reshape-merge", "reshape-split"]
METHODS = ["p2p", "p2p-mem", "tasks"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


class WorkerRssSampler(threading.Thread):
    """Samples the RSS of the given worker processes until stopped."""

    def __init__(self, pids, interval=0.1):
        super().__init__(daemon=True)
        self.procs = {addr: psutil.Process(pid) for addr, pid in pids.items()}
        self.interval = interval
        self.peak = dict.fromkeys(self.procs, 0)
        self._lock = threading.Lock()
        self._stop_event = threading.Event()

    def sample(self):
        with self._lock:
            for addr, proc in self.procs.items():
                try:
                    rss = proc.memory_info().rss
                except psutil.Error:
                    continue
                self.peak[addr] = max(self.peak[addr], rss)

    def current(self):
        out = {}
        for addr, proc in self.procs.items():
            try:
                out[addr] = proc.memory_info().rss
            except psutil.Error:
                out[addr] = None
        return out

    def reset(self):
        with self._lock:
            self.peak = dict.fromkeys(self.procs, 0)
        self.sample()

    def run(self):
        while not self._stop_event.is_set():
            self.sample()
            self._stop_event.wait(self.interval)

    def stop(self):
        self._stop_event.set()
        self.join()


# ---- run inside the worker processes (client.run) --------------------------

def _install_p2p_counter(dask_worker):
    """Count bytes of P2P shard messages each worker sends, to others / to itself."""
    from distributed.shuffle import _comms

    cls = _comms.CommShardsBuffer
    if getattr(cls, "_peer_bench_counts", None) is not None:
        return True
    counts = {"remote": 0, "self": 0}
    orig = cls.process  # inherited from ShardsBuffer.process(self, id, shards, size)

    async def process(self, id, shards, size):
        run = getattr(self.send, "__self__", None)  # the ShuffleRun owning this buffer
        local = run is not None and id == getattr(run, "local_address", None)
        counts["self" if local else "remote"] += size
        return await orig(self, id, shards, size)

    cls.process = process
    cls._peer_bench_counts = counts
    return True


def _worker_counters(dask_worker):
    from distributed.shuffle import _comms

    counts = getattr(_comms.CommShardsBuffer, "_peer_bench_counts", None) or {}
    spill = getattr(getattr(dask_worker, "data", None), "cumulative_metrics", {}) or {}
    return {
        "transfer_out": dask_worker.transfer_outgoing_bytes_total,
        "p2p_remote": counts.get("remote", 0),
        "p2p_self": counts.get("self", 0),
        "spilled": spill.get(("disk-write", "bytes"), 0),
        "keys": len(dask_worker.data),
    }


# -----------------------------------------------------------------------------

def loopback_sent():
    lo = psutil.net_io_counters(pernic=True).get("lo")
    return lo.bytes_sent if lo is not None else None


def busy_cpu_seconds():
    """(CPU seconds used by the whole machine, by this process tree), for telling
    whether something outside the benchmark competed for the cores."""
    t = psutil.cpu_times()
    machine = sum(t) - t.idle - getattr(t, "iowait", 0.0)
    me = psutil.Process()
    tree = 0.0
    for proc in [me] + me.children(recursive=True):
        try:
            c = proc.cpu_times()
        except psutil.Error:
            continue
        tree += c.user + c.system
    return machine, tree


def counters(client):
    per = client.run(_worker_counters)
    total = {k: sum(v[k] for v in per.values()) for k in ("transfer_out", "p2p_remote", "p2p_self", "spilled")}
    total["loopback"] = loopback_sent()
    return total


def placement(client, arr):
    """{block index: worker address} of a persisted array (one replica per key)."""
    from dask.core import flatten

    who = client.who_has(arr)
    out = {}
    for key in flatten(arr.__dask_keys__()):
        holders = who.get(key) or ()
        out[tuple(key[1:])] = holders[0] if holders else None
    return out


def placement_lower_bound(client, arr, new_chunks):
    """Least bytes a rechunk of persisted arr to new_chunks must move, given where
    arr's blocks are: each new chunk built on the worker already holding most of
    its input (output balance ignored)."""
    from dask.array.rechunk import old_to_new

    where = placement(client, arr)
    mapping = old_to_new(arr.chunks, new_chunks)  # per axis, per new chunk: [(old index, slice)]
    item = arr.dtype.itemsize
    moved = 0
    for new_idx in np.ndindex(*[len(c) for c in new_chunks]):
        by_worker = {}
        pieces = [mapping[a][new_idx[a]] for a in range(arr.ndim)]
        for combo in np.ndindex(*[len(p) for p in pieces]):
            old = tuple(pieces[a][combo[a]][0] for a in range(arr.ndim))
            n = item
            for a in range(arr.ndim):
                sl = pieces[a][combo[a]][1]
                n *= sl.stop - sl.start
            by_worker[where[old]] = by_worker.get(where[old], 0) + n
        moved += sum(by_worker.values()) - max(by_worker.values())
    return moved


def settle(client, arr, timeout=60):
    """Wait until the workers hold exactly one replica of each block of arr and
    nothing else (dask keeps copies fetched by earlier tasks until the Active
    Memory Manager drops them, and which copy it drops changes the placement)."""
    nblocks = int(np.prod(arr.numblocks))
    t = time.time()
    while time.time() - t < timeout:
        replicas = [len(v) for v in client.who_has(arr).values()]
        keys = sum(v["keys"] for v in client.run(_worker_counters).values())
        if keys == nblocks and replicas and max(replicas) == 1:
            return
        time.sleep(0.2)
    log(f"warning: workers hold {keys} keys, up to {max(replicas)} replicas, expected {nblocks} after {timeout} s")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--workers", type=int, default=4, help="single-threaded worker processes (default 4)")
    p.add_argument("--days", type=int, default=730, help="T, the time length (default 730 -> 3.03 GB)")
    p.add_argument("--workload", default="all",
                   help="comma-separated subset of " + ",".join(WORKLOADS) + " or 'all' (default)")
    p.add_argument("--methods", default=",".join(METHODS),
                   help="rechunk methods for rechunk-time-space and reshape-split (default p2p,p2p-mem,tasks)")
    p.add_argument("--memory-limit", default="5GiB",
                   help="per-worker memory limit (default 5GiB; dask starts spilling at 60%%)")
    p.add_argument("--repeat", type=int, default=1, help="runs of each workload/method (one JSON line each)")
    p.add_argument("--seed", type=int, default=42)
    return p.parse_args()


def main():
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    chosen = WORKLOADS if args.workload == "all" else args.workload.split(",")
    for w in chosen:
        if w not in WORKLOADS:
            sys.exit(f"unknown workload {w!r}; choose from {WORKLOADS}")
    workloads = [w for w in WORKLOADS if w in chosen]
    methods = args.methods.split(",")
    for m in methods:
        if m not in METHODS:
            sys.exit(f"unknown method {m!r}; choose from {METHODS}")

    T, N = args.days, args.workers
    shape = (T, LAT, LON)
    time_chunk = (10, LAT, LON)
    space_chunk = (T, 90, 90)
    nbytes = int(np.prod(shape)) * 4
    versions = {"python": platform.python_version(), "dask": dask.__version__,
                "distributed": distributed.__version__, "numpy": np.__version__, "psutil": psutil.__version__}
    machine = {"cpus": os.cpu_count(), "mem_bytes": psutil.virtual_memory().total}

    t = time.perf_counter()
    cluster = LocalCluster(n_workers=N, threads_per_worker=1, processes=True,
                           memory_limit=args.memory_limit, dashboard_address=None)
    client = Client(cluster)
    client.run(_install_p2p_counter)
    sampler = WorkerRssSampler(client.run(os.getpid))
    sampler.start()
    log(f"cluster of {N} workers up in {time.perf_counter() - t:.1f} s; "
        f"array {shape} float32 = {nbytes / 1e9:.2f} GB")

    def make_input(chunks):
        """The array, generated on the workers from the fixed seed (same values
        every time), persisted in `chunks`; the (T, 90, 90) layout is made from
        the (10, 720, 1440) one with the task rechunk, untimed."""
        x = da.random.default_rng(args.seed).random(shape, chunks=time_chunk).astype("float32")
        if chunks != time_chunk:
            x = x.persist()
            wait(x)
            x = x.rechunk(chunks, method="tasks")
        x = x.persist()
        wait(x)
        settle(client, x)
        return x

    def method_config(method):
        """(dask rechunk method, config) for a --methods entry."""
        if method == "p2p-mem":
            return "p2p", {"distributed.p2p.storage.disk": False}
        if method == "p2p":
            return "p2p", {"distributed.p2p.storage.disk": True}
        return "tasks", {}

    ref_sum = None

    def run_one(workload, method, x, build, config, lower_bound, lower_how, extra):
        nonlocal ref_sum
        if ref_sum is None:
            ref_sum = float(x.sum(dtype="float64").compute())
            settle(client, x)
        per_worker = {}
        for w in placement(client, x).values():
            per_worker[w] = per_worker.get(w, 0) + 1
        lb_placed = placement_lower_bound(client, x, extra.pop("_target_chunks"))
        gc.collect()
        before = counters(client)
        rss_before = sampler.current()
        sampler.reset()
        started = time.strftime("%Y-%m-%dT%H:%M:%S")
        cpu0 = busy_cpu_seconds()
        with dask.config.set(config):
            t0 = time.perf_counter()
            y = build(x).persist()
            wait(y)
            seconds = time.perf_counter() - t0
        cpu1 = busy_cpu_seconds()
        sampler.sample()
        after = counters(client)
        log(f"  {seconds:.2f} s")
        total = float(y.sum(dtype="float64").compute())
        ok = abs(total - ref_sum) <= 1e-9 * abs(ref_sum)
        if not ok:
            log(f"CHECK FAILED: sum {total} != {ref_sum}")

        d = {k: after[k] - before[k] for k in ("transfer_out", "p2p_remote", "p2p_self", "spilled")}
        lo = (after["loopback"] - before["loopback"]) if after["loopback"] is not None else None
        if method.startswith("p2p"):
            moved = d["p2p_remote"] + d["transfer_out"]
            how = ("P2P shard messages to other workers (CommShardsBuffer.process, instrumented, sizeof) "
                   "+ worker-to-worker task transfers (transfer_outgoing_bytes_total)")
        else:
            moved = d["transfer_out"]
            how = "sum over workers of Worker.transfer_outgoing_bytes_total (sizeof of the values served)"
        if d["spilled"]:
            log(f"warning: workers spilled {d['spilled']} bytes to disk during {workload}/{method}")
        rec = {
            "workload": workload, "method": method, "workers": N, "shape": list(shape),
            "in_chunk": [c[0] for c in x.chunks], "out_chunk": [c[0] for c in y.chunks],
            "out_chunks_count": int(np.prod(y.numblocks)),
            "seconds": round(seconds, 3),
            "bytes_transferred": int(moved), "bytes_transferred_how": how,
            "bytes_breakdown": {"task_transfers": int(d["transfer_out"]),
                                "p2p_shards_to_other_workers": int(d["p2p_remote"]),
                                "p2p_shards_to_self": int(d["p2p_self"]),
                                "loopback_tcp_sent_crosscheck": lo},
            "array_bytes": nbytes,
            "lower_bound_bytes": int(lower_bound if lower_bound is not None else lb_placed),
            "lower_bound_how": lower_how,
            "lower_bound_given_input_placement_bytes": int(lb_placed),
            "input_chunks_per_worker": sorted(per_worker.values()),
            "peak_worker_rss_bytes": [sampler.peak[a] for a in sorted(sampler.peak)],
            "worker_rss_before_bytes": [rss_before[a] for a in sorted(rss_before)],
            "spilled_bytes": int(d["spilled"]),
            "check_sum_ok": ok,
            "started": started,
            # CPU seconds the machine spent outside this benchmark's process tree
            # during the operation (other jobs competing for the cores; ~0 when quiet).
            "foreign_cpu_seconds": round(max(0.0, (cpu1[0] - cpu0[0]) - (cpu1[1] - cpu0[1])), 2),
            "benchmark_cpu_seconds": round(cpu1[1] - cpu0[1], 2),
            **extra,
            "versions": versions, "machine": machine,
        }
        print(json.dumps(rec), flush=True)
        del y

    balanced = ("(1 - 1/N) x array bytes: every output chunk takes an equal share of every input chunk, "
                "so with a balanced placement 1/N of it is already local")
    placed = ("given where dask placed the (T, 90, 90) input: each output chunk built on the worker already "
              "holding most of its input (output balance ignored); a placement aligned to the 90-row "
              "latitude bands would make it 0")
    try:
        for workload in workloads:
            # Every run gets a freshly generated, persisted and settled input, so
            # that runs do not depend on their order (replicas left by one run
            # and the Active Memory Manager's choice of which copy to drop would
            # otherwise change the next run's placement).
            runs = ([(m, r) for m in methods for r in range(args.repeat)] if workload != "reshape-merge"
                    else [("none (blockwise reshape)", r) for r in range(args.repeat)])
            for method, r in runs:
                log(f"{workload} {method} run {r + 1}: making the input ...")
                if workload == "rechunk-time-space":
                    dask_method, cfg = method_config(method)
                    x = make_input(time_chunk)
                    log(f"{workload} {method} run {r + 1} ...")
                    run_one(workload, method, x, lambda a: a.rechunk(space_chunk, method=dask_method), cfg,
                            (1 - 1 / N) * nbytes, balanced,
                            {"run": r + 1, "_target_chunks": normalize(space_chunk, shape)})
                elif workload == "reshape-merge":
                    x = make_input(time_chunk)
                    log(f"{workload} run {r + 1} ...")
                    run_one(workload, method, x, lambda a: a.reshape((T, LAT * LON)), {}, 0,
                            "0: each (10, 720, 1440) chunk reshapes in place to a (10, 1036800) chunk",
                            {"run": r + 1, "_target_chunks": x.chunks})
                else:
                    from dask.array.reshape import reshape_rechunk

                    dask_method, cfg = method_config(method)
                    x = make_input(space_chunk)
                    inchunks = reshape_rechunk(x.shape, (T, LAT * LON), x.chunks)[0]
                    log(f"{workload} {method} run {r + 1} ...")
                    run_one(workload, method, x, lambda a: a.reshape((T, LAT * LON)),
                            dict(cfg, **{"array.rechunk.method": dask_method}), None, placed,
                            {"run": r + 1, "_target_chunks": inchunks,
                             "intermediate_chunk": [c[0] for c in inchunks]})
                del x
    finally:
        sampler.stop()
        client.close()
        cluster.close()


def normalize(chunks, shape):
    from dask.array.core import normalize_chunks

    return normalize_chunks(chunks, shape, dtype=np.float32)


if __name__ == "__main__":
    main()
