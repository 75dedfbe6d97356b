// The upstream connect: one admitted destination dialled address by address within one
// connect deadline, each upstream counted against its sandbox's budget, tracked (close() and
// detach destroy it) and held to the idle deadline. Tunnel upstreams read into a relay buffer
// from their first byte (relay.ts).
import net from 'node:net';
import { refusedAtCap } from './connection-limits.js';
import type { Listener, Listeners } from './listener.js';
import { bindRelaySource, createRelay, relayChunk, type Relay } from './relay.js';

/** What dialling needs of the proxy. */
export interface UpstreamContext {
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly listeners: Listeners;
  /** The relay each tunnel upstream reads into (the tunnel's way back to the client). */
  readonly relays: WeakMap<net.Socket, Relay>;
  /** The sandbox's budget is at its cap (one 'limit' event per episode). */
  reportLimit(listener: Listener): void;
}

/**
 * Connect to one of the admitted addresses, in resolver order, for `client`. 'tunnel' sockets
 * read into a relay buffer and may only be spliced with spliceTunnel; 'stream' sockets are
 * ordinary streams (for http.request).
 */
export async function dialUpstream(ctx: UpstreamContext, client: net.Socket, addresses: string[], port: number, mode: 'tunnel' | 'stream'): Promise<net.Socket> {
  const listener = ctx.listeners.ownerOf(client);
  if (!listener) throw Object.assign(new Error('client is not tracked'), { code: 'ECONNABORTED' });
  const deadline = Date.now() + ctx.connectTimeoutMs;
  let lastError: unknown;
  // Addresses in resolver order, one at a time, within one overall budget.
  for (const address of addresses) {
    const remaining = deadline - Date.now();
    if (remaining <= 0 || client.destroyed || listener.closed) break;
    try {
      return await connectOnce(ctx, listener, address, port, remaining, mode);
    } catch (err) {
      lastError = err;
    }
  }
  if (client.destroyed || listener.closed) throw Object.assign(new Error('client went away'), { code: 'ECONNABORTED' });
  throw lastError ?? Object.assign(new Error('connect timed out'), { code: 'ETIMEDOUT' });
}

function connectOnce(ctx: UpstreamContext, listener: Listener, address: string, port: number, timeoutMs: number, mode: 'tunnel' | 'stream'): Promise<net.Socket> {
  const budget = listener.budget;
  if (refusedAtCap(budget)) {
    ctx.reportLimit(listener);
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
    if (ctx.idleTimeoutMs > 0) socket.setTimeout(ctx.idleTimeoutMs, () => socket.destroy());
    if (relay) {
      bindRelaySource(relay, socket);
      ctx.relays.set(socket, relay);
    }
    ctx.listeners.track(listener, socket);
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
