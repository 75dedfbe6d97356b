// Lexical path handling for policy queries. Nothing here touches the filesystem: queries must
// answer the same for paths that do not exist yet, and the enforcement layer canonicalises
// (realpath) on its own before it builds kernel rules.
import { homedir } from 'node:os';
import { posix } from 'node:path';

/** True when `p` is `~` or starts with `~/` (the only home-relative forms cordon expands). */
export function isHomeRelative(p: string): boolean {
  return p === '~' || p.startsWith('~/');
}

/**
 * Expands a leading `~` / `~/` to the home directory of the running process. `os.homedir()`
 * is read on every call so that `HOME` (which it honours) decides, also after a change.
 */
export function expandHome(p: string): string {
  if (p === '~') return homedir();
  if (p.startsWith('~/')) return posix.join(homedir(), p.slice(2));
  return p;
}

/**
 * Turns a query argument into an absolute, lexically normalised path: `~` expanded, `.`/`..`
 * and repeated or trailing slashes removed; a relative path is resolved against `base`
 * (itself normalised the same way) or, without one, against `process.cwd()`.
 */
export function resolvePolicyPath(p: string, base?: string): string {
  const start = base === undefined ? process.cwd() : resolvePolicyPath(base);
  return posix.resolve(start, expandHome(p));
}

/** Whole-component containment: `/a/b` is within `/a` and `/a/b`, but `/a/bc` is not within `/a/b`. */
export function isWithin(path: string, root: string): boolean {
  if (path === root) return true;
  if (root === '/') return path.startsWith('/');
  return path.startsWith(root + '/');
}

/**
 * The canonical spelling of a configured path, used for equality and de-duplication:
 * absolute paths are normalised; `~`-relative ones keep their `~` (so HOME is still read at
 * query time) with the remainder normalised.
 */
export function canonicalConfiguredPath(p: string): string {
  if (p === '~' || p === '~/') return '~';
  if (p.startsWith('~/')) {
    const rest = posix.normalize(p.slice(2)).replace(/\/+$/, '');
    return rest === '' || rest === '.' ? '~' : `~/${rest}`;
  }
  return posix.resolve('/', p);
}
