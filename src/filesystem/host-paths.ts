// Lookups of host paths that may be missing or unresolvable, where absence is an answer rather
// than an error.
import { lstatSync, realpathSync } from 'node:fs';

/** The canonical form of an absolute path, or null when it is unset, relative or unresolvable. */
export function realpathOrNull(path: string | undefined): string | null {
  if (path === undefined || !path.startsWith('/')) return null;
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

/** The nearest proper ancestor of `path` that exists (lstat), `/` at the latest. */
export function nearestExisting(path: string): string {
  let cur = path;
  for (;;) {
    const parent = cur.slice(0, cur.lastIndexOf('/')) || '/';
    try {
      lstatSync(parent);
      return parent;
    } catch {
      if (parent === '/') return '/';
      cur = parent;
    }
  }
}
