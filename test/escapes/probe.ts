// Runs test/helpers/syscall-probe inside cordon's sandbox (execSandboxed) or outside it (the
// control), and turns its output into one comparable word: "OK", an errno name, "SIGSYS"...
import { spawnSync } from 'node:child_process';
import { execSandboxed, type SandboxPolicy } from '../../src/index.js';
import type { ExecOptions } from '../../src/exec.js';
import { buildHelper } from '../helpers/build-helpers.js';
import { probeOutcome } from '../seccomp/probe.js';

export { isRoot } from '../helpers/process.js';

export type Mode = 'pidns' | 'no-namespaces';
/** The two isolation paths every escape class is tested on: the default, and Landlock-only. */
export const MODES: readonly Mode[] = ['pidns', 'no-namespaces'];

export interface ProbeOptions extends Omit<ExecOptions, 'policy' | 'encoding'> {
  mode?: Mode;
}

/** The probe's output (trimmed) or the signal that killed it. */
export async function probeIn(policy: SandboxPolicy, args: readonly string[], o: ProbeOptions = {}): Promise<string> {
  const { mode = 'pidns', ...rest } = o;
  const r = await execSandboxed(buildHelper('syscall-probe'), args, {
    timeout: 20_000,
    ...rest,
    policy,
    namespaces: mode === 'pidns',
    encoding: 'utf8',
  });
  if (r.timedOut) throw new Error(`syscall-probe ${args.join(' ')} timed out`);
  return probeOutcome(String(r.stdout), r.signal);
}

/** The same probe as a plain child of the test runner (no cordon involved). */
export function probeUnsandboxed(args: readonly string[]): string {
  const r = spawnSync(buildHelper('syscall-probe'), args, { encoding: 'utf8', timeout: 20_000 });
  if (r.error) throw r.error;
  return probeOutcome(r.stdout, r.signal);
}
