# shellcheck shell=bash
# Sourced by run_peer.sh and ../side_by_side.sh (not run on its own).
# peer_venv: makes or updates the peer benchmarks' Python venv at
#   ${PEER_VENV:-$HOME/.cache/tessera-peer-venv} with the pinned versions below, and sets
#   peer_python to its interpreter. pip runs only when the pins differ from those recorded
#   in the venv at its last install, so a ready venv costs nothing.
# Versions installed and verified on 2 cores / 24 GiB, Python 3.11.
peer_pins=(numpy==2.4.6 pandas==3.1.1 xarray==2026.9.0 "dask[distributed]==2026.8.0"
           distributed==2026.8.0 netCDF4==1.7.5.1.post1 cftime==1.6.6.1 psutil==7.2.2
           h5py==3.16.0)

peer_venv() {
    local venv=${PEER_VENV:-$HOME/.cache/tessera-peer-venv}
    if [[ ! -x $venv/bin/python ]]; then
        echo "creating venv $venv" >&2
        python3 -m venv "$venv"
    fi
    local stamp=$venv/.tessera-peer-pins
    if [[ ! -f $stamp || "$(cat "$stamp")" != "${peer_pins[*]}" ]]; then
        echo "installing pinned packages into $venv" >&2
        "$venv/bin/pip" install --quiet "${peer_pins[@]}" >&2
        "$venv/bin/pip" check >&2
        echo "${peer_pins[*]}" > "$stamp"
    fi
    # shellcheck disable=SC2034  # used by the scripts that source this file
    peer_python=$venv/bin/python
}
