// The seccomp policy as data: which syscall gets which decision, with the reason. A profile and
// a spawn context become a list of rules; native/bpf.cc only turns rules into BPF.
//
// Model: blocklist (default ALLOW), as the seed's profile implies. Three kinds of entries:
//  - bypass closers, in every profile: the arch/x32 kill (emitted by the compiler), io_uring and
//    clone3 ENOSYS, ioctl TIOCSTI/TIOCLINUX, socket families. They keep the other rules from
//    being sidestepped, so they are not policy choices.
//  - the strict hardening set, in every profile except the permissive preset (custom profiles
//    fail closed): linux-sandboxing-brief.md §4.4, mostly flatpak's list.
//  - the profile's own blocklist, by name.
// The errno is chosen per case: EPERM for "refused", ENOSYS where callers must believe the
// syscall does not exist so libc or the runtime falls back, EAFNOSUPPORT / EPROTONOSUPPORT /
// EACCES for sockets (EACCES reads like Landlock's network denial).
import {
  AF_INET,
  AF_INET6,
  AF_NETLINK,
  AF_UNIX,
  CLONE_NS_MASK,
  EACCES,
  EAFNOSUPPORT,
  ENOSYS,
  EPERM,
  EPROTONOSUPPORT,
  IPPROTO_TCP,
  IPPROTO_UDP,
  NETLINK_ROUTE,
  O_CREAT,
  O_TMPFILE_BIT,
  PER_LINUX,
  PER_LINUX32,
  PER_QUERY,
  PR_SET_MEMORY_MERGE,
  PR_SET_MM,
  S_ISGID,
  S_ISUID,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_LOG,
  SOCK_DGRAM,
  SOCK_RAW,
  SOCK_STREAM,
  SOCK_TYPE_MASK,
  TIOCLINUX,
  TIOCSTI,
  retErrno,
  type NativeArgCheck,
  type NativeArgClause,
} from './spec.js';

/** A rule before syscall numbers are resolved for an arch. */
export interface NamedRule {
  syscall: string;
  /** Argument clauses, first match wins (empty: `action` for every call). */
  clauses: NativeArgClause[];
  action: number;
  reason: string;
}

/** Deliberate errno for names refused outright; anything not listed gets EPERM. */
interface Refusal {
  errno: number;
  reason: string;
}

const ENOSYS_FALLBACK = 'ENOSYS so callers treat it as absent and fall back';

/**
 * Every name cordon refuses on its own, plus the seed's list, with the reason. Used both for
 * the strict hardening set and to pick the errno when a profile blocks a name.
 */
export const REFUSALS: Readonly<Record<string, Refusal>> = {
  // The seed's list (policy-semantics.md): escape, attack surface, host state.
  ptrace: { errno: EPERM, reason: 'reads and writes other processes (escape from any sandbox)' },
  mount: { errno: EPERM, reason: 'mount namespace changes; Landlock also refuses it' },
  umount: { errno: EPERM, reason: 'would unmask mount-namespace masks' },
  umount2: { errno: EPERM, reason: 'would unmask mount-namespace masks' },
  init_module: { errno: EPERM, reason: 'kernel code loading' },
  finit_module: { errno: EPERM, reason: 'kernel code loading' },
  delete_module: { errno: EPERM, reason: 'kernel state' },
  kexec_load: { errno: EPERM, reason: 'replaces the running kernel' },
  kexec_file_load: { errno: EPERM, reason: 'replaces the running kernel' },
  bpf: { errno: EPERM, reason: 'eBPF verifier is a large attack surface (many CVEs)' },
  perf_event_open: { errno: EPERM, reason: 'side channels, kernel pointer leaks, CVE history' },
  userfaultfd: { errno: EPERM, reason: 'stalls kernel page faults at will: race-exploit primitive' },
  process_vm_readv: { errno: EPERM, reason: 'reads another process memory' },
  process_vm_writev: { errno: EPERM, reason: 'writes another process memory' },
  reboot: { errno: EPERM, reason: 'host state' },
  swapon: { errno: EPERM, reason: 'host state' },
  swapoff: { errno: EPERM, reason: 'host state' },
  settimeofday: { errno: EPERM, reason: 'host clock' },
  clock_settime: { errno: EPERM, reason: 'host clock' },
  adjtimex: { errno: EPERM, reason: 'host clock (queries included: one rule per name)' },
  add_key: { errno: EPERM, reason: 'kernel keyrings are not namespaced: credential theft' },
  request_key: { errno: EPERM, reason: 'kernel keyrings are not namespaced' },
  keyctl: { errno: EPERM, reason: 'kernel keyrings are not namespaced' },
  ioperm: { errno: EPERM, reason: 'raw I/O port access' },
  iopl: { errno: EPERM, reason: 'raw I/O port access' },
  acct: { errno: EPERM, reason: 'host process accounting' },
  quotactl: { errno: EPERM, reason: 'host filesystem quotas' },
  unshare: { errno: EPERM, reason: 'new namespaces (user namespaces widen kernel attack surface)' },
  setns: { errno: EPERM, reason: 'joins other namespaces' },
  personality: { errno: EPERM, reason: 'READ_IMPLIES_EXEC / ADDR_NO_RANDOMIZE weaken W^X and ASLR' },
  // Strict hardening (linux-sandboxing-brief.md §4.4).
  pivot_root: { errno: EPERM, reason: 'changes the root; flatpak refuses it' },
  chroot: { errno: EPERM, reason: 'Landlock does not cover chroot; classic confusion of setuid tools' },
  open_tree: { errno: ENOSYS, reason: `new mount API (flatpak GHSA-67h7-w3jq-vh4q); ${ENOSYS_FALLBACK}` },
  move_mount: { errno: ENOSYS, reason: `new mount API; ${ENOSYS_FALLBACK}` },
  fsopen: { errno: ENOSYS, reason: `new mount API; ${ENOSYS_FALLBACK}` },
  fsconfig: { errno: ENOSYS, reason: `new mount API; ${ENOSYS_FALLBACK}` },
  fsmount: { errno: ENOSYS, reason: `new mount API; ${ENOSYS_FALLBACK}` },
  fspick: { errno: ENOSYS, reason: `new mount API; ${ENOSYS_FALLBACK}` },
  mount_setattr: { errno: ENOSYS, reason: `new mount API (could clear MS_RDONLY masks); ${ENOSYS_FALLBACK}` },
  open_tree_attr: { errno: ENOSYS, reason: `new mount API (6.15); ${ENOSYS_FALLBACK}` },
  syslog: { errno: EPERM, reason: 'kernel log: kernel addresses and host activity' },
  uselib: { errno: EPERM, reason: 'obsolete a.out loader, CVE-2004-1235 class' },
  modify_ldt: { errno: EPERM, reason: 'x86 LDT: CVE-2015-5157/CVE-2017-17053 class; only Wine/DOSEMU need it' },
  move_pages: { errno: EPERM, reason: 'NUMA page moves on other pids; CVE-2017-14140 info leak (flatpak)' },
  migrate_pages: { errno: EPERM, reason: 'NUMA page moves on other pids (flatpak)' },
  mbind: { errno: EPERM, reason: 'NUMA policy: rarely needed, history of bugs (flatpak)' },
  get_mempolicy: { errno: EPERM, reason: 'NUMA policy (flatpak); node/python/JVM do not need it' },
  set_mempolicy: { errno: EPERM, reason: 'NUMA policy (flatpak)' },
  name_to_handle_at: { errno: EPERM, reason: 'file handles bypass path checks ("shocker")' },
  open_by_handle_at: { errno: EPERM, reason: 'opens files by handle, around Landlock and mounts ("shocker")' },
  kcmp: { errno: EPERM, reason: 'compares kernel objects of other processes (Docker gates it on CAP_SYS_PTRACE)' },
  pidfd_getfd: { errno: EPERM, reason: 'steals file descriptors from other processes' },
  process_madvise: { errno: EPERM, reason: 'acts on another process memory' },
  _sysctl: { errno: EPERM, reason: 'obsolete binary sysctl (removed in 5.5)' },
  lookup_dcookie: { errno: EPERM, reason: 'obsolete oprofile interface, CAP_SYS_ADMIN (removed in 6.8)' },
  // Bypass closers: their arguments are out of reach of BPF.
  clone3: { errno: ENOSYS, reason: `clone_args flags live in memory BPF cannot read; ${ENOSYS_FALLBACK} to clone (EPERM breaks glibc, moby#42681)` },
  io_uring_setup: { errno: ENOSYS, reason: `io_uring operations never pass seccomp (socket, openat...); ${ENOSYS_FALLBACK}` },
  io_uring_enter: { errno: ENOSYS, reason: 'io_uring operations never pass seccomp' },
  io_uring_register: { errno: ENOSYS, reason: 'io_uring operations never pass seccomp' },
  openat2: {
    errno: ENOSYS,
    reason: `open_how (flags, mode) lives in memory BPF cannot read, so a setuid create could pass; ${ENOSYS_FALLBACK} to openat (glibc, Go, systemd all handle pre-5.6 kernels)`,
  },
};

/** The strict hardening set: refused in every profile except the permissive preset. */
export const STRICT_HARDENING: readonly string[] = [
  'pivot_root', 'chroot', 'open_tree', 'move_mount', 'fsopen', 'fsconfig', 'fsmount', 'fspick',
  'mount_setattr', 'open_tree_attr', 'syslog', 'uselib', 'modify_ldt', 'move_pages',
  'migrate_pages', 'mbind', 'get_mempolicy', 'set_mempolicy', 'name_to_handle_at',
  'open_by_handle_at', 'kcmp', 'pidfd_getfd', 'process_madvise', '_sysctl', 'lookup_dcookie',
  'openat2',
];

/** SysV IPC and POSIX message queues: refused when the child has no IPC namespace of its own. */
export const SYSV_IPC: readonly string[] = [
  'shmget', 'shmat', 'shmctl', 'msgget', 'msgsnd', 'msgrcv', 'msgctl', 'semget', 'semop',
  'semtimedop', 'semctl', 'mq_open', 'mq_unlink', 'mq_timedsend', 'mq_timedreceive', 'mq_notify',
  'mq_getsetattr',
];

/** What the rule builder needs to know besides the profile. */
export interface RuleOptions {
  /** Strict hardening set and argument hardening (everything but the permissive preset). */
  hardened: boolean;
  /** AF_INET/AF_INET6 allowed at all. */
  networkSockets: boolean;
  /** UDP allowed with network sockets (not for the allowlist without a network namespace). */
  udp: boolean;
  /** socket(AF_UNIX) allowed (socketpair always is). */
  unixSocket: boolean;
  refuseSysvIpc: boolean;
  allowNamespaces: boolean;
  logOnly: boolean;
  blocked: readonly string[];
}

/** A 32-bit comparison (int / unsigned int parameters; the kernel ignores the upper half). */
function eq32(arg: number, value: number, mask = 0xffffffff): NativeArgCheck {
  return { arg, width: 32, op: 'eq', mask: BigInt(mask >>> 0), value: BigInt(value >>> 0) };
}

function any32(arg: number, mask: number): NativeArgCheck {
  return { arg, width: 32, op: 'any', mask: BigInt(mask >>> 0), value: 0n };
}

/** Builds the rule list. Later entries for the same name replace earlier ones (blocklist wins). */
export function buildRules(o: RuleOptions): NamedRule[] {
  // log_only: every refusal becomes SECCOMP_RET_LOG (allowed and audited). The compiler's
  // arch/x32 KILL stays: no honest program of the target arch reaches it.
  const deny = (errno: number): number => (o.logOnly ? SECCOMP_RET_LOG : retErrno(errno));
  const ALLOW = SECCOMP_RET_ALLOW;
  const rules = new Map<string, NamedRule>();
  const add = (syscall: string, action: number, reason: string, clauses: NativeArgClause[] = []): void => {
    rules.set(syscall, { syscall, clauses, action, reason });
  };
  const refuse = (name: string): void => {
    const r = REFUSALS[name] ?? { errno: EPERM, reason: 'blocked by the profile' };
    add(name, deny(r.errno), r.reason);
  };

  // --- Bypass closers (every profile).
  for (const name of ['io_uring_setup', 'io_uring_enter', 'io_uring_register']) refuse(name);
  if (!o.allowNamespaces) {
    refuse('clone3');
    // clone flags are arg0 on x86_64 and aarch64 (arg1 on s390). The kernel reads only the
    // low 32 bits (kernel/fork.c: lower_32_bits(clone_flags)), so the high word is not checked.
    add('clone', ALLOW, 'no CLONE_NEW* namespaces unless allowNamespaces', [
      { checks: [any32(0, CLONE_NS_MASK)], action: deny(EPERM) },
    ]);
  }
  // ioctl cmd is `unsigned int`: compare the low 32 bits only, or TIOCSTI | 1 << 32 passes
  // (CVE-2019-10063 flatpak, CVE-2019-7303 snapd). TIOCSTI pushes input into the terminal the
  // host shell reads; TIOCLINUX can do the same on a VT (ttyjack).
  add('ioctl', ALLOW, 'terminal input injection (TIOCSTI, TIOCLINUX)', [
    { checks: [eq32(1, TIOCSTI)], action: deny(EPERM) },
    { checks: [eq32(1, TIOCLINUX)], action: deny(EPERM) },
  ]);
  addSocketRules(o, add, deny);

  // --- Strict hardening.
  if (o.hardened) {
    for (const name of STRICT_HARDENING) refuse(name);
    // Nothing in prctl can undo no_new_privs, a seccomp filter or a Landlock domain (the kernel
    // makes them one-way), so prctl stays usable (PR_SET_NAME, PR_SET_PDEATHSIG, PR_SET_SECCOMP
    // for nested sandboxes). Refused: the two ops that reach outside the process. Both need
    // CAP_SYS_RESOURCE, which the spawn engine drops; this is the second layer.
    add('prctl', ALLOW, 'keep prctl; refuse ops reaching outside the process', [
      // PR_SET_MM rewrites what /proc/<pid>/{exe,cmdline,environ,auxv} report (checkpoint/restore only).
      { checks: [eq32(0, PR_SET_MM)], action: deny(EPERM) },
      // PR_SET_MEMORY_MERGE opts the whole process into KSM: page dedup is a cross-process
      // (and cross-sandbox) timing side channel.
      { checks: [eq32(0, PR_SET_MEMORY_MERGE)], action: deny(EPERM) },
    ]);
    // Issue 9: a setuid/setgid file made in a writable root runs with privilege when the host
    // executes it later (inside, no_new_privs already ignores the bits). mode_t is 32-bit.
    const setid = S_ISUID | S_ISGID;
    const chmodRule = (name: string, modeArg: number): void =>
      add(name, ALLOW, 'no S_ISUID/S_ISGID in the mode', [{ checks: [any32(modeArg, setid)], action: deny(EPERM) }]);
    chmodRule('chmod', 1);
    chmodRule('fchmod', 1);
    chmodRule('fchmodat', 2);
    chmodRule('fchmodat2', 2);
    // The same bits given at creation: the mode only counts with O_CREAT or O_TMPFILE (other
    // opens may pass garbage there), mknod always uses it, creat always creates.
    const openRule = (name: string, flagsArg: number, modeArg: number): void =>
      add(name, ALLOW, 'no S_ISUID/S_ISGID in the mode of a created file', [
        { checks: [any32(flagsArg, O_CREAT | O_TMPFILE_BIT), any32(modeArg, setid)], action: deny(EPERM) },
      ]);
    openRule('open', 1, 2);
    openRule('openat', 2, 3);
    chmodRule('creat', 1);
    chmodRule('mknod', 1);
    chmodRule('mknodat', 2);
  }

  if (o.refuseSysvIpc) {
    // Without an IPC namespace these reach the host's SysV objects and message queues.
    for (const name of SYSV_IPC) add(name, deny(EPERM), 'host SysV IPC / POSIX mqueue (no IPC namespace)');
  }

  // --- The profile's blocklist (wins over the argument rules above for the same name).
  for (const name of o.blocked) {
    if (name === 'personality') {
      // personality(0xffffffff) only reads the persona (setarch, uname emulation). PER_LINUX
      // and PER_LINUX32 without flag bits change nothing that matters; every other value
      // carries READ_IMPLIES_EXEC, ADDR_NO_RANDOMIZE and friends. `persona` is unsigned int.
      add('personality', deny(EPERM), REFUSALS.personality!.reason, [
        { checks: [eq32(0, PER_QUERY)], action: ALLOW },
        { checks: [eq32(0, PER_LINUX)], action: ALLOW },
        { checks: [eq32(0, PER_LINUX32)], action: ALLOW },
      ]);
    } else {
      refuse(name);
    }
  }
  return [...rules.values()];
}

function addSocketRules(
  o: RuleOptions,
  add: (syscall: string, action: number, reason: string, clauses?: NativeArgClause[]) => void,
  deny: (errno: number) => number,
): void {
  const ALLOW = SECCOMP_RET_ALLOW;
  const family = (f: number): NativeArgCheck => eq32(0, f); // int family
  // SOCK_NONBLOCK and SOCK_CLOEXEC are OR-ed into `type`; the kernel takes type & SOCK_TYPE_MASK.
  const type = (t: number): NativeArgCheck => eq32(1, t, SOCK_TYPE_MASK);
  const protocol = (p: number): NativeArgCheck => eq32(2, p);
  const unix: NativeArgClause = {
    checks: [family(AF_UNIX)],
    // Pathname sockets (docker.sock, ssh-agent, D-Bus) are an escape Landlock covers only from
    // ABI 9; when nothing else controls them, socket(AF_UNIX) gets EACCES and socketpair stays.
    action: o.unixSocket ? ALLOW : deny(EACCES),
  };

  if (!o.hardened && o.networkSockets) {
    // Permissive preset with the network on: the seed's semantics, any family. Raw and packet
    // sockets still need CAP_NET_RAW, which the spawn engine drops.
    if (!o.unixSocket) add('socket', ALLOW, 'socket(AF_UNIX) only through socketpair', [unix]);
    return;
  }

  const clauses: NativeArgClause[] = [unix];
  // NETLINK_ROUTE, read side: getifaddrs() (node os.networkInterfaces(), which throws without
  // it), glibc getaddrinfo(AI_ADDRCONFIG), `ip addr`. Changing links or routes needs
  // CAP_NET_ADMIN. Other netlink protocols are refused: NETLINK_SOCK_DIAG lists every socket
  // of the host, NETLINK_AUDIT / KOBJECT_UEVENT / netfilter are host facing.
  for (const t of [SOCK_RAW, SOCK_DGRAM]) {
    clauses.push({ checks: [family(AF_NETLINK), type(t), protocol(NETLINK_ROUTE)], action: ALLOW });
  }
  clauses.push({ checks: [family(AF_NETLINK)], action: deny(EPROTONOSUPPORT) });
  for (const f of [AF_INET, AF_INET6]) {
    if (!o.networkSockets) {
      clauses.push({ checks: [family(f)], action: deny(EACCES) });
      continue;
    }
    // TCP and UDP only: MPTCP (262) gets around Landlock's TCP connect rules (✔ on this
    // kernel), SCTP/UDPLITE/ICMP ping sockets are attack surface nobody here needs, raw
    // sockets are CAP_NET_RAW anyway. EPROTONOSUPPORT: Go's MPTCP probe then uses TCP.
    clauses.push({ checks: [family(f), type(SOCK_STREAM), protocol(0)], action: ALLOW });
    clauses.push({ checks: [family(f), type(SOCK_STREAM), protocol(IPPROTO_TCP)], action: ALLOW });
    if (o.udp) {
      clauses.push({ checks: [family(f), type(SOCK_DGRAM), protocol(0)], action: ALLOW });
      clauses.push({ checks: [family(f), type(SOCK_DGRAM), protocol(IPPROTO_UDP)], action: ALLOW });
    } else {
      // Allowlist without a network namespace: Landlock restricts TCP ports only, so UDP
      // would reach any host (DNS tunnels). Names resolve through the proxy instead.
      clauses.push({ checks: [family(f), type(SOCK_DGRAM)], action: deny(EACCES) });
    }
    clauses.push({ checks: [family(f)], action: deny(EPROTONOSUPPORT) });
  }
  // Every other family: AF_PACKET (sniffing), AF_VSOCK (host/VM services, WSL interop),
  // AF_ALG (crypto API CVEs), AF_KEY, AF_XDP, AF_TIPC, AF_RDS, AF_BLUETOOTH, AF_CAN...
  // EAFNOSUPPORT, as flatpak does, so programs treat the family as absent.
  add('socket', deny(EAFNOSUPPORT), 'socket families, types and protocols per network mode', clauses);
  add('socketpair', deny(EAFNOSUPPORT), 'socketpair: AF_UNIX only', [{ checks: [family(AF_UNIX)], action: ALLOW }]);
}
