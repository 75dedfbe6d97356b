// Usability controls (T1.13): everyday tools keep working under WorkspaceWrite, run through the
// real spawn engine in both modes. git writes only inside .git for add/commit, which
// WorkspaceWrite protects by design: those are refused, with git's own error, and the repository
// is left unchanged. (How a caller lets a tool commit: gitdir.test.ts.)

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxPolicy } from '../../src/index.js';
import { MODES, makeWorld, protection, sandboxed, type SandboxOptions, type World } from './harness.js';

const PY = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

describe.each(MODES)('usability under WorkspaceWrite, mode $name', ({ namespaces }) => {
  let w: World;
  let o: SandboxOptions;
  const run = (file: string, args: string[]) => sandboxed(file, args, o);

  beforeAll(() => {
    w = makeWorld();
    process.env.HOME = w.home;
    // A real repository (made on the host, outside the sandbox).
    execFileSync('rm', ['-rf', join(w.ws, '.git')]);
    const git = (...a: string[]) => execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...a], { cwd: w.ws, env: { ...process.env, HOME: w.home } });
    git('init', '-q', '-b', 'main');
    git('add', '.');
    git('commit', '-qm', 'init');
    const env = { ...process.env, HOME: w.home, GIT_CONFIG_NOSYSTEM: '1', npm_config_update_notifier: 'false' };
    const policy = SandboxPolicy.parse({ type: 'workspace_write', writable_roots: [{ root: w.ws }], exclude_slash_tmp: true, exclude_tmpdir_env_var: true });
    o = { policy, cwd: w.ws, namespaces, env };
  });
  afterAll(() => w.cleanup());

  it('git status works', async () => {
    writeFileSync(join(w.ws, 'src', 'a.txt'), 'changed\n');
    const r = await run('git', ['status', '--short']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain('src/a.txt');
  });

  it('git add and git commit are refused where they write .git; the repository is unchanged', async () => {
    const head = readFileSync(join(w.ws, '.git', 'refs', 'heads', 'main'), 'utf8');
    const add = await run('git', ['add', 'src/a.txt']);
    expect(add.exitCode).not.toBe(0);
    expect(add.stderr).toMatch(/index\.lock.*(Read-only file system|Permission denied)/);
    const commit = await run('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qam', 'x']);
    expect(commit.exitCode).not.toBe(0);
    expect(readFileSync(join(w.ws, '.git', 'refs', 'heads', 'main'), 'utf8')).toBe(head);
    // Control: the same git add works outside the sandbox.
    execFileSync('git', ['add', 'src/a.txt'], { cwd: w.ws, env: { ...process.env, HOME: w.home } });
    execFileSync('git', ['reset', '-q'], { cwd: w.ws, env: { ...process.env, HOME: w.home } });
  });

  it('node -e, python3 -c, a shell pipeline, ls ~, npm --version', async () => {
    expect((await run('node', ['-e', 'console.log(6*7)'])).stdout).toBe('42\n');
    expect((await run(PY, ['-c', 'print(6*7)'])).stdout).toBe('42\n');
    expect((await run('sh', ['-c', 'seq 1000 | sort | wc -l'])).stdout.trim()).toBe('1000');
    const ls = await run('sh', ['-c', 'ls -a ~']);
    expect(ls.exitCode).toBe(0);
    expect(ls.stdout).toContain('.bashrc');
    const npm = await run('npm', ['--version']);
    expect(npm.exitCode).toBe(0);
    expect(npm.stdout).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('a new file at the workspace top level: created in mode A; frozen (and reported) in mode B', async () => {
    const r = await run('sh', ['-c', 'echo hi > new-top.txt && cat new-top.txt']);
    if (namespaces) {
      expect(r.stdout).toBe('hi\n');
    } else {
      expect(r.stderr).toMatch(/Permission denied/);
      expect(protection(r.fs, `read-only ${w.ws}/.git`)?.gaps).toContain(`frozen-dir:${w.ws}`);
    }
    // Nested creation works in both.
    expect((await run('sh', ['-c', 'echo hi > src/new.txt && cat src/new.txt'])).stdout).toBe('hi\n');
  });
});
