// rtcpp <-> headless Chromium through a tbf-shaped path (issue 8, Interop). Started by chromium_shaped.sh inside
// namespace A (see there for the topology); CHROMIUM_B is a wrapper that runs Chromium in namespace B.
//   chromium_shaped.sh PATH/TO/rtcpp-peer
//
// What is compared with what. tbf counts every byte of the Ethernet frame it sends (RTP + SRTP tag + UDP + IPv4 +
// Ethernet header), so SHAPED_RATE_KBPS is the ceiling on that. Both congestion controllers estimate at about that
// level too: rtcpp's GCC counts each RTP packet plus 44 bytes of SRTP/UDP/IP overhead (the real overhead here is
// 10 + 8 + 20 = 38, +14 Ethernet), Chromium's counts packet plus transport overhead. So the estimates are compared
// with the tbf rate as it is; the video encoder's own (payload) rate is below it by the audio and the per-packet
// overhead (about 4 % at 1100-byte payloads), and is printed separately as what the receiver got.
//
// Checks, on the medians of the last LAST (15) seconds of each phase (GCC's sawtooth on this path, about 800 -> 1050
// kbps, takes 4-6 s: a 5 s window caught a low half-cycle now and then, 85 % for rtcpp and Chromium alike):
//  1. rtcpp -> Chromium (DURATION, 25 s): rtcpp's GCC target (rtcpp-peer --cc-trace, every 500 ms) within +-15 % of
//     the rate, and at 85 % of it within 5 s of the first trace line: GCC's start-up probes (the pacer sends them,
//     padding on the RTX stream when the encoder has too little) find the path; without them AIMD's 8 %/s climb
//     from the 300 kbps start took about 16 s.
//  2. Chromium -> rtcpp: Chromium's selected candidate-pair availableOutgoingBitrate within 60-120 % of the rate.
//     Wider than 1.: it is Chromium's estimator, not ours; its own figure on this same path (phase 2) has landed at
//     69-106 % of the rate (75-97 % with the sources below) from run to run, as its GCC sawtooth (about 800 -> 1050
//     kbps) happens to sit in the window. The band still tells feedback from no feedback: without usable
//     transport-cc feedback Chromium has no probe result and no acknowledged rate and stays near its 300 kbps
//     start, and an estimate above the link (as with a large tbf bucket that let its probes through unshaped:
//     about 4 Mbps) is not tracking it.
//  3. Chromium A <-> Chromium B on the same path (YARDSTICK_DURATION, 20 s): both availableOutgoingBitrate medians
//     printed; the phase must connect and carry video both ways, its figures are the reference, not held to a band.
// Chromium sends a canvas of random blocks (see media() below) rather than its fake camera, whose pattern encodes
// in about 550 kbps whatever the target, and keeps its resolution (keepResolution() below): otherwise it sends
// 550-670 kbps under a 1 Mbps path, application-limited, and its availableOutgoingBitrate is whatever its probes
// saw (1.1-1.2 Mbps), not a tracked figure. With both, it sends 750-830 kbps of UDP payload and its estimate shows
// GCC's sawtooth (about 800 -> 1050 kbps). NOISE_BAND=0: the fake camera.
// Environment: SHAPED_RATE_KBPS (1000), DURATION (25), YARDSTICK_DURATION (20), LAST (15), NOISE_BAND (rows, 64), MAINTAIN_RESOLUTION (1),
// PEER_VERBOSE, PEER_LOG (rtcpp-peer output file), PEER_GDB=1 (rtcpp-peer under gdb: stacks if it crashes).
import { chromium } from 'playwright-core';
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const peerBin = process.argv[2];
if (!peerBin || !fs.existsSync(peerBin)) {
  console.error('usage: node chromium_shaped.mjs PATH/TO/rtcpp-peer (run by chromium_shaped.sh)');
  process.exit(2);
}
const chromiumA = process.env.CHROMIUM_A || '/usr/bin/chromium';
const chromiumB = process.env.CHROMIUM_B;
if (!chromiumB) {
  console.error('CHROMIUM_B (a wrapper running Chromium in the other namespace) is not set: run chromium_shaped.sh');
  process.exit(2);
}
const RATE = Number(process.env.SHAPED_RATE_KBPS || 1000);
const DURATION = Number(process.env.DURATION || 25);
const YARDSTICK_DURATION = Number(process.env.YARDSTICK_DURATION || 20);
const LAST = Number(process.env.LAST || 15);
const PORT = 18700;
const ADDR_A = '10.77.0.1';

// CCFB=1: both Chromiums offer RFC 8888 feedback (a field trial in this Chromium), so every leg runs on it instead
// of transport-cc: rtcpp answers ack ccfb without transport-cc and sends/reads RFC 8888 reports.
const CCFB = process.env.CCFB === '1';
const chromiumArgs = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream', '--autoplay-policy=no-user-gesture-required'];
if (CCFB) chromiumArgs.push('--force-fieldtrials=WebRTC-RFC8888CongestionControlFeedback/Enabled,offer:true/');

let failures = 0;
const results = [];
function check(cond, what) {
  if (!cond) {
    failures++;
    console.error(`FAIL: ${what}`);
  } else {
    console.log(`ok: ${what}`);
  }
  results.push({ ok: !!cond, what });
}
const figure = (line) => console.log(`  ${line}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const median = (xs) => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (!s.length) return NaN;
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const kbps = (x) => (Number.isFinite(x) ? `${Math.round(x)} kbps` : 'n/a');
const pct = (x) => (Number.isFinite(x) ? `${(100 * x / RATE).toFixed(0)} %` : 'n/a');

// Browser side: one RTCPeerConnection per page, its stats sampled every 500 ms.
const pageLib = `
const KEEP_RESOLUTION = ${process.env.MAINTAIN_RESOLUTION !== '0'};
const BAND = ${Number(process.env.NOISE_BAND ?? 64)};
window.sh = {
  samples: [],
  timer: null,
  // The fake microphone, and video from a canvas of random 8x8 blocks: each frame (30 fps) renews a band of BAND
  // rows at a random height from one of 16 precomputed pictures, the rest is predicted from earlier frames. The
  // fake camera's simple pattern encodes in about 550 kbps whatever the target, which leaves Chromium
  // application-limited below a 1 Mbps path and its estimate untested (it stays at what its first probes saw).
  async media() {
    if (BAND === 0) return navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: false });
    const w = 640, h = 480;
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    const ctx = canvas.getContext('2d');
    const pictures = [];
    for (let i = 0; i < 16; i++) {
      const img = ctx.createImageData(w, h);
      const px = new Uint32Array(img.data.buffer);
      for (let by = 0; by < h; by += 8) {
        for (let bx = 0; bx < w; bx += 8) {
          const c = 0xff000000 | ((Math.random() * 0xffffff) >>> 0);
          for (let y = by; y < by + 8; y++) px.fill(c, y * w + bx, y * w + bx + 8);
        }
      }
      pictures.push(img);
    }
    ctx.putImageData(pictures[0], 0, 0);
    this.drawTimer = setInterval(() => {
      const y = Math.floor(Math.random() * (h - BAND) / 8) * 8;
      ctx.putImageData(pictures[(Math.random() * pictures.length) | 0], 0, 0, 0, y, w, BAND);
    }, 1000 / 30);
    stream.addTrack(canvas.captureStream(30).getVideoTracks()[0]);
    return stream;
  },
  // Chromium would otherwise scale 640x480 down to 320x240 in its first seconds (its estimate starts at 300 kbps)
  // and stay there, where its default maximum bitrate is 600 kbps: application-limited under a 1 Mbps path, its
  // estimate then only climbs (ALR) and is not tested. maintain-resolution keeps 640x480 (up to 1700 kbps).
  // MAINTAIN_RESOLUTION=0: Chromium's default (balanced).
  async keepResolution(pc) {
    if (!KEEP_RESOLUTION) return;
    for (const s of pc.getSenders()) {
      if (!s.track || s.track.kind !== 'video') continue;
      const p = s.getParameters();
      p.degradationPreference = 'maintain-resolution';
      await s.setParameters(p).catch(() => {});
    }
  },
  attach(track) {
    const el = document.createElement(track.kind);
    el.muted = true;
    el.autoplay = true;
    el.playsInline = true;
    el.srcObject = new MediaStream([track]);
    document.body.appendChild(el);
    el.play().catch(() => {});
  },
  async waitGathering(pc, ms) {
    if (pc.iceGatheringState === 'complete') return;
    await new Promise((r) => { pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') r(); }); setTimeout(r, ms); });
  },
  async waitConnected(pc, ms) {
    for (const end = Date.now() + ms; pc.connectionState !== 'connected' && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
    return pc.connectionState;
  },
  async snapshot(pc) {
    const st = await pc.getStats();
    let selected = null;
    st.forEach((r) => { if (r.type === 'transport' && r.selectedCandidatePairId) selected = r.selectedCandidatePairId; });
    const rec = { t: Date.now(), out: {}, inb: {} };
    st.forEach((r) => {
      if (r.type === 'candidate-pair' && (r.id === selected || (!selected && r.nominated && r.state === 'succeeded'))) {
        rec.aob = r.availableOutgoingBitrate;
        rec.rtt = r.currentRoundTripTime;
        rec.pairSent = r.bytesSent;
        rec.pairReceived = r.bytesReceived;
      } else if (r.type === 'outbound-rtp') {
        rec.out[r.kind] = { bytesSent: r.bytesSent, targetBitrate: r.targetBitrate, framesEncoded: r.framesEncoded,
          limitation: r.qualityLimitationReason, width: r.frameWidth, height: r.frameHeight, fps: r.framesPerSecond };
      } else if (r.type === 'inbound-rtp') {
        rec.inb[r.kind] = { bytesReceived: r.bytesReceived, framesDecoded: r.framesDecoded, packetsLost: r.packetsLost,
          packetsReceived: r.packetsReceived, width: r.frameWidth, height: r.frameHeight };
      }
    });
    return rec;
  },
  start(pc, ms = 500) {
    this.samples = [];
    this.timer = setInterval(async () => { this.samples.push(await this.snapshot(pc)); }, ms);
  },
  async finish(pc) {
    clearInterval(this.timer);
    this.samples.push(await this.snapshot(pc));
    return this.samples;
  },
};
`;

async function newPage(context) {
  const page = await context.newPage();
  // A secure origin (localhost) for getUserMedia without any server: the page never touches the network.
  await page.route('http://localhost/**', (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>rtcpp shaped</title>' }));
  await page.goto('http://localhost/');
  await page.evaluate(pageLib);
  return page;
}

// Rate (kbps) of a cumulative byte counter over the samples in [from, to].
function rateOver(samples, get, from, to) {
  const w = samples.filter((s) => s.t >= from && s.t <= to && Number.isFinite(get(s)));
  if (w.length < 2) return NaN;
  const a = w[0], b = w[w.length - 1];
  return (get(b) - get(a)) * 8 / (b.t - a.t);
}
function browserFigures(samples, from, to) {
  const w = samples.filter((s) => s.t >= from && s.t <= to);
  return {
    aob: median(w.map((s) => s.aob / 1000)),
    rtt: median(w.map((s) => s.rtt * 1000)),
    videoTarget: median(w.map((s) => (s.out.video ? s.out.video.targetBitrate / 1000 : NaN))),
    pairSentKbps: rateOver(samples, (s) => s.pairSent, from, to),
    pairReceivedKbps: rateOver(samples, (s) => s.pairReceived, from, to),
    limitation: w.length && w[w.length - 1].out.video ? `${w[w.length - 1].out.video.limitation} at ${w[w.length - 1].out.video.width}x${w[w.length - 1].out.video.height}` : 'n/a',
  };
}
// Chromium's availableOutgoingBitrate over time (every 2 s), for the log.
function aobSeries(samples, t0) {
  const out = [];
  let next = t0;
  for (const s of samples) {
    if (s.t >= next && Number.isFinite(s.aob)) {
      out.push(`${((s.t - t0) / 1000).toFixed(0)}s:${Math.round(s.aob / 1000)}`);
      next = s.t + 2000;
    }
  }
  return out.join(' ');
}

function startPeer(args) {
  if (process.env.PEER_VERBOSE) args = [...args, '--verbose'];
  // PEER_GDB=1: under gdb, which prints every thread's stack if it crashes.
  const p = process.env.PEER_GDB
    ? spawn('/usr/bin/gdb', ['-q', '-batch', '-ex', 'run', '-ex', 'thread apply all bt 25', '--args', peerBin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    : spawn(peerBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { out += d; });
  p.output = () => out;
  p.exitCode_ = null;
  p.exited = new Promise((r) => p.on('exit', (code, sig) => { p.exitCode_ = code === null ? sig : code; p.exitAt = Date.now(); r(code); }));
  return p;
}
// rtcpp-peer that outlived --duration: its threads' stacks (if gdb is installed), to see where it hangs.
function dumpStacks(p) {
  if (!fs.existsSync('/usr/bin/gdb')) return;
  const r = spawnSync('/usr/bin/gdb', ['-p', String(p.pid), '-batch', '-ex', 'thread apply all bt 30'], { encoding: 'utf8', timeout: 20000 });
  console.log(`rtcpp-peer (pid ${p.pid}) still running; stacks:\n${(r.stdout || '').split('\n').filter((l) => /^Thread|^#/.test(l)).join('\n').slice(0, 12000)}`);
}
async function stopPeer(p) {
  if (!p || p.exitCode_ !== null) return;
  p.kill('SIGTERM');
  if (await Promise.race([p.exited.then(() => true), sleep(3000).then(() => false)])) return;
  p.kill('SIGKILL');
  await p.exited;
}
const live = new Set(); // rtcpp-peer processes to stop on SIGTERM
async function waitHttp(port, deadlineMs = 5000) {
  for (const end = Date.now() + deadlineMs; Date.now() < end; await sleep(50)) {
    const ok = await new Promise((r) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/' }, (res) => { res.resume(); r(true); });
      req.on('error', () => r(false));
    });
    if (ok) return true;
  }
  return false;
}
function post(port, body) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/offer', method: 'POST', headers: { 'Content-Type': 'application/sdp' } }, (res) => {
      let data = '';
      res.on('data', (d) => { data += d; });
      res.on('end', () => resolve({ status: res.statusCode, body: data }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
// rtcpp-peer --cc-trace lines: `cc: T s target K kbps sent B bytes received R bytes`.
function parseTrace(text) {
  const out = [];
  const re = /cc: ([\d.]+) s target (\d+) kbps sent (\d+) bytes received (\d+) bytes/g;
  for (let m; (m = re.exec(text));) out.push({ t: Number(m[1]), target: Number(m[2]), sent: Number(m[3]), received: Number(m[4]) });
  return out;
}

// Phase 1: Chromium B (camera + microphone, sendrecv) offers to rtcpp-peer --media testsrc, which answers.
async function rtcppPhase(contextB) {
  console.log(`--- rtcpp <-> Chromium B, ${DURATION} s`);
  const peer = startPeer(['--listen', `127.0.0.1:${PORT}`, '--bind', ADDR_A, '--media', 'testsrc', '--cc-trace',
    '--duration', String(DURATION), '--timeout', String(DURATION + 30)]);
  live.add(peer);
  const page = await newPage(contextB);
  try {
    check(await waitHttp(PORT), 'rtcpp-peer listens');
    const offer = await page.evaluate(async () => {
      const stream = await window.sh.media();
      const pc = new RTCPeerConnection();
      window.pc = pc;
      pc.ontrack = (e) => window.sh.attach(e.track);
      for (const track of stream.getTracks()) pc.addTransceiver(track, { direction: 'sendrecv', streams: [stream] });
      await pc.setLocalDescription(await pc.createOffer());
      await window.sh.waitGathering(pc, 2000);
      return pc.localDescription.sdp;
    });
    const res = await post(PORT, offer);
    check(res.status === 201, `rtcpp-peer answered 201 (got ${res.status}${res.status !== 201 ? ': ' + res.body.slice(0, 200) : ''})`);
    if (res.status !== 201) return;
    if (CCFB) {
      const lines = offer.split('\r\n').filter((l) => / ack ccfb/.test(l));
      check(lines.length > 0, `Chromium offered RFC 8888 feedback (${lines.length} lines: ${[...new Set(lines)].slice(0, 3).join(', ')})`);
      check(/a=rtcp-fb:\* ack ccfb/.test(res.body) && !/transport-cc/.test(res.body) && !/transport-wide-cc/.test(res.body),
        'rtcpp answered ack ccfb, without transport-cc');
    } else {
      check(/transport-wide-cc/.test(res.body) && /transport-cc/.test(res.body), 'rtcpp answered with transport-cc (extension and rtcp-fb)');
    }
    const state = await page.evaluate(async (answer) => {
      await window.pc.setRemoteDescription({ type: 'answer', sdp: answer });
      const s = await window.sh.waitConnected(window.pc, 10000);
      await window.sh.keepResolution(window.pc);
      window.sh.start(window.pc);
      return s;
    }, res.body);
    const connectedAt = Date.now();
    check(state === 'connected', `Chromium B connected to rtcpp (${state})`);
    await Promise.race([peer.exited, sleep((DURATION + 8) * 1000)]);
    check(peer.exitCode_ === 0, `rtcpp-peer exited by itself after --duration ${DURATION} (status ${peer.exitCode_})`);
    if (peer.exitCode_ === null) dumpStacks(peer);
    const samples = await page.evaluate(() => window.sh.finish(window.pc));
    const out = peer.output();
    if (process.env.PEER_LOG) fs.writeFileSync(process.env.PEER_LOG, out);
    const trace = parseTrace(out);
    check(trace.length >= 2 * LAST, `rtcpp-peer printed its cc trace (${trace.length} lines)`);
    if (trace.length < 2) return;

    // 1. rtcpp's estimate over its last LAST seconds.
    const tEnd = trace[trace.length - 1].t;
    const win = trace.filter((x) => x.t >= tEnd - LAST);
    const p50 = median(win.map((x) => x.target));
    const first = win[0], last = win[win.length - 1];
    const sentKbps = (last.sent - first.sent) * 8 / 1000 / (last.t - first.t);
    const recvKbps = (last.received - first.received) * 8 / 1000 / (last.t - first.t);
    const series = trace.filter((_, i) => i % 4 === 0).map((x) => `${x.t.toFixed(0)}s:${x.target}`).join(' ');
    figure(`rtcpp target (kbps) every 2 s: ${series}`);
    figure(`rtcpp -> Chromium: target p50 over the last ${LAST} s ${kbps(p50)} (${pct(p50)} of ${RATE}), min ${Math.min(...win.map((x) => x.target))} max ${Math.max(...win.map((x) => x.target))}; RTP payload sent ${kbps(sentKbps)}`);
    const ramp = trace.find((x) => x.target >= 0.85 * RATE);
    const rampSeconds = ramp ? ramp.t - trace[0].t : Infinity;
    figure(`rtcpp target reached 85 % of ${RATE} kbps ${ramp ? rampSeconds.toFixed(1) + ' s after the first trace line' : 'never'}`);
    const cc = /cc: target bitrate (\d+) kbps after (\d+) changes/.exec(out);
    if (cc) figure(`rtcpp-peer: final target ${cc[1]} kbps after ${cc[2]} changes`);
    const rtp = out.split('\n').filter((l) => l.startsWith('rtp: ') || l.startsWith('media: '));
    for (const l of rtp) figure(`rtcpp-peer ${l}`);

    // 2. Chromium's estimate of B -> A, over the last LAST seconds before rtcpp-peer stopped.
    const to = (peer.exitAt || Date.now()) - 600;
    const b = browserFigures(samples, to - LAST * 1000, to);
    figure(`Chromium B availableOutgoingBitrate (kbps) every 2 s: ${aobSeries(samples, connectedAt)}`);
    figure(`Chromium -> rtcpp: availableOutgoingBitrate p50 ${kbps(b.aob)} (${pct(b.aob)}), video targetBitrate p50 ${kbps(b.videoTarget)}, limitation ${b.limitation}, RTT p50 ${b.rtt.toFixed(0)} ms; candidate pair sent ${kbps(b.pairSentKbps)}, received from rtcpp ${kbps(b.pairReceivedKbps)}; rtcpp RTP payload received ${kbps(recvKbps)}`);
    // The 15 % is for transport-cc. RFC 8888 reports carry arrival times in 1/1024 s (transport-cc: 1/4000)
    // once per 100 ms, and the estimate on them sat 84-92 % of the rate (one CI run: 84 %, dipping to 663 kbps):
    // that leg shows the feedback drives GCC both ways, within 25 %.
    const band = CCFB ? 0.25 : 0.15;
    check(Number.isFinite(p50) && Math.abs(p50 - RATE) <= band * RATE,
      `rtcpp's GCC target settles within ${band * 100} % of the ${RATE} kbps tbf rate (p50 of the last ${LAST} s: ${kbps(p50)})`);
    check(rampSeconds <= 5, `rtcpp's target reaches 85 % of the rate within 5 s (${Number.isFinite(rampSeconds) ? rampSeconds.toFixed(1) + ' s' : 'never'})`);
    check(Number.isFinite(b.aob) && b.aob >= 0.6 * RATE && b.aob <= 1.2 * RATE,
      `Chromium's availableOutgoingBitrate (on rtcpp's ${CCFB ? 'RFC 8888' : 'transport-cc'} feedback) within 60-120 % of ${RATE} kbps (p50 ${kbps(b.aob)})`);
    return { p50, aob: b.aob };
  } finally {
    await stopPeer(peer);
    live.delete(peer);
    if (failures && process.env.VERBOSE !== '0') console.log(`rtcpp-peer output (tail):\n${peer.output().split('\n').filter((l) => !l.startsWith('cc: ')).join('\n').slice(-3000)}`);
    await page.close();
  }
}

// Phase 2 (yardstick): Chromium A offers camera + microphone sendrecv to Chromium B, which answers with its own.
async function chromiumPhase(contextA, contextB) {
  console.log(`--- Chromium A <-> Chromium B (yardstick), ${YARDSTICK_DURATION} s`);
  const pageA = await newPage(contextA);
  const pageB = await newPage(contextB);
  try {
    const setup = async () => {
      const stream = await window.sh.media();
      const pc = new RTCPeerConnection();
      window.pc = pc;
      window.stream = stream;
      pc.ontrack = (e) => window.sh.attach(e.track);
      return true;
    };
    await pageA.evaluate(setup);
    await pageB.evaluate(setup);
    const offer = await pageA.evaluate(async () => {
      for (const track of window.stream.getTracks()) window.pc.addTransceiver(track, { direction: 'sendrecv', streams: [window.stream] });
      await window.pc.setLocalDescription(await window.pc.createOffer());
      await window.sh.waitGathering(window.pc, 2000);
      return window.pc.localDescription.sdp;
    });
    const answer = await pageB.evaluate(async (offer) => {
      const pc = window.pc;
      await pc.setRemoteDescription({ type: 'offer', sdp: offer });
      for (const t of pc.getTransceivers()) {
        const track = t.receiver.track.kind === 'audio' ? window.stream.getAudioTracks()[0] : window.stream.getVideoTracks()[0];
        await t.sender.replaceTrack(track);
        t.sender.setStreams(window.stream);
        t.direction = 'sendrecv';
      }
      await pc.setLocalDescription(await pc.createAnswer());
      await window.sh.waitGathering(pc, 2000);
      return pc.localDescription.sdp;
    }, offer);
    await pageA.evaluate(async (answer) => { await window.pc.setRemoteDescription({ type: 'answer', sdp: answer }); }, answer);
    const states = await Promise.all([pageA, pageB].map((p) => p.evaluate(async () => {
      const s = await window.sh.waitConnected(window.pc, 10000);
      await window.sh.keepResolution(window.pc);
      window.sh.start(window.pc);
      return s;
    })));
    const connectedAt = Date.now();
    check(states.every((s) => s === 'connected'), `Chromium A and B connected (${states.join(', ')})`);
    await sleep(YARDSTICK_DURATION * 1000);
    const [sa, sb] = await Promise.all([pageA, pageB].map((p) => p.evaluate(() => window.sh.finish(window.pc))));
    const to = Date.now() - 600;
    const a = browserFigures(sa, to - LAST * 1000, to);
    const b = browserFigures(sb, to - LAST * 1000, to);
    figure(`Chromium A availableOutgoingBitrate (kbps) every 2 s: ${aobSeries(sa, connectedAt)}`);
    figure(`Chromium B availableOutgoingBitrate (kbps) every 2 s: ${aobSeries(sb, connectedAt)}`);
    figure(`Chromium A -> B: availableOutgoingBitrate p50 ${kbps(a.aob)} (${pct(a.aob)}), video targetBitrate p50 ${kbps(a.videoTarget)}, limitation ${a.limitation}, RTT p50 ${a.rtt.toFixed(0)} ms; candidate pair sent ${kbps(a.pairSentKbps)}`);
    figure(`Chromium B -> A: availableOutgoingBitrate p50 ${kbps(b.aob)} (${pct(b.aob)}), video targetBitrate p50 ${kbps(b.videoTarget)}, limitation ${b.limitation}, RTT p50 ${b.rtt.toFixed(0)} ms; candidate pair sent ${kbps(b.pairSentKbps)}`);
    const lastB = sb[sb.length - 1], lastA = sa[sa.length - 1];
    check(lastA.inb.video && lastA.inb.video.framesDecoded > 0 && lastB.inb.video && lastB.inb.video.framesDecoded > 0,
      `Chromium <-> Chromium carried video both ways (decoded ${lastA.inb.video ? lastA.inb.video.framesDecoded : 0} / ${lastB.inb.video ? lastB.inb.video.framesDecoded : 0})`);
    return { a: a.aob, b: b.aob };
  } finally {
    await pageA.close();
    await pageB.close();
  }
}

async function main() {
  const dirs = [];
  const launch = (bin) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtcpp-shaped-chromium-'));
    dirs.push(dir);
    return chromium.launchPersistentContext(dir, { executablePath: bin, headless: true, args: chromiumArgs });
  };
  let contextA = null, contextB = null;
  const close = async () => {
    for (const p of live) await stopPeer(p);
    await Promise.all([contextA, contextB].filter(Boolean).map((c) => c.close().catch(() => {})));
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  };
  process.on('SIGTERM', async () => { console.error('chromium_shaped.mjs: terminated'); await close(); process.exit(124); });
  const t0 = Date.now();
  try {
    [contextA, contextB] = await Promise.all([launch(chromiumA), launch(chromiumB)]);
    const r1 = await rtcppPhase(contextB).catch((e) => { check(false, `rtcpp phase: ${e.message}`); return null; });
    const r2 = await chromiumPhase(contextA, contextB).catch((e) => { check(false, `Chromium phase: ${e.message}`); return null; });
    console.log(`summary (tbf ${RATE} kbps, medians of the last ${LAST} s): rtcpp->Chromium target ${kbps(r1 && r1.p50)}, ` +
      `Chromium->rtcpp availableOutgoingBitrate ${kbps(r1 && r1.aob)}; yardstick Chromium A->B ${kbps(r2 && r2.a)}, B->A ${kbps(r2 && r2.b)}`);
  } finally {
    await close();
  }
  const passed = results.filter((r) => r.ok).length;
  console.log(`${passed} passed, ${results.length - passed} failed (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  process.exit(failures ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(1); });
