// Issue #9: no setuid/setgid file can be made in a writable root. Inside the sandbox
// no_new_privs already ignores the bits, but the host (or a later unsandboxed build step) would
// run such a file with the owner's privileges — root's, when the caller is root. The strict
// seccomp profile refuses the bits wherever a mode is given:
//   chmod, fchmod, fchmodat, fchmodat2                          S_ISUID|S_ISGID → EPERM
//   open, openat with O_CREAT or O_TMPFILE; creat; mknod, mknodat  S_ISUID|S_ISGID → EPERM
//   openat2: its mode lives in struct open_how, which BPF cannot read → ENOSYS for every call,
//   so callers fall back to openat (as clone3 → clone)
// Controls: plain modes (chmod +x, a new 0755 file) work in the sandbox, and unsandboxed every
// method creates the setuid file.
import { mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { SandboxPolicy } from '../../src/index.js';
import { tempDir } from '../helpers/process.js';
import { MODES, probeIn, probeUnsandboxed } from './probe.js';

const ws = tempDir('cordon-escape-setid-');
afterAll(() => ws.cleanup());

// The x86_64-only syscalls (aarch64 has only the *at forms) are left out elsewhere.
const METHODS = ['openat', 'mknodat', 'tmpfile', ...(process.arch === 'x64' ? ['open', 'creat', 'mknod'] : [])];
const SETID_MODES = ['4755', '2755', '6755', '4000'];
const modeOf = (file: string): string => (statSync(file).mode & 0o7777).toString(8);
let n = 0;
const fresh = (dir: string): string => join(dir, `f${n++}`);

test('control: unsandboxed, every method creates a setuid/setgid file', () => {
  for (const how of [...METHODS, 'openat2']) {
    for (const mode of SETID_MODES) {
      const file = fresh(ws.dir);
      expect([how, mode, probeUnsandboxed(['create', how, file, mode])]).toEqual([how, mode, 'OK']);
      expect([how, mode, modeOf(file)]).toEqual([how, mode, mode]);
    }
  }
});

describe.each(MODES)('%s', (mode) => {
  const dir = join(ws.dir, mode);
  // Files go one level down: without namespaces the workspace's top level is frozen for its
  // missing .git (and .codex, ...), which the sandbox must not create.
  const sub = join(dir, 'sub');
  mkdirSync(sub, { recursive: true });
  const workspace = SandboxPolicy.workspaceWrite([dir]);
  const o = { cwd: dir, mode };

  test('WorkspaceWrite: creating with S_ISUID/S_ISGID is refused (EPERM) and leaves no file', async () => {
    for (const how of METHODS) {
      for (const m of SETID_MODES) {
        const file = fresh(sub);
        expect([how, m, await probeIn(workspace, ['create', how, file, m], o)]).toEqual([how, m, 'EPERM']);
        expect(() => statSync(file)).toThrow(/ENOENT/);
      }
    }
  });

  test('WorkspaceWrite: openat2 is ENOSYS whatever the mode (its mode is out of BPF reach)', async () => {
    for (const m of ['4755', '0644']) {
      expect([m, await probeIn(workspace, ['create', 'openat2', fresh(sub), m], o)]).toEqual([m, 'ENOSYS']);
    }
  });

  test('WorkspaceWrite controls: plain modes create files; chmod +x works, chmod u+s does not', async () => {
    for (const how of METHODS) {
      const file = fresh(sub);
      expect([how, await probeIn(workspace, ['create', how, file, '0755'], o)]).toEqual([how, 'OK']);
      expect([how, modeOf(file)]).toEqual([how, '755']);
    }
    const file = fresh(sub);
    expect(await probeIn(workspace, ['create', 'openat', file, '0644'], o)).toBe('OK');
    expect(await probeIn(workspace, ['chmod-setuid', file], o)).toBe('EPERM');
    expect(await probeIn(workspace, ['chmod-plusx', file], o)).toBe('OK');
    expect(modeOf(file)).toBe('755');
  });

  test('ReadOnly: the setid create is refused by seccomp (EPERM), before the write itself is', async () => {
    const readOnly = SandboxPolicy.readOnly();
    // Any write: EROFS from the read-only mount tree (mount namespace) or EACCES from Landlock.
    const writeRefused = mode === 'pidns' ? 'EROFS' : 'EACCES';
    for (const how of METHODS) {
      expect([how, await probeIn(readOnly, ['create', how, fresh(sub), '4755'], o)]).toEqual([how, 'EPERM']);
      expect([how, await probeIn(readOnly, ['create', how, fresh(sub), '0755'], o)]).toEqual([how, writeRefused]);
    }
  });
});
