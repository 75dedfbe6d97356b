// Network modes enforced for real (loopback only): each denial beside its control.
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execSandboxed, NetworkAllowlistEntry, SandboxPolicy } from '../../src/index.js';
import type { NetworkEvent } from '../../src/proxy/index.js';
import { spawnSandboxed } from '../../src/index.js';
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

describe('network: none, with and without a network namespace of its own', () => {
  // What a netns adds once seccomp and Landlock's scope (ABI 6) hold the mode: the view only.
  // The host has interfaces besides lo wherever this suite runs (eth0 and the like).
  const interfaces = (r: { stdout: string | Buffer }) =>
    r.stdout.toString().split('\n').slice(2).map((l) => l.split(':')[0]!.trim()).filter(Boolean).sort();
  const hostInterfaces = () => interfaces({ stdout: readFileSync('/proc/net/dev', 'latin1') });

  it('by default no netns where seccomp and the Landlock scope hold the mode, and it says what stays visible', async () => {
    const r = await run(noNetwork(), 'cat', ['/proc/net/dev']);
    const probe = native().probeKernel();
    if (probe.landlockAbi < 6) {
      expect(r.enforcement.namespaces.network).toBe(probe.networkNamespace); // the netns is what holds abstract sockets here
      return;
    }
    expect(r.enforcement.namespaces.network).toBe(false);
    expect(interfaces(r)).toEqual(hostInterfaces());
    expect(r.enforcement.network).toMatchObject({
      mode: 'none',
      by: expect.arrayContaining(['seccomp socket rules', 'landlock abstract unix socket scope']),
      gaps: [expect.stringContaining('/proc/net are visible')],
    });
  });

  it('networkNamespace: true hides the host interfaces (only lo), and the denials hold either way', async () => {
    const probe = native().probeKernel();
    if (!probe.networkNamespace) return;
    const own = await execSandboxed('cat', ['/proc/net/dev'], { policy: noNetwork(), cwd: ws.dir, networkNamespace: true });
    expect(own.enforcement.namespaces.network).toBe(true);
    expect(interfaces(own)).toEqual(['lo']);
    expect(hostInterfaces().length).toBeGreaterThan(1); // the control: the host has more than lo
    expect(own.enforcement.network).toMatchObject({ gaps: [] });
    const tcp = await execSandboxed('node', ['-e', tcpDirect()], { policy: noNetwork(), cwd: ws.dir, networkNamespace: true });
    expect(['EACCES', 'EPERM', 'ECONNREFUSED', 'ENETUNREACH']).toContain(tcp.stdout.toString().trim());
    const abs = await execSandboxed('node', ['-e', abstractConnect()], { policy: noNetwork(), cwd: ws.dir, networkNamespace: true });
    expect(abs.stdout.toString().trim()).not.toBe('abstract-ok');
  });

  it('a kernel without the abstract-socket scope (Landlock ABI < 6) gets the netns, which keeps the host abstract socket out of reach', async () => {
    const probe = native().probeKernel();
    if (!probe.networkNamespace) return;
    const r = await execSandboxed('node', ['-e', abstractConnect()], { policy: noNetwork(), cwd: ws.dir, landlockAbiCap: 5 });
    expect(r.enforcement.namespaces.network).toBe(true);
    expect(r.stdout.toString().trim()).not.toBe('abstract-ok');
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
