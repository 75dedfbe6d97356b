import { describe, expect, it } from 'vitest';
import {
  DEFAULT_BLOCKED_SYSCALLS,
  DEFAULT_SENSITIVE_PATHS,
  NetworkAllowlistEntry,
  PERMISSIVE_BLOCKED_SYSCALLS,
  ResourceLimits,
  SeccompProfile,
  SensitivePath,
  hasSyscall,
  runningSyscallArch,
  syscallNameProblem,
} from '../../src/policy/index.js';

describe('ResourceLimits presets', () => {
  it.each([
    ['default', ResourceLimits.default(), [0, 0, 0, 0, 300]],
    ['unlimited', ResourceLimits.unlimited(), [0, 0, 0, 0, 0]],
    ['conservative', ResourceLimits.conservative(), [512, 64, 1024, 60, 120]],
    ['moderate', ResourceLimits.moderate(), [2048, 256, 4096, 300, 600]],
    ['generous', ResourceLimits.generous(), [8192, 1024, 16384, 0, 3600]],
  ])('%s', (_name, limits, [maxMemoryMb, maxPids, maxDiskMb, cpuTimeSecs, timeoutSecs]) => {
    expect(limits).toEqual({ maxMemoryMb, maxPids, maxDiskMb, cpuTimeSecs, timeoutSecs });
    expect(Object.isFrozen(limits)).toBe(true);
  });

  it('returns fresh objects', () => {
    expect(ResourceLimits.conservative()).not.toBe(ResourceLimits.conservative());
  });
});

describe('SeccompProfile presets', () => {
  it('default blocklist is the seed list (30 names, personality included)', () => {
    expect(DEFAULT_BLOCKED_SYSCALLS).toHaveLength(30);
    expect(DEFAULT_BLOCKED_SYSCALLS).toEqual([
      'ptrace', 'mount', 'umount', 'umount2', 'init_module', 'finit_module', 'delete_module',
      'kexec_load', 'kexec_file_load', 'bpf', 'perf_event_open', 'userfaultfd', 'process_vm_readv',
      'process_vm_writev', 'reboot', 'swapon', 'swapoff', 'settimeofday', 'clock_settime', 'adjtimex',
      'add_key', 'request_key', 'keyctl', 'ioperm', 'iopl', 'acct', 'quotactl', 'unshare', 'setns',
      'personality',
    ]);
    expect(Object.isFrozen(DEFAULT_BLOCKED_SYSCALLS)).toBe(true);
  });

  it('strict', () => {
    expect(SeccompProfile.strict()).toEqual({ blockedSyscalls: DEFAULT_BLOCKED_SYSCALLS, allowNamespaces: false, allowNetworkSockets: false, logOnly: false });
    expect(SeccompProfile.default()).toEqual(SeccompProfile.strict());
  });

  it('permissive', () => {
    expect(SeccompProfile.permissive()).toEqual({
      blockedSyscalls: ['ptrace', 'kexec_load', 'kexec_file_load', 'reboot'],
      allowNamespaces: true,
      allowNetworkSockets: true,
      logOnly: false,
    });
    expect(PERMISSIVE_BLOCKED_SYSCALLS).toEqual(['ptrace', 'kexec_load', 'kexec_file_load', 'reboot']);
  });

  it('logging', () => {
    expect(SeccompProfile.logging()).toEqual({ blockedSyscalls: DEFAULT_BLOCKED_SYSCALLS, allowNamespaces: false, allowNetworkSockets: false, logOnly: true });
  });

  it('profiles are frozen, lists included', () => {
    const p = SeccompProfile.strict();
    expect(Object.isFrozen(p)).toBe(true);
    expect(Object.isFrozen(p.blockedSyscalls)).toBe(true);
    expect(p.blockedSyscalls).not.toBe(DEFAULT_BLOCKED_SYSCALLS);
  });
});

describe('DEFAULT_SENSITIVE_PATHS', () => {
  it('holds the 17 paths, read and write blocked', () => {
    expect(DEFAULT_SENSITIVE_PATHS.map((p) => p.path)).toEqual([
      '~/.ssh', '~/.aws', '~/.config/gcloud', '~/.azure', '~/.kube', '~/.docker', '~/.npmrc',
      '~/.pypirc', '~/.config/gh', '~/.secrets', '~/.gnupg', '~/.config/op', '~/.vault-token',
      '~/.terraform.d/credentials.tfrc.json', '~/.cargo/credentials.toml', '~/.git-credentials',
      '~/.netrc',
    ]);
    for (const p of DEFAULT_SENSITIVE_PATHS) expect(p).toMatchObject({ blockRead: true, blockWrite: true });
    expect(Object.isFrozen(DEFAULT_SENSITIVE_PATHS)).toBe(true);
    expect(Object.isFrozen(DEFAULT_SENSITIVE_PATHS[0])).toBe(true);
  });
});

describe('component builders', () => {
  it('NetworkAllowlistEntry.https / withPort', () => {
    expect(NetworkAllowlistEntry.https('example.com')).toEqual({ domain: 'example.com', port: 443, protocol: 'tcp' });
    expect(NetworkAllowlistEntry.withPort('*.example.com', 8080)).toEqual({ domain: '*.example.com', port: 8080, protocol: 'tcp' });
    expect(NetworkAllowlistEntry.withPort('1.1.1.1', 53, 'udp')).toEqual({ domain: '1.1.1.1', port: 53, protocol: 'udp' });
    expect(Object.isFrozen(NetworkAllowlistEntry.https('a.b'))).toBe(true);
  });

  it('SensitivePath builders and helpers', () => {
    expect(SensitivePath.blocked('~/.x')).toEqual({ path: '~/.x', blockRead: true, blockWrite: true });
    expect(SensitivePath.writeProtected('/etc')).toEqual({ path: '/etc', blockRead: false, blockWrite: true });
    expect(SensitivePath.of('/a', true, false)).toEqual({ path: '/a', blockRead: true, blockWrite: false });
    expect(SensitivePath.absolutePath({ path: '/a/./b/../c/', blockRead: true, blockWrite: true })).toBe('/a/c');
    expect(SensitivePath.covers(SensitivePath.blocked('/a/b'), '/a/b/c')).toBe(true);
    expect(SensitivePath.covers(SensitivePath.blocked('/a/b'), '/a/bc')).toBe(false);
    expect(SensitivePath.covers(SensitivePath.blocked('/a/b'), 'c', '/a/b')).toBe(true);
  });
});

describe('syscall tables', () => {
  it('maps the running arch', () => {
    const expected = process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : undefined;
    expect(runningSyscallArch()).toBe(expected);
  });

  it('hasSyscall per arch', () => {
    expect(hasSyscall('openat', 'x86_64')).toBe(true);
    expect(hasSyscall('openat', 'aarch64')).toBe(true);
    expect(hasSyscall('open', 'x86_64')).toBe(true);
    expect(hasSyscall('open', 'aarch64')).toBe(false);
    expect(hasSyscall('iopl', 'aarch64')).toBe(false);
    expect(hasSyscall('constructor', 'x86_64')).toBe(false);
    expect(hasSyscall('__proto__')).toBe(false);
  });

  it('accepts every default-list name on every arch (umount, ioperm, iopl are legacy/x86 names)', () => {
    for (const name of DEFAULT_BLOCKED_SYSCALLS) expect(syscallNameProblem(name)).toBeUndefined();
    expect(hasSyscall('umount', 'x86_64')).toBe(false);
    expect(hasSyscall('umount', 'aarch64')).toBe(false);
  });
});
