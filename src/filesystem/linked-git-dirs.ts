// Repository metadata a writable root's `.git` file points to (linked worktrees, submodules):
// protected like a `.git` directory (see linkedGitDirs).
import { closeSync, constants as fsConstants, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { realpathOrNull } from './host-paths.js';
import { stampOf, type Stamp } from './stamps.js';
import type { Protection } from './types.js';

/** Largest `.git` file read; git writes one short line, anything bigger is not a gitfile. */
const GITFILE_MAX = 4096;

/** The path a gitfile or `commondir` file names, or why it names none (git's own reading). */
function readPointer(file: string, prefix: string): { target: string } | { problem: string } {
  let text: string;
  let fd: number | undefined;
  try {
    // Opened by the path as given (its directory is canonical: a writable root, or a gitdir
    // already resolved), never following a final symlink, non-blocking, without becoming a
    // controlling terminal, and checked on the fd: a running sandbox may swap in a FIFO (must not
    // hang the host) or a symlink to a device (must not be opened by a possibly-root host:
    // opening /proc/kmsg or some devices has side effects) at any moment, so nothing may be
    // resolved before the open. It cannot create device nodes or hard links to them.
    fd = openSync(file, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK | fsConstants.O_NOFOLLOW | fsConstants.O_NOCTTY);
    if (!fstatSync(fd).isFile()) return { problem: 'not-a-file' };
    const buf = Buffer.alloc(GITFILE_MAX + 1);
    const n = readSync(fd, buf, 0, buf.length, 0);
    if (n > GITFILE_MAX) return { problem: 'too-large' };
    text = buf.subarray(0, n).toString('utf8');
  } catch (e) {
    return { problem: `unreadable (${(e as NodeJS.ErrnoException).code ?? 'error'})` };
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
  // As git's read_gitfile_gently: the prefix, then the path up to the end of the first line.
  if (!text.startsWith(prefix)) return { problem: 'invalid-format' };
  const target = text.slice(prefix.length).split('\n')[0]!.replace(/\r$/, '');
  if (target.length === 0 || target.includes('\0')) return { problem: 'no-path' };
  return { target };
}

/**
 * A `.git` that is a file (`gitdir: <path>`: linked worktrees, submodules) names the repository
 * metadata git actually uses, kept elsewhere: its config, hooks, index and refs. The sandbox must
 * not be able to change them any more than a `.git` directory, or a tool could plant a hook or
 * `core.fsmonitor` that the host's git runs later. So the named gitdir, and the common dir a
 * worktree's gitdir points to (`commondir`: the main repository's `.git`, where config, hooks and
 * branches live), are protected like `.git`. Relative paths resolve against the file's directory,
 * as git resolves them.
 *
 * Decisions:
 * - A gitdir that is itself a writable root (explicit, or the cwd) stays writable: the caller
 *   asked for it. This is how a caller lets a tool commit (README "git").
 * - A gitdir inside a protected `.git` (a submodule's `.git/modules/x`) is already covered.
 * - A gitdir that contains a writable root (`gitdir: ..`) is left alone and reported: protecting
 *   it would make the workspace read-only, and a `.git` file planted by an earlier sandbox (where
 *   `.git` was missing, gap protected-create-not-blocked) must not be able to do that. Linked
 *   gitdirs only ever add protection to what the policy gives.
 * - A gitfile git cannot use (no `gitdir: ` line, empty path, unreadable, oversized) protects
 *   nothing further: git refuses such a worktree, and the `.git` file itself stays read-only
 *   like `.git`, so the sandbox cannot re-point it. Reported (gap `gitfile-invalid`), never thrown.
 * - A gitdir that does not exist is kept from being created, like a missing sensitive path (its
 *   nearest existing ancestor is frozen when it lies in a writable root): otherwise the sandbox
 *   could create it with a hook of its own for the host's git to run.
 */
export function linkedGitDirs(roots: readonly string[], stamps: Stamp[]): { links: { path: string; from: string }[]; notes: Protection[] } {
  const links: { path: string; from: string }[] = [];
  const notes: Protection[] = [];
  for (const root of roots) {
    const gitfile = root === '/' ? '/.git' : `${root}/.git`;
    let isFile = false;
    try {
      isFile = statSync(gitfile).isFile();
    } catch {
      // no .git here, or not reachable: nothing names a gitdir
    }
    stamps.push(stampOf(gitfile, isFile));
    if (!isFile) continue;
    const pointer = readPointer(gitfile, 'gitdir: ');
    if ('problem' in pointer) {
      notes.push({
        what: `gitdir named by ${gitfile}`,
        enforced: true,
        by: ['nothing to protect beyond the read-only .git file (git refuses an invalid gitfile)'],
        gaps: [`gitfile-invalid:${pointer.problem}`],
      });
      continue;
    }
    const gitdir = resolve(root, pointer.target);
    links.push({ path: gitdir, from: `gitdir of ${gitfile}` });
    // The gitdir's directory resolved, so that only the final name is opened (O_NOFOLLOW).
    const commondirFile = join(realpathOrNull(gitdir) ?? gitdir, 'commondir');
    stamps.push(stampOf(commondirFile, true));
    let common: { target: string } | { problem: string } = { problem: 'none' };
    try {
      if (statSync(commondirFile).isFile()) common = readPointer(commondirFile, '');
    } catch {
      // no commondir: a submodule's or a plain separate gitdir
    }
    if ('target' in common) links.push({ path: resolve(gitdir, common.target), from: `git common dir of ${gitfile}` });
  }
  return { links, notes };
}
