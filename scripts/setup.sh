#!/usr/bin/env bash
# One command for a fresh Debian/Ubuntu machine: system packages, a release build, the main
# job (jobs/climatology.toml: ten years of generated daily data, monthly climatology and
# anomalies written to jobs/data/) in-process and then on 3 MPI ranks (rank 0 schedules),
# and the built-in expression example both ways.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
cargo build --release
[ "$(id -u)" -eq 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
echo "== in-process: tessera run jobs/climatology.toml"
target/release/tessera run jobs/climatology.toml --overwrite
echo "== mpirun -n 3: the same job"
mpirun -n 3 --oversubscribe target/release/tessera run jobs/climatology.toml --overwrite
EXAMPLE='(random((4000, 4000), chunks=1000, seed=0) + 1).mean()'
echo "== in-process: tessera eval '$EXAMPLE'"
target/release/tessera eval "$EXAMPLE"
echo "== mpirun -n 4: the same expression"
mpirun -n 4 --oversubscribe target/release/tessera eval "$EXAMPLE"
echo "== the built-in CF example: seasonal climatology of tests/data/cf/daily.nc, area mean, on 3 MPI ranks"
CLIM='open("tests/data/cf/daily.nc", "tas").groupby("time.season").mean().mean(("lat", "lon"))'
mpirun -n 3 --oversubscribe target/release/tessera eval "$CLIM"
