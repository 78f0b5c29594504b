#!/usr/bin/env bash
# Used by side_by_side.py as benches/climate.sh's MPIRUN (climate.sh runs each step as
# `$MPIRUN tessera eval ... --workers N`): runs the step, under $TESSERA_MPIRUN when set
# (e.g. "mpirun -n 3 --oversubscribe"), and adds `--report` so that every step leaves its
# run report (bytes moved and read) in $TESSERA_REPORT_DIR as step-K.json, K = 1, 2, ...
set -euo pipefail
: "${TESSERA_REPORT_DIR:?set TESSERA_REPORT_DIR}"
k=$(( $(find "$TESSERA_REPORT_DIR" -maxdepth 1 -name 'step-*.json' | wc -l) + 1 ))
# shellcheck disable=SC2086  # TESSERA_MPIRUN is a command line to split
exec ${TESSERA_MPIRUN:-} "$@" --report "$TESSERA_REPORT_DIR/step-$k.json"
