// The policy-level part of the enforcement report, from the decisions and the compiled filter:
// namespaces, lifecycle, network, seccomp, limits, and the list of what is missing (computed
// once, in decideSandbox, and extended once by the filesystem plan in withFilesystemGaps).
import type { SandboxPolicy } from '../policy/index.js';
import type { CompiledSeccomp } from '../seccomp/index.js';
import type { IsolationFacts } from '../isolation.js';
import type { EnforcementReport, LifecycleReport, NetworkReport, SeccompReport } from '../report.js';
import { kernelHasMountSetattr } from './kernel.js';
import { CLONE_NEWIPC, CLONE_NEWNS, CLONE_NEWPID, CLONE_NEWUSER, CLONE_NEWNET, type CompileOptions, type HostFacts, type SandboxDecisions } from './decide.js';

/** The report before the spawn adds its per-child facts (environment, filesystem, isolation). */
export type PolicyReport = Omit<EnforcementReport, 'lifecycle'> & { lifecycle: Omit<LifecycleReport, 'removedEnv' | 'envSanitized' | 'explicitEnv'> };

/** What holds the network mode, and how it falls short. */
export function networkReport(d: SandboxDecisions, seccompInstalled: boolean): NetworkReport {
  const report: NetworkReport = { mode: d.network, by: [], gaps: d.socketContradiction ? [d.socketContradiction] : [] };
  if (!d.confining || d.network === 'full') return report;
  if (d.allowlistViaProxy) {
    const listeners = d.listenerPlan!;
    const forwarded = listeners.forwards.map((f) => f.rule);
    report.by.push(
      `network namespace (its own loopback, the egress proxy listener on 127.0.0.1:${listeners.proxyPort}${forwarded.length > 0 ? `, and the host's ${forwarded.join(', ')} forwarded` : ''})`,
    );
    report.by.push('egress proxy: allowlist of names, IPs and ranges (HTTP, CONNECT, SOCKS5); private, loopback and host addresses refused unless an entry names them');
    report.gaps.push('proxy-unaware tools cannot connect anywhere (no transparent capture)');
    if (listeners.udpEntries.length > 0) {
      report.gaps.push(`udp entries admit nothing (the proxy relays TCP only, and the sandbox has no other way out): ${listeners.udpEntries.join(', ')}`);
    }
  } else if (d.networkNamespace === 'shared') {
    report.by.push("network namespace shared by this host's no-network sandboxes (nothing but lo, down)");
    report.by.push('landlock abstract unix socket scope');
    report.gaps.push(
      "shared with this host's other no-network sandboxes: the names of their abstract unix sockets and the paths in /proc/net/unix are visible, and an abstract name one of them binds first is taken for the others (EADDRINUSE); none can connect to another's (the scope)",
    );
  } else if (d.networkNamespace === 'own') report.by.push('network namespace (loopback only)');
  if (seccompInstalled) report.by.push('seccomp socket rules');
  if (d.landlockAbi >= 4 && !d.allowlistViaProxy) report.by.push('landlock tcp');
  if (d.networkNamespace === 'host') report.gaps.push('no network namespace: the host loopback is reachable where seccomp allows inet sockets');
  return report;
}

export function seccompReport(seccomp: CompiledSeccomp | null): SeccompReport {
  return {
    installed: seccomp !== null,
    profile: seccomp?.profile ?? null,
    rules: seccomp?.rules ?? 0,
    instructions: seccomp?.instructions ?? 0,
    arch: seccomp?.arch ?? null,
  };
}

/** The report of a policy's sandbox, before the filesystem plan and the spawn add theirs. */
export function policyReport(policy: SandboxPolicy, options: CompileOptions, kernel: HostFacts['kernel'], d: SandboxDecisions, seccomp: CompiledSeccomp | null): PolicyReport {
  const flags = d.namespaceFlags;
  const shared = d.networkNamespace === 'shared';
  return {
    policy: policy.kind,
    enforcement: options.enforcement,
    kernel: { release: kernel.release, landlockAbi: kernel.landlockAbi, isRoot: kernel.isRoot },
    namespaces: {
      user: (flags & CLONE_NEWUSER) !== 0 || (shared && !kernel.isRoot),
      mount: (flags & CLONE_NEWNS) !== 0,
      pid: (flags & CLONE_NEWPID) !== 0,
      network: (flags & CLONE_NEWNET) !== 0 || shared,
      ipc: (flags & CLONE_NEWIPC) !== 0,
    },
    lifecycle: {
      processGroup: true,
      parentDeathSignal: true,
      treeKill: d.treeKill,
      noSurvivorsOnHostKill: d.treeKill === 'pid-namespace',
      gaps: d.lifecycleGaps,
      noNewPrivs: true,
      capabilitiesDropped: d.dropCapabilities,
    },
    seccomp: seccompReport(seccomp),
    network: networkReport(d, seccomp !== null),
    limits: d.limits.report,
    missing: d.missing,
  };
}

/** The escape-class facts known without the filesystem plan. */
export type PolicyIsolationFacts = Omit<IsolationFacts, 'landlockAbi' | 'maskedSockets' | 'socketGaps' | 'privateShm'>;

export function policyIsolationFacts(policy: SandboxPolicy, kernel: HostFacts['kernel'], d: SandboxDecisions, seccomp: CompiledSeccomp | null): PolicyIsolationFacts {
  const profile = policy.seccompProfile();
  const blocked = new Set(profile.blockedSyscalls);
  const seccompRefuses = seccomp !== null && !profile.logOnly;
  return {
    mountNamespace: d.useNamespaces,
    pidNamespace: d.useNamespaces,
    ipcNamespace: (d.namespaceFlags & CLONE_NEWIPC) !== 0,
    // The read-only tree and /proc mount ops need mount_setattr (Linux 5.12).
    readOnlyTree: d.useNamespaces && kernelHasMountSetattr(kernel.release),
    seccompRefuses,
    seccompHardening: seccomp !== null && seccomp.profile !== 'permissive',
    unixSocketsRefused: d.unixSocketsRefused,
    sysvIpcRefused: d.sysvIpcRefused,
    keyringsRefused: seccompRefuses && ['add_key', 'request_key', 'keyctl'].every((n) => blocked.has(n)),
  };
}

/** The missing list with the filesystem plan's gaps after the policy's: the one place they meet. */
export function withFilesystemGaps(policyMissing: readonly string[], filesystemMissing: readonly string[]): string[] {
  return [...policyMissing, ...filesystemMissing];
}
