// Network allowlist for one sandboxed child: the policy's allowlist becomes the decision of the
// host's shared egress proxy, served on listening sockets that the child created inside its own
// network namespace (its only way out: that namespace has nothing but a loopback). One proxy
// serves every child of the host; each child's listeners carry its own policy, its own
// connection budget and lookup limiter, and report to its own SandboxedProcess ('network').
import type { EventEmitter } from 'node:events';
import { native } from './native.js';
import { networkListenerPlan, type NetworkListenerPlan } from './network-plan.js';
import { domainMatches, isIpPattern, type SandboxPolicy } from './policy/index.js';
import { proxyEnvFor } from './proxy/env.js';
import type { EgressProxyOptions, NetworkDecision, NetworkEvent } from './proxy/index.js';
import { registerCache } from './caches.js';

export { SANDBOX_PROXY_PORT } from './network-plan.js';

/** Resolver for the proxy (names → addresses); tests inject one, default is c-ares with the system's servers. */
export type NetworkResolver = (host: string) => Promise<string[]>;

/** How the egress proxy treats one sandbox (SpawnOptions.proxy); every field has a documented default. */
export interface ProxyOptions {
  /** Sockets the host holds for the sandbox at once: its connections to the proxy and forwarded ports and their upstreams (default 512). */
  maxConnections?: number;
  /** Requests (proxy admissions and forwarded connections) per second, beyond which they wait their turn (default 1000; 0: unlimited). */
  requestsPerSecond?: number;
  /** Its lookups running at once (default 4), waiting beyond those (default 32), deadline of one (default 5000 ms). */
  lookupConcurrency?: number;
  lookupQueue?: number;
  lookupTimeoutMs?: number;
  /** Proxy-wide (sandboxes with the same values share one proxy): DNS servers, default the system's. */
  dnsServers?: readonly string[];
  /** Proxy-wide: deadline of a client's request head or SOCKS5 handshake (default 10 000 ms). */
  handshakeTimeoutMs?: number;
  /** Proxy-wide: a client connection (after its head) or upstream with no traffic this long is closed (default 120 000 ms; 0: never). */
  idleTimeoutMs?: number;
}

/** The proxy variables a sandboxed child gets in allowlist mode. */
export function sandboxProxyEnv(policy: SandboxPolicy): Record<string, string> {
  return proxyEnvFor('127.0.0.1', networkListenerPlan(policy).proxyPort);
}

/**
 * The policy's allowlist as a proxy decision, naming the rule either way. Only TCP entries
 * count: the proxy relays TCP, and a `"protocol":"udp"` entry must not open TCP.
 */
export function policyDecider(policy: SandboxPolicy): (host: string, port: number) => NetworkDecision {
  const tcp = policy.networkAllowlist().filter((e) => e.protocol === 'tcp');
  const udpOnly = policy.networkAllowlist().filter((e) => e.protocol !== 'tcp');
  return (host, port) => {
    const entry = tcp.find((e) => e.port === port && domainMatches(e.domain, host));
    if (entry) return { allowed: true, rule: `${entry.domain}:${entry.port}` };
    const udp = udpOnly.find((e) => e.port === port && domainMatches(e.domain, host));
    if (udp) return { allowed: false, rule: `${udp.domain}:${udp.port} is a udp entry: it admits no TCP` };
    return { allowed: false, rule: `no network_allowlist entry matches ${host}:${port}` };
  };
}

/**
 * The IP or CIDR TCP entry naming `address:port` itself, if any (the proxy treats `localhost`
 * entries as naming the loopback on its own).
 */
export function explicitAddressRule(policy: SandboxPolicy): (address: string, port: number) => string | undefined {
  const named = policy.networkAllowlist().filter((e) => e.protocol === 'tcp' && isIpPattern(e.domain));
  return (address, port) => {
    const entry = named.find((e) => e.port === port && domainMatches(e.domain, address));
    return entry ? `${entry.domain}:${entry.port}` : undefined;
  };
}

let resolverKeys = new WeakMap<NetworkResolver, string>();
registerCache({
  name: 'network.ts resolverKeys',
  key: 'networkResolver function',
  bound: 'WeakMap: one per live resolver',
  invalidation: 'none needed: a serial number naming the function',
  size: () => null,
  clear: () => (resolverKeys = new WeakMap()),
});
let resolverSerial = 0;
/** The options that belong to the whole proxy (sandboxes with the same ones share it), those set only. */
function proxyWide(options: ProxyOptions): Partial<EgressProxyOptions> {
  const { dnsServers, handshakeTimeoutMs, idleTimeoutMs, lookupTimeoutMs } = options;
  return Object.fromEntries(
    Object.entries({ dnsServers, handshakeTimeoutMs, idleTimeoutMs, lookupTimeoutMs }).filter(([, v]) => v !== undefined),
  ) as Partial<EgressProxyOptions>;
}

function proxyKey(resolve: NetworkResolver | undefined, wide: Partial<EgressProxyOptions>): string {
  let key = 'cordon:system-dns';
  if (resolve) {
    key = resolverKeys.get(resolve) ?? `cordon:resolver-${++resolverSerial}`;
    resolverKeys.set(resolve, key);
  }
  return Object.keys(wide).length === 0 ? key : `${key}:${JSON.stringify(wide)}`;
}

/**
 * Serves the listener fds the child created in its network namespace (in the order of the
 * policy's NetworkListenerPlan: the proxy's first, then the forwarded host ports) until the
 * child exits. Connections the child makes before the proxy is attached wait in the backlog.
 */
export function serveChildNetwork(
  child: EventEmitter,
  listenerFds: readonly number[],
  policy: SandboxPolicy,
  resolve: NetworkResolver | undefined,
  options: ProxyOptions = {},
): void {
  const plan: NetworkListenerPlan = networkListenerPlan(policy);
  const fds = listenerFds.filter((fd) => fd >= 0);
  let exited = false;
  const detachers: Array<() => void> = [];
  let release: (() => Promise<void>) | undefined;
  child.once('exit', () => {
    exited = true;
    for (const detach of detachers) detach();
    void release?.();
  });
  const closeAll = () => {
    for (const fd of fds) native().closeFd(fd);
  };
  const wide = proxyWide(options);
  // The proxy itself (node:http, c-ares, its parsers: about 7 ms to load) loads with the first
  // allowlist spawn, not with `import 'cordon'`; the child's first connections wait in the backlog.
  import('./proxy/index.js')
    .then((proxy) =>
      proxy
        .acquireProxy(proxyKey(resolve, wide), {
          // The shared proxy's own port is not used by sandboxes: refuse everything there.
          decide: () => ({ allowed: false, rule: 'connections must arrive through a sandbox listener' }),
          ...(resolve ? { resolve } : {}),
          ...wide,
        })
        .then((lease) => ({ proxy, lease })),
    )
    .then(
      ({ proxy, lease }) => {
        release = () => lease.release();
        if (exited) {
          closeAll();
          void lease.release();
          return;
        }
        // One budget and one lookup limiter for all of this sandbox's listeners.
        const { ConnectionBudget, LookupLimiter, DEFAULT_LOOKUPS, DEFAULT_MAX_CONNECTIONS, DEFAULT_REQUESTS_PER_SECOND } = proxy;
        const shared = {
          decide: policyDecider(policy),
          explicitAddress: explicitAddressRule(policy),
          onEvent: (event: NetworkEvent) => child.emit('network', event),
          budget: new ConnectionBudget(options.maxConnections ?? DEFAULT_MAX_CONNECTIONS, options.requestsPerSecond ?? DEFAULT_REQUESTS_PER_SECOND),
          lookups: new LookupLimiter({
            concurrency: options.lookupConcurrency ?? DEFAULT_LOOKUPS.concurrency,
            queue: options.lookupQueue ?? DEFAULT_LOOKUPS.queue,
            timeoutMs: options.lookupTimeoutMs ?? DEFAULT_LOOKUPS.timeoutMs,
          }),
        };
        listenerFds.forEach((fd, index) => {
          if (fd < 0) return;
          const forward = plan.listeners[index]?.forward;
          detachers.push(lease.proxy.attachListener(fd, forward ? { ...shared, forward } : shared));
        });
      },
      (err: Error) => {
        closeAll();
        child.emit('error', err);
      },
    );
}
