#!/bin/sh
# Two rtcpp-peer processes on 127.0.0.1 exchange audio (Opus tone) and video (test pattern) both ways with
# --media testsrc --record, then each checks its summary line against what the other sent, and the files.
#   media_loopback.sh PATH/TO/rtcpp-peer [VP8|VP9|H264] [PORT]
set -eu
PEER=$1
CODEC=${2:-VP8}
PORT=${3:-18931}
DIR=$(mktemp -d)
trap 'kill $LPID 2>/dev/null || true; rm -rf "$DIR"' EXIT
mkdir -p "$DIR/a" "$DIR/b"
"$PEER" --listen 127.0.0.1:$PORT --media testsrc --video-codec "$CODEC" --record "$DIR/a" --duration 7 --timeout 20 \
  2>"$DIR/a.log" &
LPID=$!
sleep 1
"$PEER" --connect http://127.0.0.1:$PORT/offer --media testsrc --video-codec "$CODEC" --record "$DIR/b" --duration 5 \
  --timeout 20 >/dev/null 2>"$DIR/b.log"
wait $LPID
python3 - "$DIR" "$CODEC" <<'PY'
import re, struct, sys, os, glob
d, codec = sys.argv[1], sys.argv[2]
rx = re.compile(r'media: video frames received (\d+) decoded (\d+) errors (\d+); audio frames received (\d+) '
                r'decoded (\d+) errors (\d+); sent video (\d+) audio (\d+)')
s = {}
for side in 'ab':
    text = open(os.path.join(d, side + '.log')).read()
    m = rx.findall(text)
    if len(m) != 1:
        print(text[-3000:]); sys.exit(f'{side}: expected one summary line, found {len(m)}')
    s[side] = list(map(int, m[0]))
    print(f'{side}: ' + ' '.join(map(str, s[side])))
ok = True
def check(cond, what):
    global ok
    print(('ok   ' if cond else 'FAIL ') + what)
    ok = ok and cond
for rx_side in 'ab':
    vr, vd, ve, ar, ad, ae, sv, sa = s[rx_side]
    check(sv > 0 and sa > 0, f'{rx_side} sent video {sv} audio {sa}')
    # b runs 5 s, a 7 s: each side receives while both run, so compare with what b sent (the shorter one).
    ref_v, ref_a = s['b'][6], s['b'][7]
    check(ve == 0 and ae == 0, f'{rx_side}: no decode errors (video {ve}, audio {ae})')
    check(vd >= 0.8 * ref_v, f'{rx_side}: decoded {vd} video frames of ~{ref_v}')
    check(ad >= 0.8 * ref_a, f'{rx_side}: decoded {ad} audio frames of ~{ref_a}')
    pm = re.search(r'media: video \S+ test pattern frames (\d+) of (\d+) decoded', open(os.path.join(d, rx_side + '.log')).read())
    check(pm is not None and int(pm.group(1)) >= 0.95 * vd, f'{rx_side}: test pattern counters read back: {pm.group(0) if pm else None}')
    # Received audio is played through the adaptive jitter buffer: on loopback little is late and the playout delay
    # stays low. The buffer adapts down to ~8 ms here, so a scheduling hiccup of the process (ASan, a loaded CI
    # machine) makes a few packets late: up to 5 % is the playout clock's, a broken buffer loses far more.
    jb = re.search(r'media: audio \S+ jitter buffer late-loss ([\d.]+) % \((\d+) late of (\d+) packets\) playout delay '
                   r'mean (\d+) ms p95 (\d+) ms target (\d+) ms; frames normal (\d+) fec (\d+) concealed (\d+)',
                   open(os.path.join(d, rx_side + '.log')).read())
    check(jb is not None and float(jb.group(1)) <= 5.0 and int(jb.group(3)) >= 0.8 * ref_a and int(jb.group(5)) < 200
          and int(jb.group(7)) >= 0.8 * ref_a, f'{rx_side}: audio jitter buffer: {jb.group(0) if jb else None}')
    ivf = glob.glob(os.path.join(d, rx_side, 'video-*.ivf'))
    h264 = glob.glob(os.path.join(d, rx_side, 'video-*.h264'))
    wav = glob.glob(os.path.join(d, rx_side, 'audio-*.wav'))
    video_files = h264 if codec == 'H264' else ivf
    check(len(video_files) == 1 and len(ivf) + len(h264) == 1 and len(wav) == 1,
          f'{rx_side}: one video file and one WAV ({ivf}, {h264}, {wav})')
    if h264 and codec == 'H264':
        b = open(h264[0], 'rb').read()
        # Annex B: starts with a start code; the first access unit is a keyframe (SPS first), and it holds at least
        # one coded slice per decoded frame.
        nal_types = [b[m.end()] & 0x1f for m in re.finditer(rb'\x00\x00\x01', b) if m.end() < len(b)]
        slices = sum(1 for t in nal_types if t in (1, 5))
        check(b[:4] == b'\x00\x00\x00\x01' and nal_types[:1] == [7] and slices >= vd,
              f'{rx_side}: Annex B {len(b)} bytes, {slices} slices, first NAL types {nal_types[:4]}')
    if ivf and codec != 'H264':
        h = open(ivf[0], 'rb').read(32)
        magic, _, hl, fourcc, w, hh, rate, scale, n = struct.unpack('<4sHH4sHHIII', h[:28])
        check(magic == b'DKIF' and fourcc == (b'VP90' if codec == 'VP9' else b'VP80') and (w, hh) == (640, 360)
              and n >= vd * 0.9, f'{rx_side}: IVF {fourcc} {w}x{hh} {n} frames')
    if wav:
        b = open(wav[0], 'rb').read()
        rate, = struct.unpack('<I', b[24:28]); ch, = struct.unpack('<H', b[22:24]); n, = struct.unpack('<I', b[40:44])
        secs = n / 2 / ch / rate
        check(b[:4] == b'RIFF' and rate == 48000 and secs > 3, f'{rx_side}: WAV {rate} Hz x{ch} {secs:.2f} s')
sys.exit(0 if ok else 1)
PY
