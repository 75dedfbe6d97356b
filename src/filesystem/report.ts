// The report of a plan: one protection per thing the policy asks for (writes, truncation,
// devices, private temp dirs, every protected entry, linked gitdirs, network, signals), each
// saying whether it holds on this kernel, by which mechanisms, and what is weaker. The ones the
// policy asks for and that do not hold are what strict mode refuses (`missing`).
import { hostMountFlags } from '../mount-plan.js';
import type { NativeMountOp } from '../native.js';
import { nearestExisting, realpathOrNull } from './host-paths.js';
import { isMasked, type MountNamespacePlan } from './mounts.js';
import type { NetworkRules } from './network-rules.js';
import type { Entry } from './protected-entries.js';
import type { LandlockPlan } from './ruleset.js';
import { isWithin } from './rules.js';
import { beneathTemp, missingMetadata, type Survey } from './survey.js';
import type { FilesystemReport, Protection } from './types.js';

const MS_RDONLY = 1;

export interface ProtectionReport {
  mode: FilesystemReport['mode'];
  protections: Protection[];
  /** What strict mode refuses: the protections asked for that do not hold. */
  missing: string[];
}

/** The protections in the report's order, and which of them strict mode refuses. */
class Protections {
  readonly list: Protection[] = [];
  readonly missing: string[] = [];

  /** A protection the policy asks for: missing when it does not hold. */
  need(p: Protection): void {
    this.list.push(p);
    if (!p.enforced) this.missing.push(p.gaps.length > 0 ? `${p.what} (${p.gaps.join(', ')})` : p.what);
  }

  /** A protection reported for information only (network, signals): its refusal is decided elsewhere. */
  note(p: Protection): void {
    this.list.push(p);
  }
}

export function reportProtections(s: Survey, net: NetworkRules, ns: MountNamespacePlan, landlock: LandlockPlan): ProtectionReport {
  const { abi, abiBy } = s;
  const out = new Protections();
  policyWideProtections(s, ns.deviceMounts, out);
  const splitGaps = landlock.splitDirs.map((d) => (d.listed ? `new-entries-uncovered:${d.path}` : `unlistable-dir:${d.path}`));
  for (const e of s.entries) {
    const p = entryProtection(s, e, ns.mounts, landlock, splitGaps);
    if (p) out.need(p);
  }
  // A gitdir that cannot be protected (unresolvable, or holding a writable root) is a protection
  // of the policy that does not hold: strict mode refuses it. (A tool cannot plant such a `.git`
  // file at the top of a writable root: the missing name is a placeholder or frozen.)
  for (const note of s.gitNotes) out.need(note);
  if (s.input.network.mode !== 'full') out.note(net.protection);
  out.note({
    what: 'signals only to processes inside the sandbox',
    enforced: s.landlock && abi >= 6,
    by: s.landlock && abi >= 6 ? [`${abiBy} (LANDLOCK_SCOPE_SIGNAL)`] : [],
    gaps: s.landlock && abi >= 6 ? [] : ['signal-scope-unavailable'],
  });
  // Pathname unix sockets are one class of enforcement.isolation (src/isolation.ts): mount masks,
  // seccomp, and LANDLOCK_ACCESS_FS_RESOLVE_UNIX (handled above from ABI 9) together.
  return { mode: filesystemMode(s.landlock, ns.mounts), protections: out.list, missing: out.missing };
}

function filesystemMode(landlock: boolean, mounts: readonly NativeMountOp[]): FilesystemReport['mode'] {
  if (landlock) return mounts.length > 0 ? 'landlock+mountns' : 'landlock-only';
  return mounts.length > 0 ? 'mountns-only' : 'none';
}

/** The gaps of the write rule: what Landlock on this ABI leaves open, and what the roots expose. */
function writeGaps(s: Survey): string[] {
  const { abi, landlock } = s;
  const gaps: string[] = ['metadata-ops-not-covered'];
  if (landlock && abi < 2) gaps.push('cross-directory-rename-denied');
  if (landlock && abi < 5) gaps.push('device-ioctl-unrestricted');
  for (const skipped of s.skipped) gaps.push(`implicit-root-skipped:${skipped}`);
  // Missing protected names the caller lets tools create: no protection to report, a gap of the
  // write rule instead.
  for (const e of s.entries) if (missingMetadata(s, e) === 'allowed') gaps.push(`protected-create-allowed:${e.resolved.canonical}`);
  // A writable temp dir the host shares: whatever the sandbox plants there (`.git` with
  // core.fsmonitor, node_modules) runs in the host's own git or node later, unsandboxed.
  for (const c of [realpathOrNull('/tmp'), realpathOrNull(process.env.TMPDIR)]) {
    if (c !== null && s.roots.includes(c) && !s.privateTemp.some((t) => t.target === c)) {
      gaps.push(`host-temp-writable:${c} (a .git, hook or node_modules planted there runs in the host's own git or node later)`);
    }
  }
  return gaps;
}

/** Writes, truncation, devices and private temp dirs: the protections of the policy as a whole. */
function policyWideProtections(s: Survey, deviceMounts: string[] | null, out: Protections): void {
  const { abi, abiBy, landlock } = s;
  const gaps = writeGaps(s);
  out.need({
    what: s.input.policy.kind === 'ReadOnly' ? 'no writes (except the device files granted by name)' : 'writes only beneath writable roots',
    enforced: landlock,
    by: landlock ? [abiBy] : [],
    gaps: landlock ? gaps : ['landlock-unavailable'],
  });
  out.need({
    what: 'no truncation outside writable roots',
    enforced: abi >= 3,
    by: abi >= 3 ? [abiBy] : [],
    gaps: abi >= 3 ? [] : ['truncate-not-covered (LANDLOCK_ACCESS_FS_TRUNCATE needs ABI 3)'],
  });
  if (s.devProtected) {
    out.need({
      what: `devices only by name: ${s.devices.join(', ')}`,
      enforced: landlock,
      by: [
        ...(landlock ? [`${abiBy} (device files granted by name)`] : []),
        ...(deviceMounts ? [`mount namespace (every mount nodev but ${deviceMounts.join(', ')}: no device node opens anywhere else)`] : []),
      ],
      gaps: [
        'the names in /dev are listed',
        ...(deviceMounts ? [] : ['device nodes outside /dev open where Landlock grants read (a root caller owns them all)']),
        ...(landlock ? [] : ['landlock-unavailable']),
      ],
    });
  }
  for (const t of s.privateTemp) {
    out.need({
      what: `private ${t.target} (the host's is never written)`,
      enforced: true,
      by: [`mount namespace (a fresh tmpfs of ${t.sizeMb} MiB per sandboxed process, gone with it)`],
      gaps: t.keep.map((k) => `carried-over:${k}`),
    });
  }
}

/** The protection of one protected entry; undefined when there is none to report (a missing name the caller lets tools create, or not theirs). */
function entryProtection(s: Survey, e: Entry, mounts: readonly NativeMountOp[], landlockPlan: LandlockPlan, splitGaps: readonly string[]): Protection | undefined {
  const meta = missingMetadata(s, e);
  if (meta === 'allowed' || meta === 'not-ours') return undefined;
  const r = e.resolved;
  const what = e.blockRead ? `deny read+write ${r.canonical}` : `read-only ${r.canonical}${e.linkedFrom ? ` (${e.linkedFrom})` : ''}`;
  const by: string[] = [];
  const gaps: string[] = [];
  if (r.swappableLink) gaps.push(`symlink-in-writable-root:${r.swappableLink}`);
  let enforced = r.exists ? existingEntryHolds(s, e, mounts, landlockPlan, splitGaps, by, gaps) : missingEntryHolds(s, e, meta, landlockPlan, by, gaps);
  if (r.swappableLink) enforced = false;
  return { what, enforced, by, gaps: [...gaps, ...(by.includes('landlock sibling grants') ? splitGaps.filter((g) => isAncestorGap(g, r.canonical)) : [])] };
}

/** Whether the protection of an entry that exists holds; its mechanisms and gaps go to `by` and `gaps`. */
function existingEntryHolds(
  s: Survey,
  e: Entry,
  mounts: readonly NativeMountOp[],
  { splitDirs }: LandlockPlan,
  splitGaps: readonly string[],
  by: string[],
  gaps: string[],
): boolean {
  const { abi, abiBy, landlock, roots } = s;
  const r = e.resolved;
  let enforced: boolean;
  if (isMasked(mounts, e)) {
    by.push(e.blockRead ? `mount namespace (${r.isDir ? 'empty read-only tmpfs' : 'empty 0000 file'})` : 'mount namespace (read-only bind)');
    if (s.placeholders.includes(r.canonical)) by.push('an empty placeholder directory, made on the host where the name was missing');
    enforced = true;
    if (e.blockRead && landlock && !e.underRoot && !beneathTemp(s, r.canonical)) {
      by.push('landlock sibling grants (hold when the host replaces the path)');
      gaps.push(...splitGaps.filter((g) => isAncestorGap(g, r.canonical)));
    } else if (e.blockRead) {
      gaps.push('mount-only (a host that replaces the path by rename while the sandbox runs detaches the mask)');
    }
  } else if (landlock) {
    by.push(e.underRoot || e.blockRead ? 'landlock sibling grants' : abiBy);
    if (e.blockRead && r.isDir) gaps.push('names-listed');
    gaps.push('metadata-ops-not-covered');
    const frozen = splitDirs.filter((d) => isWithin(r.canonical, d.path) && r.canonical !== d.path && e.underRoot && roots.some((root) => isWithin(d.path, root)));
    for (const d of frozen) gaps.push(`frozen-dir:${d.path}`);
    if (abi < 3 && !e.blockRead) gaps.push('truncate-not-covered');
    enforced = abi >= 3 || !e.blockWrite;
  } else {
    enforced = false;
    gaps.push('landlock-unavailable');
  }
  if (e.blockRead && !e.blockWrite && e.underRoot) gaps.push('write-also-denied');
  return enforced;
}

/** Whether the protection of an entry missing at spawn holds (it must not be created, or read once the host makes it). */
function missingEntryHolds(s: Survey, e: Entry, meta: ReturnType<typeof missingMetadata>, { freezeFor, guardFor }: LandlockPlan, by: string[], gaps: string[]): boolean {
  const { abiBy, landlock } = s;
  const r = e.resolved;
  let enforced: boolean;
  if (!e.underRoot) {
    // Missing outside every writable root: the sandbox cannot create it, and (read-denied ones)
    // cannot read it when the host makes it while the sandbox runs.
    enforced = landlock;
    if (landlock) {
      by.push(`${abiBy} (absent; cannot be created outside writable roots)`);
      const split = guardFor.get(e);
      if (split !== undefined) by.push(`landlock sibling grants (${split} split: what the host makes there later is unreadable)`);
      else if (e.blockRead && beneathTemp(s, r.canonical)) gaps.push('readable if the host makes it while the sandbox runs (it lies beneath a private temp dir)');
    } else gaps.push('landlock-unavailable');
  } else if (!e.blockWrite) {
    enforced = true;
    by.push('absent at spawn');
  } else if (freezeFor.has(e)) {
    enforced = true;
    by.push(`landlock sibling grants (absent; creation blocked)`);
    gaps.push(`frozen-dir:${freezeFor.get(e)}`);
  } else if (meta === 'hidden') {
    // In the sandbox's own temp dir: what it creates there never reaches the host.
    enforced = true;
    by.push('private temp dir (never the host\'s)');
  } else if (meta === 'open' && (hostMountFlags(nearestExisting(r.canonical)) & MS_RDONLY) !== 0) {
    // A root the host mounted read-only (no placeholder could be made there): it stays so.
    enforced = true;
    by.push('the host mounted its root read-only');
  } else if (meta === 'open') {
    enforced = false;
    gaps.push(`protected-create-not-blocked (no placeholder could be made: ${s.placeholderFailures.get(r.canonical) ?? 'no mount namespace'})`);
  } else {
    enforced = false;
    gaps.push('protected-create-not-blocked', 'landlock-unavailable');
  }
  return enforced;
}

/** Whether a split-directory gap (`kind:dir`) names a proper ancestor of `path`. */
function isAncestorGap(gap: string, path: string): boolean {
  const dir = gap.slice(gap.indexOf(':') + 1);
  return path !== dir && isWithin(path, dir);
}
