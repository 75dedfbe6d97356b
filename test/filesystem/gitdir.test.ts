// A `.git` that is a file (linked worktrees, submodules) names the repository metadata git really
// uses. The sandbox must not change it any more than a `.git` directory: a planted hook or
// `core.fsmonitor` would run on the host at the next git command. Real `git worktree add`, through
// the real spawn engine, both modes; each denial beside its control (the same write inside the
// sandbox where allowed, or outside the sandbox).

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnforcementError, SandboxPolicy } from '../../src/index.js';
import { DENIED, MODES, fsprobe, probeOnHost, probeOps, protection, sandboxed, type SandboxOptions } from './harness.js';

const identity = {
  GIT_AUTHOR_NAME: 't',
  GIT_AUTHOR_EMAIL: 't@t',
  GIT_COMMITTER_NAME: 't',
  GIT_COMMITTER_EMAIL: 't@t',
  GIT_CONFIG_NOSYSTEM: '1',
};

describe.each(MODES)('linked gitdirs, mode $name', ({ namespaces }) => {
  const A = namespaces;
  /** Denial in this mode: Landlock alone in B; A may answer from its read-only mounts first. */
  const denied = A ? DENIED : ['EACCES'];
  let base: string;
  let main: string;
  let wt: string;
  let gitdir: string;
  let common: string;
  let env: Record<string, string>;
  const git = (cwd: string, ...args: string[]): string => execFileSync('git', args, { cwd, env, encoding: 'utf8' });
  const workspace = (roots: string[], cwd = wt): SandboxOptions => ({
    policy: SandboxPolicy.parse({ type: 'workspace_write', writable_roots: roots.map((root) => ({ root })), exclude_slash_tmp: true, exclude_tmpdir_env_var: true }),
    cwd,
    namespaces,
    env,
  });

  beforeAll(() => {
    fsprobe();
    base = realpathSync(mkdtempSync('/var/tmp/cordon-gitdir-'));
    const home = join(base, 'home');
    mkdirSync(home);
    process.env.HOME = home;
    env = { ...(process.env as Record<string, string>), HOME: home, ...identity };
    main = join(base, 'main');
    mkdirSync(join(main, 'src'), { recursive: true });
    writeFileSync(join(main, 'src', 'a.txt'), 'a\n');
    git(main, 'init', '-q', '-b', 'main');
    git(main, 'add', '.');
    git(main, 'commit', '-qm', 'init');
    wt = join(base, 'wt');
    git(main, 'worktree', 'add', '-q', '-b', 'feature', wt);
    gitdir = join(main, '.git', 'worktrees', 'wt');
    common = join(main, '.git');
    expect(readFileSync(join(wt, '.git'), 'utf8')).toBe(`gitdir: ${gitdir}\n`);
  });
  afterAll(() => rmSync(base, { recursive: true, force: true }));

  it('gitdir and common dir inside a writable root: writes fail (the policy model alone would allow them); reads and the worktree work', async () => {
    // The workspace is the parent of both checkouts: before linked gitdirs were protected, the
    // worktree's gitdir and the repository's .git were plainly writable here.
    const o = workspace([base]);
    expect(o.policy.isPathWritable(join(common, 'config'), wt)).toBe(true);
    const ops = [
      `write:${gitdir}/HEAD`,
      `create:${gitdir}/config.worktree`,
      `write:${common}/config`,
      `create:${common}/hooks/post-checkout`,
      `create:${common}/objects/planted`,
      // controls
      `read:${gitdir}/HEAD`,
      `read:${common}/config`,
      `create:${wt}/src/new.txt`,
    ];
    const { got, run } = await probeOps(ops, o);
    got.slice(0, 5).forEach((g, i) => expect(denied, ops[i]).toContain(g));
    expect(got.slice(5)).toEqual(['OK', 'OK', 'OK']);
    const p = protection(run.fs, `read-only ${common} (git common dir of ${wt}/.git)`);
    expect(p?.enforced).toBe(true);
    expect(p?.by).toEqual(A ? ['mount namespace (read-only bind)'] : ['landlock sibling grants']);
    // The gitdir lies inside the common dir: covered by it, no second line.
    expect(run.fs.protections.some((x) => x.what.startsWith(`read-only ${gitdir}`))).toBe(false);
    expect(run.enforcement.missing).toEqual([]);
    // Control: outside the sandbox the same places are writable.
    expect(probeOnHost([`createrm:${gitdir}/probe`, `createrm:${common}/hooks/probe`], base)).toEqual(['OK', 'OK']);
  });

  it('git inside: status works, commit is refused and the branch does not move', async () => {
    const o = workspace([base]);
    const before = git(wt, 'rev-parse', 'HEAD');
    writeFileSync(join(wt, 'src', 'a.txt'), 'changed\n');
    const status = await sandboxed('git', ['status', '--short'], o);
    expect(status.exitCode).toBe(0);
    expect(status.stdout).toContain('src/a.txt');
    const commit = await sandboxed('git', ['commit', '-qam', 'from the sandbox'], o);
    expect(commit.exitCode).not.toBe(0);
    expect(commit.stderr).toMatch(/Read-only file system|Permission denied/);
    expect(git(wt, 'rev-parse', 'HEAD')).toBe(before);
    git(wt, 'checkout', '-q', '--', 'src/a.txt');
  });

  it('gitdir outside every writable root: read-only (Landlock, and a read-only bind in A), reported', async () => {
    const o = workspace([wt]);
    const { got, run } = await probeOps([`write:${gitdir}/HEAD`, `write:${common}/config`, `read:${gitdir}/HEAD`, `create:${wt}/src/new2.txt`], o);
    expect(denied).toContain(got[0]);
    expect(denied).toContain(got[1]);
    expect(got.slice(2)).toEqual(['OK', 'OK']);
    const p = protection(run.fs, `read-only ${common} (git common dir of ${wt}/.git)`);
    expect(p?.enforced).toBe(true);
    expect(p?.by).toEqual(A ? ['mount namespace (read-only bind)'] : [`landlock abi ${run.fs.landlockAbi}`]);
  });

  it('a caller who wants commits lists the gitdir and the common dir as writable roots: commit works, the host sees it', async () => {
    const o = workspace([wt, gitdir, common]);
    writeFileSync(join(wt, 'src', 'a.txt'), `committed in mode ${A ? 'A' : 'B'}\n`);
    const commit = await sandboxed('git', ['commit', '-qam', `sandbox commit ${A ? 'A' : 'B'}`], o);
    expect(commit.stderr).toBe('');
    expect(commit.exitCode).toBe(0);
    expect(git(wt, 'log', '-1', '--format=%s')).toBe(`sandbox commit ${A ? 'A' : 'B'}\n`);
    expect(git(main, 'log', '-1', '--format=%s', 'feature')).toBe(`sandbox commit ${A ? 'A' : 'B'}\n`);
    // The .git file itself stays protected, as .git does in any writable root.
    const { got, run } = await probeOps([`write:${wt}/.git`], o);
    expect(denied).toContain(got[0]);
    expect(run.fs.protections.some((x) => x.what.includes('gitdir of') || x.what.includes('git common dir of'))).toBe(false);
  });

  it('a submodule (relative gitdir: ../.git/modules/sub) inside a writable root: its gitdir is read-only', async () => {
    const sup = join(base, `super-${A ? 'a' : 'b'}`);
    mkdirSync(sup);
    git(sup, 'init', '-q', '-b', 'main');
    git(sup, '-c', 'protocol.file.allow=always', 'submodule', 'add', '-q', main, 'sub');
    const sub = join(sup, 'sub');
    const modules = join(sup, '.git', 'modules', 'sub');
    expect(readFileSync(join(sub, '.git'), 'utf8')).toBe('gitdir: ../.git/modules/sub\n');
    // The superproject is not a writable root itself, only their common parent: without the
    // link nothing would protect the submodule's gitdir.
    const o = workspace([base], sub);
    const { got, run } = await probeOps([`write:${modules}/config`, `create:${modules}/hooks/post-checkout`, `read:${modules}/config`, `create:${sub}/src/new.txt`], o);
    expect(denied).toContain(got[0]);
    expect(denied).toContain(got[1]);
    expect(got.slice(2)).toEqual(['OK', 'OK']);
    expect(protection(run.fs, `read-only ${modules} (gitdir of ${sub}/.git)`)?.enforced).toBe(true);
    expect(probeOnHost([`createrm:${modules}/hooks/probe`], sup)).toEqual(['OK']);
  });

  it('a .git file naming a missing gitdir inside a writable root: it cannot be created (frozen parent, reported)', async () => {
    const ws = join(base, `dangling-${A ? 'a' : 'b'}`);
    mkdirSync(join(ws, 'src'), { recursive: true });
    const missing = join(ws, 'repo', '.git');
    writeFileSync(join(ws, '.git'), 'gitdir: repo/.git\n');
    const o = workspace([ws], ws);
    const { got, run } = await probeOps([`mkdir:${join(ws, 'repo')}`, `create:${ws}/src/ok.txt`], o);
    expect(got).toEqual(['EACCES', 'OK']);
    const p = protection(run.fs, `read-only ${missing} (gitdir of ${ws}/.git)`);
    expect(p).toMatchObject({ enforced: true, by: ['landlock sibling grants (absent; creation blocked)'] });
    expect(p?.gaps).toContain(`frozen-dir:${ws}`);
    // Control: the host can create it.
    expect(probeOnHost([`mkdir:${join(ws, 'repo')}`], ws)).toEqual(['OK']);
  });

  it('a gitdir behind a symlink loop in the workspace: strict refuses (typed), best-effort runs and reports', async () => {
    const ws = join(base, `loop-${A ? 'a' : 'b'}`);
    mkdirSync(ws);
    symlinkSync('loop', join(ws, 'loop'));
    writeFileSync(join(ws, '.git'), 'gitdir: loop/x\n');
    const o = workspace([ws], ws);
    const refused = await sandboxed('/bin/true', [], o).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(EnforcementError);
    expect((refused as EnforcementError).missing.some((m) => m.includes('gitdir-unresolvable'))).toBe(true);
    const run = await sandboxed('/bin/true', [], { ...o, enforcement: 'best-effort' });
    expect(run.exitCode).toBe(0);
    expect(protection(run.fs, `read-only ${ws}/loop/x (gitdir of ${ws}/.git)`)?.enforced).toBe(false);
  });

  it('a .git file git cannot use (garbage) is reported, never thrown; the file itself stays read-only', async () => {
    const ws = join(base, `garbage-${A ? 'a' : 'b'}`);
    mkdirSync(ws);
    writeFileSync(join(ws, '.git'), 'this is not a gitfile\n');
    const o = workspace([ws], ws);
    const { got, run } = await probeOps([`write:${ws}/.git`, `read:${ws}/.git`], o);
    expect(denied).toContain(got[0]);
    expect(got[1]).toBe('OK');
    expect(protection(run.fs, `gitdir named by ${ws}/.git`)).toMatchObject({ enforced: true, gaps: ['gitfile-invalid:invalid-format'] });
    expect(run.enforcement.missing).toEqual([]);
    expect(probeOnHost([`write:${ws}/.git`], ws)).toEqual(['OK']);
    // The host repairs the file: the next spawn sees the change (the plan cache watches the file).
    writeFileSync(join(ws, '.git'), 'gitdir: repo/.git\n');
    const again = await sandboxed('/bin/true', [], o);
    expect(protection(again.fs, `gitdir named by ${ws}/.git`)).toBeUndefined();
    expect(protection(again.fs, `read-only ${ws}/repo/.git (gitdir of ${ws}/.git)`)?.enforced).toBe(true);
  });
});
