#!/usr/bin/env bash
# Builds the Java test peers: e2e/peers/<module>/target/<module>.jar. Works from any directory.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
command -v mvn >/dev/null || { echo "build.sh: mvn not found (apt-get install maven)" >&2; exit 1; }
command -v java >/dev/null || { echo "build.sh: java not found (a JDK 17 is needed)" >&2; exit 1; }
mvn -B -q -f "$here/pom.xml" package -DskipTests "$@"
for m in eureka-server spring-service dubbo-provider nacos-server; do
  [ -f "$here/$m/target/$m.jar" ] || { echo "build.sh: $here/$m/target/$m.jar was not built" >&2; exit 1; }
done
