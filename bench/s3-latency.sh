#!/usr/bin/env bash
# S3 round trips: `list` and a files-only `restore` of the newest backup of a repository of many
# backups (a full, then incrementals) on an S3-compatible server (s3proxy, by tools/s3-server on
# loopback), directly and through bench/lagproxy.py, which holds every request for LAG_MS as a
# store across a network would. Every command that lists or chooses a backup reads the catalogue
# (one manifest per backup), so what each request waits shows up once per backup read one after
# another. Prints medians and raw runs; the last restored copy is started and its content compared
# with the source's.
#
#   bench/s3-latency.sh [--rows N] [--runs N] [--port P] [--workdir DIR]
#
# Environment: ROWS (100000), RUNS (3), BACKUPS (30), LAG_MS (20), PORT (57320; the restored
# cluster uses PORT+1, s3proxy PORT+2 and the lagging proxy PORT+3; all must lie in 57300-57399),
# PG_VERSION (17), WORKDIR (new dir under /tmp; must be absent or empty, and is removed at the end),
# REQUEST_LOG (a file: the lagging proxy appends each request's first line and time there, to see
# which requests went one after another).
set -euo pipefail
shopt -s inherit_errexit

rows=${ROWS:-100000} runs=${RUNS:-3} port=${PORT:-57320} pg_version=${PG_VERSION:-17} work=${WORKDIR:-}
backups=${BACKUPS:-30} lag_ms=${LAG_MS:-20}
. "$(dirname "$0")/lib.sh"
parse_args 2,16 "$@"
s3_bench_setup
lagport=$((port + 3))
[ "$lagport" -le 57399 ] || { echo "error: port $lagport (PORT+3) must lie in 57300-57399" >&2; exit 2; }
command -v python3 >/dev/null || { echo "error: python3 is missing (for bench/lagproxy.py)" >&2; exit 1; }
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
pgstrata=$root/pgstrata

make_work s3lat
log=$work/commands.log src=$work/source
proxy_pid='' lag_pid=''
cleanup() {
  local rc=$?
  set +e
  [ -n "$lag_pid" ] && kill "$lag_pid" 2>/dev/null && wait "$lag_pid" 2>/dev/null
  [ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null && wait "$proxy_pid" 2>/dev/null
  finish_work "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
trap 'echo "error: line $LINENO: $BASH_COMMAND failed" >&2' ERR

export AWS_ACCESS_KEY_ID=local-access AWS_SECRET_ACCESS_KEY=local-secret-key AWS_EC2_METADATA_DISABLED=true
unset AWS_SESSION_TOKEN AWS_PROFILE
direct=(--s3-endpoint "http://127.0.0.1:$s3port" --s3-path-style)
lagged=(--s3-endpoint "http://127.0.0.1:$lagport" --s3-path-style)
repo=(--repo s3://bench/many)

echo "building pgstrata (launcher) ..."; "$pgstrata" --version
start_s3_server "$root"
python3 "$root/bench/lagproxy.py" "$lagport" "$s3port" "$(calc "$lag_ms / 1000")" ${REQUEST_LOG:+"$REQUEST_LOG"} >>"$log" 2>&1 &
lag_pid=$!
settled_books_cluster

echo "making $backups backups (a full, then incrementals after a small change each) ..."
"$pgstrata" backup -q "${repo[@]}" "${direct[@]}" --pgdata "$src" -p "$port" >>"$log" 2>&1
for _ in $(seq 2 "$backups"); do
  "$pgstrata" demo mutate --insert 100 --update 100 -p "$port" >>"$log" 2>&1
  "$pgstrata" backup -q --type incr "${repo[@]}" "${direct[@]}" --pgdata "$src" -p "$port" >>"$log" 2>&1
done
expected=$(checksum "$port")
newest=$("$pgstrata" list --json "${repo[@]}" "${direct[@]}" 2>>"$log" | jq -r '.[-1].id')
chain=$("$pgstrata" list --json "${repo[@]}" "${direct[@]}" 2>>"$log" | jq -r '.[-1].chain | length')
# Warm-up, untimed: s3proxy's JIT.
for _ in 1 2; do
  "$pgstrata" list "${repo[@]}" "${direct[@]}" >/dev/null 2>>"$log"
  "$pgstrata" restore -q "${repo[@]}" "${direct[@]}" --to "$work/warm" >>"$log" 2>&1; rm -rf "$work/warm"
done

declare -A t
add() { t[$1]="${t[$1]:-} $2"; }
for r in $(seq "$runs"); do
  for how in direct lagged; do
    if [ "$how" = direct ]; then ep=("${direct[@]}"); else ep=("${lagged[@]}"); fi
    t0=$EPOCHREALTIME; "$pgstrata" list "${repo[@]}" "${ep[@]}" >/dev/null 2>>"$log"; add "list-$how" "$(calc "$EPOCHREALTIME - $t0")"
    rm -rf "$work/restore-x"
    t0=$EPOCHREALTIME; "$pgstrata" restore -q "${repo[@]}" "${ep[@]}" --to "$work/restore-x" >>"$log" 2>&1
    add "restore-$how" "$(calc "$EPOCHREALTIME - $t0")"
  done
done
# The last copy, started, proven by content.
"$pgstrata" cluster start -q --pgdata "$work/restore-x" --port "$rport" >>"$log" 2>&1
for _ in $(seq 600); do [ "$(port=$rport sql "SELECT pg_is_in_recovery()" 2>/dev/null)" = f ] && break; sleep 0.1; done
got=$(checksum "$rport")
"$pgstrata" cluster stop -q --pgdata "$work/restore-x" >>"$log" 2>&1

echo
echo "$populate_out; $backups backups in s3://bench/many; the newest, $newest, reads a chain of $chain; $runs run(s)"
printf '  %-34s %10s %10s   %s\n' "command" "direct s" "+${lag_ms} ms s" "all runs: direct | lagged"
for c in list restore; do
  # shellcheck disable=SC2086
  printf '  %-34s %10s %10s   %s |%s\n' "$c$( [ $c = restore ] && echo ' (files, the newest)')" \
    "$(median ${t[$c-direct]})" "$(median ${t[$c-lagged]})" "${t[$c-direct]}" "${t[$c-lagged]}"
done
echo "  each request waits about $lag_ms ms more through the proxy: (lagged - direct) / $lag_ms ms = the requests one after another"
# shellcheck disable=SC2086
for c in list restore; do
  echo "    $c: $(calc "($(median ${t[$c-lagged]}) - $(median ${t[$c-direct]})) * 1000 / $lag_ms") requests in sequence"
done
if [ "$got" = "$expected" ]; then echo "  the restored copy equals the source (demo checksum)"; else echo "  MISSED: the restored copy differs from the source" >&2; exit 1; fi
