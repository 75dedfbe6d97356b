// `cordon run`: the command in a sandbox, its report where asked, signals forwarded, and its
// exit status as a shell gives it (128+N killed by signal N, 124 timed out, 126 not
// executable, 127 not found, 125 nothing ran).
import { closeSync, existsSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { SpawnOptionsError } from '../errors.js';
import { spawnSandboxed } from '../spawn.js';
import { parseRunArgs, type RunArgs } from './args.js';
import { SetupError, UsageError } from './errors.js';
import { RUN_HELP } from './help.js';
import { buildPolicy, checkCwd, environmentFor } from './run-setup.js';
import { summaryLine } from './summary.js';

type SandboxedChild = ReturnType<typeof spawnSandboxed>;

/** A spawn option the library refused, named by the flag that gave it (a --device that is no character device...). */
function asUsageError(err: SpawnOptionsError, args: RunArgs): Error {
  const flags: string[] = [];
  for (const issue of err.issues) {
    const device = /^options\.devices\[(\d+)\]$/.exec(issue.path);
    if (!device) return err;
    flags.push(`--device ${args.devices[Number(device[1])]}: ${issue.message.replace(`${args.devices[Number(device[1])]} `, '')}`);
  }
  return new UsageError(flags.join('; '));
}

export async function run(argv: string[]): Promise<number> {
  const args = parseRunArgs(argv);
  if (args.help) {
    process.stdout.write(RUN_HELP);
    return 0;
  }
  checkCwd(args);
  const policy = buildPolicy(args);
  const environment = environmentFor(args);
  const [command, ...rest] = args.command as [string, ...string[]];

  // Opened before the spawn: a report file that cannot be written is bad setup, and nothing runs.
  const reportFile = args.reportFile !== undefined ? openReportFile(args.reportFile) : undefined;
  let child: SandboxedChild;
  try {
    child = spawnSandboxed(command, rest, {
      policy,
      cwd: args.cwd,
      stdio: 'inherit',
      enforcement: args.bestEffort ? 'best-effort' : 'strict',
      ...(args.tmp ? { tmp: args.tmp } : {}),
      ...(args.devices.length > 0 ? { devices: args.devices } : {}),
      ...(args.protectedDirs ? { protectedDirs: args.protectedDirs } : {}),
      ...environment,
      // A positive timeout never rounds to 0 (which would mean none).
      ...(args.timeoutSecs !== undefined ? { timeout: args.timeoutSecs > 0 ? Math.max(1, Math.round(args.timeoutSecs * 1000)) : 0 } : {}),
    });
  } catch (err) {
    // Nothing ran: no report file is left behind (one that was there stays, emptied).
    if (reportFile !== undefined) {
      closeSync(reportFile.fd);
      if (!reportFile.existed) unlinkSync(args.reportFile!);
    }
    throw err instanceof SpawnOptionsError ? asUsageError(err, args) : err;
  }
  const stopForwarding = forwardSignals(child);
  // After the handlers: a caller that waits for the report may signal right away.
  writeReports(args, child, reportFile?.fd);
  return exitStatus(args, child, stopForwarding);
}

function openReportFile(file: string): { fd: number; existed: boolean } {
  const existed = existsSync(file);
  try {
    return { fd: openSync(file, 'w'), existed };
  } catch (err) {
    throw new SetupError(`--report-file ${file}: cannot write it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

/** SIGINT, SIGTERM and SIGHUP of the CLI go to the sandboxed command; the result stops that. */
function forwardSignals(child: SandboxedChild): () => void {
  const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((sig) => {
    const h = forward(sig);
    process.on(sig, h);
    return [sig, h] as const;
  });
  return () => {
    for (const [sig, h] of handlers) process.off(sig, h);
  };
}

/** The JSON report to the report file (or stderr with --report), and the summary line with --report=summary. */
function writeReports(args: RunArgs, child: SandboxedChild, reportFd: number | undefined): void {
  if (reportFd !== undefined) {
    // The command runs already: a report that cannot be written is said, and its status stands
    // (125 would tell a caller that nothing ran).
    try {
      writeSync(reportFd, `${JSON.stringify(child.enforcement, null, 2)}\n`);
    } catch (err) {
      process.stderr.write(`cordon: --report-file ${args.reportFile}: could not write the report (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); the command runs on\n`);
    } finally {
      closeSync(reportFd);
    }
  } else if (args.report === 'json') process.stderr.write(`${JSON.stringify(child.enforcement, null, 2)}\n`);
  if (args.report === 'summary') process.stderr.write(`${summaryLine(child.enforcement)}\n`);
}

/** Waits for the command to close and resolves with its exit status, as a shell would give it. */
function exitStatus(args: RunArgs, child: SandboxedChild, stopForwarding: () => void): Promise<number> {
  return new Promise((resolve) => {
    let failure: NodeJS.ErrnoException | undefined;
    child.on('error', (err: NodeJS.ErrnoException) => {
      failure ??= err;
    });
    child.on('close', (code, signal) => {
      stopForwarding();
      if (child.pid === undefined && failure) {
        process.stderr.write(`cordon: ${failure.message}\n`);
        resolve(failure.code === 'ENOENT' ? 127 : failure.code === 'EACCES' || failure.code === 'ENOEXEC' ? 126 : 125);
      } else if (child.timedOut) {
        const secs = args.timeoutSecs ?? child.enforcement.limits?.timeout.value;
        process.stderr.write(`cordon: timed out after ${secs} s\n`);
        resolve(124);
      } else if (signal) resolve(128 + ((osConstants.signals as Record<string, number>)[signal] ?? 0));
      else resolve(code ?? 125);
    });
  });
}
