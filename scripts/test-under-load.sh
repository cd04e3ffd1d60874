#!/usr/bin/env bash
# Runs the test suite (scripts/test.sh) several times in a row while another CPU-heavy process keeps
# every core busy: `stress-ng --cpu 2`, or two `node` busy loops where stress-ng is missing. Evidence
# that the tests wait for states, not for time (issue 18).
#
#   bash scripts/test-under-load.sh [--runs N] [--skip-setup] [-- <vitest args>]
#
# --runs N      how many runs in a row (default 3)
# --skip-setup  do not run scripts/setup-test-env.sh first (it runs once, before the load starts)
# vitest args   passed on to scripts/test.sh, e.g. `-- tests/unit/config-load.test.ts`
#
# Writes artifacts/test-results/under-load/run-<k>.json (vitest's JSON report of run k),
# run-<k>.log (its output) and summary.txt. Exits 1 if any run failed.
set -euo pipefail
cd "$(dirname "$0")/.."

runs=3
setup=1
vitest_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs="${2:?--runs needs a number}"; shift 2 ;;
    --runs=*) runs="${1#--runs=}"; shift ;;
    --skip-setup) setup=0; shift ;;
    --) shift; vitest_args+=("$@"); break ;;
    *) vitest_args+=("$1"); shift ;;
  esac
done
if ! [[ "$runs" =~ ^[1-9][0-9]*$ ]]; then
  echo "test-under-load: --runs must be a positive whole number, got '$runs'" >&2
  exit 2
fi

out=artifacts/test-results/under-load
report=artifacts/test-results/vitest.json
mkdir -p "$out"
rm -f "$out"/run-*.json "$out"/run-*.log "$out"/summary.txt

if [ "$setup" = 1 ]; then bash scripts/setup-test-env.sh; fi

# The load: one CPU hog per core of this 2-core build machine. Each hog runs in its own process
# group so the trap stops it and everything it forked; a time cap stops it even if the trap cannot.
cap_s=$((runs * 3 * 3600))
load_pids=()
stop_load() {
  local pid
  for pid in "${load_pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${load_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  load_pids=()
}
# The test run is a process group of its own too: `wait` (unlike a foreground command) returns at
# once on a signal, so Ctrl-C or a TERM stops the run and the load without waiting for the suite.
run_pid=
stop_all() {
  if [ -n "$run_pid" ]; then
    kill -TERM -- "-$run_pid" 2>/dev/null || true
    wait "$run_pid" 2>/dev/null || true
    # vitest's workers can outlive their parent for a moment and start the next file: give the
    # group 10 s to go, then kill what is left of it.
    local i
    for i in $(seq 1 20); do kill -0 -- "-$run_pid" 2>/dev/null || break; sleep 0.5; done
    kill -KILL -- "-$run_pid" 2>/dev/null || true
    run_pid=
  fi
  stop_load
}
trap stop_all EXIT
trap 'stop_all; exit 130' INT
trap 'stop_all; exit 143' TERM

if command -v stress-ng >/dev/null 2>&1; then
  load="stress-ng --cpu 2"
  setsid stress-ng --cpu 2 --timeout "${cap_s}s" --quiet &
  load_pids+=($!)
else
  load="two node busy loops (stress-ng is not installed)"
  for _ in 1 2; do
    setsid node -e "const end = Date.now() + ${cap_s}e3; while (Date.now() < end) {}" &
    load_pids+=($!)
  done
fi
echo "== load: $load (pids ${load_pids[*]})"
sleep 2 # let the load reach full speed before the first run

{
  echo "mmrun test suite under load, $(date -u '+%Y-%m-%d %H:%M:%S UTC') on $(hostname), $(nproc) cores"
  echo "load: $load"
  echo "command: MMRUN_SKIP_SETUP=1 bash scripts/test.sh ${vitest_args[*]:-}"
  echo
} >"$out/summary.txt"

failed_runs=0
for k in $(seq 1 "$runs"); do
  echo "== run $k of $runs under $load"
  rm -f "$report"
  start=$(date +%s.%N)
  status=0
  setsid bash -c 'set -o pipefail; log=$1; shift; MMRUN_SKIP_SETUP=1 bash scripts/test.sh "$@" 2>&1 | tee "$log"' _ "$out/run-$k.log" "${vitest_args[@]}" &
  run_pid=$!
  wait "$run_pid" || status=$?
  run_pid=
  wall=$(awk -v a="$start" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", b - a }')
  loadavg=$(cut -d' ' -f1-3 /proc/loadavg)
  final=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$out/run-$k.log" | tail -n 1 || true)
  if [ -f "$report" ]; then cp "$report" "$out/run-$k.json"; else final="${final:-no vitest report written}"; fi
  # A run is green only if vitest exited 0 and its own count says 0 failed.
  if [ "$status" -ne 0 ] || ! [[ "$final" =~ ^[0-9]+\ passed,\ 0\ failed ]]; then
    failed_runs=$((failed_runs + 1))
    verdict=FAILED
  else
    verdict=green
  fi
  line="run $k: ${final:-no result line} (exit $status, $verdict), wall ${wall} s, load average $loadavg"
  echo "== $line"
  echo "$line" >>"$out/summary.txt"
done

stop_load
green=$((runs - failed_runs))
{
  echo
  echo "$green of $runs runs green under $load"
} | tee -a "$out/summary.txt"
echo "summary: $out/summary.txt"
[ "$failed_runs" -eq 0 ]
