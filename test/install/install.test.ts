// scripts/install.cjs, npm's "install" script, run for real (npm and node) on package copies in
// temp dirs, offline: a prebuild that loads means no compiler is needed; without one the build
// needs are checked and one clear message names what is missing; and a source build works as an
// unprivileged user with no npm_config_nodedir when the headers sit beside node.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  cleanEnv,
  compareVersions,
  ensureHostPrebuild,
  highest,
  hostGlibc,
  makeBin,
  makePackage,
  mkTemp,
  neededVersions,
  run,
  which,
} from './helpers.js';

const temps: string[] = [];
const temp = <T extends string>(dir: T): T => (temps.push(dir), dir);
afterAll(() => {
  for (const d of temps) fs.rmSync(d, { recursive: true, force: true });
});

const npm = which('npm');
// The tests that copy the host prebuild need it built first (at collection, so they can skip).
const noPrebuild = process.platform === 'linux' ? ensureHostPrebuild() : 'not Linux';
const MESSAGE = 'cordon: cannot install the native addon.';

/** A PATH with node, npm and sh only: no python3, no make, no compiler. */
function barePath(): string {
  return temp(makeBin(['npm', 'sh']));
}

/** Runs the package's install script through npm (npm run install), as npm install would. */
function npmInstall(pkg: string, extra: Record<string, string> = {}) {
  const home = temp(mkTemp('home'));
  return run(npm!, ['run', 'install', '--offline', '--no-update-notifier'], {
    cwd: pkg,
    timeout: 120_000,
    env: cleanEnv({ PATH: barePath(), HOME: home, npm_config_cache: path.join(home, 'npm-cache'), ...extra }),
  });
}

function nodeInstall(pkg: string, env: Record<string, string>, more: { uid?: number; gid?: number; timeout?: number } = {}) {
  return run(process.execPath, [path.join(pkg, 'scripts', 'install.cjs')], { cwd: pkg, timeout: more.timeout ?? 120_000, env, ...more });
}

describe.skipIf(process.platform !== 'linux')('scripts/install.cjs (runs only on Linux)', () => {
  describe.skipIf(!npm)('without a compiler (needs npm on PATH)', () => {
    it('no prebuild and no python3/make/C++ compiler: exit 1 with one message naming what is missing and how to fix it', () => {
      const pkg = temp(makePackage('none'));
      const r = npmInstall(pkg);
      const out = r.stdout + r.stderr;
      expect(r.status, out).toBe(1);
      expect(out.split(MESSAGE).length - 1).toBe(1); // one message, printed once
      const libc = hostGlibc ? `glibc ${hostGlibc}` : '';
      expect(r.stderr).toContain(`No prebuild matches this platform (linux-${process.arch}, ${libc}`);
      expect(r.stderr).toContain('Prebuilds in this package: none.');
      expect(r.stderr).toContain('missing: python3, make, a C++ compiler (g++, c++ or CXX).');
      expect(r.stderr).toContain('sudo apt-get install python3 make g++');
      expect(r.stderr).toContain('sudo dnf install python3 make gcc-c++');
      expect(r.stderr).toContain('apk add python3 make g++');
      expect(r.stderr).toContain('npm_config_nodedir');
      expect(fs.existsSync(path.join(pkg, 'build'))).toBe(false); // nothing was attempted
    });

    it('a missing Node header dir named by npm_config_nodedir is reported too', () => {
      const pkg = temp(makePackage('none'));
      const r = npmInstall(pkg, { npm_config_nodedir: '/nonexistent' });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain("Node's headers (npm_config_nodedir=/nonexistent has no include/node/node_api.h)");
    });

    it.skipIf(noPrebuild !== undefined)(`with the host prebuild: succeeds quietly with no compiler on PATH${noPrebuild ? ` (skipped: ${noPrebuild})` : ''}`, () => {
      const pkg = temp(makePackage('host'));
      const viaNpm = npmInstall(pkg);
      expect(viaNpm.status, viaNpm.stdout + viaNpm.stderr).toBe(0);
      expect(viaNpm.stderr).toBe('');
      const direct = nodeInstall(pkg, cleanEnv({ PATH: barePath(), HOME: temp(mkTemp('home')) }));
      expect(direct.status, direct.stderr).toBe(0);
      expect(direct.stdout + direct.stderr).toBe('');
      expect(fs.existsSync(path.join(pkg, 'build'))).toBe(false);
    });

    it('a prebuild that matches but does not load falls back to a source build, and says why it could not', () => {
      const pkg = temp(makePackage('broken'));
      const r = npmInstall(pkg);
      expect(r.status).toBe(1);
      expect(r.stderr).toContain(`The prebuild prebuilds/linux-${process.arch}/cordon.napi.glibc.node matches this platform`);
      expect(r.stderr).toContain('but does not load: ');
      expect(r.stderr).toContain(`Prebuilds in this package: linux-${process.arch} (glibc).`);
      expect(r.stderr).toContain('missing: python3, make');
    });

    it.skipIf(noPrebuild !== undefined)(`--build-from-source skips the prebuild (and so needs the compiler)${noPrebuild ? ` (skipped: ${noPrebuild})` : ''}`, () => {
      const pkg = temp(makePackage('host'));
      const r = npmInstall(pkg, { npm_config_build_from_source: 'true' });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('Prebuilds skipped (--build-from-source).');
    });
  });

  it('never runs a node-gyp planted in an ancestor directory\'s node_modules (control: the planted file would run if required)', () => {
    // /tmp/X/node_modules/node-gyp above the package: a module search from the package would find it.
    const outer = temp(mkTemp('plant'));
    const planted = path.join(outer, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
    const marker = path.join(outer, 'PLANTED-RAN');
    fs.mkdirSync(path.dirname(planted), { recursive: true });
    fs.writeFileSync(planted, `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x'); process.exit(1);\n`);
    const pkg = path.join(outer, 'pkg');
    fs.renameSync(makePackage('none'), pkg);
    // Control: a module search from the package reaches the planted file.
    expect(require.resolve('node-gyp/bin/node-gyp.js', { paths: [pkg] })).toBe(planted);
    // The install goes on to a build (a compiler may be there or not); the planted one never runs.
    nodeInstall(pkg, cleanEnv({ PATH: process.env.PATH ?? '', HOME: temp(mkTemp('home')), npm_config_nodedir: '/usr' }), { timeout: 300_000 });
    expect(fs.existsSync(marker)).toBe(false);
  }, 320_000);

  // (c) A source build as an unprivileged user, with npm_config_nodedir unset: the headers
  // installed beside node must be found without downloading (this machine is offline anyway).
  const prefix = path.dirname(path.dirname(process.execPath));
  const userPath = [path.dirname(process.execPath), '/usr/local/bin', '/usr/bin', '/bin'].join(path.delimiter);
  const npmNodeGyp = path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  const ciUser = process.getuid?.() === 0 ? lookupUser('cordon-ci') : undefined;
  const missing = [
    !fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) && `${prefix}/include/node/node_api.h`,
    ...['python3', 'make', 'g++'].filter((c) => !which(c, userPath)),
    !fs.existsSync(npmNodeGyp) && `npm's node-gyp (${npmNodeGyp})`,
  ].filter(Boolean);
  const who = ciUser ? 'as cordon-ci' : `as ${os.userInfo().username}`;

  it.skipIf(missing.length > 0)(
    `builds from source ${who} with npm_config_nodedir unset, using the headers beside node` +
      (missing.length ? ` (skipped: missing ${missing.join(', ')})` : ''),
    () => {
      const pkg = temp(makePackage('none'));
      const home = temp(mkTemp('home'));
      if (ciUser) {
        for (const d of [pkg, home]) chownR(d, ciUser.uid, ciUser.gid);
      }
      const env = cleanEnv({ PATH: userPath, HOME: home });
      const ids = ciUser ? { uid: ciUser.uid, gid: ciUser.gid } : {};
      const r = nodeInstall(pkg, env, { ...ids, timeout: 10 * 60_000 });
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stderr).toContain('No prebuild matches this platform');
      expect(r.stderr).toContain('Building from source with node-gyp.');
      expect(r.stderr).not.toContain('node-gyp will download');
      const built = path.join(pkg, 'build', 'Release', 'cordon.node');
      expect(fs.statSync(built).uid).toBe(ciUser ? ciUser.uid : process.getuid?.());
      // Nothing was downloaded into node-gyp's cache: the local headers were used.
      expect(fs.existsSync(path.join(home, '.cache', 'node-gyp'))).toBe(false);
      // It loads as that user, and is as portable as the prebuilds (binding.gyp's flags).
      const load = run(process.execPath, ['-e', `console.log(require(process.argv[1]).probeKernel().arch)`, built], {
        timeout: 60_000,
        env,
        ...ids,
      });
      expect(load.status, load.stderr).toBe(0);
      if (which('readelf')) {
        const needs = neededVersions(built);
        expect(compareVersions(highest(needs, 'GLIBC')!, '2.28')).toBeLessThanOrEqual(0);
        expect(highest(needs, 'GLIBCXX')).toBeUndefined();
      }
    },
    11 * 60_000,
  );
});

function lookupUser(name: string): { uid: number; gid: number } | undefined {
  const line = fs.readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${name}:`));
  if (!line) return undefined;
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function chownR(dir: string, uid: number, gid: number): void {
  fs.chownSync(dir, uid, gid);
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) chownR(p, uid, gid);
    else fs.lchownSync(p, uid, gid);
  }
}
