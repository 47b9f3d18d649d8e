#!/usr/bin/env bash
# Measures contention (issue 10): WRITERS clients each post ITEMS feedback to
# one SKP at once, without If-Match (kinerjactl bench api --scenarios
# contention), against kinerjad on bolt, on PostgreSQL, and as two kinerjad
# processes on one PostgreSQL (the writers take turns between them; the
# second runs --projections off). ROUNDS rounds each, on a small seeded
# agency (the SKP is the least-written established one, so each round
# writes to another). Prints JSON lines; ok_ratio is the share of 2xx.
# Targets: ≥ 0.99 on bolt and PostgreSQL, ≥ 0.95 with two processes.
#
#   bash docs/bench/contention.sh            # needs PostgreSQL on 127.0.0.1:5432
#   KINERJAD=/path/to/old/kinerjad bash docs/bench/contention.sh   # another build (an A/B)
#
# Environment: WRITERS (16), ITEMS (20), ROUNDS (3), EMPLOYEES (200),
# SETUPS ("bolt postgres postgres-2"), KINERJAD (a kinerjad binary; default:
# built from this checkout).
set -euo pipefail
cd "$(dirname "$0")/../.."
WRITERS=${WRITERS:-16}
ITEMS=${ITEMS:-20}
ROUNDS=${ROUNDS:-3}
EMPLOYEES=${EMPLOYEES:-200}
SETUPS=${SETUPS:-"bolt postgres postgres-2"}
DB=kinerja_bench_contention
export PGHOST=127.0.0.1 PGUSER=postgres
URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
YEAR=$(($(date +%Y) - 1))
out=$(mktemp -d)
pids=()
stop_all() {
  for p in "${pids[@]}"; do
    kill "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
  done
  pids=()
}
trap 'stop_all; dropdb --if-exists "$DB" 2>/dev/null || true; rm -rf "$out"' EXIT
go build -o "$out/kinerjactl" ./cmd/kinerjactl
if [[ -n "${KINERJAD:-}" ]]; then
  cp "$KINERJAD" "$out/kinerjad"
else
  go build -o "$out/kinerjad" ./cmd/kinerjad
fi

# start NAME DATA [FLAGS...]: starts kinerjad and sets started to its base
# URL once it answers /readyz.
start() {
  local name=$1 data=$2
  shift 2
  "$out/kinerjad" --data "$data" --listen 127.0.0.1:0 "$@" >"$out/$name.log" 2>&1 &
  pids+=($!)
  local addr=""
  for _ in $(seq 1 600); do
    addr=$(grep -m1 -o '"msg":"listening","addr":"[^"]*"' "$out/$name.log" | sed 's/.*"addr":"//; s/"$//' || true)
    [[ -n "$addr" ]] && break
    sleep 0.5
  done
  [[ -n "$addr" ]] || { cat "$out/$name.log" >&2; exit 1; }
  for _ in $(seq 1 600); do
    curl -fsS -o /dev/null "http://$addr/readyz" && { started="http://$addr"; return 0; }
    sleep 0.5
  done
  echo "kinerjad $name not ready" >&2
  exit 1
}

# bench SETUP DATA URL [ALSO]: ROUNDS rounds of the contention scenario.
bench() {
  local setup=$1 data=$2 base=$3 also=${4:-}
  for round in $(seq 1 "$ROUNDS"); do
    "$out/kinerjactl" bench api --url "$base" --also-url "$also" --data "$data" --scenarios contention \
      --concurrency "$WRITERS" --contention-items "$ITEMS" 2>>"$out/bench.err" |
      jq -c --arg setup "$setup" --argjson round "$round" '{setup: $setup, round: $round} + del(.targets)'
  done
}

for setup in $SETUPS; do
  data="$out/$setup"
  case $setup in
  bolt)
    "$out/kinerjactl" seed --data "$data" --employees "$EMPLOYEES" --year "$YEAR" >/dev/null
    start bolt "$data"
    base=$started
    bench bolt "$data" "$base"
    ;;
  postgres | postgres-2)
    dropdb --if-exists "$DB" 2>/dev/null
    createdb "$DB"
    "$out/kinerjactl" seed --data "$data" --employees "$EMPLOYEES" --year "$YEAR" --store postgres --postgres-url "$URL" >/dev/null
    start "$setup-a" "$data" --store postgres --postgres-url "$URL" --migrate
    base=$started
    also=""
    if [[ $setup == postgres-2 ]]; then
      start "$setup-b" "$data" --store postgres --postgres-url "$URL" --projections off
      also=$started
    fi
    bench "$setup" "$data" "$base" "$also"
    ;;
  *)
    echo "unknown setup $setup" >&2
    exit 2
    ;;
  esac
  stop_all
  [[ $setup == bolt ]] || dropdb "$DB"
done
