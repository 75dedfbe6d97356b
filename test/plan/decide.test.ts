// The planning decision table: policy × host facts → namespaces, network mode, limit
// mechanisms, seccomp context, report gaps. Pure: no process is spawned, no host is read.
import { describe, expect, it } from 'vitest';
import { SandboxPolicy } from '../../src/policy/index.js';
import { CLONE_NEWNET, CLONE_NEWPID, CLONE_NEWUSER, decideSandbox, type HostFacts } from '../../src/plan/decide.js';

const base: HostFacts = {
  kernel: {
    isRoot: false,
    release: '6.18.0',
    landlockAbi: 7,
    userNamespaces: true,
    mountNamespace: true,
    pidNamespace: true,
    networkNamespace: true,
    ipcNamespace: true,
    seccompFilter: true,
  },
  arch: 'x86_64',
  cgroups: { v2: null, v1: { memoryDir: null, pidsDir: null }, hostHard: {} },
  sharedNetworkNamespace: true,
};
const facts = (kernel: Partial<HostFacts['kernel']> = {}, rest: Partial<Omit<HostFacts, 'kernel'>> = {}): HostFacts => ({ ...base, ...rest, kernel: { ...base.kernel, ...kernel } });
const strict = { enforcement: 'strict' as const, namespaces: true };
const ro = SandboxPolicy.readOnly();
const ww = SandboxPolicy.workspaceWrite(['/work']);
const limited = SandboxPolicy.parse({ ...(ww.toJSON() as object), resource_limits: { max_memory_mb: 256, max_pids: 64, max_disk_mb: 0, cpu_time_secs: 0, timeout_secs: 0 } });
const allowlist = SandboxPolicy.parse({ type: 'read_only', network_access: true, network_allowlist: [{ domain: 'example.com' }] });
const full = SandboxPolicy.fullAccess();

describe('decideSandbox', () => {
  const table: Array<[string, SandboxPolicy, HostFacts, Partial<Record<string, unknown>>]> = [
    ['unprivileged, every namespace', ww, facts(), { useNamespaces: true, networkNamespace: 'shared', network: 'none', treeKill: 'pid-namespace', dropCapabilities: false }],
    ['no user namespaces (unprivileged)', ww, facts({ userNamespaces: false }), { useNamespaces: false, networkNamespace: 'host', treeKill: 'process-group' }],
    ['root without user namespaces still namespaces', ww, facts({ isRoot: true, userNamespaces: false }), { useNamespaces: true, dropCapabilities: true }],
    ['Landlock below ABI 6: a namespace of its own', ww, facts({ landlockAbi: 5 }), { networkNamespace: 'own' }],
    ['shared namespace unavailable', ww, facts({}, { sharedNetworkNamespace: false }), { networkNamespace: 'own' }],
    ['no seccomp', ww, facts({ seccompFilter: false }), { seccomp: null, networkNamespace: 'own' }],
    ['no syscall table for the arch', ww, facts({}, { arch: null }), { seccomp: null }],
    ['allowlist through the proxy', allowlist, facts(), { network: 'allowlist', allowlistViaProxy: true, networkNamespace: 'own' }],
    ['allowlist without namespaces is cut off', allowlist, facts({ userNamespaces: false }), { network: 'none', allowlistViaProxy: false }],
    ['full access confines nothing', full, facts(), { confining: false, useNamespaces: false, seccomp: null, network: 'full', missing: [] }],
  ];
  it.each(table)('%s', (_name, policy, hostFacts, expected) => {
    const d = decideSandbox(policy, strict, hostFacts);
    for (const [key, value] of Object.entries(expected)) expect(d[key as keyof typeof d], key).toEqual(value);
  });

  it('namespace flags follow the choices (control: without namespaces none are set)', () => {
    const own = decideSandbox(ro, { ...strict, networkNamespace: 'private' }, facts());
    expect(own.namespaceFlags & (CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)).toBe(CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET);
    const shared = decideSandbox(ww, strict, facts()); // (ReadOnly's max_pids, held by RLIMIT_NPROC, needs a user namespace of its own)
    expect(shared.namespaceFlags & (CLONE_NEWUSER | CLONE_NEWNET)).toBe(0); // joined instead
    expect(decideSandbox(ro, { ...strict, namespaces: false }, facts()).namespaceFlags).toBe(0);
  });

  it('limit mechanisms: cgroup v2, v1, userns rlimit, root gap', () => {
    const v2 = { dir: '/sys/fs/cgroup/x', controllers: ['memory', 'pids'], kill: true };
    expect(decideSandbox(limited, strict, facts({}, { cgroups: { ...base.cgroups, v2 } })).limits.report.memory.mechanism).toBe('cgroup-v2');
    const v1 = { memoryDir: '/sys/fs/cgroup/memory', pidsDir: '/sys/fs/cgroup/pids' };
    expect(decideSandbox(limited, strict, facts({}, { cgroups: { ...base.cgroups, v1 } })).limits.report.pids.mechanism).toBe('cgroup-v1');
    const userns = decideSandbox(limited, strict, facts());
    expect(userns.limits.report.pids.mechanism).toBe('rlimit-userns');
    expect(userns.networkNamespace).toBe('own'); // RLIMIT_NPROC needs a user namespace of its own
    const root = decideSandbox(limited, strict, facts({ isRoot: true }));
    expect(root.limits.report.pids.enforced).toBe(false);
    expect(root.missing.some((m) => m.includes('max_pids=64'))).toBe(true);
    expect(userns.missing).toEqual([]); // control
  });

  it('seccomp context: unix sockets refused only without a mount namespace, in strict mode', () => {
    expect(decideSandbox(ww, strict, facts()).seccomp?.unixSockets).toBe('allow');
    const noNs = decideSandbox(ww, { ...strict, namespaces: false }, facts());
    expect(noNs.seccomp?.unixSockets).toBe('socketpair-only');
    expect(noNs.unixSocketsRefused).toBe(true);
    expect(noNs.seccomp?.refuseSysvIpc).toBe(true);
    expect(decideSandbox(ww, { enforcement: 'best-effort', namespaces: false }, facts()).seccomp?.unixSockets).toBe('allow');
  });

  it('report gaps: each missing protection named once, none when all hold', () => {
    const d = decideSandbox(allowlist, strict, facts({ userNamespaces: false, seccompFilter: false }));
    expect(d.missing.filter((m) => m.startsWith('network allowlist'))).toHaveLength(1);
    expect(d.missing.filter((m) => m.startsWith('seccomp'))).toHaveLength(1);
    expect(decideSandbox(allowlist, strict, facts()).missing).toEqual([]);
  });

  it('is pure: the same inputs give equal decisions, and the inputs are not changed', () => {
    const f = facts();
    const snapshot = JSON.stringify(f);
    expect(JSON.stringify(decideSandbox(ww, strict, f))).toBe(JSON.stringify(decideSandbox(ww, strict, f)));
    expect(JSON.stringify(f)).toBe(snapshot);
  });
});
