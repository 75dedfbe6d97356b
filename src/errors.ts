// Typed errors. Every error cordon throws or emits is one of these, or a Node-shaped
// system error (code/errno/syscall/path) for failures that Node's child_process would
// report the same way (ENOENT, EACCES, ...).

/** Base class: every cordon error has a stable string `code`. */
export class CordonError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** One problem found while validating a policy or options. `path` is the field path. */
export interface PolicyIssue {
  path: string;
  message: string;
}

/** A policy (or spawn option) failed validation. The message names every bad field and why. */
export class PolicyError extends CordonError {
  readonly issues: readonly PolicyIssue[];
  constructor(issues: readonly PolicyIssue[], prefix = 'invalid sandbox policy') {
    const detail = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
    super('ERR_CORDON_POLICY', `${prefix}: ${detail}`);
    this.issues = issues;
  }
}

/** `canSet` refused a policy change that would widen the sandbox. */
export class PolicyEscalationError extends CordonError {
  constructor(message: string) {
    super('ERR_CORDON_POLICY_ESCALATION', message);
  }
}

/** The native addon is not available on this platform (cordon enforces on Linux only). */
export class UnsupportedPlatformError extends CordonError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('ERR_CORDON_UNSUPPORTED_PLATFORM', message, options);
  }
}

/**
 * A protection the policy asks for cannot be enforced on this kernel and the caller asked
 * for strict enforcement (the default). Nothing was spawned. `missing` names each protection.
 */
export class EnforcementError extends CordonError {
  readonly missing: readonly string[];
  constructor(missing: readonly string[]) {
    super(
      'ERR_CORDON_NOT_ENFORCEABLE',
      `cannot enforce the sandbox policy on this kernel (strict mode): ${missing.join('; ')}. ` +
        `Pass enforcement: 'best-effort' to run with the protections that are available.`,
    );
    this.missing = missing;
  }
}

/**
 * The sandbox could not be set up (a step between clone and execve failed, or the host-side
 * cgroup for its limits). `step` (also `syscall`) names the step; `errno` is what the kernel
 * said, negative as Node's own errors have it (-2), and `errnoName` its name ('ENOENT').
 */
export class SandboxSetupError extends CordonError {
  readonly step: string;
  readonly errno: number;
  readonly errnoName: string;
  readonly syscall: string;
  constructor(step: string, errno: number, errnoName: string, message: string) {
    super('ERR_CORDON_SANDBOX_SETUP', message);
    this.step = step;
    // Negative whatever the caller passed: native reports -errno, an fs error's errno is negative,
    // a raw errno is positive.
    this.errno = -Math.abs(errno);
    this.errnoName = errnoName;
    this.syscall = step;
  }
}

/** Invalid spawn options (not policy). Same shape as PolicyError, distinct class for callers. */
export class SpawnOptionsError extends PolicyError {
  constructor(issues: readonly PolicyIssue[]) {
    super(issues, 'invalid spawn options');
    (this as { code: string }).code = 'ERR_CORDON_INVALID_OPTIONS';
  }
}
