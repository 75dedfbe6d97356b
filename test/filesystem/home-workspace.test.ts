// A workspace at $HOME (T1.9): sensitive paths lie beneath a writable root. Existing ones are
// denied; missing ones (~/.kube, ~/.config/gh) must not be creatable (the tool planting
// credentials or ~/.ssh/authorized_keys), which Landlock does by freezing their nearest existing
// ancestor, and the report names that directory.

import { mkdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { clearFilesystemPlanCache, compileFilesystemPlan, type FilesystemPlan } from '../../src/filesystem/index.js';
import { helpers, makeWorld, probe, probeOps, type World } from './harness.js';
import { policyFrom } from './policy.js';

const modes = [false, ...(probe.mountNamespace ? [true] : [])];

describe.each(modes)('workspace = $HOME (namespaces: %s)', (namespaces) => {
  let w: World;
  let plan: FilesystemPlan;
  beforeAll(async () => {
    helpers();
    w = makeWorld();
    process.env.HOME = w.home;
    mkdirSync(join(w.home, 'project'));
    const policy = await policyFrom({ type: 'workspace_write', writable_roots: [{ root: w.home }], exclude_slash_tmp: true, exclude_tmpdir_env_var: true });
    plan = compileFilesystemPlan({ policy, cwd: w.home, probe, enforcement: 'strict', network: { mode: 'full' }, namespaces });
  });
  afterAll(() => {
    clearFilesystemPlanCache();
    w.cleanup();
  });

  it('missing sensitive paths cannot be created; the report names each and the frozen directory', async () => {
    const got = await probeOps(
      plan,
      [`mkdir:${w.home}/.kube`, `createrm:${w.home}/.netrc`, `mkdir:${w.home}/.config`, `create:${w.home}/.ssh/authorized_keys`, `rename:${w.home}/project:${w.home}/.docker`],
      w.home,
    );
    expect(got.slice(0, 3)).toEqual(['EACCES', 'EACCES', 'EACCES']);
    expect(namespaces ? ['EROFS', 'EACCES', 'ENOENT'] : ['EACCES']).toContain(got[3]);
    expect(got[4]).toBe('EACCES');
    expect(existsSync(join(w.home, '.kube'))).toBe(false);
    const kube = plan.report.protections.find((p) => p.what === `deny read+write ${w.home}/.kube`);
    expect(kube).toMatchObject({ enforced: true, by: ['landlock sibling grants (absent; creation blocked)'] });
    expect(kube?.gaps).toContain(`frozen-dir:${w.home}`);
    // ~/.config/gh: ~/.config is missing too, so the freeze lands on $HOME.
    const gh = plan.report.protections.find((p) => p.what === `deny read+write ${w.home}/.config/gh`);
    expect(gh?.gaps).toContain(`frozen-dir:${w.home}`);
    expect(plan.missing).toEqual([]);
  });

  it('controls: existing entries stay writable; nested creation works; top level is frozen (reported)', async () => {
    const got = await probeOps(
      plan,
      [`write:${w.home}/.bashrc`, `create:${w.home}/project/new.txt`, `mkdir:${w.home}/project/sub`, `create:${w.home}/top.txt`],
      w.home,
    );
    expect(got).toEqual(['OK', 'OK', 'OK', 'EACCES']);
  });
});
