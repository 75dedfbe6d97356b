// The mount plan as one ordered list (src/mount-plan.ts): pure logic, checked without a kernel.
import { describe, expect, it } from 'vitest';
import { anchorsFor, buildMountPlan, type MountPlanInput } from '../../src/mount-plan.js';
import { MountKind } from '../../src/native-types.js';
import { READ, READ_WRITE } from '../../src/filesystem/access.js';

const KIND_NAMES = Object.fromEntries(Object.entries(MountKind).map(([name, n]) => [n, name]));
const shape = (ops: ReturnType<typeof buildMountPlan>) => ops.map((o) => `${KIND_NAMES[o.kind]} ${o.target}${o.slot !== undefined ? ` #${o.slot}` : ''}`);

const base: MountPlanInput = {
  readOnlyTree: true,
  writableRoots: ['/tmp/a/ws', '/srv/data'],
  anchors: ['/srv/data/config'],
  masks: [{ kind: MountKind.tmpfsMask, target: '/srv/data/config/secrets' }],
  socketMasks: [
    { kind: MountKind.tmpfsMask, target: '/tmp/.X11-unix', optional: true },
    { kind: MountKind.fileMask, target: '/run/docker.sock', source: '/dev/null', optional: true },
    { kind: MountKind.fileMask, target: '/tmp/a/ws/own.sock', source: '/dev/null', optional: true },
  ],
  deviceMounts: ['/dev'],
  privateShm: true,
  privateTemp: [{ target: '/tmp', keep: ['/tmp/a/ws'], make: ['/tmp/user/1000'], sizeMb: 64 }],
  proc: true,
  hostFlags: (p) => (p === '/srv/data' ? 1 : 0),
  landlockHandledFs: READ_WRITE,
};

describe('buildMountPlan', () => {
  it('lists every op in the documented order', () => {
    expect(shape(buildMountPlan(base))).toEqual([
      'readOnlyNoDevTree /',
      'allowDevices /dev',
      'bindWritable /srv/data',
      'bindWritable /tmp/a/ws',
      'bindSelf /srv/data/config',
      'tmpfsMask /srv/data/config/secrets',
      // /tmp/.X11-unix lies in the private /tmp (dropped); the workspace's socket is carried over.
      'fileMask /run/docker.sock',
      'fileMask /tmp/a/ws/own.sock',
      'tmpfs /dev/shm',
      'detach /tmp/a/ws #0',
      'tmpfs /tmp',
      'makeDir /tmp/a',
      'makeDir /tmp/a/ws',
      'makeDir /tmp/user',
      'makeDir /tmp/user/1000',
      'attach /tmp/a/ws #0',
      'proc /proc',
      'readOnlyTree /proc',
    ]);
  });

  it('keeps a root the host mounted read-only read-only, bounds the temp dir, and grants fresh mounts within the handled rights', () => {
    const ops = buildMountPlan({ ...base, landlockHandledFs: READ });
    expect(ops.find((o) => o.target === '/srv/data')?.preservedFlags).toBe(1);
    expect(ops.find((o) => o.kind === MountKind.tmpfs && o.target === '/tmp')).toMatchObject({ data: 'mode=1777,size=64m', landlockAccess: READ });
    expect(ops.find((o) => o.kind === MountKind.proc)?.landlockAccess).toBe(READ);
    expect(ops.find((o) => o.target === '/tmp/user/1000')?.mode).toBe(0o700); // $TMPDIR, made private
    expect(ops.find((o) => o.target === '/tmp/user')?.mode).toBe(0o755);
    // No Landlock: no rights to grant.
    expect(buildMountPlan({ ...base, landlockHandledFs: 0 }).every((o) => !o.landlockAccess)).toBe(true);
  });

  it('without a usable device mount the tree is read-only but not nodev; without mount_setattr there is no tree op at all', () => {
    expect(shape(buildMountPlan({ ...base, deviceMounts: null })).slice(0, 2)).toEqual(['readOnlyTree /', 'bindWritable /srv/data']);
    const old = shape(buildMountPlan({ ...base, readOnlyTree: false }));
    expect(old.some((o) => o.startsWith('readOnly') && o.endsWith(' /'))).toBe(false);
    expect(old.at(-1)).toBe('proc /proc');
  });

  it('every detached copy is attached again, in its own slot', () => {
    const ops = buildMountPlan({ ...base, privateTemp: [{ target: '/tmp', keep: ['/tmp/a', '/tmp/b/c'], make: [], sizeMb: 8 }] });
    const detached = ops.filter((o) => o.kind === MountKind.detach).map((o) => o.slot);
    const attached = ops.filter((o) => o.kind === MountKind.attach).map((o) => o.slot);
    expect(detached).toEqual([0, 1]);
    expect(attached).toEqual([0, 1]);
    expect(ops.findIndex((o) => o.kind === MountKind.attach)).toBeGreaterThan(ops.findIndex((o) => o.kind === MountKind.tmpfs && o.target === '/tmp'));
  });
});

describe('anchorsFor', () => {
  it('names the directories between a root and a protected path beneath it, and between nested roots', () => {
    expect(anchorsFor(['/w'], ['/w/a/b/secret', '/w/.git']).sort()).toEqual(['/w/a', '/w/a/b']);
    expect(anchorsFor(['/w', '/w/x/y/inner'], ['/w/x/y/inner/.git']).sort()).toEqual(['/w/x', '/w/x/y']);
    expect(anchorsFor(['/w'], ['/elsewhere/secret'])).toEqual([]); // outside every root: read-only by the tree
  });
});
