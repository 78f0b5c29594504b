#!/usr/bin/env bash
# The full test suite: formatting, lints, unit, property and integration tests (the
# integration tests launch the real binary in-process and under mpirun -n 2 and -n 4).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps
bash scripts/check-layers.sh
# The library without MPI and NetCDF (in-process transport, .npy files): builds, lints, tests.
cargo clippy -p tessera --no-default-features --all-targets -- -D warnings
cargo test -p tessera --no-default-features
cargo test --release --workspace
