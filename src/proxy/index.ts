// Public surface of the embedded egress proxy (network allowlist mode).
export { EgressProxy } from './egress-proxy.js';
export { acquireProxy, sharedProxyRefs } from './registry.js';
export { NO_PROXY_HOSTS, proxyEnvFor } from './env.js';
export { normalizeHost } from './host.js';
export { SocksReply } from './socks5.js';
export type { DecideFn, EgressProxyOptions, ListenerScope, NetworkDecision, NetworkEvent, OpenedListener, ProxyLease } from './types.js';
