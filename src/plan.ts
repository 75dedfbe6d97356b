// Compiles a policy into what the native child needs, once per (policy, cwd, options):
// namespace flags, the mount plan, the Landlock ruleset fd, the seccomp program, rlimits,
// and the enforcement report that says what all of it amounts to on this kernel. Exec loops
// reuse the compiled object, so per-spawn work is only argv/envp/stdio.
import { readFileSync } from 'node:fs';
import { runningSyscallArch, type SandboxPolicy } from './policy/index.js';
import { compileFilesystemPlan, handledAccessFs, isWithin, type FilesystemPlan, type FilesystemReport } from './filesystem/index.js';
import { native, type NativeMountOp, type NativeSpawnPlan } from './native.js';
import { rawProbe } from './probe.js';
import { DEFAULT_MAX_OPEN_FILES, limitsEnvironment, planLimits, type LimitsPlan, type LimitsReport } from './limits.js';
import { allowsUnconditionally, compileSeccomp, STANDBY_PATH_SYSCALLS, type CompiledSeccomp } from './seccomp/index.js';
import type { SyscallArch } from './policy/syscall-table.js';
import { networkListenerPlan } from './network-plan.js';
import { buildMountPlan, hostMountFlags, kernelHasMountSetattr, type PrivateTemp } from './mount-plan.js';
import {
  hostUnixSocketMasks,
  isolationReport,
  type IsolationClass,
  type IsolationFacts,
  type SocketMasks,
} from './isolation.js';

// clone(2) flags.
const CLONE_NEWNS = 0x00020000;
const CLONE_NEWIPC = 0x08000000;
const CLONE_NEWUSER = 0x10000000;
const CLONE_NEWPID = 0x20000000;
const CLONE_NEWNET = 0x40000000;

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

/** Options that change what gets compiled. */
export interface CompileOptions {
  enforcement: 'strict' | 'best-effort';
  /** false: no namespaces even where the kernel allows them (tests the Landlock-only path). */
  namespaces: boolean;
  /** Testing aid: use at most this Landlock ABI. */
  landlockAbiCap?: number;
  /** 'private': a no-network sandbox gets a network namespace of its own, never the shared one. */
  networkNamespace?: 'shared' | 'private';
  /** Filesystem only (no effect on the policy-level part): see SpawnOptions. */
  tmp?: 'private' | 'host';
  protectedDirs?: 'placeholder' | 'freeze' | 'allow-create';
  tmpSizeMb?: number;
  devices?: readonly string[];
  /** The terminal the command gets as stdio, granted by name (and carried into a private /dev). */
  ptyPath?: string;
  /** RLIMIT_NOFILE of the command (default DEFAULT_MAX_OPEN_FILES for confining policies). */
  maxOpenFiles?: number;
}

/** The network mode a policy asks for. */
export type NetworkMode = 'none' | 'allowlist' | 'full';

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

/** What a spawn hands to the native child, and the report that goes with it. */
export interface SpawnSandbox {
  plan: Omit<NativeSpawnPlan, 'file' | 'argv' | 'envp' | 'cwd'>;
  report: Omit<EnforcementReport, 'lifecycle'> & { lifecycle: Omit<LifecycleReport, 'removedEnv' | 'envSanitized' | 'explicitEnv'> };
  /** Protections that cannot be enforced here; strict mode refuses to spawn when non-empty. */
  missing: string[];
  pidNamespace: boolean;
  /** The child's network leaves only through the host's egress proxy (allowlist mode). */
  proxied: boolean;
  /** Resource limits: rlimits are in plan.rlimits; cgroup leaves are made per spawn (LimitSession). */
  limits: LimitsPlan;
  /** The sandbox's own temp dirs (mode A): what of the host's lies beneath them is out of its sight. */
  privateTemp: readonly PrivateTemp[];
}

/** The cached, filesystem-independent part of a compiled policy. */
export interface CompiledSandbox extends SpawnSandbox {
  useNamespaces: boolean;
  network: NetworkMode;
  confining: boolean;
  /** Escape-class facts known without the filesystem plan. */
  isolation: Omit<IsolationFacts, 'landlockAbi' | 'maskedSockets' | 'socketGaps' | 'privateShm'>;
  /** Per cwd: the key of the newest merged plan (a newer one supersedes it, and its standby). */
  lastKeys: Map<string, number>;
  /** Per filesystem plan: the host-socket masks merged in, and the merge (reused while both are unchanged). */
  merged: WeakMap<FilesystemPlan, { socketMounts: NativeMountOp[]; sandbox: SpawnSandbox }>;
}

// The shared network namespace, made on first use; null where it cannot be (each sandbox then
// gets its own).
let sharedNetns: { userFd: number; netFd: number } | null | undefined;
function sharedNetworkNamespace(isRoot: boolean): { userFd: number; netFd: number } | null {
  if (sharedNetns === undefined) {
    try {
      sharedNetns = native().sharedNetworkNamespace(!isRoot); // userFd -1 for root: no user namespace
    } catch {
      sharedNetns = null;
    }
  }
  return sharedNetns;
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

/** The policy's network mode. */
export function networkMode(policy: SandboxPolicy): NetworkMode {
  if (policy.hasFullNetworkAccess()) return 'full';
  return policy.hasNetworkAllowlist() ? 'allowlist' : 'none';
}

const PROTECT_MISSING = { placeholder: 'placeholder', freeze: 'freeze-top-level', 'allow-create': 'allow' } as const;

/**
 * Everything a spawn of `policy` in `cwd` needs. The policy-level part is compiled once and
 * cached; the filesystem plan is asked for on every spawn (its cache revalidates the paths the
 * Landlock ruleset pinned, a few lstat calls) and merged only when it changed.
 */
export function sandboxForSpawn(policy: SandboxPolicy, cwd: string, options: CompileOptions): SpawnSandbox {
  const compiled = policySandbox(policy, options);
  const fs = compileFilesystemPlan({
    policy,
    cwd,
    probe: rawProbe(),
    enforcement: options.enforcement,
    ...(options.landlockAbiCap !== undefined ? { landlockAbiCap: options.landlockAbiCap } : {}),
    // Allowlist: the namespace holds only loopback and the host's listeners, so TCP needs no
    // Landlock port rules there (they would refuse the sandbox's own loopback servers).
    network: { mode: compiled.network },
    namespaces: compiled.useNamespaces,
    ...(options.tmp !== undefined ? { tmp: options.tmp } : {}),
    ...(options.protectedDirs !== undefined ? { protectMissingMetadata: PROTECT_MISSING[options.protectedDirs] } : {}),
    ...(options.tmpSizeMb !== undefined ? { tmpSizeMb: options.tmpSizeMb } : {}),
    ...(options.devices !== undefined ? { devices: options.devices } : {}),
    ...(options.ptyPath !== undefined ? { ptyPath: options.ptyPath } : {}),
  });
  // Host sockets come and go between spawns: re-read each time (cached on their list).
  const sockets = compiled.useNamespaces ? hostUnixSocketMasks(fs.writableRoots, cwd) : NO_SOCKET_MASKS;
  // One merge per filesystem plan (one per cwd, while its paths stay put), so a policy used in
  // several workspaces in turn keeps its plans, and their keys and standby children.
  let merged = compiled.merged.get(fs);
  if (!merged || merged.socketMounts !== sockets.mounts) {
    merged = { socketMounts: sockets.mounts, sandbox: mergeFilesystem(compiled, fs, sockets, compiled.lastKeys.get(cwd)) };
    compiled.merged.set(fs, merged);
    if (compiled.lastKeys.size >= 64 && !compiled.lastKeys.has(cwd)) compiled.lastKeys.delete(compiled.lastKeys.keys().next().value!);
    compiled.lastKeys.set(cwd, merged.sandbox.plan.sandboxKey!);
  }
  return merged.sandbox;
}

// One object, so that the merged plan of a policy without namespaces stays cached.
const NO_SOCKET_MASKS: SocketMasks = { mounts: [], masked: [], gaps: [] };

/** The policy-level part (no filesystem plan): what a child that never started reports. */
export function policySandbox(policy: SandboxPolicy, options: CompileOptions): CompiledSandbox {
  const key = JSON.stringify([options.enforcement, options.namespaces, options.landlockAbiCap ?? null, options.networkNamespace ?? 'shared', options.maxOpenFiles ?? null]);
  let perPolicy = cache.get(policy);
  if (!perPolicy) {
    perPolicy = new Map();
    cache.set(policy, perPolicy);
  }
  let compiled = perPolicy.get(key);
  if (!compiled) {
    compiled = compile(policy, options);
    perPolicy.set(key, compiled);
  }
  return compiled;
}

// Every merged plan gets a key of its own (native caches the plan and its standby under it), so
// a plan that changed, a new ruleset fd for instance, never meets the old plan's standby. The
// addon hands the keys out: two copies of this module loading one addon must not share a key.

function mergeFilesystem(compiled: CompiledSandbox, fs: FilesystemPlan, sockets: SocketMasks, supersedes: number | undefined): SpawnSandbox {
  // A private /dev/shm over the host's, unless a writable root holds it or lies in it.
  const privateShm = compiled.useNamespaces && !fs.writableRoots.some((r) => isWithin(r, '/dev/shm') || isWithin('/dev/shm', r));
  const mounts: NativeMountOp[] = compiled.useNamespaces
    ? buildMountPlan({
        readOnlyTree: compiled.isolation.readOnlyTree,
        writableRoots: fs.writableRoots,
        anchors: fs.anchors,
        masks: fs.mounts,
        socketMasks: sockets.mounts,
        deviceMounts: fs.deviceMounts,
        privateShm,
        privateTemp: fs.privateTemp,
        proc: compiled.pidNamespace,
        hostFlags: hostMountFlags,
        landlockHandledFs: fs.rulesetFd >= 0 ? handledAccessFs(fs.report.landlockAbi) : 0,
      })
    : [];
  const filesystem: FilesystemReport = fs.report;
  const isolation = isolationReport({
    ...compiled.isolation,
    landlockAbi: fs.report.landlockAbi,
    maskedSockets: sockets.masked.length,
    socketGaps: sockets.gaps,
    privateShm,
  });
  return {
    plan: {
      ...compiled.plan,
      mounts,
      landlockRulesetFd: fs.rulesetFd,
      sandboxKey: native().newSandboxKey(),
      ...(supersedes !== undefined ? { supersedesKey: supersedes } : {}),
    },
    report: { ...compiled.report, filesystem, isolation, missing: [...compiled.missing, ...fs.missing] },
    missing: [...compiled.missing, ...fs.missing],
    pidNamespace: compiled.pidNamespace,
    proxied: compiled.proxied,
    limits: compiled.limits,
    privateTemp: compiled.useNamespaces ? fs.privateTemp : [],
  };
}

function compile(policy: SandboxPolicy, options: CompileOptions): CompiledSandbox {
  const probe = rawProbe();
  const confining = isConfining(policy);
  const missing: string[] = [];
  const requestedNetwork = networkMode(policy);
  const profile = policy.seccompProfile();
  // A profile that refuses network sockets while the policy turns the network on: the filter
  // wins (every socket(AF_INET) fails), so the sandbox has no network, and the report says so.
  const profileRefusesSockets = confining && requestedNetwork !== 'none' && !profile.allowNetworkSockets && !profile.logOnly;
  const socketContradiction = profileRefusesSockets
    ? `network: the policy turns the network on (${requestedNetwork === 'full' ? 'network_access' : 'network_allowlist'}) but seccomp_profile.allow_network_sockets is false, so every inet socket is refused: set seccomp_profile.allow_network_sockets to true (or leave seccomp_profile out), or turn the network off`
    : undefined;
  if (socketContradiction) missing.push(socketContradiction);
  const network: NetworkMode = profileRefusesSockets ? 'none' : requestedNetwork;

  // Namespaces: a pid namespace makes the tree kill total (the command is its pid 1: when it
  // dies, the kernel kills the rest) and survives a SIGKILLed host (pdeathsig on pid 1); a
  // mount namespace gives it a fresh /proc, where host pids are invisible, and carries the
  // filesystem masks. Non-root callers need a user namespace for both; it maps their uid and
  // gid to themselves.
  const canNamespace = probe.isRoot
    ? probe.mountNamespace && probe.pidNamespace
    : probe.userNamespaces && probe.mountNamespace && probe.pidNamespace;
  const useNamespaces = confining && options.namespaces && canNamespace;
  const arch = runningSyscallArch() ?? null;
  // No network: a network namespace keeps the host's loopback services, abstract unix sockets
  // and network view away from the sandbox, and, as much, the sandbox's own sockets away from
  // the host (an abstract name it binds first would answer the host's clients; sockets it
  // binds would crowd the host's /proc/net/unix, which every spawn reads). A fresh one costs
  // ~0.5 ms of CPU per spawn (copy_net_ns, then cleanup_net in a kworker). Where the filter
  // refuses inet sockets and Landlock's scope (ABI 6) keeps sandboxes from connecting to
  // abstract sockets of other domains, one shared by this host's no-network sandboxes is as
  // good, and is made once (SandboxPlan::sharedNetworkNamespaceFd). Otherwise, or when asked
  // (networkNamespace: 'private'), or for the allowlist (its proxy listener), each sandbox
  // gets its own.
  const landlockAbi = Math.min(probe.landlockAbi, options.landlockAbiCap ?? probe.landlockAbi);
  const sandboxesKeptApart = probe.seccompFilter && arch !== null && !profile.logOnly && landlockAbi >= 6;
  const useNetns = useNamespaces && network !== 'full' && probe.networkNamespace;
  // Resource limits: cgroup leaves where writable, else rlimits that hold without breaking tools.
  const resourceLimits = policy.resourceLimits();
  const openFiles = options.maxOpenFiles ?? (confining ? DEFAULT_MAX_OPEN_FILES : null);
  const limits = planLimits(resourceLimits, limitsEnvironment(probe, useNamespaces && !probe.isRoot, resourceLimits), openFiles);
  missing.push(...limits.missing);
  // A pids cap held by RLIMIT_NPROC, which the kernel counts per user namespace, needs a user
  // namespace of the sandbox's own: such a sandbox gets private ones (a user namespace nested in
  // the shared one would be owned by the uid every sandbox in the shared one runs as).
  const ownUserNamespace = limits.report.pids.mechanism === 'rlimit-userns';
  const shared =
    useNetns && network === 'none' && sandboxesKeptApart && !ownUserNamespace && options.networkNamespace !== 'private'
      ? sharedNetworkNamespace(probe.isRoot)
      : null;
  // Allowlist: the child's namespace holds only the proxy's listener (created by the child,
  // served by the host). Without a namespace nothing would force traffic through the proxy,
  // so the allowlist cannot hold: strict refuses; best-effort cuts the network off entirely.
  const allowlistViaProxy = network === 'allowlist' && useNetns;
  const effectiveNetwork: NetworkMode = network === 'allowlist' && !allowlistViaProxy ? 'none' : network;
  if (confining && network === 'allowlist' && !allowlistViaProxy) {
    missing.push('network allowlist: no network namespace here to force traffic through the egress proxy (network would be cut off entirely)');
  }
  const listenerPlan = allowlistViaProxy ? networkListenerPlan(policy) : undefined;
  if (listenerPlan) missing.push(...listenerPlan.problems);
  let namespaceFlags = 0;
  if (useNamespaces) {
    // Joining the shared network namespace means joining the user namespace that owns it.
    namespaceFlags =
      CLONE_NEWNS |
      CLONE_NEWPID |
      (!probe.isRoot && !shared ? CLONE_NEWUSER : 0) |
      (useNetns && !shared ? CLONE_NEWNET : 0) |
      (probe.ipcNamespace ? CLONE_NEWIPC : 0);
  }

  const treeKill: TreeKill = useNamespaces ? 'pid-namespace' : limits.report.cgroup ? 'cgroup' : 'process-group';
  const lifecycleGaps: string[] = [];
  if (treeKill === 'cgroup') {
    lifecycleGaps.push('descendants of a SIGKILLed host survive until the next start sweeps the stale cgroup');
  }
  if (treeKill === 'process-group') {
    lifecycleGaps.push('descendants that call setsid() or setpgid() leave the process group and survive kill/timeout');
    lifecycleGaps.push('descendants of a SIGKILLed host survive (only the direct child has PR_SET_PDEATHSIG)');
  }
  const dropCapabilities = probe.isRoot && confining;

  // Seccomp: ReadOnly and WorkspaceWrite only (the other two answer 'permissive' but install
  // nothing, as the reference does).
  let seccomp: CompiledSeccomp | null = null;
  let unixSocketsRefused = false;
  let sysvIpcRefused = false;
  if (confining) {
    if (!probe.seccompFilter) missing.push('seccomp: this kernel cannot install seccomp filters');
    else if (!arch) missing.push(`seccomp: no filter for architecture ${process.arch}`);
    else {
      // Without a mount namespace nothing keeps the host's pathname sockets out of reach: strict
      // refuses socket(AF_UNIX), socketpair stays. (Landlock's RESOLVE_UNIX, ABI 9, would not be
      // enough: it allows sockets beneath every writable root, /tmp with the host's among them.)
      // Without an IPC namespace the host's SysV IPC and POSIX message queues are refused instead.
      const unixSockets = useNamespaces || options.enforcement === 'best-effort' ? 'allow' : 'socketpair-only';
      const refuseSysvIpc = !(useNamespaces && probe.ipcNamespace);
      seccomp = compileSeccomp(profile, { arch, network: effectiveNetwork, unixSockets, refuseSysvIpc, netns: useNetns });
      unixSocketsRefused = unixSockets === 'socketpair-only' && !profile.logOnly;
      sysvIpcRefused = refuseSysvIpc && !profile.logOnly;
    }
  }

  const networkReport: NetworkReport = { mode: effectiveNetwork, by: [], gaps: socketContradiction ? [socketContradiction] : [] };
  if (confining && network !== 'full') {
    if (allowlistViaProxy) {
      const forwarded = listenerPlan!.forwards.map((f) => f.rule);
      networkReport.by.push(
        `network namespace (its own loopback, the egress proxy listener on 127.0.0.1:${listenerPlan!.proxyPort}${forwarded.length > 0 ? `, and the host's ${forwarded.join(', ')} forwarded` : ''})`,
      );
      networkReport.by.push('egress proxy: allowlist of names, IPs and ranges (HTTP, CONNECT, SOCKS5); private, loopback and host addresses refused unless an entry names them');
      networkReport.gaps.push('proxy-unaware tools cannot connect anywhere (no transparent capture)');
      if (listenerPlan!.udpEntries.length > 0) {
        networkReport.gaps.push(`udp entries admit nothing (the proxy relays TCP only, and the sandbox has no other way out): ${listenerPlan!.udpEntries.join(', ')}`);
      }
    } else if (shared) {
      networkReport.by.push("network namespace shared by this host's no-network sandboxes (nothing but lo, down)");
      networkReport.by.push('landlock abstract unix socket scope');
      networkReport.gaps.push(
        "shared with this host's other no-network sandboxes: the names of their abstract unix sockets and the paths in /proc/net/unix are visible, and an abstract name one of them binds first is taken for the others (EADDRINUSE); none can connect to another's (the scope)",
      );
    } else if (useNetns) networkReport.by.push('network namespace (loopback only)');
    if (seccomp) networkReport.by.push('seccomp socket rules');
    if (landlockAbi >= 4 && !allowlistViaProxy) networkReport.by.push('landlock tcp');
    if (!useNetns) networkReport.gaps.push('no network namespace: the host loopback is reachable where seccomp allows inet sockets');
  }

  const plan: SpawnSandbox['plan'] = {
    newSession: true,
    dieWithParent: true,
    noNewPrivs: true,
    dropCapabilities,
    capLastCap: readCapLastCap(),
    rlimits: limits.rlimits,
    namespaceFlags,
    writeIdMaps: (namespaceFlags & CLONE_NEWUSER) !== 0,
    sharedUserNamespaceFd: shared?.userFd ?? -1,
    sharedNetworkNamespaceFd: shared?.netFd ?? -1,
    mounts: [], // the filesystem plan's, merged per spawn (mergeFilesystem)
    // Loopback only where something uses it: the proxy listener. With no network the filter
    // refuses inet sockets altogether, and bringing lo up costs ~130 µs per spawn here.
    loopbackUp: allowlistViaProxy,
    ...(listenerPlan ? { listeners: listenerPlan.listeners.map((l) => ({ port: l.port, ipv6: l.ipv6 })) } : {}),
    cgroupProcsFds: [],
    landlockRulesetFd: -1,
    landlockFlags: 0,
    seccompProgram: seccomp?.program ?? null,
    seccompFlags: seccomp?.flags ?? 0,
    // Root callers' standbys keep their permitted capabilities while they wait (a capability-less
    // uid-0 process could otherwise ptrace one, and it shares the host's memory) and clear them
    // with one capset once the command arrives, under the filter: so capset must pass it too.
    confineStandbyEarly:
      seccomp === null || allowsUnconditionally(seccomp, dropCapabilities ? [...STANDBY_PATH_SYSCALLS, 'capset'] : STANDBY_PATH_SYSCALLS),
  };

  const seccompReport: SeccompReport = {
    installed: seccomp !== null,
    profile: seccomp?.profile ?? null,
    rules: seccomp?.rules ?? 0,
    instructions: seccomp?.instructions ?? 0,
    arch: seccomp?.arch ?? null,
  };
  const report: SpawnSandbox['report'] = {
    policy: policy.kind,
    enforcement: options.enforcement,
    kernel: { release: probe.release, landlockAbi: probe.landlockAbi, isRoot: probe.isRoot },
    namespaces: {
      user: (namespaceFlags & CLONE_NEWUSER) !== 0 || (shared !== null && !probe.isRoot),
      mount: (namespaceFlags & CLONE_NEWNS) !== 0,
      pid: (namespaceFlags & CLONE_NEWPID) !== 0,
      network: (namespaceFlags & CLONE_NEWNET) !== 0 || shared !== null,
      ipc: (namespaceFlags & CLONE_NEWIPC) !== 0,
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
    seccomp: seccompReport,
    network: networkReport,
    limits: limits.report,
    missing,
  };
  const blocked = new Set(profile.blockedSyscalls);
  const seccompRefuses = seccomp !== null && !profile.logOnly;
  const isolation: CompiledSandbox['isolation'] = {
    mountNamespace: useNamespaces,
    pidNamespace: useNamespaces,
    ipcNamespace: (namespaceFlags & CLONE_NEWIPC) !== 0,
    // The read-only tree and /proc mount ops need mount_setattr (Linux 5.12).
    readOnlyTree: useNamespaces && kernelHasMountSetattr(probe.release),
    seccompRefuses,
    seccompHardening: seccomp !== null && seccomp.profile !== 'permissive',
    unixSocketsRefused,
    sysvIpcRefused,
    keyringsRefused: seccompRefuses && ['add_key', 'request_key', 'keyctl'].every((n) => blocked.has(n)),
  };
  return {
    plan,
    report,
    missing,
    pidNamespace: useNamespaces,
    useNamespaces,
    isolation,
    network: effectiveNetwork,
    confining,
    proxied: allowlistViaProxy,
    limits,
    privateTemp: [],
    lastKeys: new Map(),
    merged: new WeakMap(),
  };
}
