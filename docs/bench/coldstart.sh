#!/usr/bin/env bash
# Cold (or warm) start of embedded kinerjad over a data directory: wall
# time to /readyz 200, CPU seconds (utime+stime of /proc/PID/stat) at that
# moment, and peak RSS (sampled every second with ps), with a watchdog
# that kills kinerjad above LIMIT_KB of RSS (default 8 GiB), or when the
# shared machine's MemAvailable falls below MIN_AVAIL_KB (default 1 GiB).
# usage: docs/bench/coldstart.sh KINERJAD DATA PORT LOG [kinerjad flags...]
# (issue 15, branch coldstart; docs/benchmarks.md "bounded cold start")
set -u
bin=$1 data=$2 port=$3 log=$4
shift 4
limit_kb=${LIMIT_KB:-8388608}
tck=$(getconf CLK_TCK)
start=$(date +%s.%N)
"$bin" --data "$data" --listen "127.0.0.1:$port" "$@" >"$log" 2>&1 &
pid=$!
peak=0 ready="" killed=""
while kill -0 "$pid" 2>/dev/null; do
  rss=$(ps -o rss= -p "$pid" 2>/dev/null | tr -d ' ')
  [ -n "$rss" ] && [ "$rss" -gt "$peak" ] && peak=$rss
  if [ -n "$rss" ] && [ "$rss" -gt "$limit_kb" ]; then
    killed="watchdog: RSS ${rss} kB > ${limit_kb} kB"
    kill -9 "$pid"
    break
  fi
  avail=$(awk '/MemAvailable/ {print $2}' /proc/meminfo)
  if [ "$avail" -lt "${MIN_AVAIL_KB:-1048576}" ]; then
    killed="machine guard: MemAvailable ${avail} kB with kinerjad at ${rss} kB (the machine is shared)"
    kill -9 "$pid"
    break
  fi
  if [ -z "$ready" ] && curl -fs -o /dev/null "http://127.0.0.1:$port/readyz"; then
    ready=$(echo "$(date +%s.%N) - $start" | bc)
    read -r -a st </proc/$pid/stat
    cpu=$(echo "(${st[13]} + ${st[14]}) / $tck" | bc -l)
    echo "ready_wall_s=$ready cpu_s_at_ready=$(printf %.1f "$cpu") rss_at_ready_kb=$rss peak_rss_kb_so_far=$peak load=\"$(cut -d' ' -f1-3 /proc/loadavg)\""
    break
  fi
  sleep 1
done
if [ -n "$ready" ] && [ "${KEEP:-0}" != 1 ]; then
  kill -TERM "$pid"
  while kill -0 "$pid" 2>/dev/null; do
    rss=$(ps -o rss= -p "$pid" 2>/dev/null | tr -d ' ')
    [ -n "$rss" ] && [ "$rss" -gt "$peak" ] && peak=$rss
    sleep 1
  done
fi
wait "$pid" 2>/dev/null
echo "peak_rss_kb=$peak ${killed} load_end=\"$(cut -d' ' -f1-3 /proc/loadavg)\""
