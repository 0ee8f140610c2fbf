#!/usr/bin/env bash
# WAL archiving benchmark: 'pgstrata wal push' (run exactly as archive_command runs it) against
# pgBackRest's synchronous archive-push on the same real 16 MiB segments, and the streaming
# receiver's throughput and retained WAL during a bulk load. Prints medians, raw runs, PASS/FAIL.
#
#   bench/wal-archive.sh [--runs N] [--segments N] [--rows N] [--port P] [--workdir DIR]
#
# Environment: RUNS (3), SEGMENTS (8), LOAD_ROWS (2000000, the receiver's bulk load), PORT (56010;
# the receiver's cluster uses PORT+1; both must lie in 56000-56100), PG_VERSION (15: pgBackRest
# 2.45 knows PostgreSQL 15 at most), RETAIN_LIMIT_MB (32: the segment being received plus the one
# being archived; the slot moves only at segment boundaries), WORKDIR (new dir under /tmp; must be
# absent or empty, and is removed at the end).
set -euo pipefail
shopt -s inherit_errexit   # a failure inside $(...) ends the script too

runs=${RUNS:-3} segs=${SEGMENTS:-8} rows=${LOAD_ROWS:-2000000} port=${PORT:-56010}
pg_version=${PG_VERSION:-15} retain_limit_mb=${RETAIN_LIMIT_MB:-32} work=${WORKDIR:-}
while [ $# -gt 0 ]; do
  case $1 in
    --runs) runs=$2; shift 2 ;;
    --segments) segs=$2; shift 2 ;;
    --rows) rows=$2; shift 2 ;;
    --port) port=$2; shift 2 ;;
    --workdir) work=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
rport=$((port + 1))
if [ "$port" -lt 56000 ] || [ "$rport" -gt 56100 ]; then
  echo "error: ports $port and $rport must lie in 56000-56100 (other ports belong to other work)" >&2; exit 2
fi
pgstrata="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/pgstrata"

# The yardstick is pgBackRest 2.45 (Debian 12's package); psql drives the clusters.
if ! command -v pgbackrest >/dev/null; then
  echo "error: pgBackRest is missing; install it with: apt-get install -y pgbackrest" >&2; exit 1
fi
command -v psql >/dev/null || { echo "error: psql is missing; apt-get install -y postgresql-client" >&2; exit 1; }
pbr_version=$(pgbackrest version | awk '{print $2}')
[ "$pbr_version" = 2.45 ] || echo "note: pgBackRest is $pbr_version, not the 2.45 the goals were set against" >&2

if [ -z "$work" ]; then
  work=$(mktemp -d /tmp/walbench.XXXXXX)
elif [ -e "$work" ] && [ -n "$(ls -A "$work")" ]; then
  echo "error: $work is not empty; it is removed at the end, so give a new or empty directory" >&2; exit 2
fi
mkdir -p "$work"

recv_pid='' sampler_pid=''
cleanup() {   # everything this script started, and nothing else
  set +e
  [ -n "$sampler_pid" ] && kill "$sampler_pid" 2>/dev/null
  [ -n "$recv_pid" ] && kill "$recv_pid" 2>/dev/null && wait "$recv_pid" 2>/dev/null
  for d in "$work"/pga "$work"/run*/pgb; do
    [ -f "$d/postmaster.pid" ] && "$pgstrata" cluster stop --pgdata "$d" >/dev/null 2>&1
  done
  rm -rf "$work"   # also holds pgBackRest's repositories, stanza, lock and log dirs
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "error: line $LINENO: $BASH_COMMAND failed" >&2' ERR

sql() { local p=$1; shift; psql -h 127.0.0.1 -p "$p" -U postgres -d postgres -X -At -v ON_ERROR_STOP=1 -c "$*"; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
calc() { awk "BEGIN {printf \"%.3f\", $*}"; }
cond() { awk "BEGIN {exit !($*)}"; }
lsn_bytes() { echo $(( (16#${1%/*} << 32) + 16#${1#*/} )); }
# Wall time of one command into $elapsed ($EPOCHREALTIME: no extra process inside the measurement;
# results go to globals, not $(...), so that a failure ends the script and pids reach the trap).
timed() {
  local t0=$EPOCHREALTIME
  "$@" >>"$work/cmd.log" 2>&1 || { echo "error: failed: $*" >&2; tail -5 "$work/cmd.log" >&2; exit 1; }
  elapsed=$(calc "$EPOCHREALTIME - $t0")
}

echo "building pgstrata (launcher) ..."; "$pgstrata" --version

# ---- Real segments: a cluster that archives (so archive_command is pgstrata's own line), a slot
# so its WAL stays in pg_wal, and a bulk load until enough segments are complete.
pga=$work/pga stage=$work/stage
"$pgstrata" cluster init -q --pgdata "$pga" --port "$port" --pg-version "$pg_version" --archive-to "$work/a-repo" --start >/dev/null
"$pgstrata" demo init -q -p "$port" >/dev/null
sql "$port" "SELECT pg_create_physical_replication_slot('keep', true)" >/dev/null
completed="SELECT name FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}\$' AND name < pg_walfile_name(pg_current_wal_lsn()) ORDER BY name"
seed=1
while [ "$(sql "$port" "$completed" | wc -l)" -le "$segs" ]; do
  # --no-vacuum: the segments hold a bulk load's WAL, not the full-page images of populate's VACUUM.
  "$pgstrata" demo populate -q --no-vacuum --seed "$seed" 300000 -p "$port" >/dev/null; seed=$((seed + 1))
  sql "$port" "SELECT pg_switch_wal()" >/dev/null
done
mkdir -p "$stage/archive_status"   # a pg_wal look-alike: pgstrata batches from archive_status/
mapfile -t names < <(sql "$port" "$completed" | tail -n "$segs")
for n in "${names[@]}"; do cp "$pga/pg_wal/$n" "$stage/"; done
# The value as PostgreSQL reads it: '' inside the quoted setting is one '.
ac=$(sed -n "s/^archive_command = '\(.*\)'\$/\1/p" "$pga/postgresql.conf" | tail -1 | sed "s/''/'/g")
"$pgstrata" cluster stop --pgdata "$pga" >/dev/null   # quiet machine; pgBackRest reads its pg_control
# archive_command is a shell line: a note in the repository's spool (left by a push that archived
# the file ahead) answers at once; otherwise pgstrata's lean JVM entry pushes the file.
case $ac in *" wal push --repo "*" %p; fi") ;; *) echo "error: unexpected archive_command: $ac" >&2; exit 1 ;; esac
java_part=${ac#*else }; java_part=${java_part%% wal push --repo *}
read -ra push_cmd <<<"$java_part wal push"            # java, its flags, -cp, Main, wal push
jvm_flags=("${push_cmd[@]:1:${#push_cmd[@]}-6}")     # the flags between java and -cp
get_cmd=("${push_cmd[@]:0:${#push_cmd[@]}-1}" get)
echo "segments: ${names[0]} .. ${names[-1]} ($segs x 16 MiB)"
echo "archive_command: $ac"

new_pgstrata_repo() { "$pgstrata" repo init -q --repo "$1" --pgdata "$pga" >/dev/null; }
# A throwaway stanza per repository. pgBackRest 2.45 runs as root without complaint, so no extra
# user is needed; --no-online because it reaches the server only over a Unix socket, which these
# clusters do not open (listen 127.0.0.1 only), and stanza-create only needs pg_control offline.
new_pgbackrest_repo() {
  mkdir -p "$1"/{repo,log,lock,spool}
  cat >"$1/pgbackrest.conf" <<EOF
[global]
repo1-path=$1/repo
log-path=$1/log
lock-path=$1/lock
spool-path=$1/spool
compress-type=zst
archive-async=n
log-level-console=warn
log-level-file=off
[bench]
pg1-path=$pga
pg1-port=$port
EOF
  pgbackrest --config="$1/pgbackrest.conf" --stanza=bench --no-online stanza-create >>"$work/cmd.log" 2>&1
}
pbr_push() { pgbackrest --config="$1/pgbackrest.conf" --stanza=bench archive-push "$2"; }
# pgstrata as PostgreSQL runs it: archive_command through sh, %p and %f filled in, for repo $1.
stg_push() {
  local cmd=${ac//"$work/a-repo"/$1}
  cmd=${cmd//%p/$2}; cmd=${cmd//%f/${2##*/}}; cmd=${cmd//%%/%}
  sh -c "$cmd"
}

# Scenario a: each segment pushed alone, nothing else ready; mean seconds per call.
single() {   # tool repo
  local n total=0; rm -f "$stage"/archive_status/*
  for n in "${names[@]}"; do timed "$1" "$2" "$stage/$n"; total=$(calc "$total + $elapsed"); done
  result=$(calc "$total / $segs")
}
# Scenario b: all segments ready, then PostgreSQL's archiver pattern: one call per segment in
# order, each success turning .ready into .done. Seconds per segment over all calls; per-call
# times in $calls.
several() {   # tool repo
  local n total=0; rm -f "$stage"/archive_status/*; calls=''
  for n in "${names[@]}"; do touch "$stage/archive_status/$n.ready"; done
  for n in "${names[@]}"; do
    timed "$1" "$2" "$stage/$n"; calls+=" $elapsed"; total=$(calc "$total + $elapsed")
    mv "$stage/archive_status/$n.ready" "$stage/archive_status/$n.done"
  done
  result=$(calc "$total / $segs")
}

# Receiver: stream during a bulk load; WAL rate until archived, and the slot's retained WAL.
receiver() {   # run-dir; sets rate (MiB/s), max (retained bytes), lag (s after the load), status
  local d=$1 pgb=$1/pgb repo=$1/recv-repo start end target t0 t1 t2 bad=0 n; status=ok
  "$pgstrata" cluster init -q --pgdata "$pgb" --port "$rport" --pg-version "$pg_version" --start >/dev/null
  "$pgstrata" repo init -q --repo "$repo" --pgdata "$pgb" >/dev/null
  "$pgstrata" demo init -q -p "$rport" >/dev/null
  # A second slot keeps the server's own copies in pg_wal, to compare the archived ones with.
  sql "$rport" "SELECT pg_create_physical_replication_slot('keep', true)" >/dev/null
  "$pgstrata" wal receive --repo "$repo" -p "$rport" --slot bench >"$d/receiver.log" 2>&1 & recv_pid=$!
  for _ in $(seq 100); do   # wait until the receiver streams over its slot
    [ "$(sql "$rport" "SELECT count(*) FROM pg_replication_slots WHERE slot_name='bench' AND active")" = 1 ] && break
    kill -0 "$recv_pid" 2>/dev/null || break; sleep 0.1
  done
  # One psql session samples every 0.2 s: WAL the slot holds back (current position - restart_lsn).
  psql -h 127.0.0.1 -p "$rport" -U postgres -d postgres -X -At >"$d/retained" 2>/dev/null <<<"SELECT pg_current_wal_lsn() - restart_lsn FROM pg_replication_slots WHERE slot_name = 'bench' \watch 0.2" &
  sampler_pid=$!
  start=$(sql "$rport" "SELECT pg_current_wal_lsn()"); t0=$EPOCHREALTIME
  "$pgstrata" demo populate -q --no-vacuum "$rows" -p "$rport" >/dev/null; t1=$EPOCHREALTIME   # the bulk load alone
  end=$(sql "$rport" "SELECT pg_current_wal_lsn()")
  # Close the last segment; the receiver is done once the slot's restart_lsn (moved only when
  # a segment is durable in the repository) reaches the new segment's start. This is what
  # --stop-at checks too, but the end LSN is unknown when the receiver has to start.
  sql "$rport" "SELECT pg_switch_wal()" >/dev/null; target=$(sql "$rport" "SELECT pg_current_wal_lsn()")
  while [ "$(sql "$rport" "SELECT restart_lsn >= '$target' FROM pg_replication_slots WHERE slot_name='bench'")" != t ]; do
    if ! kill -0 "$recv_pid" 2>/dev/null; then status="receiver died"; break; fi
    cond "$EPOCHREALTIME - $t1 > 120" && { status="not archived after 120 s"; break; }
    sleep 0.05
  done
  t2=$EPOCHREALTIME
  kill "$sampler_pid" 2>/dev/null || true; wait "$sampler_pid" 2>/dev/null || true; sampler_pid=''
  kill "$recv_pid" 2>/dev/null || true; wait "$recv_pid" 2>/dev/null || true; recv_pid=''
  # Archived segments must be the server's own, byte for byte (the 'keep' slot kept them in pg_wal).
  for n in $(ls "$repo"/archive/*/ 2>/dev/null | sed -n 's/^\([0-9A-F]\{24\}\)-.*/\1/p'); do
    "${get_cmd[@]}" --repo "$repo" "$n" "$d/seg" >/dev/null 2>&1 || { bad=$((bad + 1)); continue; }
    cmp -s "$d/seg" "$pgb/pg_wal/$n" || bad=$((bad + 1))
  done
  [ "$bad" -gt 0 ] && status="${status/#ok/archived through the end}; $bad archived segment(s) with wrong content"
  [ "$status" = ok ] || echo "  receiver: $status; its last words: $(grep -v '^pgstrata: archived' "$d/receiver.log" | tail -1)" >&2
  max=$(awk 'NF && $1+0 > m {m = $1+0} END {print m+0}' "$d/retained")
  "$pgstrata" cluster stop --pgdata "$pgb" >/dev/null
  rate=$(calc "($(lsn_bytes "$end") - $(lsn_bytes "$start")) / 1048576 / ($t2 - $t0)") lag=$(calc "$t2 - $t1")
}

s_a=() b_a=() s_b=() b_b=() r_rate=() r_max=() raw=()
for r in $(seq "$runs"); do
  echo "run $r/$runs ..."; d=$work/run$r; mkdir -p "$d"
  new_pgstrata_repo "$d/s-a"; single stg_push "$d/s-a"; s_a+=("$result")
  new_pgbackrest_repo "$d/b-a"; single pbr_push "$d/b-a"; b_a+=("$result")
  new_pgstrata_repo "$d/s-b"; several stg_push "$d/s-b"; s_b+=("$result"); s_calls=$calls
  new_pgbackrest_repo "$d/b-b"; several pbr_push "$d/b-b"; b_b+=("$result")
  receiver "$d"; r_max+=("$max")   # a rate up to a crash is no throughput: only good runs count
  if [ "$status" = ok ]; then r_rate+=("$rate"); else recv_failed=1 rate="n/a (up to the failure: $rate)"; fi
  raw+=("run $r: 1a pgstrata ${s_a[-1]} pgBackRest ${b_a[-1]}; 1b pgstrata ${s_b[-1]} pgBackRest ${b_b[-1]}")
  raw+=("       1b pgstrata per call:$s_calls; pgBackRest per call:$calls")
  raw+=("       receiver MiB/s $rate, max retained $max B, done $lag s after the load: $status")
done

# Where a push's time goes: the JVM alone, the lean entry up to opening the repository (a missing
# one: exit 17 before any WAL is read), and a segment already archived (start, read, checksum).
jvm=() entry=() again=()
for _ in 1 2 3 4 5; do
  timed "${push_cmd[0]}" "${jvm_flags[@]}" -version; jvm+=("$elapsed")
  t0=$EPOCHREALTIME; "${push_cmd[@]}" --repo "$work/no-repo" "$stage/${names[0]}" >/dev/null 2>&1 || true; entry+=("$(calc "$EPOCHREALTIME - $t0")")
  rm -f "$stage"/archive_status/*; timed stg_push "$work/run1/s-a" "$stage/${names[0]}"; again+=("$elapsed")
done

ms_a=$(median "${s_a[@]}") mb_a=$(median "${b_a[@]}") ms_b=$(median "${s_b[@]}") mb_b=$(median "${b_b[@]}")
mmax=$(printf '%s\n' "${r_max[@]}" | sort -g | tail -1) mrate=n/a
[ ${#r_rate[@]} -gt 0 ] && mrate=$(median "${r_rate[@]}")
verdict() { cond "$@" && echo PASS || echo FAIL; }
v_a=$(verdict "$ms_a <= $mb_a")
v_b=$(verdict "$ms_b <= 0.8 * $mb_b")   # "clearly less": at least 20 % under
v_r=$(verdict "$mmax <= $retain_limit_mb * 1048576 && ${recv_failed:-0} == 0")
echo
echo "raw runs (seconds per 16 MiB segment):"; printf '  %s\n' "${raw[@]}"
echo
echo "push phases (median of 5): JVM alone (${jvm_flags[*]}) $(median "${jvm[@]}") s;" \
  "lean entry to a missing repo $(median "${entry[@]}") s; push of an already archived segment $(median "${again[@]}") s"
echo
printf '%-44s %12s %12s  %s\n' "median of $runs runs" pgstrata pgBackRest result
printf '%-44s %12s %12s  %s\n' "1a. one segment alone, s/segment" "$ms_a" "$mb_a" "$v_a (goal: pgstrata <= pgBackRest)"
printf '%-44s %12s %12s  %s\n' "1b. $segs ready, archiver pattern, s/segment" "$ms_b" "$mb_b" "$v_b (goal: pgstrata <= 0.8 x pgBackRest)"
printf '%-44s %12s %12s\n' "2.  receiver during a $rows-row load, MiB/s" "$mrate" "-"
printf '%-44s %12s %12s  %s\n' "    max retained WAL, bytes (worst run)" "$mmax" "-" "$v_r (goal: <= $retain_limit_mb MiB, receiver keeps up, content right)"
