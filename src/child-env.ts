// The environment a sandboxed command gets: the host's, sanitised (or narrowed, or the
// caller's), plus what cordon adds: the sandbox markers, the proxy or offline variables, private
// tool caches and the masked ~/.npmrc's non-secret settings. Each piece is cached on what it
// depends on, so that an exec loop builds the environment block once per environment reading.
import { delimiter } from 'node:path';
import { inheritedEnv, MINIMAL_ENV_NAMES, narrowEnv, type SanitizedEnv } from './env.js';
import { sandboxProxyEnv } from './network.js';
import { npmrcSettings, offlineEnv, privateCacheEnv } from './tool-env.js';
import type { SandboxPolicy } from './policy/index.js';
import type { NetworkMode } from './policy/kinds.js';
import { registerCache } from './caches.js';

/** Markers a sandboxed tool can read to adapt (the reference's env convention). */
function markers(policy: SandboxPolicy, cwd: string, network: string): Record<string, string> {
  const roots = policy.kind === 'WorkspaceWrite' ? policy.getWritableRootsWithCwd(cwd).map((r) => r.root) : [];
  return {
    CORDON_SANDBOX: '1',
    CORDON_SANDBOX_TYPE: policy.kind,
    CORDON_NETWORK: network,
    ...(roots.length > 0 ? { CORDON_WRITABLE_ROOTS: roots.join(delimiter) } : {}),
  };
}

/** What the variables cordon adds depend on, besides the policy and cwd. */
export interface ChildEnvFacts {
  /** The sandbox's effective network mode (the report's). */
  network: NetworkMode;
  proxied: boolean;
  /** Private cache directory (in the sandbox's private /tmp), or undefined. */
  cacheDir: string | undefined;
  /** The host's ~/.npmrc, when the policy masks it: its settings go in as variables. */
  npmrcHome: string | undefined;
}

/**
 * `outer`'s map for `owner` (made on first use), then its entry for `key` (made by `make`); at
 * most `limit` entries per owner, the oldest dropped first.
 */
function cachedFor<O extends object, V>(outer: WeakMap<O, Map<string, V>>, owner: O, key: string, limit: number, make: () => V): V {
  let inner = outer.get(owner);
  if (!inner) {
    inner = new Map();
    outer.set(owner, inner);
  }
  let value = inner.get(key);
  if (value === undefined) {
    value = make();
    if (inner.size >= limit) inner.delete(inner.keys().next().value!);
    inner.set(key, value);
  }
  return value;
}

// The variables cordon adds, per (policy, facts): one object each, so that the child's
// environment block is built once per environment reading (env.ts caches on this object).
let markerCache = new WeakMap<SandboxPolicy, Map<string, Record<string, string>>>();
export function childMarkers(policy: SandboxPolicy, cwd: string, facts: ChildEnvFacts): { extra: Record<string, string>; npmrcKeys: string[] } {
  const npmrc = facts.npmrcHome !== undefined ? npmrcSettings(facts.npmrcHome) : undefined;
  // CORDON_WRITABLE_ROOTS includes $TMPDIR unless the policy excludes it.
  const key = `${facts.network}${facts.proxied ? 'p' : 'd'}${npmrc?.version ?? -1}\0${facts.cacheDir ?? ''}\0${process.env.TMPDIR ?? ''}\0${cwd}`;
  const extra = cachedFor(markerCache, policy, key, 64, () => ({
    // Lowest precedence first: the npmrc's settings, then what cordon itself must set.
    ...(npmrc?.env ?? {}),
    ...(facts.cacheDir !== undefined ? privateCacheEnv(facts.cacheDir) : {}),
    ...(facts.network === 'none' ? offlineEnv() : {}),
    ...(facts.proxied ? sandboxProxyEnv(policy) : {}),
    ...markers(policy, cwd, facts.network),
  }));
  return { extra, npmrcKeys: npmrc?.keys ?? [] };
}

let npmrcMasked = new WeakMap<SandboxPolicy, { home: string; masked: boolean }>();
/** Whether the policy masks `home`/.npmrc (cached per policy and home). */
export function masksNpmrc(policy: SandboxPolicy, home: string): boolean {
  let known = npmrcMasked.get(policy);
  if (known?.home !== home) {
    known = { home, masked: policy.isSensitivePath(`${home}/.npmrc`) };
    npmrcMasked.set(policy, known);
  }
  return known.masked;
}

// inheritEnv 'minimal' or a list: the sanitised reading narrowed, cached per reading and list.
let narrowed = new WeakMap<SanitizedEnv, Map<string, SanitizedEnv>>();
registerCache({
  name: 'child-env.ts markerCache, npmrcMasked, narrowed',
  key: 'policy, then (network, proxied, npmrc version, cache dir, TMPDIR, cwd); narrowed: environment reading, then the names kept',
  bound: 'WeakMaps by policy/reading; at most 64 entries per policy, 16 per reading, oldest first',
  invalidation: 'every input is in the key (the npmrc by its version)',
  size: () => null,
  clear: () => {
    markerCache = new WeakMap();
    npmrcMasked = new WeakMap();
    narrowed = new WeakMap();
  },
});
export function inheritedFor(choice: 'filtered' | 'minimal' | readonly string[]): SanitizedEnv {
  const full = inheritedEnv();
  if (choice === 'filtered') return full;
  const names = choice === 'minimal' ? MINIMAL_ENV_NAMES : [...MINIMAL_ENV_NAMES, ...choice];
  return cachedFor(narrowed, full, names.join('\0'), 16, () => narrowEnv(full, names));
}
