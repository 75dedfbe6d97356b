// A workspace at $HOME (T1.9): sensitive paths lie beneath a writable root. Existing ones are
// denied; missing ones (~/.kube, ~/.config/gh) must not be creatable (the tool planting
// credentials or ~/.ssh/authorized_keys), which Landlock does by freezing their nearest existing
// ancestor, and the report names that directory. Through the real spawn engine, both modes.

import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SandboxPolicy } from '../../src/index.js';
import { MODES, fsprobe, makeWorld, probeOnHost, probeOps, protection, type SandboxOptions, type World } from './harness.js';

describe.each(MODES)('workspace = $HOME, mode $name', ({ namespaces }) => {
  let w: World;
  let o: SandboxOptions;
  beforeAll(() => {
    fsprobe();
    w = makeWorld();
    process.env.HOME = w.home;
    mkdirSync(join(w.home, 'project'));
    const policy = SandboxPolicy.parse({ type: 'workspace_write', writable_roots: [{ root: w.home }], exclude_slash_tmp: true, exclude_tmpdir_env_var: true });
    o = { policy, cwd: w.home, namespaces };
  });
  afterAll(() => w.cleanup());

  it('missing sensitive paths cannot be created; the report names each and the frozen directory', async () => {
    const { got, run } = await probeOps(
      [`mkdir:${w.home}/.kube`, `createrm:${w.home}/.netrc`, `mkdir:${w.home}/.config`, `create:${w.home}/.ssh/authorized_keys`, `rename:${w.home}/project:${w.home}/.docker`],
      o,
    );
    expect(got.slice(0, 3)).toEqual(['EACCES', 'EACCES', 'EACCES']);
    // ~/.ssh exists: masked by an empty read-only mode-000 tmpfs in A, denied by Landlock in B.
    expect(namespaces ? ['EROFS', 'EACCES'] : ['EACCES']).toContain(got[3]);
    expect(got[4]).toBe('EACCES');
    expect(existsSync(join(w.home, '.kube'))).toBe(false);
    expect(existsSync(join(w.home, '.ssh', 'authorized_keys'))).toBe(false);
    const kube = protection(run.fs, `deny read+write ${w.home}/.kube`);
    expect(kube).toMatchObject({ enforced: true, by: ['landlock sibling grants (absent; creation blocked)'] });
    expect(kube?.gaps).toContain(`frozen-dir:${w.home}`);
    // ~/.config/gh: ~/.config is missing too, so the freeze lands on $HOME.
    expect(protection(run.fs, `deny read+write ${w.home}/.config/gh`)?.gaps).toContain(`frozen-dir:${w.home}`);
    expect(run.enforcement.missing).toEqual([]);
    // Control: on the host the same creations work.
    expect(probeOnHost([`mkdir:${w.home}/.kube`, `createrm:${w.home}/.netrc`], w.home)).toEqual(['OK', 'OK']);
    rmSync(join(w.home, '.kube'), { recursive: true });
  });

  it('controls: existing entries stay writable; nested creation works; top level is frozen (reported)', async () => {
    const { got } = await probeOps(
      [`write:${w.home}/.bashrc`, `create:${w.home}/project/new.txt`, `mkdir:${w.home}/project/sub`, `create:${w.home}/top.txt`],
      o,
    );
    expect(got).toEqual(['OK', 'OK', 'OK', 'EACCES']);
  });
});
