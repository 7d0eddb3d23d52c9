#!/usr/bin/env bash
# rtcpp <-> headless Chromium over a rate-limited path (issue 8, Interop): congestion control against a real peer.
#
#   namespace A: rtcpp-peer (--bind 10.77.0.1), Chromium "A", node (chromium_shaped.mjs)
#   namespace B: Chromium "B"
#     A a0 10.77.0.1/24 ==== veth ==== b0 10.77.0.2/24 B
#   tbf on a0's egress (A -> B) and on b0's egress (B -> A): SHAPED_RATE_KBPS each way (default 1000), a bucket of
#   SHAPED_BURST bytes (default 2000: one full-size frame and a little; tbf needs at least the largest packet) and a
#   queue of SHAPED_LATENCY_MS (default 150: tbf drops what would wait longer, so the queue holds about
#   rate * 150 ms = 18.75 kB). A bigger bucket lets a probe cluster through at the veth's own speed: with 10000
#   bytes Chromium's initial probes measured about 4 Mbps and its estimate stayed there (application-limited, it
#   never queued enough to see overuse).
#   Only media crosses the veth: signalling is node <-> rtcpp-peer over A's loopback (HTTP) and node <-> each
#   Chromium over Playwright's pipe, so it is never shaped. Both namespaces have a default route over the veth
#   (Chromium gathers host candidates on the default-route interface).
#
# Phase 1: Chromium B offers video (a canvas, see chromium_shaped.mjs) + microphone sendrecv and
# `rtcpp-peer --media testsrc` answers: rtcpp sends VP8 (libvpx following its GCC target) + Opus A -> B, Chromium
# sends VP8 + Opus B -> A, and each side runs its congestion controller on the other's transport-cc feedback.
# Phase 2 (yardstick, same run, same path): Chromium A and Chromium B, both sendrecv, the same sources.
# chromium_shaped.mjs prints the figures and checks them.
#
# Usage: chromium_shaped.sh PATH/TO/rtcpp-peer. Needs root, ip, tc (tbf), node with playwright-core, chromium.
# Environment: SHAPED_RATE_KBPS, SHAPED_BURST, SHAPED_LATENCY_MS, SHAPED_LIMIT (watchdog, seconds, 110); the rest
# (DURATION, YARDSTICK_DURATION, LAST, NOISE_BAND, PEER_LOG) is read by chromium_shaped.mjs, see there. Everything made here (namespaces, veths, processes, files) goes at exit, on failure, on
# INT/TERM/HUP and on the watchdog; namespaces left by a run that was SIGKILLed are removed by the next run.
set -uo pipefail

PEER=${1:?usage: chromium_shaped.sh PATH/TO/rtcpp-peer}
PEER=$(readlink -f "$PEER")
HERE=$(cd "$(dirname "$0")" && pwd)
LIMIT=${SHAPED_LIMIT:-110}
RATE=${SHAPED_RATE_KBPS:-1000}
BURST=${SHAPED_BURST:-2000}
LATENCY=${SHAPED_LATENCY_MS:-150}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ "$(id -u)" = 0 ] || { echo "chromium_shaped: needs root (network namespaces, tc)" >&2; exit 1; }
for tool in ip tc node timeout; do
  command -v "$tool" >/dev/null || { echo "chromium_shaped: $tool not found" >&2; exit 1; }
done
[ -x "$CHROMIUM" ] || { echo "chromium_shaped: $CHROMIUM not found (scripts/install-deps.sh interop)" >&2; exit 1; }
[ -x "$PEER" ] || { echo "chromium_shaped: $PEER is not executable" >&2; exit 1; }

P="rshp$$"   # prefix of every namespace made here; the pid tells a stale one from a live one
WORK=$(mktemp -d "/tmp/rtcpp-shaped.$$.XXXXXX")
watchdog=""
node_pid=""

drop_ns() {
  local ns=$1 pid
  for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
  ip netns del "$ns" 2>/dev/null
}
cleanup() {
  local rc=$? ns
  trap - EXIT INT TERM HUP
  # node first (it closes both browsers and stops rtcpp-peer), then whatever is left in the namespaces.
  if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
    kill -TERM "$node_pid" 2>/dev/null
    for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$node_pid" 2>/dev/null || break; sleep 0.3; done
  fi
  for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
    case $ns in "$P"-*) drop_ns "$ns" ;; esac
  done
  [ -n "$watchdog" ] && kill -TERM "$watchdog" 2>/dev/null && wait "$watchdog" 2>/dev/null
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'echo "chromium_shaped: interrupted" >&2; exit 124' INT TERM HUP

for ns in $(ip netns list 2>/dev/null | awk '{print $1}'); do
  if [[ $ns =~ ^rshp([0-9]+)- ]] && ! kill -0 "${BASH_REMATCH[1]}" 2>/dev/null; then drop_ns "$ns"; fi
done
for dir in /tmp/rtcpp-shaped.*.*; do
  if [[ $dir =~ ^/tmp/rtcpp-shaped\.([0-9]+)\. ]] && ! kill -0 "${BASH_REMATCH[1]}" 2>/dev/null; then rm -rf "$dir"; fi
done

# The watchdog TERMs this script (the trap cleans up); it does nothing if this script is gone (pid reused).
( trap 'kill "$s" 2>/dev/null; exit 0' TERM; sleep "$LIMIT" & s=$!; wait "$s"
  read -r _ _ _ ppid _ <"/proc/$BASHPID/stat"
  [ "$ppid" = $$ ] || exit 0
  echo "chromium_shaped: watchdog: over ${LIMIT} s, stopping" >&2; kill -TERM $$ ) &
watchdog=$!

die() { echo "chromium_shaped: FAIL: $*" >&2; exit 1; }

ip netns add "$P-a" && ip netns add "$P-b" || die "ip netns add"
ip -n "$P-a" link set lo up && ip -n "$P-b" link set lo up || die "loopback"
ip -n "$P-a" link add a0 type veth peer name b0 netns "$P-b" || die "veth"
ip -n "$P-a" addr add 10.77.0.1/24 dev a0 && ip -n "$P-b" addr add 10.77.0.2/24 dev b0 || die "addresses"
ip -n "$P-a" link set a0 up && ip -n "$P-b" link set b0 up || die "link up"
ip -n "$P-a" route add default via 10.77.0.2 dev a0 && ip -n "$P-b" route add default via 10.77.0.1 dev b0 ||
  die "default routes"
for end in a:a0 b:b0; do
  tc -n "$P-${end%%:*}" qdisc add dev "${end##*:}" root tbf rate "${RATE}kbit" burst "$BURST" latency "${LATENCY}ms" ||
    die "tbf on ${end##*:}"
done
echo "shaped path: tbf rate ${RATE}kbit burst ${BURST} latency ${LATENCY}ms each way"
tc -n "$P-a" qdisc show dev a0

# Chromium B is started by Playwright (from namespace A) through this wrapper: exec keeps the pid Playwright waits on.
printf '#!/bin/sh\nexec ip netns exec %s %s "$@"\n' "$P-b" "$CHROMIUM" >"$WORK/chromium-b"
chmod +x "$WORK/chromium-b"

ip netns exec "$P-a" env SHAPED_RATE_KBPS="$RATE" CHROMIUM_A="$CHROMIUM" CHROMIUM_B="$WORK/chromium-b" \
  node "$HERE/chromium_shaped.mjs" "$PEER" &
node_pid=$!
wait "$node_pid"
rc=$?
node_pid=""
echo "qdisc counters (sent, dropped, overlimits):"
tc -n "$P-a" -s qdisc show dev a0 | sed -n 's/^ *Sent/  a0 (A->B) Sent/p'
tc -n "$P-b" -s qdisc show dev b0 | sed -n 's/^ *Sent/  b0 (B->A) Sent/p'
exit "$rc"
