// Network allowlist for one sandboxed child: the policy's isNetworkAllowed becomes the
// decision of the host's shared egress proxy, served on a listening socket that the child
// created inside its own network namespace (its only way out: that namespace has nothing but
// a loopback). One proxy serves every child of the host; each child's listener carries its
// own policy and reports to its own SandboxedProcess ('network' events).
import type { EventEmitter } from 'node:events';
import { native } from './native.js';
import { domainMatches, type SandboxPolicy } from './policy/index.js';
import { acquireProxy, proxyEnvFor, type NetworkDecision, type NetworkEvent } from './proxy/index.js';

/** Port of the proxy listener inside a sandbox's network namespace (HTTP and SOCKS5 on one port). */
export const SANDBOX_PROXY_PORT = 3128;

/** Resolver for the proxy (names → addresses); tests inject one, default is the system's. */
export type NetworkResolver = (host: string) => Promise<string[]>;

/** The proxy variables a sandboxed child gets in allowlist mode. */
export function sandboxProxyEnv(): Record<string, string> {
  return proxyEnvFor('127.0.0.1', SANDBOX_PROXY_PORT);
}

/** The policy's allowlist as a proxy decision, naming the rule either way. */
export function policyDecider(policy: SandboxPolicy): (host: string, port: number) => NetworkDecision {
  return (host, port) => {
    if (policy.isNetworkAllowed(host, port)) {
      const entry = policy.networkAllowlist().find((e) => e.port === port && domainMatches(e.domain, host));
      return { allowed: true, rule: entry ? `${entry.domain}:${entry.port}` : 'network_access' };
    }
    return { allowed: false, rule: `no network_allowlist entry matches ${host}:${port}` };
  };
}

const resolverKeys = new WeakMap<NetworkResolver, string>();
let resolverSerial = 0;
function proxyKey(resolve: NetworkResolver | undefined): string {
  if (!resolve) return 'cordon:system-dns';
  let key = resolverKeys.get(resolve);
  if (!key) {
    key = `cordon:resolver-${++resolverSerial}`;
    resolverKeys.set(resolve, key);
  }
  return key;
}

/**
 * Serves `listenerFd` (created in the child's network namespace) with the shared proxy until
 * the child exits. Connections the child makes before the proxy is attached wait in the
 * listen backlog.
 */
export function serveChildNetwork(
  child: EventEmitter,
  listenerFd: number,
  policy: SandboxPolicy,
  resolve: NetworkResolver | undefined,
): void {
  let exited = false;
  let detach: (() => void) | undefined;
  let release: (() => Promise<void>) | undefined;
  child.once('exit', () => {
    exited = true;
    detach?.();
    void release?.();
  });
  acquireProxy(proxyKey(resolve), {
    // The shared proxy's own port is not used by sandboxes: refuse everything there.
    decide: () => ({ allowed: false, rule: 'connections must arrive through a sandbox listener' }),
    ...(resolve ? { resolve } : {}),
  }).then(
    (lease) => {
      release = () => lease.release();
      if (exited) {
        native().closeFd(listenerFd);
        void lease.release();
        return;
      }
      detach = lease.proxy.attachListener(listenerFd, {
        decide: policyDecider(policy),
        onEvent: (event: NetworkEvent) => child.emit('network', event),
      });
    },
    (err: Error) => {
      native().closeFd(listenerFd);
      child.emit('error', err);
    },
  );
}
