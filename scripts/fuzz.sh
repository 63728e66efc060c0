#!/usr/bin/env bash
# scripts/fuzz.sh [--seconds N] [--build-dir DIR]: builds the libFuzzer targets in fuzz/ with
# clang (ASan and UBSan on) and runs each for N seconds (default 300), starting from the seeds
# in fuzz/corpus/<target> (new inputs go to DIR/corpus, the committed seeds stay as they are).
# Exits non-zero when a target crashed, leaving the input in DIR/crash-<target>-*: add it as a
# unit test. `./run fuzz` runs it; ctest's `fuzz` runs it for a few seconds per target.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=300
build=$root/build/fuzz
while [ $# -gt 0 ]; do
  case $1 in
    --seconds) seconds=$2; shift 2 ;;
    --build-dir) build=$2; shift 2 ;;
    -h|--help) sed -n '2,6p' "$0"; exit 0 ;;
    *) echo "fuzz: unknown argument $1" >&2; exit 2 ;;
  esac
done
command -v clang++ >/dev/null || { echo "fuzz: clang++ is missing (./run deps installs it)" >&2; exit 1; }
cmake -S "$root/fuzz" -B "$build" -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=Debug >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
failed=0
for target in config_fuzz http_request_fuzz cluster_view_fuzz; do
  corpus=$build/corpus/$target
  mkdir -p "$corpus"
  log=$build/$target.log
  if "$build/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -artifact_prefix="$build/crash-$target-" "$corpus" "$root/fuzz/corpus/$target" >"$log" 2>&1; then
    echo "fuzz: $target: $(grep -E '^Done' "$log" | tail -1), no crash"
  else
    echo "fuzz: $target FAILED; the input and the report:" >&2
    grep -E 'ERROR|SUMMARY|artifact' "$log" >&2 || tail -20 "$log" >&2
    failed=1
  fi
done
exit $failed
