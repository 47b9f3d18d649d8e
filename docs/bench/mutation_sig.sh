#!/usr/bin/env bash
# Signature-work A/B of the keyed mutation (issue 15, the sigcache change): the variant of mutation_ab.sh whose PROFILE=1 reports the ed25519 share.
# Binaries alternated. Build kinerjactl into $WORK first (go build -o $WORK/kinerjactl ./cmd/kinerjactl).
# usage: mutation_ab.sh seed | mutation_ab.sh run KINERJAD_BINARY LABEL   (EMPLOYEES, C, DUR)
# STORE=bolt runs the same on embedded kinerjad over bbolt (data in $WORK/bolt).
# PROFILE=1 also takes a CPU profile of kinerjad over the measured DUR
# ($WORK/LABEL.N.pprof, through --debug-addr) and prints the share of its
# samples under crypto/ed25519 (signature verification and signing).
# WARMUP (3s) is the unmeasured load before DUR; make it long enough to
# touch every open SKP once (e.g. 15s at 1,000 employees), or the first,
# whole-stream authenticated load of each SKP after the restart dominates
# the profile, and grows with every run (each adds a signed append).
set -euo pipefail
D=${WORK:-/tmp/kinerja-mutation-ab}
mkdir -p "$D"
DB=kinerja_bench_idemtx
URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
export PGHOST=127.0.0.1 PGUSER=postgres
STORE=${STORE:-postgres}
if [[ $STORE == bolt ]]; then DATA=$D/bolt; STOREARGS=(); else DATA=$D/data; STOREARGS=(--store postgres --postgres-url "$URL"); fi
case $1 in
seed)
  [[ $STORE == bolt ]] || { dropdb --if-exists $DB; createdb $DB; }
  rm -rf $DATA
  $D/kinerjactl seed --data $DATA --employees ${EMPLOYEES:-1000} --year $(($(date +%Y)-1)) "${STOREARGS[@]}" >$D/seed.json
  cat $D/seed.json | head -c 300; echo ;;
run)
  BIN=$2; LABEL=$3
  DBG=(); [[ ${PROFILE:-0} == 1 ]] && DBG=(--debug-addr 127.0.0.1:0)
  MIGRATE=(); [[ $STORE == bolt ]] || MIGRATE=(--migrate)
  $BIN --data $DATA --listen 127.0.0.1:0 "${STOREARGS[@]}" "${MIGRATE[@]}" "${DBG[@]}" >$D/kd.log 2>&1 &
  kp=$!
  trap 'kill $kp 2>/dev/null; wait $kp 2>/dev/null' EXIT
  addr=""
  for _ in $(seq 1 600); do
    addr=$(grep -m1 -o '"msg":"listening","addr":"[^"]*"' $D/kd.log | sed 's/.*"addr":"//; s/"$//' || true)
    [[ -n "$addr" ]] && break; sleep 0.5; done
  prof=""; cpid=""
  if [[ ${PROFILE:-0} == 1 ]]; then
    dbg=$(grep -m1 -o '"msg":"debug_listening","addr":"[^"]*"' $D/kd.log | sed 's/.*"addr":"//; s/"$//')
    n=$(find $D -maxdepth 1 -name "$LABEL.*.pprof" | wc -l); prof=$D/$LABEL.$n.pprof
    secs=${DUR:-10s}; secs=${secs%s}
    # after readiness and the bench's 3 s warm-up: the profile is of the measured load
    (until curl -sf -o /dev/null "http://$addr/readyz"; do sleep 0.2; done; sleep ${WARMUP:-3s}; curl -s -o $prof "http://$dbg/debug/pprof/profile?seconds=$secs") &
    cpid=$!
  fi
  $D/kinerjactl bench api --url "http://$addr" --data $DATA --concurrency ${C:-16} --duration ${DUR:-10s} --warmup ${WARMUP:-3s} --scenarios mutation --ratio=false > $D/out.json 2>$D/err.txt || { cat $D/err.txt; exit 1; }
  if [[ -n "$prof" ]]; then
    wait $cpid
    echo "$prof: ed25519 $(go tool pprof -top -focus=crypto/ed25519 $prof 2>/dev/null | grep -o '[0-9.]*% of [0-9.]*s total' || echo '0% (no sample)')"
  fi
  echo "{\"label\":\"$LABEL\",\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\",\"r\":$(jq -c . $D/out.json | tr '\n' ',' | sed 's/,$//')}" | tee -a $D/results.jsonl ;;
esac
