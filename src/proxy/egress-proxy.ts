// The egress proxy: one in-process server that admits a sandbox's outbound TCP only to
// destinations the policy allows (linux-sandboxing-brief §6.4). HTTP (forward and CONNECT) and
// SOCKS5 share every listening port: the first byte of a connection is 0x05 for SOCKS5 and an
// ASCII method letter for HTTP, so one port and one set of proxy variables serve both.
//
// Listeners: the proxy's own TCP port (for sandboxes without a network namespace, and tests),
// extra per-sandbox loopback ports (openListener), and already-listening socket fds created
// inside a sandbox's network namespace and handed to the host (attachListener). Each listener
// carries a scope (decide + onEvent), which is how a shared proxy attributes traffic to the
// sandbox that sent it.
//
// DNS: the proxy resolves every name itself (c-ares, bounded per sandbox: resolver.ts) and
// connects to what *it* resolved, only where that address is public or an allowlist entry
// names it; the client only ever supplies a name (or an IP literal, decided as that literal).
// A name is decided before it is resolved, so a denied name is never even looked up.
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { networkInterfaces } from 'node:os';
import type http from 'node:http';
import { proxyEnvFor } from './env.js';
import { formatHostPort, isLoopbackAddress, normalizeHost, specialAddressClass } from './host.js';
import { createHttpFrontend } from './http.js';
import { ipBytes, ipText } from '../policy/ip.js';
import { LookupLimiter, systemResolver, type ResolveFn } from './resolver.js';
import { handleSocks5, SocksReply } from './socks5.js';
import {
  ConnectionBudget,
  type ForwardTarget,
} from './types.js';
import type {
  Admission,
  DecideFn,
  EgressProxyOptions,
  ListenerScope,
  NetworkEvent,
  OpenedListener,
  ProxyCore,
} from './types.js';

const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
// A client on the same machine sends its request head in microseconds: ten seconds is for a
// loaded CI box, not a slow network. Idle tunnels hold two host fds each.
const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
const DEFAULT_IDLE_TIMEOUT_MS = 120_000;
/**
 * Sockets one sandbox may make the host hold at once: its connections to the proxy and the
 * upstream connections made for them (a tunnel costs two; one client connection may carry
 * several pipelined HTTP requests, each with an upstream of its own).
 */
export const DEFAULT_MAX_CONNECTIONS = 512;
/** Per sandbox: lookups at once, waiting beyond those, and the deadline of one. */
/** Requests (admissions and forwarded connections) one sandbox may make per second. */
export const DEFAULT_REQUESTS_PER_SECOND = 1000;
export const DEFAULT_LOOKUPS = Object.freeze({ concurrency: 4, queue: 32, timeoutMs: 5_000 });
const SOCKS_VERSION = 0x05;

/** One listening socket and everything that arrived through it. */
interface Listener {
  readonly server: net.Server;
  readonly decide: DecideFn;
  readonly onEvent: ((event: NetworkEvent) => void) | undefined;
  readonly explicitAddress: ((address: string, port: number) => string | undefined) | undefined;
  readonly budget: ConnectionBudget;
  readonly lookups: LookupLimiter;
  readonly forward: ForwardTarget | undefined;
  /** Client connections and the upstream connections made for them (destroyed on detach). */
  readonly sockets: Set<net.Socket>;
  /** Bound by the proxy on the host (own port, openListener), as opposed to an adopted fd that may live in another netns. */
  readonly hostSide: boolean;
  /** Bound address of a host-side listener, cached (getsockname per request shows up in profiles). */
  bound?: net.AddressInfo;
  closed: boolean;
}

// Tunnel relays read into a reusable buffer instead of pipe(): a pipe() allocates a fresh
// 64 KiB buffer per read and runs the stream machinery per chunk, which showed up as most of the
// proxy's own CPU in bench/proxy.mjs. Upstream sockets get the buffer through net.connect's
// onread option; client sockets are accepted by a net.Server, which has no such option, so
// they get it through the same hook that option sets (see USER_BUFFER_HOOK), or fall back to
// pipe() where that hook is missing.
//
// A buffer is read into again only once the sink no longer references it: write() either hands
// the bytes to the kernel synchronously (writableLength back to 0) or keeps a view until its
// callback, and reading pauses until then. Buffers are pooled because allocating 128 KiB per
// tunnel (an mmap and its page faults, then GC pressure) was a measurable part of the
// per-connection setup cost; one goes back to the pool only when its source socket is closed
// (libuv will not read into it again) and every write of a view of it has called back, so a
// later tunnel can never overwrite bytes still queued for an earlier one. Stale bytes in a
// reused buffer are never sent: only the n bytes just read are forwarded.
const RELAY_BUFFER_BYTES = 128 * 1024;
const RELAY_POOL_MAX = 32;
const relayBuffers: Buffer[] = [];

/**
 * The hook behind net.connect's onread option (Node ≥ 12): a socket whose kBuffer/kBufferCb
 * properties are set and whose handle reads into a user buffer calls kBufferCb(n, buffer) per
 * read instead of pushing a new Buffer, and its pause()/resume() stop and start the handle.
 * Found on a probe socket built with the documented option rather than by importing internals;
 * undefined (and pipe() used) if this Node does not lay it out that way.
 */
const USER_BUFFER_HOOK = ((): { kBuffer: symbol; kBufferCb: symbol } | undefined => {
  const buffer = Buffer.alloc(1);
  const callback = (): boolean => true;
  // Documented for new net.Socket() too, but missing from @types/node's constructor options.
  const probe = new net.Socket({ onread: { buffer, callback } } as net.SocketConstructorOpts);
  const own = probe as unknown as Record<symbol, unknown>;
  const symbols = Object.getOwnPropertySymbols(probe);
  const kBuffer = symbols.find((s) => s.description === 'kBuffer');
  const kBufferCb = symbols.find((s) => s.description === 'kBufferCb');
  probe.destroy();
  if (!kBuffer || !kBufferCb || own[kBuffer] !== buffer || own[kBufferCb] !== callback) return undefined;
  return { kBuffer, kBufferCb };
})();

/** The libuv stream handle under a socket, as far as the relay needs it. */
type StreamHandle = { useUserBuffer?: (buffer: Uint8Array) => void } | null | undefined;

/** One direction of a tunnel: reads of `source` land in `buffer` and are written to `sink`. */
interface Relay {
  /** The socket reading into the buffer (set right after net.connect for upstream sockets). */
  source: net.Socket | null;
  /** Where the bytes go, once the tunnel is established (200 / SOCKS reply sent). */
  sink: net.Socket | null;
  readonly buffer: Buffer;
  /** Copies of bytes that arrived before the tunnel was established. */
  readonly pending: Buffer[];
  /** Reading is paused until every write has called back (or the tunnel starts). */
  waiting: boolean;
  /** Writes to the sink not yet called back; until 0 the sink may hold a view of the buffer. */
  writes: number;
  sourceClosed: boolean;
  recycled: boolean;
  /** The write callback, one per relay rather than a closure per chunk. */
  readonly written: () => void;
}

function createRelay(): Relay {
  const relay: Relay = {
    source: null,
    sink: null,
    buffer: relayBuffers.pop() ?? Buffer.allocUnsafe(RELAY_BUFFER_BYTES),
    pending: [],
    waiting: false,
    writes: 0,
    sourceClosed: false,
    recycled: false,
    written: () => {
      relay.writes--;
      if (relay.waiting && relay.writes === 0) {
        relay.waiting = false;
        if (relay.source && !relay.source.destroyed) relay.source.resume();
      }
      recycleRelay(relay);
    },
  };
  return relay;
}

/** Attach the relay to its source socket: the buffer is pooled again once both are done with it. */
function bindRelaySource(relay: Relay, source: net.Socket): void {
  relay.source = source;
  source.once('close', () => {
    relay.sourceClosed = true;
    recycleRelay(relay);
  });
}

function recycleRelay(relay: Relay): void {
  if (relay.recycled || !relay.sourceClosed || relay.writes !== 0) return;
  relay.recycled = true;
  if (relayBuffers.length < RELAY_POOL_MAX) relayBuffers.push(relay.buffer);
}

/** Read callback: forward the n bytes just read; false stops reading (the buffer is still in use). */
function relayChunk(relay: Relay, n: number): boolean {
  const { sink } = relay;
  if (sink === null) {
    relay.pending.push(Buffer.from(relay.buffer.subarray(0, n)));
    relay.waiting = true;
    return false;
  }
  if (sink.destroyed) return false;
  relay.writes++;
  sink.write(relay.buffer.subarray(0, n), relay.written);
  if (sink.writableLength === 0) return true;
  relay.waiting = true;
  return false;
}

/**
 * Switch an established client socket to reading into a relay buffer, sending what its stream
 * already buffered first. False when the hook is unavailable (the caller pipes instead).
 */
function relayFromClient(client: net.Socket, upstream: net.Socket): boolean {
  const handle = (client as unknown as { _handle: StreamHandle })._handle;
  if (!USER_BUFFER_HOOK || typeof handle?.useUserBuffer !== 'function') return false;
  const relay = createRelay();
  bindRelaySource(relay, client);
  relay.sink = upstream;
  // Bytes the stream read before the switch (behind the CONNECT head or SOCKS request, or sent
  // while the destination was being decided); reads happen only on the loop, so none are lost.
  for (let chunk = client.read() as Buffer | null; chunk !== null; chunk = client.read() as Buffer | null) upstream.write(chunk);
  const own = client as unknown as Record<symbol, unknown>;
  own[USER_BUFFER_HOOK.kBuffer] = relay.buffer;
  own[USER_BUFFER_HOOK.kBufferCb] = (n: number) => relayChunk(relay, n);
  handle.useUserBuffer(relay.buffer);
  return true;
}

let interfaceAddresses: { at: number; set: Set<string> } | undefined;
/**
 * Addresses of the host's interfaces (a service bound to 0.0.0.0 is reachable on each), as
 * ipText of their bytes (IPv4-mapped folded: ::ffff:a.b.c.d is a.b.c.d); re-read at most once a
 * second (getifaddrs is a netlink round trip).
 */
function isHostAddress(address: string): boolean {
  const bytes = ipBytes(address);
  return bytes !== undefined && hostAddresses().has(ipText(bytes));
}

function hostAddresses(): Set<string> {
  const now = Date.now();
  if (!interfaceAddresses || now - interfaceAddresses.at > 1000) {
    const set = new Set<string>();
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) {
        const bytes = ipBytes(a.address.split('%')[0] ?? '');
        if (bytes) set.add(ipText(bytes));
      }
    }
    interfaceAddresses = { at: now, set };
  }
  return interfaceAddresses.set;
}


/**
 * An egress proxy embedded in the host process. Emits 'network' (NetworkEvent) for every
 * decision, 'error' for listener failures (a process warning when nobody listens), and 'close'.
 */
export class EgressProxy extends EventEmitter {
  /** Address of the proxy's own listener. */
  readonly host: string;
  /** Port of the proxy's own listener. */
  readonly port: number;

  readonly #decide: DecideFn;
  readonly #resolve: ResolveFn;
  readonly #allowLocal: boolean;
  readonly #connectTimeoutMs: number;
  readonly #handshakeTimeoutMs: number;
  readonly #idleTimeoutMs: number;
  readonly #maxConnections: number;
  readonly #lookupLimits: { concurrency: number; queue: number; timeoutMs: number };
  readonly #core: ProxyCore;
  readonly #http: http.Server;
  readonly #listeners = new Set<Listener>();
  readonly #owner = new WeakMap<net.Socket, Listener>();
  readonly #handshakeTimers = new WeakMap<net.Socket, NodeJS.Timeout>();
  readonly #relays = new WeakMap<net.Socket, Relay>();
  #closing: Promise<void> | undefined;

  /** Start a proxy listening on options.host:options.port (default 127.0.0.1, random port). */
  static async start(options: EgressProxyOptions): Promise<EgressProxy> {
    if (typeof options?.decide !== 'function') throw new TypeError('EgressProxy.start: options.decide must be a function');
    const proxy = new EgressProxy(options);
    const main = proxy.#createListener({}, true);
    await new Promise<void>((resolve, reject) => {
      main.server.once('error', reject);
      main.server.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 }, () => {
        main.server.removeListener('error', reject);
        resolve();
      });
    });
    const address = main.server.address() as net.AddressInfo;
    main.bound = address;
    // host/port are readonly for users; they are known only once the socket is bound.
    Object.defineProperty(proxy, 'host', { value: address.address });
    Object.defineProperty(proxy, 'port', { value: address.port });
    main.server.on('error', (err) => proxy.#reportError(err));
    return proxy;
  }

  private constructor(options: EgressProxyOptions) {
    super();
    this.host = '';
    this.port = 0;
    this.#decide = options.decide.bind(options);
    this.#lookupLimits = {
      concurrency: options.lookupConcurrency ?? DEFAULT_LOOKUPS.concurrency,
      queue: options.lookupQueue ?? DEFAULT_LOOKUPS.queue,
      timeoutMs: options.lookupTimeoutMs ?? DEFAULT_LOOKUPS.timeoutMs,
    };
    this.#resolve = options.resolve
      ? options.resolve.bind(options)
      : systemResolver({ timeoutMs: this.#lookupLimits.timeoutMs, ...(options.dnsServers ? { servers: options.dnsServers } : {}) });
    this.#allowLocal = options.allowLocalDestinations ?? options.resolve !== undefined;
    this.#connectTimeoutMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
    this.#handshakeTimeoutMs = options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    this.#idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.#maxConnections = options.maxConnections ?? DEFAULT_MAX_CONNECTIONS;
    this.#core = {
      admit: (client, host, port, via) => this.#admit(client, host, port, via),
      dial: (client, addresses, port, mode) => this.#dial(client, addresses, port, mode),
      tunnel: (client, upstream) => this.#tunnel(client, upstream),
      settle: (client) => this.#settle(client),
      awaitHead: (client) => this.#awaitHead(client),
    };
    this.#http = createHttpFrontend(this.#core);
  }

  /** True once close() has been called (the proxy accepts nothing new). */
  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /**
   * Serve connections arriving on an already-listening socket fd (TCP or Unix; e.g. created
   * inside a sandbox's network namespace and handed to the host). The proxy owns the fd from
   * now on: the returned function stops accepting, closes the fd and destroys the connections
   * and tunnels that came through it.
   */
  attachListener(fd: number, scope: ListenerScope = {}): () => void {
    if (!Number.isInteger(fd) || fd < 0) throw new TypeError(`attachListener: fd must be a non-negative integer, got ${String(fd)}`);
    this.#assertOpen('attachListener');
    const listener = this.#createListener(scope, false);
    listener.server.on('error', (err) => this.#reportError(err));
    // net.Server adopts the fd (guessHandleType picks TCP or Pipe) and calls listen() again,
    // which on an already-listening socket only updates the backlog.
    listener.server.listen({ fd });
    return () => this.#detach(listener);
  }

  /**
   * Open an extra listener (default 127.0.0.1 on a random port) with its own scope: attribution
   * and a per-sandbox policy for sandboxes without a network namespace, whose Landlock rule then
   * allows connecting to this port only.
   */
  async openListener(scope: ListenerScope = {}, address: { host?: string; port?: number } = {}): Promise<OpenedListener> {
    this.#assertOpen('openListener');
    const listener = this.#createListener(scope, true);
    await new Promise<void>((resolve, reject) => {
      listener.server.once('error', reject);
      listener.server.listen({ host: address.host ?? '127.0.0.1', port: address.port ?? 0 }, () => {
        listener.server.removeListener('error', reject);
        resolve();
      });
    }).catch((err: unknown) => {
      this.#detach(listener);
      throw err;
    });
    listener.server.on('error', (err) => this.#reportError(err));
    const bound = listener.server.address() as net.AddressInfo;
    listener.bound = bound;
    return { host: bound.address, port: bound.port, detach: () => this.#detach(listener) };
  }

  /** Environment variables pointing a child at this proxy (both cases), at `address` (default this.host:this.port). */
  proxyEnv(address?: { host: string; port: number }): Record<string, string> {
    return proxyEnvFor(address?.host ?? this.host, address?.port ?? this.port);
  }

  /** Stop every listener and destroy every open connection and tunnel; resolves when all handles are closed. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      const pending: Promise<void>[] = [];
      for (const listener of this.#listeners) pending.push(...this.#closeListener(listener));
      await Promise.all(pending);
      // net.Server emits 'close' before libuv has run the handle's close callback, which
      // happens in the close phase of this loop turn; two immediates land after it, so that
      // getActiveResourcesInfo() no longer lists the proxy once close() resolves.
      await new Promise((resolve) => setImmediate(resolve));
      await new Promise((resolve) => setImmediate(resolve));
      this.emit('close');
    })();
    return this.#closing;
  }

  #assertOpen(what: string): void {
    if (this.#closing) throw new Error(`EgressProxy.${what}: the proxy is closed`);
  }

  #createListener(scope: ListenerScope, hostSide: boolean): Listener {
    const listener: Listener = {
      // allowHalfOpen: a client's FIN must not close the way back (half-close in tunnels).
      server: net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => this.#onConnection(listener, socket)),
      decide: scope.decide ?? this.#decide,
      onEvent: scope.onEvent,
      explicitAddress: scope.explicitAddress,
      budget: scope.budget ?? new ConnectionBudget(this.#maxConnections),
      lookups: scope.lookups ?? new LookupLimiter(this.#lookupLimits),
      forward: scope.forward,
      sockets: new Set(),
      hostSide,
      closed: false,
    };
    this.#listeners.add(listener);
    return listener;
  }

  #detach(listener: Listener): void {
    if (listener.closed) return;
    for (const p of this.#closeListener(listener)) p.catch(() => undefined);
  }

  /** Close one listener and its sockets; the promises settle when every handle is closed. */
  #closeListener(listener: Listener): Promise<void>[] {
    const pending: Promise<void>[] = [];
    if (!listener.closed) {
      listener.closed = true;
      this.#listeners.delete(listener);
      pending.push(
        new Promise<void>((resolve) => {
          if (!listener.server.listening) return resolve();
          listener.server.close(() => resolve());
        }),
      );
    }
    for (const socket of listener.sockets) {
      if (!socket.closed) pending.push(new Promise((resolve) => socket.once('close', () => resolve())));
      socket.destroy();
    }
    return pending.map((p) => p.catch(() => undefined));
  }

  #track(listener: Listener, socket: net.Socket): void {
    listener.sockets.add(socket);
    this.#owner.set(socket, listener);
    socket.once('close', () => listener.sockets.delete(socket));
  }

  #onConnection(listener: Listener, socket: net.Socket): void {
    if (listener.closed) {
      socket.destroy();
      return;
    }
    // Peer resets are routine for a proxy; every error ends in 'close', where cleanup happens.
    socket.on('error', () => undefined);
    const budget = listener.budget;
    if (budget.open >= budget.max) {
      // At the cap: refused at once, so the host's fds stay bounded whatever the sandbox does.
      budget.refused++;
      socket.destroy();
      this.#reportLimit(listener);
      return;
    }
    budget.open++;
    socket.once('close', () => budget.release());
    this.#track(listener, socket);
    if (listener.forward) {
      void this.#forward(listener, listener.forward, socket);
      return;
    }
    const timer = setTimeout(() => socket.destroy(), this.#handshakeTimeoutMs);
    timer.unref();
    this.#handshakeTimers.set(socket, timer);
    socket.once('close', () => clearTimeout(timer));
    socket.once('readable', () => {
      const first = socket.read(1) as Buffer | null;
      if (first === null) {
        // Closed before sending anything.
        socket.destroy();
        return;
      }
      socket.unshift(first);
      if (first[0] === SOCKS_VERSION) handleSocks5(this.#core, socket);
      // The http.Server never listens: it only parses the connections handed to it here.
      else this.#http.emit('connection', socket);
    });
  }

  #settle(client: net.Socket): void {
    clearTimeout(this.#handshakeTimers.get(client));
    // From now on the idle deadline holds the client too (a keep-alive connection between
    // requests, a tunnel quiet both ways).
    if (this.#idleTimeoutMs > 0 && client.timeout === undefined) client.setTimeout(this.#idleTimeoutMs, () => client.destroy());
  }

  #awaitHead(client: net.Socket): void {
    clearTimeout(this.#handshakeTimers.get(client));
    const timer = setTimeout(() => client.destroy(), this.#handshakeTimeoutMs);
    timer.unref();
    // No 'close' listener per request (they would pile up on a long keep-alive connection): the
    // timer is unref'd, and destroying a closed socket does nothing.
    this.#handshakeTimers.set(client, timer);
  }

  /** One 'limit' event per episode at the cap. */
  #reportLimit(listener: Listener): void {
    const budget = listener.budget;
    if (budget.reported) return;
    budget.reported = true;
    this.#emitEvent(listener, {
      host: '*',
      port: 0,
      allowed: false,
      via: 'limit',
      reason: `the sandbox holds ${budget.max} connections open (maxConnections): new ones are refused until some close`,
    });
  }

  /** A connection to a forwarded host port: reported, dialled, spliced; no proxy protocol. */
  async #forward(listener: Listener, target: ForwardTarget, client: net.Socket): Promise<void> {
    await throttle(listener.budget);
    if (client.destroyed) return;
    this.#emitEvent(listener, { host: target.host, port: target.port, allowed: true, via: 'forward', reason: target.rule });
    let upstream: net.Socket;
    try {
      upstream = await this.#dial(client, [...target.addresses], target.port, 'tunnel');
    } catch {
      // Nothing listens there (or it timed out): the client sees a reset, as it would on the host.
      client.resetAndDestroy();
      return;
    }
    if (client.destroyed) {
      upstream.destroy();
      return;
    }
    this.#tunnel(client, upstream);
  }

  #emitEvent(listener: Listener | undefined, event: NetworkEvent): void {
    try {
      listener?.onEvent?.(event);
    } catch (err) {
      this.#reportError(err);
    }
    this.emit('network', event);
  }

  #reportError(err: unknown): void {
    if (this.listenerCount('error') > 0) this.emit('error', err);
    else process.emitWarning(err instanceof Error ? err : new Error(String(err)), { code: 'CORDON_EGRESS_PROXY' });
  }

  async #admit(client: net.Socket, rawHost: string, port: number, via: NetworkEvent['via']): Promise<Admission> {
    const listener = this.#owner.get(client);
    await throttle(listener?.budget);
    const host = normalizeHost(rawHost);
    if (host === undefined) {
      return { ok: false, status: 400, socks: SocksReply.HOST_UNREACHABLE, message: `cannot parse destination host "${rawHost.slice(0, 200)}"` };
    }
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      return { ok: false, status: 400, socks: SocksReply.GENERAL_FAILURE, message: `invalid destination port ${port}` };
    }
    const target = formatHostPort(host, port);
    const deny = (reason: string): Admission => {
      this.#emitEvent(listener, { host, port, allowed: false, via, reason });
      return { ok: false, status: 403, socks: SocksReply.NOT_ALLOWED, message: `network access to ${target} denied: ${reason}` };
    };
    if (!listener || listener.closed) return deny('the proxy listener is closed');

    let decision;
    try {
      decision = listener.decide(host, port);
    } catch (err) {
      // Fail closed: a broken policy hook must not open the network.
      this.#reportError(err);
      return deny(`the policy check failed: ${(err as Error)?.message ?? String(err)}`);
    }
    if (!decision?.allowed) return deny(decision?.rule ?? `no allowlist entry matches ${target}`);
    const rule = decision.rule ?? `allowed ${target}`;

    const literal = net.isIP(host) !== 0;
    // RFC 6761: localhost and names below it are the loopback, never asked of DNS.
    const localhostName = host === 'localhost' || host.endsWith('.localhost');
    let addresses: string[];
    if (literal) addresses = [host];
    else if (localhostName) addresses = ['127.0.0.1', '::1'];
    else {
      try {
        addresses = await listener.lookups.run(this.#resolve, host);
      } catch (err) {
        this.#emitEvent(listener, { host, port, allowed: true, via, reason: rule });
        const code = (err as NodeJS.ErrnoException)?.code ?? 'EUNKNOWN';
        if (code === 'EBUSY') {
          return { ok: false, status: 503, socks: SocksReply.GENERAL_FAILURE, message: `cannot resolve ${host}: ${(err as Error).message}` };
        }
        const timedOut = code === 'ETIMEDOUT' || code === 'ETIMEOUT';
        return { ok: false, status: timedOut ? 504 : 502, socks: SocksReply.HOST_UNREACHABLE, message: `cannot resolve ${host}: ${code}` };
      }
    }

    const refused: string[] = [];
    const usable = addresses.filter((raw) => {
      const address = net.isIP(raw) !== 0 ? (normalizeHost(raw) ?? raw) : raw;
      if (net.isIP(address) === 0) {
        // A resolver must answer with addresses; a name here would be resolved by connect() behind our back.
        refused.push(`${address} (not an IP address)`);
        return false;
      }
      if (this.#isSelf(address, port)) {
        refused.push(`${address} (the proxy itself)`);
        return false;
      }
      // The literal was allowed by an entry naming it; every other address must be public, or
      // be named by an IP/CIDR entry, or be the loopback of an allowed localhost entry.
      if (literal || this.#allowLocal) return true;
      const cls = specialAddressClass(address) ?? (isHostAddress(address) ? "one of the host's own addresses" : undefined);
      if (cls === undefined) return true;
      if (localhostName && isLoopbackAddress(address)) return true;
      if (listener.explicitAddress?.(address, port) !== undefined) return true;
      refused.push(`${address} (${cls})`);
      return false;
    });
    if (usable.length === 0) {
      if (refused.length === 0) {
        this.#emitEvent(listener, { host, port, allowed: true, via, reason: rule });
        return { ok: false, status: 502, socks: SocksReply.HOST_UNREACHABLE, message: `cannot resolve ${host}: no addresses` };
      }
      return deny(`${host} resolves only to refused addresses: ${refused.join(', ')}; an allowlist entry naming the address or its range (e.g. 10.0.0.0/8:${port}) allows it`);
    }
    this.#emitEvent(listener, { host, port, allowed: true, via, reason: rule });
    return { ok: true, host, port, addresses: usable };
  }

  /**
   * Whether address:port is one of the proxy's own host-side listeners: relaying to itself would
   * loop until descriptors run out. Adopted fds are skipped: they live in a sandbox's network
   * namespace, where their addresses mean something else.
   */
  #isSelf(address: string, port: number): boolean {
    const cls = specialAddressClass(address);
    for (const listener of this.#listeners) {
      const bound = listener.bound;
      if (!listener.hostSide || !bound || bound.port !== port) continue;
      if (bound.address === address) return true;
      const boundCls = specialAddressClass(bound.address);
      if ((cls === 'loopback' || cls === 'unspecified') && (boundCls === 'loopback' || boundCls === 'unspecified')) return true;
      if (boundCls === 'unspecified' && isHostAddress(address)) return true;
    }
    return false;
  }

  async #dial(client: net.Socket, addresses: string[], port: number, mode: 'tunnel' | 'stream'): Promise<net.Socket> {
    const listener = this.#owner.get(client);
    if (!listener) throw Object.assign(new Error('client is not tracked'), { code: 'ECONNABORTED' });
    const deadline = Date.now() + this.#connectTimeoutMs;
    let lastError: unknown;
    // Addresses in resolver order, one at a time, within one overall budget.
    for (const address of addresses) {
      const remaining = deadline - Date.now();
      if (remaining <= 0 || client.destroyed || listener.closed) break;
      try {
        return await this.#connectOnce(listener, address, port, remaining, mode);
      } catch (err) {
        lastError = err;
      }
    }
    if (client.destroyed || listener.closed) throw Object.assign(new Error('client went away'), { code: 'ECONNABORTED' });
    throw lastError ?? Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' });
  }

  #connectOnce(listener: Listener, address: string, port: number, timeoutMs: number, mode: 'tunnel' | 'stream'): Promise<net.Socket> {
    const budget = listener.budget;
    if (budget.open >= budget.max) {
      budget.refused++;
      this.#reportLimit(listener);
      return Promise.reject(Object.assign(new Error(`the sandbox holds ${budget.max} connections open (maxConnections)`), { code: 'EMFILE' }));
    }
    return new Promise((resolve, reject) => {
      const options: net.NetConnectOpts = { host: address, port, allowHalfOpen: true, noDelay: true };
      let relay: Relay | undefined;
      if (mode === 'tunnel') {
        const r = createRelay();
        relay = r;
        options.onread = { buffer: r.buffer, callback: (n) => relayChunk(r, n) };
      }
      const socket = net.connect(options);
      budget.open++;
      socket.once('close', () => budget.release());
      // Every upstream has the idle deadline, tunnel or not (a forwarded request whose body
      // never comes must not hold its upstream for the sandbox's life).
      if (this.#idleTimeoutMs > 0) socket.setTimeout(this.#idleTimeoutMs, () => socket.destroy());
      if (relay) {
        bindRelaySource(relay, socket);
        this.#relays.set(socket, relay);
      }
      this.#track(listener, socket);
      const fail = (err: Error): void => {
        clearTimeout(timer);
        socket.destroy();
        reject(err);
      };
      const timer = setTimeout(() => fail(Object.assign(new Error(`connect to ${address}:${port} timed out`), { code: 'ETIMEDOUT' })), timeoutMs);
      timer.unref();
      const onError = (err: Error): void => fail(err);
      // close() destroys tracked sockets without an error: settle the attempt then too.
      const onClose = (): void => fail(Object.assign(new Error('connection closed'), { code: 'ECONNABORTED' }));
      socket.once('error', onError);
      socket.once('close', onClose);
      socket.once('connect', () => {
        clearTimeout(timer);
        socket.removeListener('error', onError);
        socket.removeListener('close', onClose);
        socket.on('error', () => undefined);
        resolve(socket);
      });
    });
  }

  /**
   * Splice client and upstream both ways with backpressure, forwarding each FIN as end() on
   * the other side (both sockets allow half-open, so the other direction keeps flowing).
   * Each direction reads into its own pooled buffer (relayChunk); client → upstream falls back
   * to pipe() where the read hook is unavailable. A side that closes before it has both read
   * its peer's FIN and flushed its own writes was aborted: the other side is destroyed too, so
   * nothing lingers half-dead.
   */
  #tunnel(client: net.Socket, upstream: net.Socket): void {
    if (relayFromClient(client, upstream)) forwardEnd(client, upstream);
    else client.pipe(upstream);
    const down = this.#relays.get(upstream);
    if (down) {
      down.sink = client;
      for (const chunk of down.pending.splice(0)) client.write(chunk);
      down.waiting = false;
      forwardEnd(upstream, client);
    } else upstream.pipe(client);
    const link = (a: net.Socket, b: net.Socket): void => {
      a.once('close', () => {
        if (!a.readableEnded || !a.writableFinished) b.destroy();
      });
    };
    link(client, upstream);
    link(upstream, client);
    if (this.#idleTimeoutMs > 0) {
      // Reads and writes both restart a socket's timer; a tunnel quiet both ways for the
      // whole period is closed (each side's timer fires, destroy() reaches the other via link).
      for (const s of [client, upstream]) s.setTimeout(this.#idleTimeoutMs, () => s.destroy());
    }
  }
}

/** Waits the budget's turn for one more request (no timer at all within the rate). */
function throttle(budget: ConnectionBudget | undefined): Promise<void> | undefined {
  const wait = budget?.delayNext() ?? 0;
  if (wait <= 0) return undefined;
  return new Promise((resolve) => setTimeout(resolve, wait).unref());
}

/**
 * A relay source's FIN becomes end() on its sink, also when the stream saw it before the tunnel
 * started; resume() starts the reads (and makes the stream emit 'end' at EOF).
 */
function forwardEnd(source: net.Socket, sink: net.Socket): void {
  if (source.readableEnded) sink.end();
  else source.once('end', () => sink.end());
  source.resume();
}
