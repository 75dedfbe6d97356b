// Issue #8 class 4: other syscall ABIs. seccomp filters see the ABI as seccomp_data.arch, and a
// per-number rule written for x86_64 means nothing to an i386 (`int $0x80`) or x32 call, so the
// filter kills any call whose arch is not the target's and, on x86_64, any number with the x32
// bit (SECCOMP_RET_KILL_PROCESS → SIGSYS), in every profile. Run for real through
// execSandboxed in both isolation paths; the control is the same op unsandboxed and under
// DangerFullAccess. (x86_64 only: aarch64's AArch32 ABI is covered by the interpreter tables in
// test/seccomp/profiles.test.ts.)
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { SandboxPolicy } from '../../src/index.js';
import { buildHelper } from '../helpers/build-helpers.js';
import { tempDir } from '../helpers/process.js';
import { MODES, probeIn, probeUnsandboxed } from './probe.js';

const ws = tempDir('cordon-escape-abi-');
afterAll(() => ws.cleanup());
const policy = SandboxPolicy.workspaceWrite([ws.dir]);

describe.runIf(process.arch === 'x64')('x86_64', () => {
  test('control: x32 numbers reach the kernel without a filter (ENOSYS where x32 is compiled out, OK where live)', async () => {
    expect(['ENOSYS', 'OK']).toContain(probeUnsandboxed(['x32-getpid']));
    expect(['ENOSYS', 'OK']).toContain(await probeIn(SandboxPolicy.fullAccess(), ['x32-getpid'], { cwd: ws.dir }));
  });

  test('a host already under a filter that kills x32 calls survives the kernel probe and spawns (control: the filter kills an x32 call)', () => {
    const killer = buildHelper('x32-killer');
    const control = spawnSync(killer, [buildHelper('syscall-probe'), 'x32-getpid'], { encoding: 'utf8', timeout: 20_000 });
    expect(control.signal).toBe('SIGSYS');
    // The built package, as a host process under that filter (the probe used to make the x32
    // call itself, and died of it with its host).
    const entry = join(__dirname, '..', '..', 'dist', 'cordon.cjs');
    const script = `const c = require(${JSON.stringify(entry)});
      const x32 = c.probeKernel().x32;
      c.execSandboxed('echo', ['ran'], { policy: c.SandboxPolicy.workspaceWrite([${JSON.stringify(ws.dir)}]), cwd: ${JSON.stringify(ws.dir)} })
        .then((r) => console.log(JSON.stringify({ x32, out: r.stdout, code: r.exitCode })));`;
    const host = spawnSync(killer, [process.execPath, '-e', script], { encoding: 'utf8', timeout: 30_000 });
    expect(host.signal).toBeNull();
    expect(host.stderr).toBe('');
    expect(JSON.parse(host.stdout)).toEqual({ x32: false, out: 'ran\n', code: 0 });
  });

  test.each(MODES)('%s: an x32 syscall kills the process (SIGSYS)', async (mode) => {
    expect(await probeIn(policy, ['x32-getpid'], { cwd: ws.dir, mode })).toBe('SIGSYS');
  });

  // int $0x80 runs i386 syscalls where the IA32 entry is reachable. On this Firecracker/PVM
  // guest it is not: the IDT gate faults (#GP, error 0x402) and so does every far transfer to a
  // 32-bit code segment (the GDT's __USER32_CS and a modify_ldt one), so no syscall ever reaches
  // seccomp as AUDIT_ARCH_I386 here. Where the control shows the call working, the sandbox must
  // kill it; where it faults, the sandbox result must be that same fault, not a syscall.
  const int80 = ['int80-getpid', 'int80-socketcall'].map((op) => [op, probeUnsandboxed([op])] as const);
  for (const [op, unsandboxed] of int80) {
    const want = unsandboxed === 'OK' ? 'SIGSYS' : unsandboxed;
    test.each(MODES)(`%s: ${op} → ${want} (unsandboxed: ${unsandboxed})`, async (mode) => {
      expect(['OK', 'SIGSEGV']).toContain(unsandboxed);
      expect(await probeIn(policy, [op], { cwd: ws.dir, mode })).toBe(want);
    });
  }
});
