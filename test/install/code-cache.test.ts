// The bundle's V8 code cache (dist/modules.cjs.v8cache): used when it was made for this very
// file by this Node, ignored when the file changed since, refused by V8 when it is not V8's
// (another Node version, garbage), and cordon loads the same in every case.
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
    // Another version's bundle of the same size, extracted with the same mtime (npm gives every
    // file one fixed mtime): its first line, the content hash, differs, so the cache is not used.
    spawnSync(process.execPath, [join(tmp.dir, 'scripts', 'code-cache.cjs')], { timeout: 60_000 });
    expect(load().codeCache).toBe('used');
    const st = statSync(file);
    const text = readFileSync(file, 'utf8');
    const other = text.replace(/^\/\/ cordon-bundle [0-9a-f]{64}/, `// cordon-bundle ${'0'.repeat(64)}`);
    expect(other.length).toBe(text.length);
    writeFileSync(file, other);
    utimesSync(file, st.atime, st.mtime);
    expect(statSync(file).mtimeMs).toBe(st.mtimeMs);
    expect(load()).toEqual({ codeCache: 'none', kind: 'WorkspaceWrite' });
    writeFileSync(file, text);
    // A cache whose header matches but whose data is not V8's (another Node, corruption).
    const cache = readFileSync(`${file}.v8cache`);
    const header = cache.subarray(0, cache.indexOf(10) + 1).toString('latin1');
    const { size, mtimeMs } = statSync(file);
    expect(header.endsWith(` ${size} ${mtimeMs}\n`)).toBe(false);
    const id = text.slice(0, text.indexOf('\n'));
    writeFileSync(`${file}.v8cache`, Buffer.concat([Buffer.from(`${id} ${size} ${mtimeMs}\n`, 'latin1'), Buffer.alloc(4096, 7)]));
    expect(load()).toEqual({ codeCache: 'rejected', kind: 'WorkspaceWrite' });
  });
});
