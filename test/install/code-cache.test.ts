// The bundle's V8 code cache (dist/modules.cjs.v8cache): used when it was made for this very
// file by this Node, ignored when the file changed or moved since and inside a vm context,
// refused by V8 when it is not V8's (another Node version, garbage); cordon loads the same in
// every case.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/process.js';

const repo = join(__dirname, '..', '..');
let tmp: { dir: string; cleanup: () => void };
let dist: string;

beforeAll(() => {
  // A copy of the built bundle (npm test builds dist/ first) and the cache writer beside it.
  tmp = tempDir('cordon-code-cache-');
  dist = join(tmp.dir, 'dist');
  mkdirSync(dist);
  for (const f of ['modules.cjs', 'boot.cjs', 'cordon.cjs']) cpSync(join(repo, 'dist', f), join(dist, f));
  mkdirSync(join(tmp.dir, 'scripts'));
  cpSync(join(repo, 'scripts', 'code-cache.cjs'), join(tmp.dir, 'scripts', 'code-cache.cjs'));
});
afterAll(() => tmp.cleanup());

/** Loads the copy in a fresh node: the cache state and a policy built with it. */
function load(): { codeCache: string; kind: string } {
  const script = `const c = require(${JSON.stringify(join(dist, 'cordon.cjs'))});
    const kind = c.SandboxPolicy.workspaceWrite(['/tmp']).kind;
    console.log(JSON.stringify({ codeCache: require(${JSON.stringify(join(dist, 'boot.cjs'))}).codeCache, kind }));`;
  const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
  expect(r.stderr).toBe('');
  return JSON.parse(r.stdout) as { codeCache: string; kind: string };
}

describe('code cache of the bundle', () => {
  it('none → written → used; stale after the bundle changes; garbage is refused by V8; cordon works throughout', () => {
    expect(load()).toEqual({ codeCache: 'none', kind: 'WorkspaceWrite' });
    const w = spawnSync(process.execPath, [join(tmp.dir, 'scripts', 'code-cache.cjs'), '--verbose'], { encoding: 'utf8', timeout: 60_000 });
    expect(w.status).toBe(0);
    expect(w.stderr).toBe('');
    expect(load()).toEqual({ codeCache: 'used', kind: 'WorkspaceWrite' });
    // The bundle rewritten (an upgrade, patch-package): its mtime moves, the cache no longer counts.
    const file = join(dist, 'modules.cjs');
    const later = new Date(Date.now() + 5000);
    utimesSync(file, later, later);
    expect(load()).toEqual({ codeCache: 'none', kind: 'WorkspaceWrite' });
    // An edit of the same length with the mtime restored (a V8 code cache is checked against
    // the length only): the ctime moved, so the cache is not used and the edited code runs.
    spawnSync(process.execPath, [join(tmp.dir, 'scripts', 'code-cache.cjs')], { timeout: 60_000 });
    expect(load().codeCache).toBe('used');
    const st = statSync(file);
    const text = readFileSync(file, 'utf8');
    const edited = text.replace("'.git'", "'.gix'");
    expect(edited.length).toBe(text.length);
    writeFileSync(file, edited);
    utimesSync(file, st.atime, st.mtime);
    expect(statSync(file).mtimeMs).toBe(st.mtimeMs);
    const r = spawnSync(process.execPath, ['-e', `const c = require(${JSON.stringify(join(dist, 'cordon.cjs'))}); console.log(c.WRITE_PROTECTED_DIRS.join(','), require(${JSON.stringify(join(dist, 'boot.cjs'))}).codeCache)`], { encoding: 'utf8' });
    expect(r.stdout.trim()).toMatch(/^\.gix,.* none$/);
    writeFileSync(file, text);
    // A copy elsewhere (cp -a keeps mtimes): another path and inode, so not used (stack traces
    // would name the old place).
    const copy = join(tmp.dir, 'copy');
    spawnSync(process.execPath, [join(tmp.dir, 'scripts', 'code-cache.cjs')], { timeout: 60_000 });
    expect(spawnSync('cp', ['-a', dist, copy]).status).toBe(0);
    const c2 = spawnSync(process.execPath, ['-e', `require(${JSON.stringify(join(copy, 'cordon.cjs'))}); console.log(require(${JSON.stringify(join(copy, 'boot.cjs'))}).codeCache)`], { encoding: 'utf8' });
    expect(c2.stdout.trim()).toBe('none');
    // Inside a vm context (how Jest loads modules): not used, so cordon's objects are that context's.
    const inContext = `const vm = require('node:vm'); const { wrap } = require('node:module'); const fs = require('node:fs');
      const boot = ${JSON.stringify(join(dist, 'boot.cjs'))};
      const ctx = vm.createContext({ process, console });
      const fn = vm.runInContext(wrap(fs.readFileSync(boot, 'utf8')), ctx);
      const m = { exports: {} };
      fn(m.exports, require, m, boot, ${JSON.stringify(dist)});
      m.exports.load('index.js');
      console.log(m.exports.codeCache);`;
    expect(spawnSync(process.execPath, ['-e', inContext], { encoding: 'utf8' }).stdout.trim()).toBe('none');
    // A cache whose header matches but whose data is not V8's (another Node, corruption).
    spawnSync(process.execPath, [join(tmp.dir, 'scripts', 'code-cache.cjs')], { timeout: 60_000 });
    const cache = readFileSync(`${file}.v8cache`);
    const header = cache.subarray(0, cache.indexOf(10) + 1);
    writeFileSync(`${file}.v8cache`, Buffer.concat([header, Buffer.alloc(4096, 7)]));
    expect(load()).toEqual({ codeCache: 'rejected', kind: 'WorkspaceWrite' });
  });
});
