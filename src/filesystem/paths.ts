// Path canonicalisation for the filesystem plan. Landlock rules bind to inodes and mount(2)
// follows symlinks in its target, so every path is resolved in the parent before either sees it;
// a symlink whose own directory is writable by the sandbox is flagged, because the sandbox could
// replace the link after the plan was made (Codex refuses such paths: "cannot enforce sandbox
// read-only path").

import { lstatSync, readlinkSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, normalize, resolve } from 'node:path';
import { isWithin } from './rules.js';

export interface ResolvedPath {
  /** The path as the policy spelt it, `~` expanded and normalised. */
  lexical: string;
  /** Every symlink resolved; for a missing path, the resolved existing prefix plus the rest. */
  canonical: string;
  exists: boolean;
  isDir: boolean;
  /** The first symlink on the way whose containing directory lies in a writable root. */
  swappableLink?: string;
}

/** `~` and `~/x` expand to the home directory (os.homedir() honours $HOME). */
export function expandHome(p: string): string {
  if (p === '~') return homedir();
  if (p.startsWith('~/')) return resolve(homedir(), p.slice(2));
  return p;
}

/** Resolves `p` component by component (lstat, following links by hand, at most 40 hops). */
export function resolveGuarded(p: string, writableRoots: readonly string[]): ResolvedPath {
  const lexical = normalize(expandHome(p));
  if (!isAbsolute(lexical)) throw new Error(`not an absolute path: ${p}`);
  let pending = lexical.split('/').filter(Boolean);
  let cur = '/';
  let swappableLink: string | undefined;
  let hops = 0;
  while (pending.length > 0) {
    const name = pending.shift() as string;
    if (name === '..') {
      // normalize() leaves '..' only after a link target spliced in below.
      cur = cur === '/' ? '/' : cur.slice(0, cur.lastIndexOf('/')) || '/';
      continue;
    }
    const next = cur === '/' ? `/${name}` : `${cur}/${name}`;
    let st;
    try {
      st = lstatSync(next);
    } catch {
      const canonical = [next, ...pending].join('/');
      return { lexical, canonical, exists: false, isDir: false, ...(swappableLink ? { swappableLink } : {}) };
    }
    if (st.isSymbolicLink()) {
      if (++hops > 40) throw new Error(`too many symbolic links resolving ${p}`);
      if (swappableLink === undefined && writableRoots.some((r) => isWithin(cur, r))) swappableLink = next;
      const target = readlinkSync(next);
      const base = target.startsWith('/') ? '/' : cur;
      pending = [...target.split('/').filter(Boolean), ...pending];
      cur = base;
      continue;
    }
    cur = next;
  }
  let isDir = false;
  try {
    isDir = statSync(cur).isDirectory();
  } catch {
    // raced away: reported as existing-non-directory; the cache stamps catch the change
  }
  return { lexical, canonical: cur, exists: true, isDir, ...(swappableLink ? { swappableLink } : {}) };
}
