#!/usr/bin/env bash
# Delta restore benchmark: after a full backup of N books and a 1% change (demo mutate --update
# N/100), the source is stopped and restored back to the backup in place with `restore --delta`,
# against a full restore of the same backup into a new directory. Prints time and bytes written
# side by side (medians and raw runs), proves the delta-restored source by its content checksum,
# and says whether the goal (delta <= 0.3 of the full restore's time) is met.
#
#   bench/delta.sh [--rows N] [--runs N] [--port P] [--workdir DIR]
#
# Environment: ROWS (1000000), RUNS (1), PORT (57400; must lie in 57400-57499), PG_VERSION (17),
# WORKDIR (new dir under /tmp; must be absent or empty, and is removed at the end).
#
# Both restores: files only (no --start), zstd objects, --jobs 2 (the default); wall clock of the
# command with the JVM's start included. The full restore runs first, so both find the repository
# in the page cache; the delta also reads the whole data directory (to compare it).
set -euo pipefail
shopt -s inherit_errexit

rows=${ROWS:-1000000} runs=${RUNS:-1} port=${PORT:-57400} pg_version=${PG_VERSION:-17} work=${WORKDIR:-}
. "$(dirname "$0")/lib.sh"
parse_args 2,15 "$@"
if [ "$port" -lt 57400 ] || [ "$port" -gt 57499 ]; then
  echo "error: port $port must lie in 57400-57499 (other ports belong to other work)" >&2; exit 2
fi
pgstrata="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/pgstrata"
for c in psql jq; do
  command -v "$c" >/dev/null || { echo "error: $c is missing; apt-get install -y ${c/psql/postgresql-client}" >&2; exit 1; }
done

make_work deltabench
log=$work/commands.log src=$work/source repo=$work/repo

cleanup() {
  local rc=$?
  set +e
  [ "$rc" -ne 0 ] && [ -f "$log" ] && { echo "--- failed (exit $rc); last lines of $log:" >&2; tail -n 15 "$log" >&2; }
  [ -f "$src/postmaster.pid" ] && "$pgstrata" cluster stop -q --pgdata "$src" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "error: line $LINENO: $BASH_COMMAND failed" >&2' ERR

restore() {   # dir [--delta]: files only. Sets wall files full written.
  local t0=$EPOCHREALTIME out
  out=$("$pgstrata" restore -q --json --repo "$repo" --to "$@" 2>>"$log")
  wall=$(calc "$EPOCHREALTIME - $t0")
  echo "$out" >>"$log"
  full=$(jq -r .bytes <<<"$out") files=$(jq -r '.filesSeconds * 1000 | round / 1000' <<<"$out")
  written=$(jq -r 'if .delta then .delta.bytesWritten else .bytes end' <<<"$out")
}

echo "building pgstrata (this tree) ..."; "$pgstrata" --version
"$pgstrata" cluster init -q --pgdata "$src" --port "$port" --pg-version "$pg_version" >>"$log" 2>&1
echo "work dir $work; PostgreSQL $pg_version on port $port; $rows rows; change: $((rows / 100)) updates (1%); $runs runs"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

declare -a f_wall d_wall f_files d_files f_bytes d_bytes raw
for r in $(seq "$runs"); do
  echo "run $r/$runs ..."
  "$pgstrata" cluster start -q --pgdata "$src" >>"$log" 2>&1
  sql "DROP TABLE IF EXISTS books" >/dev/null
  "$pgstrata" demo init -q -p "$port" >>"$log" 2>&1
  "$pgstrata" demo populate -q "$rows" -p "$port" >>"$log" 2>&1
  sql "VACUUM ANALYZE" >/dev/null; sql "CHECKPOINT" >/dev/null
  rm -rf "$repo"
  "$pgstrata" backup -q --repo "$repo" --pgdata "$src" -p "$port" --type full >>"$log" 2>&1
  at_backup=$(checksum "$port")
  "$pgstrata" demo mutate -q --update "$((rows / 100))" --seed "$r" -p "$port" >>"$log" 2>&1
  sql "CHECKPOINT" >/dev/null
  changed=$(checksum "$port")
  "$pgstrata" cluster stop -q --pgdata "$src" >>"$log" 2>&1

  restore "$work/full"; f_wall+=("$wall") f_files+=("$files") f_bytes+=("$written")
  rm -rf "$work/full"
  restore "$src" --delta; d_wall+=("$wall") d_files+=("$files") d_bytes+=("$written")

  # The proof: the source, started again, holds the backup's content, not the change.
  "$pgstrata" cluster start -q --pgdata "$src" >>"$log" 2>&1
  now=$(checksum "$port")
  [ "$now" = "$at_backup" ] && [ "$now" != "$changed" ] \
    || { echo "error: after restore --delta the content is $now, the backup's was $at_backup (changed: $changed)" >&2; exit 1; }
  raw+=("run $r: full restore ${f_wall[-1]} s (files ${f_files[-1]} s), ${f_bytes[-1]} B written; delta ${d_wall[-1]} s (files ${d_files[-1]} s), ${d_bytes[-1]} B written; content proven")
done
"$pgstrata" cluster stop -q --pgdata "$src" >>"$log" 2>&1

m() { median "$@"; }
mf=$(m "${f_wall[@]}") md=$(m "${d_wall[@]}") mff=$(m "${f_files[@]}") mdf=$(m "${d_files[@]}") mfb=$(m "${f_bytes[@]}") mdb=$(m "${d_bytes[@]}")
echo
echo "raw runs:"; printf '  %s\n' "${raw[@]}"
echo
echo "Load average (1/5/15 min) of this $(nproc)-core machine: $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end."
row() { printf '  %-32s %16s %16s   %s\n' "$@"; }
echo "Medians over $runs runs (PostgreSQL $pg_version, $rows rows, 1% updated)"
row "measure" "full restore" "restore --delta" "delta / full"
row "time, s (wall clock)" "$mf" "$md" "$(calc "$md / $mf")"
row "files phase, s (start-up excluded)" "$mff" "$mdf" "$(calc "$mdf / $mff")"
row "bytes written" "$mfb" "$mdb" "$(calc "$mdb / $mfb")"
echo
echo "Goal (medians)"
printf '  %-6s restore --delta <= 0.3 of a full restore'"'"'s time: %s s vs %s s\n' "$(verdict "$md <= 0.3 * $mf")" "$md" "$mf"
