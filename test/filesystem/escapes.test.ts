// Escapes that must fail, each beside a control that the same operation works where allowed.
// Parametrised over mode A (landlock + mount namespace) and mode B (Landlock only), as root and
// (in CI) as an unprivileged user.

import { copyFileSync, existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearFilesystemPlanCache, compileFilesystemPlan, type FilesystemPlan } from '../../src/filesystem/index.js';
import { helpers, isRoot, makeWorld, probe, probeOps, runInPlan, type World } from './harness.js';
import { policyFrom, type PolicyJson } from './policy.js';

const modes = [
  { name: 'A (landlock+mountns)', namespaces: true },
  { name: 'B (landlock-only)', namespaces: false },
].filter((m) => !m.namespaces || probe.mountNamespace);

/** Denied by a mask: EACCES for the mode-000 tmpfs as non-root, ENOENT where DAC is bypassed. */
const MASKED = ['ENOENT', 'EACCES'];

describe.each(modes)('filesystem escapes, mode $name', ({ namespaces }) => {
  let w: World;
  let plan: FilesystemPlan;
  const A = namespaces;

  beforeAll(async () => {
    helpers();
    w = makeWorld();
    process.env.HOME = w.home;
    delete process.env.TMPDIR;
    symlinkSync(join(w.home, '.ssh', 'id_rsa'), join(w.ws, 'key-link'));
    symlinkSync(join(w.outside, 'file.txt'), join(w.ws, 'out-link'));
    copyFileSync('/usr/bin/id', join(w.ws, 'id'));
    const json: PolicyJson = { type: 'workspace_write', writable_roots: [{ root: w.ws }], exclude_slash_tmp: true, exclude_tmpdir_env_var: true };
    plan = compileFilesystemPlan({
      policy: await policyFrom(json),
      cwd: w.ws,
      probe,
      enforcement: 'strict',
      network: { mode: 'full' },
      namespaces,
    });
  });
  afterAll(() => {
    clearFilesystemPlanCache();
    w.cleanup();
  });

  it('reports the mode it runs in, and strict has nothing missing', () => {
    expect(plan.report.mode).toBe(A ? 'landlock+mountns' : 'landlock-only');
    expect(plan.missing).toEqual([]);
  });

  it('sensitive file: direct, symlink, hardlink, /proc/self/root, io_uring all fail; controls read', async () => {
    const key = join(w.home, '.ssh', 'id_rsa');
    const r = await probeOps(
      plan,
      [
        `read:${key}`,
        `read:${join(w.ws, 'key-link')}`,
        `link:${key}:${join(w.ws, 'k')}`,
        `read:/proc/self/root${key}`,
        `uring:${key}`,
        `content:${join(w.home, '.npmrc')}`,
        // controls: the same operations on a non-sensitive file
        `read:${join(w.home, '.bashrc')}`,
        `read:/proc/self/root${join(w.home, '.bashrc')}`,
        `uring:${join(w.home, '.bashrc')}`,
        `link:${join(w.ws, 'src', 'a.txt')}:${join(w.ws, 'src', 'a-link')}`,
      ],
      w.ws,
    );
    const [direct, viaLink, hardlink, viaProc, viaUring, npmrc, ...controls] = r;
    expect(A ? MASKED : ['EACCES']).toContain(direct);
    expect(viaLink).toBe(direct);
    // Mode B: linking needs rights on the source's directory that a sensitive dir never has.
    expect(A ? MASKED : ['EACCES']).toContain(hardlink);
    expect(viaProc).toBe(direct);
    expect(viaUring).toBe(direct);
    // A file mask is an empty 0000 file: EACCES, or empty content where DAC is bypassed (root).
    expect(A ? ['EACCES', 'OK:'] : ['EACCES']).toContain(npmrc);
    expect(controls).toEqual(['OK', 'OK', 'OK', 'OK']);
    expect(existsSync(join(w.ws, 'k'))).toBe(false);
  });

  it('listing a sensitive dir: empty in A, names only in B (reported as names-listed)', async () => {
    const [ls] = await probeOps(plan, [`read:${join(w.home, '.ssh')}`], w.ws);
    const p = plan.report.protections.find((x) => x.what === `deny read+write ${join(w.home, '.ssh')}`);
    if (A) {
      expect(MASKED).toContain(isRoot ? 'ENOENT' : ls === 'OK' ? 'ENOENT' : ls);
      expect(p?.by[0]).toMatch(/^mount namespace/);
    } else {
      expect(ls).toBe('OK');
      expect(p?.gaps).toContain('names-listed');
    }
  });

  it('outside the writable roots: write, truncate, create, rename in/out, delete, mkfifo, mknod fail', async () => {
    const o = w.outside;
    const r = await probeOps(
      plan,
      [
        `write:${o}/file.txt`,
        `trunc:${o}/file.txt`,
        `otrunc:${o}/file.txt`,
        `create:${o}/new`,
        `rename:${w.ws}/src/a.txt:${o}/a.txt`,
        `rename:${o}/file.txt:${w.ws}/src/moved`,
        `unlink:${o}/file.txt`,
        `rmdir:${o}/dir`,
        `mkfifo:${o}/fifo`,
        `mknod:${o}/node`,
        `write:${w.ws}/out-link`,
        `mkdir:${o}/newdir`,
      ],
      w.ws,
    );
    expect(r).toEqual(Array(12).fill('EACCES'));
    expect(readFileSync(join(o, 'file.txt'), 'utf8')).toBe('outside\n');
    expect(existsSync(join(w.ws, 'src', 'a.txt'))).toBe(true);
  });

  it('controls: the same operations inside the workspace work', async () => {
    const s = `${w.ws}/src`;
    const r = await probeOps(
      plan,
      [
        `write:${s}/a.txt`,
        `trunc:${s}/a.txt`,
        `otrunc:${s}/a.txt`,
        `create:${s}/new`,
        `rename:${s}/new:${s}/renamed`,
        `mkdir:${s}/d`,
        `rename:${s}/renamed:${s}/d/inner`,
        `unlink:${s}/d/inner`,
        `rmdir:${s}/d`,
        `mkfifo:${s}/fifo`,
        `unlink:${s}/fifo`,
        `write:/dev/null`,
        `otrunc:/dev/null`,
        `read:/dev/zero`,
      ],
      w.ws,
    );
    expect(r).toEqual(Array(14).fill('OK'));
  });

  it('protected .git: write, create a hook, delete HEAD, rename or remove .git fail; workspace stays usable', async () => {
    const g = `${w.ws}/.git`;
    const r = await probeOps(
      plan,
      [
        `write:${g}/config`,
        `create:${g}/hooks/pre-commit`,
        `unlink:${g}/HEAD`,
        `rename:${g}:${w.ws}/.git-old`,
        `rmdir:${g}`,
        `rename:${w.ws}/README.md:${g}/README.md`,
        `otrunc:${g}/config`,
        // controls beside them
        `create:${w.ws}/src/ok.txt`,
        `read:${g}/config`,
      ],
      w.ws,
    );
    const denied = A ? 'EROFS' : 'EACCES';
    // Mode A: .git is a mount point, so rename/rmdir of it is EBUSY; moving a file into it EXDEV
    // (a different mount) or EROFS.
    expect(r.slice(0, 3)).toEqual([denied, denied, denied]);
    expect(r[3]).toBe(A ? 'EBUSY' : 'EACCES');
    expect(r[4]).toBe(A ? 'EBUSY' : 'EACCES');
    expect(A ? ['EXDEV', 'EROFS'] : ['EACCES']).toContain(r[5]);
    expect(r[6]).toBe(denied);
    expect(r.slice(7)).toEqual(['OK', 'OK']);
    expect(readFileSync(`${g}/config`, 'utf8')).toBe('[core]\n');
    expect(existsSync(`${g}/HEAD`)).toBe(true);
  });

  it('workspace top level: create/rename/delete work in A; frozen in B, and the report says so', async () => {
    const r = await probeOps(plan, [`create:${w.ws}/top.txt`, `rename:${w.ws}/top.txt:${w.ws}/top2.txt`, `unlink:${w.ws}/top2.txt`, `mkdir:${w.ws}/topdir`], w.ws);
    const git = plan.report.protections.find((p) => p.what === `read-only ${w.ws}/.git`);
    expect(git?.enforced).toBe(true);
    if (A) {
      expect(r).toEqual(['OK', 'OK', 'OK', 'OK']);
      expect(git?.by).toEqual(['mount namespace (read-only bind)']);
    } else {
      expect(r).toEqual(['EACCES', 'ENOENT', 'ENOENT', 'EACCES']);
      expect(git?.by).toEqual(['landlock sibling grants']);
      expect(git?.gaps).toContain(`frozen-dir:${w.ws}`);
      expect(git?.gaps).toContain('metadata-ops-not-covered');
    }
  });

  it('chmod on protected metadata: EROFS in A; allowed in B and reported as metadata-ops-not-covered', async () => {
    const [chmod] = await probeOps(plan, [`chmod:${w.ws}/.git/config`], w.ws);
    expect(chmod).toBe(A ? 'EROFS' : 'OK');
  });

  it('chmod +s on a workspace file then exec it: no privilege gain (no_new_privs)', async () => {
    const id = join(w.ws, 'id');
    const [setuid, exec] = await probeOps(plan, [`setuid:${id}`, `exec:${id}`], w.ws);
    expect(setuid).toBe('OK');
    expect(exec).toBe('OK(0)');
    const r = await runInPlan(plan, id, ['-u'], { cwd: w.ws });
    const uid = String(process.getuid?.());
    // Under the unshare emulation of mode A the caller is root in its namespace.
    expect(r.stdout.trim()).toBe(A && !isRoot ? '0' : uid);
    const status = await runInPlan(plan, '/bin/cat', ['/proc/self/status'], { cwd: w.ws });
    expect(status.stdout).toMatch(/NoNewPrivs:\s+1/);
  });
});

describe('writable-root validation', () => {
  it('a missing or non-directory writable root is a PolicyError', async () => {
    const w = makeWorld();
    try {
      writeFileSync(join(w.base, 'file'), '');
      mkdirSync(join(w.base, 'cwd'));
      for (const root of [join(w.base, 'nope'), join(w.base, 'file')]) {
        const policy = await policyFrom({ type: 'workspace_write', writable_roots: [{ root }], exclude_slash_tmp: true, exclude_tmpdir_env_var: true });
        expect(() =>
          compileFilesystemPlan({ policy, cwd: join(w.base, 'cwd'), probe, enforcement: 'strict', network: { mode: 'full' }, namespaces: false }),
        ).toThrow(expect.objectContaining({ code: 'ERR_CORDON_POLICY', message: expect.stringContaining(root) }));
      }
    } finally {
      w.cleanup();
    }
  });
});
