// execSandboxed(): run to completion and collect the output, shaped like execFile (encoding,
// maxBuffer, signal, input), resolving whatever the exit status.
import { SpawnOptionsError, type PolicyIssue } from './errors.js';
import type { NetworkEvent } from './proxy/index.js';
import type { SpawnOptions } from './options.js';
import { splitArguments } from './options.js';
import type { EnforcementReport, ResourceUsage, Termination } from './report.js';
import { SIGNALS, type SandboxedProcess } from './process.js';
import { asOptionsError, spawnSandboxed } from './spawn.js';


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
