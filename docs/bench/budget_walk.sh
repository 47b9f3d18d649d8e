#!/usr/bin/env bash
# The page budget walk (issue 13, adapters/web/budget_test.go) with its
# figures summarised: run from the repository root.
#
#   ROUNDS=20 OUT=/tmp/budgetwalk/r20a bash docs/bench/budget_walk.sh
#   bash docs/bench/budget_walk.sh summarise /tmp/budgetwalk/r20a.log   # an earlier run's log
#
# It builds the test binary, runs TestPageBudget under /usr/bin/time -v
# (the process's CPU and peak RSS), samples the load average every 15 s
# beside it, and prints the largest pages by bytes, by wall p95 and by CPU
# p95, and the pages of PAGES (a regexp of patterns; default the ten
# routes the walk first opened on branch budgetwalk).
set -euo pipefail

PAGES=${PAGES:-'rencana/rhk/\{rhk\}|rencana/indikator|umpan-balik-360/\{round\}|tindakan/\{action\}|minta-keterangan|keberatan/putusan|impor/\{id\}|verify|justifikasi'}

summarise() {
	local log=$1
	# A page line: "  PATTERN  BYTES B  first F ms  p95 P ms  max M ms  cpu p50 C ms  cpu p95 D ms  (URL)".
	local rows
	rows=$(sed -nE 's/^ +(GET .*[^ ]) +([0-9]+) B +first +([0-9.]+) ms +p95 +([0-9.]+) ms +max +([0-9.]+) ms +cpu p50 +([0-9.]+) ms +cpu p95 +([0-9.]+) ms.*/\2\t\3\t\4\t\5\t\6\t\7\t\1/p' "$log")
	echo "pages: $(printf '%s\n' "$rows" | grep -c .)  (bytes, first, wall p95, max, cpu p50, cpu p95 in ms, pattern)"
	echo "-- largest by bytes"
	printf '%s\n' "$rows" | sort -t$'\t' -k1,1nr | head -5
	echo "-- largest by wall p95"
	printf '%s\n' "$rows" | sort -t$'\t' -k3,3gr | head -5
	echo "-- largest by CPU p95"
	printf '%s\n' "$rows" | sort -t$'\t' -k6,6gr | head -5
	echo "-- pages matching PAGES"
	printf '%s\n' "$rows" | grep -E "$PAGES" || true
	echo "-- over 100 ms wall p95: $(printf '%s\n' "$rows" | awk -F'\t' '$3 > 100' | wc -l); over 100 ms CPU p95: $(printf '%s\n' "$rows" | awk -F'\t' '$6 > 100' | wc -l); over 300 KB: $(printf '%s\n' "$rows" | awk -F'\t' '$1 > 307200' | wc -l)"
	grep -E '^(--- |ok|FAIL|PASS)' "$log" || true
}

if [[ ${1:-} == summarise ]]; then
	summarise "$2"
	exit 0
fi

ROUNDS=${ROUNDS:-20}
OUT=${OUT:-/tmp/budgetwalk/run}
mkdir -p "$(dirname "$OUT")"
go test -c -o "$OUT.test" ./adapters/web/
(while :; do echo "$(date -u +%H:%M:%S) $(cut -d' ' -f1-3 /proc/loadavg)"; sleep 15; done) >"$OUT.load" &
sampler=$!
trap 'kill $sampler 2>/dev/null || true' EXIT
(cd adapters/web && KINERJA_BUDGET_ROUNDS=$ROUNDS /usr/bin/time -v "$OUT.test" -test.count=1 -test.timeout 40m \
	-test.run 'TestPageBudget$' -test.v >"$OUT.log" 2>"$OUT.time") || true
grep -E 'Elapsed|User time|System time|Maximum resident' "$OUT.time"
echo "load average (1, 5, 15 min) from $(head -1 "$OUT.load") to $(tail -1 "$OUT.load")"
summarise "$OUT.log"
