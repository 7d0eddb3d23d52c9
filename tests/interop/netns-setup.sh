#!/usr/bin/env bash
# Runs a command inside a private network namespace: loopback plus a veth pair whose two ends (10.99.0.1 and
# 10.99.0.2) both live in it, with the default route on one end. Chromium without media permission gathers only on
# the default-route interface, so a namespace with loopback alone would give it none. Nothing can leave: the
# namespace has no link to the outside. Usage: netns-setup.sh COMMAND [ARGS...]
set -euo pipefail
exec unshare -n bash -c '
  set -e
  ip link set lo up
  ip link add rtcpp0 type veth peer name rtcpp1
  ip addr add 10.99.0.1/24 dev rtcpp0
  ip addr add 10.99.0.2/24 dev rtcpp1
  ip link set rtcpp0 up
  ip link set rtcpp1 up
  ip route add default via 10.99.0.2 dev rtcpp0
  exec "$@"' bash "$@"
