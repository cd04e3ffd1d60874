#!/usr/bin/env bash
# Sets up everything the tests need (Node packages, MLflow, Slurm and Chromium packages) and runs
# the whole suite: unit tests, then end-to-end tests against real services (marked slow: e2e/).
# Each service is started and stopped by the tests themselves.
set -euo pipefail
cd "$(dirname "$0")/.."

# MMRUN_SKIP_SETUP=1: the environment is already set up (scripts/test-under-load.sh sets it up once).
[ "${MMRUN_SKIP_SETUP:-}" = 1 ] || bash scripts/setup-test-env.sh

mkdir -p artifacts/test-results
status=0
npx vitest run --reporter=default --reporter=json --outputFile.json=artifacts/test-results/vitest.json "$@" || status=$?

# A closing line any CI can read, whatever the runner prints above it.
node -e '
const r = JSON.parse(require("fs").readFileSync("artifacts/test-results/vitest.json", "utf8"));
const skipped = r.numPendingTests + r.numTodoTests;
console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' || true
exit $status
