// Landlock access rights and their ABI versions, 1:1 with include/uapi/linux/landlock.h
// (docs.kernel.org/userspace-api/landlock.html, "Access rights"; kernel versions per ABI from
// rust-landlock src/compat.rs). native/landlock.h spells the same values for the C++ side.

/** LANDLOCK_ACCESS_FS_* (handled_access_fs and path-beneath rules). */
export const LANDLOCK_ACCESS_FS = {
  EXECUTE: 1 << 0, // ABI 1, Linux 5.13
  WRITE_FILE: 1 << 1,
  READ_FILE: 1 << 2,
  READ_DIR: 1 << 3,
  REMOVE_DIR: 1 << 4,
  REMOVE_FILE: 1 << 5,
  MAKE_CHAR: 1 << 6,
  MAKE_DIR: 1 << 7,
  MAKE_REG: 1 << 8,
  MAKE_SOCK: 1 << 9,
  MAKE_FIFO: 1 << 10,
  MAKE_BLOCK: 1 << 11,
  MAKE_SYM: 1 << 12,
  REFER: 1 << 13, // ABI 2, Linux 5.19: reparenting by rename/link (always denied before)
  TRUNCATE: 1 << 14, // ABI 3, Linux 6.2: truncate(2), O_TRUNC (always allowed before)
  IOCTL_DEV: 1 << 15, // ABI 5, Linux 6.10: ioctl on newly opened char/block devices
  RESOLVE_UNIX: 1 << 16, // ABI 9, Linux 7.1: connect to pathname unix sockets
} as const;

/** LANDLOCK_ACCESS_NET_* (ABI 4, Linux 6.7). TCP only: UDP, MPTCP and SCTP are not covered. */
export const LANDLOCK_ACCESS_NET = { BIND_TCP: 1 << 0, CONNECT_TCP: 1 << 1 } as const;

/** LANDLOCK_SCOPE_* (ABI 6, Linux 6.12). */
export const LANDLOCK_SCOPE = { ABSTRACT_UNIX_SOCKET: 1 << 0, SIGNAL: 1 << 1 } as const;

const F = LANDLOCK_ACCESS_FS;

/** Rights a rule on a non-directory may carry (landlock_add_rule(2): EINVAL otherwise). */
export const FILE_RIGHTS = F.EXECUTE | F.WRITE_FILE | F.READ_FILE | F.TRUNCATE | F.IOCTL_DEV | F.RESOLVE_UNIX;

/** Reading and executing: what every non-sensitive path gets. */
export const READ = F.EXECUTE | F.READ_FILE | F.READ_DIR;

/**
 * Everything a writable root gets: READ plus every write right. WRITE_FILE and TRUNCATE always go
 * together (the kernel docs strongly recommend granting both or neither). IOCTL_DEV is left out:
 * a workspace holds no device nodes a tool needs to ioctl.
 */
export const READ_WRITE =
  READ |
  F.WRITE_FILE |
  F.TRUNCATE |
  F.REMOVE_DIR |
  F.REMOVE_FILE |
  F.MAKE_CHAR |
  F.MAKE_DIR |
  F.MAKE_REG |
  F.MAKE_SOCK |
  F.MAKE_FIFO |
  F.MAKE_BLOCK |
  F.MAKE_SYM |
  F.REFER |
  F.RESOLVE_UNIX;

/** What the character devices programs need get: read, write, O_TRUNC (`> /dev/null`), ioctl (isatty, termios). */
export const DEVICE_RIGHTS = F.READ_FILE | F.WRITE_FILE | F.TRUNCATE | F.IOCTL_DEV;

/** The highest ABI whose rights this module knows; a newer kernel is used at this level. */
export const MAX_KNOWN_ABI = 9;

/**
 * handled_access_fs for an ABI, following the kernel docs' best-effort switch: each ABI adds
 * rights, and handling a right the kernel does not know is EINVAL.
 */
export function handledAccessFs(abi: number): number {
  if (abi < 1) return 0;
  let mask = (1 << 13) - 1; // ABI 1: EXECUTE..MAKE_SYM
  if (abi >= 2) mask |= F.REFER;
  if (abi >= 3) mask |= F.TRUNCATE;
  if (abi >= 5) mask |= F.IOCTL_DEV;
  if (abi >= 9) mask |= F.RESOLVE_UNIX;
  return mask;
}

/** handled_access_net for an ABI (0 before ABI 4). */
export function handledAccessNet(abi: number): number {
  return abi >= 4 ? LANDLOCK_ACCESS_NET.BIND_TCP | LANDLOCK_ACCESS_NET.CONNECT_TCP : 0;
}

/** The scopes an ABI supports (0 before ABI 6). */
export function supportedScopes(abi: number): number {
  return abi >= 6 ? LANDLOCK_SCOPE.ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE.SIGNAL : 0;
}

/** Human names of a rights mask, for reports and test messages. */
export function accessNames(mask: number): string[] {
  return Object.entries(F)
    .filter(([, bit]) => (mask & bit) !== 0)
    .map(([name]) => name);
}
