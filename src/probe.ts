// probeKernel(): what this kernel lets the calling user enforce. Cached per process: the
// answers do not change while we run, and spawns consult them on every call.
import { native, type NativeKernelProbe } from './native.js';

/** What the running kernel offers cordon, for the calling user. */
export interface KernelInfo {
  /** Kernel release (uname -r) and machine (uname -m). */
  release: string;
  arch: string;
  /** True when the caller is root (euid 0). */
  isRoot: boolean;
  landlock: {
    /** Landlock ABI version, 0 when absent or disabled. */
    abi: number;
    /** Why abi is 0: 'ENOSYS' (not built in), 'EOPNOTSUPP' (disabled at boot), or null. */
    unavailableReason: string | null;
    /** Bitmap of fixed errata (LANDLOCK_CREATE_RULESET_ERRATA). */
    errata: number;
  };
  seccomp: { filter: boolean; killProcess: boolean; log: boolean; userNotif: boolean };
  namespaces: {
    /** The caller can create a user namespace (needed by non-root callers for the others). */
    user: boolean;
    mount: boolean;
    pid: boolean;
    network: boolean;
    ipc: boolean;
  };
  cgroup: {
    v2: { mounted: boolean; mountPoint: string; ownCgroup: string; writable: boolean; controllers: string[]; kill: boolean };
    v1: { memory: { dir: string; writable: boolean }; pids: { dir: string; writable: boolean } };
    /** Some controllers live in v1 hierarchies while a v2 tree is also mounted. */
    hybrid: boolean;
  };
  /** x86_64 only: the x32 ABI is live (the seccomp filter kills it either way). */
  x32: boolean;
  pidfd: boolean;
  closeRange: boolean;
}

let cachedRaw: NativeKernelProbe | undefined;
let cachedInfo: KernelInfo | undefined;

/** The raw probe, cached (internal). */
export function rawProbe(): NativeKernelProbe {
  cachedRaw ??= native().probeKernel();
  return cachedRaw;
}

const ERRNO_NAMES: Record<number, string> = { 38: 'ENOSYS', 95: 'EOPNOTSUPP' };

/** Reports, without side effects on the caller, what this kernel can enforce. */
export function probeKernel(): KernelInfo {
  if (cachedInfo) return cachedInfo;
  const p = rawProbe();
  cachedInfo = {
    release: p.release,
    arch: p.arch,
    isRoot: p.isRoot,
    landlock: {
      abi: p.landlockAbi,
      unavailableReason: p.landlockAbi > 0 ? null : (ERRNO_NAMES[p.landlockErrno] ?? `errno ${p.landlockErrno}`),
      errata: p.landlockErrata,
    },
    seccomp: { filter: p.seccompFilter, killProcess: p.seccompKillProcess, log: p.seccompLog, userNotif: p.seccompUserNotif },
    namespaces: {
      user: p.userNamespaces,
      mount: p.mountNamespace,
      pid: p.pidNamespace,
      network: p.networkNamespace,
      ipc: p.ipcNamespace,
    },
    cgroup: {
      v2: {
        mounted: p.cgroupV2.mounted,
        mountPoint: p.cgroupV2.mountPoint,
        ownCgroup: p.cgroupV2.ownCgroup,
        writable: p.cgroupV2.writable,
        controllers: p.cgroupV2.controllers.split(/\s+/).filter(Boolean),
        kill: p.cgroupV2.hasKill,
      },
      v1: {
        memory: { dir: p.cgroupV1.memoryDir, writable: p.cgroupV1.memoryWritable },
        pids: { dir: p.cgroupV1.pidsDir, writable: p.cgroupV1.pidsWritable },
      },
      hybrid: p.cgroupV2.mounted && (p.cgroupV1.memoryDir !== '' || p.cgroupV1.pidsDir !== ''),
    },
    x32: p.x32Syscalls,
    pidfd: p.pidfd,
    closeRange: p.closeRange,
  };
  return cachedInfo;
}
