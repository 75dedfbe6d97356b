// SandboxedProcess: the child as the host sees it, shaped like Node's ChildProcess (pid,
// stdio streams, 'spawn'/'exit'/'close'/'error' events, kill()), with the report of what held
// and why it ended. Signals go to the whole sandbox: the command, its process group, and with
// SIGKILL its cgroup.
import { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import type net from 'node:net';
import { constants as osConstants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { CordonError } from './errors.js';
import { native, type NativeSpawned, type NativeStdio } from './native.js';
import { nodeNet, nodeStream } from './lazy-node.js';
import type { NetworkEvent } from './proxy/index.js';
import { classifyTermination, type LimitSession, type LimitsPlan, type Termination } from './limits/index.js';
import type { EnforcementReport, ResourceUsage } from './report.js';

export const SIGNALS = osConstants.signals as Record<string, number>;
const SIGNAL_NAMES = new Map<number, NodeJS.Signals>(
  Object.entries(SIGNALS).map(([name, num]) => [num, name as NodeJS.Signals]),
);
// Signals whose default action does not terminate: a pid-1 child is simply not sent a
// SIGKILL in their place.
const NON_TERMINATING = new Set(['SIGCHLD', 'SIGCONT', 'SIGSTOP', 'SIGTSTP', 'SIGTTIN', 'SIGTTOU', 'SIGURG', 'SIGWINCH']);

/** The number of a signal given by name or number; throws ERR_UNKNOWN_SIGNAL as Node does. */
export function signalNumber(signal: NodeJS.Signals | number): number {
  if (typeof signal === 'number') {
    if (Number.isInteger(signal) && (signal === 0 || SIGNAL_NAMES.has(signal))) return signal;
  } else if (typeof signal === 'string' && Object.hasOwn(SIGNALS, signal)) {
    return SIGNALS[signal]!;
  }
  throw new CordonError('ERR_UNKNOWN_SIGNAL', `Unknown signal: ${String(signal)}`);
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

