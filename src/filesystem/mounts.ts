// The mount namespace's part of a plan (modes A and mountns-only): masks over read-denied
// paths (an empty read-only tmpfs, an empty 0000 file), read-only binds over write-protected
// ones, the anchors that keep protected paths in place, and the mounts left able to hold device
// nodes. The child carries them out (mount-plan.ts).
import { closeSync, fchmodSync, lstatSync, mkdirSync, openSync, realpathSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PolicyError } from '../errors.js';
import type { NativeMountOp } from '../native.js';
import { MountKind } from '../native-types.js';
import { anchorsFor, hostMountFlags } from '../mount-plan.js';
import { deviceMountsOf } from './devices.js';
import type { Entry } from './protected-entries.js';
import { isWithin } from './rules.js';
import { stampOf, type Stamp } from './stamps.js';
import type { Survey } from './survey.js';

export interface MountNamespacePlan {
  /** Masks and read-only binds, parents first. */
  mounts: NativeMountOp[];
  /** Directories to make mountpoints so that protected paths beneath them stay put. */
  anchors: string[];
  /** The mounts holding the granted device files; null: the tree is not nodev. */
  deviceMounts: string[] | null;
}

/** Whether the mount plan masks or binds this entry itself. */
export function isMasked(mounts: readonly NativeMountOp[], e: Entry): boolean {
  return mounts.some((m) => m.target === e.resolved.canonical);
}

export function planMountNamespace(s: Survey): MountNamespacePlan {
  const mounts = s.mountNs ? maskMounts(s) : [];
  const anchors = s.mountNs ? anchorsFor(s.roots, mounts.map((m) => m.target)) : [];
  const deviceMounts = s.freshDirs && s.devProtected ? deviceMountsOf(s.devices) : null;
  return { mounts, anchors, deviceMounts };
}

/** The masks and read-only binds over the protected entries that exist, outermost first. */
function maskMounts(s: Survey): NativeMountOp[] {
  const { stamps } = s;
  const mounts: NativeMountOp[] = [];
  let maskFile: { dir: string; file: string } | undefined;
  const sorted = [...s.entries].sort((a, b) => a.resolved.canonical.length - b.resolved.canonical.length);
  for (const e of sorted) {
    const r = e.resolved;
    if (!r.exists) continue;
    if (e.blockRead) {
      if (r.isDir) {
        mounts.push({ kind: MountKind.tmpfsMask, target: r.canonical });
      } else {
        maskFile ??= emptyMaskFile(stamps);
        mounts.push({ kind: MountKind.fileMask, target: r.canonical, source: maskFile.file, preservedFlags: hostMountFlags(r.canonical) });
      }
      stamps.push(stampOf(r.canonical, false));
    } else if (e.underRoot || !s.landlock || e.linkedFrom) {
      // A linked gitdir outside the roots is read-only by Landlock already; the bind also
      // refuses chmod/utime there, which Landlock does not cover.
      mounts.push({ kind: MountKind.bindReadOnly, target: r.canonical, preservedFlags: hostMountFlags(r.canonical) });
      stamps.push(stampOf(r.canonical, false));
    }
  }
  // The mask file's directory may itself lie in a writable root (/tmp): bind it read-only
  // first so the sandbox cannot replace what later sandboxes see through their masks.
  if (maskFile && s.roots.some((r) => isWithin(maskFile!.dir, r))) {
    mounts.unshift({ kind: MountKind.bindReadOnly, target: maskFile.dir, preservedFlags: hostMountFlags(maskFile.dir) });
  }
  return mounts;
}

/** The empty 0000 file bound over sensitive files (EACCES is clearer than /dev/null's EOF). */
function emptyMaskFile(stamps: Stamp[]): { dir: string; file: string } {
  const uid = process.getuid?.() ?? 0;
  const dir = join(realpathSync(tmpdir()), `cordon-${uid}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const dst = lstatSync(dir);
  if (!dst.isDirectory() || dst.uid !== uid) {
    throw new PolicyError([{ path: 'filesystem', message: `${dir} must be a directory owned by uid ${uid} (it holds cordon's mask file)` }]);
  }
  const file = join(dir, 'empty');
  let st;
  try {
    st = lstatSync(file);
  } catch {
    st = undefined;
  }
  if (!st || !st.isFile() || st.size !== 0 || (st.mode & 0o7777) !== 0 || st.uid !== uid) {
    if (st) unlinkSync(file);
    const fd = openSync(file, 'wx', 0o600);
    fchmodSync(fd, 0);
    closeSync(fd);
  }
  stamps.push(stampOf(file, false), stampOf(dir, false));
  return { dir, file };
}
