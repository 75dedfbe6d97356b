// Every cache one spawn goes through, in one list: what it is keyed on, how big it may grow, and
// what makes an entry stale. Each module registers its own cache here when it loads, so the
// list cannot omit one that exists; clearCaches() empties them all (a long-running host that
// wants to drop every compiled plan, and its fds, at once; tests).
//
// The native addon keeps two more, bounded in native/binding (kMaxCachedSandboxes = 8 merged
// plans by sandbox key, each holding its own duplicate of the Landlock ruleset fd; at most
// kMaxStandbys = 2 standby children, discarded after kStandbyIdleMs = 5 s unused, or by
// releaseStandbys()). Process-lifetime facts (the kernel probe, cap_last_cap, the host's hard
// rlimits, the prepared cgroup v2 directory, the shared network namespace) are read once and
// are not caches: nothing makes them stale while the process runs.

/** One cache, as clearCaches() and cacheInventory() see it. */
export interface CacheInfo {
  /** Module and variable, e.g. 'filesystem/index.ts plans'. */
  name: string;
  key: string;
  /** The most entries it holds, and how the rest are evicted. */
  bound: string;
  /** What makes an entry stale, and how that is noticed. */
  invalidation: string;
}

interface RegisteredCache extends CacheInfo {
  /** Entries held now; null for a WeakMap (its entries go with their keys). */
  size(): number | null;
  clear(): void;
}

const registry: RegisteredCache[] = [];

/** Called once by each module that keeps a cache. */
export function registerCache(cache: RegisteredCache): void {
  registry.push(cache);
}

/** The registered caches and how many entries each holds now. */
export function cacheInventory(): Array<CacheInfo & { size: number | null }> {
  return registry.map(({ name, key, bound, invalidation, size }) => ({ name, key, bound, invalidation, size: size() }));
}

/** Empties every cache cordon keeps in JS (closing the Landlock ruleset fds they hold). Spawns after it compile again. */
export function clearCaches(): void {
  for (const cache of registry) cache.clear();
}
