#!/usr/bin/python3
"""rtcpp <-> aiortc audio (Opus) and video (VP8), both ways and both offer directions (issue 6).

aiortc sends a moving 640x480 test pattern at 30 fps and a 440 Hz tone (48 kHz, 20 ms frames) from track
subclasses that count what they hand to aiortc's encoders; what aiortc receives is decoded by aiortc (libvpx, libopus)
and counted. rtcpp-peer prints at exit:
    media: video frames received N decoded N errors N; audio frames received M decoded M errors M; sent video F audio A
Cases:
  1. aiortc offers sendrecv audio+video to `rtcpp-peer --listen --media testsrc`;
  2. aiortc offers sendonly to `rtcpp-peer --listen --media recv --record DIR` (recorded IVF/WAV checked);
  3. `rtcpp-peer --connect URL --media testsrc` offers to aiortc, which answers with its own tracks.
Each direction that was negotiated must deliver >= 90 % of the video frames sent, decoded without error, and audio.
Usage (inside a private network namespace):
    netns-setup.sh /usr/bin/python3 aiortc_media.py PATH/TO/rtcpp-peer
    (case ids after the binary, or ONLY=id,id, pick a subset: aiortc-offers-sendrecv aiortc-offers-sendonly rtcpp-offers)
Prints one line per check and a final "N passed, M failed"; exits non-zero on any failure. DURATION=seconds (6).
"""
import asyncio
import fractions
import glob
import http.server
import math
import os
import re
import shutil
import struct
import sys
import tempfile
import threading
import time
import urllib.request

import aioice.ice
import numpy as np
from av import AudioFrame, VideoFrame

# aioice leaves out loopback addresses; in a loopback-only test every candidate must be on 127.0.0.1.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402
from aiortc.mediastreams import AudioStreamTrack, MediaStreamError, VideoStreamTrack  # noqa: E402

PEER = sys.argv[1] if len(sys.argv) > 1 else ""
DURATION = int(os.environ.get("DURATION", "6"))
SUMMARY = re.compile(r"media: video frames received (\d+) decoded (\d+) errors (\d+); audio frames received (\d+) "
                     r"decoded (\d+) errors (\d+); sent video (\d+) audio (\d+)")
results = []


def check(cond, what):
    results.append(bool(cond))
    print(("ok: " if cond else "FAIL: ") + what, flush=True)


def figure(line):
    print("  " + line, flush=True)


class PatternTrack(VideoStreamTrack):
    """640x480 I420 frames with a moving bar and a changing gradient; remembers when each frame was taken."""

    def __init__(self):
        super().__init__()
        self.times = []
        y = np.arange(480, dtype=np.uint16)[:, None]
        x = np.arange(640, dtype=np.uint16)[None, :]
        self.base = ((x + y) % 256).astype(np.uint8)

    async def recv(self):
        pts, time_base = await self.next_timestamp()
        n = len(self.times)
        img = np.empty((720, 640), dtype=np.uint8)
        img[:480] = self.base + np.uint8(n % 256)
        bar = (n * 8) % 640
        img[:480, bar:bar + 16] = 255
        img[480:600] = 128
        img[600:] = (64 + n) % 256
        frame = VideoFrame.from_ndarray(img, format="yuv420p")
        frame.pts = pts
        frame.time_base = time_base
        self.times.append(time.time())
        return frame


class ToneTrack(AudioStreamTrack):
    """A 440 Hz tone, 48 kHz mono, 20 ms frames."""

    RATE = 48000
    SAMPLES = 960

    def __init__(self):
        super().__init__()
        self.times = []
        self._start = None
        self._n = 0

    async def recv(self):
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.time()
        else:
            wait = self._start + self._n * self.SAMPLES / self.RATE - time.time()
            if wait > 0:
                await asyncio.sleep(wait)
        t = (np.arange(self.SAMPLES) + self._n * self.SAMPLES) / self.RATE
        pcm = (np.sin(2 * math.pi * 440 * t) * 8000).astype(np.int16).reshape(1, -1)
        frame = AudioFrame.from_ndarray(pcm, format="s16", layout="mono")
        frame.sample_rate = self.RATE
        frame.pts = self._n * self.SAMPLES
        frame.time_base = fractions.Fraction(1, self.RATE)
        self._n += 1
        self.times.append(time.time())
        return frame


class Sink:
    """Pulls decoded frames from every remote track aiortc gives us, counting them with timestamps."""

    def __init__(self):
        self.frames = {"audio": [], "video": []}
        self.samples = 0
        self.sizes = set()
        self.tasks = []

    def add(self, track):
        self.tasks.append(asyncio.ensure_future(self._pull(track)))

    async def _pull(self, track):
        try:
            while True:
                frame = await track.recv()
                self.frames[track.kind].append(time.time())
                if track.kind == "audio":
                    self.samples += frame.samples
                else:
                    self.sizes.add((frame.width, frame.height))
        except (MediaStreamError, asyncio.CancelledError):
            pass

    async def stop(self):
        for t in self.tasks:
            t.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


class Peer:
    def __init__(self, args):
        self.args = [PEER] + args + (["--verbose"] if os.environ.get("PEER_VERBOSE") else [])
        self.out = []
        self.summary_at = None
        self.proc = None
        self.reader = None

    async def start(self):
        self.proc = await asyncio.create_subprocess_exec(*self.args, stdout=asyncio.subprocess.PIPE,
                                                         stderr=asyncio.subprocess.STDOUT)
        self.reader = asyncio.ensure_future(self._read())

    async def _read(self):
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                return
            text = line.decode(errors="replace")
            self.out.append(text)
            if self.summary_at is None and SUMMARY.search(text):
                self.summary_at = time.time()

    async def wait(self, timeout):
        try:
            await asyncio.wait_for(self.proc.wait(), timeout)
            await asyncio.wait_for(self.reader, 5)
            return True
        except asyncio.TimeoutError:
            return False

    def dump_stacks(self):
        """rtcpp-peer that outlived --duration: its threads' stacks (if gdb is installed), to see where it hangs."""
        if not self.proc or self.proc.returncode is not None or not os.path.exists("/usr/bin/gdb"):
            return
        import subprocess
        try:
            r = subprocess.run(["/usr/bin/gdb", "-p", str(self.proc.pid), "-batch", "-ex", "thread apply all bt 30"],
                               capture_output=True, text=True, timeout=30)
            lines = [ln for ln in r.stdout.splitlines() if ln.startswith(("Thread", "#"))]
            print("rtcpp-peer (pid %d) still running; stacks:\n%s" % (self.proc.pid, "\n".join(lines)[:12000]))
        except Exception as e:  # diagnostics only
            print("gdb failed: %r" % e)

    async def stop(self):
        if self.proc and self.proc.returncode is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(self.proc.wait(), 3)
            except asyncio.TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self.reader:
            try:
                await asyncio.wait_for(self.reader, 3)
            except (asyncio.TimeoutError, asyncio.CancelledError):
                pass

    def text(self):
        return "".join(self.out)

    def summary(self):
        m = SUMMARY.search(self.text())
        if not m:
            return None
        n = [int(x) for x in m.groups()]
        return {"video": {"received": n[0], "decoded": n[1], "errors": n[2]},
                "audio": {"received": n[3], "decoded": n[4], "errors": n[5]},
                "sent": {"video": n[6], "audio": n[7]}}


def section(sdp, kind):
    for part in re.split(r"\r?\n(?=m=)", sdp):
        if part.startswith("m=" + kind):
            return part
    return ""


def direction(sec):
    m = re.search(r"a=(sendrecv|sendonly|recvonly|inactive)", sec)
    return m.group(1) if m else "sendrecv"


def count_until(times, t):
    return sum(1 for x in times if x <= t)


def wait_port(port, deadline=5.0):
    end = time.time() + deadline
    while time.time() < end:
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=1).read()
            return True
        except Exception:
            time.sleep(0.05)
    return False


def check_flows(name, peer, s, video, audio, sink, connected_at, aiortc_sends, aiortc_receives):
    """The negotiated directions delivered: rtcpp's summary against aiortc's counts."""
    if aiortc_sends:
        # What aiortc had handed to its encoder when rtcpp stopped counting.
        stop = peer.summary_at or time.time()
        sent = count_until(video.times, stop)
        figure("%s: aiortc sent %d video frames, %d audio frames; rtcpp video received %d decoded %d errors %d; "
               "audio received %d decoded %d errors %d" % (name, sent, count_until(audio.times, stop),
                                                           s["video"]["received"], s["video"]["decoded"],
                                                           s["video"]["errors"], s["audio"]["received"],
                                                           s["audio"]["decoded"], s["audio"]["errors"]))
        check(sent > 0 and s["video"]["decoded"] >= 0.9 * sent,
              "%s: rtcpp decoded %d video frames >= 90 %% of aiortc's %d (%.1f %%)"
              % (name, s["video"]["decoded"], sent, 100.0 * s["video"]["decoded"] / max(sent, 1)))
        check(s["video"]["errors"] == 0, "%s: no video decode errors in rtcpp (%d)" % (name, s["video"]["errors"]))
        check(s["audio"]["decoded"] > 0 and s["audio"]["errors"] == 0,
              "%s: rtcpp decoded %d audio frames, %d errors" % (name, s["audio"]["decoded"], s["audio"]["errors"]))
    if aiortc_receives:
        got = len(sink.frames["video"])
        figure("%s: rtcpp sent video %d audio %d; aiortc decoded %d video frames %s, %d audio frames (%.2f s of samples)"
               % (name, s["sent"]["video"], s["sent"]["audio"], got, sorted(sink.sizes), len(sink.frames["audio"]),
                  sink.samples / 48000.0))
        check(s["sent"]["video"] > 0 and got >= 0.9 * s["sent"]["video"],
              "%s: aiortc decoded %d video frames >= 90 %% of rtcpp's %d sent (%.1f %%)"
              % (name, got, s["sent"]["video"], 100.0 * got / max(s["sent"]["video"], 1)))
        if sink.frames["video"]:
            figure("%s: first video frame decoded by aiortc %.0f ms after connected"
                   % (name, (sink.frames["video"][0] - connected_at) * 1000))
        a = sink.frames["audio"]
        half = a[0] + 1.0 if a else 0
        check(len(a) > 0 and count_until(a, half) < len(a),
              "%s: aiortc received audio throughout (%d frames, %d in the first second)"
              % (name, len(a), count_until(a, half)))


def wav_seconds(path):
    with open(path, "rb") as f:
        b = f.read()
    if len(b) < 44 or b[:4] != b"RIFF" or b[8:12] != b"WAVE":
        return 0.0
    off, rate, ch, bits = 12, 0, 0, 0
    while off + 8 <= len(b):
        cid, size = b[off:off + 4], struct.unpack_from("<I", b, off + 4)[0]
        if cid == b"fmt ":
            ch, rate = struct.unpack_from("<HI", b, off + 10)
            bits = struct.unpack_from("<H", b, off + 22)[0]
        elif cid == b"data":
            n = min(size, len(b) - off - 8)
            return n / (rate * ch * bits / 8) if rate and ch and bits else 0.0
        off += 8 + size + (size & 1)
    return 0.0


def ivf_frames(path):
    with open(path, "rb") as f:
        b = f.read()
    if len(b) < 32 or b[:4] != b"DKIF":
        return None, 0
    fourcc = b[8:12].decode("latin1")
    off, n = struct.unpack_from("<H", b, 6)[0], 0
    while off + 12 <= len(b):
        size = struct.unpack_from("<I", b, off)[0]
        if off + 12 + size > len(b):
            break
        off += 12 + size
        n += 1
    return fourcc, n


async def wait_connected(pc, timeout):
    end = time.time() + timeout
    while pc.connectionState != "connected" and time.time() < end:
        await asyncio.sleep(0.02)
    return pc.connectionState


async def aiortc_offers(port, mode):
    """aiortc offers (sendrecv to --media testsrc, sendonly to --media recv --record)."""
    name = "aiortc offers %s, rtcpp --media %s" % ("sendrecv" if mode == "testsrc" else "sendonly", mode)
    record = tempfile.mkdtemp(prefix="rtcpp-aiortc-record-") if mode == "recv" else None
    args = ["--listen", "127.0.0.1:%d" % port, "--media", mode, "--duration", str(DURATION),
            "--timeout", str(DURATION + 30)]
    if record:
        args += ["--record", record]
    peer = Peer(args)
    await peer.start()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    sink = Sink()
    pc.on("track", sink.add)
    video, audio = PatternTrack(), ToneTrack()
    try:
        loop = asyncio.get_running_loop()
        check(await loop.run_in_executor(None, wait_port, port), name + ": rtcpp-peer listens")
        direction_ = "sendrecv" if mode == "testsrc" else "sendonly"
        pc.addTransceiver(audio, direction=direction_)
        pc.addTransceiver(video, direction=direction_)
        t0 = time.time()
        await pc.setLocalDescription(await pc.createOffer())
        offer = pc.localDescription.sdp

        def post():
            req = urllib.request.Request("http://127.0.0.1:%d/offer" % port, data=offer.encode(),
                                         headers={"Content-Type": "application/sdp"}, method="POST")
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode()

        status, answer = await loop.run_in_executor(None, post)
        check(status == 201, name + ": rtcpp-peer answered 201")
        # --media testsrc may or may not receive as well; --media recv must.
        want = ("sendrecv", "sendonly") if mode == "testsrc" else ("recvonly",)
        check(direction(section(answer, "audio")) in want and direction(section(answer, "video")) in want,
              name + ": rtcpp answered audio %s, video %s (want %s)"
              % (direction(section(answer, "audio")), direction(section(answer, "video")), "/".join(want)))
        rtcpp_receives = direction(section(answer, "video")) in ("sendrecv", "recvonly")
        check("VP8/90000" in section(answer, "video") and "opus/48000" in section(answer, "audio"),
              name + ": rtcpp answered VP8 and Opus")
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        state = await wait_connected(pc, 15)
        connected_at = time.time()
        check(state == "connected", name + ": connected (%.0f ms from createOffer)" % ((connected_at - t0) * 1000))
        exited = await peer.wait(DURATION + 25)
        check(exited, name + ": rtcpp-peer exited by itself after --duration %d" % DURATION)
        if not exited:
            peer.dump_stacks()
        await asyncio.sleep(0.5)
        s = peer.summary()
        check(s is not None, name + ": rtcpp-peer printed its media summary")
        if s:
            check_flows(name, peer, s, video, audio, sink, connected_at, rtcpp_receives, mode == "testsrc")
            if record:
                files = sorted(glob.glob(os.path.join(record, "**", "*"), recursive=True))
                ivf = [ivf_frames(f) for f in files if f.endswith(".ivf")]
                wav = [wav_seconds(f) for f in files if f.endswith(".wav")]
                figure("%s: --record wrote %s; IVF %s; WAV %s s" % (name, [os.path.basename(f) for f in files], ivf,
                                                                    ["%.2f" % w for w in wav]))
                frames = sum(n for fourcc, n in ivf if fourcc == "VP80")
                check(frames > 0 and frames >= 0.9 * s["video"]["decoded"],
                      name + ": recorded IVF holds %d VP8 frames (decoded %d)" % (frames, s["video"]["decoded"]))
                check(any(w > 1 for w in wav), name + ": recorded WAV holds more than 1 s of audio")
    finally:
        await peer.stop()
        await sink.stop()
        await pc.close()
        if record:
            shutil.rmtree(record, ignore_errors=True)
        if not all(results):
            print("rtcpp-peer output (%s):\n%s" % (name, peer.text()[-3000:]))


async def rtcpp_offers(port):
    name = "rtcpp offers --media testsrc, aiortc answers with its tracks"
    loop = asyncio.get_running_loop()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    sink = Sink()
    pc.on("track", sink.add)
    video, audio = PatternTrack(), ToneTrack()
    seen = {}

    async def answer(offer_sdp):
        seen["offer"] = offer_sdp
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        for t in pc.getTransceivers():
            # Send back wherever rtcpp offered to receive.
            if direction(section(offer_sdp, t.kind)) in ("sendrecv", "recvonly"):
                t.sender.replaceTrack(audio if t.kind == "audio" else video)
                t.direction = "sendrecv" if direction(section(offer_sdp, t.kind)) == "sendrecv" else "sendonly"
        await pc.setLocalDescription(await pc.createAnswer())
        seen["answer"] = pc.localDescription.sdp
        return pc.localDescription.sdp

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
            try:
                sdp = asyncio.run_coroutine_threadsafe(answer(body), loop).result(timeout=15)
            except Exception as e:  # answer the HTTP request either way so rtcpp-peer does not hang
                self.send_response(500)
                self.end_headers()
                self.wfile.write(str(e).encode())
                return
            self.send_response(201)
            self.send_header("Content-Type", "application/sdp")
            self.send_header("Content-Length", str(len(sdp)))
            self.end_headers()
            self.wfile.write(sdp.encode())

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    peer = Peer(["--connect", "http://127.0.0.1:%d/offer" % port, "--media", "testsrc", "--duration", str(DURATION),
                 "--timeout", str(DURATION + 30)])
    t0 = time.time()
    await peer.start()
    try:
        end = time.time() + 15
        while "answer" not in seen and time.time() < end:
            await asyncio.sleep(0.02)
        offer = seen.get("offer", "")
        check(section(offer, "audio") and section(offer, "video"), name + ": rtcpp offered audio and video")
        check("VP8/90000" in section(offer, "video") and "opus/48000" in section(offer, "audio"),
              name + ": rtcpp offered VP8 and Opus")
        state = await wait_connected(pc, 15)
        connected_at = time.time()
        check(state == "connected", name + ": connected (%.0f ms from rtcpp-peer start)" % ((connected_at - t0) * 1000))
        ans = seen.get("answer", "")
        figure("%s: rtcpp offered audio %s video %s; aiortc answered audio %s video %s"
               % (name, direction(section(offer, "audio")), direction(section(offer, "video")),
                  direction(section(ans, "audio")), direction(section(ans, "video"))))
        exited = await peer.wait(DURATION + 25)
        check(exited, name + ": rtcpp-peer exited by itself after --duration %d" % DURATION)
        if not exited:
            peer.dump_stacks()
        await asyncio.sleep(0.5)
        s = peer.summary()
        check(s is not None, name + ": rtcpp-peer printed its media summary")
        if s:
            aiortc_sends = direction(section(ans, "video")) in ("sendrecv", "sendonly")
            check_flows(name, peer, s, video, audio, sink, connected_at, aiortc_sends, True)
    finally:
        await peer.stop()
        await sink.stop()
        await pc.close()
        server.shutdown()
        if not all(results):
            print("rtcpp-peer output (%s):\n%s" % (name, peer.text()[-3000:]))


async def main():
    if not PEER or not os.path.exists(PEER):
        print("usage: aiortc_media.py PATH/TO/rtcpp-peer")
        return 2
    cases = [("aiortc-offers-sendrecv", lambda: aiortc_offers(18700, "testsrc")),
             ("aiortc-offers-sendonly", lambda: aiortc_offers(18710, "recv")),
             ("rtcpp-offers", lambda: rtcpp_offers(18720))]
    # Case ids after the binary (or ONLY=id,id) pick a subset.
    wanted = sys.argv[2:] + [w for w in os.environ.get("ONLY", "").split(",") if w]
    for w in wanted:
        if w not in [k for k, _ in cases]:
            print("unknown case %s; cases: %s" % (w, " ".join(k for k, _ in cases)))
            return 2
    for key, run in cases:
        if wanted and key not in wanted:
            continue
        t0 = time.time()
        try:
            await asyncio.wait_for(run(), DURATION + 60)
        except Exception as e:
            check(False, "%s: %r" % (key, e))
        print("    (%s: %.1f s)" % (key, time.time() - t0), flush=True)
    passed = sum(results)
    print("%d passed, %d failed" % (passed, len(results) - passed))
    return 0 if results and all(results) else 1


sys.exit(asyncio.run(main()))
