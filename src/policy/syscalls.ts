// Syscall-name validation for seccomp profiles, against the generated per-architecture tables.
import { SYSCALL_TABLE, type SyscallArch } from './syscall-table.js';

export type { SyscallArch } from './syscall-table.js';
export { SYSCALL_TABLE } from './syscall-table.js';

/** The seed's default seccomp blocklist (strict and logging profiles), in the seed's order. */
export const DEFAULT_BLOCKED_SYSCALLS: readonly string[] = Object.freeze([
  'ptrace', 'mount', 'umount', 'umount2', 'init_module', 'finit_module', 'delete_module',
  'kexec_load', 'kexec_file_load', 'bpf', 'perf_event_open', 'userfaultfd', 'process_vm_readv',
  'process_vm_writev', 'reboot', 'swapon', 'swapoff', 'settimeofday', 'clock_settime', 'adjtimex',
  'add_key', 'request_key', 'keyctl', 'ioperm', 'iopl', 'acct', 'quotactl', 'unshare', 'setns',
  'personality',
]);

/** The permissive profile's blocklist. */
export const PERMISSIVE_BLOCKED_SYSCALLS: readonly string[] = Object.freeze(['ptrace', 'kexec_load', 'kexec_file_load', 'reboot']);

const DEFAULT_NAMES: ReadonlySet<string> = new Set(DEFAULT_BLOCKED_SYSCALLS);

/** The syscall table cordon uses on this machine: x64 → x86_64, arm64 → aarch64, else undefined. */
export function runningSyscallArch(): SyscallArch | undefined {
  if (process.arch === 'x64') return 'x86_64';
  if (process.arch === 'arm64') return 'aarch64';
  return undefined;
}

/** Whether `arch` (default: the running one) has a syscall called `name`. */
export function hasSyscall(name: string, arch: SyscallArch | undefined = runningSyscallArch()): boolean {
  if (arch !== undefined) return Object.hasOwn(SYSCALL_TABLE[arch], name);
  return Object.hasOwn(SYSCALL_TABLE.x86_64, name) || Object.hasOwn(SYSCALL_TABLE.aarch64, name);
}

/**
 * Why `name` cannot appear in a blocklist on this machine, or undefined when it can.
 *
 * The seed's default list names syscalls that some architectures lack (`umount` exists on
 * neither x86_64 nor aarch64, which only have `umount2`; `ioperm`/`iopl` are x86-only). Those
 * names stay accepted everywhere, so the strict profile and every policy the Rust crate writes
 * load on both architectures; the seccomp compiler skips names the target arch lacks (see
 * `hasSyscall`). Any other name must exist on the running architecture.
 */
export function syscallNameProblem(name: string): string | undefined {
  if (name.length === 0) return 'must not be empty';
  if (DEFAULT_NAMES.has(name) || hasSyscall(name)) return undefined;
  const arch = runningSyscallArch();
  return arch === undefined ? `unknown syscall "${name}"` : `unknown syscall "${name}" on ${arch}`;
}
