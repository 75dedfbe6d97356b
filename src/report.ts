// Every public type of the enforcement report (what held for one child), and the results that
// come with a child's end. Types only: plan/ fills them, spawn.ts hands them out.
import type { SandboxPolicy } from './policy/index.js';
import type { NetworkMode } from './policy/kinds.js';
import type { SyscallArch } from './policy/syscall-table.js';
import type { FilesystemReport } from './filesystem/index.js';
import type { LimitsReport } from './limits/plan.js';
import type { IsolationClass } from './isolation.js';
import type { CompiledSeccomp } from './seccomp/index.js';

export type { NetworkMode } from './policy/kinds.js';
export type { FilesystemReport } from './filesystem/index.js';
export type { LimitsReport, LimitEntry, LimitMechanism } from './limits/plan.js';
export type { IsolationClass } from './isolation.js';
export type { Termination } from './limits/termination.js';

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
  /** Names the caller set explicitly (`addEnv`), passed whatever their shape. */
  explicitEnv: string[];
  /** Keys of the host's masked ~/.npmrc passed to npm as npm_config_* variables (its non-secret settings). */
  npmrcSettings?: string[];
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
  filesystem?: FilesystemReport;
  /** The seccomp filter installed. */
  seccomp?: SeccompReport;
  /** Resource limits and their mechanisms. */
  limits?: LimitsReport;
  /** Network mode and its mechanisms. */
  network?: NetworkReport;
  /** Per escape class (host sockets, metadata, IPC, ...): what keeps this child from it. */
  isolation?: IsolationClass[];
}

/** Seccomp part of the enforcement report. */
export interface SeccompReport {
  installed: boolean;
  profile: CompiledSeccomp['profile'] | null;
  rules: number;
  instructions: number;
  arch: SyscallArch | null;
}

/** Network part of the enforcement report. */
export interface NetworkReport {
  mode: NetworkMode;
  /** Mechanisms that hold the mode (e.g. 'network namespace', 'seccomp socket rules', 'landlock tcp'). */
  by: string[];
  gaps: string[];
}

/** CPU time and memory of a finished child (from wait4-style rusage). */
export interface ResourceUsage {
  /** User CPU time in microseconds. */
  userCPUTime: number;
  /** System CPU time in microseconds. */
  systemCPUTime: number;
  /**
   * Peak resident set size in kilobytes. Linux records the pre-execve high-water mark of the
   * memory the child shared with the host (clone(CLONE_VM)), so this is at least the host's
   * RSS at spawn time; use cgroup memory limits, not this, to judge a tool's memory.
   */
  maxRSS: number;
}
