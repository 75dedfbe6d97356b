// The planning decisions, as a pure function of (policy, options, host facts): which namespaces
// the child gets, its network mode and the namespace that holds it, which mechanism holds each
// limit, the seccomp filter's context, capability dropping, and what cannot be enforced here.
// Nothing here reads the machine or changes it: host/facts.ts gathers the facts first, and
// plan/index.ts turns the decisions into the native plan and the report.
import type { NativeKernelProbe } from '../native-types.js';
import { isConfiningKind, networkModeOf, type NetworkMode } from '../policy/kinds.js';
import type { SandboxPolicy } from '../policy/index.js';
import type { SyscallArch } from '../policy/syscall-table.js';
import { DEFAULT_MAX_OPEN_FILES, planLimits, type LimitsEnvironment, type LimitsPlan } from '../limits/plan.js';
import type { SeccompContext } from '../seccomp/index.js';
import { networkListenerPlan, type NetworkListenerPlan } from '../network-plan.js';
import type { TreeKill } from '../report.js';

// clone(2) flags.
export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;

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

/** What the decisions depend on about this machine and this process. */
export interface HostFacts {
  kernel: Pick<
    NativeKernelProbe,
    'isRoot' | 'release' | 'landlockAbi' | 'userNamespaces' | 'mountNamespace' | 'pidNamespace' | 'networkNamespace' | 'ipcNamespace' | 'seccompFilter'
  >;
  /** The syscall table of the running architecture, null where cordon has none. */
  arch: SyscallArch | null;
  /** The cgroups and rlimit ceilings limits are planned from (cgroup v2 leaves already prepared). */
  cgroups: Pick<LimitsEnvironment, 'v2' | 'v1' | 'hostHard'>;
  /** A network namespace shared by this host's no-network sandboxes can be had (or is held). */
  sharedNetworkNamespace: boolean;
}

/** Which network namespace the child is in. */
export type NetworkNamespaceChoice = 'host' | 'own' | 'shared';

/** Everything decided about a policy's sandbox on this host, before anything is built. */
export interface SandboxDecisions {
  confining: boolean;
  /** The policy's network mode, and the mode that holds (an allowlist without a namespace is cut off). */
  requestedNetwork: NetworkMode;
  network: NetworkMode;
  useNamespaces: boolean;
  networkNamespace: NetworkNamespaceChoice;
  /** The allowlist is held by the egress proxy, reached through a listener in the child's namespace. */
  allowlistViaProxy: boolean;
  listenerPlan: NetworkListenerPlan | undefined;
  /** CLONE_NEW* flags of the child's clone. */
  namespaceFlags: number;
  /** The Landlock ABI used (the probe's, or the cap asked for). */
  landlockAbi: number;
  limits: LimitsPlan;
  treeKill: TreeKill;
  lifecycleGaps: string[];
  dropCapabilities: boolean;
  /** The filter's context, null when no filter is installed. */
  seccomp: SeccompContext | null;
  unixSocketsRefused: boolean;
  sysvIpcRefused: boolean;
  /** The profile refuses the network sockets the policy turns on (then the network is off). */
  socketContradiction: string | undefined;
  /** Protections asked for that cannot be enforced here (strict mode refuses), in order. */
  missing: string[];
}

/** The network mode that holds, and the gap when the seccomp profile turns it off. */
function networkDecision(policy: SandboxPolicy, confining: boolean): { requested: NetworkMode; network: NetworkMode; contradiction: string | undefined } {
  const requested = networkModeOf(policy);
  const profile = policy.seccompProfile();
  // A profile that refuses network sockets while the policy turns the network on: the filter
  // wins (every socket(AF_INET) fails), so the sandbox has no network, and the report says so.
  if (!(confining && requested !== 'none' && !profile.allowNetworkSockets && !profile.logOnly)) return { requested, network: requested, contradiction: undefined };
  const contradiction = `network: the policy turns the network on (${requested === 'full' ? 'network_access' : 'network_allowlist'}) but seccomp_profile.allow_network_sockets is false, so every inet socket is refused: set seccomp_profile.allow_network_sockets to true (or leave seccomp_profile out), or turn the network off`;
  return { requested, network: 'none', contradiction };
}

function lifecycleOf(useNamespaces: boolean, limits: LimitsPlan): { treeKill: TreeKill; gaps: string[] } {
  if (useNamespaces) return { treeKill: 'pid-namespace', gaps: [] };
  if (limits.report.cgroup) return { treeKill: 'cgroup', gaps: ['descendants of a SIGKILLed host survive until the next start sweeps the stale cgroup'] };
  return {
    treeKill: 'process-group',
    gaps: [
      'descendants that call setsid() or setpgid() leave the process group and survive kill/timeout',
      'descendants of a SIGKILLed host survive (only the direct child has PR_SET_PDEATHSIG)',
    ],
  };
}

/** Decides the sandbox of `policy` on a host with `facts`. Pure: same inputs, same decisions. */
export function decideSandbox(policy: SandboxPolicy, options: CompileOptions, facts: HostFacts): SandboxDecisions {
  const { kernel, arch } = facts;
  const confining = isConfiningKind(policy.kind);
  const profile = policy.seccompProfile();
  const missing: string[] = [];
  const { requested, network, contradiction } = networkDecision(policy, confining);
  if (contradiction) missing.push(contradiction);

  // Namespaces: a pid namespace makes the tree kill total (the command is its pid 1: when it
  // dies, the kernel kills the rest) and survives a SIGKILLed host (pdeathsig on pid 1); a
  // mount namespace gives it a fresh /proc, where host pids are invisible, and carries the
  // filesystem masks. Non-root callers need a user namespace for both; it maps their uid and
  // gid to themselves.
  const canNamespace = kernel.mountNamespace && kernel.pidNamespace && (kernel.isRoot || kernel.userNamespaces);
  const useNamespaces = confining && options.namespaces && canNamespace;
  const landlockAbi = Math.min(kernel.landlockAbi, options.landlockAbiCap ?? kernel.landlockAbi);
  const useNetns = useNamespaces && network !== 'full' && kernel.networkNamespace;

  // Resource limits: cgroup leaves where writable, else rlimits that hold without breaking tools.
  const resourceLimits = policy.resourceLimits();
  const openFiles = options.maxOpenFiles ?? (confining ? DEFAULT_MAX_OPEN_FILES : null);
  const needsCgroup = resourceLimits.maxMemoryMb > 0 || resourceLimits.maxPids > 0;
  const limitsEnv: LimitsEnvironment = {
    isRoot: kernel.isRoot,
    userNamespace: useNamespaces && !kernel.isRoot,
    release: kernel.release,
    v2: needsCgroup ? facts.cgroups.v2 : null,
    v1: facts.cgroups.v1,
    hostHard: facts.cgroups.hostHard,
  };
  const limits = planLimits(resourceLimits, limitsEnv, openFiles);
  missing.push(...limits.missing);

  // No network: a network namespace keeps the host's loopback services, abstract unix sockets
  // and network view away from the sandbox, and, as much, the sandbox's own sockets away from
  // the host (an abstract name it binds first would answer the host's clients; sockets it
  // binds would crowd the host's /proc/net/unix, which every spawn reads). A fresh one costs
  // ~0.5 ms of CPU per spawn (copy_net_ns, then cleanup_net in a kworker). Where the filter
  // refuses inet sockets and Landlock's scope (ABI 6) keeps sandboxes from connecting to
  // abstract sockets of other domains, one shared by this host's no-network sandboxes is as
  // good, and is made once (SandboxPlan::sharedNetworkNamespaceFd). Otherwise, or when asked
  // (networkNamespace: 'private'), or for the allowlist (its proxy listener), each sandbox
  // gets its own. A pids cap held by RLIMIT_NPROC, which the kernel counts per user namespace,
  // needs a user namespace of the sandbox's own: such a sandbox gets private ones (a user
  // namespace nested in the shared one would be owned by the uid every sandbox in it runs as).
  const sandboxesKeptApart = kernel.seccompFilter && arch !== null && !profile.logOnly && landlockAbi >= 6;
  const ownUserNamespace = limits.report.pids.mechanism === 'rlimit-userns';
  const shared =
    useNetns && network === 'none' && sandboxesKeptApart && !ownUserNamespace && options.networkNamespace !== 'private' && facts.sharedNetworkNamespace;

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

  // Joining the shared network namespace means joining the user namespace that owns it.
  const namespaceFlags = useNamespaces
    ? CLONE_NEWNS | CLONE_NEWPID | (!kernel.isRoot && !shared ? CLONE_NEWUSER : 0) | (useNetns && !shared ? CLONE_NEWNET : 0) | (kernel.ipcNamespace ? CLONE_NEWIPC : 0)
    : 0;
  const lifecycle = lifecycleOf(useNamespaces, limits);

  // Seccomp: ReadOnly and WorkspaceWrite only (the other two answer 'permissive' but install
  // nothing, as the reference does).
  let seccomp: SeccompContext | null = null;
  if (confining) {
    if (!kernel.seccompFilter) missing.push('seccomp: this kernel cannot install seccomp filters');
    else if (!arch) missing.push(`seccomp: no filter for architecture ${process.arch}`);
    else {
      // Without a mount namespace nothing keeps the host's pathname sockets out of reach: strict
      // refuses socket(AF_UNIX), socketpair stays. (Landlock's RESOLVE_UNIX, ABI 9, would not be
      // enough: it allows sockets beneath every writable root, /tmp with the host's among them.)
      // Without an IPC namespace the host's SysV IPC and POSIX message queues are refused instead.
      const unixSockets = useNamespaces || options.enforcement === 'best-effort' ? 'allow' : 'socketpair-only';
      seccomp = { arch, network: effectiveNetwork, unixSockets, refuseSysvIpc: !(useNamespaces && kernel.ipcNamespace), netns: useNetns };
    }
  }

  return {
    confining,
    requestedNetwork: requested,
    network: effectiveNetwork,
    useNamespaces,
    networkNamespace: shared ? 'shared' : useNetns ? 'own' : 'host',
    allowlistViaProxy,
    listenerPlan,
    namespaceFlags,
    landlockAbi,
    limits,
    treeKill: lifecycle.treeKill,
    lifecycleGaps: lifecycle.gaps,
    dropCapabilities: kernel.isRoot && confining,
    seccomp,
    unixSocketsRefused: seccomp?.unixSockets === 'socketpair-only' && !profile.logOnly,
    sysvIpcRefused: seccomp?.refuseSysvIpc === true && !profile.logOnly,
    socketContradiction: contradiction,
    missing,
  };
}
