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
  /** How the client asked: an absolute-form HTTP request, an HTTP CONNECT tunnel, or SOCKS5. */
  via: 'http' | 'connect' | 'socks5';
  /** The rule that allowed or denied it, or why the proxy refused an allowed name (e.g. it resolves to loopback). */
  reason?: string;
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
  /** Deadline for a client to finish its HTTP head or SOCKS5 handshake, default 30 000 ms. */
  handshakeTimeoutMs?: number;
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
  | { ok: false; status: 400 | 403 | 502 | 504; socks: number; message: string };

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
}
