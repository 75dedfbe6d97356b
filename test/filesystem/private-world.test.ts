// The sandbox's world is built for it (issue 14): masks that hold while the host replaces what
// they cover, parents of masked paths that cannot be renamed away, a /dev with only the device
// files it may use, and temp space of its own. Every denial has its control; every test runs as
// root and as an unprivileged user, in mode A and (where the kernel can say it) mode B.
import { execFileSync, spawn as spawnChild, type ChildProcess } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { execSandboxed, spawnSandboxed, SandboxPolicy, SpawnOptionsError } from '../../src/index.js';
import { clearFilesystemPlanCache, compileFilesystemPlan, isWithin, type FilesystemReport } from '../../src/filesystem/index.js';
import { makeWorld, MODES, namespacesWork, probe, repoRoot, type World } from './harness.js';

let w: World;
const savedHome = process.env.HOME;
beforeAll(() => {
  w = makeWorld('cordon-world-');
  process.env.HOME = w.home;
});
afterAll(() => {
  process.env.HOME = savedHome;
  clearFilesystemPlanCache();
  w.cleanup();
});

const workspace = (): SandboxPolicy => SandboxPolicy.workspaceWrite([w.ws]);
const fsReport = (r: { enforcement: { filesystem?: unknown } }): FilesystemReport => r.enforcement.filesystem as FilesystemReport;
/** Whether a tool these tests drive runs here (each test that needs one skips without it). */
const runs = (file: string, args: string[]): boolean => {
  try {
    execFileSync(file, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const hasGit = runs('git', ['--version']);
const hasCc = runs('cc', ['--version']);
const hasPython = runs('python3', ['-c', 'import pty']);

/** Collects a running sandbox's stdout and resolves once `marker` has appeared `count` times. */
function watch(child: { stdout: NodeJS.ReadableStream | null }): { text: () => string; seen: (marker: string, count: number) => Promise<void> } {
  let text = '';
  const waiters: (() => void)[] = [];
  child.stdout!.on('data', (d: Buffer) => {
    text += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  const occurrences = (marker: string) => text.split(marker).length - 1;
  return {
    text: () => text,
    seen: (marker, count) =>
      new Promise<void>((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error(`timed out waiting for ${count}x ${marker}; got:\n${text}`)), 15_000);
        const check = () => {
          if (occurrences(marker) >= count) {
            clearTimeout(deadline);
            resolve();
          } else waiters.push(check);
        };
        check();
      }),
  };
}

describe.each(MODES)('masks hold while the host replaces what they cover, mode $name', ({ namespaces }) => {
  it.skipIf(!hasGit)("git's credential store rewriting ~/.git-credentials and a re-created ~/.aws are never read by a running sandbox (control: a replaced ordinary file is)", async () => {
    const creds = join(w.home, '.git-credentials');
    writeFileSync(creds, 'https://u:OLDTOKEN@example.com\n', { mode: 0o600 });
    writeFileSync(join(w.outside, 'note.txt'), 'OLDNOTE\n');
    const stop = join(w.ws, `stop-${namespaces}`);
    const loop = `while [ ! -e ${stop} ]; do cat ${creds} 2>&1; cat ${w.home}/.aws/credentials 2>&1; cat ${w.outside}/note.txt; echo ---; sleep 0.05; done`;
    const child = spawnSandboxed('sh', ['-c', loop], { policy: workspace(), cwd: w.ws, namespaces, timeout: 30_000, env: { PATH: process.env.PATH, HOME: w.home } });
    const out = watch(child);
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await out.seen('---', 1);
      // The host, meanwhile: git stores a new token (a lock file renamed over the old one), a tool
      // moves ~/.aws away and writes a new one, an editor saves a new note.txt by rename.
      execFileSync('git', ['credential-store', '--file', creds, 'store'], { input: 'protocol=https\nhost=example.com\nusername=u\npassword=NEWTOKEN\n\n' });
      renameSync(join(w.home, '.aws'), join(w.home, `.aws-old-${namespaces}`));
      mkdirSync(join(w.home, '.aws'));
      writeFileSync(join(w.home, '.aws', 'credentials'), 'NEWAWS\n');
      writeFileSync(join(w.outside, 'note.tmp'), 'NEWNOTE\n');
      renameSync(join(w.outside, 'note.tmp'), join(w.outside, 'note.txt'));
      await out.seen('NEWNOTE', 2); // control: the running sandbox sees the host's new ordinary file
    } finally {
      writeFileSync(stop, '');
      await exited;
      rmSync(stop, { force: true });
    }
    expect(execFileSync('cat', [creds], { encoding: 'utf8' })).toContain('NEWTOKEN'); // control: git really rewrote it
    expect(out.text()).not.toContain('NEWTOKEN');
    expect(out.text()).not.toContain('NEWAWS');
    expect(out.text()).not.toContain('OLDTOKEN');
    const held = fsReport(child).protections.find((p) => p.what === `deny read+write ${creds}`);
    expect(held?.by.some((b) => b.startsWith('landlock sibling grants'))).toBe(true);
    rmSync(join(w.home, '.aws'), { recursive: true, force: true });
    renameSync(join(w.home, `.aws-old-${namespaces}`), join(w.home, '.aws'));
  });

  it('sensitive paths missing at spawn stay unreadable when the host makes them under a running sandbox (control: an ordinary new file there is read)', async () => {
    const home = realpathSync(mkdtempSync(join(w.base, `emptyhome-${namespaces}-`)));
    mkdirSync(join(home, '.config'));
    const saved = process.env.HOME;
    process.env.HOME = home; // a user with no credentials yet: nothing to mask at spawn
    const stop = join(w.ws, `stop-missing-${namespaces}`);
    const files = [join(home, '.aws', 'credentials'), join(home, '.config', 'gh', 'hosts.yml'), join(home, '.ssh', 'id_rsa'), join(home, '.git-credentials')];
    const control = join(w.outside, `new-${namespaces}.txt`);
    const loop = `while [ ! -e ${stop} ]; do cat ${[...files, control].join(' ')} 2>/dev/null; echo ---; sleep 0.05; done`;
    try {
      const child = spawnSandboxed('sh', ['-c', loop], { policy: workspace(), cwd: w.ws, namespaces, timeout: 30_000, env: { PATH: process.env.PATH, HOME: home } });
      const out = watch(child);
      const exited = new Promise((resolve) => child.on('exit', resolve));
      try {
        await out.seen('---', 1);
        // `aws configure`, `gh auth login`, `ssh-keygen`, `git credential-store` on the host.
        for (const f of files) {
          mkdirSync(join(f, '..'), { recursive: true });
          writeFileSync(f, `NEWSECRET ${f}\n`);
        }
        writeFileSync(control, 'NEWCONTROL\n');
        await out.seen('NEWCONTROL', 2); // control: the running sandbox sees the host's new ordinary file
      } finally {
        writeFileSync(stop, '');
        await exited;
        rmSync(stop, { force: true });
      }
      expect(out.text()).not.toContain('NEWSECRET');
      const aws = fsReport(child).protections.find((p) => p.what === `deny read+write ${join(home, '.aws')}`);
      expect(aws?.by.some((b) => b.startsWith('landlock sibling grants'))).toBe(true);
    } finally {
      process.env.HOME = saved;
      rmSync(control, { force: true });
    }
  });

  it('a standby made before the host replaced a masked file never serves the new content', async () => {
    const npmrc = join(w.home, '.npmrc');
    const read = () => execSandboxed('cat', [npmrc], { policy: workspace(), cwd: w.ws, namespaces, encoding: 'utf8' });
    await read();
    await read(); // a standby now waits for the next spawn (mode A)
    writeFileSync(join(w.home, 'npmrc.tmp'), '//registry/:_authToken=NEWNPM\n');
    renameSync(join(w.home, 'npmrc.tmp'), npmrc); // npm login's write-file-atomic
    const r = await read();
    expect(String(r.stdout)).not.toContain('NEWNPM');
    expect(execFileSync('cat', [npmrc], { encoding: 'utf8' })).toContain('NEWNPM'); // control
  });
});

describe.each(MODES)('the parents of a nested sensitive path, mode $name', ({ namespaces }) => {
  it('run 1 cannot rename root/config away to let run 2 read root/cfg2/secrets (control: other dirs move)', async () => {
    const root = mkdtempSync(join(w.base, 'nested-'));
    mkdirSync(join(root, 'config', 'secrets'), { recursive: true });
    writeFileSync(join(root, 'config', 'secrets', 'prod.env'), 'PROD=1\n');
    mkdirSync(join(root, 'other', 'a'), { recursive: true });
    const policy = SandboxPolicy.parse({
      type: 'workspace_write',
      writable_roots: [{ root }],
      sensitive_paths: [{ path: join(root, 'config', 'secrets'), block_read: true, block_write: true }],
    });
    const run1 = await execSandboxed('sh', ['-c', 'mv config cfg2; echo config=$?; mv other/a other/b; echo inner=$?; mv other other2; echo other=$?'], { policy, cwd: root, namespaces, encoding: 'utf8' });
    expect(run1.stdout).toContain('config=1');
    expect(run1.stdout).toContain('inner=0'); // control: entries beneath the root move
    // Mode A only: the root's own top level stays free (mode B freezes it for the sibling grants).
    expect(run1.stdout).toContain(namespaces ? 'other=0' : 'other=1');
    const run2 = await execSandboxed('sh', ['-c', 'cat cfg2/secrets/prod.env config/secrets/prod.env'], { policy, cwd: root, namespaces, encoding: 'utf8' });
    expect(run2.stdout).not.toContain('PROD');
    expect(execFileSync('cat', [join(root, 'config', 'secrets', 'prod.env')], { encoding: 'utf8' })).toContain('PROD'); // control
  });

  it.runIf(namespaces)('a writable root nested in another cannot be moved away with the directory above it', async () => {
    const outer = mkdtempSync(join(w.base, 'outer-'));
    const inner = join(outer, 'x', 'inner');
    mkdirSync(join(inner, '.git'), { recursive: true });
    mkdirSync(join(outer, 'y'));
    const policy = SandboxPolicy.workspaceWrite([outer, inner]);
    const r = await execSandboxed('sh', ['-c', 'mv x x2; echo x=$?; mv y y2; echo y=$?'], { policy, cwd: outer, namespaces, encoding: 'utf8' });
    expect(r.stdout).toBe('x=1\ny=0\n');
  });
});

describe.each(MODES)('protected names cannot be created where the host will trust them, mode $name', ({ namespaces }) => {
  it.skipIf(!hasGit)("a sandboxed git init with a hook fails in a root without .git (control: protectedDirs 'allow-create' lets it)", async () => {
    const root = realpathSync(mkdtempSync(join(w.base, 'noGit-')));
    const policy = SandboxPolicy.workspaceWrite([root]);
    const plant = 'git init -q . && mkdir -p .git/hooks && echo "touch pwned" > .git/hooks/post-checkout && echo planted; mkdir .codex 2>/dev/null && echo codex-made; echo ok > file.txt && echo file-ok';
    const r = await execSandboxed('sh', ['-c', plant], { policy, cwd: root, namespaces, encoding: 'utf8' });
    expect(String(r.stdout)).not.toContain('planted');
    expect(String(r.stdout)).not.toContain('codex-made');
    // Mode A keeps the top level free (placeholders); mode B freezes it (reported).
    expect(String(r.stdout)).toBe(namespaces ? 'file-ok\n' : '');
    expect(existsSync(join(root, '.git', 'HEAD'))).toBe(false);
    expect(r.enforcement.missing).toEqual([]);
    const git = fsReport(r).protections.find((p) => p.what === `read-only ${root}/.git`);
    expect(git?.enforced).toBe(true);
    if (namespaces) expect(git?.by).toContain('an empty placeholder directory, made on the host where the name was missing');
    else expect(fsReport(r).frozenDirs).toContain(root);
    // Control: the caller opts in.
    const other = realpathSync(mkdtempSync(join(w.base, 'allowGit-')));
    const ok = await execSandboxed('sh', ['-c', 'git init -q . && echo inited'], { policy: SandboxPolicy.workspaceWrite([other]), cwd: other, namespaces, encoding: 'utf8', protectedDirs: 'allow-create' });
    expect(String(ok.stdout)).toBe('inited\n');
    expect(existsSync(join(other, '.git', 'HEAD'))).toBe(true);
    expect(fsReport(ok).protections.find((p) => p.what === 'writes only beneath writable roots')?.gaps).toContain(`protected-create-allowed:${other}/.git`);
  });

  it.runIf(namespaces && hasGit)("the host's own git is not disturbed by a placeholder .git inside its repository", async () => {
    const repo = realpathSync(mkdtempSync(join(w.base, 'hostRepo-')));
    execFileSync('git', ['init', '-q', repo]);
    mkdirSync(join(repo, 'sub'));
    writeFileSync(join(repo, 'sub', 'f.txt'), 'f\n');
    await execSandboxed('true', [], { policy: SandboxPolicy.workspaceWrite([join(repo, 'sub')]), cwd: join(repo, 'sub'), namespaces });
    expect(existsSync(join(repo, 'sub', '.git'))).toBe(true); // the placeholder
    const top = execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: join(repo, 'sub'), encoding: 'utf8' }).trim();
    expect(top).toBe(repo);
    expect(execFileSync('git', ['status', '--porcelain'], { cwd: repo, encoding: 'utf8' })).toBe('?? sub/\n');
  });
});

/** A terminal of this user's, as another tab would be: its slave path, held by a helper process. */
function otherTerminal(): Promise<{ path: string; helper: ChildProcess }> {
  return new Promise((resolve, reject) => {
    const helper = spawnChild('python3', ['-c', 'import os,pty,time; m,s=pty.openpty(); print(os.ttyname(s), flush=True); time.sleep(60)'], { stdio: ['ignore', 'pipe', 'inherit'] });
    helper.on('error', reject);
    helper.stdout!.once('data', (d: Buffer) => resolve({ path: d.toString().trim(), helper }));
  });
}
const OPENER = `const fs = require('fs');
for (const p of process.argv.slice(1)) {
  try { fs.closeSync(fs.openSync(p, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY)); console.log('OPENED'); }
  catch (e) { console.log(e.code); }
}`;
const hostOpens = (...paths: string[]): string[] => execFileSync('node', ['-e', OPENER, ...paths], { encoding: 'utf8' }).trim().split('\n');
/** A block device this user can open (root: all of them; others: usually none). */
const readableBlockDevice = (() => {
  for (const name of readdirSync('/dev')) {
    const path = `/dev/${name}`;
    try {
      if (lstatSync(path).isBlockDevice() && hostOpens(path)[0] === 'OPENED') return path;
    } catch {
      // gone, or not ours
    }
  }
  return undefined;
})();

describe.each(MODES)('a minimal /dev, mode $name', ({ namespaces }) => {
  const run = async (script: string, extra: Record<string, unknown> = {}) => {
    const r = await execSandboxed('sh', ['-c', script], { policy: workspace(), cwd: w.ws, namespaces, encoding: 'utf8', ...extra });
    return Object.assign(r, { stdout: String(r.stdout) });
  };

  it('the device files programs need work: /dev/null, /dev/zero, /dev/full, /dev/urandom, /dev/fd/N, /dev/stdin', async () => {
    const r = await run('echo x > /dev/null && echo null-ok; head -c 4 /dev/zero | wc -c; head -c 4 /dev/urandom | wc -c; echo y > /dev/full || echo full-enospc; cat /dev/stdin; cat /dev/fd/0; ls /dev/fd/ > /dev/null && echo fd-ok', { input: 'piped\n' });
    expect(r.stdout).toBe('null-ok\n4\n4\nfull-enospc\npiped\nfd-ok\n');
  });

  it('a device node outside /dev does not open, even where it is readable (control: the host opens it)', async (ctx) => {
    const dir = realpathSync(mkdtempSync(join(w.base, 'devnode-')));
    const node = join(dir, 'zero-copy');
    try {
      execFileSync('mknod', [node, 'c', '1', '5'], { stdio: 'ignore' });
    } catch {
      return ctx.skip('mknod of a character device is refused to this user (no CAP_MKNOD): the attack needs it too');
    }
    execFileSync('chmod', ['0666', node]);
    expect(hostOpens(node)).toEqual(['OPENED']);
    const r = await execSandboxed('node', ['-e', OPENER, node, '/dev/zero'], { policy: SandboxPolicy.readOnly(), cwd: w.ws, namespaces, encoding: 'utf8' });
    // Mode A: the whole tree is nodev but the host's /dev. Mode B: Landlock grants read there, reported.
    expect(String(r.stdout).trim().split('\n')).toEqual([namespaces ? 'EACCES' : 'OPENED', 'OPENED']);
    const devices = fsReport(r).protections.find((p) => p.what.startsWith('devices only by name'));
    expect(devices?.gaps.some((g) => g.startsWith('device nodes outside /dev open'))).toBe(!namespaces);
  });

  it.skipIf(!hasPython)("another terminal of the same user cannot be opened (control: the host opens it)", async () => {
    const { path, helper } = await otherTerminal();
    try {
      expect(hostOpens(path)).toEqual(['OPENED']);
      const r = await execSandboxed('node', ['-e', OPENER, path, '/dev/null'], { policy: workspace(), cwd: w.ws, namespaces, encoding: 'utf8' });
      expect(String(r.stdout).trim().split('\n')).toEqual(['EACCES', 'OPENED']);
    } finally {
      helper.kill('SIGKILL');
    }
  });

  it.skipIf(readableBlockDevice === undefined)('a raw block device cannot be opened, root caller included (control: the host opens it)', async () => {
    const dev = readableBlockDevice!;
    const r = await execSandboxed('node', ['-e', OPENER, dev, '/dev/zero'], { policy: SandboxPolicy.readOnly(), cwd: w.ws, namespaces, encoding: 'utf8' });
    expect(String(r.stdout).trim().split('\n')).toEqual(['EACCES', 'OPENED']);
  });

  it('a device asked for by name opens (control: without it, it does not); a block device is refused as input', async (ctx) => {
    expect(() => spawnSandboxed('true', [], { policy: workspace(), cwd: w.ws, devices: [readableBlockDevice ?? '/dev/loop0'] })).toThrow(SpawnOptionsError);
    expect(() => spawnSandboxed('true', [], { policy: workspace(), cwd: w.ws, devices: ['/etc/passwd'] })).toThrow(/options\.devices\[0\]/);
    const extra = ['/dev/fuse', '/dev/kvm', '/dev/hwrng'].find((d) => existsSync(d) && hostOpens(d)[0] === 'OPENED');
    if (extra === undefined) return ctx.skip('no extra character device this user can open here (/dev/fuse, /dev/kvm, /dev/hwrng)');
    const open = (more: Record<string, unknown>) => execSandboxed('node', ['-e', OPENER, extra], { policy: workspace(), cwd: w.ws, namespaces, encoding: 'utf8', ...more });
    expect(String((await open({})).stdout).trim()).toBe('EACCES');
    const withIt = await open({ devices: [extra] });
    expect(String(withIt.stdout).trim()).toBe('OPENED');
    expect(fsReport(withIt).protections.find((p) => p.what.startsWith('devices only by name'))?.what).toContain(extra);
  });

  it.skipIf(!hasPython)('a command given a terminal as stdio still uses it: tty names it, /dev/stdin reopens it', async () => {
    const script = join(w.base, `tty-${namespaces}.mjs`);
    writeFileSync(
      script,
      `import { spawnSandboxed, SandboxPolicy } from ${JSON.stringify(join(repoRoot, 'dist', 'index.js'))};
const child = spawnSandboxed('sh', ['-c', 'tty; exec 3</dev/stdin && echo stdin-reopened'], { policy: SandboxPolicy.workspaceWrite([${JSON.stringify(w.ws)}]), cwd: ${JSON.stringify(w.ws)}, namespaces: ${namespaces}, stdio: ['inherit', 'pipe', 'pipe'] });
let out = '';
child.stdout.on('data', (d) => (out += d));
child.on('close', (code) => console.log('OUT ' + JSON.stringify(out) + ' ' + code));`,
    );
    const out = execFileSync('python3', ['-c', 'import pty,sys; pty.spawn(sys.argv[1:])', process.execPath, script], { encoding: 'utf8', timeout: 30_000, input: '' });
    const line = out.split('\n').find((l) => l.startsWith('OUT '));
    expect(line).toMatch(/^OUT "\/dev\/pts\/\d+\\nstdin-reopened\\n" 0/);
  });
});

describe.runIf(namespacesWork)('private temp space (mode A)', () => {
  const run = async (script: string, extra: Record<string, unknown> = {}) => {
    const r = await execSandboxed('sh', ['-c', script], { policy: workspace(), cwd: w.ws, encoding: 'utf8', ...extra });
    return Object.assign(r, { stdout: String(r.stdout) });
  };

  it("a planted /tmp/<dir>/.git with core.fsmonitor never reaches the host's /tmp (control: tmp: 'host' does)", async () => {
    const plant = `/tmp/cordon-plant-${process.pid}`;
    rmSync(plant, { recursive: true, force: true });
    const script = `mkdir -p ${plant}/.git ${plant}/node_modules && printf '[core]\\n\\tfsmonitor = touch /tmp/pwned\\n' > ${plant}/.git/config && echo planted`;
    const r = await run(script);
    expect(r.stdout).toBe('planted\n'); // the tool's own /tmp works
    expect(existsSync(plant)).toBe(false);
    expect(fsReport(r).protections.find((p) => p.what === `private ${realpathSync('/tmp')} (the host's is never written)`)?.enforced).toBe(true);
    // Control: the shared host /tmp, asked for explicitly (and /tmp made writable), is written, and the report names the risk.
    const shared = SandboxPolicy.parse({ type: 'workspace_write', writable_roots: [{ root: w.ws }], exclude_slash_tmp: false, exclude_tmpdir_env_var: true });
    try {
      const h = await execSandboxed('sh', ['-c', script], { policy: shared, cwd: w.ws, encoding: 'utf8', tmp: 'host' });
      expect(h.stdout).toBe('planted\n');
      expect(existsSync(join(plant, '.git', 'config'))).toBe(true);
      expect(fsReport(h).protections.find((p) => p.what === 'writes only beneath writable roots')?.gaps.some((g) => g.startsWith('host-temp-writable:'))).toBe(true);
    } finally {
      rmSync(plant, { recursive: true, force: true });
    }
  });

  it("a program in the host's /tmp fails to start with a message that says why (control: tmp: 'host' runs it)", async () => {
    const dir = realpathSync(mkdtempSync('/tmp/cordon-prog-'));
    const prog = join(dir, 'hello.sh');
    writeFileSync(prog, '#!/bin/sh\necho hello\n', { mode: 0o755 });
    try {
      await expect(execSandboxed(prog, [], { policy: workspace(), cwd: w.ws })).rejects.toThrow(/private \/tmp of its own .*tmp: 'host'/);
      const shared = await execSandboxed(prog, [], { policy: workspace(), cwd: w.ws, tmp: 'host', encoding: 'utf8' });
      expect(shared.stdout).toBe('hello\n');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lives as long as the sandboxed process: a file written by one command is gone for the next', async () => {
    const r1 = await run('echo one > /tmp/x && cat /tmp/x');
    expect(r1.stdout).toBe('one\n');
    const r2 = await run('cat /tmp/x 2>/dev/null || echo gone');
    expect(r2.stdout).toBe('gone\n');
  });

  it('is bounded by tmpSizeMb (control: below the bound a write succeeds)', async () => {
    const r = await run('head -c 1048576 /dev/zero > /tmp/small && echo small-ok; head -c 3145728 /dev/zero > /tmp/big 2>/dev/null || echo big-refused', { tmpSizeMb: 2 });
    expect(r.stdout).toBe('small-ok\nbig-refused\n');
  });

  it('$TMPDIR elsewhere is private too, and tools that make temp dirs work under the defaults', async () => {
    const tmpdir = mkdtempSync(join(w.base, 'tmpdir-'));
    writeFileSync(join(tmpdir, 'host-file'), 'host\n');
    const saved = process.env.TMPDIR;
    process.env.TMPDIR = tmpdir;
    const restore = () => {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
    };
    try {
      const r = await execSandboxed(
        'node',
        ['-e', "const fs=require('fs'),os=require('os'),p=require('path'); const d=fs.mkdtempSync(p.join(os.tmpdir(),'v-')); fs.writeFileSync(p.join(d,'f'),'ok'); console.log(os.tmpdir(), fs.readFileSync(p.join(d,'f'),'utf8'), fs.existsSync(p.join(os.tmpdir(),'host-file')))"],
        { policy: workspace(), cwd: w.ws, encoding: 'utf8' },
      );
      expect(r.stdout).toBe(`${tmpdir} ok false\n`);
      // The host's $TMPDIR is untouched (cordon-<uid> is the host's own: the mask file's dir).
      expect(readdirSync(tmpdir).filter((n) => !n.startsWith('cordon-'))).toEqual(['host-file']);
    } finally {
      restore();
      rmSync(tmpdir, { recursive: true, force: true });
    }
  });

  // Skipped where this tree lies in the host's /tmp (CI copies it there): the sandbox does not
  // see the host's /tmp, so vitest's own files would be out of its sight.
  it.skipIf(isWithin(realpathSync(repoRoot), realpathSync('/tmp')))('vitest itself (a temp dir of its own in /tmp) runs a test under workspaceWrite defaults', async () => {
    const ws = realpathSync(mkdtempSync(join(w.base, 'vitest-')));
    symlinkSync(join(repoRoot, 'node_modules'), join(ws, 'node_modules'));
    writeFileSync(
      join(ws, 'a.test.mjs'),
      "import { test, expect } from 'vitest';\nimport { mkdtempSync } from 'node:fs';\nimport { tmpdir } from 'node:os';\ntest('t', () => expect(mkdtempSync(tmpdir() + '/x-').length).toBeGreaterThan(0));\n",
    );
    const r = await execSandboxed(join(repoRoot, 'node_modules', '.bin', 'vitest'), ['run', '--root', ws, 'a.test.mjs'], { policy: SandboxPolicy.workspaceWrite([ws]), cwd: ws, encoding: 'utf8', timeout: 60_000 });
    expect(r.exitCode, String(r.stdout) + String(r.stderr)).toBe(0);
    expect(String(r.stdout)).toMatch(/1 passed/);
  });

  it.skipIf(!hasCc)('a C compiler (temp files in /tmp) works under workspaceWrite defaults', async () => {
    const r = await run("printf 'int main(void){return 7;}' > m.c && cc -o m.out m.c && ./m.out; echo rc=$?");
    expect(r.stdout).toBe('rc=7\n');
  });

  it('the workspace and $HOME beneath /tmp stay visible and keep their protections', async () => {
    const base = realpathSync(mkdtempSync('/tmp/cordon-under-tmp-'));
    const ws = join(base, 'ws');
    mkdirSync(join(ws, '.git'), { recursive: true });
    writeFileSync(join(ws, 'a.txt'), 'a\n');
    try {
      const r = await execSandboxed('sh', ['-c', 'cat a.txt; echo b > b.txt && echo b-ok; touch .git/x || echo git-ro; ls /tmp'], { policy: SandboxPolicy.workspaceWrite([ws]), cwd: ws, encoding: 'utf8' });
      expect(r.stdout).toBe(`a\nb-ok\ngit-ro\n${base.slice('/tmp/'.length)}\n`);
      expect(existsSync(join(ws, 'b.txt'))).toBe(true);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  });
});

describe('mode B keeps the shared temp dirs, and says so', () => {
  it('with /tmp writable the report names the risk; with it excluded the host /tmp is not written', async () => {
    const shared = SandboxPolicy.parse({ type: 'workspace_write', writable_roots: [{ root: w.ws }], exclude_slash_tmp: false, exclude_tmpdir_env_var: true });
    const r = await execSandboxed('true', [], { policy: shared, cwd: w.ws, namespaces: false });
    expect(fsReport(r).protections.find((p) => p.what === 'writes only beneath writable roots')?.gaps.some((g) => g.startsWith('host-temp-writable:'))).toBe(true);
    const plant = `/tmp/cordon-plant-b-${process.pid}`;
    const ex = await execSandboxed('mkdir', [plant], { policy: workspace(), cwd: w.ws, namespaces: false });
    expect(ex.exitCode).not.toBe(0);
    expect(existsSync(plant)).toBe(false);
  });
});

describe('the host never opens what a sandbox swapped in', () => {
  it('a .git that is a symlink is not followed when read (control: the same content as a file is read)', () => {
    const root = mkdtempSync(join(w.base, 'gitlink-'));
    const target = join(root, 'elsewhere');
    writeFileSync(target, 'gitdir: ../some-gitdir\n');
    symlinkSync(target, join(root, '.git'));
    const policy = SandboxPolicy.workspaceWrite([root]);
    const plan = compileFilesystemPlan({ policy, cwd: root, probe, enforcement: 'best-effort', network: { mode: 'none' }, namespaces: false });
    expect(plan.report.protections.some((p) => p.gaps.includes('gitfile-invalid:unreadable (ELOOP)'))).toBe(true);
    rmSync(join(root, '.git'));
    renameSync(target, join(root, '.git'));
    clearFilesystemPlanCache();
    const control = compileFilesystemPlan({ policy, cwd: root, probe, enforcement: 'best-effort', network: { mode: 'none' }, namespaces: false });
    expect(control.report.protections.some((p) => p.what.includes('some-gitdir'))).toBe(true);
  });

  it("kill() after the command was reaped signals no process group that has emptied (control: before, it does)", async () => {
    for (const { namespaces } of MODES) {
      const child = spawnSandboxed('sleep', ['30'], { policy: workspace(), cwd: w.ws, namespaces });
      await new Promise((resolve) => child.on('spawn', resolve));
      expect(child.kill('SIGKILL')).toBe(true); // control
      await new Promise((resolve) => child.on('exit', resolve));
      const spy = vi.spyOn(process, 'kill');
      try {
        expect(child.kill('SIGTERM')).toBe(false);
        expect(spy.mock.calls.filter(([pid]) => pid === -child.pid!)).toEqual([]);
      } finally {
        spy.mockRestore();
      }
    }
  });
});

describe('the report names every frozen directory', () => {
  it('mode B with $HOME beneath a writable root: the root and $HOME are frozen and named', () => {
    const root = realpathSync(mkdtempSync(join(w.base, 'frozen-')));
    const home = join(root, 'home');
    mkdirSync(join(home, '.ssh'), { recursive: true });
    const saved = process.env.HOME;
    process.env.HOME = home;
    try {
      const plan = compileFilesystemPlan({ policy: SandboxPolicy.workspaceWrite([root]), cwd: root, probe, enforcement: 'best-effort', network: { mode: 'none' }, namespaces: false });
      expect(plan.report.frozenDirs).toEqual(expect.arrayContaining([root, home]));
      const gaps = plan.report.protections.flatMap((p) => p.gaps).filter((g) => g.startsWith('frozen-dir:')).map((g) => g.slice('frozen-dir:'.length));
      for (const d of gaps) expect(plan.report.frozenDirs).toContain(d);
      // Control: a root with no sensitive or protected path beneath it freezes nothing.
      const plain = realpathSync(mkdtempSync(join(w.base, 'plain-')));
      const ws = compileFilesystemPlan({ policy: SandboxPolicy.workspaceWrite([plain]), cwd: plain, probe, enforcement: 'best-effort', network: { mode: 'none' }, namespaces: false, protectMissingMetadata: 'allow' });
      expect(ws.report.frozenDirs).toEqual([]);
    } finally {
      process.env.HOME = saved;
    }
  });
});

describe('the report stays exact', () => {
  it('every filesystem protection reported unenforced is in missing (strict would refuse), in every mode, ABI cap and option', async () => {
    const root = realpathSync(mkdtempSync(join(w.base, 'exact-')));
    const policies = [SandboxPolicy.readOnly(), SandboxPolicy.workspaceWrite([root]), SandboxPolicy.parse({ type: 'workspace_write', writable_roots: [{ root }], exclude_slash_tmp: false })];
    // Landlock-layer facts that other layers hold where Landlock cannot (seccomp refuses inet
    // sockets, the pid namespace hides host processes): the network and isolation reports say so.
    const layerFacts = new Set(['tcp bind and connect denied', 'signals only to processes inside the sandbox']);
    let checked = 0;
    for (const policy of policies) {
      for (const namespaces of [true, false]) {
        for (const landlockAbiCap of [0, 3, 7]) {
          for (const tmp of ['private', 'host'] as const) {
            for (const protectMissingMetadata of ['placeholder', 'freeze-top-level', 'allow'] as const) {
              const plan = compileFilesystemPlan({ policy, cwd: root, probe: { ...probe, mountNamespace: true, userNamespaces: true }, enforcement: 'best-effort', network: { mode: 'none' }, namespaces, landlockAbiCap, tmp, protectMissingMetadata });
              for (const p of plan.report.protections) {
                if (p.enforced || layerFacts.has(p.what)) continue;
                expect(plan.missing.some((m) => m.startsWith(p.what)), `${p.what} (ns ${namespaces}, abi ${landlockAbiCap}, ${tmp}, ${protectMissingMetadata})`).toBe(true);
                checked++;
              }
            }
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(0); // ABI 0 leaves protections unenforced: the check ran on some
  });
});
