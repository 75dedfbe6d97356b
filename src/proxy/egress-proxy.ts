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
//
// This module is the proxy's lifecycle: start, listeners opened, attached and detached, each
// connection accepted and handed to its protocol, close. The rest is beside it: bounds
// (connection-limits.ts), listeners and their sockets (listener.ts), admission (admission.ts),
// the upstream connect (upstream.ts) and the tunnel data path (relay.ts).
import { EventEmitter } from 'node:events';
import type net from 'node:net';
import type http from 'node:http';
import { admitDestination, type AdmissionContext } from './admission.js';
import {
  ClientDeadlines,
  DEFAULT_CONNECT_TIMEOUT_MS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_LOOKUPS,
  DEFAULT_MAX_CONNECTIONS,
  limitEpisode,
  refusedAtCap,
  throttle,
} from './connection-limits.js';
import { proxyEnvFor } from './env.js';
import { createHttpFrontend } from './http.js';
import { Listeners, listenOn, type Listener, type ListenerDefaults } from './listener.js';
import { spliceTunnel } from './relay.js';
import { systemResolver } from './resolver.js';
import { handleSocks5 } from './socks5.js';
import type { EgressProxyOptions, ForwardTarget, ListenerScope, NetworkEvent, OpenedListener, ProxyCore } from './types.js';
import { dialUpstream, type UpstreamContext } from './upstream.js';

const SOCKS_VERSION = 0x05;

/**
 * An egress proxy embedded in the host process. Emits 'network' (NetworkEvent) for every
 * decision, 'error' for listener failures (a process warning when nobody listens), and 'close'.
 */
export class EgressProxy extends EventEmitter {
  /** Address of the proxy's own listener. */
  readonly host: string;
  /** Port of the proxy's own listener. */
  readonly port: number;

  readonly #defaults: ListenerDefaults;
  readonly #idleTimeoutMs: number;
  readonly #deadlines: ClientDeadlines;
  readonly #listeners = new Listeners();
  readonly #admission: AdmissionContext;
  readonly #upstream: UpstreamContext;
  readonly #core: ProxyCore;
  readonly #http: http.Server;
  #closing: Promise<void> | undefined;

  /** Start a proxy listening on options.host:options.port (default 127.0.0.1, random port). */
  static async start(options: EgressProxyOptions): Promise<EgressProxy> {
    if (typeof options?.decide !== 'function') throw new TypeError('EgressProxy.start: options.decide must be a function');
    const proxy = new EgressProxy(options);
    const main = proxy.#createListener({}, true);
    await listenOn(main.server, options.host ?? '127.0.0.1', options.port ?? 0);
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
    const decide = options.decide.bind(options);
    const lookupLimits = {
      concurrency: options.lookupConcurrency ?? DEFAULT_LOOKUPS.concurrency,
      queue: options.lookupQueue ?? DEFAULT_LOOKUPS.queue,
      timeoutMs: options.lookupTimeoutMs ?? DEFAULT_LOOKUPS.timeoutMs,
    };
    const resolve = options.resolve
      ? options.resolve.bind(options)
      : systemResolver({ timeoutMs: lookupLimits.timeoutMs, ...(options.dnsServers ? { servers: options.dnsServers } : {}) });
    this.#idleTimeoutMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    this.#defaults = { decide, maxConnections: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS, lookupLimits };
    this.#deadlines = new ClientDeadlines(options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS, this.#idleTimeoutMs);
    this.#admission = {
      resolve,
      allowLocal: options.allowLocalDestinations ?? options.resolve !== undefined,
      listeners: this.#listeners,
      emitEvent: (listener, event) => this.#emitEvent(listener, event),
      reportError: (err) => this.#reportError(err),
    };
    this.#upstream = {
      connectTimeoutMs: options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      idleTimeoutMs: this.#idleTimeoutMs,
      listeners: this.#listeners,
      relays: new WeakMap(),
      reportLimit: (listener) => this.#reportLimit(listener),
    };
    this.#core = {
      admit: (client, host, port, via) => admitDestination(this.#admission, this.#listeners.ownerOf(client), host, port, via),
      dial: (client, addresses, port, mode) => dialUpstream(this.#upstream, client, addresses, port, mode),
      tunnel: (client, upstream) => this.#tunnel(client, upstream),
      settle: (client) => this.#deadlines.settle(client),
      awaitHead: (client) => this.#deadlines.awaitHead(client),
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
    await listenOn(listener.server, address.host ?? '127.0.0.1', address.port ?? 0).catch((err: unknown) => {
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
      for (const listener of this.#listeners.values()) pending.push(...this.#listeners.close(listener));
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
    return this.#listeners.create(scope, hostSide, this.#defaults, (listener, socket) => this.#onConnection(listener, socket));
  }

  #detach(listener: Listener): void {
    if (listener.closed) return;
    for (const p of this.#listeners.close(listener)) p.catch(() => undefined);
  }

  #onConnection(listener: Listener, socket: net.Socket): void {
    if (listener.closed) {
      socket.destroy();
      return;
    }
    // Peer resets are routine for a proxy; every error ends in 'close', where cleanup happens.
    socket.on('error', () => undefined);
    const budget = listener.budget;
    if (refusedAtCap(budget)) {
      // At the cap: refused at once, so the host's fds stay bounded whatever the sandbox does.
      socket.destroy();
      this.#reportLimit(listener);
      return;
    }
    budget.open++;
    socket.once('close', () => budget.release());
    this.#listeners.track(listener, socket);
    if (listener.forward) {
      void this.#forward(listener, listener.forward, socket);
      return;
    }
    this.#deadlines.start(socket);
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

  /** One 'limit' event per episode at the cap. */
  #reportLimit(listener: Listener): void {
    const event = limitEpisode(listener.budget);
    if (event) this.#emitEvent(listener, event);
  }

  /** A connection to a forwarded host port: reported, dialled, spliced; no proxy protocol. */
  async #forward(listener: Listener, target: ForwardTarget, client: net.Socket): Promise<void> {
    await throttle(listener.budget);
    if (client.destroyed) return;
    this.#emitEvent(listener, { host: target.host, port: target.port, allowed: true, via: 'forward', reason: target.rule });
    let upstream: net.Socket;
    try {
      upstream = await dialUpstream(this.#upstream, client, [...target.addresses], target.port, 'tunnel');
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

  #tunnel(client: net.Socket, upstream: net.Socket): void {
    spliceTunnel(client, upstream, this.#upstream.relays.get(upstream), this.#idleTimeoutMs);
  }
}
