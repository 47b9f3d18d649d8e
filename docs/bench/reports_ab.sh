#!/usr/bin/env bash
# reports_ab.sh: the progress and distribution reports at an agency's root,
# main's kinerjad against this branch's, in alternated rounds (issue 15,
# branch reports; docs/benchmarks.md). Each round starts one binary with
# --projections off over the same PostgreSQL read models (so nothing moves
# and the report cache holds after the first request), measures the first
# request (wall, and kinerjad's CPU from /metrics around it), then runs
# docs/bench/province_probe.go (N sequential, TOTAL from C clients), and
# stops it.
#
#   ROUNDS=2 BIN_A=/tmp/x/main BIN_B=/tmp/x/br DATA=/tmp/x/pg PGURL=postgres://… \
#   UNIT=BRPKP YEAR=2025 PORT=19410 docs/bench/reports_ab.sh
# (PGDB, the database whose backends' CPU is read, is PGURL's.)
#
# A branch whose read models are at another schema version than main's
# (a migration: each build refuses the other's schema) is measured over a
# copy of the database (createdb -T), rebuilt by its own binary: PGURL_A
# and PGURL_B (DATA_A, DATA_B) then name each side's (both default to
# PGURL, DATA). The reports kinerjad answers after the first are its
# report cache's (nothing moves); RC=N also runs, in each round and side,
# $BIN/reports_compute (docs/bench/reports_compute.go built from that
# side's checkout), which computes each report N times in process, each
# one computed (issue 15, branch pgreports).
set -euo pipefail
ROUNDS=${ROUNDS:-2} N=${N:-100} C=${C:-16} TOTAL=${TOTAL:-160} RC=${RC:-0}
: "${BIN_A:?main's binaries}" "${BIN_B:?the branch's binaries}" "${UNIT:?root unit}"
PGURL_A=${PGURL_A:-${PGURL:?PostgreSQL URL}} PGURL_B=${PGURL_B:-$PGURL} DATA_A=${DATA_A:-${DATA:?data dir}} DATA_B=${DATA_B:-$DATA}
YEAR=${YEAR:-2025} PORT=${PORT:-19410}
here=$(cd "$(dirname "$0")" && pwd)
cpu() { curl -s "http://127.0.0.1:$PORT/metrics" | awk '/^process_cpu_seconds_total /{print $2}'; }
# pgcpu: the CPU seconds of the PostgreSQL backends serving PGDB (a
# database only this kinerjad uses; PostgreSQL on this machine).
pgcpu() {
  local t=0 pid
  for pid in $(psql -h 127.0.0.1 -U postgres -Atc "SELECT pid FROM pg_stat_activity WHERE datname = '$PGDB' AND pid <> pg_backend_pid()"); do
    [ -r "/proc/$pid/stat" ] && t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  awk -v t="$t" -v hz="$(getconf CLK_TCK)" 'BEGIN{printf "%.3f", t/hz}'
}
first() { # path: wall ms, CPU ms, bytes of the first request
  local c0 c1 p0 p1 out
  c0=$(cpu) p0=$(pgcpu)
  out=$(curl -s -o /dev/null -w '%{time_total} %{size_download} %{http_code}' -H "Authorization: Bearer $T" "http://127.0.0.1:$PORT$1")
  c1=$(cpu) p1=$(pgcpu)
  echo "first $1: $(awk -v o="$out" -v a="$c0" -v b="$c1" -v pa="$p0" -v pb="$p1" 'BEGIN{split(o,x," "); printf "%.1f ms wall, %.0f ms kinerjad CPU, %.0f ms PostgreSQL CPU, %d B, HTTP %s", x[1]*1000, (b-a)*1000, (pb-pa)*1000, x[2], x[3]}')"
}
for r in $(seq 1 "$ROUNDS"); do
  for side in A B; do
    bin=BIN_$side; bin=${!bin} PGURL=PGURL_$side; PGURL=${!PGURL} DATA=DATA_$side; DATA=${!DATA}
    PGDB=${PGURL##*/} PGDB=${PGDB%%\?*}
    echo "## round $r, $side ($bin), load: $(cut -d' ' -f1-3 /proc/loadavg)"
    "$bin/kinerjad" --data "$DATA" --store postgres --postgres-url "$PGURL" --projections off \
      --listen "127.0.0.1:$PORT" >"/tmp/reports_ab_$PORT.log" 2>&1 &
    pid=$!
    for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$PORT/healthz" >/dev/null && break; sleep 0.5; done
    T=$("$bin/kinerjactl" token --data "$DATA" --sub analis-hr --roles HR_ANALYST --ttl 3h)
    paths=("/v1/reports/progress?unit=$UNIT&year=$YEAR" "/v1/reports/distribution?unit=$UNIT&period=$YEAR")
    [ "$side" = B ] && paths+=("/v1/reports/progress?unit=$UNIT&year=$YEAR&limit=1000" "/v1/reports/progress?unit=$UNIT&year=$YEAR&depth=1")
    curl -s -o /dev/null -H "Authorization: Bearer $T" "http://127.0.0.1:$PORT/v1/skps?limit=1" # the first signed-in request (ManyAgencies) apart
    for p in "${paths[@]}"; do first "$p"; done
    go run "$here/province_probe.go" -url "http://127.0.0.1:$PORT" -token "$T" -n "$N" -c "$C" -total "$TOTAL" "${paths[@]}"
    echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
    kill "$pid"; wait "$pid" || true
    if [ "$RC" -gt 0 ]; then "$bin/reports_compute" -pg "$PGURL" -unit "$UNIT" -year "$YEAR" -n "$RC"; fi
  done
done
