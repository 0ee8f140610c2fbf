#!/usr/bin/env bash
# Incremental backup benchmark: pgstrata's page-level incr and diff against its own full and
# against pgBackRest's (file-level) incr, on one PostgreSQL 15 cluster and the very same change;
# and restore time of a chain (full + 3 incr) against a full. Prints medians, raw runs, and each
# goal of the issue as met/missed.
#
#   bench/incremental.sh [--rows N] [--runs N] [--port P] [--workdir DIR]
#
# Environment: ROWS (1000000), RUNS (3), INSERT (10000) and UPDATE (1000) rows per change, PORT
# (57100; the restored servers use PORT+1; both must lie in 57100-57199), PG_VERSION (15:
# pgBackRest 2.45 knows PostgreSQL 15 at most), WORKDIR (new dir under /tmp; must be absent or
# empty, and is removed at the end).
#
# Both tools: zstd level 3, 2 parallel processes (pgstrata --jobs default 2, pgBackRest
# process-max=2), fast checkpoint (pgBackRest start-fast=y). Times are wall clock of the command,
# JVM start included. pgstrata's repository holds no WAL archive, so each of its backups stores the
# WAL from start to stop itself (counted in its bytes); pgBackRest keeps that WAL in its archive
# (archive_command = pgbackrest archive-push, which its backup requires), not in the backup set.
set -euo pipefail
shopt -s inherit_errexit   # a failure inside $(...) ends the script too

rows=${ROWS:-1000000} runs=${RUNS:-3} ins=${INSERT:-10000} upd=${UPDATE:-1000} port=${PORT:-57100}
pg_version=${PG_VERSION:-15} work=${WORKDIR:-}
. "$(dirname "$0")/lib.sh"
parse_args 2,18 "$@"
rport=$((port + 1))
if [ "$port" -lt 57100 ] || [ "$rport" -gt 57199 ]; then
  echo "error: ports $port and $rport must lie in 57100-57199 (other ports belong to other work)" >&2; exit 2
fi
pgstrata="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/pgstrata"

if ! command -v pgbackrest >/dev/null; then
  echo "error: pgBackRest is missing; install it with: apt-get install -y pgbackrest" >&2; exit 1
fi
for c in psql jq; do
  command -v "$c" >/dev/null || { echo "error: $c is missing; apt-get install -y ${c/psql/postgresql-client}" >&2; exit 1; }
done
pbr_version=$(pgbackrest version | awk '{print $2}')
[ "$pbr_version" = 2.45 ] || echo "note: pgBackRest is $pbr_version, not the 2.45 the goals were set against" >&2

make_work incrbench
log=$work/commands.log src=$work/source sock=$work/sock pbr=$work/pgbackrest

on_exit source "run*/ready-*"   # $work also holds pgBackRest's repository, config, lock, log and spool dirs

# One pgstrata backup: wall clock, the JSON result and the phases from its traced progress lines.
# Sets: wall sec bytes id du ph (phases "to-start checkpoint copy wal+manifest exit", seconds).
s_backup() {   # type repo
  local t0=$EPOCHREALTIME out err
  out=$(PGSTRATA_TRACE=1 "$pgstrata" backup --repo "$2" --pgdata "$src" -p "$port" --type "$1" --json 2>"$work/err")
  wall=$(calc "$EPOCHREALTIME - $t0")
  err=$(cat "$work/err"); cat "$work/err" >>"$log"; echo "$out" >>"$log"
  [ "$(jq -r .type <<<"$out")" = "$1" ] || { echo "error: asked for a $1 backup, got: $out" >&2; exit 1; }
  sec=$(jq -r '.seconds * 1000 | round / 1000' <<<"$out") bytes=$(jq -r .repositoryBytes <<<"$out") id=$(jq -r .id <<<"$out")
  du=$(du -sb "$2/backup/$id" | cut -f1)
  # [+T] is the time since the JVM started: first line = JVM, connect, lock, manifests read;
  # "copying" = after pg_backup_start's checkpoint; "stopped" = files copied and pg_backup_stop.
  ph=$(awk -v wall="$wall" '
    { if (match($0, /\[\+[0-9.]+s\]/)) t = substr($0, RSTART + 2, RLENGTH - 4) + 0; else next }
    /starting .* backup/ { a = t } / copying [0-9]+ files/ { b = t } /backup stopped at/ { c = t } / complete: / { d = t }
    END { printf "%.3f %.3f %.3f %.3f %.3f", a, b - a, c - b, d - c, wall - d }' <<<"$err")
}
# A timed restore, files only. Sets: wall fsec.
s_restore() {   # repo id dir
  local t0=$EPOCHREALTIME out
  out=$("$pgstrata" restore --repo "$1" --backup "$2" --to "$3" --json 2>>"$log")
  wall=$(calc "$EPOCHREALTIME - $t0") fsec=$(jq -r '.filesSeconds * 1000 | round / 1000' <<<"$out")
  rm -rf "$3"
}
# Restore, start, and compare the content with the source's at the backup. Sets: ready ok.
s_prove() {   # repo id dir expected-hash
  local out
  out=$("$pgstrata" restore --repo "$1" --backup "$2" --to "$3" --start --port "$rport" --json 2>>"$log")
  ready=$(jq -r '.readySeconds * 1000 | round / 1000' <<<"$out")
  if [ "$(checksum "$rport")" = "$4" ]; then ok=yes; else ok=no; fi
  "$pgstrata" cluster stop -q --pgdata "$3" >>"$log" 2>&1; rm -rf "$3"
}
change() {   # seed: the issue's change, then a checkpoint so that no backup pays for the other's dirty pages
  "$pgstrata" demo mutate -q --insert "$ins" --update "$upd" --seed "$1" -p "$port" >>"$log" 2>&1
  sql "CHECKPOINT" >/dev/null
}

echo "building pgstrata (launcher) ..."; "$pgstrata" --version

# ---- The cluster: PostgreSQL $pg_version, archiving into pgBackRest (its backups require it). pgBackRest
# reaches a local server only over a Unix socket, which 'cluster init' does not open: add one.
"$pgstrata" cluster init -q --pgdata "$src" --port "$port" --pg-version "$pg_version" >>"$log" 2>&1
pbr_setup

# A freshly loaded, settled table: the same content (populate's default seed) in every run.
load() {
  sql "DROP TABLE IF EXISTS books" >/dev/null
  "$pgstrata" demo init -q -p "$port" >>"$log" 2>&1
  "$pgstrata" demo populate -q "$rows" -p "$port" >>"$log" 2>&1
  settle
}
# Settle the table: the first read after a bulk load (or after changes) sets every tuple's hint
# bits, and with data checksums on that writes a full-page image and moves each page's LSN: an
# incremental taken after it would store the whole table again. VACUUM sets the hint bits (and
# the visibility map) now; the CHECKPOINT writes it all out. After a load, demo populate has
# already run VACUUM (FREEZE, ANALYZE) books; this VACUUM also covers the catalogs, and the
# changed table in the steady-state round below.
settle() { sql "VACUUM ANALYZE" >/dev/null; sql "CHECKPOINT" >/dev/null; }

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "work dir $work; PostgreSQL $pg_version on port $port; pgBackRest $pbr_version; change: $ins inserts + $upd updates; $runs runs"

declare -a f_wall f_bytes f_du i_wall i_sec i_bytes i_du i_ph d_wall d_bytes d_du c_bytes d3_bytes
declare -a bf_wall bf_du bi_wall bi_du rf_wall rf_fsec rc_wall rc_fsec ready_f ready_c raw
proven=yes
for r in $(seq "$runs"); do
  echo "run $r/$runs: loading $rows rows ..."
  d=$work/run$r; mkdir -p "$d"; s=$d/repo s2=$d/repo-diff
  load
  h_full=$(checksum "$port")

  # Fulls, in alternating order (neither always gets the warmer cache).
  for t in $( [ $((r % 2)) -eq 1 ] && echo "s b" || echo "b s"); do
    if [ "$t" = s ]; then
      s_backup full "$s"; f_wall+=("$wall") f_bytes+=("$bytes") f_du+=("$du"); full_id=$id
    else
      b_backup full; bf_wall+=("$wall") bf_du+=("$du")
    fi
  done
  cp -a "$s" "$s2"   # the same full, in a second repository for the differential

  # The change, then pgstrata incr, pgstrata diff and pgBackRest incr, each in a different place
  # of the order in each run.
  change 1
  order=(si sd bi); k=$(( (r - 1) % 3 )); order=("${order[@]:k}" "${order[@]:0:k}")
  for t in "${order[@]}"; do
    case $t in
      si) s_backup incr "$s"; i_wall+=("$wall") i_sec+=("$sec") i_bytes+=("$bytes") i_du+=("$du") i_ph+=("$ph") ;;
      sd) s_backup diff "$s2"; d_wall+=("$wall") d_bytes+=("$bytes") d_du+=("$du") ;;
      bi) b_backup incr; bi_wall+=("$wall") bi_du+=("$du") ;;
    esac
  done
  raw+=("run $r (order $(tr ' ' , <<<"${order[*]}")): full ${f_wall[-1]} s ${f_bytes[-1]} B; incr ${i_wall[-1]} s ${i_bytes[-1]} B (du ${i_du[-1]}); diff ${d_wall[-1]} s ${d_bytes[-1]} B")
  raw+=("       pgBackRest: full ${bf_wall[-1]} s ${bf_du[-1]} B, incr ${bi_wall[-1]} s ${bi_du[-1]} B")
  read -r p1 p2 p3 p4 p5 <<<"${i_ph[-1]}"
  raw+=("       incr phases, s: JVM+connect+manifests $p1, checkpoint+scan $p2, read+compare+store $p3, stop+WAL+manifest $p4, launcher+exit $p5")

  # Two more changes, each followed by an incremental: the chain full + 3 incr.
  chain=""
  for k in 2 3; do
    change "$k"; s_backup incr "$s"; chain+=" $bytes"
  done
  chain_id=$id; c_bytes+=("$(awk "BEGIN {printf \"%.0f\", ${i_bytes[-1]}${chain// / + }}")")
  s_backup diff "$s2"; d3_bytes+=("$bytes")   # for information: a differential after all 3 changes
  h_chain=$(checksum "$port")
  raw+=("       chain: incr 2 and 3 stored${chain} B; a diff after the 3 changes ${d3_bytes[-1]} B")

  # Restore, files only: the full, and the last incremental of the chain (alternating order).
  for t in $( [ $((r % 2)) -eq 1 ] && echo "f c" || echo "c f"); do
    if [ "$t" = f ]; then s_restore "$s" "$full_id" "$d/restore"; rf_wall+=("$wall") rf_fsec+=("$fsec")
    else s_restore "$s" "$chain_id" "$d/restore"; rc_wall+=("$wall") rc_fsec+=("$fsec"); fi
  done
  # Then prove both by content: start each restored copy and compare with the source at the backup.
  s_prove "$s" "$full_id" "$d/ready-full" "$h_full"; ready_f+=("$ready"); [ "$ok" = yes ] || proven=no; ok_f=$ok
  s_prove "$s" "$chain_id" "$d/ready-chain" "$h_chain"; ready_c+=("$ready"); [ "$ok" = yes ] || proven=no
  raw+=("       restore files: full ${rf_wall[-1]} s (${rf_fsec[-1]} in-process), chain ${rc_wall[-1]} s (${rc_fsec[-1]}); until ready: full ${ready_f[-1]} s, chain ${ready_c[-1]} s; content equal: full $ok_f, chain $ok")
  rm -rf "$s" "$s2"
done

# Once more, on a table that has lived: after the last run's three changes, VACUUM (as autovacuum
# would) leaves free space in the pages that held the dead row versions, so the next change's
# inserts land in those scattered pages (not at the end of the table) and touch index pages all
# over: the same change then moves many more pages than on a freshly loaded table.
echo "once more after VACUUM of the changed table ..."
st=$work/steady; settle
s_backup full "$st"; st_full=$bytes; b_backup full
change 4
s_backup incr "$st"; st_wall=$wall st_bytes=$bytes st_du=$du
b_backup incr; st_bwall=$wall st_bdu=$du
rm -rf "$st"

m() { median "$@"; }
mf_bytes=$(m "${f_bytes[@]}") mi_bytes=$(m "${i_bytes[@]}") mi_du=$(m "${i_du[@]}") mbi_du=$(m "${bi_du[@]}")
mi_wall=$(m "${i_wall[@]}") mbi_wall=$(m "${bi_wall[@]}") mrf=$(m "${rf_wall[@]}") mrc=$(m "${rc_wall[@]}")
mrf_f=$(m "${rf_fsec[@]}") mrc_f=$(m "${rc_fsec[@]}")
phase() { local v=() p; for p in "${i_ph[@]}"; do v+=("$(cut -d' ' -f"$1" <<<"$p")"); done; m "${v[@]}"; }

echo
echo "raw runs:"; printf '  %s\n' "${raw[@]}"
echo
echo "Each run: a freshly loaded table (same content), settled by VACUUM ANALYZE + CHECKPOINT before the"
echo "full. Without that, the first read after the bulk load sets every tuple's hint bits, which (data"
echo "checksums on) logs a full-page image and moves every page's LSN: any incremental would store the"
echo "whole table again."
echo "Both tools: zstd (level 3; pgstrata stores changed pages at level 3, of files from 64 MiB at level 1), 2 processes, fast checkpoint; a CHECKPOINT after each change."
echo "pgstrata's bytes include the WAL from start to stop; pgBackRest's backup set does not (archive)."
echo "Load average (1/5/15 min) of this $(nproc)-core machine: $load_start after the load, $(cut -d' ' -f1-3 /proc/loadavg) at the end."
echo
row() { printf '  %-52s %12s %12s   %s\n' "$@"; }
echo "Medians over $runs runs (PostgreSQL $pg_version, $rows rows; change = $ins inserts + $upd updates)"
row "measure" pgstrata pgBackRest "all runs (pgstrata | pgBackRest)"
row "full backup, s (wall clock)" "$(m "${f_wall[@]}")" "$(m "${bf_wall[@]}")" "${f_wall[*]} | ${bf_wall[*]}"
row "full backup, B (pgstrata repositoryBytes)" "$mf_bytes" "" "${f_bytes[*]}"
row "full backup, B (du -sb of the backup's directory)" "$(m "${f_du[@]}")" "$(m "${bf_du[@]}")" "${f_du[*]} | ${bf_du[*]}"
row "incr after the change, s (wall clock)" "$mi_wall" "$mbi_wall" "${i_wall[*]} | ${bi_wall[*]}"
row "incr after the change, s (pgstrata JSON seconds)" "$(m "${i_sec[@]}")" "" "${i_sec[*]}"
row "incr after the change, B (pgstrata repositoryBytes)" "$mi_bytes" "" "${i_bytes[*]}"
row "incr after the change, B (du -sb of the backup's dir)" "$mi_du" "$mbi_du" "${i_du[*]} | ${bi_du[*]}"
row "diff after the change, s (wall clock)" "$(m "${d_wall[@]}")" "" "${d_wall[*]}"
row "diff after the change, B (repositoryBytes)" "$(m "${d_bytes[@]}")" "" "${d_bytes[*]}"
row "diff after the change, B (du -sb)" "$(m "${d_du[@]}")" "" "${d_du[*]}"
row "diff after 3 changes, B (repositoryBytes; info)" "$(m "${d3_bytes[@]}")" "" "${d3_bytes[*]}"
row "chain full+3 incr, B of the 3 incr (info)" "$(m "${c_bytes[@]}")" "" "${c_bytes[*]}"
row "restore full, s files only (wall clock)" "$mrf" "" "${rf_wall[*]}"
row "restore full+3 incr, s files only (wall clock)" "$mrc" "" "${rc_wall[*]}"
row "restore full, s files only (in-process)" "$mrf_f" "" "${rf_fsec[*]}"
row "restore full+3 incr, s files only (in-process)" "$mrc_f" "" "${rc_fsec[*]}"
row "restore until ready: full | full+3 incr, s (info)" "$(m "${ready_f[@]}") | $(m "${ready_c[@]}")" "" "${ready_f[*]} | ${ready_c[*]}"
row "restored content equals source (every restore)" "$proven" "" ""
echo
echo "pgstrata incr phases, median s: JVM+connect+manifests $(phase 1), checkpoint+scan $(phase 2)," \
  "read+compare+store $(phase 3), stop+WAL+manifest $(phase 4), launcher+exit $(phase 5)"
echo
echo "Once, on the table after the last run's 3 changes and a VACUUM ANALYZE (free space scattered"
echo "over the pages that held dead row versions), then the same kind of change:"
row "full backup, B (pgstrata repositoryBytes)" "$st_full" "" ""
row "incr after the change, s (wall clock)" "$st_wall" "$st_bwall" ""
row "incr after the change, B (repositoryBytes | du -sb)" "$st_bytes" "$st_bdu" "du -sb of pgstrata's: $st_du"
printf '  goals there: incr <= 10%% of full %s (%s%%); <= 1/5 of pgBackRest'"'"'s %s (1/%s); time %s\n' \
  "$(verdict "$st_bytes <= 0.10 * $st_full")" "$(calc "100 * $st_bytes / $st_full")" "$(verdict "$st_du * 5 <= $st_bdu")" \
  "$(calc "$st_bdu / $st_du")" "$(verdict "$st_wall <= $st_bwall")"
echo
echo "Goals (medians over the $runs runs)"
printf '  %-6s incr bytes <= 10%% of the full'"'"'s: %s B vs %s B (%s%%)\n' "$(verdict "$mi_bytes <= 0.10 * $mf_bytes")" \
  "$mi_bytes" "$mf_bytes" "$(calc "100 * $mi_bytes / $mf_bytes")"
printf '  %-6s incr bytes <= 1/5 of pgBackRest'"'"'s incr (du -sb): %s B vs %s B (1/%s)\n' "$(verdict "$mi_du * 5 <= $mbi_du")" \
  "$mi_du" "$mbi_du" "$(calc "$mbi_du / $mi_du")"
printf '  %-6s incr time <= pgBackRest'"'"'s incr time (wall clock): %s s vs %s s\n' "$(verdict "$mi_wall <= $mbi_wall")" "$mi_wall" "$mbi_wall"
printf '  %-6s chain restore (full+3 incr) <= 1.3 x full restore (wall clock, files only): %s s vs %s s (x%s)\n' \
  "$(verdict "$mrc <= 1.3 * $mrf")" "$mrc" "$mrf" "$(calc "$mrc / $mrf")"
printf '  %-6s   the same in-process (filesSeconds, without JVM start and chain loading): %s s vs %s s (x%s)\n' \
  "$(verdict "$mrc_f <= 1.3 * $mrf_f")" "$mrc_f" "$mrf_f" "$(calc "$mrc_f / $mrf_f")"
printf '  %-6s every restore proven by content\n' "$( [ "$proven" = yes ] && echo met || echo MISSED)"
