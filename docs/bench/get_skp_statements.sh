#!/usr/bin/env bash
# get_skp_statements.sh KINERJAD: statements (committed transactions of the
# database, background included) per GET /v1/skps/{id}, on the agency that
# get_skp_ab.sh seeded (STORE=postgres). Warms the caches for 20 s, then counts
# over 10 s.
set -euo pipefail
D=${WORK:-/tmp/kinerja-getskp-ab-postgres} DB=kinerja_bench_getskp
URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
"$1" --data $D/data --listen 127.0.0.1:0 --store postgres --postgres-url "$URL" >$D/kdx.log 2>&1 &
kp=$!
trap 'kill $kp 2>/dev/null; wait $kp 2>/dev/null' EXIT
for _ in $(seq 1 600); do addr=$(grep -m1 -o '"msg":"listening","addr":"[^"]*"' $D/kdx.log | sed 's/.*"addr":"//; s/"$//' || true); [[ -n "$addr" ]] && break; sleep 0.5; done
base=http://$addr
for _ in $(seq 1 600); do curl -fsS -o /dev/null "$base/readyz" && break; sleep 0.5; done
x() { psql -h 127.0.0.1 -U postgres -d postgres -XAtq -c "SELECT xact_commit FROM pg_stat_database WHERE datname = '$DB'"; }
r() { curl -fsS "$base/metrics" | grep '^kinerja_http_requests_total' | grep 'route="/v1/skps/{id}"' | awk '{s += $2} END {print s+0}'; }
$D/kinerjactl bench api --url "$base" --data $D/data --concurrency 16 --duration 20s --warmup 1s --scenarios get_skp --ratio=false >/dev/null 2>&1
sleep 1
x0=$(x); r0=$(r)
$D/kinerjactl bench api --url "$base" --data $D/data --concurrency 16 --duration 10s --warmup 1s --scenarios get_skp --ratio=false >/dev/null 2>&1
sleep 1
x1=$(x); r1=$(r)
echo "$(basename $1): requests $((r1 - r0)), transactions $((x1 - x0)), per request $(awk "BEGIN { print ($x1 - $x0) / ($r1 - $r0) }")"
