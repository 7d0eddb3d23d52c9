#!/usr/bin/python3
"""rtcpp publishes Opus + VP8 and a data channel to Janus's echotest plugin and decodes what comes back (issue 6).

Janus (Debian `janus`) is started by this script with config files written here: only the HTTP transport (on
127.0.0.1, base path /janus) and only janus.plugin.echotest. Janus gathers no candidates on `lo`, so ICE runs over the
veth pair that netns-setup.sh creates inside the private namespace: Janus on rtcpp1 (10.99.0.2), rtcpp-peer bound to
10.99.0.1. Signalling: `rtcpp-peer --connect http://127.0.0.1:PORT/offer --media testsrc` POSTs its offer (candidates
inside) to a small HTTP server here, which drives the Janus HTTP API (create session, attach the echotest, message
{"audio":true,"video":true,"data":true} with the offer, long-poll for the answer) and returns Janus's answer.
rtcpp-peer sends a 440 Hz tone (Opus) and a 640x360 30 fps test pattern (VP8), greets on data channel "chat", and
prints what arrives; at exit:
    media: video frames received N decoded N errors N; audio frames received M decoded M errors M; sent video F audio A
Checks: Janus answered audio+video+data (Opus, VP8, SCTP, bundled); the connection came up (Janus reports webrtcup
and media) and Janus did not hang up before rtcpp-peer ended; 3 s after webrtcup the test asks the echotest for
{"bitrate": 200000}, which Janus sends to rtcpp as REMB: rtcpp's congestion target (rtcpp-peer --cc-trace) stays at or
below 200 kbps from then on; rtcpp decoded >= 95 % of the VP8 frames and of the Opus frames it sent, without a
decode error, and the pictures carry its own test pattern's frame counter; the data channel greeting came back as
"Janus EchoTest here! You wrote: hello from rtcpp-peer"; Janus was still running at the end and stopped on SIGTERM.
The namespace needs accept_local on rtcpp0 (set here): see main().
Usage (inside the namespace):
    netns-setup.sh /usr/bin/python3 janus_echotest.py PATH/TO/rtcpp-peer
Exits 77 (CTest: skipped) when janus is not installed, 0 when every check passed, 1 otherwise.
SIMULCAST=1 (issues 6 and 8): rtcpp-peer --simulcast publishes the video as three VP8 layers (rids q, h, f: 160x90,
320x180, 640x360, each encoder at the rate rtcpp's allocator gives it) and the echotest forwards one substream back.
Checks then: Janus answered a=simulcast:recv with the three rids; every layer was sent (the top one once the target
passed its threshold); rtcpp decoded the echoed stream (>= 90 % of the lowest layer's frames, which run throughout)
without a decode error; CAP_AFTER_SC seconds after webrtcup the test asks for {"bitrate": 400000}, and rtcpp's
allocator switches the top layer off (the 2 lower layers fit, the top one does not) while the target stays <= 400 kbps.
One second after webrtcup the test asks the echotest for {"substream": 2}: Janus numbers substreams from the order of
a=simulcast, highest first (janus.js's h;m;l), which is how rtcpp lists them (f;h;q), so 2 is our top layer; the
decoded sizes must then include 640x360 (and the smaller sizes Janus relayed before and after). The decoded sizes show which
layers Janus forwarded; the per-layer outbound-rtp (rtcpp-peer --stats) gives packets
and Janus's PLIs per layer. DURATION defaults to 20 s there.
Environment: DURATION=seconds (8); PEER_VERBOSE=1 for rtcpp-peer's trace; KEEP=1 keeps the directory with the Janus
config, janus.log, janus.stderr and the offer/answer; JANUS_DEBUG=0..7 (4); NICE_DEBUG=all makes Janus's libnice log
every STUN packet into janus.stderr; PEER_WRAP / JANUS_WRAP prefix a command (e.g. "strace -f -o FILE").
"""
import ctypes
import http.server
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

PEER = sys.argv[1] if len(sys.argv) > 1 else ""
SIMULCAST = os.environ.get("SIMULCAST") == "1"
DURATION = int(os.environ.get("DURATION", "20" if SIMULCAST else "8"))
JANUS = "/usr/bin/janus"
JANUS_LIB = "/usr/lib/x86_64-linux-gnu/janus"
PLUGIN = JANUS_LIB + "/plugins/libjanus_echotest.so"
TRANSPORT = JANUS_LIB + "/transports/libjanus_http.so"
JANUS_PORT = 8088
SIGNAL_PORT = 18730
JANUS_IFACE, JANUS_IP = "rtcpp1", "10.99.0.2"
PEER_IFACE, PEER_IP = "rtcpp0", "10.99.0.1"
GREETING = "hello from rtcpp-peer"  # what rtcpp-peer --connect sends once its channel is open
ECHO_PREFIX = "Janus EchoTest here! You wrote: "
SKIP = 77
CAP_BPS = 200000  # the bitrate cap the test asks Janus for, CAP_AFTER seconds after webrtcup
CAP_AFTER = 3.0
if SIMULCAST:
    # Late enough for the target to have ramped past the top layer's threshold (~1.4 Mbps), early enough to see the
    # allocator switch it off again.
    CAP_BPS = 400000
    CAP_AFTER = float(os.environ.get("CAP_AFTER_SC", str(max(3, DURATION - 12))))
SUBSTREAM = int(os.environ.get("SUBSTREAM", "2"))
LAYER_LINE = re.compile(r"simulcast: rid (\S+) sent (\d+) frames, allocated (\d+) kbps now, paused (\d+) times")
SUMMARY = re.compile(r"media: video frames received (\d+) decoded (\d+) errors (\d+); audio frames received (\d+) "
                     r"decoded (\d+) errors (\d+); sent video (\d+) audio (\d+)")
RTP_LINE = re.compile(r"rtp: (audio|video) mid (\S+) .*?: sent packets (\d+) frames (\d+) .*?received packets (\d+) "
                      r"frames (\d+) lost (\d+)")
results = []


def check(cond, what):
    results.append(bool(cond))
    print(("ok: " if cond else "FAIL: ") + what, flush=True)


def figure(line):
    print("  " + line, flush=True)


def section(sdp, kind):
    for part in re.split(r"\r?\n(?=m=)", sdp):
        if part.startswith("m=" + kind):
            return part
    return ""


def direction(sec):
    m = re.search(r"a=(sendrecv|sendonly|recvonly|inactive)", sec)
    return m.group(1) if m else "sendrecv"


def write_config(root):
    """Folders holding only the echotest plugin and the HTTP transport; the config files Janus reads."""
    for sub, lib in (("plugins", PLUGIN), ("transports", TRANSPORT)):
        os.makedirs(os.path.join(root, sub))
        os.symlink(lib, os.path.join(root, sub, os.path.basename(lib)))
    for sub in ("events", "loggers", "conf"):
        os.makedirs(os.path.join(root, sub), exist_ok=True)
    conf = os.path.join(root, "conf")
    with open(os.path.join(conf, "janus.jcfg"), "w") as f:
        f.write("""general: {
	configs_folder = "%(conf)s"
	plugins_folder = "%(root)s/plugins"
	transports_folder = "%(root)s/transports"
	events_folder = "%(root)s/events"
	loggers_folder = "%(root)s/loggers"
	interface = "%(ip)s"
	debug_level = %(debug)s
	session_timeout = 60
}
certificates: {
}
media: {
	rtp_port_range = "20000-20100"
}
nat: {
	nice_debug = %(nice_debug)s
	ice_enforce_list = "%(iface)s"
}
plugins: {
}
transports: {
}
loggers: {
}
events: {
}
""" % {"conf": conf, "root": root, "ip": JANUS_IP, "iface": JANUS_IFACE,
       "debug": os.environ.get("JANUS_DEBUG", "4"), "nice_debug": "true" if os.environ.get("NICE_DEBUG") else "false"})
    with open(os.path.join(conf, "janus.transport.http.jcfg"), "w") as f:
        f.write("""general: {
	json = "plain"
	base_path = "/janus"
	http = true
	port = %d
	ip = "127.0.0.1"
	https = false
}
admin: {
	admin_http = false
	admin_https = false
}
cors: {
}
certificates: {
}
""" % JANUS_PORT)
    with open(os.path.join(conf, "janus.plugin.echotest.jcfg"), "w") as f:
        f.write("general: {\n}\n")
    return conf


LIBC = ctypes.CDLL(None, use_errno=True)  # loaded before any fork: the child only calls into it


def die_with_parent():
    """In the child before exec: its own process group (killed as one), and SIGKILL if this script dies first
    (a namespace outlives its processes' parent, so nothing else would stop Janus)."""
    os.setsid()
    LIBC.prctl(1, int(signal.SIGKILL), 0, 0, 0)  # PR_SET_PDEATHSIG


def stop_group(proc, grace=5.0):
    """SIGTERM to the child's process group, SIGKILL after `grace` seconds; returns the exit status (-9: killed)."""
    if proc is None:
        return None
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()
    return proc.returncode


class JanusApi:
    """The Janus HTTP API through urllib: one session, one echotest handle, events long-polled by a thread."""

    def __init__(self, base):
        self.base = base
        self.session = None
        self.handle = None
        self.events = []  # (time, message)
        self.cv = threading.Condition()
        self.stop = False
        self.poller = None

    def _tx(self):
        return "%016x" % random.getrandbits(64)

    def post(self, path, msg, timeout=10):
        msg = dict(msg, transaction=self._tx())
        req = urllib.request.Request(self.base + path, data=json.dumps(msg).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(req, timeout=timeout) as r:
            reply = json.loads(r.read().decode())
        if reply.get("janus") == "error":
            raise RuntimeError("Janus %s: %s" % (msg["janus"], reply.get("error")))
        return reply

    def create(self):
        self.session = self.post("", {"janus": "create"})["data"]["id"]
        attach = {"janus": "attach", "plugin": "janus.plugin.echotest"}
        self.handle = self.post("/%d" % self.session, attach)["data"]["id"]
        self.poller = threading.Thread(target=self._poll, daemon=True)
        self.poller.start()

    def _poll(self):
        # Long polls also keep the session alive.
        while not self.stop:
            try:
                url = "%s/%d?maxev=10&rid=%d" % (self.base, self.session, int(time.time() * 1000))
                with urllib.request.urlopen(url, timeout=40) as r:
                    body = json.loads(r.read().decode())
            except Exception as e:  # Janus stopping, or a poll timing out
                if not self.stop:
                    time.sleep(0.1)
                    with self.cv:
                        self.events.append((time.time(), {"janus": "poll-error", "error": repr(e)}))
                continue
            msgs = body if isinstance(body, list) else [body]
            with self.cv:
                for m in msgs:
                    if m.get("janus") != "keepalive":
                        self.events.append((time.time(), m))
                self.cv.notify_all()

    def wait_event(self, pred, timeout):
        end = time.time() + timeout
        with self.cv:
            while True:
                for t, m in self.events:
                    if pred(m):
                        return t, m
                left = end - time.time()
                if left <= 0:
                    return None, None
                self.cv.wait(left)

    def offer(self, sdp):
        """Sends the offer to the echotest; returns Janus's answer SDP (candidates inside)."""
        path = "/%d/%d" % (self.session, self.handle)
        reply = self.post(path, {"janus": "message", "body": {"audio": True, "video": True, "data": True},
                                 "jsep": {"type": "offer", "sdp": sdp}})
        # Every candidate is in the offer: tell Janus there are no more to trickle.
        self.post(path, {"janus": "trickle", "candidate": {"completed": True}})
        if reply.get("jsep"):  # a synchronous answer (not what 1.x does, but allowed)
            return reply["jsep"]["sdp"]
        _, m = self.wait_event(lambda m: m.get("janus") == "event" and m.get("sender") == self.handle
                               and (m.get("jsep") or {}).get("type") == "answer", 15)
        if not m:
            raise RuntimeError("no answer from Janus within 15 s; events: %r" % [e for _, e in self.events])
        return m["jsep"]["sdp"]

    def message(self, body):
        """A request to the echotest without SDP (e.g. {"bitrate": N}); returns the plugin's reply or event data."""
        reply = self.post("/%d/%d" % (self.session, self.handle), {"janus": "message", "body": body})
        return reply

    def destroy(self):
        self.stop = True
        if self.session is not None:
            try:
                self.post("/%d" % self.session, {"janus": "destroy"}, timeout=3)
            except Exception:
                pass


def check_bitrate_cap(text, seen, started):
    """Janus's REMB cap reached rtcpp's congestion controller: --cc-trace samples after the cap stay at or below it."""
    if seen.get("cap_error") or "cap_at" not in seen:
        check(False, "asked Janus for {\"bitrate\": %d} (%s)" % (CAP_BPS, seen.get("cap_error", "never sent")))
        return
    cap_t = seen["cap_at"] - started  # on rtcpp-peer's clock (its trace counts from its start)
    samples = [(float(t), int(k), int(b)) for t, k, b in
               re.findall(r"^cc: ([\d.]+) s target (\d+) kbps sent (\d+) bytes", text, re.M)]
    before = [x for x in samples if x[0] < cap_t]
    after = [x for x in samples if x[0] > cap_t + 0.6]  # REMB, then GCC's next update, then the next trace line

    def rate(xs):
        return (xs[-1][2] - xs[0][2]) * 8 / 1000.0 / (xs[-1][0] - xs[0][0]) if len(xs) > 1 else 0.0
    figure("bitrate cap %d kbps asked %.2f s into the run: rtcpp's target before %s kbps, after %s kbps; RTP payload "
           "sent %.0f kbps before, %.0f kbps after" % (CAP_BPS // 1000, cap_t, [k for _, k, _ in before],
                                                       [k for _, k, _ in after], rate(before), rate(after)))
    check(before and max(k for _, k, _ in before) * 1000 > CAP_BPS,
          "rtcpp's congestion target was above %d kbps before the cap" % (CAP_BPS // 1000))
    check(len(after) >= 3 and all(k * 1000 <= CAP_BPS for _, k, _ in after),
          "Janus's REMB cap holds rtcpp's congestion target at <= %d kbps (%d samples after it)"
          % (CAP_BPS // 1000, len(after)))


seen_global = {}


def check_simulcast(text, vd, ve, stats_path):
    """The layers rtcpp-peer sent (its summary and outbound-rtp per rid) and what the echotest forwarded back."""
    layers = {rid: (int(n), int(kbps), int(pauses)) for rid, n, kbps, pauses in LAYER_LINE.findall(text)}
    figure("layers sent: %s (frames, allocated kbps at the end, pauses)" % layers)
    sizes = re.search(r"media: video \S+ decoded sizes (.*)", text)
    figure("echoed pictures decoded by size (the substreams Janus forwarded): %s" % (sizes.group(1) if sizes else None))
    try:
        with open(stats_path) as f:
            stats = json.load(f)
        objs = stats if isinstance(stats, list) else [stats]
        flat = []
        for o in objs:
            flat += o if isinstance(o, list) else (list(o.values()) if isinstance(o, dict) and "type" not in o else [o])
        for o in flat:
            if isinstance(o, dict) and o.get("type") == "outbound-rtp" and o.get("rid"):
                figure("outbound-rtp rid %s: ssrc %s packets %s frames %s PLIs %s NACKs %s retransmitted %s "
                       "targetBitrate %s" % (o["rid"], o.get("ssrc"), o.get("packetsSent"), o.get("framesSent"),
                                             o.get("pliCount"), o.get("nackCount"), o.get("retransmittedPacketsSent"),
                                             o.get("targetBitrate")))
    except Exception as e:
        figure("no stats: %r" % e)
    check(sorted(layers) == ["f", "h", "q"] and all(n > 0 for n, _, _ in layers.values()),
          "every layer was sent: %s" % {r: n for r, (n, _, _) in layers.items()})
    q = layers.get("q", (0, 0, 0))[0]
    sized = {tuple(map(int, wh.split("x"))): int(n) for wh, n in re.findall(r"(\d+x\d+):(\d+)", sizes.group(1))} \
        if sizes else {}
    check((640, 360) in sized and len(sized) >= 2,
          "the echotest forwarded the top layer once it ran (asked for substream %d: %s), and others around it: %s"
          % (SUBSTREAM, seen_global.get("substream_error", "ok"), sized))
    check(q > 0 and vd >= 0.9 * q,
          "rtcpp decoded %d echoed VP8 frames >= 90 %% of the %d of the lowest layer (the echotest forwards one)"
          % (vd, q))
    f = layers.get("f", (0, 0, 0))
    check(f[2] >= 1 and f[1] == 0,
          "Janus's {\"bitrate\": %d} switched the top layer off (paused %d times, allocated %d kbps at the end)"
          % (CAP_BPS, f[2], f[1]))


def wait_http(url, deadline):
    end = time.time() + deadline
    while time.time() < end:
        try:
            urllib.request.urlopen(url, timeout=1).read()
            return True
        except Exception:
            time.sleep(0.05)
    return False


def in_namespace_with_veth():
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((JANUS_IP, 0))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.bind((PEER_IP, 0))
        return JANUS_IFACE in [name for _, name in socket.if_nameindex()]
    except OSError:
        return False


def run():
    root = tempfile.mkdtemp(prefix="rtcpp-janus-")
    log = os.path.join(root, "janus.log")
    conf = write_config(root)
    janus = server = peer = None
    api = JanusApi("http://127.0.0.1:%d/janus" % JANUS_PORT)
    seen = seen_global
    try:
        t0 = time.time()
        with open(os.path.join(root, "janus.stderr"), "wb") as err:  # libnice's debug output (NICE_DEBUG=all) goes here
            cmd = [JANUS, "-C", os.path.join(conf, "janus.jcfg"), "-F", conf, "-o", "-L", log, "-N"]
            janus = subprocess.Popen(os.environ.get("JANUS_WRAP", "").split() + cmd, stdout=err, stderr=err,
                                     preexec_fn=die_with_parent)
        up = wait_http("http://127.0.0.1:%d/janus/info" % JANUS_PORT, 10)
        check(up, "Janus answers on http://127.0.0.1:%d/janus (%.0f ms after start)"
              % (JANUS_PORT, (time.time() - t0) * 1000))
        if not up:
            return
        with urllib.request.urlopen("http://127.0.0.1:%d/janus/info" % JANUS_PORT, timeout=3) as r:
            info = json.loads(r.read().decode())
        check(list(info.get("plugins", {})) == ["janus.plugin.echotest"] and
              list(info.get("transports", {})) == ["janus.transport.http"],
              "Janus %s loaded only the echotest plugin and the HTTP transport (%s, %s)"
              % (info.get("version_string"), list(info.get("plugins", {})), list(info.get("transports", {}))))
        api.create()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
                seen["offer"], seen["offer_at"] = body, time.time()
                try:
                    sdp = api.offer(body)
                except Exception as e:  # answer either way so rtcpp-peer does not hang
                    seen["error"] = repr(e)
                    self.send_response(502)
                    self.end_headers()
                    self.wfile.write(repr(e).encode())
                    return
                seen["answer"], seen["answer_at"] = sdp, time.time()
                self.send_response(201)
                self.send_header("Content-Type", "application/sdp")
                self.send_header("Content-Length", str(len(sdp.encode())))
                self.end_headers()
                self.wfile.write(sdp.encode())

            def log_message(self, *args):
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", SIGNAL_PORT), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()

        args = os.environ.get("PEER_WRAP", "").split() + [
            PEER, "--connect", "http://127.0.0.1:%d/offer" % SIGNAL_PORT, "--bind", PEER_IP, "--media", "testsrc",
            "--duration", str(DURATION), "--timeout", str(DURATION + 30), "--cc-trace"]
        stats_path = os.path.join(root, "stats.json")
        if SIMULCAST:
            args += ["--simulcast", "--stats", stats_path]
        if os.environ.get("PEER_VERBOSE"):
            args.append("--verbose")
        started = time.time()

        def cap_bitrate():
            # Janus's way to cap a publisher: the echotest answers {"bitrate": N} with REMB N towards rtcpp.
            t, _ = api.wait_event(lambda e: e.get("janus") == "webrtcup", 15)
            if t is None:
                return
            if SIMULCAST:
                # Janus numbers the substreams from a=simulcast's order, highest first (janus.js sends h;m;l), as
                # rtcpp lists them (f;h;q): 2 is our top layer. Ask for it explicitly: Janus relays the best layer
                # running and moves up (with a PLI) when a higher one starts, down when one stops (its fallback).
                time.sleep(1.0)
                try:
                    seen["substream_reply"] = api.message({"substream": SUBSTREAM})
                except Exception as e:
                    seen["substream_error"] = repr(e)
            time.sleep(max(0.0, t + CAP_AFTER - time.time()))
            try:
                seen["cap_reply"] = api.message({"bitrate": CAP_BPS})
                seen["cap_at"] = time.time()
            except Exception as e:
                seen["cap_error"] = repr(e)

        capper = threading.Thread(target=cap_bitrate, daemon=True)
        capper.start()
        peer = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                preexec_fn=die_with_parent)
        try:
            out, _ = peer.communicate(timeout=DURATION + 40)
        except subprocess.TimeoutExpired:
            stop_group(peer, 3)
            out, _ = peer.communicate()
        peer_exited = time.time()
        text = out.decode(errors="replace")
        check(peer.returncode == 0, "rtcpp-peer exited %s after --duration %d (%.1f s)"
              % (peer.returncode, DURATION, time.time() - started))

        offer, answer = seen.get("offer", ""), seen.get("answer", "")
        for name, sdp in (("offer.sdp", offer), ("answer.sdp", answer)):
            with open(os.path.join(root, name), "w") as f:
                f.write(sdp)
        if seen.get("error"):
            print("signalling error: " + seen["error"])
        check(answer, "Janus answered rtcpp's offer (%.0f ms from POST to answer)"
              % ((seen.get("answer_at", 0) - seen.get("offer_at", 0)) * 1000 if answer else -1))
        a, v, d = section(answer, "audio"), section(answer, "video"), section(answer, "application")
        check("opus/48000" in a.lower() and direction(a) == "sendrecv" and not a.startswith("m=audio 0 "),
              "Janus accepted audio: Opus, %s" % direction(a))
        check("vp8/90000" in v.lower() and direction(v) == "sendrecv" and not v.startswith("m=video 0 "),
              "Janus accepted video: VP8, %s" % direction(v))
        check(d and not d.startswith("m=application 0 "), "Janus accepted the data channel (%s)" % d.split("\r\n")[0])
        check("a=group:BUNDLE" in answer, "Janus bundled the m-lines")
        if SIMULCAST:
            sc = re.search(r"a=simulcast:(\S+) (\S+)", v)
            rids = re.findall(r"a=rid:(\S+) (\w+)", v)
            check(sc and sc.group(1) == "recv" and sorted(r for r, d in rids if d == "recv") == ["f", "h", "q"],
                  "Janus answered simulcast: %s, rids %s" % (sc.group(0) if sc else None, rids))
        figure("Janus answer: ice-lite %s; candidates %s; video extmaps %s; rtcp-fb %s" % (
            "a=ice-lite" in answer, re.findall(r"a=candidate:\S+ \d \S+ \d+ (\S+ \d+) typ (\w+)", answer),
            re.findall(r"a=extmap:(\d+) (\S+)", v), sorted(set(re.findall(r"a=rtcp-fb:\d+ ([\w -]+)", v)))))

        m = re.search(r"connection connected", text)
        check(m, "rtcpp connected to Janus")
        sel = re.search(r"selected pair (.*)", text)
        if sel:
            figure("rtcpp: selected pair " + sel.group(1).strip())
        webrtcup_t, _ = api.wait_event(lambda e: e.get("janus") == "webrtcup", 1)
        check(webrtcup_t, "Janus reported webrtcup (%.0f ms after the answer)"
              % (((webrtcup_t or 0) - seen.get("answer_at", 0)) * 1000))
        media = [e for _, e in api.events if e.get("janus") == "media"]
        kinds = sorted({e.get("type") for e in media if e.get("receiving")})
        check("audio" in kinds and "video" in kinds, "Janus reported receiving audio and video (%s)" % kinds)
        figure("Janus events: %s" % sorted({e.get("janus") for _, e in api.events}))
        slow = [e for _, e in api.events if e.get("janus") == "slowlink"]
        if slow:
            figure("Janus slowlink events: %s" % slow)
        # rtcpp-peer's DTLS close_notify at exit makes Janus hang up ("DTLS alert"); a hangup before that is a failure.
        early = [(round(t - peer_exited, 3), e.get("reason")) for t, e in api.events
                 if e.get("janus") == "hangup" and t < peer_exited - 0.5]
        check(not early, "Janus did not hang up while rtcpp-peer ran (%s)" % (early or "no early hangup"))

        echoes = re.findall(r"channel message: (.*)", text)
        check(ECHO_PREFIX + GREETING in echoes,
              "data channel: the greeting came back as %r" % (echoes[0] if echoes else None))
        check_bitrate_cap(text, seen, started)

        opened = re.search(r"channel open: setup ([\d.]+) ms", text)
        if opened:
            figure("data channel open %s ms after the offer was created" % opened.group(1))

        summary = SUMMARY.search(text)
        check(summary, "rtcpp-peer printed its media summary")
        if summary:
            vr, vd, ve, ar, ad, ae, sv, sa = (int(x) for x in summary.groups())
            rtp = {k: (int(sp), int(sf), int(rp), int(rf), int(lost))
                   for k, _, sp, sf, rp, rf, lost in RTP_LINE.findall(text)}
            for line in re.findall(r"^(rtp: .*|cc: .*)$", text, re.M):
                figure("rtcpp-peer " + line)
            for kind, (sp, sf, rp, rf, lost) in sorted(rtp.items()):
                figure("%s RTP: sent %d packets %d frames; echoed back %d packets %d frames, %d lost"
                       % (kind, sp, sf, rp, rf, lost))
            figure("video: sent %d frames, echoed %d, decoded %d (%.1f %%), errors %d"
                   % (sv, vr, vd, 100.0 * vd / max(sv, 1), ve))
            figure("audio: sent %d frames (%.1f s), echoed %d, decoded %d (%.1f %%), errors %d"
                   % (sa, sa * 0.02, ar, ad, 100.0 * ad / max(sa, 1), ae))
            # The echotest relays every packet it gets, and the link (one namespace, no impairment) loses none: the
            # only frames that may be missing are those still in flight when rtcpp-peer stops counting (a round trip
            # of about a millisecond) or sent before Janus's SRTP context was up (rtcpp sends only once DTLS is
            # done). 5 % of 8 s is 400 ms of slack for a loaded machine; every run here echoed 100 %.
            if SIMULCAST:
                check_simulcast(text, vd, ve, stats_path)
            else:
                check(sv > 0 and vd >= 0.95 * sv,
                      "rtcpp decoded %d echoed VP8 frames >= 95 %% of the %d it sent" % (vd, sv))
            check(ve == 0, "no VP8 decode errors (%d)" % ve)
            # The pictures that came back are rtcpp's own test pattern, its frame counter readable and increasing.
            pat = re.search(r"media: video \S+ test pattern frames (\d+) of (\d+) decoded, last counter (\d+)", text)
            pf, last = (int(pat.group(1)), int(pat.group(3))) if pat else (0, -1)
            # (Simulcast: each layer's encoder counts its own frames, so the counter jumps when Janus switches.)
            check(SIMULCAST or pat and pf >= 0.95 * vd and last >= 0.95 * sv - 1,
                  "the echoed pictures are rtcpp's test pattern: %d of %d decoded read back, last counter %d of %d sent"
                  % (pf, vd, last, sv))
            check(sa > 0 and ar >= 0.95 * sa and ae == 0,
                  "rtcpp received %d echoed Opus frames >= 95 %% of the %d it sent, %d decode errors" % (ar, sa, ae))
            # "decoded" is what rtcpp-peer's jitter buffer played on its 20 ms clock: frames its playout thread
            # reached too late (a loaded machine) are late loss, not lost echoes; 85-99 % seen here under load.
            check(ad >= 0.80 * sa, "rtcpp-peer's jitter buffer played %d of them (>= 80 %%)" % ad)
        if not all(results):
            print("rtcpp-peer output:\n" + text[-6000:])
    finally:
        if peer is not None:
            stop_group(peer, 3)
        api.destroy()
        if server is not None:
            server.shutdown()
        if janus is not None:
            running = janus.poll() is None
            code = stop_group(janus)
            check(running and code == 0, "Janus ran to the end and stopped on SIGTERM (%s, exit status %s)"
                  % ("was running" if running else "had exited", code))
        if not all(results) and os.path.exists(log):
            with open(log, errors="replace") as f:
                lines = f.read().splitlines()
            print("Janus log (last 60 lines):\n" + "\n".join(lines[-60:]))
        if os.environ.get("KEEP"):
            print("kept " + root)
        else:
            shutil.rmtree(root, ignore_errors=True)


def main():
    if not os.path.exists(JANUS) or not os.path.exists(PLUGIN) or not os.path.exists(TRANSPORT):
        print("SKIP: janus is not installed (Debian package `janus`: %s, %s, %s)" % (JANUS, PLUGIN, TRANSPORT))
        return SKIP
    if not PEER or not os.path.exists(PEER):
        print("usage: netns-setup.sh /usr/bin/python3 janus_echotest.py PATH/TO/rtcpp-peer")
        return 2
    if not in_namespace_with_veth():
        print("needs the veth pair %s (%s) / %s (%s) made by netns-setup.sh: run inside it"
              % (JANUS_IFACE, JANUS_IP, PEER_IFACE, PEER_IP))
        return 2
    # Janus's libnice pins its sockets to rtcpp1 (IP_UNICAST_IF), so its packets to 10.99.0.1 really cross the veth
    # and arrive on rtcpp0 from an address that is local too, which the kernel drops as martian unless accept_local
    # is set (only in this private namespace). rtcpp's packets to 10.99.0.2 take the local route.
    with open("/proc/sys/net/ipv4/conf/%s/accept_local" % PEER_IFACE, "w") as f:
        f.write("1")
    # CTest's timeout or ^C: unwind through the finally blocks so Janus is stopped.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    t0 = time.time()
    try:
        run()
    except Exception as e:
        check(False, "unexpected: %r" % e)
    passed = sum(results)
    print("%d passed, %d failed (%.1f s)" % (passed, len(results) - passed, time.time() - t0))
    return 0 if results and all(results) else 1


sys.exit(main())
