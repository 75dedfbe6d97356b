// The cordon CLI. A stable contract that other tools script:
//   cordon run [--policy FILE.json | --preset read-only|workspace-write|full-access] [--cwd DIR]
//              [--allow-write DIR]... [--timeout SECONDS] [--report] [--best-effort]
//              [--tmp private|host] [--device PATH]... [--protected-dirs placeholder|freeze|allow-create]
//              [--allow-domain DOMAIN[:PORT]]... [--allow-net] [--env-minimal] [--keep-env NAME]...
//              -- COMMAND [ARGS...]
//   cordon check [--json]
// run exits with the command's status: 128+N when killed by signal N, 124 on timeout,
// 125 when the sandbox could not be set up (bad usage or policy included), 126 when the
// command is not executable, 127 when it is not found (as shells do).
import { readFileSync } from 'node:fs';
import { resolve as resolvePath } from 'node:path';
import { constants as osConstants } from 'node:os';
import { CordonError } from './errors.js';
import { NetworkAllowlistEntry, SandboxPolicy } from './policy/index.js';
import { probeKernel } from './probe.js';
import { spawnSandboxed } from './spawn.js';

const USAGE = `usage:
  cordon run [--policy FILE.json | --preset read-only|workspace-write|full-access] [--cwd DIR]
             [--allow-write DIR]... [--timeout SECONDS] [--report] [--best-effort]
             [--tmp private|host] [--device PATH]... [--protected-dirs placeholder|freeze|allow-create]
             [--allow-domain DOMAIN[:PORT]]... [--allow-net] [--env-minimal] [--keep-env NAME]...
             -- COMMAND [ARGS...]
  cordon check [--json]

  --allow-domain  allowlist entry (TCP; port 443 unless given): a name, *.name, an IP, a CIDR
                  range (10.0.0.0/8:5432), or localhost:PORT for one port of this host's loopback
  --allow-net     unrestricted network (excludes --allow-domain); default: no network
  --env-minimal   pass only PATH, HOME, LANG, TERM of this environment (secrets are always
                  dropped); --keep-env NAME adds a name (and implies --env-minimal)
`;

class UsageError extends Error {}

interface RunArgs {
  policyFile?: string;
  preset?: 'read-only' | 'workspace-write' | 'full-access';
  cwd: string;
  allowWrite: string[];
  timeoutSecs?: number;
  report: boolean;
  bestEffort: boolean;
  tmp?: 'private' | 'host';
  devices: string[];
  protectedDirs?: 'placeholder' | 'freeze' | 'allow-create';
  allowNet: NetworkAllowlistEntry[];
  fullNetwork: boolean;
  envMinimal: boolean;
  keepEnv: string[];
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

function parseRunArgs(argv: string[]): RunArgs {
  const out: RunArgs = {
    cwd: process.cwd(),
    allowWrite: [],
    report: false,
    bestEffort: false,
    devices: [],
    allowNet: [],
    fullNetwork: false,
    envMinimal: false,
    keepEnv: [],
    command: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${arg} needs a value`);
      return v;
    };
    if (arg === '--') {
      out.command = argv.slice(i + 1);
      break;
    } else if (arg === '--policy') out.policyFile = value();
    else if (arg === '--preset') {
      const v = value();
      if (v !== 'read-only' && v !== 'workspace-write' && v !== 'full-access') throw new UsageError(`unknown preset ${v}`);
      out.preset = v;
    } else if (arg === '--cwd') out.cwd = resolvePath(value());
    else if (arg === '--allow-write') out.allowWrite.push(resolvePath(value()));
    else if (arg === '--timeout') {
      const v = Number(value());
      if (!Number.isFinite(v) || v < 0) throw new UsageError('--timeout needs a number of seconds >= 0');
      out.timeoutSecs = v;
    } else if (arg === '--tmp') {
      const v = value();
      if (v !== 'private' && v !== 'host') throw new UsageError('--tmp needs private or host');
      out.tmp = v;
    } else if (arg === '--device') out.devices.push(value());
    else if (arg === '--protected-dirs') {
      const v = value();
      if (v !== 'placeholder' && v !== 'freeze' && v !== 'allow-create') throw new UsageError('--protected-dirs needs placeholder, freeze or allow-create');
      out.protectedDirs = v;
    } else if (arg === '--allow-domain') out.allowNet.push(allowlistEntry(value()));
    else if (arg === '--allow-net') out.fullNetwork = true;
    else if (arg === '--env-minimal') out.envMinimal = true;
    else if (arg === '--keep-env') out.keepEnv.push(value());
    else if (arg === '--report') out.report = true;
    else if (arg === '--best-effort') out.bestEffort = true;
    else if (!arg.startsWith('-')) {
      out.command = argv.slice(i);
      break;
    } else throw new UsageError(`unknown option ${arg}`);
  }
  if (out.command.length === 0) throw new UsageError('missing COMMAND');
  if (out.policyFile && out.preset) throw new UsageError('--policy and --preset exclude each other');
  if (out.fullNetwork && out.allowNet.length > 0) throw new UsageError('--allow-net and --allow-domain exclude each other');
  return out;
}

function buildPolicy(args: RunArgs): SandboxPolicy {
  let policy: SandboxPolicy;
  if (args.policyFile) {
    policy = SandboxPolicy.parse(readFileSync(args.policyFile, 'utf8'));
    if (args.allowWrite.length > 0) {
      if (policy.kind !== 'WorkspaceWrite') throw new UsageError('--allow-write needs a workspace_write policy');
      const json = policy.toJSON() as { writable_roots: { root: string }[] };
      policy = SandboxPolicy.parse({ ...json, writable_roots: [...json.writable_roots, ...args.allowWrite.map((root) => ({ root }))] });
    }
  } else {
    switch (args.preset ?? 'workspace-write') {
      case 'read-only':
        if (args.allowWrite.length > 0) throw new UsageError('--allow-write needs the workspace-write preset');
        policy = SandboxPolicy.readOnly();
        break;
      case 'full-access':
        return SandboxPolicy.fullAccess();
      default:
        policy = SandboxPolicy.workspaceWrite([args.cwd, ...args.allowWrite]);
    }
  }
  if (args.allowNet.length === 0 && !args.fullNetwork) return policy;
  if (policy.kind !== 'WorkspaceWrite' && policy.kind !== 'ReadOnly') throw new UsageError('--allow-domain and --allow-net need a read-only or workspace-write policy');
  // The entries join the policy's own allowlist; the JSON loader turns network sockets on.
  const json = policy.toJSON() as { network_allowlist: unknown[]; seccomp_profile?: Record<string, unknown> };
  return SandboxPolicy.parse({
    ...json,
    network_access: true,
    network_allowlist: [...json.network_allowlist, ...args.allowNet.map((e) => ({ domain: e.domain, port: e.port, protocol: e.protocol }))],
    ...(json.seccomp_profile ? { seccomp_profile: { ...json.seccomp_profile, allow_network_sockets: true } } : {}),
  });
}

async function run(argv: string[]): Promise<number> {
  const args = parseRunArgs(argv);
  const policy = buildPolicy(args);
  const [command, ...rest] = args.command as [string, ...string[]];
  const child = spawnSandboxed(command, rest, {
    policy,
    cwd: args.cwd,
    stdio: 'inherit',
    enforcement: args.bestEffort ? 'best-effort' : 'strict',
    ...(args.tmp ? { tmp: args.tmp } : {}),
    ...(args.devices.length > 0 ? { devices: args.devices } : {}),
    ...(args.protectedDirs ? { protectedDirs: args.protectedDirs } : {}),
    ...(args.envMinimal || args.keepEnv.length > 0 ? { inheritEnv: args.keepEnv.length === 0 ? ('minimal' as const) : args.keepEnv } : {}),
    ...(args.timeoutSecs !== undefined ? { timeout: Math.round(args.timeoutSecs * 1000) } : {}),
  });
  const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
  const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((sig) => {
    const h = forward(sig);
    process.on(sig, h);
    return [sig, h] as const;
  });
  // After the handlers: a caller that waits for the report may signal right away.
  if (args.report) process.stderr.write(`${JSON.stringify(child.enforcement, null, 2)}\n`);
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
      } else if (child.timedOut) resolve(124);
      else if (signal) resolve(128 + ((osConstants.signals as Record<string, number>)[signal] ?? 0));
      else resolve(code ?? 125);
    });
  });
}

function check(json: boolean): number {
  const info = probeKernel();
  if (json) {
    process.stdout.write(`${JSON.stringify(info, null, 2)}\n`);
    return 0;
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
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/** Runs the CLI with `argv` (without node and script); resolves with the exit status. */
export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  try {
    if (sub === 'run') return await run(rest);
    if (sub === 'check') return check(rest.includes('--json'));
    if (sub === '--help' || sub === '-h' || sub === 'help') {
      process.stdout.write(USAGE);
      return 0;
    }
    throw new UsageError(sub ? `unknown command ${sub}` : 'missing command');
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`cordon: ${err.message}\n${USAGE}`);
      return 125;
    }
    if (err instanceof CordonError || err instanceof Error) {
      process.stderr.write(`cordon: ${err.message}\n`);
      return 125;
    }
    throw err;
  }
}
