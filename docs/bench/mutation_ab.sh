#!/usr/bin/env bash
# A/B of the keyed mutation (issue 15): one seeded agency, binaries alternated.
# Build kinerjactl into $WORK first (go build -o $WORK/kinerjactl ./cmd/kinerjactl).
# usage: mutation_ab.sh seed | mutation_ab.sh settle KINERJAD_BINARY | mutation_ab.sh run KINERJAD_BINARY LABEL
#        | mutation_ab.sh append LABEL
#   The seed is of last year, so its deadlines have passed: `settle` runs kinerjad with a 1 s deadline
#   round until the deadline process manager has nothing left to fire (it finalises evaluations and
#   queues reminders, appending thousands of events); `run` then keeps it quiet (one round a week) so
#   that only the measured mutations write.
#   env: STORE (postgres, the default, or bolt), DB (the PostgreSQL database, kinerja_bench_idemtx by default),
#        DEBUG_PORT (19660), EMPLOYEES, C (clients), DUR, EXTRA (more kinerjad flags for run and settle),
#        FRESH=1 (run: start from the state `settle` kept: every run then measures the same
#        first loads after a start, not a stream grown by the previous runs), WARMUP (3s), PROFILE=1 (run: also fetch CPU, block and mutex profiles and a 3 s trace of
#        kinerjad under the load into $WORK/prof-LABEL-*; the CPU profile covers PROF_SECONDS (4)
#        from PROF_DELAY (5) seconds after the start), FSYNC=1 (run: count kinerjad's fsyncs
#        with strace for 6 s of the measured window into $WORK/fsync-LABEL.txt; divide by 6 × req/s)
#        RATE (run and append: open loop, RATE requests per second due at fixed times and timed
#        from them, over CONNS (64) connections, instead of C closed-loop clients; append then
#        runs for DUR after WARMUP), CLIENT_CPUS (run: the bench client under `taskset -c CLIENT_CPUS`)
#   `run` also prices a mutation in CPU (cpu_run): kinerjad's user + system CPU (/proc/PID/stat)
#   and that of the PostgreSQL backends serving $DB, over the bench (warm-up included), divided
#   by the feedback POSTs kinerjad counted (kinerja_http_requests_total) over the same window.
set -euo pipefail
D=${WORK:-/tmp/kinerja-mutation-ab}
mkdir -p "$D"
STORE=${STORE:-postgres}
DB=${DB:-kinerja_bench_idemtx}
URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
export PGHOST=127.0.0.1 PGUSER=postgres
ticks=$(getconf CLK_TCK)
# pgcpu prints the CPU ticks (user + system) of the backends of $DB (0 on bbolt).
pgcpu() {
  local t=0 pid
  [[ $STORE == bolt ]] && { echo 0; return; }
  for pid in $(psql -XAtq -d postgres -c "SELECT pid FROM pg_stat_activity WHERE datname = '$DB'"); do
    [[ -r /proc/$pid/stat ]] || continue
    t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  echo $t
}
proccpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
mutations() {
  curl -fsS "http://$addr/metrics" | grep '^kinerja_http_requests_total' | grep 'feedback' | awk '{s += $2} END {printf "%d", s}'
}
if [[ $STORE == bolt ]]; then DATA=$D/bolt; SFLAGS=(); else DATA=$D/data; SFLAGS=(--store postgres --postgres-url "$URL"); fi
case $1 in
seed)
  if [[ $STORE != bolt ]]; then dropdb --if-exists $DB; createdb $DB; fi
  rm -rf "$DATA"
  $D/kinerjactl seed --data "$DATA" --employees ${EMPLOYEES:-1000} --year $(($(date +%Y)-1)) "${SFLAGS[@]}" >$D/seed.json
  head -c 300 $D/seed.json; echo ;;
settle)
  BIN=$2
  MIG=(); if [[ $STORE != bolt ]]; then MIG=(--migrate); fi
  $BIN --data "$DATA" --listen 127.0.0.1:0 "${SFLAGS[@]}" "${MIG[@]}" ${EXTRA:-} --deadline-interval 1s >$D/settle.log 2>&1 &
  kp=$!
  trap 'kill $kp 2>/dev/null; wait $kp 2>/dev/null' EXIT
  until grep -q '"msg":"listening"' $D/settle.log; do sleep 2; done
  last=-1
  while sleep 15; do
    n=$(grep -c 'deadline_\|_by_deadline' $D/settle.log || true)
    echo "settle: $n deadline lines"
    [[ $n == "$last" ]] && break
    last=$n
  done
  kill $kp 2>/dev/null; wait $kp 2>/dev/null || true; trap - EXIT
  # Keep the settled state, so that FRESH=1 runs all start from it.
  if [[ $STORE == bolt ]]; then rm -rf $D/settled-bolt; cp -a "$DATA" $D/settled-bolt
  else dropdb --if-exists ${DB}_settled; createdb -T $DB ${DB}_settled; rm -rf $D/settled-data; cp -a "$DATA" $D/settled-data; fi ;;
run)
  BIN=$2; LABEL=$3
  if [[ -n ${FRESH:-} ]]; then   # start from the state `settle` kept, not from the previous runs' feedback
    if [[ $STORE == bolt ]]; then rm -rf "$DATA"; cp -a $D/settled-bolt "$DATA"
    else dropdb --if-exists $DB; createdb -T ${DB}_settled $DB; rm -rf "$DATA"; cp -a $D/settled-data "$DATA"; fi
  fi
  DBG=()
  if [[ -n ${PROFILE:-} ]]; then DBG=(--debug-addr 127.0.0.1:${DEBUG_PORT:-19660}); fi
  MIG=(); if [[ $STORE != bolt ]]; then MIG=(--migrate); fi
  rm -f $D/kd.log   # before the start: the address is read from it
  $BIN --data "$DATA" --listen 127.0.0.1:0 "${SFLAGS[@]}" "${MIG[@]}" "${DBG[@]}" ${EXTRA:-} --deadline-interval 168h >$D/kd.log 2>&1 &
  kp=$!
  trap 'kill $kp 2>/dev/null; wait $kp 2>/dev/null' EXIT
  addr=""
  for _ in $(seq 1 600); do
    addr=$(grep -m1 -o '"msg":"listening","addr":"[^"]*"' $D/kd.log | sed 's/.*"addr":"//; s/"$//' || true)
    [[ -n "$addr" ]] && break; sleep 0.5; done
  pp=""
  if [[ -n ${PROFILE:-} ]]; then
    ( sleep ${PROF_DELAY:-5}
      curl -s -o $D/prof-$LABEL-cpu.pb.gz "http://127.0.0.1:${DEBUG_PORT:-19660}/debug/pprof/profile?seconds=${PROF_SECONDS:-4}"
      curl -s -o $D/prof-$LABEL-trace.out "http://127.0.0.1:${DEBUG_PORT:-19660}/debug/pprof/trace?seconds=3"
      curl -s -o $D/prof-$LABEL-block.pb.gz "http://127.0.0.1:${DEBUG_PORT:-19660}/debug/pprof/block"
      curl -s -o $D/prof-$LABEL-mutex.pb.gz "http://127.0.0.1:${DEBUG_PORT:-19660}/debug/pprof/mutex" ) &
    pp=$!
  fi
  if [[ -n ${FSYNC:-} ]]; then
    ( until curl -sf "http://$addr/readyz" >/dev/null; do sleep 0.5; done; sleep 5
      timeout -s INT 6 strace -f -c -e trace=fdatasync,fsync -p $kp -o $D/fsync-$LABEL.txt ) &
    pp="$pp $!"
  fi
  for _ in $(seq 1 1200); do curl -fsS -o /dev/null "http://$addr/readyz" && break; sleep 0.5; done
  m0=$(mutations) k0=$(proccpu $kp) p0=$(pgcpu)
  OPEN=(); if [[ -n ${RATE:-} ]]; then OPEN=(--rate "$RATE" --open-conns ${CONNS:-64}); fi
  PIN=(); if [[ -n ${CLIENT_CPUS:-} ]]; then PIN=(taskset -c "$CLIENT_CPUS"); fi
  "${PIN[@]}" $D/kinerjactl bench api --url "http://$addr" --data "$DATA" --concurrency ${C:-16} --duration ${DUR:-10s} --warmup ${WARMUP:-3s} --scenarios mutation --ratio=false "${OPEN[@]}" > $D/out.json 2>$D/err.txt || { cat $D/err.txt; exit 1; }
  m1=$(mutations) k1=$(proccpu $kp) p1=$(pgcpu)
  cpu=$(awk -v n=$((m1 - m0)) -v k=$((k1 - k0)) -v p=$((p1 - p0)) -v t=$ticks \
    'BEGIN { printf "{\"mutations\":%d,\"kinerjad_cpu_us_per_mutation\":%.0f,\"postgres_cpu_us_per_mutation\":%.0f}", n, n ? k * 1e6 / t / n : 0, n ? p * 1e6 / t / n : 0 }')
  if [[ -n $pp ]]; then wait $pp || true; fi
  if [[ -n ${FSYNC:-} ]]; then cat $D/fsync-$LABEL.txt >&2; fi
  echo "{\"label\":\"$LABEL\",\"store\":\"$STORE\",\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"cpu_run\":$cpu,\"r\":$(jq -c . $D/out.json | tr '\n' ',' | sed 's/,$//')}" | tee -a $D/results.jsonl ;;
append)
  # The store's own append p99 with C writers, in the same conditions.
  LABEL=$2
  if [[ $STORE == bolt ]]; then AFL=(--data $D/appendbench); rm -rf $D/appendbench; else AFL=(--store postgres --postgres-url "$URL"); fi
  OPEN=(); if [[ -n ${RATE:-} ]]; then OPEN=(--rate "$RATE" --open-conns ${CONNS:-64} --duration ${DUR:-10s} --warmup ${WARMUP:-3s}); fi
  $D/kinerjactl bench store "${AFL[@]}" --writers ${C:-16} --streams-per-writer 20 --read=false "${OPEN[@]}" > $D/append.json 2>$D/append.err || { cat $D/append.err; exit 1; }
  echo "{\"label\":\"append-$LABEL\",\"store\":\"$STORE\",\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"r\":$(jq -c . $D/append.json | tr '\n' ',' | sed 's/,$//')}" | tee -a $D/results.jsonl ;;
esac
