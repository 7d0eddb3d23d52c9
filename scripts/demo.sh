#!/usr/bin/env bash
# Builds rtcpp (Release) and runs the main demo. Usage: bash scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh build
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DRTCPP_BUILD_TESTS=OFF -DRTCPP_BUILD_BENCH=OFF >/dev/null
cmake --build build/release --target rtcpp-demo -j"$(nproc)"
./build/release/examples/rtcpp-demo
