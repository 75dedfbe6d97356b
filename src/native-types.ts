// The raw binding, declared once (what native/binding.cc exports). Public types live elsewhere.

export interface NativeKernelProbe {
  landlockAbi: number;
  landlockErrno: number;
  landlockErrata: number;
  seccompFilter: boolean;
  seccompKillProcess: boolean;
  seccompLog: boolean;
  seccompUserNotif: boolean;
  userNamespaces: boolean;
  userNamespacesErrno: number;
  mountNamespace: boolean;
  pidNamespace: boolean;
  networkNamespace: boolean;
  ipcNamespace: boolean;
  x32Syscalls: boolean;
  pidfd: boolean;
  closeRange: boolean;
  isRoot: boolean;
  arch: string;
  release: string;
  cgroupV2: {
    mounted: boolean;
    mountPoint: string;
    ownCgroup: string;
    writable: boolean;
    controllers: string;
    hasKill: boolean;
  };
  cgroupV1: { memoryDir: string; memoryWritable: boolean; pidsDir: string; pidsWritable: boolean };
}

export interface NativeBinding {
  probeKernel(): NativeKernelProbe;
  // landlock: createRuleset -> O_CLOEXEC ruleset fd; masks are the LANDLOCK_ACCESS_*/SCOPE_* bits (native/landlock.h)
  landlock: { createRuleset(spec: { handledAccessFs: number; handledAccessNet?: number; scoped?: number; pathRules: { path: string; access: number }[]; netRules?: { port: number; access: number }[] }): number; closeRuleset(fd: number): void; abiVersion(): number; mountFlags(path: string): number };
  // seccomp: rule data -> struct sock_filter[] bytes (native/bpf.h); throws EINVAL/E2BIG with the reason
  compileSeccompProgram(spec: import('./seccomp/spec.js').NativeSeccompSpec): Buffer;
  // spawn: (declared by the spawn work)
}
