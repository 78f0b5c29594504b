#!/usr/bin/env bash
# Usage: benches/peer/run_peer.sh FILE [climate_xarray.py options...]
#   Runs the xarray + dask peer climate workflow on FILE, generating FILE first
#   (with DAYS daily steps, default 2000 ≈ 2.07 GB) if it does not exist.
#   The Python environment is a venv at ${PEER_VENV:-$HOME/.cache/tessera-peer-venv}.
#   e.g. benches/peer/run_peer.sh /work/bench-data/tas_daily_0.5deg.nc --workers 2
set -euo pipefail

if [[ $# -lt 1 || $1 == -h || $1 == --help ]]; then
    sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'
    exit 2
fi

here=$(cd "$(dirname "$0")" && pwd)
venv=${PEER_VENV:-$HOME/.cache/tessera-peer-venv}
file=$1
shift

# Versions installed and verified on 2 cores / 24 GiB, Python 3.11.
pins=(numpy==2.4.6 pandas==3.1.1 xarray==2026.9.0 "dask[distributed]==2026.8.0"
      distributed==2026.8.0 netCDF4==1.7.5.1.post1 cftime==1.6.6.1 psutil==7.2.2)

if [[ ! -x $venv/bin/python ]]; then
    echo "creating venv $venv" >&2
    python3 -m venv "$venv"
fi
# Install only when the pins changed since the last install into this venv.
stamp=$venv/.tessera-peer-pins
if [[ ! -f $stamp || "$(cat "$stamp")" != "${pins[*]}" ]]; then
    "$venv/bin/pip" install --quiet "${pins[@]}" >&2
    "$venv/bin/pip" check >&2
    echo "${pins[*]}" > "$stamp"
fi

if [[ ! -f $file ]]; then
    mkdir -p "$(dirname "$file")"
    echo "generating $file with ${DAYS:-2000} days" >&2
    "$venv/bin/python" "$here/make_climate_file.py" --days "${DAYS:-2000}" --out "$file" >&2
fi

exec "$venv/bin/python" "$here/climate_xarray.py" "$file" "$@"
