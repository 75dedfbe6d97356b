// Host state that lives beside the filesystem rules: unix sockets the host bound, metadata of
// files outside the writable roots, protected dirs swapped away, SysV IPC, POSIX message queues
// and shared memory, kernel settings. Each denial runs beside its control (the same operation
// unsandboxed, or where the policy allows it), in mode A (namespaces) and mode B (Landlock only),
// and checks that enforcement.isolation says what actually happened.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execSandboxed, probeKernel, SandboxPolicy } from '../../src/index.js';
import type { IsolationClass } from '../../src/isolation.js';
import { isRoot } from '../helpers/process.js';
import { buildHelperFrom } from '../helpers/build-helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const probe = probeKernel();
const namespacesWork = probe.namespaces.mount && probe.namespaces.pid && (probe.isRoot || probe.namespaces.user);

function ipcProbe(): string {
  return buildHelperFrom(join(here, 'helpers', 'ipc-probe.c'));
}

const CLIENT = `const s = require('net').connect(process.argv[1]);
s.on('connect', () => { console.log('CONNECTED'); process.exit(0); });
s.on('error', (e) => { console.log(e.code); process.exit(0); });`;

const SELF_SERVER = `const net = require('net'); const p = process.argv[1];
const srv = net.createServer((c) => c.end('hi')).listen(p, () => {
  net.connect(p).on('data', (d) => { console.log(String(d) === 'hi' ? 'OK' : 'BAD'); process.exit(0); })
    .on('error', (e) => { console.log(e.code); process.exit(0); });
}).on('error', (e) => { console.log(e.code); process.exit(0); });`;

function unsandboxed(file: string, args: string[]): string {
  return spawnSync(file, args, { encoding: 'utf8' }).stdout.trim();
}

function cls(report: { isolation?: IsolationClass[] }, name: string): IsolationClass {
  const c = report.isolation?.find((x) => x.class === name);
  if (!c) throw new Error(`no isolation class ${name} in the report`);
  return c;
}

const modes = [
  { name: 'A (namespaces)', namespaces: true },
  { name: 'B (landlock only)', namespaces: false },
].filter((m) => !m.namespaces || namespacesWork);

describe.each(modes)('host state outside the filesystem rules, mode $name', ({ namespaces }) => {
  const A = namespaces;
  let base: string;
  let parent: string;
  let ws: string;
  let outside: string;
  let tmpDir: string;
  const servers: Server[] = [];
  let policy: SandboxPolicy;
  const savedAuthSock = process.env.SSH_AUTH_SOCK;

  const listen = (path: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const s = createServer((c) => c.on('error', () => {}).end('secret')).listen(path, resolve).on('error', reject);
      servers.push(s);
    });
  const run = async (cmd: string, args: string[], extra: { enforcement?: 'strict' | 'best-effort'; cwd?: string } = {}) => {
    const r = await execSandboxed(cmd, args, {
      policy,
      cwd: extra.cwd ?? ws,
      namespaces,
      enforcement: extra.enforcement ?? 'strict',
      timeout: 20_000,
    });
    return { ...r, stdout: String(r.stdout), stderr: String(r.stderr) };
  };

  beforeAll(async () => {
    // Outside /tmp, so that "outside" is outside every writable root.
    base = mkdtempSync('/var/tmp/cordon-iso-');
    chmodSync(base, 0o755);
    parent = join(base, 'parent');
    ws = join(parent, 'ws');
    outside = join(base, 'outside');
    for (const d of [join(ws, '.git'), join(ws, 'src'), join(parent, 'other'), outside]) mkdirSync(d, { recursive: true });
    writeFileSync(join(ws, '.git', 'config'), '[core]\n');
    writeFileSync(join(ws, 'src', 'a.txt'), 'a\n');
    writeFileSync(join(outside, 'file.txt'), 'outside\n', { mode: 0o644 });
    tmpDir = mkdtempSync('/tmp/cordon-agent-');
    await listen(join(outside, 'daemon.sock')); // a docker.sock outside the roots
    await listen(join(tmpDir, 'agent.sock')); // an ssh-agent socket in /tmp
    await listen(join(ws, 'own.sock')); // the workspace's own socket
    process.env.SSH_AUTH_SOCK = join(tmpDir, 'agent.sock');
    // parent and ws both writable: ws's parent may be written, so ws itself could be swapped.
    policy = SandboxPolicy.workspaceWrite([parent, ws]);
  });
  afterAll(() => {
    for (const s of servers) s.close();
    if (savedAuthSock === undefined) delete process.env.SSH_AUTH_SOCK;
    else process.env.SSH_AUTH_SOCK = savedAuthSock;
    rmSync(base, { recursive: true, force: true });
    rmSync(tmpDir, { recursive: true, force: true });
  });

  it('host unix sockets outside the workspace are unreachable; the workspace socket and a server of its own work', async () => {
    const hostSockets = [join(outside, 'daemon.sock'), join(tmpDir, 'agent.sock')];
    // Control: every socket accepts connections from an unsandboxed client.
    for (const p of [...hostSockets, join(ws, 'own.sock')]) expect(unsandboxed('node', ['-e', CLIENT, p])).toBe('CONNECTED');

    if (A) {
      for (const p of hostSockets) expect((await run('node', ['-e', CLIENT, p])).stdout.trim()).not.toBe('CONNECTED');
      expect((await run('node', ['-e', CLIENT, join(ws, 'own.sock')])).stdout.trim()).toBe('CONNECTED');
      expect((await run('node', ['-e', SELF_SERVER, join(ws, 'self.sock')])).stdout.trim()).toBe('OK');
      const r = await run('true', []);
      expect(cls(r.enforcement, 'unix-pathname-sockets')).toMatchObject({ enforced: true });
      expect(cls(r.enforcement, 'unix-pathname-sockets').by.join()).toMatch(/mount namespace/);
    } else {
      // Strict without a mount namespace: socket(AF_UNIX) refused for every path, the tool's own included.
      for (const p of [...hostSockets, join(ws, 'own.sock')]) expect((await run('node', ['-e', CLIENT, p])).stdout.trim()).toBe('EACCES');
      const strict = await run('true', []);
      expect(cls(strict.enforcement, 'unix-pathname-sockets').by.join()).toMatch(/socket\(AF_UNIX\) refused/);
      // Best-effort leaves them reachable and says so.
      const be = await run('node', ['-e', CLIENT, hostSockets[0] as string], { enforcement: 'best-effort' });
      expect(be.stdout.trim()).toBe('CONNECTED');
      expect(cls(be.enforcement, 'unix-pathname-sockets').enforced).toBe(false);
    }
  });

  it('metadata of files outside the writable roots cannot change (chmod, utime); inside it can', async () => {
    const f = join(outside, 'file.txt');
    const before = statSync(f);
    const r = await run('sh', ['-c', `chmod 0777 ${f}; echo chmod=$?; touch -d 2001-01-01 ${f}; echo touch=$?; chmod 0777 src/a.txt; echo inner=$?; touch -d 2001-01-01 src/a.txt; echo innertouch=$?`]);
    expect(r.stdout).toContain('inner=0');
    expect(r.stdout).toContain('innertouch=0');
    expect(statSync(join(ws, 'src', 'a.txt')).mode & 0o777).toBe(0o777);
    const c = cls(r.enforcement, 'metadata-outside-writable-roots');
    if (A) {
      expect(r.stdout).toContain('chmod=1');
      expect(r.stdout).toContain('touch=1');
      expect(r.stderr).toMatch(/Read-only file system/);
      const after = statSync(f);
      expect(after.mode).toBe(before.mode);
      expect(after.mtimeMs).toBe(before.mtimeMs);
      expect(c.enforced).toBe(true);
      // .git inside the workspace: read-only too.
      const g = await run('sh', ['-c', 'chmod 0777 .git/config; echo git=$?']);
      expect(g.stdout).toContain('git=1');
    } else {
      // Landlock does not cover metadata: the report must say the class is open.
      expect(c.enforced).toBe(false);
      expect(c.gaps.join()).toMatch(/chmod/);
    }
    // Control: the caller may change the file's metadata outside the sandbox (DAC allows it).
    chmodSync(f, 0o640);
    expect(statSync(f).mode & 0o777).toBe(0o640);
    chmodSync(f, 0o644);
  });

  it('a writable root and its .git cannot be renamed away and re-created; ordinary renames work', async () => {
    const script = [
      `mv ${ws} ${ws}-moved; echo root=$?`,
      `mv ${join(ws, '.git')} ${join(ws, 'git-old')}; echo git=$?`,
      // Controls one level down (mode B freezes a root's top level, see the filesystem report).
      `mkdir -p ${join(parent, 'other', 'd')}; mv ${join(parent, 'other', 'd')} ${join(parent, 'other', 'e')}; echo other=$?`,
      `mv ${join(ws, 'src', 'a.txt')} ${join(ws, 'src', 'b.txt')}; echo src=$?`,
    ].join('; ');
    const r = await run('sh', ['-c', script], { cwd: parent });
    expect(r.stdout).toContain('other=0');
    expect(r.stdout).toContain('src=0');
    expect(r.stdout).toContain('git=1');
    const c = cls(r.enforcement, 'protected-dir-replacement');
    if (A) {
      expect(r.stdout).toContain('root=1');
      expect(c.enforced && c.gaps.length === 0).toBe(true);
    } else {
      expect(c.gaps.join()).toMatch(/renamed away/);
    }
    // Restore for the other tests, whatever happened.
    spawnSync('sh', ['-c', `[ -d ${ws}-moved ] && mv ${ws}-moved ${ws}; mv ${join(ws, 'src', 'b.txt')} ${join(ws, 'src', 'a.txt')}; rm -rf ${join(parent, 'other', 'e')}; true`]);
  });

  it('host SysV shared memory and POSIX message queues are unreachable; private IPC works where the namespace exists', async () => {
    const bin = ipcProbe();
    const key = `0x${(0x7c000000 + Math.floor(Math.random() * 0xffffff)).toString(16)}`;
    const queue = `/cordon-test-${process.pid}-${namespaces ? 'a' : 'b'}`;
    expect(unsandboxed(bin, ['shm-create', key, 'host-secret'])).toBe('OK');
    expect(unsandboxed(bin, ['mq-create', queue, 'queued-secret'])).toBe('OK');
    try {
      // Controls: the host-side objects are readable without the sandbox.
      expect(unsandboxed(bin, ['shm-read', key])).toBe('host-secret');
      const shm = await run(bin, ['shm-read', key]);
      expect(shm.stdout.trim()).toBe(A ? 'ENOENT' : 'EPERM');
      const mq = await run(bin, ['mq-read', queue]);
      expect(mq.stdout.trim()).toBe(A ? 'ENOENT' : 'EPERM');
      const self = await run(bin, ['shm-self']);
      expect(self.stdout.trim()).toBe(A ? 'OK' : 'EPERM');
      const c = cls(self.enforcement, 'sysv-ipc');
      expect(c.enforced).toBe(true);
      expect(c.by.join()).toMatch(A ? /ipc namespace/ : /seccomp/);
      expect(self.enforcement.namespaces.ipc).toBe(A);
    } finally {
      unsandboxed(bin, ['shm-remove', key]);
      unsandboxed(bin, ['mq-remove', queue]);
    }
    // The message is still there for the host: nothing in the sandbox consumed it.
  });

  it('the host /dev/shm is private in mode A and reported open in mode B', async () => {
    const name = `/dev/shm/cordon-test-${process.pid}-${namespaces ? 'a' : 'b'}`;
    writeFileSync(name, 'shm-secret', { mode: 0o644 });
    try {
      expect(readFileSync(name, 'utf8')).toBe('shm-secret'); // control
      const r = await run('cat', [name]);
      const c = cls(r.enforcement, 'posix-shm');
      if (A) {
        expect(r.exitCode).not.toBe(0);
        expect(r.stdout).not.toContain('shm-secret');
        expect(c.enforced).toBe(true);
      } else {
        expect(c.enforced).toBe(false);
      }
    } finally {
      rmSync(name, { force: true });
    }
  });

  it('/proc/sys and /sys are not writable, whatever the caller uid (root control writes the same value back)', async () => {
    const settings = ['/proc/sys/kernel/printk_ratelimit', '/sys/module/printk/parameters/time'];
    for (const path of settings) {
      const value = readFileSync(path, 'utf8').trim();
      const r = await run('sh', ['-c', `echo ${value} > ${path}; echo rc=$?`]);
      expect(r.stdout).toMatch(/rc=[1-9]/);
      expect(readFileSync(path, 'utf8').trim()).toBe(value);
      expect(cls(r.enforcement, 'kernel-settings').enforced).toBe(true);
      // Control, meaningful as root only: the same write outside the sandbox succeeds (same value).
      if (isRoot) {
        const c = spawnSync('sh', ['-c', `echo ${value} > ${path}`]);
        expect(c.status).toBe(0);
      }
    }
  });
});

describe.runIf(namespacesWork)('host unix sockets: masks that cannot be walked around (mode A)', () => {
  const servers: Server[] = [];
  const cleanups: (() => void)[] = [];
  const listen = (path: string): Promise<void> =>
    new Promise((resolve, reject) => {
      const s = createServer((c) => c.on('error', () => {}).end('secret')).listen(path, resolve).on('error', reject);
      servers.push(s);
    });
  const connect = async (path: string, opts: { policy: SandboxPolicy; cwd: string; tmp?: 'private' | 'host' }) => {
    const r = await execSandboxed('node', ['-e', CLIENT, path], { ...opts, timeout: 20_000 });
    return { out: String(r.stdout).trim(), r };
  };
  afterAll(() => {
    for (const s of servers) s.close();
    for (const c of cleanups) c();
  });

  it("a host socket in /tmp is out of sight under the default private /tmp (control: reachable unsandboxed)", async () => {
    const dir = mkdtempSync('/tmp/cordon-private-sock-');
    const ws = mkdtempSync('/var/tmp/cordon-private-sock-ws-');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => rmSync(ws, { recursive: true, force: true }));
    await listen(join(dir, 'agent.sock'));
    expect(unsandboxed('node', ['-e', CLIENT, join(dir, 'agent.sock')])).toBe('CONNECTED'); // control
    const policy = SandboxPolicy.parse(JSON.stringify({ type: 'workspace_write', writable_roots: [{ root: ws }] }));
    const { out } = await connect(join(dir, 'agent.sock'), { policy, cwd: ws });
    expect(out).toMatch(/ENOENT/);
  });

  // With tmp: 'host' (the shared /tmp, asked for explicitly) the socket masks hold /tmp.
  it('a socket dir in a writable /tmp cannot be renamed away to unmask the socket for a later spawn', async () => {
    const dir = mkdtempSync('/tmp/cordon-rename-');
    const ws = mkdtempSync('/var/tmp/cordon-rename-ws-');
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }), () => rmSync(`${dir}-moved`, { recursive: true, force: true }), () => rmSync(ws, { recursive: true, force: true }));
    mkdirSync(join(dir, 'sub'));
    await listen(join(dir, 'sub', 'agent.sock'));
    expect(unsandboxed('node', ['-e', CLIENT, join(dir, 'sub', 'agent.sock')])).toBe('CONNECTED'); // control
    // /tmp writable (the reference JSON's default), workspace elsewhere.
    const policy = SandboxPolicy.parse(JSON.stringify({ type: 'workspace_write', writable_roots: [{ root: ws }] }));
    const control = mkdtempSync('/tmp/cordon-rename-ctl-');
    cleanups.push(() => rmSync(control, { recursive: true, force: true }), () => rmSync(`${control}-moved`, { recursive: true, force: true }));
    const r = await execSandboxed('sh', ['-c', `mv ${dir} ${dir}-moved; echo dir=$?; mv ${control} ${control}-moved; echo control=$?`], { policy, cwd: ws, tmp: 'host' });
    expect(String(r.stdout)).toBe('dir=1\ncontrol=0\n'); // an ordinary dir in /tmp moves (control)
    expect((await connect(join(dir, 'sub', 'agent.sock'), { policy, cwd: ws, tmp: 'host' })).out).not.toBe('CONNECTED');
  });

  it('a socket directory that holds $HOME or the cwd is not hidden; the socket itself is', async () => {
    const home = realpathSync(mkdtempSync('/var/tmp/cordon-home-'));
    const saved = { HOME: process.env.HOME, SSH_AUTH_SOCK: process.env.SSH_AUTH_SOCK };
    cleanups.push(() => rmSync(home, { recursive: true, force: true }));
    mkdirSync(join(home, 'proj'));
    const agent = join(home, 'agent.sock'); // where some agents (Bitwarden) put it
    await listen(agent);
    process.env.HOME = home;
    process.env.SSH_AUTH_SOCK = agent;
    try {
      expect(unsandboxed('node', ['-e', CLIENT, agent])).toBe('CONNECTED'); // control
      const { out, r } = await connect(agent, { policy: SandboxPolicy.readOnly(), cwd: join(home, 'proj') });
      expect(r.exitCode).toBe(0); // the cwd under $HOME is still there
      expect(out).not.toBe('CONNECTED');
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });

  it('a socket bound with a relative path cannot be located: the report names the gap', async () => {
    const dir = realpathSync(mkdtempSync('/var/tmp/cordon-relsock-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    const server = spawn(process.execPath, ['-e', "require('net').createServer((c) => c.end('x')).listen('rel.sock', () => console.log('ready'))"], { cwd: dir, stdio: ['ignore', 'pipe', 'ignore'] });
    cleanups.push(() => server.kill('SIGKILL'));
    await new Promise((r) => server.stdout!.once('data', r));
    const ws = mkdtempSync('/var/tmp/cordon-relsock-ws-');
    cleanups.push(() => rmSync(ws, { recursive: true, force: true }));
    const r = await execSandboxed('true', [], { policy: SandboxPolicy.workspaceWrite([ws]), cwd: ws });
    const c = cls(r.enforcement, 'unix-pathname-sockets');
    expect(c.gaps.join('\n')).toMatch(/relative path/);
  });
});
