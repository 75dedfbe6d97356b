// The package as users get it: `npm pack` in a copy of this checkout (its prepare and prepack
// scripts run, as on a release), then the tarball installed into a fresh project offline, with
// no compiler, python or make on PATH; README's first example, `cordon run`, require() and
// import() run from there. And with --ignore-scripts and no matching prebuild, the first spawn
// says exactly why the addon cannot load.
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/process.js';

const repo = join(__dirname, '..', '..');
const npmCli = realpathSync(execFileSync('sh', ['-c', 'command -v npm'], { encoding: 'utf8' }).trim());
const hostDir = `linux-${process.arch}`;

let tmp: { dir: string; cleanup: () => void };
let tarball: string;
let files: string[];
let packMs: number;
/** The install's PATH: node and sh only, no cc, c++, g++, make or python. */
let bareBin: string;

function npm(args: string[], cwd: string, env: Record<string, string> = {}, timeout = 300_000): SpawnSyncReturns<string> {
  return spawnSync(process.execPath, [npmCli, ...args], {
    cwd,
    encoding: 'utf8',
    timeout,
    env: { ...process.env, npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false', ...env },
  });
}

beforeAll(() => {
  tmp = tempDir('cordon-pack-');
  // A copy of the checkout with its node_modules linked: pack there, so prepare (tsc) never
  // rewrites the dist/ the other test files are using.
  const copy = join(tmp.dir, 'checkout');
  mkdirSync(copy);
  for (const entry of readdirSync(repo)) {
    if (['node_modules', 'build', 'dist', '.git'].includes(entry)) continue;
    cpSync(join(repo, entry), join(copy, entry), { recursive: true });
  }
  symlinkSync(join(repo, 'node_modules'), join(copy, 'node_modules'));
  const started = Date.now();
  const packed = npm(['pack', '--json', '--pack-destination', tmp.dir], copy, {}, 900_000);
  packMs = Date.now() - started;
  if (packed.status !== 0) throw new Error(`npm pack failed:\n${packed.stderr}\n${packed.stdout}`);
  // Lifecycle scripts print to the same stdout; the JSON is the last thing there.
  const info = JSON.parse(packed.stdout.slice(packed.stdout.search(/^\[\s*\{/m))) as { filename: string; files: { path: string }[] }[];
  tarball = join(tmp.dir, info[0]!.filename);
  files = info[0]!.files.map((f) => f.path);
  // Its dependencies as tarballs too, so the install needs no registry at all.
  for (const dep of ['node-gyp-build', 'node-addon-api']) {
    const r = npm(['pack', '--ignore-scripts', '--pack-destination', tmp.dir, join(repo, 'node_modules', dep)], tmp.dir);
    if (r.status !== 0) throw new Error(`npm pack ${dep} failed: ${r.stderr}`);
  }
  bareBin = join(tmp.dir, 'bin');
  mkdirSync(bareBin);
  symlinkSync(process.execPath, join(bareBin, 'node'));
  symlinkSync('/bin/sh', join(bareBin, 'sh')); // npm runs scripts with sh from PATH
}, 900_000);
afterAll(() => tmp?.cleanup());

/** A fresh project with the tarball installed offline, from tarballs only, with PATH = bareBin. */
function installProject(name: string, extra: string[] = []): { dir: string; result: SpawnSyncReturns<string>; ms: number } {
  const dir = join(tmp.dir, name);
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true }));
  const deps = readdirSync(tmp.dir).filter((f) => f.endsWith('.tgz')).map((f) => join(tmp.dir, f));
  const started = Date.now();
  const result = npm(['install', '--offline', '--cache', join(tmp.dir, `cache-${name}`), ...extra, ...deps], dir, { PATH: bareBin });
  return { dir, result, ms: Date.now() - started };
}

/** Runs a program of the installed project (the host's PATH: a compiler on it changes nothing now). */
function run(file: string, args: string[], cwd: string, path = process.env.PATH): SpawnSyncReturns<string> {
  return spawnSync(file, args, { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, PATH: path } });
}

describe('npm pack', () => {
  it('packs what users need and nothing test-only', () => {
    const need = [
      'LICENSE',
      'README.md',
      'package.json',
      'bin/cordon.js',
      'scripts/install.cjs',
      'binding.gyp',
      'native/spawn.cc',
      'native/binding/binding.cc',
      'dist/modules.cjs',
      'dist/boot.cjs',
      'scripts/code-cache.cjs',
      'dist/cordon.cjs',
      'dist/cordon-cli.cjs',
      'dist/index.mjs',
      'dist/index.d.ts',
      'dist/index.d.mts',
      'dist/spawn.d.ts',
      `prebuilds/${hostDir}/cordon.napi.glibc.node`,
    ];
    for (const f of need) expect(files, f).toContain(f);
    // (The code cache is made for the user's Node by the install script, never shipped.)
    const forbidden = files.filter((f) => /^(test|bench|src|\.ci|build)\/|\.map$|\.stamp$|\.v8cache$|^tsconfig|^vitest|node_modules/.test(f));
    expect(forbidden).toEqual([]);
    // Shipped JavaScript points at no source map it does not ship.
    const shipped = files.filter((f) => /\.(c|m)?js$/.test(f));
    expect(shipped.length).toBeGreaterThan(4);
    expect(packMs).toBeGreaterThan(0);
  });
});

describe('the tarball in a fresh project, offline, no compiler on PATH', () => {
  let project: string;
  beforeAll(() => {
    const { dir, result, ms } = installProject('fresh');
    if (result.status !== 0) throw new Error(`install failed (${ms} ms):\n${result.stderr}\n${result.stdout}`);
    project = dir;
    // "In seconds": nothing was compiled (a source build takes a minute or more here).
    expect(ms).toBeLessThan(60_000);
    expect(existsSync(join(dir, 'node_modules', 'cordon', 'build'))).toBe(false);
    // Control: the PATH used really has no compiler.
    expect(run('/bin/sh', ['-c', 'command -v cc || command -v c++ || command -v g++ || command -v make || command -v python3 || echo none'], dir, bareBin).stdout.trim()).toBe('none');
  }, 300_000);

  it('`cordon run -- echo hi` works, and the sandbox holds (control: the same write in the workspace works)', () => {
    const cli = join(project, 'node_modules', '.bin', 'cordon');
    // npx cordon run -- echo hi (npx is npm exec)
    const hi = npm(['exec', '--offline', '--', 'cordon', 'run', '--', 'echo', 'hi'], project);
    expect(hi.stderr).toBe('');
    expect(hi.stdout).toBe('hi\n');
    expect(hi.status).toBe(0);
    const denied = run(process.execPath, [join(project, 'node_modules', 'cordon', 'bin', 'cordon.js'), 'run', '--', process.execPath, '-e', "require('fs').writeFileSync('/etc/cordon-pack-test', 'x')"], project);
    expect(denied.status).not.toBe(0);
    expect(denied.stderr).toMatch(/EROFS|EACCES|EPERM/);
    const allowed = run(cli, ['run', '--', process.execPath, '-e', "require('fs').writeFileSync('here.txt', 'x')"], project);
    expect(allowed.status).toBe(0);
    expect(readFileSync(join(project, 'here.txt'), 'utf8')).toBe('x');
  });

  it("runs README's first example as written", () => {
    const readme = readFileSync(join(project, 'node_modules', 'cordon', 'README.md'), 'utf8');
    const example = /```js\n([\s\S]*?)```/.exec(readme)?.[1];
    expect(example).toBeDefined();
    writeFileSync(join(project, 'example.mjs'), example!);
    const r = run(process.execPath, ['example.mjs'], project);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/written in the project/);
    expect(r.stdout).toMatch(/refused outside it/);
  });

  it('the install wrote the code cache for this Node, and loading uses it', () => {
    const boot = join(project, 'node_modules', 'cordon', 'dist', 'boot.cjs');
    const r = run(process.execPath, ['-e', `require('cordon'); console.log(require(${JSON.stringify(boot)}).codeCache)`], project);
    expect(r.stdout.trim()).toBe('used');
  });

  it('require() and import() give the same module, with the same API', () => {
    const script = `
      const viaRequire = require('cordon');
      import('cordon').then(async (viaImport) => {
        const same = viaImport.SandboxPolicy === viaRequire.SandboxPolicy && viaImport.default === viaRequire;
        const names = Object.keys(viaRequire).sort().join(',') === Object.keys(viaImport).filter((k) => k !== 'default').sort().join(',');
        const r = await viaRequire.execSandboxed('echo', ['cjs'], { policy: viaImport.SandboxPolicy.readOnly() });
        console.log(JSON.stringify({ same, names, out: r.stdout }));
      });`;
    const r = run(process.execPath, ['-e', script], project);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ same: true, names: true, out: 'cjs\n' });
  });
});

describe('--ignore-scripts', () => {
  it('works with a matching prebuild; without one, the first spawn says exactly why and what to do', () => {
    const { dir, result } = installProject('no-scripts', ['--ignore-scripts']);
    expect(result.status, result.stderr).toBe(0);
    const spawnOnce = `require('cordon').execSandboxed('echo', ['ok']).then((r) => console.log(r.stdout.trim()), (e) => { console.log(e.name + ': ' + e.message); })`;
    // Control: the prebuild loads without any install script.
    expect(run(process.execPath, ['-e', spawnOnce], dir).stdout.trim()).toBe('ok');
    // Take this platform's prebuild away: nothing matches, nothing was built.
    rmSync(join(dir, 'node_modules', 'cordon', 'prebuilds', hostDir), { recursive: true });
    const out = run(process.execPath, ['-e', spawnOnce], dir).stdout;
    expect(out).toMatch(new RegExp(`UnsupportedPlatformError: cordon's native addon is missing: no prebuilt binary matches ${hostDir} \\(glibc\\)`));
    expect(out).toMatch(/it was not built from source/);
    expect(out).toMatch(/--ignore-scripts/);
    expect(out).toMatch(/npm rebuild cordon/);
    expect(out).not.toMatch(/a platform with a matching prebuild/);
  });
});
