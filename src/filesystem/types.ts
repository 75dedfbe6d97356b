// The filesystem plan's public shapes: what compileFilesystemPlan takes (FilesystemPlanInput)
// and what it returns (FilesystemPlan, with its FilesystemReport), plus the pair a build hands
// to the plan cache (BuiltPlan).
import type { NativeKernelProbe, NativeMountOp } from '../native.js';
import type { PrivateTemp } from '../mount-plan.js';
import type { SandboxPolicy } from '../policy/index.js';
import type { Stamp } from './stamps.js';

export interface FilesystemPlanInput {
  policy: SandboxPolicy;
  /** Absolute working directory of the child (a writable root under WorkspaceWrite). */
  cwd: string;
  /** From native().probeKernel(), cached by the caller. */
  probe: NativeKernelProbe;
  /** strict (default): `missing` lists what cannot be enforced and the spawn must refuse. */
  enforcement: 'strict' | 'best-effort';
  /** Testing aid: use min(kernel ABI, cap), so every downgrade path runs on one kernel. */
  landlockAbiCap?: number;
  /**
   * Landlock TCP (ABI 4): none → bind and connect handled, no rule; allowlist → connect handled,
   * allowed to connectPorts only, or not handled without connectPorts (a sandbox in its own
   * network namespace, which holds nothing else to connect to); full → not handled.
   */
  network: { mode: 'none' | 'allowlist' | 'full'; connectPorts?: number[] };
  /** The spawn engine gives the child a user (if non-root) + mount namespace when asked. */
  namespaces: boolean;
  /** A pty device the caller hands in (e.g. /dev/pts/3): granted like /dev/tty. */
  ptyPath?: string;
  /**
   * Protected metadata dirs (.git, .codex, .agents, .vtcode) missing at the top of a writable
   * root, where a tool could create one (`git init` plus a hook or core.fsmonitor) for the
   * host's own git or agent to trust later:
   * - 'placeholder' (default): with a mount namespace, an empty directory is made there on the
   *   host (once; it stays: git and agents ignore an empty one) and bound read-only like an
   *   existing one; without one, as 'freeze-top-level';
   * - 'freeze-top-level': nothing is made; the root's top level is frozen by Landlock (no entry
   *   created, removed or renamed there; existing entries stay writable);
   * - 'allow': the tool may create them (reported as a gap of the write protection).
   */
  protectMissingMetadata?: 'placeholder' | 'freeze-top-level' | 'allow';
  /**
   * WorkspaceWrite with a mount namespace: 'private' (default) gives the sandbox fresh /tmp and
   * $TMPDIR of its own, whatever the exclusion flags say (the host's are never written);
   * 'host' keeps the exclusion flags' meaning on the host's own dirs (reported as a gap).
   */
  tmp?: 'private' | 'host';
  /** Size of each private temp dir (default DEFAULT_PRIVATE_TMP_SIZE_MB). */
  tmpSizeMb?: number;
  /** Device files beyond BASE_DEVICES the sandbox may use (/dev/kvm, /dev/fuse): canonical, under /dev. */
  devices?: readonly string[];
}

/** One protection: whether it holds on this kernel, by which mechanisms, and what is weaker. */
export interface Protection {
  what: string;
  enforced: boolean;
  by: string[];
  gaps: string[];
}

export interface FilesystemReport {
  mode: 'landlock+mountns' | 'landlock-only' | 'mountns-only' | 'none' | 'unrestricted';
  /** The ABI the ruleset was built for (min of kernel and cap); 0 when Landlock is not used. */
  landlockAbi: number;
  protections: Protection[];
  /** Directories inside writable roots where no entry can be created, removed or renamed (Landlock sibling grants). */
  frozenDirs: string[];
}

export interface FilesystemPlan {
  /** Landlock ruleset fd (O_CLOEXEC), -1 for none. Owned by the cache: do not close. */
  rulesetFd: number;
  /** Masks and read-only binds (mount-plan.ts step 4), parents first. */
  mounts: NativeMountOp[];
  /** Directories to make mountpoints so that protected paths beneath them stay put (step 3). */
  anchors: string[];
  /** Fresh temp dirs (step 7). */
  privateTemp: PrivateTemp[];
  /** The mounts holding the granted device files, the only ones not nodev (step 1b); null: the tree is not nodev. */
  deviceMounts: string[] | null;
  needsMountNamespace: boolean;
  report: FilesystemReport;
  /** What strict mode refuses (empty when everything the policy asks for is enforced). */
  missing: string[];
  /** Canonical writable roots (what Landlock grants write rights to). */
  writableRoots: string[];
  /** The ruleset as built, for tests and `--report` detail. */
  rules: { path: string; access: number }[];
}

/** A freshly built plan and the stamps that say when it is stale (plan-cache.ts). */
export interface BuiltPlan {
  plan: FilesystemPlan;
  stamps: Stamp[];
}
