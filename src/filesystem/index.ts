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
// (linkedGitDirs).

import { closeSync, constants as fsConstants, existsSync, fstatSync, lstatSync, mkdirSync, openSync, readSync, realpathSync, statSync, unlinkSync, fchmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { PolicyError } from '../errors.js';
import { native, type NativeKernelProbe, type NativeMountOp } from '../native.js';
import { MountKind } from '../native-types.js';
import { BASE_DEVICES, DEFAULT_PRIVATE_TMP_SIZE_MB, anchorsFor, hostMountFlags, kernelHasMountSetattr, privateTempHiding, type PrivateTemp } from '../mount-plan.js';
import { WRITE_PROTECTED_DIRS, type SandboxPolicy } from '../policy/index.js';
import {
  DEVICE_RIGHTS,
  LANDLOCK_ACCESS_FS,
  LANDLOCK_ACCESS_NET,
  LANDLOCK_SCOPE,
  MAX_KNOWN_ABI,
  READ,
  READ_WRITE,
  handledAccessFs,
  handledAccessNet,
  supportedScopes,
} from './access.js';
import { resolveGuarded, type ResolvedPath } from './paths.js';
import { isWithin, planRules, type Special } from './rules.js';
import { registerCache } from '../caches.js';

export * from './access.js';
export { isWithin } from './rules.js';

export interface FilesystemPlanInput {
  policy: SandboxPolicy;
  /** Absolute working directory of the child (a writable root under WorkspaceWrite). */
  cwd: string;
  /** From native().probeKernel(), cached by the caller. */
  probe: NativeKernelProbe;
  /** strict (default): `missing` lists what cannot be enforced and the spawn must refuse. */
  enforcement: 'strict' | 'best-effort';
  /** Testing aid: use min(kernel ABI, cap), so every downgrade path runs on one kernel. */
  landlockAbiCap?: number;
  /**
   * Landlock TCP (ABI 4): none → bind and connect handled, no rule; allowlist → connect handled,
   * allowed to connectPorts only, or not handled without connectPorts (a sandbox in its own
   * network namespace, which holds nothing else to connect to); full → not handled.
   */
  network: { mode: 'none' | 'allowlist' | 'full'; connectPorts?: number[] };
  /** The spawn engine gives the child a user (if non-root) + mount namespace when asked. */
  namespaces: boolean;
  /** A pty device the caller hands in (e.g. /dev/pts/3): granted like /dev/tty. */
  ptyPath?: string;
  /**
   * Protected metadata dirs (.git, .codex, .agents, .vtcode) missing at the top of a writable
   * root, where a tool could create one (`git init` plus a hook or core.fsmonitor) for the
   * host's own git or agent to trust later:
   * - 'placeholder' (default): with a mount namespace, an empty directory is made there on the
   *   host (once; it stays: git and agents ignore an empty one) and bound read-only like an
   *   existing one; without one, as 'freeze-top-level';
   * - 'freeze-top-level': nothing is made; the root's top level is frozen by Landlock (no entry
   *   created, removed or renamed there; existing entries stay writable);
   * - 'allow': the tool may create them (reported as a gap of the write protection).
   */
  protectMissingMetadata?: 'placeholder' | 'freeze-top-level' | 'allow';
  /**
   * WorkspaceWrite with a mount namespace: 'private' (default) gives the sandbox fresh /tmp and
   * $TMPDIR of its own, whatever the exclusion flags say (the host's are never written);
   * 'host' keeps the exclusion flags' meaning on the host's own dirs (reported as a gap).
   */
  tmp?: 'private' | 'host';
  /** Size of each private temp dir (default DEFAULT_PRIVATE_TMP_SIZE_MB). */
  tmpSizeMb?: number;
  /** Device files beyond BASE_DEVICES the sandbox may use (/dev/kvm, /dev/fuse): canonical, under /dev. */
  devices?: readonly string[];
}

/** One protection: whether it holds on this kernel, by which mechanisms, and what is weaker. */
export interface Protection {
  what: string;
  enforced: boolean;
  by: string[];
  gaps: string[];
}

export interface FilesystemReport {
  mode: 'landlock+mountns' | 'landlock-only' | 'mountns-only' | 'none' | 'unrestricted';
  /** The ABI the ruleset was built for (min of kernel and cap); 0 when Landlock is not used. */
  landlockAbi: number;
  protections: Protection[];
  /** Directories inside writable roots where no entry can be created, removed or renamed (Landlock sibling grants). */
  frozenDirs: string[];
}

export interface FilesystemPlan {
  /** Landlock ruleset fd (O_CLOEXEC), -1 for none. Owned by the cache: do not close. */
  rulesetFd: number;
  /** Masks and read-only binds (mount-plan.ts step 4), parents first. */
  mounts: NativeMountOp[];
  /** Directories to make mountpoints so that protected paths beneath them stay put (step 3). */
  anchors: string[];
  /** Fresh temp dirs (step 7). */
  privateTemp: PrivateTemp[];
  /** The mounts holding the granted device files, the only ones not nodev (step 1b); null: the tree is not nodev. */
  deviceMounts: string[] | null;
  needsMountNamespace: boolean;
  report: FilesystemReport;
  /** What strict mode refuses (empty when everything the policy asks for is enforced). */
  missing: string[];
  /** Canonical writable roots (what Landlock grants write rights to). */
  writableRoots: string[];
  /** The ruleset as built, for tests and `--report` detail. */
  rules: { path: string; access: number }[];
}

const F = LANDLOCK_ACCESS_FS;
const MS_RDONLY = 1;

interface Stamp {
  path: string;
  ino: number; // -1: did not exist
  /** st_mtim, for directories whose entries the plan depends on (sibling grants). */
  mtime?: { sec: number; nsec: number };
}

interface CacheEntry {
  plan: FilesystemPlan;
  /** Spawns served: a ruleset that children add fresh-mount rules to is rebuilt after RULESET_REUSE_LIMIT. */
  uses: number;
  stamps: Stamp[];
  /** The stamps' paths as native().lstatStamps takes them (NUL-terminated, joined once). */
  stampPaths: string;
}

const cache = new Map<string, CacheEntry>();
// Plans kept, least recently used evicted first with their ruleset fds: an agent host using a
// fresh workspace per task would otherwise keep one fd per task forever. (The addon keeps its
// own duplicate of the fd in every plan it caches, so closing ours never reaches a child.)
const MAX_CACHED_PLANS = 64;
registerCache({
  name: 'filesystem/index.ts plans',
  key: '(policy JSON, cwd, HOME, TMPDIR, options, Landlock ABI cap)',
  bound: `${MAX_CACHED_PLANS}, least recently used evicted, its Landlock ruleset fd closed`,
  invalidation: 'on every use, lstat stamps of the paths the plan pinned (roots, masks, anchors): a change rebuilds it',
  size: () => cache.size,
  clear: () => clearFilesystemPlanCache(),
});

// Every mode-A child adds a rule for each file system it mounts fresh (its /tmp, /proc) to the
// shared ruleset (mount-plan.ts): rules of gone sandboxes stay in it, and each
// landlock_restrict_self copies them all. Rebuilt after this many spawns, the ruleset stays
// small (a new plan: one standby made afresh per this many spawns).
const RULESET_REUSE_LIMIT = 256;

function stampOf(path: string, withMtime: boolean): Stamp {
  // What native().lstatStamps reports for a path it cannot lstat.
  const missing: Stamp = withMtime ? { path, ino: -1, mtime: { sec: 0, nsec: 0 } } : { path, ino: -1 };
  try {
    // Most stamps are of sensitive paths that do not exist: a thrown ENOENT costs an Error with
    // a stack trace (~10x the lstat itself).
    const st = lstatSync(path, { bigint: true, throwIfNoEntry: false });
    if (st === undefined) return missing;
    const ino = Number(st.ino);
    if (!withMtime) return { path, ino };
    return { path, ino, mtime: { sec: Number(st.mtimeNs / 1_000_000_000n), nsec: Number(st.mtimeNs % 1_000_000_000n) } };
  } catch {
    return missing;
  }
}

// Every spawn revalidates: one native call lstat-ing every stamped path (~20 for a workspace
// policy), instead of as many fs.lstatSync calls and Stats objects.
function stampsValid(entry: CacheEntry): boolean {
  if (entry.stamps.length === 0) return true;
  const now = native().lstatStamps(entry.stampPaths);
  return entry.stamps.every((s, i) => now[3 * i] === s.ino && (s.mtime === undefined || (now[3 * i + 1] === s.mtime.sec && now[3 * i + 2] === s.mtime.nsec)));
}

// Policies are immutable: their JSON, part of every cache key, is built once per policy.
const policyJsons = new WeakMap<SandboxPolicy, string>();
function policyJson(policy: SandboxPolicy): string {
  let json = policyJsons.get(policy);
  if (json === undefined) {
    json = JSON.stringify(policy.toJSON());
    policyJsons.set(policy, json);
  }
  return json;
}

/**
 * Compiles (or returns the cached) filesystem plan. Cached per (policy JSON, cwd, ABI cap,
 * network, namespaces, enforcement, HOME, TMPDIR); a cached plan is rebuilt, and its ruleset
 * closed, when a path it depends on changed (an inode of a root, mask target or missing
 * sensitive path, or the entries of a directory given sibling grants). Callers should ask for
 * the plan on every spawn (a cache hit is a handful of lstat calls) rather than keep the fd.
 * Throws PolicyError for a writable root that is missing or not a directory.
 */
export function compileFilesystemPlan(input: FilesystemPlanInput): FilesystemPlan {
  const key = JSON.stringify([
    policyJson(input.policy),
    input.cwd,
    input.landlockAbiCap ?? null,
    input.network,
    input.namespaces,
    input.enforcement,
    input.ptyPath ?? null,
    input.protectMissingMetadata ?? 'placeholder',
    input.tmp ?? 'private',
    input.tmpSizeMb ?? null,
    input.devices ?? null,
    process.env.HOME ?? null,
    process.env.TMPDIR ?? null,
    input.probe.landlockAbi,
    input.probe.isRoot,
    input.probe.mountNamespace,
  ]);
  const hit = cache.get(key);
  if (hit && stampsValid(hit) && (!hit.plan.needsMountNamespace || ++hit.uses < RULESET_REUSE_LIMIT)) {
    cache.delete(key); // to the back: the most recently used
    cache.set(key, hit);
    return hit.plan;
  }
  if (hit) {
    cache.delete(key);
    releasePlan(hit.plan);
  }
  // A sibling-granted entry can vanish between readdir and open (ENOENT): plan again once.
  let built: Omit<CacheEntry, 'stampPaths' | 'uses'>;
  try {
    built = buildPlan(input);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT' || (e as NodeJS.ErrnoException).syscall !== 'open') throw e;
    built = buildPlan(input);
  }
  const entry: CacheEntry = { ...built, uses: 1, stampPaths: built.stamps.map((st) => `${st.path}\0`).join('') };
  while (cache.size >= MAX_CACHED_PLANS) {
    const [oldestKey, oldest] = cache.entries().next().value!;
    cache.delete(oldestKey);
    releasePlan(oldest.plan);
  }
  cache.set(key, entry);
  return entry.plan;
}

/** Closes every cached ruleset and forgets the plans (tests; long-lived hosts changing policy). */
export function clearFilesystemPlanCache(): void {
  for (const e of cache.values()) releasePlan(e.plan);
  cache.clear();
}

function releasePlan(plan: FilesystemPlan): void {
  if (plan.rulesetFd >= 0) {
    native().landlock.closeRuleset(plan.rulesetFd);
    plan.rulesetFd = -1;
  }
}

interface Entry {
  resolved: ResolvedPath;
  blockRead: boolean;
  blockWrite: boolean;
  /** One of the write-protected names inside a writable root (not from the sensitive list). */
  metadata: boolean;
  underRoot: boolean;
  /** Repository metadata named by a `.git` file: why this entry is protected (for the report). */
  linkedFrom?: string;
}

function canonicalRoots(input: FilesystemPlanInput, stamps: Stamp[]): { roots: string[]; callerRoots: string[]; skipped: string[] } {
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
function linkedGitDirs(roots: readonly string[], stamps: Stamp[]): { links: { path: string; from: string }[]; notes: Protection[] } {
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

function collectEntries(input: FilesystemPlanInput, roots: string[], stamps: Stamp[]): { entries: Entry[]; notes: Protection[] } {
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

/** The empty 0000 file bound over sensitive files (EACCES is clearer than /dev/null's EOF). */
function emptyMaskFile(stamps: Stamp[]): { dir: string; file: string } {
  const uid = process.getuid?.() ?? 0;
  const dir = join(realpathSync(tmpdir()), `cordon-${uid}`);
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const dst = lstatSync(dir);
  if (!dst.isDirectory() || dst.uid !== uid) {
    throw new PolicyError([{ path: 'filesystem', message: `${dir} must be a directory owned by uid ${uid} (it holds cordon's mask file)` }]);
  }
  const file = join(dir, 'empty');
  let st;
  try {
    st = lstatSync(file);
  } catch {
    st = undefined;
  }
  if (!st || !st.isFile() || st.size !== 0 || (st.mode & 0o7777) !== 0 || st.uid !== uid) {
    if (st) unlinkSync(file);
    const fd = openSync(file, 'wx', 0o600);
    fchmodSync(fd, 0);
    closeSync(fd);
  }
  stamps.push(stampOf(file, false), stampOf(dir, false));
  return { dir, file };
}

/**
 * The temp dirs a WorkspaceWrite sandbox gets fresh (mount-plan.ts step 7): /tmp and $TMPDIR,
 * unless one lies in a root the caller named (or the cwd: then it is theirs, kept as it is),
 * or holds another (made inside it instead). What the caller needs beneath one stays visible:
 * their roots, the cwd and $HOME are carried over.
 */
function privateTempDirs(input: FilesystemPlanInput, callerRoots: readonly string[], stamps: Stamp[]): PrivateTemp[] {
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
function makePlaceholders(roots: readonly string[]): { made: string[]; failed: Map<string, string> } {
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

/**
 * The mounts holding these device files, each the only kind of mount whose device nodes open
 * (the rest of the tree is nodev): a device file that is a mount of its own (a bind, as
 * container runtimes make) is one itself. Null when one lies on the root mount, which cannot
 * allow devices without allowing every node on the root file system.
 */
function deviceMountsOf(devices: readonly string[]): string[] | null {
  const out: string[] = [];
  for (const device of devices) {
    let root: string;
    try {
      let cur = dirname(device);
      if (statSync(cur).dev !== lstatSync(device).dev) root = device;
      else {
        while (cur !== '/' && statSync(dirname(cur)).dev === statSync(cur).dev) cur = dirname(cur);
        root = cur;
      }
    } catch {
      return null;
    }
    if (root === '/') return null;
    if (!out.includes(root)) out.push(root);
  }
  return out;
}

/** The device files granted by name (and, with a private /dev, carried into it): existing character devices only. */
function deviceFiles(input: FilesystemPlanInput): string[] {
  const out: string[] = [];
  for (const path of [...BASE_DEVICES, ...(input.ptyPath ? [input.ptyPath] : []), ...(input.devices ?? [])]) {
    try {
      const canonical = realpathSync(path);
      if (canonical.startsWith('/dev/') && statSync(canonical).isCharacterDevice() && !out.includes(canonical)) out.push(canonical);
    } catch {
      // /dev/tty is absent in some containers: nothing to grant.
    }
  }
  return out;
}

function buildPlan(input: FilesystemPlanInput): Omit<CacheEntry, 'stampPaths' | 'uses'> {
  const { policy, probe } = input;
  const stamps: Stamp[] = [];
  const kernelAbi = Math.min(probe.landlockAbi, MAX_KNOWN_ABI);
  const abi = Math.max(0, Math.min(kernelAbi, input.landlockAbiCap ?? Number.POSITIVE_INFINITY));
  const abiBy = `landlock abi ${abi}`;
  const protections: Protection[] = [];
  const missing: string[] = [];
  const need = (p: Protection): void => {
    protections.push(p);
    if (!p.enforced) missing.push(p.gaps.length > 0 ? `${p.what} (${p.gaps.join(', ')})` : p.what);
  };

  const confining = policy.kind === 'ReadOnly' || policy.kind === 'WorkspaceWrite';
  const net = networkRules(input.network, abi);

  if (!confining) {
    const fd = net.handled !== 0 ? native().landlock.createRuleset({ handledAccessFs: 0, handledAccessNet: net.handled, pathRules: [], netRules: net.rules }) : -1;
    if (input.network.mode !== 'full') protections.push(net.protection);
    const roots = policy.getWritableRootsWithCwd(input.cwd).map((r) => r.root);
    return {
      plan: {
        rulesetFd: fd,
        mounts: [],
        needsMountNamespace: false,
        report: { mode: 'unrestricted', landlockAbi: fd >= 0 ? abi : 0, protections, frozenDirs: [] },
        missing: [],
        writableRoots: roots,
        anchors: [],
        privateTemp: [],
        deviceMounts: null,
        rules: [],
      },
      stamps,
    };
  }

  const { roots, callerRoots, skipped } = canonicalRoots(input, stamps);
  const mountNs = input.namespaces && probe.mountNamespace && (probe.isRoot || probe.userNamespaces);
  const landlock = abi >= 1;
  const protectMissing = input.protectMissingMetadata ?? 'placeholder';
  const freezeMetadata = protectMissing === 'freeze-top-level' || (protectMissing === 'placeholder' && !mountNs);
  // A private /dev and fresh temp dirs are built from detached copies (open_tree, move_mount),
  // and take the read-only tree's kernel (mount_setattr, Linux 5.12) as the line.
  const freshDirs = mountNs && kernelHasMountSetattr(probe.release);
  const privateTemp = freshDirs && policy.kind === 'WorkspaceWrite' && input.tmp !== 'host' ? privateTempDirs(input, callerRoots, stamps) : [];
  // Beneath a fresh temp dir, Landlock cannot deny anything (the child grants the whole tmpfs);
  // what is not carried over into it is the sandbox's own, out of the host's reach.
  const beneathTemp = (p: string): boolean => privateTemp.some((t) => isWithin(p, t.target));
  const hiddenByTemp = (p: string): boolean => privateTempHiding(p, privateTemp) !== undefined;
  // A git directory listed as a writable root (how a caller lets a tool commit) holds no
  // protected names of meaning: `.git/.git` is nothing to git.
  const gitDirRoots = new Set(callerRoots.filter((r) => existsSync(join(r, 'HEAD')) && (existsSync(join(r, 'objects')) || existsSync(join(r, 'commondir')))));
  const { made: placeholders, failed: placeholderFailures } =
    protectMissing === 'placeholder' && mountNs ? makePlaceholders(callerRoots.filter((r) => !gitDirRoots.has(r) && !hiddenByTemp(r))) : { made: [], failed: new Map<string, string>() };
  const { entries, notes: gitNotes } = collectEntries(input, roots, stamps);
  // How a protected name missing at the top of a writable root is kept from being created.
  const missingMetadata = (e: Entry): 'hidden' | 'not-ours' | 'allowed' | 'freeze' | 'open' | null => {
    if (!e.metadata || e.resolved.exists || !e.underRoot) return null;
    const c = e.resolved.canonical;
    if (hiddenByTemp(c)) return 'hidden';
    const root = c.slice(0, c.lastIndexOf('/')) || '/';
    // A shared temp dir (its risk is the write rule's host-temp-writable gap) or a git directory.
    if (!callerRoots.includes(root) || gitDirRoots.has(root)) return 'not-ours';
    if (protectMissing === 'allow') return 'allowed';
    return freezeMetadata ? 'freeze' : 'open';
  };
  const devices = deviceFiles(input);
  const devProtected = !roots.some((r) => isWithin('/dev', r) || isWithin(r, '/dev'));

  // ---- mount plan (modes A and mountns-only) ----
  const mounts: NativeMountOp[] = [];
  let maskFile: { dir: string; file: string } | undefined;
  if (mountNs) {
    const sorted = [...entries].sort((a, b) => a.resolved.canonical.length - b.resolved.canonical.length);
    for (const e of sorted) {
      const r = e.resolved;
      if (!r.exists) continue;
      if (e.blockRead) {
        if (r.isDir) {
          mounts.push({ kind: MountKind.tmpfsMask, target: r.canonical });
        } else {
          maskFile ??= emptyMaskFile(stamps);
          mounts.push({ kind: MountKind.fileMask, target: r.canonical, source: maskFile.file, preservedFlags: hostMountFlags(r.canonical) });
        }
        stamps.push(stampOf(r.canonical, false));
      } else if (e.underRoot || !landlock || e.linkedFrom) {
        // A linked gitdir outside the roots is read-only by Landlock already; the bind also
        // refuses chmod/utime there, which Landlock does not cover.
        mounts.push({ kind: MountKind.bindReadOnly, target: r.canonical, preservedFlags: hostMountFlags(r.canonical) });
        stamps.push(stampOf(r.canonical, false));
      }
    }
    // The mask file's directory may itself lie in a writable root (/tmp): bind it read-only
    // first so the sandbox cannot replace what later sandboxes see through their masks.
    if (maskFile && roots.some((r) => isWithin(maskFile!.dir, r))) {
      mounts.unshift({ kind: MountKind.bindReadOnly, target: maskFile.dir, preservedFlags: hostMountFlags(maskFile.dir) });
    }
  }
  const masked = (e: Entry): boolean => mounts.some((m) => m.target === e.resolved.canonical);
  const anchors = mountNs ? anchorsFor(roots, mounts.map((m) => m.target)) : [];
  const deviceMounts = freshDirs && devProtected ? deviceMountsOf(devices) : null;

  // ---- Landlock specials ----
  let rulesetFd = -1;
  let rules: { path: string; access: number }[] = [];
  let splitDirs: { path: string; rights: number; listed: boolean }[] = [];
  const freezeFor = new Map<Entry, string>(); // missing entry → the directory frozen for it
  const guardFor = new Map<Entry, string>(); // missing read-denied entry outside the roots → the directory split for it
  if (landlock) {
    const handled = handledAccessFs(abi);
    const specials: Special[] = [];
    for (const root of roots) {
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
    if (devProtected) specials.push({ path: '/dev', rights: F.READ_DIR & handled });
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
        if (masked(e) && (e.underRoot || !e.blockRead || beneathTemp(r.canonical))) continue;
        // Landlock-only deny: read-denied paths keep READ_DIR inherited from their split
        // ancestors (so `ls /`, `ls ~` work; the names inside are listed: gap names-listed).
        specials.push({ path: r.canonical, rights: (e.blockRead ? F.READ_DIR : READ) & handled });
      } else if (e.underRoot && e.blockWrite && (!e.metadata || missingMetadata(e) === 'freeze')) {
        specials.push({ path: r.canonical, rights: READ & handled });
        freezeFor.set(e, nearestExisting(r.canonical));
      } else if (!e.underRoot && e.blockRead && !beneathTemp(r.canonical)) {
        // Missing outside the writable roots: nothing to read now, but the host may make it
        // while the sandbox runs (`aws configure`, `gh auth login`, `ssh-keygen`). Its nearest
        // existing ancestor is split, so what appears there later gets only READ_DIR.
        specials.push({ path: r.canonical, rights: F.READ_DIR & handled });
        guardFor.set(e, nearestExisting(r.canonical));
      }
    }
    const planned = planRules({ path: '/', rights: READ & handled }, specials);
    for (const device of devices) planned.rules.set(device, (planned.rules.get(device) ?? 0) | (DEVICE_RIGHTS & handled));
    rules = [...planned.rules].map(([path, access]) => ({ path, access }));
    splitDirs = planned.splitDirs;
    for (const d of splitDirs) stamps.push(stampOf(d.path, true));
    for (const e of entries) if (!e.resolved.exists) stamps.push(stampOf(e.resolved.canonical, false));
    let scoped = LANDLOCK_SCOPE.SIGNAL;
    if (input.network.mode !== 'full') scoped |= LANDLOCK_SCOPE.ABSTRACT_UNIX_SOCKET;
    rulesetFd = native().landlock.createRuleset({
      handledAccessFs: handled,
      handledAccessNet: net.handled,
      scoped: scoped & supportedScopes(abi),
      pathRules: rules,
      netRules: net.rules,
    });
  }

  // ---- report ----
  const mode: FilesystemReport['mode'] = landlock
    ? mounts.length > 0
      ? 'landlock+mountns'
      : 'landlock-only'
    : mounts.length > 0
      ? 'mountns-only'
      : 'none';
  const splitGaps = splitDirs.map((d) => (d.listed ? `new-entries-uncovered:${d.path}` : `unlistable-dir:${d.path}`));
  const writeGaps: string[] = ['metadata-ops-not-covered'];
  if (landlock && abi < 2) writeGaps.push('cross-directory-rename-denied');
  if (landlock && abi < 5) writeGaps.push('device-ioctl-unrestricted');
  for (const s of skipped) writeGaps.push(`implicit-root-skipped:${s}`);
  // Missing protected names the caller lets tools create: no protection to report, a gap of the
  // write rule instead.
  for (const e of entries) if (missingMetadata(e) === 'allowed') writeGaps.push(`protected-create-allowed:${e.resolved.canonical}`);
  // A writable temp dir the host shares: whatever the sandbox plants there (`.git` with
  // core.fsmonitor, node_modules) runs in the host's own git or node later, unsandboxed.
  for (const c of [realpathOrNull('/tmp'), realpathOrNull(process.env.TMPDIR)]) {
    if (c !== null && roots.includes(c) && !privateTemp.some((t) => t.target === c)) {
      writeGaps.push(`host-temp-writable:${c} (a .git, hook or node_modules planted there runs in the host's own git or node later)`);
    }
  }
  need({
    what: policy.kind === 'ReadOnly' ? 'no writes (except the device files granted by name)' : 'writes only beneath writable roots',
    enforced: landlock,
    by: landlock ? [abiBy] : [],
    gaps: landlock ? writeGaps : ['landlock-unavailable'],
  });
  need({
    what: 'no truncation outside writable roots',
    enforced: abi >= 3,
    by: abi >= 3 ? [abiBy] : [],
    gaps: abi >= 3 ? [] : ['truncate-not-covered (LANDLOCK_ACCESS_FS_TRUNCATE needs ABI 3)'],
  });
  if (devProtected) {
    need({
      what: `devices only by name: ${devices.join(', ')}`,
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
  for (const t of privateTemp) {
    need({
      what: `private ${t.target} (the host's is never written)`,
      enforced: true,
      by: [`mount namespace (a fresh tmpfs of ${t.sizeMb} MiB per sandboxed process, gone with it)`],
      gaps: t.keep.map((k) => `carried-over:${k}`),
    });
  }

  for (const e of entries) {
    const meta = missingMetadata(e);
    if (meta === 'allowed' || meta === 'not-ours') continue;
    const r = e.resolved;
    const what = e.blockRead ? `deny read+write ${r.canonical}` : `read-only ${r.canonical}${e.linkedFrom ? ` (${e.linkedFrom})` : ''}`;
    const by: string[] = [];
    const gaps: string[] = [];
    let enforced: boolean;
    if (r.swappableLink) gaps.push(`symlink-in-writable-root:${r.swappableLink}`);
    if (r.exists) {
      if (masked(e)) {
        by.push(e.blockRead ? `mount namespace (${r.isDir ? 'empty read-only tmpfs' : 'empty 0000 file'})` : 'mount namespace (read-only bind)');
        if (placeholders.includes(r.canonical)) by.push('an empty placeholder directory, made on the host where the name was missing');
        enforced = true;
        if (e.blockRead && landlock && !e.underRoot && !beneathTemp(r.canonical)) {
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
    } else if (!e.underRoot) {
      // Missing outside every writable root: the sandbox cannot create it, and (read-denied ones)
      // cannot read it when the host makes it while the sandbox runs.
      enforced = landlock;
      if (landlock) {
        by.push(`${abiBy} (absent; cannot be created outside writable roots)`);
        const split = guardFor.get(e);
        if (split !== undefined) by.push(`landlock sibling grants (${split} split: what the host makes there later is unreadable)`);
        else if (e.blockRead && beneathTemp(r.canonical)) gaps.push('readable if the host makes it while the sandbox runs (it lies beneath a private temp dir)');
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
      gaps.push(`protected-create-not-blocked (no placeholder could be made: ${placeholderFailures.get(r.canonical) ?? 'no mount namespace'})`);
    } else {
      enforced = false;
      gaps.push('protected-create-not-blocked', 'landlock-unavailable');
    }
    if (r.swappableLink) enforced = false;
    need({ what, enforced, by, gaps: [...gaps, ...(by.includes('landlock sibling grants') ? splitGaps.filter((g) => isAncestorGap(g, r.canonical)) : [])] });
  }

  // A gitdir that cannot be protected (unresolvable, or holding a writable root) is a protection
  // of the policy that does not hold: strict mode refuses it. (A tool cannot plant such a `.git`
  // file at the top of a writable root: the missing name is a placeholder or frozen.)
  for (const note of gitNotes) need(note);
  if (input.network.mode !== 'full') protections.push(net.protection);
  protections.push({
    what: 'signals only to processes inside the sandbox',
    enforced: landlock && abi >= 6,
    by: landlock && abi >= 6 ? [`${abiBy} (LANDLOCK_SCOPE_SIGNAL)`] : [],
    gaps: landlock && abi >= 6 ? [] : ['signal-scope-unavailable'],
  });
  // Pathname unix sockets are one class of enforcement.isolation (src/isolation.ts): mount masks,
  // seccomp, and LANDLOCK_ACCESS_FS_RESOLVE_UNIX (handled above from ABI 9) together.

  return {
    plan: {
      rulesetFd,
      mounts,
      needsMountNamespace: mounts.length > 0 || anchors.length > 0 || privateTemp.length > 0 || deviceMounts !== null,
      report: {
        mode,
        landlockAbi: landlock ? abi : 0,
        protections,
        frozenDirs: splitDirs.filter((d) => (d.rights & F.MAKE_REG) === 0 && roots.some((r) => isWithin(d.path, r))).map((d) => d.path),
      },
      missing,
      writableRoots: roots,
      anchors,
      privateTemp,
      deviceMounts,
      rules,
    },
    stamps,
  };
}

function realpathOrNull(path: string | undefined): string | null {
  if (path === undefined || !path.startsWith('/')) return null;
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

function isAncestorGap(gap: string, path: string): boolean {
  const dir = gap.slice(gap.indexOf(':') + 1);
  return path !== dir && isWithin(path, dir);
}

function nearestExisting(path: string): string {
  let cur = path;
  for (;;) {
    const parent = cur.slice(0, cur.lastIndexOf('/')) || '/';
    try {
      lstatSync(parent);
      return parent;
    } catch {
      if (parent === '/') return '/';
      cur = parent;
    }
  }
}

function networkRules(
  network: FilesystemPlanInput['network'],
  abi: number,
): { handled: number; rules: { port: number; access: number }[]; protection: Protection } {
  const supported = handledAccessNet(abi);
  const by = abi >= 4 ? [`landlock abi ${abi}`] : [];
  const tcpGaps = ['udp-not-covered', 'mptcp-not-covered (refused by seccomp)'];
  if (network.mode === 'none') {
    return {
      handled: supported,
      rules: [],
      protection: { what: 'tcp bind and connect denied', enforced: abi >= 4, by, gaps: abi >= 4 ? tcpGaps : ['landlock-tcp-unavailable (ABI 4)'] },
    };
  }
  if (network.mode === 'allowlist' && network.connectPorts === undefined) {
    // In its own network namespace, where loopback and the host's listeners are all there is.
    return {
      handled: 0,
      rules: [],
      protection: { what: 'tcp: the network namespace holds only its loopback and the host\'s listeners', enforced: true, by: ['network namespace'], gaps: [] },
    };
  }
  if (network.mode === 'allowlist') {
    const ports = [...new Set(network.connectPorts ?? [])].sort((a, b) => a - b);
    return {
      handled: supported & LANDLOCK_ACCESS_NET.CONNECT_TCP,
      rules: abi >= 4 ? ports.map((port) => ({ port, access: LANDLOCK_ACCESS_NET.CONNECT_TCP })) : [],
      protection: {
        what: `tcp connect only to ports ${ports.join(', ') || '(none)'}`,
        enforced: abi >= 4,
        by,
        gaps: abi >= 4 ? tcpGaps : ['landlock-tcp-unavailable (ABI 4)'],
      },
    };
  }
  return { handled: 0, rules: [], protection: { what: 'network unrestricted', enforced: true, by: [], gaps: [] } };
}

/** Re-exported for tests: canonicalisation with symlink detection. */
export { resolveGuarded } from './paths.js';
