// Public surface of the embedded egress proxy (network allowlist mode, brief §6.4).
//
// What it is: an HTTP (absolute-form forward, CONNECT, forwarded Upgrade) and SOCKS5 (CONNECT,
// no auth) proxy living in the host process. No helper binaries, no daemon.
//
// Decisions, in one place:
//   - One port for both protocols. The first byte decides: 0x05 is SOCKS5, anything else goes
//     to Node's HTTP parser (HTTP methods are ASCII letters). One listener per sandbox and one
//     address for HTTP_PROXY, HTTPS_PROXY and ALL_PROXY (=socks5h://).
//   - decide(host, port) is the only policy: the proxy normalises the host first (lower case,
//     one trailing dot dropped, IPv6 brackets stripped and compressed) and refuses with 400,
//     without asking, anything that is neither an IP literal nor a valid host name
//     (`127.1`, `a..b`, zone ids).
//   - IP literals are decided as the literal: allowed only when the allowlist lists that exact
//     IP (the policy's matcher treats IP patterns as exact). Clients given socks5:// (local DNS)
//     therefore fail against a name-only allowlist; the env uses socks5h://.
//   - DNS rebinding: the proxy decides on the name the client asked for, resolves it itself
//     (after an allow; denied names are never looked up), and connects only to what it resolved.
//     The client never supplies an address for a name; forwarded requests get their Host header
//     set from the request target.
//   - Resolved local addresses: with the system resolver, an allowed name that resolves to
//     loopback, link-local (169.254.169.254 metadata), unspecified or multicast is refused
//     (a wildcard such as `*.nip.io` must not reach the host's own services). An injected
//     resolver's answers are trusted as given (tests map names to 127.0.0.1);
//     `allowLocalDestinations` overrides either way. Whatever the resolver, a destination equal
//     to one of the proxy's own host-side listeners is refused (a relay loop).
//   - Events: one 'network' event per admission decision ({host, port, allowed, via, reason}),
//     on the proxy and on the listener's onEvent. allowed:true means the policy allowed it;
//     DNS or connect failures after that reach the client as 502/504 (SOCKS 0x04/0x05/0x06).
//   - Sharing: acquireProxy(key, options) refcounts one proxy per key; the last release closes
//     it. Attribution and per-sandbox policy come from listener scopes: attachListener(fd,
//     scope) for sockets created inside a sandbox's network namespace, openListener(scope) for a
//     per-sandbox host port when there is no netns (Landlock then allows connecting to that
//     port only).
//   - Lifecycle: close() stops every listener and destroys every tunnel; when it resolves no
//     handle of the proxy is left. detach() of one listener destroys its connections too.
export { DEFAULT_LOOKUPS, DEFAULT_MAX_CONNECTIONS, EgressProxy } from './egress-proxy.js';
export { LookupLimiter, systemResolver } from './resolver.js';
export { ConnectionBudget } from './types.js';
export { acquireProxy, sharedProxyRefs } from './registry.js';
export { NO_PROXY_HOSTS, proxyEnvFor } from './env.js';
export { normalizeHost } from './host.js';
export { SocksReply } from './socks5.js';
export type { DecideFn, EgressProxyOptions, ForwardTarget, ListenerScope, NetworkDecision, NetworkEvent, OpenedListener, ProxyLease } from './types.js';
