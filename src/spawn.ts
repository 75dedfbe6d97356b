// spawnSandboxed() / execSandboxed(): child_process-shaped façade over the native spawn.
// Validation happens synchronously and spawns nothing on bad input; failures of a valid
// request (command not found, sandbox setup refused by the kernel) arrive as 'error' events
// like Node's (ENOENT, EACCES with syscall 'spawn <cmd>', path and spawnargs).
import { accessSync, constants as fsConstants, readlinkSync, statSync } from 'node:fs';
import { constants as osConstants, homedir } from 'node:os';
import { delimiter, resolve as resolvePath } from 'node:path';
import { CordonError, PolicyError, SandboxSetupError, SpawnOptionsError, EnforcementError } from './errors.js';
import { inheritedEnvBlock, toEnvBlock, type SanitizedEnv } from './env.js';
import { native, type NativeStdio } from './native.js';
import { nodeTty } from './lazy-node.js';
import { serveChildNetwork } from './network.js';
import { LimitSession, policyTimeoutSecs, timeoutEntry } from './limits/index.js';
import { policySandbox, sandboxForSpawn, type CompileOptions, type SpawnSandbox } from './plan/index.js';
import { privateTempHiding } from './mount-plan.js';
import { SandboxPolicy } from './policy/index.js';
import { MAX_TIMER_MS, parseSpawnOptions, splitArguments, type ResolvedSpawnOptions, type SpawnOptions, type StdioOption } from './options.js';
import { SandboxedProcess, signalNumber } from './process.js';
import { childMarkers, inheritedFor, masksNpmrc } from './child-env.js';
import type { EnforcementReport } from './report.js';
import { registerCache } from './caches.js';

export type { SpawnOptions, StdioOption } from './options.js';
export type * from './report.js';
export type { NetworkEvent } from './proxy/index.js';
export type { ProxyOptions } from './network.js';
export { SandboxedProcess, type SandboxedProcessEvents } from './process.js';

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
registerCache({
  name: 'spawn.ts jsonPolicies',
  key: 'the policy JSON text (objects by their JSON.stringify)',
  bound: '64, oldest evicted first',
  invalidation: 'none needed: the text is the whole input',
  size: () => jsonPolicies.size,
  clear: () => jsonPolicies.clear(),
});
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

/** A failure while reading the arguments: ours as is; a revoked Proxy's or a throwing getter's as a SpawnOptionsError. */
export function asOptionsError(error: unknown): Error {
  if (error instanceof CordonError) return error;
  return new SpawnOptionsError([{ path: 'options', message: `could not be read (${error instanceof Error ? error.message : String(error)})` }]);
}

/** The options read and checked (the kill signal included); throws SpawnOptionsError. */
function readSpawnOptions(command: string, args: readonly string[] | SpawnOptions | undefined, options: SpawnOptions | undefined): { opts: ResolvedSpawnOptions; killSignal: number } {
  let opts: ResolvedSpawnOptions;
  try {
    const split = splitArguments(args, options);
    opts = parseSpawnOptions(command, split.args, split.options);
  } catch (error) {
    throw asOptionsError(error);
  }
  try {
    return { opts, killSignal: signalNumber(opts.killSignal) };
  } catch {
    throw new SpawnOptionsError([{ path: 'options.killSignal', message: `unknown signal ${String(opts.killSignal)}` }]);
  }
}

function compileOptionsOf(opts: ResolvedSpawnOptions, ptyPath: string | undefined): CompileOptions {
  return {
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
}

/** The child's report: the sandbox's, with this spawn's timeout and environment facts. */
function childReport(r: SpawnSandbox['report'], policy: SandboxPolicy, opts: ResolvedSpawnOptions, inherited: { removed: readonly string[] }): EnforcementReport {
  const explicitEnv = opts.addEnv === undefined ? [] : Object.keys(opts.addEnv);
  return {
    ...r,
    ...(r.limits && opts.timeout !== undefined ? { limits: { ...r.limits, timeout: timeoutEntry(policy.resourceLimits().timeoutSecs, opts.timeout) } } : {}),
    lifecycle: {
      ...r.lifecycle,
      envSanitized: opts.env === undefined,
      removedEnv: explicitEnv.length === 0 ? [...inherited.removed] : inherited.removed.filter((name) => !Object.hasOwn(opts.addEnv!, name)),
      explicitEnv,
    },
    missing: [...r.missing],
  };
}

/** Arms the wall-clock limit and the abort signal (both end the sandbox with killSignal, then SIGKILL). */
function armTermination(child: SandboxedProcess, policy: SandboxPolicy, opts: ResolvedSpawnOptions, killSignal: number): void {
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
}

/**
 * Starts `command` inside the sandbox that `options.policy` describes (default: read-only,
 * no network). Throws synchronously, spawning nothing, on invalid options or policy, or when
 * strict enforcement cannot be met on this kernel.
 */
export function spawnSandboxed(command: string, args?: readonly string[] | SpawnOptions, options?: SpawnOptions): SandboxedProcess {
  const { opts, killSignal } = readSpawnOptions(command, args, options);
  command = opts.file;
  const argList = [...opts.args];
  const policy = policyOf(opts.policy);
  const cwd = opts.cwd;
  const inherited = opts.env === undefined ? inheritedFor(opts.inheritEnv) : { env: opts.env, removed: opts.envDropped };
  const stdio = opts.stdio.map((value, index) => stdioFd(value, index));
  const compileOptions = compileOptionsOf(opts, terminalOf(stdio));

  // A missing cwd is named (Node reports only "spawn <cmd> ENOENT"). Checked before compiling:
  // under WorkspaceWrite the cwd is a writable root, which must exist.
  try {
    if (!statSync(cwd).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? 'ENOENT';
    const child = new SandboxedProcess(command, [command, ...argList], childReport(policySandbox(policy, compileOptions).report, policy, opts, inherited));
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
  const report = childReport(compiled.report, policy, opts, inherited);
  report.lifecycle.npmrcSettings = [...npmrcKeys];
  // Only what took effect: cordon's own variables (proxy, caches) win over addEnv.
  if (report.lifecycle.explicitEnv.length > 0) report.lifecycle.explicitEnv = report.lifecycle.explicitEnv.filter((name) => !Object.hasOwn(extra, name));
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
        : inheritedEnvBlock(inherited as SanitizedEnv, extra);
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
  armTermination(child, policy, opts, killSignal);
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
