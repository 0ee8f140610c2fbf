#!/usr/bin/env bash
# Cipher benchmark (issue 17, encryption at rest): what AES-256-GCM costs a pgstrata command,
# whose JVM is short-lived and, by the launcher's choice, compiles with C1 only
# (-XX:TieredStopAtLevel=1). For the JDK's own provider under the launcher's options and under
# the default tiered JIT, and for Conscrypt (BoringSSL, native): the time to load the provider,
# to encrypt the first 16 MiB in 1 MiB segments in a fresh JVM (what one WAL segment's
# archive_command would pay), and the rate over the next GiB. No server, no repository.
#
#   bench/cipher.sh [--runs N]
#
# Environment: RUNS (3: each line is printed once per run). Conscrypt is fetched with Maven
# (org.conscrypt:conscrypt-openjdk-uber:2.5.2) into the local repository; without it that line
# says so.
set -euo pipefail
shopt -s inherit_errexit

rows=0 runs=${RUNS:-3} port=0 work=${WORKDIR:-}
. "$(dirname "$0")/lib.sh"
parse_args 2,14 "$@"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
make_work cipherbench
trap 'rm -rf "$work"' EXIT

javac -d "$work" "$root/bench/java/CipherSpeed.java"
conscrypt=org.conscrypt:conscrypt-openjdk-uber:2.5.2
jar=$HOME/.m2/repository/org/conscrypt/conscrypt-openjdk-uber/2.5.2/conscrypt-openjdk-uber-2.5.2.jar
[ -f "$jar" ] || mvn -B -q dependency:get -Dartifact="$conscrypt" >/dev/null 2>&1 || true

echo "AES-256-GCM, 1 MiB segments; $(java -version 2>&1 | head -1); $(nproc) cores"
for r in $(seq "$runs"); do
  java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$work" CipherSpeed jdk | sed 's/^/  launcher JIT (C1)  /'
  java -XX:+UseSerialGC -cp "$work" CipherSpeed jdk | sed 's/^/  tiered JIT (C2)   /'
  if [ -f "$jar" ]; then
    java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -cp "$work:$jar" CipherSpeed conscrypt | sed 's/^/  launcher JIT (C1)  /'
  else
    echo "  conscrypt: $conscrypt could not be fetched"
  fi
done
