// Spawn option validation: one shape check (src/policy/shape.ts), one error type
// (SpawnOptionsError) naming each bad field, checked before anything is spawned.
import { statSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { SpawnOptionsError, type PolicyIssue } from './errors.js';
import type { SandboxPolicy } from './policy/index.js';
import { MARKER_ENV_NAMES } from './env.js';
import { arrayOf, boolean, either, integer, object, oneOf, optional, pathJoin, recordOf, satisfies, string, type Shape } from './policy/shape.js';
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
  /**
   * Variables set on top of the environment (inherited or `env`): the caller's explicit choice,
   * so they pass even when their names look like secrets; cordon's own variables (markers, the
   * proxy's, the private caches') still win. Reported as `lifecycle.explicitEnv`.
   */
  addEnv?: Record<string, string>;
  /** 'pipe' | 'inherit' | 'ignore', or one entry per fd 0..2. Default 'pipe'. */
  stdio?: StdioOption | [StdioOption, StdioOption, StdioOption];
  /**
   * Run the command through a shell inside the sandbox, as child_process does: true for
   * /bin/sh, or a shell's path; the command and args are joined with spaces into one `-c` line
   * (so quote what the shell must not split). Default false.
   */
  shell?: boolean | string;
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
  /** The program to run: the command, or the shell when `shell` is set. */
  file: string;
  args: readonly string[];
  policy: SpawnOptions['policy'];
  cwd: string;
  env: Record<string, string> | undefined;
  /** Names of a given env that were not passed (cordon's markers). */
  envDropped: string[];
  addEnv: Record<string, string> | undefined;
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

/** setTimeout's largest delay (2^31-1 ms); longer ones fire at once. */
export const MAX_TIMER_MS = 2 ** 31 - 1;
const noNul = (what: string) => (s: string) => (s.includes('\0') ? `${what} must not contain NUL bytes` : undefined);
const cleanString = (what: string, message = 'must be a string') => string(message, noNul(what));
const ms = (min: number) => integer(`must be an integer (ms) >= ${min}`, min);
// A NUL in a value would end the variable there in execve's block and start another one.
const envValue = (undefinedAllowed: boolean): Shape<string | undefined> => (value, at, issues) =>
  undefinedAllowed && value === undefined ? undefined : cleanString('env value', 'must be a string')(value, at, issues);
const STDIO_ENTRY_MESSAGE = "must be 'pipe', 'inherit', 'ignore', an fd (integer >= 0), or a stream with an open fd";
const isFdStream = (v: unknown) => typeof v === 'object' && v !== null && Number.isSafeInteger((v as FdStream).fd) && (v as FdStream).fd >= 0;
const stdioEntry = either<StdioOption>(
  [oneOf(['pipe', 'inherit', 'ignore'], ''), integer('', 0, 2 ** 31 - 1), satisfies(isFdStream, '')],
  STDIO_ENTRY_MESSAGE,
);
const stdioShape: Shape<SpawnOptions['stdio']> = (value, at, issues) => {
  if (!Array.isArray(value)) return stdioEntry(value, at, issues);
  if (value.length !== 3) {
    issues.push({ path: at, message: `must be one entry or three (stdin, stdout, stderr), got ${value.length}` });
    return value as never;
  }
  return [0, 1, 2].map((i) => stdioEntry(value[i], pathJoin(at, i), issues)) as [StdioOption, StdioOption, StdioOption];
};

// child_process options that have no meaning for a sandboxed command, and why: named instead of
// "unknown", so a caller porting from spawn() learns what to do instead.
const UNSUPPORTED: Readonly<Record<string, string>> = {
  uid: 'the command runs as the caller (uid changes need privileges cordon does not use); run cordon itself as that user',
  gid: 'the command runs with the caller\'s groups (gid changes need privileges cordon does not use); run cordon itself as that user',
  detached: 'a sandboxed command never outlives its sandbox (the whole tree dies with it); keep the host alive, or use timeout: 0',
  windowsHide: 'it is Windows-only and cordon runs on Linux; drop it',
  windowsVerbatimArguments: 'it is Windows-only and cordon runs on Linux; drop it',
  serialization: 'there is no IPC channel into a sandbox (stdio only)',
};

// Their child_process defaults ask for nothing cordon lacks: accepted as no-ops.
const CHILD_PROCESS_DEFAULTS: Readonly<Record<string, unknown>> = { detached: false, windowsHide: false, windowsVerbatimArguments: false, serialization: 'json' };

function reportUnknownOptions(keys: string[], at: string, issues: PolicyIssue[], input?: Record<string, unknown>): void {
  const unknown: string[] = [];
  for (const key of keys) {
    const why = UNSUPPORTED[key];
    if (why !== undefined) {
      if (input !== undefined && Object.hasOwn(CHILD_PROCESS_DEFAULTS, key) && input[key] === CHILD_PROCESS_DEFAULTS[key]) continue;
      issues.push({ path: pathJoin(at, key), message: `not supported, because ${why}` });
    } else unknown.push(key);
  }
  if (unknown.length > 0) issues.push({ path: at, message: `unknown option(s): ${unknown.join(', ')}` });
}

const proxyShape = object(
  {
    maxConnections: optional(integer('must be an integer from 1 to 65536', 1, 65536)),
    requestsPerSecond: optional(integer('must be an integer >= 0 (0: no limit)')),
    lookupConcurrency: optional(integer('must be an integer from 1 to 256', 1, 256)),
    lookupQueue: optional(integer('must be an integer from 0 to 4096', 0, 4096)),
    lookupTimeoutMs: optional(integer('must be an integer (ms) from 1 to 120000', 1, 120_000)),
    dnsServers: optional(
      arrayOf(
        string('must be an IP address, ip:port or [ipv6]:port', (s) =>
          /^(\[[0-9a-fA-F:.]+\](:\d{1,5})?|[0-9a-fA-F:.]+)$/.test(s) ? undefined : 'must be an IP address, ip:port or [ipv6]:port',
        ),
        'must be an array of IP addresses',
        { count: 8, message: 'at most 8 servers' },
        1,
      ),
    ),
    handshakeTimeoutMs: optional(ms(1)),
    idleTimeoutMs: optional(ms(0)),
  },
  'must be an object',
  (keys, at, issues) => issues.push({ path: at, message: `unknown option(s): ${keys.join(', ')}` }),
);

const optionsShape = object(
  {
    policy: optional(satisfies(() => true, '')),
    cwd: optional(string('must be a non-empty string', (s) => (s.length === 0 ? 'must not be empty' : undefined), noNul('cwd'))),
    env: optional(recordOf(envValue(true), 'must be an object of strings')),
    addEnv: optional(recordOf(envValue(false), 'must be an object of strings')),
    stdio: optional(stdioShape),
    shell: optional(either<boolean | string>([boolean(''), string('', (s) => (s.length === 0 || s.includes('\0') ? 'bad' : undefined))], 'must be true, false, or the path of a shell')),
    timeout: optional(ms(0)),
    killSignal: optional(either<string | number>([string(''), integer('', 0, 64)], 'must be a signal name or number')),
    killGraceMs: optional(integer('must be an integer (ms) from 0 to 2147483647', 0, MAX_TIMER_MS)),
    signal: optional(satisfies((v) => v instanceof AbortSignal, 'must be an AbortSignal')),
    argv0: optional(cleanString('argv0')),
    enforcement: optional(oneOf(['strict', 'best-effort'], "must be 'strict' or 'best-effort'")),
    namespaces: optional(boolean('must be a boolean')),
    landlockAbiCap: optional(integer('must be an integer >= 0')),
    networkNamespace: optional(oneOf(['shared', 'private'], "must be 'shared' or 'private'")),
    prewarm: optional(boolean('must be a boolean')),
    networkResolver: optional(satisfies((v) => typeof v === 'function', 'must be a function')),
    tmp: optional(oneOf(['private', 'host'], "must be 'private' or 'host'")),
    protectedDirs: optional(oneOf(['placeholder', 'freeze', 'allow-create'], "must be 'placeholder', 'freeze' or 'allow-create'")),
    tmpSizeMb: optional(integer('must be an integer (MiB) from 1 to 1048576', 1, 1 << 20)),
    devices: optional(
      arrayOf(
        string('must be a path under /dev/', (s) => (/^\/dev\/[^\0]+$/.test(s) ? undefined : 'must be a path under /dev/')),
        'must be an array of paths under /dev/',
        { count: 16, message: 'at most 16 devices' },
      ),
    ),
    proxy: optional(proxyShape),
    maxOpenFiles: optional(integer('must be an integer from 16 to 1073741824', 16, 1 << 30)),
    inheritEnv: optional(
      either<string | string[]>(
        [
          oneOf(['filtered', 'minimal'], ''),
          arrayOf(string('', (s) => (/^[^=\0]+$/.test(s) ? undefined : 'bad')), '', { count: 256, message: '' }),
        ],
        "must be 'filtered', 'minimal', or an array of at most 256 variable names (no '=' or NUL)",
      ),
    ),
    toolCaches: optional(oneOf(['private', 'host'], "must be 'private' or 'host'")),
  },
  'must be an object',
  reportUnknownOptions,
  { nullIsAbsent: true },
);

/**
 * spawn(command, options) or spawn(command, args, options), as child_process reads them. A
 * string where the argument list goes is an error, not options: it is never split.
 */
export function splitArguments<O>(args: unknown, options: O | undefined): { args: readonly string[] | undefined; options: O | undefined } {
  if (typeof args === 'string') {
    throw new SpawnOptionsError([
      {
        path: 'args',
        message: `must be an array of strings, got the string ${JSON.stringify(args)} (arguments are never split: pass an array, or shell: true to run a command line)`,
      },
    ]);
  }
  if (args === undefined || args === null) return { args: undefined, options };
  if (typeof args !== 'object') {
    throw new SpawnOptionsError([{ path: 'args', message: `must be an array of strings or the options object, got a ${typeof args}` }]);
  }
  if (!Array.isArray(args)) return { args: undefined, options: args as O };
  return { args: args as readonly string[], options };
}

/** Validates and defaults spawn arguments; throws SpawnOptionsError naming each bad field. */
export function parseSpawnOptions(command: unknown, args: readonly unknown[] | undefined, options: unknown): ResolvedSpawnOptions {
  const issues: PolicyIssue[] = [];
  if (typeof command !== 'string' || command.length === 0) issues.push({ path: 'command', message: 'must be a non-empty string' });
  else if (command.includes('\0')) issues.push({ path: 'command', message: 'must not contain NUL bytes' });
  if (args !== undefined) {
    if (!Array.isArray(args)) issues.push({ path: 'args', message: 'must be an array of strings' });
    else {
      for (let i = 0; i < args.length; i++) {
        const a: unknown = args[i]; // a hole in a sparse array is undefined here, not skipped
        if (typeof a !== 'string') issues.push({ path: `args[${i}]`, message: 'must be a string' });
        else if (a.includes('\0')) issues.push({ path: `args[${i}]`, message: 'must not contain NUL bytes' });
      }
    }
  }
  if (options !== undefined && (typeof options !== 'object' || options === null || Array.isArray(options))) {
    issues.push({ path: 'options', message: 'must be an object' });
    throw new SpawnOptionsError(issues);
  }
  // A NUL in a name would end its entry in execve's block there and start another variable; an
  // '=' would make it another variable's name with a value prefix (CORDON_NETWORK=full...).
  for (const field of ['env', 'addEnv'] as const) {
    const env = (options as Record<string, unknown> | undefined)?.[field];
    if (typeof env !== 'object' || env === null) continue;
    for (const name of Object.keys(env)) {
      if (name.includes('\0')) issues.push({ path: `options.${field}`, message: `variable name ${JSON.stringify(name)} contains a NUL byte` });
      else if (name === '' || name.includes('=')) issues.push({ path: `options.${field}`, message: `variable name ${JSON.stringify(name)} is empty or contains '='` });
      else if (field === 'addEnv' && MARKER_ENV_NAMES.has(name)) {
        issues.push({ path: `options.addEnv`, message: `${name} is one of cordon's markers, set by cordon alone` });
      }
    }
  }
  let o: SpawnOptions;
  try {
    o = optionsShape(options ?? {}, 'options', issues) as SpawnOptions;
  } catch (error) {
    // A getter that throws, a revoked Proxy: the options could not be read.
    throw new SpawnOptionsError([{ path: 'options', message: `could not be read (${error instanceof Error ? error.message : String(error)})` }]);
  }
  if (issues.length > 0) throw new SpawnOptionsError(issues);
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
  // shell, as child_process does it: the command and its arguments joined by spaces, run by
  // `sh -c` (or the shell given) inside the sandbox.
  let file = command as string;
  let argList = (args ?? []) as readonly string[];
  if (o.shell !== undefined && o.shell !== false) {
    const shell = o.shell === true ? '/bin/sh' : o.shell;
    argList = ['-c', [file, ...argList].join(' ')];
    file = shell;
  }
  return {
    file,
    args: argList,
    policy: o.policy as SpawnOptions['policy'],
    cwd: resolvePath(o.cwd ?? process.cwd()),
    // A given env is used as is, but for cordon's markers (CORDON_SANDBOX...): cordon's alone.
    env:
      o.env === undefined
        ? undefined
        : (Object.fromEntries(Object.entries(o.env).filter(([name, v]) => v !== undefined && !MARKER_ENV_NAMES.has(name))) as Record<string, string>),
    envDropped: o.env === undefined ? [] : Object.keys(o.env).filter((name) => MARKER_ENV_NAMES.has(name)).sort(),
    addEnv: o.addEnv === undefined || Object.keys(o.addEnv).length === 0 ? undefined : o.addEnv,
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
