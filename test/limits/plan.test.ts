// Pure decisions: which mechanism holds each limit per situation, and the termination rules.
import { describe, expect, it } from 'vitest';
import { classifyTermination, planLimits, RLIMIT, type LimitsEnvironment } from '../../src/limits/index.js';
import { ResourceLimits } from '../../src/index.js';
import { constants } from 'node:os';

const RLIMIT_AS = 9;
const MB = 1024 * 1024;
const conservative = ResourceLimits.conservative();

function env(over: Partial<LimitsEnvironment> = {}): LimitsEnvironment {
  return {
    isRoot: false,
    userNamespace: true,
    release: '6.18.0',
    v2: null,
    v1: { memoryDir: null, pidsDir: null },
    hostHard: {},
    ...over,
  };
}
const rl = (plan: ReturnType<typeof planLimits>, resource: number) => plan.rlimits.find(([r]) => r === resource);

describe('planLimits: huge values are written exactly', () => {
  it('memory beyond 2^53 bytes, pids beyond PIDS_MAX, rlimits beyond 2^53 (control: ordinary values as before)', () => {
    const lim = (maxMemoryMb: number, maxPids: number, maxDiskMb: number) => ({ maxMemoryMb, maxPids, maxDiskMb, cpuTimeSecs: 0, timeoutSecs: 0 });
    const huge = lim(2 ** 44 + 5, 2 ** 33, 2 ** 44);
    const cg = planLimits(huge, env({ isRoot: true, v1: { memoryDir: '/m', pidsDir: '/p' } }));
    // 2^44+5 MiB in bytes, by BigInt (a double said 1.8446744073709552e+19, which the kernel read as 1).
    const bytes = String((2n ** 44n + 5n) * 1048576n > 2n ** 63n - 1n ? 2n ** 63n - 1n : (2n ** 44n + 5n) * 1048576n);
    expect(cg.leaves.find((l) => l.hierarchy === 'v1-memory')!.files[0]).toEqual(['memory.limit_in_bytes', bytes, false]);
    expect(bytes).toBe('9223372036854775807');
    expect(cg.leaves.find((l) => l.hierarchy === 'v1-pids')!.files).toEqual([['pids.max', 'max', false]]);
    const rl2 = planLimits(huge, env());
    for (const [, soft, hard] of rl2.rlimits) {
      expect(Number.isSafeInteger(soft) || soft === Infinity).toBe(true);
      expect(Number.isSafeInteger(hard) || hard === Infinity).toBe(true);
    }
    const plain = planLimits(lim(512, 64, 0), env({ isRoot: true, v1: { memoryDir: '/m', pidsDir: '/p' } }));
    expect(plain.leaves.find((l) => l.hierarchy === 'v1-memory')!.files[0]).toEqual(['memory.limit_in_bytes', String(512 * 1048576), false]);
    expect(plain.leaves.find((l) => l.hierarchy === 'v1-pids')!.files).toEqual([['pids.max', '64', false]]);
  });
});

describe('planLimits: mechanism per situation', () => {
  it('root on this machine\'s hybrid layout: v1 memory + v1 pids cgroups, rlimits for disk/cpu/core', () => {
    const plan = planLimits(conservative, env({ isRoot: true, userNamespace: false, v1: { memoryDir: '/sys/fs/cgroup/memory/x', pidsDir: '/sys/fs/cgroup/pids' } }));
    expect(plan.report.memory).toMatchObject({ mechanism: 'cgroup-v1', scope: 'sandbox', enforced: true });
    expect(plan.report.pids).toMatchObject({ mechanism: 'cgroup-v1', scope: 'sandbox', enforced: true });
    expect(plan.leaves.map((l) => [l.hierarchy, l.parent])).toEqual([
      ['v1-memory', '/sys/fs/cgroup/memory/x'],
      ['v1-pids', '/sys/fs/cgroup/pids'],
    ]);
    expect(plan.leaves[0]!.files).toEqual([
      ['memory.limit_in_bytes', String(512 * MB), false],
      ['memory.memsw.limit_in_bytes', String(512 * MB), true],
    ]);
    expect(plan.leaves[1]!.files).toEqual([['pids.max', '64', false]]);
    expect(rl(plan, RLIMIT.DATA)).toBeUndefined();
    expect(rl(plan, RLIMIT.NPROC)).toBeUndefined();
    expect(rl(plan, RLIMIT.FSIZE)).toEqual([RLIMIT.FSIZE, 1024 * MB, 1024 * MB]);
    expect(rl(plan, RLIMIT.CPU)).toEqual([RLIMIT.CPU, 60, 61]);
    expect(rl(plan, RLIMIT.CORE)).toEqual([RLIMIT.CORE, 0, 0]);
    expect(plan.report.cgroup).toEqual({ version: 1, hierarchies: ['v1-memory', 'v1-pids'], treeKill: true });
    expect(plan.missing).toEqual([]);
  });

  it('a delegated cgroup v2 subtree wins: one leaf with memory.max, swap 0, oom.group, pids.max', () => {
    const plan = planLimits(conservative, env({ v2: { dir: '/sys/fs/cgroup/user.slice/x', controllers: ['memory', 'pids'], kill: true }, v1: { memoryDir: '/m', pidsDir: '/p' } }));
    expect(plan.leaves).toEqual([
      {
        hierarchy: 'v2',
        parent: '/sys/fs/cgroup/user.slice/x',
        files: [
          ['memory.max', String(512 * MB), false],
          ['memory.swap.max', '0', true],
          ['memory.oom.group', '1', true],
          ['pids.max', '64', false],
        ],
      },
    ]);
    expect(plan.v2Kill).toBe(true);
    expect(plan.report.memory.mechanism).toBe('cgroup-v2');
    expect(plan.report.pids.mechanism).toBe('cgroup-v2');
  });

  it('v2 with memory only: pids falls to v1 where writable', () => {
    const plan = planLimits(conservative, env({ isRoot: true, v2: { dir: '/u', controllers: ['memory'], kill: true }, v1: { memoryDir: null, pidsDir: '/p' } }));
    expect(plan.report.memory.mechanism).toBe('cgroup-v2');
    expect(plan.report.pids.mechanism).toBe('cgroup-v1');
  });

  it('unprivileged in a user namespace (this machine as cordon-dev): RLIMIT_DATA, RLIMIT_NPROC per userns', () => {
    const plan = planLimits(conservative, env());
    expect(plan.leaves).toEqual([]);
    expect(rl(plan, RLIMIT.DATA)).toEqual([RLIMIT.DATA, 512 * MB, 512 * MB]);
    expect(plan.report.memory).toMatchObject({ mechanism: 'rlimit', scope: 'per-process' });
    expect(plan.report.memory.gaps.join(' ')).toMatch(/shared memory/);
    expect(rl(plan, RLIMIT.NPROC)).toEqual([RLIMIT.NPROC, 64, 64]);
    expect(plan.report.pids).toMatchObject({ mechanism: 'rlimit-userns', scope: 'per-user-namespace', enforced: true });
    expect(plan.nprocRelative).toBeNull();
    expect(plan.missing).toEqual([]);
  });

  it('unprivileged without a user namespace (or before 5.14): NPROC relative to the uid\'s count, reported host-wide', () => {
    for (const e of [env({ userNamespace: false }), env({ release: '5.10.0' })]) {
      const plan = planLimits(conservative, e);
      expect(rl(plan, RLIMIT.NPROC)).toBeUndefined();
      expect(plan.nprocRelative).toBe(64);
      expect(plan.report.pids).toMatchObject({ mechanism: 'rlimit-uid-relative', scope: 'host-wide-uid' });
      expect(plan.report.pids.gaps.join(' ')).toMatch(/racy/);
    }
  });

  it('root without a pids cgroup: max_pids is not enforced and goes to missing (strict refuses)', () => {
    const plan = planLimits(conservative, env({ isRoot: true, userNamespace: false }));
    expect(plan.report.pids).toMatchObject({ enforced: false, mechanism: 'none' });
    expect(plan.missing).toEqual([expect.stringMatching(/max_pids=64/)]);
    expect(rl(plan, RLIMIT.NPROC)).toBeUndefined();
  });

  it('never RLIMIT_AS; RLIMIT_CORE 0 always, even unlimited', () => {
    for (const limits of [conservative, ResourceLimits.unlimited(), ResourceLimits.generous()]) {
      for (const e of [env(), env({ isRoot: true }), env({ userNamespace: false }), env({ v1: { memoryDir: '/m', pidsDir: '/p' } })]) {
        const plan = planLimits(limits, e);
        expect(rl(plan, RLIMIT_AS)).toBeUndefined();
        expect(rl(plan, RLIMIT.CORE)).toEqual([RLIMIT.CORE, 0, 0]);
      }
    }
    const unlimited = planLimits(ResourceLimits.unlimited(), env({ isRoot: true, v1: { memoryDir: '/m', pidsDir: '/p' } }));
    expect(unlimited.rlimits).toEqual([[RLIMIT.CORE, 0, 0]]);
    expect(unlimited.leaves).toEqual([]);
    expect(unlimited.report.cgroup).toBeNull();
    expect(unlimited.report.memory).toMatchObject({ value: 0, enforced: true, detail: 'unlimited' });
    expect(unlimited.report.timeout).toMatchObject({ value: 300, mechanism: 'host-timer' });
  });

  it('rlimits are clamped to the host\'s hard limits (raising them would fail the spawn with EPERM)', () => {
    const plan = planLimits(conservative, env({ hostHard: { [RLIMIT.NPROC]: 10, [RLIMIT.CPU]: 30 } }));
    expect(rl(plan, RLIMIT.NPROC)).toEqual([RLIMIT.NPROC, 10, 10]);
    expect(rl(plan, RLIMIT.CPU)).toEqual([RLIMIT.CPU, 30, 30]);
  });

  it('disk is per file, cpu per process', () => {
    const plan = planLimits(conservative, env());
    expect(plan.report.disk).toMatchObject({ mechanism: 'rlimit', scope: 'per-file', detail: expect.stringMatching(/RLIMIT_FSIZE/) });
    expect(plan.report.cpu).toMatchObject({ mechanism: 'rlimit', scope: 'per-process' });
  });
});

describe('classifyTermination', () => {
  const S = constants.signals;
  const usage = (secs: number) => ({ userCPUTime: secs * 1e6, systemCPUTime: 0 });
  const none = { oomKills: 0, memoryFailcnt: 0, pidsMax: 0 };
  const base = { code: null, signal: null, usage: usage(0), limits: conservative, evidence: none };

  it('memory: an OOM kill in the cgroup, whatever the signal', () => {
    expect(classifyTermination({ ...base, signal: S.SIGKILL, evidence: { ...none, oomKills: 1 } })).toBe('memory');
    expect(classifyTermination({ ...base, code: 137, evidence: { ...none, oomKills: 2 } })).toBe('memory');
    expect(classifyTermination({ ...base, signal: S.SIGKILL, evidence: { ...none, memoryFailcnt: 5 } })).toBe('memory');
    expect(classifyTermination({ ...base, code: 0, evidence: { ...none, memoryFailcnt: 5 } })).toBeNull();
  });
  it('cpu: SIGXCPU, SIGKILL at the hard limit, or a shell\'s 128+SIGXCPU', () => {
    expect(classifyTermination({ ...base, signal: S.SIGXCPU })).toBe('cpu');
    expect(classifyTermination({ ...base, signal: S.SIGKILL, usage: usage(61) })).toBe('cpu');
    expect(classifyTermination({ ...base, signal: S.SIGKILL, usage: usage(1) })).toBeNull();
    expect(classifyTermination({ ...base, code: 128 + S.SIGXCPU })).toBe('cpu');
    expect(classifyTermination({ ...base, code: 128 + S.SIGXCPU, limits: ResourceLimits.unlimited() })).toBeNull();
  });
  it('disk: SIGXFSZ, or a shell\'s 128+SIGXFSZ', () => {
    expect(classifyTermination({ ...base, signal: S.SIGXFSZ })).toBe('disk');
    expect(classifyTermination({ ...base, code: 128 + S.SIGXFSZ })).toBe('disk');
  });
  it('pids: refused forks and a failed command', () => {
    expect(classifyTermination({ ...base, code: 1, evidence: { ...none, pidsMax: 3 } })).toBe('pids');
    expect(classifyTermination({ ...base, code: 0, evidence: { ...none, pidsMax: 3 } })).toBeNull();
  });
  it('precedence: memory > cpu > disk > pids; nothing → null', () => {
    expect(classifyTermination({ ...base, signal: S.SIGXCPU, evidence: { ...none, oomKills: 1, pidsMax: 1 } })).toBe('memory');
    expect(classifyTermination({ ...base, signal: S.SIGXCPU, evidence: { ...none, pidsMax: 1 } })).toBe('cpu');
    expect(classifyTermination({ ...base, code: 0 })).toBeNull();
    expect(classifyTermination({ ...base, signal: S.SIGTERM, evidence: null })).toBeNull();
  });
});
