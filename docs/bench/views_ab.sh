#!/bin/bash
# The views and the start page at the root, A/B (docs/benchmarks.md, issue 15,
# branch views): starts each kinerjad binary in turn on the same bbolt data
# directory (seeded with kinerjactl seed --employees 20000 --agencies 1, its
# checkpoint signed), waits for /readyz, and runs province_probe.go as HR_ADMIN
# over /kalibrasi (the first view folds the log), /konsekuensi, / and
# /pegawai?cari=1&q=a; then a 15 s CPU profile during 16 clients on / and
# stops it. Rounds alternate the binaries.
#
#   ROUNDS=2 DATA=/tmp/views/data OUT=/tmp/views/ab PORT=19420 \
#     bash docs/bench/views_ab.sh /tmp/views/main-kinerjad /tmp/views/views-kinerjad
set -u
ROUNDS=${ROUNDS:-2}; DATA=${DATA:?}; OUT=${OUT:-/tmp/views/ab}; PORT=${PORT:-19420}
KINERJACTL=${KINERJACTL:-kinerjactl}; N=${N:-20}; C=${C:-16}; TOTAL=${TOTAL:-32}
PATHS=${PATHS:-"/kalibrasi /konsekuensi / /pegawai?cari=1&q=a"}
mkdir -p "$OUT"
here=$(cd "$(dirname "$0")" && pwd)
go build -o "$OUT/views_probe" "$here/province_probe.go" || exit 1
H=$($KINERJACTL token --data "$DATA" --sub admin-hr --roles HR_ADMIN --ttl 3h) || exit 1
for round in $(seq 1 "$ROUNDS"); do
  for bin in "$@"; do
    label=$(basename "$bin")-r$round
    echo "== $label $(uptime)" | tee -a "$OUT/summary"
    "$bin" --data "$DATA" --listen 127.0.0.1:$PORT --debug-addr 127.0.0.1:$((PORT+1)) > "$OUT/$label.log" 2>&1 &
    pid=$!
    t0=$(date +%s.%N)
    until curl -fsS -o /dev/null http://127.0.0.1:$PORT/readyz 2>/dev/null; do
      kill -0 $pid 2>/dev/null || { echo "$label: kinerjad exited"; tail "$OUT/$label.log"; exit 1; }
      sleep 0.5
    done
    echo "ready after $(echo "$(date +%s.%N) - $t0" | bc) s, cpu $(ps -o time= -p $pid)" | tee -a "$OUT/summary"
    # shellcheck disable=SC2086
    "$OUT/views_probe" -url http://127.0.0.1:$PORT -token "$H" -n "$N" -c "$C" -total "$TOTAL" $PATHS 2>&1 | tee -a "$OUT/summary"
    # A CPU profile of / with 16 clients.
    curl -s -o "$OUT/$label.home.pb.gz" "http://127.0.0.1:$((PORT+1))/debug/pprof/profile?seconds=15" &
    prof=$!
    sleep 1
    "$OUT/views_probe" -url http://127.0.0.1:$PORT -token "$H" -n 1 -c "$C" -total 400 / "/pegawai?cari=1&q=a" > "$OUT/$label.profiled" 2>&1
    wait $prof
    echo "kinerjad cpu at the end $(ps -o time= -p $pid) $(uptime)" | tee -a "$OUT/summary"
    kill $pid; wait $pid
  done
done
