#!/usr/bin/env bash
# CI gate: benchmark a build, compare the next one against it, fail on degradation.
#
#   examples/ci-benchmark-gate.sh baseline    # on main: load-test, then save the window as a benchmark
#   examples/ci-benchmark-gate.sh candidate   # on a pull request: load-test, then compare and gate
#
# LOAD_TEST is the command that starts the build under test with perfwatch writing to $DB
# (`startPerfWatch()` in the service with PERFWATCH_DB_PATH=$DB, or `perfwatch start --db $DB`
# beside it), drives it for the window, and stops it again: DuckDB lets no other process open the
# history while perfwatch writes it, so the benchmark commands run after the service has stopped.
#
# Exit codes (those of `perfwatch benchmark compare … --fail-on degraded`):
#   0  every series is stable, improved or has too little data
#   1  the gate failed: at least one series degraded (significant, and beyond the ±5 % stable band)
#   2  usage or input error: unknown benchmark, empty window, bad flag — a broken pipeline, not a slow build
set -euo pipefail

PERFWATCH=${PERFWATCH:-npx perfwatch}
DB=${PERFWATCH_DB_PATH:-./data/ci-benchmark.duckdb}
BENCHMARK=${BENCHMARK_NAME:-main}
SERVICE=${SERVICE_NAME:-checkout}
WINDOW=${WINDOW:-10m}
REPORT=${REPORT:-benchmark-report.md}

run_load_test() {
  : "${LOAD_TEST:?set LOAD_TEST to the command that runs the build under load for $WINDOW}"
  PERFWATCH_DB_PATH=$DB OTEL_SERVICE_NAME=$SERVICE bash -c "$LOAD_TEST"
}

case "${1:-}" in
  baseline)
    run_load_test
    # --replace: the benchmark of the newest main build supersedes the previous one.
    $PERFWATCH benchmark create "$BENCHMARK" --db "$DB" --duration "$WINDOW" --service "$SERVICE" --replace
    ;;
  candidate)
    run_load_test
    status=0
    $PERFWATCH benchmark compare "$BENCHMARK" --db "$DB" --window "$WINDOW" --fail-on degraded --markdown \
      >"$REPORT" || status=$?
    cat "$REPORT"
    case $status in
      0) echo "benchmark gate passed: nothing degraded against $BENCHMARK" ;;
      1) echo "benchmark gate FAILED: series degraded against $BENCHMARK (see $REPORT)" >&2 ;;
      *) echo "benchmark gate could not run (exit $status): check the benchmark name, window and database" >&2 ;;
    esac
    exit "$status"
    ;;
  *)
    echo "usage: $0 baseline|candidate   (env: LOAD_TEST, PERFWATCH_DB_PATH, BENCHMARK_NAME, SERVICE_NAME, WINDOW)" >&2
    exit 2
    ;;
esac
