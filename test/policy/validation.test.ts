import { describe, expect, it } from 'vitest';
import { PolicyError } from '../../src/errors.js';
import {
  NetworkAllowlistEntry,
  ResourceLimits,
  SandboxPolicy,
  SeccompProfile,
  SensitivePath,
  SYSCALL_TABLE,
  runningSyscallArch,
  type SensitivePath as SensitivePathT,
} from '../../src/policy/index.js';
import { expectIssues, policyError } from './helpers.js';

const ww = (extra: Record<string, unknown>) => ({ type: 'workspace_write', writable_roots: [], ...extra });
const ro = (extra: Record<string, unknown>) => ({ type: 'read_only', ...extra });
const entry = (e: Record<string, unknown>) => ro({ network_allowlist: [e] });

describe('the policy object itself', () => {
  it('bad JSON text', () => {
    const e = policyError(() => SandboxPolicy.parse('{"type":'));
    expect(e.issues).toHaveLength(1);
    expect(e.message).toMatch(/^invalid sandbox policy: not valid JSON \(/);
    expect(e.code).toBe('ERR_CORDON_POLICY');
  });

  it.each([
    ['[]', 'a policy must be a JSON object, got an array'],
    ['42', 'a policy must be a JSON object, got a number'],
    ['null', 'a policy must be a JSON object, got null'],
    ['"read_only"', 'a policy must be a JSON object, got "read_only"'],
  ])('non-object JSON %s', (text, message) => {
    expectIssues(() => SandboxPolicy.parse(text), [message]);
  });

  it('non-object values', () => {
    expectIssues(() => SandboxPolicy.parse(undefined as unknown as object), ['a policy must be a JSON object, got a undefined']);
    expectIssues(() => SandboxPolicy.parse(7 as unknown as object), ['a policy must be a JSON object, got a number']);
    expectIssues(() => SandboxPolicy.parse(null as unknown as object), ['a policy must be a JSON object, got null']);
  });

  it('missing, unknown or non-string type', () => {
    expectIssues(() => SandboxPolicy.parse({}), ['type: required']);
    expectIssues(() => SandboxPolicy.parse({ type: 'sandboxed' }), [
      'type: unknown policy type "sandboxed" (expected read_only, workspace_write, danger_full_access or external_sandbox)',
    ]);
    expectIssues(() => SandboxPolicy.parse({ type: 'ReadOnly' }), [
      'type: unknown policy type "ReadOnly" (expected read_only, workspace_write, danger_full_access or external_sandbox)',
    ]);
    expectIssues(() => SandboxPolicy.parse({ type: 1 }), [
      'type: unknown policy type a number (expected read_only, workspace_write, danger_full_access or external_sandbox)',
    ]);
    expectIssues(() => SandboxPolicy.parse({ type: 'toString' }), [
      'type: unknown policy type "toString" (expected read_only, workspace_write, danger_full_access or external_sandbox)',
    ]);
  });

  it('required fields', () => {
    expectIssues(() => SandboxPolicy.parse({ type: 'workspace_write' }), ['writable_roots: required']);
    expectIssues(() => SandboxPolicy.parse({ type: 'external_sandbox' }), ['description: required']);
    expectIssues(() => SandboxPolicy.parse({ type: 'external_sandbox', description: 5 }), ['description: must be a string']);
  });

  it('wrong field types', () => {
    expectIssues(() => SandboxPolicy.parse(ro({ network_access: 'yes' })), ['network_access: must be a boolean']);
    expectIssues(() => SandboxPolicy.parse(ro({ network_access: null })), ['network_access: must be a boolean']);
    expectIssues(() => SandboxPolicy.parse(ro({ network_allowlist: null })), ['network_allowlist: must be an array']);
    expectIssues(() => SandboxPolicy.parse(ro({ network_allowlist: {} })), ['network_allowlist: must be an array']);
    expectIssues(() => SandboxPolicy.parse(ro({ network_allowlist: ['a.com'] })), ['network_allowlist[0]: must be an object']);
    expectIssues(() => SandboxPolicy.parse({ type: 'workspace_write', writable_roots: '/a' }), ['writable_roots: must be an array']);
    expectIssues(() => SandboxPolicy.parse({ type: 'workspace_write', writable_roots: ['/a'] }), ['writable_roots[0]: must be an object']);
    expectIssues(() => SandboxPolicy.parse(ww({ sensitive_paths: '~/.ssh' })), ['sensitive_paths: must be an array or null']);
    expectIssues(() => SandboxPolicy.parse(ww({ resource_limits: null })), ['resource_limits: must be an object']);
    expectIssues(() => SandboxPolicy.parse(ww({ seccomp_profile: [] })), ['seccomp_profile: must be an object']);
    expectIssues(() => SandboxPolicy.parse(ww({ seccomp_profile: { blocked_syscalls: 'ptrace' } })), ['seccomp_profile.blocked_syscalls: must be an array']);
    expectIssues(() => SandboxPolicy.parse(ww({ seccomp_profile: { log_only: 1 } })), ['seccomp_profile.log_only: must be a boolean']);
    expectIssues(() => SandboxPolicy.parse(ww({ exclude_slash_tmp: 'false' })), ['exclude_slash_tmp: must be a boolean']);
    expectIssues(() => SandboxPolicy.parse(ww({ sensitive_paths: [{ path: '/a', block_read: 'no' }] })), ['sensitive_paths[0].block_read: must be a boolean']);
  });

  it('several problems are all reported, joined with "; "', () => {
    const e = policyError(() =>
      SandboxPolicy.parse({ type: 'workspace_write', writable_roots: [{ root: '/ok' }, { root: 'rel' }], network_allowlist: [{ domain: '', port: -1 }] }),
    );
    expect(e.message).toBe(
      'invalid sandbox policy: writable_roots[1].root: must be an absolute path; network_allowlist[0].domain: must not be empty; network_allowlist[0].port: must be an integer from 0 to 65535',
    );
    expect(e.issues).toHaveLength(3);
  });

  it('an input whose getter throws is a PolicyError', () => {
    const evil = { type: 'read_only', get network_access(): boolean { throw new TypeError('boom'); } };
    const e = policyError(() => SandboxPolicy.parse(evil));
    expect(e.message).toContain('boom');
  });
});

describe('paths', () => {
  it.each([
    ['rel/path', 'must be an absolute path'],
    ['./x', 'must be an absolute path'],
    ['~/proj', 'must be an absolute path'],
    ['', 'must not be empty'],
    ['/a\0b', 'must not contain NUL bytes'],
  ])('writable root %j', (root, message) => {
    expectIssues(() => SandboxPolicy.parse({ type: 'workspace_write', writable_roots: [{ root: '/fine' }, { root }] }), [`writable_roots[1].root: ${message}`]);
  });

  it('writable root of the wrong type or missing', () => {
    expectIssues(() => SandboxPolicy.parse({ type: 'workspace_write', writable_roots: [{ root: 5 }] }), ['writable_roots[0].root: must be a string']);
    expectIssues(() => SandboxPolicy.parse({ type: 'workspace_write', writable_roots: [{}] }), ['writable_roots[0].root: required']);
  });

  it.each([
    ['.ssh', 'must be an absolute path or start with ~/'],
    ['~user/.ssh', 'must be an absolute path or start with ~/'],
    ['~.ssh', 'must be an absolute path or start with ~/'],
    ['', 'must not be empty'],
    ['~/\0', 'must not contain NUL bytes'],
  ])('sensitive path %j', (path, message) => {
    expectIssues(() => SandboxPolicy.parse(ww({ sensitive_paths: [{ path }] })), [`sensitive_paths[0].path: ${message}`]);
  });

  it.each(['~', '~/', '~/.ssh', '/etc/shadow', '/'])('sensitive path %j is accepted', (path) => {
    expect(SandboxPolicy.parse(ww({ sensitive_paths: [{ path }] })).sensitivePaths()[0]?.path).toBe(path);
  });
});

describe('network allowlist entries', () => {
  it.each([-1, 65536, 1.5, Number.NaN, '443', null, true])('port %j', (port) => {
    expectIssues(() => SandboxPolicy.parse(entry({ domain: 'a.example', port })), ['network_allowlist[0].port: must be an integer from 0 to 65535']);
  });

  it.each([0, 1, 443, 65535])('port %j is accepted', (port) => {
    expect(SandboxPolicy.parse(entry({ domain: 'a.example', port })).networkAllowlist()[0]?.port).toBe(port);
  });

  it.each(['icmp', 'TCP', '', 5, null])('protocol %j', (protocol) => {
    expectIssues(() => SandboxPolicy.parse(entry({ domain: 'a.example', protocol })), ['network_allowlist[0].protocol: must be "tcp" or "udp"']);
  });

  it.each([
    ['', 'must not be empty'],
    ['*', 'only a single leading "*." wildcard is allowed'],
    ['*.*.example.com', 'only a single leading "*." wildcard is allowed'],
    ['a*.example.com', 'only a single leading "*." wildcard is allowed'],
    ['example.*', 'only a single leading "*." wildcard is allowed'],
    ['*example.com', 'only a single leading "*." wildcard is allowed'],
    ['*.', 'needs a domain name after the wildcard'],
    ['.', 'needs a domain name after the wildcard'],
    ['a..example.com', 'has an empty label (consecutive, leading or extra trailing dots)'],
    ['.example.com', 'has an empty label (consecutive, leading or extra trailing dots)'],
    ['example.com..', 'has an empty label (consecutive, leading or extra trailing dots)'],
    ['exa mple.com', 'must not contain whitespace'],
    [' example.com', 'must not contain whitespace'],
    ['-bad.example.com', 'label "-bad" may only hold letters, digits, "-" and "_", and must not start or end with "-"'],
    ['bad-.example.com', 'label "bad-" may only hold letters, digits, "-" and "_", and must not start or end with "-"'],
    ['ex!ample.com', 'label "ex!ample" may only hold letters, digits, "-" and "_", and must not start or end with "-"'],
    ['https://example.com', 'label "https://example" may only hold letters, digits, "-" and "_", and must not start or end with "-"'],
    ['example.com:443', 'label "com:443" may only hold letters, digits, "-" and "_", and must not start or end with "-"'],
    [`${'a'.repeat(64)}.com`, `label "${'a'.repeat(20)}..." is longer than 63 characters`],
    [`${'abcdefghi.'.repeat(26)}com`, 'is longer than 253 characters'],
    ['256.1.1.1', 'is neither a valid IP address nor a host name'],
    ['1.2.3', 'is neither a valid IP address nor a host name'],
    ['*.1.2.3.4', 'is neither a valid IP address nor a host name'],
    ['[::1', 'label "[::1" may only hold letters, digits, "-" and "_", and must not start or end with "-"'],
  ])('domain %j', (domain, message) => {
    expectIssues(() => SandboxPolicy.parse(entry({ domain })), [`network_allowlist[0].domain: ${message}`]);
  });

  it('domain of the wrong type or missing', () => {
    expectIssues(() => SandboxPolicy.parse(entry({ domain: 7 })), ['network_allowlist[0].domain: must be a string']);
    expectIssues(() => SandboxPolicy.parse(entry({ port: 443 })), ['network_allowlist[0].domain: required']);
  });

  it.each(['example.com', 'EXAMPLE.com.', '*.example.com', '*.co', 'localhost', '_acme-challenge.example.com', 'xn--bcher-kva.example', '1.2.3.4', '::1', '[2001:db8::1]', 'a-b.c-d.e'])(
    'domain %j is accepted',
    (domain) => {
      expect(SandboxPolicy.parse(entry({ domain })).networkAllowlist()[0]?.domain).toBe(domain);
    },
  );
});

describe('resource limits', () => {
  it.each([-1, 1.5, '10', null, Number.POSITIVE_INFINITY, 2 ** 53])('limit %j', (value) => {
    for (const key of ['max_memory_mb', 'max_pids', 'max_disk_mb', 'cpu_time_secs', 'timeout_secs']) {
      expectIssues(() => SandboxPolicy.parse(ww({ resource_limits: { [key]: value } })), [`resource_limits.${key}: must be a non-negative integer`]);
    }
  });
});

describe('seccomp syscall names', () => {
  const arch = runningSyscallArch();

  it('refuses names no architecture has', () => {
    const suffix = arch === undefined ? '' : ` on ${arch}`;
    expectIssues(() => SandboxPolicy.parse(ww({ seccomp_profile: { blocked_syscalls: ['ptrace', 'not_a_syscall', ''] } })), [
      `seccomp_profile.blocked_syscalls[1]: unknown syscall "not_a_syscall"${suffix}`,
      'seccomp_profile.blocked_syscalls[2]: must not be empty',
    ]);
    expectIssues(() => SandboxPolicy.parse(ww({ seccomp_profile: { blocked_syscalls: ['PTRACE', 'sys_ptrace', '__proto__'] } })), [
      `seccomp_profile.blocked_syscalls[0]: unknown syscall "PTRACE"${suffix}`,
      `seccomp_profile.blocked_syscalls[1]: unknown syscall "sys_ptrace"${suffix}`,
      `seccomp_profile.blocked_syscalls[2]: unknown syscall "__proto__"${suffix}`,
    ]);
    expectIssues(() => SandboxPolicy.parse(ww({ seccomp_profile: { blocked_syscalls: [5] } })), ['seccomp_profile.blocked_syscalls[0]: must be a string']);
  });

  it('refuses names the running architecture lacks, accepts the ones it has', () => {
    if (arch === undefined) return;
    const other = arch === 'x86_64' ? 'aarch64' : 'x86_64';
    const mine = Object.keys(SYSCALL_TABLE[arch]);
    // A name only the other arch has (x86_64 has none aarch64 lacks in these tables, so use the
    // aarch64 view when running there; on x86_64 check that x86-only names pass).
    const foreign = Object.keys(SYSCALL_TABLE[other]).filter((n) => !mine.includes(n));
    for (const name of foreign.slice(0, 5)) {
      expectIssues(() => SandboxPolicy.parse(ww({ seccomp_profile: { blocked_syscalls: [name] } })), [
        `seccomp_profile.blocked_syscalls[0]: unknown syscall "${name}" on ${arch}`,
      ]);
    }
    const nativeOnly = mine.filter((n) => !(n in SYSCALL_TABLE[other])).slice(0, 5);
    for (const name of [...nativeOnly, 'openat', 'clone3', 'io_uring_setup']) {
      expect(SandboxPolicy.parse(ww({ seccomp_profile: { blocked_syscalls: [name] } })).seccompProfile().blockedSyscalls).toEqual([name]);
    }
  });

  it('accepts the whole default list on every arch', () => {
    expect(() => SandboxPolicy.parse(ww({ seccomp_profile: { blocked_syscalls: [...SeccompProfile.strict().blockedSyscalls] } }))).not.toThrow();
  });
});

describe('constructors validate with the same schema', () => {
  it('workspaceWrite', () => {
    expectIssues(() => SandboxPolicy.workspaceWrite(['rel/path']), ['writable_roots[0].root: must be an absolute path']);
    expectIssues(() => SandboxPolicy.workspaceWrite(['/ok', '']), ['writable_roots[1].root: must not be empty']);
    expectIssues(() => SandboxPolicy.workspaceWrite(undefined as never), ['writable_roots: required']);
    expectIssues(() => SandboxPolicy.workspaceWrite(null as never), ['writable_roots: must be an array']);
    expectIssues(() => SandboxPolicy.workspaceWrite('/a' as never), ['writable_roots: must be an array']);
    expectIssues(() => SandboxPolicy.workspaceWrite([42] as never), ['writable_roots[0].root: must be a string']);
    expectIssues(() => SandboxPolicy.workspaceWrite([null] as never), ['writable_roots[0].root: must be a string']);
    expectIssues(() => SandboxPolicy.workspaceWrite([{ root: '/a', extra: 1 }] as never), ['writable_roots[0].extra: unknown key']);
  });

  it('network constructors', () => {
    expectIssues(() => SandboxPolicy.readOnlyWithNetwork([{ domain: 'a.example', port: -1, protocol: 'tcp' }]), ['network_allowlist[0].port: must be an integer from 0 to 65535']);
    expectIssues(() => SandboxPolicy.readOnlyWithNetwork(undefined as never), ['network_allowlist: required']);
    expectIssues(() => SandboxPolicy.readOnlyWithNetwork('a.example' as never), ['network_allowlist: must be an array']);
    expectIssues(() => SandboxPolicy.workspaceWriteWithNetwork(['/a'], [null] as never), ['network_allowlist[0]: must be an object']);
    expectIssues(() => SandboxPolicy.workspaceWriteWithNetwork(['/a'], undefined as never), ['network_allowlist: required']);
  });

  it('sensitive-path constructors', () => {
    expectIssues(() => SandboxPolicy.workspaceWriteWithSensitivePaths(['/a'], [{ path: 'rel', blockRead: true, blockWrite: true }]), [
      'sensitive_paths[0].path: must be an absolute path or start with ~/',
    ]);
    expectIssues(() => SandboxPolicy.workspaceWriteWithSensitivePaths(['/a'], undefined as never), ['sensitive_paths: required']);
    expectIssues(() => SandboxPolicy.workspaceWriteWithSensitivePaths(['/a'], {} as never), ['sensitive_paths: must be an array']);
    // Wire names from TS are refused by name (they would otherwise be silently dropped).
    expectIssues(() => SandboxPolicy.workspaceWriteWithSensitivePaths(['/a'], [{ path: '/s', block_read: false } as unknown as SensitivePathT]), [
      'sensitive_paths[0].block_read: unknown key (use blockRead)',
    ]);
  });

  it('limits and seccomp constructors', () => {
    expectIssues(() => SandboxPolicy.workspaceWriteWithLimits(['/a'], { ...ResourceLimits.default(), maxPids: -1 }), ['resource_limits.max_pids: must be a non-negative integer']);
    expectIssues(() => SandboxPolicy.workspaceWriteWithLimits(['/a'], undefined as never), ['resource_limits: required']);
    expectIssues(() => SandboxPolicy.workspaceWriteWithLimits(['/a'], 5 as never), ['resource_limits: must be an object']);
    expectIssues(() => SandboxPolicy.workspaceWriteWithLimits(['/a'], { max_pids: 3 } as never), ['resource_limits.max_pids: unknown key (use maxPids)']);
    const e = policyError(() =>
      SandboxPolicy.workspaceWriteFull(['rel'], [], null, ResourceLimits.default(), { ...SeccompProfile.strict(), blockedSyscalls: ['nope'] }),
    );
    expect(e.issues.map((i) => i.path)).toEqual(['writable_roots[0].root', 'seccomp_profile.blocked_syscalls[0]']);
    expect(e.message).toMatch(/seccomp_profile\.blocked_syscalls\[0\]: unknown syscall "nope"/);
    expectIssues(() => SandboxPolicy.workspaceWriteFull(['/a'], undefined as never, undefined, undefined as never, undefined as never), [
      'network_allowlist: required',
      'resource_limits: required',
      'seccomp_profile: required',
    ]);
  });

  it('externalSandbox', () => {
    expectIssues(() => SandboxPolicy.externalSandbox(undefined as never), ['description: required']);
    expectIssues(() => SandboxPolicy.externalSandbox(42 as never), ['description: must be a string']);
  });

  it('component builders', () => {
    expectIssues(() => NetworkAllowlistEntry.https(''), ['domain: must not be empty']);
    expectIssues(() => NetworkAllowlistEntry.https(undefined as never), ['domain: required']);
    expectIssues(() => NetworkAllowlistEntry.withPort('a.example', 70000), ['port: must be an integer from 0 to 65535']);
    expectIssues(() => NetworkAllowlistEntry.withPort('a.example', 53, 'icmp' as never), ['protocol: must be "tcp" or "udp"']);
    expectIssues(() => SensitivePath.blocked('rel'), ['path: must be an absolute path or start with ~/']);
    expectIssues(() => SensitivePath.of('/a', 'yes' as never, true), ['block_read: must be a boolean']);
  });

  it('parse options of the wrong type are ignored (strict stays on)', () => {
    expect(() => SandboxPolicy.parse({ type: 'read_only', x: 1 }, null as never)).toThrow(PolicyError);
  });
});

describe('hostile arguments', () => {
  it('revoked proxies give PolicyErrors (or false), never a TypeError', () => {
    const revoked = () => {
      const { proxy, revoke } = Proxy.revocable({}, {});
      revoke();
      return proxy;
    };
    expect(() => SandboxPolicy.parse(revoked())).toThrow(PolicyError);
    expect(() => SandboxPolicy.workspaceWrite(revoked() as never)).toThrow(PolicyError);
    expect(() => SandboxPolicy.workspaceWrite([revoked()] as never)).toThrow(PolicyError);
    expect(() => SandboxPolicy.readOnlyWithNetwork(revoked() as never)).toThrow(PolicyError);
    expect(() => SandboxPolicy.workspaceWriteWithLimits(['/a'], revoked() as never)).toThrow(PolicyError);
    expect(() => SandboxPolicy.workspaceWriteWithSensitivePaths(['/a'], revoked() as never)).toThrow(PolicyError);
    expect(() => SandboxPolicy.workspaceWriteFull(['/a'], revoked() as never, revoked() as never, revoked() as never, revoked() as never)).toThrow(PolicyError);
    expect(() => NetworkAllowlistEntry.https(revoked() as never)).toThrow(PolicyError);
    expect(() => SandboxPolicy.readOnly().canSet(revoked() as never)).toThrow(PolicyError);
    expect(SandboxPolicy.readOnly().equals(revoked() as never)).toBe(false);
  });
});
