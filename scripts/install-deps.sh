#!/usr/bin/env bash
# Installs the system packages Tessera builds and tests with (Debian/Ubuntu), only those missing.
set -euo pipefail
PKGS=(openmpi-bin libopenmpi-dev libclang-dev clang pkg-config libhdf5-dev libnetcdf-dev hdf5-tools netcdf-bin
      fonts-dejavu-core)
# Slurm for `tessera submit` and the tests' single-node cluster (slurm/local-cluster.sh);
# libpmix-dev holds the library srun's pmix plugin loads.
SLURM_PKGS=(slurm-wlm munge libpmix-dev)
missing=()
for p in "${PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q -o DPkg::Lock::Timeout=600 "${missing[@]}"
fi
missing=()
for p in "${SLURM_PKGS[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}"
fi
