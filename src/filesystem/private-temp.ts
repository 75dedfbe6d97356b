// What a WorkspaceWrite sandbox gets of its own on the host side of the plan: fresh temp dirs
// (mounted by the child, mount-plan.ts step 7) and the empty placeholder directories that hold
// missing protected metadata names at the top of writable roots.
import { mkdirSync, statSync } from 'node:fs';
import { DEFAULT_PRIVATE_TMP_SIZE_MB, type PrivateTemp } from '../mount-plan.js';
import { WRITE_PROTECTED_DIRS } from '../policy/index.js';
import { realpathOrNull } from './host-paths.js';
import { isWithin } from './rules.js';
import { stampOf, type Stamp } from './stamps.js';
import type { FilesystemPlanInput } from './types.js';

/**
 * The temp dirs a WorkspaceWrite sandbox gets fresh (mount-plan.ts step 7): /tmp and $TMPDIR,
 * unless one lies in a root the caller named (or the cwd: then it is theirs, kept as it is),
 * or holds another (made inside it instead). What the caller needs beneath one stays visible:
 * their roots, the cwd and $HOME are carried over.
 */
export function privateTempDirs(input: FilesystemPlanInput, callerRoots: readonly string[], stamps: Stamp[]): PrivateTemp[] {
  const dir = (p: string | undefined): string | null => {
    const c = realpathOrNull(p);
    return c !== null && c !== '/' && statSync(c, { throwIfNoEntry: false })?.isDirectory() ? c : null;
  };
  const home = dir(process.env.HOME);
  const usable = [...new Set([dir('/tmp'), dir(process.env.TMPDIR)])].filter(
    (c): c is string => c !== null && !callerRoots.some((r) => isWithin(c, r)),
  );
  const visible = [...callerRoots, ...(home ? [home] : [])];
  return usable
    .filter((c) => !usable.some((o) => o !== c && isWithin(c, o)))
    .map((target) => {
      stamps.push(stampOf(target, false));
      const beneath = visible.filter((p) => p !== target && isWithin(p, target));
      const keep = [...new Set(beneath.filter((p) => !beneath.some((o) => o !== p && isWithin(p, o))))];
      const make = usable.filter((c) => c !== target && isWithin(c, target) && !keep.some((k) => isWithin(c, k)));
      return { target, keep, make, sizeMb: input.tmpSizeMb ?? DEFAULT_PRIVATE_TMP_SIZE_MB };
    });
}

/**
 * An empty directory for each protected name missing at the top of a writable root: the mount
 * plan binds it read-only like an existing one, so the sandbox can neither create the name nor
 * remove or rename the placeholder (EROFS, EBUSY). It stays on the host: removing it while
 * another process's sandbox holds it bound would detach that mount (the kernel detaches mounts
 * on a removed dentry in every namespace) and let that sandbox create the name after all. An
 * empty `.git` is no repository to git, which goes on looking in the parent directories.
 */
export function makePlaceholders(roots: readonly string[]): { made: string[]; failed: Map<string, string> } {
  const made: string[] = [];
  const failed = new Map<string, string>();
  for (const root of roots) {
    for (const name of WRITE_PROTECTED_DIRS) {
      const path = root === '/' ? `/${name}` : `${root}/${name}`;
      try {
        mkdirSync(path, { mode: 0o755 });
        made.push(path);
      } catch (e) {
        // EEXIST: protected as it is. Anything else is reported with its reason.
        const code = (e as NodeJS.ErrnoException).code ?? 'error';
        if (code !== 'EEXIST') failed.set(path, code);
      }
    }
  }
  return { made, failed };
}
