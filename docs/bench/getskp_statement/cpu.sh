#!/usr/bin/env bash
# PostgreSQL backend CPU per execution of one statement (issue 15, branch
# getskp): pgbench, one client, prepared (:variables become parameters),
# N executions; the backend's utime+stime from /proc at its last sample,
# divided by N. Resolution: one clock tick (10 ms) over N.
#
#   DB=getskp_bench bash docs/bench/getskp_statement/cpu.sh docs/bench/getskp_statement/tails_head.sql 10000
#
# tails_head.sql is pgstore's warm GET statement (tailsSQL with the head
# row) for one SKP, its employee and another employee; tails.sql the same
# without the head row (what a caller whose tenancy check does not read the
# head sends, app.PrefetchSKP since branch getskp); scalar.sql the same
# without arrays (three scalar parameter pairs, UNION ALL); pk.sql one
# primary-key lookup. The stream names are of the seed of get_skp_ab.sh.
set -euo pipefail
f=$1 n=$2 DB=${DB:-getskp_bench}
pgbench -h 127.0.0.1 -U postgres -n -M prepared -c 1 -t "$n" -f "$f" \
  -D s1=skp-196901021993101897-2025 -D s2=employee-196901021993101897 -D s3=employee-196901021995112112 \
  -D f1=34 -D f2=2 -D f3=2 \
  -D "sa={skp-196901021993101897-2025,employee-196901021993101897,employee-196901021995112112}" -D "fa={34,2,2}" \
  "$DB" >/dev/null 2>&1 &
bp=$!
pid="" last=0
while kill -0 $bp 2>/dev/null; do
  [[ -z $pid ]] && pid=$(psql -h 127.0.0.1 -U postgres -XAtq -d postgres -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'pgbench' AND datname = '$DB'")
  [[ -n $pid ]] && v=$(awk '{print $14 + $15}' "/proc/$pid/stat" 2>/dev/null) && [[ -n $v ]] && last=$v
  sleep 0.02
done
wait $bp
echo "$f $(awk -v t="$last" -v n="$n" -v k="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / k * 1e6 / n }') µs/statement"
