#!/usr/bin/env bash
# Runs a test binary as an unprivileged user when invoked as root: PostgreSQL refuses to run
# as root. The binaries (and docs/examples, which tests read) are copied to a world-readable
# directory first, since the checkout may sit under a directory (such as /root) that the
# postgres user cannot enter.
set -euo pipefail
binary=$1
shift
if [ "$(id -u)" -ne 0 ]; then
  exec "$binary" "$@"
fi
user=${BATON_TEST_USER:-postgres}
stage=$(mktemp -d /tmp/baton-test-bin.XXXXXX)
trap 'rm -rf "$stage"' EXIT
cp "$binary" "$stage/"
cp "$(dirname "$binary")/../baton" "$stage/baton"
cp -r "$(dirname "$0")/../docs/examples" "$stage/examples"
chmod -R a+rX "$stage"
runuser -u "$user" -- env BATON_BINARY="$stage/baton" BATON_EXAMPLES_DIR="$stage/examples" TMPDIR=/tmp \
  "$stage/$(basename "$binary")" "$@"
