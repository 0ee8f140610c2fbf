#!/usr/bin/env bash
# Reverse-delta benchmark: pgstrata's reverse-delta backups against an incremental chain and
# against plain fulls, each on a freshly loaded table (same content) that then goes through the
# same rounds of change, with a backup after each round. Measures repository size after the
# rounds, backup time per round, restore time of the newest and the oldest point, and proves
# restores by content. Prints medians, raw runs, and each goal as met/missed.
#
#   bench/reverse-delta.sh [--rows N] [--runs N] [--rounds N] [--port P] [--workdir DIR] [--prove all|ends]
#
# Environment: ROWS (1000000), RUNS (3), ROUNDS (5), INSERT (10000) and UPDATE (1000) rows per
# round, PORT (57150; restored servers use PORT+1; both must lie in 57150-57199), PG_VERSION (15,
# as bench/incremental.sh), WORKDIR (new dir under /tmp; must be absent or empty, and is removed at
# the end), PROVE (ends, the default: the newest and the oldest point of each strategy in every
# run; all: every point; each proven point costs a checksum of the source at that point, about 5 s
# on 1M rows, and a restore with --start: with "all" a 3-run benchmark takes well over 15 minutes,
# so use it with --runs 1).
#
# Strategies (each run loads the table once per strategy, in a rotating order):
#   reverse  initial --type full, then --type reverse after each round;
#   chain    initial --type full, then --type incr after each round;
#   fulls    initial --type full, then --type full after each round (ROUNDS+1 fulls in all).
# Times are wall clock of the command, JVM start included. No WAL archive: each backup stores the
# WAL from its start to its stop itself (counted in the repository's bytes).
set -euo pipefail
shopt -s inherit_errexit   # a failure inside $(...) ends the script too

rows=${ROWS:-1000000} runs=${RUNS:-3} rounds=${ROUNDS:-5} ins=${INSERT:-10000} upd=${UPDATE:-1000} port=${PORT:-57150}
pg_version=${PG_VERSION:-15} work=${WORKDIR:-} prove=${PROVE:-ends}
while [ $# -gt 0 ]; do
  case $1 in
    --rows) rows=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --workdir) work=$2; shift 2 ;;
    --prove) prove=$2; shift 2 ;;
    -h|--help) sed -n '2,23p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
rport=$((port + 1))
if [ "$port" -lt 57150 ] || [ "$rport" -gt 57199 ]; then
  echo "error: ports $port and $rport must lie in 57150-57199 (other ports belong to other work)" >&2; exit 2
fi
case $prove in all|ends) ;; *) echo "error: --prove takes all or ends" >&2; exit 2 ;; esac
pgstrata="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/pgstrata"

for c in psql jq; do
  command -v "$c" >/dev/null || { echo "error: $c is missing; apt-get install -y ${c/psql/postgresql-client}" >&2; exit 1; }
done

. "$(dirname "$0")/lib.sh"
make_work revbench
log=$work/commands.log src=$work/source

cleanup() {   # everything this script started, and nothing else
  local rc=$?
  set +e
  [ "$rc" -ne 0 ] && [ -f "$log" ] && { echo "--- failed (exit $rc); last lines of $log:" >&2; tail -n 15 "$log" >&2; }
  for d in "$src" "$work"/run*/ready-*; do
    [ -f "$d/postmaster.pid" ] && "$pgstrata" cluster stop -q --pgdata "$d" >/dev/null 2>&1
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "error: line $LINENO: $BASH_COMMAND failed" >&2' ERR


# One backup: wall clock and the JSON result. A reverse-delta backup is a full (JSON type "full",
# id ending in R); the line that says what became of the old full is kept in $rinfo.
# Sets: wall sec bytes id rinfo.
backup() {   # type repo
  local t0=$EPOCHREALTIME out want=$1
  out=$("$pgstrata" backup --repo "$2" --pgdata "$src" -p "$port" --type "$1" --json 2>"$work/err")
  wall=$(calc "$EPOCHREALTIME - $t0")
  cat "$work/err" >>"$log"; echo "$out" >>"$log"
  [ "$want" = reverse ] && want=full
  [ "$(jq -r .type <<<"$out")" = "$want" ] || { echo "error: asked for a $1 backup, got: $out" >&2; exit 1; }
  sec=$(jq -r '.seconds * 1000 | round / 1000' <<<"$out") bytes=$(jq -r .repositoryBytes <<<"$out") id=$(jq -r .id <<<"$out")
  if [ "$1" = reverse ]; then
    case $id in *R) ;; *) echo "error: reverse backup $id is not a reverse-delta full" >&2; exit 1 ;; esac
    rinfo=$(grep -o 'is now a reverse delta over .*' "$work/err" | sed 's/^is now a reverse delta over [^:]*: //')
  else
    rinfo=""
  fi
}
# A timed restore of the point N steps back, files only. Sets: wall fsec.
restore() {   # repo steps expected-id dir
  local t0=$EPOCHREALTIME out
  out=$("$pgstrata" restore --repo "$1" --steps-back "$2" --to "$4" --json 2>>"$log")
  wall=$(calc "$EPOCHREALTIME - $t0") fsec=$(jq -r '.filesSeconds * 1000 | round / 1000' <<<"$out")
  [ "$(jq -r .backupId <<<"$out")" = "$3" ] || { echo "error: --steps-back $2 restored $(jq -r .backupId <<<"$out"), not $3" >&2; exit 1; }
  rm -rf "$4"
}
# Restore the point N steps back, start it, and compare its content with the source's at that
# point. Sets: ok.
prove_point() {   # repo steps expected-id dir expected-hash
  local out
  out=$("$pgstrata" restore --repo "$1" --steps-back "$2" --to "$4" --start --port "$rport" --json 2>>"$log")
  if [ "$(jq -r .backupId <<<"$out")" = "$3" ] && [ "$(checksum "$rport")" = "$5" ]; then ok=yes; else ok=no; fi
  "$pgstrata" cluster stop -q --pgdata "$4" >>"$log" 2>&1; rm -rf "$4"
}
change() {   # seed: one round's change, then a checkpoint so that no backup pays for the other's dirty pages
  "$pgstrata" demo mutate -q --insert "$ins" --update "$upd" --seed "$1" -p "$port" >>"$log" 2>&1
  sql "CHECKPOINT" >/dev/null
}
# Settle the table (as bench/incremental.sh does): VACUUM sets every tuple's hint bits and the
# visibility map now, the CHECKPOINT writes it out; otherwise the first read after the bulk load
# rewrites every page and any page-level backup stores the whole table again. (demo populate
# ends with VACUUM (FREEZE, ANALYZE) books itself; this one finds nothing left to do there.)
settle() { sql "VACUUM ANALYZE books" >/dev/null; sql "CHECKPOINT" >/dev/null; }
# A freshly loaded, settled table: the same content (populate's default seed) every time.
load() {
  sql "DROP TABLE IF EXISTS books" >/dev/null
  "$pgstrata" demo init -q -p "$port" >>"$log" 2>&1
  "$pgstrata" demo populate -q "$rows" -p "$port" >>"$log" 2>&1
  settle
}
# Where a repository's bytes are: per backup directory (with its type now), and per kind of object.
breakdown() {   # repo label
  local list
  list=$("$pgstrata" list --repo "$1" --json 2>>"$log")
  echo "  $2: du -sb per backup directory (type now, list's repositoryBytes)"
  for d in "$1"/backup/*/; do
    local b; b=$(basename "$d")
    printf '    %-18s %-8s %10s B du   %10s B repositoryBytes\n' "$b" "$(jq -r --arg b "$b" '.[] | select(.id == $b) | .type' <<<"$list")" \
      "$(du -sb "$d" | cut -f1)" "$(jq -r --arg b "$b" '.[] | select(.id == $b) | .repositoryBytes' <<<"$list")"
  done
  echo "  $2: bytes per kind of object (whole files in data/ and bundle/, old pages in reverse/, WAL, manifests)"
  find "$1/backup" -type f -printf '%s %P\n' | awk '{ split($2, p, "/"); k = (p[2] == "manifest") ? "manifest" : p[2]; s[k] += $1; n[k]++ }
    END { for (k in s) printf "    %-10s %5d objects %12d B\n", k, n[k], s[k] }' | sort -k1,1
}

echo "building pgstrata (launcher) ..."; "$pgstrata" --version

"$pgstrata" cluster init -q --pgdata "$src" --port "$port" --pg-version "$pg_version" --start >>"$log" 2>&1

echo "work dir $work; PostgreSQL $pg_version on port $port; $rows rows; $rounds rounds of $ins inserts + $upd updates; $runs runs"
t_start=$EPOCHREALTIME

strategies=(reverse chain fulls)
declare -A type_of=([reverse]=reverse [chain]=incr [fulls]=full)
declare -A du_b sum_b init_wall r_wall r_sec rl_wall ro_wall rl_fsec ro_fsec
declare -a raw breakdowns
proven=yes proofs=0
for r in $(seq "$runs"); do
  d=$work/run$r; mkdir -p "$d"
  k=$(( (r - 1) % 3 )); order=("${strategies[@]:k}" "${strategies[@]:0:k}")
  raw+=("run $r (order $(tr ' ' , <<<"${order[*]}")):")
  for s in "${order[@]}"; do
    echo "run $r/$runs, $s: loading $rows rows, then $rounds rounds ..."
    repo=$d/repo-$s
    load
    # Point 0: the initial full; point k: the backup after round k. The hash of a point to be
    # proven is taken just before its backup (reading the rows sets hint bits in the pages the
    # round changed; that way the backup of that round holds them, not the next one). The same
    # points in every strategy, so that all go through the same workload.
    if [ "$prove" = all ]; then pts=$(seq -s " " 0 "$rounds"); else pts="0 $rounds"; fi
    declare -a ids=() hashes=() walls=() secs=()
    want() { [[ " $pts " == *" $1 "* ]]; }   # is point $1 (counted from the oldest) proven?
    hashes[0]=$(checksum "$port")
    backup full "$repo"; ids[0]=$id; iw=$wall; ib=$bytes
    rinfos=""
    for k in $(seq "$rounds"); do
      change "$k"
      if want "$k"; then hashes[k]=$(checksum "$port"); fi
      backup "${type_of[$s]}" "$repo"; ids[k]=$id; walls+=("$wall"); secs+=("$sec")
      [ -n "$rinfo" ] && rinfos+=" | $k: $rinfo"
    done
    # The repository now: its size, and the list's view of it.
    list=$("$pgstrata" list --repo "$repo" --json 2>>"$log")
    n=$(jq length <<<"$list")
    [ "$n" -eq $((rounds + 1)) ] || { echo "error: $repo lists $n backups, not $((rounds + 1))" >&2; exit 1; }
    types=$(jq -r '[.[].type] | group_by(.) | map("\(length) \(.[0])") | join(", ")' <<<"$list")
    du=$(du -sb "$repo" | cut -f1) sum=$(jq '[.[].repositoryBytes] | add' <<<"$list")
    du_b[$s]+="$du " sum_b[$s]+="$sum " init_wall[$s]+="$iw "
    r_wall[$s]+="$(median "${walls[@]}") " r_sec[$s]+="$(median "${secs[@]}") "

    # Restore, files only: the newest and the oldest point (alternating order).
    for t in $( [ $((r % 2)) -eq 1 ] && echo "l o" || echo "o l"); do
      if [ "$t" = l ]; then restore "$repo" 0 "${ids[rounds]}" "$d/restore"; rl_wall[$s]+="$wall " rl_fsec[$s]+="$fsec " lw=$wall lf=$fsec
      else restore "$repo" "$rounds" "${ids[0]}" "$d/restore"; ro_wall[$s]+="$wall " ro_fsec[$s]+="$fsec " ow=$wall of=$fsec; fi
    done
    # Prove by content: the newest and the oldest point, or all of them (p = steps back).
    res=""
    for p in $(for q in $pts; do echo $((rounds - q)); done | sort -n); do
      prove_point "$repo" "$p" "${ids[rounds - p]}" "$d/ready-$s" "${hashes[rounds - p]}"
      res+=" $p:$ok"; proofs=$((proofs + 1)); [ "$ok" = yes ] || proven=no
    done

    raw+=("  $s: $types; du ${du} B, sum of repositoryBytes ${sum} B; initial full ${iw} s ${ib} B")
    raw+=("    round backups, s wall: ${walls[*]}; JSON seconds: ${secs[*]}")
    raw+=("    restore files: newest ${lw} s (${lf} in-process), oldest ${ow} s (${of} in-process); content equal (steps back:ok):${res}")
    [ -n "$rinfos" ] && raw+=("    old full turned into a reverse delta, per round${rinfos}")
    if [ "$r" -eq 1 ] && [ "$s" != fulls ]; then breakdowns+=("$(breakdown "$repo" "$s (run 1)")"); fi
    rm -rf "$repo"
  done
done
elapsed=$(calc "$EPOCHREALTIME - $t_start")

m() { median $1; }   # a space-separated list
echo
echo "raw runs:"; printf '  %s\n' "${raw[@]}"
echo
echo "Each strategy, in each run: a freshly loaded table (same content), settled by VACUUM ANALYZE books +"
echo "CHECKPOINT, an initial --type full, then $rounds rounds of 'demo mutate --insert $ins --update $upd --seed <round>'"
echo "+ CHECKPOINT, each followed by a backup: --type reverse (reverse), --type incr (chain), --type full"
echo "(fulls: $((rounds + 1)) fulls in all, the initial one included). zstd, 2 jobs, no WAL archive (each backup holds its WAL)."
echo "Repository bytes: du -sb of the whole repository after the rounds (for reverse the sum of list's"
echo "repositoryBytes is not the size: the newest full reads objects stored by older backups)."
echo "Backup s per round: median over the $rounds rounds of a run; restore: files only, no --start."
echo "Load average (1/5/15 min) of this $(nproc)-core machine at the end: $(cut -d' ' -f1-3 /proc/loadavg); measuring took ${elapsed} s."
echo
row() { printf '  %-50s %12s %12s %12s   %s\n' "$@"; }
echo "Medians over $runs runs (PostgreSQL $pg_version, $rows rows; $rounds rounds)"
row "measure" reverse chain fulls "all runs (reverse | chain | fulls)"
line() {   # label array-name
  local -n a=$2
  row "$1" "$(m "${a[reverse]}")" "$(m "${a[chain]}")" "$(m "${a[fulls]}")" "${a[reverse]}| ${a[chain]}| ${a[fulls]}"
}
line "repository after the rounds, B (du -sb)" du_b
line "sum of list's repositoryBytes, B (info)" sum_b
line "initial full backup, s (wall clock)" init_wall
line "backup per round, s (wall clock, median of rounds)" r_wall
line "backup per round, s (JSON seconds, median)" r_sec
line "restore newest point, s files only (wall clock)" rl_wall
line "restore oldest point, s files only (wall clock)" ro_wall
line "restore newest point, s (in-process filesSeconds)" rl_fsec
line "restore oldest point, s (in-process filesSeconds)" ro_fsec
row "restored content equals source ($proofs restores)" "$proven" "" "" ""
echo "  (oldest point: reverse --steps-back $rounds = the newest full with $rounds reverse deltas applied; chain: the"
echo "  initial full alone; fulls: the oldest full. Newest: reverse the newest full; chain the full + $rounds incr.)"
echo
echo "Where the bytes are, run 1:"
printf '%s\n' "${breakdowns[@]}"
echo
rev_du=$(m "${du_b[reverse]}") chain_du=$(m "${du_b[chain]}") full_du=$(m "${du_b[fulls]}")
rev_l=$(m "${rl_wall[reverse]}") full_l=$(m "${rl_wall[fulls]}")
rev_lf=$(m "${rl_fsec[reverse]}") full_lf=$(m "${rl_fsec[fulls]}")
echo "Goals (medians over the $runs runs)"
printf '  %-6s restore of the newest reverse-delta point <= 1.1 x restore of a plain full (fulls'"'"' newest; wall clock, files only): %s s vs %s s (x%s)\n' \
  "$(verdict "$rev_l <= 1.1 * $full_l")" "$rev_l" "$full_l" "$(calc "$rev_l / $full_l")"
printf '  %-6s   the same in-process (filesSeconds, info): %s s vs %s s (x%s)\n' \
  "$(verdict "$rev_lf <= 1.1 * $full_lf")" "$rev_lf" "$full_lf" "$(calc "$rev_lf / $full_lf")"
printf '  %-6s reverse-delta repository <= 1.3 x the incremental chain'"'"'s (du -sb): %s B vs %s B (x%s; %s fulls: %s B)\n' \
  "$(verdict "$rev_du <= 1.3 * $chain_du")" "$rev_du" "$chain_du" "$(calc "$rev_du / $chain_du")" "$((rounds + 1))" "$full_du"
printf '  %-6s every restore proven by content (%s restores)\n' "$( [ "$proven" = yes ] && echo met || echo MISSED)" "$proofs"
