#!/usr/bin/env bash
# Installs the system packages Tessera builds and tests with (Debian/Ubuntu), only those missing.
set -euo pipefail
PKGS=(openmpi-bin libopenmpi-dev libclang-dev clang pkg-config libhdf5-dev libnetcdf-dev hdf5-tools netcdf-bin
      fonts-dejavu-core
      # the tests' watchdog (kill) and peak-memory checks (/usr/bin/time)
      procps time)
# Slurm for `tessera submit` and the tests' single-node cluster (slurm/local-cluster.sh);
# libpmix-dev holds the library srun's pmix plugin loads.
SLURM_PKGS=(slurm-wlm munge libpmix-dev)

# install_missing [APT-OPTIONS...] -- PACKAGES...
install_missing() {
  local opts=() missing=() p
  while [ "$1" != "--" ]; do opts+=("$1"); shift; done
  shift
  for p in "$@"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "installing: ${missing[*]}"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q -o DPkg::Lock::Timeout=600 ${opts[@]+"${opts[@]}"} "${missing[@]}"
}

install_missing -- "${PKGS[@]}"
install_missing --no-install-recommends -- "${SLURM_PKGS[@]}"
