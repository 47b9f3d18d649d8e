#!/usr/bin/env bash
# Measures the HTTP API (issue 5, "Performance, measured"): seeds an agency
# of EMPLOYEES (10,000) into a fresh data directory, timing it; starts
# kinerjad on it; waits for /readyz; runs kinerjactl bench api (trivial
# net/http ceiling, GET /v1/skps/{id}, as_of, reports, a feedback mutation,
# as_of on an SKP of 1,000 events, and the get_skp ÷ trivial ratio); stops
# kinerjad. Once on bolt (embedded) and once on PostgreSQL (kinerjad
# --store postgres --migrate into a fresh database). Prints JSON lines.
# Targets: get_skp ≥ 0.3 × trivial; as_of_1000 p95 ≤ 50 ms; seeding
# 10,000 employees under a minute.
#
#   bash docs/bench/api.sh                  # needs PostgreSQL on 127.0.0.1:5432
#   EMPLOYEES=200 DURATION=1s AS_OF_EVENTS=100 bash docs/bench/api.sh   # a quick check
#
# Environment: EMPLOYEES (10000), DURATION (10s per scenario), CONCURRENCY
# (16), WARMUP (5s, unmeasured, per scenario), STORES ("bolt postgres"),
# AS_OF_EVENTS (1000).
set -euo pipefail
cd "$(dirname "$0")/../.."
EMPLOYEES=${EMPLOYEES:-10000}
DURATION=${DURATION:-10s}
CONCURRENCY=${CONCURRENCY:-16}
WARMUP=${WARMUP:-5s}
STORES=${STORES:-"bolt postgres"}
AS_OF_EVENTS=${AS_OF_EVENTS:-1000}
DB=kinerja_bench_api
export PGHOST=127.0.0.1 PGUSER=postgres
URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
YEAR=$(($(date +%Y) - 1))
out=$(mktemp -d)
kpid=""
stop_kinerjad() {
  if [[ -n "$kpid" ]]; then
    kill "$kpid" 2>/dev/null || true
    wait "$kpid" 2>/dev/null || true
    kpid=""
  fi
}
trap 'stop_kinerjad; dropdb --if-exists "$DB" 2>/dev/null || true; rm -rf "$out"' EXIT
go build -o "$out/kinerjactl" ./cmd/kinerjactl
go build -o "$out/kinerjad" ./cmd/kinerjad

# seed STORE DATA [FLAGS...]: seeds and prints the time it took.
seed() {
  local store=$1 data=$2
  shift 2
  local t0 t1
  t0=$(date +%s.%N)
  if ! "$out/kinerjactl" seed --data "$data" --employees "$EMPLOYEES" --year "$YEAR" "$@" >"$out/seed.json" 2>"$out/seed.err"; then
    cat "$out/seed.err" >&2
    exit 1
  fi
  t1=$(date +%s.%N)
  jq -c --arg store "$store" --argjson s "$(awk "BEGIN { printf \"%.2f\", $t1 - $t0 }")" \
    '{bench: "seed", store: $store, employees: .Employees, events: .Events, seconds: $s}' "$out/seed.json"
}

# start DATA [FLAGS...]: starts kinerjad on a free port, sets base once it
# listens and answers /readyz.
start() {
  local data=$1
  shift
  "$out/kinerjad" --data "$data" --listen 127.0.0.1:0 "$@" >"$out/kinerjad.log" 2>&1 &
  kpid=$!
  local addr=""
  for _ in $(seq 1 1200); do
    addr=$(grep -m1 -o '"msg":"listening","addr":"[^"]*"' "$out/kinerjad.log" | sed 's/.*"addr":"//; s/"$//' || true)
    [[ -n "$addr" ]] && break
    if ! kill -0 "$kpid" 2>/dev/null; then
      cat "$out/kinerjad.log" >&2
      exit 1
    fi
    sleep 0.5
  done
  [[ -n "$addr" ]] || { echo "kinerjad did not listen within 10 minutes" >&2; exit 1; }
  base="http://$addr"
  for _ in $(seq 1 600); do
    curl -fsS -o /dev/null "$base/readyz" && return 0
    sleep 0.5
  done
  echo "kinerjad at $base not ready within 5 minutes" >&2
  exit 1
}

# bench STORE DATA: runs bench api against the kinerjad started on DATA.
bench() {
  if ! "$out/kinerjactl" bench api --url "$base" --data "$2" --concurrency "$CONCURRENCY" --duration "$DURATION" --warmup "$WARMUP" \
    --as-of-events "$AS_OF_EVENTS" >"$out/api.json" 2>"$out/api.err"; then
    cat "$out/api.err" >&2
    exit 1
  fi
  jq -c --arg store "$1" '{store: $store} + .' "$out/api.json"
}

for store in $STORES; do
  case $store in
  bolt)
    data="$out/bolt"
    seed bolt "$data"
    start "$data"
    bench bolt "$data"
    stop_kinerjad
    ;;
  postgres)
    data="$out/postgres"
    dropdb --if-exists "$DB" 2>/dev/null
    createdb "$DB"
    seed postgres "$data" --store postgres --postgres-url "$URL"
    start "$data" --store postgres --postgres-url "$URL" --migrate
    bench postgres "$data"
    stop_kinerjad
    dropdb "$DB"
    ;;
  *)
    echo "unknown store $store" >&2
    exit 2
    ;;
  esac
done
