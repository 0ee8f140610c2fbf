# Helpers shared by the bench scripts. Source it after setting $port, $pgstrata and $log
# (make_work can run before $log is set).

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
