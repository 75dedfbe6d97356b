// The reference wire format (snake_case JSON with a `type` tag) and its shape checks. Every
// policy, whether parsed from JSON or built by a constructor, passes through `parseWire`
// before anything else looks at it, so one set of rules (and messages) covers both.
import { PolicyError, type PolicyIssue } from '../errors.js';
import { arrayOf, boolean, integer, nullable, object, oneOf, optional, pathJoin, string, type Shape } from './shape.js';
import { domainPatternProblem } from './domain.js';
import { isHomeRelative } from './paths.js';
import { DEFAULT_BLOCKED_SYSCALLS, syscallNameProblem } from './syscalls.js';
import type { NetworkAllowlistEntry, ResourceLimits, SandboxPolicyKind, SeccompProfile, SensitivePath, WritableRoot } from './types.js';

/** Wire form of a writable root. */
export interface WritableRootJson {
  root: string;
}
/** Wire form of an allowlist entry. */
export interface NetworkAllowlistEntryJson {
  domain: string;
  port: number;
  protocol: 'tcp' | 'udp';
}
/** Wire form of a sensitive path. */
export interface SensitivePathJson {
  path: string;
  block_read: boolean;
  block_write: boolean;
}
/** Wire form of resource limits. */
export interface ResourceLimitsJson {
  max_memory_mb: number;
  max_pids: number;
  max_disk_mb: number;
  cpu_time_secs: number;
  timeout_secs: number;
}
/** Wire form of a seccomp profile. */
export interface SeccompProfileJson {
  blocked_syscalls: string[];
  allow_namespaces: boolean;
  allow_network_sockets: boolean;
  log_only: boolean;
}
/** Wire form of a ReadOnly policy. */
export interface ReadOnlyPolicyJson {
  type: 'read_only';
  network_access: boolean;
  network_allowlist: NetworkAllowlistEntryJson[];
}
/** Wire form of a WorkspaceWrite policy. */
export interface WorkspaceWritePolicyJson {
  type: 'workspace_write';
  writable_roots: WritableRootJson[];
  network_access: boolean;
  network_allowlist: NetworkAllowlistEntryJson[];
  sensitive_paths: SensitivePathJson[] | null;
  resource_limits: ResourceLimitsJson;
  seccomp_profile: SeccompProfileJson;
  exclude_tmpdir_env_var: boolean;
  exclude_slash_tmp: boolean;
}
/** Wire form of a DangerFullAccess policy. */
export interface DangerFullAccessPolicyJson {
  type: 'danger_full_access';
}
/** Wire form of an ExternalSandbox policy. */
export interface ExternalSandboxPolicyJson {
  type: 'external_sandbox';
  description: string;
}
/** A policy in the reference wire format, fully explicit (what `toJSON()` returns). */
export type SandboxPolicyJson = ReadOnlyPolicyJson | WorkspaceWritePolicyJson | DangerFullAccessPolicyJson | ExternalSandboxPolicyJson;

/** The wire `type` tag of each variant. */
export const WIRE_TYPES: Readonly<Record<SandboxPolicyKind, SandboxPolicyJson['type']>> = Object.freeze({
  ReadOnly: 'read_only',
  WorkspaceWrite: 'workspace_write',
  DangerFullAccess: 'danger_full_access',
  ExternalSandbox: 'external_sandbox',
});

// ---------------------------------------------------------------------------------------------
// Schemas

const MSG = {
  string: 'must be a string',
  boolean: 'must be a boolean',
  array: 'must be an array',
  object: 'must be an object',
  port: 'must be an integer from 0 to 65535',
  limit: 'must be a non-negative integer',
  protocol: 'must be "tcp" or "udp"',
};

function refined(check: (s: string) => string | undefined): Shape<string> {
  return string(MSG.string, check);
}

function absolutePathProblem(p: string): string | undefined {
  if (p.length === 0) return 'must not be empty';
  if (p.includes('\0')) return 'must not contain NUL bytes';
  if (!p.startsWith('/')) return 'must be an absolute path';
  return undefined;
}

function sensitivePathProblem(p: string): string | undefined {
  if (p.length === 0) return 'must not be empty';
  if (p.includes('\0')) return 'must not contain NUL bytes';
  if (!p.startsWith('/') && !isHomeRelative(p)) return 'must be an absolute path or start with ~/';
  return undefined;
}

const DEFAULT_LIMITS_JSON: ResourceLimitsJson = { max_memory_mb: 0, max_pids: 0, max_disk_mb: 0, cpu_time_secs: 0, timeout_secs: 300 };
const strictSeccompJson = (): SeccompProfileJson => ({
  blocked_syscalls: [...DEFAULT_BLOCKED_SYSCALLS],
  allow_namespaces: false,
  allow_network_sockets: false,
  log_only: false,
});

// Strict schemas report unknown keys (reference JSON and constructors); loose ones drop them.
function buildSchemas(strict: boolean) {
  const record = (fields: Parameters<typeof object>[0]) => object(fields, MSG.object, strict ? 'report' : 'strip');
  const bool = (dflt: boolean) => optional(boolean(MSG.boolean), () => dflt);
  const limit = (dflt: number) => optional(integer(MSG.limit), () => dflt);

  const entry = record({
    domain: refined(domainPatternProblem),
    port: optional(integer(MSG.port, 0, 65535), () => 443),
    protocol: optional(oneOf(['tcp', 'udp'], MSG.protocol), () => 'tcp'),
  });
  const allowlist = optional(arrayOf(entry, MSG.array), () => []);
  const sensitivePath = record({
    path: refined(sensitivePathProblem),
    block_read: bool(true),
    block_write: bool(true),
  });
  // Absent fields inside resource_limits take the default limits' values (lenient, like the
  // whole-policy defaults); an explicit null is refused, as serde would.
  const limits = record({
    max_memory_mb: limit(DEFAULT_LIMITS_JSON.max_memory_mb),
    max_pids: limit(DEFAULT_LIMITS_JSON.max_pids),
    max_disk_mb: limit(DEFAULT_LIMITS_JSON.max_disk_mb),
    cpu_time_secs: limit(DEFAULT_LIMITS_JSON.cpu_time_secs),
    timeout_secs: limit(DEFAULT_LIMITS_JSON.timeout_secs),
  });
  const seccomp = record({
    blocked_syscalls: optional(arrayOf(refined(syscallNameProblem), MSG.array), () => [...DEFAULT_BLOCKED_SYSCALLS]),
    allow_namespaces: bool(false),
    allow_network_sockets: bool(false),
    log_only: bool(false),
  });
  const policies = {
    read_only: record({
      type: oneOf(['read_only'], 'must be "read_only"'),
      network_access: bool(false),
      network_allowlist: allowlist,
    }),
    workspace_write: record({
      type: oneOf(['workspace_write'], 'must be "workspace_write"'),
      writable_roots: arrayOf(record({ root: refined(absolutePathProblem) }), MSG.array),
      network_access: bool(false),
      network_allowlist: allowlist,
      sensitive_paths: optional(nullable(arrayOf(sensitivePath, 'must be an array or null')), () => null),
      resource_limits: optional<unknown>(limits, () => ({ ...DEFAULT_LIMITS_JSON })),
      seccomp_profile: optional<unknown>(seccomp, strictSeccompJson),
      exclude_tmpdir_env_var: bool(false),
      exclude_slash_tmp: bool(false),
    }),
    danger_full_access: record({ type: oneOf(['danger_full_access'], 'must be "danger_full_access"') }),
    external_sandbox: record({
      type: oneOf(['external_sandbox'], 'must be "external_sandbox"'),
      description: string(MSG.string),
    }),
  };
  return { entry, sensitivePath, limits, seccomp, policies };
}

const STRICT = buildSchemas(true);
const LOOSE = buildSchemas(false);

/** Runs a check from the top; throws PolicyError with its issues (each path once per message). */
function checked<T>(shape: Shape<T>, input: unknown): T {
  const issues: PolicyIssue[] = [];
  const out = shape(input, '', issues);
  if (issues.length > 0) throw new PolicyError(issues);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Errors

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null) return 'null';
  return Array.isArray(value) ? "an array" : `a ${typeof value}`;
}

/** True for a non-null, non-array object. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Runs `run`, turning anything but a PolicyError (a throwing getter or revoked Proxy in the input) into one. */
export function safely<T>(run: () => T): T {
  try {
    return run();
  } catch (error) {
    if (error instanceof PolicyError) throw error;
    throw new PolicyError([{ path: '', message: `could not be read (${error instanceof Error ? error.message : String(error)})` }]);
  }
}

// ---------------------------------------------------------------------------------------------
// Entry points

/** Validates a wire-format policy object and fills every default; throws PolicyError. */
export function parseWire(input: unknown, strict = true): SandboxPolicyJson {
  return safely(() => {
    if (!isRecord(input)) throw new PolicyError([{ path: '', message: `a policy must be a JSON object, got ${describe(input)}` }]);
    const type = input['type'];
    if (type === undefined) throw new PolicyError([{ path: 'type', message: 'required' }]);
    const schemas = strict ? STRICT.policies : LOOSE.policies;
    if (typeof type !== 'string' || !Object.hasOwn(schemas, type)) {
      throw new PolicyError([
        { path: 'type', message: `unknown policy type ${describe(type)} (expected read_only, workspace_write, danger_full_access or external_sandbox)` },
      ]);
    }
    const parsed = checked(schemas[type as keyof typeof schemas], input) as unknown as SandboxPolicyJson;
    // A workspace_write policy with the network on and no seccomp_profile gets the strict
    // profile with network sockets allowed: what workspaceWriteWithNetwork builds, and what
    // "network_access": true says. (The strict default alone would refuse every socket.)
    if (parsed.type === 'workspace_write' && input['seccomp_profile'] === undefined && (parsed.network_access || parsed.network_allowlist.length > 0)) {
      return { ...parsed, seccomp_profile: { ...parsed.seccomp_profile, allow_network_sockets: true } };
    }
    return parsed;
  });
}

/** Parses policy JSON text; bad JSON gives a PolicyError. */
export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new PolicyError([{ path: '', message: `not valid JSON (${error instanceof Error ? error.message : String(error)})` }]);
  }
}

// ---------------------------------------------------------------------------------------------
// camelCase (TS) <-> snake_case (wire)

const SENSITIVE_KEYS = { path: 'path', blockRead: 'block_read', blockWrite: 'block_write' } as const;
const LIMIT_KEYS = {
  maxMemoryMb: 'max_memory_mb',
  maxPids: 'max_pids',
  maxDiskMb: 'max_disk_mb',
  cpuTimeSecs: 'cpu_time_secs',
  timeoutSecs: 'timeout_secs',
} as const;
const SECCOMP_KEYS = {
  blockedSyscalls: 'blocked_syscalls',
  allowNamespaces: 'allow_namespaces',
  allowNetworkSockets: 'allow_network_sockets',
  logOnly: 'log_only',
} as const;

/**
 * Renames the camelCase keys of a constructor argument to their wire names. Other keys pass
 * through so strict validation reports them; a wire name used from TS (`block_read`) is
 * reported too, rather than silently accepted or silently ignored.
 */
function toWireKeys(input: unknown, keys: Readonly<Record<string, string>>, at: string, issues: PolicyIssue[]): unknown {
  if (!isRecord(input)) return input;
  const wireOnly = new Map(Object.entries(keys).filter(([camel, wire]) => camel !== wire).map(([camel, wire]) => [wire, camel]));
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(input)) {
    const camel = wireOnly.get(key);
    if (camel !== undefined) issues.push({ path: pathJoin(at, key), message: `unknown key (use ${camel})` });
    else out[Object.hasOwn(keys, key) ? (keys[key] as string) : key] = value;
  }
  return out;
}

const mapArray = (input: unknown, fn: (item: unknown, index: number) => unknown): unknown =>
  Array.isArray(input) ? input.map((item, index) => fn(item, index)) : input;

/** Arguments of the WorkspaceWrite constructors, as TS callers give them (unchecked). */
export interface WorkspaceWriteArgs {
  roots: unknown;
  allowlist?: unknown;
  sensitivePaths?: unknown;
  limits?: unknown;
  seccomp?: unknown;
}

/** Wire form of constructor arguments; `issues` collects key problems found while renaming. */
export function workspaceWriteWire(args: WorkspaceWriteArgs, issues: PolicyIssue[]): Record<string, unknown> {
  const allowlist = args.allowlist ?? [];
  return {
    type: 'workspace_write',
    writable_roots: mapArray(args.roots, (r) => (isRecord(r) ? r : { root: r })),
    network_access: Array.isArray(allowlist) && allowlist.length > 0,
    network_allowlist: allowlist,
    sensitive_paths:
      args.sensitivePaths === undefined || args.sensitivePaths === null
        ? null
        : mapArray(args.sensitivePaths, (sp, i) => toWireKeys(sp, SENSITIVE_KEYS, `sensitive_paths[${i}]`, issues)),
    resource_limits: args.limits === undefined ? { ...DEFAULT_LIMITS_JSON } : toWireKeys(args.limits, LIMIT_KEYS, 'resource_limits', issues),
    seccomp_profile: args.seccomp === undefined ? strictSeccompJson() : toWireKeys(args.seccomp, SECCOMP_KEYS, 'seccomp_profile', issues),
    exclude_tmpdir_env_var: true,
    exclude_slash_tmp: true,
  };
}

/** Validates constructor input already in wire shape, adding `issues` found while renaming. */
export function parseConstructed(wire: Record<string, unknown>, issues: readonly PolicyIssue[] = []): SandboxPolicyJson {
  let parsed: SandboxPolicyJson;
  try {
    parsed = parseWire(wire, true);
  } catch (error) {
    if (error instanceof PolicyError && issues.length > 0) throw new PolicyError([...issues, ...error.issues]);
    throw error;
  }
  if (issues.length > 0) throw new PolicyError(issues);
  return parsed;
}

/** Validates one component (allowlist entry or sensitive path) given in TS shape; returns it in TS shape. */
export function validateComponent(kind: 'networkAllowlistEntry' | 'sensitivePath', input: Record<string, unknown>): unknown {
  return safely(() => {
    const issues: PolicyIssue[] = [];
    const wire = kind === 'sensitivePath' ? toWireKeys(input, SENSITIVE_KEYS, '', issues) : input;
    const schema = kind === 'sensitivePath' ? STRICT.sensitivePath : STRICT.entry;
    const data = schema(wire, '', issues);
    if (issues.length > 0) throw new PolicyError(issues);
    return kind === 'sensitivePath' ? sensitivePathFromJson(data as unknown as SensitivePathJson) : entryFromJson(data as unknown as NetworkAllowlistEntryJson);
  });
}

/** Wire entry → TS entry (frozen). */
export const entryFromJson = (e: NetworkAllowlistEntryJson): NetworkAllowlistEntry =>
  Object.freeze({ domain: e.domain, port: e.port, protocol: e.protocol });
/** Wire sensitive path → TS (frozen). */
export const sensitivePathFromJson = (s: SensitivePathJson): SensitivePath =>
  Object.freeze({ path: s.path, blockRead: s.block_read, blockWrite: s.block_write });
/** Wire limits → TS (frozen). */
export const limitsFromJson = (l: ResourceLimitsJson): ResourceLimits =>
  Object.freeze({ maxMemoryMb: l.max_memory_mb, maxPids: l.max_pids, maxDiskMb: l.max_disk_mb, cpuTimeSecs: l.cpu_time_secs, timeoutSecs: l.timeout_secs });
/** Wire seccomp profile → TS (frozen). */
export const seccompFromJson = (s: SeccompProfileJson): SeccompProfile =>
  Object.freeze({
    blockedSyscalls: Object.freeze([...s.blocked_syscalls]),
    allowNamespaces: s.allow_namespaces,
    allowNetworkSockets: s.allow_network_sockets,
    logOnly: s.log_only,
  });
/** Wire root → TS (frozen). */
export const rootFromJson = (r: WritableRootJson): WritableRoot => Object.freeze({ root: r.root });

/** TS entry → wire. */
export const entryToJson = (e: NetworkAllowlistEntry): NetworkAllowlistEntryJson => ({ domain: e.domain, port: e.port, protocol: e.protocol });
/** TS sensitive path → wire. */
export const sensitivePathToJson = (s: SensitivePath): SensitivePathJson => ({ path: s.path, block_read: s.blockRead, block_write: s.blockWrite });
/** TS limits → wire. */
export const limitsToJson = (l: ResourceLimits): ResourceLimitsJson => ({
  max_memory_mb: l.maxMemoryMb,
  max_pids: l.maxPids,
  max_disk_mb: l.maxDiskMb,
  cpu_time_secs: l.cpuTimeSecs,
  timeout_secs: l.timeoutSecs,
});
/** TS seccomp profile → wire. */
export const seccompToJson = (s: SeccompProfile): SeccompProfileJson => ({
  blocked_syscalls: [...s.blockedSyscalls],
  allow_namespaces: s.allowNamespaces,
  allow_network_sockets: s.allowNetworkSockets,
  log_only: s.logOnly,
});
