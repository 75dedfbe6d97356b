// HTTP side of the egress proxy: absolute-form forward requests, CONNECT tunnels and
// forwarded Upgrade requests (ws:// through a forward proxy). Node's own http.Server parses the
// client side; the proxy core decides, resolves and connects.
//
// The destination is always the request target (the absolute URL or the CONNECT authority),
// never the Host header: forwarded requests get their Host header rewritten to the target
// (RFC 9112 §3.2.2), so a client cannot send a request for an allowed name to a server that
// believes it is serving another one.
import http from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream';
import { formatHostPort, parseAuthority } from './host.js';
import type { Admission, NetworkEvent, ProxyCore } from './types.js';

// Hop-by-hop headers (RFC 9110 §7.6.1) and the proxy's own credentials never travel on.
// Transfer-Encoding stays: Node re-frames chunked bodies when the header says chunked.
const HOP_BY_HOP = new Set(['connection', 'proxy-connection', 'keep-alive', 'proxy-authorization', 'proxy-authenticate', 'te', 'trailer', 'upgrade']);

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** Requests one client connection may have in flight at once (HTTP pipelining). */
const MAX_PIPELINED = 8;
const pipelined = new WeakMap<Socket, number>();

/** The internal http.Server that parses client connections handed over by the sniffer. */
export function createHttpFrontend(core: ProxyCore): http.Server {
  const server = http.createServer({ noDelay: true });
  server.on('request', (req, res) => {
    // Node parses pipelined requests as fast as they arrive, each with an upstream and a queued
    // response of its own: a client that pipelines more than a handful at once is cut off.
    const socket = req.socket;
    const inFlight = (pipelined.get(socket) ?? 0) + 1;
    pipelined.set(socket, inFlight);
    res.once('close', () => {
      const left = (pipelined.get(socket) ?? 1) - 1;
      pipelined.set(socket, left);
      // Keep-alive: the next request head has the same deadline as the first one had.
      if (left === 0 && !socket.destroyed) core.awaitHead(socket);
    });
    if (inFlight > MAX_PIPELINED) {
      socket.destroy();
      return;
    }
    void forward(core, req, res);
  });
  server.on('connect', (req, socket: Duplex, head: Buffer) => void connect(core, req, socket as Socket, head));
  server.on('upgrade', (req, socket: Duplex, head: Buffer) => void upgrade(core, req, socket as Socket, head));
  server.on('clientError', (_err, socket: Duplex) => {
    if (socket.writable) rawAnswer(socket as Socket, 400, 'cordon egress proxy: malformed HTTP request\n');
    else socket.destroy();
  });
  return server;
}

/** Plain-text error body, the same for forward answers and raw (CONNECT) answers. */
function body(message: string): string {
  return `cordon egress proxy: ${message}\n`;
}

/** Write a complete error response on a raw socket (CONNECT, Upgrade) and close it. */
function rawAnswer(socket: Socket, status: number, text: string): void {
  const payload = Buffer.from(text);
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Error'}\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${payload.length}\r\nConnection: close\r\n\r\n${text}`,
  );
}

/** Answer a forward request with an error; the client connection stays usable (keep-alive). */
function answer(res: http.ServerResponse, status: number, text: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Status and message for a failed dial. */
function dialFailure(err: unknown, target: string): { status: 502 | 503 | 504; message: string } {
  const code = (err as NodeJS.ErrnoException | undefined)?.code ?? 'EUNKNOWN';
  if (code === 'EMFILE') return { status: 503, message: body(`not connecting to ${target}: ${(err as Error).message}`) };
  if (code === 'ETIMEDOUT') return { status: 504, message: body(`connecting to ${target} timed out`) };
  return { status: 502, message: body(`cannot connect to ${target}: ${code}`) };
}

/** Headers for the next hop: hop-by-hop ones and those named by Connection dropped, Host set to the target. */
function nextHopHeaders(raw: string[], hostHeader: string | undefined, keepUpgrade: boolean): string[] {
  const named = new Set<string>();
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i]?.toLowerCase() === 'connection') for (const t of (raw[i + 1] ?? '').split(',')) named.add(t.trim().toLowerCase());
  }
  const out: string[] = hostHeader === undefined ? [] : ['Host', hostHeader];
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] ?? '';
    const lower = name.toLowerCase();
    if (hostHeader !== undefined && lower === 'host') continue;
    if (keepUpgrade && (lower === 'connection' || lower === 'upgrade')) {
      out.push(name, raw[i + 1] ?? '');
      continue;
    }
    if (HOP_BY_HOP.has(lower) || (named.has(lower) && lower !== 'transfer-encoding')) continue;
    out.push(name, raw[i + 1] ?? '');
  }
  return out;
}

/** Parse an absolute-form http:// request target; a string when it is not one (the 400 message). */
function parseTarget(url: string | undefined): { hostname: string; port: number; path: string; authority: string } | string {
  let parsed: URL;
  try {
    parsed = new URL(url ?? '');
  } catch {
    return body(`expected an absolute-form request target (http://host/path), got "${(url ?? '').slice(0, 200)}"`);
  }
  if (parsed.protocol !== 'http:') {
    return body(`only http:// requests are forwarded (use CONNECT for ${parsed.protocol.slice(0, -1)})`);
  }
  if (parsed.hostname === '') return body('the request target has no host');
  const port = parsed.port === '' ? 80 : Number(parsed.port);
  return { hostname: parsed.hostname, port, path: `${parsed.pathname}${parsed.search}`, authority: parsed.host };
}

/** Answer text for a refused admission. */
function refusal(a: Extract<Admission, { ok: false }>): string {
  return body(a.message);
}

/**
 * Admits a destination and dials one of its resolved addresses. On a refusal or a failed dial
 * `fail` answers the client; resolves undefined then, or when the client left meanwhile.
 * `authority` is the admitted (normalised) host:port.
 */
async function openUpstream(
  core: ProxyCore,
  client: Socket,
  host: string,
  port: number,
  via: NetworkEvent['via'],
  mode: Parameters<ProxyCore['dial']>[3],
  fail: (status: number, text: string) => void,
): Promise<{ upstream: Socket; authority: string } | undefined> {
  const admission = await core.admit(client, host, port, via);
  if (!admission.ok) {
    fail(admission.status, refusal(admission));
    return undefined;
  }
  let upstream: Socket;
  try {
    upstream = await core.dial(client, admission.addresses, admission.port, mode);
  } catch (err) {
    const f = dialFailure(err, formatHostPort(admission.host, admission.port));
    fail(f.status, f.message);
    return undefined;
  }
  if (client.destroyed) {
    upstream.destroy();
    return undefined;
  }
  return { upstream, authority: formatHostPort(admission.host, admission.port) };
}

/** An absolute-form request (`GET http://host/path`): decide, connect, relay one request/response. */
async function forward(core: ProxyCore, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const client = req.socket;
  core.settle(client);
  const target = parseTarget(req.url);
  if (typeof target === 'string') return answer(res, 400, target);
  const opened = await openUpstream(core, client, target.hostname, target.port, 'http', 'stream', (status, text) =>
    answer(res, status, text),
  );
  if (!opened) return;
  const { upstream } = opened;
  // One upstream connection per request, closed after the response: the client's keep-alive
  // connection to the proxy may carry requests for different hosts, each decided on its own.
  const upReq = http.request({
    method: req.method ?? 'GET',
    path: target.path,
    headers: [...nextHopHeaders(req.rawHeaders, target.authority, false), 'Connection', 'close'],
    createConnection: () => upstream,
  });
  upReq.on('response', (upRes) => {
    const headers = nextHopHeaders(upRes.rawHeaders, undefined, false);
    res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, headers);
    pipeline(upRes, res, (err) => {
      if (err) {
        upstream.destroy();
        res.destroy();
      }
    });
  });
  upReq.on('error', (err) => {
    upstream.destroy();
    answer(res, 502, body(`upstream ${opened.authority} failed: ${(err as NodeJS.ErrnoException).code ?? err.message}`));
  });
  pipeline(req, upReq, (err) => {
    if (err) upstream.destroy();
  });
}

/** `CONNECT host:port`: decide, connect, answer 200 and splice the two sockets. */
async function connect(core: ProxyCore, req: http.IncomingMessage, client: Socket, head: Buffer): Promise<void> {
  const target = parseAuthority(req.url ?? '');
  if (!target) return rawAnswer(client, 400, body(`CONNECT needs host:port, got "${(req.url ?? '').slice(0, 200)}"`));
  const opened = await openUpstream(core, client, target.host, target.port, 'connect', 'tunnel', (status, text) =>
    rawAnswer(client, status, text),
  );
  if (!opened) return;
  const { upstream } = opened;
  core.settle(client);
  client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
  // Bytes the client sent right behind the CONNECT head (an optimistic TLS ClientHello).
  if (head.length > 0) upstream.write(head);
  core.tunnel(client, upstream);
}

/** A forwarded Upgrade request (`GET http://host/ws` + `Upgrade: websocket`): relay the head, then splice. */
async function upgrade(core: ProxyCore, req: http.IncomingMessage, client: Socket, head: Buffer): Promise<void> {
  const target = parseTarget(req.url);
  if (typeof target === 'string') return rawAnswer(client, 400, target);
  const opened = await openUpstream(core, client, target.hostname, target.port, 'http', 'tunnel', (status, text) =>
    rawAnswer(client, status, text),
  );
  if (!opened) return;
  const { upstream } = opened;
  core.settle(client);
  const headers = nextHopHeaders(req.rawHeaders, target.authority, true);
  let text = `${req.method ?? 'GET'} ${target.path} HTTP/${req.httpVersion}\r\n`;
  for (let i = 0; i < headers.length; i += 2) text += `${headers[i]}: ${headers[i + 1]}\r\n`;
  upstream.write(`${text}\r\n`);
  if (head.length > 0) upstream.write(head);
  core.tunnel(client, upstream);
}
