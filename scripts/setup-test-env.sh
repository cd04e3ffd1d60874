#!/usr/bin/env bash
# Installs everything the test suite needs on a fresh Debian machine (run as root):
# Node packages, a real MLflow (PyPI, in .venv), a single-node Slurm cluster's packages, Chromium,
# and a C compiler (mmrun's native kernels are compiled on first use; the tests check they load).
# Idempotent: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v slurmctld >/dev/null 2>&1 || [ -x /usr/sbin/slurmctld ] || need_apt+=(slurmctld slurmd slurm-client munge)
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v cc >/dev/null 2>&1 || need_apt+=(gcc libc6-dev)
[ -f /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz ] || need_apt+=(dataset-fashion-mnist)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

echo "== npm ci"
npm ci --no-audit --no-fund

echo "== python (MLflow)"
bash scripts/setup-python.sh
