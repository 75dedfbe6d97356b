// The native compiler (native/bpf.cc) on its own: rule data in, BPF out. Every program is run by
// the test interpreter and compared with the reference meaning of the spec.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { native } from '../../src/native.js';
import {
  AUDIT_ARCH_AARCH64,
  AUDIT_ARCH_ARM,
  AUDIT_ARCH_I386,
  AUDIT_ARCH_X86_64,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_KILL_THREAD,
  SECCOMP_RET_LOG,
  SECCOMP_RET_TRACE,
  SECCOMP_RET_TRAP,
  SECCOMP_RET_USER_NOTIF,
  retErrno,
  type NativeArgCheck,
  type NativeSeccompRule,
  type NativeSeccompSpec,
} from '../../src/seccomp/spec.js';
import { actionName, decode, disassemble, run, verify } from './bpf-interpreter.js';
import { auditArch, referenceDecision } from './reference.js';

const compile = (spec: NativeSeccompSpec): Buffer => native().compileSeccompProgram(spec);
const EPERM = retErrno(1);
const ALLOW = SECCOMP_RET_ALLOW;

/** Syscalls the child needs after install (native/bpf.cc IsInstallPathSyscall). */
const INSTALL_PATH = { x86_64: [1, 14, 59, 60, 231], aarch64: [64, 93, 94, 135, 221] } as const;

function expectSame(spec: NativeSeccompSpec, program: Buffer, data: Parameters<typeof run>[1]): void {
  const got = run(program, data).action;
  const want = referenceDecision(spec, data);
  if (got !== want) {
    throw new Error(
      `nr ${data.nr} arch 0x${(data.arch >>> 0).toString(16)} args ${JSON.stringify((data.args ?? []).map(String))}: ` +
        `BPF says ${actionName(got)}, spec says ${actionName(want)}\n${disassemble(program)}`,
    );
  }
}

describe('layout', () => {
  test.each(['x86_64', 'aarch64'] as const)('%s: empty rule list is the arch (and x32) check only', (arch) => {
    const spec: NativeSeccompSpec = { arch, rules: [], defaultAction: ALLOW };
    const p = compile(spec);
    verify(decode(p));
    expect(disassemble(p).split('\n').map((l) => l.slice(6))).toEqual(
      arch === 'x86_64'
        ? ['ld arch', 'jeq #0xc000003e ? 2 : 5', 'ld nr', 'jge #0x40000000 ? 4 : 6',
           'jeq #0xffffffff ? 6 : 5', 'ret KILL_PROCESS', 'ret ALLOW']
        : ['ld arch', 'jeq #0xc00000b7 ? 3 : 2', 'ret KILL_PROCESS', 'ld nr', 'ret ALLOW'],
    );
  });

  test.each(['x86_64', 'aarch64'] as const)('%s: foreign arch values are killed before anything else', (arch) => {
    const spec: NativeSeccompSpec = { arch, rules: [{ nr: 39, clauses: [], action: EPERM, reason: 't' }], defaultAction: ALLOW };
    const p = compile(spec);
    const own = auditArch(arch);
    for (const foreign of [AUDIT_ARCH_I386, AUDIT_ARCH_ARM, AUDIT_ARCH_X86_64, AUDIT_ARCH_AARCH64, 0, 0xffffffff, own ^ 0x80000000, own ^ 0x40000000]) {
      if (foreign === own) continue;
      for (const nr of [0, 39, 102, 0x40000027, 0xffffffff]) {
        expect(actionName(run(p, { nr, arch: foreign }).action)).toBe('KILL_PROCESS');
      }
    }
    expect(actionName(run(p, { nr: 39, arch: own }).action)).toBe('ERRNO(EPERM)');
    expect(actionName(run(p, { nr: 40, arch: own }).action)).toBe('ALLOW');
  });

  test('x86_64: x32 numbers are killed, nr -1 (ptrace skip) passes', () => {
    const spec: NativeSeccompSpec = { arch: 'x86_64', rules: [], defaultAction: ALLOW };
    const p = compile(spec);
    for (const nr of [0x40000000, 0x40000000 | 39, 0x40000000 | 41, 0x40000000 | 512, 0x7fffffff, 0x80000000, 0xfffffffe]) {
      expect(actionName(run(p, { nr, arch: AUDIT_ARCH_X86_64 }).action)).toBe('KILL_PROCESS');
    }
    expect(actionName(run(p, { nr: 0xffffffff, arch: AUDIT_ARCH_X86_64 }).action)).toBe('ALLOW');
    expect(actionName(run(p, { nr: 0x3fffffff, arch: AUDIT_ARCH_X86_64 }).action)).toBe('ALLOW');
  });

  test('interval tree: path length grows with log2 of the intervals', () => {
    const rules: NativeSeccompRule[] = [];
    for (let nr = 2; nr < 1000; nr += 3) rules.push({ nr, clauses: [], action: EPERM, reason: 't' });
    const spec: NativeSeccompSpec = { arch: 'aarch64', rules: rules.filter((r) => !INSTALL_PATH.aarch64.includes(r.nr as 64)), defaultAction: ALLOW };
    const p = compile(spec);
    const insns = decode(p);
    const intervals = 2 * spec.rules.length + 1;
    let max = 0;
    for (let nr = 0; nr < 1100; nr++) {
      const r = run(insns, { nr, arch: AUDIT_ARCH_AARCH64 });
      expect(r.action).toBe(referenceDecision(spec, { nr, arch: AUDIT_ARCH_AARCH64 }));
      max = Math.max(max, r.steps);
    }
    // ld arch, jeq, ld nr, the tree, ret; plus a BPF_JA on the top levels whose right subtree
    // lies more than 255 instructions away (this program is ~700 instructions long).
    expect(max).toBeLessThanOrEqual(4 + Math.ceil(Math.log2(intervals)) + Math.ceil(Math.log2(insns.length / 255)));
  });

  test('consecutive numbers with the same plain action share one interval', () => {
    const rules = [428, 429, 430, 431, 432, 433].map((nr) => ({ nr, clauses: [], action: retErrno(38), reason: 't' }));
    const p = compile({ arch: 'aarch64', rules, defaultAction: ALLOW });
    // ld arch, jeq, ld nr, 2 jge for [0,428) [428,434) [434,...), 3 rets.
    expect(decode(p).length).toBe(8);
  });
});

describe('argument checks', () => {
  const arch = 'x86_64' as const;
  const A = AUDIT_ARCH_X86_64;
  const one = (check: NativeArgCheck): NativeSeccompSpec => ({
    arch,
    rules: [{ nr: 16, clauses: [{ checks: [check], action: EPERM }], action: ALLOW, reason: 't' }],
    defaultAction: ALLOW,
  });

  test('32-bit eq ignores the upper half (the kernel truncates int arguments)', () => {
    const p = compile(one({ arg: 1, width: 32, op: 'eq', mask: 0xffffffffn, value: 0x5412n }));
    for (const v of [0x5412n, 0x5412n | (1n << 32n), 0x5412n | 0xffffffff00000000n]) {
      expect(actionName(run(p, { nr: 16, arch: A, args: [0n, v] }).action)).toBe('ERRNO(EPERM)');
    }
    expect(actionName(run(p, { nr: 16, arch: A, args: [0n, 0x5413n] }).action)).toBe('ALLOW');
  });

  test('64-bit eq compares both halves', () => {
    const p = compile(one({ arg: 0, width: 64, op: 'eq', mask: 0xffffffffffffffffn, value: 0x100000002n }));
    expect(actionName(run(p, { nr: 16, arch: A, args: [0x100000002n] }).action)).toBe('ERRNO(EPERM)');
    expect(actionName(run(p, { nr: 16, arch: A, args: [0x2n] }).action)).toBe('ALLOW');
    expect(actionName(run(p, { nr: 16, arch: A, args: [0x200000002n] }).action)).toBe('ALLOW');
  });

  test('64-bit any-bits looks at both halves', () => {
    const p = compile(one({ arg: 2, width: 64, op: 'any', mask: 0x8000000000000001n, value: 0n }));
    expect(actionName(run(p, { nr: 16, arch: A, args: [0n, 0n, 1n] }).action)).toBe('ERRNO(EPERM)');
    expect(actionName(run(p, { nr: 16, arch: A, args: [0n, 0n, 1n << 63n] }).action)).toBe('ERRNO(EPERM)');
    expect(actionName(run(p, { nr: 16, arch: A, args: [0n, 0n, 2n | (1n << 62n)] }).action)).toBe('ALLOW');
  });

  test('masked eq applies the mask (socket type & 0xf)', () => {
    const p = compile(one({ arg: 1, width: 32, op: 'eq', mask: 0xfn, value: 1n }));
    for (const t of [1n, 1n | 0o4000n, 1n | 0o2000000n]) {
      expect(actionName(run(p, { nr: 16, arch: A, args: [0n, t] }).action)).toBe('ERRNO(EPERM)');
    }
    expect(actionName(run(p, { nr: 16, arch: A, args: [0n, 2n | 0o4000n] }).action)).toBe('ALLOW');
  });
});

describe('validation: a bad spec is refused, never compiled into something looser', () => {
  const base = (rule: Partial<NativeSeccompRule>, extra: Partial<NativeSeccompSpec> = {}): NativeSeccompSpec => ({
    arch: 'x86_64',
    rules: [{ nr: 100, clauses: [], action: EPERM, reason: 'under test', ...rule }],
    defaultAction: ALLOW,
    ...extra,
  });
  const cases: Array<[string, NativeSeccompSpec, RegExp]> = [
    ['ERRNO(0) (a fake success)', base({ action: retErrno(0) }), /invalid action/],
    ['errno above MAX_ERRNO', base({ action: retErrno(4096) }), /invalid action/],
    ['unknown action', base({ action: 0x12340000 }), /invalid action/],
    ['USER_NOTIF without a listener', base({ action: SECCOMP_RET_USER_NOTIF }), /invalid action/],
    ['TRACE without a tracer', base({ action: SECCOMP_RET_TRACE }), /invalid action/],
    ['ALLOW with data', base({ action: ALLOW | 1 }), /invalid action/],
    ['invalid default', base({}, { defaultAction: retErrno(0) }), /invalid default/],
    ['invalid clause action', base({ clauses: [{ checks: [{ arg: 0, width: 32, op: 'eq', mask: 1n, value: 1n }], action: 0x7ffe0000 }] }), /invalid clause action/],
    ['clause without checks', base({ clauses: [{ checks: [], action: EPERM }] }), /clause without checks/],
    ['arg index 6', base({ clauses: [{ checks: [{ arg: 6, width: 32, op: 'eq', mask: 1n, value: 1n }], action: EPERM }] }), /./],
    ['32-bit check with a 64-bit mask', base({ clauses: [{ checks: [{ arg: 0, width: 32, op: 'eq', mask: 1n << 32n, value: 0n }], action: EPERM }] }), /32-bit check/],
    ['value outside the mask', base({ clauses: [{ checks: [{ arg: 0, width: 32, op: 'eq', mask: 0xfn, value: 0x10n }], action: EPERM }] }), /outside the mask/],
    ['any-bits with no mask', base({ clauses: [{ checks: [{ arg: 0, width: 64, op: 'any', mask: 0n, value: 0n }], action: EPERM }] }), /non-zero mask/],
    ['x32 number', base({ nr: 0x40000000 | 39 }), /x32/],
    ['execve (needed after install)', base({ nr: 59 }), /after the filter is installed/],
    ['exit_group', base({ nr: 231 }), /after the filter is installed/],
    ['aarch64 execve', base({ nr: 221 }, { arch: 'aarch64' }), /after the filter is installed/],
    ['aarch64 write', base({ nr: 64 }, { arch: 'aarch64' }), /after the filter is installed/],
  ];
  test.each(cases)('%s', (_name, spec, message) => {
    let err: (Error & { code?: string }) | undefined;
    try {
      compile(spec);
    } catch (e) {
      err = e as Error & { code?: string };
    }
    expect(err).toBeDefined();
    if (err instanceof TypeError) return; // shape errors (arg index 6) stop in the binding
    expect(err!.code).toBe('EINVAL');
    expect(err!.message).toMatch(message);
  });

  test('duplicate rules for one number', () => {
    const spec = base({});
    spec.rules.push({ ...spec.rules[0]! });
    expect(() => compile(spec)).toThrow(/duplicate/);
  });

  test('shape errors throw TypeError', () => {
    const bad: unknown[] = [
      undefined,
      {},
      { arch: 'i386', rules: [], defaultAction: ALLOW },
      { arch: 'x86_64', rules: [{ nr: -1, clauses: [], action: EPERM, reason: '' }], defaultAction: ALLOW },
      { arch: 'x86_64', rules: [{ nr: 1.5, clauses: [], action: EPERM, reason: '' }], defaultAction: ALLOW },
      { arch: 'x86_64', rules: [{ nr: 2, clauses: [{ checks: [{ arg: 0, width: 32, op: 'eq', mask: 1, value: 1 }], action: EPERM }], action: EPERM, reason: '' }], defaultAction: ALLOW },
      { arch: 'x86_64', rules: [{ nr: 2, clauses: [{ checks: [{ arg: 0, width: 16, op: 'eq', mask: 1n, value: 1n }], action: EPERM }], action: EPERM, reason: '' }], defaultAction: ALLOW },
      { arch: 'x86_64', rules: [{ nr: 2, clauses: [{ checks: [{ arg: 0, width: 32, op: 'ne', mask: 1n, value: 1n }], action: EPERM }], action: EPERM, reason: '' }], defaultAction: ALLOW },
      { arch: 'x86_64', rules: [], defaultAction: -1 },
    ];
    for (const spec of bad) {
      expect(() => native().compileSeccompProgram(spec as NativeSeccompSpec)).toThrow(TypeError);
    }
  });

  test('more than 4096 instructions is E2BIG', () => {
    const rules: NativeSeccompRule[] = [];
    for (let nr = 300; nr < 1500; nr++) {
      rules.push({
        nr,
        clauses: [1, 2, 3].map((v) => ({ checks: [{ arg: 0, width: 64 as const, op: 'eq' as const, mask: 0xffn << 32n | 0xffn, value: BigInt(v) }], action: EPERM })),
        action: ALLOW,
        reason: 'big',
      });
    }
    expect(() => compile({ arch: 'aarch64', rules, defaultAction: ALLOW })).toThrow(expect.objectContaining({ code: 'E2BIG' }));
  });
});

describe('long programs: jumps past 255 instructions use trampolines', () => {
  test.each(['x86_64', 'aarch64'] as const)('%s: 400 argument rules', (arch) => {
    const rules: NativeSeccompRule[] = [];
    for (let nr = 300; nr < 700; nr++) {
      rules.push({
        nr,
        clauses: [
          { checks: [{ arg: nr % 6, width: 32, op: 'eq', mask: 0xffffffffn, value: BigInt(nr) }], action: retErrno(1 + (nr % 100)) },
          { checks: [{ arg: 1, width: 64, op: 'any', mask: 1n << 40n, value: 0n }], action: SECCOMP_RET_LOG },
        ],
        action: nr % 2 ? ALLOW : SECCOMP_RET_TRAP,
        reason: 'long',
      });
    }
    const spec: NativeSeccompSpec = { arch, rules, defaultAction: ALLOW };
    const p = compile(spec);
    const insns = decode(p);
    expect(insns.length).toBeGreaterThan(1000);
    expect(insns.some((i) => i.code === 0x05)).toBe(true); // at least one BPF_JA trampoline
    for (let nr = 290; nr < 710; nr++) {
      for (const args of [[], [BigInt(nr), 0n, 0n, 0n, 0n, BigInt(nr)], [0n, BigInt(nr) | (1n << 40n)], [0n, 0n, BigInt(nr), BigInt(nr), BigInt(nr), 0n]]) {
        expectSame(spec, p, { nr, arch: auditArch(arch), args });
      }
    }
  });
});

describe('property: compiled BPF means what the rule list says', () => {
  const actions = fc.oneof(
    fc.constantFrom(ALLOW, SECCOMP_RET_LOG, SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_KILL_THREAD),
    fc.integer({ min: 1, max: 4095 }).map(retErrno),
    fc.integer({ min: 0, max: 0xffff }).map((d) => (SECCOMP_RET_TRAP | d) >>> 0),
  );
  const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
  const u32 = fc.bigInt({ min: 0n, max: 0xffffffffn });
  const check: fc.Arbitrary<NativeArgCheck> = fc
    .record({
      arg: fc.integer({ min: 0, max: 5 }),
      width: fc.constantFrom(32 as const, 64 as const),
      op: fc.constantFrom('eq' as const, 'any' as const),
      mask: fc.oneof(u64, fc.constant((1n << 64n) - 1n), fc.constant(0xffffffffn), fc.constant(0xfn)),
      value: u64,
    })
    .map((c) => {
      const mask = c.width === 32 ? c.mask & 0xffffffffn : c.mask;
      if (c.op === 'any') return { ...c, mask: mask === 0n ? 1n : mask, value: 0n };
      return { ...c, mask, value: c.value & mask };
    });
  const spec: fc.Arbitrary<NativeSeccompSpec> = fc.constantFrom('x86_64' as const, 'aarch64' as const).chain((arch) =>
    fc.record({
      arch: fc.constant(arch),
      defaultAction: actions,
      rules: fc.uniqueArray(
        fc.record({
          nr: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: arch === 'x86_64' ? 0x3fffffff : 0xffffffff })),
          clauses: fc.array(fc.record({ checks: fc.array(check, { minLength: 1, maxLength: 3 }), action: actions }), { maxLength: 4 }),
          action: actions,
          reason: fc.constant('property'),
        }).filter((r) => !(INSTALL_PATH[arch] as readonly number[]).includes(r.nr)),
        { selector: (r) => r.nr, maxLength: 24 },
      ),
    }),
  );

  test('random specs, random and targeted seccomp_data', () => {
    fc.assert(
      fc.property(spec, fc.array(fc.tuple(fc.nat(), fc.nat(), u64, u32, fc.boolean()), { minLength: 20, maxLength: 40 }), (s, probes) => {
        const p = compile(s);
        const insns = decode(p);
        verify(insns);
        const own = auditArch(s.arch);
        for (const [ri, ci, noise, low, foreign] of probes) {
          // Aim at a rule and at the values its checks look for, so clauses do match.
          const rule = s.rules.length ? s.rules[ri % s.rules.length]! : undefined;
          const nr = rule ? rule.nr + ((ri % 7 === 0 ? 1 : 0)) : ri;
          const args = [0n, 0n, 0n, 0n, 0n, 0n];
          const clause = rule?.clauses.length ? rule.clauses[ci % rule.clauses.length] : undefined;
          for (const k of clause?.checks ?? []) {
            args[k.arg] = ci % 3 === 0 ? noise : k.op === 'eq' ? (k.value | (noise & ~k.mask)) : (low & 0xffffffffn) | (noise & (1n << 63n));
          }
          const data = { nr: nr >>> 0, arch: foreign && ri % 5 === 0 ? AUDIT_ARCH_I386 : own, args };
          const got = run(insns, data).action;
          expect(actionName(got)).toBe(actionName(referenceDecision(s, data)));
        }
      }),
      { numRuns: 300 },
    );
  });
});
