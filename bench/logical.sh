#!/usr/bin/env bash
# Logical backup benchmark (issue 6): pgstrata's logical full and row-level differential against
# plain pg_dump, on one throwaway cluster and the very same change. The differential is measured
# against the original lab's differential (pg_dump -Fc --data-only of the whole database) and
# against pg_dump -F c of the whole database, all three on the same database state (right after
# the change); every differential is restored (full + diff) into a new database and proven by
# content. Prints medians, raw runs, and each goal of the issue as met/missed.
#
#   bench/logical.sh [--rows N] [--runs N] [--port P] [--workdir DIR]
#
# Environment: ROWS (1000000), RUNS (3), INSERT (10000), UPDATE (1000) and DELETE (1000) rows of
# the change, PORT (57200; must lie in 57200-57299), PG_VERSION (default: the major of the pg_dump
# on PATH, which must be at least the server's), WORKDIR (new dir under /tmp; must be absent or
# empty, and is removed at the end).
#
# Each run loads the table afresh (same content: populate's default seed), settles it (VACUUM
# ANALYZE + CHECKPOINT), takes a logical full into a new repository, makes the change (demo mutate,
# same seed every run, then CHECKPOINT), and then, in a rotating order: the logical differential,
# pg_dump -Fc --data-only and pg_dump -F c. Times are wall clock of the command (JVM start
# included for pgstrata). pgstrata and pg_dump use the same pg_dump binary; pgstrata compresses
# with zstd (level 3), pg_dump -Fc with its default (gzip, level 6).
set -euo pipefail
shopt -s inherit_errexit   # a failure inside $(...) ends the script too

rows=${ROWS:-1000000} runs=${RUNS:-3} ins=${INSERT:-10000} upd=${UPDATE:-1000} del=${DELETE:-1000}
port=${PORT:-57200} pg_version=${PG_VERSION:-} work=${WORKDIR:-}
. "$(dirname "$0")/lib.sh"
parse_args 2,21 "$@"
if [ "$port" -lt 57200 ] || [ "$port" -gt 57299 ]; then
  echo "error: port $port must lie in 57200-57299 (other ports belong to other work)" >&2; exit 2
fi
pgstrata="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/pgstrata"

for c in psql pg_dump pg_restore jq; do
  command -v "$c" >/dev/null || { echo "error: $c is missing; apt-get install -y $([ "$c" = jq ] && echo jq || echo postgresql-client)" >&2; exit 1; }
done
# pg_dump refuses a server newer than itself, so the cluster runs pg_dump's major unless told
# otherwise (bundled majors: 15 to 18). pgstrata is given the same binaries (--pg-bin).
pg_bin=$(dirname "$(command -v pg_dump)")
dump_version=$(pg_dump --version | awk '{print $3}') dump_major=${dump_version%%.*}
if [ -z "$pg_version" ]; then
  pg_version=$dump_major
  [ "$pg_version" -gt 18 ] && pg_version=18
fi
if [ "$pg_version" -lt 15 ] || [ "$pg_version" -gt 18 ]; then
  echo "error: PostgreSQL $pg_version is not bundled (15 to 18); install pg_dump 15 or later, or set PG_VERSION" >&2; exit 1
fi
if [ "$pg_version" -gt "$dump_major" ]; then
  echo "error: pg_dump $dump_major cannot dump a PostgreSQL $pg_version server; use PG_VERSION=$dump_major" >&2; exit 1
fi

make_work logbench
log=$work/commands.log src=$work/source

cleanup() {   # everything this script started, and nothing else
  local rc=$?
  set +e
  [ "$rc" -ne 0 ] && [ -f "$log" ] && { echo "--- failed (exit $rc); last lines of $log:" >&2; tail -n 15 "$log" >&2; }
  [ -f "$src/postmaster.pid" ] && "$pgstrata" cluster stop -q --pgdata "$src" >/dev/null 2>&1
  rm -rf "$work"   # also holds the repositories and pg_dump's files
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "error: line $LINENO: $BASH_COMMAND failed" >&2' ERR


export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres   # for pg_dump
sqldb() { PGOPTIONS="-c client_min_messages=warning" psql -d "$1" -X -At -v ON_ERROR_STOP=1 -c "$2"; }

# One logical backup: wall clock and the JSON result. Sets: wall sec bytes dump id du.
l_backup() {   # type repo
  local t0=$EPOCHREALTIME out
  out=$("$pgstrata" backup --logical --repo "$2" --type "$1" -p "$port" -d postgres --pg-bin "$pg_bin" --json 2>>"$log")
  wall=$(calc "$EPOCHREALTIME - $t0")
  echo "$out" >>"$log"
  [ "$(jq -r .type <<<"$out")" = "logical-$1" ] || { echo "error: asked for a logical $1 backup, got: $out" >&2; exit 1; }
  if [ "$1" = diff ] && [ "$(jq -r '.wholeTables | length' <<<"$out")" -ne 0 ]; then
    echo "error: the differential stored tables whole: $(jq -c .wholeTables <<<"$out")" >&2; exit 1
  fi
  sec=$(jq -r '.seconds * 1000 | round / 1000' <<<"$out") bytes=$(jq -r .repositoryBytes <<<"$out")
  dump=$(jq -r .dumpBytes <<<"$out") id=$(jq -r .id <<<"$out")
  du=$(du -sb "$2/logical/$id" | cut -f1)
  rows_changed=$(jq -r '"\(.changedRows) changed, \(.deletedRows) deleted"' <<<"$out")
}
# One pg_dump of the database into a file: wall clock and the file's size. Sets: wall bytes.
dump() {   # file pg_dump-options...
  local t0=$EPOCHREALTIME f=$1; shift
  pg_dump -d postgres "$@" -f "$f" 2>>"$log"
  wall=$(calc "$EPOCHREALTIME - $t0") bytes=$(stat -c %s "$f")
  rm -f "$f"
}
# Restore the differential (its full + the rows changed) into a new database, compare its content
# and the table's identity sequence with the source's, drop it. Sets: wall sec ok.
l_prove() {   # repo id
  local t0=$EPOCHREALTIME out seq_src seq_dst
  out=$("$pgstrata" restore --logical --repo "$1" --backup "$2" --to-db bench_restored --port "$port" --pg-bin "$pg_bin" --json 2>>"$log")
  wall=$(calc "$EPOCHREALTIME - $t0")
  echo "$out" >>"$log"
  sec=$(jq -r '.seconds * 1000 | round / 1000' <<<"$out")
  [ "$(jq -r '.chain | length' <<<"$out")" -eq 2 ] || { echo "error: restoring $2 read $(jq -c .chain <<<"$out"), not full + diff" >&2; exit 1; }
  h_src=$(checksum "$port" postgres) h_dst=$(checksum "$port" bench_restored)
  seq_src=$(sqldb postgres "SELECT last_value, is_called FROM books_id_seq")
  seq_dst=$(sqldb bench_restored "SELECT last_value, is_called FROM books_id_seq")
  if [ -n "$h_src" ] && [ "$h_src" = "$h_dst" ] && [ "$seq_src" = "$seq_dst" ]; then ok=yes; else ok=no; fi
  if [ "$ok" = no ]; then
    echo "error: the restored differential $2 differs from the source:" >&2
    echo "  combined hash: source $h_src, restored $h_dst; books_id_seq: source $seq_src, restored $seq_dst" >&2
    exit 1
  fi
  sql "DROP DATABASE bench_restored" >/dev/null
}
# A freshly loaded, settled table: the same content (populate's default seed) in every run.
load() {
  sql "DROP TABLE IF EXISTS books" >/dev/null
  "$pgstrata" demo init -q -p "$port" >>"$log" 2>&1
  "$pgstrata" demo populate -q "$rows" -p "$port" >>"$log" 2>&1
  sql "VACUUM ANALYZE" >/dev/null; sql "CHECKPOINT" >/dev/null
}
change() {   # the issue's change (the same rows every run), then a checkpoint
  "$pgstrata" demo mutate -q --insert "$ins" --update "$upd" --delete "$del" --seed 1 -p "$port" >>"$log" 2>&1
  sql "CHECKPOINT" >/dev/null
}

echo "building pgstrata (launcher) ..."; "$pgstrata" --version

"$pgstrata" cluster init -q --pgdata "$src" --port "$port" --pg-version "$pg_version" --start >>"$log" 2>&1

echo "work dir $work; PostgreSQL $pg_version on port $port; pg_dump $dump_version ($pg_bin);" \
  "change: $ins inserts + $upd updates + $del deletes; $runs runs"
t_start=$EPOCHREALTIME

declare -a f_wall f_sec f_bytes f_du f_dump d_wall d_sec d_bytes d_du d_dump
declare -a da_wall da_bytes dc_wall dc_bytes r_wall r_sec raw
proven=yes
for r in $(seq "$runs"); do
  echo "run $r/$runs: loading $rows rows ..."
  d=$work/run$r; mkdir -p "$d"; repo=$d/repo
  load
  db_size=$(sql "SELECT pg_database_size('postgres')")
  l_backup full "$repo"; f_wall+=("$wall") f_sec+=("$sec") f_bytes+=("$bytes") f_du+=("$du") f_dump+=("$dump")

  change
  # The same database state for all three: the differential, the lab's differential
  # (pg_dump -Fc --data-only) and pg_dump -F c, each in a different place of the order in each run.
  order=(diff data-only fc); k=$(( (r - 1) % 3 )); order=("${order[@]:k}" "${order[@]:0:k}")
  for t in "${order[@]}"; do
    case $t in
      diff) l_backup diff "$repo"; d_wall+=("$wall") d_sec+=("$sec") d_bytes+=("$bytes") d_du+=("$du") d_dump+=("$dump")
            diff_id=$id diff_rows=$rows_changed ;;
      data-only) dump "$d/data-only.dump" -Fc --data-only; da_wall+=("$wall") da_bytes+=("$bytes") ;;
      fc) dump "$d/full.dump" -F c; dc_wall+=("$wall") dc_bytes+=("$bytes") ;;
    esac
  done

  l_prove "$repo" "$diff_id"; r_wall+=("$wall") r_sec+=("$sec")
  raw+=("run $r (order $(tr ' ' , <<<"${order[*]}"); database $db_size B before the change):")
  raw+=("  logical full ${f_wall[-1]} s (${f_sec[-1]} in-process), ${f_bytes[-1]} B (du ${f_du[-1]}; pg_dump output ${f_dump[-1]} B)")
  raw+=("  logical diff ${d_wall[-1]} s (${d_sec[-1]} in-process), ${d_bytes[-1]} B (du ${d_du[-1]}; schema dump ${d_dump[-1]} B); $diff_rows rows")
  raw+=("  pg_dump -Fc --data-only ${da_wall[-1]} s, ${da_bytes[-1]} B; pg_dump -F c ${dc_wall[-1]} s, ${dc_bytes[-1]} B")
  raw+=("  restore full+diff ${r_wall[-1]} s (${r_sec[-1]} in-process); content and books_id_seq equal: $ok")
  rm -rf "$repo"
done
elapsed=$(calc "$EPOCHREALTIME - $t_start")

m() { median "$@"; }
mf_bytes=$(m "${f_bytes[@]}") md_bytes=$(m "${d_bytes[@]}") md_wall=$(m "${d_wall[@]}") md_sec=$(m "${d_sec[@]}")
mdc_wall=$(m "${dc_wall[@]}")

echo
echo "raw runs:"; printf '  %s\n' "${raw[@]}"
echo
echo "Each run: a freshly loaded table (same content), VACUUM ANALYZE + CHECKPOINT, a logical full"
echo "(backup --logical --type full) into a new repository, then 'demo mutate --insert $ins --update $upd"
echo "--delete $del --seed 1' + CHECKPOINT, then on that same state (rotating order): backup --logical"
echo "--type diff, pg_dump -Fc --data-only (the lab's differential) and pg_dump -F c, each of database"
echo "postgres. pgstrata: zstd, pg_dump's archive written uncompressed and compressed by pgstrata, 1 job;"
echo "pg_dump -Fc: gzip (its default level). Repository bytes = JSON repositoryBytes; pg_dump bytes = file size."
echo "Restore: restore --logical --backup <diff> --to-db bench_restored (the full's pg_restore + the changed rows)."
echo "Load average (1/5/15 min) of this $(nproc)-core machine at the end: $(cut -d' ' -f1-3 /proc/loadavg); measuring took ${elapsed} s."
echo
row() { printf '  %-46s %12s %10s %10s   %s\n' "$@"; }
echo "Medians over $runs runs (PostgreSQL $pg_version, pg_dump $dump_version, $rows rows; change = $ins inserts + $upd updates + $del deletes)"
row "measure" "bytes" "s wall" "s JSON" "all runs (bytes | s wall)"
row "logical full (repositoryBytes)" "$mf_bytes" "$(m "${f_wall[@]}")" "$(m "${f_sec[@]}")" "${f_bytes[*]} | ${f_wall[*]}"
row "logical differential (repositoryBytes)" "$md_bytes" "$md_wall" "$md_sec" "${d_bytes[*]} | ${d_wall[*]}"
row "pg_dump -Fc --data-only (lab's differential)" "$(m "${da_bytes[@]}")" "$(m "${da_wall[@]}")" "" "${da_bytes[*]} | ${da_wall[*]}"
row "pg_dump -F c (whole database)" "$(m "${dc_bytes[@]}")" "$mdc_wall" "" "${dc_bytes[*]} | ${dc_wall[*]}"
row "logical full, du -sb of logical/ID (info)" "$(m "${f_du[@]}")" "" "" "${f_du[*]}"
row "logical differential, du -sb (info)" "$(m "${d_du[@]}")" "" "" "${d_du[*]}"
row "logical full, pg_dump output (dumpBytes, info)" "$(m "${f_dump[@]}")" "" "" "${f_dump[*]}"
row "restore full+diff into a new database (info)" "" "$(m "${r_wall[@]}")" "$(m "${r_sec[@]}")" "${r_wall[*]}"
row "restored content equals source (every run)" "$proven" "" "" ""
echo
echo "Goals (medians over the $runs runs)"
printf '  %-6s differential bytes <= 5%% of the logical full'"'"'s (repositoryBytes): %s B vs %s B (%s%%)\n' \
  "$(verdict "$md_bytes <= 0.05 * $mf_bytes")" "$md_bytes" "$mf_bytes" "$(calc "100 * $md_bytes / $mf_bytes")"
printf '  %-6s differential time <= pg_dump -F c of the same database (wall clock): %s s vs %s s (x%s)\n' \
  "$(verdict "$md_wall <= $mdc_wall")" "$md_wall" "$mdc_wall" "$(calc "$md_wall / $mdc_wall")"
printf '  %-6s   the same in-process (JSON seconds, without JVM start; info): %s s vs %s s (x%s)\n' \
  "$(verdict "$md_sec <= $mdc_wall")" "$md_sec" "$mdc_wall" "$(calc "$md_sec / $mdc_wall")"
printf '  %-6s every differential restored (full + diff) and proven by content\n' "$( [ "$proven" = yes ] && echo met || echo MISSED)"
echo "  info   restore of full + differential: $(m "${r_wall[@]}") s wall clock ($(m "${r_sec[@]}") s in-process)"
