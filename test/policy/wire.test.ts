import { describe, expect, it } from 'vitest';
import { NetworkAllowlistEntry, ResourceLimits, SandboxPolicy, SeccompProfile, type SandboxPolicyJson } from '../../src/policy/index.js';
import { expectIssues, fixture } from './helpers.js';

const FIXTURES: [string, string][] = [
  ['read_only.json', 'ReadOnly'],
  ['read_only_allowlist.json', 'ReadOnly'],
  ['workspace_write.json', 'WorkspaceWrite'],
  ['workspace_write_custom.json', 'WorkspaceWrite'],
  ['workspace_write_minimal.json', 'WorkspaceWrite'],
  ['danger_full_access.json', 'DangerFullAccess'],
  ['external_sandbox.json', 'ExternalSandbox'],
];

describe('reference JSON fixtures', () => {
  it.each(FIXTURES)('%s loads and round-trips', (name, kind) => {
    const text = fixture(name);
    const policy = SandboxPolicy.parse(text);
    expect(policy.kind).toBe(kind);
    // String and object input agree.
    expect(SandboxPolicy.parse(JSON.parse(text) as object).equals(policy)).toBe(true);
    // toJSON → parse is the identity, also through JSON text.
    expect(SandboxPolicy.parse(policy.toJSON()).equals(policy)).toBe(true);
    expect(SandboxPolicy.parse(JSON.stringify(policy)).equals(policy)).toBe(true);
    expect(SandboxPolicy.parse(policy.toJSON()).toJSON()).toEqual(policy.toJSON());
  });

  it.each(FIXTURES.filter(([n]) => n !== 'workspace_write_minimal.json'))('%s: fully explicit fixtures are written back unchanged', (name) => {
    const raw = JSON.parse(fixture(name)) as SandboxPolicyJson;
    expect(SandboxPolicy.parse(raw).toJSON()).toEqual(raw);
  });

  it('workspace_write.json is the documented example with its queries', () => {
    const p = SandboxPolicy.parse(fixture('workspace_write.json'));
    expect(p.writableRoots).toEqual([{ root: '/abs/dir' }, { root: '/srv/cache' }]);
    expect(p.isNetworkAllowed('registry.npmjs.org', 443)).toBe(true);
    expect(p.resourceLimits()).toEqual(ResourceLimits.default());
    expect(p.seccompProfile()).toEqual(SeccompProfile.strict());
    expect(p.excludeSlashTmp).toBe(false);
  });

  it('workspace_write_custom.json', () => {
    const p = SandboxPolicy.parse(fixture('workspace_write_custom.json'));
    expect(p.resourceLimits()).toEqual(ResourceLimits.moderate());
    expect(p.seccompProfile()).toEqual(SeccompProfile.permissive());
    expect(p.sensitivePaths()).toHaveLength(3);
    expect(p.isNetworkAllowed('raw.githubusercontent.com', 443)).toBe(true);
  });

  it('read_only_allowlist.json: case and trailing dot in the entry are kept but ignored when matching', () => {
    const p = SandboxPolicy.parse(fixture('read_only_allowlist.json'));
    expect(p.networkAllowlist()[1]).toEqual({ domain: 'Registry.Yarnpkg.com.', port: 443, protocol: 'tcp' });
    expect(p.isNetworkAllowed('registry.yarnpkg.com', 443)).toBe(true);
    expect(p.isNetworkAllowed('10.0.0.53', 53)).toBe(true);
    expect(p.isNetworkAllowed('10.0.0.5', 53)).toBe(false);
  });
});

describe('defaults of absent fields', () => {
  it('read_only: booleans false, lists empty', () => {
    expect(SandboxPolicy.parse('{"type":"read_only"}').toJSON()).toEqual({ type: 'read_only', network_access: false, network_allowlist: [] });
  });

  it('workspace_write: everything but writable_roots', () => {
    expect(SandboxPolicy.parse(fixture('workspace_write_minimal.json')).toJSON()).toEqual({
      type: 'workspace_write',
      writable_roots: [{ root: '/abs/dir' }],
      network_access: false,
      network_allowlist: [],
      sensitive_paths: null,
      resource_limits: { max_memory_mb: 0, max_pids: 0, max_disk_mb: 0, cpu_time_secs: 0, timeout_secs: 300 },
      seccomp_profile: { blocked_syscalls: [...SeccompProfile.strict().blockedSyscalls], allow_namespaces: false, allow_network_sockets: false, log_only: false },
      exclude_tmpdir_env_var: false,
      exclude_slash_tmp: false,
    });
  });

  it('inside entries: port 443, tcp; block_read/block_write true; blocked_syscalls the default list; limits per field', () => {
    const p = SandboxPolicy.parse({
      type: 'workspace_write',
      writable_roots: [],
      network_allowlist: [{ domain: 'a.example' }, { domain: 'b.example', port: 53, protocol: 'udp' }],
      sensitive_paths: [{ path: '~/.x' }, { path: '/y', block_read: false }],
      resource_limits: { max_pids: 10 },
      seccomp_profile: { log_only: true },
    });
    expect(p.networkAllowlist()).toEqual([NetworkAllowlistEntry.https('a.example'), NetworkAllowlistEntry.withPort('b.example', 53, 'udp')]);
    expect(p.sensitivePaths()).toEqual([
      { path: '~/.x', blockRead: true, blockWrite: true },
      { path: '/y', blockRead: false, blockWrite: true },
    ]);
    expect(p.resourceLimits()).toEqual({ ...ResourceLimits.default(), maxPids: 10 });
    expect(p.seccompProfile()).toEqual(SeccompProfile.logging());
  });

  it('an explicit empty blocklist stays empty (not the default)', () => {
    const p = SandboxPolicy.parse({ type: 'workspace_write', writable_roots: [], seccomp_profile: { blocked_syscalls: [] } });
    expect(p.seccompProfile().blockedSyscalls).toEqual([]);
  });

  it('sensitive_paths: null and absent mean the defaults', () => {
    const a = SandboxPolicy.parse({ type: 'workspace_write', writable_roots: [], sensitive_paths: null });
    const b = SandboxPolicy.parse({ type: 'workspace_write', writable_roots: [] });
    expect(a.equals(b)).toBe(true);
    expect(a.toJSON()).toMatchObject({ sensitive_paths: null });
  });
});

describe('strict and loose parsing', () => {
  const withExtras = {
    type: 'workspace_write',
    writable_roots: [{ root: '/a', comment: 'x' }],
    network_allowlist: [{ domain: 'a.example', note: 1 }],
    resource_limits: { max_pids: 1, max_files: 3 },
    seccomp_profile: { allow_namespaces: false, mode: 'x' },
    sensitive_paths: [{ path: '/s', why: 'y' }],
    future_field: true,
  };

  it('strict is the default: every unknown key is named', () => {
    expectIssues(
      () => SandboxPolicy.parse(withExtras),
      [
        'writable_roots[0].comment: unknown key',
        'network_allowlist[0].note: unknown key',
        'sensitive_paths[0].why: unknown key',
        'resource_limits.max_files: unknown key',
        'seccomp_profile.mode: unknown key',
        'future_field: unknown key',
      ],
    );
    expectIssues(() => SandboxPolicy.parse({ type: 'danger_full_access', network_access: true }), ['network_access: unknown key']);
    expectIssues(() => SandboxPolicy.parse({ type: 'read_only', writable_roots: [] }), ['writable_roots: unknown key']);
  });

  it('{ strict: false } ignores unknown keys (and drops them from toJSON)', () => {
    const p = SandboxPolicy.parse(withExtras, { strict: false });
    expect(p.toJSON()).not.toHaveProperty('future_field');
    expect(p.writableRoots).toEqual([{ root: '/a' }]);
    expect(p.resourceLimits().maxPids).toBe(1);
    expect(SandboxPolicy.parse(JSON.stringify(withExtras), { strict: false }).equals(p)).toBe(true);
  });

  it('{ strict: false } still validates known fields', () => {
    expectIssues(() => SandboxPolicy.parse({ type: 'read_only', network_allowlist: [{ domain: '', x: 1 }] }, { strict: false }), ['network_allowlist[0].domain: must not be empty']);
  });

  it('parse returns a SandboxPolicy argument as is', () => {
    const p = SandboxPolicy.readOnly();
    expect(SandboxPolicy.parse(p)).toBe(p);
  });
});
