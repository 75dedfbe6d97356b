// The seccomp profile as src/policy defines it. TODO(policy): src/policy is being written in
// parallel; once it exports `SeccompProfile` and DEFAULT_BLOCKED_SYSCALLS, import them from
// '../policy/index.js' here and delete the local copies (they are structurally identical).

/** What a policy asks of the seccomp filter (docs: policy-semantics.md "Seccomp profile"). */
export interface SeccompProfile {
  /** Syscall names refused outright (EPERM unless the rule table says otherwise). */
  readonly blockedSyscalls: readonly string[];
  /** Let clone() create namespaces and clone3() through. */
  readonly allowNamespaces: boolean;
  /** Let socket() create AF_INET/AF_INET6 sockets (also needs a network mode other than none). */
  readonly allowNetworkSockets: boolean;
  /** Log (SECCOMP_RET_LOG) instead of refusing. */
  readonly logOnly: boolean;
}

/** The seed's default blocklist (strict and logging profiles). */
export const DEFAULT_BLOCKED_SYSCALLS: readonly string[] = [
  'ptrace', 'mount', 'umount', 'umount2', 'init_module', 'finit_module', 'delete_module',
  'kexec_load', 'kexec_file_load', 'bpf', 'perf_event_open', 'userfaultfd', 'process_vm_readv',
  'process_vm_writev', 'reboot', 'swapon', 'swapoff', 'settimeofday', 'clock_settime', 'adjtimex',
  'add_key', 'request_key', 'keyctl', 'ioperm', 'iopl', 'acct', 'quotactl', 'unshare', 'setns',
  'personality',
];

/** The permissive profile's blocklist. */
export const PERMISSIVE_BLOCKED_SYSCALLS: readonly string[] = ['ptrace', 'kexec_load', 'kexec_file_load', 'reboot'];

export type SeccompProfileName = 'strict' | 'permissive' | 'logging' | 'custom';

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((n) => sb.has(n));
}

/**
 * Which preset a profile is. The blocklist and logOnly decide; allowNamespaces and
 * allowNetworkSockets are knobs compiled from their own fields ("strict seccomp with network
 * sockets allowed" is still strict). Anything else is 'custom', compiled as strict (fail-closed).
 */
export function seccompProfileName(p: SeccompProfile): SeccompProfileName {
  if (sameSet(p.blockedSyscalls, DEFAULT_BLOCKED_SYSCALLS)) return p.logOnly ? 'logging' : 'strict';
  if (!p.logOnly && sameSet(p.blockedSyscalls, PERMISSIVE_BLOCKED_SYSCALLS)) return 'permissive';
  return 'custom';
}
