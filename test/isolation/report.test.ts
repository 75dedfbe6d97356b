// enforcement.isolation names every escape class for every child: on this machine all hold in
// mode A; mode B names exactly the ones it leaves open; the unconfining variants claim nothing
// they do not do.
import { describe, expect, it } from 'vitest';
import { execSandboxed, probeKernel, SandboxPolicy } from '../../src/index.js';
import { tempDir } from '../helpers/process.js';

const CLASSES = [
  'unix-pathname-sockets',
  'metadata-outside-writable-roots',
  'protected-dir-replacement',
  'other-syscall-abis',
  'socket-protocols',
  'host-processes',
  'inherited-fds',
  'sysv-ipc',
  'posix-shm',
  'keyrings',
  'setuid-bits',
  'kernel-settings',
];
const probe = probeKernel();
const namespacesWork = probe.namespaces.mount && probe.namespaces.pid && (probe.isRoot || probe.namespaces.user);

async function isolation(policy: SandboxPolicy, namespaces: boolean, enforcement: 'strict' | 'best-effort' = 'strict') {
  const ws = tempDir();
  try {
    const r = await execSandboxed('true', [], { policy, cwd: ws.dir, namespaces, enforcement });
    expect(r.exitCode).toBe(0);
    return new Map((r.enforcement.isolation ?? []).map((c) => [c.class, c]));
  } finally {
    ws.cleanup();
  }
}

describe('enforcement.isolation', () => {
  it.runIf(namespacesWork)('mode A: every class is listed and enforced, ReadOnly and WorkspaceWrite', async () => {
    for (const policy of [SandboxPolicy.readOnly(), SandboxPolicy.workspaceWrite([])]) {
      const classes = await isolation(policy, true);
      expect([...classes.keys()].sort()).toEqual([...CLASSES].sort());
      for (const [name, c] of classes) expect(c.enforced, name).toBe(true);
    }
  });

  it('mode B: metadata, /dev/shm stay open and say so; strict refuses AF_UNIX instead of leaving sockets open', async () => {
    const strict = await isolation(SandboxPolicy.workspaceWrite([]), false);
    const open = [...strict.values()].filter((c) => !c.enforced).map((c) => c.class).sort();
    expect(open).toEqual(['metadata-outside-writable-roots', 'posix-shm']);
    expect(strict.get('host-processes')?.gaps.join()).toMatch(/cmdline/);
    expect(strict.get('sysv-ipc')?.by.join()).toMatch(/seccomp/);
    const be = await isolation(SandboxPolicy.workspaceWrite([]), false, 'best-effort');
    expect(be.get('unix-pathname-sockets')?.enforced).toBe(probe.landlock.abi >= 9);
  });

  it('DangerFullAccess claims only what every child gets (fd hygiene, no_new_privs)', async () => {
    const classes = await isolation(SandboxPolicy.fullAccess(), true);
    const held = [...classes.values()].filter((c) => c.enforced).map((c) => c.class).sort();
    expect(held).toEqual(['inherited-fds', 'setuid-bits']);
    expect(classes.get('setuid-bits')?.gaps.length).toBeGreaterThan(0);
  });
});
