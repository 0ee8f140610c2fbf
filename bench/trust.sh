#!/usr/bin/env bash
# Trust benchmark (byte-exact change detection and verify by rebuild), on one cluster:
#  A. What block maps cost: full and incremental backup time, and manifest bytes (manifest plus
#     block map), of this tree against the release before them (LSN rule, no block map; built from
#     git revision BASE_REV in a scratch worktree), on the same cluster and the same change.
#  B. What verify costs: verify of a repository holding a full and 5 incrementals (every file of
#     every backup rebuilt through its chain, nothing written) against restoring them (files only:
#     the newest, which reads the whole chain, and all six one after the other).
# Prints medians, raw runs, and each goal as met/missed.
#
#   bench/trust.sh [--rows N] [--runs N] [--port P] [--workdir DIR]
#
# Environment: ROWS (1000000), RUNS (3), INSERT (10000) and UPDATE (1000) rows per change, PORT
# (57300; must lie in 57300-57399), PG_VERSION (17), BASE_REV (27097d9: main before block maps),
# WORKDIR (new dir under /tmp; must be absent or empty, and is removed at the end).
#
# Every pgstrata command: zstd level 3, --jobs 2 (the default), wall clock of the command with the
# JVM's start included. The table is settled (VACUUM ANALYZE, CHECKPOINT) after loading, and each
# change is followed by a CHECKPOINT, as in bench/incremental.sh.
set -euo pipefail
shopt -s inherit_errexit

rows=${ROWS:-1000000} runs=${RUNS:-3} ins=${INSERT:-10000} upd=${UPDATE:-1000} port=${PORT:-57300}
pg_version=${PG_VERSION:-17} base_rev=${BASE_REV:-27097d9} work=${WORKDIR:-}
. "$(dirname "$0")/lib.sh"
parse_args 2,19 "$@"
if [ "$port" -lt 57300 ] || [ "$port" -gt 57399 ]; then
  echo "error: port $port must lie in 57300-57399 (other ports belong to other work)" >&2; exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pgstrata="$here/pgstrata"
for c in psql jq git mvn; do
  command -v "$c" >/dev/null || { echo "error: $c is missing" >&2; exit 1; }
done

make_work trustbench
log=$work/commands.log src=$work/source base=$work/base

cleanup() {
  local rc=$?
  set +e
  [ "$rc" -ne 0 ] && [ -f "$log" ] && { echo "--- failed (exit $rc); last lines of $log:" >&2; tail -n 15 "$log" >&2; }
  [ -f "$src/postmaster.pid" ] && "$pgstrata" cluster stop -q --pgdata "$src" >/dev/null 2>&1
  git -C "$here" worktree remove --force "$base" >/dev/null 2>&1
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "error: line $LINENO: $BASH_COMMAND failed" >&2' ERR

echo "building pgstrata (this tree) ..."; "$pgstrata" --version
echo "building pgstrata at $base_rev (before block maps) in $base ..."
git -C "$here" worktree add --detach "$base" "$base_rev" >>"$log" 2>&1
(cd "$base" && mvn -q -B -o -DskipTests package >>"$log" 2>&1 || mvn -q -B -DskipTests package >>"$log" 2>&1)
old="$base/pgstrata"

# One backup with launcher $1: wall clock, JSON, and the manifest (+ block map) bytes. Sets wall id mbytes.
backup() {   # launcher type repo
  local t0=$EPOCHREALTIME out
  out=$("$1" backup --repo "$3" --pgdata "$src" -p "$port" --type "$2" --json 2>>"$log")
  wall=$(calc "$EPOCHREALTIME - $t0")
  echo "$out" >>"$log"
  [ "$(jq -r .type <<<"$out")" = "$2" ] || { echo "error: asked for a $2 backup, got: $out" >&2; exit 1; }
  id=$(jq -r .id <<<"$out")
  mbytes=$(stat -c %s "$3/backup/$id/manifest")
  [ -f "$3/backup/$id/blockmap" ] && mbytes=$((mbytes + $(stat -c %s "$3/backup/$id/blockmap")))
  return 0
}
restore_files() {   # repo id dir: files only. Sets wall.
  local t0=$EPOCHREALTIME
  "$pgstrata" restore -q --repo "$1" --backup "$2" --to "$3" >>"$log" 2>&1
  wall=$(calc "$EPOCHREALTIME - $t0")
  rm -rf "$3"
}
change() {
  "$pgstrata" demo mutate -q --insert "$ins" --update "$upd" --seed "$1" -p "$port" >>"$log" 2>&1
  sql "CHECKPOINT" >/dev/null
}
settle() { sql "VACUUM ANALYZE" >/dev/null; sql "CHECKPOINT" >/dev/null; }
load() {
  sql "DROP TABLE IF EXISTS books" >/dev/null
  "$pgstrata" demo init -q -p "$port" >>"$log" 2>&1
  "$pgstrata" demo populate -q "$rows" -p "$port" >>"$log" 2>&1
  settle
}

"$pgstrata" cluster init -q --pgdata "$src" --port "$port" --pg-version "$pg_version" --start >>"$log" 2>&1
echo "work dir $work; PostgreSQL $pg_version on port $port; $rows rows; change: $ins inserts + $upd updates; $runs runs"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)

declare -a of_wall nf_wall of_m nf_m oi_wall ni_wall oi_m ni_m v_wall rn_wall ra_wall raw
for r in $(seq "$runs"); do
  echo "run $r/$runs ..."
  d=$work/run$r; mkdir -p "$d"
  load
  # A. Fulls then incrementals of the two versions, in alternating order, each into its own repository.
  order=$( [ $((r % 2)) -eq 1 ] && echo "old new" || echo "new old")
  for v in $order; do
    if [ "$v" = old ]; then backup "$old" full "$d/old"; of_wall+=("$wall") of_m+=("$mbytes")
    else backup "$pgstrata" full "$d/new"; nf_wall+=("$wall") nf_m+=("$mbytes"); fi
  done
  change "$r"
  for v in $order; do
    if [ "$v" = old ]; then backup "$old" incr "$d/old"; oi_wall+=("$wall") oi_m+=("$mbytes")
    else backup "$pgstrata" incr "$d/new"; ni_wall+=("$wall") ni_m+=("$mbytes"); ids=("$(ls "$d/new/backup")"); fi
  done
  raw+=("run $r ($order): full ${of_wall[-1]} | ${nf_wall[-1]} s, manifest ${of_m[-1]} | ${nf_m[-1]} B; incr ${oi_wall[-1]} | ${ni_wall[-1]} s, manifest ${oi_m[-1]} | ${ni_m[-1]} B")
  rm -rf "$d/old"

  # B. Four more changes and incrementals: the new repository holds a full and 5 incrementals.
  for k in 2 3 4 5; do change "$((r * 10 + k))"; backup "$pgstrata" incr "$d/new"; done
  newest=$id
  t0=$EPOCHREALTIME
  "$pgstrata" verify -q --repo "$d/new" >>"$log" 2>&1 || { echo "error: verify failed" >&2; exit 1; }
  v_wall+=("$(calc "$EPOCHREALTIME - $t0")")
  restore_files "$d/new" "$newest" "$d/restore"; rn_wall+=("$wall")
  all=0
  for b in $(ls "$d/new/backup"); do restore_files "$d/new" "$b" "$d/restore"; all=$(calc "$all + $wall"); done
  ra_wall+=("$all")
  raw+=("       verify of full + 5 incr ${v_wall[-1]} s; restore of the newest ${rn_wall[-1]} s; of all six ${ra_wall[-1]} s")
  rm -rf "$d"
done

m() { median "$@"; }
mof=$(m "${of_wall[@]}") mnf=$(m "${nf_wall[@]}") moi=$(m "${oi_wall[@]}") mni=$(m "${ni_wall[@]}")
mofm=$(m "${of_m[@]}") mnfm=$(m "${nf_m[@]}") moim=$(m "${oi_m[@]}") mnim=$(m "${ni_m[@]}")
mv=$(m "${v_wall[@]}") mrn=$(m "${rn_wall[@]}") mra=$(m "${ra_wall[@]}")
echo
echo "raw runs (before block maps | this tree):"; printf '  %s\n' "${raw[@]}"
echo
echo "Load average (1/5/15 min) of this $(nproc)-core machine: $load_start after the load, $(cut -d' ' -f1-3 /proc/loadavg) at the end."
row() { printf '  %-50s %12s %12s   %s\n' "$@"; }
echo "Medians over $runs runs (PostgreSQL $pg_version, $rows rows; change = $ins inserts + $upd updates)"
row "measure" "$base_rev" "this tree" "cost"
row "full backup, s (wall clock)" "$mof" "$mnf" "$(calc "100 * ($mnf - $mof) / $mof")%"
row "incr after the change, s (wall clock)" "$moi" "$mni" "$(calc "100 * ($mni - $moi) / $moi")%"
row "full: manifest + block map, B" "$mofm" "$mnfm" "+$(calc "$mnfm - $mofm") B"
row "incr: manifest + block map, B" "$moim" "$mnim" "+$(calc "$mnim - $moim") B"
row "verify, full + 5 incr, s (wall clock)" "" "$mv" ""
row "restore files of the newest (reads the chain), s" "" "$mrn" "verify / restore: $(calc "$mv / $mrn")"
row "restore files of all six, one after another, s" "" "$mra" "verify / restores: $(calc "$mv / $mra")"
echo
echo "Goals (medians)"
printf '  %-6s full backup time within 5%%: %s s vs %s s\n' "$(verdict "$mnf <= 1.05 * $mof")" "$mnf" "$mof"
printf '  %-6s incr backup time within 5%%: %s s vs %s s\n' "$(verdict "$mni <= 1.05 * $moi")" "$mni" "$moi"
printf '  %-6s verify of full + 5 incr <= restoring the newest (x1.0): %s s vs %s s\n' "$(verdict "$mv <= $mrn")" "$mv" "$mrn"
printf '  %-6s verify of full + 5 incr <= restoring all six (x1.0): %s s vs %s s\n' "$(verdict "$mv <= $mra")" "$mv" "$mra"
