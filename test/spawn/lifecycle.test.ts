import { execFileSync, spawn as nodeSpawn } from 'node:child_process';
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execSandboxed, releaseStandbys, SandboxPolicy, spawnSandboxed, SpawnOptionsError, type SandboxedProcess } from '../../src/index.js';
import { fdDiff, fdTable, isRoot, openFdCount, pidsWithCmdline, tempDir, waitFor, zombieChildren } from '../helpers/process.js';

let ws: { dir: string; cleanup: () => void };
let policy: SandboxPolicy;
beforeAll(() => {
  ws = tempDir();
  policy = SandboxPolicy.workspaceWrite([ws.dir]);
});
afterAll(() => ws.cleanup());

function events(child: SandboxedProcess): Promise<string[]> {
  const seen: string[] = [];
  return new Promise((resolve) => {
    child.on('spawn', () => seen.push('spawn'));
    child.on('exit', (code, signal) => seen.push(`exit:${code}:${signal}`));
    child.on('error', (err: NodeJS.ErrnoException) => seen.push(`error:${err.code}`));
    child.on('close', (code, signal) => {
      seen.push(`close:${code}:${signal}`);
      resolve(seen);
    });
  });
}

describe('spawnSandboxed basics', () => {
  it('runs a command, pipes its output and reports spawn → exit → close', async () => {
    const child = spawnSandboxed('sh', ['-c', 'echo out; echo err >&2; exit 3'], { policy, cwd: ws.dir });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    expect(await events(child)).toEqual(['spawn', 'exit:3:null', 'close:3:null']);
    expect(out).toBe('out\n');
    expect(err).toBe('err\n');
    expect(child.exitCode).toBe(3);
    expect(child.resourceUsage).toMatchObject({ userCPUTime: expect.any(Number), systemCPUTime: expect.any(Number) });
  });

  it('execSandboxed resolves with the output of failing commands', async () => {
    const r = await execSandboxed('sh', ['-c', 'echo partial; exit 7'], { policy, cwd: ws.dir });
    expect(r).toMatchObject({ stdout: 'partial\n', stderr: '', exitCode: 7, signal: null, timedOut: false, termination: 'exit' });
    expect(r.durationMs).toBeGreaterThanOrEqual(0);
  });

  it('reports a missing command like child_process (ENOENT, spawn <cmd>, path, spawnargs)', async () => {
    const child = spawnSandboxed('cordon-no-such-command', ['x'], { policy, cwd: ws.dir });
    const err = await new Promise<NodeJS.ErrnoException & { spawnargs?: string[] }>((r) => child.on('error', r));
    expect(err).toMatchObject({ code: 'ENOENT', errno: -2, syscall: 'spawn cordon-no-such-command', path: 'cordon-no-such-command', spawnargs: ['x'] });
    expect(child.pid).toBeUndefined();
    await expect(execSandboxed('cordon-no-such-command', [], { policy })).rejects.toMatchObject({ code: 'ENOENT' });
    // Control: the same lookup finds a real command.
    await expect(execSandboxed('true', [], { policy, cwd: ws.dir })).resolves.toMatchObject({ exitCode: 0 });
  });

  it('reports a non-executable file as EACCES, by path and by PATH lookup', async () => {
    const file = join(ws.dir, 'not-exec.sh');
    writeFileSync(file, '#!/bin/sh\necho hi\n');
    chmodSync(file, 0o644);
    await expect(execSandboxed(file, [], { policy, cwd: ws.dir })).rejects.toMatchObject({ code: 'EACCES', syscall: `spawn ${file}` });
    await expect(execSandboxed('not-exec.sh', [], { policy, cwd: ws.dir, env: { PATH: ws.dir } })).rejects.toMatchObject({ code: 'EACCES' });
    chmodSync(file, 0o755); // control
    await expect(execSandboxed(file, [], { policy, cwd: ws.dir })).resolves.toMatchObject({ stdout: 'hi\n' });
  });

  it('names a missing cwd', async () => {
    const missing = join(ws.dir, 'missing-dir');
    const err = await execSandboxed('true', [], { policy: SandboxPolicy.readOnly(), cwd: missing }).catch((e) => e);
    expect(err.code).toBe('ENOENT');
    expect(err.message).toContain(missing);
  });

  it('the command runs on every CPU the host may use (the entry child is pinned for its clone only)', async () => {
    const allowed = (status: string) => /^Cpus_allowed_list:\s*(\S+)$/m.exec(status)?.[1];
    const host = allowed(readFileSync('/proc/self/status', 'utf8'));
    // Fresh children, then ones launched from standbys made while the previous one launched.
    for (let i = 0; i < 4; i++) {
      const r = await execSandboxed('cat', ['/proc/self/status'], { policy, cwd: ws.dir });
      expect(allowed(r.stdout as string)).toBe(host);
    }
    expect(allowed(readFileSync('/proc/self/status', 'utf8'))).toBe(host); // and the host's own is as it was
    // A host with an affinity of its own (taskset) keeps it, and so do its commands.
    const entry = new URL('../../dist/index.js', import.meta.url).pathname;
    const script = `
      import { execSandboxed, SandboxPolicy } from ${JSON.stringify(entry)};
      import { readFileSync } from 'node:fs';
      const policy = SandboxPolicy.workspaceWrite([${JSON.stringify(ws.dir)}]);
      const allowed = (t) => /^Cpus_allowed_list:\\s*(\\S+)$/m.exec(t)[1];
      const seen = [];
      for (let i = 0; i < 4; i++) seen.push(allowed(String((await execSandboxed('cat', ['/proc/self/status'], { policy, cwd: ${JSON.stringify(ws.dir)} })).stdout)));
      seen.push(allowed(readFileSync('/proc/self/status', 'utf8')));
      console.log(JSON.stringify(seen));
    `;
    const file = join(ws.dir, 'affinity-host.mjs');
    writeFileSync(file, script);
    const out = JSON.parse(execFileSync('taskset', ['-c', '0', process.execPath, file], { encoding: 'utf8' }));
    expect(out).toEqual(['0', '0', '0', '0', '0']);
  });

  it('refuses bad options synchronously with the field named, and spawns nothing', () => {
    const before = openFdCount();
    expect(() => spawnSandboxed('', [], { policy })).toThrow(/command: must be a non-empty string/);
    expect(() => spawnSandboxed('true', [1 as unknown as string], { policy })).toThrow(/args\[0\]: must be a string/);
    expect(() => spawnSandboxed('true', [], { timeout: -1 })).toThrow(SpawnOptionsError);
    expect(() => spawnSandboxed('true', [], { timeout: -1 })).toThrow(/options\.timeout/);
    expect(() => spawnSandboxed('true', [], { stdio: ['pipe', 'bogus' as 'pipe', 'pipe'] })).toThrow(/options\.stdio/);
    expect(() => spawnSandboxed('true', [], { killSignal: 'SIGNOPE' as NodeJS.Signals })).toThrow(/options\.killSignal/);
    expect(() => spawnSandboxed('true', [], { bogus: 1 } as object)).toThrow(/unknown option\(s\): bogus/);
    // A NUL in a name would start a second variable in execve's block (LD_PRELOAD here).
    expect(() => spawnSandboxed('true', [], { env: { 'X\0LD_PRELOAD': '/nonexistent.so' } })).toThrow(/options\.env: variable name "X\\u0000LD_PRELOAD" contains a NUL byte/);
    expect(() => spawnSandboxed('true', [], { env: { 'CORDON_NETWORK=full': 'x' } })).toThrow(/options\.env: variable name "CORDON_NETWORK=full" is empty or contains '='/);
    expect(() => spawnSandboxed('true', [], { policy: { type: 'nope' } })).toThrow(/type/);
    expect(openFdCount()).toBe(before);
  });

  it('the schema-free path for plain options agrees with the schema, and leaves every bad value to it', async () => {
    const { parseSpawnOptions } = await import('../../src/options.js');
    // A null-prototype copy always takes the schema: the control for each plain object.
    const viaSchema = (o: object) => parseSpawnOptions('true', [], Object.assign(Object.create(null), o));
    const signal = new AbortController().signal;
    const good: object[] = [
      {},
      { policy, cwd: ws.dir, stdio: 'ignore' },
      { stdio: ['pipe', 'inherit', 'ignore'], timeout: 0, killGraceMs: 10, killSignal: 'SIGINT', argv0: 'x' },
      { killSignal: 9, enforcement: 'best-effort', namespaces: false, prewarm: false, networkNamespace: 'private', signal },
      { cwd: undefined, timeout: undefined },
    ];
    for (const o of good) expect(parseSpawnOptions('true', [], o)).toEqual(viaSchema(o));
    const bad: [object, RegExp][] = [
      [{ cwd: '' }, /options\.cwd/],
      [{ cwd: 'a\0b' }, /options\.cwd: cwd must not contain NUL/],
      [{ timeout: 1.5 }, /options\.timeout/],
      [{ timeout: Infinity }, /options\.timeout/],
      [{ killGraceMs: -1 }, /options\.killGraceMs/],
      [{ stdio: ['pipe', 'pipe'] }, /options\.stdio/],
      [{ enforcement: 'lax' }, /options\.enforcement/],
      [{ networkNamespace: true }, /options\.networkNamespace/],
      [{ signal: {} }, /options\.signal/],
      [{ argv0: 'a\0' }, /options\.argv0/],
    ];
    for (const [o, message] of bad) expect(() => parseSpawnOptions('true', [], o)).toThrow(message);
  });

  it('round-trips 1 MB through stdin and delivers 100 MB of stdout intact', async () => {
    const input = Buffer.alloc(1024 * 1024);
    for (let i = 0; i < input.length; i++) input[i] = (i * 31) & 0xff;
    const echoed = await execSandboxed('cat', [], { policy, cwd: ws.dir, input, encoding: 'buffer', maxBuffer: Infinity });
    expect(Buffer.compare(echoed.stdout as Buffer, input)).toBe(0);

    const child = spawnSandboxed('sh', ['-c', 'head -c 104857600 /dev/zero | tr "\\0" "x"'], { policy, cwd: ws.dir, stdio: ['ignore', 'pipe', 'inherit'] });
    let bytes = 0;
    let bad = 0;
    child.stdout!.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (chunk.indexOf(0x00) !== -1 || chunk[0] !== 0x78) bad++;
    });
    const [code] = await new Promise<[number | null]>((r) => child.on('close', (c) => r([c])));
    expect(code).toBe(0);
    expect(bytes).toBe(104857600);
    expect(bad).toBe(0);
  }, 60_000);

  it('does not hang when the child closes stdout early', async () => {
    const r = await execSandboxed('sh', ['-c', 'exec >&-; sleep 0.2; echo after-close >&2'], { policy, cwd: ws.dir });
    expect(r).toMatchObject({ stdout: '', stderr: 'after-close\n', exitCode: 0 });
  });

  it('stops at maxBuffer and says so', async () => {
    const r = await execSandboxed('sh', ['-c', 'yes | head -c 10000000'], { policy, cwd: ws.dir, maxBuffer: 1000 });
    expect(r.maxBufferExceeded).toBe(true);
    expect(r.termination).toBe('max-buffer');
    expect((r.stdout as string).length).toBe(1000);
  });
});

describe('environment hygiene', () => {
  it('drops secrets and linker variables from the inherited env, keeps the basics, adds markers', async () => {
    const saved = { ...process.env };
    process.env.OPENAI_API_KEY = 'sk-test';
    process.env.MY_SERVICE_TOKEN = 'secret';
    process.env.LD_PRELOAD = '/nonexistent.so';
    process.env.CORDON_TEST_KEEP = 'kept';
    try {
      const r = await execSandboxed('env', [], { policy, cwd: ws.dir });
      const env = r.stdout as string;
      expect(env).not.toMatch(/OPENAI_API_KEY|MY_SERVICE_TOKEN|LD_PRELOAD/);
      expect(env).toMatch(/^CORDON_TEST_KEEP=kept$/m);
      expect(env).toMatch(/^PATH=/m);
      expect(env).toMatch(/^CORDON_SANDBOX=1$/m);
      expect(env).toMatch(/^CORDON_SANDBOX_TYPE=WorkspaceWrite$/m);
      expect(r.enforcement.lifecycle.removedEnv).toEqual(expect.arrayContaining(['LD_PRELOAD', 'MY_SERVICE_TOKEN', 'OPENAI_API_KEY']));
    } finally {
      process.env = saved;
    }
  });

  it('a change to process.env between two spawns reaches the second (the inherited env is cached per change)', async () => {
    const saved = { ...process.env };
    try {
      process.env.CORDON_TEST_CHANGING = 'first';
      const first = (await execSandboxed('env', [], { policy, cwd: ws.dir })).stdout as string;
      expect(first).toMatch(/^CORDON_TEST_CHANGING=first$/m);
      process.env.CORDON_TEST_CHANGING = 'second';
      process.env.LATE_API_KEY = 'sk-late';
      const second = await execSandboxed('env', [], { policy, cwd: ws.dir });
      expect(second.stdout).toMatch(/^CORDON_TEST_CHANGING=second$/m);
      expect(second.stdout).not.toMatch(/LATE_API_KEY/);
      expect(second.enforcement.lifecycle.removedEnv).toContain('LATE_API_KEY');
      delete process.env.CORDON_TEST_CHANGING;
      expect((await execSandboxed('env', [], { policy, cwd: ws.dir })).stdout).not.toMatch(/CORDON_TEST_CHANGING/);
    } finally {
      process.env = saved;
    }
  });

  it('in a plain node host: env changes reach the next spawn through process.env, a replaced process.env and a worker\'s copy', () => {
    // A fresh host, whose process.env is the real environment (the cached path), unlike this
    // test file's after process.env = saved (a plain object).
    const entry = new URL('../../dist/index.js', import.meta.url).pathname;
    const script = `
      import { execSandboxed, SandboxPolicy } from ${JSON.stringify(entry)};
      import { Worker } from 'node:worker_threads';
      const policy = SandboxPolicy.workspaceWrite([${JSON.stringify(ws.dir)}]);
      const seen = async () => String((await execSandboxed('env', [], { policy, cwd: ${JSON.stringify(ws.dir)} })).stdout).split('\\n').filter((l) => l.startsWith('T_'));
      if (process.argv[2] === 'worker') {
        process.env.T_WORKER = 'copy';
        const { parentPort } = await import('node:worker_threads');
        parentPort.postMessage(await seen());
      } else {
        const out = [];
        process.env.T_A = '1'; out.push(await seen());
        process.env.T_A = '2'; out.push(await seen());
        delete process.env.T_A; out.push(await seen());
        process.env = { ...process.env, T_PLAIN: 'yes' }; out.push(await seen());
        process.env.T_PLAIN = 'changed'; out.push(await seen());
        out.push(await new Promise((r) => new Worker(new URL(import.meta.url), { argv: ['worker'] }).on('message', r)));
        console.log(JSON.stringify(out));
      }
    `;
    const file = join(ws.dir, 'env-host.mjs');
    writeFileSync(file, script);
    const out = JSON.parse(execFileSync(process.execPath, [file], { encoding: 'utf8', env: { ...process.env, T_A: undefined, T_PLAIN: undefined, T_WORKER: undefined } }));
    expect(out.slice(0, 5)).toEqual([['T_A=1'], ['T_A=2'], [], ['T_PLAIN=yes'], ['T_PLAIN=changed']]);
    expect(out[5]).toContain('T_WORKER=copy'); // the worker's own copy of the environment
  });

  it('CORDON_WRITABLE_ROOTS follows a $TMPDIR changed between spawns', async () => {
    const saved = process.env.TMPDIR;
    const [a, b] = [tempDir('cordon-tmpdir-a-'), tempDir('cordon-tmpdir-b-')];
    try {
      const withTmpdir = SandboxPolicy.parse({ type: 'workspace_write', writable_roots: [{ root: ws.dir }], exclude_tmpdir_env_var: false });
      const roots = async () => {
        const env = (await execSandboxed('env', [], { policy: withTmpdir, cwd: ws.dir })).stdout as string;
        return /^CORDON_WRITABLE_ROOTS=(.*)$/m.exec(env)?.[1]?.split(':') ?? [];
      };
      process.env.TMPDIR = a.dir;
      expect(await roots()).toContain(a.dir);
      process.env.TMPDIR = b.dir;
      const second = await roots();
      expect(second).toContain(b.dir);
      expect(second).not.toContain(a.dir);
    } finally {
      if (saved === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = saved;
      a.cleanup();
      b.cleanup();
    }
  });

  it('uses a caller-provided env as given, plus markers', async () => {
    const r = await execSandboxed('/usr/bin/env', [], { policy, cwd: ws.dir, env: { ONLY: '1', OPENAI_API_KEY: 'given' } });
    const lines = (r.stdout as string).trim().split('\n').sort();
    expect(lines).toEqual(expect.arrayContaining(['ONLY=1', 'OPENAI_API_KEY=given', 'CORDON_SANDBOX=1']));
    // Beside the given variables, only cordon's own: markers, and (no network) the offline
    // proxy and retry variables and the private tool caches (see README: Network).
    const cordons = /^(CORDON_|https?_proxy=|HTTPS?_PROXY=|ALL_PROXY=|all_proxy=|npm_config_|PIP_|YARN_|GO(CACHE|MODCACHE)=|XDG_CACHE_HOME=)/;
    expect(lines.filter((l) => !l.startsWith('ONLY=') && !l.startsWith('OPENAI_API_KEY=') && !cordons.test(l))).toEqual([]);
  });
});

describe('privileges', () => {
  const status = async (p: SandboxPolicy) => (await execSandboxed('cat', ['/proc/self/status'], { policy: p, cwd: ws.dir })).stdout as string;
  const field = (s: string, name: string) => new RegExp(`^${name}:\\s*(\\S+)`, 'm').exec(s)?.[1];

  it('sets no_new_privs and leaves no capabilities to a confined child', async () => {
    const s = await status(policy);
    expect(field(s, 'NoNewPrivs')).toBe('1');
    expect(field(s, 'CapEff')).toBe('0000000000000000');
    expect(field(s, 'CapPrm')).toBe('0000000000000000');
    expect(field(s, 'CapBnd')).toBe(isRoot ? '0000000000000000' : field(s, 'CapBnd'));
    const report = (await execSandboxed('true', [], { policy, cwd: ws.dir })).enforcement;
    expect(report.lifecycle).toMatchObject({ processGroup: true, parentDeathSignal: true, noNewPrivs: true, capabilitiesDropped: isRoot });
  });

  it.runIf(isRoot)('control: DangerFullAccess keeps root capabilities', async () => {
    const s = await status(SandboxPolicy.fullAccess());
    expect(field(s, 'CapEff')).not.toBe('0000000000000000');
  });
});

describe('process tree lifecycle', () => {
  // sh → sh → sleep, where the grandchild double-forks and calls setsid to leave the group.
  // Each run sleeps a unique duration so the test can find its processes in the host's /proc.
  let serial = 0;
  const escapee = () => {
    const marker = `300.${process.pid}${++serial}`;
    return { marker, script: `setsid sh -c 'exec sleep ${marker}' & sleep ${marker}` };
  };

  async function running(marker: string): Promise<number[]> {
    expect(await waitFor(() => pidsWithCmdline(marker).length >= 2, 5000)).toBe(true); // control: both run
    return pidsWithCmdline(marker);
  }
  const gone = (marker: string) => waitFor(() => pidsWithCmdline(marker).length === 0, 3000);

  it('kill() takes down the whole tree, including a setsid grandchild', async () => {
    const { marker, script } = escapee();
    const child = spawnSandboxed('sh', ['-c', script], { policy, cwd: ws.dir, stdio: 'ignore' });
    await running(marker);
    const closed = new Promise((r) => child.on('close', r));
    expect(child.kill()).toBe(true);
    await closed;
    expect(child.signalCode).toBe('SIGTERM');
    expect(await gone(marker)).toBe(true);
    expect(child.enforcement.lifecycle.treeKill).toBe('pid-namespace');
  });

  it('a timeout kills the tree and is reported as timeout', async () => {
    const { marker, script } = escapee();
    const started = Date.now();
    const pending = execSandboxed('sh', ['-c', script], { policy, cwd: ws.dir, timeout: 1000 });
    await running(marker);
    const r = await pending;
    expect(r).toMatchObject({ timedOut: true, termination: 'timeout' });
    expect(Date.now() - started).toBeLessThan(10_000);
    expect(await gone(marker)).toBe(true);
  });

  it('an AbortSignal kills the tree', async () => {
    const { marker, script } = escapee();
    const controller = new AbortController();
    const child = spawnSandboxed('sh', ['-c', script], { policy, cwd: ws.dir, stdio: 'ignore', signal: controller.signal });
    const errors: Error[] = [];
    child.on('error', (e) => errors.push(e));
    await running(marker);
    const closed = new Promise((r) => child.on('close', r));
    controller.abort();
    await closed;
    expect(errors[0]?.name).toBe('AbortError');
    expect(await gone(marker)).toBe(true);
  });

  it('no sandboxed process survives a SIGKILLed host', async () => {
    const { marker, script: tree } = escapee();
    // The built package (npm test compiles dist/ first): a plain node host, as users run it.
    const entry = new URL('../../dist/index.js', import.meta.url).pathname;
    const script = `
      import { spawnSandboxed, SandboxPolicy } from ${JSON.stringify(entry)};
      const child = spawnSandboxed('sh', ['-c', ${JSON.stringify(tree)}], { policy: SandboxPolicy.workspaceWrite([${JSON.stringify(ws.dir)}]), cwd: ${JSON.stringify(ws.dir)}, stdio: 'ignore' });
      child.on('error', (e) => { console.error(e); process.exit(1); });
      setInterval(() => {}, 1000);
    `;
    const host = nodeSpawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'ignore', 'inherit'] });
    await running(marker);
    host.kill('SIGKILL');
    await new Promise((r) => host.on('close', r));
    expect(await gone(marker)).toBe(true);
  });
});

describe('at scale', () => {
  it('2000 sequential spawns leave no fds, zombies or handles behind', async () => {
    const resources = () => process.getActiveResourcesInfo().filter((r) => r !== 'TTYWrap').length;
    await execSandboxed('true', [], { policy, cwd: ws.dir }); // warm caches
    // The pidfd is closed in its uv_close callback, which libuv runs in the closing phase of the
    // loop turn that saw the exit, *after* that turn's setImmediate callbacks: counting after one
    // setImmediate can land before it or after it. Two turns are always after it. Both counts
    // are taken that way.
    const settle = async () => {
      for (let turn = 0; turn < 2; turn++) await new Promise((r) => setImmediate(r));
    };
    // A child's mount namespace fd is released on the threadpool after its exit (a leak never
    // converges): both counts wait for those releases.
    const namespacesHeld = () => [...fdTable().values()].filter((t) => t.startsWith('mnt:[')).length;
    // Standby children (kept for exec loops, three fds each) are counted apart: none before,
    // the loop's one after, released explicitly.
    releaseStandbys();
    await settle();
    await waitFor(() => namespacesHeld() === 0, 5000);
    const fds = openFdCount();
    const before = fdTable();
    const handles = resources();
    for (let i = 0; i < 2000; i++) {
      const r = await execSandboxed('true', [], { policy, cwd: ws.dir });
      if (r.exitCode !== 0) throw new Error(`spawn ${i} exited ${r.exitCode}`);
    }
    // One for the loop's sandbox; two when a parallel test file changed the host's unix
    // sockets mid-loop (a new plan, a new key): never more (at most two are kept).
    expect(releaseStandbys()).toBeLessThanOrEqual(2);
    await settle();
    await waitFor(() => namespacesHeld() === 0, 5000);
    expect(openFdCount(), `fds changed: ${JSON.stringify(fdDiff(before, fdTable()))}`).toBe(fds);
    expect(zombieChildren()).toEqual([]);
    expect(resources()).toBeLessThanOrEqual(handles);
  }, 120_000);

  it('spawns from the main thread and two workers at once, while host sockets come and go, all complete', () => {
    // The addon's revalidation state (env generation, /proc/net/unix) is process-wide: a data
    // race there corrupted the heap. A plain node host, as users run it.
    const entry = new URL('../../dist/index.js', import.meta.url).pathname;
    const script = `
      import { execSandboxed, SandboxPolicy } from ${JSON.stringify(entry)};
      import { Worker, isMainThread, parentPort } from 'node:worker_threads';
      import net from 'node:net';
      const policy = SandboxPolicy.workspaceWrite([${JSON.stringify(ws.dir)}]);
      const loop = async (n) => { let ok = 0; for (let i = 0; i < n; i++) if ((await execSandboxed('true', [], { policy, cwd: ${JSON.stringify(ws.dir)} })).exitCode === 0) ok++; return ok; };
      if (!isMainThread) {
        parentPort.postMessage(await loop(150));
      } else {
        let churn = true;
        (async () => { for (let i = 0; churn; i++) { const p = ${JSON.stringify(ws.dir)} + '/churn-' + (i % 4) + '.sock'; const s = net.createServer().listen(p); await new Promise((r) => setTimeout(r, 2)); await new Promise((r) => s.close(r)); } })();
        const workers = [0, 1].map(() => new Promise((r, j) => new Worker(new URL(import.meta.url)).on('message', r).on('error', j)));
        const counts = await Promise.all([loop(150), ...workers]);
        churn = false;
        console.log(JSON.stringify(counts));
      }
    `;
    const file = join(ws.dir, 'threads-host.mjs');
    writeFileSync(file, script);
    const out = execFileSync(process.execPath, [file], { encoding: 'utf8', timeout: 110_000 });
    expect(JSON.parse(out)).toEqual([150, 150, 150]);
  }, 120_000);

  it('100 concurrent spawns all complete with their own output', async () => {
    const results = await Promise.all(
      Array.from({ length: 100 }, (_, i) => execSandboxed('sh', ['-c', `echo ${i}`], { policy, cwd: ws.dir })),
    );
    results.forEach((r, i) => expect(r).toMatchObject({ stdout: `${i}\n`, exitCode: 0 }));
  }, 60_000);

  it("Node's own child_process keeps working side by side", async () => {
    const ours = Array.from({ length: 20 }, (_, i) => execSandboxed('sh', ['-c', `exit ${i % 5}`], { policy, cwd: ws.dir }));
    const theirs = Array.from({ length: 20 }, (_, i) =>
      new Promise<number | null>((r) => nodeSpawn('sh', ['-c', `exit ${(i % 3) + 1}`]).on('exit', r)),
    );
    const [a, b] = await Promise.all([Promise.all(ours), Promise.all(theirs)]);
    a.forEach((r, i) => expect(r.exitCode).toBe(i % 5));
    b.forEach((code, i) => expect(code).toBe((i % 3) + 1));
    expect(execFileSync('sh', ['-c', 'echo sync'], { encoding: 'utf8' })).toBe('sync\n');
  });
});
