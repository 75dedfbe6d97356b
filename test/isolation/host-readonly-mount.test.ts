// A writable root on a mount the host made read-only stays read-only in the sandbox: the
// child re-binds writable roots and clears the read-only attribute its read-only tree gave them,
// which a root caller (no user namespace, so no locked flags) could otherwise do to the host's
// own read-only mounts. Setting up a read-only mount needs root.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execSandboxed, SandboxPolicy } from '../../src/index.js';
import { isRoot, tempDir } from '../helpers/process.js';

describe.runIf(isRoot)('host read-only mounts', () => {
  const base = tempDir('cordon-romount-');
  const ro = join(base.dir, 'ro');
  const rw = join(base.dir, 'rw');
  beforeAll(() => {
    mkdirSync(ro);
    mkdirSync(rw);
    execFileSync('mount', ['--bind', ro, ro]);
    execFileSync('mount', ['-o', 'remount,bind,ro', ro]);
  });
  afterAll(() => {
    execFileSync('umount', [ro]);
    base.cleanup();
  });

  it('stay read-only when they are writable roots; a read-write root beside them is writable', async () => {
    // Control: the host cannot write there either, and the rw root is writable as usual.
    expect(() => writeFileSync(join(ro, 'host'), 'x')).toThrow(/EROFS/);
    const policy = SandboxPolicy.workspaceWrite([ro, rw]);
    const r = await execSandboxed('sh', ['-c', `touch ${ro}/x; echo ro=$?; touch ${rw}/x; echo rw=$?`], { policy, cwd: rw });
    expect(String(r.stdout)).toBe('ro=1\nrw=0\n');
    expect(String(r.stderr)).toMatch(/Read-only file system/);
  });
});
