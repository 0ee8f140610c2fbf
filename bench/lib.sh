# Helpers shared by the bench scripts. The functions read $port, $pgstrata and $log when they run,
# so the file can be sourced first (make_work can run before $log is set).

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
