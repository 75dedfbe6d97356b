// Every Landlock downgrade path (T0.1), on this one kernel, by capping the ABI: for each cap the
// report must match what a sandboxed child can actually do, and strict must refuse exactly what
// it cannot enforce.

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearFilesystemPlanCache, compileFilesystemPlan, handledAccessFs, type FilesystemPlan } from '../../src/filesystem/index.js';
import { helpers, makeWorld, probe, probeOps, type World } from './harness.js';
import { policyFrom, type PolicyJson } from './policy.js';

const caps = [0, 1, 2, 3, 4, 5, 6, 7].filter((c) => c <= probe.landlockAbi);
const modes = [false, ...(probe.mountNamespace ? [true] : [])];

describe.each(modes.flatMap((namespaces) => caps.map((cap) => ({ cap, namespaces }))))(
  'Landlock ABI capped to $cap (namespaces: $namespaces)',
  ({ cap, namespaces }) => {
    let w: World;
    let plan: FilesystemPlan;
    let strict: FilesystemPlan;
    const has = (what: string): boolean | undefined => plan.report.protections.find((p) => p.what === what)?.enforced;

    beforeAll(async () => {
      helpers();
      w = makeWorld();
      process.env.HOME = w.home;
      const json: PolicyJson = { type: 'workspace_write', writable_roots: [{ root: w.ws }], exclude_slash_tmp: true, exclude_tmpdir_env_var: true };
      const base = { policy: await policyFrom(json), cwd: w.ws, probe, network: { mode: 'full' as const }, namespaces, landlockAbiCap: cap };
      plan = compileFilesystemPlan({ ...base, enforcement: 'best-effort' });
      strict = compileFilesystemPlan({ ...base, enforcement: 'strict' });
    });
    afterAll(() => {
      clearFilesystemPlanCache();
      w.cleanup();
    });

    it('reports the capped ABI and the matching mode', () => {
      expect(plan.report.landlockAbi).toBe(cap);
      const expected = cap === 0 ? (namespaces ? 'mountns-only' : 'none') : namespaces ? 'landlock+mountns' : 'landlock-only';
      expect(plan.report.mode).toBe(expected);
      expect(plan.rulesetFd >= 0).toBe(cap > 0);
    });

    it('writes outside the roots: denied iff the report says enforced', async () => {
      const [create] = await probeOps(plan, [`create:${w.outside}/new`], w.ws);
      expect(has('writes only beneath writable roots')).toBe(cap > 0);
      expect(create).toBe(cap > 0 ? 'EACCES' : 'OK');
    });

    it('truncation outside the roots: denied iff ABI >= 3, and strict refuses below', async () => {
      const [trunc] = await probeOps(plan, [`trunc:${w.outside}/file.txt`], w.ws);
      expect(trunc).toBe(cap >= 3 ? 'EACCES' : 'OK');
      expect(has('no truncation outside writable roots')).toBe(cap >= 3);
      expect(strict.missing.some((m) => m.startsWith('no truncation outside writable roots'))).toBe(cap < 3);
      expect(strict.missing.length === 0).toBe(cap >= 3);
    });

    it('cross-directory rename inside the workspace: EXDEV at ABI 1 (reported), works from ABI 2', async () => {
      // Within src/ (mode B freezes the workspace top level because of the protected .git).
      const [mkdir, mv] = await probeOps(plan, [`mkdir:${w.ws}/src/sub`, `rename:${w.ws}/src/a.txt:${w.ws}/src/sub/a.txt`], w.ws);
      const gaps = plan.report.protections.find((p) => p.what === 'writes only beneath writable roots')?.gaps ?? [];
      expect(mkdir).toBe('OK');
      expect(mv).toBe(cap === 1 ? 'EXDEV' : 'OK');
      expect(gaps.includes('cross-directory-rename-denied')).toBe(cap === 1);
    });

    it('handled rights follow the ABI (REFER 2, TRUNCATE 3, IOCTL_DEV 5)', () => {
      const F = handledAccessFs(cap);
      expect((F & (1 << 13)) !== 0).toBe(cap >= 2);
      expect((F & (1 << 14)) !== 0).toBe(cap >= 3);
      expect((F & (1 << 15)) !== 0).toBe(cap >= 5);
      const gaps = plan.report.protections.find((p) => p.what === 'writes only beneath writable roots')?.gaps ?? [];
      expect(gaps.includes('device-ioctl-unrestricted')).toBe(cap >= 1 && cap < 5);
    });

    it('signals to the host: EPERM iff the signal scope (ABI 6) is reported', async () => {
      const [k] = await probeOps(plan, [`kill0:${process.pid}`], w.ws);
      const scoped = plan.report.protections.find((p) => p.what === 'signals only to processes inside the sandbox')?.enforced;
      expect(scoped).toBe(cap >= 6);
      expect(k).toBe(cap >= 6 ? 'EPERM' : 'OK');
    });

    it('protected .git and sensitive reads hold in every Landlock mode; ABI 0 without namespaces reports them missing', async () => {
      const [cfg, key] = await probeOps(plan, [`openw:${w.ws}/.git/config`, `read:${join(w.home, '.ssh', 'id_rsa')}`], w.ws);
      const git = plan.report.protections.find((p) => p.what === `read-only ${w.ws}/.git`);
      const ssh = plan.report.protections.find((p) => p.what === `deny read+write ${join(w.home, '.ssh')}`);
      if (namespaces) {
        expect(cfg).toBe('EROFS');
        expect(git?.enforced).toBe(true);
        expect(ssh?.enforced).toBe(true);
        expect(['ENOENT', 'EACCES']).toContain(key);
      } else if (cap > 0) {
        expect([cfg, key]).toEqual(['EACCES', 'EACCES']);
        expect(git?.enforced).toBe(cap >= 3);
        expect(ssh?.enforced).toBe(cap >= 3);
      } else {
        expect([cfg, key]).toEqual(['OK', 'OK']);
        expect(git?.enforced).toBe(false);
        expect(ssh?.enforced).toBe(false);
        expect(strict.missing).toEqual(expect.arrayContaining([expect.stringContaining(`read-only ${w.ws}/.git`)]));
      }
    });
  },
);
