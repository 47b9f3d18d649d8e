#!/usr/bin/env bash
# The PostgreSQL append at 16 writers against pgbench's 16-client INSERT,
# as issue 15 asks: ROUNDS rounds (default 9), each running pgbench's
# single-row 300-byte INSERT (prepared, 16 clients, 10 s) and then
# `kinerjactl bench store --writers 16` of each binary given, in turn, so
# that the machine's load falls on all of them alike. Prints one JSON line
# per run and, per binary, the median of its per-round ratios to pgbench.
#
#   bash docs/bench/append_ratio.sh                       # this checkout's kinerjactl
#   bash docs/bench/append_ratio.sh /tmp/before /tmp/after  # an A/B of two builds
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-9}
DB=${DB:-kinerja_bench_ratio}  # DB=other_name: a database of your own, when others may run this too
export PGHOST=127.0.0.1 PGUSER=postgres
URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
out=$(mktemp -d)
bins=("$@")
if [ ${#bins[@]} -eq 0 ]; then
  go build -o "$out/kinerjactl" ./cmd/kinerjactl
  bins=("$out/kinerjactl")
fi
dropdb --if-exists "$DB"; createdb "$DB"
psql -q -d "$DB" -c "CREATE TABLE pgbench_ceiling(id bigserial PRIMARY KEY, payload text)"
echo "INSERT INTO pgbench_ceiling(payload) VALUES (repeat('x', 300));" > "$out/insert.sql"
"${bins[0]}" migrate --postgres-url "$URL" >/dev/null
for r in $(seq 1 "$ROUNDS"); do
  tps=$(pgbench -d "$DB" -n -M prepared -c 16 -j 2 -T 10 -f "$out/insert.sql" 2>&1 | grep -oP 'tps = \K[0-9.]+' | head -1)
  echo "{\"bench\":\"pgbench_insert\",\"round\":$r,\"clients\":16,\"tps\":$tps,\"load\":\"$(cut -d' ' -f1 /proc/loadavg)\"}"
  for i in "${!bins[@]}"; do
    line=$("${bins[$i]}" bench store --store postgres --postgres-url "$URL" --writers 16 --read=false --migrate=false 2>/dev/null | tail -1)
    eps=$(grep -oP '"events_per_sec":\K[0-9.]+' <<<"$line")
    echo "{\"bench\":\"store\",\"binary\":$i,\"round\":$r,\"events_per_s\":$eps,\"ratio\":$(awk -v a="$eps" -v b="$tps" 'BEGIN{printf "%.3f", a/b}')}" | tee -a "$out/ratios"
  done
done
for i in "${!bins[@]}"; do
  med=$(grep "\"binary\":$i," "$out/ratios" | grep -oP '"ratio":\K[0-9.]+' | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "{\"summary\":\"${bins[$i]}\",\"rounds\":$ROUNDS,\"median_ratio\":$med}"
done
dropdb "$DB"
