// A long-running host's caches stay bounded: an agent host that uses a fresh workspace per task
// (1,000 of them, created and removed), then an exec loop of 10,000 spawns into one workspace,
// ends with its fd count and RSS flat within a stated bound. Before the filesystem plan cache
// was bounded, each distinct workspace kept a Landlock ruleset fd for the life of the host (100
// workspaces took a host from 21 to 125 fds).
import { mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { execSandboxed, releaseStandbys, SandboxPolicy } from '../../src/index.js';

/** Every fd of this process, Landlock rulesets included (helpers' openFdCount leaves those out: they are what leaked). */
const allFds = () => readdirSync('/proc/self/fd').length;

// The bounded caches: 64 filesystem plans (one ruleset fd each) in JS, 8 sandbox plans (one
// duplicate fd each) in the addon, at most 2 standbys; margin for the test runner's own fds.
const FD_BOUND = 64 + 8 + 16;

describe('caches over a long-running host', () => {
  it('1,000 distinct workspaces, created and removed: the host keeps at most a bounded number of fds (control: the spawns ran)', async () => {
    const base = realpathSync(mkdtempSync(join(tmpdir(), 'cordon-caches-')));
    try {
      // Warm up: the addon, the probe, the shared network namespace, the first plans.
      for (let i = 0; i < 3; i++) await execSandboxed('true', { policy: SandboxPolicy.workspaceWrite([base]), cwd: base });
      const before = allFds();
      let ran = 0;
      for (let i = 0; i < 1000; i++) {
        const ws = mkdtempSync(join(base, 'task-'));
        const r = await execSandboxed('true', { policy: SandboxPolicy.workspaceWrite([ws]), cwd: ws });
        if (r.exitCode === 0) ran++;
        rmSync(ws, { recursive: true, force: true });
      }
      expect(ran).toBe(1000);
      releaseStandbys();
      const after = allFds();
      expect(after - before).toBeLessThanOrEqual(FD_BOUND);
    } finally {
      rmSync(base, { recursive: true, force: true });
    }
  }, 300_000);

  it('a plan evicted while its sandbox has a standby: every later spawn is confined by its own ruleset (control: each may write its own workspace)', async () => {
    const base = realpathSync(mkdtempSync(join(tmpdir(), 'cordon-caches-evict-')));
    try {
      const a = mkdtempSync(join(base, 'a-'));
      const policyA = SandboxPolicy.workspaceWrite([a]);
      // Twice: the second spawn leaves a standby for A's plan.
      for (let i = 0; i < 2; i++) await execSandboxed('true', { policy: policyA, cwd: a });
      // 80 other workspaces evict A's plan and close its ruleset fd; new rulesets take fd numbers.
      const others: string[] = [];
      for (let i = 0; i < 80; i++) {
        const ws = mkdtempSync(join(base, 'o-'));
        others.push(ws);
        await execSandboxed('true', { policy: SandboxPolicy.workspaceWrite([ws]), cwd: ws });
      }
      const writeTo = (dir: string) => ['-c', `echo x > ${JSON.stringify(join(dir, 'probe'))}`];
      const inA = await execSandboxed('sh', writeTo(a), { policy: policyA, cwd: a });
      expect(inA.exitCode).toBe(0);
      const fromA = await execSandboxed('sh', writeTo(others[79]!), { policy: policyA, cwd: a });
      expect(fromA.exitCode).not.toBe(0);
      const last = SandboxPolicy.workspaceWrite([others[79]!]);
      const fromLast = await execSandboxed('sh', writeTo(a), { policy: last, cwd: others[79]! });
      expect(fromLast.exitCode).not.toBe(0);
      expect((await execSandboxed('sh', writeTo(others[79]!), { policy: last, cwd: others[79]! })).exitCode).toBe(0);
    } finally {
      releaseStandbys();
      rmSync(base, { recursive: true, force: true });
    }
  }, 300_000);

  it('10,000 spawns into one workspace: fds do not grow and RSS stays within 64 MB of where it settled', async () => {
    const ws = realpathSync(mkdtempSync(join(tmpdir(), 'cordon-caches-one-')));
    try {
      const policy = SandboxPolicy.workspaceWrite([ws]);
      for (let i = 0; i < 200; i++) await execSandboxed('true', { policy, cwd: ws });
      const fdsBefore = allFds();
      const rssBefore = process.memoryUsage().rss;
      for (let i = 0; i < 10_000; i++) {
        const r = await execSandboxed('true', { policy, cwd: ws });
        if (r.exitCode !== 0) throw new Error(`spawn ${i} exited ${r.exitCode}: ${r.stderr}`);
      }
      releaseStandbys();
      expect(allFds() - fdsBefore).toBeLessThanOrEqual(4);
      expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * 1024 * 1024);
    } finally {
      rmSync(ws, { recursive: true, force: true });
    }
  }, 600_000);
});
