// Shared proxies: an exec loop spawning thousands of sandboxes must not start a proxy per
// spawn. acquireProxy(key, options) hands out refcounted leases on one proxy per key; the last
// release closes it. The key names the proxy's options (its decide() above all): acquirers with
// the same key get the first acquirer's proxy and options. Per-sandbox policy and attribution
// belong on the listeners (attachListener / openListener scopes), so one key such as
// 'default' can serve sandboxes with different policies.
import { EgressProxy } from './egress-proxy.js';
import type { EgressProxyOptions, ProxyLease } from './types.js';

interface Entry {
  readonly proxy: Promise<EgressProxy>;
  refs: number;
}

const shared = new Map<string, Entry>();

/** Drop `entry` from the registry if it is still the one registered under `key`. */
function forget(key: string, entry: Entry): void {
  if (shared.get(key) === entry) shared.delete(key);
}

/** A lease on the shared proxy for `key`, starting it with `options` if none is running. */
export async function acquireProxy(key: string, options: EgressProxyOptions): Promise<ProxyLease> {
  let entry = shared.get(key);
  if (entry === undefined) {
    const created: Entry = { proxy: EgressProxy.start(options), refs: 0 };
    shared.set(key, created);
    created.proxy.then(
      // Closed directly (proxy.close()) while leased: later acquirers get a fresh proxy.
      (proxy) => proxy.once('close', () => forget(key, created)),
      () => forget(key, created),
    );
    entry = created;
  }
  const held = entry;
  held.refs++;
  let proxy: EgressProxy;
  try {
    proxy = await held.proxy;
  } catch (err) {
    held.refs--;
    throw err;
  }
  if (proxy.closed) {
    // Raced with a close: this lease must not hand out a dead proxy.
    held.refs--;
    forget(key, held);
    return acquireProxy(key, options);
  }
  let released = false;
  return {
    proxy,
    release: async () => {
      if (released) return;
      released = true;
      held.refs--;
      if (held.refs === 0) {
        // Unregister before closing so an acquire racing with this close starts a new proxy.
        forget(key, held);
        await proxy.close();
      }
    },
  };
}

/** Number of live leases per key (for diagnostics and tests). */
export function sharedProxyRefs(): Record<string, number> {
  return Object.fromEntries([...shared].map(([key, entry]) => [key, entry.refs]));
}
