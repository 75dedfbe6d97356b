// Standby children: a sandbox spawned twice gets a child that has already made its namespaces
// and mounts, and the next spawn of that sandbox runs in it. Every test proves that the command
// really ran in the standby (its pid is the standby's) before asserting anything about it, and
// its control runs the same thing in a fresh child (a pid that was no standby).
import { spawn as nodeSpawn } from 'node:child_process';
import { chmodSync, chownSync, closeSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execSandboxed, releaseStandbys, ResourceLimits, SandboxPolicy, spawnSandboxed, type SpawnOptions } from '../../src/index.js';
import { isAlive, isRoot, tempDir, waitFor, zombieChildren } from '../helpers/process.js';

let ws: { dir: string; cleanup: () => void };
let policy: SandboxPolicy;
beforeAll(() => {
  releaseStandbys();
  ws = tempDir();
  policy = SandboxPolicy.workspaceWrite([ws.dir]);
});
afterEach(() => {
  releaseStandbys();
});
afterAll(() => ws.cleanup());

/** Pids of the standby children of `parent` (they name themselves cordon-standby). */
function standbys(parent = process.pid): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (comm === 'cordon-standby' && Number(fields[1]) === parent && fields[0] !== 'Z') out.push(Number(entry));
    } catch {
      // raced with exit
    }
  }
  return out;
}

/**
 * Spawns twice (the second spawn asks for a standby) and returns the standby's pid. Tried again
 * when a parallel test file changed the plan's key between the two spawns (host sockets).
 */
async function warm(options: SpawnOptions = {}): Promise<number> {
  for (let attempt = 0; attempt < 5; attempt++) {
    releaseStandbys();
    for (let i = 0; i < 2; i++) await execSandboxed('true', [], { policy, cwd: ws.dir, ...options });
    if (await waitFor(() => standbys().length === 1, 2000)) return standbys()[0]!;
  }
  throw new Error('no standby after 5 attempts');
}

type Options = SpawnOptions & { input?: string };

function run(command: string, args: string[], options: Options = {}) {
  const { input, ...spawnOptions } = options;
  const child = spawnSandboxed(command, args, { policy, cwd: ws.dir, ...spawnOptions });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (d) => (stdout += d));
  child.stderr?.on('data', (d) => (stderr += d));
  if (input !== undefined) child.stdin?.end(input);
  const done = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { child, done };
}

/**
 * Runs the command in a standby of its sandbox. The plan's key covers the host's unix sockets,
 * which parallel test files bind and unbind: when that changed the key between warm() and the
 * launch, the launch is a fresh child, and it is tried again.
 */
async function runInStandby(command: string, args: string[], options: Options = {}) {
  for (let attempt = 0; attempt < 5; attempt++) {
    const pid = await warm(options);
    const launched = run(command, args, options);
    if (launched.child.pid === pid) return launched;
    await launched.done.catch(() => undefined);
  }
  throw new Error('no launch from a standby in 5 attempts');
}

/** The control: the same command in a fresh child, with no standby around to take it. */
function runFresh(command: string, args: string[], options: Options = {}) {
  const before = standbys();
  const launched = run(command, args, { ...options, prewarm: false });
  expect(before).not.toContain(launched.child.pid);
  return launched;
}

const CONFINEMENT = `
  echo "pid=$$"
  grep -E '^(NoNewPrivs|Seccomp|CapEff):' /proc/self/status | tr -s '\\t ' ' '
  ls /proc/self/fd | tr '\\n' ' '; echo
  touch /etc/cordon-standby-probe 2>/dev/null && echo etc=written || echo etc=refused
  touch ./inside && echo ws=written
  echo "arg=$1 env=$CORDON_STANDBY_TEST cwd=$(pwd)"
  cat
`;

describe('standby children', () => {
  it('an exec loop runs its next command in the standby made for it; prewarm: false neither makes nor takes one', async () => {
    await execSandboxed('true', [], { policy, cwd: ws.dir, prewarm: false });
    await execSandboxed('true', [], { policy, cwd: ws.dir, prewarm: false });
    await new Promise((r) => setTimeout(r, 50));
    expect(standbys()).toEqual([]);

    const { child, done } = await runInStandby('true', []);
    expect((await done).code).toBe(0);
    // The launch asked for the next one, which prewarm: false leaves alone.
    expect(await waitFor(() => standbys().length === 1 && standbys()[0] !== child.pid, 5000)).toBe(true);
    const waiting = standbys()[0];
    expect((await runFresh('true', []).done).code).toBe(0);
    expect(standbys()).toEqual([waiting]);
  });

  it('confines a command launched from a standby exactly like a fresh child', async () => {
    const options = { env: { PATH: '/usr/bin:/bin', CORDON_STANDBY_TEST: 'env-value' }, input: 'stdin-line\n' };
    const args = ['-c', CONFINEMENT, 'sh', 'first-arg'];
    const fromStandby = await (await runInStandby('sh', args, options)).done;
    const fresh = await runFresh('sh', args, options).done;
    expect(fromStandby.code).toBe(0);
    const out = fromStandby.stdout;
    expect(out).toContain('pid=1\n');
    expect(out).toContain('NoNewPrivs: 1');
    expect(out).toContain('Seccomp: 2');
    expect(out).toContain('CapEff: 0000000000000000');
    expect(out).toMatch(/^0 1 2 3 $/m); // stdio, and ls's own directory fd: nothing of the host
    expect(out).toContain('etc=refused');
    expect(out).toContain('ws=written');
    expect(out).toContain(`arg=first-arg env=env-value cwd=${ws.dir}`);
    expect(out).toContain('stdin-line');
    expect(fresh.stdout).toBe(out);
  });

  it('confines with the Landlock ruleset and filter of its own sandbox (read-only policy)', async () => {
    const write = ['-c', 'touch ./x 2>/dev/null && echo ws=written || echo ws=refused'];
    expect((await (await runInStandby('sh', write, { policy: SandboxPolicy.readOnly() })).done).stdout).toBe('ws=refused\n');
    // Control: the workspace policy's standby lets the same command write.
    expect((await (await runInStandby('sh', write)).done).stdout).toBe('ws=written\n');
  });

  it('applies per-spawn rlimits and cgroup leaves when launched from a standby', async () => {
    const options = { policy: SandboxPolicy.workspaceWriteWithLimits([ws.dir], ResourceLimits.conservative()) };
    const limits = (await (await runInStandby('cat', ['/proc/self/limits'], options)).done).stdout;
    expect(limits).toBe((await runFresh('cat', ['/proc/self/limits'], options).done).stdout);
    expect(limits).not.toBe(readFileSync('/proc/self/limits', 'utf8')); // the policy did set limits
  });

  it.runIf(isRoot)('root callers: a cwd only root may enter works from a standby (its permitted capabilities go at launch)', async () => {
    const locked = tempDir('cordon-root-only-');
    try {
      const inner = join(locked.dir, 'ws');
      mkdirSync(inner);
      chownSync(locked.dir, 65534, 65534);
      chmodSync(locked.dir, 0o700);
      const options = { policy: SandboxPolicy.workspaceWrite([inner]), cwd: inner };
      expect(await (await runInStandby('pwd', [], options)).done).toMatchObject({ code: 0, stdout: `${inner}\n` });
      expect(await runFresh('pwd', [], options).done).toMatchObject({ code: 0, stdout: `${inner}\n` });
      // While it waits, a root standby keeps its permitted capabilities (a capability-less uid-0
      // process must not get at the host's memory through it), but is otherwise confined
      // already: no_new_privs, its filter, no bounding set (the capset comes at launch).
      const pid = await warm(options);
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      expect(status).not.toMatch(/^CapPrm:\s+0+$/m);
      expect(status).toMatch(/^CapBnd:\s+0+$/m);
      expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
      expect(status).toMatch(/^Seccomp:\s+2$/m);
    } finally {
      releaseStandbys();
      chownSync(locked.dir, 0, 0);
      locked.cleanup();
    }
  });

  it.runIf(isRoot)('root callers: a filter that refuses capset keeps the standby from confining itself early, and spawns still work', async () => {
    const strict = SandboxPolicy.workspaceWrite([ws.dir]).toJSON() as { seccomp_profile: { blocked_syscalls: string[] } };
    const noCapset = SandboxPolicy.parse({ ...strict, seccomp_profile: { ...strict.seccomp_profile, blocked_syscalls: [...strict.seccomp_profile.blocked_syscalls, 'capset'] } });
    const plan = await import('../../src/plan/index.js');
    const options = { enforcement: 'strict' as const, namespaces: true };
    expect(plan.sandboxForSpawn(noCapset, ws.dir, options).plan.confineStandbyEarly).toBe(false);
    expect(plan.sandboxForSpawn(policy, ws.dir, options).plan.confineStandbyEarly).toBe(true); // the control
    const out = (await (await runInStandby('grep', ['-E', '^(CapEff|Seccomp):', '/proc/self/status'], { policy: noCapset })).done).stdout;
    expect(out.replace(/\s+/g, ' ').trim()).toBe('CapEff: 0000000000000000 Seccomp: 2');
  });

  it('holds none of the host fds while it waits: a pipe the host closes reaches EOF', async () => {
    // Opened before the standby exists, so the standby's clone copies it.
    const fifo = join(ws.dir, 'eof-probe');
    const reader = nodeSpawn('sh', ['-c', `mkfifo ${fifo} && cat ${fifo} > /dev/null; echo eof`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await waitFor(() => readdirSync(ws.dir).includes('eof-probe'));
    const writeEnd = openSync(fifo, 'w');
    const pid = await warm();
    // Once set up it keeps its error pipe and request socket (and a ruleset it has not applied).
    expect(await waitFor(() => readdirSync(`/proc/${pid}/fd`).length <= 3, 5000)).toBe(true);
    let out = '';
    reader.stdout.on('data', (d) => (out += d));
    closeSync(writeEnd);
    expect(await waitFor(() => out.includes('eof'), 2000)).toBe(true);
    expect(standbys()).toEqual([pid]); // it was there all along
  });

  it('reports an execve failure in a standby as a fresh spawn does, and goes on working', async () => {
    const script = join(ws.dir, 'bad-interpreter');
    writeFileSync(script, '#!/cordon/no/such/interpreter\n');
    chmodSync(script, 0o755);
    let consumed = false;
    for (let attempt = 0; attempt < 5 && !consumed; attempt++) {
      const pid = await warm();
      const err = await execSandboxed(script, [], { policy, cwd: ws.dir }).catch((e) => e);
      expect(err).toMatchObject({ code: 'ENOENT', syscall: `spawn ${script}` });
      consumed = !isAlive(pid); // the failure happened in the standby (it is used up)
    }
    expect(consumed).toBe(true);
    const fresh = await execSandboxed(script, [], { policy, cwd: ws.dir, prewarm: false }).catch((e) => e);
    expect(fresh).toMatchObject({ code: 'ENOENT', syscall: `spawn ${script}` });
    expect(await waitFor(() => zombieChildren().length === 0)).toBe(true);
    expect((await (await runInStandby('true', [])).done).code).toBe(0);
  });

  it('falls back to a fresh child when its standby died or stopped', async () => {
    for (const signal of ['SIGKILL', 'SIGSTOP'] as const) {
      const pid = await warm();
      process.kill(pid, signal);
      if (signal === 'SIGKILL') await waitFor(() => !isAlive(pid));
      else await waitFor(() => /^State:\s+T/m.test(readFileSync(`/proc/${pid}/status`, 'utf8')));
      const started = Date.now();
      const { child, done } = run('sh', ['-c', 'echo ok']);
      expect(child.pid).not.toBe(pid);
      expect(await done).toMatchObject({ code: 0, stdout: 'ok\n' });
      expect(Date.now() - started).toBeLessThan(10_000); // a stopped standby is given up on, bounded
      expect(isAlive(pid)).toBe(false);
    }
    expect(await waitFor(() => zombieChildren().length === 0)).toBe(true);
  }, 30_000);

  it('releaseStandbys() kills and reaps them; unused ones go after 5 s by themselves', async () => {
    const pid = await warm();
    expect(releaseStandbys()).toBe(1);
    expect(isAlive(pid)).toBe(false);
    expect(zombieChildren()).toEqual([]);
    expect(releaseStandbys()).toBe(0);

    const idle = await warm();
    expect(await waitFor(() => !isAlive(idle), 8000, 100)).toBe(true);
    expect(await waitFor(() => zombieChildren().length === 0)).toBe(true); // reaped on the threadpool
  }, 15_000);

  it('keeps one per workspace for a policy used in two workspaces in turn', async () => {
    const other = tempDir();
    try {
      const both = SandboxPolicy.workspaceWrite([ws.dir, other.dir]);
      let used = false;
      for (let attempt = 0; attempt < 5 && !used; attempt++) {
        releaseStandbys();
        const cwds = [ws.dir, other.dir];
        for (let i = 0; i < 4; i++) await execSandboxed('true', [], { policy: both, cwd: cwds[i % 2] });
        if (!(await waitFor(() => standbys().length === 2, 2000))) continue; // a key changed meanwhile
        const before = standbys();
        const { child, done } = run('pwd', [], { policy: both, cwd: other.dir });
        expect((await done).stdout).toBe(`${other.dir}\n`);
        used = before.includes(child.pid!);
      }
      expect(used).toBe(true);
    } finally {
      releaseStandbys();
      other.cleanup();
    }
  });

  it('never gives two plans one key, even from two copies of the module sharing the addon', async () => {
    const plan = await import('../../src/plan/index.js');
    const built = (await import(new URL('../../dist/plan/index.js', import.meta.url).href)) as typeof plan;
    const options = { enforcement: 'strict' as const, namespaces: true };
    const a = plan.sandboxForSpawn(policy, ws.dir, options).plan.sandboxKey;
    const b = built.sandboxForSpawn(SandboxPolicy.readOnly(), ws.dir, options).plan.sandboxKey;
    expect(a).toBeGreaterThan(0);
    expect(b).toBeGreaterThan(a!); // one counter, in the addon (two module counters would both start at 1)
  });

  it('keeps none for sandboxes without namespaces (nothing to save there)', async () => {
    for (let i = 0; i < 3; i++) await execSandboxed('true', [], { policy, cwd: ws.dir, namespaces: false });
    await new Promise((r) => setTimeout(r, 50));
    expect(standbys()).toEqual([]);
  });

  it('dies with a SIGKILLed host', async () => {
    const entry = new URL('../../dist/index.js', import.meta.url).pathname;
    const script = `
      import { execSandboxed, SandboxPolicy } from ${JSON.stringify(entry)};
      const policy = SandboxPolicy.workspaceWrite([${JSON.stringify(ws.dir)}]);
      for (let i = 0; i < 2; i++) await execSandboxed('true', [], { policy, cwd: ${JSON.stringify(ws.dir)} });
      setTimeout(() => console.log('ready'), 100);
      setInterval(() => {}, 1000);
    `;
    const host = nodeSpawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => host.stdout.on('data', (d) => String(d).includes('ready') && resolve()));
    const hosted = standbys(host.pid!);
    expect(hosted).toHaveLength(1);
    host.kill('SIGKILL');
    await new Promise((r) => host.on('close', r));
    expect(await waitFor(() => !isAlive(hosted[0]!), 5000)).toBe(true);
  });
});
