// spawnSandboxed() / execSandboxed(): child_process-shaped façade over the native spawn.
// Validation happens synchronously and spawns nothing on bad input; failures of a valid
// request (command not found, sandbox setup refused by the kernel) arrive as 'error' events
// like Node's (ENOENT, EACCES with syscall 'spawn <cmd>', path and spawnargs).
import { EventEmitter } from 'node:events';
import { accessSync, constants as fsConstants, readFileSync, readlinkSync, statSync } from 'node:fs';
import type net from 'node:net';
import { constants as osConstants, homedir } from 'node:os';
import { delimiter, resolve as resolvePath } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { CordonError, PolicyError, SandboxSetupError, SpawnOptionsError, EnforcementError, type PolicyIssue } from './errors.js';
import { inheritedEnv, inheritedEnvBlock, MINIMAL_ENV_NAMES, narrowEnv, toEnvBlock, type SanitizedEnv } from './env.js';
import { native, type NativeSpawned, type NativeStdio } from './native.js';
import { nodeNet, nodeStream, nodeTty } from './lazy-node.js';
import { sandboxProxyEnv, serveChildNetwork } from './network.js';
import { npmrcSettings, offlineEnv, privateCacheEnv } from './tool-env.js';
import type { NetworkEvent } from './proxy/index.js';
import { classifyTermination, LimitSession, policyTimeoutSecs, timeoutEntry, type LimitsPlan, type Termination } from './limits.js';
import { policySandbox, sandboxForSpawn, type EnforcementReport, type SpawnSandbox } from './plan.js';
import { privateTempHiding } from './mount-plan.js';
import { SandboxPolicy } from './policy/index.js';
import { MAX_TIMER_MS, parseSpawnOptions, splitArguments, type SpawnOptions, type StdioOption } from './options.js';

export type { SpawnOptions, StdioOption } from './options.js';
export type { EnforcementReport, LifecycleReport, TreeKill, SeccompReport, NetworkReport, NetworkMode } from './plan.js';
export type { FilesystemReport } from './filesystem/index.js';
export type { LimitsReport } from './limits.js';
export type { IsolationClass } from './isolation.js';
export type { NetworkEvent } from './proxy/index.js';
export type { ProxyOptions } from './network.js';

/** CPU time and memory of a finished child (from wait4-style rusage). */
export interface ResourceUsage {
  /** User CPU time in microseconds. */
  userCPUTime: number;
  /** System CPU time in microseconds. */
  systemCPUTime: number;
  /**
   * Peak resident set size in kilobytes. Linux records the pre-execve high-water mark of the
   * memory the child shared with the host (clone(CLONE_VM)), so this is at least the host's
   * RSS at spawn time; use cgroup memory limits, not this, to judge a tool's memory.
   */
  maxRSS: number;
}

export type { Termination } from './limits.js';

const SIGNALS = osConstants.signals as Record<string, number>;
const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(
  Object.entries(SIGNALS).map(([name, num]) => [num, name as NodeJS.Signals]),
);
// Signals whose default action does not terminate: a pid-1 child is simply not sent a
// SIGKILL in their place.
const NON_TERMINATING = new Set(['SIGCHLD', 'SIGCONT', 'SIGSTOP', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGURG', 'SIGWINCH']);

function signalNumber(signal: NodeJS.Signals | number): number {
  if (typeof signal === 'number') {
    if (Number.isInteger(signal) && (signal === 0 || SIGNAL_NAMES.has(signal))) return signal;
  } else if (typeof signal === 'string' && Object.hasOwn(SIGNALS, signal)) {
    return SIGNALS[signal]!;
  }
  throw new CordonError('ERR_UNKNOWN_SIGNAL', `Unknown signal: ${String(signal)}`);
}

/** Node-shaped system error (as child_process emits for ENOENT/EACCES). */
function spawnError(code: string, errno: number, command: string, args: string[], extra?: string): NodeJS.ErrnoException {
  const err = new Error(`spawn ${command} ${code}${extra ? `: ${extra}` : ''}`) as NodeJS.ErrnoException & { spawnargs: string[] };
  err.errno = -Math.abs(errno);
  err.code = code;
  err.syscall = `spawn ${command}`;
  err.path = command;
  err.spawnargs = args;
  return err;
}

const ERRNO: Record<string, number> = osConstants.errno as Record<string, number>;

/** Finds the executable as execvp would, in the parent (the child must not search PATH). */
function resolveExecutable(command: string, pathEnv: string | undefined, cwd: string): { file: string } | { error: 'ENOENT' | 'EACCES' } {
  if (command.includes('/')) return { file: resolvePath(cwd, command) };
  let sawNonExecutable = false;
  for (const dir of (pathEnv ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter)) {
    const candidate = resolvePath(cwd, dir === '' ? '.' : dir, command);
    try {
      accessSync(candidate, fsConstants.X_OK);
      if (statSync(candidate).isFile()) return { file: candidate };
    } catch (e) {
      // EACCES counts only for a file that exists but is not executable; a PATH directory we
      // may not search (another user's ~/bin) just holds nothing for us.
      if ((e as NodeJS.ErrnoException).code === 'EACCES') {
        try {
          if (statSync(candidate).isFile()) sawNonExecutable = true;
        } catch {
          // not there, or not reachable
        }
      }
    }
  }
  return { error: sawNonExecutable ? 'EACCES' : 'ENOENT' };
}

function policyOf(option: SpawnOptions['policy']): SandboxPolicy {
  if (option === undefined) return SandboxPolicy.default();
  if (option instanceof SandboxPolicy) return option;
  return parsedPolicyCache(option);
}

// JSON policies (strings or objects) are parsed once; the compiled sandbox is cached per
// parsed policy object, so an exec loop passing the same JSON pays for compiling once.
const jsonPolicies = new Map<string, SandboxPolicy>();
function parsedPolicyCache(json: unknown): SandboxPolicy {
  // An object is read as its JSON text: the cache key and what is parsed are the same bytes, so
  // an object whose own properties say something else than its serialization (toJSON, hidden
  // properties) can never meet another policy's cached parse.
  const key = typeof json === 'string' ? json : policyJsonText(json);
  let policy = jsonPolicies.get(key);
  if (!policy) {
    policy = SandboxPolicy.parse(key);
    if (jsonPolicies.size >= 64) jsonPolicies.delete(jsonPolicies.keys().next().value!);
    jsonPolicies.set(key, policy);
  }
  return policy;
}

function policyJsonText(json: unknown): string {
  try {
    const text = JSON.stringify(json);
    if (typeof text === 'string') return text;
  } catch (error) {
    throw new PolicyError([{ path: '', message: `could not be serialized as JSON (${error instanceof Error ? error.message : String(error)})` }]);
  }
  throw new PolicyError([{ path: '', message: 'could not be serialized as JSON' }]);
}

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
interface ChildEnvFacts {
  /** The sandbox's effective network mode (the report's). */
  network: 'none' | 'allowlist' | 'full';
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
const markerCache = new WeakMap<SandboxPolicy, Map<string, Record<string, string>>>();
function childMarkers(policy: SandboxPolicy, cwd: string, facts: ChildEnvFacts): { extra: Record<string, string>; npmrcKeys: string[] } {
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

const npmrcMasked = new WeakMap<SandboxPolicy, { home: string; masked: boolean }>();
/** Whether the policy masks `home`/.npmrc (cached per policy and home). */
function masksNpmrc(policy: SandboxPolicy, home: string): boolean {
  let known = npmrcMasked.get(policy);
  if (known?.home !== home) {
    known = { home, masked: policy.isSensitivePath(`${home}/.npmrc`) };
    npmrcMasked.set(policy, known);
  }
  return known.masked;
}

// inheritEnv 'minimal' or a list: the sanitised reading narrowed, cached per reading and list.
const narrowed = new WeakMap<SanitizedEnv, Map<string, SanitizedEnv>>();
function inheritedFor(choice: 'filtered' | 'minimal' | readonly string[]): SanitizedEnv {
  const full = inheritedEnv();
  if (choice === 'filtered') return full;
  const names = choice === 'minimal' ? MINIMAL_ENV_NAMES : [...MINIMAL_ENV_NAMES, ...choice];
  return cachedFor(narrowed, full, names.join('\0'), 16, () => narrowEnv(full, names));
}

/**
 * The terminal a command gets as stdio (its device path), if any: granted by name and carried
 * into a private /dev, so that `tty`, `/dev/stdin` and reopening it work as outside.
 */
function terminalOf(stdio: readonly NativeStdio[]): string | undefined {
  for (const fd of stdio) {
    if (typeof fd !== 'number' || !nodeTty().isatty(fd)) continue;
    try {
      const path = readlinkSync(`/proc/self/fd/${fd}`);
      if (path.startsWith('/dev/')) return path;
    } catch {
      // not resolvable: the fd still works, only a reopen by name would not
    }
  }
  return undefined;
}

function stdioFd(value: StdioOption, index: number): NativeStdio {
  if (value === 'pipe' || value === 'ignore') return value;
  if (value === 'inherit') return index;
  if (typeof value === 'number') return value;
  return value.fd;
}

/** The events of a SandboxedProcess and their listeners' arguments. */
export interface SandboxedProcessEvents {
  /** The command was started (after its execve was prepared; like ChildProcess 'spawn'). */
  spawn: [];
  /** The command ended: exit code, or the signal that ended it (the other is null). */
  exit: [code: number | null, signal: NodeJS.Signals | null];
  /** The command ended and its stdio streams closed (a failed start: code -errno... as Node). */
  close: [code: number | null, signal: NodeJS.Signals | null];
  /** The command could not be started, a stream failed, or `signal` aborted it (AbortError). */
  error: [error: Error];
  /** Allowlist mode: one decision of the egress proxy. */
  network: [event: NetworkEvent];
}
type EventName = keyof SandboxedProcessEvents;
// A listener may take more parameters than the event passes, typed unknown (a Promise's resolve
// for 'spawn', as with Node's own emitters); the ones it passes are checked.
type Listener<K extends EventName> = (...args: [...SandboxedProcessEvents[K], ...unknown[]]) => void;

/**
 * A sandboxed child process, shaped like Node's ChildProcess: `pid`, `stdin`/`stdout`/`stderr`,
 * events `spawn`, `exit(code, signal)`, `close(code, signal)`, `error`, and `kill()`; plus
 * `resourceUsage` after exit and `enforcement`, the report of what was applied to it.
 */
// EventEmitter's methods, narrowed to the events above by declaration merging (no code at run
// time): a misspelt event name or a listener of the wrong shape is a compile error.
export interface SandboxedProcess {
  on<K extends EventName>(event: K, listener: Listener<K>): this;
  once<K extends EventName>(event: K, listener: Listener<K>): this;
  off<K extends EventName>(event: K, listener: Listener<K>): this;
  addListener<K extends EventName>(event: K, listener: Listener<K>): this;
  removeListener<K extends EventName>(event: K, listener: Listener<K>): this;
  prependListener<K extends EventName>(event: K, listener: Listener<K>): this;
  prependOnceListener<K extends EventName>(event: K, listener: Listener<K>): this;
  emit<K extends EventName>(event: K, ...args: SandboxedProcessEvents[K]): boolean;
}
export class SandboxedProcess extends EventEmitter {
  /** Host-side pid of the child (undefined when it could not be started). */
  pid: number | undefined;
  stdin: Writable | null = null;
  stdout: Readable | null = null;
  stderr: Readable | null = null;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  /** True once kill() delivered a signal. */
  killed = false;
  /** True when the timeout fired. */
  timedOut = false;
  /** Why the child ended, once it has. */
  termination: Termination | null = null;
  resourceUsage: ResourceUsage | null = null;
  /** What was applied to this child (see README: enforcement report). */
  readonly enforcement: EnforcementReport;
  readonly spawnfile: string;
  readonly spawnargs: string[];

  #id = -1;
  #pidNamespace = false;
  #exited = false;
  /** Set at exit: some of the process group outlived the command (never in a pid namespace). */
  #groupOutlived = false;
  #openStreams = 0;
  #closeEmitted = false;
  #translatedSignal: NodeJS.Signals | null = null;
  #killReason: Termination | null = null;
  #timers: NodeJS.Timeout[] = [];
  #abortCleanup: (() => void) | null = null;
  #limits: LimitsPlan | null = null;
  #limitSession: LimitSession | null = null;

  /** Made by spawnSandboxed(); not for callers. */
  constructor(file: string, args: string[], enforcement: EnforcementReport) {
    super();
    this.spawnfile = file;
    this.spawnargs = args;
    this.enforcement = enforcement;
  }

  /** @internal */
  _start(start: () => NativeSpawned, pidNamespace: boolean, stdio: NativeStdio[]): NativeSpawned {
    const spawned = start();
    this.#id = spawned.id;
    this.pid = spawned.pid;
    this.#pidNamespace = pidNamespace;
    const [inFd, outFd, errFd] = spawned.stdio;
    if (stdio[0] === 'pipe') this.stdin = this.#wrap(inFd, false);
    if (stdio[1] === 'pipe') this.stdout = this.#wrap(outFd, true);
    if (stdio[2] === 'pipe') this.stderr = this.#wrap(errFd, true);
    process.nextTick(() => this.emit('spawn'));
    return spawned;
  }

  #wrap(fd: number, readable: boolean): net.Socket {
    const socket = new (nodeNet().Socket)({ fd, readable, writable: !readable });
    this.#openStreams++;
    socket.once('close', () => {
      this.#openStreams--;
      this.#maybeClose();
    });
    // A child that exits while we write its stdin is the child's business, as in Node.
    if (!readable) socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE' && err.code !== 'ECONNRESET') this.emit('error', err);
    });
    return socket;
  }

  /** @internal the start failed; mirror Node: 'error', then 'close' with -errno. */
  _fail(error: Error, stdio: NativeStdio[]): void {
    const dummy = (index: number) => {
      if (stdio[index] !== 'pipe') return null;
      const stream = new (nodeStream().PassThrough)();
      stream.end();
      return stream;
    };
    this.stdin = dummy(0);
    this.stdout = dummy(1);
    this.stderr = dummy(2);
    process.nextTick(() => {
      this.emit('error', error);
      const errno = (error as NodeJS.ErrnoException).errno;
      this.#closeEmitted = true;
      this.emit('close', typeof errno === 'number' ? errno : null, null);
    });
  }

  /** @internal */
  _onExit(code: number | null, signal: number | null, usage: ResourceUsage): void {
    this.#exited = true;
    // The group's id stays allocated only while a member lives: once it is empty the number can
    // be any new process's, and that process's group. Asked now, right after the reap; in a pid
    // namespace nothing outlives the command (the namespace dies with its pid 1).
    if (!this.#pidNamespace && this.pid !== undefined) {
      try {
        process.kill(-this.pid, 0);
        this.#groupOutlived = true;
      } catch {
        this.#groupOutlived = false;
      }
    }
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers = [];
    this.#abortCleanup?.();
    this.resourceUsage = usage;
    this.exitCode = code;
    const name = signal === null ? null : (SIGNAL_NAMES.get(signal) ?? null);
    // A pid-1 child that had no handler was sent SIGKILL in place of the requested signal:
    // report the signal the caller asked for (it would have died of it as a normal process).
    this.signalCode = name === 'SIGKILL' && this.#translatedSignal ? this.#translatedSignal : name;
    // Host-made endings win; then the limits' evidence (read before the cgroups go away).
    const session = this.#limitSession;
    const byLimit = this.#limits
      ? classifyTermination({ code, signal, usage, limits: this.#limits.limits, evidence: session ? session.evidence() : null })
      : null;
    session?.dispose();
    this.termination = this.#killReason ?? byLimit ?? (signal === null ? 'exit' : 'signal');
    // As Node does: nobody can write to an exited child, and 'close' must not wait for stdin.
    this.stdin?.destroy();
    this.emit('exit', this.exitCode, this.signalCode);
    this.#maybeClose();
  }

  #maybeClose(): void {
    if (this.#exited && this.#openStreams === 0 && !this.#closeEmitted) {
      this.#closeEmitted = true;
      this.emit('close', this.exitCode, this.signalCode);
    }
  }

  /**
   * Sends a signal to the whole sandbox (default SIGTERM). Returns true when it was delivered.
   * In a pid namespace the command is pid 1, which the kernel shields from signals it has no
   * handler for; such a signal is replaced by SIGKILL (which takes the namespace down), and
   * `signalCode` still reports the signal asked for.
   */
  kill(signal: NodeJS.Signals | number = 'SIGTERM'): boolean {
    const sig = signalNumber(signal);
    const delivered = this.#signalTree(sig);
    if (delivered && sig !== 0) this.killed = true;
    return delivered;
  }

  #signalTree(sig: number): boolean {
    if (this.pid === undefined) return false;
    let delivered = false;
    if (!this.#exited) {
      let direct = sig;
      if (this.#pidNamespace && sig !== SIGNALS.SIGKILL && sig !== 0) {
        const name = SIGNAL_NAMES.get(sig)!;
        if (!this.#catches(sig) && !NON_TERMINATING.has(name)) {
          this.#translatedSignal = name;
          direct = SIGNALS.SIGKILL!;
        }
      }
      delivered = native().signalChild(this.#id, direct) === 0;
    }
    // The rest of the process group (descendants that did not leave it). After the reap only if
    // members outlived the command: an empty group's number may belong to another process by now.
    if (!this.#exited || this.#groupOutlived) {
      try {
        process.kill(-this.pid, sig);
        delivered = true;
      } catch {
        // ESRCH: the group is gone.
      }
    }
    // SIGKILL reaches the whole cgroup, setsid escapees included.
    if (sig === SIGNALS.SIGKILL && this.#limitSession && !this.#exited) this.#limitSession.killAll();
    return delivered;
  }

  /** Whether the child has a handler for `sig` (SigCgt of /proc/<pid>/status). */
  #catches(sig: number): boolean {
    try {
      const status = readFileSync(`/proc/${this.pid}/status`, 'latin1');
      const match = /^SigCgt:\s*([0-9a-f]+)$/m.exec(status);
      return match !== null && ((BigInt(`0x${match[1]}`) >> BigInt(sig - 1)) & 1n) === 1n;
    } catch {
      return false;
    }
  }

  /** @internal kill for a reason (timeout, abort, max-buffer): signal, then SIGKILL after a grace period. */
  _terminate(reason: Termination, signal: number, graceMs: number): void {
    if (this.#exited || this.#killReason) return;
    this.#killReason = reason;
    if (reason === 'timeout') this.timedOut = true;
    this.kill(signal);
    if (signal !== SIGNALS.SIGKILL) {
      const timer = setTimeout(() => this.#signalTree(SIGNALS.SIGKILL!), graceMs);
      timer.unref();
      this.#timers.push(timer);
    }
  }

  /** @internal the limits applied and the child's cgroup session (disposed at exit). */
  _setLimits(limits: LimitsPlan, session: LimitSession | null): void {
    this.#limits = limits;
    this.#limitSession = session;
  }

  /** @internal */
  _addTimer(timer: NodeJS.Timeout): void {
    this.#timers.push(timer);
  }

  /** @internal */
  _setAbortCleanup(cleanup: () => void): void {
    this.#abortCleanup = cleanup;
  }

  /** Lets the host exit while the child runs (like ChildProcess.unref). */
  unref(): void {
    if (this.#id >= 0 && !this.#exited) native().refChild(this.#id, false);
    this.stdin && (this.stdin as net.Socket).unref?.();
    this.stdout && (this.stdout as net.Socket).unref?.();
    this.stderr && (this.stderr as net.Socket).unref?.();
  }

  /** Undoes unref(). */
  ref(): void {
    if (this.#id >= 0 && !this.#exited) native().refChild(this.#id, true);
    this.stdin && (this.stdin as net.Socket).ref?.();
    this.stdout && (this.stdout as net.Socket).ref?.();
    this.stderr && (this.stderr as net.Socket).ref?.();
  }
}

/** A failure while reading the arguments: ours as is; a revoked Proxy's or a throwing getter's as a SpawnOptionsError. */
function asOptionsError(error: unknown): Error {
  if (error instanceof CordonError) return error;
  return new SpawnOptionsError([{ path: 'options', message: `could not be read (${error instanceof Error ? error.message : String(error)})` }]);
}

/**
 * Starts `command` inside the sandbox that `options.policy` describes (default: read-only,
 * no network). Throws synchronously, spawning nothing, on invalid options or policy, or when
 * strict enforcement cannot be met on this kernel.
 */
export function spawnSandboxed(command: string, args?: readonly string[] | SpawnOptions, options?: SpawnOptions): SandboxedProcess {
  let opts: ReturnType<typeof parseSpawnOptions>;
  try {
    const split = splitArguments(args, options);
    opts = parseSpawnOptions(command, split.args, split.options);
  } catch (error) {
    throw asOptionsError(error);
  }
  command = opts.file;
  let killSignal: number;
  try {
    killSignal = signalNumber(opts.killSignal);
  } catch {
    throw new SpawnOptionsError([{ path: 'options.killSignal', message: `unknown signal ${String(opts.killSignal)}` }]);
  }
  const argList = [...(opts.args)];
  const policy = policyOf(opts.policy);
  const cwd = opts.cwd;

  const inherited = opts.env === undefined ? inheritedFor(opts.inheritEnv) : { env: opts.env, removed: opts.envDropped };
  const explicitEnv = opts.addEnv === undefined ? [] : Object.keys(opts.addEnv);

  const stdio = opts.stdio.map((value, index) => stdioFd(value, index));
  const ptyPath = terminalOf(stdio);
  const compileOptions = {
    enforcement: opts.enforcement,
    namespaces: opts.namespaces,
    ...(opts.landlockAbiCap !== undefined ? { landlockAbiCap: opts.landlockAbiCap } : {}),
    ...(opts.networkNamespace === 'private' ? { networkNamespace: 'private' as const } : {}),
    tmp: opts.tmp,
    protectedDirs: opts.protectedDirs,
    ...(opts.tmpSizeMb !== undefined ? { tmpSizeMb: opts.tmpSizeMb } : {}),
    ...(opts.devices !== undefined ? { devices: opts.devices } : {}),
    ...(ptyPath !== undefined ? { ptyPath } : {}),
    ...(opts.maxOpenFiles !== undefined ? { maxOpenFiles: opts.maxOpenFiles } : {}),
  };
  const reportOf = (r: SpawnSandbox['report'], missing: string[]): EnforcementReport => ({
    ...r,
    ...(r.limits && opts.timeout !== undefined ? { limits: { ...r.limits, timeout: timeoutEntry(policy.resourceLimits().timeoutSecs, opts.timeout) } } : {}),
    lifecycle: {
      ...r.lifecycle,
      envSanitized: opts.env === undefined,
      removedEnv: explicitEnv.length === 0 ? [...inherited.removed] : inherited.removed.filter((name) => !Object.hasOwn(opts.addEnv!, name)),
      explicitEnv,
    },
    missing: [...missing],
  });

  // A missing cwd is named (Node reports only "spawn <cmd> ENOENT"). Checked before compiling:
  // under WorkspaceWrite the cwd is a writable root, which must exist.
  try {
    if (!statSync(cwd).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'ENOENT';
    const sandbox = policySandbox(policy, compileOptions);
    const child = new SandboxedProcess(command, [command, ...argList], reportOf(sandbox.report, sandbox.missing));
    child._fail(Object.assign(spawnError(code, ERRNO[code] ?? 2, command, argList, `cwd ${cwd} is not an existing directory`), { cwd }), stdio);
    return child;
  }

  const compiled = sandboxForSpawn(policy, cwd, compileOptions);
  if (opts.enforcement === 'strict' && compiled.missing.length > 0) throw new EnforcementError(compiled.missing);
  // What cordon adds to the environment: markers, and in allowlist mode the proxy variables
  // pointing at the listener inside the child's namespace (see tool-env.ts for the rest).
  const home = process.env.HOME ?? homedir();
  const tmp = compiled.privateTemp.find((t) => t.target === '/tmp') ?? compiled.privateTemp[0];
  const { extra, npmrcKeys } = childMarkers(policy, cwd, {
    network: compiled.report.network?.mode ?? 'full',
    proxied: compiled.proxied,
    cacheDir: opts.toolCaches === 'private' && tmp ? `${tmp.target}/cordon-caches` : undefined,
    npmrcHome: opts.env === undefined && masksNpmrc(policy, home) ? home : undefined,
  });
  const report = reportOf(compiled.report, compiled.missing);
  report.lifecycle.npmrcSettings = [...npmrcKeys];
  // Only what took effect: cordon's own variables (proxy, caches) win over addEnv.
  if (explicitEnv.length > 0) report.lifecycle.explicitEnv = explicitEnv.filter((name) => !Object.hasOwn(extra, name));
  const child = new SandboxedProcess(command, [command, ...argList], report);

  // Looked up with the PATH the command gets, as child_process does with options.env.PATH.
  const resolved = resolveExecutable(command, opts.addEnv?.PATH ?? inherited.env.PATH, cwd);
  if ('error' in resolved) {
    child._fail(spawnError(resolved.error, ERRNO[resolved.error]!, command, argList), stdio);
    return child;
  }
  // A program in the host's /tmp is not in the sandbox's own: say so rather than a bare ENOENT.
  const hiddenBy = privateTempHiding(resolved.file, compiled.privateTemp);
  if (hiddenBy) {
    const why = `${resolved.file} lies in the host's ${hiddenBy.target}, and the sandbox has a private ${hiddenBy.target} of its own (move it, or pass tmp: 'host')`;
    child._fail(spawnError('ENOENT', ERRNO.ENOENT!, command, argList, why), stdio);
    return child;
  }

  // Per-spawn limits: cgroup leaves (the child joins them before execve), uid-relative NPROC.
  let limitSession: LimitSession | null;
  try {
    limitSession = LimitSession.open(compiled.limits);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    child._fail(new SandboxSetupError('cgroup', err.errno ?? 0, err.code ?? 'EUNKNOWN', `cannot set up the resource-limit cgroup: ${err.message} (spawning ${command})`), stdio);
    return child;
  }
  child._setLimits(compiled.limits, limitSession);

  try {
    const envp =
      opts.env !== undefined || opts.addEnv !== undefined
        ? toEnvBlock({ ...inherited.env, ...opts.addEnv, ...extra })
        : inheritedEnvBlock(inherited, extra);
    const spawned = child._start(
      () =>
        native().spawn(
          {
            ...compiled.plan,
            prewarm: opts.prewarm,
            ...(limitSession ? { rlimits: limitSession.rlimits, cgroupProcsFds: limitSession.procsFds } : {}),
            file: resolved.file,
            argv: [opts.argv0 ?? command, ...argList],
            envp,
            cwd,
          },
          stdio,
          (code, signal, usage) => child._onExit(code, signal, usage),
        ),
      compiled.pidNamespace,
      stdio,
    );
    limitSession?.closeProcsFds();
    if (spawned.listenerFds.length > 0) serveChildNetwork(child, spawned.listenerFds, policy, opts.networkResolver, opts.proxy);
  } catch (e) {
    limitSession?.dispose();
    child._fail(translateNativeError(e as NativeFailure, command, argList, cwd), stdio);
    return child;
  }

  const timeoutMs = opts.timeout ?? policyTimeoutSecs(policy.resourceLimits().timeoutSecs) * 1000;
  if (timeoutMs > 0) {
    // setTimeout fires at once beyond 2^31-1 ms (24.8 days); a longer limit (a policy's
    // timeout_secs may ask for one) waits in steps.
    const arm = (remaining: number) => {
      const step = Math.min(remaining, MAX_TIMER_MS);
      const timer = setTimeout(() => (remaining > step ? arm(remaining - step) : child._terminate('timeout', killSignal, opts.killGraceMs)), step);
      timer.unref();
      child._addTimer(timer);
    };
    arm(timeoutMs);
  }
  const signal = opts.signal;
  if (signal) {
    const onAbort = () => {
      child._terminate('killed', killSignal, opts.killGraceMs);
      child.emit('error', Object.assign(new Error('The operation was aborted', { cause: signal.reason }), { name: 'AbortError', code: 'ABORT_ERR' }));
    };
    if (signal.aborted) process.nextTick(onAbort);
    else {
      signal.addEventListener('abort', onAbort, { once: true });
      child._setAbortCleanup(() => signal.removeEventListener('abort', onAbort));
    }
  }
  return child;
}

/**
 * Kills and reaps the standby children kept for exec loops (see SpawnOptions.prewarm), for a
 * host that wants no idle child around. Returns how many there were. Later spawns make new ones
 * unless prewarm is off.
 */
export function releaseStandbys(): number {
  if (process.platform !== 'linux') return 0; // no addon, no standbys
  return native().releaseStandbys();
}

interface NativeFailure extends Error {
  code?: string;
  step?: string;
  errno?: number;
  errnoCode?: string;
}

const EXEC_ERRORS = new Set(['ENOENT', 'EACCES', 'ENOEXEC', 'ENOTDIR', 'ELOOP', 'ETXTBSY', 'E2BIG', 'EISDIR', 'ENAMETOOLONG']);

function translateNativeError(e: NativeFailure, command: string, args: string[], cwd: string): Error {
  if (e.code === 'ERR_CORDON_CHILD_SETUP' && e.errnoCode) {
    if (e.step === 'execve' && EXEC_ERRORS.has(e.errnoCode)) return spawnError(e.errnoCode, e.errno ?? 0, command, args);
    if (e.step === 'chdir') {
      return Object.assign(spawnError(e.errnoCode, e.errno ?? 0, command, args, `cannot enter cwd ${cwd} inside the sandbox`), { cwd });
    }
    return new SandboxSetupError(e.step ?? 'unknown', e.errno ?? 0, e.errnoCode, `${e.message} (spawning ${command})`);
  }
  if (typeof e.code === 'string' && typeof e.errno === 'number') return spawnError(e.code, e.errno, command, args);
  return e;
}

/** Result of execSandboxed: whatever the exit status, with the output. */
export interface ExecResult<T extends string | Buffer = string> {
  stdout: T;
  stderr: T;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  termination: Termination;
  durationMs: number;
  resourceUsage: ResourceUsage | null;
  enforcement: EnforcementReport;
  /** The child was stopped because stdout or stderr exceeded maxBuffer (output truncated). */
  maxBufferExceeded: boolean;
  /**
   * The egress proxy's decisions for this run, in order (allowlist mode; empty otherwise): each
   * {host, port, allowed, via, reason} as the 'network' event carries it. At most 10 000 are
   * kept; networkEventsDropped counts the rest.
   */
  network: NetworkEvent[];
  networkEventsDropped: number;
}

const MAX_EXEC_NETWORK_EVENTS = 10_000;

/** Options of execSandboxed: spawn options plus execFile's encoding and maxBuffer. */
export interface ExecOptions extends SpawnOptions {
  /** 'buffer' for Buffers; any BufferEncoding for strings (default 'utf8'). */
  encoding?: BufferEncoding | 'buffer' | null;
  /** Largest number of bytes kept per stream (default 1 MiB, as execFile); beyond it the child is killed. */
  maxBuffer?: number;
  /** Written to the child's stdin, then closed (needs stdin 'pipe', the default when given). */
  input?: string | Buffer;
}
/** ExecOptions whose output is decoded to strings. */
export interface ExecOptionsWithStringEncoding extends ExecOptions {
  encoding?: BufferEncoding;
}
/** ExecOptions whose output is kept as Buffers. */
export interface ExecOptionsWithBufferEncoding extends ExecOptions {
  encoding: 'buffer' | null;
}

/**
 * The rejection of an execSandboxed whose `signal` was aborted (as execFile's): name
 * 'AbortError', code 'ABORT_ERR', `cause` the signal's reason, and `result` what the run gave
 * up to then. It settles once the sandbox is gone.
 */
export interface ExecAbortError extends Error {
  name: 'AbortError';
  code: 'ABORT_ERR';
  result: ExecResult<string | Buffer>;
}

/**
 * Runs `command` to completion in the sandbox and resolves with its output and status,
 * whatever the exit status. Rejects when it could not be started, when the options are bad,
 * and with an AbortError when `signal` aborts it. stdout and stderr are captured where stdio
 * leaves them 'pipe' (the default); other stdio values are honoured, and give empty output.
 */
export function execSandboxed(command: string, options?: ExecOptionsWithStringEncoding): Promise<ExecResult<string>>;
export function execSandboxed(command: string, args: readonly string[], options?: ExecOptionsWithStringEncoding): Promise<ExecResult<string>>;
export function execSandboxed(command: string, options: ExecOptionsWithBufferEncoding): Promise<ExecResult<Buffer>>;
export function execSandboxed(command: string, args: readonly string[], options: ExecOptionsWithBufferEncoding): Promise<ExecResult<Buffer>>;
export function execSandboxed(command: string, args?: readonly string[] | ExecOptions, options?: ExecOptions): Promise<ExecResult<string | Buffer>>;
export function execSandboxed(command: string, args?: readonly string[] | ExecOptions, options?: ExecOptions): Promise<ExecResult<string | Buffer>> {
  let split: ReturnType<typeof splitArguments<ExecOptions>>;
  let execOwn: Pick<ExecOptions, 'encoding' | 'maxBuffer' | 'input'>;
  let spawnOptions: SpawnOptions;
  try {
    split = splitArguments(args, options);
    const { encoding, maxBuffer, input, ...rest } = split.options ?? {};
    execOwn = { encoding, maxBuffer, input };
    spawnOptions = rest;
  } catch (e) {
    return Promise.reject(asOptionsError(e));
  }
  // null is "not given" here too, as execFile reads it (but encoding: null means Buffers, as there).
  const givenEncoding = execOwn.encoding;
  const maxBuffer = execOwn.maxBuffer ?? 1024 * 1024;
  const input = execOwn.input ?? undefined;
  const encoding = givenEncoding === null ? 'buffer' : (givenEncoding ?? 'utf8');
  const issues: PolicyIssue[] = [];
  if (!(typeof maxBuffer === 'number' && maxBuffer >= 0)) issues.push({ path: 'options.maxBuffer', message: 'must be a non-negative number (Infinity: no limit)' });
  if (encoding !== 'buffer' && !Buffer.isEncoding(encoding)) issues.push({ path: 'options.encoding', message: `unknown encoding ${String(encoding)}` });
  if (input !== undefined && typeof input !== 'string' && !Buffer.isBuffer(input)) issues.push({ path: 'options.input', message: 'must be a string or a Buffer' });
  const stdin = Array.isArray(spawnOptions.stdio) ? spawnOptions.stdio[0] : spawnOptions.stdio;
  if (input !== undefined && stdin !== undefined && stdin !== 'pipe') issues.push({ path: 'options.input', message: `needs stdin 'pipe', but stdio gives it ${JSON.stringify(stdin)}` });
  if (issues.length > 0) return Promise.reject(new SpawnOptionsError(issues));
  const stdio = spawnOptions.stdio ?? [input !== undefined ? 'pipe' : 'ignore', 'pipe', 'pipe'];
  const started = Date.now();
  let child: SandboxedProcess;
  try {
    child = spawnSandboxed(command, split.args ?? [], { ...spawnOptions, stdio });
  } catch (e) {
    return Promise.reject(e);
  }
  return new Promise((resolve, reject) => {
    const chunks: [Buffer[], Buffer[]] = [[], []];
    const sizes = [0, 0];
    let overflow = false;
    let failed = false;
    let aborted: Error | undefined;
    const collect = (index: 0 | 1) => (chunk: Buffer) => {
      if (overflow) return;
      const room = maxBuffer - sizes[index]!;
      const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
      chunks[index].push(kept);
      sizes[index]! += kept.length;
      if (chunk.length > room) {
        overflow = true;
        child._terminate('max-buffer', SIGNALS.SIGKILL!, 0);
      }
    };
    const network: NetworkEvent[] = [];
    let networkEventsDropped = 0;
    child.on('network', (event) => {
      if (network.length < MAX_EXEC_NETWORK_EVENTS) network.push(event);
      else networkEventsDropped++;
    });
    child.stdout?.on('data', collect(0));
    child.stderr?.on('data', collect(1));
    // A stdin pipe nobody writes would leave the command waiting for input forever.
    if (child.stdin) child.stdin.end(input);
    child.on('error', (err) => {
      if (err.name === 'AbortError') aborted ??= err;
      else if (child.pid === undefined) {
        failed = true;
        reject(err);
      }
    });
    child.on('close', () => {
      if (failed) return;
      const decode = (parts: Buffer[]) => {
        const buffer = Buffer.concat(parts);
        return encoding === 'buffer' ? buffer : buffer.toString(encoding);
      };
      const result: ExecResult<string | Buffer> = {
        stdout: decode(chunks[0]),
        stderr: decode(chunks[1]),
        exitCode: child.exitCode,
        signal: child.signalCode,
        timedOut: child.timedOut,
        termination: child.termination ?? 'exit',
        durationMs: Date.now() - started,
        resourceUsage: child.resourceUsage,
        enforcement: child.enforcement,
        maxBufferExceeded: overflow,
        network,
        networkEventsDropped,
      };
      if (aborted) reject(Object.assign(aborted, { result }));
      else resolve(result);
    });
  });
}
