// Loopback fixtures for the egress proxy tests: origin servers, an allowlist matcher, curl,
// raw HTTP CONNECT and SOCKS5 clients, and listening fds created in another process.
import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { NetworkDecision } from '../../src/proxy/index.js';
import { ipBytes } from '../../src/policy/ip.js';

/** An HTTP origin on 127.0.0.1 answering `host=<Host header> url=<url> body=<body>`. */
export async function startHttpOrigin(): Promise<{ port: number; seen: Array<{ host?: string; url?: string; remote?: string }>; close(): Promise<void> }> {
  const seen: Array<{ host?: string; url?: string; remote?: string }> = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ host: req.headers.host, url: req.url, remote: req.socket.remoteAddress });
      res.end(`host=${req.headers.host} url=${req.url} body=${Buffer.concat(chunks).toString()}\n`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    seen,
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** A TCP echo server on 127.0.0.1 that echoes everything and ends its side after the client's FIN (half-close). */
export async function startEchoServer(): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/**
 * A server that greets first (like SSH or SMTP: bytes arrive before the client says anything),
 * then answers `<n>\n` with n pseudo-random bytes and ends. Returns the port and the sha256 of
 * what it would send for n.
 */
export async function startBannerServer(): Promise<{ port: number; expected(n: number): string; close(): Promise<void> }> {
  const bytes = (n: number): Buffer => {
    const out = Buffer.allocUnsafe(n);
    let x = 0x12345678;
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
    return out;
  };
  const sockets = new Set<net.Socket>();
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => undefined);
    s.write('HELLO\n');
    let line = '';
    const onData = (c: Buffer): void => {
      line += c.toString();
      if (!line.includes('\n')) return;
      s.removeListener('data', onData);
      s.end(bytes(Number(line.trim())));
    };
    s.on('data', onData);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    expected: (n) => createHash('sha256').update(Buffer.concat([Buffer.from('HELLO\n'), bytes(n)])).digest('hex'),
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/**
 * A sink that reads slowly (as slowHash), and after the client's FIN answers `<sha256> <bytes>\n`
 * and ends: what a client sent through a tunnel, checked at the far end. `closed` counts
 * connections that have closed (a client abort must reach the origin).
 */
export async function startHashServer(): Promise<{ port: number; closed(): number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let closed = 0;
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    sockets.add(s);
    s.on('close', () => {
      sockets.delete(s);
      closed++;
    });
    s.on('error', () => undefined);
    void slowHash(s).then(({ sha256, bytes }) => {
      if (!s.destroyed) s.end(`${sha256} ${bytes}\n`);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    closed: () => closed,
    close: () => {
      for (const s of sockets) s.destroy();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

/** `<sha256> <bytes>\n` of a payload, as startHashServer answers it. */
export function hashLine(payload: Buffer): string {
  return `${createHash('sha256').update(payload).digest('hex')} ${payload.length}\n`;
}

/** Read a socket to its end slowly (pausing every few chunks), hashing what arrives. */
export function slowHash(socket: net.Socket): Promise<{ sha256: string; bytes: number }> {
  return new Promise((resolve) => {
    const hash = createHash('sha256');
    let bytes = 0;
    let chunks = 0;
    socket.on('data', (c: Buffer) => {
      hash.update(c);
      bytes += c.length;
      if (++chunks % 8 === 0) {
        // Stall long enough for the proxy's write buffer to fill and its reads to pause.
        socket.pause();
        setTimeout(() => socket.resume(), 2);
      }
    });
    socket.once('end', () => resolve({ sha256: hash.digest('hex'), bytes }));
    socket.resume();
  });
}

/**
 * A small allowlist matcher standing in for policy.isNetworkAllowed (written concurrently):
 * `*.x` matches x and names below it, otherwise exact; ports must be equal. It records every
 * query, so tests can check the proxy normalised the host before asking.
 */
export function allowlist(entries: string[]): { decide(host: string, port: number): NetworkDecision; calls: string[] } {
  const calls: string[] = [];
  const parsed = entries.map((e) => {
    const i = e.lastIndexOf(':');
    return { entry: e, domain: e.slice(0, i), port: Number(e.slice(i + 1)) };
  });
  return {
    calls,
    decide(host, port) {
      calls.push(`${host}:${port}`);
      for (const { entry, domain, port: p } of parsed) {
        if (p !== port) continue;
        const ok = domain.startsWith('*.') ? host === domain.slice(2) || host.endsWith(domain.slice(1)) : host === domain;
        if (ok) return { allowed: true, rule: entry };
      }
      return { allowed: false, rule: `no allowlist entry matches ${host}:${port}` };
    },
  };
}

/** Resolver mapping the test names to 127.0.0.1, recording what it was asked. */
export function testResolver(): { resolve(host: string): Promise<string[]>; asked: string[] } {
  const asked: string[] = [];
  const names = new Set(['allowed.test', 'api.allowed.test', 'denied.test', 'other.test']);
  return {
    asked,
    resolve: async (host) => {
      asked.push(host);
      if (names.has(host)) return ['127.0.0.1'];
      throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${host}`), { code: 'ENOTFOUND' });
    },
  };
}

/** Run curl asynchronously (the proxy lives in this process) with a clean environment. */
export function curl(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('curl', ['-sS', '--max-time', '10', ...args], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env } }, (err, stdout, stderr) => {
      resolve({ code: err ? Number((err as NodeJS.ErrnoException).code ?? 1) : 0, stdout, stderr });
    });
  });
}

/** Whether a curl binary is available. */
export function haveCurl(): Promise<boolean> {
  return new Promise((resolve) => {
    const p = spawn('curl', ['--version'], { stdio: 'ignore' });
    p.on('error', () => resolve(false));
    p.on('close', (code) => resolve(code === 0));
  });
}

/** Read from a socket until `\r\n\r\n`; returns the head and any bytes after it. */
export function readHead(socket: net.Socket): Promise<{ head: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      const i = buf.indexOf('\r\n\r\n');
      if (i === -1) return;
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      socket.pause();
      resolve({ head: buf.subarray(0, i).toString(), rest: buf.subarray(i + 4) });
    };
    const onClose = (): void => reject(new Error(`closed before a response head (got ${JSON.stringify(buf.toString())})`));
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.on('error', () => undefined);
    // An earlier read paused the socket; a new 'data' listener alone does not restart it.
    socket.resume();
  });
}

/** Read everything until the peer ends. */
export function readAll(socket: net.Socket, initial: Buffer = Buffer.alloc(0)): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks = [initial];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.once('end', () => resolve(Buffer.concat(chunks)));
    socket.once('close', () => resolve(Buffer.concat(chunks)));
    socket.resume();
  });
}

/** Connect to a proxy port (TCP or Unix path). */
export function dialProxy(where: number | string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = typeof where === 'number' ? net.connect({ host: '127.0.0.1', port: where, allowHalfOpen: true }) : net.connect({ path: where, allowHalfOpen: true });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Send `CONNECT authority`; returns the status, the head and either the tunnel socket (200) or the body. */
export async function httpConnect(where: number | string, authority: string): Promise<{ status: number; head: string; body: string; socket: net.Socket }> {
  const socket = await dialProxy(where);
  socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n\r\n`);
  const { head, rest } = await readHead(socket);
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  if (status === 200) {
    if (rest.length > 0) socket.unshift(rest);
    return { status, head, body: '', socket };
  }
  const body = (await readAll(socket, rest)).toString();
  return { status, head, body, socket };
}

/** SOCKS5 CONNECT by name (ATYP 3) or IPv4 (ATYP 1); returns the reply code and the socket. */
export async function socks5Connect(where: number | string, host: string, port: number, opts: { cmd?: number; methods?: number[] } = {}): Promise<{ method: number; reply: number; socket: net.Socket }> {
  const socket = await dialProxy(where);
  const methods = opts.methods ?? [0x00];
  socket.write(Buffer.from([0x05, methods.length, ...methods]));
  const greeting = await readBytes(socket, 2);
  if (greeting[1] !== 0x00) return { method: greeting[1] ?? -1, reply: -1, socket };
  let addr: Buffer;
  if (net.isIPv4(host)) addr = Buffer.from([0x01, ...host.split('.').map(Number)]);
  else addr = Buffer.concat([Buffer.from([0x03, Buffer.byteLength(host)]), Buffer.from(host)]);
  const portBuf = Buffer.alloc(2);
  portBuf.writeUInt16BE(port);
  socket.write(Buffer.concat([Buffer.from([0x05, opts.cmd ?? 0x01, 0x00]), addr, portBuf]));
  const reply = await readBytes(socket, 10);
  return { method: 0, reply: reply[1] ?? -1, socket };
}

/** Read exactly n bytes (or fail when the socket closes first). */
export function readBytes(socket: net.Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < n) return;
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      socket.pause();
      if (buf.length > n) socket.unshift(buf.subarray(n));
      resolve(buf.subarray(0, n));
    };
    const onClose = (): void => reject(new Error(`closed after ${buf.length} of ${n} bytes`));
    socket.on('data', onData);
    socket.once('close', onClose);
    socket.on('error', () => undefined);
    // An earlier read paused the socket; a new 'data' listener alone does not restart it.
    socket.resume();
  });
}

/** Write `payload` into a tunnel, half-close, and collect what comes back until the far end ends. */
export async function echoThrough(socket: net.Socket, payload: Buffer): Promise<Buffer> {
  const back = readAll(socket);
  socket.end(payload);
  return back;
}

// The child creates a listening socket and sends the raw handle over the IPC channel
// (SCM_RIGHTS), as the spawn engine's pre-exec child will hand over sockets created inside a
// network namespace. It exits without closing (closing a Unix listener would unlink its path).
const FD_CHILD = `
const net = require('node:net');
const [kind, path] = process.argv.slice(1);
const server = net.createServer();
server.listen(kind === 'tcp' ? { host: '127.0.0.1', port: 0 } : { path }, () => {
  process.send({ address: server.address() }, server._handle, () => process.exit(0));
});
`;

/**
 * A listening socket fd created by another process and received over IPC. Node wraps the
 * received fd in an inert handle (never started, so it is no active resource); the proxy
 * adopts the fd number and closes it on detach, and the inert wrapper must then never be
 * closed (it would close a reused number) — it only goes away with the test process.
 */
export function listeningFdFromChild(kind: 'tcp' | 'unix', path = ''): Promise<{ fd: number; port?: number; path?: string; keep: unknown }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', FD_CHILD, kind, path], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    child.once('error', reject);
    child.once('message', (msg: { address: net.AddressInfo | string }, handle: unknown) => {
      const fd = (handle as { fd?: number } | undefined)?.fd;
      if (typeof fd !== 'number' || fd < 0) return reject(new Error('no fd received'));
      const address = msg.address;
      resolve({ fd, keep: handle, ...(typeof address === 'string' ? { path: address } : { port: address.port }) });
    });
  });
}

/**
 * A DNS server on 127.0.0.1 (UDP) answering A and AAAA queries from `answers` (name → addresses;
 * unknown names get NXDOMAIN), or never answering at all when `silent`. Counts the queries.
 */
export async function startDnsServer(
  answers: (name: string) => string[] | undefined,
  options: { silent?: boolean } = {},
): Promise<{ server: string; queries: string[]; close(): Promise<void> }> {
  const dgram = await import('node:dgram');
  const socket = dgram.createSocket('udp4');
  const queries: string[] = [];
  socket.on('message', (msg, rinfo) => {
    if (msg.length < 12) return;
    let offset = 12;
    const labels: string[] = [];
    while (offset < msg.length && msg[offset] !== 0) {
      const len = msg[offset]!;
      labels.push(msg.subarray(offset + 1, offset + 1 + len).toString('latin1'));
      offset += 1 + len;
    }
    offset += 1;
    const qtype = msg.readUInt16BE(offset);
    const questionEnd = offset + 4;
    const name = labels.join('.').toLowerCase();
    queries.push(name);
    if (options.silent) return;
    const found = answers(name);
    const wanted = (found ?? []).filter((a) => (qtype === 1 ? net.isIPv4(a) : qtype === 28 ? net.isIPv6(a) : false));
    const header = Buffer.alloc(12);
    msg.copy(header, 0, 0, 2);
    header.writeUInt16BE(found === undefined ? 0x8183 : 0x8180, 2);
    header.writeUInt16BE(1, 4);
    header.writeUInt16BE(wanted.length, 6);
    const records = wanted.map((address) => {
      const bytes = ipBytes(address) ?? new Uint8Array();
      // ipBytes folds IPv4-mapped IPv6 to 4 bytes; an AAAA record carries all 16.
      const rdata = qtype === 28 && bytes.length === 4 ? Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...bytes]) : Buffer.from(bytes);
      const rr = Buffer.alloc(12);
      rr.writeUInt16BE(0xc00c, 0);
      rr.writeUInt16BE(qtype, 2);
      rr.writeUInt16BE(1, 4);
      rr.writeUInt32BE(60, 6);
      rr.writeUInt16BE(rdata.length, 10);
      return Buffer.concat([rr, rdata]);
    });
    socket.send(Buffer.concat([header, msg.subarray(12, questionEnd), ...records]), rinfo.port, rinfo.address);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  return {
    server: `127.0.0.1:${socket.address().port}`,
    queries,
    close: () => new Promise((r) => socket.close(() => r())),
  };
}
