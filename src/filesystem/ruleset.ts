// The filesystem half of the Landlock ruleset: the rights each writable root, protected entry
// and granted device file gets (as specials for the rule planner, rules.ts), then the ruleset
// itself, with the network rules and scopes, created once in the parent.
import { native, type NativeMountOp } from '../native.js';
import { DEVICE_RIGHTS, LANDLOCK_ACCESS_FS, LANDLOCK_SCOPE, READ, READ_WRITE, handledAccessFs, supportedScopes } from './access.js';
import { nearestExisting } from './host-paths.js';
import { isMasked } from './mounts.js';
import type { NetworkRules } from './network-rules.js';
import type { Entry } from './protected-entries.js';
import { isWithin, planRules, type Special } from './rules.js';
import { stampOf } from './stamps.js';
import { beneathTemp, missingMetadata, type Survey } from './survey.js';

const F = LANDLOCK_ACCESS_FS;

export interface LandlockPlan {
  /** The ruleset fd (O_CLOEXEC), -1 for none. */
  rulesetFd: number;
  /** The path rules as built. */
  rules: { path: string; access: number }[];
  /** Directories given sibling grants (rules.ts). */
  splitDirs: { path: string; rights: number; listed: boolean }[];
  /** Missing entry → the directory frozen so that it cannot be created. */
  freezeFor: Map<Entry, string>;
  /** Missing read-denied entry outside the roots → the directory split so that it stays unreadable when the host makes it. */
  guardFor: Map<Entry, string>;
}

/** Builds the ruleset for a confining plan; without Landlock, an empty plan (no fd). */
export function planLandlock(s: Survey, net: NetworkRules, mounts: readonly NativeMountOp[]): LandlockPlan {
  const out: LandlockPlan = { rulesetFd: -1, rules: [], splitDirs: [], freezeFor: new Map(), guardFor: new Map() };
  if (!s.landlock) return out;
  const { abi, input, stamps } = s;
  const handled = handledAccessFs(abi);
  const planned = planRules({ path: '/', rights: READ & handled }, landlockSpecials(s, handled, mounts, out));
  for (const device of s.devices) planned.rules.set(device, (planned.rules.get(device) ?? 0) | (DEVICE_RIGHTS & handled));
  out.rules = [...planned.rules].map(([path, access]) => ({ path, access }));
  out.splitDirs = planned.splitDirs;
  for (const d of out.splitDirs) stamps.push(stampOf(d.path, true));
  for (const e of s.entries) if (!e.resolved.exists) stamps.push(stampOf(e.resolved.canonical, false));
  let scoped = LANDLOCK_SCOPE.SIGNAL;
  if (input.network.mode !== 'full') scoped |= LANDLOCK_SCOPE.ABSTRACT_UNIX_SOCKET;
  out.rulesetFd = native().landlock.createRuleset({
    handledAccessFs: handled,
    handledAccessNet: net.handled,
    scoped: scoped & supportedScopes(abi),
    pathRules: out.rules,
    netRules: net.rules,
  });
  return out;
}

/**
 * The subtrees that want other rights than the read-only `/`: the writable roots, /dev, and
 * the protected entries; records in `out.freezeFor` and `out.guardFor` which missing entries
 * are held by their nearest existing ancestor.
 */
function landlockSpecials(s: Survey, handled: number, mounts: readonly NativeMountOp[], out: Pick<LandlockPlan, 'freezeFor' | 'guardFor'>): Special[] {
  const { entries } = s;
  const specials: Special[] = [];
  for (const root of s.roots) {
    // A root inside a read-denied or read-only existing path keeps that path's limits (mode B;
    // in mode A the mount over the enclosing path wins anyway).
    let rights = READ_WRITE;
    for (const e of entries) {
      if (e.resolved.exists && isWithin(root, e.resolved.canonical)) rights &= e.blockRead ? F.READ_DIR : READ;
    }
    specials.push({ path: root, rights: rights & handled });
  }
  // Fresh temp dirs (writable whatever the exclusion flags say) get their rule from the child,
  // on the tmpfs it mounts (mount-plan.ts): a rule here, on the host dir it covers, is never seen.
  // Device files by name only: /dev itself lists, its entries get nothing unless granted below.
  if (s.devProtected) specials.push({ path: '/dev', rights: F.READ_DIR & handled });
  for (const e of entries) {
    const r = e.resolved;
    if (r.exists) {
      // A mount holds a masked path in mode A, but only while its dentry lives: a host that
      // renames a new file over it (git's credential store, npm login, editors) or a new
      // directory in its place detaches the mask in every namespace. Outside the writable
      // roots Landlock denies it too, by inode, as in mode B: the new file is a new entry of a
      // split directory, which gets nothing. Beneath a writable root (or a fresh temp dir)
      // Landlock could say it only by freezing the root's top level: the mount holds alone
      // there (reported).
      if (isMasked(mounts, e) && (e.underRoot || !e.blockRead || beneathTemp(s, r.canonical))) continue;
      // Landlock-only deny: read-denied paths keep READ_DIR inherited from their split
      // ancestors (so `ls /`, `ls ~` work; the names inside are listed: gap names-listed).
      specials.push({ path: r.canonical, rights: (e.blockRead ? F.READ_DIR : READ) & handled });
    } else if (e.underRoot && e.blockWrite && (!e.metadata || missingMetadata(s, e) === 'freeze')) {
      specials.push({ path: r.canonical, rights: READ & handled });
      out.freezeFor.set(e, nearestExisting(r.canonical));
    } else if (!e.underRoot && e.blockRead && !beneathTemp(s, r.canonical)) {
      // Missing outside the writable roots: nothing to read now, but the host may make it
      // while the sandbox runs (`aws configure`, `gh auth login`, `ssh-keygen`). Its nearest
      // existing ancestor is split, so what appears there later gets only READ_DIR.
      specials.push({ path: r.canonical, rights: F.READ_DIR & handled });
      out.guardFor.set(e, nearestExisting(r.canonical));
    }
  }
  return specials;
}
