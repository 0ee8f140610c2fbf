#!/usr/bin/env bash
# What reading a segment's CREATE TABLESPACE records costs `wal get` (restore_command): the same
# archived segments fetched, in alternation, into a data directory's pg_wal (where wal get reads
# the records, to refuse one that would take another cluster's tablespace) and into a plain
# directory (where it does not). Segments of row-by-row inserts (INSERT ... SELECT, one record
# per row, about 170,000 records a segment): the most a scan has to walk. Each fetch is one process, with the JVM's start, as recovery runs it.
# Prints the median per segment of both, the difference, and the raw runs.
#
#   bench/wal-get-scan.sh [--runs N] [--port P] [--workdir DIR]
#
# Environment: RUNS (9: fetches of each segment each way), SEGMENTS (4), PORT (56070, in
# 56000-56100), WORKDIR (new dir under /tmp; absent or empty, removed at the end).
set -euo pipefail
shopt -s inherit_errexit
. "$(dirname "$0")/lib.sh"
runs=${RUNS:-9} segs=${SEGMENTS:-4} port=${PORT:-56070} work=${WORKDIR:-}
parse_args 2,12 "$@"
if [ "$port" -lt 56000 ] || [ "$port" -gt 56100 ]; then
  echo "error: port $port must lie in 56000-56100 (other ports belong to other work)" >&2; exit 2
fi
pgstrata="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/pgstrata"
make_work walgetbench
log=$work/commands.log src=$work/source repo=$work/repo
cleanup() {
  set +e
  [ -f "$src/postmaster.pid" ] && "$pgstrata" cluster stop --pgdata "$src" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "building pgstrata (launcher) ..."; "$pgstrata" --version
"$pgstrata" cluster init -q --pgdata "$src" --port "$port" --archive-to "$repo" --start >>"$log" 2>&1
sql "CREATE TABLE t (id int, v text)" >/dev/null
start_seg=$(sql "SELECT pg_walfile_name(pg_current_wal_lsn())")
while [ "$(sql "SELECT count(*) FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}\$' AND name > '$start_seg' AND name < pg_walfile_name(pg_current_wal_lsn())")" -lt "$segs" ]; do
  sql "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 300000) g" >/dev/null
done
mapfile -t names < <(sql "SELECT name FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}\$' AND name > '$start_seg' AND name < pg_walfile_name(pg_current_wal_lsn()) ORDER BY name" | head -n "$segs")
sql "SELECT pg_switch_wal()" >/dev/null
for _ in $(seq 600); do
  [ "$(sql "SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'")" = 0 ] && break
  sleep 0.1
done
"$pgstrata" cluster stop -q --pgdata "$src" >>"$log" 2>&1   # a quiet machine while measuring
mkdir -p "$work/datadir/pg_wal" "$work/plain/pg_wal"
cp "$src/PG_VERSION" "$work/datadir/"   # what makes wal get read the records: a data directory's pg_wal
echo "segments: ${names[0]} .. ${names[-1]} (${#names[@]} x 16 MiB), $runs fetches of each, each way"

declare -a scan_all plain_all
for n in "${names[@]}"; do
  scan=() plain=()
  for _ in $(seq "$runs"); do
    for where in datadir plain; do
      t0=$EPOCHREALTIME
      "$pgstrata" wal get --repo "$repo" "$n" "$work/$where/pg_wal/RECOVERYXLOG" 2>>"$log" \
        || { echo "error: wal get $n into $where failed" >&2; tail -3 "$log" >&2; exit 1; }
      t=$(calc "$EPOCHREALTIME - $t0")
      if [ "$where" = datadir ]; then scan+=("$t"); else plain+=("$t"); fi
    done
  done
  echo "  $n: with the scan $(median "${scan[@]}") s, without $(median "${plain[@]}") s   (runs: ${scan[*]} | ${plain[*]})"
  scan_all+=("${scan[@]}") plain_all+=("${plain[@]}")
done
ms=$(median "${scan_all[@]}") mp=$(median "${plain_all[@]}")
echo "wal get per segment, median of all: with the scan $ms s, without $mp s: +$(calc "$ms - $mp") s (x$(calc "$ms / $mp"))"
