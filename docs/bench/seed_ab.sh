#!/usr/bin/env bash
# seed_ab.sh: the seeder's CPU per event, two builds side by side (started
# together, so that both see the same machine and load), on bbolt or on
# PostgreSQL (a database of its own per build, PostgreSQL's backend CPU
# sampled from /proc). Prints, per build: events, seeding wall, client CPU
# (user + sys, /usr/bin/time), server CPU (PostgreSQL), µs per event, peak RSS.
#
#   bash docs/bench/seed_ab.sh bolt     A/kinerjactl B/kinerjactl 5000
#   bash docs/bench/seed_ab.sh postgres A/kinerjactl B/kinerjactl 3000
#
# Environment: WORK (default /tmp/seedcpu/ab), DB_PREFIX (default seedcpu_ab;
# databases DB_PREFIX_a and DB_PREFIX_b are dropped and created), PGHOST_URL
# (default postgres://postgres@127.0.0.1:5432), EXTRA (more seed flags, e.g.
# --sign-checkpoint=false; the PostgreSQL runs add it by default, so that
# the figure is the seeding's). Build each side with
# `go build -o DIR/ ./cmd/kinerjactl` at the commit compared.
set -euo pipefail
store=$1 a=$2 b=$3 n=$4
WORK=${WORK:-/tmp/seedcpu/ab}
DB_PREFIX=${DB_PREFIX:-seedcpu_ab}
PGHOST_URL=${PGHOST_URL:-postgres://postgres@127.0.0.1:5432}
mkdir -p "$WORK"
echo "start $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)"

# pgcpu DB OUT: the summed CPU ticks of DB's backends, max per pid seen.
pgcpu() {
	declare -A seen
	while true; do
		for p in $(psql -h 127.0.0.1 -U postgres -d postgres -tAc "select pid from pg_stat_activity where datname='$1'"); do
			t=$(awk '{print $14+$15}' /proc/$p/stat 2>/dev/null) || continue
			[ -n "$t" ] && seen[$p]=$t
		done
		s=0
		for v in "${seen[@]}"; do s=$((s + v)); done
		echo "$s" >"$2"
		sleep 2
	done
}

pids=() samplers=()
for side in a b; do
	bin=$a
	[ $side = b ] && bin=$b
	rm -rf "$WORK/$side"
	args=(seed --data "$WORK/$side" --employees "$n" --year 2025)
	if [ "$store" = postgres ]; then
		db=${DB_PREFIX}_$side
		dropdb -h 127.0.0.1 -U postgres --if-exists "$db"
		createdb -h 127.0.0.1 -U postgres "$db"
		args+=(--store postgres --postgres-url "$PGHOST_URL/$db?sslmode=disable" ${EXTRA:---sign-checkpoint=false})
		pgcpu "$db" "$WORK/$side.srv" &
		samplers+=($!)
	else
		args+=(${EXTRA:-})
	fi
	/usr/bin/time -v "$bin" "${args[@]}" >"$WORK/$side.out" 2>"$WORK/$side.err" &
	pids+=($!)
done
wait "${pids[@]}"
for p in "${samplers[@]}"; do kill "$p" 2>/dev/null || true; done
echo "end $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)"
for side in a b; do
	ev=$(sed -n 's/.*"Events": \([0-9]*\).*/\1/p' "$WORK/$side.out")
	cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$WORK/$side.err")
	rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$WORK/$side.err")
	# The seeding's wall time: "seed: N events written in Xs" (printed once the
	# events are written; "seeded … in Xs" is the whole command's, printed
	# last), or, from builds before it, "seeded … in Xs", printed then.
	wall=$(sed -n 's/^seed: [0-9]* events written in \([0-9.]*\)s$/\1/p' "$WORK/$side.err")
	[ -n "$wall" ] || wall=$(sed -n 's/^seeded .* in \([0-9.]*\)s$/\1/p' "$WORK/$side.err")
	srv=0
	[ -f "$WORK/$side.srv" ] && srv=$(awk '{printf "%.2f", $1/100}' "$WORK/$side.srv")
	awk -v s=$side -v ev="$ev" -v cpu="$cpu" -v srv="$srv" -v rss="$rss" -v wall="$wall" 'BEGIN {
		printf "%s: %d events, seeding %s s wall, client CPU %s s (%.1f µs/event), server CPU %s s (%.1f µs/event), peak RSS %d MB\n",
			s, ev, wall, cpu, 1e6*cpu/ev, srv, 1e6*srv/ev, rss/1024 }'
done
