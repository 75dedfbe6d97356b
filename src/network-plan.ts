// What an allowlist sandbox's network namespace holds, decided from the policy alone (pure):
// the egress proxy's door, and one door per host loopback service the allowlist names.
//
// A tool that honours NO_PROXY (localhost,127.0.0.1,::1) connects to `localhost:5432`
// directly, and in its own namespace that is its own loopback: nothing of the host is there.
// So an entry naming the host's loopback (`localhost:5432`, `127.0.0.1:5432`, `::1:5432`)
// gets a listener on that port inside the namespace, which the host splices to its own
// loopback port, and nothing else: every other port of the sandbox's loopback stays its own.
// Tools that send everything to the proxy reach the same port through it (the proxy admits
// loopback for an entry that names it).
import { canonicalDomain, type SandboxPolicy } from './policy/index.js';
import { registerCache } from './caches.js';

/** The proxy's port inside the namespace, unless a forwarded host port takes it. */
export const SANDBOX_PROXY_PORT = 3128;
/** Listeners the native side hands back at most (native/plan.h kMaxListeners). */
const MAX_LISTENERS = 16;

/** One host loopback port forwarded into the sandbox. */
export interface HostPortForward {
  /** The entry's name, as events report it: 'localhost', '127.0.0.1' or '::1'. */
  readonly host: string;
  readonly port: number;
  /** Host addresses tried in order. */
  readonly addresses: readonly string[];
  /** The allowlist rule, e.g. 'localhost:5432'. */
  readonly rule: string;
}

export interface NetworkListenerPlan {
  proxyPort: number;
  forwards: HostPortForward[];
  /** In handoff order: the proxy's first, then per forward its IPv4 and/or IPv6 listener. */
  listeners: Array<{ port: number; ipv6: boolean; forward?: HostPortForward }>;
  /** UDP entries: the proxy relays TCP only, so these admit nothing. */
  udpEntries: string[];
  /** What cannot be built (too many forwards). */
  problems: string[];
}

const LOOPBACK_NAMES: Record<string, { addresses: string[]; v4: boolean; v6: boolean }> = {
  localhost: { addresses: ['127.0.0.1', '::1'], v4: true, v6: true },
  '127.0.0.1': { addresses: ['127.0.0.1'], v4: true, v6: false },
  '::1': { addresses: ['::1'], v4: false, v6: true },
};

let plans = new WeakMap<SandboxPolicy, NetworkListenerPlan>();
registerCache({
  name: 'network-plan.ts plans',
  key: 'policy object (policies are immutable)',
  bound: 'WeakMap: one per live policy',
  invalidation: 'none needed: a function of the policy alone',
  size: () => null,
  clear: () => (plans = new WeakMap()),
});

/** The listeners of an allowlist sandbox's namespace (cached per policy object). */
export function networkListenerPlan(policy: SandboxPolicy): NetworkListenerPlan {
  let plan = plans.get(policy);
  if (plan) return plan;
  const forwards: HostPortForward[] = [];
  const udpEntries: string[] = [];
  const seen = new Set<string>();
  for (const entry of policy.networkAllowlist()) {
    const domain = canonicalDomain(entry.domain);
    const rule = `${domain.includes(':') ? `[${domain}]` : domain}:${entry.port}`;
    if (entry.protocol !== 'tcp') {
      udpEntries.push(rule);
      continue;
    }
    const loopback = LOOPBACK_NAMES[domain];
    if (!loopback || entry.port === 0 || seen.has(rule)) continue;
    seen.add(rule);
    forwards.push({ host: domain, port: entry.port, addresses: loopback.addresses, rule });
  }
  const taken = new Set(forwards.map((f) => f.port));
  let proxyPort = SANDBOX_PROXY_PORT;
  while (taken.has(proxyPort)) proxyPort++;
  const listeners: NetworkListenerPlan['listeners'] = [{ port: proxyPort, ipv6: false }];
  const problems: string[] = [];
  // One port bound by two entries (localhost:5432 and 127.0.0.1:5432) gets one listener per family.
  const bound = new Set<string>();
  for (const forward of forwards) {
    const shape = LOOPBACK_NAMES[forward.host]!;
    for (const ipv6 of [false, true]) {
      if (ipv6 ? !shape.v6 : !shape.v4) continue;
      const key = `${ipv6 ? 6 : 4}:${forward.port}`;
      if (bound.has(key)) continue;
      if (listeners.length >= MAX_LISTENERS) {
        problems.push(`network: host port ${forward.rule} cannot be forwarded: at most ${MAX_LISTENERS - 1} loopback listeners per sandbox`);
        break;
      }
      bound.add(key);
      listeners.push({ port: forward.port, ipv6, forward });
    }
  }
  plan = { proxyPort, forwards, listeners, udpEntries, problems };
  plans.set(policy, plan);
  return plan;
}
