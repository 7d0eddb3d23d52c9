#!/usr/bin/env bash
# Builds rtcpp (Release) and runs the main demo: two rtcpp-peer processes on 127.0.0.1 connect (HTTP signalling,
# ICE, DTLS, SCTP) and move 100 MB over a data channel, printing setup time, throughput and RTT.
# Usage: bash scripts/demo.sh [MEGABYTES]
set -euo pipefail
cd "$(dirname "$0")/.."
mb=${1:-100}
bash scripts/install-deps.sh build
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DRTCPP_BUILD_TESTS=OFF -DRTCPP_BUILD_BENCH=OFF >/dev/null
cmake --build build/release --target rtcpp-peer rtcpp-demo -j"$(nproc)"
peer=build/release/examples/rtcpp-peer
work=$(mktemp -d)
trap 'kill $receiver 2>/dev/null || true; rm -rf "$work"' EXIT
head -c $((mb * 1000000)) /dev/urandom > "$work/in.bin"
port=$((20000 + RANDOM % 20000))
echo "== rtcpp-peer --listen 127.0.0.1:$port --receive-file (receiver)"
"$peer" --listen "127.0.0.1:$port" --bind 127.0.0.1 --receive-file "$work/out.bin" --timeout 120 &
receiver=$!
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
echo "== rtcpp-peer --connect http://127.0.0.1:$port/offer --send-file ($mb MB)"
"$peer" --connect "http://127.0.0.1:$port/offer" --bind 127.0.0.1 --send-file "$work/in.bin" --timeout 120
wait $receiver
cmp "$work/in.bin" "$work/out.bin" && echo "== the receiver's copy is identical ($mb MB)"
echo "== the simulated network and the runtime on their own:"
./build/release/examples/rtcpp-demo
