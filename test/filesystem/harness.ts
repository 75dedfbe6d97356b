// Shared harness for the filesystem tests: builds the C helpers, makes a throwaway world (fake
// HOME with secrets, a git workspace, an outside dir), and runs the probe inside a sandbox.
//
// Sandboxes are started two ways:
//  - 'helper': Node's child_process runs test/helpers/landlock-exec with the plan's ruleset as
//    fd 3 (Landlock only, mode B). When the plan has mounts, `unshare` gives the helper a private
//    mount namespace first and a shell applies the MountSpecs the way native/spawn.cc does (mode A).
//  - 'spawn': src/spawn.ts execSandboxed (the real engine) once it is available.

import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { native } from '../../src/native.js';
import type { FilesystemPlan, MountSpec } from '../../src/filesystem/index.js';

const here = dirname(fileURLToPath(import.meta.url));
export const repoRoot = join(here, '..', '..');
const binDir = join(repoRoot, 'test', 'helpers', 'bin');

function buildOne(src: string, out: string, extra: string[] = []): string {
  const dst = join(binDir, out);
  if (!existsSync(dst) || statSync(dst).mtimeMs < statSync(src).mtimeMs) {
    mkdirSync(binDir, { recursive: true });
    const tmp = `${dst}.${process.pid}`;
    execFileSync('cc', ['-O2', '-Wall', '-Wextra', '-o', tmp, src, ...extra]);
    execFileSync('mv', ['-f', tmp, dst]);
  }
  return dst;
}

/** Compiles the helpers into test/helpers/bin (gitignored) when missing or stale. */
export function helpers(): { exec: string; probe: string } {
  return {
    exec: buildOne(join(repoRoot, 'test', 'helpers', 'landlock-exec.c'), 'landlock-exec'),
    probe: buildOne(join(here, 'helpers', 'fsprobe.c'), 'fsprobe'),
  };
}

export const probe = native().probeKernel();
export const isRoot = probe.isRoot;

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
  const parent = '/var/tmp';
  const base = mkdtempSync(join(parent, prefix));
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

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number | null;
}

function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

function mountScript(mounts: readonly MountSpec[]): string {
  // The spawn engine's MountOp semantics (native/spawn.h), with util-linux mount(8).
  const flagOpts = (f: number): string => {
    const o: string[] = [];
    if (f & 2) o.push('nosuid');
    if (f & 4) o.push('nodev');
    if (f & 8) o.push('noexec');
    if (f & 1024) o.push('noatime');
    if (f & 2048) o.push('nodiratime');
    if (f & 4096) o.push('relatime');
    return o.map((x) => `,${x}`).join('');
  };
  const lines = ['set -e', 'mount --make-rprivate /'];
  for (const m of mounts) {
    const t = shQuote(m.target);
    if (m.kind === 'bind-ro') {
      lines.push(`mount --rbind ${t} ${t}`, `mount -o remount,bind,ro${flagOpts(m.preservedFlags)} ${t}`);
    } else if (m.kind === 'tmpfs-mask') {
      lines.push(`mount -t tmpfs -o ro,nosuid,nodev,noexec,mode=000 cordon-mask ${t}`);
    } else if (m.kind === 'file-mask') {
      lines.push(`mount --bind ${shQuote(m.source ?? '')} ${t}`, `mount -o remount,bind,ro${flagOpts(m.preservedFlags)} ${t}`);
    } else {
      throw new Error(`mount kind ${m.kind} not emulated`);
    }
  }
  lines.push('exec "$@"');
  return lines.join('\n');
}

/** Runs `file args` inside the plan's sandbox (Landlock via fd 3; mounts via unshare). */
export function runInPlan(plan: FilesystemPlan, file: string, args: readonly string[], opts: { cwd: string; env?: NodeJS.ProcessEnv }): Promise<RunResult> {
  const { exec } = helpers();
  let argv: string[] = [exec, file, ...args];
  if (plan.mounts.length > 0) {
    const ns = isRoot ? ['-m'] : ['-Urm'];
    // `unshare -U` maps us to root in the namespace: good enough for mount(8); the probed
    // program runs as that mapped root, which is why mode-A DAC expectations use `asRoot`.
    argv = ['unshare', ...ns, '--', '/bin/sh', '-c', mountScript(plan.mounts), 'cordon-mounts', ...argv];
  }
  return new Promise((resolve, reject) => {
    const stdio: ('pipe' | 'ignore' | number)[] = ['ignore', 'pipe', 'pipe'];
    if (plan.rulesetFd >= 0) stdio.push(plan.rulesetFd);
    const child = spawn(argv[0] as string, argv.slice(1), { cwd: opts.cwd, env: opts.env ?? process.env, stdio });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ stdout, stderr, code }));
  });
}

/** Runs fsprobe with `ops` in the plan's sandbox and returns one answer per op. */
export async function probeOps(plan: FilesystemPlan, ops: readonly string[], cwd: string): Promise<string[]> {
  const { probe: fsprobe } = helpers();
  const r = await runInPlan(plan, fsprobe, ops, { cwd });
  const lines = r.stdout.split('\n').filter((l) => l.length > 0);
  if (lines.length !== ops.length) {
    throw new Error(`fsprobe gave ${lines.length} answers for ${ops.length} ops (exit ${r.code}): ${r.stderr}\n${r.stdout}`);
  }
  return lines;
}
