// Variables that make everyday tools behave inside a sandbox as a user would want, derived from
// what the sandbox is (pure but for reading the host's ~/.npmrc):
//   - no network: tools fail at once, saying so, instead of retrying for a minute (npm's
//     default retries took 70 s measured). The proxy variables name a host that cannot exist
//     (RFC 6761 `.invalid`) and says why: "Could not resolve proxy: cordon-network-is-off.invalid".
//   - package-manager caches: $HOME is read-only in a sandbox, and the user's real caches are
//     not the sandbox's to write (a poisoned pip wheel cache runs in the host's next install).
//     They go to a directory in the sandbox's private /tmp, gone with it.
//   - ~/.npmrc is masked (it holds tokens), but most of it is not secret: registry, scoped
//     registries, strict-ssl, ca... Those settings (an allowlist of keys) reach npm as
//     npm_config_<key> variables.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { hasUrlCredentials } from './env.js';
import { registerCache } from './caches.js';

/** The proxy host a no-network sandbox's tools are pointed at: it never resolves, and its name says why. */
export const NETWORK_OFF_PROXY = 'http://cordon-network-is-off.invalid:9';

/** Variables for a sandbox with no network. */
export function offlineEnv(): Record<string, string> {
  return {
    HTTP_PROXY: NETWORK_OFF_PROXY,
    http_proxy: NETWORK_OFF_PROXY,
    HTTPS_PROXY: NETWORK_OFF_PROXY,
    https_proxy: NETWORK_OFF_PROXY,
    ALL_PROXY: NETWORK_OFF_PROXY,
    all_proxy: NETWORK_OFF_PROXY,
    npm_config_proxy: NETWORK_OFF_PROXY,
    npm_config_https_proxy: NETWORK_OFF_PROXY,
    // Retries cannot help without a network.
    npm_config_fetch_retries: '0',
    PIP_RETRIES: '0',
    YARN_HTTP_PROXY: NETWORK_OFF_PROXY,
    YARN_HTTPS_PROXY: NETWORK_OFF_PROXY,
  };
}

/**
 * Cache variables pointing npm, pip, yarn, go and XDG-following tools beneath `dir`. (Not pnpm's
 * store-dir: npm warns about every npm_config_* key it does not know.)
 */
export function privateCacheEnv(dir: string): Record<string, string> {
  return {
    npm_config_cache: join(dir, 'npm'),
    PIP_CACHE_DIR: join(dir, 'pip'),
    YARN_CACHE_FOLDER: join(dir, 'yarn'),
    GOCACHE: join(dir, 'go-build'),
    GOMODCACHE: join(dir, 'go-mod'),
    XDG_CACHE_HOME: join(dir, 'xdg'),
  };
}

/**
 * The npmrc keys passed on: settings npm documents that hold no secret and change where or how
 * it installs, written as plain `key=value`. Anything else is left out, whatever its spelling:
 * npm's ini parser reads quoted keys, `key[]` arrays, inline comments and CR line ends, so a
 * filter looking for auth keys by name would miss `"//r/:_authToken"=...`; an allowlist cannot.
 * Proxy keys are cordon's to set. `@scope:registry` is accepted by its shape.
 */
const NPMRC_KEYS = new Set([
  'registry', 'strict-ssl', 'cafile', 'ca', 'fund', 'audit', 'audit-level', 'save-exact', 'save-prefix',
  'engine-strict', 'legacy-peer-deps', 'strict-peer-deps', 'package-lock', 'lockfile-version', 'progress',
  'loglevel', 'color', 'unicode', 'update-notifier', 'ignore-scripts', 'prefer-offline', 'prefer-online',
  'fetch-retries', 'fetch-retry-factor', 'fetch-retry-mintimeout', 'fetch-retry-maxtimeout', 'fetch-timeout',
  'maxsockets', 'omit', 'include', 'install-links', 'install-strategy', 'git-tag-version', 'sign-git-tag',
  'tag-version-prefix', 'init-license', 'init-version', 'init-author-name', 'init-author-url', 'script-shell',
  'shell', 'user-agent', 'before', 'global-style', 'workspaces-update', 'provenance', 'access', 'tag',
]);
const SCOPED_REGISTRY = /^@[a-z0-9][a-z0-9._-]*:registry$/;

/** One reading of an npmrc; `version` changes whenever the file did (cache keys use it). */
export interface NpmrcSettings {
  env: Record<string, string>;
  keys: string[];
  version: number;
}

let npmrcCache: (NpmrcSettings & { path: string; mtimeMs: number; size: number; checkedAt: number }) | undefined;
let npmrcVersion = 0;
registerCache({
  name: 'tool-env.ts npmrcCache',
  key: '~/.npmrc path',
  bound: 'one file',
  invalidation: "re-stat at most every NPMRC_RECHECK_MS; re-read when its mtime or size changed",
  size: () => (npmrcCache ? 1 : 0),
  clear: () => (npmrcCache = undefined),
});
const NO_NPMRC: NpmrcSettings = { env: {}, keys: [], version: 0 };
/** An exec loop spawns thousands of times a second: the file is looked at again at most this often. */
const NPMRC_RECHECK_MS = 500;

/**
 * The non-secret settings of the host's `~/.npmrc` as npm_config_* variables, and their keys.
 * Dropped: auth keys, anything with `${VAR}` (npm would expand the host's secret env), values
 * holding URL credentials. Cached per file version.
 */
export function npmrcSettings(home: string): NpmrcSettings {
  const path = join(home, '.npmrc');
  const now = Date.now();
  if (npmrcCache && npmrcCache.path === path && now - npmrcCache.checkedAt < NPMRC_RECHECK_MS) return npmrcCache;
  let st: { mtimeMs: number; size: number } | undefined;
  try {
    st = statSync(path);
  } catch {
    npmrcCache = undefined;
    return NO_NPMRC;
  }
  if (npmrcCache && npmrcCache.path === path && npmrcCache.mtimeMs === st.mtimeMs && npmrcCache.size === st.size) {
    npmrcCache.checkedAt = now;
    return npmrcCache;
  }
  const env: Record<string, string> = {};
  const keys: string[] = [];
  let text = '';
  try {
    if (st.size <= 1 << 20) text = readFileSync(path, 'utf8');
  } catch {
    text = '';
  }
  for (const raw of text.split(/\r\n|\r|\n/)) {
    const line = raw.trim();
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    if (!NPMRC_KEYS.has(key) && !SCOPED_REGISTRY.test(key)) continue;
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0]!)) value = value.slice(1, -1);
    // Values npm would expand (${VAR}: the host's secrets), with credentials, or not plain text.
    if (/[\0\r\n;#]/.test(value) || value.includes('${') || hasUrlCredentials(value)) continue;
    // npm reads npm_config_fetch_retries as fetch-retries: the spelling cordon's own variables
    // use, so that one of ours (offline: fetch-retries 0) replaces the npmrc's instead of racing it.
    env[`npm_config_${SCOPED_REGISTRY.test(key) ? key : key.replace(/-/g, '_')}`] = value;
    keys.push(key);
  }
  npmrcCache = { path, mtimeMs: st.mtimeMs, size: st.size, checkedAt: now, env, keys, version: ++npmrcVersion };
  return npmrcCache;
}
