// The writable roots as Landlock and the mounts see them: canonical, deduplicated, and split
// into those the caller named (explicit roots and the cwd) and the implicit temp dirs.
import { realpathSync, statSync } from 'node:fs';
import { PolicyError } from '../errors.js';
import { stampOf, type Stamp } from './stamps.js';
import type { FilesystemPlanInput } from './types.js';

/**
 * The policy's writable roots with the cwd, canonical. Throws PolicyError for a root the caller
 * named that is missing or not a directory; a missing implicit one (/tmp, $TMPDIR) is skipped
 * and listed in `skipped` for the report.
 */
export function canonicalRoots(input: FilesystemPlanInput, stamps: Stamp[]): { roots: string[]; callerRoots: string[]; skipped: string[] } {
  const explicit = new Set<string>();
  const json = input.policy.toJSON() as { writable_roots?: { root: string }[] };
  for (const r of json?.writable_roots ?? []) explicit.add(r.root);
  const implicit = new Set<string>(['/tmp']);
  if (process.env.TMPDIR) implicit.add(process.env.TMPDIR);
  const roots: string[] = [];
  const callerRoots: string[] = [];
  const skipped: string[] = [];
  const issues: { path: string; message: string }[] = [];
  for (const { root } of input.policy.getWritableRootsWithCwd(input.cwd)) {
    let canonical: string | undefined;
    let problem: string | undefined;
    try {
      canonical = realpathSync(root);
      if (!statSync(canonical).isDirectory()) problem = 'is not a directory';
    } catch (e) {
      problem = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be resolved (${(e as Error).message})`;
    }
    if (problem !== undefined || canonical === undefined) {
      // /tmp and $TMPDIR come from the host environment, not from the caller: a missing one is
      // reported and skipped rather than failing every spawn on that host.
      if (implicit.has(root) && !explicit.has(root) && root !== input.cwd) {
        skipped.push(`${root} (${problem ?? 'unresolvable'})`);
        continue;
      }
      issues.push({ path: root === input.cwd ? 'cwd' : 'writable_roots', message: `writable root ${root} ${problem}` });
      continue;
    }
    stamps.push(stampOf(canonical, false));
    if (!roots.includes(canonical)) roots.push(canonical);
    if ((explicit.has(root) || root === input.cwd) && !callerRoots.includes(canonical)) callerRoots.push(canonical);
  }
  if (issues.length > 0) throw new PolicyError(issues);
  return { roots, callerRoots, skipped };
}
