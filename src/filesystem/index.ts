// Filesystem confinement: compiles a SandboxPolicy's filesystem meaning into (1) a Landlock
// ruleset fd built once in the parent and cached, (2) a mount plan for what Landlock cannot say
// (deny inside allow), and (3) a report of what is enforced, by what, and what is weaker.
//
// Modes (brief §3.5):
//   A "landlock+mountns": Landlock reads `/`, writes the roots; the child's private mount
//     namespace masks sensitive paths (empty read-only tmpfs / empty 0000 file) and binds the
//     protected metadata dirs read-only.
//   B "landlock-only": no namespaces; the same meaning with Landlock sibling grants (rules.ts).
//   C "none" / "mountns-only": Landlock absent (ABI 0, or capped to 0 for tests).
// In every Landlock mode a sensitive path that is missing but lies in a writable root is kept
// from being created by freezing its nearest existing ancestor (sibling grants).
// A root whose `.git` is a file (worktree, submodule) also protects the gitdir it names
// (linked-git-dirs.ts).
//
// This module is the public face; the work is done by plan-cache.ts (the cache and its bound),
// stamps.ts (revalidation) and build-plan.ts (one build, step by step).

import { buildPlan } from './build-plan.js';
import { cachePlan, cachedPlan, planCacheKey } from './plan-cache.js';
import type { BuiltPlan, FilesystemPlan, FilesystemPlanInput } from './types.js';

export * from './access.js';
export { isWithin } from './rules.js';
export { clearFilesystemPlanCache } from './plan-cache.js';
export type { FilesystemPlan, FilesystemPlanInput, FilesystemReport, Protection } from './types.js';

/**
 * Compiles (or returns the cached) filesystem plan. Cached per (policy JSON, cwd, ABI cap,
 * network, namespaces, enforcement, HOME, TMPDIR); a cached plan is rebuilt, and its ruleset
 * closed, when a path it depends on changed (an inode of a root, mask target or missing
 * sensitive path, or the entries of a directory given sibling grants). Callers should ask for
 * the plan on every spawn (a cache hit is a handful of lstat calls) rather than keep the fd.
 * Throws PolicyError for a writable root that is missing or not a directory.
 */
export function compileFilesystemPlan(input: FilesystemPlanInput): FilesystemPlan {
  const key = planCacheKey(input);
  const cached = cachedPlan(key);
  if (cached) return cached;
  // A sibling-granted entry can vanish between readdir and open (ENOENT): plan again once.
  let built: BuiltPlan;
  try {
    built = buildPlan(input);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || (e as NodeJS.ErrnoException).syscall !== 'open') throw e;
    built = buildPlan(input);
  }
  return cachePlan(key, built);
}

/** Re-exported for tests: canonicalisation with symlink detection. */
export { resolveGuarded } from './paths.js';
