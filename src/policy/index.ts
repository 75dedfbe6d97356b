// Public surface of the policy model.
export { SandboxPolicy, WRITE_PROTECTED_DIRS, type ParseOptions, type WritableRootInput } from './sandbox-policy.js';
export {
  DEFAULT_SENSITIVE_PATHS,
  NetworkAllowlistEntry,
  ResourceLimits,
  SeccompProfile,
  SensitivePath,
  type NetworkProtocol,
  type SandboxPolicyKind,
  type WritableRoot,
} from './types.js';
export {
  DEFAULT_BLOCKED_SYSCALLS,
  PERMISSIVE_BLOCKED_SYSCALLS,
  SYSCALL_TABLE,
  hasSyscall,
  runningSyscallArch,
  syscallNameProblem,
  type SyscallArch,
} from './syscalls.js';
export { canonicalDomain, domainMatches, domainPatternProblem, isIpPattern } from './domain.js';
export { expandHome, isHomeRelative, isWithin, resolvePolicyPath } from './paths.js';
export type {
  DangerFullAccessPolicyJson,
  ExternalSandboxPolicyJson,
  NetworkAllowlistEntryJson,
  ReadOnlyPolicyJson,
  ResourceLimitsJson,
  SandboxPolicyJson,
  SeccompProfileJson,
  SensitivePathJson,
  WorkspaceWritePolicyJson,
  WritableRootJson,
} from './schema.js';
