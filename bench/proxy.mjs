#!/usr/bin/env node
// Egress proxy cost: bulk throughput over a CONNECT tunnel vs a direct loopback connection,
// and per-connection setup latency (connect + CONNECT handshake, and connect + SOCKS5).
//
// Layout mirrors production: the proxy runs in this (host) process; the client and the
// origin run together in a separate "peer" process, standing in for the sandboxed child and
// the remote server. Direct runs never touch this process; proxied runs cross it twice.
// Runs alternate direct/proxied so machine noise hits both alike. Loopback only.
//   npx tsc -p tsconfig.json && node bench/proxy.mjs [--mb 100] [--runs 7] [--setup 1000]
import { fork } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const MB = arg('mb', 100);
const RUNS = arg('runs', 7);
const SETUP_N = arg('setup', 1000);
const BYTES = MB * 1024 * 1024;
const CHUNK = Buffer.alloc(256 * 1024, 0x61);

if (process.argv.includes('--peer')) await peer();
else await main();

// ---------------------------------------------------------------------------------------------
// Host process: the proxy.

async function main() {
  const { EgressProxy } = await import('../dist/proxy/index.js');
  const proxy = await EgressProxy.start({
    decide: (host) => (host === 'bench.test' ? { allowed: true, rule: 'bench.test:*' } : { allowed: false }),
    resolve: async () => ['127.0.0.1'],
  });
  // Floor for any userspace hop: a bare pipe() relay with no parsing and no policy.
  const relay = net.createServer({ allowHalfOpen: true, noDelay: true }, (c) => {
    const u = net.connect({ host: '127.0.0.1', port: relayTarget, allowHalfOpen: true, noDelay: true });
    c.pipe(u);
    u.pipe(c);
    c.on('error', () => u.destroy());
    u.on('error', () => c.destroy());
  });
  let relayTarget = 0;
  await new Promise((r) => relay.listen(0, '127.0.0.1', r));
  const child = fork(fileURLToPath(import.meta.url), ['--peer'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let seq = 0;
  const pending = new Map();
  child.on('message', (m) => {
    pending.get(m.id)?.(m.result);
    pending.delete(m.id);
  });
  const call = (op, params = {}) =>
    new Promise((resolve) => {
      const id = ++seq;
      pending.set(id, resolve);
      child.send({ id, op, proxyPort: proxy.port, relayPort: relay.address().port, bytes: BYTES, ...params });
    });
  relayTarget = await call('ready');

  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
  const mbps = (ms) => BYTES / 1024 / 1024 / (ms / 1000);

  console.log(`node ${process.version}, ${MB} MiB per run, ${RUNS} runs (+1 warm-up), alternating direct/proxied`);
  for (const dir of ['upload', 'download']) {
    const t = { direct: [], relay: [], connect: [] };
    for (let i = 0; i <= RUNS; i++) {
      for (const mode of ['direct', 'relay', 'connect']) {
        const ms = await call('bulk', { mode, dir });
        if (i > 0) t[mode].push(ms); // run 0 warms up JIT, socket buffers and the page cache
      }
    }
    const d = mbps(median(t.direct));
    const r = mbps(median(t.relay));
    const c = mbps(median(t.connect));
    console.log(
      `${dir.padEnd(8)}  direct ${d.toFixed(0).padStart(5)} MiB/s   bare relay ${r.toFixed(0).padStart(5)} MiB/s   via CONNECT ${c.toFixed(0).padStart(5)} MiB/s` +
        `   CONNECT/direct ${((c / d) * 100).toFixed(1)}%   CONNECT/relay ${((c / r) * 100).toFixed(1)}%`,
    );
  }

  const setupMedians = {};
  for (const mode of ['direct', 'connect', 'socks5']) {
    await call('setup', { mode, n: 50 }); // warm-up
    const samples = await call('setup', { mode, n: SETUP_N });
    setupMedians[mode] = median(samples);
    const label = { direct: 'direct TCP connect', connect: 'connect + CONNECT 200', socks5: 'connect + SOCKS5 reply' }[mode];
    console.log(`setup ${label.padEnd(24)} median ${(median(samples) * 1000).toFixed(0).padStart(4)} µs   p95 ${(pct(samples, 0.95) * 1000).toFixed(0).padStart(4)} µs   (n=${samples.length})`);
  }

  console.log(
    `added setup cost (median vs direct): CONNECT ${((setupMedians.connect - setupMedians.direct) * 1000).toFixed(0)} µs, ` +
      `SOCKS5 ${((setupMedians.socks5 - setupMedians.direct) * 1000).toFixed(0)} µs`,
  );
  child.disconnect();
  relay.close();
  await proxy.close();
}

// ---------------------------------------------------------------------------------------------
// Peer process: the client and the origin.

async function peer() {
  // Origin: 'u' = upload (count bytes until FIN, then answer 'k'); 'd' = download (send BYTES, then FIN).
  const origin = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
    s.once('readable', function first() {
      const b = s.read(1);
      if (b === null) return s.once('readable', first);
      if (b[0] === 0x75) {
        let n = 0;
        s.on('data', (c) => (n += c.length));
        s.on('end', () => s.end(n === 0 ? 'x' : 'k'));
      } else if (b[0] === 0x64) {
        s.resume();
        sendBytes(s, BYTES_FROM_PEER).then(() => s.end());
      } else s.destroy();
    });
    s.on('error', () => {});
  });
  let BYTES_FROM_PEER = 0;
  await new Promise((r) => origin.listen(0, '127.0.0.1', r));
  const originPort = origin.address().port;

  const connectTo = (port) =>
    new Promise((resolve, reject) => {
      const s = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true, noDelay: true });
      s.once('connect', () => resolve(s));
      s.once('error', reject);
    });
  const readUntil = (s, test) =>
    new Promise((resolve, reject) => {
      let buf = Buffer.alloc(0);
      const on = (c) => {
        buf = Buffer.concat([buf, c]);
        if (!test(buf)) return;
        s.removeListener('data', on);
        s.pause();
        resolve(buf);
      };
      s.on('data', on);
      s.once('close', () => reject(new Error('closed early')));
      s.resume();
    });
  const viaConnect = async (proxyPort) => {
    const s = await connectTo(proxyPort);
    s.write(`CONNECT bench.test:${originPort} HTTP/1.1\r\nHost: bench.test:${originPort}\r\n\r\n`);
    const head = await readUntil(s, (b) => b.includes('\r\n\r\n'));
    if (!head.toString().startsWith('HTTP/1.1 200')) throw new Error(`CONNECT failed: ${head}`);
    return s;
  };
  const viaSocks = async (proxyPort) => {
    const s = await connectTo(proxyPort);
    const name = Buffer.from('bench.test');
    const port = Buffer.alloc(2);
    port.writeUInt16BE(originPort);
    // Greeting and request in one write, as socks clients that pipeline do.
    s.write(Buffer.concat([Buffer.from([5, 1, 0, 5, 1, 0, 3, name.length]), name, port]));
    const r = await readUntil(s, (b) => b.length >= 12);
    if (r[3] !== 0) throw new Error(`SOCKS failed: ${r[3]}`);
    return s;
  };

  process.on('message', async (m) => {
    const reply = (result) => process.send({ id: m.id, result });
    BYTES_FROM_PEER = m.bytes;
    if (m.op === 'ready') return reply(originPort);
    if (m.op === 'bulk') {
      const s = m.mode === 'direct' ? await connectTo(originPort) : m.mode === 'relay' ? await connectTo(m.relayPort) : await viaConnect(m.proxyPort);
      const t0 = process.hrtime.bigint();
      if (m.dir === 'upload') {
        const ack = readUntil(s, (b) => b.length >= 1);
        s.write('u');
        await sendBytes(s, m.bytes);
        s.end();
        const a = await ack;
        if (a.toString() !== 'k') throw new Error('upload not acknowledged');
      } else {
        let n = 0;
        const done = new Promise((resolve) => {
          s.on('data', (c) => (n += c.length));
          s.once('end', resolve);
        });
        s.resume();
        s.write('d');
        await done;
        if (n !== m.bytes) throw new Error(`download got ${n} of ${m.bytes}`);
      }
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      s.destroy();
      return reply(ms);
    }
    if (m.op === 'setup') {
      const samples = [];
      for (let i = 0; i < m.n; i++) {
        const t0 = process.hrtime.bigint();
        const s = m.mode === 'direct' ? await connectTo(originPort) : m.mode === 'connect' ? await viaConnect(m.proxyPort) : await viaSocks(m.proxyPort);
        samples.push(Number(process.hrtime.bigint() - t0) / 1e6);
        s.destroy();
      }
      return reply(samples);
    }
  });
  process.on('disconnect', () => origin.close(() => process.exit(0)));
  process.send({ id: 0, result: null });
}

/** Write n bytes with backpressure. */
async function sendBytes(s, n) {
  let left = n;
  while (left > 0) {
    const chunk = left >= CHUNK.length ? CHUNK : CHUNK.subarray(0, left);
    left -= chunk.length;
    if (!s.write(chunk)) await new Promise((r) => s.once('drain', r));
  }
}
