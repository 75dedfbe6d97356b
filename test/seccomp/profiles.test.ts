// Decision tables for the compiled profiles, on x86_64 and aarch64, through the BPF interpreter.
// Expectations are written out here by hand (not derived from src/seccomp/rules.ts), so a change
// in the rule table shows up as a failing row.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { PolicyError } from '../../src/errors.js';
import { SeccompProfile as Presets } from '../../src/policy/index.js';
import { SYSCALL_TABLE, type SyscallArch } from '../../src/policy/syscall-table.js';
import {
  compileSeccomp,
  DEFAULT_BLOCKED_SYSCALLS,
  PERMISSIVE_BLOCKED_SYSCALLS,
  seccompProfileName,
  seccompRules,
  type CompiledSeccomp,
  type SeccompContext,
  type SeccompProfile,
} from '../../src/seccomp/index.js';
import { AUDIT_ARCH_ARM, AUDIT_ARCH_I386, SECCOMP_RET_ALLOW, X32_SYSCALL_BIT } from '../../src/seccomp/spec.js';
import { actionName, decode, run, type Insn } from './bpf-interpreter.js';
import { auditArch, referenceDecision } from './reference.js';

// The presets of src/policy; the written-out lists below double-check them.
const STRICT: SeccompProfile = Presets.strict();
const STRICT_NET: SeccompProfile = { ...STRICT, allowNetworkSockets: true };
const LOGGING: SeccompProfile = Presets.logging();
const PERMISSIVE: SeccompProfile = Presets.permissive();
const ARCHES: SyscallArch[] = ['x86_64', 'aarch64'];
const ctxNone = (arch: SyscallArch): SeccompContext => ({ arch, network: 'none', unixSockets: 'allow' });

/** Runs one syscall by name through a compiled program; returns the action's name. */
function decide(c: CompiledSeccomp, name: string | number, args: Array<bigint | number> = []): string {
  const nr = typeof name === 'number' ? name : SYSCALL_TABLE[c.arch][name];
  if (nr === undefined) throw new Error(`${name} is not a syscall on ${c.arch}`);
  return actionName(run(insnsOf(c), { nr, arch: auditArch(c.arch), args: args.map((a) => BigInt(a)) }).action);
}
const decoded = new WeakMap<Buffer, Insn[]>();
function insnsOf(c: CompiledSeccomp): Insn[] {
  let i = decoded.get(c.program);
  if (!i) decoded.set(c.program, (i = decode(c.program)));
  return i;
}
const has = (arch: SyscallArch, name: string): boolean => SYSCALL_TABLE[arch][name] !== undefined;

// ---------------------------------------------------------------------------------------------
// Written-out expectations.
const SEED_EPERM = DEFAULT_BLOCKED_SYSCALLS.filter((n) => n !== 'personality');
const HARDENING: Record<string, 'ERRNO(EPERM)' | 'ERRNO(ENOSYS)'> = {
  pivot_root: 'ERRNO(EPERM)', chroot: 'ERRNO(EPERM)',
  open_tree: 'ERRNO(ENOSYS)', move_mount: 'ERRNO(ENOSYS)', fsopen: 'ERRNO(ENOSYS)', fsconfig: 'ERRNO(ENOSYS)',
  fsmount: 'ERRNO(ENOSYS)', fspick: 'ERRNO(ENOSYS)', mount_setattr: 'ERRNO(ENOSYS)', open_tree_attr: 'ERRNO(ENOSYS)',
  syslog: 'ERRNO(EPERM)', uselib: 'ERRNO(EPERM)', modify_ldt: 'ERRNO(EPERM)',
  move_pages: 'ERRNO(EPERM)', migrate_pages: 'ERRNO(EPERM)', mbind: 'ERRNO(EPERM)', get_mempolicy: 'ERRNO(EPERM)', set_mempolicy: 'ERRNO(EPERM)',
  name_to_handle_at: 'ERRNO(EPERM)', open_by_handle_at: 'ERRNO(EPERM)', kcmp: 'ERRNO(EPERM)', pidfd_getfd: 'ERRNO(EPERM)',
  process_madvise: 'ERRNO(EPERM)', _sysctl: 'ERRNO(EPERM)', lookup_dcookie: 'ERRNO(EPERM)',
  openat2: 'ERRNO(ENOSYS)',
};
const SYSV = ['shmget', 'shmat', 'shmctl', 'msgget', 'msgsnd', 'msgrcv', 'msgctl', 'semget', 'semop', 'semtimedop', 'semctl',
  'mq_open', 'mq_unlink', 'mq_timedsend', 'mq_timedreceive', 'mq_notify', 'mq_getsetattr'];
/** Allowed on purpose in every profile (linux-sandboxing-brief.md §4.4), plus the everyday ones. */
const ALWAYS_ALLOWED = ['seccomp', 'landlock_create_ruleset', 'landlock_add_rule', 'landlock_restrict_self', 'setsid', 'setpgid',
  'memfd_create', 'execve', 'execveat', 'read', 'write', 'openat', 'close', 'mmap', 'mprotect', 'munmap', 'brk', 'futex',
  'rt_sigaction', 'rt_sigprocmask', 'exit_group', 'wait4', 'pipe2', 'dup3', 'getpid', 'fork', 'vfork', 'shmdt', 'prlimit64', 'getrandom'];

const CLONE_NEW = { NEWNS: 0x20000, NEWCGROUP: 0x02000000, NEWUTS: 0x04000000, NEWIPC: 0x08000000, NEWUSER: 0x10000000, NEWPID: 0x20000000, NEWNET: 0x40000000 };
const SIGCHLD = 17;
const THREAD_FLAGS = 0x3d0f00; // CLONE_VM|FS|FILES|SIGHAND|THREAD|SYSVSEM|SETTLS|PARENT_SETTID|CHILD_CLEARTID (glibc pthread_create)

test('the presets are the seed lists', () => {
  expect([...DEFAULT_BLOCKED_SYSCALLS].sort()).toEqual([
    'acct', 'add_key', 'adjtimex', 'bpf', 'clock_settime', 'delete_module', 'finit_module', 'init_module', 'ioperm', 'iopl',
    'kexec_file_load', 'kexec_load', 'keyctl', 'mount', 'perf_event_open', 'personality', 'process_vm_readv', 'process_vm_writev',
    'ptrace', 'quotactl', 'reboot', 'request_key', 'setns', 'settimeofday', 'swapoff', 'swapon', 'umount', 'umount2', 'unshare',
    'userfaultfd',
  ]);
  expect([...PERMISSIVE_BLOCKED_SYSCALLS].sort()).toEqual(['kexec_file_load', 'kexec_load', 'ptrace', 'reboot']);
  expect([STRICT.allowNamespaces, STRICT.allowNetworkSockets, STRICT.logOnly]).toEqual([false, false, false]);
  expect([LOGGING.allowNamespaces, LOGGING.allowNetworkSockets, LOGGING.logOnly]).toEqual([false, false, true]);
  expect(PERMISSIVE.allowNetworkSockets).toBe(true);
});

describe.each(ARCHES)('%s', (arch) => {
  const strict = compileSeccomp(STRICT, ctxNone(arch));
  const permissive = compileSeccomp(PERMISSIVE, { arch, network: 'full', unixSockets: 'allow' });
  const logging = compileSeccomp(LOGGING, ctxNone(arch));

  test('profile names', () => {
    expect([strict.profile, permissive.profile, logging.profile]).toEqual(['strict', 'permissive', 'logging']);
    expect(compileSeccomp(STRICT_NET, { arch, network: 'full', unixSockets: 'allow' }).profile).toBe('strict');
    expect(strict.arch).toBe(arch);
    expect(strict.flags).toBe(0);
    expect(strict.instructions).toBe(strict.program.length / 8);
  });

  test('foreign arch values are killed in every profile, whatever the syscall', () => {
    const foreign = [AUDIT_ARCH_I386, AUDIT_ARCH_ARM, auditArch(arch === 'x86_64' ? 'aarch64' : 'x86_64'), 0];
    for (const c of [strict, permissive, logging]) {
      for (const a of foreign) {
        // i386 getpid (20), socketcall (102), x86_64 getpid (39), socket (41/198)
        for (const nr of [20, 39, 41, 102, 172, 198]) {
          expect(actionName(run(insnsOf(c), { nr, arch: a }).action)).toBe('KILL_PROCESS');
        }
      }
    }
  });

  test('x32 numbers: killed on x86_64 in every profile; nothing special on aarch64', () => {
    for (const c of [strict, permissive, logging]) {
      for (const name of ['getpid', 'socket', 'ptrace', 'ioctl']) {
        const nr = (X32_SYSCALL_BIT | SYSCALL_TABLE.x86_64[name]!) >>> 0;
        expect(decide(c, nr)).toBe(arch === 'x86_64' ? 'KILL_PROCESS' : 'ALLOW');
      }
      // x32's own ioctl is 514 (x32 entries 512..547 are the compat variants)
      expect(decide(c, (X32_SYSCALL_BIT | 514) >>> 0)).toBe(arch === 'x86_64' ? 'KILL_PROCESS' : 'ALLOW');
      expect(decide(c, 0xffffffff)).toBe('ALLOW');
    }
  });

  test('every default-blocked syscall: EPERM (strict), LOG (logging), only the seed four in permissive', () => {
    for (const name of SEED_EPERM.filter((n) => has(arch, n))) {
      expect([name, decide(strict, name)]).toEqual([name, 'ERRNO(EPERM)']);
      expect([name, decide(logging, name)]).toEqual([name, 'LOG']);
      expect([name, decide(permissive, name)]).toEqual([name, PERMISSIVE_BLOCKED_SYSCALLS.includes(name) ? 'ERRNO(EPERM)' : 'ALLOW']);
    }
  });

  test('strict hardening set; permissive leaves it out; logging logs it', () => {
    for (const [name, want] of Object.entries(HARDENING).filter(([n]) => has(arch, n))) {
      expect([name, decide(strict, name)]).toEqual([name, want]);
      expect([name, decide(logging, name)]).toEqual([name, 'LOG']);
      expect([name, decide(permissive, name)]).toEqual([name, 'ALLOW']);
    }
  });

  test('bypass closers hold in permissive too: io_uring ENOSYS; clone3 ENOSYS while namespaces are refused', () => {
    for (const name of ['io_uring_setup', 'io_uring_enter', 'io_uring_register', 'clone3']) {
      expect([name, decide(strict, name)]).toEqual([name, 'ERRNO(ENOSYS)']);
      expect([name, decide(logging, name)]).toEqual([name, 'LOG']);
    }
    for (const name of ['io_uring_setup', 'io_uring_enter', 'io_uring_register']) {
      expect([name, decide(permissive, name)]).toEqual([name, 'ERRNO(ENOSYS)']);
    }
    // The permissive preset allows namespaces: no clone flag rule for clone3 to get around.
    expect(PERMISSIVE.allowNamespaces).toBe(true);
    expect(decide(permissive, 'clone3')).toBe('ALLOW');
    const permNoNs = compileSeccomp({ ...PERMISSIVE, allowNamespaces: false }, { arch, network: 'full', unixSockets: 'allow' });
    expect(permNoNs.profile).toBe('permissive');
    expect(decide(permNoNs, 'clone3')).toBe('ERRNO(ENOSYS)');
    expect(decide(permNoNs, 'clone', [CLONE_NEW.NEWUSER])).toBe('ERRNO(EPERM)');
  });

  test('deliberately allowed syscalls pass in every profile', () => {
    for (const c of [strict, permissive, logging]) {
      for (const name of ALWAYS_ALLOWED.filter((n) => has(arch, n))) expect([name, decide(c, name)]).toEqual([name, 'ALLOW']);
    }
  });

  test('clone: no CLONE_NEW* (low 32 bits, like the kernel); threads and fork pass; allowNamespaces lifts it', () => {
    const ns = compileSeccomp({ ...STRICT, allowNamespaces: true }, ctxNone(arch));
    expect(decide(strict, 'clone', [SIGCHLD])).toBe('ALLOW');
    expect(decide(strict, 'clone', [THREAD_FLAGS])).toBe('ALLOW');
    expect(decide(strict, 'clone', [0x4111])).toBe('ALLOW'); // CLONE_VM|CLONE_VFORK|SIGCHLD (posix_spawn)
    for (const [flag, bit] of Object.entries(CLONE_NEW)) {
      for (const flags of [bit, bit | SIGCHLD, BigInt(bit) | (1n << 32n), BigInt(bit) | 0xffffffff00000000n]) {
        expect([flag, decide(strict, 'clone', [flags])]).toEqual([flag, 'ERRNO(EPERM)']);
        expect([flag, decide(permissive, 'clone', [flags])]).toEqual([flag, 'ALLOW']);
        expect([flag, decide(logging, 'clone', [flags])]).toEqual([flag, 'LOG']);
        expect([flag, decide(ns, 'clone', [flags])]).toEqual([flag, 'ALLOW']);
      }
    }
    // Upper bits alone are dropped by the kernel (lower_32_bits): no namespace, no refusal.
    expect(decide(strict, 'clone', [(1n << 40n) | BigInt(SIGCHLD)])).toBe('ALLOW');
    expect(decide(ns, 'clone3')).toBe('ALLOW');
    expect(ns.profile).toBe('strict');
  });

  test('ioctl: TIOCSTI and TIOCLINUX refused on the low 32 bits in every profile', () => {
    for (const c of [strict, permissive]) {
      for (const cmd of [0x5412n, 0x541cn, 0x5412n | (1n << 32n), 0x541cn | 0xdead00000000n]) {
        expect(decide(c, 'ioctl', [0, cmd])).toBe('ERRNO(EPERM)');
      }
      for (const cmd of [0x5413 /* TIOCGWINSZ */, 0x541b /* FIONREAD */, 0x5401 /* TCGETS */, 0x5411, 0x5414, 0x541d]) {
        expect(decide(c, 'ioctl', [1, cmd])).toBe('ALLOW');
      }
    }
    expect(decide(logging, 'ioctl', [0, 0x5412])).toBe('LOG');
  });

  test('personality: queries and plain PER_LINUX pass; READ_IMPLIES_EXEC and friends refused', () => {
    const allowed = [0xffffffff, 0, 8 /* PER_LINUX32 */, 1n << 32n /* truncated to PER_LINUX by the kernel */];
    const refused = [0x0400000 /* READ_IMPLIES_EXEC */, 0x0040000 /* ADDR_NO_RANDOMIZE */, 0x0400008, 0x0200000 /* MMAP_PAGE_ZERO */,
      0x0010000 /* ADDR_LIMIT_32BIT */, 0x0008000 /* ADDR_LIMIT_3GB? */, 0x0005 /* PER_SVR4 ... */, 0xfffffffe];
    for (const p of allowed) expect([p, decide(strict, 'personality', [p])]).toEqual([p, 'ALLOW']);
    for (const p of refused) {
      expect([p, decide(strict, 'personality', [p])]).toEqual([p, 'ERRNO(EPERM)']);
      expect([p, decide(logging, 'personality', [p])]).toEqual([p, 'LOG']);
      expect([p, decide(permissive, 'personality', [p])]).toEqual([p, 'ALLOW']);
    }
  });

  test('prctl: usable, except PR_SET_MM and PR_SET_MEMORY_MERGE (strict)', () => {
    for (const op of [15 /* PR_SET_NAME */, 16, 1 /* PR_SET_PDEATHSIG */, 38 /* PR_SET_NO_NEW_PRIVS */, 22 /* PR_SET_SECCOMP */,
      4 /* PR_SET_DUMPABLE */, 36 /* PR_SET_CHILD_SUBREAPER */, 0x59616d61 /* PR_SET_PTRACER */]) {
      expect([op, decide(strict, 'prctl', [op])]).toEqual([op, 'ALLOW']);
    }
    for (const op of [35, 67, (1n << 32n) | 35n]) {
      expect(decide(strict, 'prctl', [op])).toBe('ERRNO(EPERM)');
      expect(decide(permissive, 'prctl', [op])).toBe('ALLOW');
    }
  });

  test('chmod family: S_ISUID / S_ISGID refused (strict), plain modes pass', () => {
    const rows: Array<[string, number]> = [['chmod', 1], ['fchmod', 1], ['fchmodat', 2], ['fchmodat2', 2]];
    expect(has('aarch64', 'chmod')).toBe(false);
    for (const [name, arg] of rows.filter(([n]) => has(arch, n))) {
      const args = (mode: number | bigint): Array<number | bigint> => { const a: Array<number | bigint> = [3, 0, 0]; a[arg] = mode; return a; };
      for (const mode of [0o4755, 0o2755, 0o6755, 0o4000, 0o2000, (1n << 32n) | 0o4755n]) {
        expect([name, mode, decide(strict, name, args(mode))]).toEqual([name, mode, 'ERRNO(EPERM)']);
        expect([name, mode, decide(permissive, name, args(mode))]).toEqual([name, mode, 'ALLOW']);
      }
      for (const mode of [0o755, 0o644, 0o1777, 0o777, 0]) {
        expect([name, mode, decide(strict, name, args(mode))]).toEqual([name, mode, 'ALLOW']);
      }
    }
  });

  test('creating a file with S_ISUID / S_ISGID: open/openat (O_CREAT, O_TMPFILE), creat, mknod/mknodat refused (strict)', () => {
    const O_CREAT = 0o100;
    const O_TMPFILE_BIT = 0o20000000;
    const O_WRONLY_TRUNC = 0o1 | 0o1000;
    const AT_FDCWD = -100;
    const S_IFREG = 0o100000;
    const S_IFIFO = 0o10000;
    expect([has('aarch64', 'open'), has('aarch64', 'creat'), has('aarch64', 'mknod')]).toEqual([false, false, false]);
    // [name, args for a given flags word and mode] — null flags: the call always creates
    const rows: Array<[string, (flags: number | bigint, mode: number | bigint) => Array<number | bigint>, boolean]> = [
      ['open', (f, m) => [0, f, m], true],
      ['openat', (f, m) => [AT_FDCWD, 0, f, m], true],
      ['creat', (_f, m) => [0, m], false],
      ['mknod', (_f, m) => [0, m, 0], false],
      ['mknodat', (_f, m) => [AT_FDCWD, 0, m, 0], false],
    ];
    const setid = [0o4755, 0o2755, 0o6755, 0o4000, 0o2000, S_IFREG | 0o4755, S_IFIFO | 0o2644, (1n << 32n) | 0o4755n];
    const plain = [0o755, 0o644, 0o1777, 0o777, 0, S_IFREG | 0o755, (1n << 32n) | 0o644n];
    for (const [name, args, hasFlags] of rows.filter(([n]) => has(arch, n))) {
      const creating = hasFlags ? [O_CREAT, O_CREAT | O_WRONLY_TRUNC, O_TMPFILE_BIT | 0o2, (1n << 32n) | BigInt(O_CREAT)] : [0];
      for (const flags of creating) {
        for (const mode of setid) {
          expect([name, flags, mode, decide(strict, name, args(flags, mode))]).toEqual([name, flags, mode, 'ERRNO(EPERM)']);
          expect([name, flags, mode, decide(logging, name, args(flags, mode))]).toEqual([name, flags, mode, 'LOG']);
          expect([name, flags, mode, decide(permissive, name, args(flags, mode))]).toEqual([name, flags, mode, 'ALLOW']);
        }
        for (const mode of plain) expect([name, flags, mode, decide(strict, name, args(flags, mode))]).toEqual([name, flags, mode, 'ALLOW']);
      }
      if (hasFlags) {
        // Without O_CREAT/O_TMPFILE the kernel ignores the mode argument: whatever it holds passes.
        for (const flags of [0, O_WRONLY_TRUNC, (1n << 32n) | 0o1n]) {
          expect([name, flags, decide(strict, name, args(flags, 0o6755))]).toEqual([name, flags, 'ALLOW']);
        }
      }
    }
  });

  test('SysV IPC and POSIX mqueues: EPERM only with refuseSysvIpc', () => {
    const refusing = compileSeccomp(STRICT, { ...ctxNone(arch), refuseSysvIpc: true });
    const perm = compileSeccomp(PERMISSIVE, { arch, network: 'full', unixSockets: 'allow', refuseSysvIpc: true });
    for (const name of SYSV.filter((n) => has(arch, n))) {
      expect([name, decide(refusing, name)]).toEqual([name, 'ERRNO(EPERM)']);
      expect([name, decide(perm, name)]).toEqual([name, 'ERRNO(EPERM)']);
      expect([name, decide(strict, name)]).toEqual([name, 'ALLOW']);
    }
    expect(decide(refusing, 'shmdt')).toBe('ALLOW');
  });
});

// ---------------------------------------------------------------------------------------------
// Sockets: one row per (family, type, protocol), one column per (profile, context).
const AF = { UNIX: 1, INET: 2, INET6: 10, NETLINK: 16, PACKET: 17, KEY: 15, RDS: 21, CAN: 29, TIPC: 30, BLUETOOTH: 31, ALG: 38, VSOCK: 40, XDP: 44 };
const ST = { STREAM: 1, DGRAM: 2, RAW: 3, SEQPACKET: 5 };
const NONBLOCK_CLOEXEC = 0o4000 | 0o2000000;
type Column = 'none' | 'full' | 'allowlist' | 'allowlistNetns' | 'pairOnly' | 'permFull' | 'permNone' | 'netProfileNoneCtx';
const COLUMNS: Record<Column, [SeccompProfile, Omit<SeccompContext, 'arch'>]> = {
  none: [STRICT, { network: 'none', unixSockets: 'allow' }],
  full: [STRICT_NET, { network: 'full', unixSockets: 'allow' }],
  allowlist: [STRICT_NET, { network: 'allowlist', unixSockets: 'allow' }],
  allowlistNetns: [STRICT_NET, { network: 'allowlist', unixSockets: 'allow', netns: true }],
  pairOnly: [STRICT, { network: 'none', unixSockets: 'socketpair-only' }],
  permFull: [PERMISSIVE, { network: 'full', unixSockets: 'allow' }],
  permNone: [PERMISSIVE, { network: 'none', unixSockets: 'allow' }],
  netProfileNoneCtx: [STRICT_NET, { network: 'none', unixSockets: 'allow' }],
};
const A = 'ALLOW';
const EACCES = 'ERRNO(EACCES)';
const EPROTO = 'ERRNO(EPROTONOSUPPORT)';
const EAF = 'ERRNO(EAFNOSUPPORT)';
//                 family, type, proto        none    full    allowlist allowlistNetns pairOnly permFull permNone netProfileNoneCtx
const SOCKET_ROWS: Array<[string, number | bigint, number, number, string[]]> = [
  ['unix stream', AF.UNIX, ST.STREAM, 0, [A, A, A, A, EACCES, A, A, A]],
  ['unix dgram nb|cloexec', AF.UNIX, ST.DGRAM | NONBLOCK_CLOEXEC, 0, [A, A, A, A, EACCES, A, A, A]],
  ['unix seqpacket', AF.UNIX, ST.SEQPACKET, 0, [A, A, A, A, EACCES, A, A, A]],
  ['inet tcp (0)', AF.INET, ST.STREAM, 0, [EACCES, A, A, A, EACCES, A, EACCES, EACCES]],
  ['inet tcp (6)', AF.INET, ST.STREAM, 6, [EACCES, A, A, A, EACCES, A, EACCES, EACCES]],
  ['inet tcp nb|cloexec', AF.INET, ST.STREAM | NONBLOCK_CLOEXEC, 6, [EACCES, A, A, A, EACCES, A, EACCES, EACCES]],
  ['inet mptcp', AF.INET, ST.STREAM, 262, [EACCES, EPROTO, EPROTO, EPROTO, EACCES, A, EACCES, EACCES]],
  ['inet stream sctp', AF.INET, ST.STREAM, 132, [EACCES, EPROTO, EPROTO, EPROTO, EACCES, A, EACCES, EACCES]],
  ['inet seqpacket sctp', AF.INET, ST.SEQPACKET, 132, [EACCES, EPROTO, EPROTO, EPROTO, EACCES, A, EACCES, EACCES]],
  ['inet stream udp', AF.INET, ST.STREAM, 17, [EACCES, EPROTO, EPROTO, EPROTO, EACCES, A, EACCES, EACCES]],
  ['inet udp (0)', AF.INET, ST.DGRAM, 0, [EACCES, A, EACCES, A, EACCES, A, EACCES, EACCES]],
  ['inet udp (17)', AF.INET, ST.DGRAM, 17, [EACCES, A, EACCES, A, EACCES, A, EACCES, EACCES]],
  ['inet dgram tcp', AF.INET, ST.DGRAM, 6, [EACCES, EPROTO, EACCES, EPROTO, EACCES, A, EACCES, EACCES]],
  ['inet udplite', AF.INET, ST.DGRAM, 136, [EACCES, EPROTO, EACCES, EPROTO, EACCES, A, EACCES, EACCES]],
  ['inet icmp ping', AF.INET, ST.DGRAM, 1, [EACCES, EPROTO, EACCES, EPROTO, EACCES, A, EACCES, EACCES]],
  ['inet raw icmp', AF.INET, ST.RAW, 1, [EACCES, EPROTO, EPROTO, EPROTO, EACCES, A, EACCES, EACCES]],
  ['inet raw 0', AF.INET, ST.RAW, 0, [EACCES, EPROTO, EPROTO, EPROTO, EACCES, A, EACCES, EACCES]],
  ['inet6 tcp', AF.INET6, ST.STREAM, 6, [EACCES, A, A, A, EACCES, A, EACCES, EACCES]],
  ['inet6 udp', AF.INET6, ST.DGRAM, 0, [EACCES, A, EACCES, A, EACCES, A, EACCES, EACCES]],
  ['inet6 mptcp', AF.INET6, ST.STREAM, 262, [EACCES, EPROTO, EPROTO, EPROTO, EACCES, A, EACCES, EACCES]],
  ['inet6 raw', AF.INET6, ST.RAW, 58, [EACCES, EPROTO, EPROTO, EPROTO, EACCES, A, EACCES, EACCES]],
  ['inet, upper bits set (kernel: int)', (1n << 32n) | BigInt(AF.INET), ST.STREAM, 0, [EACCES, A, A, A, EACCES, A, EACCES, EACCES]],
  ['packet, upper bits set', (1n << 32n) | BigInt(AF.PACKET), ST.RAW, 0, [EAF, EAF, EAF, EAF, EAF, A, EAF, EAF]],
  ['netlink route raw', AF.NETLINK, ST.RAW, 0, [A, A, A, A, A, A, A, A]],
  ['netlink route dgram cloexec', AF.NETLINK, ST.DGRAM | NONBLOCK_CLOEXEC, 0, [A, A, A, A, A, A, A, A]],
  ['netlink sock_diag', AF.NETLINK, ST.RAW, 4, [EPROTO, EPROTO, EPROTO, EPROTO, EPROTO, A, EPROTO, EPROTO]],
  ['netlink audit', AF.NETLINK, ST.RAW, 9, [EPROTO, EPROTO, EPROTO, EPROTO, EPROTO, A, EPROTO, EPROTO]],
  ['netlink uevent', AF.NETLINK, ST.DGRAM, 15, [EPROTO, EPROTO, EPROTO, EPROTO, EPROTO, A, EPROTO, EPROTO]],
  ['netlink route stream', AF.NETLINK, ST.STREAM, 0, [EPROTO, EPROTO, EPROTO, EPROTO, EPROTO, A, EPROTO, EPROTO]],
  ['packet raw', AF.PACKET, ST.RAW, 0x0300, [EAF, EAF, EAF, EAF, EAF, A, EAF, EAF]],
  ['packet dgram', AF.PACKET, ST.DGRAM, 0, [EAF, EAF, EAF, EAF, EAF, A, EAF, EAF]],
  ...(['KEY', 'RDS', 'CAN', 'TIPC', 'BLUETOOTH', 'ALG', 'VSOCK', 'XDP'] as const).map(
    (f): [string, number, number, number, string[]] => [f.toLowerCase(), AF[f], ST.SEQPACKET, 0, [EAF, EAF, EAF, EAF, EAF, A, EAF, EAF]],
  ),
];

describe.each(ARCHES)('%s sockets', (arch) => {
  const compiled = Object.fromEntries(
    Object.entries(COLUMNS).map(([col, [profile, ctx]]) => [col, compileSeccomp(profile, { arch, ...ctx })]),
  ) as Record<Column, CompiledSeccomp>;
  const cols = Object.keys(COLUMNS) as Column[];

  test.each(SOCKET_ROWS)('socket: %s', (_name, family, type, proto, want) => {
    const got = cols.map((col) => decide(compiled[col], 'socket', [family, type, proto]));
    expect(Object.fromEntries(cols.map((c, i) => [c, got[i]]))).toEqual(Object.fromEntries(cols.map((c, i) => [c, want[i]])));
  });

  test('socketpair: AF_UNIX only, except permissive with the network on', () => {
    for (const col of cols) {
      expect([col, decide(compiled[col], 'socketpair', [AF.UNIX, ST.STREAM, 0])]).toEqual([col, A]);
      expect([col, decide(compiled[col], 'socketpair', [AF.UNIX, ST.DGRAM | NONBLOCK_CLOEXEC, 0])]).toEqual([col, A]);
      for (const f of [AF.INET, AF.INET6, AF.NETLINK, AF.PACKET, AF.VSOCK]) {
        expect([col, f, decide(compiled[col], 'socketpair', [f, ST.STREAM, 0])]).toEqual([col, f, col === 'permFull' ? A : EAF]);
      }
    }
  });

  test('logging: socket refusals become LOG', () => {
    const c = compileSeccomp(LOGGING, { arch, network: 'none', unixSockets: 'socketpair-only' });
    expect(decide(c, 'socket', [AF.INET, ST.STREAM, 0])).toBe('LOG');
    expect(decide(c, 'socket', [AF.PACKET, ST.RAW, 0])).toBe('LOG');
    expect(decide(c, 'socket', [AF.UNIX, ST.STREAM, 0])).toBe('LOG');
    expect(decide(c, 'socket', [AF.NETLINK, ST.RAW, 0])).toBe('ALLOW');
  });
});

// ---------------------------------------------------------------------------------------------
describe('custom profiles', () => {
  test.each(ARCHES)('%s: the list decides names, hardening stays (fail-closed)', (arch) => {
    const custom: SeccompProfile = {
      blockedSyscalls: [...DEFAULT_BLOCKED_SYSCALLS.filter((n) => n !== 'ptrace' && n !== 'personality'), 'chown', 'fchownat', 'clone3', 'not_a_syscall'],
      allowNamespaces: true,
      allowNetworkSockets: true,
      logOnly: false,
    };
    const c = compileSeccomp(custom, { arch, network: 'full', unixSockets: 'allow' });
    expect(c.profile).toBe('custom');
    expect(decide(c, 'ptrace')).toBe('ALLOW');
    expect(decide(c, 'personality', [0x0400000])).toBe('ALLOW');
    if (has(arch, 'chown')) expect(decide(c, 'chown')).toBe('ERRNO(EPERM)');
    expect(decide(c, 'fchownat')).toBe('ERRNO(EPERM)');
    expect(decide(c, 'chroot')).toBe('ERRNO(EPERM)');
    expect(decide(c, 'fsopen')).toBe('ERRNO(ENOSYS)');
    expect(decide(c, 'unshare')).toBe('ERRNO(EPERM)');
    // allowNamespaces lifts the clone rule, but the list still names clone3: its deliberate errno.
    expect(decide(c, 'clone', [CLONE_NEW.NEWUSER])).toBe('ALLOW');
    expect(decide(c, 'clone3')).toBe('ERRNO(ENOSYS)');
    expect(decide(c, 'socket', [AF.INET, ST.STREAM, 262])).toBe(EPROTO);
  });

  test('a blocklist name replaces the argument rule for that syscall', () => {
    const c = compileSeccomp({ ...STRICT, blockedSyscalls: [...DEFAULT_BLOCKED_SYSCALLS, 'ioctl'] }, ctxNone('x86_64'));
    expect(decide(c, 'ioctl', [0, 0x5413])).toBe('ERRNO(EPERM)');
  });

  test('blocking a syscall the child needs after install is a PolicyError', () => {
    for (const name of ['execve', 'exit_group', 'write', 'rt_sigprocmask', 'exit']) {
      expect(() => compileSeccomp({ ...STRICT, blockedSyscalls: [name] }, ctxNone('x86_64'))).toThrow(PolicyError);
    }
    expect(() => compileSeccomp({ ...STRICT, blockedSyscalls: ['execve'] }, ctxNone('aarch64'))).toThrow(/"execve" cannot be blocked/);
  });

  test('profile name detection', () => {
    expect(seccompProfileName({ ...STRICT, blockedSyscalls: [...DEFAULT_BLOCKED_SYSCALLS].reverse() })).toBe('strict');
    expect(seccompProfileName({ ...PERMISSIVE, allowNetworkSockets: false })).toBe('permissive');
    expect(seccompProfileName({ ...PERMISSIVE, logOnly: true })).toBe('custom');
    expect(seccompProfileName({ ...STRICT, blockedSyscalls: DEFAULT_BLOCKED_SYSCALLS.slice(1) })).toBe('custom');
    expect(seccompProfileName({ ...STRICT, blockedSyscalls: [] })).toBe('custom');
  });
});

describe('compiled output', () => {
  test('cached per (profile, context)', () => {
    const a = compileSeccomp(STRICT, ctxNone('x86_64'));
    expect(compileSeccomp({ ...STRICT, blockedSyscalls: [...STRICT.blockedSyscalls] }, ctxNone('x86_64'))).toBe(a);
    expect(compileSeccomp(STRICT, { ...ctxNone('x86_64'), refuseSysvIpc: true })).not.toBe(a);
    expect(compileSeccomp(STRICT, ctxNone('aarch64'))).not.toBe(a);
    expect(compileSeccomp(STRICT_NET, ctxNone('x86_64'))).not.toBe(a);
  });

  test.each(ARCHES)('%s: sizes and path lengths stay small', (arch) => {
    const rows: string[] = [];
    for (const [name, p, ctx] of [
      ['strict/none', STRICT, ctxNone(arch)],
      ['strict/full', STRICT_NET, { arch, network: 'full', unixSockets: 'allow' }],
      ['strict/none+sysv', STRICT, { ...ctxNone(arch), refuseSysvIpc: true }],
      ['permissive/full', PERMISSIVE, { arch, network: 'full', unixSockets: 'allow' }],
      ['logging/none', LOGGING, ctxNone(arch)],
    ] as Array<[string, SeccompProfile, SeccompContext]>) {
      const c = compileSeccomp(p, ctx);
      const insns = insnsOf(c);
      let max = 0;
      for (let nr = 0; nr < 600; nr++) max = Math.max(max, run(insns, { nr, arch: auditArch(arch) }).steps);
      rows.push(`${name}: ${c.instructions} instructions, ${c.rules} rules, longest path with zero args ${max}`);
      expect(c.instructions).toBeLessThan(400);
      // Tree depth ~log2(2 * rules), no trampolines in real profiles.
      expect(insns.some((i) => i.code === 0x05)).toBe(false);
      expect(max).toBeLessThanOrEqual(40);
    }
    console.log(`${arch}\n  ${rows.join('\n  ')}`);
  });

  test('property: every preset program agrees with the reference meaning of its rules', () => {
    const contexts: Array<[SeccompProfile, Omit<SeccompContext, 'arch'>]> = Object.values(COLUMNS).concat([
      [LOGGING, { network: 'none', unixSockets: 'allow', refuseSysvIpc: true }],
      [{ ...STRICT, allowNamespaces: true }, { network: 'full', unixSockets: 'socketpair-only' }],
    ]);
    const interesting = [0n, 1n, 2n, 6n, 8n, 10n, 16n, 17n, 0x5412n, 0x541cn, 0o4755n, 0x10000000n, 0xffffffffn, 35n, 67n, 262n];
    const arg = fc.oneof(fc.constantFrom(...interesting), fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      fc.tuple(fc.constantFrom(...interesting), fc.bigInt({ min: 1n, max: 0xffffffffn })).map(([v, hi]) => v | (hi << 32n)));
    fc.assert(
      fc.property(
        fc.constantFrom(...ARCHES), fc.nat(contexts.length - 1), fc.integer({ min: 0, max: 470 }), fc.array(arg, { minLength: 6, maxLength: 6 }),
        (arch, ci, nr, args) => {
          const [profile, ctx] = contexts[ci]!;
          const c = compileSeccomp(profile, { arch, ...ctx });
          const spec = { arch, rules: seccompRules(profile, { arch, ...ctx }), defaultAction: SECCOMP_RET_ALLOW };
          const data = { nr, arch: auditArch(arch), args };
          expect(actionName(run(insnsOf(c), data).action)).toBe(actionName(referenceDecision(spec, data)));
        },
      ),
      { numRuns: 3000 },
    );
  });

  test('no rule ever answers ERRNO(0) (an error path that would read as success)', () => {
    for (const arch of ARCHES) {
      for (const [profile, ctx] of Object.values(COLUMNS)) {
        for (const r of seccompRules(profile, { arch, ...ctx })) {
          for (const a of [r.action, ...r.clauses.map((c) => c.action)]) expect(a).not.toBe(0x00050000);
        }
      }
    }
  });
});
