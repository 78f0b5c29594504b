#!/usr/bin/env bash
# Usage: benches/climate.sh FILE [WORKERS]
#   Tessera's side of the climate workflow the peer (benches/peer/) runs with xarray + dask:
#   monthly climatology, anomalies written to NetCDF-4, area-weighted mean time series.
#   Each step is one `tessera eval` (wall time and peak RSS from GNU time); prints one JSON
#   line. Set MPIRUN="mpirun -n 3 --oversubscribe" to run the steps on MPI ranks instead of
#   in-process threads. FILE is made by benches/peer/make_climate_file.py (run_peer.sh).
set -euo pipefail
if [[ $# -lt 1 ]]; then sed -n '2,7p' "$0" | sed 's/^# \{0,1\}//'; exit 2; fi
here=$(cd "$(dirname "$0")/.." && pwd)
file=$(realpath "$1")
workers=${2:-2}
bin=$here/target/release/tessera
[[ -x $bin ]] || (cd "$here" && cargo build --release >&2)
[[ $(id -u) -eq 0 ]] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
tas="open(\"$file\", \"tas\")"

# step NAME ARGS...: runs tessera, records "seconds peak_kib" in $out/NAME.time.
step() {
    local name=$1; shift
    # shellcheck disable=SC2086
    /usr/bin/time -f "%e %M" -o "$out/$name.time" ${MPIRUN:-} "$bin" "$@" --workers "$workers" > "$out/$name.out"
}
step climatology eval "$tas.groupby(\"time.month\").mean().mean()" --json
step anomalies_write eval "$tas.groupby(\"time.month\") - $tas.groupby(\"time.month\").mean()" \
    --to "$out/anom.nc:tas_anom"
step weighted_mean eval "$tas.weighted(cos(radians($tas.lat))).mean((\"lat\", \"lon\"))" --json

python3 - "$out" "$workers" "${MPIRUN:-in-process}" <<'PY'
import json, sys, os
out, workers, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
steps, peak = {}, 0
for name in ("climatology", "anomalies_write", "weighted_mean"):
    secs, kib = open(os.path.join(out, name + ".time")).read().split()[-2:]
    steps[name] = float(secs)
    peak = max(peak, int(kib) * 1024)
clim = json.load(open(os.path.join(out, "climatology.out")))["data"][0]
series = [v for v in json.load(open(os.path.join(out, "weighted_mean.out")))["data"] if isinstance(v, float)]
print(json.dumps({"tool": "tessera", "mode": mode, "workers": workers,
                  "wall_seconds": round(sum(steps.values()), 3), "peak_rss_bytes": peak,
                  "steps": steps,
                  "checks": {"climatology_mean": clim, "weighted_mean_first": series[0],
                             "weighted_mean_mean": sum(series) / len(series)}}))
PY
