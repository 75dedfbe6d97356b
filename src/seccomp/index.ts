// Compiles a SeccompProfile into the seccomp-BPF program the spawn engine installs in the child
// (seccomp(SECCOMP_SET_MODE_FILTER, flags, &prog) right before execve). The decisions live in
// ./rules.ts as data; native/bpf.cc lays them out as BPF. Results are cached per (profile,
// context): a policy is compiled once, not per spawn.
import { native } from '../native.js';
import { PolicyError } from '../errors.js';
import { SYSCALL_TABLE, type SyscallArch } from '../policy/syscall-table.js';
import { seccompProfileName, type SeccompProfile, type SeccompProfileName } from './profile.js';
import { buildRules, type NamedRule } from './rules.js';
import { SECCOMP_RET_ALLOW, type NativeSeccompRule, type NativeSeccompSpec } from './spec.js';

export type { SeccompProfile, SeccompProfileName } from './profile.js';
export {
  DEFAULT_BLOCKED_SYSCALLS,
  PERMISSIVE_BLOCKED_SYSCALLS,
  seccompProfileName,
} from './profile.js';
import { registerCache } from '../caches.js';
export { REFUSALS, STRICT_HARDENING, SYSV_IPC } from './rules.js';

/** What the spawn engine knows about the child besides the profile. */
export interface SeccompContext {
  /** The target ABI (the host's, in practice). */
  arch: SyscallArch;
  /** The policy's network mode. 'none' refuses AF_INET/AF_INET6 whatever the profile says. */
  network: 'none' | 'allowlist' | 'full';
  /**
   * 'socketpair-only' when pathname unix sockets are not otherwise controlled (no Landlock
   * ABI 9 RESOLVE_UNIX, no mount namespace masking socket dirs): socket(AF_UNIX) → EACCES.
   */
  unixSockets: 'allow' | 'socketpair-only';
  /** The child has no IPC namespace of its own: refuse SysV IPC and POSIX mqueues (EPERM). */
  refuseSysvIpc?: boolean;
  /**
   * The child runs in its own network namespace, so INET sockets reach only what cordon put
   * there. In 'allowlist' mode this lets UDP through (DNS stub); without it only TCP.
   */
  netns?: boolean;
}

/** A compiled filter, ready for the spawn plan. */
export interface CompiledSeccomp {
  /** struct sock_filter[] bytes, host endianness. Shared by the cache: do not modify. */
  program: Buffer;
  instructions: number;
  /** Rules compiled (syscalls with a decision other than the default ALLOW). */
  rules: number;
  profile: SeccompProfileName;
  arch: SyscallArch;
  /** SECCOMP_FILTER_FLAG_* to pass at install. 0: no TSYNC (one thread), no SPEC_ALLOW. */
  flags: number;
  /** Syscall numbers with a rule (anything else is allowed whatever its arguments). */
  ruled: ReadonlySet<number>;
}

/**
 * Syscalls a standby child makes after it confined itself early (native/child.cc steps 12-16
 * and 21, the failure report included). It may confine itself before it waits only when the
 * filter has no rule for any of them.
 */
export const STANDBY_PATH_SYSCALLS: readonly string[] = [
  'recvmsg', 'close', 'write', 'fcntl', 'dup3', 'close_range', 'chdir', 'prlimit64',
  'rt_sigprocmask', 'rt_sigtimedwait', 'execve', 'exit_group',
];

/** Whether `compiled` allows every syscall in `names` with any arguments. */
export function allowsUnconditionally(compiled: CompiledSeccomp, names: readonly string[]): boolean {
  const table = SYSCALL_TABLE[compiled.arch];
  return names.every((name) => table[name] !== undefined && !compiled.ruled.has(table[name]!));
}

/**
 * Syscalls the child makes after seccomp() returns (restore the signal mask, execve, report a
 * failed execve): a profile that blocks one could never start anything.
 */
export const INSTALL_PATH_SYSCALLS: readonly string[] = ['execve', 'rt_sigprocmask', 'write', 'exit', 'exit_group'];

/** The rule list for a profile, with numbers for ctx.arch (exported for tests and debugging). */
export function seccompRules(profile: SeccompProfile, ctx: SeccompContext): NativeSeccompRule[] {
  const name = seccompProfileName(profile);
  const stopped = profile.blockedSyscalls.filter((n) => INSTALL_PATH_SYSCALLS.includes(n));
  if (stopped.length > 0) {
    throw new PolicyError(
      stopped.map((n) => ({
        path: 'seccomp.blockedSyscalls',
        message: `"${n}" cannot be blocked: the sandboxed child needs it after the filter is installed`,
      })),
    );
  }
  const networkSockets = profile.allowNetworkSockets && ctx.network !== 'none';
  const named: NamedRule[] = buildRules({
    hardened: name !== 'permissive',
    networkSockets,
    udp: ctx.network === 'full' || ctx.netns === true,
    unixSocket: ctx.unixSockets === 'allow',
    refuseSysvIpc: ctx.refuseSysvIpc === true,
    allowNamespaces: profile.allowNamespaces,
    logOnly: profile.logOnly,
    blocked: profile.blockedSyscalls,
  });
  const table = SYSCALL_TABLE[ctx.arch];
  const rules: NativeSeccompRule[] = [];
  for (const r of named) {
    // Names this arch lacks (modify_ldt, chmod, ioperm on aarch64) cannot be called: skip.
    const nr = table[r.syscall];
    if (nr === undefined) continue;
    rules.push({ nr, clauses: r.clauses, action: r.action, reason: `${r.syscall}: ${r.reason}` });
  }
  return rules;
}

const cache = new Map<string, CompiledSeccomp>();
const CACHE_LIMIT = 64;
registerCache({
  name: 'seccomp/index.ts compiled filters',
  key: '(blocked syscalls, profile flags, arch, network mode, unix sockets, SysV IPC, netns)',
  bound: '64, oldest evicted first',
  invalidation: 'none needed: the key is the whole input',
  size: () => cache.size,
  clear: () => cache.clear(),
});

/**
 * Compiles `profile` for the child described by `ctx`. Cached per (profile, ctx); the
 * returned object and its buffer are shared.
 * @throws PolicyError when the profile blocks a syscall the child needs after installing.
 */
export function compileSeccomp(profile: SeccompProfile, ctx: SeccompContext): CompiledSeccomp {
  const key = JSON.stringify([
    [...new Set(profile.blockedSyscalls)].sort(),
    profile.allowNamespaces,
    profile.allowNetworkSockets,
    profile.logOnly,
    ctx.arch,
    ctx.network,
    ctx.unixSockets,
    ctx.refuseSysvIpc === true,
    ctx.netns === true,
  ]);
  const hit = cache.get(key);
  if (hit) return hit;
  const rules = seccompRules(profile, ctx);
  const spec: NativeSeccompSpec = { arch: ctx.arch, rules, defaultAction: SECCOMP_RET_ALLOW };
  const program = native().compileSeccompProgram(spec);
  const compiled: CompiledSeccomp = {
    program,
    instructions: program.length / 8,
    rules: rules.length,
    profile: seccompProfileName(profile),
    arch: ctx.arch,
    flags: 0,
    ruled: new Set(rules.map((r) => r.nr)),
  };
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
  cache.set(key, compiled);
  return compiled;
}
