// cordon: run untrusted commands from Node.js inside kernel-enforced Linux sandboxes.
export * from './policy/index.js';
export * from './errors.js';
export { probeKernel, type KernelInfo } from './probe.js';
export {
  spawnSandboxed,
  releaseStandbys,
  SandboxedProcess,
  type SandboxedProcessEvents,
  type FilesystemReport,
  type SeccompReport,
  type NetworkReport,
  type NetworkMode,
  type LimitsReport,
  type IsolationClass,
  type NetworkEvent,
  type ProxyOptions,
  type ResourceUsage,
  type Termination,
  type SpawnOptions,
  type StdioOption,
  type EnforcementReport,
  type LifecycleReport,
  type TreeKill,
} from './spawn.js';
export {
  execSandboxed,
  type ExecOptions,
  type ExecOptionsWithStringEncoding,
  type ExecOptionsWithBufferEncoding,
  type ExecAbortError,
  type ExecResult,
} from './exec.js';
export { clearCaches, cacheInventory, type CacheInfo } from './caches.js';
