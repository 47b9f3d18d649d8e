#!/usr/bin/env bash
# A/B of the keyed mutation on PostgreSQL (issue 15): one seeded agency, binaries
# alternated. Build kinerjactl into $WORK first (go build -o $WORK/kinerjactl ./cmd/kinerjactl).
# usage: mutation_ab.sh seed | mutation_ab.sh run KINERJAD_BINARY LABEL   (EMPLOYEES, C, DUR)
set -euo pipefail
D=${WORK:-/tmp/kinerja-mutation-ab}
mkdir -p "$D"
DB=kinerja_bench_idemtx
URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
export PGHOST=127.0.0.1 PGUSER=postgres
case $1 in
seed)
  dropdb --if-exists $DB; createdb $DB; rm -rf $D/data
  $D/kinerjactl seed --data $D/data --employees ${EMPLOYEES:-1000} --year $(($(date +%Y)-1)) --store postgres --postgres-url "$URL" >$D/seed.json
  cat $D/seed.json | head -c 300; echo ;;
run)
  BIN=$2; LABEL=$3
  $BIN --data $D/data --listen 127.0.0.1:0 --store postgres --postgres-url "$URL" --migrate >$D/kd.log 2>&1 &
  kp=$!
  trap 'kill $kp 2>/dev/null; wait $kp 2>/dev/null' EXIT
  addr=""
  for _ in $(seq 1 600); do
    addr=$(grep -m1 -o '"msg":"listening","addr":"[^"]*"' $D/kd.log | sed 's/.*"addr":"//; s/"$//' || true)
    [[ -n "$addr" ]] && break; sleep 0.5; done
  $D/kinerjactl bench api --url "http://$addr" --data $D/data --concurrency ${C:-16} --duration ${DUR:-10s} --warmup 3s --scenarios mutation --ratio=false > $D/out.json 2>$D/err.txt || { cat $D/err.txt; exit 1; }
  echo "{\"label\":\"$LABEL\",\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"r\":$(jq -c . $D/out.json | tr '\n' ',' | sed 's/,$//')}" | tee -a $D/results.jsonl ;;
esac
