// Every Landlock downgrade path (T0.1), on this one kernel, by capping the ABI of the real spawn
// engine (landlockAbiCap): for each cap and mode, strict refuses exactly what the report says is
// missing (with the typed error), and the best-effort run's report matches what the child can
// actually do. Mode A also has the mount namespace: where its read-only tree (reported under
// enforcement.isolation) refuses a write that Landlock no longer does, the kernel may be
// stricter than the filesystem report, never looser.

import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnforcementError, SandboxPolicy } from '../../src/index.js';
import { handledAccessFs } from '../../src/filesystem/index.js';
import { DENIED, MODES, fsprobe, kernel, makeWorld, probeOnHost, probeOps, protection, sandboxed, type Run, type SandboxOptions, type World } from './harness.js';

const caps = [0, 1, 2, 3, 4, 5, 6, 7].filter((c) => c <= kernel.landlock.abi);

function readOnlyTree(run: Run): boolean {
  return run.enforcement.isolation?.find((c) => c.class === 'metadata-outside-writable-roots')?.enforced === true;
}

describe.each(MODES.flatMap((m) => caps.map((cap) => ({ cap, ...m }))))('Landlock ABI capped to $cap, mode $name', ({ cap, namespaces }) => {
  let w: World;
  let o: SandboxOptions;
  let strict: SandboxOptions;
  const A = namespaces;
  const has = (run: Run, what: string): boolean | undefined => protection(run.fs, what)?.enforced;

  beforeAll(() => {
    fsprobe();
    w = makeWorld();
    process.env.HOME = w.home;
    const policy = SandboxPolicy.parse({ type: 'workspace_write', writable_roots: [{ root: w.ws }], exclude_slash_tmp: true, exclude_tmpdir_env_var: true });
    strict = { policy, cwd: w.ws, namespaces, landlockAbiCap: cap };
    o = { ...strict, enforcement: 'best-effort' };
  });
  afterAll(() => w.cleanup());

  it('reports the capped ABI and the matching mode; strict refuses (typed) iff something is missing', async () => {
    const run = await sandboxed('/bin/true', [], o);
    expect(run.exitCode).toBe(0);
    expect(run.fs.landlockAbi).toBe(cap);
    expect(run.fs.mode).toBe(cap === 0 ? (A ? 'mountns-only' : 'none') : A ? 'landlock+mountns' : 'landlock-only');
    // Truncation outside the roots needs ABI 3: below it the report names it missing.
    expect(run.enforcement.missing.some((m) => m.startsWith('no truncation outside writable roots'))).toBe(cap < 3);
    expect(run.enforcement.missing.length === 0).toBe(cap >= 3);
    const refused = await sandboxed('/bin/true', [], strict).catch((e: unknown) => e);
    if (cap >= 3) {
      expect(refused).toMatchObject({ exitCode: 0 });
    } else {
      expect(refused).toBeInstanceOf(EnforcementError);
      expect((refused as EnforcementError).code).toBe('ERR_CORDON_NOT_ENFORCEABLE');
      expect((refused as EnforcementError).missing).toEqual(run.enforcement.missing);
    }
  });

  it('writes outside the roots: denied where the report says enforced; Landlock-only follows the cap exactly', async () => {
    const { got, run } = await probeOps([`create:${w.outside}/new`, `create:${w.ws}/src/new`], o);
    const enforced = has(run, 'writes only beneath writable roots');
    expect(enforced).toBe(cap > 0);
    if (A) expect(cap > 0 || readOnlyTree(run) ? DENIED : ['OK']).toContain(got[0]);
    else expect(got[0]).toBe(cap > 0 ? 'EACCES' : 'OK');
    expect(got[1]).toBe('OK');
    // Control: the outside dir is writable without the sandbox.
    expect(probeOnHost([`createrm:${w.outside}/host`], w.ws)).toEqual(['OK']);
  });

  it('truncation outside the roots: denied iff ABI >= 3 (or the read-only tree), reported accordingly', async () => {
    const { got, run } = await probeOps([`trunc:${w.outside}/file.txt`, `trunc:${w.ws}/src/a.txt`], o);
    expect(has(run, 'no truncation outside writable roots')).toBe(cap >= 3);
    if (A) expect(cap >= 3 || readOnlyTree(run) ? DENIED : ['OK']).toContain(got[0]);
    else expect(got[0]).toBe(cap >= 3 ? 'EACCES' : 'OK');
    expect(got[1]).toBe('OK');
  });

  it('cross-directory rename inside the workspace: EXDEV at ABI 1 (reported), works from ABI 2', async () => {
    // Within src/ (mode B freezes the workspace top level because of the protected .git).
    const { got, run } = await probeOps([`mkdir:${w.ws}/src/sub`, `rename:${w.ws}/src/a.txt:${w.ws}/src/sub/a.txt`, `rename:${w.ws}/src/sub/a.txt:${w.ws}/src/a.txt`], o);
    const gaps = protection(run.fs, 'writes only beneath writable roots')?.gaps ?? [];
    expect(got[0]).toBe('OK');
    expect(got[1]).toBe(cap === 1 ? 'EXDEV' : 'OK');
    expect(gaps.includes('cross-directory-rename-denied')).toBe(cap === 1);
  });

  it('handled rights follow the ABI (REFER 2, TRUNCATE 3, IOCTL_DEV 5), and the report names the ioctl gap', async () => {
    const F = handledAccessFs(cap);
    expect((F & (1 << 13)) !== 0).toBe(cap >= 2);
    expect((F & (1 << 14)) !== 0).toBe(cap >= 3);
    expect((F & (1 << 15)) !== 0).toBe(cap >= 5);
    const run = await sandboxed('/bin/true', [], o);
    const gaps = protection(run.fs, 'writes only beneath writable roots')?.gaps ?? [];
    expect(gaps.includes('device-ioctl-unrestricted')).toBe(cap >= 1 && cap < 5);
  });

  it('signals to the host: refused iff the signal scope (ABI 6) is reported, or the host is invisible (pid namespace)', async () => {
    // In mode A the sandbox has its own pid namespace: the host's pid does not exist there, and
    // pid 1 is the probe itself (the control).
    const { got, run } = await probeOps([`kill0:${process.pid}`, A ? 'kill0:1' : 'kill0:0'], o);
    expect(has(run, 'signals only to processes inside the sandbox')).toBe(cap >= 6);
    if (A) expect(cap >= 6 ? ['EPERM', 'ESRCH'] : ['ESRCH']).toContain(got[0]);
    else expect(got[0]).toBe(cap >= 6 ? 'EPERM' : 'OK');
    expect(got[1]).toBe('OK');
  });

  it('protected .git and sensitive reads hold in every Landlock mode and in mode A; ABI 0 without namespaces reports them missing', async () => {
    const key = join(w.home, '.ssh', 'id_rsa');
    const { got, run } = await probeOps([`openw:${w.ws}/.git/config`, `read:${key}`, `openw:${w.ws}/src/a.txt`, `read:${join(w.home, '.bashrc')}`], o);
    const git = protection(run.fs, `read-only ${w.ws}/.git`);
    const ssh = protection(run.fs, `deny read+write ${join(w.home, '.ssh')}`);
    expect(got.slice(2)).toEqual(['OK', 'OK']);
    if (A) {
      expect(DENIED).toContain(got[0]);
      expect(['ENOENT', 'EACCES']).toContain(got[1]);
      expect(git?.enforced).toBe(true);
      expect(ssh?.enforced).toBe(true);
    } else if (cap > 0) {
      expect(got.slice(0, 2)).toEqual(['EACCES', 'EACCES']);
      // Below ABI 3 an O_TRUNC open would still truncate: not fully read-only.
      expect(git?.enforced).toBe(cap >= 3);
      expect(ssh?.enforced).toBe(cap >= 3);
    } else {
      expect(got.slice(0, 2)).toEqual(['OK', 'OK']);
      expect(git?.enforced).toBe(false);
      expect(ssh?.enforced).toBe(false);
      expect(run.enforcement.missing).toEqual(expect.arrayContaining([expect.stringContaining(`read-only ${w.ws}/.git`)]));
    }
  });
});
