// SandboxPolicy: what a sandboxed command may touch. Mirrors the `SandboxPolicy` enum of the
// Rust crate vtcode-safety (docs: policy-semantics.md), with cordon's improvements:
// case-insensitive allowlist matching that ignores one trailing dot, `.`/`..` normalisation
// before any path comparison, and /tmp and $TMPDIR writable unless excluded.
import { posix } from 'node:path';
import { PolicyError, PolicyEscalationError, type PolicyIssue } from '../errors.js';
import { canonicalDomain, domainMatches } from './domain.js';
import { isConfiningKind } from './kinds.js';
import { canonicalConfiguredPath, isWithin, resolvePolicyPath } from './paths.js';
import {
  WIRE_TYPES,
  entryFromJson,
  entryToJson,
  isRecord,
  limitsFromJson,
  limitsToJson,
  parseConstructed,
  parseJsonText,
  parseWire,
  safely,
  rootFromJson,
  seccompFromJson,
  seccompToJson,
  sensitivePathFromJson,
  sensitivePathToJson,
  workspaceWriteWire,
  type SandboxPolicyJson,
  type WorkspaceWriteArgs,
} from './schema.js';
import {
  DEFAULT_SENSITIVE_PATHS,
  ResourceLimits,
  SeccompProfile,
  type NetworkAllowlistEntry,
  type SandboxPolicyKind,
  type SensitivePath,
  type WritableRoot,
} from './types.js';

/** Directories inside every writable root that stay readable but are never writable. */
export const WRITE_PROTECTED_DIRS: readonly string[] = Object.freeze(['.git', '.vtcode', '.codex', '.agents']);

/** Options of `SandboxPolicy.parse`. */
export interface ParseOptions {
  /** Refuse unknown keys (default true). With false they are ignored. */
  strict?: boolean;
}

/** A writable-root argument: a path, or a `WritableRoot` (so `policy.writableRoots` can be passed back in). */
export type WritableRootInput = string | WritableRoot;

const KIND_OF: Readonly<Record<SandboxPolicyJson['type'], SandboxPolicyKind>> = Object.freeze({
  read_only: 'ReadOnly',
  workspace_write: 'WorkspaceWrite',
  danger_full_access: 'DangerFullAccess',
  external_sandbox: 'ExternalSandbox',
});

const DESCRIPTIONS: Readonly<Record<SandboxPolicyKind, string>> = Object.freeze({
  ReadOnly: 'read-only access',
  WorkspaceWrite: 'workspace write access',
  DangerFullAccess: 'full access (dangerous)',
  ExternalSandbox: 'external sandbox',
});

const TOKEN = Symbol('SandboxPolicy.construct');
const EMPTY: readonly never[] = Object.freeze([]);

function argumentError(path: string, message: string): PolicyError {
  return new PolicyError([{ path, message }], 'invalid argument');
}

function stringArg(value: unknown, name: string): string {
  if (typeof value !== 'string') throw argumentError(name, 'must be a string');
  return value;
}

function requireArg(value: unknown, path: string, issues: PolicyIssue[]): void {
  if (value === undefined) issues.push({ path, message: 'required' });
}

function isNonEmptyArray(value: unknown): boolean {
  return Array.isArray(value) && value.length > 0;
}

/**
 * An immutable sandbox policy: one of ReadOnly, WorkspaceWrite, DangerFullAccess or
 * ExternalSandbox. Build it with the static constructors or `SandboxPolicy.parse(json)`.
 */
export class SandboxPolicy {
  /** The variant. */
  readonly kind: SandboxPolicyKind;
  readonly #wire: SandboxPolicyJson;
  readonly #allowlist: readonly NetworkAllowlistEntry[];
  readonly #roots: readonly WritableRoot[];
  readonly #sensitive: readonly SensitivePath[] | null;

  private constructor(token: symbol, wire: SandboxPolicyJson) {
    if (token !== TOKEN) throw argumentError('', 'build a SandboxPolicy with its static constructors or SandboxPolicy.parse()');
    this.kind = KIND_OF[wire.type];
    this.#wire = wire;
    this.#allowlist =
      wire.type === 'read_only' || wire.type === 'workspace_write' ? Object.freeze(wire.network_allowlist.map(entryFromJson)) : EMPTY;
    this.#roots = wire.type === 'workspace_write' ? Object.freeze(wire.writable_roots.map(rootFromJson)) : EMPTY;
    this.#sensitive =
      wire.type === 'workspace_write' && wire.sensitive_paths !== null ? Object.freeze(wire.sensitive_paths.map(sensitivePathFromJson)) : null;
    Object.freeze(this);
  }

  static #of(wire: SandboxPolicyJson): SandboxPolicy {
    return new SandboxPolicy(TOKEN, wire);
  }

  static #workspace(args: WorkspaceWriteArgs, issues: PolicyIssue[] = []): SandboxPolicy {
    return safely(() => SandboxPolicy.#of(parseConstructed(workspaceWriteWire(args, issues), issues)));
  }

  // -------------------------------------------------------------------------------------------
  // Constructors

  /** Read-only, no network. */
  static readOnly(): SandboxPolicy {
    return SandboxPolicy.#of({ type: 'read_only', network_access: false, network_allowlist: [] });
  }

  /** Alias of `readOnly()` (the reference keeps it for backwards compatibility). */
  static newReadOnlyPolicy(): SandboxPolicy {
    return SandboxPolicy.readOnly();
  }

  /** Read-only with a network allowlist; network is on iff the list is non-empty. */
  static readOnlyWithNetwork(networkAllowlist: readonly NetworkAllowlistEntry[]): SandboxPolicy {
    const issues: PolicyIssue[] = [];
    requireArg(networkAllowlist, 'network_allowlist', issues);
    return safely(() =>
      SandboxPolicy.#of(
        parseConstructed({ type: 'read_only', network_access: isNonEmptyArray(networkAllowlist), network_allowlist: networkAllowlist }, issues),
      ),
    );
  }

  /** Read-only with unrestricted network. */
  static readOnlyWithFullNetwork(): SandboxPolicy {
    return SandboxPolicy.#of({ type: 'read_only', network_access: true, network_allowlist: [] });
  }

  /** Writes below `writableRoots` (and cwd); no network, default sensitive paths and limits, strict seccomp, /tmp and $TMPDIR excluded. */
  static workspaceWrite(writableRoots: readonly WritableRootInput[]): SandboxPolicy {
    return SandboxPolicy.#workspace({ roots: writableRoots });
  }

  /** As `workspaceWrite`, network on iff the allowlist is non-empty, seccomp strict with network sockets allowed. */
  static workspaceWriteWithNetwork(writableRoots: readonly WritableRootInput[], networkAllowlist: readonly NetworkAllowlistEntry[]): SandboxPolicy {
    const issues: PolicyIssue[] = [];
    requireArg(networkAllowlist, 'network_allowlist', issues);
    return SandboxPolicy.#workspace(
      { roots: writableRoots, allowlist: networkAllowlist ?? [], seccomp: { ...SeccompProfile.strict(), allowNetworkSockets: true } },
      issues,
    );
  }

  /** As `workspaceWrite`, with an explicit sensitive-path list instead of the defaults. */
  static workspaceWriteWithSensitivePaths(writableRoots: readonly WritableRootInput[], sensitivePaths: readonly SensitivePath[]): SandboxPolicy {
    return safely(() => {
      const issues: PolicyIssue[] = [];
      const isArray = Array.isArray(sensitivePaths);
      if (!isArray) issues.push({ path: 'sensitive_paths', message: sensitivePaths === undefined ? 'required' : 'must be an array' });
      return SandboxPolicy.#workspace({ roots: writableRoots, sensitivePaths: isArray ? sensitivePaths : [] }, issues);
    });
  }

  /** As `workspaceWrite`, with NO sensitive paths blocked (dangerous: credentials become readable). */
  static workspaceWriteNoSensitiveBlocking(writableRoots: readonly WritableRootInput[]): SandboxPolicy {
    return SandboxPolicy.#workspace({ roots: writableRoots, sensitivePaths: [] });
  }

  /** As `workspaceWrite`, with the given resource limits. */
  static workspaceWriteWithLimits(writableRoots: readonly WritableRootInput[], resourceLimits: ResourceLimits): SandboxPolicy {
    const issues: PolicyIssue[] = [];
    requireArg(resourceLimits, 'resource_limits', issues);
    return SandboxPolicy.#workspace({ roots: writableRoots, limits: resourceLimits }, issues);
  }

  /**
   * Fully configured WorkspaceWrite: network on iff the allowlist is non-empty; `sensitivePaths`
   * null/undefined means the defaults; /tmp and $TMPDIR excluded.
   */
  static workspaceWriteFull(
    writableRoots: readonly WritableRootInput[],
    networkAllowlist: readonly NetworkAllowlistEntry[],
    sensitivePaths: readonly SensitivePath[] | null | undefined,
    resourceLimits: ResourceLimits,
    seccompProfile: SeccompProfile,
  ): SandboxPolicy {
    const issues: PolicyIssue[] = [];
    requireArg(networkAllowlist, 'network_allowlist', issues);
    requireArg(resourceLimits, 'resource_limits', issues);
    requireArg(seccompProfile, 'seccomp_profile', issues);
    return SandboxPolicy.#workspace(
      { roots: writableRoots, allowlist: networkAllowlist ?? [], sensitivePaths, limits: resourceLimits, seccomp: seccompProfile },
      issues,
    );
  }

  /** No restrictions at all (dangerous). */
  static fullAccess(): SandboxPolicy {
    return SandboxPolicy.#of({ type: 'danger_full_access' });
  }

  /** The caller sandboxes the command itself (a VM, a container); cordon applies nothing. */
  static externalSandbox(description: string): SandboxPolicy {
    return SandboxPolicy.#of(parseConstructed({ type: 'external_sandbox', description }));
  }

  /** The default policy: read-only, no network. */
  static default(): SandboxPolicy {
    return SandboxPolicy.readOnly();
  }

  /**
   * Loads a policy in the reference wire format: JSON text or an already-parsed object (a
   * SandboxPolicy is returned as is). Unknown keys are refused unless `strict: false`.
   * Throws PolicyError naming every bad field.
   */
  static parse(json: string | object, options: ParseOptions = {}): SandboxPolicy {
    return safely(() => {
      if (json instanceof SandboxPolicy) return json;
      const strict = isRecord(options) && options.strict === false ? false : true;
      const value = typeof json === 'string' ? parseJsonText(json) : json;
      return SandboxPolicy.#of(parseWire(value, strict));
    });
  }

  // -------------------------------------------------------------------------------------------
  // Configured fields (for the enforcement layer)

  /** The configured writable roots (WorkspaceWrite), without cwd, /tmp or $TMPDIR; empty otherwise. */
  get writableRoots(): readonly WritableRoot[] {
    return this.#roots;
  }

  /** The configured network flag; true for DangerFullAccess and ExternalSandbox (nothing restricts them). */
  get networkAccess(): boolean {
    const w = this.#wire;
    return w.type === 'read_only' || w.type === 'workspace_write' ? w.network_access : true;
  }

  /** WorkspaceWrite's `exclude_tmpdir_env_var`; false for the other variants. */
  get excludeTmpdirEnvVar(): boolean {
    return this.#wire.type === 'workspace_write' ? this.#wire.exclude_tmpdir_env_var : false;
  }

  /** WorkspaceWrite's `exclude_slash_tmp`; false for the other variants. */
  get excludeSlashTmp(): boolean {
    return this.#wire.type === 'workspace_write' ? this.#wire.exclude_slash_tmp : false;
  }

  /** ExternalSandbox's own description; undefined for the other variants. */
  get externalDescription(): string | undefined {
    return this.#wire.type === 'external_sandbox' ? this.#wire.description : undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Network

  /** Unrestricted network: network on and no allowlist (always for DangerFullAccess/ExternalSandbox). */
  hasFullNetworkAccess(): boolean {
    if (!this.#confining()) return true;
    return this.networkAccess && this.#allowlist.length === 0;
  }

  /** Whether egress is limited to an allowlist (a non-empty one). */
  hasNetworkAllowlist(): boolean {
    return this.#allowlist.length > 0;
  }

  /** The allowlist entries (empty for DangerFullAccess/ExternalSandbox). */
  networkAllowlist(): readonly NetworkAllowlistEntry[] {
    return this.#allowlist;
  }

  /**
   * Whether a connection to `domain:port` is permitted. An empty allowlist defers to the network
   * flag; otherwise some entry must match the domain (case-insensitive, one trailing dot
   * ignored, `*.` covering the base name and everything below) and equal the port.
   */
  isNetworkAllowed(domain: string, port: number): boolean {
    stringArg(domain, 'domain');
    if (typeof port !== 'number') throw argumentError('port', 'must be a number');
    if (!this.#confining()) return true;
    if (this.#allowlist.length === 0) return this.networkAccess;
    return this.#allowlist.some((entry) => entry.port === port && domainMatches(entry.domain, domain));
  }

  // -------------------------------------------------------------------------------------------
  // Paths

  /** The effective sensitive paths: ReadOnly → defaults; WorkspaceWrite → its list or the defaults; others → none. */
  sensitivePaths(): readonly SensitivePath[] {
    switch (this.kind) {
      case 'ReadOnly':
        return DEFAULT_SENSITIVE_PATHS;
      case 'WorkspaceWrite':
        return this.#sensitive ?? DEFAULT_SENSITIVE_PATHS;
      default:
        return EMPTY;
    }
  }

  /**
   * `sensitivePaths()` plus, for WorkspaceWrite, `<root>/.git`, `.vtcode`, `.codex`, `.agents`
   * (readable, never writable) for every writable root including cwd.
   */
  sensitivePathsForExecution(cwd: string): readonly SensitivePath[] {
    stringArg(cwd, 'cwd');
    const base = this.sensitivePaths();
    if (this.kind !== 'WorkspaceWrite') return base;
    const extra = this.getWritableRootsWithCwd(cwd).flatMap((r) =>
      WRITE_PROTECTED_DIRS.map((dir) => Object.freeze({ path: posix.join(r.root, dir), blockRead: false, blockWrite: true })),
    );
    return Object.freeze([...base, ...extra]);
  }

  /** Whether reads of `path` are blocked by some sensitive path (relative paths resolve against `cwd`, else process.cwd()). */
  isSensitivePath(path: string, cwd?: string): boolean {
    const p = this.#query(path, cwd);
    return this.sensitivePaths().some((sp) => sp.blockRead && isWithin(p, resolvePolicyPath(sp.path, '/')));
  }

  /** Whether writes to `path` are blocked (sensitive or write-protected); never for DangerFullAccess/ExternalSandbox. */
  isPathWriteBlocked(path: string, cwd: string): boolean {
    const p = this.#query(path, cwd);
    if (!this.#confining()) return false;
    return this.sensitivePathsForExecution(cwd).some((sp) => sp.blockWrite && isWithin(p, resolvePolicyPath(sp.path, '/')));
  }

  /** Whether `path` may be read: always for DangerFullAccess/ExternalSandbox, else when not sensitive. */
  isPathReadable(path: string, cwd?: string): boolean {
    const sensitive = this.isSensitivePath(path, cwd);
    return !this.#confining() || !sensitive;
  }

  /** Only DangerFullAccess and ExternalSandbox may write anywhere. */
  hasFullDiskWriteAccess(): boolean {
    return !this.#confining();
  }

  /** Always true: reads are limited by sensitive paths only. */
  hasFullDiskReadAccess(): boolean {
    return true;
  }

  /**
   * The writable roots for a command run in `cwd` (normalised, no duplicates): ReadOnly → none;
   * WorkspaceWrite → its roots, cwd, then /tmp unless `excludeSlashTmp` and $TMPDIR (read now;
   * ignored when unset or relative) unless `excludeTmpdirEnvVar`; the other two → [cwd].
   */
  getWritableRootsWithCwd(cwd: string): readonly WritableRoot[] {
    const dir = resolvePolicyPath(stringArg(cwd, 'cwd'));
    if (this.kind === 'ReadOnly') return EMPTY;
    if (!this.#confining()) return Object.freeze([Object.freeze({ root: dir })]);
    const candidates = this.#roots.map((r) => resolvePolicyPath(r.root, '/'));
    candidates.push(dir);
    if (!this.excludeSlashTmp) candidates.push('/tmp');
    const tmpdir = process.env['TMPDIR'];
    if (!this.excludeTmpdirEnvVar && tmpdir !== undefined && tmpdir.startsWith('/')) candidates.push(resolvePolicyPath(tmpdir, '/'));
    return Object.freeze([...new Set(candidates)].map((root) => Object.freeze({ root })));
  }

  /** Whether `path` may be written: ReadOnly never; WorkspaceWrite below a writable root and not write-blocked; the other two always. */
  isPathWritable(path: string, cwd: string): boolean {
    const p = this.#query(path, cwd);
    switch (this.kind) {
      case 'ReadOnly':
        return false;
      case 'WorkspaceWrite':
        return this.getWritableRootsWithCwd(cwd).some((r) => isWithin(p, r.root)) && !this.isPathWriteBlocked(path, cwd);
      default:
        return true;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Limits and seccomp

  /** ReadOnly → conservative preset; WorkspaceWrite → its own; the other two → unlimited. */
  resourceLimits(): ResourceLimits {
    const w = this.#wire;
    if (w.type === 'workspace_write') return limitsFromJson(w.resource_limits);
    return w.type === 'read_only' ? ResourceLimits.conservative() : ResourceLimits.unlimited();
  }

  /** ReadOnly → strict (network sockets allowed when it has network or an allowlist); WorkspaceWrite → its own; the other two → permissive. */
  seccompProfile(): SeccompProfile {
    const w = this.#wire;
    if (w.type === 'workspace_write') return seccompFromJson(w.seccomp_profile);
    if (w.type === 'read_only') {
      const strict = SeccompProfile.strict();
      return w.network_access || w.network_allowlist.length > 0 ? Object.freeze({ ...strict, allowNetworkSockets: true }) : strict;
    }
    return SeccompProfile.permissive();
  }

  // -------------------------------------------------------------------------------------------
  // Escalation, identity, wire

  /**
   * Checks that switching from this policy to `newPolicy` is allowed; throws
   * PolicyEscalationError when not. From DangerFullAccess anything goes; from ReadOnly,
   * WorkspaceWrite and DangerFullAccess are refused; every other move is allowed (as in the
   * reference: ExternalSandbox is the caller's own responsibility).
   */
  canSet(newPolicy: SandboxPolicy): void {
    if (!isPolicy(newPolicy)) throw argumentError('newPolicy', 'must be a SandboxPolicy');
    if (this.kind === 'ReadOnly' && (newPolicy.kind === 'WorkspaceWrite' || newPolicy.kind === 'DangerFullAccess')) {
      throw new PolicyEscalationError(`cannot escalate from read-only to write-capable policy (${newPolicy.description()})`);
    }
  }

  /** The reference's fixed description of the variant ("read-only access", ...). */
  description(): string {
    return DESCRIPTIONS[this.kind];
  }

  /**
   * Same policy: equal normalised wire forms (defaults filled in, paths lexically normalised,
   * domains lower-cased without trailing dot). List order counts.
   */
  equals(other: SandboxPolicy): boolean {
    return isPolicy(other) && (other === this || canonicalKey(this.toJSON()) === canonicalKey(other.toJSON()));
  }

  /** The fully explicit reference wire form (every field written); a fresh object each call. */
  toJSON(): SandboxPolicyJson {
    const w = this.#wire;
    switch (w.type) {
      case 'read_only':
        return { type: 'read_only', network_access: w.network_access, network_allowlist: this.#allowlist.map(entryToJson) };
      case 'workspace_write':
        return {
          type: 'workspace_write',
          writable_roots: this.#roots.map((r) => ({ root: r.root })),
          network_access: w.network_access,
          network_allowlist: this.#allowlist.map(entryToJson),
          sensitive_paths: this.#sensitive === null ? null : this.#sensitive.map(sensitivePathToJson),
          resource_limits: limitsToJson(limitsFromJson(w.resource_limits)),
          seccomp_profile: seccompToJson(seccompFromJson(w.seccomp_profile)),
          exclude_tmpdir_env_var: w.exclude_tmpdir_env_var,
          exclude_slash_tmp: w.exclude_slash_tmp,
        };
      case 'danger_full_access':
        return { type: 'danger_full_access' };
      case 'external_sandbox':
        return { type: 'external_sandbox', description: w.description };
    }
  }

  /** The description, for logs. */
  toString(): string {
    return `SandboxPolicy(${WIRE_TYPES[this.kind]}: ${this.description()})`;
  }

  #confining(): boolean {
    return isConfiningKind(this.kind);
  }

  #query(path: unknown, cwd: unknown): string {
    const p = stringArg(path, 'path');
    if (cwd !== undefined) stringArg(cwd, 'cwd');
    return resolvePolicyPath(p, cwd as string | undefined);
  }
}

// `instanceof` throws on a revoked Proxy; an argument check must not.
function isPolicy(value: unknown): value is SandboxPolicy {
  try {
    return value instanceof SandboxPolicy;
  } catch {
    return false;
  }
}

function canonicalKey(w: SandboxPolicyJson): string {
  const entries = (list: readonly { domain: string; port: number; protocol: string }[]) =>
    list.map((e) => ({ domain: canonicalDomain(e.domain), port: e.port, protocol: e.protocol }));
  switch (w.type) {
    case 'read_only':
      return JSON.stringify({ ...w, network_allowlist: entries(w.network_allowlist) });
    case 'workspace_write':
      return JSON.stringify({
        ...w,
        writable_roots: w.writable_roots.map((r) => ({ root: canonicalConfiguredPath(r.root) })),
        network_allowlist: entries(w.network_allowlist),
        sensitive_paths: w.sensitive_paths === null ? null : w.sensitive_paths.map((s) => ({ ...s, path: canonicalConfiguredPath(s.path) })),
      });
    default:
      return JSON.stringify(w);
  }
}
