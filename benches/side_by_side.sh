#!/usr/bin/env bash
# Usage: benches/side_by_side.sh [--quick] [--repeat R] [--data DIR] [--mpi] [--idiomatic]
#                                [--only W1,W2] [--json FILE] [--log FILE]
#   Tessera beside Dask on the same machine in one run (issue #6): each workload run both
#   ways, each run in its own process, 2 workers a side, R times (default 3); prints one
#   markdown table (best, median, ratio Tessera/peer, peak RSS, bytes moved, result check),
#   the machine and the versions, and writes the same as JSON with --json.
#   Workloads (--only): roundtrip, throughput, reshape-merge, reshape-split, rechunk, hdf5,
#   climate.
#   1. Makes or updates the Python venv ${PEER_VENV:-~/.cache/tessera-peer-venv} (pinned
#      dask[distributed], xarray, netCDF4, h5py; benches/peer/venv.sh).
#   2. Generates the data once into --data DIR (default ${TESSERA_BENCH_DATA:-~/.cache/
#      tessera-bench-data}), skipping files that exist: a NetCDF-4 climate file of 912 days
#      on the 0.5° grid (945.6 MB of tas) and an HDF5 file of 365 days on the 0.25° grid
#      (1.51 GB of /tas); --quick uses 60- and 30-day files.
#   3. Runs benches/peer/side_by_side.py, which runs both sides and prints the table.
#   --quick: tiny sizes, 1 repeat unless --repeat is given: a smoke test of about a minute.
#   --mpi: Tessera also under `mpirun -n 3 --oversubscribe` (rank 0 schedules, 2 workers).
#   --idiomatic: also the idiomatic xarray climate workflow (one run; minutes on the full file).
#   TESSERA_CLIMATE_CMD: Tessera's climate workflow as a command taking FILE WORKERS and
#   printing climate.sh's JSON line (default: bash benches/climate.sh; e.g. a `tessera run`
#   job later). TESSERA_BIN, TESSERA_FUTURES_BENCH: the binaries (default: target/release/
#   tessera and the newest futures-HASH built from benches/futures.rs; neither is built here).
set -euo pipefail

usage() { sed -n '2,28p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
data=${TESSERA_BENCH_DATA:-$HOME/.cache/tessera-bench-data}
quick=0 repeat="" mpi=0 idiomatic=0 only=all json="" logfile=""
command_line="benches/side_by_side.sh $*"
while [[ $# -gt 0 ]]; do
    case $1 in
        --quick) quick=1 ;;
        --repeat) repeat=$2; shift ;;
        --data) data=$2; shift ;;
        --mpi) mpi=1 ;;
        --idiomatic) idiomatic=1 ;;
        --only) only=$2; shift ;;
        --json) json=$2; shift ;;
        --log) logfile=$2; shift ;;
        -h|--help) usage 0 ;;
        *) echo "unknown option $1" >&2; usage ;;
    esac
    shift
done
[[ -n $repeat ]] || repeat=$(( quick ? 1 : 3 ))

tessera=${TESSERA_BIN:-$repo/target/release/tessera}
[[ -x $tessera ]] || { echo "no $tessera: build it first (cargo build --release)" >&2; exit 1; }
futures_bench=${TESSERA_FUTURES_BENCH:-}
if [[ -z $futures_bench ]]; then
    # The newest executable futures-HASH built from benches/futures.rs (tests/futures.rs
    # builds executables of the same name); its dependency list futures-HASH.d tells which.
    newest=0
    for exe in "$repo"/target/release/deps/futures-*; do
        [[ $exe == *.* || ! -x $exe ]] && continue
        grep -q 'benches/futures\.rs' "$exe.d" 2>/dev/null || continue
        mtime=$(stat -c %Y "$exe")
        if (( mtime > newest )); then newest=$mtime futures_bench=$exe; fi
    done
fi
[[ -n $futures_bench && -x $futures_bench ]] || {
    echo "no futures bench executable: run cargo bench --bench futures --no-run" >&2; exit 1; }
if (( mpi )); then
    command -v mpirun >/dev/null || { echo "--mpi needs mpirun" >&2; exit 1; }
fi

# 1. The venv (shared with benches/peer/run_peer.sh).
# shellcheck source-path=SCRIPTDIR source=peer/venv.sh
source "$here/peer/venv.sh"
peer_venv

# 2. The data, made once. 912 days x 360 x 720 float32 = 945,561,600 bytes of tas;
#    365 days x 720 x 1440 float32 = 1,513,728,000 bytes of /tas.
if (( quick )); then nc_days=60 h5_days=30; else nc_days=912 h5_days=365; fi
mkdir -p "$data"
nc=$data/tas_daily_0.5deg_${nc_days}d.nc
h5=$data/tas_daily_0.25deg_${h5_days}d.h5
if [[ ! -f $nc ]]; then
    echo "generating $nc ($nc_days days)" >&2
    "$peer_python" "$here/peer/make_climate_file.py" --days "$nc_days" --out "$nc.part" >&2
    mv "$nc.part" "$nc"
fi
if [[ ! -f $h5 ]]; then
    echo "generating $h5 ($h5_days days)" >&2
    "$peer_python" "$here/peer/make_hdf5_file.py" --days "$h5_days" --out "$h5" >&2
fi

# 3. Both sides, one table.
args=(--tessera "$tessera" --futures-bench "$futures_bench" --nc "$nc" --h5 "$h5" --repeat "$repeat"
      --only "$only" --command "$command_line")
(( quick )) && args+=(--quick)
(( mpi )) && args+=(--mpi)
(( idiomatic )) && args+=(--idiomatic)
[[ -n $json ]] && args+=(--json "$json")
[[ -n $logfile ]] && args+=(--log "$logfile")
exec "$peer_python" "$here/peer/side_by_side.py" "${args[@]}"
