// The data the native compiler (native/bpf.h) takes, and the kernel constants rules are written
// with. Values are the uapi ones shared by x86_64 and aarch64 (asm-generic errno and socket
// numbers); each comes from the header named beside it.

// The compiler's input types live with the addon's other declarations (native-types.ts), the
// layer below planning; seccomp code names them from here.
export type { NativeArgCheck, NativeArgClause, NativeSeccompRule, NativeSeccompSpec } from '../native-types.js';

// include/uapi/linux/seccomp.h
export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_KILL_THREAD = 0x00000000;
export const SECCOMP_RET_TRAP = 0x00030000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
export const SECCOMP_RET_TRACE = 0x7ff00000;
export const SECCOMP_RET_LOG = 0x7ffc0000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;
export const SECCOMP_RET_ACTION_FULL = 0xffff0000;
export const SECCOMP_RET_DATA = 0x0000ffff;

// include/uapi/linux/audit.h (EM_* | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE)
export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const AUDIT_ARCH_AARCH64 = 0xc00000b7;
export const AUDIT_ARCH_I386 = 0x40000003;
export const AUDIT_ARCH_ARM = 0x40000028;

/** arch/x86/include/uapi/asm/unistd.h __X32_SYSCALL_BIT */
export const X32_SYSCALL_BIT = 0x40000000;

// include/uapi/asm-generic/errno-base.h, errno.h (identical on x86_64 and aarch64)
export const EPERM = 1;
export const EACCES = 13;
export const ENOSYS = 38;
export const EPROTONOSUPPORT = 93;
export const EAFNOSUPPORT = 97;

// include/linux/socket.h, include/linux/net.h (SOCK_TYPE_MASK), include/uapi/linux/in.h, netlink.h
export const AF_UNIX = 1;
export const AF_INET = 2;
export const AF_INET6 = 10;
export const AF_NETLINK = 16;
export const AF_PACKET = 17;
export const AF_VSOCK = 40;
export const AF_ALG = 38;
export const SOCK_STREAM = 1;
export const SOCK_DGRAM = 2;
export const SOCK_RAW = 3;
export const SOCK_SEQPACKET = 5;
export const SOCK_TYPE_MASK = 0xf;
export const SOCK_NONBLOCK = 0o4000;
export const SOCK_CLOEXEC = 0o2000000;
export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_SCTP = 132;
export const IPPROTO_UDPLITE = 136;
export const IPPROTO_MPTCP = 262;
export const NETLINK_ROUTE = 0;
export const NETLINK_SOCK_DIAG = 4;

// include/uapi/linux/sched.h. CLONE_NEWTIME (0x80) is left out on purpose: in clone() the low
// byte is the exit signal (CSIGNAL), so time namespaces come only from unshare() and clone3().
export const CLONE_NEWNS = 0x00020000;
export const CLONE_NEWCGROUP = 0x02000000;
export const CLONE_NEWUTS = 0x04000000;
export const CLONE_NEWIPC = 0x08000000;
export const CLONE_NEWUSER = 0x10000000;
export const CLONE_NEWPID = 0x20000000;
export const CLONE_NEWNET = 0x40000000;
export const CLONE_NS_MASK =
  CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET;

// include/uapi/asm-generic/ioctls.h
export const TIOCSTI = 0x5412;
export const TIOCLINUX = 0x541c;

// include/uapi/linux/personality.h
export const PER_LINUX = 0x0000;
export const PER_LINUX32 = 0x0008;
export const PER_QUERY = 0xffffffff;
export const READ_IMPLIES_EXEC = 0x0400000;
export const ADDR_NO_RANDOMIZE = 0x0040000;

// include/uapi/linux/prctl.h
export const PR_SET_MM = 35;
export const PR_SET_MEMORY_MERGE = 67;
export const PR_SET_NAME = 15;

// include/uapi/linux/stat.h
export const S_ISUID = 0o4000;
export const S_ISGID = 0o2000;

// include/uapi/asm-generic/fcntl.h: the same values on x86_64 and aarch64 (O_DIRECTORY differs,
// so O_TMPFILE is matched by its own __O_TMPFILE bit).
export const O_CREAT = 0o100;
export const O_TMPFILE_BIT = 0o20000000;

/** SECCOMP_RET_ERRNO with its errno. */
export function retErrno(errno: number): number {
  return (SECCOMP_RET_ERRNO | (errno & SECCOMP_RET_DATA)) >>> 0;
}
