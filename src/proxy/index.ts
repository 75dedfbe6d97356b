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
//   - Resolved special addresses: an allowed name whose address is not public internet
//     (loopback, RFC 1918, 100.64/10, link-local incl. 169.254.169.254, fc00::/7, multicast,
//     documentation..., or one of the host's own interface addresses: host.ts
//     specialAddressClass) is refused unless the listener's explicitAddress() names it (an IP
//     or CIDR allowlist entry); `localhost` and `*.localhost` are the loopback (RFC 6761, never
//     asked of DNS). An injected resolver's answers are trusted as given (tests map names to
//     127.0.0.1); `allowLocalDestinations` overrides either way. Whatever the resolver, a
//     destination equal to one of the proxy's own host-side listeners is refused (a relay loop).
//   - Resolution: c-ares (resolver.ts), never libuv's threadpool; per listener scope a
//     LookupLimiter bounds lookups at once, waiting and their deadline.
//   - Bounds: per scope a ConnectionBudget caps client connections open at once (refused at
//     accept beyond it, one 'limit' event per episode); handshake and idle deadlines.
//   - Forwarding: a scope with `forward` splices every connection to one host service (a
//     loopback port of the host the allowlist names), reported as via 'forward'.
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
export { EgressProxy } from './egress-proxy.js';
export { DEFAULT_LOOKUPS, DEFAULT_MAX_CONNECTIONS, DEFAULT_REQUESTS_PER_SECOND } from './connection-limits.js';
export { LookupLimiter, systemResolver } from './resolver.js';
export { ConnectionBudget } from './types.js';
export { acquireProxy, sharedProxyRefs } from './registry.js';
export { NO_PROXY_HOSTS, proxyEnvFor } from './env.js';
export { normalizeHost } from './host.js';
export { SocksReply } from './socks5.js';
export type { DecideFn, EgressProxyOptions, ForwardTarget, ListenerScope, NetworkDecision, NetworkEvent, OpenedListener, ProxyLease } from './types.js';
