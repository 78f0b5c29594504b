#!/usr/bin/env bash
# The crate graph is the architecture: the pure layer links no system library. Fails if
# tessera-core's normal dependencies reach MPI, HDF5 or NetCDF (the compiler already
# refuses an import of a crate that is not a dependency).
set -euo pipefail
cd "$(dirname "$0")/.."
bad=$(cargo tree -p tessera-core -e normal --prefix none | grep -E '^(mpi-sys|hdf5-sys|hdf5-metno-sys|netcdf-sys) ' || true)
if [[ -n $bad ]]; then
    echo "tessera-core depends on a system library:" >&2
    echo "$bad" >&2
    exit 1
fi
for c in tessera-core tessera-comm; do
    if cargo tree -p "$c" -e normal --prefix none | grep -qE '^tessera(-[a-z]+)? ' ; then
        other=$(cargo tree -p "$c" -e normal --prefix none | grep -E '^tessera(-[a-z]+)? ' | grep -v "^$c " || true)
        if [[ -n $other ]]; then
            echo "$c depends on another Tessera crate: $other" >&2
            exit 1
        fi
    fi
done
echo "layers: tessera-core and tessera-comm depend on no other Tessera crate; tessera-core links no MPI, HDF5 or NetCDF"
