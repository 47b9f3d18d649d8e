#!/usr/bin/env bash
# A/B of GET /v1/skps/{id} against the trivial handler (issue 15): one seeded
# agency, kinerjad binaries alternated on the same data. Section 3's
# measurement (`kinerjactl bench api`, 16 clients, 5 s warm-up, 10 s
# measured) limited to its two scenarios, then a get_skp-only run that
# prices a request in CPU: kinerjad's process_cpu_seconds_total and the CPU
# of the PostgreSQL backends serving this database (/proc/PID/stat), each
# divided by the GET /v1/skps/{id} requests kinerjad counted over the same
# window (kinerja_http_requests_total, warm-up included on both sides).
#
#   go build -o $WORK/kinerjactl ./cmd/kinerjactl     # once
#   STORE=postgres bash docs/bench/get_skp_ab.sh seed
#   STORE=postgres bash docs/bench/get_skp_ab.sh settle /tmp/kinerjad-main
#   STORE=postgres bash docs/bench/get_skp_ab.sh run /tmp/kinerjad-main main
#   STORE=postgres bash docs/bench/get_skp_ab.sh run /tmp/kinerjad-new new   # alternate, repeat
#
# The seed is of last year, so its deadlines have passed: a kinerjad started on
# it finalises evaluations and queues thousands of reminders (appends, and
# projections applying them) while it is measured. `settle` runs kinerjad with
# a 1 s deadline round until the deadline process manager has nothing left to
# fire; `run` keeps it quiet (`--deadline-interval 168h`, one round a week,
# the first a week after start) and reports the deadline lines of its log
# (`deadline_lines`, 0 for a clean run).
#
# Environment: STORE (postgres or bolt), EMPLOYEES (10000), C (16), DUR
# (10s), WARMUP (5s), WORK (/tmp/kinerja-getskp-ab-$STORE), DB
# (kinerja_bench_getskp), PROFILE=1 (run: a CPU profile of kinerjad over the
# CPU run into $WORK/LABEL.N.pprof, through --debug-addr 127.0.0.1:$DEBUG_PORT, 19261 unless set).
# Results are appended to $WORK/results.jsonl, one JSON line per run; the
# CPU run also counts the database's committed transactions per request
# (`xact_per_req`: one a statement outside a transaction; background
# included).
# BENCH_ARGS are more `bench api` flags for both runs, e.g. `--role HR_ADMIN
# --agency INST001` for agency-claimed tokens (the line's `token` field
# says which).
set -euo pipefail
STORE=${STORE:-postgres}
D=${WORK:-/tmp/kinerja-getskp-ab-$STORE}
mkdir -p "$D"
DB=${DB:-kinerja_bench_getskp}
URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
export PGHOST=127.0.0.1 PGUSER=postgres
flags=()
[[ $STORE == postgres ]] && flags=(--store postgres --postgres-url "$URL")
ticks=$(getconf CLK_TCK)

# pgcpu prints the CPU seconds (user + system) of the backends of $DB.
pgcpu() {
  local t=0 pid
  for pid in $(psql -XAtq -d postgres -c "SELECT pid FROM pg_stat_activity WHERE datname = '$DB'"); do
    [[ -r /proc/$pid/stat ]] || continue
    t=$((t + $(awk '{print $14 + $15}' "/proc/$pid/stat")))
  done
  awk -v t="$t" -v k="$ticks" 'BEGIN { printf "%.3f", t / k }'
}

# xacts prints the committed transactions of $DB so far.
xacts() {
  psql -XAtq -d postgres -c "SELECT xact_commit FROM pg_stat_database WHERE datname = '$DB'"
}

# metric NAME FILTER prints the sum of a metric's samples matching FILTER.
metric() {
  curl -fsS "$base/metrics" | grep "^$1" | grep -- "$2" | awk '{s += $2} END {printf "%.3f", s}'
}

case $1 in
seed)
  rm -rf "$D/data"
  if [[ $STORE == postgres ]]; then dropdb --if-exists $DB; createdb $DB; fi
  t0=$(date +%s.%N)
  "$D/kinerjactl" seed --data "$D/data" --employees "${EMPLOYEES:-10000}" --year $(($(date +%Y) - 1)) "${flags[@]}" >"$D/seed.json"
  echo "seeded in $(awk "BEGIN { print $(date +%s.%N) - $t0 }") s: $(head -c 200 "$D/seed.json")"
  ;;
settle)
  BIN=$2
  mflags=()
  [[ $STORE == postgres ]] && mflags=(--migrate)
  "$BIN" --data "$D/data" --listen 127.0.0.1:0 "${flags[@]}" "${mflags[@]}" --deadline-interval 1s >"$D/settle.log" 2>&1 &
  kp=$!
  trap 'kill $kp 2>/dev/null; wait $kp 2>/dev/null' EXIT
  until grep -q '"msg":"listening"' "$D/settle.log"; do
    kill -0 $kp 2>/dev/null || { cat "$D/settle.log" >&2; exit 1; }
    sleep 2
  done
  last=-1
  while sleep 15; do
    n=$(grep -c 'deadline_\|_by_deadline' "$D/settle.log" || true)
    echo "settle: $n deadline lines"
    [[ $n == "$last" ]] && break
    last=$n
  done
  ;;
run)
  BIN=$2 LABEL=$3
  mflags=()
  [[ $STORE == postgres ]] && mflags=(--migrate)
  dbg=()
  [[ -n ${PROFILE:-} ]] && dbg=(--debug-addr 127.0.0.1:${DEBUG_PORT:-19261})
  "$BIN" --data "$D/data" --listen 127.0.0.1:0 "${flags[@]}" "${mflags[@]}" "${dbg[@]}" --deadline-interval 168h >"$D/kd.log" 2>&1 &
  kp=$!
  trap 'kill $kp 2>/dev/null; wait $kp 2>/dev/null' EXIT
  addr=""
  for _ in $(seq 1 1200); do
    addr=$(grep -m1 -o '"msg":"listening","addr":"[^"]*"' "$D/kd.log" | sed 's/.*"addr":"//; s/"$//' || true)
    [[ -n "$addr" ]] && break
    kill -0 $kp 2>/dev/null || { cat "$D/kd.log" >&2; exit 1; }
    sleep 0.5
  done
  base="http://$addr"
  for _ in $(seq 1 1200); do curl -fsS -o /dev/null "$base/readyz" && break; sleep 0.5; done
  # The first request of a claimless agency-role token (the bench's HR
  # token) makes the tenancy check (app.ManyAgencies) scan the whole log
  # for unit registrations, authenticated: minutes on a loaded machine, over
  # the bench client's one-minute timeout and even kinerjad's two-minute
  # write timeout (the scan goes on; a later request finds it done). Prime
  # it unmeasured.
  t0=$(date +%s.%N)
  tok=$("$D/kinerjactl" token --data "$D/data" --sub bench-prime --roles HR_ADMIN)
  for _ in $(seq 1 30); do
    curl -fsS -o /dev/null -m 1800 -H "Authorization: Bearer $tok" "$base/v1/units?limit=1" 2>/dev/null && break
    sleep 5
  done
  echo "primed the tenancy check in $(awk "BEGIN { print $(date +%s.%N) - $t0 }") s" >&2
  load0=$(cut -d' ' -f1 /proc/loadavg)
  "$D/kinerjactl" bench api --url "$base" --data "$D/data" --concurrency "${C:-16}" --duration "${DUR:-10s}" --warmup "${WARMUP:-5s}" \
    --scenarios trivial,get_skp ${BENCH_ARGS:-} >"$D/ratio.json" 2>"$D/err.txt" || { cat "$D/err.txt"; exit 1; }
  route='route="/v1/skps/{id}"'
  x0=0 x1=0
  [[ $STORE == postgres ]] && x0=$(xacts)
  r0=$(metric kinerja_http_requests_total "$route") c0=$(metric process_cpu_seconds_total "") p0=$(pgcpu)
  pp=""
  if [[ -n ${PROFILE:-} ]]; then
    n=0
    while [[ -e $D/$LABEL.$n.pprof ]]; do n=$((n + 1)); done
    secs=${DUR:-10s}
    secs=${secs%s}
    curl -fsS -o "$D/$LABEL.$n.pprof" "http://127.0.0.1:${DEBUG_PORT:-19261}/debug/pprof/profile?seconds=${secs}" &
    pp=$!
  fi
  "$D/kinerjactl" bench api --url "$base" --data "$D/data" --concurrency "${C:-16}" --duration "${DUR:-10s}" --warmup 1s \
    --scenarios get_skp --ratio=false ${BENCH_ARGS:-} >"$D/cpu.json" 2>"$D/err.txt" || { cat "$D/err.txt"; exit 1; }
  r1=$(metric kinerja_http_requests_total "$route") c1=$(metric process_cpu_seconds_total "") p1=$(pgcpu)
  [[ $STORE == postgres ]] && x1=$(xacts)
  [[ -n $pp ]] && { wait $pp || true; }
  load1=$(cut -d' ' -f1 /proc/loadavg)
  dl=$(grep -c 'deadline_\|_by_deadline' "$D/kd.log" || true)
  jq -c -s --arg lbl "$LABEL" --arg store "$STORE" --arg load "$load0–$load1" --arg token "${BENCH_ARGS:-claimless}" \
    --argjson req "$(awk "BEGIN { print $r1 - $r0 }")" \
    --argjson kus "$(awk "BEGIN { n = $r1 - $r0; print (n > 0 ? ($c1 - $c0) * 1e6 / n : 0) }")" \
    --argjson pus "$(awk "BEGIN { n = $r1 - $r0; print (n > 0 ? ($p1 - $p0) * 1e6 / n : 0) }")" \
    --argjson xpr "$(awk "BEGIN { n = $r1 - $r0; print (n > 0 ? ($x1 - $x0) / n : 0) }")" \
    --argjson dl "$dl" \
    '{label: $lbl, store: $store, token: $token, load: $load, trivial_rps: .[2].trivial_rps, get_skp_rps: .[2].get_skp_rps,
      ratio: .[2].ratio, get_skp_p50_ms: .[1].p50_ms, get_skp_p99_ms: .[1].p99_ms, errors: (.[0].errors + .[1].errors),
      deadline_lines: $dl,
      cpu_run: {requests: $req, kinerjad_cpu_us_per_req: $kus, postgres_cpu_us_per_req: $pus, xact_per_req: $xpr}}' \
    "$D/ratio.json" | tee -a "$D/results.jsonl"
  ;;
*)
  echo "usage: $0 seed | settle KINERJAD | run KINERJAD LABEL" >&2
  exit 2
  ;;
esac
