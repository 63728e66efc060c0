#!/usr/bin/env bash
# ctest drill_partition (root): `baton drill --fault partition-primary` against a demo cluster
# started in network namespaces, in synchronous mode. Passes when the round was measured (the
# drill exits 0) with no acknowledged write lost and no dual-primary window.
set -euo pipefail
if [ "$(id -u)" -ne 0 ]; then
  echo "drill_partition: skipped: needs root (network namespaces, a bridge, iptables)" >&2
  exit 77  # ctest's SKIP_RETURN_CODE
fi
baton=$1
work=$(mktemp -d /tmp/baton-drill-netns.XXXXXX)
chmod 755 "$work"  # PostgreSQL runs as the postgres user below it
cleanup() {
  "$baton" demo stop --dir "$work/demo" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
"$baton" demo start --dir "$work/demo" --network-namespaces --ttl 3 --synchronous-mode quorum
"$baton" drill --demo "$work/demo" --fault partition-primary --rounds 1 --json > "$work/drill.json"
cat "$work/drill.json"
if grep -Eq '"(lost_rows|dual_primary_windows)": *[1-9]' "$work/drill.json"; then
  echo "drill_partition: acknowledged writes lost or a dual-primary window" >&2
  exit 1
fi
grep -Eq '"rounds_measured": *1' "$work/drill.json"
