// Every cache in one list (src/caches.ts): each one a spawn goes through is registered with its
// key, bound and invalidation, and clearCaches() empties them all, closing the fds they hold.
import { mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cacheInventory, clearCaches, execSandboxed, releaseStandbys, SandboxPolicy } from '../../src/index.js';

const allFds = () => readdirSync('/proc/self/fd').length;

describe('cache inventory', () => {
  it('lists every cache with its key, bound and invalidation', async () => {
    // Load the lazily imported modules too (the proxy's): a spawn goes through all of them.
    await execSandboxed('true', [], { policy: SandboxPolicy.readOnly() });
    const names = cacheInventory().map((c) => c.name.split(' ')[0]);
    for (const module of ['plan/index.ts', 'filesystem/plan-cache.ts', 'seccomp/index.ts', 'spawn.ts', 'child-env.ts', 'env.ts', 'tool-env.ts', 'isolation.ts', 'network-plan.ts', 'network.ts']) {
      expect(names).toContain(module);
    }
    for (const c of cacheInventory()) {
      expect(c.key.length, c.name).toBeGreaterThan(0);
      expect(c.bound.length, c.name).toBeGreaterThan(0);
      expect(c.invalidation.length, c.name).toBeGreaterThan(0);
    }
  });

  it('clearCaches() empties them and closes the ruleset fds they held (control: spawning fills them)', async () => {
    const dirs = Array.from({ length: 21 }, () => realpathSync(mkdtempSync(join(tmpdir(), 'cordon-inv-'))));
    // Warm up first: what a process opens once and keeps (the shared network namespace's fds,
    // /proc/net/unix) is not a cache.
    await execSandboxed('true', [], { policy: SandboxPolicy.workspaceWrite([dirs.pop()!]), prewarm: false });
    releaseStandbys();
    clearCaches();
    const before = allFds();
    try {
      for (const dir of dirs) {
        const r = await execSandboxed('true', [], { policy: SandboxPolicy.workspaceWrite([dir]), cwd: dir, prewarm: false });
        expect(r.exitCode).toBe(0);
      }
      const plans = () => cacheInventory().find((c) => c.name.startsWith('filesystem/plan-cache.ts'))!.size!;
      expect(plans()).toBeGreaterThanOrEqual(20);
      expect(allFds()).toBeGreaterThanOrEqual(before + 20); // one ruleset fd per plan
      clearCaches();
      expect(plans()).toBe(0);
      // What stays: the addon's own duplicates in its (at most 8) cached native plans.
      expect(allFds()).toBeLessThanOrEqual(before + 8);
    } finally {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    }
  });
});
