// The filesystem plan cache: a plan (above all its Landlock ruleset fd) is built once and served
// to every spawn that asks for the same thing while the host's file tree still matches it.
//   Key: the policy's JSON and every other input the plan depends on: cwd, Landlock ABI cap,
//     network, namespaces, enforcement, pty path, protectMissingMetadata, tmp, tmpSizeMb,
//     devices, $HOME and $TMPDIR, and the probe's Landlock ABI, root-ness and mount namespace
//     support (planCacheKey).
//   Bound: at most MAX_CACHED_PLANS plans; the least recently used is evicted first, and its
//     ruleset fd closed with it.
//   Invalidation: a cached plan is served only while its stamps hold (stamps.ts: a root, mask
//     target or missing sensitive path replaced or created, or a split directory's entries
//     changed, make it stale) and, when it needs a mount namespace, for at most
//     RULESET_REUSE_LIMIT spawns; otherwise it is dropped, its ruleset closed, and the caller
//     builds it again. clearFilesystemPlanCache drops every plan.
import { registerCache } from '../caches.js';
import { native } from '../native.js';
import type { SandboxPolicy } from '../policy/index.js';
import { stampPathsOf, stampsValid, type Stamp } from './stamps.js';
import type { BuiltPlan, FilesystemPlan, FilesystemPlanInput } from './types.js';

interface CacheEntry {
  plan: FilesystemPlan;
  /** Spawns served: a ruleset that children add fresh-mount rules to is rebuilt after RULESET_REUSE_LIMIT. */
  uses: number;
  stamps: Stamp[];
  /** The stamps' paths as native().lstatStamps takes them (NUL-terminated, joined once). */
  stampPaths: string;
}

const cache = new Map<string, CacheEntry>();
// Plans kept, least recently used evicted first with their ruleset fds: an agent host using a
// fresh workspace per task would otherwise keep one fd per task forever. (The addon keeps its
// own duplicate of the fd in every plan it caches, so closing ours never reaches a child.)
const MAX_CACHED_PLANS = 64;
registerCache({
  name: 'filesystem/plan-cache.ts plans',
  key: '(policy JSON, cwd, HOME, TMPDIR, options, Landlock ABI cap, probe facts)',
  bound: `${MAX_CACHED_PLANS}, least recently used evicted, its Landlock ruleset fd closed`,
  invalidation: 'on every use, lstat stamps of the paths the plan pinned (roots, masks, anchors): a change rebuilds it; rebuilt after RULESET_REUSE_LIMIT spawns',
  size: () => cache.size,
  clear: () => clearFilesystemPlanCache(),
});

// Every mode-A child adds a rule for each file system it mounts fresh (its /tmp, /proc) to the
// shared ruleset (mount-plan.ts): rules of gone sandboxes stay in it, and each
// landlock_restrict_self copies them all. Rebuilt after this many spawns, the ruleset stays
// small (a new plan: one standby made afresh per this many spawns).
const RULESET_REUSE_LIMIT = 256;

// Policies are immutable: their JSON, part of every cache key, is built once per policy.
const policyJsons = new WeakMap<SandboxPolicy, string>();
function policyJson(policy: SandboxPolicy): string {
  let json = policyJsons.get(policy);
  if (json === undefined) {
    json = JSON.stringify(policy.toJSON());
    policyJsons.set(policy, json);
  }
  return json;
}

/** The cache key of a plan: everything its build reads besides the file tree (which the stamps watch). */
export function planCacheKey(input: FilesystemPlanInput): string {
  return JSON.stringify([
    policyJson(input.policy),
    input.cwd,
    input.landlockAbiCap ?? null,
    input.network,
    input.namespaces,
    input.enforcement,
    input.ptyPath ?? null,
    input.protectMissingMetadata ?? 'placeholder',
    input.tmp ?? 'private',
    input.tmpSizeMb ?? null,
    input.devices ?? null,
    process.env.HOME ?? null,
    process.env.TMPDIR ?? null,
    input.probe.landlockAbi,
    input.probe.isRoot,
    input.probe.mountNamespace,
  ]);
}

/**
 * The plan cached under `key` while it is still valid (it becomes the most recently used).
 * A stale one is dropped here, its ruleset closed: undefined, and the caller builds afresh.
 */
export function cachedPlan(key: string): FilesystemPlan | undefined {
  const hit = cache.get(key);
  if (hit && stampsValid(hit.stamps, hit.stampPaths) && (!hit.plan.needsMountNamespace || ++hit.uses < RULESET_REUSE_LIMIT)) {
    cache.delete(key); // to the back: the most recently used
    cache.set(key, hit);
    return hit.plan;
  }
  if (hit) {
    cache.delete(key);
    releasePlan(hit.plan);
  }
  return undefined;
}

/** Caches a freshly built plan under `key`, evicting the least recently used beyond the bound. */
export function cachePlan(key: string, built: BuiltPlan): FilesystemPlan {
  const entry: CacheEntry = { ...built, uses: 1, stampPaths: stampPathsOf(built.stamps) };
  while (cache.size >= MAX_CACHED_PLANS) {
    const [oldestKey, oldest] = cache.entries().next().value!;
    cache.delete(oldestKey);
    releasePlan(oldest.plan);
  }
  cache.set(key, entry);
  return entry.plan;
}

/** Closes every cached ruleset and forgets the plans (tests; long-lived hosts changing policy). */
export function clearFilesystemPlanCache(): void {
  for (const e of cache.values()) releasePlan(e.plan);
  cache.clear();
}

function releasePlan(plan: FilesystemPlan): void {
  if (plan.rulesetFd >= 0) {
    native().landlock.closeRuleset(plan.rulesetFd);
    plan.rulesetFd = -1;
  }
}
