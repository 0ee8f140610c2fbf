# Helpers shared by the bench scripts. Source it after setting $port, $pgstrata and $log.

sql() { PGOPTIONS="-c client_min_messages=warning" psql -h 127.0.0.1 -p "$port" -U postgres -d postgres -X -At -v ON_ERROR_STOP=1 -c "$*"; }
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {printf "%.15g\n", (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
calc() { awk "BEGIN {printf \"%.3f\", $*}"; }
cond() { awk "BEGIN {exit !($*)}"; }
verdict() { cond "$@" && echo met || echo MISSED; }
checksum() { "$pgstrata" demo checksum -p "$1" ${2:+-d "$2"} --json 2>>"$log" | jq -r .combined; }   # port [database]
