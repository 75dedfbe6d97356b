// What one sandbox may make the host hold through the proxy: sockets open at once (a
// ConnectionBudget per scope, refused at accept and at connect beyond it, one 'limit' event per
// episode at the cap), requests per second (throttle), lookups (LookupLimiter, resolver.ts),
// and how long a client may take over its handshake or stay idle (ClientDeadlines).
import type net from 'node:net';
import type { ConnectionBudget, NetworkEvent } from './types.js';

export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
// A client on the same machine sends its request head in microseconds: ten seconds is for a
// loaded CI box, not a slow network. Idle tunnels hold two host fds each.
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
export const DEFAULT_IDLE_TIMEOUT_MS = 120_000;
/**
 * Sockets one sandbox may make the host hold at once: its connections to the proxy and the
 * upstream connections made for them (a tunnel costs two; one client connection may carry
 * several pipelined HTTP requests, each with an upstream of its own).
 */
export const DEFAULT_MAX_CONNECTIONS = 512;
/** Requests (admissions and forwarded connections) one sandbox may make per second. */
export const DEFAULT_REQUESTS_PER_SECOND = 1000;
/** Per sandbox: lookups at once, waiting beyond those, and the deadline of one. */
export const DEFAULT_LOOKUPS = Object.freeze({ concurrency: 4, queue: 32, timeoutMs: 5_000 });

/** Whether the budget is at its cap, counting the socket refused if so. */
export function refusedAtCap(budget: ConnectionBudget): boolean {
  if (budget.open < budget.max) return false;
  budget.refused++;
  return true;
}

/** The 'limit' event of this episode at the cap; undefined when the episode was reported already. */
export function limitEpisode(budget: ConnectionBudget): NetworkEvent | undefined {
  if (budget.reported) return undefined;
  budget.reported = true;
  return {
    host: '*',
    port: 0,
    allowed: false,
    via: 'limit',
    reason: `the sandbox holds ${budget.max} connections open (maxConnections): new ones are refused until some close`,
  };
}

/** Waits the budget's turn for one more request (no timer at all within the rate). */
export function throttle(budget: ConnectionBudget | undefined): Promise<void> | undefined {
  const wait = budget?.delayNext() ?? 0;
  if (wait <= 0) return undefined;
  return new Promise((resolve) => setTimeout(resolve, wait).unref());
}

/**
 * The deadlines of client connections: a handshake deadline from accept until the request head
 * or SOCKS handshake is in (and again between the requests of a keep-alive connection), then
 * the idle deadline.
 */
export class ClientDeadlines {
  readonly #handshakeTimers = new WeakMap<net.Socket, NodeJS.Timeout>();

  constructor(
    readonly handshakeTimeoutMs: number,
    readonly idleTimeoutMs: number,
  ) {}

  /** A client just accepted: destroyed unless it finishes its handshake in time. */
  start(client: net.Socket): void {
    const timer = setTimeout(() => client.destroy(), this.handshakeTimeoutMs);
    timer.unref();
    this.#handshakeTimers.set(client, timer);
    client.once('close', () => clearTimeout(timer));
  }

  /** The client finished its handshake: the handshake deadline is lifted, the idle one holds. */
  settle(client: net.Socket): void {
    clearTimeout(this.#handshakeTimers.get(client));
    // From now on the idle deadline holds the client too (a keep-alive connection between
    // requests, a tunnel quiet both ways).
    if (this.idleTimeoutMs > 0 && client.timeout === undefined) client.setTimeout(this.idleTimeoutMs, () => client.destroy());
  }

  /** A keep-alive client is between requests: its next request head has the handshake deadline. */
  awaitHead(client: net.Socket): void {
    clearTimeout(this.#handshakeTimers.get(client));
    const timer = setTimeout(() => client.destroy(), this.handshakeTimeoutMs);
    timer.unref();
    // No 'close' listener per request (they would pile up on a long keep-alive connection): the
    // timer is unref'd, and destroying a closed socket does nothing.
    this.#handshakeTimers.set(client, timer);
  }
}
