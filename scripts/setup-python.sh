#!/usr/bin/env bash
# Python is test infrastructure only: a real MLflow server for the tracking tests.
set -euo pipefail
cd "$(dirname "$0")/.."
MLFLOW_VERSION=3.17.2  # 3.18.0 is on the index but its mlflow-skinny==3.18.0 is not
if [ ! -x .venv/bin/python ]; then python3 -m venv .venv; fi
if ! .venv/bin/python -c "import mlflow, sys; sys.exit(mlflow.__version__ != '$MLFLOW_VERSION')" 2>/dev/null; then
  .venv/bin/pip install --quiet --disable-pip-version-check "mlflow==$MLFLOW_VERSION"
fi
echo "MLflow $MLFLOW_VERSION ready in .venv ($(.venv/bin/mlflow --version 2>/dev/null))"
