// Limits enforced by the kernel, end to end. Every bomb caps itself in the test code (forks
// ≤ 500, memory ≤ 2 GB, file ≤ 2 GB, spins ≤ 20 s), so a broken sandbox cannot hurt the machine.
// Run as root (cgroups on this machine) and as an unprivileged user (rlimits, user namespace).
import { execFileSync, spawn as nodeSpawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execSandboxed, probeKernel, ResourceLimits, SandboxPolicy, type ExecResult } from '../../src/index.js';
import { pendingLeaves } from '../../src/limits/index.js';
import { rawProbe } from '../../src/probe.js';
import { isAlive, isRoot, pidsWithCmdline, tempDir, waitFor } from '../helpers/process.js';

const PY = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';
const MB = 1024 * 1024;

let ws: { dir: string; cleanup: () => void };
beforeAll(() => {
  ws = tempDir('cordon-limits-');
});
afterAll(() => ws.cleanup());

function limits(over: Partial<ResourceLimits>): ResourceLimits {
  return { maxMemoryMb: 0, maxPids: 0, maxDiskMb: 0, cpuTimeSecs: 0, timeoutSecs: 60, ...over };
}
function policyWith(over: Partial<ResourceLimits>): SandboxPolicy {
  return SandboxPolicy.workspaceWriteWithLimits([ws.dir], limits(over));
}
async function run(cmd: string, args: string[], over: Partial<ResourceLimits>, extra: Record<string, unknown> = {}): Promise<ExecResult<string>> {
  return (await execSandboxed(cmd, args, { policy: policyWith(over), cwd: ws.dir, ...extra })) as ExecResult<string>;
}

/** Our leaves that still exist under the parents this machine uses. */
function ourLeaves(): string[] {
  const k = probeKernel();
  const parents = [k.cgroup.v2.ownCgroup, k.cgroup.v1.memory.dir, k.cgroup.v1.pids.dir].filter(Boolean);
  const out: string[] = [];
  for (const parent of parents) {
    try {
      for (const name of readdirSync(parent)) if (name.startsWith(`cordon-${process.pid}-`)) out.push(join(parent, name));
    } catch {
      // not readable
    }
  }
  return out;
}

const FORK_BOMB = `
import os, sys, time
n = 0
try:
    for i in range(500):
        pid = os.fork()
        if pid == 0:
            time.sleep(5)
            os._exit(0)
        n += 1
except OSError as e:
    print(n, e.errno, flush=True)
    sys.exit(11)
print(n, 'no-limit', flush=True)
`;

const MEMORY_HOG = `
import sys
held = []
try:
    for i in range(32):
        held.append(b'\\x01' * (64 << 20))
        print(len(held) * 64, flush=True)
except MemoryError:
    print('MemoryError', flush=True)
    sys.exit(12)
print('no-limit', flush=True)
`;

describe('resource limits: enforcement', () => {
  it('fork bomb (capped at 500 forks) stops near max_pids', async () => {
    const r = await run(PY, ['-c', FORK_BOMB], { maxPids: 16 });
    const [forked, errno] = r.stdout.trim().split(' ');
    expect(r.exitCode, r.stderr).toBe(11);
    expect(errno).toBe('11'); // EAGAIN
    // pid 1 + its children ≤ 16 (rlimit-uid-relative would count the uid's other tasks)
    expect(Number(forked)).toBeLessThan(16);
    expect(Number(forked)).toBeGreaterThanOrEqual(12);
    const mech = r.enforcement.limits!.pids.mechanism;
    expect(mech).toBe(rawProbe().cgroupV1.pidsWritable ? 'cgroup-v1' : 'rlimit-userns');
    // Evidence exists only where a pids cgroup counts refused forks.
    expect(r.termination).toBe(mech.startsWith('cgroup') ? 'pids' : 'exit');
  });

  it.runIf(!isRoot)('unprivileged without a user namespace: RLIMIT_NPROC relative to the uid\'s task count still stops the bomb', async () => {
    const r = await run(PY, ['-c', FORK_BOMB.replace('time.sleep(5)', 'time.sleep(1)')], { maxPids: 16 }, { namespaces: false });
    expect(r.enforcement.limits!.pids).toMatchObject({ mechanism: 'rlimit-uid-relative', scope: 'host-wide-uid' });
    expect(r.exitCode, r.stderr).toBe(11);
    // Shared with the uid's other tasks (this test runner's threads come and go): near, not exact.
    expect(Number(r.stdout.trim().split(' ')[0])).toBeLessThan(16 + 16);
  });

  it('memory hog (touches up to 2 GB) stops near max_memory_mb', async () => {
    const r = await run(PY, ['-c', MEMORY_HOG], { maxMemoryMb: 256 });
    const lines = r.stdout.trim().split('\n');
    expect(lines).not.toContain('no-limit');
    const reached = Math.max(0, ...lines.map(Number).filter(Number.isFinite));
    expect(reached).toBeLessThanOrEqual(256);
    expect(reached).toBeGreaterThanOrEqual(64);
    const mech = r.enforcement.limits!.memory.mechanism;
    // Root, or a user whose own memory cgroup is delegated to it (CI runs this file once more in
    // one, as systemd's user@UID.service would): a cgroup leaf. Otherwise RLIMIT_DATA.
    if (rawProbe().cgroupV1.memoryWritable) {
      expect(mech).toBe('cgroup-v1');
      expect(r.signal).toBe('SIGKILL');
      expect(r.termination).toBe('memory');
    } else {
      // RLIMIT_DATA: the allocation fails inside; nothing tells it from an ordinary exit.
      expect(mech).toBe('rlimit');
      expect(lines).toContain('MemoryError');
      expect(r.exitCode).toBe(12);
      expect(r.termination).toBe('exit');
    }
  });

  it('node runs under the 512 MB memory limit and is stopped at it (RLIMIT_DATA or cgroup, never RLIMIT_AS)', async () => {
    const ok = await run('node', ['-e', 'const b = Buffer.alloc(300 * 1024 * 1024, 1); console.log(b.length >> 20)'], { maxMemoryMb: 512 });
    expect(ok.stdout.trim(), ok.stderr).toBe('300');
    const big = await run('node', ['-e', 'const a = []; for (let i = 0; i < 32; i++) { a.push(Buffer.alloc(64 * 1024 * 1024, 1)); console.log((i + 1) * 64); }'], { maxMemoryMb: 512 });
    const reached = Math.max(0, ...big.stdout.trim().split('\n').map(Number).filter(Number.isFinite));
    expect(reached).toBeLessThanOrEqual(512);
    expect(big.exitCode === 0 && big.signal === null).toBe(false);
  });

  it('a 2 GB file stops at max_disk_mb (per file): SIGXFSZ reported by the shell → disk', async () => {
    const r = await run('sh', ['-c', 'head -c 2147483648 /dev/zero > big1; st=$?; exit $st'], { maxDiskMb: 64 });
    expect(statSync(join(ws.dir, 'big1')).size).toBe(64 * MB);
    expect(r.exitCode).toBe(128 + 25);
    expect(r.termination).toBe('disk');
    expect(r.enforcement.limits!.disk).toMatchObject({ mechanism: 'rlimit', scope: 'per-file' });
  });

  it('a writer that is pid 1 of the pid namespace ignores SIGXFSZ and gets EFBIG; the file still stops at the cap', async () => {
    const script = `
import errno, sys
with open('big2', 'wb', buffering=0) as f:
    chunk = b'\\0' * (1 << 20)
    try:
        for i in range(2048):
            f.write(chunk)
    except OSError as e:
        print(errno.errorcode[e.errno], flush=True)
        sys.exit(13)
`;
    const r = await run(PY, ['-c', script], { maxDiskMb: 64 });
    expect(statSync(join(ws.dir, 'big2')).size).toBe(64 * MB);
    if (r.enforcement.namespaces.pid) {
      expect(r.stdout.trim()).toBe('EFBIG');
      expect(r.termination).toBe('exit');
    } else {
      expect(r.signal).toBe('SIGXFSZ');
      expect(r.termination).toBe('disk');
    }
  });

  it('a second file may again reach the cap: the limit is per file, not the total', async () => {
    const r = await run('sh', ['-c', 'head -c 50000000 /dev/zero > a; head -c 50000000 /dev/zero > b; echo ok'], { maxDiskMb: 64 });
    expect(r.stdout.trim()).toBe('ok');
    expect(statSync(join(ws.dir, 'a')).size + statSync(join(ws.dir, 'b')).size).toBe(100_000_000);
  });

  it('CPU spin (capped at 20 s) is killed at cpu_time_secs and reported as cpu', async () => {
    // Capped at 20 s of CPU, not of wall time: a spinner starved on a loaded machine must not
    // reach the cap before the limit does.
    const spin = 'import time\nwhile time.process_time() < 20: pass\nprint("no-limit")';
    // CPU seconds the command (and the children it reaped) used: killed at the limit, that is
    // before the hard limit (N+1 s) plus scheduling slack, whatever the wall clock says.
    const cpuSecs = (r: ExecResult<string>) => (r.resourceUsage!.userCPUTime + r.resourceUsage!.systemCPUTime) / 1e6;
    const direct = await run(PY, ['-c', spin], { cpuTimeSecs: 2 });
    expect(direct.stdout).not.toContain('no-limit');
    expect(direct.termination).toBe('cpu');
    // pid 1 of a pid namespace ignores SIGXCPU: the hard limit (N+1 s) SIGKILLs it.
    expect(direct.signal).toBe(direct.enforcement.namespaces.pid ? 'SIGKILL' : 'SIGXCPU');
    expect(cpuSecs(direct)).toBeLessThan(4);
    const nested = await run('sh', ['-c', `${PY} -c '${spin}'; st=$?; exit $st`], { cpuTimeSecs: 2 });
    expect(nested.exitCode).toBe(128 + 24); // the spinner died of SIGXCPU at the soft limit
    expect(nested.termination).toBe('cpu');
    expect(cpuSecs(nested)).toBeLessThan(4);
  });

  it('sleep 60 under a 1 s timeout is killed and reported as timeout', async () => {
    const r = await run('sleep', ['60'], { timeoutSecs: 1 });
    expect(r.termination).toBe('timeout');
    expect(r.timedOut).toBe(true);
    expect(r.durationMs).toBeLessThan(10_000);
  });

  it('no core dumps: RLIMIT_CORE is 0', async () => {
    const r = await run('sh', ['-c', 'ulimit -c; ulimit -Hc'], {});
    expect(r.stdout.trim().split('\n')).toEqual(['0', '0']);
  });

  it('the cgroup leaves of a child are removed after it exits', async () => {
    await run('sh', ['-c', 'sleep 0.2 & sleep 0.1 & wait'], ResourceLimits.conservative());
    await waitFor(() => ourLeaves().length === 0 && pendingLeaves().length === 0, 5000);
    expect(ourLeaves()).toEqual([]);
  });
});

describe.runIf(isRoot)('resource limits: cgroups (root on this machine)', () => {
  it('the child is in its own memory and pids leaves, with the limits written', async () => {
    const r = await run('sh', ['-c', 'cat /proc/self/cgroup'], ResourceLimits.conservative());
    const lines = r.stdout.split('\n');
    expect(lines.find((l) => /:memory:/.test(l))).toMatch(/\/cordon-\d+-\d+$/);
    expect(lines.find((l) => /:pids:/.test(l))).toMatch(/\/cordon-\d+-\d+$/);
    expect(r.enforcement.limits!.cgroup).toEqual({ version: 1, hierarchies: ['v1-memory', 'v1-pids'], treeKill: true });
  });

  it('without namespaces the cgroup is the tree kill: a setsid escapee dies with the command', async () => {
    const marker = '31.4159';
    const r = await run('sh', ['-c', `setsid sleep ${marker} </dev/null >/dev/null 2>&1 & echo started`], { maxPids: 32 }, { namespaces: false });
    expect(r.stdout.trim()).toBe('started');
    expect(r.enforcement.lifecycle.treeKill).toBe('cgroup');
    expect(await waitFor(() => pidsWithCmdline(`sleep ${marker}`).length === 0, 3000)).toBe(true);
  });

  it('leaves of a SIGKILLed host are swept at the next start', async () => {
    const dist = join(process.cwd(), 'dist', 'index.js');
    const host = nodeSpawn(process.execPath, [
      '--input-type=module',
      '-e',
      `import { spawnSandboxed, SandboxPolicy, ResourceLimits } from ${JSON.stringify(dist)};
       const c = spawnSandboxed('sleep', ['27.1828'], { policy: SandboxPolicy.workspaceWriteWithLimits([${JSON.stringify(ws.dir)}], ResourceLimits.conservative()), cwd: ${JSON.stringify(ws.dir)}, stdio: 'ignore' });
       c.on('spawn', () => console.log('up'));`,
    ], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => host.stdout!.once('data', () => resolve()));
    const k = probeKernel();
    const stale = () => readdirSync(k.cgroup.v1.pids.dir).filter((n) => n.startsWith(`cordon-${host.pid}-`));
    expect(stale().length).toBe(1);
    host.kill('SIGKILL');
    await waitFor(() => !isAlive(host.pid!), 3000);
    // The sandbox died with its host (pid 1 had PR_SET_PDEATHSIG); its empty leaf stays behind.
    expect(await waitFor(() => pidsWithCmdline('sleep 27.1828').length === 0, 3000)).toBe(true);
    expect(stale().length).toBe(1);
    // The next host's first limited spawn sweeps it.
    execFileSync(process.execPath, [
      '--input-type=module',
      '-e',
      `import { execSandboxed, SandboxPolicy, ResourceLimits } from ${JSON.stringify(dist)};
       await execSandboxed('true', [], { policy: SandboxPolicy.workspaceWriteWithLimits([${JSON.stringify(ws.dir)}], ResourceLimits.conservative()), cwd: ${JSON.stringify(ws.dir)} });`,
    ]);
    expect(stale()).toEqual([]);
  });
});

describe('controls under the conservative preset', () => {
  let repo: { dir: string; cleanup: () => void };
  beforeAll(() => {
    repo = tempDir('cordon-limits-git-');
    execFileSync('git', ['init', '-q', repo.dir]);
  });
  afterAll(() => repo.cleanup());

  const pipeline20 = `seq 1000 ${'| cat '.repeat(18)}| wc -l`;
  const controls: Array<[string, string, string[], string | RegExp]> = [
    ['node', 'node', ['-e', 'console.log(1)'], '1'],
    ['python3', PY, ['-c', 'print(1)'], '1'],
    ['npm --version', 'npm', ['--version'], /^\d+\.\d+\.\d+$/],
    ['git status', 'git', ['status', '--short', '--branch'], /^## /],
    ['sort pipeline', 'sh', ['-c', 'seq 100000 | sort | uniq | wc -l'], '100000'],
    ['20-process pipeline', 'sh', ['-c', pipeline20], '1000'],
  ];
  for (const policyName of ['ReadOnly', 'WorkspaceWrite'] as const) {
    for (const [name, cmd, args, expected] of controls) {
      it(`${policyName}: ${name}`, async () => {
        const policy = policyName === 'ReadOnly' ? SandboxPolicy.readOnly() : SandboxPolicy.workspaceWriteWithLimits([ws.dir], ResourceLimits.conservative());
        const r = (await execSandboxed(cmd, args, { policy, cwd: name === 'git status' ? repo.dir : ws.dir })) as ExecResult<string>;
        expect(r.enforcement.limits!.memory.value).toBe(512);
        expect(r.enforcement.limits!.pids.value).toBe(64);
        expect(r.exitCode, `${r.stderr} (${r.termination})`).toBe(0);
        if (typeof expected === 'string') expect(r.stdout.trim()).toBe(expected);
        else expect(r.stdout.trim()).toMatch(expected);
        expect(r.termination).toBe('exit');
      });
    }
  }
});
