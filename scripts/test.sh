#!/usr/bin/env bash
# Builds and runs every test: a Release build (warnings are errors), the same suite under AddressSanitizer +
# UndefinedBehaviorSanitizer (LeakSanitizer included), and each libFuzzer target for a bounded time.
# Usage: bash scripts/test.sh        (RTCPP_FUZZ_SECONDS=30 and RTCPP_FUZZ_SEED=1 by default, seed 0 = a fresh one;
#                                     RTCPP_SKIP_INTEROP=1 leaves real peers out). Long fuzzing: scripts/fuzz.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
jobs=$(nproc)
fuzz_seconds=${RTCPP_FUZZ_SECONDS:-30}
fuzz_seed=${RTCPP_FUZZ_SEED:-1}
start=$(date +%s)
stamp() { echo "[$(( $(date +%s) - start ))s] $*"; }

groups=(build test)
# Real peers are installed only once there are interop tests to run against them.
if [ -d tests/interop ] && [ "${RTCPP_SKIP_INTEROP:-0}" != 1 ]; then groups+=(interop); fi
stamp "installing dependencies: ${groups[*]}"
bash scripts/install-deps.sh "${groups[@]}"

if [[ " ${groups[*]} " == *" interop "* ]]; then
  stamp "installing playwright-core for the Chromium interop tests (npm)"
  (cd tests/interop && npm ci --no-audit --no-fund --loglevel=error)
fi

label_args=()
[ "${RTCPP_SKIP_INTEROP:-0}" = 1 ] && label_args=(-LE interop)

stamp "release build"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DRTCPP_WERROR=ON >/dev/null
cmake --build build/release -j"$jobs"
stamp "release tests"
(cd build/release && ctest --output-on-failure -j"$jobs" "${label_args[@]}")

stamp "ASan+UBSan build"
cmake -S . -B build/asan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRTCPP_WERROR=ON -DRTCPP_SANITIZE=address,undefined \
  -DRTCPP_BUILD_BENCH=OFF -DRTCPP_BUILD_EXAMPLES=ON >/dev/null
cmake --build build/asan -j"$jobs"
stamp "ASan+UBSan tests"
(cd build/asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --output-on-failure -j"$jobs" -LE "interop|fuzz")

stamp "fuzz build (clang, libFuzzer)"
CC=clang CXX=clang++ cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRTCPP_FUZZ=ON -DRTCPP_WERROR=ON \
  -DRTCPP_SANITIZE=address,undefined -DRTCPP_BUILD_TESTS=OFF -DRTCPP_BUILD_BENCH=OFF -DRTCPP_BUILD_EXAMPLES=OFF \
  -DRTCPP_FUZZ_SECONDS="$fuzz_seconds" -DRTCPP_FUZZ_SEED="$fuzz_seed" >/dev/null
cmake --build build/fuzz -j"$jobs"
stamp "fuzzing each target for ${fuzz_seconds}s (seed ${fuzz_seed})"
(cd build/fuzz && ctest --output-on-failure -j"$jobs" -L fuzz)
stamp "all test stages passed"
