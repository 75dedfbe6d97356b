// Unit tests of the planner: rule shapes, mount plan, report, strictness, cache.

import { mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync, symlinkSync, writeFileSync, renameSync } from 'node:fs';
import { MountKind } from '../../src/native-types.js';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FILE_RIGHTS,
  LANDLOCK_ACCESS_FS as F,
  READ,
  READ_WRITE,
  clearFilesystemPlanCache,
  compileFilesystemPlan,
  resolveGuarded,
} from '../../src/filesystem/index.js';
import { planRules } from '../../src/filesystem/rules.js';
import { makeWorld, probe, type World } from './harness.js';
import { policyFrom } from './policy.js';

describe('planRules (sibling grants)', () => {
  let t: string;
  beforeAll(() => {
    t = mkdtempSync('/var/tmp/cordon-rules-');
    for (const d of ['a/secret', 'a/b', 'ws/.git', 'ws/src']) mkdirSync(join(t, d), { recursive: true });
    writeFileSync(join(t, 'a', 'f'), '');
    writeFileSync(join(t, 'ws', 'top.txt'), '');
    symlinkSync('/etc', join(t, 'a', 'link'));
  });
  afterAll(() => rmSync(t, { recursive: true, force: true }));

  it('additive specials need no split', () => {
    const r = planRules({ path: t, rights: READ }, [{ path: join(t, 'ws'), rights: READ_WRITE }]);
    expect([...r.rules]).toEqual([
      [t, READ],
      [join(t, 'ws'), READ_WRITE & ~READ],
    ]);
    expect(r.splitDirs).toEqual([]);
  });

  it('a read-denied dir splits its ancestors; they keep READ_DIR only, siblings get READ; symlinks get nothing', () => {
    const r = planRules({ path: t, rights: READ }, [{ path: join(t, 'a', 'secret'), rights: F.READ_DIR }]);
    expect(r.rules.get(t)).toBe(F.READ_DIR);
    expect(r.rules.get(join(t, 'a'))).toBeUndefined();
    expect(r.rules.get(join(t, 'a', 'b'))).toBe(READ & ~F.READ_DIR);
    expect(r.rules.get(join(t, 'a', 'f'))).toBe(READ & ~F.READ_DIR & FILE_RIGHTS);
    expect(r.rules.has(join(t, 'a', 'secret'))).toBe(false);
    expect(r.rules.has(join(t, 'a', 'link'))).toBe(false);
    expect(r.rules.get(join(t, 'ws'))).toBe(READ & ~F.READ_DIR);
    expect(r.splitDirs.map((d) => d.path)).toEqual([t, join(t, 'a')]);
  });

  it('a read-only dir in a writable root freezes the root: the root has READ, its entries the rest', () => {
    const ws = join(t, 'ws');
    const r = planRules({ path: t, rights: READ }, [
      { path: ws, rights: READ_WRITE },
      { path: join(ws, '.git'), rights: READ },
    ]);
    expect(r.rules.get(t)).toBe(READ);
    expect(r.rules.has(ws)).toBe(false); // READ is inherited; no MAKE_*/REMOVE_* on the root itself
    expect(r.rules.get(join(ws, 'src'))).toBe(READ_WRITE & ~READ);
    expect(r.rules.get(join(ws, 'top.txt'))).toBe(READ_WRITE & ~READ & FILE_RIGHTS);
    expect(r.rules.has(join(ws, '.git'))).toBe(false);
  });

  it('a missing special constrains its nearest existing ancestor', () => {
    const ws = join(t, 'ws');
    const r = planRules({ path: t, rights: READ }, [
      { path: ws, rights: READ_WRITE },
      { path: join(ws, 'missing', 'deeper'), rights: READ },
    ]);
    expect(r.rules.has(ws)).toBe(false);
    expect(r.rules.get(join(ws, '.git'))).toBe(READ_WRITE & ~READ);
  });
});

describe('compileFilesystemPlan', () => {
  let w: World;
  const nsProbe = { ...probe, mountNamespace: true, userNamespaces: true };
  beforeAll(() => {
    w = makeWorld();
    process.env.HOME = w.home;
    delete process.env.TMPDIR;
  });
  afterAll(() => {
    clearFilesystemPlanCache();
    w.cleanup();
  });
  const ww = (extra: Record<string, unknown> = {}) =>
    policyFrom({ type: 'workspace_write', writable_roots: [{ root: w.ws }], exclude_slash_tmp: true, exclude_tmpdir_env_var: true, ...extra });

  it('mode A mount plan: tmpfs over sensitive dirs, empty file over sensitive files, read-only bind of .git', async () => {
    const plan = compileFilesystemPlan({ policy: await ww(), cwd: w.ws, probe: nsProbe, enforcement: 'strict', network: { mode: 'full' }, namespaces: true });
    expect(plan.needsMountNamespace).toBe(true);
    const byTarget = Object.fromEntries(plan.mounts.map((m) => [m.target, m]));
    expect(byTarget[join(w.home, '.ssh')]?.kind).toBe(MountKind.tmpfsMask);
    expect(byTarget[join(w.home, '.aws')]?.kind).toBe(MountKind.tmpfsMask);
    expect(byTarget[join(w.home, '.npmrc')]).toMatchObject({ kind: MountKind.fileMask, source: expect.stringMatching(/cordon-\d+\/empty$/) });
    expect(byTarget[join(w.ws, '.git')]?.kind).toBe(MountKind.bindReadOnly);
    // Landlock in mode A is a second layer under the masks outside the writable roots: the
    // masked names get no read right (a host that replaces one detaches its mask), / and $HOME
    // are split for it; device files are granted by name; the root is writable.
    const rule = (path: string) => plan.rules.find((r) => r.path === path)?.access ?? 0;
    expect(rule('/') & F.READ_FILE).toBe(0);
    expect(rule(join(w.home, '.ssh')) & F.READ_FILE).toBe(0);
    expect(rule(join(w.home, '.npmrc')) & F.READ_FILE).toBe(0);
    expect(rule(join(w.home, '.bashrc')) & F.READ_FILE).toBe(F.READ_FILE); // control: a sibling
    expect(rule('/dev') & F.READ_FILE).toBe(0);
    expect(rule('/dev/null') & F.WRITE_FILE).toBe(F.WRITE_FILE);
    expect(rule(w.ws) & F.MAKE_REG).toBe(F.MAKE_REG);
  });

  it('mode A with $HOME beneath a private /tmp: $HOME carried over, its masks reported mount-only', async () => {
    const tmp = realpathSync('/tmp');
    const home = mkdtempSync(join(tmp, 'cordon-home-'));
    mkdirSync(join(home, '.ssh'));
    const saved = process.env.HOME;
    process.env.HOME = home;
    try {
      const plan = compileFilesystemPlan({ policy: await ww(), cwd: w.ws, probe: nsProbe, enforcement: 'strict', network: { mode: 'full' }, namespaces: true });
      expect(plan.privateTemp).toEqual([{ target: tmp, keep: [home], make: [], sizeMb: 1024 }]);
      const ssh = plan.report.protections.find((p) => p.what === `deny read+write ${join(home, '.ssh')}`);
      expect(ssh?.by).toEqual(['mount namespace (empty read-only tmpfs)']);
      expect(ssh?.gaps.some((g) => g.startsWith('mount-only'))).toBe(true);
      expect(plan.report.protections.find((p) => p.what === `private ${tmp} (the host's is never written)`)?.gaps).toEqual([`carried-over:${home}`]);
      // Control: with tmp: 'host' the same $HOME gets the Landlock layer.
      const host = compileFilesystemPlan({ policy: await ww(), cwd: w.ws, probe: nsProbe, enforcement: 'strict', network: { mode: 'full' }, namespaces: true, tmp: 'host' });
      expect(host.privateTemp).toEqual([]);
      expect(host.report.protections.find((p) => p.what === `deny read+write ${join(home, '.ssh')}`)?.by).toContain('landlock sibling grants (hold when the host replaces the path)');
    } finally {
      process.env.HOME = saved;
      rmSync(home, { recursive: true, force: true });
    }
  });

  it('mode B has no mounts and reports sibling grants', async () => {
    const plan = compileFilesystemPlan({ policy: await ww(), cwd: w.ws, probe, enforcement: 'strict', network: { mode: 'full' }, namespaces: false });
    expect(plan.mounts).toEqual([]);
    expect(plan.report.mode).toBe('landlock-only');
    expect(plan.report.protections.find((p) => p.what === `deny read+write ${join(w.home, '.ssh')}`)?.by).toEqual(['landlock sibling grants']);
  });

  it('DangerFullAccess: no filesystem rules; a net-only ruleset when the network is not full', async () => {
    const policy = await policyFrom({ type: 'danger_full_access' });
    const full = compileFilesystemPlan({ policy, cwd: w.ws, probe, enforcement: 'strict', network: { mode: 'full' }, namespaces: true });
    expect(full).toMatchObject({ rulesetFd: -1, mounts: [], missing: [], report: { mode: 'unrestricted' } });
    const none = compileFilesystemPlan({ policy, cwd: w.ws, probe, enforcement: 'strict', network: { mode: 'none' }, namespaces: true });
    expect(none.report.mode).toBe('unrestricted');
    expect(none.rulesetFd >= 0).toBe(probe.landlockAbi >= 4);
  });

  it('network allowlist reports the ports; none reports bind and connect denied', async () => {
    const a = compileFilesystemPlan({ policy: await ww(), cwd: w.ws, probe, enforcement: 'strict', network: { mode: 'allowlist', connectPorts: [8080, 443, 443] }, namespaces: false });
    expect(a.report.protections.find((p) => p.what.startsWith('tcp connect'))?.what).toBe('tcp connect only to ports 443, 8080');
    const n = compileFilesystemPlan({ policy: await ww(), cwd: w.ws, probe, enforcement: 'strict', network: { mode: 'none' }, namespaces: false });
    expect(n.report.protections.find((p) => p.what === 'tcp bind and connect denied')?.enforced).toBe(probe.landlockAbi >= 4);
  });

  it('a protected name that is a symlink inside a writable root: strict refuses, by name', async () => {
    mkdirSync(join(w.ws, 'decoy'));
    rmSync(join(w.ws, '.codex'), { recursive: true, force: true }); // a placeholder of an earlier plan
    symlinkSync('decoy', join(w.ws, '.codex'));
    try {
      const plan = compileFilesystemPlan({ policy: await ww(), cwd: w.ws, probe, enforcement: 'strict', network: { mode: 'full' }, namespaces: false });
      expect(plan.missing.join('\n')).toContain(`symlink-in-writable-root:${join(w.ws, '.codex')}`);
      expect(resolveGuarded(join(w.ws, '.codex'), [w.ws])).toMatchObject({ canonical: join(w.ws, 'decoy'), swappableLink: join(w.ws, '.codex') });
    } finally {
      rmSync(join(w.ws, '.codex'));
      rmSync(join(w.ws, 'decoy'), { recursive: true });
    }
  });

  it('missing protected metadata: a read-only placeholder in mode A, a frozen top level in mode B, creatable only when allowed', async () => {
    const fresh = () => realpathSync(mkdtempSync(join(w.base, 'meta-')));
    const policyFor = (root: string) => policyFrom({ type: 'workspace_write', writable_roots: [{ root }], exclude_slash_tmp: true, exclude_tmpdir_env_var: true });
    const plan = (root: string, namespaces: boolean, protectMissingMetadata?: 'placeholder' | 'freeze-top-level' | 'allow') =>
      policyFor(root).then((policy) =>
        compileFilesystemPlan({ policy, cwd: root, probe: nsProbe, enforcement: 'strict', network: { mode: 'full' }, namespaces, ...(protectMissingMetadata ? { protectMissingMetadata } : {}) }),
      );
    const a = fresh();
    const placeholder = await plan(a, true);
    expect(readdirSync(a).sort()).toEqual(['.agents', '.codex', '.git', '.vtcode']); // made on the host, empty
    expect(readdirSync(join(a, '.git'))).toEqual([]);
    expect(placeholder.mounts.find((m) => m.target === join(a, '.codex'))?.kind).toBe(MountKind.bindReadOnly);
    expect(placeholder.report.protections.find((p) => p.what === `read-only ${a}/.codex`)).toMatchObject({ enforced: true });
    expect(placeholder.missing).toEqual([]);
    const b = fresh();
    const modeB = await plan(b, false);
    expect(readdirSync(b)).toEqual([]); // mode B makes nothing: it freezes
    expect(modeB.report.protections.find((p) => p.what === `read-only ${b}/.codex`)).toMatchObject({ enforced: true, gaps: [`frozen-dir:${b}`] });
    const c = fresh();
    const frozen = await plan(c, true, 'freeze-top-level');
    expect(readdirSync(c)).toEqual([]);
    expect(frozen.report.frozenDirs).toEqual([c]);
    const d = fresh();
    const allowed = await plan(d, true, 'allow');
    expect(readdirSync(d)).toEqual([]);
    expect(allowed.report.protections.some((p) => p.what.startsWith(`read-only ${d}/`))).toBe(false);
    expect(allowed.report.protections.find((p) => p.what === 'writes only beneath writable roots')?.gaps).toContain(`protected-create-allowed:${d}/.git`);
    expect(allowed.missing).toEqual([]);
    // Strict mode never runs with a protection unenforced and unlisted.
    for (const p of [placeholder, modeB, frozen, allowed]) {
      for (const prot of p.report.protections) if (!prot.enforced) expect(p.missing.join('\n')).toContain(prot.what);
    }
  });

  it('caches per input, and rebuilds (closing the old ruleset) when a watched path changes', async () => {
    const input = { policy: await ww(), cwd: w.ws, probe, enforcement: 'strict' as const, network: { mode: 'full' as const }, namespaces: false };
    const a = compileFilesystemPlan(input);
    expect(compileFilesystemPlan(input)).toBe(a);
    // ~/.ssh is replaced: its inode changes, so the sibling grants must be recomputed.
    renameSync(join(w.home, '.ssh'), join(w.home, '.ssh-old'));
    mkdirSync(join(w.home, '.ssh'));
    try {
      const b = compileFilesystemPlan(input);
      expect(b).not.toBe(a);
      expect(a.rulesetFd).toBe(-1);
    } finally {
      rmSync(join(w.home, '.ssh'), { recursive: true });
      renameSync(join(w.home, '.ssh-old'), join(w.home, '.ssh'));
    }
  });

  it('rebuilds when a missing sensitive path appears, or a sibling-granted dir gains an entry; not otherwise', async () => {
    const input = { policy: await ww(), cwd: w.ws, probe, enforcement: 'strict' as const, network: { mode: 'full' as const }, namespaces: false };
    const a = compileFilesystemPlan(input);
    writeFileSync(join(w.ws, 'src', 'edited.txt'), 'not a watched path\n'); // the control: no rebuild
    expect(compileFilesystemPlan(input)).toBe(a);
    // A sensitive name that was missing (~/.gnupg): its ino stamp goes from -1 to a real one.
    mkdirSync(join(w.home, '.gnupg'));
    const b = compileFilesystemPlan(input);
    expect(b).not.toBe(a);
    expect(compileFilesystemPlan(input)).toBe(b);
    // $HOME has sibling grants (it holds ~/.ssh): a new entry there changes its mtime stamp.
    // Past the coarse timestamp tick, so the directory's mtime really moves.
    await new Promise((r) => setTimeout(r, 20));
    writeFileSync(join(w.home, 'new-dotfile'), '');
    try {
      const c = compileFilesystemPlan(input);
      expect(c).not.toBe(b);
      expect(c.rules.some((r) => r.path === join(w.home, 'new-dotfile'))).toBe(true);
    } finally {
      rmSync(join(w.home, 'new-dotfile'));
      rmSync(join(w.home, '.gnupg'), { recursive: true });
    }
  });

  it('a missing implicit $TMPDIR is skipped and reported, not a PolicyError', async () => {
    process.env.TMPDIR = join(w.base, 'no-such-tmpdir');
    try {
      const policy = await policyFrom({ type: 'workspace_write', writable_roots: [{ root: w.ws }], exclude_slash_tmp: true, exclude_tmpdir_env_var: false });
      const plan = compileFilesystemPlan({ policy, cwd: w.ws, probe, enforcement: 'strict', network: { mode: 'full' }, namespaces: false });
      expect(plan.report.protections[0]?.gaps.some((g) => g.startsWith('implicit-root-skipped:'))).toBe(true);
    } finally {
      delete process.env.TMPDIR;
    }
  });
});
