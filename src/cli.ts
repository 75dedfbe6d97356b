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
import { accessSync, closeSync, constants as fsConstants, existsSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join, resolve as resolvePath } from 'node:path';
import { constants as osConstants, tmpdir } from 'node:os';
import { EnforcementError, PolicyError, SpawnOptionsError } from './errors.js';
import { packageRoot } from './native.js';
import { NetworkAllowlistEntry, SandboxPolicy } from './policy/index.js';
import type { SensitivePathJson, WorkspaceWritePolicyJson } from './policy/index.js';
import { probeKernel } from './probe.js';
import { spawnSandboxed, type EnforcementReport } from './spawn.js';

// -----------------------------------------------------------------------------------------
// Usage and help texts

const MAIN_USAGE = `usage: cordon run [OPTIONS] [--] COMMAND [ARGS...]
       cordon check [--json]
       cordon help [run|check]
       cordon --version
`;

const MAIN_HELP = `cordon: run a command inside a kernel-enforced Linux sandbox (Landlock, seccomp-BPF,
namespaces, resource limits).

${MAIN_USAGE}
commands:
  run       run COMMAND sandboxed; by default the workspace-write preset: the current
            directory is the writable workspace, no network, secrets dropped from the
            environment (cordon run --help)
  check     what this kernel lets cordon enforce, and whether each preset works here in
            strict mode (cordon check --help)
  help      this text, or a command's: cordon help run

options:
  -h, --help       show help (a command's too: cordon run --help)
  -V, --version    print cordon's version
`;

const RUN_USAGE = `usage: cordon run [--policy FILE.json | --preset read-only|workspace-write|full-access]
                  [--cwd DIR] [--allow-write DIR]... [--deny-read PATH]...
                  [--allow-domain HOST[:PORT]]... [--allow-net]
                  [--env NAME[=VALUE]]... [--env-minimal] [--keep-env NAME]...
                  [--timeout SECONDS] [--best-effort] [--tmp private|host] [--device PATH]...
                  [--protected-dirs placeholder|freeze|allow-create]
                  [--report[=json|summary]] [--report-file FILE]
                  [--] COMMAND [ARGS...]
`;

const RUN_HELP = `${RUN_USAGE}
Runs COMMAND in a sandbox and exits with its status. Options end at '--' or at the first
word that is not an option; an option's value may follow it or be joined with '='.

policy (default: the workspace-write preset, the working directory as workspace)
  --policy FILE.json      a policy in the reference JSON format (see README)
  --preset NAME           read-only, workspace-write, or full-access (no sandbox at all)
  --cwd DIR               working directory (default: the current one); under workspace-write
                          the workspace, writable
  --allow-write DIR       another writable root (workspace-write only); relative paths of
                          --allow-write and --deny-read are relative to --cwd
  --deny-read PATH        a sensitive path: neither readable nor writable in the sandbox. Joins
                          the policy's list: the defaults (~/.ssh, ~/.aws, ~/.npmrc, ...) stay
                          unless a policy file gives its own. Workspace-write only: a read-only
                          policy always has exactly the default list
  --best-effort           run even when a protection cannot be enforced on this machine (the
                          report says which); default: refuse, exit 125
  --tmp private|host      workspace-write: a private /tmp (default) or the host's
  --device PATH           a character device beyond null, zero, full, random, urandom, tty
  --protected-dirs MODE   .git, .codex, .agents, .vtcode missing at the top of a writable root:
                          placeholder (default), freeze or allow-create

network (default: none)
  --allow-domain HOST[:PORT]
                          allowlist entry (TCP; port 443 unless given): a name, *.name, an IP,
                          a CIDR range (10.0.0.0/8:5432), [::1]:8080, or localhost:PORT for one
                          port of this host's loopback
  --allow-net             unrestricted network, a policy file's allowlist dropped (excludes
                          --allow-domain)

environment (default: this one without secrets: API keys, tokens, passwords, credential URLs)
  --env NAME=VALUE        set NAME in the sandbox
  --env NAME              pass this environment's NAME (nothing when it is unset)
                          Either form is your explicit choice: NAME passes even when the secrets
                          filter would drop it, and under --env-minimal. cordon's own variables
                          (CORDON_*, and the proxy and cache variables it sets) still win.
  --env-minimal           inherit only PATH, HOME, LANG, TERM
  --keep-env NAME         inherit NAME too (implies --env-minimal; secret-shaped names stay dropped)

limits and reports
  --timeout SECONDS       wall-clock limit (default: the policy's; 0: none); exit 124
  --report[=json]         the enforcement report, JSON, on stderr as the command starts
  --report=summary        one line on stderr instead: what is enforced here and what is not
  --report-file FILE      the JSON report goes to FILE, not stderr (with --report=summary too)
  -h, --help              this text

exit status: the command's; 128+N killed by signal N; 124 timed out; 125 the sandbox could not
be set up (bad usage, bad policy or --cwd, refused in strict mode); 126 not executable; 127 not
found.
`;

const CHECK_USAGE = `usage: cordon check [--json]
`;

const checkHelp = () => `${CHECK_USAGE}
Prints what this kernel lets cordon enforce for the calling user (Landlock, seccomp,
namespaces, cgroups), then tries each preset in strict mode by running a trivial command
(${trivialCommand().join(' ')}): ReadOnly with its default limits, WorkspaceWrite (in a temporary
workspace), and WorkspaceWrite with a network allowlist. Each gets a verdict: works here;
refused, because of what cannot be enforced (and the option that accepts the gap); or fails,
and how.

  --json      the same as one JSON object: the kernel probe, and "verdicts"
  -h, --help  this text

exit status: 0 every preset works here; 1 some preset is refused or fails; 125 bad usage, or
the kernel could not be probed (not Linux, no native addon).
`;

type Topic = 'main' | 'run' | 'check';
const USAGES: Record<Topic, string> = { main: MAIN_USAGE, run: RUN_USAGE, check: CHECK_USAGE };
const HELPS: Record<Topic, () => string> = { main: () => MAIN_HELP, run: () => RUN_HELP, check: checkHelp };
const MORE: Record<Topic, string> = { main: 'cordon --help', run: 'cordon run --help', check: 'cordon check --help' };

/** Bad usage: the message, then the usage of `topic`; exit 125. */
class UsageError extends Error {
  constructor(
    message: string,
    readonly topic: Topic = 'run',
  ) {
    super(message);
  }
}

/** The sandbox cannot be set up as asked (a bad --cwd, an unreadable policy file...): exit 125, no usage. */
class SetupError extends Error {}

function version(): string {
  try {
    return (JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')) as { version: string }).version;
  } catch (err) {
    throw new SetupError(`cannot read cordon's package.json in ${packageRoot}: ${(err as Error).message}`);
  }
}

// -----------------------------------------------------------------------------------------
// cordon run: arguments

type Report = 'none' | 'json' | 'summary';


interface RunArgs {
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

function parseRunArgs(argv: string[]): RunArgs {
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
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined || v === '') throw new UsageError(`${name} needs a value`);
      return v;
    };
    const noValue = () => {
      if (inline !== undefined) throw new UsageError(`${name} takes no value (${arg})`);
    };
    switch (name) {
      case '-h':
      case '--help':
        noValue();
        out.help = true;
        return out;
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
      case '--timeout': {
        const text = value();
        const v = Number(text);
        // Plain decimal seconds only: no 0x10, no exponents (1e-400 would read as 0, no timeout).
        if (!/^\d+(\.\d+)?$/.test(text) || !Number.isFinite(v)) throw new UsageError(`--timeout ${text}: must be a number of seconds >= 0 (decimal, e.g. 30 or 0.5)`);
        // Beyond 2^53 ms the option could not hold the integer (the library waits in steps beyond
        // setTimeout's 24.8 days, so anything below that is a real timeout).
        if (v * 1000 > Number.MAX_SAFE_INTEGER) throw new UsageError(`--timeout ${text}: at most ${Math.floor(Number.MAX_SAFE_INTEGER / 1000)} seconds; 0 for none`);
        out.timeoutSecs = v;
        break;
      }
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
      case '--env': {
        const text = value();
        const at = text.indexOf('=');
        const envName = at < 0 ? text : text.slice(0, at);
        if (envName === '') throw new UsageError(`--env ${text}: the name is empty (--env NAME=VALUE or --env NAME)`);
        if (text.includes('\0')) throw new UsageError(`--env ${envName}: contains a NUL byte`);
        out.env.push([envName, at < 0 ? undefined : text.slice(at + 1)]);
        break;
      }
      case '--env-minimal':
        noValue();
        out.envMinimal = true;
        break;
      case '--keep-env': {
        const keep = value();
        if (keep.includes('=') || keep.includes('\0')) throw new UsageError(`--keep-env ${keep}: must be a variable name (for a value: --env NAME=VALUE)`);
        out.keepEnv.push(keep);
        break;
      }
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
  if (out.command.length === 0) throw new UsageError('missing COMMAND');
  if (out.command[0] === '') throw new UsageError('COMMAND is empty');
  if (out.policyFile && out.preset) throw new UsageError('--policy and --preset exclude each other');
  if (out.fullNetwork && out.allowNet.length > 0) throw new UsageError('--allow-net and --allow-domain exclude each other');
  out.allowWrite = out.allowWrite.map((p) => resolvePath(out.cwd, p));
  out.denyRead = out.denyRead.map((p) => policyPath(out.cwd, p));
  return out;
}

// -----------------------------------------------------------------------------------------
// cordon run: policy, environment, working directory

function readPolicyFile(file: string): SandboxPolicy {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SetupError(`--policy ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    return SandboxPolicy.parse(text);
  } catch (err) {
    throw new SetupError(`--policy ${file}: ${(err as Error).message}`);
  }
}

/** Rebuilds a policy from its wire form with `change` applied; a refusal names `flag`. */
function rebuilt(policy: SandboxPolicy, flag: string, change: (json: Record<string, unknown>) => Record<string, unknown>): SandboxPolicy {
  try {
    return SandboxPolicy.parse(change(policy.toJSON() as unknown as Record<string, unknown>));
  } catch (err) {
    if (err instanceof PolicyError) throw new UsageError(`${flag}: ${err.message}`);
    throw err;
  }
}

function buildPolicy(args: RunArgs): SandboxPolicy {
  let policy: SandboxPolicy;
  if (args.policyFile) policy = readPolicyFile(args.policyFile);
  else if (args.preset === 'read-only') policy = SandboxPolicy.readOnly();
  else if (args.preset === 'full-access') policy = SandboxPolicy.fullAccess();
  else policy = SandboxPolicy.workspaceWrite([args.cwd]);

  if (args.allowWrite.length > 0) {
    if (policy.kind !== 'WorkspaceWrite') throw new UsageError(`--allow-write needs a workspace-write policy (this one is ${policy.kind})`);
    policy = rebuilt(policy, '--allow-write', (json) => ({
      ...json,
      writable_roots: [...(json as unknown as WorkspaceWritePolicyJson).writable_roots, ...args.allowWrite.map((root) => ({ root }))],
    }));
  }

  if (args.denyRead.length > 0) {
    if (policy.kind === 'ReadOnly') {
      throw new UsageError(
        '--deny-read needs a workspace-write policy: a read-only policy always blocks exactly the default sensitive paths ' +
          '(the policy format has no sensitive_paths for read_only). Use --preset workspace-write, or a workspace_write policy file with sensitive_paths',
      );
    }
    if (policy.kind !== 'WorkspaceWrite') throw new UsageError(`--deny-read needs a workspace-write policy: ${policy.kind} blocks no path`);
    // The effective list (the policy file's own, or the defaults) plus the new paths.
    const current: SensitivePathJson[] = policy.sensitivePaths().map((s) => ({ path: s.path, block_read: s.blockRead, block_write: s.blockWrite }));
    policy = rebuilt(policy, '--deny-read', (json) => ({
      ...json,
      sensitive_paths: [...current, ...args.denyRead.map((path) => ({ path, block_read: true, block_write: true }))],
    }));
  }

  if (args.allowNet.length > 0 || args.fullNetwork) {
    if (policy.kind !== 'WorkspaceWrite' && policy.kind !== 'ReadOnly') {
      throw new UsageError(`--allow-domain and --allow-net need a read-only or workspace-write policy (${policy.kind} has full network already)`);
    }
    // --allow-domain entries join the policy's own allowlist; --allow-net drops it (network
    // on with no allowlist is unrestricted). Network sockets are turned on either way.
    const flag = args.fullNetwork ? '--allow-net' : '--allow-domain';
    policy = rebuilt(policy, flag, (json) => {
      const seccomp = json.seccomp_profile as Record<string, unknown> | undefined;
      const entries = args.allowNet.map((e) => ({ domain: e.domain, port: e.port, protocol: e.protocol }));
      return {
        ...json,
        network_access: true,
        network_allowlist: args.fullNetwork ? [] : [...(json.network_allowlist as unknown[]), ...entries],
        ...(seccomp ? { seccomp_profile: { ...seccomp, allow_network_sockets: true } } : {}),
      };
    });
  }
  return policy;
}

/**
 * The child's environment: inherited (filtered, or narrowed by --env-minimal/--keep-env), plus
 * each --env NAME[=VALUE] as addEnv (the user's explicit choice, passed whatever its shape, and
 * reported as lifecycle.explicitEnv).
 */
function environmentFor(args: RunArgs): { inheritEnv?: 'minimal' | string[]; addEnv?: Record<string, string> } {
  const minimal = args.envMinimal || args.keepEnv.length > 0;
  const addEnv: Record<string, string> = {};
  for (const [name, value] of args.env) {
    const v = value ?? process.env[name];
    if (v !== undefined) addEnv[name] = v;
  }
  return {
    ...(minimal ? { inheritEnv: args.keepEnv.length === 0 ? ('minimal' as const) : args.keepEnv } : {}),
    ...(Object.keys(addEnv).length > 0 ? { addEnv } : {}),
  };
}

function checkCwd(args: RunArgs): void {
  const what = args.cwdGiven ? `--cwd ${args.cwd}` : `the working directory ${args.cwd}`;
  let isDir: boolean;
  try {
    isDir = statSync(args.cwd).isDirectory();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new SetupError(`${what}: ${code === 'ENOENT' ? 'no such directory' : `cannot be used (${code ?? (err as Error).message})`}`);
  }
  if (!isDir) throw new SetupError(`${what}: not a directory`);
  try {
    accessSync(args.cwd, fsConstants.X_OK);
  } catch {
    throw new SetupError(`${what}: cannot enter it (permission denied)`);
  }
}

// -----------------------------------------------------------------------------------------
// The enforcement report in one line

/**
 * One human line from the report: what holds and by what, then what does not (and how many
 * known gaps the full report lists). Says only what the report says.
 */
export function summaryLine(r: EnforcementReport): string {
  const fs = r.filesystem;
  const seccomp = r.seccomp;
  const parts: string[] = [];
  parts.push(fs ? `filesystem ${fs.mode}${fs.landlockAbi > 0 ? ` (landlock ABI ${fs.landlockAbi})` : ''}` : 'filesystem not confined');
  parts.push(seccomp?.installed ? `seccomp ${seccomp.profile ?? 'filter'}` : 'no seccomp filter');
  parts.push(`network ${r.network?.mode ?? 'not reported'}`);
  const ns = (['user', 'mount', 'pid', 'network', 'ipc'] as const).filter((n) => r.namespaces[n]);
  parts.push(ns.length > 0 ? `namespaces ${ns.join('/')}` : 'no namespaces');
  const byMechanism = new Map<string, string[]>();
  const notEnforced: string[] = [];
  let gaps = r.lifecycle.gaps.length + (r.network?.gaps.length ?? 0);
  if (r.limits) {
    for (const key of ['memory', 'pids', 'disk', 'cpu'] as const) {
      const l = r.limits[key];
      gaps += l.gaps.length;
      if (l.value === 0) continue;
      if (!l.enforced) notEnforced.push(`${key} limit`);
      else byMechanism.set(l.mechanism, [...(byMechanism.get(l.mechanism) ?? []), key]);
    }
    const t = r.limits.timeout;
    gaps += t.gaps.length;
    if (t.value > 0 && !t.enforced) notEnforced.push(`the policy's ${t.value} s timeout`);
    parts.push(
      byMechanism.size > 0 ? `limits ${[...byMechanism].map(([m, keys]) => `${keys.join('/')} via ${m}`).join(', ')}` : 'no resource limits',
      t.value > 0 && t.enforced ? `timeout ${t.value} s` : 'no timeout',
    );
  }
  for (const p of fs?.protections ?? []) {
    gaps += p.gaps.length;
    if (!p.enforced) notEnforced.push(p.what);
  }
  if (r.policy === 'ReadOnly' || r.policy === 'WorkspaceWrite') {
    if (!seccomp?.installed) notEnforced.push('seccomp filter');
  }
  for (const c of r.isolation ?? []) {
    gaps += c.gaps.length;
    if (!c.enforced) notEnforced.push(c.class);
  }
  // Anything else the report lists as missing, word for word.
  for (const m of r.missing) {
    if (m.startsWith('limits:') || m.startsWith('seccomp:') || (fs?.protections ?? []).some((p) => !p.enforced && m.startsWith(p.what))) continue;
    notEnforced.push(m);
  }
  const nothing = r.policy === 'ReadOnly' || r.policy === 'WorkspaceWrite' ? 'nothing the policy asks for' : 'nothing the policy asks for (it confines nothing)';
  const gapText = gaps > 0 ? `; ${gaps} known gap${gaps === 1 ? '' : 's'} (--report lists them)` : '';
  return `cordon: ${r.policy}, ${r.enforcement}: ${parts.join(', ')}; not enforced: ${notEnforced.length > 0 ? notEnforced.join(', ') : nothing}${gapText}`;
}

// -----------------------------------------------------------------------------------------
// cordon run

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

/** The message of an EnforcementError, in the CLI's words. */
function refusal(err: EnforcementError): string {
  return `cannot enforce the sandbox policy here (strict mode): ${err.missing.join('; ')}. --best-effort runs with the protections that are available`;
}

async function run(argv: string[]): Promise<number> {
  const args = parseRunArgs(argv);
  if (args.help) {
    process.stdout.write(RUN_HELP);
    return 0;
  }
  checkCwd(args);
  const policy = buildPolicy(args);
  const environment = environmentFor(args);
  const [command, ...rest] = args.command as [string, ...string[]];

  let reportFd: number | undefined;
  let reportFileExisted = false;
  if (args.reportFile !== undefined) {
    reportFileExisted = existsSync(args.reportFile);
    try {
      reportFd = openSync(args.reportFile, 'w');
    } catch (err) {
      throw new SetupError(`--report-file ${args.reportFile}: cannot write it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  }
  let child: ReturnType<typeof spawnSandboxed>;
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
    if (reportFd !== undefined) {
      closeSync(reportFd);
      if (!reportFileExisted) unlinkSync(args.reportFile!);
    }
    throw err instanceof SpawnOptionsError ? asUsageError(err, args) : err;
  }
  const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((sig) => {
    const h = forward(sig);
    process.on(sig, h);
    return [sig, h] as const;
  });
  // After the handlers: a caller that waits for the report may signal right away.
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
  return new Promise((resolve) => {
    let failure: NodeJS.ErrnoException | undefined;
    child.on('error', (err: NodeJS.ErrnoException) => {
      failure ??= err;
    });
    child.on('close', (code, signal) => {
      for (const [sig, h] of handlers) process.off(sig, h);
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

// -----------------------------------------------------------------------------------------
// cordon check

/** The command the preset verdicts run: true(1), or this node where there is none. */
function trivialCommand(): string[] {
  for (const file of ['/bin/true', '/usr/bin/true']) if (existsSync(file)) return [file];
  return [process.execPath, '-e', '0'];
}

/** One preset tried in strict mode. */
interface Verdict {
  preset: string;
  policy: SandboxPolicy['kind'];
  enforcement: 'strict';
  verdict: 'works' | 'refused' | 'fails';
  /** refused: what cannot be enforced; fails: what went wrong. */
  reason?: string;
  /** refused: the protections that cannot be enforced here. */
  missing?: string[];
  /** refused: the option of cordon run that accepts the gap. */
  accept?: string;
}

function tryPreset(preset: string, policy: SandboxPolicy, cwd: string): Promise<Verdict> {
  const base = { preset, policy: policy.kind, enforcement: 'strict' as const };
  const [file, ...args] = trivialCommand() as [string, ...string[]];
  let child: ReturnType<typeof spawnSandboxed>;
  try {
    child = spawnSandboxed(file, args, { policy, cwd, stdio: 'ignore', enforcement: 'strict', timeout: 30_000, prewarm: false });
  } catch (err) {
    if (err instanceof EnforcementError) {
      return Promise.resolve({
        ...base,
        verdict: 'refused',
        reason: err.missing.join('; '),
        missing: [...err.missing],
        ...(/best-effort/.test(err.message) ? { accept: '--best-effort' } : {}),
      });
    }
    return Promise.resolve({ ...base, verdict: 'fails', reason: (err as Error).message });
  }
  return new Promise((resolve) => {
    let failure: Error | undefined;
    child.on('error', (err: Error) => {
      failure ??= err;
    });
    child.on('close', (code, signal) => {
      if (failure) resolve({ ...base, verdict: 'fails', reason: failure.message });
      else if (code === 0) resolve({ ...base, verdict: 'works' });
      else resolve({ ...base, verdict: 'fails', reason: `${file} ${signal ? `was killed by ${signal}` : `exited with status ${code}`}${child.timedOut ? ' (timed out)' : ''}` });
    });
  });
}

async function presetVerdicts(): Promise<Verdict[]> {
  // A workspace of its own: the default protected-dirs placeholders are made on the host, and
  // must not land in the directory someone runs `cordon check` in.
  const ws = mkdtempSync(join(tmpdir(), 'cordon-check-'));
  try {
    return [
      await tryPreset('ReadOnly (default limits)', SandboxPolicy.readOnly(), ws),
      await tryPreset('WorkspaceWrite', SandboxPolicy.workspaceWrite([ws]), ws),
      await tryPreset(
        'WorkspaceWrite with a network allowlist',
        SandboxPolicy.workspaceWriteWithNetwork([ws], [NetworkAllowlistEntry.withPort('example.com', 443)]),
        ws,
      ),
    ];
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
}

function verdictText(v: Verdict): string {
  const head = `${v.preset}, ${v.enforcement}`;
  if (v.verdict === 'works') return `${head}: works here`;
  if (v.verdict === 'refused') return `${head}: refused, because ${v.reason}${v.accept ? ` (cordon run ${v.accept} accepts the gap)` : ''}`;
  return `${head}: fails: ${v.reason}`;
}

async function check(argv: string[]): Promise<number> {
  let json = false;
  for (const arg of argv) {
    if (arg === '--json') json = true;
    else if (arg === '--help' || arg === '-h') {
      process.stdout.write(checkHelp());
      return 0;
    } else throw new UsageError(arg.startsWith('-') ? `unknown option ${arg.replace(/=.*/s, '')}` : `unexpected argument ${arg}`, 'check');
  }
  const info = probeKernel();
  const verdicts = await presetVerdicts();
  const status = verdicts.every((v) => v.verdict === 'works') ? 0 : 1;
  if (json) {
    process.stdout.write(`${JSON.stringify({ ...info, verdicts }, null, 2)}\n`);
    return status;
  }
  const yes = (b: boolean) => (b ? 'yes' : 'no');
  const lines = [
    `kernel            ${info.release} (${info.arch})${info.isRoot ? ', running as root' : ''}`,
    `landlock          ${info.landlock.abi > 0 ? `ABI ${info.landlock.abi}` : `unavailable (${info.landlock.unavailableReason})`}`,
    `seccomp filters   ${yes(info.seccomp.filter)}`,
    `user namespaces   ${yes(info.namespaces.user)}`,
    `mount/pid/net/ipc ${yes(info.namespaces.mount)}/${yes(info.namespaces.pid)}/${yes(info.namespaces.network)}/${yes(info.namespaces.ipc)}`,
    `cgroup v2         ${info.cgroup.v2.mounted ? `${info.cgroup.v2.mountPoint}, own ${info.cgroup.v2.ownCgroup}, ${info.cgroup.v2.writable ? 'writable' : 'not writable'}, controllers: ${info.cgroup.v2.controllers.join(' ') || 'none'}` : 'not mounted'}`,
    `cgroup v1         memory ${info.cgroup.v1.memory.dir || '-'} (${info.cgroup.v1.memory.writable ? 'writable' : 'read-only'}), pids ${info.cgroup.v1.pids.dir || '-'} (${info.cgroup.v1.pids.writable ? 'writable' : 'read-only'})`,
    '',
    `presets (strict mode, each running ${trivialCommand().join(' ')}):`,
    ...verdicts.map((v) => `  ${verdictText(v)}`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return status;
}

// -----------------------------------------------------------------------------------------
// Entry

function help(topic: string | undefined): number {
  if (topic !== undefined && topic !== 'run' && topic !== 'check') throw new UsageError(`no help for ${topic} (cordon help run, cordon help check)`, 'main');
  process.stdout.write(HELPS[(topic ?? 'main') as Topic]());
  return 0;
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
