// rtcpp <-> headless Chromium over ICE-TCP (RFC 6544) with UDP blocked. Run inside a private network namespace whose
// nftables ruleset drops every UDP packet (see the CMake registration):
//   unshare -n bash -c 'ip link set lo up; nft -f udp-drop.nft; exec node chromium_ice_tcp.mjs PATH/TO/rtcpp-peer'
// Chromium gathers active TCP candidates only (port 9), so it connects to rtcpp's passive candidate (rtcpp-peer
// --ice-tcp listens). Cases: Chromium offers (Chromium controlling nominates), and rtcpp offers (rtcpp controlling
// nominates over the connection Chromium opened). In each: the selected pair is TCP on both sides, 300 messages up to
// 64 KiB echo intact and in order.
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import dgram from 'node:dgram';

const peerBin = process.argv[2];
if (!peerBin || !fs.existsSync(peerBin)) {
  console.error('usage: node chromium_ice_tcp.mjs PATH/TO/rtcpp-peer');
  process.exit(2);
}
const chromiumBin = process.env.CHROMIUM || '/usr/bin/chromium';
if (!fs.existsSync(chromiumBin)) {
  console.error(`Chromium not found at ${chromiumBin} (Debian package "chromium")`);
  process.exit(2);
}
const args = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--allow-loopback-in-peer-connection',
  '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];

let failures = 0;
function check(cond, what) {
  if (!cond) failures++;
  console.log(`${cond ? 'ok' : 'FAIL'}: ${what}`);
}

async function udpBlocked() {
  const a = dgram.createSocket('udp4');
  const b = dgram.createSocket('udp4');
  await new Promise((r) => b.bind(0, '127.0.0.1', r));
  let got = false;
  b.on('message', () => { got = true; });
  a.send('probe', b.address().port, '127.0.0.1', () => {});
  await new Promise((r) => setTimeout(r, 300));
  a.close();
  b.close();
  return !got;
}

function startPeer(peerArgs) {
  const p = spawn(peerBin, peerArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { out += d; });
  p.output = () => out;
  p.exited = new Promise((r) => p.on('exit', (code) => r(code)));
  return p;
}

async function waitHttp(port) {
  for (const end = Date.now() + 5000; Date.now() < end;) {
    const ok = await new Promise((r) => {
      const req = http.get({ host: '127.0.0.1', port, path: '/' }, (res) => { res.resume(); r(true); });
      req.on('error', () => r(false));
    });
    if (ok) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return false;
}

// In the page: waits for the channel, echoes `count` messages, reads the selected pair from getStats().
const pageLib = `
window.finish = async (pc, ch, count) => {
  const out = {};
  await new Promise((r, j) => { if (ch.readyState === 'open') r(); ch.onopen = () => r(); setTimeout(() => j(new Error('open timeout')), 20000); });
  out.openedAt = performance.now();
  ch.binaryType = 'arraybuffer';
  const sent = [];
  for (let i = 0; i < count; i++) { const n = (i * 7919) % 65536; const b = new Uint8Array(n); for (let k = 0; k < n; k += 101) b[k] = (i + k) & 255; sent.push(b); }
  const got = [];
  const done = new Promise((r) => { ch.onmessage = (e) => { got.push(new Uint8Array(e.data)); if (got.length === count) r(); }; setTimeout(r, 30000); });
  for (const b of sent) { while (ch.bufferedAmount > (1 << 20)) await new Promise((r) => setTimeout(r, 5)); ch.send(b); }
  await done;
  out.received = got.length;
  out.matched = 0;
  for (let i = 0; i < got.length; i++) { const a = sent[i], b = got[i]; let ok = a.length === b.length; for (let k = 0; ok && k < a.length; k += 101) ok = a[k] === b[k]; if (ok) out.matched++; }
  const stats = await pc.getStats();
  let pairId = null;
  stats.forEach((s) => { if (s.type === 'transport' && s.selectedCandidatePairId) pairId = s.selectedCandidatePairId; });
  stats.forEach((s) => { if (s.type === 'candidate-pair' && s.id === pairId) { out.localId = s.localCandidateId; out.remoteId = s.remoteCandidateId; } });
  stats.forEach((s) => { if (s.id === out.localId) { out.localProtocol = s.protocol; out.localTcpType = s.tcpType; } if (s.id === out.remoteId) out.remoteProtocol = s.protocol; });
  return out;
};
`;

async function runCase(name, context, mode, port) {
  console.log(`--- ${name}`);
  const page = await context.newPage();
  let peer = null;
  let server = null;
  try {
    let r;
    if (mode === 'offer') {
      peer = startPeer(['--listen', `127.0.0.1:${port}`, '--echo', '--ice-tcp', '--timeout', '60']);
      check(await waitHttp(port), `${name}: rtcpp-peer listens`);
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.evaluate(pageLib);
      r = await page.evaluate(async () => {
        const t0 = performance.now();
        const pc = new RTCPeerConnection();
        const ch = pc.createDataChannel('tcp');
        await pc.setLocalDescription(await pc.createOffer());
        await new Promise((r) => { if (pc.iceGatheringState === 'complete') r(); pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') r(); }; setTimeout(r, 3000); });
        const offer = pc.localDescription.sdp;
        const res = await fetch('/offer', { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: offer });
        const answer = await res.text();
        await pc.setRemoteDescription({ type: 'answer', sdp: answer });
        const out = await window.finish(pc, ch, 300);
        out.setupMs = out.openedAt - t0;
        out.offerActive = /candidate:\S+ 1 tcp \d+ \S+ 9 typ host tcptype active/i.test(offer);
        out.answerPassive = /candidate:\S+ 1 tcp \d+ \S+ \d+ typ host tcptype passive/i.test(answer);
        return out;
      });
    } else {
      let answerFn;
      server = http.createServer((req, res) => {
        if (req.method === 'POST' && req.url === '/offer') {
          let body = '';
          req.on('data', (d) => { body += d; });
          req.on('end', async () => {
            try { const a = await answerFn(body); res.writeHead(201, { 'Content-Type': 'application/sdp' }); res.end(a); } catch (e) { res.writeHead(500); res.end(String(e)); }
          });
          return;
        }
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.end('<!doctype html><title>rtcpp ice-tcp</title>');
      });
      await new Promise((r) => server.listen(port, '127.0.0.1', r));
      await page.goto(`http://127.0.0.1:${port}/`);
      await page.evaluate(pageLib);
      answerFn = (offer) => page.evaluate(async (offer) => {
        window.t0 = performance.now();
        const pc = new RTCPeerConnection();
        window.pc = pc;
        window.offerPassive = /candidate:\S+ 1 tcp \d+ \S+ \d+ typ host tcptype passive/i.test(offer);
        window.remote = new Promise((r) => { pc.ondatachannel = (e) => r(e.channel); });
        await pc.setRemoteDescription({ type: 'offer', sdp: offer });
        await pc.setLocalDescription(await pc.createAnswer());
        await new Promise((r) => { if (pc.iceGatheringState === 'complete') r(); pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === 'complete') r(); }; setTimeout(r, 3000); });
        return pc.localDescription.sdp;
      }, offer);
      peer = startPeer(['--connect', `http://127.0.0.1:${port}/offer`, '--echo', '--ice-tcp', '--timeout', '60']);
      r = await page.evaluate(async () => {
        for (const end = Date.now() + 10000; !window.pc && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
        const ch = await Promise.race([window.remote, new Promise((_, j) => setTimeout(() => j(new Error('no channel from rtcpp')), 20000))]);
        const out = await window.finish(window.pc, ch, 300);
        out.setupMs = out.openedAt - window.t0;
        out.offerPassive = window.offerPassive;
        return out;
      });
    }
    if (mode === 'offer') {
      check(r.offerActive, `${name}: Chromium offers an active TCP host candidate`);
      check(r.answerPassive, `${name}: rtcpp answers with a passive TCP candidate`);
    } else {
      check(r.offerPassive, `${name}: rtcpp offers a passive TCP candidate`);
    }
    check(r.localProtocol === 'tcp' && r.remoteProtocol === 'tcp', `${name}: Chromium's selected pair is TCP (${r.localProtocol}/${r.remoteProtocol}, local tcptype ${r.localTcpType})`);
    check(r.matched === 300, `${name}: ${r.matched}/300 messages up to 64 KiB echoed intact in order`);
    await new Promise((res) => setTimeout(res, 200));
    check(/selected pair .* over tcp/.test(peer.output()), `${name}: rtcpp-peer's selected pair is TCP`);
    console.log(`${name}: channel open ${r.setupMs.toFixed(0)} ms after ${mode === 'offer' ? 'createOffer' : 'the offer arrived'}`);
  } catch (e) {
    check(false, `${name}: ${e.message}`);
  } finally {
    if (peer) {
      peer.kill('SIGTERM');
      await Promise.race([peer.exited, new Promise((r) => setTimeout(r, 3000))]);
      if (failures) console.log(`rtcpp-peer output (${name}):\n` + peer.output().slice(-3000));
    }
    if (server) server.close();
    await page.close();
  }
}

async function main() {
  check(await udpBlocked(), 'UDP is blocked in this namespace');
  for (const c of [{ name: 'chromium offers over ICE-TCP', mode: 'offer', port: 18500 },
    { name: 'rtcpp offers over ICE-TCP', mode: 'answer', port: 18510 }]) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtcpp-chromium-tcp-'));
    const context = await chromium.launchPersistentContext(dir, { executablePath: chromiumBin, headless: true, args });
    try {
      await runCase(c.name, context, c.mode, c.port);
    } finally {
      await context.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  console.log(failures ? `${failures} failed` : 'all passed');
  process.exit(failures ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(1); });
