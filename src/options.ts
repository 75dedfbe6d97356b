// Spawn option validation: one zod schema, one error type (SpawnOptionsError) naming each bad
// field, checked before anything is spawned.
import { statSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { z } from 'zod';
import { SpawnOptionsError, type PolicyIssue } from './errors.js';
import type { SandboxPolicy } from './policy/index.js';
import type { ProxyOptions } from './network.js';

/** A stream with an underlying fd (fs.WriteStream once open, process.stdout...). */
export interface FdStream {
  fd: number;
}

/** Per fd, like Node's stdio: a new pipe, the host's own fd, /dev/null, an fd, or a stream with an fd. */
export type StdioOption = 'pipe' | 'inherit' | 'ignore' | number | FdStream;

/** Options of spawnSandboxed (see README for each). */
export interface SpawnOptions {
  /** The sandbox: a SandboxPolicy or its reference JSON (string or object). Default: SandboxPolicy.default() (read-only, no network). */
  policy?: SandboxPolicy | string | Record<string, unknown>;
  /** Working directory (default process.cwd()). Under WorkspaceWrite it is writable. */
  cwd?: string;
  /** Environment as given (markers added). Default: process.env without secrets, plus markers. */
  env?: Record<string, string | undefined>;
  /** 'pipe' | 'inherit' | 'ignore', or one entry per fd 0..2. Default 'pipe'. */
  stdio?: StdioOption | [StdioOption, StdioOption, StdioOption];
  /** Wall-clock limit in ms; 0 disables. Default: the policy's timeout_secs (0 there means 300 s). */
  timeout?: number;
  /** Signal sent on timeout or abort (default 'SIGTERM'); SIGKILL follows after killGraceMs. */
  killSignal?: NodeJS.Signals | number;
  /** Grace period between killSignal and SIGKILL (default 2000 ms). */
  killGraceMs?: number;
  /** Aborting kills the sandbox (killSignal, then SIGKILL). */
  signal?: AbortSignal;
  /** argv[0] for the command (default: the command as given). */
  argv0?: string;
  /** 'strict' (default): refuse to spawn when a protection cannot be enforced; 'best-effort': run and report. */
  enforcement?: 'strict' | 'best-effort';
  /** false: never use namespaces (forces the Landlock-only path; for tests and comparison). Default true. */
  namespaces?: boolean;
  /** Testing aid: use at most this Landlock ABI version (0 disables Landlock). */
  landlockAbiCap?: number;
  /**
   * Sandboxes without network: 'shared' (default) puts them in one network namespace made once
   * per host process, where the seccomp filter and Landlock's abstract-socket scope (ABI 6)
   * hold the mode; 'private' gives each its own (~0.5 ms of CPU per spawn), so that not even
   * the names of abstract sockets they bind are seen by another. Kernels without Landlock ABI 6
   * always get private ones.
   */
  networkNamespace?: 'shared' | 'private';
  /**
   * Keep a standby child for this sandbox once it has been spawned twice (default true; the
   * environment variable CORDON_PREWARM=0 turns it off for the whole process). A standby has
   * made its namespaces and mounts ahead of the next spawn, which then costs about 1 ms less.
   * At most two exist, each dies after 5 s unused and with the host, and none keeps the event
   * loop alive; releaseStandbys() discards them at once. Namespaced sandboxes only.
   */
  prewarm?: boolean;
  /**
   * WorkspaceWrite in mode A: 'private' (default) gives the sandbox a fresh /tmp (and $TMPDIR) of
   * its own, a tmpfs that lives as long as the sandboxed process and never touches the host's;
   * the workspace, cwd and $HOME stay visible where they lie beneath it. 'host' shares the
   * host's (writable unless the policy excludes it): whatever a tool plants there, a `.git`
   * with a hook or node_modules, runs in the host's own git or node later. Reported either way.
   */
  tmp?: 'private' | 'host';
  /**
   * `.git`, `.codex`, `.agents` or `.vtcode` missing at the top of a writable root, where a tool
   * could make one for the host's own git or agent to trust later: 'placeholder' (default)
   * makes an empty directory there on the host (once; it stays) and binds it read-only, or,
   * without a mount namespace, freezes the root's top level; 'freeze' makes nothing and freezes
   * the top level (no entry created, removed or renamed there); 'allow-create' lets the tool
   * create them (`git init`), reported as a gap.
   */
  protectedDirs?: 'placeholder' | 'freeze' | 'allow-create';
  /** Size of each private temp dir in MiB (default 1024). */
  tmpSizeMb?: number;
  /** Character devices beyond null, zero, full, random, urandom and tty (e.g. ['/dev/kvm', '/dev/fuse']); never block devices. */
  devices?: string[];
  /**
   * Allowlist mode: how the host's egress proxy resolves names (default: c-ares with the
   * system's DNS servers, /etc/hosts first). Its answers are trusted as given (loopback and
   * private addresses included). Tests map names to local servers.
   */
  networkResolver?: (host: string) => Promise<string[]>;
  /** Allowlist mode: the egress proxy's bounds for this sandbox (connections, lookups, timeouts); see ProxyOptions. */
  proxy?: ProxyOptions;
  /**
   * RLIMIT_NOFILE of the command, soft and hard (default 4096 for sandboxed policies, capped
   * at the host's hard limit; none for DangerFullAccess/ExternalSandbox). Node raises its own
   * soft limit to the hard one, and a child would otherwise inherit that.
   */
  maxOpenFiles?: number;
  /**
   * What of the host's environment the command inherits when `env` is not given: 'filtered'
   * (default) drops secrets (see README); 'minimal' passes only PATH, HOME, LANG, LC_*, TERM,
   * TZ, USER, LOGNAME, SHELL, TMPDIR and cordon's own variables; a list is 'minimal' plus
   * those names (secret-shaped names in it are still dropped).
   */
  inheritEnv?: 'filtered' | 'minimal' | readonly string[];
  /**
   * Package-manager caches (npm, pip, yarn, pnpm, cargo, go) of a sandbox whose $HOME is
   * read-only: 'private' (default) points them at a directory in the sandbox's private /tmp,
   * gone when it exits; 'host' leaves them where the tools put them (read-only unless a
   * writable root covers them).
   */
  toolCaches?: 'private' | 'host';
}

/** Spawn options after validation and defaults. */
export interface ResolvedSpawnOptions {
  args: readonly string[];
  policy: SpawnOptions['policy'];
  cwd: string;
  env: Record<string, string> | undefined;
  stdio: [StdioOption, StdioOption, StdioOption];
  timeout: number | undefined;
  killSignal: NodeJS.Signals | number;
  killGraceMs: number;
  signal: AbortSignal | undefined;
  argv0: string | undefined;
  enforcement: 'strict' | 'best-effort';
  namespaces: boolean;
  landlockAbiCap: number | undefined;
  networkNamespace: 'shared' | 'private';
  prewarm: boolean;
  networkResolver: ((host: string) => Promise<string[]>) | undefined;
  tmp: 'private' | 'host';
  protectedDirs: 'placeholder' | 'freeze' | 'allow-create';
  tmpSizeMb: number | undefined;
  devices: string[] | undefined;
  proxy: ProxyOptions;
  maxOpenFiles: number | undefined;
  inheritEnv: 'filtered' | 'minimal' | readonly string[];
  toolCaches: 'private' | 'host';
}

const noNul = (what: string) => (s: string) => !s.includes('\0') || `${what} must not contain NUL bytes`;
const stringNoNul = (what: string) =>
  z.string().check((ctx) => {
    const ok = noNul(what)(ctx.value);
    if (ok !== true) ctx.issues.push({ code: 'custom', message: ok, input: ctx.value });
  });

const fdNumber = z.number().int('must be an integer fd').nonnegative('must be a non-negative fd');
const stdioEntry = z.union([
  z.enum(['pipe', 'inherit', 'ignore']),
  fdNumber,
  z.custom<FdStream>((v) => typeof v === 'object' && v !== null && Number.isInteger((v as FdStream).fd) && (v as FdStream).fd >= 0, {
    message: "must be 'pipe', 'inherit', 'ignore', an fd, or a stream with an open fd",
  }),
]);

const optionsSchema = z
  .object({
    policy: z.unknown().optional(),
    cwd: stringNoNul('cwd').min(1, 'must not be empty').optional(),
    env: z.record(z.string(), z.union([stringNoNul('env value'), z.undefined()])).optional(),
    stdio: z.union([stdioEntry, z.tuple([stdioEntry, stdioEntry, stdioEntry])]).optional(),
    timeout: z.number().int('must be an integer (ms)').nonnegative('must be >= 0').optional(),
    killSignal: z.union([z.string(), z.number().int()]).optional(),
    killGraceMs: z.number().int('must be an integer (ms)').nonnegative('must be >= 0').optional(),
    signal: z.custom<AbortSignal>((v) => v instanceof AbortSignal, { message: 'must be an AbortSignal' }).optional(),
    argv0: stringNoNul('argv0').optional(),
    enforcement: z.enum(['strict', 'best-effort']).optional(),
    namespaces: z.boolean().optional(),
    landlockAbiCap: z.number().int('must be an integer').min(0, 'must be >= 0').optional(),
    networkNamespace: z.enum(['shared', 'private']).optional(),
    prewarm: z.boolean().optional(),
    networkResolver: z.custom<(host: string) => Promise<string[]>>((v) => typeof v === 'function', { message: 'must be a function' }).optional(),
    tmp: z.enum(['private', 'host']).optional(),
    protectedDirs: z.enum(['placeholder', 'freeze', 'allow-create']).optional(),
    tmpSizeMb: z.number().int('must be an integer (MiB)').min(1, 'must be >= 1').max(1 << 20, 'must be <= 1048576').optional(),
    devices: z.array(stringNoNul('device path').regex(/^\/dev\/[^\0]+$/, 'must be a path under /dev/')).max(16, 'at most 16 devices').optional(),
    proxy: z
      .object({
        maxConnections: z.number().int('must be an integer').min(1, 'must be >= 1').max(65536, 'must be <= 65536').optional(),
        requestsPerSecond: z.number().int('must be an integer').min(0, 'must be >= 0').optional(),
        lookupConcurrency: z.number().int('must be an integer').min(1, 'must be >= 1').max(256, 'must be <= 256').optional(),
        lookupQueue: z.number().int('must be an integer').min(0, 'must be >= 0').max(4096, 'must be <= 4096').optional(),
        lookupTimeoutMs: z.number().int('must be an integer (ms)').min(1, 'must be >= 1').max(120_000, 'must be <= 120000').optional(),
        dnsServers: z
          .array(z.string().regex(/^(\[[0-9a-fA-F:.]+\](:\d{1,5})?|[0-9a-fA-F:.]+)$/, 'must be an IP address, ip:port or [ipv6]:port'))
          .min(1, 'must not be empty')
          .max(8, 'at most 8 servers')
          .optional(),
        handshakeTimeoutMs: z.number().int('must be an integer (ms)').min(1, 'must be >= 1').optional(),
        idleTimeoutMs: z.number().int('must be an integer (ms)').min(0, 'must be >= 0').optional(),
      })
      .strict()
      .optional(),
    maxOpenFiles: z.number().int('must be an integer').min(16, 'must be >= 16').max(1 << 30, 'must be <= 1073741824').optional(),
    inheritEnv: z
      .union([
        z.enum(['filtered', 'minimal']),
        z.array(z.string().regex(/^[^=\0]+$/, 'must be a variable name (no "=" or NUL)')).max(256, 'at most 256 names'),
      ])
      .optional(),
    toolCaches: z.enum(['private', 'host']).optional(),
  })
  .strict();

// The options of a typical exec loop, checked without zod (~40 µs a spawn there): true only
// when every key is one of these with a value the schema accepts as is. Anything else (env,
// a stream, a bad value) goes through the schema, which names what is wrong.
const STDIO_WORDS = new Set<unknown>(['pipe', 'inherit', 'ignore']);
const isCount = (v: unknown) => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const isCleanString = (v: unknown) => typeof v === 'string' && !v.includes('\0');
const PLAIN_CHECKS: Record<string, (v: unknown) => boolean> = {
  policy: () => true,
  cwd: (v) => isCleanString(v) && (v as string).length > 0,
  stdio: (v) => STDIO_WORDS.has(v) || (Array.isArray(v) && v.length === 3 && v.every((e) => STDIO_WORDS.has(e))),
  timeout: isCount,
  killGraceMs: isCount,
  killSignal: (v) => typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v)),
  argv0: isCleanString,
  enforcement: (v) => v === 'strict' || v === 'best-effort',
  namespaces: (v) => typeof v === 'boolean',
  prewarm: (v) => typeof v === 'boolean',
  tmp: (v) => v === 'private' || v === 'host',
  protectedDirs: (v) => v === 'placeholder' || v === 'freeze' || v === 'allow-create',
  networkNamespace: (v) => v === 'shared' || v === 'private',
  toolCaches: (v) => v === 'private' || v === 'host',
  signal: (v) => v instanceof AbortSignal,
};
function plainlyValid(options: object): boolean {
  if (Object.getPrototypeOf(options) !== Object.prototype) return false;
  for (const key of Object.keys(options)) {
    const value = (options as Record<string, unknown>)[key];
    if (value === undefined) continue;
    const check = PLAIN_CHECKS[key];
    if (check === undefined || !check(value)) return false;
  }
  return true;
}

function issuesOf(error: z.ZodError, prefix: string): PolicyIssue[] {
  return error.issues.map((issue) => {
    let path = prefix;
    for (const key of issue.path) path += typeof key === 'number' ? `[${key}]` : `.${String(key)}`;
    const message =
      issue.code === 'unrecognized_keys' ? `unknown option(s): ${issue.keys.join(', ')}` : issue.message;
    return { path, message };
  });
}

/** Validates and defaults spawn arguments; throws SpawnOptionsError naming each bad field. */
export function parseSpawnOptions(command: unknown, args: readonly unknown[] | undefined, options: unknown): ResolvedSpawnOptions {
  const issues: PolicyIssue[] = [];
  if (typeof command !== 'string' || command.length === 0) issues.push({ path: 'command', message: 'must be a non-empty string' });
  else if (command.includes('\0')) issues.push({ path: 'command', message: 'must not contain NUL bytes' });
  if (args !== undefined) {
    if (!Array.isArray(args)) issues.push({ path: 'args', message: 'must be an array of strings' });
    else args.forEach((a, i) => {
      if (typeof a !== 'string') issues.push({ path: `args[${i}]`, message: 'must be a string' });
      else if (a.includes('\0')) issues.push({ path: `args[${i}]`, message: 'must not contain NUL bytes' });
    });
  }
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    issues.push({ path: 'options', message: 'must be an object' });
    throw new SpawnOptionsError(issues);
  }
  // A NUL in a name would end its entry in execve's block there and start another variable; an
  // '=' would make it another variable's name with a value prefix (CORDON_NETWORK=full...).
  const env = (options as { env?: unknown } | undefined)?.env;
  if (typeof env === 'object' && env !== null) {
    for (const name of Object.keys(env)) {
      if (name.includes('\0')) issues.push({ path: 'options.env', message: `variable name ${JSON.stringify(name)} contains a NUL byte` });
      else if (name === '' || name.includes('=')) issues.push({ path: 'options.env', message: `variable name ${JSON.stringify(name)} is empty or contains '='` });
    }
  }
  let o: z.infer<typeof optionsSchema>;
  if (issues.length === 0 && plainlyValid(options ?? {})) {
    o = (options ?? {}) as z.infer<typeof optionsSchema>;
  } else {
    const parsed = optionsSchema.safeParse(options ?? {});
    if (!parsed.success) issues.push(...issuesOf(parsed.error, 'options'));
    if (issues.length > 0 || !parsed.success) throw new SpawnOptionsError(issues);
    o = parsed.data;
  }
  // A device must exist and be a character device: a block device would give raw access to
  // every file on its disk, masks and Landlock notwithstanding.
  for (const [i, path] of (o.devices ?? []).entries()) {
    let problem: string | undefined;
    try {
      const st = statSync(path);
      if (st.isBlockDevice()) problem = 'is a block device (never granted: it holds every file of its disk)';
      else if (!st.isCharacterDevice()) problem = 'is not a character device';
    } catch (e) {
      problem = `cannot be used (${(e as NodeJS.ErrnoException).code ?? 'error'})`;
    }
    if (problem) issues.push({ path: `options.devices[${i}]`, message: `${path} ${problem}` });
  }
  if (issues.length > 0) throw new SpawnOptionsError(issues);
  const stdio: [StdioOption, StdioOption, StdioOption] = Array.isArray(o.stdio)
    ? [o.stdio[0], o.stdio[1], o.stdio[2]]
    : [o.stdio ?? 'pipe', o.stdio ?? 'pipe', o.stdio ?? 'pipe'];
  return {
    args: (args ?? []) as readonly string[],
    policy: o.policy as SpawnOptions['policy'],
    cwd: resolvePath(o.cwd ?? process.cwd()),
    env: o.env === undefined ? undefined : (Object.fromEntries(Object.entries(o.env).filter(([, v]) => v !== undefined)) as Record<string, string>),
    stdio,
    timeout: o.timeout,
    killSignal: (o.killSignal ?? 'SIGTERM') as NodeJS.Signals | number,
    killGraceMs: o.killGraceMs ?? 2000,
    signal: o.signal,
    argv0: o.argv0,
    enforcement: o.enforcement ?? 'strict',
    namespaces: o.namespaces ?? true,
    landlockAbiCap: o.landlockAbiCap,
    networkNamespace: o.networkNamespace ?? 'shared',
    prewarm: o.prewarm ?? process.env.CORDON_PREWARM !== '0',
    networkResolver: o.networkResolver,
    tmp: o.tmp ?? 'private',
    protectedDirs: o.protectedDirs ?? 'placeholder',
    tmpSizeMb: o.tmpSizeMb,
    devices: o.devices,
    proxy: (o.proxy ?? {}) as ProxyOptions,
    maxOpenFiles: o.maxOpenFiles,
    inheritEnv: o.inheritEnv ?? 'filtered',
    toolCaches: o.toolCaches ?? 'private',
  };
}
