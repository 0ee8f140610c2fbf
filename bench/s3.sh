#!/usr/bin/env bash
# S3 benchmark: pgstrata's full backup and restore into an S3-compatible server (s3proxy, run by
# tools/s3-server on loopback) against the same into a directory, on one throwaway cluster.
# Prints medians, raw runs, the S3/filesystem ratios and the goals (issue 16): S3 backup at most
# 1.5 x the filesystem's, S3 restore at most 1.3 x.
#
#   bench/s3.sh [--rows N] [--runs N] [--port P] [--workdir DIR]
#
# Environment: ROWS (1000000), RUNS (3), PORT (57300; the restored cluster uses PORT+1 and s3proxy
# PORT+2; all must lie in 57300-57399), PG_VERSION (17), WORKDIR (new dir under /tmp; must be
# absent or empty, and is removed at the end).
#
# Both backends get the same commands with pgstrata's defaults (zstd, 2 jobs); only --repo differs.
# s3proxy keeps its objects under WORKDIR, beside the filesystem repositories: one disk for both.
# Times are wall clock of each command, JVM start included. After an untimed warm-up (below),
# each run takes a full backup into a new repository (a new directory; a new prefix
# s3://bench/run-N) and restores it, files only, into an empty directory; that copy is then
# started and its content compared with the source's.
set -euo pipefail
shopt -s inherit_errexit   # a failure inside $(...) ends the script too

rows=${ROWS:-1000000} runs=${RUNS:-3} port=${PORT:-57300} pg_version=${PG_VERSION:-17} work=${WORKDIR:-}
. "$(dirname "$0")/lib.sh"
parse_args 2,17 "$@"
s3_bench_setup
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pgstrata=$root/pgstrata

make_work s3bench
log=$work/commands.log src=$work/source

proxy_pid=''
cleanup() {   # everything this script started, and nothing else
  local rc=$?
  set +e
  [ "$rc" -ne 0 ] && [ -f "$log" ] && { echo "--- failed (exit $rc); last lines of $log:" >&2; tail -n 15 "$log" >&2; }
  for d in "$src" "$work"/restore-*; do
    [ -f "$d/postmaster.pid" ] && "$pgstrata" cluster stop -q --pgdata "$d" >/dev/null 2>&1
  done
  [ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null && wait "$proxy_pid" 2>/dev/null
  rm -rf "$work"   # also holds s3proxy's objects
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "error: line $LINENO: $BASH_COMMAND failed" >&2' ERR

# The local key pair of tools/s3-server, for it and for pgstrata (the AWS SDK reads them from here);
# a session token left in the environment would spoil the signatures. pgstrata no longer asks the
# EC2 instance metadata service (169.254.169.254) for a region when --s3-endpoint is given (it once
# waited about 2 s there in every S3 command); AWS_EC2_METADATA_DISABLED stays as a guard, since
# no traffic of this bench may leave loopback.
export AWS_ACCESS_KEY_ID=local-access AWS_SECRET_ACCESS_KEY=local-secret-key AWS_EC2_METADATA_DISABLED=true
unset AWS_SESSION_TOKEN AWS_PROFILE
s3=(--s3-endpoint "http://127.0.0.1:$s3port" --s3-path-style)

echo "building pgstrata (launcher) ..."; "$pgstrata" --version

# ---- s3proxy, started once.
start_s3_server "$root"
# CPU seconds (user + system) of s3proxy, and of the finished children of this script.
ticks=$(getconf CLK_TCK)
proxy_cpu() { awk -v t="$ticks" '{printf "%.2f", ($14 + $15) / t}' "/proc/$proxy_pid/stat"; }
children_cpu() { awk -v t="$ticks" '{printf "%.2f", ($16 + $17) / t}' "/proc/$$/stat"; }

# ---- The cluster: the books table, settled.
settled_books_cluster

# Sets $store (the repository's directory, or s3proxy's for its prefix) and the repo arguments.
repo_of() {   # backend name
  if [ "$1" = fs ]; then
    store=$work/fs/$2 repo=(--repo "$store")
  else
    store=$work/s3/bench/$2 repo=(--repo "s3://bench/$2" "${s3[@]}")
  fi
}
# A warm-up, not timed. s3proxy's JIT starts cold where a real S3 service is warm: its first backup
# took about twice as long as the later ones, and its CPU per restore (then about 800 requests;
# about 50 since bundles are read whole) fell from 4 s to under 1 s over the first four. Its CPU
# per backup settles only after about three backups (C2: 1.3, 1.1, 0.7, then 0.3-0.6 s; C1 only,
# as tools/s3-server now runs it: 0.9, 0.5, 0.45, then 0.35-0.45 s), so S3 gets three backups
# and four restores. It also creates the bucket. The filesystem gets a backup and a restore too,
# so that both backends then read an equally warm source.
for b in fs s3; do
  for w in $( [ "$b" = s3 ] && echo 1 2 3 || echo 1); do
    repo_of "$b" "warm-up-$w"
    "$pgstrata" backup -q "${repo[@]}" --pgdata "$src" -p "$port" >>"$log" 2>&1
  done
  for _ in $( [ "$b" = s3 ] && echo 1 2 3 4 || echo 1); do
    "$pgstrata" restore -q "${repo[@]}" --to "$work/warm-up" >>"$log" 2>&1; rm -rf "$work/warm-up"
  done
  rm -rf "$work/fs/warm-up-"* "$work/s3/bench/warm-up-"*
done

load_start=$(cut -d' ' -f1-3 /proc/loadavg)
echo "work dir $work; PostgreSQL $pg_version on port $port; s3proxy on $s3port (pid $proxy_pid); $runs runs"
echo "$populate_out; database $db_bytes B"

# One pgstrata command, timed: wall clock into $wall, its JSON result into $out, and the CPU
# seconds it spent into $cpu, s3proxy meanwhile into $pcpu.
timed() {
  local t0 c0 p0
  c0=$(children_cpu) p0=$(proxy_cpu) t0=$EPOCHREALTIME
  out=$("$pgstrata" "$@" --json 2>>"$log")
  wall=$(calc "$EPOCHREALTIME - $t0") pcpu=$(calc "$(proxy_cpu) - $p0") cpu=$(calc "$(children_cpu) - $c0")
}
# A full backup and a files-only restore on one backend, then the restored copy started and its
# content compared with the source's. Appends to the arrays of that backend.
declare -A b_wall b_sec b_bytes b_du r_wall r_sec b_cpu r_cpu b_pcpu r_pcpu
one() {   # backend run
  local b=$1 i=$2 dir=$work/restore-$1-$2 store; local -a repo
  repo_of "$b" "run-$i"
  timed backup "${repo[@]}" --pgdata "$src" -p "$port" --type full
  b_wall[$b]+=" $wall" b_sec[$b]+=" $(jq -r '.seconds * 1000 | round / 1000' <<<"$out")" b_cpu[$b]+=" $cpu" b_pcpu[$b]+=" $pcpu"
  b_bytes[$b]+=" $(jq -r .repositoryBytes <<<"$out")" b_du[$b]+=" $(du -sb "$store" | cut -f1)"
  timed restore "${repo[@]}" --to "$dir"
  r_wall[$b]+=" $wall" r_sec[$b]+=" $(jq -r '.filesSeconds * 1000 | round / 1000' <<<"$out")" r_cpu[$b]+=" $cpu" r_pcpu[$b]+=" $pcpu"
  # A fast copy is worth nothing if it is wrong: start it (its configured port is the source's).
  "$pgstrata" cluster start -q --pgdata "$dir" --port "$rport" >>"$log" 2>&1
  local got; got=$(checksum "$rport")
  "$pgstrata" cluster stop -q --pgdata "$dir" >>"$log" 2>&1
  if [ "$got" != "$source_hash" ]; then
    echo "error: run $i, $b: the restored content differs from the source's ($got, expected $source_hash)" >&2; exit 1
  fi
  rm -rf "$dir" "$store"   # under s3proxy's feet: its filesystem backend keeps no state of its own
  local bp='' rp=''   # s3proxy's share, where it serves
  [ "$b" = s3 ] && bp=" + s3proxy ${b_pcpu[$b]##* }" rp=" + ${r_pcpu[$b]##* }"
  echo "run $i, $b: backup ${b_wall[$b]##* } s (${b_sec[$b]##* } in-process, CPU ${b_cpu[$b]##* }$bp), ${b_bytes[$b]##* } B;" \
    "restore ${r_wall[$b]##* } s (${r_sec[$b]##* }, CPU ${r_cpu[$b]##* }$rp); content equal"
}

for i in $(seq "$runs"); do
  # Runs alternate which backend goes first, so neither always gets the warmer cache.
  if [ $((i % 2)) -eq 1 ]; then one fs "$i"; one s3 "$i"; else one s3 "$i"; one fs "$i"; fi
done

m() { printf "%.${2:-3}f" "$(median $1)"; }   # LIST [DECIMALS]: the median of a backend's list
fb=$(m "${b_wall[fs]}") sb=$(m "${b_wall[s3]}") fr=$(m "${r_wall[fs]}") sr=$(m "${r_wall[s3]}")
echo
echo "Medians of $runs run(s) (PostgreSQL $pg_version, $rows rows, database $db_bytes B); wall clock, JVM start included"
row() { printf '  %-12s %10s %10s %14s %14s   %s\n' "$@"; }
row backend "backup s" "restore s" "repository B" "du -sb B" "all runs: backup | restore (in-process backup | restore)"
for b in fs s3; do
  row "$( [ $b = fs ] && echo filesystem || echo "S3 s3proxy")" "$(m "${b_wall[$b]}")" "$(m "${r_wall[$b]}")" \
    "$(m "${b_bytes[$b]}" 0)" "$(m "${b_du[$b]}" 0)" "${b_wall[$b]# } | ${r_wall[$b]# } (${b_sec[$b]# } | ${r_sec[$b]# })"
done
row "S3/fs" "x$(calc "$sb / $fb")" "x$(calc "$sr / $fr")" "" "" ""
echo "  CPU s, median backup | restore: filesystem pgstrata $(m "${b_cpu[fs]}") | $(m "${r_cpu[fs]}");" \
  "S3 pgstrata $(m "${b_cpu[s3]}") | $(m "${r_cpu[s3]}") + s3proxy $(m "${b_pcpu[s3]}") | $(m "${r_pcpu[s3]}") (all on the same $(nproc) cores)"
echo "  repository B is pgstrata's repositoryBytes; du -sb counts the directory, or s3proxy's files of the prefix."
echo "  Every restore was started and its content equals the source's."
echo "  Load average (1/5/15 min) of this $(nproc)-core machine: $load_start before the runs, $(cut -d' ' -f1-3 /proc/loadavg) at the end."
echo
echo "Goals: S3 backup at most 1.5 times the filesystem's, S3 restore at most 1.3 times (medians)"
printf '  %-6s backup  %s s vs %s s (x%s; goal x1.5)\n' "$(verdict "$sb <= 1.5 * $fb")" "$sb" "$fb" "$(calc "$sb / $fb")"
printf '  %-6s restore %s s vs %s s (x%s; goal x1.3)\n' "$(verdict "$sr <= 1.3 * $fr")" "$sr" "$fr" "$(calc "$sr / $fr")"
