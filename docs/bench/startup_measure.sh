#!/bin/bash
# Start-up of embedded kinerjad, as §22 and §27 measure it: usage: measure.sh BIN DATA PORT LABEL [extra kinerjad args]; leaves kinerjad running, pid in ${OUT_DIR:-/tmp/startup}/LABEL.pid
# Polls /readyz and the RSS (ps -o rss=; RssAnon and RssFile from /proc/PID/status) every 0.2 s until ready,
# then samples the RSS for 20 s more, and (HISTORY=1) on until /readyz reports the background history check
# done ("ok" or "failed"): peak RSS during the check, its wall time and kinerjad's CPU at its end
# (cpu: ps -o time, 1 s resolution; cpu_s: /proc/PID/stat utime+stime, 10 ms).
BIN=$1; DATA=$2; PORT=$3; LABEL=$4; shift 4
OUT=${OUT_DIR:-/tmp/startup}/$LABEL; mkdir -p "$(dirname "$OUT")"
uptime > $OUT.uptime
start=$(date +%s.%N)
$BIN --data $DATA --listen 127.0.0.1:$PORT --debug-addr 127.0.0.1:$((PORT+1)) "$@" > $OUT.log 2>&1 &
pid=$!
echo $pid > $OUT.pid
peak=0; panon=0; pfile=0
# cpus: kinerjad's user+system CPU seconds from /proc/PID/stat (10 ms ticks; ps -o time rounds to 1 s)
cpus() { awk -v hz=$(getconf CLK_TCK) '{printf "%.2f", ($14+$15)/hz}' /proc/$pid/stat 2>/dev/null; }
sample() {
  rss=$(ps -o rss= -p $pid | tr -d ' ')
  [ -n "$rss" ] && [ "$rss" -gt "$peak" ] && peak=$rss
  read -r anon file < <(awk '/^RssAnon/{a=$2} /^RssFile/{f=$2} END{print a+0, f+0}' /proc/$pid/status 2>/dev/null)
  [ -n "$anon" ] && [ "$anon" -gt "$panon" ] && panon=$anon
  [ -n "$file" ] && [ "$file" -gt "$pfile" ] && pfile=$file
}
while kill -0 $pid 2>/dev/null; do
  sample
  code=$(curl -s -o $OUT.readyz -w '%{http_code}' http://127.0.0.1:$PORT/readyz 2>/dev/null)
  if [ "$code" = 200 ]; then
    now=$(date +%s.%N)
    echo "ready_wall_s=$(echo "$now - $start" | bc) cpu=$(ps -o time= -p $pid) cpu_s=$(cpus) peak_rss_kb=$peak peak_anon_kb=$panon peak_file_kb=$pfile rss_now_kb=$rss" > $OUT.result
    break
  fi
  sleep 0.2
done
uptime >> $OUT.uptime
ready=$(date +%s.%N)
# keep sampling peak for 20 s after ready
for i in $(seq 1 100); do
  sample; sleep 0.2
done
echo "peak_rss_kb_20s_after=$peak peak_anon_kb=$panon peak_file_kb=$pfile cpu_20s_after=$(ps -o time= -p $pid) cpu_s=$(cpus)" >> $OUT.result
if [ "${HISTORY:-0}" = 1 ]; then
  while kill -0 $pid 2>/dev/null; do
    sample
    st=$(curl -s http://127.0.0.1:$PORT/readyz | grep -o '"history_check":{"status":"[a-z]*"' | grep -o '[a-z]*"$' | tr -d '"')
    if [ "$st" = ok ] || [ "$st" = failed ] || [ -z "$st" ]; then
      now=$(date +%s.%N)
      echo "history_check=$st after_ready_s=$(echo "$now - $ready" | bc) peak_rss_kb=$peak peak_anon_kb=$panon peak_file_kb=$pfile rss_now_kb=$rss cpu=$(ps -o time= -p $pid) cpu_s=$(cpus)" >> $OUT.result
      break
    fi
    sleep 0.2
  done
  uptime >> $OUT.uptime
fi
cat $OUT.result
