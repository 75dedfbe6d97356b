#!/usr/bin/env node
// Egress proxy cost: bulk throughput through a CONNECT tunnel against a direct loopback
// connection, and the added per-connection setup latency (CONNECT and SOCKS5).
//
// Layout mirrors a sandboxed child in allowlist mode: the "peer" process plays the child (the
// client) and the remote server (the origin); this "host" process runs the proxy, serving a
// listening socket that the peer created and handed over (attachListener), as the spawn engine
// hands over the listener created inside the child's network namespace. Loopback TCP on both
// legs, as in production (the child's leg is the loopback of its own namespace, which costs
// the same). Direct runs never touch this process; proxied runs cross it. The client code, the
// origin and the byte sink are the same in every mode.
//
// Rounds rotate the order of the modes so that machine noise (this box has 2 cores and other
// jobs) hits every mode alike; the ratio is taken per round (proxied vs the direct run next to
// it) and reported as median and spread. Wall-clock throughput on a busy 2-core machine swings
// with the load, so the proxy's own CPU per MiB and per connection are reported as well: they
// are what the proxy costs regardless of who else wants the cores.
//   npx tsc -p tsconfig.json && node bench/proxy.mjs [--mb 100] [--rounds 9] [--setup 1000]
// CORDON_BENCH_PROXY_MODULE=/abs/path/proxy/index.js benchmarks another build (before/after).
import { fork } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const MB = arg('mb', 100);
const ROUNDS = arg('rounds', 9);
const SETUP_N = arg('setup', 1000);
const BYTES = MB * 1024 * 1024;
const CHUNK = Buffer.alloc(256 * 1024, 0x61);
const ORIGIN_NAME = 'bench.test';

if (process.argv.includes('--peer')) await peer();
else await main();

// ---------------------------------------------------------------------------------------------
// Host process: the proxy, and a bare pipe() relay for reference.

async function main() {
  const { EgressProxy } = await import(process.env.CORDON_BENCH_PROXY_MODULE ?? '../dist/proxy/index.js');
  const proxy = await EgressProxy.start({
    // Like the shared proxy of src/network.ts: its own port refuses everything, sandboxes come in through attached listeners.
    decide: () => ({ allowed: false, rule: 'connections must arrive through a sandbox listener' }),
    resolve: async () => ['127.0.0.1'],
  });
  let admitted = 0;
  // A bare pipe() relay with no parsing and no policy: what a naive userspace hop costs.
  let relayTarget = 0;
  const relay = net.createServer({ allowHalfOpen: true, noDelay: true }, (c) => {
    const u = net.connect({ host: '127.0.0.1', port: relayTarget, allowHalfOpen: true, noDelay: true });
    c.pipe(u);
    u.pipe(c);
    c.on('error', () => u.destroy());
    u.on('error', () => c.destroy());
  });
  await new Promise((r) => relay.listen(0, '127.0.0.1', r));

  const child = fork(fileURLToPath(import.meta.url), ['--peer', ...process.argv.slice(2)], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  let seq = 0;
  const pending = new Map();
  let listenerHandle; // the inert wrapper of the received fd: kept referenced, never closed (the proxy owns the fd)
  const hello = new Promise((resolve) => {
    child.once('message', (m, handle) => {
      listenerHandle = handle;
      resolve(m);
    });
  });
  const { originPort, sandboxPort } = await hello;
  child.on('message', (m) => {
    pending.get(m.id)?.(m.result);
    pending.delete(m.id);
  });
  relayTarget = originPort;
  const detach = proxy.attachListener(listenerHandle.fd, {
    decide: (host, port) => (host === ORIGIN_NAME && port === originPort ? { allowed: true, rule: `${ORIGIN_NAME}:${port}` } : { allowed: false }),
    onEvent: (e) => {
      if (e.allowed) admitted++;
    },
  });
  const ports = { originPort, sandboxPort, relayPort: relay.address().port };
  /** Run one operation in the peer; also returns this process's CPU time (µs) spent meanwhile. */
  const call = async (op, params = {}) => {
    const id = ++seq;
    const cpu0 = process.cpuUsage();
    const result = await new Promise((resolve) => {
      pending.set(id, resolve);
      child.send({ id, op, ...ports, ...params });
    });
    const cpu = process.cpuUsage(cpu0);
    return { ...result, hostCpuUs: cpu.user + cpu.system };
  };

  const sorted = (xs) => [...xs].sort((a, b) => a - b);
  const median = (xs) => sorted(xs)[Math.floor(xs.length / 2)];
  const pct = (xs, p) => sorted(xs)[Math.min(xs.length - 1, Math.floor(xs.length * p))];
  const mibps = (ms) => MB / (ms / 1000);
  const fmt = (x, w = 5) => x.toFixed(0).padStart(w);
  const pctFmt = (x) => `${(x * 100).toFixed(0)}%`;

  const modes = ['direct', 'relay', 'connect'];
  const label = { direct: 'direct', relay: 'bare pipe() relay', connect: 'via CONNECT' };
  console.log(`node ${process.version}, ${MB} MiB per run, ${ROUNDS} rounds (+1 warm-up), mode order rotated per round`);
  for (const dir of ['upload', 'download']) {
    const runs = Object.fromEntries(modes.map((m) => [m, []]));
    for (let round = 0; round <= ROUNDS; round++) {
      for (let k = 0; k < modes.length; k++) {
        const mode = modes[(round + k) % modes.length];
        const r = await call('bulk', { mode, dir });
        if (round > 0) runs[mode].push(r); // round 0 warms up JIT, socket buffers and the pool
      }
    }
    const ms = (mode) => runs[mode].map((r) => r.ms);
    const ratios = (mode) => runs[mode].map((r, i) => runs.direct[i].ms / r.ms);
    console.log(`${dir}:`);
    for (const mode of modes) {
      const proxyCpu = mode === 'direct' ? '' : `   proxy CPU ${fmt(median(runs[mode].map((r) => r.hostCpuUs / 1000 / (MB / 100))), 4)} ms/100 MiB`;
      const vs = mode === 'direct' ? '' : `   vs direct: median ${pctFmt(median(ratios(mode)))} (rounds ${pctFmt(Math.min(...ratios(mode)))}–${pctFmt(Math.max(...ratios(mode)))})`;
      console.log(
        `  ${label[mode].padEnd(18)} median ${fmt(mibps(median(ms(mode))))} MiB/s   p95 ${fmt(mibps(pct(ms(mode), 0.95)))} MiB/s` +
          `   peer CPU ${fmt(median(runs[mode].map((r) => r.peerCpuUs / 1000 / (MB / 100))), 4)} ms/100 MiB${proxyCpu}${vs}`,
      );
    }
  }

  // Setup: batches of each mode in rotation, so load changes during the run hit all three.
  const setupModes = ['direct', 'connect', 'socks5'];
  const samples = Object.fromEntries(setupModes.map((m) => [m, []]));
  const setupCpu = Object.fromEntries(setupModes.map((m) => [m, 0]));
  for (const mode of setupModes) await call('setup', { mode, n: 100 }); // warm-up
  const batch = Math.max(1, Math.ceil(SETUP_N / 10));
  for (let done = 0, b = 0; done < SETUP_N; done += batch, b++) {
    const n = Math.min(batch, SETUP_N - done);
    for (let k = 0; k < setupModes.length; k++) {
      const mode = setupModes[(b + k) % setupModes.length];
      const r = await call('setup', { mode, n });
      samples[mode].push(...r.samples);
      setupCpu[mode] += r.hostCpuUs;
    }
  }
  const setupLabel = { direct: 'direct TCP connect', connect: 'connect + CONNECT 200', socks5: 'connect + SOCKS5 reply' };
  for (const mode of setupModes) {
    const added = mode === 'direct' ? '' : `   added ${fmt(median(samples[mode]) - median(samples.direct), 4)} µs   proxy CPU ${fmt(setupCpu[mode] / SETUP_N, 4)} µs/conn`;
    console.log(
      `setup ${setupLabel[mode].padEnd(24)} median ${fmt(median(samples[mode]), 4)} µs   p95 ${fmt(pct(samples[mode], 0.95), 5)} µs${added}   (n=${samples[mode].length})`,
    );
  }
  const expected = (ROUNDS + 1) * 2 + 200 + 2 * SETUP_N;
  if (admitted !== expected) throw new Error(`the proxy admitted ${admitted} connections, expected ${expected}`);

  child.disconnect();
  relay.close();
  detach();
  await proxy.close();
}

// ---------------------------------------------------------------------------------------------
// Peer process: the client (the sandboxed child) and the origin (the remote server).

async function peer() {
  // Origin: first byte 'u' = upload (count bytes until FIN, then answer 'k' and end);
  // 'd' = download (send BYTES, then end); a FIN before any byte is answered with a FIN.
  const origin = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
    s.on('error', () => undefined);
    s.once('end', () => {
      if (!s.writableEnded) s.end();
    });
    s.once('readable', function first() {
      const b = s.read(1);
      if (b === null) {
        if (!s.readableEnded) s.once('readable', first);
        return;
      }
      if (b[0] === 0x75) {
        let n = 0;
        s.on('data', (c) => (n += c.length));
        s.removeAllListeners('end');
        s.once('end', () => s.end(n === 0 ? 'x' : 'k'));
      } else if (b[0] === 0x64) {
        s.resume();
        sendBytes(s, BYTES).then(() => s.end());
      } else s.destroy();
    });
  });
  await new Promise((r) => origin.listen(0, '127.0.0.1', r));
  const originPort = origin.address().port;

  // The listener the host serves, created here as the child's is inside its namespace. The
  // raw handle goes over IPC (SCM_RIGHTS); this process's copy of the fd is closed after.
  const listener = net.createServer();
  await new Promise((r) => listener.listen(0, '127.0.0.1', r));
  const sandboxPort = listener.address().port;
  await new Promise((r) => process.send({ originPort, sandboxPort }, listener._handle, r));
  listener.close();

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
        s.removeListener('close', early);
        s.pause();
        resolve(buf);
      };
      const early = () => reject(new Error('closed early'));
      s.on('data', on);
      s.once('close', early);
      s.resume();
    });
  const viaConnect = async () => {
    const s = await connectTo(sandboxPort);
    s.write(`CONNECT ${ORIGIN_NAME}:${originPort} HTTP/1.1\r\nHost: ${ORIGIN_NAME}:${originPort}\r\n\r\n`);
    const head = await readUntil(s, (b) => b.includes('\r\n\r\n'));
    if (!head.toString().startsWith('HTTP/1.1 200')) throw new Error(`CONNECT failed: ${head}`);
    return s;
  };
  const viaSocks = async () => {
    const s = await connectTo(sandboxPort);
    const name = Buffer.from(ORIGIN_NAME);
    const port = Buffer.alloc(2);
    port.writeUInt16BE(originPort);
    // Greeting and request in one write, as socks clients that pipeline do.
    s.write(Buffer.concat([Buffer.from([5, 1, 0, 5, 1, 0, 3, name.length]), name, port]));
    const r = await readUntil(s, (b) => b.length >= 12);
    if (r[3] !== 0) throw new Error(`SOCKS failed: ${r[3]}`);
    return s;
  };
  const open = { direct: () => connectTo(originPort), relay: (m) => connectTo(m.relayPort), connect: viaConnect, socks5: viaSocks };

  process.on('message', async (m) => {
    const reply = (result) => process.send({ id: m.id, result });
    if (m.op === 'bulk') {
      const s = await open[m.mode](m);
      const cpu0 = process.cpuUsage();
      const t0 = process.hrtime.bigint();
      if (m.dir === 'upload') {
        const ack = readUntil(s, (b) => b.length >= 1);
        s.write('u');
        await sendBytes(s, BYTES);
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
        if (n !== BYTES) throw new Error(`download got ${n} of ${BYTES}`);
      }
      const ms = Number(process.hrtime.bigint() - t0) / 1e6;
      const cpu = process.cpuUsage(cpu0);
      s.destroy();
      return reply({ ms, peerCpuUs: cpu.user + cpu.system });
    }
    if (m.op === 'setup') {
      const samples = [];
      for (let i = 0; i < m.n; i++) {
        const t0 = process.hrtime.bigint();
        const s = await open[m.mode](m);
        samples.push(Number(process.hrtime.bigint() - t0) / 1e3);
        s.destroy();
      }
      return reply({ samples });
    }
  });
  process.on('disconnect', () => origin.close(() => process.exit(0)));
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
