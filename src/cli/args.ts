// `cordon run`'s arguments: options up to '--' or the first word that is not one, then the
// command. Values follow their option or are joined with '='; paths for the sandbox resolve
// against --cwd once every option is read.
import { resolve as resolvePath } from 'node:path';
import { NetworkAllowlistEntry } from '../policy/index.js';
import { UsageError } from './errors.js';

export type Report = 'none' | 'json' | 'summary';

export interface RunArgs {
  help: boolean;
  policyFile?: string;
  preset?: 'read-only' | 'workspace-write' | 'full-access';
  cwd: string;
  cwdGiven: boolean;
  allowWrite: string[];
  denyRead: string[];
  timeoutSecs?: number;
  report: Report;
  reportFile?: string;
  bestEffort: boolean;
  tmp?: 'private' | 'host';
  devices: string[];
  protectedDirs?: 'placeholder' | 'freeze' | 'allow-create';
  allowNet: NetworkAllowlistEntry[];
  fullNetwork: boolean;
  envMinimal: boolean;
  keepEnv: string[];
  /** --env, in order: [NAME, VALUE], VALUE undefined for "this environment's". */
  env: [string, string | undefined][];
  command: string[];
}

/** `DOMAIN[:PORT]`, port 443 by default; an IPv6 address or range with a port goes in brackets ([::1]:5432). */
function allowlistEntry(text: string): NetworkAllowlistEntry {
  let domain = text;
  let port = '443';
  const bracketed = /^\[(.+)\](?::(.*))?$/.exec(text);
  if (bracketed) [domain, port] = [bracketed[1]!, bracketed[2] ?? '443'];
  else if (text.split(':').length === 2) [domain, port] = text.split(':') as [string, string];
  if (!/^\d{1,5}$/.test(port)) throw new UsageError(`--allow-domain ${text}: the port must be a number`);
  try {
    return NetworkAllowlistEntry.withPort(domain, Number(port));
  } catch (err) {
    throw new UsageError(`--allow-domain ${text}: ${(err as Error).message}`);
  }
}

function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new UsageError(`${flag} ${value}: must be ${allowed.slice(0, -1).join(', ')} or ${allowed[allowed.length - 1]}`);
}

/**
 * A path given to the sandbox: `~` and `~/...` stay for the policy to expand, the rest resolves
 * against the command's directory (--cwd), as `git -C` and `make -C` read theirs: `--cwd proj
 * --deny-read .env` means proj/.env. (cordon's own files, --policy and --report-file, resolve
 * against the shell's directory.)
 */
const policyPath = (cwd: string, p: string) => (p === '~' || p.startsWith('~/') ? p : resolvePath(cwd, p));

/** One option word as read: its name, a value joined with '=', and how to take its value. */
interface OptionWord {
  name: string;
  inline: string | undefined;
  /** The option's value: joined with '=', or the next word (consumed); UsageError when missing or empty. */
  value(): string;
  /** UsageError when the option was given a value with '='. */
  noValue(): void;
}

/** Parses `cordon run`'s arguments (UsageError on bad usage); at --help, stops there. */
export function parseRunArgs(argv: string[]): RunArgs {
  const out: RunArgs = {
    help: false,
    cwd: process.cwd(),
    cwdGiven: false,
    allowWrite: [],
    denyRead: [],
    report: 'none',
    bestEffort: false,
    devices: [],
    allowNet: [],
    fullNetwork: false,
    envMinimal: false,
    keepEnv: [],
    env: [],
    command: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      out.command = argv.slice(i + 1);
      break;
    }
    if (!arg.startsWith('-')) {
      out.command = argv.slice(i);
      break;
    }
    // --name=value for the long options; a value may also be the next word.
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const inline = eq > 0 ? arg.slice(eq + 1) : undefined;
    applyRunOption(out, {
      name,
      inline,
      value: () => {
        const v = inline ?? argv[++i];
        if (v === undefined || v === '') throw new UsageError(`${name} needs a value`);
        return v;
      },
      noValue: () => {
        if (inline !== undefined) throw new UsageError(`${name} takes no value (${arg})`);
      },
    });
    // Help wins over everything after it, the command's absence included.
    if (out.help) return out;
  }
  if (out.command.length === 0) throw new UsageError('missing COMMAND');
  if (out.command[0] === '') throw new UsageError('COMMAND is empty');
  if (out.policyFile && out.preset) throw new UsageError('--policy and --preset exclude each other');
  if (out.fullNetwork && out.allowNet.length > 0) throw new UsageError('--allow-net and --allow-domain exclude each other');
  out.allowWrite = out.allowWrite.map((p) => resolvePath(out.cwd, p));
  out.denyRead = out.denyRead.map((p) => policyPath(out.cwd, p));
  return out;
}

/** Records one option in `out`; UsageError for an unknown option or a bad value. */
function applyRunOption(out: RunArgs, option: OptionWord): void {
  const { name, inline, value, noValue } = option;
  switch (name) {
    case '-h':
    case '--help':
      noValue();
      out.help = true;
      return;
    case '--policy':
      out.policyFile = value();
      break;
    case '--preset':
      out.preset = oneOf('--preset', value(), ['read-only', 'workspace-write', 'full-access'] as const);
      break;
    case '--cwd':
      out.cwd = resolvePath(value());
      out.cwdGiven = true;
      break;
    case '--allow-write':
      out.allowWrite.push(value()); // resolved against --cwd once all flags are read
      break;
    case '--deny-read':
      out.denyRead.push(value()); // resolved against --cwd once all flags are read
      break;
    case '--timeout':
      out.timeoutSecs = timeoutSeconds(value());
      break;
    case '--tmp':
      out.tmp = oneOf('--tmp', value(), ['private', 'host'] as const);
      break;
    case '--device':
      out.devices.push(value());
      break;
    case '--protected-dirs':
      out.protectedDirs = oneOf('--protected-dirs', value(), ['placeholder', 'freeze', 'allow-create'] as const);
      break;
    case '--allow-domain':
      out.allowNet.push(allowlistEntry(value()));
      break;
    case '--allow-net':
      noValue();
      out.fullNetwork = true;
      break;
    case '--env':
      out.env.push(envAssignment(value()));
      break;
    case '--env-minimal':
      noValue();
      out.envMinimal = true;
      break;
    case '--keep-env':
      out.keepEnv.push(keepEnvName(value()));
      break;
    case '--report':
      out.report = inline === undefined ? 'json' : oneOf('--report', inline, ['json', 'summary'] as const);
      break;
    case '--report-file':
      out.reportFile = resolvePath(value());
      break;
    case '--best-effort':
      noValue();
      out.bestEffort = true;
      break;
    default:
      throw new UsageError(`unknown option ${name}`);
  }
}

/** --timeout SECONDS: plain decimal seconds, within what the spawn option can hold. */
function timeoutSeconds(text: string): number {
  const v = Number(text);
  // Plain decimal seconds only: no 0x10, no exponents (1e-400 would read as 0, no timeout).
  if (!/^\d+(\.\d+)?$/.test(text) || !Number.isFinite(v)) throw new UsageError(`--timeout ${text}: must be a number of seconds >= 0 (decimal, e.g. 30 or 0.5)`);
  // Beyond 2^53 ms the option could not hold the integer (the library waits in steps beyond
  // setTimeout's 24.8 days, so anything below that is a real timeout).
  if (v * 1000 > Number.MAX_SAFE_INTEGER) throw new UsageError(`--timeout ${text}: at most ${Math.floor(Number.MAX_SAFE_INTEGER / 1000)} seconds; 0 for none`);
  return v;
}

/** --env NAME=VALUE or --env NAME: [NAME, VALUE], VALUE undefined for "this environment's". */
function envAssignment(text: string): [string, string | undefined] {
  const at = text.indexOf('=');
  const envName = at < 0 ? text : text.slice(0, at);
  if (envName === '') throw new UsageError(`--env ${text}: the name is empty (--env NAME=VALUE or --env NAME)`);
  if (text.includes('\0')) throw new UsageError(`--env ${envName}: contains a NUL byte`);
  return [envName, at < 0 ? undefined : text.slice(at + 1)];
}

/** --keep-env NAME: a variable name, never an assignment. */
function keepEnvName(keep: string): string {
  if (keep.includes('=') || keep.includes('\0')) throw new UsageError(`--keep-env ${keep}: must be a variable name (for a value: --env NAME=VALUE)`);
  return keep;
}
