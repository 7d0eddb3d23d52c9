// rtcpp <-> headless Chromium video through a lossy path (issue 7, Interop): NACK and retransmission both ways.
// Run inside a private network namespace (it loads nftables rules there):
//   netns-setup.sh node chromium_lossy.mjs PATH/TO/rtcpp-peer [chromium-sends] [rtcpp-sends]
// The kernel has no netem: every SRTP and SRTCP datagram delivered in the namespace is dropped with probability
// LOSS % (nftables `numgen random`, input hook, so senders see no send error). STUN, DTLS and the HTTP signalling
// are left alone: only media and its feedback are lossy, in both directions.
// Cases:
//  - chromium-sends: Chromium's default offer (fake camera, VP8 in RED, rtx) to `rtcpp-peer --listen --media recv`.
//    rtcpp's NACKs reach Chromium (outbound-rtp nackCount > 0), Chromium retransmits (retransmittedPacketsSent > 0)
//    and rtcpp decodes >= 90 % of Chromium's framesSent with no decode error.
//  - rtcpp-sends: a recvonly offer from Chromium to `rtcpp-peer --listen --media testsrc` (VP8 test pattern).
//    Chromium NACKs (inbound-rtp nackCount > 0), rtcpp answers them (its retransmitted count > 0) and Chromium decodes
//    >= 90 % of the frames rtcpp sent.
//  - rtcpp-sends-audio-red: a recvonly audio+video offer from Chromium to `rtcpp-peer --media testsrc`, once as
//    Chromium offers it (red/48000/2 "111/111" beside Opus: rtcpp sends audio RED) and once with red removed from the
//    offer: with RED, Chromium conceals a smaller share of its audio samples than without (inbound-rtp
//    concealedSamples / totalSamplesReceived). Runs only when asked for.
//  - chromium-sends-flexfec: as chromium-sends, with Chromium's FlexFEC field trials on
//    (--force-fieldtrials=WebRTC-FlexFEC-03-Advertised/Enabled/WebRTC-FlexFEC-03/Enabled/): its offer carries
//    flexfec-03 and an FEC-FR group, rtcpp's answer accepts flexfec-03, and rtcpp rebuilds packets from Chromium's
//    FlexFEC (its `fec:` line: recovered > 0). NACK is taken out of the offer rtcpp answers: on loopback's RTT
//    Chromium with NACK sends FEC for key frames only.
// Environment: LOSS (percent, 5), DURATION (rtcpp-peer --duration, seconds, 10), PEER_VERBOSE, PEER_LOG=prefix.
import { chromium } from 'playwright-core';
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const peerBin = process.argv[2];
if (!peerBin || !fs.existsSync(peerBin)) {
  console.error('usage: node chromium_lossy.mjs PATH/TO/rtcpp-peer [case...]');
  process.exit(2);
}
const chromiumBin = process.env.CHROMIUM || '/usr/bin/chromium';
if (!fs.existsSync(chromiumBin)) {
  console.error(`Chromium not found at ${chromiumBin} (Debian package "chromium"; scripts/install-deps.sh interop)`);
  process.exit(2);
}
const LOSS = Number(process.env.LOSS ?? 5);
const DURATION = Number(process.env.DURATION || 10);

const chromiumArgs = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--allow-loopback-in-peer-connection', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required'];

let failures = 0;
let passes = 0;
function check(cond, what) {
  if (cond) {
    passes++;
    console.log(`ok: ${what}`);
  } else {
    failures++;
    console.error(`FAIL: ${what}`);
  }
}
const figure = (line) => console.log(`  ${line}`);
const pct = (a, b) => (100 * a / Math.max(b, 1)).toFixed(1);

// --- the lossy path -------------------------------------------------------------------------------------------------
// RTP and RTCP both start with version 2 (top bits 10); RTCP's packet type (second byte) is 192-223 (RFC 5761), so
// its low seven bits are 64-95, which no RTP payload type here uses. STUN (0-3), DTLS (20-63) and TCP pass untouched.
function lossRules(percent) {
  return `table inet rtcpp_media_loss {
  counter rtp_seen {}
  counter rtp_dropped {}
  counter rtcp_seen {}
  counter rtcp_dropped {}
  chain in {
    type filter hook input priority 0; policy accept;
    meta l4proto udp @th,64,2 2 goto srtp
  }
  chain srtp {
    @th,73,7 64-95 goto srtcp
    counter name rtp_seen
    numgen random mod 100 < ${percent} counter name rtp_dropped drop
  }
  chain srtcp {
    counter name rtcp_seen
    numgen random mod 100 < ${percent} counter name rtcp_dropped drop
  }
}
`;
}
function nft(args, input) {
  const r = spawnSync('nft', args, { input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`nft ${args.join(' ')}: ${r.stderr || r.error}`);
  return r.stdout;
}
// Fresh rules (and counters) for each case.
function setLoss(percent) {
  spawnSync('nft', ['delete', 'table', 'inet', 'rtcpp_media_loss']);
  nft(['-f', '-'], lossRules(percent));
}
function lossCounters() {
  const out = {};
  for (const e of JSON.parse(nft(['-j', 'list', 'counters', 'table', 'inet', 'rtcpp_media_loss'])).nftables)
    if (e.counter) out[e.counter.name] = e.counter.packets;
  return out;
}

// --- rtcpp-peer -----------------------------------------------------------------------------------------------------
const summaryRe = /media: video frames received (\d+) decoded (\d+) errors (\d+); audio frames received (\d+) decoded (\d+) errors (\d+); sent video (\d+) audio (\d+)/;
function parseSummary(text) {
  const m = summaryRe.exec(text);
  if (!m) return null;
  const n = m.slice(1).map(Number);
  return { video: { received: n[0], decoded: n[1], errors: n[2] }, sent: { video: n[6] } };
}
// `rtp: video mid 1 VP8: sent packets N frames N (nacks in N, retransmitted N, keyframe requests in N); received
// packets N frames N lost N (nacks out N, keyframe requests out N)`, summed over video transceivers.
function parseRtp(text) {
  const re = /rtp: video [^:]*: sent packets (\d+) frames (\d+) \(nacks in (\d+), retransmitted (\d+), keyframe requests in (\d+)\); received packets (\d+) frames (\d+) lost (\d+) \(nacks out (\d+), keyframe requests out (\d+)\)/g;
  const keys = ['sentPackets', 'sentFrames', 'nacksIn', 'retransmitted', 'keyframeRequestsIn', 'receivedPackets',
    'receivedFrames', 'lost', 'nacksOut', 'keyframeRequestsOut'];
  let found = null;
  for (let m; (m = re.exec(text));) {
    found ??= Object.fromEntries(keys.map((k) => [k, 0]));
    keys.forEach((k, i) => { found[k] += Number(m[i + 1]); });
  }
  return found;
}

function startPeer(args) {
  if (process.env.PEER_VERBOSE) args = [...args, '--verbose'];
  const p = spawn(peerBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.summaryAt = null;
  const onData = (d) => {
    out += d;
    if (p.summaryAt === null && summaryRe.test(out)) p.summaryAt = Date.now();
  };
  p.stdout.on('data', onData);
  p.stderr.on('data', onData);
  p.output = () => out;
  p.exitCode_ = null;
  p.exited = new Promise((r) => p.on('exit', (code, sig) => { p.exitCode_ = code === null ? sig : code; p.exitAt = Date.now(); r(code); }));
  return p;
}
async function stopPeer(p) {
  if (p.exitCode_ !== null) return;
  p.kill('SIGTERM');
  if (await Promise.race([p.exited.then(() => true), new Promise((r) => setTimeout(() => r(false), 3000))])) return;
  p.kill('SIGKILL');
  await p.exited;
}
const within = (promise, ms) => Promise.race([promise.then(() => true), new Promise((r) => setTimeout(() => r(false), ms))]);
async function waitHttp(port, deadlineMs = 5000) {
  for (const end = Date.now() + deadlineMs; Date.now() < end;) {
    const ok = await new Promise((r) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/' }, (res) => { res.resume(); r(true); });
      req.on('error', () => r(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

// --- the page -------------------------------------------------------------------------------------------------------
const pageLib = `
window.lt = {
  samples: [],
  timer: null,
  async waitGathering(pc, ms) {
    if (pc.iceGatheringState === 'complete') return;
    await new Promise((r) => { pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') r(); }); setTimeout(r, ms); });
  },
  async waitConnected(pc, ms) {
    for (const end = Date.now() + ms; pc.connectionState !== 'connected' && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
    return pc.connectionState;
  },
  attach(track) {
    const el = document.createElement(track.kind);
    el.muted = true;
    el.autoplay = true;
    el.srcObject = new MediaStream([track]);
    document.body.appendChild(el);
    el.play().catch(() => {});
  },
  async snapshot(pc) {
    const st = await pc.getStats();
    const codecs = {};
    st.forEach((r) => { if (r.type === 'codec') codecs[r.id] = r.mimeType; });
    const rec = { t: Date.now(), out: null, inb: null, ainb: null };
    const pick = (r, keys) => Object.fromEntries(keys.map((k) => [k, r[k]]));
    st.forEach((r) => {
      if (r.kind === 'audio' && r.type === 'inbound-rtp') {
        rec.ainb = { codec: codecs[r.codecId], ...pick(r, ['packetsReceived', 'packetsLost', 'concealedSamples',
          'silentConcealedSamples', 'totalSamplesReceived', 'concealmentEvents', 'fecPacketsReceived']) };
      }
      if (r.kind !== 'video') return;
      if (r.type === 'outbound-rtp') {
        rec.out = { codec: codecs[r.codecId], ...pick(r, ['framesSent', 'framesEncoded', 'packetsSent',
          'retransmittedPacketsSent', 'retransmittedBytesSent', 'nackCount', 'pliCount', 'firCount', 'rtxSsrc',
          'frameWidth', 'frameHeight', 'qualityLimitationReason', 'targetBitrate']) };
      } else if (r.type === 'inbound-rtp') {
        rec.inb = { codec: codecs[r.codecId], ...pick(r, ['framesDecoded', 'framesReceived', 'framesDropped',
          'keyFramesDecoded', 'packetsReceived', 'packetsLost', 'nackCount', 'pliCount', 'firCount',
          'retransmittedPacketsReceived', 'fecPacketsReceived', 'freezeCount', 'totalFreezesDuration', 'frameWidth',
          'frameHeight']) };
      }
    });
    return rec;
  },
  start(pc, ms = 200) {
    this.samples = [];
    this.timer = setInterval(async () => { this.samples.push(await this.snapshot(pc)); }, ms);
  },
  async finish(pc) {
    clearInterval(this.timer);
    return { samples: this.samples, last: await this.snapshot(pc) };
  },
};
`;
// The last sample taken no later than `t`.
function sampleAt(samples, t) {
  let best = null;
  for (const s of samples) if (s.t <= t) best = s;
  return best;
}

// Offers from the page to rtcpp-peer's /offer; `send`: Chromium's camera (default offer), else a recvonly offer.
// `audio` (recvonly cases): an audio transceiver too; `noRed`: red taken out of the offer rtcpp sees.
// `noNack`: generic NACK feedback taken out of the offer rtcpp sees, so the answer has none and Chromium protects
// with FEC alone (with NACK it sends FEC only for key frames below 20 ms RTT, i.e. on loopback).
// `noUlpfec`: video red/ulpfec (and red's rtx) taken out too, so FlexFEC is the only FEC rtcpp can send.
async function negotiate(page, port, send, audio = false, noRed = false, noNack = false, noUlpfec = false) {
  await page.goto(`http://127.0.0.1:${port}/`);
  await page.evaluate(pageLib);
  return page.evaluate(async ([send, audio, noRed, noNack, noUlpfec]) => {
    const pc = new RTCPeerConnection();
    window.pc = pc;
    if (send) {
      const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
      pc.addTransceiver(stream.getVideoTracks()[0], { direction: 'sendonly', streams: [stream] });
    } else {
      pc.ontrack = (e) => window.lt.attach(e.track);
      pc.addTransceiver('video', { direction: 'recvonly' });
      if (audio) pc.addTransceiver('audio', { direction: 'recvonly' });
    }
    const t0 = Date.now();
    await pc.setLocalDescription(await pc.createOffer());
    await window.lt.waitGathering(pc, 1500);
    let body = pc.localDescription.sdp;
    if (noRed) {
      const pts = [...body.matchAll(/a=rtpmap:(\d+) red\/48000\/2/g)].map((m) => m[1]);
      for (const pt of pts) {
        body = body.replace(new RegExp(`a=(rtpmap|fmtp):${pt} [^\\r\\n]*\\r\\n`, 'g'), '');
        body = body.replace(/(m=audio [^\r\n]*)/, (m) => m.split(' ').filter((x, i) => i < 3 || x !== pt).join(' '));
      }
    }
    if (noNack) body = body.replace(/a=rtcp-fb:\d+ nack\r\n/g, '');
    if (noUlpfec) {
      const pts = [...body.matchAll(/a=rtpmap:(\d+) (red|ulpfec)\/90000/g)].map((m) => m[1]);
      for (const m of [...body.matchAll(/a=fmtp:(\d+) apt=(\d+)/g)]) if (pts.includes(m[2])) pts.push(m[1]);
      for (const pt of pts) {
        body = body.replace(new RegExp(`a=(rtpmap|fmtp|rtcp-fb):${pt} [^\\r\\n]*\\r\\n`, 'g'), '');
        body = body.replace(/(m=video [^\r\n]*)/, (m) => m.split(' ').filter((x, i) => i < 3 || x !== pt).join(' '));
      }
    }
    const res = await fetch('/offer', { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body });
    const answer = await res.text();
    if (res.status !== 201) return { status: res.status, answer };
    window.lt.start(pc);
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    const state = await window.lt.waitConnected(pc, 10000);
    return { status: res.status, offer: body, answer, state, setupMs: Date.now() - t0 };
  }, [send, audio, noRed, noNack, noUlpfec]);
}

// Runs rtcpp-peer for DURATION with the page as the other side; returns what both sides counted.
async function runCase(context, c) {
  setLoss(LOSS);
  const peer = startPeer(['--listen', `127.0.0.1:${c.port}`, '--media', c.rtcppSends ? 'testsrc' : 'recv',
    '--duration', String(DURATION), '--timeout', String(DURATION + 30)]);
  const page = await context.newPage();
  try {
    check(await waitHttp(c.port), `${c.id}: rtcpp-peer listens`);
    const r = await negotiate(page, c.port, !c.rtcppSends, c.audio, c.noRed, c.noNack, c.noUlpfec);
    if (process.env.PEER_LOG) fs.writeFileSync(`${process.env.PEER_LOG}.${c.id}.sdp`, `${r.offer || ''}\n----\n${r.answer || ''}`);
    check(r.status === 201, `${c.id}: rtcpp-peer answered 201${r.status !== 201 ? ` (got ${r.status}: ${String(r.answer).slice(0, 200)})` : ''}`);
    if (r.status !== 201) return null;
    check(r.state === 'connected', `${c.id}: Chromium connected through the lossy path (${r.setupMs} ms from createOffer)`);
    check(await within(peer.exited, (DURATION + 25) * 1000), `${c.id}: rtcpp-peer exited by itself after --duration ${DURATION}`);
    await stopPeer(peer);
    if (c.rtcppSends) await new Promise((res) => setTimeout(res, 500)); // the last frames through Chromium's buffer
    const { samples, last } = await page.evaluate(() => window.lt.finish(window.pc));
    const counters = lossCounters();
    const out = peer.output();
    if (process.env.PEER_LOG) fs.writeFileSync(`${process.env.PEER_LOG}.${c.id}`, out);
    const s = parseSummary(out);
    const rtp = parseRtp(out);
    check(s !== null && rtp !== null, `${c.id}: rtcpp-peer printed its media summary and rtp counters`);
    if (!s || !rtp) {
      console.log(`rtcpp-peer output:\n${out.slice(-3000)}`);
      return null;
    }
    // What the path did: the share of SRTP (media) and SRTCP (feedback) datagrams dropped.
    figure(`${c.id}: path dropped RTP ${counters.rtp_dropped}/${counters.rtp_seen} (${pct(counters.rtp_dropped, counters.rtp_seen)} %), RTCP ${counters.rtcp_dropped}/${counters.rtcp_seen} (${pct(counters.rtcp_dropped, counters.rtcp_seen)} %), configured ${LOSS} %`);
    if (LOSS > 0) {
      check(counters.rtp_dropped >= 0.4 * LOSS / 100 * counters.rtp_seen && counters.rtp_seen > 100,
        `${c.id}: the path dropped media (${pct(counters.rtp_dropped, counters.rtp_seen)} % of ${counters.rtp_seen} RTP datagrams)`);
    }
    return { s, rtp, samples, last, peer, sdp: r };
  } finally {
    await stopPeer(peer);
    if (failures && process.env.VERBOSE !== '0') console.log(`rtcpp-peer output (${c.id}):\n${peer.output().slice(-2500)}`);
    await page.close();
  }
}

async function chromiumSends(context, c) {
  const got = await runCase(context, c);
  if (!got) return;
  const { s, rtp, samples, last, peer } = got;
  // Chromium's counts when rtcpp stopped counting (its summary line), not after.
  const at = sampleAt(samples, peer.summaryAt ?? peer.exitAt) || last;
  const o = at.out || {};
  const lo = last.out || {};
  figure(`${c.id}: Chromium ${o.codec} ${o.frameWidth}x${o.frameHeight} framesEncoded ${o.framesEncoded} framesSent ${o.framesSent} packetsSent ${o.packetsSent} retransmittedPacketsSent ${lo.retransmittedPacketsSent} nackCount ${lo.nackCount} pliCount ${lo.pliCount} (${o.qualityLimitationReason})`);
  figure(`${c.id}: rtcpp video received ${s.video.received} decoded ${s.video.decoded} errors ${s.video.errors} (${pct(s.video.decoded, o.framesSent)} % of framesSent); rtp packets ${rtp.receivedPackets} lost ${rtp.lost} nacks out ${rtp.nacksOut} keyframe requests out ${rtp.keyframeRequestsOut}`);
  check(rtp.nacksOut > 0, `${c.id}: rtcpp sent NACKs (${rtp.nacksOut})`);
  check(lo.nackCount > 0, `${c.id}: Chromium received rtcpp's NACKs (outbound-rtp nackCount ${lo.nackCount})`);
  check(lo.retransmittedPacketsSent > 0, `${c.id}: Chromium retransmitted (outbound-rtp retransmittedPacketsSent ${lo.retransmittedPacketsSent})`);
  check(o.framesSent > 0 && s.video.decoded >= 0.9 * o.framesSent,
    `${c.id}: rtcpp decoded ${s.video.decoded} frames >= 90 % of Chromium's framesSent ${o.framesSent} (${pct(s.video.decoded, o.framesSent)} %)`);
  check(s.video.errors === 0, `${c.id}: no video decode errors (${s.video.errors})`);
}

async function rtcppSends(context, c) {
  const got = await runCase(context, c);
  if (!got) return;
  const { s, rtp, last } = got;
  const v = last.inb || {};
  figure(`${c.id}: rtcpp sent ${s.sent.video} frames, ${rtp.sentPackets} packets; nacks in ${rtp.nacksIn}, retransmitted ${rtp.retransmitted}, keyframe requests in ${rtp.keyframeRequestsIn}`);
  figure(`${c.id}: Chromium ${v.codec} ${v.frameWidth}x${v.frameHeight} framesReceived ${v.framesReceived} framesDecoded ${v.framesDecoded} (${pct(v.framesDecoded, s.sent.video)} % of sent) dropped ${v.framesDropped} keyframes ${v.keyFramesDecoded} packetsReceived ${v.packetsReceived} packetsLost ${v.packetsLost} nackCount ${v.nackCount} retransmittedPacketsReceived ${v.retransmittedPacketsReceived} pliCount ${v.pliCount} freezes ${v.freezeCount} (${v.totalFreezesDuration} s)`);
  check(v.nackCount > 0, `${c.id}: Chromium sent NACKs (inbound-rtp nackCount ${v.nackCount})`);
  check(rtp.nacksIn > 0 && rtp.retransmitted > 0, `${c.id}: rtcpp answered them (nacks in ${rtp.nacksIn}, retransmitted ${rtp.retransmitted})`);
  if (v.retransmittedPacketsReceived !== undefined)
    check(v.retransmittedPacketsReceived > 0, `${c.id}: Chromium received the retransmissions (retransmittedPacketsReceived ${v.retransmittedPacketsReceived})`);
  check(s.sent.video > 0 && v.framesDecoded >= 0.9 * s.sent.video,
    `${c.id}: Chromium decoded ${v.framesDecoded} frames >= 90 % of rtcpp's ${s.sent.video} sent (${pct(v.framesDecoded, s.sent.video)} %)`);
}

async function rtcppSendsAudioRed(context, c) {
  const results = {};
  for (const noRed of [false, true]) {
    const id = noRed ? `${c.id} (no red)` : c.id;
    const got = await runCase(context, { ...c, id, noRed, port: c.port + (noRed ? 1 : 0) });
    if (!got) return;
    const a = got.last.ainb || {};
    const answer = got.sdp.answer || '';
    const concealed = a.totalSamplesReceived ? a.concealedSamples / a.totalSamplesReceived : 1;
    results[noRed ? 'plain' : 'red'] = { a, concealed, answer };
    figure(`${id}: rtcpp answer audio: ${answer.split(/\r?\n/).filter((l) => /^m=audio|red\/48000|a=fmtp:111/.test(l)).join(' | ')}`);
    figure(`${id}: Chromium audio ${a.codec} packetsReceived ${a.packetsReceived} packetsLost ${a.packetsLost} totalSamplesReceived ${a.totalSamplesReceived} concealedSamples ${a.concealedSamples} (${(100 * concealed).toFixed(2)} %) concealmentEvents ${a.concealmentEvents}`);
    check(noRed ? !/ red\/48000\/2/.test(answer) : / red\/48000\/2/.test(answer), `${id}: rtcpp ${noRed ? 'did not answer' : 'answered'} red/48000/2`);
    check(/useinbandfec=1/.test(answer), `${id}: Opus in-band FEC stays signalled`);
    check(a.totalSamplesReceived > 0, `${id}: Chromium played rtcpp's audio (${a.totalSamplesReceived} samples)`);
  }
  if (results.red && results.plain) {
    check(results.red.concealed < results.plain.concealed,
      `${c.id}: with RED Chromium concealed ${(100 * results.red.concealed).toFixed(2)} % of samples, without ${(100 * results.plain.concealed).toFixed(2)} %`);
    // Each lost packet without RED is a concealment event of its own; with RED only runs of losses are.
    check(results.red.a.concealmentEvents * 4 < results.plain.a.concealmentEvents,
      `${c.id}: concealment events with RED ${results.red.a.concealmentEvents}, without ${results.plain.a.concealmentEvents}`);
  }
}

// `fec: video mid 1 VP8: sent N (protection P), recovered N`, summed over video transceivers.
function parseFec(text) {
  const re = /fec: video [^:]*: sent (\d+) \(protection [\d.]+\), recovered (\d+)/g;
  const out = { sent: 0, recovered: 0 };
  for (let m; (m = re.exec(text));) {
    out.sent += Number(m[1]);
    out.recovered += Number(m[2]);
  }
  return out;
}

async function chromiumSendsFlexfec(context, c) {
  const got = await runCase(context, c);
  if (!got) return;
  const { s, rtp, last, peer, sdp } = got;
  const offer = sdp.offer || '';
  const answer = sdp.answer || '';
  const fec = parseFec(peer.output());
  const fecLines = offer.split(/\r?\n/).filter((l) => /flexfec|FEC-FR/.test(l));
  figure(`${c.id}: Chromium's offer: ${fecLines.join(' | ')}`);
  figure(`${c.id}: rtcpp answer: ${answer.split(/\r?\n/).filter((l) => /flexfec/.test(l)).join(' | ')}`);
  const lo = last.out || {};
  figure(`${c.id}: Chromium framesSent ${lo.framesSent} packetsSent ${lo.packetsSent} retransmittedPacketsSent ${lo.retransmittedPacketsSent}; rtcpp decoded ${s.video.decoded} frames, rtp packets ${rtp.receivedPackets} lost ${rtp.lost}, FEC recovered ${fec.recovered}`);
  check(/ flexfec-03\/90000/.test(offer) && /a=ssrc-group:FEC-FR /.test(offer), `${c.id}: Chromium offered flexfec-03 with an FEC-FR group`);
  check(/ flexfec-03\/90000/.test(answer), `${c.id}: rtcpp's answer accepted flexfec-03`);
  check(fec.recovered > 0, `${c.id}: rtcpp recovered packets from Chromium's FlexFEC (${fec.recovered})`);
  check(s.video.errors === 0, `${c.id}: no video decode errors (${s.video.errors})`);
}

async function rtcppSendsFlexfec(context, c) {
  const got = await runCase(context, c);
  if (!got) return;
  const { s, peer, last, sdp } = got;
  const fec = parseFec(peer.output());
  const v = last.inb || {};
  const answer = sdp.answer || '';
  figure(`${c.id}: rtcpp answer: ${answer.split(/\r?\n/).filter((l) => /flexfec|FEC-FR|ulpfec/.test(l)).join(' | ')}`);
  figure(`${c.id}: rtcpp sent ${s.sent.video} frames, ${fec.sent} FlexFEC packets; Chromium ${v.codec} framesDecoded ${v.framesDecoded} (${pct(v.framesDecoded, s.sent.video)} %) packetsLost ${v.packetsLost} fecPacketsReceived ${v.fecPacketsReceived} nackCount ${v.nackCount}`);
  check(/ flexfec-03\/90000/.test(answer) && /a=ssrc-group:FEC-FR /.test(answer) && !/ ulpfec\/90000/.test(answer),
    `${c.id}: rtcpp answered flexfec-03 (no ulpfec) with its FEC-FR group`);
  check(fec.sent > 0, `${c.id}: rtcpp sent FlexFEC (${fec.sent})`);
  check(v.fecPacketsReceived > 0, `${c.id}: Chromium received it (inbound-rtp fecPacketsReceived ${v.fecPacketsReceived})`);
}

async function main() {
  const all = [
    { id: 'chromium-sends', run: chromiumSends, rtcppSends: false, port: 18700 },
    { id: 'rtcpp-sends', run: rtcppSends, rtcppSends: true, port: 18710 },
    { id: 'rtcpp-sends-audio-red', run: rtcppSendsAudioRed, rtcppSends: true, audio: true, port: 18730, optIn: true },
    { id: 'rtcpp-sends-flexfec', run: rtcppSendsFlexfec, rtcppSends: true, port: 18740, noNack: true, noUlpfec: true,
      fieldTrials: 'WebRTC-FlexFEC-03-Advertised/Enabled/WebRTC-FlexFEC-03/Enabled/' },
    { id: 'chromium-sends-flexfec', run: chromiumSendsFlexfec, rtcppSends: false, port: 18720,
      fieldTrials: 'WebRTC-FlexFEC-03-Advertised/Enabled/WebRTC-FlexFEC-03/Enabled/', noNack: true },
  ];
  const wanted = process.argv.slice(3);
  for (const w of wanted) {
    if (!all.some((c) => c.id === w)) {
      console.error(`unknown case ${w}; cases: ${all.map((c) => c.id).join(' ')}`);
      process.exit(2);
    }
  }
  // The FlexFEC case runs only when asked for: it needs a browser of its own (field trials are process-wide).
  const cases = all.filter((c) => (!wanted.length && !c.fieldTrials && !c.optIn) || wanted.includes(c.id));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtcpp-chromium-lossy-'));
  const context = await chromium.launchPersistentContext(dir, { executablePath: chromiumBin, headless: true, args: chromiumArgs });
  try {
    for (const c of cases) {
      console.log(`--- ${c.id} (${LOSS} % loss on SRTP/SRTCP both ways, ${DURATION} s)`);
      const t0 = Date.now();
      try {
        if (c.fieldTrials) {
          const d = fs.mkdtempSync(path.join(os.tmpdir(), 'rtcpp-chromium-trials-'));
          const ctx = await chromium.launchPersistentContext(d, { executablePath: chromiumBin, headless: true,
            args: [...chromiumArgs, `--force-fieldtrials=${c.fieldTrials}`] });
          try {
            await c.run(ctx, c);
          } finally {
            await ctx.close();
            fs.rmSync(d, { recursive: true, force: true });
          }
        } else {
          await c.run(context, c);
        }
      } catch (e) {
        check(false, `${c.id}: ${e.message}`);
      }
      console.log(`    (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    }
  } finally {
    await context.close();
    fs.rmSync(dir, { recursive: true, force: true });
    spawnSync('nft', ['delete', 'table', 'inet', 'rtcpp_media_loss']);
  }
  console.log(`${passes} passed, ${failures} failed`);
  process.exit(failures ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(1); });
