#!/usr/bin/env bash
# Measures end-to-end projection lag (issue 4, "Performance, measured"):
# kinerjactl bench lag seeds a small agency into a fresh store, runs the
# projections in process as kinerjad does (bolt: in-memory read models;
# PostgreSQL: pgreadmodel in fresh schemas), appends appraisers' feedback
# to established SKPs at a fixed rate, and prints one JSON line per run
# with the achieved rate and the p50/p90/p99/max lag from an append's
# acknowledgement to the event being visible in every read model (and in
# the SKP summaries alone). Targets: p99 ≤ 100 ms embedded (bolt),
# ≤ 250 ms with PostgreSQL, at 500 and 2,000 events/s.
#
#   bash docs/bench/lag.sh                          # needs PostgreSQL on 127.0.0.1:5432
#   DURATION=2s RATES=500 bash docs/bench/lag.sh    # a quick check
#
# Environment: DURATION (15s), RATES ("500 2000"), STORES ("bolt postgres"),
# EMPLOYEES (100), ROUNDS (1; alternate stores and rates this many times).
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${DURATION:-15s}
RATES=${RATES:-"500 2000"}
STORES=${STORES:-"bolt postgres"}
EMPLOYEES=${EMPLOYEES:-100}
ROUNDS=${ROUNDS:-1}
DB=kinerja_bench_lag
export PGHOST=127.0.0.1 PGUSER=postgres
URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
out=$(mktemp -d)
trap 'dropdb --if-exists "$DB" 2>/dev/null || true; rm -rf "$out"' EXIT
go build -o "$out/kinerjactl" ./cmd/kinerjactl
if [[ " $STORES " == *" postgres "* ]]; then
  dropdb --if-exists "$DB"
  createdb "$DB"
fi
for r in $(seq 1 "$ROUNDS"); do
  for rate in $RATES; do
    for store in $STORES; do
      if ! "$out/kinerjactl" bench lag --store "$store" --postgres-url "$URL" --rate "$rate" --duration "$DURATION" \
        --employees "$EMPLOYEES" >"$out/line.json" 2>"$out/stderr"; then
        cat "$out/stderr" >&2
        exit 1
      fi
      sed "s/^{/{\"round\":$r,/" "$out/line.json"
    done
  done
done
