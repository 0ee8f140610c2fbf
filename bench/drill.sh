#!/usr/bin/env bash
# Restore drill benchmark (issue 18): the price of the proof. On one throwaway cluster of settled
# books, one full backup; then, per run, a plain `restore --start` (files written, server started,
# recovery to the backup's consistency point, read-write) and its stop, against `drill` of the same
# backup (the same restore and start on a socket of its own, then amcheck on every heap and index
# of every database and every table read to its last row, the copy stopped and removed, the
# result recorded in the repository). Prints medians, raw runs, and the drill's time over the
# plain restore's, with what the drill read. The plain copy is stopped with a fast shutdown (its
# checkpoint included); the drill stops its copy immediately (SIGQUIT), as it is removed anyway.
#
#   bench/drill.sh [--rows N] [--runs N] [--port P] [--workdir DIR]
#
# Environment: ROWS (1000000), RUNS (3), PORT (57360; the plain restore uses PORT+1; both in
# 57300-57399), PG_VERSION (17), WORKDIR (new dir under /tmp; must be absent or empty, and is
# removed at the end).
set -euo pipefail
shopt -s inherit_errexit

rows=${ROWS:-1000000} runs=${RUNS:-3} port=${PORT:-57360} pg_version=${PG_VERSION:-17} work=${WORKDIR:-}
. "$(dirname "$0")/lib.sh"
parse_args 2,13 "$@"
rport=$((port + 1))
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pgstrata=$root/pgstrata

make_work drillbench
log=$work/commands.log src=$work/source repo=$work/repo
cleanup() {
  local rc=$?
  set +e
  finish_work "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "error: line $LINENO: $BASH_COMMAND failed" >&2' ERR

echo "building pgstrata (launcher) ..."; "$pgstrata" --version
settled_books_cluster
"$pgstrata" backup -q --repo "$repo" --pgdata "$src" -p "$port" --type full >>"$log" 2>&1
# Warm-up, untimed: one of each.
"$pgstrata" restore -q --repo "$repo" --to "$work/restore-warm" --start --port "$rport" >>"$log" 2>&1
"$pgstrata" cluster stop -q --pgdata "$work/restore-warm" >>"$log" 2>&1; rm -rf "$work/restore-warm"
"$pgstrata" drill -q --repo "$repo" --scratch-dir "$work/scratch" >>"$log" 2>&1

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "work dir $work; PostgreSQL $pg_version on port $port; $runs runs"
echo "$populate_out; database $db_bytes B"
plain='' drill='' last=''
for i in $(seq "$runs"); do
  # Runs alternate which goes first, so neither always gets the warmer cache.
  for what in $( [ $((i % 2)) -eq 1 ] && echo "plain drill" || echo "drill plain" ); do
    t0=$EPOCHREALTIME
    if [ "$what" = plain ]; then
      "$pgstrata" restore -q --repo "$repo" --to "$work/restore-$i" --start --port "$rport" >>"$log" 2>&1
      "$pgstrata" cluster stop -q --pgdata "$work/restore-$i" >>"$log" 2>&1
      plain+=" $(calc "$EPOCHREALTIME - $t0")"
      rm -rf "$work/restore-$i"
    else
      last=$("$pgstrata" drill -q --json --repo "$repo" --scratch-dir "$work/scratch" 2>>"$log")
      drill+=" $(calc "$EPOCHREALTIME - $t0")"
      [ "$(jq -r .result <<<"$last")" = passed ] || { echo "error: run $i: the drill did not pass: $last" >&2; exit 1; }
    fi
  done
  echo "run $i: plain restore + start + stop ${plain##* } s, drill ${drill##* } s"
done

m() { printf "%.3f" "$(median $1)"; }
echo
echo "Medians of $runs run(s) (PostgreSQL $pg_version, $rows rows, database $db_bytes B); wall clock, JVM start included"
printf '  %-40s %8s   %s\n' "" "seconds" "all runs"
printf '  %-40s %8s   %s\n' "restore --start, then cluster stop" "$(m "$plain")" "${plain# }"
printf '  %-40s %8s   %s\n' "drill (restore, start, prove, remove)" "$(m "$drill")" "${drill# }"
echo "  The drill read $(jq -r .rows <<<"$last") rows ($(jq -r .bytesRead <<<"$last") bytes of table text) in $(jq -r .databases <<<"$last") databases and checked $(jq -r .relations <<<"$last") relations"
echo "  Load average (1/5/15 min) of this $(nproc)-core machine: $load_start before the runs, $(cut -d' ' -f1-3 /proc/loadavg) at the end."
echo
echo "The price of the proof: drill / plain restore = x$(calc "$(m "$drill") / $(m "$plain")") (+$(calc "$(m "$drill") - $(m "$plain")") s)"
