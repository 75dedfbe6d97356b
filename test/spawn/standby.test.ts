// Standby children: a sandbox spawned twice gets a child that has already made its namespaces
// and mounts, and the next spawn of that sandbox runs in it. Every test proves that the command
// really ran in the standby (its pid is the standby's) before asserting anything about it, and
// checks the same thing without prewarm as the control.
import { spawn as nodeSpawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { execSandboxed, releaseStandbys, ResourceLimits, SandboxPolicy, spawnSandboxed, type SpawnOptions } from '../../src/index.js';
import { isAlive, tempDir, waitFor, zombieChildren } from '../helpers/process.js';

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

/** Spawns twice (the second spawn asks for a standby) and returns the standby's pid. */
async function warm(options: SpawnOptions = {}): Promise<number> {
  releaseStandbys();
  for (let i = 0; i < 2; i++) await execSandboxed('true', [], { policy, cwd: ws.dir, ...options });
  expect(await waitFor(() => standbys().length === 1, 5000)).toBe(true);
  return standbys()[0]!;
}

function run(command: string, args: string[], options: SpawnOptions & { input?: string } = {}) {
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
  it('an exec loop runs its next command in the standby made for it; prewarm: false keeps none (control)', async () => {
    await execSandboxed('true', [], { policy, cwd: ws.dir, prewarm: false });
    await execSandboxed('true', [], { policy, cwd: ws.dir, prewarm: false });
    await new Promise((r) => setTimeout(r, 50));
    expect(standbys()).toEqual([]);

    const pid = await warm();
    const { child, done } = run('true', []);
    expect(child.pid).toBe(pid);
    expect((await done).code).toBe(0);
    // The launch asked for the next one.
    expect(await waitFor(() => standbys().length === 1 && standbys()[0] !== pid, 5000)).toBe(true);
  });

  it('confines a command launched from a standby exactly like a fresh child', async () => {
    const results: Record<string, string> = {};
    for (const prewarm of [true, false]) {
      if (prewarm) await warm();
      const expected = prewarm ? standbys()[0] : undefined;
      const { child, done } = run('sh', ['-c', CONFINEMENT, 'sh', 'first-arg'], {
        prewarm,
        env: { PATH: '/usr/bin:/bin', CORDON_STANDBY_TEST: 'env-value' },
        input: 'stdin-line\n',
      });
      if (prewarm) expect(child.pid).toBe(expected);
      const r = await done;
      expect(r.code).toBe(0);
      results[String(prewarm)] = r.stdout;
    }
    const out = results.true!;
    expect(out).toContain('pid=1\n');
    expect(out).toContain('NoNewPrivs: 1');
    expect(out).toContain('Seccomp: 2');
    expect(out).toContain('CapEff: 0000000000000000');
    expect(out).toMatch(/^0 1 2 3 $/m); // stdio, and ls's own directory fd: nothing of the host
    expect(out).toContain('etc=refused');
    expect(out).toContain('ws=written');
    expect(out).toContain(`arg=first-arg env=env-value cwd=${ws.dir}`);
    expect(out).toContain('stdin-line');
    expect(results.false).toBe(out); // the control: a fresh child says the same
  });

  it('confines with the Landlock ruleset and filter of its own sandbox (read-only policy)', async () => {
    const readOnly = SandboxPolicy.readOnly();
    const options = { policy: readOnly, cwd: ws.dir };
    const pid = await warm(options);
    const { child, done } = run('sh', ['-c', 'touch ./x 2>/dev/null && echo ws=written || echo ws=refused'], options);
    expect(child.pid).toBe(pid);
    expect((await done).stdout).toBe('ws=refused\n');
    // Control: the workspace policy's standby lets the same command write.
    await warm();
    expect((await run('sh', ['-c', 'touch ./x && echo ws=written']).done).stdout).toBe('ws=written\n');
  });

  it('applies per-spawn rlimits and cgroup leaves when launched from a standby', async () => {
    const limited = SandboxPolicy.workspaceWriteWithLimits([ws.dir], ResourceLimits.conservative());
    const options = { policy: limited, cwd: ws.dir };
    const pid = await warm(options);
    const { child, done } = run('sh', ['-c', 'cat /proc/self/limits'], options);
    expect(child.pid).toBe(pid);
    const limits = (await done).stdout;
    const fresh = (await run('sh', ['-c', 'cat /proc/self/limits'], { ...options, prewarm: false }).done).stdout;
    expect(limits).toBe(fresh);
    expect(limits).not.toBe(readFileSync('/proc/self/limits', 'utf8')); // the policy did set limits
  });

  it('holds none of the host fds while it waits: a pipe the host closes reaches EOF', async () => {
    // Opened before the standby exists, so the standby's clone copies it.
    const fifo = join(ws.dir, 'eof-probe');
    const reader = nodeSpawn('sh', ['-c', `mkfifo ${fifo} && cat ${fifo} > /dev/null; echo eof`], { stdio: ['ignore', 'pipe', 'inherit'] });
    await waitFor(() => {
      try {
        return readdirSync(ws.dir).includes('eof-probe');
      } catch {
        return false;
      }
    });
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
    for (const prewarm of [true, false]) {
      if (prewarm) await warm();
      const err = await execSandboxed(script, [], { policy, cwd: ws.dir, prewarm }).catch((e) => e);
      expect(err).toMatchObject({ code: 'ENOENT', syscall: `spawn ${script}` });
    }
    expect(zombieChildren()).toEqual([]);
    const pid = await warm();
    const { child, done } = run('true', []);
    expect(child.pid).toBe(pid);
    expect((await done).code).toBe(0);
  });

  it('falls back to a fresh child when its standby died', async () => {
    const pid = await warm();
    process.kill(pid, 'SIGKILL');
    await waitFor(() => !isAlive(pid));
    const { child, done } = run('sh', ['-c', 'echo ok']);
    expect(child.pid).not.toBe(pid);
    expect(await done).toMatchObject({ code: 0, stdout: 'ok\n' });
    expect(zombieChildren()).toEqual([]);
  });

  it('releaseStandbys() kills and reaps them; unused ones go after 5 s by themselves', async () => {
    const pid = await warm();
    expect(releaseStandbys()).toBe(1);
    expect(isAlive(pid)).toBe(false);
    expect(zombieChildren()).toEqual([]);
    expect(releaseStandbys()).toBe(0);

    const idle = await warm();
    expect(await waitFor(() => !isAlive(idle), 8000, 100)).toBe(true);
    expect(zombieChildren()).toEqual([]);
  }, 15_000);

  it('keeps one per workspace for a policy used in two workspaces in turn', async () => {
    const other = tempDir();
    try {
      const both = SandboxPolicy.workspaceWrite([ws.dir, other.dir]);
      releaseStandbys();
      const cwds = [ws.dir, other.dir];
      for (let i = 0; i < 4; i++) await execSandboxed('true', [], { policy: both, cwd: cwds[i % 2] });
      expect(await waitFor(() => standbys().length === 2, 5000)).toBe(true);
      const before = standbys();
      const { child, done } = run('pwd', [], { policy: both, cwd: other.dir });
      expect(before).toContain(child.pid);
      expect((await done).stdout).toBe(`${other.dir}\n`);
    } finally {
      releaseStandbys();
      other.cleanup();
    }
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
