// Variables that make everyday tools behave inside a sandbox as a user would want, derived from
// what the sandbox is (pure but for reading the host's ~/.npmrc):
//   - no network: tools fail at once, saying so, instead of retrying for a minute (npm's
//     default retries took 70 s measured). The proxy variables name a host that cannot exist
//     (RFC 6761 `.invalid`) and says why: "Could not resolve proxy: cordon-network-is-off.invalid".
//   - package-manager caches: $HOME is read-only in a sandbox, and the user's real caches are
//     not the sandbox's to write (a poisoned pip wheel cache runs in the host's next install).
//     They go to a directory in the sandbox's private /tmp, gone with it.
//   - ~/.npmrc is masked (it holds tokens), but most of it is not secret: registry, scoped
//     registries, strict-ssl, ca... Its other keys reach npm as npm_config_<key> variables.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { hasUrlCredentials, isSecretEnvName } from './env.js';

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

/** Cache variables pointing npm, pip, yarn, pnpm, go and XDG-following tools beneath `dir`. */
export function privateCacheEnv(dir: string): Record<string, string> {
  return {
    npm_config_cache: join(dir, 'npm'),
    PIP_CACHE_DIR: join(dir, 'pip'),
    YARN_CACHE_FOLDER: join(dir, 'yarn'),
    npm_config_store_dir: join(dir, 'pnpm-store'),
    GOCACHE: join(dir, 'go-build'),
    GOMODCACHE: join(dir, 'go-mod'),
    XDG_CACHE_HOME: join(dir, 'xdg'),
  };
}

/** Keys of an npmrc that are secrets (auth, the client key, one-time passwords) or point at files holding them. */
const NPMRC_SECRET = /(^|[/:])(_?authtoken|_auth|_password|username|email|keyfile|key|certfile|otp)$/i;

/** One reading of an npmrc; `version` changes whenever the file did (cache keys use it). */
export interface NpmrcSettings {
  env: Record<string, string>;
  keys: string[];
  version: number;
}
let npmrcCache: (NpmrcSettings & { path: string; mtimeMs: number; size: number; checkedAt: number }) | undefined;
let npmrcVersion = 0;
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
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';') || line.startsWith('[')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) continue;
    const key = line.slice(0, eq).trim();
    let value = line.slice(eq + 1).trim();
    if (value.length >= 2 && (value[0] === '"' || value[0] === "'") && value.endsWith(value[0]!)) value = value.slice(1, -1);
    if (key.includes('\0') || value.includes('\0') || key.includes('=')) continue;
    if (NPMRC_SECRET.test(key) || isSecretEnvName(key) || value.includes('${') || hasUrlCredentials(value)) continue;
    env[`npm_config_${key}`] = value;
    keys.push(key);
  }
  npmrcCache = { path, mtimeMs: st.mtimeMs, size: st.size, checkedAt: now, env, keys, version: ++npmrcVersion };
  return npmrcCache;
}
