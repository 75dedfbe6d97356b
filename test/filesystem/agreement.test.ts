// Agreement (T1.11): for a generated set of paths, what the policy answers (isPathReadable /
// isPathWritable) equals what a child sandboxed by the real spawn engine can actually do. The policy is asked about the
// canonical path (the kernel acts on the file a symlink leads to); a read counts when the
// file's content comes back. The only disagreements
// allowed are the ones the enforcement report names: a frozen directory in mode B (the kernel is
// stricter) and a protected metadata name absent at spawn (the kernel is looser, reported as
// protected-create-not-blocked).

import { existsSync, mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWithin } from '../../src/filesystem/index.js';
import { SandboxPolicy } from '../../src/index.js';
import { MODES, fsprobe, makeWorld, probeOps, type World } from './harness.js';

let w: World;
let slashTmp: string;
let tmpdirEnv: string;
let extra: string;

beforeAll(() => {
  fsprobe();
  w = makeWorld();
  process.env.HOME = w.home;
  slashTmp = mkdtempSync('/tmp/cordon-agree-');
  tmpdirEnv = mkdtempSync('/var/tmp/cordon-agree-tmpdir-');
  extra = join(w.base, 'extra');
  mkdirSync(extra);
  for (const d of [slashTmp, tmpdirEnv, extra]) writeFileSync(join(d, 't.txt'), 't\n');
  symlinkSync(join(w.home, '.ssh', 'id_rsa'), join(w.ws, 'key-link'));
  symlinkSync(join(w.outside, 'file.txt'), join(w.ws, 'out-link'));
  symlinkSync(w.outside, join(w.ws, 'out-dir-link'));
  symlinkSync(join(w.home, '.ssh'), join(extra, 'ssh-link'));
  process.env.TMPDIR = tmpdirEnv;
});
afterAll(() => {
  delete process.env.TMPDIR;
  rmSync(slashTmp, { recursive: true, force: true });
  rmSync(tmpdirEnv, { recursive: true, force: true });
  w.cleanup();
});

function existing(): string[] {
  return [
    `${w.ws}/src/a.txt`, `${w.ws}/README.md`, `${w.ws}/.git/config`, `${w.ws}/.git/HEAD`,
    `${w.home}/.ssh/id_rsa`, `${w.home}/.aws/credentials`, `${w.home}/.npmrc`, `${w.home}/.bashrc`,
    `${w.outside}/file.txt`, `${extra}/t.txt`, `${slashTmp}/t.txt`, `${tmpdirEnv}/t.txt`,
    `${w.ws}/key-link`, `${w.ws}/out-link`, `${w.ws}/out-dir-link/file.txt`, `${extra}/ssh-link/id_rsa`, '/etc/hostname',
  ];
}
function missingPaths(): string[] {
  return [
    `${w.ws}/new.txt`, `${w.ws}/src/new.txt`, `${w.ws}/.git/new`, `${w.ws}/.git/hooks/pre-commit`, `${w.ws}/.codex`,
    `${w.home}/.ssh/authorized_keys`, `${w.home}/new`, `${w.outside}/new`, `${extra}/new`, `${slashTmp}/new`,
    `${tmpdirEnv}/new`, `${w.ws}/out-dir-link/new`, `${extra}/ssh-link/new`,
  ];
}
const canonical = (p: string): string => {
  try {
    return realpathSync(p);
  } catch {
    return join(realpathSync(dirname(p)), basename(p));
  }
};

const combos = [
  { exclude_slash_tmp: false, exclude_tmpdir_env_var: false },
  { exclude_slash_tmp: true, exclude_tmpdir_env_var: false },
  { exclude_slash_tmp: false, exclude_tmpdir_env_var: true },
  { exclude_slash_tmp: true, exclude_tmpdir_env_var: true },
];
const cases = MODES.flatMap(({ namespaces }) => [
  ...combos.map((flags) => ({ namespaces, kind: 'workspace_write' as const, ...flags })),
  { namespaces, kind: 'read_only' as const, exclude_slash_tmp: false, exclude_tmpdir_env_var: false },
]);

describe.each(cases)('agreement: $kind, slash_tmp excluded $exclude_slash_tmp, TMPDIR excluded $exclude_tmpdir_env_var, namespaces $namespaces', (c) => {
  it('policy answers equal kernel behaviour, except for differences the report names', async () => {
    const policy = SandboxPolicy.parse(
      c.kind === 'read_only'
        ? { type: 'read_only' }
        : { type: 'workspace_write', writable_roots: [{ root: w.ws }, { root: extra }], exclude_slash_tmp: c.exclude_slash_tmp, exclude_tmpdir_env_var: c.exclude_tmpdir_env_var },
    );
    const ex = existing();
    const mi = missingPaths();
    const ops = [...ex.map((p) => `content:${p}`), ...ex.map((p) => `openw:${p}`), ...mi.map((p) => `createrm:${p}`)];
    const { got, run } = await probeOps(ops, { policy, cwd: w.ws, namespaces: c.namespaces, enforcement: 'best-effort' });
    const frozen = run.fs.protections.flatMap((p) => p.gaps).filter((g) => g.startsWith('frozen-dir:')).map((g) => g.slice('frozen-dir:'.length));
    const unblocked = run.fs.protections.filter((p) => p.gaps.includes('protected-create-not-blocked')).map((p) => p.what.replace(/^read-only /, ''));
    // Mode A, WorkspaceWrite: /tmp and $TMPDIR are fresh dirs of the sandbox's own (reported), so
    // the host's files there are out of sight and writes land in the sandbox's copy, whatever the
    // exclusion flags say; only what is carried over (the workspace, $HOME) is the host's.
    const privateTemp = run.fs.protections
      .filter((p) => /^private \S+ \(the host's is never written\)$/.test(p.what))
      .map((p) => ({ dir: p.what.split(' ')[1]!, kept: p.gaps.filter((g) => g.startsWith('carried-over:')).map((g) => g.slice('carried-over:'.length)) }));
    const inPrivateTemp = (p: string): boolean => privateTemp.some((t) => isWithin(p, t.dir) && !t.kept.some((k) => isWithin(p, k)));
    expect(privateTemp.length > 0).toBe(c.namespaces && c.kind === 'workspace_write');
    const disagreements: string[] = [];
    ops.forEach((op, i) => {
      const [kind, path] = [op.slice(0, op.indexOf(':')), op.slice(op.indexOf(':') + 1)];
      const cp = canonical(path);
      const policySays = kind === 'content' ? policy.isPathReadable(cp) : policy.isPathWritable(cp, w.ws);
      // A read counts when the file's content comes back: root opens a 0000 file mask, but it is empty.
      const kernelSays = kind === 'content' ? (got[i] ?? '').startsWith('OK:') && (got[i] ?? '').length > 3 : got[i] === 'OK';
      if (inPrivateTemp(cp)) {
        // The host's content never comes back, and nothing is written to the host's dir.
        if (kind === 'content' && kernelSays) disagreements.push(`${op}: host content read from a private temp dir`);
        return;
      }
      if (policySays === kernelSays) return;
      const parent = dirname(cp);
      if (policySays && !kernelSays && kind === 'createrm' && frozen.includes(parent)) return; // reported: frozen-dir
      if (!policySays && kernelSays && kind === 'createrm' && unblocked.includes(cp)) return; // reported: protected-create-not-blocked
      disagreements.push(`${op}: policy ${policySays ? 'allows' : 'denies'}, kernel ${got[i]}`);
    });
    expect(disagreements).toEqual([]);
    // And the generated set really exercises both answers on both sides.
    expect(got.filter((g) => g.startsWith('OK')).length).toBeGreaterThan(5);
    expect(got.filter((g) => !g.startsWith('OK')).length).toBeGreaterThan(5);
    // TMPDIR and /tmp writability follow the exclusion flags.
    if (c.kind === 'workspace_write' && c.namespaces) {
      // The host's temp dirs are never written; the sandbox's own are (control: /tmp itself).
      expect(existsSync(join(slashTmp, 'new')) || existsSync(join(tmpdirEnv, 'new'))).toBe(false);
      const own = await probeOps(['createrm:/tmp/own', `createrm:${tmpdirEnv}/own`], { policy, cwd: w.ws, namespaces: true });
      expect(own.got).toEqual(['OK', 'OK']);
      expect(existsSync('/tmp/own') || existsSync(join(tmpdirEnv, 'own'))).toBe(false);
    } else if (c.kind === 'workspace_write') {
      const denied = c.namespaces ? ['EACCES', 'EROFS'] : ['EACCES'];
      expect(c.exclude_slash_tmp ? denied : ['OK']).toContain(got[ops.indexOf(`createrm:${slashTmp}/new`)]);
      expect(c.exclude_tmpdir_env_var ? denied : ['OK']).toContain(got[ops.indexOf(`createrm:${tmpdirEnv}/new`)]);
      expect(policy.getWritableRootsWithCwd(w.ws).some((r) => isWithin(slashTmp, r.root))).toBe(!c.exclude_slash_tmp);
    }
  });
});

describe.each(MODES)('TMPDIR given as a symlink alias, mode $name', ({ namespaces }) => {
  it('is canonicalised: writes through the alias and the real path both work', async () => {
    const alias = join(w.base, `tmp-alias-${namespaces}`);
    symlinkSync(tmpdirEnv, alias);
    process.env.TMPDIR = alias;
    try {
      const policy = SandboxPolicy.parse({ type: 'workspace_write', writable_roots: [{ root: w.ws }], exclude_slash_tmp: true, exclude_tmpdir_env_var: false });
      const { got } = await probeOps([`createrm:${alias}/x`, `createrm:${tmpdirEnv}/y`, `createrm:${w.outside}/z`], { policy, cwd: w.ws, namespaces });
      expect(got.slice(0, 2)).toEqual(['OK', 'OK']);
      expect(namespaces ? ['EACCES', 'EROFS'] : ['EACCES']).toContain(got[2]);
    } finally {
      process.env.TMPDIR = tmpdirEnv;
    }
  });
});
