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
file=$1
shift

# The venv and its pinned versions are shared with ../side_by_side.sh.
# shellcheck source-path=SCRIPTDIR source=venv.sh
source "$here/venv.sh"
peer_venv

if [[ ! -f $file ]]; then
    mkdir -p "$(dirname "$file")"
    echo "generating $file with ${DAYS:-2000} days" >&2
    "$peer_python" "$here/make_climate_file.py" --days "${DAYS:-2000}" --out "$file" >&2
fi

exec "$peer_python" "$here/climate_xarray.py" "$file" "$@"
