// The proxy's listening sockets: what each carries (its scope: policy, event target, budget,
// lookups, forward target), the client and upstream sockets that came through it, and closing
// one with everything it holds.
import net from 'node:net';
import { isHostAddress } from './host-addresses.js';
import { specialAddressClass } from './host.js';
import { LookupLimiter, type LookupLimits } from './resolver.js';
import { ConnectionBudget, type DecideFn, type ForwardTarget, type ListenerScope, type NetworkEvent } from './types.js';

/** One listening socket and everything that arrived through it. */
export interface Listener {
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

/** What a listener whose scope leaves them out gets: the proxy's own settings. */
export interface ListenerDefaults {
  readonly decide: DecideFn;
  readonly maxConnections: number;
  readonly lookupLimits: LookupLimits;
}

/** Resolves once `server` listens on host:port; rejects with the error that kept it from listening. */
export function listenOn(server: net.Server, host: string, port: number): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
}

/** Every open listener of one proxy, and the listener each tracked socket belongs to. */
export class Listeners {
  readonly #open = new Set<Listener>();
  readonly #owner = new WeakMap<net.Socket, Listener>();

  /** A new listener for `scope`; its server (not listening yet) hands every connection to `onConnection`. */
  create(scope: ListenerScope, hostSide: boolean, defaults: ListenerDefaults, onConnection: (listener: Listener, socket: net.Socket) => void): Listener {
    const listener: Listener = {
      // allowHalfOpen: a client's FIN must not close the way back (half-close in tunnels).
      server: net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => onConnection(listener, socket)),
      decide: scope.decide ?? defaults.decide,
      onEvent: scope.onEvent,
      explicitAddress: scope.explicitAddress,
      budget: scope.budget ?? new ConnectionBudget(defaults.maxConnections),
      lookups: scope.lookups ?? new LookupLimiter(defaults.lookupLimits),
      forward: scope.forward,
      sockets: new Set(),
      hostSide,
      closed: false,
    };
    this.#open.add(listener);
    return listener;
  }

  /** The open listeners (a listener closed while iterating is skipped from then on). */
  values(): IterableIterator<Listener> {
    return this.#open.values();
  }

  /** The listener a client or upstream socket came through, if it is tracked. */
  ownerOf(socket: net.Socket): Listener | undefined {
    return this.#owner.get(socket);
  }

  /** Counts `socket` as the listener's until it closes (close() and detach destroy it). */
  track(listener: Listener, socket: net.Socket): void {
    listener.sockets.add(socket);
    this.#owner.set(socket, listener);
    socket.once('close', () => listener.sockets.delete(socket));
  }

  /** Close one listener and its sockets; the promises settle when every handle is closed. */
  close(listener: Listener): Promise<void>[] {
    const pending: Promise<void>[] = [];
    if (!listener.closed) {
      listener.closed = true;
      this.#open.delete(listener);
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

  /**
   * Whether address:port is one of the proxy's own host-side listeners: relaying to itself would
   * loop until descriptors run out. Adopted fds are skipped: they live in a sandbox's network
   * namespace, where their addresses mean something else.
   */
  isSelf(address: string, port: number): boolean {
    const cls = specialAddressClass(address);
    for (const listener of this.#open) {
      const bound = listener.bound;
      if (!listener.hostSide || !bound || bound.port !== port) continue;
      if (bound.address === address) return true;
      const boundCls = specialAddressClass(bound.address);
      if ((cls === 'loopback' || cls === 'unspecified') && (boundCls === 'loopback' || boundCls === 'unspecified')) return true;
      if (boundCls === 'unspecified' && isHostAddress(address)) return true;
    }
    return false;
  }
}
