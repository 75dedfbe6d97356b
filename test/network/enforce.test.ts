// Network modes enforced for real (loopback only): each denial beside its control.
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execSandboxed, NetworkAllowlistEntry, ResourceLimits, SandboxPolicy } from '../../src/index.js';
import type { NetworkEvent } from '../../src/proxy/index.js';
import { spawnSandboxed, type SandboxedProcess, type SpawnOptions } from '../../src/index.js';
import { tempDir } from '../helpers/process.js';
import { native } from '../../src/native.js';
import { readFileSync } from 'node:fs';

let ws: { dir: string; cleanup: () => void };
let httpServer: http.Server;
let httpPort: number;
let udp: dgram.Socket;
let udpPort: number;
const udpSeen: string[] = [];
let abstractServer: net.Server;
const abstractName = `\0cordon-test-${process.pid}`;
const resolve = async (host: string) => (host.endsWith('.test') ? ['127.0.0.1'] : []);

beforeAll(async () => {
  ws = tempDir();
  httpServer = http.createServer((req, res) => res.end(`hello ${req.headers.host}`));
  await new Promise<void>((r) => httpServer.listen(0, '127.0.0.1', r));
  httpPort = (httpServer.address() as net.AddressInfo).port;
  udp = dgram.createSocket('udp4');
  udp.on('message', (m) => udpSeen.push(String(m)));
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  udpPort = udp.address().port;
  abstractServer = net.createServer((s) => s.end('abstract-ok'));
  await new Promise<void>((r) => abstractServer.listen(abstractName, r));
});
afterAll(async () => {
  httpServer.close();
  udp.close();
  abstractServer.close();
  ws.cleanup();
});

const allowlist = () =>
  SandboxPolicy.workspaceWriteWithNetwork([ws.dir], [NetworkAllowlistEntry.withPort('*.allowed.test', httpPort)]);
const noNetwork = () => SandboxPolicy.workspaceWrite([ws.dir]);
const fullNetwork = () =>
  SandboxPolicy.parse({ ...(noNetwork().toJSON() as object), network_access: true, seccomp_profile: { allow_network_sockets: true } });

const run = (policy: SandboxPolicy, cmd: string, args: string[]) =>
  execSandboxed(cmd, args, { policy, cwd: ws.dir, networkResolver: resolve, timeout: 20_000 });

// Node one-liners run inside the sandbox; each prints OK or the error code.
const tcpDirect = () => `require('net').connect(${httpPort}, '127.0.0.1').on('connect', () => { console.log('OK'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); })`;
const udpSend = (tag: string) => `const s = require('dgram').createSocket('udp4'); s.send('${tag}', ${udpPort}, '127.0.0.1', (e) => { console.log(e ? e.code : 'SENT'); s.close(); })`;
const abstractConnect = () => `require('net').connect(${JSON.stringify(abstractName)}).on('data', (d) => { console.log(String(d)); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); })`;

describe('network: allowlist through the embedded proxy', () => {
  it('admits allowed names over HTTP, CONNECT and SOCKS5, and refuses others with a 403 naming the rule', async () => {
    const policy = allowlist();
    const events: NetworkEvent[] = [];
    const child = spawnSandboxed('sh', ['-c', `curl -sS -m 10 http://api.allowed.test:${httpPort}/ && echo && curl -sS -m 10 -p http://allowed.test:${httpPort}/ && echo && curl -sS -m 10 --socks5-hostname 127.0.0.1:3128 http://x.allowed.test:${httpPort}/ && echo && curl -sS -m 10 -o /dev/null -w '%{http_code}' http://denied.test:${httpPort}/`], {
      policy, cwd: ws.dir, networkResolver: resolve, stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.on('network', (e: NetworkEvent) => events.push(e));
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    await new Promise((r) => child.on('close', r));
    expect(out.split('\n')).toEqual([
      `hello api.allowed.test:${httpPort}`,
      `hello allowed.test:${httpPort}`,
      `hello x.allowed.test:${httpPort}`,
      '403',
    ]);
    expect(events).toEqual(expect.arrayContaining([
      expect.objectContaining({ host: 'api.allowed.test', port: httpPort, allowed: true, via: 'http' }),
      expect.objectContaining({ host: 'allowed.test', port: httpPort, allowed: true, via: 'connect' }),
      expect.objectContaining({ host: 'x.allowed.test', allowed: true, via: 'socks5' }),
      expect.objectContaining({ host: 'denied.test', port: httpPort, allowed: false }),
    ]));
    expect(child.enforcement.network).toMatchObject({ mode: 'allowlist' });
  });

  it('the 403 body names the rule; a port that is not listed is refused', async () => {
    const r = await run(allowlist(), 'curl', ['-sS', '-m', '10', `http://denied.test:${httpPort}/`]);
    expect(r.stdout).toContain(`no network_allowlist entry matches denied.test:${httpPort}`);
    const wrongPort = await run(allowlist(), 'curl', ['-sS', '-m', '10', '-o', '/dev/null', '-w', '%{http_code}', `http://api.allowed.test:${httpPort + 1}/`]);
    expect(wrongPort.stdout).toBe('403');
  });

  it('a client that ignores the proxy reaches nothing: direct TCP, UDP, abstract unix sockets of the host', async () => {
    const policy = allowlist();
    // Landlock allows connect() only to the proxy port (EACCES); the namespace has nothing else.
    expect(['EACCES', 'ECONNREFUSED']).toContain((await run(policy, 'node', ['-e', tcpDirect()])).stdout.toString().trim());
    const curl = await run(policy, 'curl', ['-sS', '-m', '5', '--noproxy', '*', `http://127.0.0.1:${httpPort}/`]);
    expect(curl.exitCode).not.toBe(0);
    await run(policy, 'node', ['-e', udpSend('from-allowlist')]);
    expect((await run(policy, 'node', ['-e', abstractConnect()])).stdout.toString().trim()).not.toBe('abstract-ok');
    await new Promise((r) => setTimeout(r, 200));
    expect(udpSeen).not.toContain('from-allowlist');
  });
});

describe('network: none', () => {
  it('refuses TCP to the host loopback, UDP, abstract sockets and the proxy path', async () => {
    const policy = noNetwork();
    const tcp = (await run(policy, 'node', ['-e', tcpDirect()])).stdout.toString().trim();
    expect(['EACCES', 'EPERM', 'ECONNREFUSED', 'ENETUNREACH']).toContain(tcp);
    const curl = await run(policy, 'curl', ['-sS', '-m', '5', `http://127.0.0.1:${httpPort}/`]);
    expect(curl.exitCode).not.toBe(0);
    await run(policy, 'node', ['-e', udpSend('from-none')]);
    expect((await run(policy, 'node', ['-e', abstractConnect()])).stdout.toString().trim()).not.toBe('abstract-ok');
    await new Promise((r) => setTimeout(r, 200));
    expect(udpSeen).not.toContain('from-none');
    expect((await run(policy, 'true', [])).enforcement.network).toMatchObject({ mode: 'none' });
  });
});

describe('network: none, in the shared or a private network namespace', () => {
  // The host has interfaces besides lo wherever this suite runs (eth0 and the like).
  const interfaces = (text: string) =>
    text.split('\n').slice(2).map((l) => l.split(':')[0]!.trim()).filter(Boolean).sort();
  const probe = () => native().probeKernel();
  // A sandboxed node that binds an abstract socket, says so, and serves 'from-sandbox'.
  const binder = (name: string) =>
    `require('net').createServer((s) => s.end('from-sandbox')).listen(${JSON.stringify(name)}, () => console.log('bound')); setTimeout(() => process.exit(0), 20000)`;
  const connectFromHost = (name: string) =>
    new Promise<string>((r) => net.connect(name).on('data', (d) => r(String(d))).on('error', (e: NodeJS.ErrnoException) => r(e.code ?? 'error')));
  const bound = (child: SandboxedProcess) =>
    new Promise<void>((r) => child.stdout!.on('data', (d) => String(d).includes('bound') && r()));

  it('sees only lo, and an abstract socket it binds is out of the host\'s reach (control: full network)', async () => {
    if (!probe().networkNamespace) return;
    const view = await run(noNetwork(), 'cat', ['/proc/net/dev']);
    expect(interfaces(String(view.stdout))).toEqual(['lo']);
    expect(interfaces(readFileSync('/proc/net/dev', 'latin1')).length).toBeGreaterThan(1);
    expect(view.enforcement.namespaces.network).toBe(true);

    const name = `\0cordon-squat-${process.pid}`;
    for (const [policy, expected] of [[noNetwork(), 'ECONNREFUSED'], [fullNetwork(), 'from-sandbox']] as const) {
      const child = spawnSandboxed('node', ['-e', binder(name)], { policy, cwd: ws.dir, stdio: ['ignore', 'pipe', 'inherit'] });
      await bound(child);
      expect(await connectFromHost(name)).toBe(expected);
      child.kill('SIGKILL');
      await new Promise((r) => child.on('close', r));
    }
  });

  it('shared by default (one namespace, Landlock keeps them apart); private on request or without the scope', async () => {
    if (!probe().networkNamespace) return;
    const netns = async (options: SpawnOptions) => {
      const r = await execSandboxed('readlink', ['/proc/self/ns/net'], { policy: noNetwork(), cwd: ws.dir, ...options });
      return { ns: String(r.stdout).trim(), report: r.enforcement.network as { by: string[] } };
    };
    const a = await netns({});
    const b = await netns({});
    const own = await netns({ networkNamespace: 'private' });
    const old = await netns({ landlockAbiCap: 5 });
    expect(own.ns).not.toBe(a.ns);
    expect(own.report.by).toContain('network namespace (loopback only)');
    expect(old.ns).not.toBe(a.ns);
    if (probe().landlockAbi < 6) return; // the shared one needs the scope
    expect(b.ns).toBe(a.ns);
    if (!probe().isRoot) {
      // Unprivileged: the user namespace that owns it is shared too, except by a sandbox whose
      // pids cap is RLIMIT_NPROC (counted per user namespace): it gets one nested in it.
      const userns = async (policy: SandboxPolicy) =>
        String((await execSandboxed('readlink', ['/proc/self/ns/user'], { policy, cwd: ws.dir })).stdout).trim();
      const limited = SandboxPolicy.workspaceWriteWithLimits([ws.dir], ResourceLimits.conservative());
      const capped = (await execSandboxed('true', [], { policy: limited, cwd: ws.dir })).enforcement.limits!.pids.mechanism === 'rlimit-userns';
      expect(await userns(noNetwork())).toBe(await userns(noNetwork()));
      if (capped) expect(await userns(limited)).not.toBe(await userns(limited));
    }
    expect(a.report.by[0]).toMatch(/^network namespace shared/);

    // In the shared namespace one sandbox sees another's abstract socket but cannot connect to
    // it (LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET); the host, outside any domain, is the control
    // that the socket is there and answering.
    const name = `\0cordon-neighbour-${process.pid}`;
    const server = spawnSandboxed('node', ['-e', binder(name)], { policy: noNetwork(), cwd: ws.dir, stdio: ['ignore', 'pipe', 'inherit'] });
    await bound(server);
    const neighbour = await run(noNetwork(), 'node', ['-e', abstractConnect().replace(JSON.stringify(abstractName), JSON.stringify(name))]);
    expect(String(neighbour.stdout).trim()).toBe('EPERM');
    const privateOne = await execSandboxed('node', ['-e', abstractConnect().replace(JSON.stringify(abstractName), JSON.stringify(name))], { policy: noNetwork(), cwd: ws.dir, networkNamespace: 'private' });
    expect(String(privateOne.stdout).trim()).toBe('ECONNREFUSED');
    server.kill('SIGKILL');
    await new Promise((r) => server.on('close', r));
  });
});

describe('network: full (the controls)', () => {
  it('reaches the host loopback over TCP and UDP, and the abstract socket', async () => {
    const policy = fullNetwork();
    expect((await run(policy, 'node', ['-e', tcpDirect()])).stdout.toString().trim()).toBe('OK');
    const curl = await run(policy, 'curl', ['-sS', '-m', '5', `http://127.0.0.1:${httpPort}/`]);
    expect(curl.stdout).toBe(`hello 127.0.0.1:${httpPort}`);
    await run(policy, 'node', ['-e', udpSend('from-full')]);
    await new Promise((r) => setTimeout(r, 200));
    expect(udpSeen).toContain('from-full');
    const abs = (await run(policy, 'node', ['-e', abstractConnect()])).stdout.toString().trim();
    expect(abs).toBe('abstract-ok');
  });
});
