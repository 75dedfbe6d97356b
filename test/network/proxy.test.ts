// Egress proxy: HTTP forward, CONNECT and SOCKS5 through one port, decided by an allowlist,
// with events, DNS pinning, listener scopes, the shared-proxy registry and leak-free close.
// Loopback only: origin servers on 127.0.0.1 and an injected resolver mapping the test names
// there; nothing leaves the machine. Every denial has its allowed control beside it.
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { acquireProxy, EgressProxy, normalizeHost, sharedProxyRefs, SocksReply, type NetworkEvent } from '../../src/proxy/index.js';
import {
  allowlist,
  curl,
  dialProxy,
  echoThrough,
  haveCurl,
  httpConnect,
  listeningFdFromChild,
  hashLine,
  readAll,
  readBytes,
  readHead,
  slowHash,
  socks5Connect,
  startBannerServer,
  startEchoServer,
  startHashServer,
  startHttpOrigin,
  testResolver,
  startDnsServer,
} from './helpers-proxy.js';

let origin: Awaited<ReturnType<typeof startHttpOrigin>>;
let echo: Awaited<ReturnType<typeof startEchoServer>>;
let proxy: EgressProxy;
let rules: ReturnType<typeof allowlist>;
let resolver: ReturnType<typeof testResolver>;
const events: NetworkEvent[] = [];
let curlOk = false;
let HTTP = 0;
let TCP = 0;

beforeAll(async () => {
  curlOk = await haveCurl();
  origin = await startHttpOrigin();
  echo = await startEchoServer();
  HTTP = origin.port;
  TCP = echo.port;
  rules = allowlist([`*.allowed.test:${HTTP}`, `allowed.test:${TCP}`, `127.0.0.1:${TCP}`]);
  resolver = testResolver();
  proxy = await EgressProxy.start({ decide: rules.decide, resolve: resolver.resolve });
  proxy.on('network', (e: NetworkEvent) => events.push(e));
});

afterAll(async () => {
  await proxy?.close();
  await origin?.close();
  await echo?.close();
});

/** The events emitted while `fn` ran. */
async function eventsOf(fn: () => Promise<unknown>): Promise<NetworkEvent[]> {
  const start = events.length;
  await fn();
  return events.slice(start);
}

const px = (): string => `http://127.0.0.1:${proxy.port}`;

describe('curl through the proxy', () => {
  it('HTTP forward: an allowed name gets the origin, a denied one a 403 naming the rule and an event', async (ctx) => {
    if (!curlOk) ctx.skip();
    let r!: Awaited<ReturnType<typeof curl>>;
    const okEvents = await eventsOf(async () => (r = await curl(['-x', px(), `http://api.allowed.test:${HTTP}/a?b=1`])));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`host=api.allowed.test:${HTTP} url=/a?b=1 body=\n`);
    expect(okEvents).toEqual([{ host: 'api.allowed.test', port: HTTP, allowed: true, via: 'http', reason: `*.allowed.test:${HTTP}` }]);

    const denied = await eventsOf(async () => (r = await curl(['-x', px(), '-w', '%{http_code}', `http://denied.test:${HTTP}/a`])));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`cordon egress proxy: network access to denied.test:${HTTP} denied: no allowlist entry matches denied.test:${HTTP}\n403`);
    expect(denied).toEqual([{ host: 'denied.test', port: HTTP, allowed: false, via: 'http', reason: `no allowlist entry matches denied.test:${HTTP}` }]);
  });

  it('CONNECT (--proxytunnel): allowed tunnels, denied fails with 403 (curl exit 56)', async (ctx) => {
    if (!curlOk) ctx.skip();
    let r!: Awaited<ReturnType<typeof curl>>;
    const ok = await eventsOf(async () => (r = await curl(['-p', '-x', px(), `http://allowed.test:${HTTP}/tunnel`])));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`host=allowed.test:${HTTP} url=/tunnel body=\n`);
    expect(ok).toEqual([{ host: 'allowed.test', port: HTTP, allowed: true, via: 'connect', reason: `*.allowed.test:${HTTP}` }]);

    const denied = await eventsOf(async () => (r = await curl(['-p', '-x', px(), `http://denied.test:${HTTP}/tunnel`])));
    expect(r.code).toBe(56);
    expect(r.stderr).toContain('CONNECT tunnel failed, response 403');
    expect(denied).toMatchObject([{ host: 'denied.test', port: HTTP, allowed: false, via: 'connect' }]);
  });

  it('SOCKS5 (--socks5-hostname): allowed works, denied is refused with reply 2 (curl exit 97)', async (ctx) => {
    if (!curlOk) ctx.skip();
    let r!: Awaited<ReturnType<typeof curl>>;
    const ok = await eventsOf(async () => (r = await curl(['--socks5-hostname', `127.0.0.1:${proxy.port}`, `http://api.allowed.test:${HTTP}/s`])));
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`host=api.allowed.test:${HTTP} url=/s body=\n`);
    expect(ok).toMatchObject([{ host: 'api.allowed.test', allowed: true, via: 'socks5' }]);

    const denied = await eventsOf(async () => (r = await curl(['--socks5-hostname', `127.0.0.1:${proxy.port}`, `http://denied.test:${HTTP}/s`])));
    expect(r.code).toBe(97);
    expect(r.stderr).toMatch(/SOCKS5.*\(2\)/);
    expect(denied).toMatchObject([{ host: 'denied.test', allowed: false, via: 'socks5' }]);
  });

  it('proxyEnv() alone steers curl: http_proxy for http://, ALL_PROXY (socks5h) when only that is set', async (ctx) => {
    if (!curlOk) ctx.skip();
    const env = proxy.proxyEnv();
    for (const k of ['HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY', 'NO_PROXY']) {
      expect(env[k]).toBeDefined();
      expect(env[k.toLowerCase()]).toBe(env[k]);
    }
    expect(env.http_proxy).toBe(`http://127.0.0.1:${proxy.port}`);
    expect(env.ALL_PROXY).toBe(`socks5h://127.0.0.1:${proxy.port}`);
    expect(env.NO_PROXY).toBe('localhost,127.0.0.1,::1');
    expect(proxy.proxyEnv({ host: '::1', port: 3128 }).HTTPS_PROXY).toBe('http://[::1]:3128');

    let r!: Awaited<ReturnType<typeof curl>>;
    const viaHttp = await eventsOf(async () => (r = await curl([`http://allowed.test:${HTTP}/env`], env)));
    expect(r.stdout).toBe(`host=allowed.test:${HTTP} url=/env body=\n`);
    expect(viaHttp).toMatchObject([{ host: 'allowed.test', via: 'http', allowed: true }]);

    const viaSocks = await eventsOf(async () => (r = await curl([`http://allowed.test:${HTTP}/all`], { ALL_PROXY: env.ALL_PROXY ?? '' })));
    expect(r.stdout).toBe(`host=allowed.test:${HTTP} url=/all body=\n`);
    expect(viaSocks).toMatchObject([{ host: 'allowed.test', via: 'socks5', allowed: true }]);

    // Control: without the variables curl would try the (unresolvable) name itself.
    const direct = await curl([`http://allowed.test:${HTTP}/`]);
    expect(direct.code).toBe(6);
  });
});

describe('node clients through the proxy', () => {
  /** GET/POST through the proxy with node's http.request (absolute-form target). */
  function nodeRequest(url: string, opts: { method?: string; body?: string; headers?: Record<string, string> } = {}): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: proxy.port, method: opts.method ?? 'GET', path: url, headers: opts.headers ?? {} }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.end(opts.body);
    });
  }

  it('http.request forward: GET and chunked POST reach the origin; a denied name gets 403', async () => {
    const get = await nodeRequest(`http://api.allowed.test:${HTTP}/node`);
    expect(get).toEqual({ status: 200, body: `host=api.allowed.test:${HTTP} url=/node body=\n` });
    const post = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: proxy.port, method: 'POST', path: `http://allowed.test:${HTTP}/p` }, (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('error', reject);
      req.write('chunk1-'); // no Content-Length: Transfer-Encoding: chunked, re-framed upstream
      req.end('chunk2');
    });
    expect(post).toEqual({ status: 200, body: `host=allowed.test:${HTTP} url=/p body=chunk1-chunk2\n` });
    const denied = await nodeRequest(`http://denied.test:${HTTP}/node`);
    expect(denied.status).toBe(403);
    expect(denied.body).toContain(`no allowlist entry matches denied.test:${HTTP}`);
  });

  it('http.request CONNECT tunnel to a raw TCP echo server, with half-close in both directions', async () => {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: proxy.port, method: 'CONNECT', path: `allowed.test:${TCP}` });
      req.on('connect', (res, s: net.Socket) => (res.statusCode === 200 ? resolve(s) : reject(new Error(`status ${res.statusCode}`))));
      req.on('error', reject);
      req.end();
    });
    const payload = Buffer.alloc(3 * 1024 * 1024, 'x');
    // We end our side first; the echo server still sends everything back, then ends.
    const back = await echoThrough(socket, payload);
    expect(back.length).toBe(payload.length);
  });

  it('CONNECT denied: 403 with a body naming the rule; a bad authority is 400 and never decided', async () => {
    const denied = await httpConnect(proxy.port, `denied.test:${TCP}`);
    expect(denied.status).toBe(403);
    expect(denied.body).toBe(`cordon egress proxy: network access to denied.test:${TCP} denied: no allowlist entry matches denied.test:${TCP}\n`);
    const before = rules.calls.length;
    for (const bad of ['allowed.test', 'allowed.test:0', 'allowed.test:99999', '127.1:80', 'a..b:80', 'fe80::1:80']) {
      const r = await httpConnect(proxy.port, bad);
      expect(r.status, bad).toBe(400);
    }
    expect(rules.calls.length).toBe(before);
  });
});

describe('tunnel data path', () => {
  it('server-first bytes, backpressure against a slow reader, and integrity (CONNECT and SOCKS5)', async () => {
    const banner = await startBannerServer();
    const p = await EgressProxy.start({ decide: allowlist([`allowed.test:${banner.port}`]).decide, resolve: resolver.resolve });
    try {
      const n = 24 * 1024 * 1024;
      const viaConnect = await httpConnect(p.port, `allowed.test:${banner.port}`);
      expect(viaConnect.status).toBe(200);
      // Let the greeting reach the proxy before the client says anything.
      await new Promise((r) => setTimeout(r, 50));
      const got = slowHash(viaConnect.socket);
      viaConnect.socket.write(`${n}\n`);
      expect(await got).toEqual({ sha256: banner.expected(n), bytes: n + 6 });

      const viaSocks = await socks5Connect(p.port, 'allowed.test', banner.port);
      expect(viaSocks.reply).toBe(SocksReply.SUCCEEDED);
      const got2 = slowHash(viaSocks.socket);
      viaSocks.socket.write(`${n}\n`);
      expect(await got2).toEqual({ sha256: banner.expected(n), bytes: n + 6 });
    } finally {
      await p.close();
      await banner.close();
    }
  });
});

describe('tunnel data path, client → upstream', () => {
  // Admission waits on this resolver for slow.test, so bytes can arrive while it is pending.
  const slowResolve = async (host: string): Promise<string[]> => {
    if (host === 'slow.test') await new Promise((r) => setTimeout(r, 100));
    return ['127.0.0.1'];
  };

  it('bytes behind the handshake and sent during admission go first, in order; backpressure against a slow origin (CONNECT and SOCKS5)', async () => {
    const sink = await startHashServer();
    const p = await EgressProxy.start({ decide: allowlist([`slow.test:${sink.port}`]).decide, resolve: slowResolve });
    try {
      const behind = randomBytes(1000);
      const during = randomBytes(3000);
      const bulk = randomBytes(16 * 1024 * 1024);
      const expected = hashLine(Buffer.concat([behind, during, bulk]));

      const c = await dialProxy(p.port);
      c.write(Buffer.concat([Buffer.from(`CONNECT slow.test:${sink.port} HTTP/1.1\r\nHost: slow.test:${sink.port}\r\n\r\n`), behind]));
      await new Promise((r) => setTimeout(r, 30)); // admission is still waiting on the resolver
      c.write(during);
      const { head, rest } = await readHead(c);
      expect(head).toMatch(/^HTTP\/1\.1 200/);
      expect(rest.length).toBe(0);
      const answerC = readAll(c);
      c.end(bulk);
      expect((await answerC).toString()).toBe(expected);

      const s = await dialProxy(p.port);
      const name = Buffer.from('slow.test');
      const port = Buffer.alloc(2);
      port.writeUInt16BE(sink.port);
      // A pipelining client: greeting, request and the first payload bytes in one write.
      s.write(Buffer.concat([Buffer.from([5, 1, 0, 5, 1, 0, 3, name.length]), name, port, behind]));
      await new Promise((r) => setTimeout(r, 30));
      s.write(during);
      const replies = await readBytes(s, 12);
      expect([replies[0], replies[1], replies[2], replies[3]]).toEqual([5, 0, 5, SocksReply.SUCCEEDED]);
      const answerS = readAll(s);
      s.end(bulk);
      expect((await answerS).toString()).toBe(expected);
    } finally {
      await p.close();
      await sink.close();
    }
  });

  it('concurrent tunnels both ways with pooled relay buffers: no bytes cross between tunnels, also after reuse', async () => {
    const p = await EgressProxy.start({ decide: rules.decide, resolve: resolver.resolve });
    try {
      for (let batch = 0; batch < 2; batch++) {
        const payloads = Array.from({ length: 8 }, () => randomBytes(2 * 1024 * 1024));
        const echoed = await Promise.all(
          payloads.map(async (payload, i) => {
            const socket =
              i % 2 === 0 ? (await httpConnect(p.port, `allowed.test:${TCP}`)).socket : (await socks5Connect(p.port, 'allowed.test', TCP)).socket;
            return echoThrough(socket, payload);
          }),
        );
        echoed.forEach((back, i) => expect(back.equals(payloads[i] as Buffer), `batch ${batch} tunnel ${i}`).toBe(true));
      }
    } finally {
      await p.close();
    }
  });

  it('a client that aborts mid-upload takes the upstream connection down with it; a finished one does not linger', async () => {
    const sink = await startHashServer();
    const p = await EgressProxy.start({ decide: allowlist([`allowed.test:${sink.port}`]).decide, resolve: resolver.resolve });
    try {
      // Control: a complete upload is answered, and both legs close afterwards.
      const ok = await httpConnect(p.port, `allowed.test:${sink.port}`);
      const payload = randomBytes(1024 * 1024);
      expect((await echoThrough(ok.socket, payload)).toString()).toBe(hashLine(payload));
      await expect.poll(() => sink.closed(), { timeout: 5000 }).toBe(1);

      const aborted = await httpConnect(p.port, `allowed.test:${sink.port}`);
      aborted.socket.write(randomBytes(4 * 1024 * 1024));
      await new Promise((r) => setTimeout(r, 50));
      aborted.socket.resetAndDestroy();
      await expect.poll(() => sink.closed(), { timeout: 5000 }).toBe(2);
    } finally {
      await p.close();
      await sink.close();
    }
  });
});

describe('forwarded Upgrade (ws:// through an HTTP proxy)', () => {
  it('relays the Upgrade head with Host rewritten, then splices; a denied name gets 403', async () => {
    const up = http.createServer((_req, res) => res.end());
    up.on('upgrade', (req, socket: net.Socket) => {
      socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\nX-Seen-Host: ${req.headers.host}\r\n\r\n`);
      socket.pipe(socket);
    });
    await new Promise<void>((r) => up.listen(0, '127.0.0.1', r));
    const port = (up.address() as net.AddressInfo).port;
    const p = await EgressProxy.start({ decide: allowlist([`allowed.test:${port}`]).decide, resolve: resolver.resolve });
    try {
      const sock = await dialProxy(p.port);
      sock.write(`GET http://allowed.test:${port}/ws HTTP/1.1\r\nHost: evil.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\nProxy-Connection: keep-alive\r\n\r\n`);
      const head = await new Promise<string>((resolve) => {
        let b = '';
        const on = (c: Buffer): void => {
          b += c.toString();
          if (!b.includes('\r\n\r\n')) return;
          sock.removeListener('data', on);
          resolve(b);
        };
        sock.on('data', on);
      });
      expect(head).toMatch(/^HTTP\/1\.1 101/);
      expect(head).toContain(`X-Seen-Host: allowed.test:${port}`);
      expect((await echoThrough(sock, Buffer.from('frames'))).toString()).toBe('frames');
      const denied = await dialProxy(p.port);
      denied.end(`GET http://denied.test:${port}/ws HTTP/1.1\r\nHost: denied.test\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n`);
      expect((await readAll(denied)).toString()).toMatch(/^HTTP\/1\.1 403[\s\S]*no allowlist entry matches denied\.test/);
    } finally {
      await p.close();
      up.closeAllConnections();
      await new Promise((r) => up.close(r));
    }
  });
});

describe('allowlist semantics at the proxy', () => {
  it('wildcards: *.allowed.test covers api.allowed.test and allowed.test itself, not evilallowed.test', async () => {
    for (const host of ['allowed.test', 'api.allowed.test']) expect((await httpConnect(proxy.port, `${host}:${HTTP}`)).status).toBe(200);
    expect((await httpConnect(proxy.port, `evilallowed.test:${HTTP}`)).status).toBe(403);
  });

  it('ports must match: allowed.test is listed for the echo port, api.allowed.test is not', async () => {
    const ok = await httpConnect(proxy.port, `allowed.test:${TCP}`);
    expect(ok.status).toBe(200);
    expect((await echoThrough(ok.socket, Buffer.from('ping'))).toString()).toBe('ping');
    const wrongPort = await httpConnect(proxy.port, `api.allowed.test:${TCP}`);
    expect(wrongPort.status).toBe(403);
    expect(wrongPort.body).toContain(`api.allowed.test:${TCP}`);
    const socks = await socks5Connect(proxy.port, 'api.allowed.test', TCP);
    expect(socks.reply).toBe(SocksReply.NOT_ALLOWED);
    const socksOk = await socks5Connect(proxy.port, 'allowed.test', TCP);
    expect(socksOk.reply).toBe(SocksReply.SUCCEEDED);
    expect((await echoThrough(socksOk.socket, Buffer.from('pong'))).toString()).toBe('pong');
  });

  it('case and one trailing dot are normalised before decide() (HTTP, CONNECT, SOCKS)', async (ctx) => {
    const start = rules.calls.length;
    expect((await httpConnect(proxy.port, `API.Allowed.TEST.:${HTTP}`)).status).toBe(200);
    expect((await socks5Connect(proxy.port, 'Allowed.Test.', TCP)).reply).toBe(SocksReply.SUCCEEDED);
    expect((await httpConnect(proxy.port, `allowed.test..:${HTTP}`)).status).toBe(400); // two dots: not a name
    expect(rules.calls.slice(start)).toEqual([`api.allowed.test:${HTTP}`, `allowed.test:${TCP}`]);
    if (!curlOk) ctx.skip();
    const r = await curl(['-x', px(), `http://API.ALLOWED.test.:${HTTP}/case`]);
    // Decided as api.allowed.test; the Host header keeps the client's (lower-cased) spelling.
    expect(r.stdout).toBe(`host=api.allowed.test.:${HTTP} url=/case body=\n`);
    expect(rules.calls.at(-1)).toBe(`api.allowed.test:${HTTP}`);
    expect(normalizeHost('[::FFFF:127.0.0.1]')).toBe('::ffff:7f00:1');
  });

  it('IP literals are decided as the literal: listed 127.0.0.1:<echo> passes, 127.0.0.1:<http> and ::1 do not', async () => {
    const start = rules.calls.length;
    expect((await httpConnect(proxy.port, `127.0.0.1:${TCP}`)).status).toBe(200);
    expect((await socks5Connect(proxy.port, '127.0.0.1', TCP)).reply).toBe(SocksReply.SUCCEEDED);
    expect((await httpConnect(proxy.port, `127.0.0.1:${HTTP}`)).status).toBe(403);
    expect((await socks5Connect(proxy.port, '127.0.0.1', HTTP)).reply).toBe(SocksReply.NOT_ALLOWED);
    expect((await httpConnect(proxy.port, `[::1]:${TCP}`)).status).toBe(403);
    expect(rules.calls.slice(start)).toEqual([`127.0.0.1:${TCP}`, `127.0.0.1:${TCP}`, `127.0.0.1:${HTTP}`, `127.0.0.1:${HTTP}`, `::1:${TCP}`]);
  });
});

describe('DNS: the proxy resolves, the client only names', () => {
  it('denied names are never resolved; allowed names are resolved in normalised form', async () => {
    const start = resolver.asked.length;
    await httpConnect(proxy.port, `denied.test:${HTTP}`);
    await httpConnect(proxy.port, `Allowed.Test:${HTTP}`);
    expect(resolver.asked.slice(start)).toEqual(['allowed.test']);
  });

  it('the request target decides, not the Host header, and Host is rewritten to the target', async () => {
    const viaAllowed = await new Promise<string>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: proxy.port, path: `http://allowed.test:${HTTP}/h`, headers: { Host: 'denied.test' } }, (res) => {
        let b = '';
        res.on('data', (c: Buffer) => (b += c.toString()));
        res.on('end', () => resolve(b));
      });
      req.on('error', reject);
      req.end();
    });
    expect(viaAllowed).toBe(`host=allowed.test:${HTTP} url=/h body=\n`);
    const viaDenied = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: proxy.port, path: `http://denied.test:${HTTP}/h`, headers: { Host: `allowed.test:${HTTP}` } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });
    expect(viaDenied).toBe(403);
  });

  it('an origin-form request (proxy used as a server) is 400, not forwarded to the Host header', async () => {
    const sock = await dialProxy(proxy.port);
    sock.end(`GET /x HTTP/1.1\r\nHost: allowed.test:${HTTP}\r\nConnection: close\r\n\r\n`);
    const text = (await readAll(sock)).toString();
    expect(text).toMatch(/^HTTP\/1\.1 400/);
    expect(text).toContain('expected an absolute-form request target');
  });

  it('resolver answers that are not addresses, or point at the proxy itself, are refused', async () => {
    const loops: NetworkEvent[] = [];
    const p = await EgressProxy.start({ decide: () => ({ allowed: true, rule: 'everything' }), resolve: async (h) => (h === 'name.test' ? ['allowed.test'] : ['127.0.0.1']) });
    p.on('network', (e: NetworkEvent) => loops.push(e));
    try {
      const name = await httpConnect(p.port, 'name.test:80');
      expect(name.status).toBe(403);
      expect(name.body).toContain('allowed.test (not an IP address)');
      const self = await httpConnect(p.port, `allowed.test:${p.port}`);
      expect(self.status).toBe(403);
      expect(self.body).toContain('(the proxy itself)');
      // Control: the same proxy reaches the echo server.
      expect((await httpConnect(p.port, `allowed.test:${TCP}`)).status).toBe(200);
      expect(loops.map((e) => e.allowed)).toEqual([false, false, true]);
    } finally {
      await p.close();
    }
  });

  it('with the built-in resolver, an allowed name resolving to loopback is refused unless allowLocalDestinations; localhost itself is the loopback', async () => {
    const dns = await startDnsServer((name) => (name === 'loop.allowed.test' ? ['127.0.0.1'] : undefined));
    const decide = allowlist([`loop.allowed.test:${HTTP}`, `localhost:${HTTP}`]).decide;
    const strict = await EgressProxy.start({ decide, dnsServers: [dns.server] });
    const lax = await EgressProxy.start({ decide, dnsServers: [dns.server], allowLocalDestinations: true });
    try {
      const refused = await httpConnect(strict.port, `loop.allowed.test:${HTTP}`);
      expect(refused.status).toBe(403);
      expect(refused.body).toMatch(/loop.allowed.test resolves only to refused addresses: 127.0.0.1 \(loopback\)/);
      // Controls: the same name with local destinations allowed, and an entry naming localhost.
      expect((await httpConnect(lax.port, `loop.allowed.test:${HTTP}`)).status).toBe(200);
      expect((await httpConnect(strict.port, `localhost:${HTTP}`)).status).toBe(200);
      expect(dns.queries).not.toContain('localhost');
    } finally {
      await strict.close();
      await lax.close();
      await dns.close();
    }
  });

  it('a decide() that throws fails closed', async () => {
    const p = await EgressProxy.start({
      decide: () => {
        throw new Error('policy exploded');
      },
      resolve: resolver.resolve,
    });
    p.on('error', () => undefined);
    try {
      const r = await httpConnect(p.port, `allowed.test:${TCP}`);
      expect(r.status).toBe(403);
      expect(r.body).toContain('policy exploded');
    } finally {
      await p.close();
    }
  });
});

describe('SOCKS5 protocol edges', () => {
  it('no acceptable auth method → 0xFF; BIND → command not supported; CONNECT control succeeds', async () => {
    expect((await socks5Connect(proxy.port, 'allowed.test', TCP, { methods: [0x02] })).method).toBe(0xff);
    expect((await socks5Connect(proxy.port, 'allowed.test', TCP, { cmd: 0x02 })).reply).toBe(SocksReply.COMMAND_NOT_SUPPORTED);
    expect((await socks5Connect(proxy.port, 'allowed.test', TCP)).reply).toBe(SocksReply.SUCCEEDED);
  });

  it('an unresolvable allowed name → host unreachable', async () => {
    const p = await EgressProxy.start({ decide: () => ({ allowed: true }), resolve: resolver.resolve });
    try {
      expect((await socks5Connect(p.port, 'nowhere.test', 80)).reply).toBe(SocksReply.HOST_UNREACHABLE);
      expect((await httpConnect(p.port, 'nowhere.test:80')).status).toBe(502);
    } finally {
      await p.close();
    }
  });
});

describe('listeners and attribution', () => {
  it('attachListener(fd) serves a TCP listening socket created in another process, with its own scope', async () => {
    const { fd, port } = await listeningFdFromChild('tcp');
    const mine: NetworkEvent[] = [];
    const detach = proxy.attachListener(fd, { decide: allowlist([`api.allowed.test:${HTTP}`]).decide, onEvent: (e) => mine.push(e) });
    const all = await eventsOf(async () => {
      expect((await httpConnect(port!, `api.allowed.test:${HTTP}`)).status).toBe(200);
      // allowed.test is allowed on the proxy's own port, but not by this listener's scope.
      expect((await httpConnect(port!, `allowed.test:${HTTP}`)).status).toBe(403);
      expect((await socks5Connect(port!, 'api.allowed.test', HTTP)).reply).toBe(SocksReply.SUCCEEDED);
    });
    expect(mine.map((e) => `${e.host}:${e.allowed}:${e.via}`)).toEqual(['api.allowed.test:true:connect', 'allowed.test:false:connect', 'api.allowed.test:true:socks5']);
    expect(all).toEqual(mine); // the proxy-wide 'network' event sees them too
    detach();
    detach();
    // The listening handle closes asynchronously: on a loaded machine it can take longer than a
    // fixed pause, so dial until refused (bounded), then assert the refusal.
    for (let attempt = 0; attempt < 100; attempt++) {
      const refused = await dialProxy(port!).then((s) => (s.destroy(), false), () => true);
      if (refused) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    await expect(dialProxy(port!)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
  });

  it('attachListener(fd) also serves a Unix-socket listener (the bridge-free netns handoff works with either)', async () => {
    const path = join(tmpdir(), `cordon-proxy-${process.pid}-${Date.now()}.sock`);
    const { fd } = await listeningFdFromChild('unix', path);
    const detach = proxy.attachListener(fd);
    try {
      expect((await httpConnect(path, `allowed.test:${HTTP}`)).status).toBe(200);
      const socks = await socks5Connect(path, 'allowed.test', TCP);
      expect(socks.reply).toBe(SocksReply.SUCCEEDED);
      expect((await echoThrough(socks.socket, Buffer.from('unix'))).toString()).toBe('unix');
      expect((await httpConnect(path, `denied.test:${HTTP}`)).status).toBe(403);
    } finally {
      detach();
    }
  });

  it('openListener gives a per-sandbox port with its own decide and event target', async () => {
    const mine: NetworkEvent[] = [];
    const l = await proxy.openListener({ decide: () => ({ allowed: false, rule: 'sandbox B has no network' }), onEvent: (e) => mine.push(e) });
    try {
      const r = await httpConnect(l.port, `allowed.test:${HTTP}`);
      expect(r.status).toBe(403);
      expect(r.body).toContain('sandbox B has no network');
      expect(mine).toEqual([{ host: 'allowed.test', port: HTTP, allowed: false, via: 'connect', reason: 'sandbox B has no network' }]);
      expect((await httpConnect(proxy.port, `allowed.test:${HTTP}`)).status).toBe(200); // control: the main port's policy
      expect(proxy.proxyEnv(l).HTTP_PROXY).toBe(`http://127.0.0.1:${l.port}`);
    } finally {
      l.detach();
    }
  });
});

describe('lifecycle', () => {
  it('acquireProxy shares one proxy per key and the last release closes it', async () => {
    const opts = { decide: rules.decide, resolve: resolver.resolve };
    const [a, b] = await Promise.all([acquireProxy('proxy-test', opts), acquireProxy('proxy-test', opts)]);
    const other = await acquireProxy('proxy-test-2', opts);
    expect(a.proxy).toBe(b.proxy);
    expect(other.proxy).not.toBe(a.proxy);
    expect(sharedProxyRefs()['proxy-test']).toBe(2);
    await a.release();
    await a.release(); // idempotent: must not drop b's reference
    expect((await httpConnect(b.proxy.port, `allowed.test:${HTTP}`)).status).toBe(200);
    await b.release();
    expect(b.proxy.closed).toBe(true);
    await expect(dialProxy(b.proxy.port)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const again = await acquireProxy('proxy-test', opts);
    expect(again.proxy).not.toBe(a.proxy);
    await again.release();
    await other.release();
    expect(sharedProxyRefs()).toEqual({});
  });

  it('close() with an open tunnel destroys it and leaves no handles behind', async () => {
    const tcpHandles = (): string[] => process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP')).sort();
    const baseline = tcpHandles();
    const p = await EgressProxy.start({ decide: rules.decide, resolve: resolver.resolve });
    const tunnel = await httpConnect(p.port, `allowed.test:${TCP}`);
    expect(tunnel.status).toBe(200);
    const socks = await socks5Connect(p.port, 'allowed.test', TCP);
    const idle = await dialProxy(p.port); // mid-handshake: nothing sent yet
    // The clients allow half-open, so they see 'end' (or a reset) and then close themselves.
    const clients = [tunnel.socket, socks.socket, idle];
    const closed = Promise.all(
      clients.map(
        (s) =>
          new Promise((r) => {
            if (s.closed) return r(null);
            s.once('close', r);
            s.once('end', () => s.destroy());
          }),
      ),
    );
    tunnel.socket.resume();
    socks.socket.resume();
    idle.resume();
    expect(tcpHandles().length).toBeGreaterThan(baseline.length);
    await p.close();
    await closed; // the clients saw their connections end
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(tcpHandles()).toEqual(baseline);
    expect(() => p.attachListener(0)).toThrow(/closed/);
    await p.close(); // idempotent
  });
});

describe('keep-alive request heads', () => {
  it('the next request head on a keep-alive connection has the handshake deadline too (control: a prompt second request is answered)', async () => {
    const origin = await startHttpOrigin();
    const p = await EgressProxy.start({ decide: () => ({ allowed: true, rule: 'all' }), resolve: async () => ['127.0.0.1'], handshakeTimeoutMs: 300 });
    try {
      const socket = net.connect(p.port, '127.0.0.1');
      await new Promise((r) => socket.once('connect', r));
      let text = '';
      socket.on('data', (d: Buffer) => (text += d));
      const closed = new Promise((r) => socket.once('close', r));
      const request = `GET http://a.test:${origin.port}/ HTTP/1.1\r\nHost: a.test:${origin.port}\r\n\r\n`;
      socket.write(request);
      await new Promise((r) => setTimeout(r, 150));
      socket.write(request); // prompt: answered
      await new Promise((r) => setTimeout(r, 150));
      expect(text.split('HTTP/1.1 200').length - 1).toBe(2);
      socket.write('GET http://a.test/ HTTP/1.1\r\nHo'); // then drips nothing more
      const started = Date.now();
      await closed;
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      await p.close();
      await origin.close();
    }
  });
});
