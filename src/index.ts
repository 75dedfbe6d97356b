// cordon: run untrusted commands from Node.js inside kernel-enforced Linux sandboxes.
export * from './policy/index.js';
export * from './errors.js';
export { probeKernel, type KernelInfo } from './probe.js';
export {
  spawnSandboxed,
  execSandboxed,
  releaseStandbys,
  SandboxedProcess,
  type ExecOptions,
  type ExecResult,
  type ResourceUsage,
  type Termination,
  type SpawnOptions,
  type StdioOption,
  type EnforcementReport,
  type LifecycleReport,
  type TreeKill,
} from './spawn.js';
