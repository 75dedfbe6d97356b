// `cordon run`: the policy, environment and working directory a run gets from its flags.
import { accessSync, constants as fsConstants, readFileSync, statSync } from 'node:fs';
import { PolicyError } from '../errors.js';
import { SandboxPolicy } from '../policy/index.js';
import type { SensitivePathJson, WorkspaceWritePolicyJson } from '../policy/index.js';
import type { RunArgs } from './args.js';
import { SetupError, UsageError } from './errors.js';

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

/** The policy of a run: the file's, the preset's, or workspace-write on the cwd; then --allow-write, --deny-read and the network flags applied. */
export function buildPolicy(args: RunArgs): SandboxPolicy {
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
export function environmentFor(args: RunArgs): { inheritEnv?: 'minimal' | string[]; addEnv?: Record<string, string> } {
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

/** The working directory must be a directory the caller can enter (SetupError otherwise). */
export function checkCwd(args: RunArgs): void {
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
