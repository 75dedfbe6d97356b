// Public types of the egress proxy, plus the internal seam between the listener core
// (egress-proxy.ts) and the protocol handlers (http.ts, socks5.ts).
import type { Socket } from 'node:net';

/** The answer of a decide() callback: allowed or not, and the rule that said so (for events and 403 bodies). */
export type NetworkDecision = {
  allowed: boolean;
  /** The rule behind the answer, e.g. '*.allowed.test:443' or 'no allowlist entry matches denied.test:80'. */
  rule?: string;
};

/** One admission decision, reported as the proxy's 'network' event (and to the listener's onEvent). */
export interface NetworkEvent {
  /** The destination name as decided on: lower case, no trailing dot, IPv6 without brackets. */
  host: string;
  port: number;
  allowed: boolean;
  /**
   * How the client asked: an absolute-form HTTP request, an HTTP CONNECT tunnel, SOCKS5, a
   * direct connection to a forwarded host port ('forward'), or none of these because the
   * sandbox hit its connection cap ('limit': host '*', port 0, once per episode).
   */
  via: 'http' | 'connect' | 'socks5' | 'forward' | 'limit';
  /**
   * Why: the allowlist rule that allowed or denied it (`*.example.com:443`, `no network_allowlist
   * entry matches a.test:80`), or why the proxy refused a name the policy allowed (`x resolves
   * only to refused addresses: 10.0.0.5 (private (RFC 1918))`), or the cap that was hit.
   */
  reason?: string;
}

/** Sockets one sandbox may make the host hold at once, clients and upstreams (shared by its listeners). */
export class ConnectionBudget {
  /** Sockets open now. */
  open = 0;
  /** Connections refused because the cap was reached. */
  refused = 0;
  /** A 'limit' event was sent for the current episode at the cap. */
  reported = false;
  /** Requests admitted per second (a token bucket holding one second's worth); 0: unlimited. */
  readonly rate: number;
  #tokens: number;
  #refilledAt = Date.now();
  constructor(
    readonly max: number,
    rate = 0,
  ) {
    this.rate = rate;
    this.#tokens = rate;
  }
  /**
   * How long the next request must wait (ms) to stay within the rate, reserving its turn: a
   * sandbox hammering the proxy is slowed to the rate instead of taking the host's event loop
   * from every other sandbox. Waiting requests are bounded by the socket cap.
   */
  delayNext(now = Date.now()): number {
    if (this.rate <= 0) return 0;
    this.#tokens = Math.min(this.rate, this.#tokens + ((now - this.#refilledAt) * this.rate) / 1000);
    this.#refilledAt = now;
    this.#tokens -= 1;
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens * 1000) / this.rate);
  }
  /** One socket closed; the next episode at the cap is reported again once well below it. */
  release(): void {
    this.open--;
    if (this.open < this.max * 0.75) this.reported = false;
  }
}

/** A listener whose every connection goes to one host service (a loopback port of the host). */
export interface ForwardTarget {
  /** The name reported in events ('localhost', '127.0.0.1'). */
  readonly host: string;
  /** Addresses tried in order. */
  readonly addresses: readonly string[];
  readonly port: number;
  /** The allowlist rule that asked for it. */
  readonly rule: string;
}

/** The policy hook of the proxy: wraps `policy.isNetworkAllowed(host, port)`; host is already normalised. */
export type DecideFn = (host: string, port: number) => NetworkDecision;

/** Options of EgressProxy.start. */
export interface EgressProxyOptions {
  /** The policy's isNetworkAllowed wrapped by the caller; used for connections on the proxy's own port. */
  decide(host: string, port: number): NetworkDecision;
  /** Injectable resolver (name → IP addresses); default dns.promises.lookup(name, { all: true }). */
  resolve?(host: string): Promise<string[]>;
  /** Bind address of the proxy's own listener, default 127.0.0.1. */
  host?: string;
  /** Port of the proxy's own listener, default 0 (a random free port). */
  port?: number;
  /** Budget for resolving a name and connecting to one of its addresses, default 10 000 ms. */
  connectTimeoutMs?: number;
  /**
   * Whether an allowed *name* may resolve to a loopback, link-local (cloud metadata), unspecified
   * or multicast address. Default: false with the built-in DNS resolver (a wildcard entry such as
   * `*.nip.io` must not open the host's loopback services to the sandbox), true when `resolve` is
   * injected (its answers are trusted as given). IP literals the policy lists explicitly are
   * always allowed, whatever this says.
   */
  allowLocalDestinations?: boolean;
  /** Deadline for a client to finish its HTTP head or SOCKS5 handshake, default 10 000 ms. */
  handshakeTimeoutMs?: number;
  /** A client connection (after its handshake) or upstream with no traffic for this long is closed, default 120 000 ms (0: never). */
  idleTimeoutMs?: number;
  /** Sockets (clients and their upstreams) one listener may hold open at once when its scope has no budget, default 512. */
  maxConnections?: number;
  /** DNS servers for the built-in resolver (`ip` or `ip:port`), default the system's. */
  dnsServers?: readonly string[];
  /** Per listener: lookups at once (default 4), waiting (default 32), and the deadline of one (default 5 000 ms). */
  lookupConcurrency?: number;
  lookupQueue?: number;
  lookupTimeoutMs?: number;
}

/**
 * Per-listener policy and event target, for attributing traffic to one sandbox when one proxy
 * serves many. Missing members fall back to the proxy's own decide() and to no extra target
 * (the proxy's 'network' event fires for every decision regardless).
 */
export interface ListenerScope {
  /** Decision function for connections arriving on this listener. */
  decide?: DecideFn;
  /** Receives the 'network' events of connections arriving on this listener. */
  onEvent?: (event: NetworkEvent) => void;
  /**
   * The rule that names `address` itself (an IP or CIDR entry, or `localhost`) for `port`, if
   * any: such an address is reachable even where it is loopback, private or the host's own.
   */
  explicitAddress?: (address: string, port: number) => string | undefined;
  /** Shared by one sandbox's listeners: how many connections it may hold open at once. */
  budget?: ConnectionBudget;
  /** Shared by one sandbox's listeners: its lookups (default: one limiter per listener). */
  lookups?: import('./resolver.js').LookupLimiter;
  /** Set for a forwarding listener: connections are spliced to this host service, no proxy protocol. */
  forward?: ForwardTarget;
}

/** An extra loopback listener opened by EgressProxy.openListener (one per sandbox without a netns). */
export interface OpenedListener {
  /** Bound address (what the sandbox's proxy variables must name). */
  readonly host: string;
  /** Bound port (the one port a Landlock connect rule should allow). */
  readonly port: number;
  /** Stop accepting on this port and destroy its open connections and tunnels. Idempotent. */
  detach(): void;
}

/** A reference to a shared proxy from acquireProxy; release() drops it, and the last release closes the proxy. */
export interface ProxyLease {
  readonly proxy: import('./egress-proxy.js').EgressProxy;
  /** Drop this reference (idempotent); resolves once the proxy is closed if this was the last one. */
  release(): Promise<void>;
}

/** The outcome of admitting one destination (internal). */
export type Admission =
  | { ok: true; host: string; port: number; addresses: string[] }
  | { ok: false; status: 400 | 403 | 502 | 503 | 504; socks: number; message: string };

/** What the protocol handlers need from the proxy core (internal). */
export interface ProxyCore {
  /** Normalise, decide, report, resolve and filter one destination. */
  admit(client: Socket, rawHost: string, port: number, via: NetworkEvent['via']): Promise<Admission>;
  /**
   * Connect to one of the admitted addresses (tracked, so close() can destroy it). 'tunnel'
   * sockets read into a reusable buffer and may only be spliced with tunnel(); 'stream'
   * sockets are ordinary streams (for http.request).
   */
  dial(client: Socket, addresses: string[], port: number, mode: 'tunnel' | 'stream'): Promise<Socket>;
  /** Splice two sockets both ways with backpressure and half-close. */
  tunnel(client: Socket, upstream: Socket): void;
  /** The client finished its handshake: lift the handshake deadline. */
  settle(client: Socket): void;
  /** A keep-alive client is between requests: its next request head has the handshake deadline. */
  awaitHead(client: Socket): void;
}
