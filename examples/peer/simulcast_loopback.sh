#!/bin/sh
# Two rtcpp-peer processes on 127.0.0.1: one sends the test pattern as three VP8 simulcast layers (--simulcast: rids
# q, h, f at 160x90, 320x180, 640x360, each encoder at the rate rtcpp's allocator gives it), the other receives, splits
# them by rid and decodes each. Checks per layer: sent, decoded >= 90 % of what was sent, no decode error, the size
# expected; the top layer switched on once the congestion target passed its threshold (~1.4 Mbps; probing gets
# there within about 2 s).
#   simulcast_loopback.sh PATH/TO/rtcpp-peer [PORT] [SECONDS]
set -eu
PEER=$1
PORT=${2:-18963}
SECONDS_=${3:-12}
DIR=$(mktemp -d)
trap 'kill $LPID 2>/dev/null || true; rm -rf "$DIR"' EXIT
"$PEER" --listen 127.0.0.1:$PORT --media recv --duration $((SECONDS_ + 2)) --timeout $((SECONDS_ + 20)) \
  2>"$DIR/rx.log" &
LPID=$!
sleep 1
"$PEER" --connect http://127.0.0.1:$PORT/offer --media testsrc --simulcast --duration "$SECONDS_" \
  --timeout $((SECONDS_ + 20)) --cc-trace >/dev/null 2>"$DIR/tx.log"
wait $LPID
python3 - "$DIR" <<'PY'
import re, sys, os
d = sys.argv[1]
tx, rx = (open(os.path.join(d, n)).read() for n in ("tx.log", "rx.log"))
sent = {r: (int(n), int(k), int(p)) for r, n, k, p in
        re.findall(r"simulcast: rid (\S+) sent (\d+) frames, allocated (\d+) kbps now, paused (\d+) times", tx)}
got = {r: (int(a), int(b), int(c), w) for r, a, b, c, w in
       re.findall(r"media: rid (\S+) video frames received (\d+) decoded (\d+) errors (\d+) \((\d+x\d+)\)", rx)}
trace = [(float(t), int(k)) for t, k in re.findall(r"^cc: ([\d.]+) s target (\d+) kbps", tx, re.M)]
print("sent (frames, allocated kbps at the end, pauses):", sent)
print("received (frames, decoded, errors, size):", got)
print("target kbps every 5 s:", [k for t, k in trace[::10]])
ok = True
def check(cond, what):
    global ok
    print(("ok   " if cond else "FAIL ") + what)
    ok = ok and bool(cond)
size = {"q": "160x90", "h": "320x180", "f": "640x360"}
for rid in ("q", "h", "f"):
    n = sent.get(rid, (0, 0, 0))[0]
    r, dec, err, wh = got.get(rid, (0, 0, -1, "?"))
    check(n > 0, f"{rid}: sent {n} frames")
    check(dec >= 0.9 * n and err == 0, f"{rid}: decoded {dec} of {n} sent, {err} errors")
    check(wh == size[rid], f"{rid}: {wh}")
check(sent.get("f", (0, 0, 0))[1] > 0, "the top layer is allocated a rate at the end: %s kbps" % sent.get("f", (0, 0))[1])
sys.exit(0 if ok else 1)
PY
