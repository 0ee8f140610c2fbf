#!/usr/bin/env bash
# Encryption benchmark (issue 17): pgstrata's full backup and files-only restore into an encrypted
# repository against the same into a repository in the clear, on a directory and on an
# S3-compatible server (s3proxy, run by tools/s3-server on loopback), on one throwaway cluster.
# Prints medians, raw runs, the encrypted/clear ratios and the goal: at most 1.10 of the clear time.
#
#   bench/encrypt.sh [--rows N] [--runs N] [--port P] [--workdir DIR]
#
# Environment: ROWS (1000000), RUNS (3), PORT (57340; the restored cluster uses PORT+1 and s3proxy
# PORT+2; all must lie in 57300-57399), PG_VERSION (17), WORKDIR (new dir under /tmp; must be
# absent or empty, and is removed at the end).
#
# Every repository is made first, untimed, with `repo init` (with --encrypt for the encrypted
# ones); the timed commands are pgstrata's defaults (zstd, 2 jobs) and differ only in --repo and,
# for the encrypted repositories, --cipher-pass-file. Times are wall clock of each command, JVM
# start, key derivation and crypto provider included. Each restored copy is started and its
# content compared with the source's.
set -euo pipefail
shopt -s inherit_errexit

rows=${ROWS:-1000000} runs=${RUNS:-3} port=${PORT:-57340} pg_version=${PG_VERSION:-17} work=${WORKDIR:-}
. "$(dirname "$0")/lib.sh"
parse_args 2,16 "$@"
s3_bench_setup
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pgstrata=$root/pgstrata

make_work encbench
log=$work/commands.log src=$work/source pass=$work/cipher-pass
proxy_pid=''
cleanup() {
  local rc=$?
  set +e
  [ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null && wait "$proxy_pid" 2>/dev/null
  finish_work "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "error: line $LINENO: $BASH_COMMAND failed" >&2' ERR

export AWS_ACCESS_KEY_ID=local-access AWS_SECRET_ACCESS_KEY=local-secret-key AWS_EC2_METADATA_DISABLED=true
unset AWS_SESSION_TOKEN AWS_PROFILE PGSTRATA_CIPHER_PASS
s3=(--s3-endpoint "http://127.0.0.1:$s3port" --s3-path-style)
printf '%s\n' 'a passphrase for the encryption bench' >"$pass"
chmod 600 "$pass"

echo "building pgstrata (launcher) ..."; "$pgstrata" --version

start_s3_server "$root"

settled_books_cluster

# Sets repo (the arguments that name repository NAME on BACKEND, with the passphrase for MODE enc).
repo_of() {   # backend mode name
  if [ "$1" = fs ]; then repo=(--repo "$work/fs/$3"); else repo=(--repo "s3://bench/$3" "${s3[@]}"); fi
  if [ "$2" = enc ]; then repo+=(--cipher-pass-file "$pass"); fi
}
init_repo() {   # backend mode name
  repo_of "$@"
  "$pgstrata" repo init -q "${repo[@]}" --pgdata "$src" $( [ "$2" = enc ] && echo --encrypt ) >>"$log" 2>&1
}

# Warm-up, untimed: s3proxy's JIT starts cold, and both backends and modes get a backup and a restore.
for b in fs s3; do
  for mode in clear enc; do
    for w in 1 2; do
      init_repo "$b" "$mode" "warm-$mode-$w"
      "$pgstrata" backup -q "${repo[@]}" --pgdata "$src" -p "$port" >>"$log" 2>&1
      "$pgstrata" restore -q "${repo[@]}" --to "$work/warm-up" >>"$log" 2>&1; rm -rf "$work/warm-up"
    done
  done
done
rm -rf "$work/fs/warm-"* "$work/s3/bench/warm-"*

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "work dir $work; PostgreSQL $pg_version on port $port; s3proxy on $s3port; $runs runs"
echo "$populate_out; database $db_bytes B"

declare -A bw rw
one() {   # backend mode run
  local b=$1 mode=$2 i=$3 dir=$work/restore-$1-$2-$3 t0
  init_repo "$b" "$mode" "run-$mode-$i"
  t0=$EPOCHREALTIME
  "$pgstrata" backup -q "${repo[@]}" --pgdata "$src" -p "$port" --type full >>"$log" 2>&1
  bw[$b-$mode]+=" $(calc "$EPOCHREALTIME - $t0")"
  t0=$EPOCHREALTIME
  "$pgstrata" restore -q "${repo[@]}" --to "$dir" >>"$log" 2>&1
  rw[$b-$mode]+=" $(calc "$EPOCHREALTIME - $t0")"
  "$pgstrata" cluster start -q --pgdata "$dir" --port "$rport" >>"$log" 2>&1
  local got; got=$(checksum "$rport")
  "$pgstrata" cluster stop -q --pgdata "$dir" >>"$log" 2>&1
  if [ "$got" != "$source_hash" ]; then
    echo "error: run $i, $b $mode: the restored content differs from the source's" >&2; exit 1
  fi
  rm -rf "$dir" "$work/fs/run-$mode-$i" "$work/s3/bench/run-$mode-$i"
  echo "run $i, $b $mode: backup ${bw[$b-$mode]##* } s, restore ${rw[$b-$mode]##* } s; content equal"
}

for i in $(seq "$runs"); do
  # Runs alternate which mode goes first, so neither always gets the warmer cache.
  for b in fs s3; do
    if [ $((i % 2)) -eq 1 ]; then one "$b" clear "$i"; one "$b" enc "$i"; else one "$b" enc "$i"; one "$b" clear "$i"; fi
  done
done

m() { printf "%.3f" "$(median $1)"; }
echo
echo "Medians of $runs run(s) (PostgreSQL $pg_version, $rows rows, database $db_bytes B); wall clock, JVM start included"
printf '  %-22s %10s %10s   %s\n' "" "backup s" "restore s" "all runs: backup | restore"
for b in fs s3; do
  for mode in clear enc; do
    printf '  %-22s %10s %10s   %s\n' "$( [ $b = fs ] && echo directory || echo "S3 s3proxy") $( [ $mode = enc ] && echo encrypted || echo clear)" \
      "$(m "${bw[$b-$mode]}")" "$(m "${rw[$b-$mode]}")" "${bw[$b-$mode]# } | ${rw[$b-$mode]# }"
  done
done
echo "  Load average (1/5/15 min) of this $(nproc)-core machine: $load_start before the runs, $(cut -d' ' -f1-3 /proc/loadavg) at the end."
echo
echo "Goal: encrypted at most 1.10 times the clear time (medians)"
for b in fs s3; do
  for what in backup restore; do
    if [ $what = backup ]; then e=$(m "${bw[$b-enc]}") c=$(m "${bw[$b-clear]}"); else e=$(m "${rw[$b-enc]}") c=$(m "${rw[$b-clear]}"); fi
    printf '  %-6s %-9s %-7s %s s vs %s s (x%s; goal x1.10)\n' "$(verdict "$e <= 1.10 * $c")" "$( [ $b = fs ] && echo directory || echo S3)" \
      "$what" "$e" "$c" "$(calc "$e / $c")"
  done
done
