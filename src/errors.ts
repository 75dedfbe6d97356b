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
 * The sandbox could not be set up in the child (a step between clone and execve failed).
 * `step` names the step, `errno`/`syscallCode` what the kernel said.
 */
export class SandboxSetupError extends CordonError {
  readonly step: string;
  readonly errno: number;
  readonly syscall: string;
  constructor(step: string, errno: number, errName: string, message: string) {
    super('ERR_CORDON_SANDBOX_SETUP', message);
    this.step = step;
    this.errno = errno;
    this.syscall = step;
    Object.defineProperty(this, 'errnoName', { value: errName, enumerable: true });
  }
}

/** Invalid spawn options (not policy). Same shape as PolicyError, distinct class for callers. */
export class SpawnOptionsError extends PolicyError {
  constructor(issues: readonly PolicyIssue[]) {
    super(issues, 'invalid spawn options');
    (this as { code: string }).code = 'ERR_CORDON_INVALID_OPTIONS';
  }
}
