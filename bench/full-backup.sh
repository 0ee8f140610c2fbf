#!/usr/bin/env bash
# Full backup benchmark: pgstrata against pg_basebackup on the same throwaway cluster.
#
#   bench/full-backup.sh [--rows N] [--runs N] [--workdir DIR] [--port P] [--pg-version MAJOR]
#
# The same settings come from the environment: ROWS (default 1000000), RUNS (3), WORKDIR
# (a new directory under /tmp), PORT (55432; the restored cluster uses PORT+1), PG_VERSION
# (default: the major of the pg_basebackup on PATH). WORKDIR must not exist yet: it is removed
# at the end, so the script refuses to take over a directory that holds anything else.
set -euo pipefail

rows=${ROWS:-1000000} runs=${RUNS:-3} work=${WORKDIR:-} port=${PORT:-55432} pg_version=${PG_VERSION:-}
while [ $# -gt 0 ]; do
  case $1 in
    --rows) rows=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --workdir) work=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --pg-version) pg_version=$2; shift 2 ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
restore_port=$((port + 1))
pgstrata="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/pgstrata"

# pg_basebackup is the yardstick; the bundled PostgreSQL has no client programs.
if ! command -v pg_basebackup >/dev/null || ! command -v psql >/dev/null; then
  echo "error: pg_basebackup and psql are needed; install them with: apt-get install postgresql-client" >&2
  exit 1
fi
bb_major=$(pg_basebackup --version | awk '{print $3}' | cut -d. -f1)
if [ "$bb_major" -lt 15 ]; then   # --compress=client-zstd and pg_backup_start arrived in 15
  echo "error: pg_basebackup $bb_major is too old; install PostgreSQL 15 or later client programs" >&2
  exit 1
fi
# pg_basebackup refuses a server newer than itself ("incompatible server version"), so the
# cluster runs the client's major unless told otherwise; bundled majors are 15 to 18.
if [ -z "$pg_version" ]; then
  pg_version=$bb_major
  [ "$pg_version" -gt 18 ] && pg_version=18
fi
if [ "$pg_version" -gt "$bb_major" ]; then
  echo "error: pg_basebackup $bb_major cannot back up a PostgreSQL $pg_version server; use --pg-version $bb_major" >&2
  exit 1
fi

if [ -z "$work" ]; then
  work=$(mktemp -d /tmp/pgstrata-bench.XXXXXX)
elif [ -e "$work" ]; then
  echo "error: $work exists; give a directory that does not exist yet (it is deleted at the end)" >&2
  exit 1
else
  mkdir -p "$work"
fi
log="$work/commands.log"   # progress output of every command, shown if something fails
src="$work/source"
running=()                 # data directories of clusters this script started

cleanup() {
  local rc=$?
  [ "$rc" -ne 0 ] && [ -f "$log" ] && { echo "--- failed (exit $rc); last lines of the log:" >&2; tail -n 20 "$log" >&2; }
  for d in ${running[@]+"${running[@]}"}; do
    "$pgstrata" cluster stop -q --pgdata "$d" >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
json() { jq -r ".$1" <<<"$2"; }
secs() { printf '%.3f' "$(json "$1" "$2")"; }   # a JSON duration, to the millisecond
# median FORMAT VALUE...: the middle value, or the mean of the two middle ones
median() {
  local fmt=$1; shift
  printf '%s\n' "$@" | sort -g | awk -v f="$fmt" '{ v[NR] = $1 } END { printf f, (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
psql_src() { psql -X -At -h 127.0.0.1 -p "$port" -U postgres -d postgres -c "$1"; }

# Build before anything is timed, so no run pays for Maven.
"$pgstrata" --help >/dev/null 2>>"$log"

echo "work dir $work; PostgreSQL $pg_version on port $port; pg_basebackup $bb_major; $rows rows; $runs runs"
"$pgstrata" cluster init -q --pgdata "$src" --port "$port" --pg-version "$pg_version" --start >>"$log" 2>&1
running+=("$src")
"$pgstrata" demo init -q -p "$port" >>"$log" 2>&1
populate_out=$("$pgstrata" demo populate "$rows" --batch-size 10000 -p "$port" 2>>"$log")
echo "$populate_out"
populate_rate=$(sed -n 's/.*(\([0-9.]*\) rows\/s).*/\1/p' <<<"$populate_out")

# Settle the cluster before timing: without this, autovacuum (triggered by the inserts) and the
# first checkpoint after the load would land inside whichever backup happens to run first. (demo
# populate has run VACUUM (FREEZE, ANALYZE) books already; this VACUUM covers the catalogs too.)
psql_src "VACUUM ANALYZE" >/dev/null
psql_src "CHECKPOINT" >/dev/null
db_bytes=$(psql_src "SELECT pg_database_size(current_database())")
source_hash=$(json combined "$("$pgstrata" demo checksum -p "$port" --json 2>>"$log")")

# Both tools take a fast checkpoint (pgstrata: pg_backup_start(fast => true); pg_basebackup:
# -c fast) and both keep the WAL from start to stop inside the backup (pgstrata always;
# pg_basebackup: -X fetch), so each backup restores on its own. Both use zstd level 3 and
# fsync their output. Runs alternate which tool goes first, so neither always gets the
# warmer cache or the checkpoint the other one left behind.
pgstrata_backup() {
  local t0; t0=$(now)
  local out; out=$("$pgstrata" backup --repo "$repo" --pgdata "$src" --type full --json -p "$port" 2>>"$log")
  s_wall+=("$(elapsed "$t0")")
  s_sec+=("$(secs seconds "$out")") s_repo+=("$(json repositoryBytes "$out")") s_du+=("$(du -sb "$repo" | cut -f1)")
}
basebackup() {
  local t0; t0=$(now)
  pg_basebackup -D "$bb" -Ft --compress=client-zstd -X fetch -c fast -h 127.0.0.1 -p "$port" -U postgres 2>>"$log"
  b_wall+=("$(elapsed "$t0")") b_du+=("$(du -sb "$bb" | cut -f1)")
}

declare -a s_wall s_sec s_repo s_du r_files r_ready b_wall b_du
restores_ok=yes
for i in $(seq 1 "$runs"); do
  repo="$work/repo-$i" bb="$work/basebackup-$i"

  if [ $((i % 2)) -eq 1 ]; then pgstrata_backup; basebackup; else basebackup; pgstrata_backup; fi

  # Restore, files only: the time until the data directory is complete on disk.
  out=$("$pgstrata" restore --repo "$repo" --to "$work/restore-$i" --json 2>>"$log")
  r_files+=("$(secs filesSeconds "$out")")
  rm -rf "$work/restore-$i"

  # Restore and start: the time until the restored server accepts read-write connections.
  running+=("$work/ready-$i")
  out=$("$pgstrata" restore --repo "$repo" --to "$work/ready-$i" --start --port "$restore_port" --json 2>>"$log")
  r_ready+=("$(secs readySeconds "$out")")
  # A fast backup is worth nothing if the copy is wrong: compare the content with the source.
  [ "$(json combined "$("$pgstrata" demo checksum -p "$restore_port" --json 2>>"$log")")" = "$source_hash" ] || restores_ok=no
  "$pgstrata" cluster stop -q --pgdata "$work/ready-$i" >>"$log" 2>&1

  echo "run $i: pgstrata ${s_wall[-1]} s wall (${s_sec[-1]} s in-process), ${s_du[-1]} B;" \
       "pg_basebackup ${b_wall[-1]} s, ${b_du[-1]} B; restore ${r_files[-1]} s files, ${r_ready[-1]} s ready"
  rm -rf "$repo" "$bb" "$work/ready-$i"
done

s_wall_m=$(median %.3f "${s_wall[@]}") s_sec_m=$(median %.3f "${s_sec[@]}") b_wall_m=$(median %.3f "${b_wall[@]}")
s_repo_m=$(median %.0f "${s_repo[@]}") s_du_m=$(median %.0f "${s_du[@]}") b_du_m=$(median %.0f "${b_du[@]}")

echo
echo "Medians over $runs runs (PostgreSQL $pg_version, $rows rows)"
row() { printf '  %-46s %14s   %s\n' "$1" "$2" "$3"; }
row "measure" "median" "all runs"
row "database size (pg_database_size)" "$db_bytes" ""
row "populate rows/s (measured once)" "$populate_rate" ""
row "pgstrata full backup, s (wall clock)" "$s_wall_m" "${s_wall[*]}"
row "pgstrata full backup, s (JSON 'seconds')" "$s_sec_m" "${s_sec[*]}"
row "pgstrata full backup, B (JSON repositoryBytes)" "$s_repo_m" "${s_repo[*]}"
row "pgstrata full backup, B (du -sb of repository)" "$s_du_m" "${s_du[*]}"
row "pgstrata restore, s (files only)" "$(median %.3f "${r_files[@]}")" "${r_files[*]}"
row "pgstrata restore, s (until ready, incl. files)" "$(median %.3f "${r_ready[@]}")" "${r_ready[*]}"
row "pg_basebackup, s (wall clock)" "$b_wall_m" "${b_wall[*]}"
row "pg_basebackup, B (du -sb of output)" "$b_du_m" "${b_du[*]}"
row "restored content equals source (every run)" "$restores_ok" ""

# Goals. Times are compared wall clock to wall clock (JVM start included: the user waits for it),
# sizes du -sb to du -sb (both include their manifests).
verdict() { if awk "BEGIN { exit !($1) }"; then echo PASS; else echo FAIL; fi; }
echo
echo "Goals"
printf '  %-4s backup time <= pg_basebackup (%s s vs %s s) at equal or smaller size (%s B vs %s B)\n' \
  "$(verdict "$s_wall_m <= $b_wall_m && $s_du_m <= $b_du_m")" "$s_wall_m" "$b_wall_m" "$s_du_m" "$b_du_m"
printf '  %-4s populate >= 200000 rows/s (%s)\n' "$(verdict "${populate_rate:-0} >= 200000")" "$populate_rate"
