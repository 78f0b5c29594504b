#!/usr/bin/env python3
"""Driver of benches/side_by_side.sh: each workload run by Tessera and by Dask, one table.

Runs every workload both ways, each run in its own process, 2 workers a side,
``--repeat`` times, and prints one markdown table (best of the runs, median in
brackets) with the ratio Tessera/peer, plus the machine and the versions; the
same table and every run's raw figures go to ``--json``.  The data files are
made beforehand by side_by_side.sh.

How each figure is measured, the same way on both sides:

* Every command runs under this script's ``_measure`` wrapper (a small
  process that starts the command and waits for it), so that the driver can
  watch the whole process tree below it: the ``tessera`` process (or
  ``mpirun`` and its ranks), or Dask's client with its worker processes.
* Peak memory: a thread sums the RSS of every process in that tree every
  ``--sample-interval`` seconds (default 0.1), and once more whenever the
  command prints a line.  A Dask run prints ``@phase start|end NAME`` around
  each timed section and its peak is the highest sum inside the section; a
  Tessera run is one ``tessera eval`` process, whose peak is over its whole
  life (start-up included), and never less than the kernel's exact peak of
  its largest process (``ru_maxrss`` of the wrapper's children).  Summed RSS
  counts shared library pages once per process, so several processes are
  slightly overstated.
* Wall time: Tessera's run report (``wall_seconds``, the computation as the
  client times it) or the futures bench's own figures; Dask's time around
  ``compute()``/``result()``/``gather()`` in the client.  Neither includes
  starting the runtime (Dask's cluster start is in the JSON).
* Bytes moved between workers: Tessera's report ``bytes_moved``; Dask's
  worker counters (side_by_side_peer.py).  Bytes read: Tessera's report
  ``bytes_read`` (stored bytes of the selected elements) and, on both sides,
  ``rchar`` (bytes returned by read()/pread(), page cache included): Tessera's
  from the wrapper's /proc/self/io (which gathers its finished children's),
  Dask's from its workers' /proc/PID/io.
* Other load: for every run, the CPU seconds the machine spent outside the
  run's processes and this driver (``foreign_cpu_seconds`` in the JSON); runs
  where that exceeds 10% of the run's length are listed under the table.
"""
import argparse
import datetime
import json
import os
import platform
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
PEER = os.path.join(HERE, "side_by_side_peer.py")
MPIRUN = ["mpirun", "-n", "3", "--oversubscribe"]

SIZES = {
    "full": {"roundtrips": 2000, "warmup": 200, "tasks": 100_000,
             "reshape_shape": (365, 720, 1440), "reshape_time_chunks": (10, 720, 1440),
             "reshape_space_chunks": (365, 90, 90),
             "rechunk_shape": (365, 360, 720), "rechunk_in": (10, 360, 720), "rechunk_out": (365, 90, 90)},
    "quick": {"roundtrips": 200, "warmup": 20, "tasks": 2000,
              "reshape_shape": (20, 720, 1440), "reshape_time_chunks": (5, 720, 1440),
              "reshape_space_chunks": (20, 90, 90),
              "rechunk_shape": (20, 360, 720), "rechunk_in": (5, 360, 720), "rechunk_out": (20, 90, 90)},
}
# The regional box on the 0.25 degree grid of make_hdf5_file.py (latitudes 89.875 -> -89.875):
# rows 100:220 are 65N-35N (30 degrees), columns 0:160 are 0-40E (40 degrees).
BOX = (100, 220, 0, 160)
WORKLOADS = ["roundtrip", "throughput", "reshape-merge", "reshape-split", "rechunk", "hdf5", "climate"]


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# ---- the wrapper: `side_by_side.py _measure OUT -- CMD...` -----------------------------

def proc_io():
    with open("/proc/self/io") as f:
        d = dict(line.split(": ") for line in f.read().splitlines() if line)
    return int(d["rchar"]), int(d["read_bytes"])


def measure_main(argv):
    """Runs CMD, then writes to OUT what its whole finished tree read (rchar) and used."""
    out, cmd = argv[0], argv[argv.index("--") + 1:]
    rchar0, read0 = proc_io()
    rc = subprocess.call(cmd)
    rchar1, read1 = proc_io()
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(out, "w") as f:
        json.dump({"rc": rc, "rchar": rchar1 - rchar0, "read_bytes": read1 - read0,
                   "maxrss_bytes": ru.ru_maxrss * 1024, "cpu_seconds": ru.ru_utime + ru.ru_stime}, f)
    sys.exit(rc)


# ---- running and watching one command ------------------------------------------------------

class Run:
    """One command under the wrapper: its output lines with arrival times, phases,
    RSS samples of its process tree, and the wrapper's totals."""

    def __init__(self, cmd, env=None, interval=0.1, log_path=None, timeout=7200, label=""):
        import psutil

        self.cmd, self.label = cmd, label
        self.lines, self.samples, self.phases, self.cpu_seen = [], [], {}, {}
        self._lock = threading.Lock()
        fd, measure_out = tempfile.mkstemp(suffix=".measure.json")
        os.close(fd)
        full_env = dict(os.environ, **(env or {}))
        cpu0 = psutil.cpu_times()
        me0 = psutil.Process().cpu_times()
        self.t0 = time.perf_counter()
        log(f"  $ {' '.join(shlex.quote(c) for c in cmd)}")
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "_measure", measure_out, "--"]
                                     + cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=full_env,
                                     text=True, bufsize=1)
        self._psutil_root = psutil.Process(self.proc.pid)
        stop = threading.Event()
        logf = open(log_path, "a") if log_path else None
        if logf:
            logf.write(f"\n==== {label}: {' '.join(shlex.quote(c) for c in cmd)}\n")
        readers = [threading.Thread(target=self._read_stdout, daemon=True),
                   threading.Thread(target=self._read_stderr, args=(logf,), daemon=True)]
        sampler = threading.Thread(target=self._sample_loop, args=(stop, interval), daemon=True)
        for t in readers + [sampler]:
            t.start()
        try:
            self.rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.rc = self.proc.wait()
            log(f"  {label}: timed out after {timeout} s")
        self.seconds = time.perf_counter() - self.t0
        stop.set()
        for t in readers + [sampler]:
            t.join()
        if logf:
            logf.close()
        cpu1 = psutil.cpu_times()
        me1 = psutil.Process().cpu_times()
        try:
            with open(measure_out) as f:
                self.measured = json.load(f)
        except (OSError, ValueError):
            self.measured = {}
        os.remove(measure_out)
        busy = (sum(cpu1) - cpu1.idle - getattr(cpu1, "iowait", 0)) - (sum(cpu0) - cpu0.idle - getattr(cpu0, "iowait", 0))
        mine = (me1.user + me1.system) - (me0.user + me0.system)
        # The run's own CPU: the wrapper's rusage covers the processes reaped into it; Dask's
        # workers are not (they end after their parent stops waiting), so also the sum over
        # every process seen of its last sampled CPU time, whichever is larger.
        self.cpu = max(self.measured.get("cpu_seconds", 0.0), sum(self.cpu_seen.values()))
        self.foreign_cpu = max(0.0, busy - mine - self.cpu)
        self.stdout = "".join(line for _, line in self.lines)

    def _sample(self):
        import psutil

        total = 0
        try:
            children = self._psutil_root.children(recursive=True)
        except psutil.Error:
            return
        for p in children:
            try:
                total += p.memory_info().rss
                t = p.cpu_times()
                self.cpu_seen[p.pid] = t.user + t.system
            except psutil.Error:
                pass
        with self._lock:
            self.samples.append((time.perf_counter(), total))

    def _sample_loop(self, stop, interval):
        while not stop.is_set():
            self._sample()
            stop.wait(interval)

    def _read_stdout(self):
        for line in self.proc.stdout:
            now = time.perf_counter()
            self._sample()
            m = re.match(r"@phase (start|end) (\S+)", line)
            if m:
                self.phases.setdefault(m.group(2), {})[m.group(1)] = now
            with self._lock:
                self.lines.append((now, line))

    def _read_stderr(self, logf):
        for line in self.proc.stderr:
            if logf:
                logf.write(line)
                logf.flush()

    def peak(self, t_from=None, t_to=None):
        """Highest summed RSS sampled in [t_from, t_to] (the whole run by default); a
        single-process run never reports less than its kernel-measured peak."""
        t_from = self.t0 if t_from is None else t_from
        t_to = float("inf") if t_to is None else t_to
        inside = [rss for t, rss in self.samples if t_from <= t <= t_to]
        return max(inside, default=0)

    def phase_peak(self, name):
        ph = self.phases.get(name, {})
        return self.peak(ph.get("start"), ph.get("end"))

    def process_peak(self):
        return max(self.peak(), self.measured.get("maxrss_bytes", 0))

    def line_time(self, pattern):
        for t, line in self.lines:
            if re.search(pattern, line):
                return t
        return None

    def json_line(self):
        """The last stdout line that parses as a JSON object."""
        for _, line in reversed(self.lines):
            line = line.strip()
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except ValueError:
                    continue
        return None

    def check_rc(self):
        if self.rc != 0:
            raise RuntimeError(f"{self.label} failed (exit {self.rc}); see the log")


# ---- figures ---------------------------------------------------------------------------

def best_median(values):
    values = [v for v in values if v is not None]
    if not values:
        return None, None
    return min(values), statistics.median(values)


def fmt_seconds(s):
    if s is None:
        return "n/a"
    if abs(s) < 1e-3:
        return f"{s * 1e6:.1f} µs"
    if abs(s) < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def fmt_bytes(b):
    if b is None:
        return "n/a"
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if abs(b) >= scale:
            return f"{b / scale:.2f} {unit}"
    return f"{int(b)} B"


class Table:
    def __init__(self):
        self.rows = []

    def add(self, workload, t, p, check="ok", note=None, unit="s"):
        """t, p: dicts with best, median, peak_rss, moved (bytes), read (text) or None."""
        ratio = None
        if t and p and t.get("best") is not None and p.get("best") is not None and t["best"] > 0 and p["best"] > 0:
            ratio = t["best"] / p["best"]
        self.rows.append({"workload": workload, "tessera": t, "peer": p, "ratio": ratio,
                          "check": check, "note": note, "unit": unit})

    def markdown(self):
        out = ["| workload | Tessera wall best (median) | peer wall best (median) | ratio Tessera/peer "
               "| Tessera peak RSS | peer peak RSS | Tessera bytes moved | peer bytes moved | check |",
               "|---|---|---|---|---|---|---|---|---|"]
        for r in self.rows:
            def wall(side):
                if not side or side.get("best") is None:
                    return "n/a"
                text = fmt_seconds(side["best"])
                if side.get("median") is not None and side["median"] != side["best"]:
                    text += f" ({fmt_seconds(side['median'])})"
                return text

            def moved(side):
                if not side:
                    return ""
                text = fmt_bytes(side.get("moved")) if "moved" in side else ""
                if side.get("read"):
                    text += ("; " if text else "") + side["read"]
                return text

            def rss(side):
                return fmt_bytes(side.get("peak_rss")) if side and side.get("peak_rss") else ""

            ratio = f"{r['ratio']:.3g}" if r["ratio"] is not None else ""
            out.append(f"| {r['workload']} | {wall(r['tessera'])} | {wall(r['peer'])} | {ratio} "
                       f"| {rss(r['tessera'])} | {rss(r['peer'])} | {moved(r['tessera'])} | {moved(r['peer'])} "
                       f"| {r['check']} |")
        return "\n".join(out)


# ---- the benchmark -------------------------------------------------------------------------

class Bench:
    def __init__(self, args):
        self.args = args
        self.size = SIZES["quick" if args.quick else "full"]
        self.table = Table()
        self.raw = {}
        self.busy_runs = []
        # No __pycache__ beside the scripts (side_by_side_peer.py imports rechunk_dask.py).
        self.env = {"PYTHONDONTWRITEBYTECODE": "1"}
        if os.geteuid() == 0:
            self.env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
        self.modes = [("in-process", [])] + ([("mpirun -n 3", MPIRUN)] if args.mpi else [])
        self.tmp = tempfile.mkdtemp(prefix="tessera-sbs-")

    # -- plumbing
    def run(self, cmd, label, env=None):
        r = Run(cmd, env=dict(self.env, **(env or {})), interval=self.args.sample_interval,
                log_path=self.args.log, label=label, timeout=self.args.timeout)
        if r.seconds > 1 and r.foreign_cpu > 0.1 * r.seconds:
            self.busy_runs.append(f"{label}: {r.foreign_cpu:.1f} CPU s of other load in {r.seconds:.1f} s")
        self.raw.setdefault(label.split(" #")[0], []).append(
            {"label": label, "cmd": cmd, "rc": r.rc, "process_seconds": round(r.seconds, 3),
             "cpu_seconds": round(r.cpu, 2),
             "foreign_cpu_seconds": round(r.foreign_cpu, 2), "measured": r.measured})
        return r

    def peer(self, *args):
        return [sys.executable, PEER, *args, "--workers", "2", "--repeat", str(self.args.repeat)]

    def tessera_eval(self, expr, mode_prefix, label, extra=()):
        """One `tessera eval EXPR --json --report`; returns (Run, report, printed JSON)."""
        report = os.path.join(self.tmp, "report.json")
        if os.path.exists(report):
            os.remove(report)
        cmd = mode_prefix + [self.args.tessera, "eval", expr, "--json", "--workers", "2", "--report", report,
                             *extra]
        r = self.run(cmd, label)
        r.check_rc()
        with open(report) as f:
            rep = json.load(f)
        self.raw[label.split(" #")[0]][-1]["report"] = {k: v for k, v in rep.items() if k != "workers"}
        self.raw[label.split(" #")[0]][-1]["report"]["peak_rss_bytes_per_worker"] = \
            [w.get("peak_rss_bytes") for w in rep.get("workers", [])]
        return r, rep, r.json_line()

    # -- workloads
    def futures(self, want_rt=True, want_tp=True):
        """Round trip and 100k-task throughput: Tessera's futures bench (both figures in one
        process), Dask's in one process per workload."""
        s = self.size
        env = {"TESSERA_BENCH_ROUNDTRIPS": str(s["roundtrips"]), "TESSERA_BENCH_TASKS": str(s["tasks"])}
        sides = {}
        for mode, prefix in self.modes:
            rt, tp = [], []
            for i in range(self.args.repeat):
                extra = ["--compression", "off"] if prefix else []
                r = self.run(prefix + [self.args.futures_bench, *extra], f"tessera futures {mode} #{i + 1}", env)
                r.check_rc()
                m1 = re.search(r"round trip, (\d+) in sequence: mean ([\d.]+) us, median ([\d.]+) us", r.stdout)
                m2 = re.search(r"map\(inc, range\((\d+)\)\) then gather: ([\d.]+) s", r.stdout)
                if not (m1 and m2):
                    raise RuntimeError(f"cannot parse the futures bench output:\n{r.stdout}")
                # Phases by the time each line arrived: the bench prints "runtime: ..." once
                # its client is up (after the transport reference), then the round-trip
                # line, then the map line (and then goes on to its wire tests).
                t_up = r.line_time(r"^runtime:")
                t_rt = r.line_time(r"round trip, \d+ in sequence")
                t_tp = r.line_time(r"then gather:")
                rt.append({"median_s": float(m1.group(3)) * 1e-6, "mean_s": float(m1.group(2)) * 1e-6,
                           "peak": r.peak(t_up, t_rt)})
                tp.append({"seconds": float(m2.group(2)), "peak": r.peak(t_rt, t_tp)})
            sides[mode] = (rt, tp)
        self.raw["futures_parsed"] = sides

        if want_rt:
            peer_rt = self.run(self.peer("roundtrip", "--n", str(s["roundtrips"]), "--warmup", str(s["warmup"])),
                               "dask roundtrip")
            peer_rt.check_rc()
            prt = peer_rt.json_line()
            self.raw["dask roundtrip json"] = prt
            self.versions.update(prt["versions"])
            p_med = [x["median_us"] * 1e-6 for x in prt["runs"]]
            p_rt = {"best": min(p_med), "median": statistics.median(p_med),
                    "peak_rss": max(peer_rt.phase_peak(f"run-{x['run']}") for x in prt["runs"]),
                    "moved": max(x["bytes_moved"] for x in prt["runs"])}
            ok_rt = "ok" if all(x["check_ok"] for x in prt["runs"]) else "WARN: dask inc wrong"
        if want_tp:
            peer_tp = self.run(self.peer("throughput", "--tasks", str(s["tasks"])), "dask throughput")
            peer_tp.check_rc()
            ptp = peer_tp.json_line()
            self.raw["dask throughput json"] = ptp
            self.versions.update(ptp["versions"])
            p_secs = [x["seconds"] for x in ptp["runs"]]
            p_tp = {"best": min(p_secs), "median": statistics.median(p_secs),
                    "peak_rss": max(peer_tp.phase_peak(f"run-{x['run']}") for x in ptp["runs"]),
                    "moved": max(x["bytes_moved"] for x in ptp["runs"])}
            ok_tp = "ok" if all(x["check_ok"] for x in ptp["runs"]) else "WARN: dask sum wrong"
        for mode, (rt, tp) in sides.items():
            suffix = "" if mode == "in-process" else f", {mode}"
            if want_rt:
                b, m = best_median([x["median_s"] for x in rt])
                self.table.add(f"task round trip `submit(inc, i).result()`, median of {s['roundtrips']}{suffix}",
                               {"best": b, "median": m, "peak_rss": max(x["peak"] for x in rt), "moved": None},
                               p_rt, ok_rt)
            if want_tp:
                b, m = best_median([x["seconds"] for x in tp])
                self.table.add(f"{s['tasks']:,}-task `map(inc)` + `gather`{suffix}",
                               {"best": b, "median": m, "peak_rss": max(x["peak"] for x in tp), "moved": None},
                               p_tp, ok_tp)

    def array(self, name, title, shape, chunks, op_expr, op_peer):
        """generate + op + sum, and generate + sum alone, on both sides."""
        gen = f"random({shape}, chunks={chunks}, seed=0).astype(float32)"
        exprs = {"base": f"{gen}.sum()", "op": f"{gen}{op_expr}.sum()"}
        n = 1
        for d in shape:
            n *= d
        sides = {}
        for mode, prefix in self.modes:
            res = {"base": [], "op": []}
            for i in range(self.args.repeat):
                for label in ("base", "op"):
                    r, rep, out = self.tessera_eval(exprs[label], prefix, f"tessera {name} {label} {mode} #{i + 1}")
                    res[label].append({"seconds": rep["wall_seconds"], "sum": float(out["data"][0]),
                                       "moved": rep["bytes_moved"], "peak": r.process_peak()})
            sides[mode] = res

        pr = self.run(self.peer("array", "--shape", ",".join(map(str, shape)), "--chunks",
                                ",".join(map(str, chunks)), "--op", op_peer), f"dask {name}")
        pr.check_rc()
        pj = pr.json_line()
        self.raw[f"dask {name} json"] = pj
        peer = {"base": [], "op": []}
        for x in pj["runs"]:
            peer[x["label"]].append({"seconds": x["seconds"], "sum": x["sum"], "moved": x["bytes_moved"],
                                     "peak": pr.phase_peak(f"{x['label']}-{x['run']}")})

        def summary(runs):
            b, m = best_median([x["seconds"] for x in runs])
            return {"best": b, "median": m, "peak_rss": max(x["peak"] for x in runs),
                    "moved": statistics.median([x["moved"] for x in runs])}

        def internal(res, who):
            """op and base sums of one side agree (the same values, summed in another order)."""
            for a, b in zip(res["op"], res["base"]):
                if abs(a["sum"] - b["sum"]) > 1e-5 * abs(b["sum"]):
                    return f"WARN: {who} sum after the op {a['sum']} != {b['sum']}"
            return None

        p_mean = peer["base"][0]["sum"] / n
        for mode, res in sides.items():
            suffix = "" if mode == "in-process" else f", {mode}"
            t_mean = res["base"][0]["sum"] / n
            # Different generators on the two sides: the means agree only statistically.
            check = internal(res, "Tessera") or internal(peer, "Dask") or (
                "ok" if abs(t_mean - p_mean) < 2e-3 else f"WARN: means {t_mean:.5f} vs {p_mean:.5f}")
            t_op, t_base, p_op, p_base = summary(res["op"]), summary(res["base"]), summary(peer["op"]), \
                summary(peer["base"])
            info = ""
            if pj.get("info", {}).get("dask_rechunk_method"):
                info = f" (Dask's rechunk method: {pj['info']['dask_rechunk_method']})"
            self.table.add(f"{title}: generate + op + `sum()`{suffix}{info}", t_op, p_op, check)
            self.table.add(f"↳ generate + `sum()` alone{suffix}", t_base, p_base, check)
            diff_t = {"best": t_op["best"] - t_base["best"], "moved": t_op["moved"] - t_base["moved"]}
            diff_p = {"best": p_op["best"] - p_base["best"], "moved": p_op["moved"] - p_base["moved"]}
            self.table.add(f"↳ the op alone (difference of the bests){suffix}", diff_t, diff_p, check)

    def hdf5(self):
        y0, y1, x0, x1 = BOX
        path = self.args.h5
        expr = f'open("{path}", "/tas")[:, {y0}:{y1}, {x0}:{x1}].mean(axis=0)'
        import numpy as np

        sides = {}
        for mode, prefix in self.modes:
            self.tessera_eval(expr, prefix, f"tessera hdf5 warm-up {mode}")
            runs = []
            for i in range(self.args.repeat):
                r, rep, out = self.tessera_eval(expr, prefix, f"tessera hdf5 {mode} #{i + 1}")
                runs.append({"seconds": rep["wall_seconds"], "moved": rep["bytes_moved"], "read": rep["bytes_read"],
                             "rchar": r.measured.get("rchar"), "peak": r.process_peak(),
                             "result": np.array(out["data"], dtype=np.float64).reshape(out["shape"])})
            sides[mode] = runs

        saved = os.path.join(self.tmp, "dask_hdf5.npy")
        pr = self.run(self.peer("hdf5", "--path", path, "--box", f"{y0},{y1},{x0},{x1}", "--save", saved),
                      "dask hdf5")
        pr.check_rc()
        pj = pr.json_line()
        self.raw["dask hdf5 json"] = pj
        self.versions.update({"h5py": pj["versions"].get("h5py"), "HDF5 (h5py's)": pj["versions"].get("hdf5")})
        dres = np.load(saved).astype(np.float64)
        p_secs = [x["seconds"] for x in pj["runs"]]
        b, m = best_median(p_secs)
        px = pj["runs"][0]
        peer = {"best": b, "median": m, "moved": statistics.median([x["bytes_moved"] for x in pj["runs"]]),
                "peak_rss": max(pr.phase_peak(f"run-{x['run']}") for x in pj["runs"]),
                "read": f"read {fmt_bytes(px['bytes_selected'])} selected, "
                        f"{fmt_bytes(statistics.median([x['bytes_read_rchar'] for x in pj['runs']]))} by syscalls"}
        for mode, runs in sides.items():
            suffix = "" if mode == "in-process" else f", {mode}"
            diff = float(np.max(np.abs(runs[0]["result"] - dres))) if runs[0]["result"].shape == dres.shape \
                else float("inf")
            check = "ok" if diff < 1e-3 else f"WARN: max difference {diff:.3g}"
            b, m = best_median([x["seconds"] for x in runs])
            t = {"best": b, "median": m, "peak_rss": max(x["peak"] for x in runs),
                 "moved": statistics.median([x["moved"] for x in runs]),
                 "read": f"read {fmt_bytes(runs[0]['read'])} (report), "
                         f"{fmt_bytes(statistics.median([x['rchar'] for x in runs]))} by syscalls"}
            self.table.add(f"HDF5 regional mean, 30°×40° box of {os.path.basename(path)}, mean over time{suffix}",
                           t, peer, check)

    def climate(self):
        path = self.args.nc
        hook = shlex.split(os.environ.get("TESSERA_CLIMATE_CMD", f"bash {os.path.join(REPO, 'benches', 'climate.sh')}"))
        sides = {}
        for mode, prefix in self.modes:
            runs = []
            for i in range(self.args.repeat):
                rdir = tempfile.mkdtemp(dir=self.tmp)
                env = {"MPIRUN": f"bash {os.path.join(HERE, 'tessera_with_report.sh')}",
                       "TESSERA_REPORT_DIR": rdir, "TESSERA_MPIRUN": " ".join(prefix)}
                r = self.run(hook + [path, "2"], f"tessera climate {mode} #{i + 1}", env)
                r.check_rc()
                out = r.json_line()
                reports = []
                for name in sorted(os.listdir(rdir)):
                    with open(os.path.join(rdir, name)) as f:
                        reports.append(json.load(f))
                runs.append({"seconds": out["wall_seconds"], "checks": out["checks"], "steps": out.get("steps"),
                             "moved": sum(x["bytes_moved"] for x in reports) if reports else None,
                             "read": sum(x["bytes_read"] for x in reports) if reports else None,
                             "rchar": r.measured.get("rchar"), "peak": r.process_peak()})
            sides[mode] = runs
        self.raw["tessera climate parsed"] = sides

        variants = [("tuned (`--rechunk-anom`)", ["--rechunk-anom"], self.args.repeat)]
        if self.args.idiomatic:
            variants.append(("idiomatic", [], 1))
        peer_rows = []
        for vname, flags, repeat in variants:
            runs = []
            for i in range(repeat):
                r = self.run([sys.executable, os.path.join(HERE, "climate_xarray.py"), path, "--workers", "2",
                              *flags], f"dask climate {vname} #{i + 1}")
                r.check_rc()
                j = r.json_line()
                tr = j.get("transfers") or {}
                runs.append({"seconds": j["wall_seconds"], "checks": j["checks"], "steps": j["steps"],
                             "moved": tr.get("bytes_moved"), "rchar": tr.get("bytes_read_rchar"),
                             "peak": r.process_peak(), "startup_seconds": j.get("startup_seconds")})
                self.versions.update({"xarray": j["versions"].get("xarray"), "netCDF4": j["versions"].get("netCDF4"),
                                      "netcdf-c (netCDF4's)": j["versions"].get("netcdf-c"),
                                      "HDF5 (netCDF4's)": j["versions"].get("hdf5")})
            peer_rows.append((vname, runs))
        self.raw["dask climate parsed"] = peer_rows

        def summary(runs, extra_read=None):
            b, m = best_median([x["seconds"] for x in runs])
            moved = [x["moved"] for x in runs if x["moved"] is not None]
            rchar = [x["rchar"] for x in runs if x["rchar"] is not None]
            read = f"read {fmt_bytes(statistics.median(rchar))} by syscalls" if rchar else ""
            if extra_read:
                read = extra_read + (", " + read.replace("read ", "") if read else "")
            return {"best": b, "median": m, "peak_rss": max(x["peak"] for x in runs),
                    "moved": statistics.median(moved) if moved else None, "read": read}

        for vname, pruns in peer_rows:
            p = summary(pruns)
            for mode, runs in sides.items():
                suffix = "" if mode == "in-process" else f", {mode}"
                reads = [x["read"] for x in runs if x["read"] is not None]
                t = summary(runs, f"read {fmt_bytes(statistics.median(reads))} (reports)" if reads else None)
                tc, pc = runs[0]["checks"], pruns[0]["checks"]
                bad = [k for k in ("climatology_mean", "weighted_mean_mean")
                       if abs(tc[k] - pc[k]) > 1e-5 * abs(pc[k])]
                check = "ok" if not bad else "WARN: " + ", ".join(f"{k} {tc[k]} vs {pc[k]}" for k in bad)
                self.table.add(f"NetCDF climatology + anomalies (written) + weighted mean, "
                               f"{os.path.basename(path)}; peer {vname}{suffix}", t, p, check)

    # -- all
    def machine(self):
        import psutil

        info = {"date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
                "host": platform.node(), "kernel": platform.release(), "nproc": os.cpu_count(),
                "memory_bytes": psutil.virtual_memory().total, "loadavg_start": os.getloadavg()}
        try:
            with open("/proc/cpuinfo") as f:
                info["cpu"] = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
        except (OSError, StopIteration):
            pass
        try:
            with open("/etc/os-release") as f:
                info["os"] = next(line.split("=", 1)[1].strip().strip('"') for line in f
                                  if line.startswith("PRETTY_NAME="))
        except (OSError, StopIteration):
            pass
        return info

    def main(self):
        a = self.args
        if not a.log:
            fd, a.log = tempfile.mkstemp(prefix="tessera-side-by-side-", suffix=".log")
            os.close(fd)
        log(f"the commands' stderr goes to {a.log}")
        self.machine_info = self.machine()
        tv = subprocess.run([a.tessera, "--version"], capture_output=True, text=True).stdout.strip()
        tv = tv.removeprefix("tessera ")
        self.versions = {"tessera": tv, **system_libraries(a.tessera), "tessera_binary": a.tessera,
                         "futures_bench": a.futures_bench, "python": platform.python_version()}
        chosen = WORKLOADS if a.only == "all" else a.only.split(",")
        unknown = set(chosen) - set(WORKLOADS)
        if unknown:
            sys.exit(f"unknown workloads {sorted(unknown)}; choose from {WORKLOADS}")
        s = self.size
        t_start = time.perf_counter()
        if "roundtrip" in chosen or "throughput" in chosen:
            log("== task round trip and throughput")
            self.futures("roundtrip" in chosen, "throughput" in chosen)
        rs, tc, sc = s["reshape_shape"], s["reshape_time_chunks"], s["reshape_space_chunks"]
        flat = (rs[0], rs[1] * rs[2])
        if "reshape-merge" in chosen:
            log("== reshape, merge")
            self.array("reshape-merge", f"reshape {rs}→{flat}, chunks {tc}", rs, tc, f".reshape({flat})",
                       f"reshape:{flat[0]},{flat[1]}")
        if "reshape-split" in chosen:
            log("== reshape, split")
            self.array("reshape-split", f"reshape {rs}→{flat}, chunks {sc}", rs, sc, f".reshape({flat})",
                       f"reshape:{flat[0]},{flat[1]}")
        if "rechunk" in chosen:
            log("== rechunk")
            shp, cin, cout = s["rechunk_shape"], s["rechunk_in"], s["rechunk_out"]
            mb = shp[0] * shp[1] * shp[2] * 4 / 1e6
            self.array("rechunk", f"rechunk {mb:.0f} MB {shp} time→space, {cin}→{cout}", shp, cin,
                       f".rechunk({cout})", "rechunk:" + ",".join(map(str, cout)))
        if "hdf5" in chosen:
            log("== HDF5 regional mean")
            self.hdf5()
        if "climate" in chosen:
            log("== NetCDF climatology + anomalies")
            self.climate()
        self.machine_info["loadavg_end"] = os.getloadavg()
        self.machine_info["total_seconds"] = round(time.perf_counter() - t_start, 1)
        self.report()

    def report(self):
        a, mi = self.args, self.machine_info
        lines = [f"## Tessera vs Dask, side by side ({'quick' if a.quick else 'full'} sizes, "
                 f"best of {a.repeat}, median in brackets)", "",
                 f"- command: `{a.command or ' '.join(sys.argv)}`",
                 f"- date: {mi['date']}; total {mi['total_seconds']} s",
                 f"- machine: {mi.get('os', '')}, kernel {mi['kernel']}, {mi['nproc']} cores ({mi.get('cpu', '?')}), "
                 f"{mi['memory_bytes'] / 2**30:.1f} GiB; load average at start "
                 f"{' '.join(f'{x:.2f}' for x in mi['loadavg_start'])}, at end "
                 f"{' '.join(f'{x:.2f}' for x in mi['loadavg_end'])}",
                 "- versions: " + ", ".join(f"{k} {v}" for k, v in self.versions.items()
                                            if k not in ("tessera_binary", "futures_bench")),
                 "- Tessera: `tessera eval --workers 2` (2 worker threads in one process)"
                 + (" and `mpirun -n 3 --oversubscribe` (2 MPI worker ranks)" if a.mpi else "")
                 + "; Dask: LocalCluster of 2 single-threaded worker processes", ""]
        lines.append(self.table.markdown())
        if self.busy_runs:
            lines += ["", "Runs with other load on the machine (CPU seconds outside the run):"]
            lines += [f"- {b}" for b in self.busy_runs]
        text = "\n".join(lines)
        print(text, flush=True)
        if a.json:
            with open(a.json, "w") as f:
                json.dump({"machine": mi, "versions": self.versions, "command": a.command,
                           "quick": a.quick, "repeat": a.repeat, "mpi": a.mpi,
                           "table_markdown": self.table.markdown(), "rows": self.table.rows,
                           "other_load": self.busy_runs, "runs": self.raw}, f, indent=1, default=_jsonable)
            log(f"wrote {a.json}")


def system_libraries(binary):
    """Debian package versions of the HDF5, NetCDF and MPI libraries the binary links."""
    out = {}
    try:
        ldd = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
        for name, pattern in (("libhdf5", r"libhdf5[_a-z]*\.so\S*"), ("libnetcdf", r"libnetcdf\.so\S*"),
                              ("libmpi", r"libmpi\.so\S*")):
            m = re.search(pattern + r" => (\S+)", ldd)
            if not m:
                continue
            owner = subprocess.run(["dpkg", "-S", os.path.realpath(m.group(1))], capture_output=True,
                                   text=True).stdout.split(":")[0]
            version = subprocess.run(["dpkg-query", "-W", "-f", "${Version}", owner], capture_output=True,
                                     text=True).stdout.strip()
            if owner and version:
                out[f"{name} (Tessera's, {owner})"] = version
    except OSError:
        pass
    return out


def _jsonable(o):
    try:
        import numpy as np

        if isinstance(o, np.ndarray):
            return None  # results are compared, not stored
        if isinstance(o, np.generic):
            return o.item()
    except ImportError:
        pass
    return str(o)


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tessera", required=True, help="the tessera binary")
    p.add_argument("--futures-bench", required=True, help="the futures bench executable (target/release/deps/futures-HASH)")
    p.add_argument("--nc", help="NetCDF climate file (make_climate_file.py)")
    p.add_argument("--h5", help="HDF5 file (make_hdf5_file.py)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    p.add_argument("--mpi", action="store_true", help="also run Tessera under mpirun -n 3 --oversubscribe")
    p.add_argument("--idiomatic", action="store_true", help="also the idiomatic xarray climate workflow (once)")
    p.add_argument("--only", default="all", help="comma-separated subset of " + ",".join(WORKLOADS))
    p.add_argument("--json", help="write the table and all runs' figures here")
    p.add_argument("--log", help="append every command's stderr here")
    p.add_argument("--sample-interval", type=float, default=0.1, help="RSS sampling period in seconds")
    p.add_argument("--timeout", type=float, default=7200, help="seconds allowed to one process")
    p.add_argument("--command", help="the command line to print (set by side_by_side.sh)")
    return p.parse_args()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_measure":
        measure_main(sys.argv[2:])
    else:
        bench = Bench(parse_args())
        try:
            bench.main()
        finally:
            shutil.rmtree(bench.tmp, ignore_errors=True)  # reports, the Dask result, climate step reports
