#!/usr/bin/env bash
# Installs the PyTorch reference of `npm run bench` (CPU use only) into a venv OUTSIDE the repo
# (default ~/.cache/mmrun/venv-bench, or $MMRUN_BENCH_VENV): it is ~5 GB and must never be committed.
#
# Why this shape: PyPI's Linux x86-64 torch wheel is the CUDA build; its libtorch is linked against
# the CUDA runtime, cuBLAS, cuDNN, NCCL..., so `import torch` fails without those nvidia-* wheels
# even on a CPU-only machine (checked: `pip install --no-deps torch` → "libcudart.so.13: cannot
# open shared object file"). CPU-only wheels exist only on the PyTorch project's own index, which
# these machines cannot reach. So we install torch from PyPI with its dependencies (~3.5 GB download)
# and run it on the CPU; the bench only ever uses the CPU (oneDNN/AVX-512 kernels).
set -euo pipefail
VENV="${MMRUN_BENCH_VENV:-$HOME/.cache/mmrun/venv-bench}"
PY="${PYTHON:-python3}"
if [ ! -x "$VENV/bin/python" ]; then
  mkdir -p "$(dirname "$VENV")"
  "$PY" -m venv "$VENV"
fi
"$VENV/bin/python" -m pip install --quiet --upgrade pip
"$VENV/bin/python" -m pip install --quiet "torch==2.15.*" numpy
"$VENV/bin/python" - <<'PY'
import torch
print(f"PyTorch {torch.__version__} ready; CPU capability {torch.backends.cpu.get_cpu_capability()}, {torch.get_num_threads()} threads")
PY
echo "bench reference: $VENV/bin/python (npm run bench finds it there; or set MMRUN_BENCH_PYTHON)"
