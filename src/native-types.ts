// The raw binding, declared once (what native/binding/binding.cc exports). Public types live elsewhere.

export interface NativeKernelProbe {
  landlockAbi: number;
  landlockErrno: number;
  landlockErrata: number;
  seccompFilter: boolean;
  seccompKillProcess: boolean;
  seccompLog: boolean;
  seccompUserNotif: boolean;
  userNamespaces: boolean;
  userNamespacesErrno: number;
  mountNamespace: boolean;
  pidNamespace: boolean;
  networkNamespace: boolean;
  ipcNamespace: boolean;
  x32Syscalls: boolean;
  pidfd: boolean;
  closeRange: boolean;
  isRoot: boolean;
  arch: string;
  release: string;
  cgroupV2: {
    mounted: boolean;
    mountPoint: string;
    ownCgroup: string;
    writable: boolean;
    controllers: string;
    hasKill: boolean;
  };
  cgroupV1: { memoryDir: string; memoryWritable: boolean; pidsDir: string; pidsWritable: boolean };
}

export interface NativeBinding {
  probeKernel(): NativeKernelProbe;
  // landlock: createRuleset -> O_CLOEXEC ruleset fd; masks are the LANDLOCK_ACCESS_*/SCOPE_* bits (native/landlock.h)
  landlock: { createRuleset(spec: { handledAccessFs: number; handledAccessNet?: number; scoped?: number; pathRules: { path: string; access: number }[]; netRules?: { port: number; access: number }[] }): number; closeRuleset(fd: number): void; abiVersion(): number; mountFlags(path: string): number };
  // seccomp: rule data -> struct sock_filter[] bytes (native/bpf.h); throws EINVAL/E2BIG with the reason
  compileSeccompProgram(spec: NativeSeccompSpec): Buffer;
  // spawn:
  spawn(plan: NativeSpawnPlan, stdio: NativeStdio[], onExit: NativeExitCallback): NativeSpawned;
  signalChild(id: number, signal: number): number;
  refChild(id: number, ref: boolean): void;
  closeFd(fd: number): number;
  /** Kills and reaps every standby child; returns how many there were. */
  releaseStandbys(): number;
  /** The network namespace (and, withUserNamespace, its owning user namespace) this host's no-network sandboxes share; made once, fds stay open; throws like fs. */
  sharedNetworkNamespace(withUserNamespace: boolean): { userFd: number; netFd: number };
  /** A sandboxKey never handed out before in this process (see NativeSpawnPlan.sandboxKey). */
  newSandboxKey(): number;
  /** lstat of each NUL-terminated path in `joined`: {st_ino, mtime sec, mtime nsec} each, {-1, 0, 0} where lstat fails. */
  lstatStamps(joined: string): Float64Array;
  /** Changes whenever the process environment (environ) changed since the last call. */
  environGeneration(): number;
  /** The file's whole text and its content version, or null while the version is still `knownVersion` (the file is kept open); throws like fs on error. */
  readIfChanged(path: string, knownVersion: number): { version: number; text: string } | null;
}

/** Mount operation kinds, as native/mounts.h MountOp::Kind. */
export const MountKind = {
  bindReadOnly: 1,
  tmpfsMask: 2,
  fileMask: 3,
  proc: 4,
  tmpfs: 5,
  readOnlyTree: 6,
  bindWritable: 7,
  detach: 8,
  attach: 9,
  makeDir: 10,
  bindSelf: 11,
  readOnlyNoDevTree: 12,
  allowDevices: 13,
} as const;

export interface NativeMountOp {
  kind: number;
  target: string;
  source?: string;
  preservedFlags?: number;
  /** Skip (instead of failing the spawn) when the target vanished before the clone. */
  optional?: boolean;
  /** tmpfs: its mount options. */
  data?: string;
  /** detach, attach: which held copy (0..31). */
  slot?: number;
  /** makeDir. */
  mode?: number;
  /** Landlock rights the child grants beneath the file system this op mounts fresh (native AddFreshMountRule). */
  landlockAccess?: number;
}

/** Everything the child needs, prepared by the parent (native/plan.h SandboxPlan + CommandPlan). */
export interface NativeSpawnPlan {
  /**
   * Names the sandbox part (everything but file, argv, envp, cwd, rlimits, cgroupProcsFds):
   * the addon reads that part once per key and keeps standby children under it. A key is never
   * reused for a different sandbox. Absent: read every time, no standby.
   */
  sandboxKey?: number;
  /** The key of the plan this one replaces (same sandbox, paths changed): its standby is discarded. */
  supersedesKey?: number;
  /** Keep a standby child for this sandbox (see SpawnOptions.prewarm). */
  prewarm?: boolean;
  file: string;
  argv: string[];
  /** NUL-terminated KEY=value entries, one string (one conversion instead of one per variable). */
  envp: string;
  cwd?: string;
  newSession: boolean;
  dieWithParent: boolean;
  noNewPrivs: boolean;
  dropCapabilities: boolean;
  capLastCap: number;
  rlimits: Array<[resource: number, soft: number, hard: number]>;
  namespaceFlags: number;
  writeIdMaps: boolean;
  mounts: NativeMountOp[];
  loopbackUp: boolean;
  /**
   * With a network namespace: listen on loopback at each (127.0.0.1, or ::1 for ipv6) inside it
   * and hand the sockets back (NativeSpawned.listenerFds, same order). The first is the proxy's.
   */
  listeners?: Array<{ port: number; ipv6: boolean }>;
  /** Open cgroup.procs fds the child joins (writes "0" to) before exec. */
  cgroupProcsFds: number[];
  landlockRulesetFd: number;
  landlockFlags: number;
  seccompProgram: Buffer | null;
  seccompFlags: number;
  /** A standby may confine itself before it waits (the filter allows all it does afterwards). */
  confineStandbyEarly?: boolean;
  /** Enter these (from sharedNetworkNamespace) through an entry child; -1 or absent: none. */
  sharedUserNamespaceFd?: number;
  sharedNetworkNamespaceFd?: number;
}

/** Per fd 0..2: a new pipe, /dev/null, or an fd of the host to hand over. */
export type NativeStdio = 'pipe' | 'ignore' | number;

export type NativeExitCallback = (
  code: number | null,
  signal: number | null,
  usage: { userCPUTime: number; systemCPUTime: number; maxRSS: number },
) => void;

export interface NativeSpawned {
  id: number;
  pid: number;
  /** Parent ends of the pipes created for 'pipe' entries, -1 elsewhere. */
  stdio: [number, number, number];
  /** The listening sockets created inside the child's network namespace, one per plan listener (-1: skipped, an IPv6 one without ::1). */
  listenerFds: number[];
}

// The seccomp compiler's input (native/bpf.h); seccomp/spec.ts re-exports these.

/** One comparison on a syscall argument (native/bpf.h ArgCheck). */
export interface NativeArgCheck {
  /** Index into seccomp_data.args, 0..5. */
  arg: number;
  /**
   * 32: the kernel reads an int/unsigned int, so only the low word is compared (comparing both
   * halves lets `cmd | 1n << 32n` bypass a deny rule: CVE-2019-10063). 64: unsigned long.
   */
  width: 32 | 64;
  /** 'eq': (arg & mask) === value. 'any': (arg & mask) !== 0n (BPF JSET). */
  op: 'eq' | 'any';
  mask: bigint;
  value: bigint;
}

/** All checks hold → action (native/bpf.h ArgClause). */
export interface NativeArgClause {
  checks: NativeArgCheck[];
  action: number;
}

/** The decision for one syscall number (native/bpf.h SeccompRule). */
export interface NativeSeccompRule {
  nr: number;
  /** The first clause that holds decides; `action` applies when none does. */
  clauses: NativeArgClause[];
  action: number;
  /** Why the rule exists; shown in compile errors. */
  reason: string;
}

/** Input of `compileSeccompProgram` (native/bpf.h SeccompSpec). */
export interface NativeSeccompSpec {
  arch: 'x86_64' | 'aarch64';
  rules: NativeSeccompRule[];
  defaultAction: number;
}
