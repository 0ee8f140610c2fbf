#!/usr/bin/env bash
# Restore benchmark: how long a restore takes until its files are written and until the restored
# server is read-write, for a full backup and for a chain (full + 3 incrementals), pgstrata with
# --jobs 1 and 2, side by side in the same run with pgBackRest 2.59.1 (bundle + block incremental)
# and pg_basebackup 18 (plain, --incremental) restored with pg_combinebackup. Every restored copy
# is started and compared with the source at its backup point by content.
#
#   bench/restore.sh [--rows N] [--runs N] [--port P] [--workdir DIR]
#
# Environment: ROWS (1000000), RUNS (1), PORT (57600; the restored servers use PORT+1; both in
# 57600-57699), INSERT and UPDATE (rows/100 each) per change, WORKDIR (new dir under /tmp; must be
# absent or empty, and is removed at the end), ANCHORS (/work/shared/anchors; its env.sh puts
# pgBackRest and PostgreSQL 18's client programs on PATH).
#
# The server is pgstrata's bundled PostgreSQL 18 (summarize_wal = on, which pg_basebackup
# --incremental needs; archiving into pgBackRest, which its backups need). A settled table
# (VACUUM ANALYZE + CHECKPOINT) with autovacuum off. Times are wall clock of the commands, JVM
# start included: "files" = the restore command (pg_combinebackup for pg_basebackup's backups);
# "read-write" = from the restore's start until the restored server accepts writes (pgstrata:
# restore --start; the others: their restore, then pg_ctl start and a wait for the end of
# recovery). pgBackRest restores with --type=immediate --target-action=promote (its WAL comes from
# its archive); pg_basebackup's backups carry their WAL (crash recovery from backup_label).
set -euo pipefail
shopt -s inherit_errexit

rows=${ROWS:-1000000} runs=${RUNS:-1} port=${PORT:-57600} work=${WORKDIR:-}
. "$(dirname "$0")/lib.sh"
parse_args 2,21 "$@"
ins=${INSERT:-$((rows / 100))} upd=${UPDATE:-$((rows / 100))}
rport=$((port + 1))
if [ "$port" -lt 57600 ] || [ "$rport" -gt 57699 ]; then
  echo "error: ports $port and $rport must lie in 57600-57699 (other ports belong to other work)" >&2; exit 2
fi
pgstrata="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/pgstrata"
anchors=${ANCHORS:-/work/shared/anchors}
[ -f "$anchors/env.sh" ] || { echo "error: $anchors/env.sh is missing (see $anchors/README.md)" >&2; exit 1; }
ld_before=${LD_LIBRARY_PATH:-}
. "$anchors/env.sh"
# Only PostgreSQL 18's client programs get its libpq (the bundled server has its own); the copy's
# libpq.so.5 may be a plain file naming its target instead of a link, so a link is made here.
export LD_LIBRARY_PATH=$ld_before
for c in psql jq pgbackrest pg_basebackup pg_combinebackup; do
  command -v "$c" >/dev/null || { echo "error: $c is missing (psql, jq: apt-get install -y postgresql-client jq; the others: $anchors)" >&2; exit 1; }
done

make_work restorebench
log=$work/commands.log src=$work/source sock=$work/sock pbr=$work/pgbackrest
mkdir -p "$work/pglib"
ln -s "$(ls "$anchors"/postgresql-18.3/lib/libpq.so.5.* | head -n 1)" "$work/pglib/libpq.so.5"
pg18() { LD_LIBRARY_PATH=$work/pglib "$@"; }

on_exit source "r-*"   # everything this script started, and nothing else

echo "building pgstrata (launcher) ..."; "$pgstrata" --version

"$pgstrata" cluster init -q --pgdata "$src" --port "$port" --pg-version 18 >>"$log" 2>&1
pgbin=$(ls -d "${PGSTRATA_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pgstrata}"/postgres-18*/bin | tail -n 1)
[ -x "$pgbin/pg_ctl" ] || { echo "error: no bundled PostgreSQL 18 pg_ctl found after cluster init" >&2; exit 1; }
# PostgreSQL refuses to run as root; as pgstrata does, run it in a user namespace then.
pg_ctl_() { if [ "$(id -u)" = 0 ]; then unshare -U "$pgbin/pg_ctl" "$@"; else "$pgbin/pg_ctl" "$@"; fi; }
cat >>"$src/postgresql.conf" <<EOF
# Added by bench/restore.sh: WAL summaries for pg_basebackup --incremental, no autovacuum during
# the measurement.
summarize_wal = on
autovacuum = off
EOF
pbr_setup "repo1-bundle=y" "repo1-block=y" "allow-root=y"

settle() { sql "VACUUM ANALYZE" >/dev/null; sql "CHECKPOINT" >/dev/null; }
change() {   # seed
  "$pgstrata" demo mutate -q --insert "$ins" --update "$upd" --seed "$1" -p "$port" >>"$log" 2>&1
  settle
}
# Backups of the current state by all three tools. Sets s_id (pgstrata's id), b_label (pgBackRest's).
backups() {   # type(full|incr) n
  local out
  out=$("$pgstrata" backup --repo "$work/repo" --pgdata "$src" -p "$port" --type "$1" --json 2>>"$log")
  echo "$out" >>"$log"; s_id=$(jq -r .id <<<"$out")
  pbr backup --type="$1" >>"$log" 2>&1
  b_label=$(pbr info --output=json | jq -r '.[0].backup[-1].label')
  if [ "$1" = full ]; then
    pg18 pg_basebackup -h 127.0.0.1 -p "$port" -U postgres -D "$work/bb$2" -c fast -X stream >>"$log" 2>&1
  else
    pg18 pg_basebackup -h 127.0.0.1 -p "$port" -U postgres -D "$work/bb$2" -c fast -X stream \
      --incremental="$work/bb$(($2 - 1))/backup_manifest" >>"$log" 2>&1
  fi
}

# Waits until the server in DIR on $rport is out of recovery, then proves its content. Sets ok.
ready_and_prove() {   # dir expected-hash
  local i
  for i in $(seq 6000); do
    [ "$(PGCONNECT_TIMEOUT=2 psql -h 127.0.0.1 -p "$rport" -U postgres -d postgres -XAt -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ] && break
    sleep 0.02
  done
  rw=$(calc "$EPOCHREALTIME - $t0")
  if [ "$(checksum "$rport")" = "$2" ]; then ok=yes; else ok=no; proven=no; fi
  pg_ctl_ -D "$1" -m fast -w stop >>"$log" 2>&1
  rm -rf "$1"
}
# A restored copy of another tool: its own port, no archiving into the source's archive.
start_copy() {   # dir
  printf "port = %s\narchive_mode = off\n" "$rport" >>"$1/postgresql.auto.conf"
  pg_ctl_ -D "$1" -l "$1/startup.log" -o "-c unix_socket_directories=$sock" start >>"$log" 2>&1
}
# Each sets files (s) and rw (s) and ok.
r_pgstrata() {   # id jobs expected-hash
  local d=$work/r-s out
  t0=$EPOCHREALTIME
  "$pgstrata" restore --repo "$work/repo" --backup "$1" --to "$d" --jobs "$2" --json >>"$log" 2>&1
  files=$(calc "$EPOCHREALTIME - $t0"); rm -rf "$d"
  t0=$EPOCHREALTIME
  out=$("$pgstrata" restore --repo "$work/repo" --backup "$1" --to "$d" --jobs "$2" --start --port "$rport" --json 2>>"$log")
  echo "$out" >>"$log"
  ready_and_prove "$d" "$3"
}
r_pgbackrest() {   # label expected-hash
  local d=$work/r-b
  mkdir -m 700 "$d"; t0=$EPOCHREALTIME
  pbr restore --set="$1" --pg1-path="$d" --type=immediate --target-action=promote --archive-mode=off >>"$log" 2>&1
  files=$(calc "$EPOCHREALTIME - $t0")
  start_copy "$d"
  ready_and_prove "$d" "$2"
}
r_combine() {   # last-n expected-hash
  local d=$work/r-c parts=() i
  for i in $(seq 0 "$1"); do parts+=("$work/bb$i"); done
  t0=$EPOCHREALTIME
  pg18 pg_combinebackup "${parts[@]}" -o "$d" >>"$log" 2>&1
  files=$(calc "$EPOCHREALTIME - $t0")
  start_copy "$d"
  ready_and_prove "$d" "$2"
}

echo "work dir $work; PostgreSQL 18 on port $port; $rows books; change: $ins inserts + $upd updates; $runs run(s)"
declare -A res   # res[point/tool] = "files rw" per run, space separated lists
proven=yes
tools=(s1 s2 pbr pgc)
for r in $(seq "$runs"); do
  echo "run $r/$runs: loading ..."
  rm -rf "$work/repo" "$work"/bb*
  sql "DROP TABLE IF EXISTS books" >/dev/null
  "$pgstrata" demo init -q -p "$port" >>"$log" 2>&1
  "$pgstrata" demo populate -q "$rows" -p "$port" >>"$log" 2>&1
  settle
  h_full=$(checksum "$port")
  backups full 0; full_id=$s_id full_label=$b_label
  for k in 1 2 3; do change "$k"; backups incr "$k"; done
  chain_id=$s_id chain_label=$b_label h_chain=$(checksum "$port")
  echo "  backups done: pgstrata $full_id..$chain_id, pgBackRest $full_label..$chain_label; restoring ..."
  for point in full chain; do
    if [ "$point" = full ]; then id=$full_id label=$full_label n=0 h=$h_full; else id=$chain_id label=$chain_label n=3 h=$h_chain; fi
    order=("${tools[@]}"); k=$(( (r - 1) % 4 )); order=("${order[@]:k}" "${order[@]:0:k}")
    for t in "${order[@]}"; do
      case $t in
        s1) r_pgstrata "$id" 1 "$h" ;;
        s2) r_pgstrata "$id" 2 "$h" ;;
        pbr) r_pgbackrest "$label" "$h" ;;
        pgc) r_combine "$n" "$h" ;;
      esac
      res[$point/$t/f]+=" $files" res[$point/$t/rw]+=" $rw"
      echo "  $point $t: files $files s, read-write $rw s, content equal: $ok"
    done
  done
done

name() { case $1 in s1) echo "pgstrata --jobs 1" ;; s2) echo "pgstrata --jobs 2" ;; pbr) echo "pgBackRest 2.59.1" ;; pgc) echo "pg_combinebackup 18" ;; esac; }
m() { median $1; }
echo
echo "Restore, medians over $runs run(s), s (wall clock; all runs in brackets); $rows books, PostgreSQL 18,"
echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
printf '  %-22s %12s %12s %14s %14s\n' tool "full files" "full r/w" "chain files" "chain r/w"
for t in "${tools[@]}"; do
  printf '  %-22s %12s %12s %14s %14s   [%s |%s |%s |%s ]\n' "$(name "$t")" "$(m "${res[full/$t/f]}")" "$(m "${res[full/$t/rw]}")" \
    "$(m "${res[chain/$t/f]}")" "$(m "${res[chain/$t/rw]}")" "${res[full/$t/f]}" "${res[full/$t/rw]}" "${res[chain/$t/f]}" "${res[chain/$t/rw]}"
done
echo "  every restored copy equal to its source by content: $proven"
echo
s2cf=$(m "${res[chain/s2/f]}") s2cr=$(m "${res[chain/s2/rw]}") s2ff=$(m "${res[full/s2/f]}")
for t in pbr pgc; do
  printf '  %-6s chain restore --jobs 2 <= %s: files %s vs %s s, read-write %s vs %s s\n' \
    "$(verdict "$s2cf <= $(m "${res[chain/$t/f]}") && $s2cr <= $(m "${res[chain/$t/rw]}")")" "$(name "$t")" \
    "$s2cf" "$(m "${res[chain/$t/f]}")" "$s2cr" "$(m "${res[chain/$t/rw]}")"
done
printf '  %-6s chain restore <= 1.2 x full restore (--jobs 2, files): %s vs %s s (x%s)\n' \
  "$(verdict "$s2cf <= 1.2 * $s2ff")" "$s2cf" "$s2ff" "$(calc "$s2cf / $s2ff")"
