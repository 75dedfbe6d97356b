// Escapes that must fail, each beside a control that the same operation works where allowed.
// Every run goes through the real spawn engine (execSandboxed), in mode A (namespaces) and mode B
// (Landlock only), as root and as an unprivileged user. Mode B answers come from Landlock alone
// (EACCES); mode A may answer with the mount namespace first (EROFS, EBUSY, EXDEV), so its denials
// accept the kernel's honest errno set.

import { chownSync, copyFileSync, chmodSync, existsSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxPolicy, execSandboxed } from '../../src/index.js';
import { DENIED, MODES, fsprobe, isRoot, makeWorld, probeOnHost, probeOps, protection, sandboxed, type SandboxOptions, type World } from './harness.js';

/** A masked path: EACCES (mode-000 tmpfs; root's capabilities are dropped), ENOENT where DAC is bypassed. */
const MASKED = ['ENOENT', 'EACCES'];

/** What `run.enforcement.isolation` says about the read-only tree of mode A (chmod/utime outside the roots). */
function metadataHeld(isolation: { class: string; enforced: boolean }[] | undefined): boolean {
  return isolation?.find((c) => c.class === 'metadata-outside-writable-roots')?.enforced === true;
}

describe.each(MODES)('filesystem escapes, mode $name', ({ namespaces }) => {
  let w: World;
  let o: SandboxOptions;
  const A = namespaces;

  beforeAll(() => {
    fsprobe();
    w = makeWorld();
    process.env.HOME = w.home;
    delete process.env.TMPDIR;
    symlinkSync(join(w.home, '.ssh', 'id_rsa'), join(w.ws, 'key-link'));
    symlinkSync(join(w.outside, 'file.txt'), join(w.ws, 'out-link'));
    copyFileSync('/usr/bin/id', join(w.ws, 'id'));
    chmodSync(join(w.ws, 'id'), 0o755);
    const policy = SandboxPolicy.parse({ type: 'workspace_write', writable_roots: [{ root: w.ws }], exclude_slash_tmp: true, exclude_tmpdir_env_var: true });
    o = { policy, cwd: w.ws, namespaces };
  });
  afterAll(() => w.cleanup());

  it('runs in the mode asked for, and strict has nothing missing', async () => {
    const r = await sandboxed('/bin/true', [], o);
    expect(r.exitCode).toBe(0);
    expect(r.fs.mode).toBe(A ? 'landlock+mountns' : 'landlock-only');
    expect(r.enforcement.missing).toEqual([]);
  });

  it('sensitive file: direct, symlink, hardlink, /proc/self/root all fail; controls read', async () => {
    const key = join(w.home, '.ssh', 'id_rsa');
    const { got } = await probeOps(
      [
        `read:${key}`,
        `read:${join(w.ws, 'key-link')}`,
        `link:${key}:${join(w.ws, 'k')}`,
        `read:/proc/self/root${key}`,
        `content:${join(w.home, '.npmrc')}`,
        // controls: the same operations on non-sensitive files
        `read:${join(w.home, '.bashrc')}`,
        `read:/proc/self/root${join(w.home, '.bashrc')}`,
        `link:${join(w.ws, 'src', 'a.txt')}:${join(w.ws, 'src', 'a-link')}`,
      ],
      o,
    );
    const [direct, viaLink, hardlink, viaProc, npmrc, ...controls] = got;
    expect(A ? MASKED : ['EACCES']).toContain(direct);
    expect(viaLink).toBe(direct);
    // Mode B: linking needs rights on the source's directory that a sensitive dir never has.
    expect(A ? MASKED : ['EACCES']).toContain(hardlink);
    expect(viaProc).toBe(direct);
    // A file mask is an empty 0000 file: EACCES, or empty content where DAC is bypassed (root).
    expect(A ? ['EACCES', 'OK:'] : ['EACCES']).toContain(npmrc);
    expect(controls).toEqual(['OK', 'OK', 'OK']);
    expect(existsSync(join(w.ws, 'k'))).toBe(false);
  });

  it('io_uring cannot open around the filesystem rules: refused inside (seccomp), works on the host', async () => {
    const key = join(w.home, '.ssh', 'id_rsa');
    const { got } = await probeOps([`uring:${key}`, `uring:${join(w.home, '.bashrc')}`], o);
    expect(got).toEqual(['ENOSYS', 'ENOSYS']);
    expect(probeOnHost([`uring:${join(w.home, '.bashrc')}`], w.ws)).toEqual(['OK']);
  });

  it('listing a sensitive dir: empty in A, names only in B (reported as names-listed)', async () => {
    const ssh = join(w.home, '.ssh');
    const { got, run } = await probeOps([`read:${ssh}`, `read:${join(w.home)}`], o);
    const p = protection(run.fs, `deny read+write ${ssh}`);
    expect(p?.enforced).toBe(true);
    expect(got[1]).toBe('OK');
    if (A) {
      // The empty tmpfs has mode 000, and even root holds no capabilities in the sandbox.
      expect(got[0]).toBe('EACCES');
      expect(p?.by[0]).toMatch(/^mount namespace/);
    } else {
      expect(got[0]).toBe('OK');
      expect(p?.gaps).toContain('names-listed');
    }
  });

  it('outside the writable roots: write, truncate, create, rename in/out, delete, mkfifo, mknod fail', async () => {
    const out = w.outside;
    const ops = [
      `write:${out}/file.txt`,
      `trunc:${out}/file.txt`,
      `otrunc:${out}/file.txt`,
      `create:${out}/new`,
      `rename:${w.ws}/src/a.txt:${out}/a.txt`,
      `rename:${out}/file.txt:${w.ws}/src/moved`,
      `unlink:${out}/file.txt`,
      `rmdir:${out}/dir`,
      `mkfifo:${out}/fifo`,
      `mknod:${out}/node`,
      `write:${w.ws}/out-link`,
      `mkdir:${out}/newdir`,
    ];
    const { got } = await probeOps(ops, o);
    if (A) {
      // Renames between the workspace mount and the read-only tree fail as cross-mount (EXDEV).
      got.forEach((g, i) => expect([...DENIED, ...(ops[i]!.startsWith('rename:') ? ['EXDEV'] : [])], ops[i]).toContain(g));
    } else {
      expect(got).toEqual(Array(ops.length).fill('EACCES'));
    }
    expect(readFileSync(join(out, 'file.txt'), 'utf8')).toBe('outside\n');
    expect(existsSync(join(w.ws, 'src', 'a.txt'))).toBe(true);
    // Control: the same operations work on the host (the world is not read-only by itself).
    expect(probeOnHost([`createrm:${out}/new`, `write:${out}/dir/../file.txt`], w.base)).toEqual(['OK', 'OK']);
    writeFileSync(join(out, 'file.txt'), 'outside\n');
  });

  it('controls: the same operations inside the workspace work', async () => {
    const s = `${w.ws}/src`;
    const { got } = await probeOps(
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
      o,
    );
    expect(got).toEqual(Array(14).fill('OK'));
  });

  it('protected .git: write, create a hook, delete HEAD, rename or remove .git fail; workspace stays usable', async () => {
    const g = `${w.ws}/.git`;
    const { got } = await probeOps(
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
      o,
    );
    if (A) {
      // .git is a read-only mount point: writes EROFS, rename/rmdir of it EBUSY, moving a file
      // into it EXDEV (another mount) or EROFS.
      for (const i of [0, 1, 2, 6]) expect(DENIED).toContain(got[i]);
      expect(['EBUSY', ...DENIED]).toContain(got[3]);
      expect(['EBUSY', ...DENIED]).toContain(got[4]);
      expect(['EXDEV', ...DENIED]).toContain(got[5]);
    } else {
      expect(got.slice(0, 7)).toEqual(Array(7).fill('EACCES'));
    }
    expect(got.slice(7)).toEqual(['OK', 'OK']);
    expect(readFileSync(`${g}/config`, 'utf8')).toBe('[core]\n');
    expect(existsSync(`${g}/HEAD`)).toBe(true);
  });

  it('workspace top level: create/rename/delete work in A; frozen in B, and the report says so', async () => {
    const { got, run } = await probeOps([`create:${w.ws}/top.txt`, `rename:${w.ws}/top.txt:${w.ws}/top2.txt`, `unlink:${w.ws}/top2.txt`, `mkdir:${w.ws}/topdir`], o);
    const git = protection(run.fs, `read-only ${w.ws}/.git`);
    expect(git?.enforced).toBe(true);
    if (A) {
      expect(got).toEqual(['OK', 'OK', 'OK', 'OK']);
      expect(git?.by).toEqual(['mount namespace (read-only bind)']);
    } else {
      expect(got).toEqual(['EACCES', 'ENOENT', 'ENOENT', 'EACCES']);
      expect(git?.by).toEqual(['landlock sibling grants']);
      expect(git?.gaps).toContain(`frozen-dir:${w.ws}`);
      expect(git?.gaps).toContain('metadata-ops-not-covered');
    }
  });

  it('chmod: protected metadata read-only in A, allowed in B (reported); outside the roots as the read-only tree says; workspace files always', async () => {
    const outsideFile = join(w.outside, 'file.txt');
    const mode = statSync(outsideFile).mode & 0o7777;
    const { got, run } = await probeOps([`chmod:${w.ws}/.git/config`, `chmod:${outsideFile}`, `chmod:${w.ws}/src/a.txt`], o);
    chmodSync(outsideFile, mode);
    chmodSync(join(w.ws, '.git', 'config'), 0o644);
    if (A) expect(DENIED).toContain(got[0]);
    else {
      expect(got[0]).toBe('OK');
      expect(protection(run.fs, `read-only ${w.ws}/.git`)?.gaps).toContain('metadata-ops-not-covered');
    }
    // Landlock does not cover chmod: only mode A's read-only tree refuses it, and says so.
    if (metadataHeld(run.enforcement.isolation)) expect(DENIED).toContain(got[1]);
    else expect(got[1]).toBe('OK');
    if (!A) expect(metadataHeld(run.enforcement.isolation)).toBe(false);
    expect(got[2]).toBe('OK');
  });

  it('setuid bits: chmod +s refused; a setuid binary does not elevate (no_new_privs)', async () => {
    const id = join(w.ws, 'id');
    const { got } = await probeOps([`setuid:${id}`, `chmod:${id}`, `exec:${id}`], o);
    // Seccomp refuses S_ISUID/S_ISGID in chmod; the same chmod without them works.
    expect(got).toEqual(['EPERM', 'OK', 'OK(0)']);
    chmodSync(id, 0o755);
    const status = await sandboxed('/bin/cat', ['/proc/self/status'], o);
    expect(status.stdout).toMatch(/NoNewPrivs:\s+1/);
    const self = await sandboxed(id, ['-u'], o);
    expect(self.stdout.trim()).toBe(String(process.getuid?.()));
    if (isRoot) {
      // A real setuid binary (owned by nobody) elevates on the host but not in the sandbox.
      const suid = join(w.ws, 'id-nobody');
      copyFileSync('/usr/bin/id', suid);
      chownSync(suid, 65534, 65534);
      chmodSync(suid, 0o4755);
      expect(execFileSync(suid, ['-u'], { encoding: 'utf8' }).trim()).toBe('65534');
      const r = await sandboxed(suid, ['-u'], o);
      expect(r.stdout.trim()).toBe('0');
    }
  });
});

describe('writable-root validation', () => {
  it('a missing or non-directory writable root is refused with a PolicyError naming it; an existing one runs', async () => {
    const w = makeWorld();
    try {
      writeFileSync(join(w.base, 'file'), '');
      mkdirSync(join(w.base, 'cwd'));
      for (const root of [join(w.base, 'nope'), join(w.base, 'file')]) {
        const policy = SandboxPolicy.parse({ type: 'workspace_write', writable_roots: [{ root }], exclude_slash_tmp: true, exclude_tmpdir_env_var: true });
        await expect(execSandboxed('/bin/true', [], { policy, cwd: join(w.base, 'cwd') })).rejects.toMatchObject({
          code: 'ERR_CORDON_POLICY',
          message: expect.stringContaining(root),
        });
      }
      const policy = SandboxPolicy.parse({ type: 'workspace_write', writable_roots: [{ root: w.ws }], exclude_slash_tmp: true, exclude_tmpdir_env_var: true });
      await expect(execSandboxed('/bin/true', [], { policy, cwd: join(w.base, 'cwd') })).resolves.toMatchObject({ exitCode: 0 });
    } finally {
      w.cleanup();
    }
  });
});
