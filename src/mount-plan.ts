// The sandbox's mount plan (mode A): every mount operation the child applies, in the order it
// applies them, assembled here and nowhere else. The child (native/child.cc, step 8; native/mounts.cc applies the ops) runs the
// list as given, in its private mount namespace, before Landlock (a landlocked task may not
// mount); a standby runs it ahead of the command.
//
// The world it builds, and why each op sits where it does:
//  1 read-only tree    every mount the host made becomes read-only and nodev (mount_setattr,
//                      recursive): whatever follows that makes something writable is a narrower
//                      exception, and no device node opens anywhere (a root caller owns every
//                      node, /dev/sda included, and nodes lie about in container images too)...
//  1b devices          ...but on the mounts holding the device files the sandbox may use (the
//                      host's /dev, /dev/pts for its own terminal), where Landlock grants them
//                      by name: no block device, no other terminal, no /dev/kvm opens there
//  2 writable roots    each root bound onto itself read-write, nosuid, nodev, parents first so a
//                      nested root's bind lands on its parent's; a mountpoint cannot be renamed
//                      or removed (EBUSY), so no sandbox can move a root away and re-create it
//  3 anchors           each directory between a writable root and a protected or masked path
//                      beneath it, bound onto itself (a mountpoint, EBUSY): renaming
//                      `root/config` away would carry `root/config/secrets` out from under its
//                      path, where the next run's plan no longer masks it. After 2 (they sit in
//                      the roots' read-write mounts and keep their flags), before 4 (the masks
//                      then lie on top of them)
//  4 masks             the filesystem planner's: protected dirs (.git, ...) bound read-only, an
//                      empty read-only tmpfs over sensitive dirs, an empty 0000 file over
//                      sensitive files; parents first
//  5 socket masks      the host's unix sockets and socket dirs (isolation.ts); those a private
//                      /tmp hides anyway are left out
//  6 /dev/shm          a private tmpfs over the host's POSIX shared memory
//  7 private temp      a fresh size-bounded tmpfs over /tmp (and $TMPDIR), carrying over the
//                      writable roots, the cwd and $HOME that lie beneath it (with the masks
//                      1-5 put on them: the copies are recursive)
//  8 /proc             a fresh procfs (the pid namespace's), last so no mask hides it, then
//                      read-only as a whole (/proc/sys, sysrq-trigger)
//
// Landlock and fresh file systems: the ruleset is built by the parent before these exist, and
// Landlock's walk skips the directory a mount covers, so the host's /tmp rule says nothing about
// a tmpfs on /tmp. Each op that mounts something fresh the sandbox must use carries the rights
// the child grants beneath it once mounted (landlockAccess): /tmp and $TMPDIR read-write (they
// are the sandbox's own), /proc readable.
import { MountKind } from './native-types.js';
import { native, type NativeMountOp } from './native.js';
import { isWithin } from './policy/paths.js';
import { READ, READ_WRITE } from './filesystem/access.js';
export { kernelHasMountSetattr } from './plan/kernel.js';

const MS_RDONLY = 1;

/** Device files every confined sandbox may use (Landlock grants them by name in every mode). */
export const BASE_DEVICES = ['/dev/null', '/dev/zero', '/dev/full', '/dev/random', '/dev/urandom', '/dev/tty'] as const;

/** Size of a private temp dir unless asked (tmpfs `size=`: memory, charged to whoever writes it). */
export const DEFAULT_PRIVATE_TMP_SIZE_MB = 1024;

/** Slots for detached copies held at once (native/mounts.h kMountSlots). */
const MOUNT_SLOTS = 32;

/** A fresh temp dir: the tmpfs at `target`, with host paths carried over and dirs made in it. */
export interface PrivateTemp {
  target: string;
  /** Host directories beneath target that stay visible (writable roots, cwd, $HOME), outermost only. */
  keep: string[];
  /** Directories made inside it (a $TMPDIR beneath /tmp), so that they exist. */
  make: string[];
  sizeMb: number;
}

/** The private temp dir whose fresh tmpfs hides `path` from the sandbox (beneath it, not carried over), if any. */
export function privateTempHiding(path: string, temps: readonly PrivateTemp[]): PrivateTemp | undefined {
  return temps.find((t) => isWithin(path, t.target) && !t.keep.some((k) => isWithin(path, k)));
}

export interface MountPlanInput {
  /** The tree read-only by mount, writable roots bound again (Linux 5.12: mount_setattr). */
  readOnlyTree: boolean;
  writableRoots: readonly string[];
  /** Directories between a writable root and a protected or masked path beneath it. */
  anchors: readonly string[];
  /** The filesystem planner's masks and read-only binds, parents first. */
  masks: readonly NativeMountOp[];
  socketMasks: readonly NativeMountOp[];
  /**
   * The mounts holding the device files the sandbox may use (step 1b), or null where the tree
   * cannot be nodev (a device file on the root mount: nodev there would take /dev/null too).
   */
  deviceMounts: readonly string[] | null;
  /** A private /dev/shm over the host's. */
  privateShm: boolean;
  privateTemp: readonly PrivateTemp[];
  /** A fresh /proc (pid namespace). */
  proc: boolean;
  /** MS_RDONLY of the mount holding a path (a root the host mounted read-only stays so). */
  hostFlags: (path: string) => number;
  /** The ruleset's handled_access_fs (0: no Landlock): fresh mounts get their rights within it. */
  landlockHandledFs: number;
}

/** The mount plan, in order (see the head of this file for each step's reason). */
export function buildMountPlan(p: MountPlanInput): NativeMountOp[] {
  const ops: NativeMountOp[] = [];
  const treeDone = p.readOnlyTree && !p.writableRoots.includes('/');
  if (treeDone) {
    ops.push({ kind: p.deviceMounts ? MountKind.readOnlyNoDevTree : MountKind.readOnlyTree, target: '/' });
    for (const target of p.deviceMounts ?? []) ops.push({ kind: MountKind.allowDevices, target });
    for (const target of parentsFirst(p.writableRoots)) {
      ops.push({ kind: MountKind.bindWritable, target, preservedFlags: p.hostFlags(target) & MS_RDONLY });
    }
  }
  for (const target of parentsFirst(p.anchors)) ops.push({ kind: MountKind.bindSelf, target });
  ops.push(...p.masks);
  ops.push(...p.socketMasks.filter((m) => privateTempHiding(m.target, p.privateTemp) === undefined));
  const readable = READ & p.landlockHandledFs;
  const writable = READ_WRITE & p.landlockHandledFs;
  // Listable, not writable, as before the split of / (a rule per spawn costs three syscalls).
  if (p.privateShm) ops.push({ kind: MountKind.tmpfs, target: '/dev/shm', optional: true });
  for (const t of p.privateTemp) ops.push(...privateTempOps(t, writable));
  if (p.proc) {
    ops.push({ kind: MountKind.proc, target: '/proc', landlockAccess: readable });
    if (p.readOnlyTree) ops.push({ kind: MountKind.readOnlyTree, target: '/proc' });
  }
  return ops;
}

function parentsFirst(paths: readonly string[]): string[] {
  return [...new Set(paths)].sort((a, b) => a.length - b.length || a.localeCompare(b));
}

function privateTempOps(t: PrivateTemp, writable: number): NativeMountOp[] {
  const keep = t.keep.slice(0, MOUNT_SLOTS);
  const ops: NativeMountOp[] = keep.map((target, slot) => ({ kind: MountKind.detach, target, slot }));
  ops.push({ kind: MountKind.tmpfs, target: t.target, data: `mode=1777,size=${t.sizeMb}m`, landlockAccess: writable });
  const dirs = new Set<string>();
  for (const path of [...keep, ...t.make]) {
    for (let dir = path; dir.length > t.target.length; dir = dir.slice(0, dir.lastIndexOf('/'))) dirs.add(dir);
  }
  for (const dir of parentsFirst([...dirs])) ops.push({ kind: MountKind.makeDir, target: dir, mode: t.make.includes(dir) ? 0o700 : 0o755 });
  keep.forEach((target, slot) => ops.push({ kind: MountKind.attach, target, slot }));
  return ops;
}

/**
 * The directories between each writable root and the protected or masked paths beneath it (and
 * the writable roots nested in it): made mountpoints, so none can be renamed away (step 3).
 */
export function anchorsFor(writableRoots: readonly string[], protectedPaths: readonly string[]): string[] {
  const out = new Set<string>();
  for (const path of [...protectedPaths, ...writableRoots]) {
    // The innermost root holding the path, other than itself.
    const root = writableRoots.filter((r) => r !== path && isWithin(path, r)).sort((a, b) => b.length - a.length)[0];
    if (root === undefined) continue;
    for (let dir = path.slice(0, path.lastIndexOf('/')); dir.length > root.length; dir = dir.slice(0, dir.lastIndexOf('/'))) out.add(dir);
  }
  return [...out];
}

/** MS_RDONLY and the other per-mount flags of the mount holding `path` (0 when unknown). */
export function hostMountFlags(path: string): number {
  try {
    const flags = native().landlock.mountFlags(path);
    return flags >= 0 ? flags : 0;
  } catch {
    return 0;
  }
}
