#!/bin/bash
# Start-up of embedded kinerjad, as §22 and §27 measure it: usage: measure.sh BIN DATA PORT LABEL [extra kinerjad args]; leaves kinerjad running, pid in ${OUT_DIR:-/tmp/startup}/LABEL.pid
BIN=$1; DATA=$2; PORT=$3; LABEL=$4; shift 4
OUT=${OUT_DIR:-/tmp/startup}/$LABEL; mkdir -p "$(dirname "$OUT")"
uptime > $OUT.uptime
start=$(date +%s.%N)
$BIN --data $DATA --listen 127.0.0.1:$PORT --debug-addr 127.0.0.1:$((PORT+1)) "$@" > $OUT.log 2>&1 &
pid=$!
echo $pid > $OUT.pid
peak=0
while kill -0 $pid 2>/dev/null; do
  rss=$(ps -o rss= -p $pid | tr -d ' ')
  [ -n "$rss" ] && [ "$rss" -gt "$peak" ] && peak=$rss
  code=$(curl -s -o $OUT.readyz -w '%{http_code}' http://127.0.0.1:$PORT/readyz 2>/dev/null)
  if [ "$code" = 200 ]; then
    now=$(date +%s.%N)
    echo "ready_wall_s=$(echo "$now - $start" | bc) cpu=$(ps -o time= -p $pid) peak_rss_kb=$peak rss_now_kb=$rss" > $OUT.result
    break
  fi
  sleep 0.2
done
uptime >> $OUT.uptime
# keep sampling peak for 20 s after ready
for i in $(seq 1 100); do
  rss=$(ps -o rss= -p $pid | tr -d ' '); [ -n "$rss" ] && [ "$rss" -gt "$peak" ] && peak=$rss; sleep 0.2
done
echo "peak_rss_kb_20s_after=$peak cpu_20s_after=$(ps -o time= -p $pid)" >> $OUT.result
cat $OUT.result
