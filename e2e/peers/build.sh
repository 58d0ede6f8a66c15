#!/usr/bin/env bash
# Builds the Java test peers: e2e/peers/<module>/target/<module>.jar. Works from any directory.
# Maven runs quietly into a log; this prints one line per module as the reactor reaches it, and the log's tail
# if the build fails.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
modules=(eureka-server spring-service dubbo-provider nacos-server grpc-server)
command -v mvn >/dev/null || { echo "build.sh: mvn not found (apt-get install maven)" >&2; exit 1; }
command -v java >/dev/null || { echo "build.sh: java not found (a JDK 17 is needed)" >&2; exit 1; }
log="$(mktemp "${TMPDIR:-/tmp}/portico-peers-build.XXXXXX")"
trap 'rm -f "$log"' EXIT
echo "build.sh: building ${#modules[@]} Java test peers (${modules[*]}) with Maven"
echo "build.sh: 1-3 min the first time (Maven downloads ~370 MB), about 12 s with a warm ~/.m2"
started=$SECONDS
# The reactor's "Building <name> <version> [n/m]" lines become progress; everything goes to the log.
if ! mvn -B -ntp -f "$here/pom.xml" package -DskipTests "$@" 2>&1 | tee "$log" |
  sed -nu 's/^\[INFO\] Building \([^ ]*\) [^ ]* *\[\([0-9]*\/[0-9]*\)\]$/build.sh: [\2] \1/p'; then
  echo "build.sh: the Maven build failed; the end of its output:" >&2
  tail -n 40 "$log" >&2
  exit 1
fi
for m in "${modules[@]}"; do
  [ -f "$here/$m/target/$m.jar" ] || { echo "build.sh: $here/$m/target/$m.jar was not built" >&2; exit 1; }
done
echo "build.sh: built ${#modules[@]} jars in $((SECONDS - started)) s: e2e/peers/<module>/target/<module>.jar"
