// Environment hygiene for sandboxed children (the reference's list, made systematic): drop
// variables that carry secrets or steer the dynamic linker, keep what tools need, add markers.
import { nodeWorkerThreads } from './lazy-node.js';
import { native } from './native.js';
import { registerCache } from './caches.js';

/** Exact names that are always removed from an inherited environment. */
const DROPPED_NAMES = new Set([
  'OPENAI_API_KEY', 'ANTHROPIC_API_KEY', 'GEMINI_API_KEY', 'GOOGLE_API_KEY', 'MISTRAL_API_KEY',
  'COHERE_API_KEY', 'GROQ_API_KEY', 'DEEPSEEK_API_KEY', 'XAI_API_KEY', 'OPENROUTER_API_KEY',
  'TOGETHER_API_KEY', 'PERPLEXITY_API_KEY', 'HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN', 'REPLICATE_API_TOKEN',
  'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_SECURITY_TOKEN',
  'GOOGLE_APPLICATION_CREDENTIALS', 'AZURE_CLIENT_SECRET', 'AZURE_CLIENT_CERTIFICATE_PATH',
  'GITHUB_TOKEN', 'GH_TOKEN', 'GITLAB_TOKEN', 'NPM_TOKEN', 'NODE_AUTH_TOKEN', 'CARGO_REGISTRY_TOKEN',
  'PYPI_TOKEN', 'TWINE_PASSWORD', 'DATABASE_URL', 'PGPASSWORD', 'MYSQL_PWD', 'MONGODB_URI',
  'REDIS_PASSWORD', 'SSH_AUTH_SOCK', 'GPG_AGENT_INFO', 'VAULT_TOKEN', 'KUBECONFIG',
  'SLACK_BOT_TOKEN', 'SLACK_TOKEN', 'DISCORD_TOKEN', 'TELEGRAM_BOT_TOKEN',
]);

/**
 * Name shapes that carry secrets by convention, case-insensitive, where the words of a name are
 * split at `_` and `-`:
 *   - a secret word anywhere in it, alone or plural, with anything after (OPENAI_API_KEY_2,
 *     STRIPE_SECRET_KEY_LIVE, GITHUB_TOKENS, DOCKER_AUTH_CONFIG, REGISTRY_CREDS, CI_JOB_JWT,
 *     SESSION_COOKIE, SLACK_WEBHOOK_URL, AZURE_STORAGE_CONNECTION_STRING...);
 *   - `..._PWD` (but never PWD or OLDPWD, the shell's working directories);
 *   - a camelCase or run-together tail: githubToken, MYAPIKEY, dbPassword, clientSecret;
 *   - 1Password's OP_SESSION_<account>, NETRC, and every dynamic-linker variable (LD_*).
 */
const SECRET_WORD = /(^|[_-])(API_?KEYS?|KEYS?|TOKENS?|SECRETS?|PASSWORDS?|PASSWD|PASS|PW|PASSPHRASE|PAT|DSN|AUTH|AUTHORIZATION|CREDENTIALS?|CREDS|JWT|COOKIES?|WEBHOOK(_URL)?|CONNECTION_?STRINGS?|SECRET_KEY_BASE)([_-]|\d|$)/i;
const DROPPED_PATTERNS = [
  /^LD_/,
  SECRET_WORD,
  /[_-]PWD([_-]|\d|$)/i,
  /(token|api_?key|secret|password|passwd|passphrase|credentials?|authorization)$/i,
  /(secret|access|private|signing|master|encryption|client|account|storage)_?key$/i,
  /authtoken|_auth([^a-z]|$)|_password/i,
  /connectionstrings?|^azurewebjobsstorage$/i,
  /^OP_SESSION_/i,
  /^(NETRC|PGPASS)$/i,
];

/**
 * Names the shapes above would drop that carry no secret and that tools break without: git's
 * GIT_CONFIG_KEY_<n> (git refuses to run when a key of GIT_CONFIG_COUNT is missing; the values
 * are checked as a group, see sanitizeEnv), npm's always-auth flag.
 */
const KEPT_NAMES = [/^GIT_CONFIG_KEY_\d+$/, /^npm_config_always_auth$/i];

/**
 * npm reads any `npm_config_<key>` as its config key: the auth keys (`_authToken`, `_auth`,
 * `_password`, also scoped to a registry as `//host/:_authToken`), the client certificate's key
 * and the one-time password are secrets whatever their case.
 */
const NPM_SECRET_KEY = /^npm_config_(.*[/:_-])?(_?authtoken|_auth|_password|keyfile|key|certfile|otp)$/i;

/**
 * Credentials in a value:
 *   - a URL's userinfo: `scheme://user:pw@`, and the spellings WHATWG URL parsers still read a
 *     user and password from (`https:user:pw@h`, `https:\\user:pw@h`, `http:/user:pw@h`),
 *     spaces and tabs included (a parser keeps or strips them); `https://token@host` for the
 *     web schemes (a bare user of ssh://, mailto: or git+ssh:// is a login name, not a token);
 *   - `password=`, `pwd=`, `AccountKey=`, `SharedAccessKey=` in a connection string;
 *   - an HTTP Authorization value (`Bearer <token>`, `Basic <base64>`).
 */
const CREDENTIAL_VALUES = [
  /\b(https?|wss?|ftps?|git\+https?)[:][\\/]{2}[^/\\?#@\n]+@/i,
  /[a-z][a-z0-9+.-]*:[\\/]*[^/\\?#@:\n]+:[^/\\?#@\n]*@/i,
  /(^|[;\s])(password|pwd|accountkey|sharedaccesskey|sharedsecret)\s*=/i,
  /\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{8,}/i,
];
/** `user:pw@host[:port]` without a scheme (curl takes it as a proxy, redis clients as a server); not `mailto:x@y`. */
const BARE_CREDENTIALS = /(^|[\s,;=])[^\s/\\?#@:,;=]+:[^/\\?#@\n]+@[a-z0-9.-]+(:\d+)?(\/|\s|$)/i;

/** Whether a value holds credentials (a URL's userinfo, a connection string's password, an Authorization value). */
export function hasUrlCredentials(value: string): boolean {
  return CREDENTIAL_VALUES.some((p) => p.test(value));
}

/** True when an inherited variable's name marks it as a secret. */
export function isSecretEnvName(name: string): boolean {
  // Whitespace around a name is not part of what a tool looks up (`npm_config_//h/:_authToken `).
  const trimmed = name.trim();
  if (KEPT_NAMES.some((p) => p.test(trimmed))) return false;
  return DROPPED_NAMES.has(trimmed) || DROPPED_PATTERNS.some((p) => p.test(trimmed)) || NPM_SECRET_KEY.test(trimmed);
}

/** True when an inherited variable must not reach a sandboxed child: a secret's name, or credentials in its value. */
export function isSecretEnv(name: string, value: string): boolean {
  return isSecretEnvName(name) || hasUrlCredentials(value) || (BARE_CREDENTIALS.test(value) && !/^mailto:/i.test(value));
}

/** git's command-line config (GIT_CONFIG_COUNT, GIT_CONFIG_KEY_<n>, GIT_CONFIG_VALUE_<n>): kept or dropped as one. */
const GIT_CONFIG_GROUP = /^GIT_CONFIG_(COUNT|KEY_\d+|VALUE_\d+)$/;

/** The inherited environment with secrets removed; returns the names it removed too. */
export function sanitizeEnv(env: NodeJS.ProcessEnv): { env: Record<string, string>; removed: string[] } {
  const out: Record<string, string> = {};
  const removed: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    // A child reads only the markers cordon sets for it, never an inherited one.
    if (isSecretEnv(name, value) || MARKER_ENV_NAMES.has(name)) removed.push(name);
    else out[name] = value;
  }
  // One secret value in git's config group drops the whole group: a partial one makes every
  // git command fail ("missing config key"), a whole one would carry the secret.
  if (removed.some((name) => GIT_CONFIG_GROUP.test(name))) {
    for (const name of Object.keys(out)) {
      if (!GIT_CONFIG_GROUP.test(name)) continue;
      delete out[name];
      removed.push(name);
    }
  }
  return { env: out, removed: removed.sort() };
}

/**
 * The markers cordon sets for its children (what the sandbox is); no other source may provide
 * them, so a policy that sets fewer (no CORDON_WRITABLE_ROOTS under ReadOnly) leaves none forged.
 */
export const MARKER_ENV_NAMES: ReadonlySet<string> = new Set(['CORDON_SANDBOX', 'CORDON_SANDBOX_TYPE', 'CORDON_NETWORK', 'CORDON_WRITABLE_ROOTS']);

/** What SpawnOptions.inheritEnv 'minimal' keeps (cordon's own variables are added after). */
export const MINIMAL_ENV_NAMES: readonly string[] = ['PATH', 'HOME', 'LANG', 'TERM'];

/** The sanitised environment narrowed to `names` (still without secrets); everything else counts as removed. */
export function narrowEnv(inherited: SanitizedEnv, names: readonly string[]): SanitizedEnv {
  const keep = new Set(names);
  const env: Record<string, string> = {};
  const removed = [...inherited.removed];
  for (const [name, value] of Object.entries(inherited.env)) {
    if (keep.has(name)) env[name] = value;
    else removed.push(name);
  }
  return { env, removed: removed.sort() };
}

/** execve's environment as one block of NUL-terminated KEY=value entries (later keys win, like Node). */
export function toEnvBlock(env: Record<string, string | undefined>): string {
  let block = '';
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined) continue;
    block += `${name}=${value}\0`;
  }
  return block;
}

/** An inherited environment, sanitised. */
export interface SanitizedEnv {
  env: Record<string, string>;
  removed: string[];
}

let lastInherited: (SanitizedEnv & { generation: number; source: object }) | undefined;

// process.env objects known to be the real environment: Node's main-thread process.env (and a
// worker's under SHARE_ENV) write through to `environ`; a worker's own copy, or a plain object
// a host assigned to process.env, does not.
const realEnvironments = new WeakSet<object>();
function writesThrough(env: NodeJS.ProcessEnv): boolean {
  if (realEnvironments.has(env)) return true;
  const probe = `CORDON_ENV_PROBE_${process.pid}`;
  try {
    const before = native().environGeneration();
    env[probe] = '1';
    const during = native().environGeneration();
    delete env[probe];
    const after = native().environGeneration();
    if (during === before || after === during) return false;
  } catch {
    return false;
  }
  realEnvironments.add(env);
  return true;
}

/**
 * process.env without secrets, re-read only when the environment changed: reading process.env
 * whole costs ~35 µs (every read crosses into C++), while the addon compares `environ` with its
 * last copy in ~1 µs. That holds on the main thread where process.env is the real environment
 * (checked once per process.env object); any other process.env is re-read every time.
 */
export function inheritedEnv(): SanitizedEnv {
  const source = process.env;
  // Workers re-read it: a worker's process.env is its own copy, or shares `environ` with the
  // main thread (SHARE_ENV), which the addon could not read safely while another thread sets it.
  // (A SHARE_ENV worker's setenv can still run while the main thread's addon walks `environ`,
  // as it can while any library calls getenv: Node's own lock is not ours to take.)
  if (!nodeWorkerThreads().isMainThread || !writesThrough(source)) return sanitizeEnv(source);
  const generation = native().environGeneration();
  if (lastInherited?.generation !== generation || lastInherited.source !== source) {
    lastInherited = { generation, source, ...sanitizeEnv(source) };
  }
  return lastInherited;
}

let blocks = new WeakMap<SanitizedEnv, WeakMap<object, string>>();
registerCache({
  name: 'env.ts lastInherited, blocks',
  key: "the environment's generation (the addon's count of changes to environ), then the added variables' object",
  bound: 'one reading; blocks per (reading, object) in WeakMaps',
  invalidation: 'a changed environ gives a new generation, hence a new reading and new blocks',
  size: () => (lastInherited ? 1 : 0),
  clear: () => {
    lastInherited = undefined;
    blocks = new WeakMap();
  },
});

/** toEnvBlock({...inherited.env, ...extra}), cached per (inherited reading, extra object). */
export function inheritedEnvBlock(inherited: SanitizedEnv, extra: Record<string, string>): string {
  let perExtra = blocks.get(inherited);
  if (!perExtra) {
    perExtra = new WeakMap();
    blocks.set(inherited, perExtra);
  }
  let block = perExtra.get(extra);
  if (block === undefined) {
    block = toEnvBlock({ ...inherited.env, ...extra });
    perExtra.set(extra, block);
  }
  return block;
}
