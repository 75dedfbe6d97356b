// Runs test/helpers/syscall-probe outside any sandbox, and says what each op should give here
// without one (the control for every seccomp denial): per root / non-root and the host's
// sysctls, so the expectation is exact rather than "works or not".
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { buildHelper } from '../helpers/build-helpers.js';

export const isRoot = process.getuid?.() === 0;

/** "OK", an errno name, or "SIG<name>" when the probe died by a signal. */
export function probeOutcome(stdout: string, signal: string | null): string {
  return signal ?? (stdout.trim() || '<no output>');
}

export function runProbeUnsandboxed(op: string, ...args: string[]): string {
  const r = spawnSync(buildHelper('syscall-probe'), [op, ...args], { encoding: 'utf8', timeout: 20_000 });
  if (r.error) throw r.error;
  return probeOutcome(r.stdout, r.signal);
}

function sysctl(path: string): number | undefined {
  try {
    return Number(readFileSync(`/proc/sys/${path}`, 'utf8').trim());
  } catch {
    return undefined;
  }
}

/** What each op gives on this host without a sandbox (null: depends on modules, see note). */
export function unsandboxedExpectation(): Record<string, string | readonly string[]> {
  const yama = sysctl('kernel/yama/ptrace_scope') ?? 0;
  const bpfDisabled = sysctl('kernel/unprivileged_bpf_disabled') ?? 0;
  const paranoid = sysctl('kernel/perf_event_paranoid') ?? 2;
  const legacyTiocsti = sysctl('dev/tty/legacy_tiocsti') ?? 1;
  const ioUringDisabled = sysctl('kernel/io_uring_disabled') ?? 0;
  const mptcp = sysctl('net/mptcp/enabled') ?? 0;
  const userns = (sysctl('user/max_user_namespaces') ?? 1) > 0;
  return {
    'ptrace-attach-parent': isRoot || yama === 0 ? 'OK' : 'EPERM',
    'mount-tmpfs': isRoot ? 'OK' : 'EPERM',
    'unshare-user': userns ? 'OK' : 'ENOSPC',
    'clone-newuser': userns ? 'OK' : 'ENOSPC',
    'clone3-newuser': userns ? 'OK' : 'ENOSPC',
    fork: 'OK',
    bpf: isRoot || bpfDisabled === 0 ? 'OK' : 'EPERM',
    // Debian's perf_event_paranoid 3 refuses unprivileged users altogether.
    'perf-event-open': isRoot || paranoid <= 2 ? 'OK' : 'EACCES',
    keyctl: 'OK',
    userfaultfd: 'OK', // UFFD_USER_MODE_ONLY (5.11+) works without privilege
    // drivers/tty/tty_io.c tiocsti(): legacy_tiocsti=0 → EIO; not our controlling tty → EPERM.
    tiocsti: isRoot ? 'OK' : legacyTiocsti === 0 ? 'EIO' : 'EPERM',
    // cmd is unsigned int in the kernel: the high bit is dropped, same result as plain TIOCSTI.
    'tiocsti-high': isRoot ? 'OK' : legacyTiocsti === 0 ? 'EIO' : 'EPERM',
    'socket-inet': 'OK',
    'socket-inet6': 'OK',
    'socket-udp': 'OK',
    'socket-unix': 'OK',
    'socket-netlink-route': 'OK',
    'socketpair-unix': 'OK',
    'socket-mptcp': mptcp === 1 ? 'OK' : ['ENOPROTOOPT', 'EPROTONOSUPPORT'],
    // SCTP is a module: absent (EPROTONOSUPPORT) unless loaded or built in.
    'socket-sctp': ['OK', 'EPROTONOSUPPORT', 'ESOCKTNOSUPPORT'],
    'socket-packet': isRoot ? 'OK' : 'EPERM',
    'io-uring-setup': ioUringDisabled === 0 || (ioUringDisabled === 1 && isRoot) ? 'OK' : 'EPERM',
    'personality-query': 'OK',
    'personality-read-implies-exec': 'OK',
    'prctl-set-name': 'OK',
    // x32 is compiled out or disabled on most kernels (ENOSYS); OK where it is live.
    'x32-getpid': ['ENOSYS', 'OK'],
    // int 0x80 runs i386 syscalls where IA32 emulation is reachable; on this Firecracker/PVM
    // guest the gate faults (#GP, error 0x402) and the probe dies by SIGSEGV before any syscall.
    'int80-getpid': ['OK', 'SIGSEGV'],
    'int80-socketcall': ['OK', 'SIGSEGV'],
    'sysv-shmget': 'OK',
  };
}
