// The meaning of a NativeSeccompSpec, written as plain TypeScript. Tests compare the compiled
// BPF (run by ./bpf-interpreter.ts) against this on the same seccomp_data.
import {
  AUDIT_ARCH_AARCH64,
  AUDIT_ARCH_X86_64,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_KILL_PROCESS,
  X32_SYSCALL_BIT,
  type NativeArgCheck,
  type NativeSeccompSpec,
} from '../../src/seccomp/spec.js';
import type { SeccompData } from './bpf-interpreter.js';

export function auditArch(arch: 'x86_64' | 'aarch64'): number {
  return arch === 'x86_64' ? AUDIT_ARCH_X86_64 : AUDIT_ARCH_AARCH64;
}

export function checkHolds(k: NativeArgCheck, args: readonly bigint[]): boolean {
  let v = BigInt.asUintN(64, args[k.arg] ?? 0n);
  if (k.width === 32) v &= 0xffffffffn;
  const masked = v & k.mask;
  return k.op === 'eq' ? masked === k.value : masked !== 0n;
}

export function referenceDecision(spec: NativeSeccompSpec, d: SeccompData): number {
  if (d.arch >>> 0 !== auditArch(spec.arch)) return SECCOMP_RET_KILL_PROCESS;
  const nr = d.nr >>> 0;
  if (spec.arch === 'x86_64' && nr >= X32_SYSCALL_BIT) {
    return nr === 0xffffffff ? SECCOMP_RET_ALLOW : SECCOMP_RET_KILL_PROCESS;
  }
  const rule = spec.rules.find((r) => r.nr === nr);
  if (!rule) return spec.defaultAction;
  for (const c of rule.clauses) {
    if (c.checks.every((k) => checkHolds(k, d.args ?? []))) return c.action;
  }
  return rule.action;
}
