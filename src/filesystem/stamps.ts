// Revalidation stamps: what a cached plan assumed about the host's file tree, checked again on
// every spawn. A stamp is a path's inode (-1 when it did not exist) and, for a directory whose
// entries the plan depends on (one given sibling grants), its mtime: a root, mask target or
// missing sensitive path that was replaced or created, or an entry added to or removed from a
// split directory, makes the plan stale.
import { lstatSync } from 'node:fs';
import { native } from '../native.js';

export interface Stamp {
  path: string;
  ino: number; // -1: did not exist
  /** st_mtim, for directories whose entries the plan depends on (sibling grants). */
  mtime?: { sec: number; nsec: number };
}

export function stampOf(path: string, withMtime: boolean): Stamp {
  // What native().lstatStamps reports for a path it cannot lstat.
  const missing: Stamp = withMtime ? { path, ino: -1, mtime: { sec: 0, nsec: 0 } } : { path, ino: -1 };
  try {
    // Most stamps are of sensitive paths that do not exist: a thrown ENOENT costs an Error with
    // a stack trace (~10x the lstat itself).
    const st = lstatSync(path, { bigint: true, throwIfNoEntry: false });
    if (st === undefined) return missing;
    const ino = Number(st.ino);
    if (!withMtime) return { path, ino };
    return { path, ino, mtime: { sec: Number(st.mtimeNs / 1_000_000_000n), nsec: Number(st.mtimeNs % 1_000_000_000n) } };
  } catch {
    return missing;
  }
}

/** The stamps' paths as native().lstatStamps takes them (NUL-terminated, joined once). */
export function stampPathsOf(stamps: readonly Stamp[]): string {
  return stamps.map((st) => `${st.path}\0`).join('');
}

// Every spawn revalidates: one native call lstat-ing every stamped path (~20 for a workspace
// policy), instead of as many fs.lstatSync calls and Stats objects.
export function stampsValid(stamps: readonly Stamp[], stampPaths: string): boolean {
  if (stamps.length === 0) return true;
  const now = native().lstatStamps(stampPaths);
  return stamps.every((s, i) => now[3 * i] === s.ino && (s.mtime === undefined || (now[3 * i + 1] === s.mtime.sec && now[3 * i + 2] === s.mtime.nsec)));
}
