// Issue 15: a proxy no sandbox can exhaust or point at the host, and policies that mean what
// they say. Real sandboxes against the host's real proxy; every refusal beside its control.
// Traffic goes only to loopback, or to the host's own interface address (never off the machine).
import { lookup } from 'node:dns/promises';
import dgram from 'node:dgram';
import { readFileSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import http from 'node:http';
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  EnforcementError,
  execSandboxed,
  NetworkAllowlistEntry,
  SandboxPolicy,
  spawnSandboxed,
  type ExecOptionsWithStringEncoding,
} from '../../src/index.js';
import { isSecretEnv, sanitizeEnv } from '../../src/env.js';
import { sharedProxyRefs, type NetworkEvent } from '../../src/proxy/index.js';
import { openFdCount, tempDir } from '../helpers/process.js';
import { startDnsServer } from './helpers-proxy.js';

let ws: { dir: string; cleanup: () => void };
let origin: http.Server;
let originPort: number;
let other: http.Server;
let otherPort: number;
let anyAddress: http.Server; // bound on 0.0.0.0: reachable on every host address
let anyPort: number;
let dns: Awaited<ReturnType<typeof startDnsServer>>;
/** The host's first non-loopback IPv4 address, if it has one (its own interface, never off the machine). */
const hostAddress = Object.values(networkInterfaces())
  .flat()
  .find((a) => a && a.family === 'IPv4' && !a.internal)?.address;

const serve = async (host: string, tag: string): Promise<[http.Server, number]> => {
  const server = http.createServer((req, res) => res.end(`${tag} ${req.headers.host ?? ''}\n`));
  await new Promise<void>((r) => server.listen(0, host, r));
  return [server, (server.address() as net.AddressInfo).port];
};

beforeAll(async () => {
  ws = tempDir();
  [origin, originPort] = await serve('127.0.0.1', 'origin');
  [other, otherPort] = await serve('127.0.0.1', 'other');
  [anyAddress, anyPort] = await serve('0.0.0.0', 'any');
  dns = await startDnsServer((name) => {
    const table: Record<string, string[]> = {
      'loop.allowed.test': ['127.0.0.1'],
      'private.allowed.test': ['10.1.2.3'],
      'cgnat.allowed.test': ['100.64.1.1'],
      'meta.allowed.test': ['169.254.169.254'],
      'ula.allowed.test': ['fd00::5'],
      'mapped.allowed.test': ['::ffff:127.0.0.1'],
      ...(hostAddress ? { 'self.allowed.test': [hostAddress] } : {}),
    };
    return table[name];
  });
  // One client for every in-sandbox request: `node client.cjs <mode> ...`, one line of output.
  writeFileSync(
    join(ws.dir, 'client.cjs'),
    `const net = require('net'), http = require('http');
const [mode, a, b] = process.argv.slice(2);
const proxyPort = Number((process.env.HTTP_PROXY || '').split(':').pop());
if (mode === 'proxy-get') {
  // absolute-form GET through the proxy: prints status and body
  http.get({ host: '127.0.0.1', port: proxyPort, path: 'http://' + a + '/', headers: { host: a } }, (res) => {
    let body = ''; res.on('data', (d) => (body += d)); res.on('end', () => { console.log(res.statusCode + ' ' + body.trim()); });
  }).on('error', (e) => console.log('ERR ' + e.code));
} else if (mode === 'direct-get') {
  http.get('http://' + a + '/', (res) => { let body = ''; res.on('data', (d) => (body += d)); res.on('end', () => console.log(res.statusCode + ' ' + body.trim())); })
    .on('error', (e) => console.log('ERR ' + e.code));
} else if (mode === 'own-server') {
  const server = http.createServer((q, r) => r.end('own')).listen(0, '127.0.0.1', () => {
    http.get('http://127.0.0.1:' + server.address().port + '/', (res) => { res.on('data', (d) => { console.log(String(d)); process.exit(0); }); })
      .on('error', (e) => { console.log('ERR ' + e.code); process.exit(0); });
  });
} else if (mode === 'flood') {
  // open up to a connections to the proxy and hold them; print how many connected, then wait
  let connected = 0, done = 0; const n = Number(a); const held = [];
  for (let i = 0; i < n; i++) {
    const s = net.connect(proxyPort, '127.0.0.1');
    held.push(s);
    s.on('connect', () => connected++); s.on('error', () => {}); s.on('close', () => {});
    s.once('connect', () => { if (++done === n) report(); }); s.once('error', () => { if (++done === n) report(); });
  }
  let reported = false;
  function report() { if (reported) return; reported = true; console.log('connected ' + connected); }
  setTimeout(report, 5000);
  setTimeout(() => process.exit(0), Number(b));
} else if (mode === 'dns-flood') {
  // a CONNECTs for random names at once; print the status counts
  const counts = {}; let left = Number(a);
  for (let i = 0; i < Number(a); i++) {
    const s = net.connect(proxyPort, '127.0.0.1', () => s.write('CONNECT r' + i + Math.random().toString(36).slice(2) + '.allowed.test:80 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'));
    let head = '';
    const end = (k) => { counts[k] = (counts[k] || 0) + 1; s.destroy(); if (--left === 0) console.log(JSON.stringify(counts)); };
    s.on('data', (d) => { head += d; if (head.includes('\\r\\n')) end(head.split(' ')[1]); });
    s.on('error', () => end('ERR'));
  }
} else if (mode === 'pipeline') {
  // b pipelined absolute-form GETs to a on one connection; print how many answers, then 'closed'
  const s = net.connect(proxyPort, '127.0.0.1', () => {
    let text = '';
    for (let i = 0; i < Number(b); i++) text += 'GET http://' + a + '/' + i + ' HTTP/1.1\\r\\nHost: ' + a + '\\r\\n\\r\\n';
    s.write(text);
  });
  let answers = 0;
  s.on('data', (d) => { answers += String(d).split('HTTP/1.1 200').length - 1; });
  s.on('close', () => { console.log('answers ' + answers + ' closed'); process.exit(0); });
  s.on('error', () => {});
  setTimeout(() => { console.log('answers ' + answers + ' open'); process.exit(0); }, 3000);
} else if (mode === 'hammer') {
  // a refused CONNECTs over 20 lanes, one connection each; print the milliseconds it took
  const started = Date.now(); let left = Number(a); let lanes = 20;
  const lane = () => {
    if (left-- <= 0) { if (--lanes === 0) console.log('ms ' + (Date.now() - started)); return; }
    const s = net.connect(proxyPort, '127.0.0.1', () => s.write('CONNECT denied.test:80 HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n'));
    s.on('error', () => {}); s.on('close', lane); s.resume();
  };
  for (let i = 0; i < 20; i++) lane();
} else if (mode === 'udp') {
  const s = require('dgram').createSocket('udp4');
  s.send('tcp-entry', Number(a), '127.0.0.1', (e) => { console.log(e ? 'ERR ' + e.code : 'SENT'); s.close(); });
}
`,
  );
});

afterAll(async () => {
  for (const s of [origin, other, anyAddress]) {
    s.closeAllConnections();
    s.close();
  }
  await dns.close();
  ws.cleanup();
});

const tcp = (domain: string, port: number) => NetworkAllowlistEntry.withPort(domain, port);
const allowlist = (...entries: NetworkAllowlistEntry[]) => SandboxPolicy.workspaceWriteWithNetwork([ws.dir], entries);
const run = (policy: SandboxPolicy | Record<string, unknown>, args: string[], extra: ExecOptionsWithStringEncoding = {}) =>
  execSandboxed('node', ['client.cjs', ...args], {
    policy,
    cwd: ws.dir,
    timeout: 30_000,
    proxy: { dnsServers: [dns.server] },
    ...extra,
  });

describe('the proxy is bounded per sandbox', () => {
  it('five sandboxes flooding the proxy with idle connections leave the host able to spawn and open files, and another sandbox still gets through', async () => {
    // Every sandbox here is served by the same shared proxy (same proxy options).
    const policy = allowlist(tcp('127.0.0.1', originPort));
    const before = openFdCount();
    const events: NetworkEvent[][] = [];
    const floods = Array.from({ length: 5 }, () => {
      const child = spawnSandboxed('node', ['client.cjs', 'flood', '3000', '12000'], { policy, cwd: ws.dir, timeout: 30_000, proxy: { dnsServers: [dns.server] } });
      const seen: NetworkEvent[] = [];
      events.push(seen);
      child.on('network', (e: NetworkEvent) => seen.push(e));
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d));
      return { child, output: () => out, exited: new Promise((r) => child.once('close', r)) };
    });
    // Wait until every flood has reported how many of its connections connected.
    const deadline = Date.now() + 20_000;
    while (floods.some((f) => !f.output().includes('connected')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const during = openFdCount();
    try {
      // One proxy serves all five (and the sixth below).
      expect(Math.max(...Object.values(sharedProxyRefs()))).toBeGreaterThanOrEqual(5);
      // The flood is real: each sandbox connected far more than the cap, and hit it.
      for (const [i, f] of floods.entries()) {
        expect(Number(/connected (\d+)/.exec(f.output())?.[1])).toBeGreaterThan(512);
        expect(events[i]!.some((e) => e.via === 'limit' && e.reason?.includes('maxConnections'))).toBe(true);
      }
      // The host holds at most the cap per sandbox (512 sockets: here one fd per idle client connection).
      expect(during - before).toBeLessThanOrEqual(5 * 512 + 64);
      // ...and can still open files, spawn, and serve another sandbox's allowed request.
      writeFileSync(join(ws.dir, 'probe.txt'), 'x');
      const sixth = await run(policy, ['proxy-get', `127.0.0.1:${originPort}`]);
      expect(sixth.stdout.trim()).toBe(`200 origin 127.0.0.1:${originPort}`);
    } finally {
      for (const f of floods) f.child.kill('SIGKILL');
      await Promise.all(floods.map((f) => f.exited));
    }
  }, 60_000);

  it('pipelined requests on one connection cannot open upstreams past the cap (control: a few pipelined requests are all answered)', async () => {
    let held = 0;
    let peak = 0;
    const holding = http.createServer(() => {
      held++;
      peak = Math.max(peak, held);
    });
    holding.on('connection', (c) => c.on('close', () => held--));
    await new Promise<void>((r) => holding.listen(0, '127.0.0.1', r));
    const holdPort = (holding.address() as net.AddressInfo).port;
    try {
      const before = openFdCount();
      const flood = await run(allowlist(tcp('127.0.0.1', holdPort)), ['pipeline', `127.0.0.1:${holdPort}`, '2000']);
      // Cut off after a handful in flight: nowhere near 2000 upstreams, nor fds.
      expect(flood.stdout.trim()).toBe('answers 0 closed');
      expect(peak).toBeLessThanOrEqual(8);
      expect(openFdCount() - before).toBeLessThan(64);
      const few = await run(allowlist(tcp('127.0.0.1', originPort)), ['pipeline', `127.0.0.1:${originPort}`, '4']);
      expect(few.stdout.trim()).toBe('answers 4 open');
    } finally {
      holding.closeAllConnections();
      holding.close();
    }
  });

  it('requests are admitted at most requestsPerSecond (1000) per sandbox (control: unlimited is faster)', async () => {
    const policy = allowlist(tcp('allowed.test', originPort));
    const took = async (requestsPerSecond: number) => {
      const r = await run(policy, ['hammer', '4000'], { proxy: { dnsServers: [dns.server], requestsPerSecond } });
      expect(r.network.filter((e) => e.host === 'denied.test' && !e.allowed)).toHaveLength(4000);
      return Number(/ms (\d+)/.exec(r.stdout)?.[1]);
    };
    const limited = await took(1000);
    const unlimited = await took(0);
    // 1000 at once (the bucket holds one second's worth), then 3000 at 1000 per second.
    expect(limited).toBeGreaterThanOrEqual(2500);
    expect(unlimited).toBeLessThan(limited);
  }, 60_000);

  it('the child gets its own RLIMIT_NOFILE: 4096 by default, maxOpenFiles to change it (control: DangerFullAccess inherits the host\'s)', async () => {
    const limit = async (policy: SandboxPolicy, extra: ExecOptionsWithStringEncoding = {}) => {
      const r = await execSandboxed('sh', ['-c', 'ulimit -n; ulimit -Hn'], { policy, cwd: ws.dir, ...extra });
      return r.stdout.trim().split('\n');
    };
    const host = Number(/Max open files\s+(\d+)\s+(\d+)/.exec(readFileSync('/proc/self/limits', 'utf8'))?.[2]);
    const expected = String(Math.min(4096, host));
    expect(await limit(SandboxPolicy.workspaceWrite([ws.dir]))).toEqual([expected, expected]);
    expect(await limit(SandboxPolicy.workspaceWrite([ws.dir]), { maxOpenFiles: 100 })).toEqual(['100', '100']);
    const full = await execSandboxed('sh', ['-c', 'ulimit -Hn'], { policy: SandboxPolicy.fullAccess(), cwd: ws.dir });
    expect(full.stdout.trim()).toBe(String(host));
    const r = await execSandboxed('true', [], { policy: SandboxPolicy.workspaceWrite([ws.dir]), cwd: ws.dir });
    expect(r.enforcement.limits?.openFiles).toMatchObject({ value: Number(expected), mechanism: 'rlimit' });
  });
});

describe('name resolution cannot stall the host', () => {
  it('a flood of lookups against a silent DNS server adds under 100 ms to the host\'s own lookups, and is refused beyond the queue', async () => {
    const silent = await startDnsServer(() => undefined, { silent: true });
    try {
      // The host's own lookup (getaddrinfo on libuv's threadpool) and a threadpool fs read,
      // median of five: first quiet, then while the sandbox's lookups hang.
      const hostWork = async () => {
        const times: number[] = [];
        for (let i = 0; i < 5; i++) {
          const t = Date.now();
          await Promise.all([lookup('localhost'), readFile('/proc/self/status')]);
          times.push(Date.now() - t);
        }
        return times.sort((x, y) => x - y)[2]!;
      };
      const quiet = await hostWork();
      const child = spawnSandboxed('node', ['client.cjs', 'dns-flood', '200'], {
        policy: allowlist(tcp('*.allowed.test', 80)),
        cwd: ws.dir,
        timeout: 30_000,
        proxy: { dnsServers: [silent.server], lookupTimeoutMs: 3000 },
      });
      let out = '';
      child.stdout!.on('data', (d: Buffer) => (out += d));
      const closed = new Promise((r) => child.once('close', r));
      // Lookups are in flight once the silent server has seen some.
      const deadline = Date.now() + 10_000;
      while (silent.queries.length < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      expect(silent.queries.length).toBeGreaterThanOrEqual(4);
      expect((await hostWork()) - quiet).toBeLessThan(100);
      await closed;
      // Timed-out lookups are dropped by the resolver, not left retrying: a lookup started just
      // before its deadline runs at most its own 3 s more, and then nothing reaches the silent
      // server any more.
      await new Promise((r) => setTimeout(r, 3500));
      const settled = silent.queries.length;
      await new Promise((r) => setTimeout(r, 2000));
      expect(silent.queries.length).toBe(settled);
      const counts = JSON.parse(out.trim()) as Record<string, number>;
      // 4 at once and 32 waiting per sandbox time out (504); the rest are refused at once (503).
      expect(counts['503']).toBeGreaterThan(100);
      expect(counts['504']).toBeGreaterThan(0);
      expect((counts['503'] ?? 0) + (counts['504'] ?? 0)).toBe(200);
    } finally {
      await silent.close();
    }
  }, 60_000);
});

describe('no server-side request forgery', () => {
  it('an allowed name resolving to a private, shared, link-local, unique-local or loopback address is refused with the reason', async () => {
    const policy = allowlist(tcp('*.allowed.test', originPort));
    for (const [name, why] of [
      ['loop.allowed.test', 'loopback'],
      ['private.allowed.test', 'private (RFC 1918)'],
      ['cgnat.allowed.test', 'shared address space'],
      ['meta.allowed.test', 'link-local'],
      ['ula.allowed.test', 'unique local'],
      ['mapped.allowed.test', 'loopback'],
    ] as const) {
      const r = await run(policy, ['proxy-get', `${name}:${originPort}`]);
      expect(r.stdout).toMatch(/^403 /);
      expect(r.stdout).toContain(why);
      const event = r.network.find((e) => e.host === name);
      expect(event).toMatchObject({ allowed: false, port: originPort });
      expect(event?.reason).toContain(why);
    }
    // Control: the same proxy, allowlist and DNS, with an entry naming the loopback address itself.
    const named = await run(allowlist(tcp('*.allowed.test', originPort), tcp('127.0.0.0/8', originPort)), ['proxy-get', `loop.allowed.test:${originPort}`]);
    expect(named.stdout.trim()).toBe(`200 origin loop.allowed.test:${originPort}`);
  }, 30_000);

  it.skipIf(!hostAddress)("an allowed name resolving to the host's own address is refused; an IP or CIDR entry naming it allows exactly that", async () => {
    const wildcard = allowlist(tcp('*.allowed.test', anyPort));
    const refused = await run(wildcard, ['proxy-get', `self.allowed.test:${anyPort}`]);
    expect(refused.stdout).toMatch(/^403 .*(host's own addresses|documentation|private)/);
    // Controls: an IP entry, then a CIDR entry, for that address and port.
    const ip = await run(allowlist(tcp('*.allowed.test', anyPort), tcp(hostAddress!, anyPort)), ['proxy-get', `self.allowed.test:${anyPort}`]);
    expect(ip.stdout.trim()).toBe(`200 any self.allowed.test:${anyPort}`);
    const cidr = `${hostAddress!.split('.').slice(0, 3).join('.')}.0/24`;
    const range = await run(allowlist(tcp(cidr, anyPort)), ['proxy-get', `${hostAddress}:${anyPort}`]);
    expect(range.stdout.trim()).toBe(`200 any ${hostAddress}:${anyPort}`);
    // Exactly that: another port of the same address stays refused.
    const otherPortOfIt = await run(allowlist(tcp(cidr, anyPort)), ['proxy-get', `${hostAddress}:${anyPort + 1 === 65536 ? 1 : anyPort + 1}`]);
    expect(otherPortOfIt.stdout).toMatch(/^403 /);
  }, 30_000);

  it('CIDR entries are validated: host bits, prefix length, garbage', () => {
    expect(() => tcp('10.0.0.1/8', 80)).toThrow(/bits set after the \/8 prefix/);
    expect(() => tcp('10.0.0.0/33', 80)).toThrow(/longer than the address/);
    expect(tcp('10.0.0.0/8', 80).domain).toBe('10.0.0.0/8');
    const p = allowlist(tcp('10.0.0.0/8', 80), tcp('fd00::/8', 80));
    expect(p.isNetworkAllowed('10.200.0.1', 80)).toBe(true);
    expect(p.isNetworkAllowed('11.0.0.1', 80)).toBe(false);
    expect(p.isNetworkAllowed('::ffff:10.0.0.1', 80)).toBe(true);
    expect(p.isNetworkAllowed('fd12::1', 80)).toBe(true);
    expect(p.isNetworkAllowed('10.200.0.1', 81)).toBe(false);
  });
});

describe('protocol is honoured', () => {
  it('a "protocol":"udp" entry admits no TCP through the proxy (control: the same entry as tcp)', async () => {
    const json = (protocol: string) => ({
      type: 'workspace_write',
      writable_roots: [{ root: ws.dir }],
      network_access: true,
      network_allowlist: [{ domain: 'allowed.test', port: originPort, protocol }],
    });
    const resolver = { networkResolver: async () => ['127.0.0.1'] };
    const udp = await run(json('udp'), ['proxy-get', `allowed.test:${originPort}`], resolver);
    expect(udp.stdout).toMatch(/^403 .*udp entry/);
    expect(udp.enforcement.network?.gaps.join('\n')).toContain('udp entries admit nothing');
    const tcpEntry = await run(json('tcp'), ['proxy-get', `allowed.test:${originPort}`], resolver);
    expect(tcpEntry.stdout.trim()).toBe(`200 origin allowed.test:${originPort}`);
  });

  it('and a tcp entry admits no UDP (control: full network delivers the datagram)', async () => {
    const socket = dgram.createSocket('udp4');
    const seen: string[] = [];
    socket.on('message', (m) => seen.push(String(m)));
    await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
    const port = socket.address().port;
    try {
      const refused = await run(allowlist(tcp('127.0.0.1', port)), ['udp', String(port)]);
      expect(refused.stdout.trim()).not.toBe('');
      await new Promise((r) => setTimeout(r, 200));
      expect(seen).toEqual([]);
      await run(SandboxPolicy.parse({ type: 'workspace_write', writable_roots: [{ root: ws.dir }], network_access: true }), ['udp', String(port)]);
      for (let i = 0; i < 20 && seen.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      expect(seen).toEqual(['tcp-entry']);
    } finally {
      socket.close();
    }
  });
});

describe('JSON policies mean what they say', () => {
  const base = () => ({ type: 'workspace_write', writable_roots: [{ root: ws.dir }] });

  it('"network_access": true without seccomp_profile gives a working network and says so', async () => {
    const r = await run({ ...base(), network_access: true }, ['direct-get', `127.0.0.1:${originPort}`]);
    expect(r.stdout.trim()).toBe(`200 origin 127.0.0.1:${originPort}`);
    expect(r.enforcement.network?.mode).toBe('full');
    // Control: network_access false refuses the same request.
    const off = await run(base(), ['direct-get', `127.0.0.1:${originPort}`]);
    expect(off.stdout).toMatch(/^ERR /);
  });

  it('a JSON allowlist without seccomp_profile works through the proxy', async () => {
    const r = await run(
      { ...base(), network_access: true, network_allowlist: [{ domain: 'allowed.test', port: originPort }] },
      ['proxy-get', `allowed.test:${originPort}`],
      { networkResolver: async () => ['127.0.0.1'] },
    );
    expect(r.stdout.trim()).toBe(`200 origin allowed.test:${originPort}`);
    expect(r.enforcement.network?.mode).toBe('allowlist');
    expect(r.network).toEqual([{ host: 'allowed.test', port: originPort, allowed: true, via: 'http', reason: `allowed.test:${originPort}` }]);
  });

  it('an explicit profile refusing sockets with the network on: strict refuses naming both fields; best-effort reports mode none', async () => {
    const contradiction = { ...base(), network_access: true, seccomp_profile: { allow_network_sockets: false } };
    let error: unknown;
    try {
      spawnSandboxed('true', [], { policy: contradiction, cwd: ws.dir });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(EnforcementError);
    expect(String((error as Error).message)).toMatch(/network_access.*seccomp_profile\.allow_network_sockets/);
    const r = await run(contradiction, ['direct-get', `127.0.0.1:${originPort}`], { enforcement: 'best-effort' });
    expect(r.enforcement.network?.mode).toBe('none');
    expect(r.enforcement.network?.gaps.join('\n')).toContain('seccomp_profile.allow_network_sockets');
    expect(r.stdout).toMatch(/^ERR /);
  });
});

describe("the host's own local services", () => {
  it('an entry localhost:PORT reaches that one host port, directly (NO_PROXY) and through the proxy; other host ports stay out, the sandbox\'s own loopback works', async () => {
    const policy = allowlist(tcp('localhost', originPort));
    const direct = await run(policy, ['direct-get', `localhost:${originPort}`]);
    expect(direct.stdout.trim()).toBe(`200 origin localhost:${originPort}`);
    const v4 = await run(policy, ['direct-get', `127.0.0.1:${originPort}`]);
    expect(v4.stdout.trim()).toBe(`200 origin 127.0.0.1:${originPort}`);
    const proxied = await run(policy, ['proxy-get', `localhost:${originPort}`]);
    expect(proxied.stdout.trim()).toBe(`200 origin localhost:${originPort}`);
    expect(direct.network).toMatchObject([{ host: 'localhost', port: originPort, allowed: true, via: 'forward' }]);
    // Another host port: the sandbox's own (empty) loopback directly, a 403 through the proxy.
    expect((await run(policy, ['direct-get', `127.0.0.1:${otherPort}`])).stdout).toMatch(/^ERR ECONNREFUSED/);
    expect((await run(policy, ['proxy-get', `localhost:${otherPort}`])).stdout).toMatch(/^403 /);
    // The sandbox's own loopback servers keep working.
    expect((await run(policy, ['own-server'])).stdout.trim()).toBe('own');
    expect(direct.enforcement.network?.by.join('\n')).toContain(`localhost:${originPort} forwarded`);
  });

  it('without the entry the host port is out of reach (control for the above)', async () => {
    const policy = allowlist(tcp('allowed.test', originPort));
    expect((await run(policy, ['direct-get', `127.0.0.1:${originPort}`])).stdout).toMatch(/^ERR ECONNREFUSED/);
  });
});

describe('inherited environment', () => {
  const shapes: Record<string, string> = {
    npm_config__authToken: 'x',
    'npm_config_//registry.example.test/:_authToken': 'x',
    NPM_CONFIG__AUTH: 'x',
    SMTP_PASS: 'x',
    FTP_PASSWD: 'x',
    STRIPE_KEY: 'x',
    GITHUB_PAT: 'x',
    SENTRY_DSN: 'x',
    SECRET_KEY_BASE: 'x',
    OP_SESSION_my_account: 'x',
    APP_DB: 'postgres://app:pw@db/x',
    CLONE_URL: 'https://ghp_token@github.com/o/r.git',
    // Found by an independent attack on the first version of the filter:
    AZURE_STORAGE_CONNECTION_STRING: 'DefaultEndpointsProtocol=https;AccountKey=x',
    GPG_PASSPHRASE: 'x',
    PASSPHRASE: 'x',
    DB_PWD: 'x',
    REGISTRY_CREDS: 'x',
    DOCKER_AUTH_CONFIG: 'x',
    CI_JOB_JWT: 'x',
    JWT: 'x',
    SESSION_COOKIE: 'x',
    NETRC: 'x',
    SLACK_WEBHOOK_URL: 'x',
    OPENAI_API_KEY_2: 'x',
    STRIPE_SECRET_KEY_LIVE: 'x',
    CLIENT_SECRET_1: 'x',
    API_KEYS: 'x',
    GITHUB_TOKENS: 'x',
    githubToken: 'x',
    MYAPIKEY: 'x',
    'FOO-TOKEN': 'x',
    npm_config__authToken_: 'x',
    'npm_config_//h.test/:_authToken ': 'x',
    WEIRD_URL_1: 'https:user:pw@host.test/',
    WEIRD_URL_2: 'https:\\\\user:pw@host.test/',
    WEIRD_URL_3: 'http:/user:pw@host.test/',
    SOCKS: 'user:pw@proxy.test:1080',
    // ...and by a second one on the widened filter:
    STRIPE_SECRETKEY: 'x',
    awsSecretAccessKey: 'x',
    privateKey: 'x',
    HTTP_AUTHORIZATION: 'Bearer abcdefghijkl',
    ConnectionStrings__Default: 'Server=db;Password=x;',
    AzureWebJobsStorage: 'DefaultEndpointsProtocol=https;AccountKey=x',
    PGPASS: 'x',
    DB_PW: 'x',
    HTTPS_PROXY_X: 'http://u:pass word@127.0.0.1:1/',
    TABBED: 'https://u:pa\tss@host.test/',
  };

  it('names each secret shape (unit) and lets ordinary variables through', () => {
    for (const [name, value] of Object.entries(shapes)) expect(isSecretEnv(name, value), name).toBe(true);
    const ordinary = {
      PATH: '/usr/bin',
      PWD: '/w',
      OLDPWD: '/v',
      EDITOR: 'vi',
      GIT_ASKPASS: '/bin/true',
      DB_URL: 'postgres://db/x',
      HOME: '/h',
      KEYMAP: 'us',
      XAUTHORITY: '/h/.Xauthority',
      REPO: 'git@github.com:o/r.git',
      LS_COLORS: 'di=01;34:ln=01;36',
      PYTHONPATH: '/a:/b',
      GIT_CONFIG_KEY_0: 'core.editor',
      DOCKER_HOST: 'ssh://deploy@buildhost',
      IMAGE: 'node:20@sha256:abcdef',
      MAILTO: 'mailto:root@localhost',
      npm_package_repository_url: 'git+ssh://git@github.com/o/r.git',
      npm_config_always_auth: 'true',
      TOKENIZERS_PARALLELISM: 'false',
    };
    for (const [name, value] of Object.entries(ordinary)) {
      expect(isSecretEnv(name, value), name).toBe(false);
    }
  });

  it("git's command-line config is kept or dropped as a group (a partial group breaks every git command)", () => {
    const plain = { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'core.editor', GIT_CONFIG_VALUE_0: 'vi' };
    expect(sanitizeEnv(plain).env).toEqual(plain);
    const secret = sanitizeEnv({ GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraHeader', GIT_CONFIG_VALUE_0: 'Authorization: Bearer abcdefghijkl', KEEP: '1' });
    expect(secret.env).toEqual({ KEEP: '1' });
    expect(secret.removed).toEqual(['GIT_CONFIG_COUNT', 'GIT_CONFIG_KEY_0', 'GIT_CONFIG_VALUE_0']);
  });

  it('a sandboxed child sees none of them; minimal mode keeps only PATH, HOME, LANG, TERM and the sandbox\'s own', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, shapes, { CORDON_TEST_PLAIN: 'plain' });
    try {
      const r = await execSandboxed('env', [], { policy: SandboxPolicy.workspaceWrite([ws.dir]), cwd: ws.dir });
      const names = r.stdout.split('\n').map((l) => l.split('=')[0]);
      for (const name of Object.keys(shapes)) expect(names, name).not.toContain(name);
      expect(names).toContain('CORDON_TEST_PLAIN'); // control
      expect(r.enforcement.lifecycle.removedEnv).toEqual(expect.arrayContaining(Object.keys(shapes)));
      const minimal = await execSandboxed('env', [], { policy: SandboxPolicy.workspaceWrite([ws.dir]), cwd: ws.dir, inheritEnv: 'minimal' });
      const kept = minimal.stdout.split('\n').filter(Boolean).map((l) => l.split('=')[0]!);
      const own = kept.filter((n) => !['PATH', 'HOME', 'LANG', 'TERM'].includes(n));
      expect(kept).toContain('PATH');
      expect(kept).not.toContain('CORDON_TEST_PLAIN');
      // What is left is cordon's: markers, and the offline proxy and cache variables.
      for (const name of own) expect(name, name).toMatch(/^(CORDON_|https?_proxy$|HTTPS?_PROXY$|ALL_PROXY$|all_proxy$|npm_config_|PIP_|YARN_|GO(CACHE|MODCACHE)$|XDG_CACHE_HOME$)/);
      const named = await execSandboxed('env', [], { policy: SandboxPolicy.workspaceWrite([ws.dir]), cwd: ws.dir, inheritEnv: ['CORDON_TEST_PLAIN', 'SMTP_PASS'] });
      expect(named.stdout).toContain('CORDON_TEST_PLAIN=plain');
      expect(named.stdout).not.toContain('SMTP_PASS');
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    }
  });

  it('bad inheritEnv and proxy options are typed errors naming the field', () => {
    expect(() => spawnSandboxed('true', [], { inheritEnv: 'none' as never })).toThrow(/options\.inheritEnv/);
    expect(() => spawnSandboxed('true', [], { proxy: { maxConnections: 0 } })).toThrow(/options\.proxy\.maxConnections/);
    expect(() => spawnSandboxed('true', [], { proxy: { dnsServers: ['not a server'] } })).toThrow(/options\.proxy\.dnsServers\[0\]/);
    expect(() => spawnSandboxed('true', [], { maxOpenFiles: 3 })).toThrow(/options\.maxOpenFiles/);
  });
});
