import { describe, expect, it } from 'vitest';
import {
  NetworkAllowlistEntry,
  ResourceLimits,
  SandboxPolicy,
  SeccompProfile,
  SensitivePath,
  type SandboxPolicyJson,
} from '../../src/policy/index.js';

const strictJson = () => ({
  blocked_syscalls: [...SeccompProfile.strict().blockedSyscalls],
  allow_namespaces: false,
  allow_network_sockets: false,
  log_only: false,
});
const defaultLimitsJson = { max_memory_mb: 0, max_pids: 0, max_disk_mb: 0, cpu_time_secs: 0, timeout_secs: 300 };
const npm = NetworkAllowlistEntry.https('*.npmjs.org');
const npmJson = { domain: '*.npmjs.org', port: 443, protocol: 'tcp' };

function ww(overrides: Partial<Extract<SandboxPolicyJson, { type: 'workspace_write' }>>): SandboxPolicyJson {
  return {
    type: 'workspace_write',
    writable_roots: [{ root: '/work/proj' }],
    network_access: false,
    network_allowlist: [],
    sensitive_paths: null,
    resource_limits: defaultLimitsJson,
    seccomp_profile: strictJson(),
    exclude_tmpdir_env_var: true,
    exclude_slash_tmp: true,
    ...overrides,
  } as SandboxPolicyJson;
}

describe('static constructors (what each sets)', () => {
  it.each<[string, () => SandboxPolicy, string, SandboxPolicyJson]>([
    ['readOnly', () => SandboxPolicy.readOnly(), 'ReadOnly', { type: 'read_only', network_access: false, network_allowlist: [] }],
    ['newReadOnlyPolicy', () => SandboxPolicy.newReadOnlyPolicy(), 'ReadOnly', { type: 'read_only', network_access: false, network_allowlist: [] }],
    ['default', () => SandboxPolicy.default(), 'ReadOnly', { type: 'read_only', network_access: false, network_allowlist: [] }],
    ['readOnlyWithNetwork([])', () => SandboxPolicy.readOnlyWithNetwork([]), 'ReadOnly', { type: 'read_only', network_access: false, network_allowlist: [] }],
    ['readOnlyWithNetwork([npm])', () => SandboxPolicy.readOnlyWithNetwork([npm]), 'ReadOnly', { type: 'read_only', network_access: true, network_allowlist: [npmJson] } as SandboxPolicyJson],
    ['readOnlyWithFullNetwork', () => SandboxPolicy.readOnlyWithFullNetwork(), 'ReadOnly', { type: 'read_only', network_access: true, network_allowlist: [] }],
    ['workspaceWrite', () => SandboxPolicy.workspaceWrite(['/work/proj']), 'WorkspaceWrite', ww({})],
    [
      'workspaceWriteWithNetwork([npm])',
      () => SandboxPolicy.workspaceWriteWithNetwork(['/work/proj'], [npm]),
      'WorkspaceWrite',
      ww({ network_access: true, network_allowlist: [npmJson] as never, seccomp_profile: { ...strictJson(), allow_network_sockets: true } }),
    ],
    [
      'workspaceWriteWithNetwork([])',
      () => SandboxPolicy.workspaceWriteWithNetwork(['/work/proj'], []),
      'WorkspaceWrite',
      ww({ network_access: false, seccomp_profile: { ...strictJson(), allow_network_sockets: true } }),
    ],
    [
      'workspaceWriteWithSensitivePaths',
      () => SandboxPolicy.workspaceWriteWithSensitivePaths(['/work/proj'], [SensitivePath.of('~/.x', false, true)]),
      'WorkspaceWrite',
      ww({ sensitive_paths: [{ path: '~/.x', block_read: false, block_write: true }] }),
    ],
    ['workspaceWriteNoSensitiveBlocking', () => SandboxPolicy.workspaceWriteNoSensitiveBlocking(['/work/proj']), 'WorkspaceWrite', ww({ sensitive_paths: [] })],
    [
      'workspaceWriteWithLimits',
      () => SandboxPolicy.workspaceWriteWithLimits(['/work/proj'], ResourceLimits.moderate()),
      'WorkspaceWrite',
      ww({ resource_limits: { max_memory_mb: 2048, max_pids: 256, max_disk_mb: 4096, cpu_time_secs: 300, timeout_secs: 600 } }),
    ],
    [
      'workspaceWriteFull',
      () =>
        SandboxPolicy.workspaceWriteFull(['/work/proj', { root: '/srv' }], [npm], [SensitivePath.blocked('/etc/shadow')], ResourceLimits.generous(), SeccompProfile.logging()),
      'WorkspaceWrite',
      ww({
        writable_roots: [{ root: '/work/proj' }, { root: '/srv' }],
        network_access: true,
        network_allowlist: [npmJson] as never,
        sensitive_paths: [{ path: '/etc/shadow', block_read: true, block_write: true }],
        resource_limits: { max_memory_mb: 8192, max_pids: 1024, max_disk_mb: 16384, cpu_time_secs: 0, timeout_secs: 3600 },
        seccomp_profile: { ...strictJson(), log_only: true },
      }),
    ],
    [
      'workspaceWriteFull (null sensitive, empty allowlist)',
      () => SandboxPolicy.workspaceWriteFull(['/work/proj'], [], null, ResourceLimits.default(), SeccompProfile.permissive()),
      'WorkspaceWrite',
      ww({ seccomp_profile: { blocked_syscalls: ['ptrace', 'kexec_load', 'kexec_file_load', 'reboot'], allow_namespaces: true, allow_network_sockets: true, log_only: false } }),
    ],
    ['fullAccess', () => SandboxPolicy.fullAccess(), 'DangerFullAccess', { type: 'danger_full_access' }],
    ['externalSandbox', () => SandboxPolicy.externalSandbox('runs inside a Firecracker VM'), 'ExternalSandbox', { type: 'external_sandbox', description: 'runs inside a Firecracker VM' }],
  ])('%s', (_name, make, kind, json) => {
    const policy = make();
    expect(policy.kind).toBe(kind);
    expect(policy.toJSON()).toEqual(json);
    expect(SandboxPolicy.parse(json).equals(policy)).toBe(true);
  });

  it('externalSandbox keeps its own text apart from description()', () => {
    const p = SandboxPolicy.externalSandbox('gVisor');
    expect(p.externalDescription).toBe('gVisor');
    expect(p.description()).toBe('external sandbox');
    expect(SandboxPolicy.readOnly().externalDescription).toBeUndefined();
  });

  it('accepts WritableRoot objects, so writableRoots can be fed back', () => {
    const a = SandboxPolicy.workspaceWrite(['/a', '/b']);
    const b = SandboxPolicy.workspaceWrite(a.writableRoots);
    expect(b.equals(a)).toBe(true);
  });
});

describe('immutability', () => {
  it('policies are frozen and hand out frozen values', () => {
    const p = SandboxPolicy.workspaceWriteFull(['/w'], [npm], [SensitivePath.blocked('/s')], ResourceLimits.moderate(), SeccompProfile.strict());
    expect(Object.isFrozen(p)).toBe(true);
    expect(() => {
      (p as { kind: string }).kind = 'DangerFullAccess';
    }).toThrow();
    for (const value of [p.writableRoots, p.writableRoots[0], p.networkAllowlist(), p.networkAllowlist()[0], p.sensitivePaths(), p.sensitivePaths()[0],
      p.resourceLimits(), p.seccompProfile(), p.seccompProfile().blockedSyscalls, p.getWritableRootsWithCwd('/c'), p.sensitivePathsForExecution('/c')]) {
      expect(Object.isFrozen(value)).toBe(true);
    }
  });

  it('toJSON returns a fresh object whose mutation does not leak back', () => {
    const p = SandboxPolicy.workspaceWrite(['/w']);
    const json = p.toJSON() as Extract<SandboxPolicyJson, { type: 'workspace_write' }>;
    json.writable_roots.push({ root: '/evil' });
    json.seccomp_profile.blocked_syscalls.length = 0;
    expect(p.toJSON()).toEqual(SandboxPolicy.workspaceWrite(['/w']).toJSON());
  });

  it('mutating the input after parse or construction changes nothing', () => {
    const input = { type: 'workspace_write', writable_roots: [{ root: '/a' }], network_allowlist: [{ domain: 'a.example' }] };
    const p = SandboxPolicy.parse(input);
    input.writable_roots.push({ root: '/evil' });
    input.writable_roots[0]!.root = '/evil';
    input.network_allowlist[0]!.domain = 'evil.example';
    expect(p.writableRoots).toEqual([{ root: '/a' }]);
    expect(p.isNetworkAllowed('a.example', 443)).toBe(true);
    const roots = ['/b'];
    const q = SandboxPolicy.workspaceWrite(roots);
    roots.push('/evil');
    expect(q.writableRoots).toEqual([{ root: '/b' }]);
  });

  it('the constructor is not callable from outside', () => {
    const Ctor = SandboxPolicy as unknown as new (...args: unknown[]) => SandboxPolicy;
    expect(() => new Ctor(Symbol('x'), { type: 'danger_full_access' })).toThrow(/static constructors/);
  });
});
