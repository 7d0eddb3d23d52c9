// rtcpp <-> headless Chromium audio and video (issue 6). Run inside a private network namespace:
//   netns-setup.sh node chromium_media.mjs PATH/TO/rtcpp-peer
// Cases:
//  - Chromium offers its fake camera + microphone (sendonly) to `rtcpp-peer --listen --media recv --record DIR`:
//    rtcpp decodes (libvpx, libopenh264, libopus) at least 90 % of the video frames Chromium's outbound-rtp says it
//    sent, with no decode error, and some audio; the recorded IVF (Annex B .h264 for H.264) and WAV files hold what
//    was received. VP8, VP9, H264, and a three-rid simulcast offer (frames counted per rid when rtcpp-peer prints
//    them).
//  - Chromium offers recvonly audio+video to `rtcpp-peer --listen --media testsrc`: Chromium's inbound-rtp video
//    framesDecoded reaches 90 % of what rtcpp says it sent, audio totalSamplesReceived grows, within 10 s. VP8, VP9,
//    H264.
//  - rtcpp offers (`rtcpp-peer --connect URL --media testsrc`) to Chromium, which answers with its own camera and
//    microphone added: the same checks on Chromium's side, and on rtcpp's side if rtcpp offered to receive too.
// rtcpp-peer prints at exit: `media: video frames received N decoded N errors N; audio frames received M decoded M
// errors M; sent video F audio A`. Case ids after the binary (or ONLY=id,id) run a subset; DURATION=seconds (8).
//   node chromium_media.mjs PATH/TO/rtcpp-peer rtcpp-offers-vp8 rtcpp-offers-vp9
import { chromium } from 'playwright-core';
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const peerBin = process.argv[2];
if (!peerBin || !fs.existsSync(peerBin)) {
  console.error('usage: node chromium_media.mjs PATH/TO/rtcpp-peer');
  process.exit(2);
}
const chromiumBin = process.env.CHROMIUM || '/usr/bin/chromium';
if (!fs.existsSync(chromiumBin)) {
  console.error(`Chromium not found at ${chromiumBin} (Debian package "chromium"; scripts/install-deps.sh interop)`);
  process.exit(2);
}
const DURATION = Number(process.env.DURATION || 8);

const chromiumArgs = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--allow-loopback-in-peer-connection', '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
  '--autoplay-policy=no-user-gesture-required'];

let failures = 0;
const results = [];
const figures = [];
function check(cond, what) {
  if (!cond) {
    failures++;
    console.error(`FAIL: ${what}`);
  } else {
    console.log(`ok: ${what}`);
  }
  results.push({ ok: !!cond, what });
}
// Stage times of the running case, printed when a case runs long (a stall somewhere).
let marks = [];
function mark(label) { marks.push([label, Date.now()]); }
function figure(line) {
  console.log(`  ${line}`);
  figures.push(line);
}

const summaryRe = /media: video frames received (\d+) decoded (\d+) errors (\d+); audio frames received (\d+) decoded (\d+) errors (\d+); sent video (\d+) audio (\d+)/;
function parseSummary(text) {
  const m = summaryRe.exec(text);
  if (!m) return null;
  const n = m.slice(1).map(Number);
  return {
    video: { received: n[0], decoded: n[1], errors: n[2] },
    audio: { received: n[3], decoded: n[4], errors: n[5] },
    sent: { video: n[6], audio: n[7] },
  };
}
// Frames per simulcast layer, printed by rtcpp-peer before the summary:
// `media: rid q video frames received N decoded N errors N (WxH)`.
function parseRids(text) {
  const out = {};
  const re = /media: rid (\S+) video frames received (\d+) decoded (\d+) errors (\d+)(?: \((\d+)x(\d+)\))?/g;
  for (let m; (m = re.exec(text));) {
    out[m[1]] = { received: Number(m[2]), decoded: Number(m[3]), errors: Number(m[4]), width: Number(m[5] || 0),
      height: Number(m[6] || 0), line: m[0] };
  }
  return out;
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
// rtcpp-peer that outlived --duration: its threads' stacks (if gdb is installed), to see where it hangs.
function dumpStacks(p) {
  if (p.exitCode_ !== null || !fs.existsSync('/usr/bin/gdb')) return;
  const r = spawnSync('/usr/bin/gdb', ['-p', String(p.pid), '-batch', '-ex', 'thread apply all bt 30'], { encoding: 'utf8', timeout: 30000 });
  console.log(`rtcpp-peer (pid ${p.pid}) still running; stacks:\n${(r.stdout || '').split('\n').filter((l) => /^Thread|^#/.test(l)).join('\n').slice(0, 12000)}`);
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
  const end = Date.now() + deadlineMs;
  while (Date.now() < end) {
    const ok = await new Promise((r) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/' }, (res) => { res.resume(); r(true); });
      req.on('error', () => r(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

// The m-section of `kind` in an SDP (first one), or ''.
function section(sdp, kind) {
  const parts = sdp.split(/\r?\n(?=m=)/);
  return parts.find((p) => p.startsWith(`m=${kind}`)) || '';
}
function direction(sec) {
  const m = /a=(sendrecv|sendonly|recvonly|inactive)/.exec(sec);
  return m ? m[1] : 'sendrecv';
}
// The codec an answer picked for an m-section: the first payload type's rtpmap name.
function firstCodec(sec) {
  const m = /^m=\S+ \d+ \S+ (\d+)/.exec(sec);
  if (!m) return null;
  const r = new RegExp(`a=rtpmap:${m[1]} ([^/\\r\\n]+)`).exec(sec);
  return r ? r[1] : null;
}

// IVF: 32-byte header ("DKIF", version, header size, fourcc, ...), then frames with a 12-byte header each.
function ivfInfo(file) {
  const b = fs.readFileSync(file);
  if (b.length < 32 || b.toString('latin1', 0, 4) !== 'DKIF') return { ok: false, frames: 0 };
  const fourcc = b.toString('latin1', 8, 12);
  const width = b.readUInt16LE(12);
  const height = b.readUInt16LE(14);
  let off = b.readUInt16LE(6);
  let frames = 0;
  let complete = true;
  while (off + 12 <= b.length) {
    const size = b.readUInt32LE(off);
    if (off + 12 + size > b.length) { complete = false; break; }
    off += 12 + size;
    frames++;
  }
  return { ok: true, fourcc, width, height, frames, complete };
}
// An Annex B H.264 file (--record): pictures are the coded slices (types 1, 5) with first_mb_in_slice 0 (its ue(v)
// is the single bit 1), so a picture split into several slices counts once.
function h264Info(file) {
  const b = fs.readFileSync(file);
  const types = [];
  let pictures = 0;
  let idr = 0;
  for (let i = 0; i + 3 < b.length; i++) {
    if (b[i] !== 0 || b[i + 1] !== 0 || b[i + 2] !== 1) continue;
    const type = b[i + 3] & 0x1f;
    types.push(type);
    if ((type === 1 || type === 5) && i + 4 < b.length && (b[i + 4] & 0x80)) {
      pictures++;
      if (type === 5) idr++;
    }
    i += 3;
  }
  const startCode = b.length >= 4 && b[0] === 0 && b[1] === 0 && (b[2] === 1 || (b[2] === 0 && b[3] === 1));
  return { ok: startCode, pictures, idr, firstTypes: types.slice(0, 4), bytes: b.length };
}
function wavInfo(file) {
  const b = fs.readFileSync(file);
  if (b.length < 44 || b.toString('latin1', 0, 4) !== 'RIFF' || b.toString('latin1', 8, 12) !== 'WAVE') return { ok: false };
  // Walk the chunks for "fmt " and "data".
  let off = 12;
  const info = { ok: true, dataBytes: 0 };
  while (off + 8 <= b.length) {
    const id = b.toString('latin1', off, off + 4);
    const size = b.readUInt32LE(off + 4);
    if (id === 'fmt ') {
      info.channels = b.readUInt16LE(off + 10);
      info.rate = b.readUInt32LE(off + 12);
      info.bits = b.readUInt16LE(off + 22);
    } else if (id === 'data') {
      info.dataBytes = Math.min(size, b.length - off - 8);
      break;
    }
    off += 8 + size + (size & 1);
  }
  info.seconds = info.rate && info.channels && info.bits ? info.dataBytes / (info.rate * info.channels * info.bits / 8) : 0;
  return info;
}
function listFiles(dir) {
  const out = [];
  const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const p = path.join(d, e.name); if (e.isDirectory()) walk(p); else out.push(p); } };
  if (fs.existsSync(dir)) walk(dir);
  return out;
}

// Browser-side helpers, evaluated in every page.
const pageLib = `
window.mt = {
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
  // Offers only video/<name> (and its rtx): the answerer's own codec order cannot pick another one. With fmtp,
  // only the variants whose fmtp has every one of those parameters (e.g. one H.264 profile and packetization-mode).
  only(transceiver, name, fmtp = []) {
    const caps = RTCRtpReceiver.getCapabilities('video').codecs;
    const want = 'video/' + name.toLowerCase();
    const params = (c) => (c.sdpFmtpLine || '').split(';');
    transceiver.setCodecPreferences(caps.filter((c) => (c.mimeType.toLowerCase() === want && fmtp.every((p) => params(c).includes(p))) ||
      c.mimeType === 'video/rtx'));
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
  async snapshot(pc) {
    const st = await pc.getStats();
    const codecs = {};
    st.forEach((r) => { if (r.type === 'codec') codecs[r.id] = r.mimeType; });
    const rec = { t: Date.now(), out: {}, inb: {} };
    st.forEach((r) => {
      if (r.type === 'outbound-rtp') {
        rec.out[r.kind + (r.rid ? ':' + r.rid : '')] = { framesSent: r.framesSent, framesEncoded: r.framesEncoded,
          packetsSent: r.packetsSent, codec: codecs[r.codecId], width: r.frameWidth, height: r.frameHeight,
          fps: r.framesPerSecond, rid: r.rid, limitation: r.qualityLimitationReason, active: r.active };
      } else if (r.type === 'inbound-rtp') {
        rec.inb[r.kind] = { framesDecoded: r.framesDecoded, framesReceived: r.framesReceived, framesDropped: r.framesDropped,
          keyFramesDecoded: r.keyFramesDecoded, totalSamplesReceived: r.totalSamplesReceived, packetsReceived: r.packetsReceived,
          packetsLost: r.packetsLost, nackCount: r.nackCount, pliCount: r.pliCount, codec: codecs[r.codecId],
          width: r.frameWidth, height: r.frameHeight };
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
    const last = await this.snapshot(pc);
    return { samples: this.samples, last };
  },
};
`;

const sumVideo = (rec, field) => Object.entries(rec.out).filter(([k]) => k.startsWith('video')).reduce((a, [, v]) => a + (v[field] || 0), 0);
// The last sample taken no later than `t`.
function sampleAt(samples, t) {
  let best = null;
  for (const s of samples) if (s.t <= t) best = s;
  return best;
}

// Chromium sends (sendonly offer) to rtcpp-peer --listen --media recv --record DIR.
async function chromiumSends(context, c) {
  const recordDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtcpp-record-'));
  const peer = startPeer(['--listen', `127.0.0.1:${c.port}`, '--media', 'recv', '--record', recordDir,
    '--duration', String(DURATION), '--timeout', String(DURATION + 30)]);
  const page = await context.newPage();
  try {
    check(await waitHttp(c.port), `${c.name}: rtcpp-peer listens`);
    await page.goto(`http://127.0.0.1:${c.port}/`);
    await page.evaluate(pageLib);
    const r = await page.evaluate(async ({ codec, onlyCodec, simulcast, startKbps, stereo }) => {
      // Stereo Opus: libwebrtc encodes stereo when the remote description's opus fmtp has stereo=1, and says so
      // to the receiver with sprop-stereo=1; neither is in a default SDP, so both are added (SDP munging).
      const withStereo = (sdp) => {
        const pt = (/a=rtpmap:(\d+) opus\/48000\/2/.exec(sdp) || [])[1];
        return pt ? sdp.replace(new RegExp(`a=fmtp:${pt} ([^\r\n]*)`), (m, p) => `a=fmtp:${pt} ${p};stereo=1;sprop-stereo=1`) : sdp;
      };
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true,
        video: simulcast ? simulcast : { width: 640, height: 480 } });
      const pc = new RTCPeerConnection();
      window.pc = pc;
      pc.addTransceiver(stream.getAudioTracks()[0], { direction: 'sendonly', streams: [stream] });
      const init = { direction: 'sendonly', streams: [stream] };
      if (simulcast) init.sendEncodings = [{ rid: 'q', scaleResolutionDownBy: 4 }, { rid: 'h', scaleResolutionDownBy: 2 }, { rid: 'f' }];
      const vt = pc.addTransceiver(stream.getVideoTracks()[0], init);
      if (onlyCodec) window.mt.only(vt, codec);
      const t0 = Date.now();
      await pc.setLocalDescription(await pc.createOffer());
      await window.mt.waitGathering(pc, 1500);
      const offer = stereo ? withStereo(pc.localDescription.sdp) : pc.localDescription.sdp;
      const res = await fetch('/offer', { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer });
      const answer = await res.text();
      if (res.status !== 201) return { status: res.status, offer, answer };
      // Simulcast: rtcpp sends no bandwidth feedback yet, so Chromium would stay at its 300 kbps start rate, enough
      // for two of the three layers only; a start bitrate in the answer's fmtp (libwebrtc's x-google-start-bitrate)
      // lets it enable all three from the start.
      let remote = stereo ? withStereo(answer) : answer;
      if (simulcast && startKbps) {
        const vp8 = /a=rtpmap:(\d+) VP8\/90000/.exec(remote);
        if (vp8) remote = remote.replace(`a=rtpmap:${vp8[1]} VP8/90000\r\n`, `a=rtpmap:${vp8[1]} VP8/90000\r\na=fmtp:${vp8[1]} x-google-start-bitrate=${startKbps}\r\n`);
      }
      await pc.setRemoteDescription({ type: 'answer', sdp: remote });
      const state = await window.mt.waitConnected(pc, 10000);
      window.mt.start(pc);
      return { status: res.status, offer, answer, state, setupMs: Date.now() - t0 };
    }, { codec: c.codec, stereo: !!c.stereo, onlyCodec: c.codec !== 'VP8' || !!c.onlyCodec, startKbps: Number(process.env.SIM_START_KBPS || 2000), simulcast: c.simulcast ? { width: Number(process.env.SIM_W || 1280), height: Number(process.env.SIM_H || 720) } : null });
    if (process.env.PEER_LOG) fs.writeFileSync(`${process.env.PEER_LOG}.${c.port}.sdp`, `${r.offer || ''}\n----\n${r.answer || ''}`);
    check(r.status === 201, `${c.name}: rtcpp-peer answered 201${r.status !== 201 ? ' (got ' + r.status + ': ' + String(r.answer).slice(0, 200) + ')' : ''}`);
    if (r.status !== 201) return;
    const answerVideo = section(r.answer, 'video');
    check(firstCodec(answerVideo) === c.codec, `${c.name}: rtcpp answered video with ${firstCodec(answerVideo)} (want ${c.codec})`);
    if (c.simulcast) {
      check(/a=simulcast:recv q;h;f/.test(answerVideo) || /a=simulcast:recv (?=.*q)(?=.*h)(?=.*f)/.test(answerVideo),
        `${c.name}: rtcpp answered a=simulcast:recv with the three rids`);
    }
    check(r.state === 'connected', `${c.name}: Chromium connected (${r.setupMs} ms from createOffer)`);
    mark('connected');
    check(await within(peer.exited, (DURATION + 25) * 1000), `${c.name}: rtcpp-peer exited by itself after --duration ${DURATION}`);
    mark('rtcpp-peer exited');
    dumpStacks(peer);
    await stopPeer(peer);
    const { samples, last } = await page.evaluate(() => window.mt.finish(window.pc));
    mark('stats collected');
    const out = peer.output();
    const s = parseSummary(out);
    check(s !== null, `${c.name}: rtcpp-peer printed its media summary`);
    if (!s) return;
    // Chromium's count at the moment rtcpp stopped counting (the summary line), not after.
    const at = sampleAt(samples, peer.summaryAt ?? peer.exitAt) || last;
    const sent = sumVideo(at, 'framesSent');
    const enc = Object.entries(at.out).filter(([k]) => k.startsWith('video')).map(([k, v]) => `${k} ${v.codec} ${v.width}x${v.height} sent ${v.framesSent} (${v.limitation})`).join(', ');
    figure(`${c.name}: Chromium sent ${sent} video frames [${enc}]; rtcpp video received ${s.video.received} decoded ${s.video.decoded} errors ${s.video.errors}; audio received ${s.audio.received} decoded ${s.audio.decoded} errors ${s.audio.errors}`);
    const outCodec = Object.entries(at.out).find(([k]) => k.startsWith('video'));
    check(outCodec && outCodec[1].codec === `video/${c.codec}`, `${c.name}: Chromium encoded ${outCodec ? outCodec[1].codec : 'nothing'}`);
    check(sent > 0 && s.video.decoded >= 0.9 * sent, `${c.name}: rtcpp decoded ${s.video.decoded} video frames >= 90 % of Chromium's framesSent ${sent} (${(100 * s.video.decoded / Math.max(sent, 1)).toFixed(1)} %)`);
    check(s.video.errors === 0, `${c.name}: no video decode errors (${s.video.errors})`);
    check(s.audio.decoded > 0 && s.audio.errors === 0, `${c.name}: rtcpp decoded ${s.audio.decoded} audio frames, ${s.audio.errors} errors`);
    // rtcpp-peer plays received audio out through its adaptive jitter buffer.
    const jb = /media: audio \S+ jitter buffer [^\n]*/.exec(out);
    figure(`${c.name}: ${jb ? jb[0] : 'no jitter buffer line'}`);
    if (c.simulcast) {
      const rids = parseRids(out);
      const layers = Object.keys(at.out).filter((k) => k.startsWith('video:'));
      figure(`${c.name}: Chromium layers ${layers.map((k) => `${k} ${at.out[k].width}x${at.out[k].height} sent ${at.out[k].framesSent}`).join(', ')}`);
      if (Object.keys(rids).length) {
        figure(`${c.name}: rtcpp per rid: ${Object.values(rids).map((v) => v.line).join(' | ')}`);
        for (const k of layers) {
          const rid = at.out[k].rid;
          const got = rids[rid];
          const chromeSent = at.out[k].framesSent || 0;
          if (chromeSent === 0) continue; // Chromium may not send a layer its resolution does not allow.
          const n = got ? got.decoded : 0;
          check(got && n >= 0.9 * chromeSent && got.errors === 0,
            `${c.name}: rid ${rid}: rtcpp decoded ${n} frames (${got ? got.width + 'x' + got.height : '-'}, ${got ? got.errors : '-'} errors) >= 90 % of Chromium's ${chromeSent} (${at.out[k].width}x${at.out[k].height})`);
        }
      }
      const activeLayers = layers.filter((k) => (at.out[k].framesSent || 0) > 0).length;
      check(activeLayers >= 2 && Object.keys(rids).length >= activeLayers,
        `${c.name}: Chromium sent ${activeLayers} layers, rtcpp reported ${Object.keys(rids).length} rids`);
    }
    // What --record wrote.
    const files = listFiles(recordDir);
    const ivfs = files.filter((f) => f.endsWith('.ivf')).map((f) => ({ f, ...ivfInfo(f) }));
    const h264s = files.filter((f) => f.endsWith('.h264')).map((f) => ({ f, ...h264Info(f) }));
    const wavs = files.filter((f) => f.endsWith('.wav')).map((f) => ({ f, ...wavInfo(f) }));
    figure(`${c.name}: --record wrote ${files.map((f) => `${path.basename(f)} (${fs.statSync(f).size} B)`).join(', ')}; IVF ${ivfs.map((i) => `${i.fourcc} ${i.width}x${i.height} ${i.frames} frames`).join(', ')}; H.264 ${h264s.map((h) => `${h.pictures} pictures (${h.idr} IDR), first NAL types ${h.firstTypes}`).join(', ')}; WAV ${wavs.map((w) => `${w.rate} Hz x${w.channels} ${w.seconds.toFixed(2)} s`).join(', ')}`);
    if (c.codec === 'H264') {
      // Annex B, starting where decoding could (SPS, or an AUD before it), one picture per decoded frame.
      const pictures = h264s.filter((h) => h.ok).reduce((a, h) => a + h.pictures, 0);
      check(ivfs.length === 0 && h264s.length > 0 && h264s.every((h) => h.ok && [7, 9].includes(h.firstTypes[0])),
        `${c.name}: recorded Annex B .h264 (${h264s.map((h) => path.basename(h.f)).join(', ')}) starting with SPS/AUD`);
      check(pictures > 0 && pictures >= 0.9 * s.video.decoded, `${c.name}: recorded .h264 holds ${pictures} pictures (decoded ${s.video.decoded})`);
    } else {
      const fourcc = c.codec === 'VP9' ? 'VP90' : 'VP80';
      const ivfFrames = ivfs.filter((i) => i.ok && i.fourcc === fourcc).reduce((a, i) => a + i.frames, 0);
      check(ivfFrames > 0 && ivfFrames >= 0.9 * s.video.decoded, `${c.name}: recorded IVF (${fourcc}) holds ${ivfFrames} frames (decoded ${s.video.decoded})`);
    }
    check(wavs.some((w) => w.ok && w.seconds > 1), `${c.name}: recorded WAV holds ${wavs.map((w) => (w.seconds || 0).toFixed(2)).join(', ')} s of audio`);
    if (c.stereo) {
      // rtcpp-peer: `media: audio <mid> channels C decoded N stereo packets S`.
      const a = /media: audio \S+ channels (\d+) decoded (\d+) stereo packets (\d+)/.exec(out);
      figure(`${c.name}: ${a ? a[0] : 'no audio line'}`);
      check(a && Number(a[3]) >= 0.9 * Number(a[2]) && Number(a[2]) > 0, `${c.name}: Chromium sent stereo Opus (${a ? a[3] : 0} of ${a ? a[2] : 0} packets)`);
      check(a && Number(a[1]) === 2 && wavs.length > 0 && wavs.every((w) => w.channels === 2),
        `${c.name}: rtcpp decoded and recorded 2 channels (decoder ${a ? a[1] : '-'}, WAV ${wavs.map((w) => w.channels).join(', ')})`);
    }
  } finally {
    await stopPeer(peer);
    if (process.env.PEER_LOG) fs.writeFileSync(process.env.PEER_LOG + '.' + c.port, peer.output());
    if (failures && process.env.VERBOSE !== '0') console.log(`rtcpp-peer output (${c.name}):\n` + peer.output().slice(-3000));
    mark('cleanup');
    await page.close();
    mark('page closed');
    fs.rmSync(recordDir, { recursive: true, force: true });
  }
}

// Chromium's side of a case where rtcpp sends: the video decoded against rtcpp's count, audio growing.
function checkChromiumReceived(c, s, samples, last, connectedAt) {
  const v = last.inb.video;
  const a = last.inb.audio;
  figure(`${c.name}: rtcpp sent video ${s.sent.video} audio ${s.sent.audio}; Chromium video ${v ? `${v.codec} ${v.width}x${v.height} received ${v.framesReceived} decoded ${v.framesDecoded} dropped ${v.framesDropped} keyframes ${v.keyFramesDecoded} lost ${v.packetsLost} nacks ${v.nackCount} plis ${v.pliCount}` : 'none'}; audio samples ${a ? a.totalSamplesReceived : 'none'}`);
  check(v && v.codec === `video/${c.codec}`, `${c.name}: Chromium received ${v ? v.codec : 'no video'}`);
  check(s.sent.video > 0 && v && v.framesDecoded >= 0.9 * s.sent.video,
    `${c.name}: Chromium decoded ${v ? v.framesDecoded : 0} video frames >= 90 % of rtcpp's ${s.sent.video} sent (${v ? (100 * v.framesDecoded / Math.max(s.sent.video, 1)).toFixed(1) : 0} %)`);
  const firstVideo = samples.find((x) => x.inb.video && x.inb.video.framesDecoded > 0);
  const firstAudio = samples.find((x) => x.inb.audio && x.inb.audio.totalSamplesReceived > 0);
  if (firstVideo) figure(`${c.name}: first video frame decoded ${firstVideo.t - connectedAt} ms after connected`);
  check(firstVideo && firstVideo.t - connectedAt < 10000, `${c.name}: Chromium decoded video within 10 s`);
  // Growing: the count a second after audio first arrived, against the end.
  const mid = firstAudio ? samples.find((x) => x.t >= firstAudio.t + 1000) : null;
  check(firstAudio && mid && a && mid.inb.audio.totalSamplesReceived > firstAudio.inb.audio.totalSamplesReceived &&
      a.totalSamplesReceived > mid.inb.audio.totalSamplesReceived,
    `${c.name}: audio totalSamplesReceived grows (${firstAudio ? firstAudio.inb.audio.totalSamplesReceived : 0} -> ${mid ? mid.inb.audio.totalSamplesReceived : 0} -> ${a ? a.totalSamplesReceived : 0})`);
  check(firstAudio && firstAudio.t - connectedAt < 10000, `${c.name}: Chromium received audio within 10 s`);
}

// rtcpp-peer --listen --media testsrc answers a recvonly offer from Chromium.
async function rtcppSends(context, c) {
  const peer = startPeer(['--listen', `127.0.0.1:${c.port}`, '--media', 'testsrc', ...(c.codec !== 'VP8' ? ['--video-codec', c.codec] : []),
    '--duration', String(DURATION), '--timeout', String(DURATION + 30)]);
  const page = await context.newPage();
  try {
    check(await waitHttp(c.port), `${c.name}: rtcpp-peer listens`);
    await page.goto(`http://127.0.0.1:${c.port}/`);
    await page.evaluate(pageLib);
    const r = await page.evaluate(async ({ codec, fmtp }) => {
      const pc = new RTCPeerConnection();
      window.pc = pc;
      pc.ontrack = (e) => window.mt.attach(e.track);
      pc.addTransceiver('audio', { direction: 'recvonly' });
      const vt = pc.addTransceiver('video', { direction: 'recvonly' });
      if (codec !== 'VP8') window.mt.only(vt, codec, fmtp);
      const t0 = Date.now();
      await pc.setLocalDescription(await pc.createOffer());
      await window.mt.waitGathering(pc, 1500);
      const res = await fetch('/offer', { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp });
      const answer = await res.text();
      if (res.status !== 201) return { status: res.status, answer };
      window.mt.start(pc);
      await pc.setRemoteDescription({ type: 'answer', sdp: answer });
      const state = await window.mt.waitConnected(pc, 10000);
      return { status: res.status, answer, state, setupMs: Date.now() - t0, connectedAt: Date.now() };
    }, { codec: c.codec, fmtp: c.fmtp || [] });
    check(r.status === 201, `${c.name}: rtcpp-peer answered 201${r.status !== 201 ? ' (got ' + r.status + ': ' + String(r.answer).slice(0, 200) + ')' : ''}`);
    if (r.status !== 201) return;
    check(firstCodec(section(r.answer, 'video')) === c.codec, `${c.name}: rtcpp answered video with ${firstCodec(section(r.answer, 'video'))}`);
    if (c.fmtp) {
      const av = section(r.answer, 'video');
      const pt = /^m=\S+ \d+ \S+ (\d+)/.exec(av)[1];
      const line = (new RegExp(`a=fmtp:${pt} (.*)`).exec(av) || [])[1] || '';
      check(c.fmtp.every((p) => line.split(';').includes(p.trim())), `${c.name}: rtcpp answered ${c.codec} with fmtp ${line.trim()}`);
    }
    check(direction(section(r.answer, 'video')) === 'sendonly' && direction(section(r.answer, 'audio')) === 'sendonly',
      `${c.name}: rtcpp answered sendonly audio and video (${direction(section(r.answer, 'audio'))}, ${direction(section(r.answer, 'video'))})`);
    check(r.state === 'connected', `${c.name}: Chromium connected (${r.setupMs} ms from createOffer)`);
    mark('connected');
    check(await within(peer.exited, (DURATION + 25) * 1000), `${c.name}: rtcpp-peer exited by itself after --duration ${DURATION}`);
    mark('rtcpp-peer exited');
    dumpStacks(peer);
    await stopPeer(peer);
    // Let the last frames through Chromium's jitter buffer.
    await new Promise((res) => setTimeout(res, 500));
    const { samples, last } = await page.evaluate(() => window.mt.finish(window.pc));
    mark('stats collected');
    const s = parseSummary(peer.output());
    check(s !== null, `${c.name}: rtcpp-peer printed its media summary`);
    if (!s) return;
    checkChromiumReceived(c, s, samples, last, r.connectedAt);
  } finally {
    await stopPeer(peer);
    if (process.env.PEER_LOG) fs.writeFileSync(process.env.PEER_LOG + '.' + c.port, peer.output());
    if (failures && process.env.VERBOSE !== '0') console.log(`rtcpp-peer output (${c.name}):\n` + peer.output().slice(-3000));
    mark('cleanup');
    await page.close();
    mark('page closed');
  }
}

// rtcpp-peer --connect posts its offer to this script's HTTP endpoint; the page answers it, adding its camera and
// microphone wherever rtcpp offered to receive.
async function rtcppOffers(context, c) {
  const page = await context.newPage();
  let answerFn = null;
  const seen = {};
  const server = http.createServer((req, res) => {
    if (req.method === 'POST' && req.url === '/offer') {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', async () => {
        try {
          seen.offer = body;
          const answer = await answerFn(body);
          seen.answer = answer;
          res.writeHead(201, { 'Content-Type': 'application/sdp', Location: '/session/1' });
          res.end(answer);
        } catch (e) { res.writeHead(500); res.end(String(e)); }
      });
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end('<!doctype html><title>rtcpp media interop</title>');
  });
  await new Promise((r) => server.listen(c.port, '127.0.0.1', r));
  let peer = null;
  try {
    await page.goto(`http://127.0.0.1:${c.port}/`);
    await page.evaluate(pageLib);
    answerFn = (offer) => page.evaluate(async (offer) => {
      const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
      const pc = new RTCPeerConnection();
      window.pc = pc;
      pc.ontrack = (e) => window.mt.attach(e.track);
      await pc.setRemoteDescription({ type: 'offer', sdp: offer });
      for (const t of pc.getTransceivers()) {
        const track = t.receiver.track.kind === 'audio' ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
        await t.sender.replaceTrack(track);
        t.sender.setStreams(stream);
        t.direction = 'sendrecv'; // JSEP narrows it to recvonly if rtcpp only sends
      }
      await pc.setLocalDescription(await pc.createAnswer());
      window.mt.start(pc);
      await window.mt.waitGathering(pc, 1500);
      return pc.localDescription.sdp;
    }, offer);
    const t0 = Date.now();
    peer = startPeer(['--connect', `http://127.0.0.1:${c.port}/offer`, '--media', 'testsrc', ...(c.codec !== 'VP8' ? ['--video-codec', c.codec] : []),
      '--duration', String(DURATION), '--timeout', String(DURATION + 30)]);
    const state = await page.evaluate(async () => {
      for (const end = Date.now() + 15000; !window.pc && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
      return window.pc ? window.mt.waitConnected(window.pc, 10000) : 'no offer';
    });
    const connectedAt = Date.now();
    check(state === 'connected', `${c.name}: Chromium connected (${connectedAt - t0} ms from rtcpp-peer start)`);
    const offer = seen.offer || '';
    const answer = seen.answer || '';
    const offerVideo = section(offer, 'video');
    check(offerVideo && section(offer, 'audio'), `${c.name}: rtcpp offered audio and video`);
    figure(`${c.name}: rtcpp offered audio ${direction(section(offer, 'audio'))}, video ${direction(offerVideo)} (${firstCodec(offerVideo)} first); Chromium answered audio ${direction(section(answer, 'audio'))}, video ${direction(section(answer, 'video'))} with ${firstCodec(section(answer, 'video'))}`);
    check(firstCodec(section(answer, 'video')) === c.codec, `${c.name}: Chromium answered video with ${firstCodec(section(answer, 'video'))}`);
    mark('connected');
    check(await within(peer.exited, (DURATION + 25) * 1000), `${c.name}: rtcpp-peer exited by itself after --duration ${DURATION}`);
    mark('rtcpp-peer exited');
    dumpStacks(peer);
    await stopPeer(peer);
    await new Promise((res) => setTimeout(res, 500));
    const { samples, last } = await page.evaluate(() => window.mt.finish(window.pc));
    mark('stats collected');
    const s = parseSummary(peer.output());
    check(s !== null, `${c.name}: rtcpp-peer printed its media summary`);
    if (!s) return;
    checkChromiumReceived(c, s, samples, last, connectedAt);
    // If rtcpp offered to receive, Chromium sent its camera and microphone back.
    if (direction(section(answer, 'video')) === 'sendrecv') {
      const at = sampleAt(samples, peer.summaryAt ?? peer.exitAt) || last;
      const sent = sumVideo(at, 'framesSent');
      figure(`${c.name}: Chromium sent ${sent} video frames back; rtcpp video received ${s.video.received} decoded ${s.video.decoded} errors ${s.video.errors}; audio decoded ${s.audio.decoded} errors ${s.audio.errors}`);
      check(sent > 0 && s.video.decoded >= 0.9 * sent, `${c.name}: rtcpp decoded ${s.video.decoded} >= 90 % of Chromium's ${sent} video frames`);
      check(s.video.errors === 0 && s.audio.errors === 0 && s.audio.decoded > 0, `${c.name}: rtcpp decoded audio (${s.audio.decoded}) with no decode errors`);
    }
  } catch (e) {
    check(false, `${c.name}: ${e.message}`);
  } finally {
    if (peer) {
      await stopPeer(peer);
      if (process.env.PEER_LOG) fs.writeFileSync(process.env.PEER_LOG + '.' + c.port, peer.output());
    if (failures && process.env.VERBOSE !== '0') console.log(`rtcpp-peer output (${c.name}):\n` + peer.output().slice(-3000));
    }
    server.close();
    mark('cleanup');
    await page.close();
    mark('page closed');
  }
}

async function main() {
  const all = [
    // Chromium's default offer: VP8 first, with red/ulpfec and every other codec it has.
    { id: 'chromium-sends-vp8', name: 'chromium sends camera+mic VP8 (default offer), rtcpp decodes', run: chromiumSends, codec: 'VP8', port: 18600 },
    { id: 'chromium-sends-vp8-only', name: 'chromium sends camera+mic VP8 (VP8-only offer), rtcpp decodes', run: chromiumSends, codec: 'VP8', onlyCodec: true, port: 18670 },
    { id: 'rtcpp-answers-vp8', name: 'rtcpp sends testsrc VP8 to a chromium recvonly offer', run: rtcppSends, codec: 'VP8', port: 18610 },
    { id: 'rtcpp-offers-vp8', name: 'rtcpp offers testsrc VP8, chromium answers', run: rtcppOffers, codec: 'VP8', port: 18620 },
    { id: 'rtcpp-offers-vp9', name: 'rtcpp offers testsrc VP9, chromium answers', run: rtcppOffers, codec: 'VP9', port: 18660 },
    { id: 'chromium-sends-vp9', name: 'chromium sends camera+mic VP9, rtcpp decodes', run: chromiumSends, codec: 'VP9', port: 18630 },
    { id: 'rtcpp-answers-vp9', name: 'rtcpp sends testsrc VP9 to a chromium recvonly offer', run: rtcppSends, codec: 'VP9', port: 18640 },
    // H.264 (libopenh264 on both sides; Chromium's offer has every H.264 profile/packetization-mode it supports).
    { id: 'chromium-sends-h264', name: 'chromium sends camera+mic H264, rtcpp decodes', run: chromiumSends, codec: 'H264', port: 18680 },
    { id: 'rtcpp-offers-h264', name: 'rtcpp offers testsrc H264, chromium answers', run: rtcppOffers, codec: 'H264', port: 18690 },
    // Chromium offers to receive Constrained Baseline 3.1, packetization-mode 1 only (FU-A carries one slice per picture).
    { id: 'rtcpp-answers-h264', name: 'rtcpp sends testsrc H264 (42e01f, mode 1 only) to a chromium recvonly offer', run: rtcppSends, codec: 'H264', fmtp: ['profile-level-id=42e01f', 'packetization-mode=1'], port: 18695 },
    // The same with packetization-mode 0 only: no fragmentation, so rtcpp-peer's encoder cuts pictures into slices
    // that fit one packet each (TransceiverInfo::max_payload_size).
    { id: 'rtcpp-answers-h264-mode0', name: 'rtcpp sends testsrc H264 (42e01f, mode 0 only) to a chromium recvonly offer', run: rtcppSends, codec: 'H264', fmtp: ['profile-level-id=42e01f', 'packetization-mode=0'], port: 18696 },
    // Opus stereo=1 both ways in the SDP: Chromium encodes stereo, rtcpp decodes and records two channels.
    { id: 'chromium-sends-stereo', name: 'chromium sends camera+mic with stereo Opus, rtcpp decodes 2 channels', run: chromiumSends, codec: 'VP8', onlyCodec: true, stereo: true, port: 18698 },
    { id: 'chromium-sends-simulcast', name: 'chromium sends three-rid VP8 simulcast, rtcpp decodes', run: chromiumSends, codec: 'VP8', onlyCodec: true, simulcast: true, port: 18650 },
  ];
  // Case ids after the binary (or ONLY=id,...) pick a subset.
  const wanted = [...process.argv.slice(3), ...(process.env.ONLY ? process.env.ONLY.split(',') : [])];
  for (const w of wanted) {
    if (!all.some((c) => c.id === w)) {
      console.error(`unknown case ${w}; cases: ${all.map((c) => c.id).join(' ')}`);
      process.exit(2);
    }
  }
  const cases = all.filter((c) => !wanted.length || wanted.includes(c.id));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtcpp-chromium-media-'));
  const context = await chromium.launchPersistentContext(dir, { executablePath: chromiumBin, headless: true, args: chromiumArgs });
  try {
    for (const c of cases) {
      console.log(`--- ${c.name}`);
      const t0 = Date.now();
      marks = [['start', t0]];
      try {
        await c.run(context, c);
      } catch (e) {
        check(false, `${c.name}: ${e.message}`);
      }
      console.log(`    (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
      if (Date.now() - t0 > (DURATION + 10) * 1000) console.log(`    slow case, stages: ${marks.map(([l, t]) => `${l} +${t - t0} ms`).join(', ')}`);
    }
  } finally {
    await context.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const passed = results.filter((r) => r.ok).length;
  console.log(`${passed} passed, ${results.length - passed} failed`);
  process.exit(failures ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(1); });
