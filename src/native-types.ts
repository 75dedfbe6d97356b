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
  // landlock: (declared by the Landlock work)
  // seccomp: (declared by the seccomp work)
  // spawn: (declared by the spawn work)
}
