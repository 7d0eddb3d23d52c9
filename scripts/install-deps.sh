#!/usr/bin/env bash
# Installs what rtcpp needs from Debian 12 (run as root). Groups:
#   build   compilers, CMake and the libraries rtcpp links (default)
#   test    + clang/libFuzzer for the fuzz targets
#   interop + the real peers the interop tests run against (Chromium, aiortc, coturn, Janus, Node for Playwright)
set -euo pipefail
groups=("${@:-build}")
pkgs=(build-essential cmake pkg-config libssl-dev libsrtp2-dev libusrsctp-dev libopus-dev libvpx-dev libopenh264-dev doctest-dev
      libcpp-httplib-dev)
for g in "${groups[@]}"; do
  case "$g" in
    build) ;;
    test) pkgs+=(clang libclang-rt-14-dev) ;;
    interop)
      pkgs+=(chromium python3-aiortc coturn janus iproute2 util-linux nftables)
      # Node.js drives Chromium through playwright-core (from npm); use the machine's own if it has one.
      command -v node >/dev/null 2>&1 || pkgs+=(nodejs)
      command -v npm >/dev/null 2>&1 || pkgs+=(npm)
      ;;
    *) echo "unknown group: $g" >&2; exit 2 ;;
  esac
done
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
