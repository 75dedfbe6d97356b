// The cordon CLI. A stable contract that other tools script:
//   cordon run [OPTIONS] [--] COMMAND [ARGS...]   (options: cordon run --help)
//   cordon check [--json]
//   cordon help [run|check], cordon --help | -h, cordon --version | -V
// run exits with the command's status: 128+N when killed by signal N, 124 on timeout,
// 125 when the sandbox could not be set up (bad usage or policy included), 126 when the
// command is not executable, 127 when it is not found (as shells do).
// check exits 0 when every preset works here in strict mode, 1 when one is refused or fails,
// 125 on bad usage or when the kernel cannot be probed.
// Help goes to stdout (exit 0); every error to stderr, bad usage with the command's usage.
//
// This module dispatches and turns failures into messages and exit statuses; the commands are
// run.ts (with args.ts, run-setup.ts, summary.ts) and check.ts (with verdicts.ts), the texts
// help.ts.
import { EnforcementError } from '../errors.js';
import { check } from './check.js';
import { UsageError } from './errors.js';
import { MORE, USAGES, help, version } from './help.js';
import { run } from './run.js';

export { summaryLine } from './summary.js';

/** The message of an EnforcementError, in the CLI's words. */
function refusal(err: EnforcementError): string {
  return `cannot enforce the sandbox policy here (strict mode): ${err.missing.join('; ')}. --best-effort runs with the protections that are available`;
}

/** Runs the CLI with `argv` (without node and script); resolves with the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    switch (sub) {
      case 'run':
        return await run(rest);
      case 'check':
        return await check(rest);
      case 'help':
        if (rest.length > 1) throw new UsageError(`help takes one topic at most`, 'main');
        return help(rest[0]);
      case '--help':
      case '-h':
        return help(undefined);
      case '--version':
      case '-V':
        if (rest.length > 0) throw new UsageError(`${sub} takes no arguments`, 'main');
        process.stdout.write(`cordon ${version()}\n`);
        return 0;
      case undefined:
        throw new UsageError('missing command', 'main');
      default:
        throw new UsageError(sub.startsWith('-') ? `unknown option ${sub}` : `unknown command ${sub}`, 'main');
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`cordon: ${err.message}\n${USAGES[err.topic]}(${MORE[err.topic]} for more)\n`);
      return 125;
    }
    if (err instanceof EnforcementError) {
      process.stderr.write(`cordon: ${refusal(err)}\n`);
      return 125;
    }
    // SetupError, CordonError (a bad policy, an unsupported platform...), any other Error.
    if (err instanceof Error) {
      process.stderr.write(`cordon: ${err.message}\n`);
      return 125;
    }
    throw err;
  }
}
