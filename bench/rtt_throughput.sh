#!/usr/bin/env bash
# Data-channel throughput over a real 50 ms and 100 ms RTT path, beside TCP (iperf3) over the same path in the
# same run (issue #5, Benchmarks). Needs root (network namespaces, TUN), iperf3, jq.
#
#   bench/rtt_throughput.sh [BUILD_DIR] [RTT_MS...]     (default: build/rel, RTTs 50 100)
#
# Path: namespace A (10.201.1.2) -- veth -- router R -- veth -- namespace B (10.201.2.2). In R, policy routing
# sends every packet arriving from either veth into a TUN device; rtcpp-delay-forwarder holds it for RTT/2 and
# writes it back, and the kernel routes it on. Per RTT: iperf3 TCP for DURATION s (default 10), then rtcpp-peer
# --send-file (A) to rtcpp-peer --receive-file (B) with a file sized to TCP's rate x DURATION. Prints
# `name value unit` lines. Everything is deleted on exit.
set -euo pipefail

BUILD=${1:-build/rel}
shift || true
RTTS=("$@")
[ ${#RTTS[@]} -eq 0 ] && RTTS=(50 100)
DURATION=${DURATION:-10}
PEER=$BUILD/examples/rtcpp-peer
FWD=$BUILD/bench/rtcpp-delay-forwarder
for bin in "$PEER" "$FWD"; do
    [ -x "$bin" ] || { echo "missing $bin (build rtcpp-peer and rtcpp-delay-forwarder)" >&2; exit 1; }
done
command -v iperf3 >/dev/null || { echo "iperf3 is not installed (apt-get install iperf3)" >&2; exit 1; }
command -v jq >/dev/null || { echo "jq is not installed" >&2; exit 1; }

TAG=hrtt$$
NA=$TAG-a NR=$TAG-r NB=$TAG-b
A_IP=10.201.1.2 B_IP=10.201.2.2
WORK=$(mktemp -d)
PIDS=()

cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    for n in $NA $NR $NB; do ip netns del "$n" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

in_a() { ip netns exec "$NA" "$@"; }
in_b() { ip netns exec "$NB" "$@"; }
in_r() { ip netns exec "$NR" "$@"; }

for n in $NA $NR $NB; do ip netns add "$n"; ip -n "$n" link set lo up; done
# Created inside R: no interface name ever exists in the caller's namespace.
ip -n "$NR" link add ra type veth peer name a0 netns "$NA"
ip -n "$NR" link add rb type veth peer name b0 netns "$NB"
ip -n "$NA" addr add $A_IP/24 dev a0; ip -n "$NA" link set a0 up
ip -n "$NB" addr add $B_IP/24 dev b0; ip -n "$NB" link set b0 up
ip -n "$NR" addr add 10.201.1.1/24 dev ra; ip -n "$NR" link set ra up
ip -n "$NR" addr add 10.201.2.1/24 dev rb; ip -n "$NR" link set rb up
ip -n "$NA" route add default via 10.201.1.1
ip -n "$NB" route add default via 10.201.2.1
in_r sysctl -qw net.ipv4.ip_forward=1 net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
ip -n "$NR" tuntap add dev dly mode tun
ip -n "$NR" link set dly txqueuelen 10000 up
in_r sysctl -qw net.ipv4.conf.dly.rp_filter=0 net.ipv4.conf.ra.rp_filter=0 net.ipv4.conf.rb.rp_filter=0
# Into the TUN device when coming from a veth; back out by the main table when the forwarder writes it back.
ip -n "$NR" route add default dev dly table 100
ip -n "$NR" rule add iif ra lookup 100
ip -n "$NR" rule add iif rb lookup 100

echo "# TCP: $(in_a sysctl -n net.ipv4.tcp_congestion_control), rmem $(in_b sysctl -n net.ipv4.tcp_rmem | tr '\t' ' '), wmem $(in_a sysctl -n net.ipv4.tcp_wmem | tr '\t' ' ')" >&2

# Background processes are started with a direct `ip netns exec` (it execs, so $! is the process itself).

# A sparse file reads as zeros without touching the disk; the receiver writes to /dev/null.
run_rtcpp() {  # size_bytes -> prints MB/s or nothing
    local size=$1
    truncate -s "$size" "$WORK/payload"
    ip netns exec "$NB" timeout 120 "$PEER" --listen $B_IP:8080 --bind $B_IP --receive-file /dev/null --quiet --timeout 100 \
        >"$WORK/recv.out" 2>"$WORK/recv.err" &
    local rp=$!
    PIDS+=("$rp")
    sleep 0.5
    in_a timeout 120 "$PEER" --connect http://$B_IP:8080/offer --bind $A_IP --send-file "$WORK/payload" --quiet \
        --timeout 100 >"$WORK/send.out" 2>"$WORK/send.err" || true
    wait "$rp" || true
    sed -n 's/.* in \([0-9.]*\) s (\([0-9.]*\) MB\/s).*/\2 \1/p' "$WORK/recv.out"
}

for rtt in "${RTTS[@]}"; do
    half=$(awk "BEGIN{print $rtt/2}")
    ip netns exec "$NR" "$FWD" --tun dly --delay-ms "$half" --duration-s 300 2>"$WORK/fwd.err" &
    FWD_PID=$!
    PIDS+=("$FWD_PID")
    sleep 0.3

    ip netns exec "$NB" timeout $((DURATION + 40)) iperf3 -s -1 -B $B_IP -p 5201 >/dev/null 2>&1 &
    PIDS+=("$!")
    sleep 0.3
    in_a timeout $((DURATION + 30)) iperf3 -c $B_IP -p 5201 -t "$DURATION" -J >"$WORK/iperf.json" || true
    tcp=$(jq -r '.end.sum_received.bits_per_second / 8 / 1e6' "$WORK/iperf.json" 2>/dev/null || echo 0)
    tcp_rtt=$(jq -r '.end.streams[0].sender.mean_rtt / 1000' "$WORK/iperf.json" 2>/dev/null || echo 0)
    [[ $tcp =~ ^[0-9.]+$ ]] || { echo "# iperf3 failed: $(jq -r .error "$WORK/iperf.json" 2>/dev/null)" >&2; tcp=0; }
    [[ $tcp_rtt =~ ^[0-9.]+$ ]] || tcp_rtt=0
    printf 'rtt%s_tcp_throughput %.1f MB/s\n' "$rtt" "$tcp"
    printf 'rtt%s_tcp_mean_rtt %.1f ms\n' "$rtt" "$tcp_rtt"

    # Same duration as TCP if rtcpp matches it; at least 50 MB, at most 2 GB.
    size=$(awk "BEGIN{s=$tcp*1e6*$DURATION; if(s<5e7)s=5e7; if(s>2e9)s=2e9; printf \"%d\", s}")
    read -r mbps secs <<<"$(run_rtcpp "$size")" || true
    if [ -z "${mbps:-}" ]; then
        echo "# rtcpp transfer failed at ${rtt} ms:" >&2
        tail -n 3 "$WORK/send.err" "$WORK/recv.err" >&2 || true
        mbps=0 secs=0
    fi
    printf 'rtt%s_rtcpp_throughput %.1f MB/s\n' "$rtt" "$mbps"
    printf 'rtt%s_rtcpp_transfer_time %.1f s\n' "$rtt" "$secs"
    printf 'rtt%s_rtcpp_vs_tcp %.0f %%\n' "$rtt" "$(awk "BEGIN{print ($tcp > 0) ? 100 * $mbps / $tcp : 0}")"

    # Where packets were lost on the path, if anywhere (cumulative over TCP and rtcpp).
    echo "# path: tun tx dropped $(ip -n "$NR" -s link show dly | awk '/TX:/{getline; print $4}')," \
        "udp rcvbuf errors A $(in_a nstat -az UdpRcvbufErrors | awk '/Udp/{print $2}')" \
        "B $(in_b nstat -az UdpRcvbufErrors | awk '/Udp/{print $2}')" >&2
    kill "$FWD_PID" 2>/dev/null || true
    wait "$FWD_PID" 2>/dev/null || true
    sed "s/^/# /" "$WORK/fwd.err" >&2
done
