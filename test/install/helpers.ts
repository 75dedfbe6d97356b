// Helpers for the install tests: tool lookup, ELF version needs (readelf), package fixtures in
// temp dirs, and a bin dir holding only the commands a test allows.
import { spawnSync, type SpawnSyncOptions, type SpawnSyncReturns } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';

export const repo = path.resolve(__dirname, '..', '..');
const require = createRequire(__filename);

/** The command's path on PATH (or the given PATH), or undefined. */
export function which(command: string, PATH = process.env.PATH ?? ''): string | undefined {
  for (const dir of PATH.split(path.delimiter)) {
    const file = path.join(dir || '.', command);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {}
  }
  return undefined;
}

/** spawnSync with a timeout always (no child may hang the suite) and text output. */
export function run(file: string, args: string[], options: SpawnSyncOptions & { timeout: number }): SpawnSyncReturns<string> {
  return spawnSync(file, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024, ...options }) as SpawnSyncReturns<string>;
}

/** This Node runs on glibc (musl's Node has no glibcVersionRuntime in its report). */
export const hostGlibc: string | undefined =
  process.platform === 'linux'
    ? ((process.report?.getReport() as { header?: { glibcVersionRuntime?: string } }).header?.glibcVersionRuntime ?? undefined)
    : undefined;

/** The prebuilt targets (scripts/prebuilds.mjs); undefined when this host has none. */
export const hostTarget = hostGlibc && (process.arch === 'x64' || process.arch === 'arm64') ? process.arch : undefined;
export const PREBUILD_NAME = 'cordon.napi.glibc.node';

/**
 * Makes sure prebuilds/linux-<host arch> exists and is current (scripts/prebuilds.mjs --host:
 * a hash check when current, a ~10 s build otherwise; prebuilds/ is not in git). Returns
 * undefined when it is there, else why not (a test that needs it skips with that reason, and
 * prebuilds.test.ts fails on the same problem).
 */
export function ensureHostPrebuild(): string | undefined {
  if (!hostTarget) return `no prebuild target for ${process.platform}-${process.arch}${hostGlibc ? '' : ' (not glibc)'}`;
  const r = run(process.execPath, [path.join(repo, 'scripts', 'prebuilds.mjs'), '--host'], { cwd: repo, timeout: 10 * 60_000 });
  if (r.status === 0 && fs.existsSync(path.join(repo, 'prebuilds', `linux-${hostTarget}`, PREBUILD_NAME))) return undefined;
  return `scripts/prebuilds.mjs --host failed: ${(r.stderr || String(r.error)).trim().split('\n')[0]}`;
}
export const ELF_MACHINE: Record<string, number> = { x64: 62, arm64: 183 };

/**
 * Versions a shared object needs, per library, from readelf's .gnu.version_r section.
 * Written independently of scripts/prebuilds.mjs's check, so a bug there does not hide here.
 */
export function neededVersions(file: string): Map<string, string[]> {
  const r = run('readelf', ['--version-info', '--wide', file], { timeout: 30_000 });
  if (r.status !== 0) throw new Error(`readelf ${file}: ${r.stderr || r.error}`);
  const needs = new Map<string, string[]>();
  const section = r.stdout.split(/^Version needs section/m)[1] ?? '';
  let lib: string | undefined;
  for (const line of section.split('\n')) {
    if (/^Version \w+ section/.test(line)) break;
    const f = /File: (\S+)/.exec(line);
    if (f) needs.set((lib = f[1]!), []);
    const n = /Name: (\S+)/.exec(line);
    if (n && lib) needs.get(lib)!.push(n[1]!);
  }
  return needs;
}

/** '2.2.5' < '2.17' < '2.28', part by part. */
export function compareVersions(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d) return d;
  }
  return 0;
}

/** The highest version of `prefix` (GLIBC, GLIBCXX, CXXABI) the file needs, or undefined. */
export function highest(needs: Map<string, string[]>, prefix: string): string | undefined {
  const versions = [...needs.values()].flat().filter((v) => v.startsWith(`${prefix}_`)).map((v) => v.slice(prefix.length + 1));
  return versions.sort(compareVersions).at(-1);
}

export function mkTemp(label: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `cordon-${label}-`));
  fs.chmodSync(dir, 0o755); // another user (cordon-ci) may have to reach into it
  return dir;
}

/**
 * A package directory as npm would unpack cordon: package.json, scripts/install.cjs, binding.gyp,
 * native/, and the two runtime dependencies the install needs (node-gyp-build to resolve
 * prebuilds, node-addon-api for a source build). No node-gyp: a consumer does not have the
 * devDependency, so install.cjs must find npm's.
 * prebuild: none; host = the real host prebuild; broken = a file of that name that is no ELF.
 */
export function makePackage(prebuild: 'none' | 'host' | 'broken'): string {
  const dir = mkTemp('pkg');
  try {
    for (const f of ['package.json', 'binding.gyp', 'native', 'scripts/install.cjs']) {
      fs.cpSync(path.join(repo, f), path.join(dir, f), { recursive: true });
    }
    for (const dep of ['node-gyp-build', 'node-addon-api']) {
      const src = path.dirname(require.resolve(`${dep}/package.json`, { paths: [repo] }));
      fs.cpSync(src, path.join(dir, 'node_modules', dep), { recursive: true });
    }
    if (prebuild !== 'none') {
      const dest = path.join(dir, 'prebuilds', `linux-${process.arch}`, PREBUILD_NAME);
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      if (prebuild === 'host') fs.copyFileSync(path.join(repo, 'prebuilds', `linux-${process.arch}`, PREBUILD_NAME), dest);
      else fs.writeFileSync(dest, 'not an ELF file\n');
    }
    return dir;
  } catch (err) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * A directory to use as the whole PATH: symlinks to node (this one) and to the other named
 * commands as found on the current PATH. Throws when one of them is not found.
 */
export function makeBin(commands: string[]): string {
  const dir = mkTemp('bin');
  fs.symlinkSync(process.execPath, path.join(dir, 'node'));
  for (const c of commands) {
    const file = which(c);
    if (!file) throw new Error(`${c} not on PATH`);
    fs.symlinkSync(fs.realpathSync(file), path.join(dir, c));
  }
  return dir;
}

/** An environment from scratch: nothing of the outer npm (npm_config_*) or vitest leaks in. */
export function cleanEnv(extra: Record<string, string>): Record<string, string> {
  return { LANG: 'C.UTF-8', TMPDIR: os.tmpdir(), ...extra };
}
