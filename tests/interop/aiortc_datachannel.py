#!/usr/bin/python3
"""rtcpp <-> aiortc data channels (issue 5), both offer directions.

aiortc offers in the legacy SCTP form (m=application ... DTLS/SCTP 5000 + a=sctpmap) and does not trickle; rtcpp
must answer in the same form. Usage (inside a private network namespace):
    netns-setup.sh /usr/bin/python3 aiortc_datachannel.py PATH/TO/rtcpp-peer
Prints one line per check and a final "N passed, M failed"; exits non-zero on any failure.
"""
import asyncio
import http.server
import os
import random
import subprocess
import sys
import threading
import time
import urllib.request

import aioice.ice

# aioice leaves out loopback addresses; in a loopback-only test every candidate must be on 127.0.0.1.
aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: ["127.0.0.1"]

from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription  # noqa: E402

PEER = sys.argv[1] if len(sys.argv) > 1 else ""
results = []


def check(cond, what):
    results.append(bool(cond))
    print(("ok: " if cond else "FAIL: ") + what, flush=True)


def payloads(count, max_size, seed):
    rnd = random.Random(seed)
    out = []
    for i in range(count):
        size = 0 if i % 50 == 0 else rnd.randrange(0, max_size + 1)
        if i % 2 == 0:
            out.append(("T%d:" % i + "x" * size)[: max(size, 0)] if size else "")
        else:
            out.append(bytes((i + k) & 255 for k in range(size)))
    return out


async def echo_round(channel, msgs, timeout=30.0):
    got = []
    done = asyncio.Event()

    @channel.on("message")
    def on_message(m):
        got.append(m)
        if len(got) == len(msgs):
            done.set()

    for m in msgs:
        channel.send(m)
    try:
        await asyncio.wait_for(done.wait(), timeout)
    except asyncio.TimeoutError:
        pass
    return sum(1 for a, b in zip(msgs, got) if a == b and type(a) == type(b)), len(got)


def start_peer(args):
    if os.environ.get("PEER_VERBOSE"):
        args = args + ["--verbose"]
    return subprocess.Popen([PEER] + args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop_peer(p, name):
    p.terminate()
    try:
        out, _ = p.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        p.kill()
        out, _ = p.communicate()
    if not all(results):
        print("rtcpp-peer output (%s):\n%s" % (name, out[-3000:]))


def wait_port(port, deadline=5.0):
    end = time.time() + deadline
    while time.time() < end:
        try:
            urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=1).read()
            return True
        except Exception:
            time.sleep(0.05)
    return False


async def aiortc_offers(port):
    name = "aiortc offers (legacy DTLS/SCTP form), rtcpp answers"
    peer = start_peer(["--listen", "127.0.0.1:%d" % port, "--echo", "--timeout", "60"])
    try:
        check(wait_port(port), name + ": rtcpp-peer listens")
        pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
        channel = pc.createDataChannel("aiortc-chat")
        opened = asyncio.Event()
        channel.on("open", opened.set)
        await pc.setLocalDescription(await pc.createOffer())
        offer = pc.localDescription.sdp
        check("DTLS/SCTP 5000" in offer and "a=sctpmap:5000" in offer, name + ": aiortc's offer uses the legacy form")
        loop = asyncio.get_running_loop()
        t0 = time.time()

        def post():
            req = urllib.request.Request("http://127.0.0.1:%d/offer" % port, data=offer.encode(),
                                         headers={"Content-Type": "application/sdp"}, method="POST")
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode()

        status, answer = await loop.run_in_executor(None, post)
        check(status == 201, name + ": rtcpp-peer answered 201")
        check("DTLS/SCTP 5000" in answer and "a=sctpmap:5000" in answer,
              name + ": rtcpp answered in the legacy form")
        await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        try:
            await asyncio.wait_for(opened.wait(), 15)
        except asyncio.TimeoutError:
            pass
        check(channel.readyState == "open", name + ": channel open (%.0f ms)" % ((time.time() - t0) * 1000))
        if channel.readyState == "open":
            msgs = payloads(300, 60000, 1)
            matched, got = await echo_round(channel, msgs)
            check(matched == len(msgs), name + ": %d/%d messages (0 B..60 KB, text and binary) echoed intact"
                  % (matched, len(msgs)))
        await pc.close()
    finally:
        stop_peer(peer, name)


async def rtcpp_offers(port):
    name = "rtcpp offers (modern UDP/DTLS/SCTP form), aiortc answers"
    loop = asyncio.get_running_loop()
    pc = RTCPeerConnection(RTCConfiguration(iceServers=[]))
    remote_channel = asyncio.Future()
    seen_offer = {}

    @pc.on("datachannel")
    def on_dc(ch):
        if not remote_channel.done():
            remote_channel.set_result(ch)

    async def answer(offer_sdp):
        seen_offer["sdp"] = offer_sdp
        await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        return pc.localDescription.sdp

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
            fut = asyncio.run_coroutine_threadsafe(answer(body), loop)
            sdp = fut.result(timeout=15)
            self.send_response(201)
            self.send_header("Content-Type", "application/sdp")
            self.send_header("Content-Length", str(len(sdp)))
            self.end_headers()
            self.wfile.write(sdp.encode())

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    peer = start_peer(["--connect", "http://127.0.0.1:%d/offer" % port, "--echo", "--timeout", "60"])
    try:
        t0 = time.time()
        try:
            ch = await asyncio.wait_for(remote_channel, 15)
        except asyncio.TimeoutError:
            ch = None
        check(ch is not None and ch.label == "chat", name + ": aiortc received rtcpp's channel 'chat'")
        check("UDP/DTLS/SCTP webrtc-datachannel" in seen_offer.get("sdp", ""),
              name + ": rtcpp's offer uses the modern form")
        if ch is not None:
            if ch.readyState != "open":
                opened = asyncio.Event()
                ch.on("open", opened.set)
                try:
                    await asyncio.wait_for(opened.wait(), 10)
                except asyncio.TimeoutError:
                    pass
            check(ch.readyState == "open", name + ": channel open (%.0f ms)" % ((time.time() - t0) * 1000))
            msgs = payloads(300, 60000, 2)
            matched, got = await echo_round(ch, msgs)
            check(matched == len(msgs), name + ": %d/%d messages echoed intact" % (matched, len(msgs)))
        await pc.close()
    finally:
        stop_peer(peer, name)
        server.shutdown()


async def main():
    if not PEER or not os.path.exists(PEER):
        print("usage: aiortc_datachannel.py PATH/TO/rtcpp-peer")
        return 2
    await aiortc_offers(18500)
    await rtcpp_offers(18510)
    passed = sum(results)
    print("%d passed, %d failed" % (passed, len(results) - passed))
    return 0 if results and all(results) else 1


sys.exit(asyncio.run(main()))
