# Helpers shared by the bench scripts. The functions read $port, $pgstrata, $log, $work and (the
# pgBackRest ones) $src, $pbr and $sock when they run, so the file can be sourced first (make_work
# can run before $log is set).

sql() { PGOPTIONS="-c client_min_messages=warning" psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -X -At -v ON_ERROR_STOP=1 -c "$*"; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {printf "%.15g\n", (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
calc() { awk "BEGIN {printf \"%.3f\", $*}"; }
cond() { awk "BEGIN {exit !($*)}"; }
verdict() { cond "$@" && echo met || echo MISSED; }
checksum() { "$pgstrata" demo checksum -p "$1" ${2:+-d "$2"} --json 2>>"$log" | jq -r .combined; }   # port [database]

# make_work NAME: $work becomes the --workdir given (new or empty: it is removed at the end) or a
# new directory /tmp/NAME.XXXXXX
make_work() {
  if [ -z "$work" ]; then
    work=$(mktemp -d "/tmp/$1.XXXXXX")
  elif [ -e "$work" ] && [ -n "$(ls -A "$work")" ]; then
    echo "error: $work is not empty; it is removed at the end, so give a new or empty directory" >&2; exit 2
  fi
  mkdir -p "$work"
}

# parse_args LINES "$@": the options every bench script takes, into $rows, $runs, $port and $work;
# -h prints LINES (sed's range, e.g. 2,16) of the script's header comment. Anything else is refused.
parse_args() {
  local help=$1; shift
  while [ $# -gt 0 ]; do
    case $1 in
      --rows) rows=$2; shift 2 ;;
      --runs) runs=$2; shift 2 ;;
      --port) port=$2; shift 2 ;;
      --workdir) work=$2; shift 2 ;;
      -h|--help) sed -n "${help}p" "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
      *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
    esac
  done
}

# timed OUT CMD...: runs CMD (a program, not a shell function), its stdout into OUT and its stderr onto $log. Sets wall (seconds,
# wall clock), rss (MB: the peak resident memory of its largest process, from GNU time -v;
# without /usr/bin/time, VmHWM of the process and its children polled every 50 ms) and cpu (seconds of
# user plus system time of it and the children it waited for, from GNU time -v; empty without it).
timed() {
  local out=$1 t0=$EPOCHREALTIME pid kb p; shift
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -v -o "$out.time" "$@" >"$out" 2>>"$log"
    wall=$(calc "$EPOCHREALTIME - $t0")
    rss=$(awk -F': *' '/Maximum resident set size/ {printf "%.0f", $2 / 1024}' "$out.time")
    cpu=$(awk -F': *' '/User time|System time/ {s += $2} END {printf "%.2f", s}' "$out.time"); rm -f "$out.time"
  else
    "$@" >"$out" 2>>"$log" & pid=$! kb=0
    while kill -0 "$pid" 2>/dev/null; do
      for p in "$pid" $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
        kb=$(awk -v m="$kb" '/^VmHWM/ {m = ($2 > m) ? $2 : m} END {print m}' "/proc/$p/status" 2>/dev/null || echo "$kb")
      done
      sleep 0.05
    done
    wait "$pid"
    wall=$(calc "$EPOCHREALTIME - $t0") rss=$(calc "$kb / 1024") cpu=""
  fi
}

# pbr_setup [LINE...]: pgBackRest for the stopped cluster in $src (port $port): its configuration
# in $pbr/pgbackrest.conf (zstd level 3, process-max 2, start-fast; LINEs are added to [global]),
# a Unix socket in $sock (pgBackRest reaches a local server only through one, which 'cluster
# init' does not open) and archive_command = archive-push (its backups require it); then starts
# the cluster and creates the stanza "bench".
pbr_setup() {
  mkdir -p "$sock" "$pbr"/{repo,log,lock,spool}
  printf '%s\n' "[global]" "repo1-path=$pbr/repo" "repo1-retention-full=100" "log-path=$pbr/log" "lock-path=$pbr/lock" \
    "spool-path=$pbr/spool" "compress-type=zst" "compress-level=3" "process-max=2" "start-fast=y" "archive-async=n" \
    "log-level-console=warn" "log-level-file=off" "$@" \
    "[bench]" "pg1-path=$src" "pg1-port=$port" "pg1-socket-path=$sock" "pg1-user=postgres" >"$pbr/pgbackrest.conf"
  printf '%s\n' "# Added by bench/$(basename "$0"): a socket for pgBackRest, and WAL archiving into its repository." \
    "unix_socket_directories = '$sock'" "archive_mode = on" \
    "archive_command = 'pgbackrest --config=$pbr/pgbackrest.conf --stanza=bench archive-push %p'" >>"$src/postgresql.conf"
  "$pgstrata" cluster start -q --pgdata "$src" >>"$log" 2>&1
  pbr stanza-create >>"$log" 2>&1
  pbr check >>"$log" 2>&1
}
pbr() { pgbackrest --config="$pbr/pgbackrest.conf" --stanza=bench "$@"; }

# b_backup TYPE: one pgBackRest backup. Sets wall, rss (see timed), label (its backup set) and du
# (bytes of the set's directory; its WAL stays in the archive).
b_backup() {
  timed "$work/pbr.out" pgbackrest --config="$pbr/pgbackrest.conf" --stanza=bench backup --type="$1"; cat "$work/pbr.out" >>"$log"
  label=$(pbr info --output=json | jq -r '.[0].backup[-1].label')
  case $label in *"${1:0:1}" | *"$(tr a-z A-Z <<<"${1:0:1}")") ;; *) echo "error: pgBackRest made $label, not a $1" >&2; exit 1 ;; esac
  du=$(du -sb "$pbr/repo/backup/bench/$label" | cut -f1)
}

# on_exit PATTERN...: at exit stop the clusters this script started, in the data directories that
# $work/PATTERN names then (globs: "source" "run*/ready-*"), remove $work, and after a failure show
# the end of $log; Ctrl-C exits 130; a failing command is named with its line.
on_exit() {
  exit_dirs=("$@")
  trap bench_cleanup EXIT
  trap 'exit 130' INT TERM
  trap 'echo "error: line $LINENO: $BASH_COMMAND failed" >&2' ERR
}
bench_cleanup() {
  local rc=$? p d
  set +e
  [ "$rc" -ne 0 ] && [ -f "$log" ] && { echo "--- failed (exit $rc); last lines of $log:" >&2; tail -n 15 "$log" >&2; }
  for p in "${exit_dirs[@]}"; do
    for d in "$work"/$p; do   # the pattern unquoted: its glob expands here
      [ -f "$d/postmaster.pid" ] && "$pgstrata" cluster stop -q --pgdata "$d" >/dev/null 2>&1
    done
  done
  rm -rf "$work"
}

# s3_bench_setup: for the S3 benches (s3.sh, encrypt.sh), after parse_args: $rport and $s3port
# beside $port, all in 57300-57399; psql and jq present; the three ports free.
s3_bench_setup() {
  rport=$((port + 1)) s3port=$((port + 2))
  if [ "$port" -lt 57300 ] || [ "$s3port" -gt 57399 ]; then
    echo "error: ports $port, $rport and $s3port must lie in 57300-57399 (other ports belong to other work)" >&2; exit 2
  fi
  local c p
  for c in psql jq; do
    command -v "$c" >/dev/null || { echo "error: $c is missing; apt-get install -y ${c/psql/postgresql-client}" >&2; exit 1; }
  done
  for p in "$port" "$rport" "$s3port"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
      echo "error: port $p is in use; pick another base with --port" >&2; exit 2
    fi
  done
}

# start_s3_server ROOT: tools/s3-server (s3proxy) on $s3port, its objects under $work/s3; sets
# $proxy_pid (the script execs java, so this is s3proxy itself) and waits until it listens. Its first
# run resolves it with Maven: not timed.
start_s3_server() {
  local out=$work/s3proxy.log
  "$1/tools/s3-server" --dir "$work/s3" --port "$s3port" >"$out" 2>&1 &
  proxy_pid=$!
  for _ in $(seq 600); do
    (exec 3<>"/dev/tcp/127.0.0.1/$s3port") 2>/dev/null && return 0
    kill -0 "$proxy_pid" 2>/dev/null || { echo "error: tools/s3-server ended:" >&2; tail -n 20 "$out" >&2; exit 1; }
    sleep 0.5
  done
  echo "error: s3proxy does not listen on $s3port after 300 s" >&2; exit 1
}

# settled_books_cluster: a cluster in $src on $port with $rows books, settled as bench/full-backup.sh
# does (so that autovacuum and the first checkpoint after the load land in no timed command); sets
# $populate_out, $db_bytes and $source_hash.
settled_books_cluster() {
  "$pgstrata" cluster init -q --pgdata "$src" --port "$port" --pg-version "$pg_version" --start >>"$log" 2>&1
  "$pgstrata" demo init -q -p "$port" >>"$log" 2>&1
  populate_out=$("$pgstrata" demo populate "$rows" -p "$port" 2>>"$log")
  sql "VACUUM ANALYZE" >/dev/null
  sql "CHECKPOINT" >/dev/null
  db_bytes=$(sql "SELECT pg_database_size(current_database())")
  source_hash=$(checksum "$port")
}

# finish_work RC: what every script's EXIT trap does: on failure (RC not 0) the tail of $log; the
# servers of $src and $work/restore-* stopped; $work removed.
finish_work() {
  [ "$1" -ne 0 ] && [ -f "$log" ] && { echo "--- failed (exit $1); last lines of $log:" >&2; tail -n 15 "$log" >&2; }
  for d in "$src" "$work"/restore-*; do
    [ -f "$d/postmaster.pid" ] && "$pgstrata" cluster stop -q --pgdata "$d" >/dev/null 2>&1
  done
  rm -rf "$work"
}
