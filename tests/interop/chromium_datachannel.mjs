// rtcpp <-> headless Chromium data channels (issue 5). Run inside a private network namespace with only loopback:
//   unshare -n bash -c 'ip link set lo up; exec node chromium_datachannel.mjs PATH/TO/rtcpp-peer'
// Cases: Chromium offers to `rtcpp-peer --listen --echo` (with host candidates visible, and without media permission
// so that rtcpp only learns Chromium's address as a peer-reflexive candidate); rtcpp offers (`rtcpp-peer --connect`)
// to Chromium. In each: channels from both sides, 1,000 echoed messages of random sizes (0 B to 256 KiB, text and
// binary) on an ordered reliable channel, an unordered channel, a maxRetransmits=0 channel, and close.
import { chromium } from 'playwright-core';
import { spawn } from 'node:child_process';
import http from 'node:http';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const peerBin = process.argv[2];
if (!peerBin || !fs.existsSync(peerBin)) {
  console.error('usage: node chromium_datachannel.mjs PATH/TO/rtcpp-peer');
  process.exit(2);
}
const chromiumBin = process.env.CHROMIUM || '/usr/bin/chromium';
if (!fs.existsSync(chromiumBin)) {
  console.error(`Chromium not found at ${chromiumBin} (Debian package "chromium"; scripts/install-deps.sh interop)`);
  process.exit(2);
}

const baseArgs = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--allow-loopback-in-peer-connection'];
const permissionArgs = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];

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

function startPeer(args) {
  const p = spawn(peerBin, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  p.stdout.on('data', (d) => { out += d; });
  p.stderr.on('data', (d) => { out += d; });
  p.output = () => out;
  p.exited = new Promise((r) => p.on('exit', (code) => r(code)));
  return p;
}

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

// The browser side of every case, evaluated in the page. `mode` is 'offer' (Chromium offers to /offer) or
// 'answer' (the page answers an offer given to window.answerOffer()).
const pageLib = `
window.rtc = {
  log: [],
  async waitGathering(pc, ms) {
    if (pc.iceGatheringState === 'complete') return;
    await new Promise((r) => { pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') r(); }); setTimeout(r, ms); });
  },
  opened(ch) { return ch.readyState === 'open' ? Promise.resolve() : new Promise((r, j) => { ch.onopen = () => r(); ch.onerror = (e) => j(new Error('channel error')); }); },
  rnd(n) { return Math.floor(Math.random() * n); },
  makePayloads(count, maxSize) {
    const out = [];
    for (let i = 0; i < count; i++) {
      // Mostly small, some large, a few empty: sizes from 0 to maxSize.
      const r = Math.random();
      const size = i % 97 === 0 ? 0 : r < 0.7 ? this.rnd(2048) : r < 0.95 ? this.rnd(65536) : this.rnd(maxSize + 1);
      if (i % 2 === 0) {
        let s = 'T' + i + ':';
        while (s.length < size) s += String.fromCharCode(97 + (s.length % 26));
        out.push(size === 0 ? '' : s.slice(0, Math.max(size, 1)));
      } else {
        const b = new Uint8Array(size);
        for (let k = 0; k < size; k += 997) b[k] = (i + k) & 255;
        out.push(b);
      }
    }
    return out;
  },
  same(a, b) {
    if (typeof a === 'string') return typeof b === 'string' && a === b;
    const bb = new Uint8Array(b);
    if (bb.length !== a.length) return false;
    for (let k = 0; k < a.length; k += 997) if (bb[k] !== a[k]) return false;
    return bb.length === 0 || bb[bb.length - 1] === a[a.length - 1];
  },
  // Sends every payload (respecting bufferedAmount) and collects the echoes.
  async echo(ch, payloads, { ordered = true, allowLoss = false, timeoutMs = 60000 } = {}) {
    ch.binaryType = 'arraybuffer';
    const got = [];
    const done = new Promise((r) => {
      ch.onmessage = (e) => { got.push(e.data); if (got.length === payloads.length) r(); };
      setTimeout(r, timeoutMs);
    });
    ch.bufferedAmountLowThreshold = 1 << 20;
    for (const p of payloads) {
      while (ch.bufferedAmount > (4 << 20)) await new Promise((r) => { ch.onbufferedamountlow = () => r(); });
      ch.send(p);
    }
    if (allowLoss) await Promise.race([done, new Promise((r) => setTimeout(r, 3000))]); else await done;
    let matched = 0;
    if (ordered) {
      for (let i = 0; i < got.length && i < payloads.length; i++) if (this.same(payloads[i], got[i])) matched++;
    } else {
      // Unordered: match by size multiset.
      const sizes = new Map();
      for (const p of payloads) { const n = typeof p === 'string' ? 's' + p.length : 'b' + p.length; sizes.set(n, (sizes.get(n) || 0) + 1); }
      for (const g of got) { const n = typeof g === 'string' ? 's' + g.length : 'b' + g.byteLength; if (sizes.get(n) > 0) { sizes.set(n, sizes.get(n) - 1); matched++; } }
    }
    return { sent: payloads.length, received: got.length, matched };
  },
};
`;

async function runCase(name, context, mode, port, expectRawHost) {
  console.log(`--- ${name}`);
  const page = await context.newPage();
  page.on('console', (m) => { if (process.env.VERBOSE) console.log('[page]', m.text()); });
  let peer = mode === 'offer' ? startPeer(['--listen', `127.0.0.1:${port}`, '--echo', '--timeout', '120', ...(process.env.PEER_VERBOSE ? ['--verbose'] : [])]) : null;
  let server;
  try {
    if (mode === 'offer') {
      check(await waitHttp(port), `${name}: rtcpp-peer listens`);
      // rtcpp-peer serves its own page at /: same origin for fetch("/offer"); it starts nothing by itself.
      await page.goto(`http://127.0.0.1:${port}/`);
    } else {
      // Serve a page and the WHIP-like endpoint rtcpp-peer --connect posts its offer to.
      let answerFn;
      server = http.createServer(async (req, res) => {
        if (req.method === 'POST' && req.url === '/offer') {
          let body = '';
          req.on('data', (d) => { body += d; });
          req.on('end', async () => {
            try {
              const answer = await answerFn(body);
              res.writeHead(201, { 'Content-Type': 'application/sdp' });
              res.end(answer);
            } catch (e) { res.writeHead(500); res.end(String(e)); }
          });
          return;
        }
        res.writeHead(200, { 'Content-Type': 'text/html' });
        res.end('<!doctype html><title>rtcpp interop</title>');
      });
      await new Promise((r) => server.listen(port + 1, '127.0.0.1', r));
      await page.goto(`http://127.0.0.1:${port + 1}/`);
      answerFn = (offer) => page.evaluate(async (offer) => {
        const pc = new RTCPeerConnection();
        window.pc = pc;
        window.remoteChannels = [];
        pc.ondatachannel = (e) => window.remoteChannels.push(e.channel);
        await pc.setRemoteDescription({ type: 'offer', sdp: offer });
        await pc.setLocalDescription(await pc.createAnswer());
        await window.rtc.waitGathering(pc, 1500);
        return pc.localDescription.sdp;
      }, offer);
      await page.evaluate(pageLib);
      peer = startPeer(['--connect', `http://127.0.0.1:${port + 1}/offer`, '--echo', '--timeout', '120']);
    }
    await page.evaluate(pageLib);
    const t0 = Date.now();
    const r = await page.evaluate(async ({ mode }) => {
      const out = {};
      let pc;
      const rel = [];
      if (mode === 'offer') {
        pc = new RTCPeerConnection();
        window.pc = pc;
        rel.push(pc.createDataChannel('reliable'));
        rel.push(pc.createDataChannel('unordered', { ordered: false }));
        rel.push(pc.createDataChannel('lossy', { ordered: false, maxRetransmits: 0 }));
        await pc.setLocalDescription(await pc.createOffer());
        await window.rtc.waitGathering(pc, 1500);
        out.offerHasRawHost = /candidate:\S+ \d+ udp \d+ \d+\.\d+\.\d+\.\d+ \d+ typ host/i.test(pc.localDescription.sdp);
        const res = await fetch('/offer', { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp });
        out.status = res.status;
        await pc.setRemoteDescription({ type: 'answer', sdp: await res.text() });
      } else {
        // rtcpp-peer posts its offer soon after it starts; then rtcpp's 'chat' channel arrives.
        const deadline = Date.now() + 15000;
        while (!window.pc && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        pc = window.pc;
        while (window.remoteChannels.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        out.remoteLabel = window.remoteChannels.length ? window.remoteChannels[0].label : null;
        rel.push(pc.createDataChannel('reliable'));
        rel.push(pc.createDataChannel('unordered', { ordered: false }));
        rel.push(pc.createDataChannel('lossy', { ordered: false, maxRetransmits: 0 }));
      }
      await Promise.all(rel.map((c) => Promise.race([window.rtc.opened(c), new Promise((_, j) => setTimeout(() => j(new Error('open timeout ' + c.label)), 15000))])));
      // Channels can open a moment before Chromium's aggregate state says "connected".
      for (const end = Date.now() + 5000; pc.connectionState !== 'connected' && Date.now() < end;) await new Promise((r) => setTimeout(r, 20));
      out.connectionState = pc.connectionState;
      const stats = await pc.getStats();
      stats.forEach((s) => { if (s.type === 'candidate-pair' && s.nominated && s.state === 'succeeded') out.pair = s.id; });
      out.reliable = await window.rtc.echo(rel[0], window.rtc.makePayloads(1000, 256 * 1024));
      out.unordered = await window.rtc.echo(rel[1], window.rtc.makePayloads(200, 16 * 1024), { ordered: false });
      out.lossy = await window.rtc.echo(rel[2], window.rtc.makePayloads(200, 1024), { ordered: false, allowLoss: true });
      if (mode === 'answer' && window.remoteChannels.length) {
        out.remoteChannel = await window.rtc.echo(window.remoteChannels[0], window.rtc.makePayloads(100, 4096));
      }
      // Close from this side: the channel must reach "closed" (rtcpp resets its stream too).
      await new Promise((r) => { rel[0].onclose = () => r(); rel[0].close(); setTimeout(r, 5000); });
      out.closedState = rel[0].readyState;
      return out;
    }, { mode });
    const ms = Date.now() - t0;
    if (mode === 'offer') {
      check(r.status === 201, `${name}: rtcpp-peer answered 201`);
      check(r.offerHasRawHost === expectRawHost, `${name}: Chromium's offer ${expectRawHost ? 'shows' : 'hides'} its host address`);
    }
    else check(r.remoteLabel === 'chat', `${name}: Chromium received rtcpp's channel 'chat'`);
    check(r.connectionState === 'connected', `${name}: Chromium reports connected`);
    check(r.reliable.matched === 1000, `${name}: reliable ordered channel echoed ${r.reliable.matched}/1000 messages (0 B..256 KiB) intact and in order`);
    check(r.unordered.matched === 200, `${name}: unordered channel echoed ${r.unordered.matched}/200`);
    check(r.lossy.received > 150, `${name}: maxRetransmits=0 channel echoed ${r.lossy.received}/200 (loss allowed)`);
    if (r.remoteChannel) check(r.remoteChannel.matched === 100, `${name}: echo on the channel rtcpp opened ${r.remoteChannel.matched}/100`);
    check(r.closedState === 'closed', `${name}: close from Chromium reaches closed`);
    console.log(`${name}: done in ${ms} ms`);
  } catch (e) {
    check(false, `${name}: ${e.message}`);
  } finally {
    if (peer) {
      peer.kill('SIGTERM');
      await Promise.race([peer.exited, new Promise((r) => setTimeout(r, 3000))]);
      if (failures && process.env.VERBOSE !== '0') console.log(`rtcpp-peer output (${name}):\n` + peer.output().slice(-4000));
    }
    if (server) server.close();
    await page.close();
  }
}

async function main() {
  const cases = [
    ...(process.env.ONLY_NOPERM ? [] : [{ name: 'chromium offers, host candidates visible', args: [...baseArgs, ...permissionArgs], mode: 'offer', port: 18400 }]),
    { name: 'chromium offers, no permission (rtcpp learns chromium as prflx)', args: baseArgs, mode: 'offer', port: 18410 },
    { name: 'rtcpp offers, chromium answers', args: [...baseArgs, ...permissionArgs], mode: 'answer', port: 18420 },
  ];
  for (const c of cases) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtcpp-chromium-'));
    const context = await chromium.launchPersistentContext(dir, { executablePath: chromiumBin, headless: true, args: c.args });
    try {
      await runCase(c.name, context, c.mode, c.port, c.args.includes('--use-fake-ui-for-media-stream'));
    } finally {
      await context.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  const passed = results.filter((r) => r.ok).length;
  console.log(`${passed} passed, ${results.length - passed} failed`);
  process.exit(failures ? 1 : 0);
}

main().catch((e) => { console.error(e); process.exit(1); });
