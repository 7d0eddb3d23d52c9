#!/usr/bin/env bash
# Open-ended fuzzing with fresh seeds, for finding new bugs (CI runs each target briefly from a fixed seed).
# Usage: bash scripts/fuzz.sh [SECONDS per target, default 600] [TARGET ...]   (targets: names without fuzz_)
# Each target grows its own corpus under build/fuzz-campaign/<what>/ (kept between runs). A crash is minimised and
# copied to fuzz/regressions/<what>/, where the normal builds replay it; fix the bug, then commit the input.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
seconds=${1:-600}
shift || true
CC=clang CXX=clang++ cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRTCPP_FUZZ=ON -DRTCPP_WERROR=ON \
  -DRTCPP_SANITIZE=address,undefined -DRTCPP_BUILD_TESTS=OFF -DRTCPP_BUILD_BENCH=OFF -DRTCPP_BUILD_EXAMPLES=OFF \
  >/dev/null
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for src in fuzz/fuzz_*.cpp; do targets+=("$(basename "$src" .cpp | sed 's/^fuzz_//')"); done
fi
cmake --build build/fuzz -j"$(nproc)" --target "${targets[@]/#/fuzz_}"
failed=0
for what in "${targets[@]}"; do
  work=$root/build/fuzz-campaign/$what
  mkdir -p "$work/corpus" "$work/artifacts"
  for seeds in "fuzz/corpus/$what" "fuzz/regressions/$what"; do
    [ -d "$seeds" ] && cp -n "$seeds"/* "$work/corpus/" 2>/dev/null || true
  done
  echo "== $what: ${seconds}s"
  if ! "build/fuzz/fuzz/fuzz_$what" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$work/artifacts/" "$work/corpus" >"$work/log" 2>&1; then
    failed=1
    for crash in "$work"/artifacts/*; do
      [ -f "$crash" ] || continue
      min=$work/artifacts/min-$(basename "$crash")
      "build/fuzz/fuzz/fuzz_$what" -minimize_crash=1 -max_total_time=60 -exact_artifact_path="$min" "$crash" \
        >/dev/null 2>&1 || true
      mkdir -p "fuzz/regressions/$what"
      cp "$( [ -s "$min" ] && echo "$min" || echo "$crash")" "fuzz/regressions/$what/"
      echo "   crash: $crash -> fuzz/regressions/$what/"
    done
    grep -A30 -m1 "ERROR" "$work/log" || tail -n 30 "$work/log"
  fi
  grep -h "stat::number_of_executed_units" "$work/log" || true
done
exit $failed
