// The supporting types of SandboxPolicy (TS-side camelCase shapes) and their presets. Every
// value handed out is frozen, so presets cannot be altered through a returned reference.
import { DEFAULT_BLOCKED_SYSCALLS, PERMISSIVE_BLOCKED_SYSCALLS } from './syscalls.js';
import { isWithin, resolvePolicyPath } from './paths.js';
import { validateComponent } from './schema.js';

/** The four policy variants (`SandboxPolicy.kind`). */
export type SandboxPolicyKind = 'ReadOnly' | 'WorkspaceWrite' | 'DangerFullAccess' | 'ExternalSandbox';

/** A directory (absolute path) below which a WorkspaceWrite policy permits writes. */
export interface WritableRoot {
  readonly root: string;
}

/** Network protocols an allowlist entry can name. */
export type NetworkProtocol = 'tcp' | 'udp';

/** One permitted network destination: a domain pattern (`*.` wildcard allowed), a port, a protocol. */
export interface NetworkAllowlistEntry {
  readonly domain: string;
  readonly port: number;
  readonly protocol: NetworkProtocol;
}

/** Builders for allowlist entries; both validate their arguments and throw PolicyError. */
export const NetworkAllowlistEntry = Object.freeze({
  /** HTTPS to `domain`: port 443, TCP. */
  https(domain: string): NetworkAllowlistEntry {
    return NetworkAllowlistEntry.withPort(domain, 443);
  },
  /** TCP to `domain` on `port`. */
  withPort(domain: string, port: number, protocol: NetworkProtocol = 'tcp'): NetworkAllowlistEntry {
    return Object.freeze(validateComponent('networkAllowlistEntry', { domain, port, protocol }) as NetworkAllowlistEntry);
  },
});

/**
 * A path whose reads and/or writes are refused. `path` is absolute or `~`-relative (`~`,
 * `~/x`), kept as configured; `~` expands to the home directory at query time.
 */
export interface SensitivePath {
  readonly path: string;
  readonly blockRead: boolean;
  readonly blockWrite: boolean;
}

/** Builders and helpers for sensitive paths. */
export const SensitivePath = Object.freeze({
  /** Reads and writes blocked (what the default list uses). */
  blocked(path: string): SensitivePath {
    return SensitivePath.of(path, true, true);
  },
  /** Readable, never writable (what `sensitivePathsForExecution` adds for `.git` and friends). */
  writeProtected(path: string): SensitivePath {
    return SensitivePath.of(path, false, true);
  },
  /** A sensitive path with explicit flags; validates and throws PolicyError. */
  of(path: string, blockRead: boolean, blockWrite: boolean): SensitivePath {
    return Object.freeze(validateComponent('sensitivePath', { path, blockRead, blockWrite }) as SensitivePath);
  },
  /** The absolute path `sp` stands for now (`~` expanded with the current HOME, normalised). */
  absolutePath(sp: SensitivePath): string {
    return resolvePolicyPath(sp.path, '/');
  },
  /** Whether `path` (normalised, relative to `cwd` or `process.cwd()`) is `sp` or lies beneath it, by whole components. */
  covers(sp: SensitivePath, path: string, cwd?: string): boolean {
    return isWithin(resolvePolicyPath(path, cwd), SensitivePath.absolutePath(sp));
  },
});

const DEFAULT_SENSITIVE_PATH_NAMES = [
  '~/.ssh', '~/.aws', '~/.config/gcloud', '~/.azure', '~/.kube', '~/.docker', '~/.npmrc',
  '~/.pypirc', '~/.config/gh', '~/.secrets', '~/.gnupg', '~/.config/op', '~/.vault-token',
  '~/.terraform.d/credentials.tfrc.json', '~/.cargo/credentials.toml', '~/.git-credentials',
  '~/.netrc',
];

/** The 17 credential locations blocked (read and write) when a policy configures none. */
export const DEFAULT_SENSITIVE_PATHS: readonly SensitivePath[] = Object.freeze(
  DEFAULT_SENSITIVE_PATH_NAMES.map((path) => Object.freeze({ path, blockRead: true, blockWrite: true })),
);

/** Resource limits; 0 means unlimited, except `timeoutSecs` where 0 means the 300 s default. */
export interface ResourceLimits {
  readonly maxMemoryMb: number;
  readonly maxPids: number;
  readonly maxDiskMb: number;
  readonly cpuTimeSecs: number;
  /** Wall clock. */
  readonly timeoutSecs: number;
}

function limits(maxMemoryMb: number, maxPids: number, maxDiskMb: number, cpuTimeSecs: number, timeoutSecs: number): ResourceLimits {
  return Object.freeze({ maxMemoryMb, maxPids, maxDiskMb, cpuTimeSecs, timeoutSecs });
}

/** Resource-limit presets (policy-semantics.md table). Each call returns a fresh frozen object. */
export const ResourceLimits = Object.freeze({
  /** No limits, 300 s timeout. */
  default: (): ResourceLimits => limits(0, 0, 0, 0, 300),
  /** No limits at all (timeout 0 = the default 300 s where a wall clock applies). */
  unlimited: (): ResourceLimits => limits(0, 0, 0, 0, 0),
  /** 512 MB, 64 pids, 1 GB disk, 60 s CPU, 120 s timeout. */
  conservative: (): ResourceLimits => limits(512, 64, 1024, 60, 120),
  /** 2 GB, 256 pids, 4 GB disk, 300 s CPU, 600 s timeout. */
  moderate: (): ResourceLimits => limits(2048, 256, 4096, 300, 600),
  /** 8 GB, 1024 pids, 16 GB disk, unlimited CPU, 3600 s timeout. */
  generous: (): ResourceLimits => limits(8192, 1024, 16384, 0, 3600),
});

/** What a policy asks of the seccomp filter. */
export interface SeccompProfile {
  /** Syscall names refused outright (`personality` is filtered by argument by the compiler). */
  readonly blockedSyscalls: readonly string[];
  /** Let clone()/clone3() create namespaces. */
  readonly allowNamespaces: boolean;
  /** Let socket() create network (AF_INET/AF_INET6) sockets. */
  readonly allowNetworkSockets: boolean;
  /** Log instead of refusing. */
  readonly logOnly: boolean;
}

function profile(blocked: readonly string[], allowNamespaces: boolean, allowNetworkSockets: boolean, logOnly: boolean): SeccompProfile {
  return Object.freeze({ blockedSyscalls: Object.freeze([...blocked]), allowNamespaces, allowNetworkSockets, logOnly });
}

/** Seccomp presets. Each call returns a fresh frozen object. */
export const SeccompProfile = Object.freeze({
  /** The default blocklist, no namespaces, no network sockets, enforced. */
  strict: (): SeccompProfile => profile(DEFAULT_BLOCKED_SYSCALLS, false, false, false),
  /**
   * Blocks only ptrace, kexec_load, kexec_file_load, reboot; network sockets and namespaces
   * allowed (unshare/setns are not on its list, so refusing namespaces via clone would be
   * inconsistent).
   */
  permissive: (): SeccompProfile => profile(PERMISSIVE_BLOCKED_SYSCALLS, true, true, false),
  /** The strict list, logged instead of refused. */
  logging: (): SeccompProfile => profile(DEFAULT_BLOCKED_SYSCALLS, false, false, true),
  /** Same as strict (the wire default). */
  default: (): SeccompProfile => profile(DEFAULT_BLOCKED_SYSCALLS, false, false, false),
});
