// Name resolution for the egress proxy that no sandbox can use to stall the host.
//
// dns.lookup() runs getaddrinfo on libuv's threadpool (4 threads by default), which the host's
// own fs, crypto, zlib and dns.lookup work share: a sandbox sending CONNECTs for random names
// to a resolver that never answers held every thread for the resolver's full retry schedule
// (16-34 s per host lookup, measured). So the proxy resolves with c-ares (dns.Resolver: queries
// on the event loop, no threadpool), with a deadline c-ares enforces itself (the query is
// dropped, not abandoned while it runs on), and each sandbox's lookups go through its own
// LookupLimiter: a few at once, a short queue, refusal beyond it.
//
// c-ares does not read /etc/hosts; names listed there are answered from it first (re-read when
// the file changes), as getaddrinfo would.
import { Resolver } from 'node:dns';
import { statSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';

/** name → addresses, as the proxy consumes it. */
export type ResolveFn = (host: string) => Promise<string[]>;

export interface SystemResolverOptions {
  /** DNS servers (`ip` or `ip:port`, IPv6 as `[ip]:port`); default the system's (resolv.conf). */
  servers?: readonly string[];
  /** Whole budget of one name's lookup (c-ares tries twice within it). */
  timeoutMs: number;
}

const HOSTS_FILE = '/etc/hosts';
let hostsCache: { mtimeMs: number; size: number; checkedAt: number; names: Map<string, string[]> } | undefined;

/** The addresses /etc/hosts gives `name` (lower case), re-read when the file changed (checked at most once a second). */
function hostsFileAddresses(name: string): string[] | undefined {
  const now = Date.now();
  if (!hostsCache || now - hostsCache.checkedAt > 1000) {
    let st: { mtimeMs: number; size: number } | undefined;
    try {
      st = statSync(HOSTS_FILE);
    } catch {
      st = undefined;
    }
    if (!st) hostsCache = { mtimeMs: 0, size: 0, checkedAt: now, names: new Map() };
    else if (!hostsCache || hostsCache.mtimeMs !== st.mtimeMs || hostsCache.size !== st.size) {
      const names = new Map<string, string[]>();
      let text = '';
      try {
        text = readFileSync(HOSTS_FILE, 'utf8');
      } catch {
        // unreadable: no entries
      }
      for (const line of text.split('\n')) {
        const fields = line.replace(/#.*/, '').trim().split(/\s+/);
        const address = fields[0] ?? '';
        if (isIP(address) === 0 || address.includes('%')) continue;
        for (const alias of fields.slice(1)) {
          const key = alias.toLowerCase();
          const list = names.get(key) ?? [];
          if (!list.includes(address)) list.push(address);
          names.set(key, list);
        }
      }
      hostsCache = { mtimeMs: st.mtimeMs, size: st.size, checkedAt: now, names };
    } else hostsCache.checkedAt = now;
  }
  return hostsCache.names.get(name);
}

/** A resolver on c-ares (never the threadpool) with /etc/hosts first; errors carry the c-ares code (ENOTFOUND, ETIMEOUT...). */
export function systemResolver(options: SystemResolverOptions): ResolveFn {
  // Two tries within the budget, so that c-ares itself gives up at the deadline (the query is
  // dropped, not left running): with two tries it gives up after about four times the per-try
  // timeout (1000 ms → 3992 ms measured here; the second try waits twice as long).
  const resolver = new Resolver({ timeout: Math.max(1, Math.floor(options.timeoutMs / 4)), tries: 2 });
  if (options.servers && options.servers.length > 0) resolver.setServers([...options.servers]);
  const settle = (p: Promise<string[]>): Promise<{ ok: string[] } | { err: NodeJS.ErrnoException }> =>
    p.then(
      (ok) => ({ ok }),
      (err: NodeJS.ErrnoException) => ({ err }),
    );
  const query = (host: string, family: 4 | 6): Promise<string[]> =>
    new Promise((resolve, reject) => {
      const done = (err: NodeJS.ErrnoException | null, addresses: string[]) => (err ? reject(err) : resolve(addresses));
      if (family === 4) resolver.resolve4(host, done);
      else resolver.resolve6(host, done);
    });
  return async (host) => {
    const fromHosts = hostsFileAddresses(host);
    if (fromHosts) return fromHosts;
    const [v4, v6] = await Promise.all([settle(query(host, 4)), settle(query(host, 6))]);
    const addresses = [...('ok' in v4 ? v4.ok : []), ...('ok' in v6 ? v6.ok : [])];
    if (addresses.length > 0) return addresses;
    // Both failed or were empty: the IPv4 answer's error says more (ENODATA for v6 is routine).
    const err = 'err' in v4 ? v4.err : 'err' in v6 ? v6.err : Object.assign(new Error(`${host} has no addresses`), { code: 'ENODATA' });
    throw err;
  };
}

/** Limits of one sandbox's lookups. */
export interface LookupLimits {
  /** Lookups running at once. */
  concurrency: number;
  /** Lookups waiting beyond those; more are refused at once (EBUSY). */
  queue: number;
  /** Deadline of one lookup, queueing included (ETIMEDOUT). */
  timeoutMs: number;
}

/**
 * One sandbox's share of name resolution: at most `concurrency` lookups run, `queue` wait, the
 * rest are refused at once; each has a deadline from the moment it was asked for. A lookup that
 * missed its deadline keeps its slot until the resolver gives up on it (c-ares' own timeout), so
 * a silent server can never make one sandbox's lookups pile up.
 */
export class LookupLimiter {
  readonly #limits: LookupLimits;
  #running = 0;
  readonly #waiting: Array<() => void> = [];

  constructor(limits: LookupLimits) {
    this.#limits = limits;
  }

  /** Lookups running and waiting (for tests and diagnostics). */
  get pending(): number {
    return this.#running + this.#waiting.length;
  }

  run(resolve: ResolveFn, host: string): Promise<string[]> {
    const { concurrency, queue, timeoutMs } = this.#limits;
    if (this.#running >= concurrency && this.#waiting.length >= queue) {
      return Promise.reject(
        Object.assign(new Error(`too many lookups at once (${concurrency} running, ${queue} queued)`), { code: 'EBUSY' }),
      );
    }
    return new Promise<string[]>((resolvePromise, reject) => {
      let finished = false;
      const finish = (fn: () => void) => {
        if (finished) return;
        finished = true;
        clearTimeout(timer);
        fn();
      };
      const start = () => {
        if (finished) return; // timed out while queued: never started
        this.#running++;
        let lookup: Promise<string[]>;
        try {
          lookup = resolve(host);
        } catch (err) {
          lookup = Promise.reject(err);
        }
        lookup
          .then(
            (addresses) => finish(() => resolvePromise(addresses)),
            (err: unknown) => finish(() => reject(err)),
          )
          .finally(() => {
            this.#running--;
            this.#waiting.shift()?.();
          });
      };
      const timer = setTimeout(() => {
        const index = this.#waiting.indexOf(start);
        if (index >= 0) this.#waiting.splice(index, 1);
        finish(() => reject(Object.assign(new Error(`resolving ${host} timed out after ${timeoutMs} ms`), { code: 'ETIMEDOUT' })));
      }, timeoutMs);
      timer.unref();
      if (this.#running < concurrency) start();
      else this.#waiting.push(start);
    });
  }
}
