// Compiles a policy into what the native child needs, once per (policy, cwd, options):
// namespace flags, the mount plan, the Landlock ruleset fd, the seccomp program, rlimits,
// and the enforcement report that says what all of it amounts to on this kernel. Exec loops
// reuse the compiled object, so per-spawn work is only argv/envp/stdio.
import { readFileSync } from 'node:fs';
import type { SandboxPolicy } from './policy/index.js';
import type { NativeMountOp, NativeSpawnPlan } from './native.js';
import { MountKind } from './native-types.js';
import { rawProbe } from './probe.js';

// clone(2) flags.
const CLONE_NEWNS = 0x00020000;
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWPID = 0x20000000;

/** How the whole process tree is killed, strongest first. */
export type TreeKill = 'pid-namespace' | 'cgroup' | 'process-group';

/** Per-child lifecycle facts, part of the enforcement report. */
export interface LifecycleReport {
  /** The child leads its own session and process group. */
  processGroup: boolean;
  /** PR_SET_PDEATHSIG(SIGKILL): the direct child dies with the host. */
  parentDeathSignal: boolean;
  /** How kill(), timeouts and aborts reach every descendant. */
  treeKill: TreeKill;
  /** True when no descendant can outlive the host, even a SIGKILLed one. */
  noSurvivorsOnHostKill: boolean;
  /** Descendants that escape the tree kill, when any can. */
  gaps: string[];
  noNewPrivs: boolean;
  /** Root callers: every capability dropped before exec (bounding set included). */
  capabilitiesDropped: boolean;
  envSanitized: boolean;
  /** Names of inherited variables removed from the child's environment. */
  removedEnv: string[];
}

/** What was applied to a child. Filled per spawn. */
export interface EnforcementReport {
  policy: SandboxPolicy['kind'];
  enforcement: 'strict' | 'best-effort';
  kernel: { release: string; landlockAbi: number; isRoot: boolean };
  namespaces: { user: boolean; mount: boolean; pid: boolean; network: boolean; ipc: boolean };
  lifecycle: LifecycleReport;
  /** Protections the policy asked for that are not enforced here (best-effort only). */
  missing: string[];
  /** Filesystem confinement (Landlock, mount namespace). */
  filesystem?: unknown;
  /** The seccomp filter installed. */
  seccomp?: unknown;
  /** Resource limits and their mechanisms. */
  limits?: unknown;
  /** Network mode and its mechanisms. */
  network?: unknown;
}

/** Options that change what gets compiled. */
export interface CompileOptions {
  enforcement: 'strict' | 'best-effort';
  /** false: no namespaces even where the kernel allows them (tests the Landlock-only path). */
  namespaces: boolean;
  /** Testing aid: use at most this Landlock ABI. */
  landlockAbiCap?: number;
}

/** The cached result of compiling a policy for a cwd. */
export interface CompiledSandbox {
  plan: Omit<NativeSpawnPlan, 'file' | 'argv' | 'envp' | 'cwd'>;
  report: Omit<EnforcementReport, 'lifecycle'> & { lifecycle: Omit<LifecycleReport, 'removedEnv' | 'envSanitized'> };
  /** Protections that cannot be enforced here; strict mode refuses to spawn when non-empty. */
  missing: string[];
  pidNamespace: boolean;
}

let capLastCap: number | undefined;
function readCapLastCap(): number {
  if (capLastCap === undefined) {
    try {
      capLastCap = Number.parseInt(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'), 10);
    } catch {
      capLastCap = 63; // PR_CAPBSET_DROP of an unknown cap is EINVAL, which the child ignores
    }
  }
  return capLastCap;
}

const cache = new WeakMap<SandboxPolicy, Map<string, CompiledSandbox>>();

/** True for the variants that confine (ReadOnly, WorkspaceWrite). */
export function isConfining(policy: SandboxPolicy): boolean {
  return policy.kind === 'ReadOnly' || policy.kind === 'WorkspaceWrite';
}

/** Compiles (or returns the cached compilation of) a policy for a cwd. */
export function compileSandbox(policy: SandboxPolicy, cwd: string, options: CompileOptions): CompiledSandbox {
  const key = JSON.stringify([cwd, options.enforcement, options.namespaces, options.landlockAbiCap ?? null]);
  let perPolicy = cache.get(policy);
  if (!perPolicy) {
    perPolicy = new Map();
    cache.set(policy, perPolicy);
  }
  const hit = perPolicy.get(key);
  if (hit) return hit;
  const compiled = compile(policy, cwd, options);
  perPolicy.set(key, compiled);
  return compiled;
}

function compile(policy: SandboxPolicy, _cwd: string, options: CompileOptions): CompiledSandbox {
  const probe = rawProbe();
  const confining = isConfining(policy);
  const missing: string[] = [];

  // Namespaces: a pid namespace makes the tree kill total (the command is its pid 1: when it
  // dies, the kernel kills the rest) and survives a SIGKILLed host (pdeathsig on pid 1); a
  // mount namespace gives it a fresh /proc, where host pids are invisible. Non-root callers
  // need a user namespace for both; it maps their uid and gid to themselves.
  const canNamespace = probe.isRoot
    ? probe.mountNamespace && probe.pidNamespace
    : probe.userNamespaces && probe.mountNamespace && probe.pidNamespace;
  const useNamespaces = confining && options.namespaces && canNamespace;
  let namespaceFlags = 0;
  const mounts: NativeMountOp[] = [];
  if (useNamespaces) {
    namespaceFlags = CLONE_NEWNS | CLONE_NEWPID | (probe.isRoot ? 0 : CLONE_NEWUSER);
    mounts.push({ kind: MountKind.proc, target: '/proc' });
  }

  const treeKill: TreeKill = useNamespaces ? 'pid-namespace' : 'process-group';
  const lifecycleGaps: string[] = [];
  if (treeKill === 'process-group') {
    lifecycleGaps.push('descendants that call setsid() or setpgid() leave the process group and survive kill/timeout');
    lifecycleGaps.push('descendants of a SIGKILLed host survive (only the direct child has PR_SET_PDEATHSIG)');
  }
  const dropCapabilities = probe.isRoot && confining;

  const plan: CompiledSandbox['plan'] = {
    newSession: true,
    dieWithParent: true,
    noNewPrivs: true,
    dropCapabilities,
    capLastCap: readCapLastCap(),
    rlimits: [],
    namespaceFlags,
    writeIdMaps: useNamespaces && !probe.isRoot,
    mounts,
    loopbackUp: false,
    cgroupProcsFds: [],
    landlockRulesetFd: -1,
    landlockFlags: 0,
    seccompProgram: null,
    seccompFlags: 0,
  };

  const report: CompiledSandbox['report'] = {
    policy: policy.kind,
    enforcement: options.enforcement,
    kernel: { release: probe.release, landlockAbi: probe.landlockAbi, isRoot: probe.isRoot },
    namespaces: {
      user: (namespaceFlags & CLONE_NEWUSER) !== 0,
      mount: (namespaceFlags & CLONE_NEWNS) !== 0,
      pid: (namespaceFlags & CLONE_NEWPID) !== 0,
      network: false,
      ipc: false,
    },
    lifecycle: {
      processGroup: true,
      parentDeathSignal: true,
      treeKill,
      noSurvivorsOnHostKill: treeKill === 'pid-namespace',
      gaps: lifecycleGaps,
      noNewPrivs: true,
      capabilitiesDropped: dropCapabilities,
    },
    missing,
  };
  return { plan, report, missing, pidNamespace: useNamespaces };
}
