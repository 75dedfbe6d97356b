// The Landlock rule planner: turns "these subtrees want these rights" into path-beneath rules.
//
// Landlock rules are allow-only and inherit downward: within one layer a path gets the union of
// the rules on it and on all of its ancestors (landlock(7), "Inheritance"). So a subtree that
// must have *fewer* rights than its surroundings (a sensitive ~/.ssh under a readable /, a
// read-only .git under a writable workspace, a missing ~/.ssh under a writable $HOME whose
// creation must fail) cannot be expressed by one rule on the surroundings. The planner then
// "splits" the surrounding directory: the directory itself gets only the rights common to every
// subtree beneath it, and each of its entries gets its own rule (sibling grants, brief §3.1).
// Split directories are frozen in the ways the common rights say (no MAKE_* / REMOVE_* when a
// protected entry needs write denial; nothing new readable when a read-denied entry is inside),
// and entries created after the plan was built are covered only by the common rights: the
// planner returns the split directories so the report can name them and the cache can watch them.

import { lstatSync, readdirSync } from 'node:fs';
import { FILE_RIGHTS } from './access.js';
import { isWithin } from '../policy/paths.js';

/** A subtree that wants uniform rights (`rights`) except where a deeper special says otherwise. */
export interface Special {
  /** Canonical absolute path; may not exist (then it only constrains its nearest existing ancestor). */
  path: string;
  rights: number;
}

export interface PlannedRules {
  /** path → allowed_access, in planning order (ancestors first). */
  rules: Map<string, number>;
  /** Directories given sibling grants, with the rights their own rule carries. */
  splitDirs: { path: string; rights: number; listed: boolean }[];
}

export { isWithin };

function joinPath(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

/**
 * Plans rules for `root` (normally `/` with the base rights) and every special beneath it.
 * Specials must be canonical and distinct. The result grants exactly: for every existing path,
 * the rights of its nearest special ancestor-or-self (or `root.rights`), except that a split
 * directory's entries created later get only the split directory's common rights.
 */
export function planRules(root: Special, specials: readonly Special[]): PlannedRules {
  const out: PlannedRules = { rules: new Map(), splitDirs: [] };
  const add = (path: string, rights: number): void => {
    if (rights === 0) return;
    out.rules.set(path, (out.rules.get(path) ?? 0) | rights);
  };
  const beneath = (path: string, list: readonly Special[]): Special[] =>
    list.filter((s) => s.path !== path && isWithin(s.path, path));

  const visit = (node: string, inherited: number, want: number, below: readonly Special[]): void => {
    // A special below that wants fewer rights than `want` forces a split of this directory;
    // specials that want more (a writable root under a readable /) are plain additive rules.
    const restrictive = below.some((s) => (s.rights & want) !== want);
    if (!restrictive) {
      add(node, want & ~inherited);
      const inh = inherited | want;
      // Only the top-most specials: deeper ones are planned by their own top-most ancestor.
      for (const s of below) {
        if (below.some((o) => o !== s && isWithin(s.path, o.path))) continue;
        if (!exists(s.path)) continue; // a missing additive special grants nothing
        visit(s.path, inh, s.rights, beneath(s.path, below));
      }
      return;
    }
    let common = want;
    for (const s of below) common &= s.rights;
    const own = common & ~inherited;
    add(node, own);
    const inh = inherited | common;
    let entries: { name: string; isDir: boolean; isLink: boolean }[];
    let listed = true;
    try {
      entries = readdirSync(node, { withFileTypes: true }).map((d) => ({
        name: d.name,
        isDir: d.isDirectory(),
        isLink: d.isSymbolicLink(),
      }));
    } catch {
      // Unlistable (no read permission for the caller): its entries get nothing. Fail closed;
      // the report names the directory through splitDirs[].listed.
      entries = [];
      listed = false;
    }
    out.splitDirs.push({ path: node, rights: inh, listed });
    for (const e of entries) {
      const child = joinPath(node, e.name);
      const self = below.find((s) => s.path === child);
      const deeper = beneath(child, below);
      if (self) {
        visit(child, inh, self.rights, deeper);
      } else if (deeper.length > 0 && e.isDir) {
        visit(child, inh, want, deeper);
      } else if (e.isLink) {
        // A symlink's own inode carries no useful right: following it lands on the target,
        // which is governed by the target's rules. Renaming or deleting it is the parent's call.
        continue;
      } else {
        add(child, e.isDir ? want & ~inh : want & FILE_RIGHTS & ~inh);
      }
    }
  };

  visit(root.path, 0, root.rights, beneath(root.path, specials));
  return out;
}

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
