// The first step of a confining plan: what the host and the policy give it to work with. The
// canonical writable roots, which mechanisms are available (Landlock ABI, mount namespace, fresh
// mounts), the private temp dirs and protected-name placeholders, the protected entries and the
// granted device files. The later steps (mounts.ts, ruleset.ts, report.ts) only read it.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { kernelHasMountSetattr, privateTempHiding, type PrivateTemp } from '../mount-plan.js';
import { deviceFiles } from './devices.js';
import { makePlaceholders, privateTempDirs } from './private-temp.js';
import { collectEntries, type Entry } from './protected-entries.js';
import { canonicalRoots } from './roots.js';
import { isWithin } from './rules.js';
import type { Stamp } from './stamps.js';
import type { FilesystemPlanInput, Protection } from './types.js';

export interface Survey {
  readonly input: FilesystemPlanInput;
  /** Where every step records what the plan depends on (stamps.ts). */
  readonly stamps: Stamp[];
  /** The Landlock ABI the ruleset is built for: min of kernel, MAX_KNOWN_ABI and the cap; 0 for none. */
  readonly abi: number;
  /** The mechanism as the report names it: `landlock abi N`. */
  readonly abiBy: string;
  readonly landlock: boolean;
  /** The child gets a mount namespace of its own (asked for, and possible for this caller). */
  readonly mountNs: boolean;
  /** A private /dev and fresh temp dirs can be built (mount namespace and mount_setattr). */
  readonly freshDirs: boolean;
  /** Canonical writable roots. */
  readonly roots: string[];
  /** The canonical roots the caller named (explicit roots and the cwd), as opposed to implicit temp dirs. */
  readonly callerRoots: string[];
  /** Implicit roots skipped because they do not resolve (for the report). */
  readonly skipped: string[];
  readonly protectMissing: NonNullable<FilesystemPlanInput['protectMissingMetadata']>;
  /** Missing protected names are kept from being created by freezing the root's top level. */
  readonly freezeMetadata: boolean;
  readonly privateTemp: PrivateTemp[];
  /** Caller roots that are git directories themselves: they hold no protected names of meaning. */
  readonly gitDirRoots: Set<string>;
  /** Placeholder directories made on the host, and where one could not be made (with the reason). */
  readonly placeholders: string[];
  readonly placeholderFailures: Map<string, string>;
  readonly entries: Entry[];
  /** Linked gitdirs that cannot be protected, as protections that do not hold. */
  readonly gitNotes: Protection[];
  /** Device files granted by name, canonical. */
  readonly devices: string[];
  /** /dev is neither a writable root nor inside one: device files are granted by name only. */
  readonly devProtected: boolean;
}

/** Surveys host and policy for a confining plan (ReadOnly, WorkspaceWrite); records stamps and makes placeholders as it goes. */
export function surveyHost(input: FilesystemPlanInput, abi: number, stamps: Stamp[]): Survey {
  const { policy, probe } = input;
  const { roots, callerRoots, skipped } = canonicalRoots(input, stamps);
  const mountNs = input.namespaces && probe.mountNamespace && (probe.isRoot || probe.userNamespaces);
  const protectMissing = input.protectMissingMetadata ?? 'placeholder';
  const freezeMetadata = protectMissing === 'freeze-top-level' || (protectMissing === 'placeholder' && !mountNs);
  // A private /dev and fresh temp dirs are built from detached copies (open_tree, move_mount),
  // and take the read-only tree's kernel (mount_setattr, Linux 5.12) as the line.
  const freshDirs = mountNs && kernelHasMountSetattr(probe.release);
  const privateTemp = freshDirs && policy.kind === 'WorkspaceWrite' && input.tmp !== 'host' ? privateTempDirs(input, callerRoots, stamps) : [];
  // A git directory listed as a writable root (how a caller lets a tool commit) holds no
  // protected names of meaning: `.git/.git` is nothing to git.
  const gitDirRoots = new Set(callerRoots.filter((r) => existsSync(join(r, 'HEAD')) && (existsSync(join(r, 'objects')) || existsSync(join(r, 'commondir')))));
  const { made: placeholders, failed: placeholderFailures } =
    protectMissing === 'placeholder' && mountNs
      ? makePlaceholders(callerRoots.filter((r) => !gitDirRoots.has(r) && privateTempHiding(r, privateTemp) === undefined))
      : { made: [], failed: new Map<string, string>() };
  const { entries, notes: gitNotes } = collectEntries(input, roots, stamps);
  const devices = deviceFiles(input);
  const devProtected = !roots.some((r) => isWithin('/dev', r) || isWithin(r, '/dev'));
  return {
    input,
    stamps,
    abi,
    abiBy: `landlock abi ${abi}`,
    landlock: abi >= 1,
    mountNs,
    freshDirs,
    roots,
    callerRoots,
    skipped,
    protectMissing,
    freezeMetadata,
    privateTemp,
    gitDirRoots,
    placeholders,
    placeholderFailures,
    entries,
    gitNotes,
    devices,
    devProtected,
  };
}

// Beneath a fresh temp dir, Landlock cannot deny anything (the child grants the whole tmpfs);
// what is not carried over into it is the sandbox's own, out of the host's reach.
export function beneathTemp(s: Survey, path: string): boolean {
  return s.privateTemp.some((t) => isWithin(path, t.target));
}

export function hiddenByTemp(s: Survey, path: string): boolean {
  return privateTempHiding(path, s.privateTemp) !== undefined;
}

/**
 * How a protected name missing at the top of a writable root is kept from being created; null
 * for every other entry.
 */
export function missingMetadata(s: Survey, e: Entry): 'hidden' | 'not-ours' | 'allowed' | 'freeze' | 'open' | null {
  if (!e.metadata || e.resolved.exists || !e.underRoot) return null;
  const c = e.resolved.canonical;
  if (hiddenByTemp(s, c)) return 'hidden';
  const root = c.slice(0, c.lastIndexOf('/')) || '/';
  // A shared temp dir (its risk is the write rule's host-temp-writable gap) or a git directory.
  if (!s.callerRoots.includes(root) || s.gitDirRoots.has(root)) return 'not-ours';
  if (s.protectMissing === 'allow') return 'allowed';
  return s.freezeMetadata ? 'freeze' : 'open';
}
