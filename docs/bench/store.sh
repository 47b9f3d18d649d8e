#!/usr/bin/env bash
# Measures the event-store backends against the machine's ceiling, as
# docs/benchmarks.md reports them: kinerjactl bench store (W writers over
# W×100 streams, 10 events each, one append per event with an exact expected
# revision, ~300-byte JSON) on bbolt and PostgreSQL, alternating with a
# pgbench single-row INSERT (300 bytes, prepared) on the same database, at 1
# and 16 clients. Three rounds; prints JSON lines and a summary.
#
# A second ceiling, pgbench_insert_events_shape, inserts the store's own row
# (14 columns, 300-byte data, a 32-byte hash) into a copy of its events table
# with the same three unique indexes, positions from a sequence: what one
# plain INSERT of that row costs, with no store code around it.
#
#   bash docs/bench/store.sh            # needs PostgreSQL on 127.0.0.1:5432
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${ROUNDS:-3}
DB=kinerja_bench
export PGHOST=127.0.0.1 PGUSER=postgres
URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
out=$(mktemp -d)
go build -o "$out/kinerjactl" ./cmd/kinerjactl
dropdb --if-exists "$DB"; createdb "$DB"
psql -q -d "$DB" -c "CREATE TABLE pgbench_ceiling(id bigserial PRIMARY KEY, payload text)"
echo "INSERT INTO pgbench_ceiling(payload) VALUES (repeat('x', 300));" > "$out/insert.sql"
"$out/kinerjactl" migrate --postgres-url "$URL" >/dev/null
psql -q -d "$DB" -c "CREATE TABLE ev_ceiling (LIKE kinerja.events INCLUDING ALL); CREATE SEQUENCE ev_ceiling_pos"
cat > "$out/insert_events.sql" <<'SQL'
INSERT INTO ev_ceiling (position, revision, event_id, schema_version, occurred_at, stream, type, actor_id, actor_role, correlation_id, causation_id, reason, data, hash) VALUES (nextval('ev_ceiling_pos'), 0, gen_random_uuid(), 1, now(), 'bench-' || currval('ev_ceiling_pos'), 'bench.rating_assigned.v1', 'bench', 'SYSTEM', 'bench', '', '', convert_to(repeat('x', 300), 'UTF8'), sha256('x'::bytea));
SQL

pgb() { # clients [script] → "tps p50_ms"
  local c=$1 script=${2:-insert.sql} logdir; logdir=$(mktemp -d)
  (cd "$logdir" && pgbench -d "$DB" -n -M prepared -c "$c" -j 2 -T 10 -f "$out/$script" -l >"$logdir/out.txt" 2>&1)
  local tps; tps=$(grep -oP 'tps = \K[0-9.]+' "$logdir/out.txt" | head -1)
  local p50; p50=$(cat "$logdir"/pgbench_log.* | awk '{print $3}' | sort -n | awk '{a[NR]=$1} END {print a[int(NR/2)]/1000}')
  echo "$tps $p50"
}

for r in $(seq 1 "$ROUNDS"); do
  for c in 1 16; do
    read -r tps p50 < <(pgb "$c")
    echo "{\"bench\":\"pgbench_insert\",\"round\":$r,\"clients\":$c,\"tps\":$tps,\"p50_ms\":$p50}"
    read -r tps p50 < <(pgb "$c" insert_events.sql)
    echo "{\"bench\":\"pgbench_insert_events_shape\",\"round\":$r,\"clients\":$c,\"tps\":$tps,\"p50_ms\":$p50}"
    "$out/kinerjactl" bench store --store postgres --postgres-url "$URL" --writers "$c" --read=false --migrate=false 2>/dev/null |
      sed "s/^{/{\"round\":$r,/"
  done
  rm -rf "$out/bolt"
  "$out/kinerjactl" bench store --store bolt --data "$out/bolt" --writers 1,16 --read=false 2>/dev/null | sed "s/^{/{\"round\":$r,/"
done
"$out/kinerjactl" bench store --store postgres --postgres-url "$URL" --writers 16 --streams-per-writer 600 --migrate=false 2>/dev/null | tail -1
"$out/kinerjactl" bench store --store bolt --data "$out/bolt" --writers 16 --streams-per-writer 600 2>/dev/null | tail -1
dropdb "$DB"
