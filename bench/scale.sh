#!/usr/bin/env bash
# Scale benchmark (issue 16): the same scenario at several table sizes, pgstrata side by side with
# pgBackRest 2.59.1 (bundle + block incremental) and pg_basebackup 18 (full; --incremental with
# client zstd, restored with pg_combinebackup), on one PostgreSQL 18 cluster and the very same
# changes. For each size: seconds, seconds per GB of database, bytes and peak resident memory of
# the full, of an incremental after rows/100 inserts + rows/100 updates (random rows: about half
# the pages change), of one after rows/500 inserts + rows/5000 updates (a few percent), and of the
# restore of the first incremental's point (files only, and until the server accepts writes);
# pgstrata's restore of its full and of a chain full + 3 incr; then each goal of the issue as
# met/missed with its two numbers, and the table over all sizes.
#
#   bench/scale.sh [--rows "N M ..."] [--runs N] [--port P] [--workdir DIR]
#
# Environment: ROWS ("1000000 5000000 20000000"), RUNS (1), PORT (57150; restored servers use
# PORT+1; both must lie in 57100-57199), WORKDIR (new dir under /tmp; must be absent or empty, and
# is removed at the end), ANCHORS (the prebuilt anchors, default ../shared/anchors beside the
# checkout: its env.sh puts pgBackRest 2.59.1 and PostgreSQL 18's client programs on PATH).
#
# Each run loads a fresh table and settles it (VACUUM (FREEZE, ANALYZE), CHECKPOINT); autovacuum is
# off throughout; a CHECKPOINT follows each change. All tools: zstd level 3 (pgstrata stores the
# changed pages of files from 64 MiB at level 1, of smaller files at level 3), 2 processes, fast
# checkpoint; restores with 2 jobs (pgstrata --jobs 2, pgBackRest process-max 2). Times are wall clock of the commands, JVM start included. "Until
# read-write": the files, then the copy started by 'pgstrata cluster start' (the same for all
# three; as root postgres runs in a user namespace) and polled every 50 ms until
# pg_is_in_recovery() is false. Every restored copy is proven by content (demo checksum against
# the source's at that point). Bytes: pgstrata's repositoryBytes (its backups hold their WAL from
# start to stop), pgBackRest's backup set (du -sb; the WAL is in its archive), pg_basebackup's
# output directory (du -sb; WAL streamed into it). Peak RSS: the largest single process
# (/usr/bin/time -v). GB = 10^9 bytes of the database (pg_database_size of all databases).
set -euo pipefail
shopt -s inherit_errexit   # a failure inside $(...) ends the script too

rows=${ROWS:-"1000000 5000000 20000000"} runs=${RUNS:-1} port=${PORT:-57150} work=${WORKDIR:-}
. "$(dirname "$0")/lib.sh"
parse_args 2,29 "$@"
rport=$((port + 1))
if [ "$port" -lt 57100 ] || [ "$rport" -gt 57199 ]; then
  echo "error: ports $port and $rport must lie in 57100-57199 (other ports belong to other work)" >&2; exit 2
fi
for p in "$port" "$rport"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "error: port $p is in use; pick another base with --port" >&2; exit 2; fi
done
for n in $rows; do
  [[ $n =~ ^[0-9]+$ ]] && [ "$n" -ge 5000 ] || { echo "error: --rows takes sizes of at least 5000 rows, not '$n'" >&2; exit 2; }
done
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pgstrata=$root/pgstrata anchors=${ANCHORS:-$root/../shared/anchors}
for c in psql jq zstd tar; do
  command -v "$c" >/dev/null || { echo "error: $c is missing; apt-get install -y ${c/psql/postgresql-client}" >&2; exit 1; }
done
[ -f "$anchors/env.sh" ] || { echo "error: no $anchors/env.sh; set ANCHORS to the prebuilt anchors' directory" >&2; exit 1; }
. "$anchors/env.sh"

make_work scalebench
log=$work/commands.log src=$work/source sock=$work/sock pbr=$work/pgbackrest

# A copy of the anchors that turned libpq's symbolic links into small files naming their target
# ("file too short" when loaded): link them again, in the work dir.
if ! pg_basebackup --version >/dev/null 2>&1; then
  lib=$(dirname "$(dirname "$(command -v pg_basebackup)")")/lib
  mkdir -p "$work/lib"
  for f in "$lib"/*; do
    [ "$(stat -c %s "$f")" -lt 200 ] || continue
    t=$(tr -d '\n' <"$f")
    if [ -f "$lib/$t" ]; then ln -s "$lib/$t" "$work/lib/$(basename "$f")"; fi
  done
  export LD_LIBRARY_PATH=$work/lib:$LD_LIBRARY_PATH
  echo "note: $lib holds broken links to libpq (files naming their target); linked again in $work/lib" >&2
fi
pbr_version=$(pgbackrest version | awk '{print $2}') pgb_version=$(pg_basebackup --version | awk '{print $3}')
[ "$pbr_version" = 2.59.1 ] || echo "note: pgBackRest is $pbr_version, not the 2.59.1 of the issue" >&2
[ "${pgb_version%%.*}" = 18 ] || { echo "error: pg_basebackup is $pgb_version, not 18 (see $anchors/README.md)" >&2; exit 1; }

on_exit source "r-*"   # $work also holds pgBackRest's repository, config, lock, log and spool dirs

# One pgstrata backup. Sets wall rss (see timed), bytes (repositoryBytes), id, how (changeSource).
s_backup() {   # type repo
  timed "$work/out" "$pgstrata" backup --repo "$2" --pgdata "$src" -p "$port" --type "$1" --jobs 2 --json
  cat "$work/out" >>"$log"
  [ "$(jq -r .type "$work/out")" = "$1" ] || { echo "error: asked for a $1 backup, got: $(cat "$work/out")" >&2; exit 1; }
  bytes=$(jq -r .repositoryBytes "$work/out") id=$(jq -r .id "$work/out") how=$(jq -r '.changeSource // "-"' "$work/out")
  if [ "$how" = scan ]; then echo "  note: pgstrata's $1 backup $id read every block: $(jq -r '.changeSourceNote // "(no reason given)"' "$work/out")"; fi
}
# One pg_basebackup into DIR (fast checkpoint, WAL streamed). Sets wall rss du.
p_backup() {   # dir option...
  local d=$1; shift
  timed "$work/out" pg_basebackup -h 127.0.0.1 -p "$port" -U postgres -D "$d" -c fast -X stream "$@"
  du=$(du -sb "$d" | cut -f1)
}

# up DIR EXPECTED T0: start the restored copy in DIR on $rport and wait until it takes writes
# (sets ready: seconds since T0); prove its content against EXPECTED (sets ok); stop it, remove it.
up() {
  local i=0
  "$pgstrata" cluster start -q --pgdata "$1" --port "$rport" >>"$log" 2>&1
  until [ "$(port=$rport sql "SELECT pg_is_in_recovery()" 2>>"$log")" = f ]; do
    i=$((i + 1)); [ "$i" -lt 12000 ] || { echo "error: the copy in $1 did not leave recovery within 10 min" >&2; exit 1; }
    sleep 0.05
  done
  ready=$(calc "$EPOCHREALTIME - $3")
  if [ "$(checksum "$rport")" = "$2" ]; then ok=yes; else ok=no proven=no; echo "restored content differs: $1" >>"$log"; fi
  "$pgstrata" cluster stop -q --pgdata "$1" >>"$log" 2>&1; rm -rf "$1"
}
# Before each timed restore, the same start for every tool: what earlier steps left dirty in the
# page cache is written out (logged), and memory as large as the data directory is written once and
# freed. On this VM memory that was free for a while is slow to touch again (the host takes it back:
# 800 MB written with dd took 1.95 s, then 0.17 s at once after), so whichever restore came first
# paid about a second for the others (pgstrata's, at --runs 1: 2.1 to 2.9 s against 1.6).
settle() {
  echo "dirty before restore: $(awk '/^Dirty:/ {print $2, $3}' /proc/meminfo)" >>"$log"
  local mb=$(( $(du -sb "$src" | cut -f1) / 1048576 + 64 ))
  dd if=/dev/zero of="$work/prefault" bs=1M count="$mb" status=none
  rm -f "$work/prefault"
  sync
}

# The three restores. Each sets files (s), ready (s), rss (of the restore's largest process), ok.
s_restore() {   # repo id dir expected
  settle
  local t0=$EPOCHREALTIME
  timed "$work/out" "$pgstrata" restore --repo "$1" --backup "$2" --to "$3" --jobs 2 --json
  files=$wall rcpu=$cpu; cat "$work/out" >>"$log"
  up "$3" "$4" "$t0"
}
b_restore() {   # label dir expected: to the backup's consistency point, then read-write; archiving off
  settle
  local t0=$EPOCHREALTIME
  timed "$work/out" pgbackrest --config="$pbr/pgbackrest.conf" --stanza=bench restore --set="$1" --pg1-path="$2" --type=immediate --target-action=promote --archive-mode=off
  files=$wall rcpu=$cpu
  up "$2" "$3" "$t0"
}
p_restore() {   # full-dir incr-dir dir expected: the incremental's tar files unpacked, then pg_combinebackup
  settle
  local t0=$EPOCHREALTIME x=$work/pgb-unpacked
  mkdir -p "$x/pg_wal"
  tar -xf "$2"/base.tar.* -C "$x"   # tar tells zstd by its magic number
  tar -xf "$(ls "$2"/pg_wal.tar*)" -C "$x/pg_wal"   # pg_basebackup 18 leaves it uncompressed
  cp "$2/backup_manifest" "$x/"
  unpack=$(calc "$EPOCHREALTIME - $t0")
  timed "$work/out" pg_combinebackup "$1" "$x" -o "$3"
  files=$(calc "$EPOCHREALTIME - $t0") rcpu=$cpu   # the CPU of pg_combinebackup alone: the unpacking is not counted
  rm -rf "$x"
  echo "archive_mode = off" >>"$3/postgresql.auto.conf"   # the source's archive_command pushes into pgBackRest's stanza
  up "$3" "$4" "$t0"
}

change() {   # inserts updates seed; then a checkpoint, so that no backup pays for the other's dirty pages
  "$pgstrata" demo mutate -q --insert "$1" --update "$2" --seed "$3" -p "$port" >>"$log" 2>&1
  sql "CHECKPOINT" >/dev/null
}
# A fresh table (populate's default seed: the same content in every run), settled: VACUUM sets
# every tuple's hint bits and freezes them now (else the first reads after the load would, and with
# data checksums on that moves every page's LSN); the CHECKPOINT writes it all out.
load() {   # rows
  sql "DROP TABLE IF EXISTS books" >/dev/null
  "$pgstrata" demo init -q -p "$port" >>"$log" 2>&1
  "$pgstrata" demo populate -q "$1" -p "$port" >>"$log" 2>&1
  sql "VACUUM (FREEZE, ANALYZE)" >/dev/null; sql "CHECKPOINT" >/dev/null
}

# Results: V[size:name] holds the value of each run, space-separated.
declare -A V
add() { V[$n:$1]+=" $2"; }
med() { median ${V[$n:$1]}; }
all() { echo ${V[$n:$1]}; }
mb() { calc "$1 / 1e6"; }
# rotate K WORD...: the words, starting at the Kth (0-based) modulo their count: each run puts each
# tool in another place of the order, so that none always gets the warmer cache.
rotate() { local k=$1; shift; local a=("$@"); k=$((k % ${#a[@]})); echo "${a[@]:k}" "${a[@]:0:k}"; }

# The table of one size ($n), printed when its runs are done.
row() { printf '  %-46s %12s %12s %12s %12s\n' "$@"; }
gb() { calc "$1 / ($(med db) / 1e9)"; }      # seconds per GB of database, from a median
uniq_words() { tr ' ' '\n' <<<"$(all "$1")" | sed '/^$/d' | sort -u | paste -sd, -; }
size_table() {
  echo
  echo "$n rows, database $(mb "$(med db)") MB; medians of $runs run(s) (every run on the last line)"
  row "" pgstrata pgBackRest "pgb plain" "pgb tar zstd"
  row "full backup, s" "$(med sf)" "$(med bf)" "$(med pf)" "$(med tf)"
  row "full backup, s/GB" "$(gb "$(med sf)")" "$(gb "$(med bf)")" "$(gb "$(med pf)")" "$(gb "$(med tf)")"
  row "full backup, MB" "$(mb "$(med sf_b)")" "$(mb "$(med bf_b)")" "$(mb "$(med pf_b)")" "$(mb "$(med tf_b)")"
  row "full backup, peak RSS MB" "$(med sf_rss)" "$(med bf_rss)" "$(med pf_rss)" ""
  row "full backup, CPU s (user + system)" "$(med sf_cpu)" "$(med bf_cpu)" "$(med pf_cpu)" ""
  row "incr, $big_i ins + $big_u upd, s" "$(med si)" "$(med bi)" "" "$(med pi)"
  row "incr, s/GB" "$(gb "$(med si)")" "$(gb "$(med bi)")" "" "$(gb "$(med pi)")"
  row "incr, MB" "$(mb "$(med si_b)")" "$(mb "$(med bi_b)")" "" "$(mb "$(med pi_b)")"
  row "incr, peak RSS MB" "$(med si_rss)" "$(med bi_rss)" "" "$(med pi_rss)"
  row "incr after $((n / 500)) ins + $((n / 5000)) upd, s" "$(med ss)" "$(med bs)" "" "$(med ps)"
  row "incr after the small change, MB" "$(mb "$(med ss_b)")" "$(mb "$(med bs_b)")" "" "$(mb "$(med ps_b)")"
  row "incr after the small change, CPU s" "$(med ss_cpu)" "$(med bs_cpu)" "" "$(med ps_cpu)"
  row "restore of the incr's point, files s" "$(med sr)" "$(med br)" "combine: $(med pr)" ""
  row "  files, s/GB" "$(gb "$(med sr)")" "$(gb "$(med br)")" "$(gb "$(med pr)")" ""
  row "  until read-write, s" "$(med sr_up)" "$(med br_up)" "$(med pr_up)" ""
  row "  until read-write, s/GB" "$(gb "$(med sr_up)")" "$(gb "$(med br_up)")" "$(gb "$(med pr_up)")" ""
  row "  peak RSS MB" "$(med sr_rss)" "$(med br_rss)" "$(med pr_rss)" ""
  row "  CPU s of the files (combine: without unpacking)" "$(med sr_cpu)" "$(med br_cpu)" "$(med pr_cpu)" ""
  row "restore of pgstrata's full, files | r/w s" "$(med srf) | $(med srf_up)" "" "" ""
  row "restore of full + 3 incr, files | r/w s" "$(med src) | $(med src_up)" "" "" ""
  echo "  pgstrata changeSource: incr $(uniq_words si_how); small-change incr $(uniq_words ss_how); 3rd incr $(uniq_words s3_how)"
  echo "  pg_combinebackup's files time includes unpacking the incremental's tar.zst: $(med pr_unpack) s"
  echo "  all runs: full s $(all sf) | $(all bf) | $(all pf) | $(all tf); incr s $(all si) | $(all bi) | $(all pi);" \
    "restore files s $(all sr) | $(all br) | $(all pr); read-write s $(all sr_up) | $(all br_up) | $(all pr_up)"
}

echo "building pgstrata (launcher) ..."; "$pgstrata" --version

# ---- The cluster: PostgreSQL 18 (pgstrata's bundled), WAL summaries on, archiving into pgBackRest
# (its backups require it), bundles and block incremental on; pgBackRest 2.59 refuses to run as
# root unless allowed (this script runs as whoever runs it; as root, postgres runs in a user namespace).
"$pgstrata" cluster init -q --pgdata "$src" --port "$port" --pg-version 18 >>"$log" 2>&1
pbr_setup "repo1-bundle=y" "repo1-block=y" "allow-root=y"
sql "ALTER SYSTEM SET autovacuum = off" >/dev/null; sql "SELECT pg_reload_conf()" >/dev/null
server=$(sql "SHOW server_version") summarize=$(sql "SHOW summarize_wal") av=$(sql "SHOW autovacuum")
[ "$summarize" = on ] || echo "note: summarize_wal is $summarize: pg_basebackup --incremental will fail, pgstrata will scan" >&2
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "work dir $work; PostgreSQL $server on port $port (summarize_wal $summarize, autovacuum $av);" \
  "pgBackRest $pbr_version; pg_basebackup $pgb_version; sizes: $rows; $runs run(s) each"

proven=yes
for n in $rows; do
  big_i=$((n / 100)) big_u=$((n / 100)) small_i=$((n / 500)) small_u=$((n / 5000))
  for r in $(seq "$runs"); do
    echo "$n rows, run $r/$runs: loading ..."
    d=$work/n$n-r$r s=$d/strata; mkdir -p "$d"
    load "$n"
    db=$(sql "SELECT sum(pg_database_size(oid)) FROM pg_database"); add db "$db"
    h0=$(checksum "$port")

    echo "  full backups ..."
    for t in $(rotate $((r - 1)) s b p t); do
      case $t in
        s) s_backup full "$s"; full_id=$id; add sf "$wall"; add sf_b "$bytes"; add sf_rss "$rss"; add sf_cpu "$cpu" ;;
        b) b_backup full; add bf "$wall"; add bf_b "$du"; add bf_rss "$rss"; add bf_cpu "$cpu" ;;
        p) p_backup "$d/pgb-full" -Fp; add pf "$wall"; add pf_b "$du"; add pf_rss "$rss"; add pf_cpu "$cpu" ;;
        t) p_backup "$d/pgb-tar" -Ft --compress=client-zstd; add tf "$wall"; add tf_b "$du"; rm -rf "$d/pgb-tar" ;;
      esac
    done

    echo "  change: $big_i inserts + $big_u updates; incrementals ..."
    change "$big_i" "$big_u" 1; h1=$(checksum "$port")
    for t in $(rotate $((r - 1)) s b p); do
      case $t in
        s) s_backup incr "$s"; incr_id=$id; add si "$wall"; add si_b "$bytes"; add si_rss "$rss"; add si_how "$how" ;;
        b) b_backup incr; incr_label=$label; add bi "$wall"; add bi_b "$du"; add bi_rss "$rss" ;;
        p) p_backup "$d/pgb-incr" -Ft --compress=client-zstd --incremental="$d/pgb-full/backup_manifest"
           add pi "$wall"; add pi_b "$du"; add pi_rss "$rss" ;;
      esac
    done

    echo "  restores of the incremental's point ..."
    for t in $(rotate $((r - 1)) s b p); do
      case $t in
        s) s_restore "$s" "$incr_id" "$work/r-s" "$h1"; add sr "$files"; add sr_up "$ready"; add sr_rss "$rss"; add sr_cpu "$rcpu"
           ok_s=$ok ;;
        b) b_restore "$incr_label" "$work/r-b" "$h1"; add br "$files"; add br_up "$ready"; add br_rss "$rss"; add br_cpu "$rcpu"
           ok_b=$ok ;;
        p) p_restore "$d/pgb-full" "$d/pgb-incr" "$work/r-p" "$h1"; add pr "$files"; add pr_up "$ready"; add pr_rss "$rss"
           add pr_cpu "$rcpu"
           add pr_unpack "$unpack"; ok_p=$ok ;;
      esac
    done
    s_restore "$s" "$full_id" "$work/r-s" "$h0"; add srf "$files"; add srf_up "$ready"; ok_f=$ok

    echo "  small change: $small_i inserts + $small_u updates; incrementals ..."
    change "$small_i" "$small_u" 2
    for t in $(rotate $((r - 1)) s b p); do
      case $t in
        s) s_backup incr "$s"; add ss "$wall"; add ss_b "$bytes"; add ss_how "$how"; add ss_cpu "$cpu" ;;
        b) b_backup incr; add bs "$wall"; add bs_b "$du"; add bs_cpu "$cpu" ;;
        p) p_backup "$d/pgb-incr2" -Ft --compress=client-zstd --incremental="$d/pgb-incr/backup_manifest"; add ps "$wall"; add ps_b "$du"
           add ps_cpu "$cpu" ;;
      esac
    done
    echo "  a third change and incremental; restore of the chain full + 3 incr ..."
    change "$small_i" "$small_u" 3; s_backup incr "$s"; add s3_how "$how"
    h3=$(checksum "$port")
    s_restore "$s" "$id" "$work/r-s" "$h3"; add src "$files"; add src_up "$ready"; ok_c=$ok

    echo "  run $r: database $(mb "$db") MB; pgstrata changeSource of its 3 incr: $(all si_how | awk '{print $NF}')," \
      "$(all ss_how | awk '{print $NF}'), $(all s3_how | awk '{print $NF}'); restored content equal: incr point pgstrata $ok_s," \
      "pgBackRest $ok_b, pg_combinebackup $ok_p; pgstrata full $ok_f, chain $ok_c"
    rm -rf "$d"
  done
  size_table
done

# ---- Output
sizes=()
for n in $rows; do sizes+=("$(awk -v n="$n" 'BEGIN {if (n % 1000000 == 0) print n / 1000000 "M"; else if (n % 1000 == 0) print n / 1000 "k"; else print n}')"); done
echo
echo "Load average (1/5/15 min) of this $(nproc)-core machine: $load_start at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end."

# The table over all sizes, like ../shared/anchors/README.md's: one cell, one value per size.
cells() { local v=() k; for n in $rows; do k=$(med "$1"); v+=("$(${2:-echo} "$k")"); done; local IFS=/; echo "${v[*]}" | sed 's#/# / #g'; }
pergb() { gb "$1"; }
sizes_label=$(IFS=/; echo "${sizes[*]}" | sed 's#/# / #g')
echo
echo "Over all sizes ($sizes_label books; PostgreSQL $server; medians of $runs run(s); pg_basebackup: incremental in tar with client zstd, restored with pg_combinebackup)"
echo
echo "| | pgstrata | pgBackRest $pbr_version bundle+block | pg_basebackup $pgb_version |"
echo "|---|---|---|---|"
echo "| full s ($sizes_label) | $(cells sf) | $(cells bf) | plain $(cells pf); tar zstd $(cells tf) |"
echo "| full s/GB | $(cells sf pergb) | $(cells bf pergb) | plain $(cells pf pergb); tar zstd $(cells tf pergb) |"
echo "| full MB | $(cells sf_b mb) | $(cells bf_b mb) | plain $(cells pf_b mb); tar zstd $(cells tf_b mb) |"
echo "| incr s, rows/100 ins + upd | $(cells si) | $(cells bi) | $(cells pi) |"
echo "| incr s/GB | $(cells si pergb) | $(cells bi pergb) | $(cells pi pergb) |"
echo "| incr MB | $(cells si_b mb) | $(cells bi_b mb) | $(cells pi_b mb) |"
echo "| incr s, rows/500 ins + rows/5000 upd | $(cells ss) | $(cells bs) | $(cells ps) |"
echo "| restore of the incr point, files s | $(cells sr) | $(cells br) | $(cells pr) (pg_combinebackup) |"
echo "| restore files s/GB | $(cells sr pergb) | $(cells br pergb) | $(cells pr pergb) |"
echo "| restore until read-write s | $(cells sr_up) | $(cells br_up) | $(cells pr_up) |"
echo "| restore until read-write s/GB | $(cells sr_up pergb) | $(cells br_up pergb) | $(cells pr_up pergb) |"
echo "| peak RSS MB of full; incr; restore | $(cells sf_rss); $(cells si_rss); $(cells sr_rss) | $(cells bf_rss); $(cells bi_rss); $(cells br_rss) | $(cells pf_rss); $(cells pi_rss); $(cells pr_rss) (pg_combinebackup) |"

echo
echo "Goals of issue 16 (medians; the issue states them at 5M, and the full also at 20M)"
g() { printf '  %-6s %s\n' "$1" "$2"; }
i=0
for n in $rows; do
  lab=${sizes[i]}; i=$((i + 1))
  si=$(med si) bi=$(med bi) pi=$(med pi) fast_i=$(awk -v a="$bi" -v b="$pi" 'BEGIN {print (a < b) ? a : b}')
  min_ib=$(awk -v a="$(med bi_b)" -v b="$(med pi_b)" 'BEGIN {printf "%.0f", (a < b) ? a : b}')
  fast_f=$(printf '%s\n' "$(med bf)" "$(med pf)" "$(med tf)" | sort -g | head -1)
  echo " $lab:"
  g "$(verdict "$si <= $fast_i")" "1 incr (half the pages) time <= faster anchor's incr: $si s vs $fast_i s (pgBackRest $bi, pg_basebackup $pi; pgstrata's changeSource: $(all si_how))"
  g "$(verdict "$(med si_b) <= $min_ib")" "1 incr bytes <= the anchors' (the smaller): $(mb "$(med si_b)") MB vs $(mb "$min_ib") MB (pgBackRest $(mb "$(med bi_b)"), pg_basebackup $(mb "$(med pi_b)"))"
  g "$(verdict "$(med ss) <= 0.25 * $(med sf)")" "1 small-change incr <= 0.25 x pgstrata's full: $(med ss) s vs $(calc "0.25 * $(med sf)") s (x$(calc "$(med ss) / $(med sf)") of $(med sf) s; changeSource: $(all ss_how))"
  g "$(verdict "$(med sf) <= $fast_f")" "1 full <= the faster anchor's full: $(med sf) s vs $fast_f s (pgBackRest $(med bf), plain $(med pf), tar zstd $(med tf))"
  g "$(verdict "$(med sr) <= $(med br) && $(med sr) <= $(med pr)")" "2 restore --jobs 2, files <= pgBackRest's and pg_combinebackup's: $(med sr) s vs $(med br) s and $(med pr) s"
  g "$(verdict "$(med sr_up) <= $(med br_up) && $(med sr_up) <= $(med pr_up)")" "2 restore until read-write <= both: $(med sr_up) s vs $(med br_up) s and $(med pr_up) s"
  g "$(verdict "$(med src) <= 1.2 * $(med srf)")" "2 chain (full + 3 incr) restore <= 1.2 x full restore, files: $(med src) s vs $(med srf) s (x$(calc "$(med src) / $(med srf)"))"
  g "$(verdict "$(med src_up) <= 1.2 * $(med srf_up)")" "2 the same until read-write: $(med src_up) s vs $(med srf_up) s (x$(calc "$(med src_up) / $(med srf_up)"))"
  g "stated" "2 peak RSS, MB: pgstrata backup full $(med sf_rss), incr $(med si_rss); restore $(med sr_rss) (pgBackRest $(med bf_rss)/$(med bi_rss)/$(med br_rss), pg_basebackup $(med pf_rss)/$(med pi_rss), pg_combinebackup $(med pr_rss))"
done
set -- $rows
if [ $# -ge 2 ]; then
  first=$1; last=${!#}
  echo " growth, pgstrata s/GB at ${sizes[-1]} against ${sizes[0]} (goal: within 1.2x):"
  for m in sf:full si:incr sr:"restore files" sr_up:"restore until read-write"; do
    k=${m%%:*}; n=$first; a=$(gb "$(med "$k")"); n=$last; b=$(gb "$(med "$k")")
    g "$(verdict "$b <= 1.2 * $a")" "4 ${m#*:}: $b s/GB vs $a s/GB (x$(calc "$b / $a"))"
  done
else
  echo " growth (4): give two sizes or more"
fi
echo
printf '  %-6s every restored copy equals the source at its point (demo checksum)\n' "$( [ "$proven" = yes ] && echo met || echo MISSED)"
