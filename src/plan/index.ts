// Planning: a policy compiled into what the native child needs, once per (policy, options),
// and merged with the filesystem plan of each cwd: namespace flags, the mount plan, the
// Landlock ruleset fd, the seccomp program, rlimits, and the enforcement report that says
// what all of it amounts to on this kernel. Exec loops reuse the merged object, so per-spawn
// work is only argv/envp/stdio.
//
//   host/facts.ts   reads the machine (and makes cgroup v2 ready for leaves, once)
//   plan/decide.ts  decides, purely: namespaces, network, limits, seccomp context, gaps
//   plan/report.ts  the policy-level report
//   this file       the caches, the seccomp compile, the native plan, the filesystem merge
import { compileFilesystemPlan, handledAccessFs, isWithin, type FilesystemPlan, type FilesystemReport } from '../filesystem/index.js';
import { native, type NativeMountOp, type NativeSpawnPlan } from '../native.js';
import { rawProbe } from '../probe.js';
import type { SandboxPolicy } from '../policy/index.js';
import type { NetworkMode } from '../policy/kinds.js';
import type { LimitsPlan } from '../limits/plan.js';
import { allowsUnconditionally, compileSeccomp, STANDBY_PATH_SYSCALLS, type CompiledSeccomp } from '../seccomp/index.js';
import { buildMountPlan, hostMountFlags, type PrivateTemp } from '../mount-plan.js';
import { hostUnixSocketMasks, isolationReport, type SocketMasks } from '../isolation.js';
import { hostFacts, readCapLastCap, sharedNetworkNamespace } from '../host/facts.js';
import { CLONE_NEWUSER, decideSandbox, type CompileOptions, type SandboxDecisions } from './decide.js';
import { policyIsolationFacts, policyReport, withFilesystemGaps, type PolicyIsolationFacts, type PolicyReport } from './report.js';
import { registerCache } from '../caches.js';

export type { CompileOptions } from './decide.js';

/** What a spawn hands to the native child, and the report that goes with it. */
export interface SpawnSandbox {
  plan: Omit<NativeSpawnPlan, 'file' | 'argv' | 'envp' | 'cwd'>;
  report: PolicyReport;
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
  isolation: PolicyIsolationFacts;
  /** Per cwd: the key of the newest merged plan (a newer one supersedes it, and its standby). */
  lastKeys: Map<string, number>;
  /** Per filesystem plan: the host-socket masks merged in, and the merge (reused while both are unchanged). */
  merged: WeakMap<FilesystemPlan, { socketMounts: NativeMountOp[]; sandbox: SpawnSandbox }>;
}

let cache = new WeakMap<SandboxPolicy, Map<string, CompiledSandbox>>();
registerCache({
  name: 'plan/index.ts compiled sandboxes (and per filesystem plan, their merges; per cwd, the last sandbox key)',
  key: 'policy object, then (enforcement, namespaces, Landlock ABI cap, network namespace, max open files); merges by filesystem plan object',
  bound: 'WeakMap by policy; option sets are few; merges weak on their filesystem plan; 64 cwds per compiled sandbox',
  invalidation: 'host facts are process-lifetime; a rebuilt filesystem plan is a new object, so a new merge and sandbox key',
  size: () => null,
  clear: () => (cache = new WeakMap()),
});

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
  const missing = withFilesystemGaps(compiled.missing, fs.missing);
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
    report: { ...compiled.report, filesystem, isolation, missing },
    missing,
    pidNamespace: compiled.pidNamespace,
    proxied: compiled.proxied,
    limits: compiled.limits,
    privateTemp: compiled.useNamespaces ? fs.privateTemp : [],
  };
}


/** The decisions for `policy` here, with the shared network namespace made if they want it. */
function decide(policy: SandboxPolicy, options: CompileOptions): { decisions: SandboxDecisions; facts: ReturnType<typeof hostFacts>; shared: { userFd: number; netFd: number } | null } {
  const limits = policy.resourceLimits();
  const facts = hostFacts(limits.maxMemoryMb > 0 || limits.maxPids > 0);
  let decisions = decideSandbox(policy, options, facts);
  let shared: { userFd: number; netFd: number } | null = null;
  if (decisions.networkNamespace === 'shared') {
    shared = sharedNetworkNamespace(facts.kernel.isRoot);
    // It could not be made: each sandbox gets a namespace of its own.
    if (!shared) decisions = decideSandbox(policy, options, { ...facts, sharedNetworkNamespace: false });
  }
  return { decisions, facts, shared };
}

function compile(policy: SandboxPolicy, options: CompileOptions): CompiledSandbox {
  const { decisions: d, facts, shared } = decide(policy, options);
  const seccomp: CompiledSeccomp | null = d.seccomp ? compileSeccomp(policy.seccompProfile(), d.seccomp) : null;
  const plan: SpawnSandbox['plan'] = {
    newSession: true,
    dieWithParent: true,
    noNewPrivs: true,
    dropCapabilities: d.dropCapabilities,
    capLastCap: readCapLastCap(),
    rlimits: d.limits.rlimits,
    namespaceFlags: d.namespaceFlags,
    writeIdMaps: (d.namespaceFlags & CLONE_NEWUSER) !== 0,
    sharedUserNamespaceFd: shared?.userFd ?? -1,
    sharedNetworkNamespaceFd: shared?.netFd ?? -1,
    mounts: [], // the filesystem plan's, merged per spawn (mergeFilesystem)
    // Loopback only where something uses it: the proxy listener. With no network the filter
    // refuses inet sockets altogether, and bringing lo up costs ~130 µs per spawn here.
    loopbackUp: d.allowlistViaProxy,
    ...(d.listenerPlan ? { listeners: d.listenerPlan.listeners.map((l) => ({ port: l.port, ipv6: l.ipv6 })) } : {}),
    cgroupProcsFds: [],
    landlockRulesetFd: -1,
    landlockFlags: 0,
    seccompProgram: seccomp?.program ?? null,
    seccompFlags: seccomp?.flags ?? 0,
    // Root callers' standbys keep their permitted capabilities while they wait (a capability-less
    // uid-0 process could otherwise ptrace one, and it shares the host's memory) and clear them
    // with one capset once the command arrives, under the filter: so capset must pass it too.
    confineStandbyEarly:
      seccomp === null || allowsUnconditionally(seccomp, d.dropCapabilities ? [...STANDBY_PATH_SYSCALLS, 'capset'] : STANDBY_PATH_SYSCALLS),
  };
  return {
    plan,
    report: policyReport(policy, options, facts.kernel, d, seccomp),
    missing: d.missing,
    pidNamespace: d.useNamespaces,
    useNamespaces: d.useNamespaces,
    isolation: policyIsolationFacts(policy, facts.kernel, d, seccomp),
    network: d.network,
    confining: d.confining,
    proxied: d.allowlistViaProxy,
    limits: d.limits,
    privateTemp: [],
    lastKeys: new Map(),
    merged: new WeakMap(),
  };
}
