// The prebuilt addons (scripts/prebuilds.mjs): they exist for the host, they match the sources,
// they load where we promise (glibc 2.28+, no libstdc++ needed), and node-gyp-build finds them.
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  cleanEnv,
  compareVersions,
  ELF_MACHINE,
  highest,
  hostTarget,
  mkTemp,
  neededVersions,
  PREBUILD_NAME,
  repo,
  run,
  which,
} from './helpers.js';

const MAX_GLIBC = '2.28';
const script = path.join(repo, 'scripts', 'prebuilds.mjs');

/** Every prebuilt .node, and the local build if there is one: all must be portable. */
function binaries(): string[] {
  const found: string[] = [];
  const dir = path.join(repo, 'prebuilds');
  for (const tuple of fs.existsSync(dir) ? fs.readdirSync(dir) : []) {
    for (const f of fs.readdirSync(path.join(dir, tuple))) if (f.endsWith('.node')) found.push(path.join(dir, tuple, f));
  }
  const local = path.join(repo, 'build', 'Release', 'cordon.node');
  if (fs.existsSync(local)) found.push(local);
  return found;
}

describe.skipIf(!hostTarget)('prebuilds (runs only on a linux-x64 or linux-arm64 glibc host)', () => {
  let hostBuild: ReturnType<typeof run>;
  beforeAll(() => {
    // Cheap when the stamp is current (a hash of the sources); otherwise a build of ~10 s.
    hostBuild = run(process.execPath, [script, '--host'], { cwd: repo, timeout: 10 * 60_000 });
  }, 11 * 60_000);

  it('scripts/prebuilds.mjs --host leaves a current host prebuild', () => {
    expect(hostBuild.status, hostBuild.stdout + hostBuild.stderr).toBe(0);
    expect(fs.existsSync(path.join(repo, 'prebuilds', `linux-${hostTarget}`, PREBUILD_NAME))).toBe(true);
    const check = run(process.execPath, [script, '--check'], { cwd: repo, timeout: 60_000 });
    expect(check.stdout).toContain(`linux-${hostTarget} current`);
  });

  it('every prebuild present was built from these sources (its stamp matches)', async () => {
    const { TARGETS, isCurrent, prebuildPath } = (await import(script)) as {
      TARGETS: Record<string, object>;
      isCurrent: (t: object) => boolean;
      prebuildPath: (t: object) => string;
    };
    const stale = Object.entries(TARGETS)
      .filter(([, t]) => fs.existsSync(prebuildPath(t)) && !isCurrent(t))
      .map(([arch]) => `linux-${arch}`);
    // Fix: npm run prebuilds:all (needs g++-aarch64-linux-gnu on x64), then commit prebuilds/.
    expect(stale, 'stale prebuilds: run "npm run prebuilds:all"').toEqual([]);
  });

  it.skipIf(!which('readelf'))(
    `every .node needs at most GLIBC_${MAX_GLIBC}, no GLIBCXX_/CXXABI_, and is an ELF of its folder's arch (needs readelf, binutils)`,
    () => {
      const problems: string[] = [];
      const files = binaries();
      expect(files.length).toBeGreaterThan(0);
      for (const file of files) {
        const rel = path.relative(repo, file);
        const needs = neededVersions(file);
        const glibc = highest(needs, 'GLIBC');
        if (!glibc) problems.push(`${rel}: no GLIBC_ version needs found (readelf output changed?)`);
        else if (compareVersions(glibc, MAX_GLIBC) > 0) problems.push(`${rel}: needs GLIBC_${glibc}`);
        for (const cxx of ['GLIBCXX', 'CXXABI']) {
          const v = highest(needs, cxx);
          if (v) problems.push(`${rel}: needs ${cxx}_${v} (libstdc++ must be static)`);
        }
        const arch = /prebuilds\/linux-(\w+)\//.exec(file)?.[1] ?? process.arch;
        const header = fs.readFileSync(file).subarray(0, 20);
        if (header.readUInt16LE(18) !== ELF_MACHINE[arch]) problems.push(`${rel}: ELF machine ${header.readUInt16LE(18)}, not ${arch}`);
      }
      // A stale local build fails here too: rebuild it (npm run build:native) or remove build/.
      expect(problems).toEqual([]);
    },
  );

  it('node-gyp-build resolves the host prebuild when build/ is absent, and it loads and probes', () => {
    // A copy with package.json and prebuilds/ only: what an installed package without a
    // compiler has. node-gyp-build is resolved from the repo (the copy has no node_modules).
    const dir = mkTemp('resolve');
    try {
      fs.copyFileSync(path.join(repo, 'package.json'), path.join(dir, 'package.json'));
      fs.cpSync(path.join(repo, 'prebuilds'), path.join(dir, 'prebuilds'), { recursive: true });
      const child = run(
        process.execPath,
        [
          '-e',
          `const load = require(require.resolve('node-gyp-build', { paths: [process.argv[1]] }));
           const file = load.path(process.argv[2]);
           const probe = require(file).probeKernel();
           console.log(JSON.stringify({ file, arch: probe.arch }));`,
          repo,
          dir,
        ],
        { timeout: 60_000, env: cleanEnv({ PATH: process.env.PATH ?? '' }) },
      );
      expect(child.status, child.stderr).toBe(0);
      const out = JSON.parse(child.stdout) as { file: string; arch: string };
      expect(out.file).toBe(path.join(dir, 'prebuilds', `linux-${hostTarget}`, PREBUILD_NAME));
      expect(out.arch).toBe(hostTarget === 'x64' ? 'x86_64' : 'aarch64');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
