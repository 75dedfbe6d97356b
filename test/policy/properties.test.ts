// Property-based tests (fast-check) of the policy model.
import fc from 'fast-check';
import { homedir } from 'node:os';
import { describe, expect, it } from 'vitest';
import { PolicyError, PolicyEscalationError } from '../../src/errors.js';
import {
  DEFAULT_BLOCKED_SYSCALLS,
  NetworkAllowlistEntry,
  ResourceLimits,
  SandboxPolicy,
  SeccompProfile,
  SensitivePath,
  SYSCALL_TABLE,
  domainMatches,
  runningSyscallArch,
} from '../../src/policy/index.js';
import { pinEnv } from './helpers.js';

pinEnv({ HOME: '/home/prop', TMPDIR: '/var/tmp/prop' });

const RUNS = { numRuns: 300 };

// ---- arbitraries --------------------------------------------------------------------------

const segment = fc.oneof(
  fc.constantFrom('a', 'b', 'src', 'proj', '.git', '.gitx', '.ssh', '.sshx', '.aws', '.config', 'gh', '.agents', 'tmp', 'home', 'prop', '..', '.', ''),
  fc.stringMatching(/^[a-zA-Z0-9._ -]{1,8}$/),
);
const relPath = fc.array(segment, { minLength: 1, maxLength: 6 }).map((s) => s.join('/'));
const absPath = fc.array(segment, { maxLength: 6 }).map((s) => `/${s.join('/')}`);
const anyQueryPath = fc.oneof(absPath, relPath, relPath.map((r) => `~/${r}`), fc.constant('~'));

const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,6}[a-z0-9])?$/);
const tld = fc.stringMatching(/^[a-z]{2,6}$/);
const hostname = fc.tuple(fc.array(label, { maxLength: 3 }), tld).map(([ls, t]) => [...ls, t].join('.'));
const domainPattern = fc.oneof(hostname, hostname.map((h) => `*.${h}`), fc.constantFrom('1.2.3.4', '::1', '[2001:db8::1]'));
const entry = fc.record({ domain: domainPattern, port: fc.integer({ min: 0, max: 65535 }), protocol: fc.constantFrom<'tcp' | 'udp'>('tcp', 'udp') });
const sensitive = fc.record({
  path: fc.oneof(absPath, relPath.map((r) => `~/${r}`), fc.constant('~')),
  blockRead: fc.boolean(),
  blockWrite: fc.boolean(),
});
const limits = fc.record({
  maxMemoryMb: fc.nat(),
  maxPids: fc.nat(),
  maxDiskMb: fc.nat(),
  cpuTimeSecs: fc.nat(),
  timeoutSecs: fc.nat(),
});
const arch = runningSyscallArch() ?? 'x86_64';
const syscallName = fc.oneof(fc.constantFrom(...DEFAULT_BLOCKED_SYSCALLS), fc.constantFrom(...Object.keys(SYSCALL_TABLE[arch])));
const seccomp = fc.record({
  blockedSyscalls: fc.array(syscallName, { maxLength: 8 }),
  allowNamespaces: fc.boolean(),
  allowNetworkSockets: fc.boolean(),
  logOnly: fc.boolean(),
});

/** Policies built through every constructor, and through parse with arbitrary flags. */
const policy: fc.Arbitrary<SandboxPolicy> = fc.oneof(
  fc.constant(SandboxPolicy.readOnly()),
  fc.constant(SandboxPolicy.readOnlyWithFullNetwork()),
  fc.array(entry, { maxLength: 3 }).map((l) => SandboxPolicy.readOnlyWithNetwork(l)),
  fc.array(absPath, { maxLength: 3 }).map((r) => SandboxPolicy.workspaceWrite(r)),
  fc.tuple(fc.array(absPath, { maxLength: 3 }), fc.array(entry, { maxLength: 3 })).map(([r, l]) => SandboxPolicy.workspaceWriteWithNetwork(r, l)),
  fc.tuple(fc.array(absPath, { maxLength: 3 }), fc.array(sensitive, { maxLength: 4 })).map(([r, s]) => SandboxPolicy.workspaceWriteWithSensitivePaths(r, s)),
  fc.array(absPath, { maxLength: 3 }).map((r) => SandboxPolicy.workspaceWriteNoSensitiveBlocking(r)),
  fc.tuple(fc.array(absPath, { maxLength: 3 }), limits).map(([r, l]) => SandboxPolicy.workspaceWriteWithLimits(r, l)),
  fc
    .tuple(fc.array(absPath, { maxLength: 3 }), fc.array(entry, { maxLength: 3 }), fc.option(fc.array(sensitive, { maxLength: 4 })), limits, seccomp)
    .map(([r, l, s, lim, sc]) => SandboxPolicy.workspaceWriteFull(r, l, s, lim, sc)),
  fc
    .record({
      roots: fc.array(absPath, { maxLength: 3 }),
      network_access: fc.boolean(),
      exclude_tmpdir_env_var: fc.boolean(),
      exclude_slash_tmp: fc.boolean(),
    })
    .map(({ roots, ...flags }) => SandboxPolicy.parse({ type: 'workspace_write', writable_roots: roots.map((root) => ({ root })), ...flags })),
  fc.constant(SandboxPolicy.fullAccess()),
  fc.string().map((d) => SandboxPolicy.externalSandbox(d)),
);

// ---- properties ---------------------------------------------------------------------------

describe('round trip', () => {
  it('parse(p.toJSON()) equals p, also through JSON text, and toJSON is stable', () => {
    fc.assert(
      fc.property(policy, (p) => {
        const again = SandboxPolicy.parse(p.toJSON());
        expect(again.equals(p)).toBe(true);
        expect(p.equals(again)).toBe(true);
        expect(again.toJSON()).toEqual(p.toJSON());
        expect(SandboxPolicy.parse(JSON.stringify(p)).equals(p)).toBe(true);
        expect(again.kind).toBe(p.kind);
      }),
      RUNS,
    );
  });

  it('queries agree between a policy and its round-tripped copy', () => {
    fc.assert(
      fc.property(policy, anyQueryPath, absPath, hostname, fc.integer({ min: 0, max: 65535 }), (p, path, cwd, host, port) => {
        const q = SandboxPolicy.parse(JSON.parse(JSON.stringify(p)) as object);
        expect(q.isPathWritable(path, cwd)).toBe(p.isPathWritable(path, cwd));
        expect(q.isPathReadable(path, cwd)).toBe(p.isPathReadable(path, cwd));
        expect(q.isPathWriteBlocked(path, cwd)).toBe(p.isPathWriteBlocked(path, cwd));
        expect(q.isNetworkAllowed(host, port)).toBe(p.isNetworkAllowed(host, port));
        expect(q.getWritableRootsWithCwd(cwd)).toEqual(p.getWritableRootsWithCwd(cwd));
        expect(q.seccompProfile()).toEqual(p.seccompProfile());
        expect(q.resourceLimits()).toEqual(p.resourceLimits());
      }),
      RUNS,
    );
  });
});

describe('component-wise path matching', () => {
  const name = fc.stringMatching(/^\.?[a-z0-9_-]{1,8}$/);
  const suffix = fc.stringMatching(/^[a-z0-9_.-]{1,4}$/).filter((s) => s !== '.' && s !== '..');

  it('~/<name><suffix> is never under ~/<name>; ~/<name>/<rest> always is', () => {
    fc.assert(
      fc.property(name, suffix, relPath, (n, s, rest) => {
        const p = SandboxPolicy.workspaceWriteWithSensitivePaths(['/w'], [SensitivePath.blocked(`~/${n}`)]);
        expect(p.isSensitivePath(`~/${n}${s}`)).toBe(false);
        expect(p.isSensitivePath(`${homedir()}/${n}${s}/x`)).toBe(false);
        expect(p.isSensitivePath(`~/${n}`)).toBe(true);
        const below = `${homedir()}/${n}/${rest}`;
        // `..` in rest may climb out of the sensitive dir; compare with a plain component count.
        const depth = rest.split('/').reduce((d, seg) => (seg === '..' ? d - 1 : seg === '' || seg === '.' ? d : d + 1), 0);
        const climbsOut = rest.split('/').reduce<{ d: number; out: boolean }>(
          (acc, seg) => {
            const d = seg === '..' ? acc.d - 1 : seg === '' || seg === '.' ? acc.d : acc.d + 1;
            return { d, out: acc.out || d < 0 };
          },
          { d: 0, out: false },
        ).out;
        if (!climbsOut && depth >= 0) expect(p.isSensitivePath(below)).toBe(true);
      }),
      RUNS,
    );
  });

  it('the default list: ~/.ssh covers ~/.ssh/** and nothing that merely shares the prefix', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9]{1,6}$/), (tail) => {
        const p = SandboxPolicy.readOnly();
        expect(p.isSensitivePath(`~/.ssh/${tail}`)).toBe(true);
        expect(p.isSensitivePath(`~/.ssh${tail}`)).toBe(false);
        expect(p.isSensitivePath(`~/.ssh/../${tail}`)).toBe(false);
      }),
      RUNS,
    );
  });
});

describe('wildcard matching', () => {
  const mixCase = (s: string, flips: boolean[]) => [...s].map((c, i) => (flips[i % Math.max(flips.length, 1)] ? c.toUpperCase() : c)).join('');

  it('*.base matches base and every name below it, in any case, with or without one trailing dot', () => {
    fc.assert(
      fc.property(hostname, fc.array(label, { maxLength: 3 }), fc.array(fc.boolean(), { minLength: 1 }), fc.boolean(), fc.boolean(), (base, sub, flips, dotQ, dotP) => {
        const pattern = mixCase(`*.${base}`, flips) + (dotP ? '.' : '');
        const query = mixCase([...sub, base].join('.'), [...flips].reverse()) + (dotQ ? '.' : '');
        expect(domainMatches(pattern, query)).toBe(true);
        const p = SandboxPolicy.readOnlyWithNetwork([NetworkAllowlistEntry.https(pattern)]);
        expect(p.isNetworkAllowed(query, 443)).toBe(true);
        expect(p.isNetworkAllowed(query, 444)).toBe(false);
      }),
      RUNS,
    );
  });

  it('never matches a name that only ends with the base text, or two trailing dots', () => {
    fc.assert(
      fc.property(hostname, label, (base, prefix) => {
        expect(domainMatches(`*.${base}`, `${prefix}${base}`)).toBe(false);
        expect(domainMatches(`*.${base}`, `${base}..`)).toBe(false);
        expect(domainMatches(base, `${prefix}.${base}`)).toBe(false);
        expect(domainMatches(base, base.toUpperCase() + '.')).toBe(true);
      }),
      RUNS,
    );
  });
});

describe('isPathWritable(p) implies !isPathWriteBlocked(p)', () => {
  it('for every policy, path and cwd', () => {
    fc.assert(
      fc.property(policy, anyQueryPath, fc.oneof(absPath, fc.constant('~/proj')), (p, path, cwd) => {
        if (p.isPathWritable(path, cwd)) expect(p.isPathWriteBlocked(path, cwd)).toBe(false);
        if (p.kind === 'ReadOnly') expect(p.isPathWritable(path, cwd)).toBe(false);
        if (p.hasFullDiskWriteAccess()) expect(p.isPathWritable(path, cwd)).toBe(true);
      }),
      RUNS,
    );
  });

  it('WorkspaceWrite: writable iff under a writable root and not blocked', () => {
    fc.assert(
      fc.property(policy.filter((p) => p.kind === 'WorkspaceWrite'), anyQueryPath, absPath, (p, path, cwd) => {
        const underRoot = p.getWritableRootsWithCwd(cwd).some((r) => SensitivePath.covers({ path: r.root, blockRead: true, blockWrite: true }, path, cwd));
        expect(p.isPathWritable(path, cwd)).toBe(underRoot && !p.isPathWriteBlocked(path, cwd));
      }),
      RUNS,
    );
  });
});

describe('canSet table', () => {
  it('refuses exactly ReadOnly -> WorkspaceWrite | DangerFullAccess', () => {
    fc.assert(
      fc.property(policy, policy, (from, to) => {
        const refused = from.kind === 'ReadOnly' && (to.kind === 'WorkspaceWrite' || to.kind === 'DangerFullAccess');
        if (refused) expect(() => from.canSet(to)).toThrow(PolicyEscalationError);
        else expect(() => from.canSet(to)).not.toThrow();
      }),
      RUNS,
    );
  });
});

describe('bad input never escapes as anything but a PolicyError', () => {
  it('parse(anything)', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.json(), fc.string()), (value) => {
        try {
          SandboxPolicy.parse(value as object);
        } catch (error) {
          expect(error).toBeInstanceOf(PolicyError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('parse of mutated valid policies', () => {
    const field = fc.constantFrom('type', 'writable_roots', 'network_access', 'network_allowlist', 'sensitive_paths', 'resource_limits', 'seccomp_profile', 'exclude_slash_tmp', 'description');
    fc.assert(
      fc.property(policy, field, fc.anything(), fc.boolean(), (p, key, value, strict) => {
        const json = { ...(p.toJSON() as unknown as Record<string, unknown>), [key]: value };
        try {
          const q = SandboxPolicy.parse(json, { strict });
          expect(SandboxPolicy.parse(q.toJSON()).equals(q)).toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(PolicyError);
          expect((error as PolicyError).issues.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('every constructor with arbitrary arguments', () => {
    const ctors: ((...a: unknown[]) => unknown)[] = [
      (a) => SandboxPolicy.readOnlyWithNetwork(a as never),
      (a) => SandboxPolicy.workspaceWrite(a as never),
      (a, b) => SandboxPolicy.workspaceWriteWithNetwork(a as never, b as never),
      (a, b) => SandboxPolicy.workspaceWriteWithSensitivePaths(a as never, b as never),
      (a) => SandboxPolicy.workspaceWriteNoSensitiveBlocking(a as never),
      (a, b) => SandboxPolicy.workspaceWriteWithLimits(a as never, b as never),
      (a, b, c, d, e) => SandboxPolicy.workspaceWriteFull(a as never, b as never, c as never, d as never, e as never),
      (a) => SandboxPolicy.externalSandbox(a as never),
      (a) => NetworkAllowlistEntry.https(a as never),
      (a, b, c) => NetworkAllowlistEntry.withPort(a as never, b as never, c as never),
      (a) => SensitivePath.blocked(a as never),
      (a, b, c) => SensitivePath.of(a as never, b as never, c as never),
    ];
    fc.assert(
      fc.property(fc.constantFrom(...ctors), fc.array(fc.anything(), { minLength: 5, maxLength: 5 }), (ctor, args) => {
        try {
          ctor(...args);
        } catch (error) {
          expect(error).toBeInstanceOf(PolicyError);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('queries with arbitrary arguments', () => {
    fc.assert(
      fc.property(policy, fc.anything(), fc.anything(), (p, a, b) => {
        for (const q of [
          () => p.isPathWritable(a as never, b as never),
          () => p.isPathWriteBlocked(a as never, b as never),
          () => p.isPathReadable(a as never, b as never),
          () => p.isSensitivePath(a as never),
          () => p.getWritableRootsWithCwd(a as never),
          () => p.sensitivePathsForExecution(a as never),
          () => p.isNetworkAllowed(a as never, b as never),
          () => p.canSet(a as never),
          () => p.equals(a as never),
        ]) {
          try {
            q();
          } catch (error) {
            expect(error).toBeInstanceOf(PolicyError);
          }
        }
      }),
      RUNS,
    );
  });
});

describe('presets are unaffected by callers', () => {
  it('mutating returned values throws and changes nothing', () => {
    fc.assert(
      fc.property(policy, (p) => {
        const before = JSON.stringify(p);
        expect(() => (p.resourceLimits() as { maxPids: number }).maxPids++).toThrow();
        expect(() => (p.seccompProfile().blockedSyscalls as string[]).push('x')).toThrow();
        expect(() => (p.networkAllowlist() as unknown[]).push(1)).toThrow();
        expect(JSON.stringify(p)).toBe(before);
        expect(ResourceLimits.default().timeoutSecs).toBe(300);
        expect(SeccompProfile.strict().blockedSyscalls).toEqual(DEFAULT_BLOCKED_SYSCALLS);
      }),
      { numRuns: 50 },
    );
  });
});
