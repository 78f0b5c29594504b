#!/usr/bin/env bash
# The crate graph is the architecture: the pure layer, and the library without its default
# features, link no system library; the two leaves depend on no other Tessera crate. (The
# compiler already refuses an import of a crate that is not a dependency.)
set -euo pipefail
cd "$(dirname "$0")/.."
system_libs() {
    cargo tree "$@" -e normal --prefix none | grep -E '^(mpi-sys|hdf5-sys|hdf5-metno-sys|netcdf-sys) ' || true
}
bad=$(system_libs -p tessera-core)
if [[ -n $bad ]]; then
    echo "tessera-core depends on a system library:" >&2
    echo "$bad" >&2
    exit 1
fi
bad=$(system_libs -p tessera --no-default-features)
if [[ -n $bad ]]; then
    echo "tessera without default features depends on a system library:" >&2
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
echo "layers: tessera-core and tessera-comm depend on no other Tessera crate; tessera-core, and tessera without default features, link no MPI, HDF5 or NetCDF"
