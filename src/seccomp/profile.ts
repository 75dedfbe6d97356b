// Which preset a SeccompProfile (src/policy) is: the compiler adds the strict hardening set to
// everything but the permissive preset.
import { DEFAULT_BLOCKED_SYSCALLS, PERMISSIVE_BLOCKED_SYSCALLS, type SeccompProfile } from '../policy/index.js';

export type { SeccompProfile } from '../policy/index.js';
export { DEFAULT_BLOCKED_SYSCALLS, PERMISSIVE_BLOCKED_SYSCALLS } from '../policy/index.js';

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
