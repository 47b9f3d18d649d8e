#!/bin/bash
# docs/benchmarks.md, "The PostgreSQL seed written with COPY": KINERJACTL=path of the binary (default /tmp/pgseed/bin/kinerjactl)
# usage: ab.sh NAME EMPLOYEES [extra flags]; seeds into fresh db pgseed_NAME, prints wall, client CPU, server CPU
name=$1; n=$2; shift 2
db=pgseed_$name
dropdb -h 127.0.0.1 -U postgres --if-exists $db; createdb -h 127.0.0.1 -U postgres $db
url="postgres://postgres@127.0.0.1:5432/$db?sslmode=disable"
rm -rf /tmp/pgseed/data_$name; mkdir -p /tmp/pgseed/data_$name

( while true; do
  for p in $(psql -h 127.0.0.1 -U postgres -Atc "select pid from pg_stat_activity where datname='$db'" 2>/dev/null); do
    [ -r /proc/$p/stat ] && echo "$p $(awk '{print $14+$15}' /proc/$p/stat)"
  done
  sleep 0.3; done ) > /tmp/pgseed/srv_$name.txt &
mon=$!
start=$(date +%s.%N); l0=$(cut -d' ' -f1 /proc/loadavg)
/usr/bin/time -f "client %U user %S sys %M KB" ${KINERJACTL:-/tmp/pgseed/bin/kinerjactl} seed --store postgres --postgres-url "$url" --data /tmp/pgseed/data_$name --employees $n --year 2025 --sign-checkpoint=false "$@" >/dev/null 2>/tmp/pgseed/err_$name.txt
end=$(date +%s.%N); l1=$(cut -d' ' -f1 /proc/loadavg)
kill $mon
tk=$(getconf CLK_TCK)
srv=$(awk -v tk=$tk '{m[$1]=$2} END{s=0; for(p in m) s+=m[p]; printf "%.1f", s/tk}' /tmp/pgseed/srv_$name.txt)
echo "$name n=$n wall $(echo "$end - $start" | bc) s; server CPU ${srv} s; load $l0 -> $l1; $(grep -E 'events written|client' /tmp/pgseed/err_$name.txt | tr '\n' ' ')"
