// The protected entries of a plan: every path the policy denies reading or writing (its
// sensitive paths, the write-protected metadata names in writable roots) and the repository
// metadata linked `.git` files name, canonical and deduplicated. The mounts mask or bind them,
// the Landlock rules deny them, and the report lists one protection per entry.
import { WRITE_PROTECTED_DIRS } from '../policy/index.js';
import { linkedGitDirs } from './linked-git-dirs.js';
import { resolveGuarded, type ResolvedPath } from './paths.js';
import { isWithin } from './rules.js';
import type { Stamp } from './stamps.js';
import type { FilesystemPlanInput, Protection } from './types.js';

export interface Entry {
  resolved: ResolvedPath;
  blockRead: boolean;
  blockWrite: boolean;
  /** One of the write-protected names inside a writable root (not from the sensitive list). */
  metadata: boolean;
  underRoot: boolean;
  /** Repository metadata named by a `.git` file: why this entry is protected (for the report). */
  linkedFrom?: string;
}

/** The entries to protect, outermost read-denied directories absorbing what lies beneath them; `notes`: linked gitdirs that cannot be protected. */
export function collectEntries(input: FilesystemPlanInput, roots: string[], stamps: Stamp[]): { entries: Entry[]; notes: Protection[] } {
  const sensitive = new Set(input.policy.sensitivePaths().map((s) => s.path));
  const byCanonical = new Map<string, Entry>();
  for (const s of input.policy.sensitivePathsForExecution(input.cwd)) {
    if (!s.blockRead && !s.blockWrite) continue;
    const resolved = resolveGuarded(s.path, roots);
    const metadata = !sensitive.has(s.path) && WRITE_PROTECTED_DIRS.some((n: string) => s.path.endsWith(`/${n}`));
    const underRoot = roots.some((r) => isWithin(resolved.canonical, r));
    const prev = byCanonical.get(resolved.canonical);
    if (prev) {
      prev.blockRead ||= s.blockRead;
      prev.blockWrite ||= s.blockWrite;
      prev.metadata &&= metadata;
      continue;
    }
    byCanonical.set(resolved.canonical, { resolved, blockRead: s.blockRead, blockWrite: s.blockWrite, metadata, underRoot });
  }
  const { links, notes } = linkedGitDirs(roots, stamps);
  // Outer first, so a worktree's gitdir inside its (protected) common dir adds no second mount.
  links.sort((a, b) => a.path.length - b.path.length);
  for (const link of links) {
    let resolved: ResolvedPath;
    try {
      resolved = resolveGuarded(link.path, roots);
    } catch (e) {
      // A symlink loop on the way. Git cannot use it now, but a link in a writable root could be
      // re-pointed by the sandbox at a gitdir of its own: not enforceable (strict refuses).
      notes.push({ what: `read-only ${link.path} (${link.from})`, enforced: false, by: [], gaps: [`gitdir-unresolvable:${(e as Error).message}`] });
      continue;
    }
    if (roots.includes(resolved.canonical) || byCanonical.has(resolved.canonical)) continue;
    if (roots.some((r) => isWithin(r, resolved.canonical))) {
      notes.push({
        what: `read-only ${resolved.canonical} (${link.from})`,
        enforced: false,
        by: [],
        gaps: ['gitdir-contains-writable-root (left writable: protecting it would make the workspace read-only)'],
      });
      continue;
    }
    const covered = [...byCanonical.values()].some(
      (o) => o.blockWrite && o.resolved.exists && o.resolved.isDir && isWithin(resolved.canonical, o.resolved.canonical),
    );
    if (covered) continue;
    const underRoot = roots.some((r) => isWithin(resolved.canonical, r));
    byCanonical.set(resolved.canonical, { resolved, blockRead: false, blockWrite: true, metadata: false, underRoot, linkedFrom: link.from });
  }
  // A read-denied existing directory hides everything beneath it: nested entries add nothing.
  const all = [...byCanonical.values()];
  const entries = all.filter(
    (e) =>
      !all.some(
        (o) => o !== e && o.blockRead && o.resolved.exists && o.resolved.isDir && isWithin(e.resolved.canonical, o.resolved.canonical),
      ),
  );
  return { entries, notes };
}
