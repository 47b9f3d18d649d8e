#!/usr/bin/env bash
# The real PostgreSQL projection rebuild (`kinerjactl projections rebuild`),
# timed with the CPU of both sides: the client (/usr/bin/time, children
# included) and the PostgreSQL backends of the database (/proc/PID/stat of
# every client backend and parallel worker of DB, sampled every 50 ms while
# the command runs, each new one counted from its start; at most 50 ms per
# backend is missed at its end). docs/benchmarks.md §26, §41.
#
#   createdb -h 127.0.0.1 -U postgres pgrebuild_db
#   DB=pgrebuild_db bash docs/bench/rebuild_ab.sh seed 7000         # ≈ 241,000 events
#   DB=pgrebuild_db bash docs/bench/rebuild_ab.sh seven /tmp/kinerjactl-main before
#   DB=pgrebuild_db bash docs/bench/rebuild_ab.sh all   /tmp/kinerjactl-branch after
#   DB=pgrebuild_db bash docs/bench/rebuild_ab.sh one   /tmp/kinerjactl-main before skps
#   DB=rebuild_bench bash docs/bench/rebuild_ab.sh seedm /tmp/kinerjactl-branch 20000 seed20k
#   DB=rebuild_bench bash docs/bench/rebuild_ab.sh all   /tmp/kinerjactl-branch covered
#   DB=rebuild_bench bash docs/bench/rebuild_ab.sh all   /tmp/kinerjactl-branch verified --cover=false
#   DB=rebuild_a bash docs/bench/rebuild_ab.sh ab /tmp/kinerjactl-main /tmp/kinerjactl-branch 3   # §41
#
# seven: the seven projections as main can rebuild them, one process each,
# concurrently; all: `projections rebuild all`, one process, one read;
# one: a single projection; ab: `all` of two builds alternated, ROUNDS
# rounds (A1 B1 A2 B2 …: the load falls on both alike); seedm: the seed itself, measured (into an empty
# database; it signs and witnesses a checkpoint in $WORK/data, which
# `rebuild` then reads under unless --cover=false is given after LABEL).
set -euo pipefail
DB=${DB:-pgrebuild_db}
WORK=${WORK:-/tmp/pgrebuild}
URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
mkdir -p "$WORK"
flags=(--store postgres --postgres-url "$URL" --data "$WORK/data")

# backends DB: the pids of the database's client backends and parallel
# workers (a parallel index build's or query's workers are processes of
# their own, and did not count before §41).
backends() {
  psql -h 127.0.0.1 -U postgres -d postgres -Atc "SELECT pid FROM pg_stat_activity WHERE datname = '$DB' AND pid <> pg_backend_pid() AND backend_type IN ('client backend', 'parallel worker')" 2> /dev/null
}

measure() { # LABEL COMMAND...
  local label=$1; shift
  local cmd=("$@") # the loops below reuse the positional parameters (set -- of /proc/PID/stat)
  declare -A first last
  local up; up=$(cut -d' ' -f1-3 /proc/loadavg)
  # Backends that exist before the command count from now; those it starts
  # count from their start (0), not from when the sampling first sees them.
  for p in $(backends); do
    local s; s=$(cat /proc/$p/stat 2> /dev/null) || continue
    s=${s##*) }; set -- $s
    first[$p]=$(( ${12} + ${13} )); last[$p]=${first[$p]}
  done
  /usr/bin/time -f '%U %S %e' -o "$WORK/time.$$" "${cmd[@]}" > "$WORK/out.$$" 2> "$WORK/err.$$" &
  local pid=$!
  while kill -0 $pid 2> /dev/null; do
    for p in $(backends); do
      local s; s=$(cat /proc/$p/stat 2> /dev/null) || continue
      s=${s##*) }; set -- $s
      local t=$(( ${12} + ${13} ))
      [ -z "${first[$p]:-}" ] && first[$p]=0
      last[$p]=$t
    done
    sleep 0.05
  done
  local rc=0; wait $pid || rc=$?
  local srv=0; for p in "${!last[@]}"; do srv=$(( srv + last[$p] - first[$p] )); done
  local u s e; read -r u s e < "$WORK/time.$$"
  echo "$label rc=$rc wall=${e}s client_cpu=$(echo "$u + $s" | bc)s server_cpu=$(echo "scale=2; $srv / 100" | bc)s load_before=[$up] load_after=[$(cut -d' ' -f1-3 /proc/loadavg)]"
  [ $rc -eq 0 ] || tail -5 "$WORK/err.$$"
  rm -f "$WORK/time.$$" "$WORK/out.$$" "$WORK/err.$$"
}

seven() { # BINARY
  local pids=()
  for n in audit directory skps evaluations scores objections timeline; do
    "$1" projections rebuild $n "${flags[@]}" > "$WORK/seven.$n.out" 2>&1 & pids+=($!)
  done
  local rc=0; for p in "${pids[@]}"; do wait $p || rc=1; done
  return $rc
}

case ${1:-} in
  seed) go run ./cmd/kinerjactl seed --employees "${2:-7000}" "${flags[@]}" ;;
  seven) export -f seven; export WORK; measure "$3" bash -c "$(declare -p flags); seven $2" ;;
  seedm) measure "$4" "$2" seed --employees "$3" "${flags[@]}" ;;
  all) measure "$3" "$2" projections rebuild all "${flags[@]}" "${@:4}" ;;
  one) measure "$3" "$2" projections rebuild "$4" "${flags[@]}" ;;
  ab) for r in $(seq "${4:-3}"); do
        measure "A$r" "$2" projections rebuild all "${flags[@]}"
        measure "B$r" "$3" projections rebuild all "${flags[@]}"
      done ;;
  *) echo "usage: $0 seed [EMPLOYEES] | seedm BINARY EMPLOYEES LABEL | seven|all BINARY LABEL [FLAGS] | one BINARY LABEL NAME | ab BINARY_A BINARY_B [ROUNDS]" >&2; exit 2 ;;
esac
