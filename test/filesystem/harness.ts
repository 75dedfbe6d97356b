// Shared harness for the filesystem tests: builds the probe program, makes a throwaway world
// (fake HOME with secrets, a git workspace, an outside dir), and runs commands inside the real
// spawn engine (execSandboxed), in mode A (namespaces: user if non-root, mount, pid; Landlock)
// and mode B (namespaces: false, Landlock only).

import { execFileSync } from 'node:child_process';
import { buildHelperFrom } from '../helpers/build-helpers.js';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { execSandboxed, probeKernel, type ExecResult, type SandboxPolicy } from '../../src/index.js';
import { native } from '../../src/native.js';
import type { FilesystemReport, Protection } from '../../src/filesystem/index.js';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = join(here, '..', '..');
let fsprobePath: string | undefined;

/** The fsprobe helper, compiled from helpers/fsprobe.c when missing or stale (build-helpers.ts). */
export function fsprobe(): string {
  fsprobePath ??= buildHelperFrom(join(here, 'helpers', 'fsprobe.c'));
  return fsprobePath;
}

/** The raw kernel probe, as the planner takes it (planner unit tests). */
export const probe = native().probeKernel();
export const kernel = probeKernel();
export const isRoot = kernel.isRoot;

/** Whether the engine gives a child namespaces here (what mode A needs). */
export const namespacesWork = kernel.namespaces.mount && kernel.namespaces.pid && (isRoot || kernel.namespaces.user);

export interface Mode {
  name: string;
  namespaces: boolean;
}

/** Mode A where the kernel lets this user have namespaces, and mode B always. */
export const MODES: Mode[] = [
  { name: 'A (landlock+mountns)', namespaces: true },
  { name: 'B (landlock-only)', namespaces: false },
].filter((m) => !m.namespaces || namespacesWork);

/** Denial errnos the kernel may answer with: Landlock (EACCES), a read-only mount (EROFS), seccomp/caps (EPERM). */
export const DENIED = ['EACCES', 'EROFS', 'EPERM'];

export interface World {
  base: string;
  home: string;
  ws: string;
  outside: string;
  cleanup(): void;
}

/**
 * A world outside /tmp (so that /tmp being writable never makes "outside" writable):
 *   home/.ssh/id_rsa, home/.aws/credentials, home/.npmrc, home/.bashrc
 *   ws/.git/{config,HEAD,hooks/}, ws/src/a.txt, ws/README.md
 *   outside/file.txt, outside/dir/
 */
export function makeWorld(prefix = 'cordon-fs-'): World {
  const base = mkdtempSync(join('/var/tmp', prefix));
  chmodSync(base, 0o755);
  const home = join(base, 'home');
  const ws = join(base, 'ws');
  const outside = join(base, 'outside');
  for (const d of [join(home, '.ssh'), join(home, '.aws'), join(ws, '.git', 'hooks'), join(ws, 'src'), join(outside, 'dir')]) {
    mkdirSync(d, { recursive: true });
  }
  writeFileSync(join(home, '.ssh', 'id_rsa'), 'PRIVATE KEY\n', { mode: 0o600 });
  writeFileSync(join(home, '.aws', 'credentials'), 'aws secret\n', { mode: 0o600 });
  writeFileSync(join(home, '.npmrc'), '//registry/:_authToken=secret\n', { mode: 0o600 });
  writeFileSync(join(home, '.bashrc'), '# bashrc\n');
  writeFileSync(join(ws, '.git', 'config'), '[core]\n');
  writeFileSync(join(ws, '.git', 'HEAD'), 'ref: refs/heads/main\n');
  writeFileSync(join(ws, 'src', 'a.txt'), 'a\n');
  writeFileSync(join(ws, 'README.md'), 'readme\n');
  writeFileSync(join(outside, 'file.txt'), 'outside\n');
  return { base, home, ws, outside, cleanup: () => rmSync(base, { recursive: true, force: true }) };
}

export interface SandboxOptions {
  policy: SandboxPolicy;
  cwd: string;
  namespaces: boolean;
  enforcement?: 'strict' | 'best-effort';
  landlockAbiCap?: number;
  env?: Record<string, string | undefined>;
}

export type Run = ExecResult<string> & { fs: FilesystemReport };

/**
 * Runs `file args` through execSandboxed (bounded: 30 s, then SIGKILL) and checks that the
 * child really got the mode the test asked for, so that a mode A silently degraded to
 * Landlock-only can never pass as mode A.
 */
export async function sandboxed(file: string, args: readonly string[], o: SandboxOptions): Promise<Run> {
  const r = (await execSandboxed(file, [...args], {
    policy: o.policy,
    cwd: o.cwd,
    namespaces: o.namespaces,
    enforcement: o.enforcement ?? 'strict',
    timeout: 30_000,
    killGraceMs: 0,
    ...(o.landlockAbiCap !== undefined ? { landlockAbiCap: o.landlockAbiCap } : {}),
    ...(o.env ? { env: o.env } : {}),
  })) as ExecResult<string>;
  expect(r.enforcement.namespaces.mount, 'the child got the mount namespace the mode asks for').toBe(o.namespaces);
  const fs = r.enforcement.filesystem as FilesystemReport;
  expect(fs, 'a confining policy reports its filesystem protections').toBeDefined();
  return Object.assign(r, { fs });
}

/** Runs fsprobe with `ops` in the sandbox and returns one answer per op, plus the run. */
export async function probeOps(ops: readonly string[], o: SandboxOptions): Promise<{ got: string[]; run: Run }> {
  const run = await sandboxed(fsprobe(), ops, o);
  const got = run.stdout.split('\n').filter((l) => l.length > 0);
  if (got.length !== ops.length || run.exitCode !== 0) {
    throw new Error(`fsprobe gave ${got.length} answers for ${ops.length} ops (exit ${run.exitCode}, ${run.termination}): ${run.stderr}\n${run.stdout}`);
  }
  return { got, run };
}

/** The same probe without any sandbox: the control that an operation works at all. */
export function probeOnHost(ops: readonly string[], cwd: string): string[] {
  return execFileSync(fsprobe(), [...ops], { cwd, encoding: 'utf8' }).split('\n').filter((l) => l.length > 0);
}

/** The report line for `what` (undefined when the report has none). */
export function protection(fs: FilesystemReport, what: string): Protection | undefined {
  return fs.protections.find((p) => p.what === what);
}
