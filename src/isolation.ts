// The host state a confined child must not reach through the filesystem view it shares with
// the host (issue classes Landlock alone leaves open): unix sockets the host created, metadata
// changes outside the writable roots, protected dirs swapped away, the host's /dev/shm and
// kernel settings. In the mount-namespace mode each becomes a mount operation of the child;
// elsewhere the enforcement report names what stays open.
import { lstatSync, realpathSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { native, type NativeMountOp } from './native.js';
import { MountKind } from './native-types.js';
import { isWithin } from './policy/paths.js';
import { registerCache } from './caches.js';

const MS_NOSUID = 2;
const MS_NODEV = 4;
const MS_NOEXEC = 8;

function canonical(path: string): string | null {
  try {
    return realpathSync(path);
  } catch {
    return null;
  }
}

/**
 * Writable roots whose content is shared with unrelated host software (`/tmp`, `$TMPDIR`): the
 * sandbox may write there, but sockets other programs left there are not the tool's.
 */
function sharedTempRoots(env: NodeJS.ProcessEnv): Set<string> {
  const out = new Set<string>();
  for (const p of ['/tmp', '/var/tmp', env.TMPDIR]) {
    const c = p ? canonical(p) : null;
    if (c) out.add(c);
  }
  return out;
}

/** Mount ops hiding the host's unix sockets, the paths they hide, and what they cannot cover. */
export interface SocketMasks {
  mounts: NativeMountOp[];
  masked: string[];
  gaps: string[];
}
// Per (roots, cwd, environment, host sockets): a host using several workspaces in turn keeps one
// plan, and so one standby child, per workspace.
const socketCache = new Map<string, SocketMasks>();
let lastMasks:
  | { paths: string[]; roots: readonly string[]; cwd: string; home: string; tmp: string; known: string[]; masks: SocketMasks }
  | undefined;

// /proc/net/unix is read on every spawn (host sockets come and go), by the addon through one fd
// kept open, and parsed only when its text changed. UTF-8: a path that is not valid UTF-8
// cannot be named to lstat or mount here, and is left unmasked like a vanished one.
let unixSockets = { version: 0, paths: [] as string[] };
registerCache({
  name: 'isolation.ts socketCache, lastMasks, unixSockets',
  key: '(writable roots, cwd, HOME, TMPDIR, the host sockets bound)',
  bound: '16 mask sets, oldest first; one parsed /proc/net/unix',
  invalidation: '/proc/net/unix is re-read on every spawn (through a kept fd) and parsed when its text changed',
  size: () => socketCache.size,
  clear: () => {
    socketCache.clear();
    lastMasks = undefined;
    unixSockets = { version: 0, paths: [] };
  },
});

/** Paths of the unix sockets bound in this network namespace (the host's), as given to bind(). */
function boundUnixSocketPaths(): string[] {
  let read: { version: number; text: string } | null;
  try {
    read = native().readIfChanged('/proc/net/unix', unixSockets.version);
  } catch {
    return [];
  }
  if (read === null) return unixSockets.paths;
  const out: string[] = [];
  for (const line of read.text.split('\n').slice(1)) {
    // Num RefCount Protocol Flags Type St Inode Path — the path is everything after the 7th field
    // (it may contain spaces); abstract names start with '@'. A relative path is kept as is: the
    // kernel prints sun_path as the binder gave it, relative to a cwd nobody records.
    const m = /^\s*\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+\S+\s+([^@\s].*)$/.exec(line);
    if (m?.[1]) out.push(m[1]);
  }
  unixSockets = { version: read.version, paths: out };
  return out;
}

/** Directories where desktops and daemons keep their sockets (session bus, X11, ssh/gpg agents). */
function knownSocketDirs(env: NodeJS.ProcessEnv): string[] {
  const dirs = ['/tmp/.X11-unix', '/tmp/.ICE-unix'];
  if (typeof process.getuid === 'function') dirs.push(`/run/user/${process.getuid()}`);
  if (env.XDG_RUNTIME_DIR) dirs.push(env.XDG_RUNTIME_DIR);
  if (env.SSH_AUTH_SOCK?.startsWith('/')) dirs.push(dirname(env.SSH_AUTH_SOCK));
  if (env.GNUPGHOME) dirs.push(env.GNUPGHOME);
  return dirs;
}

/**
 * Masks over the host's unix sockets outside the tool's own roots: an empty read-only tmpfs
 * over socket directories (nothing can be created there either), and /dev/null bound read-only
 * and nodev over each other bound socket, so connect() finds no socket. Sockets beneath a
 * writable root other than the shared temp dirs stay reachable: they are the caller's workspace.
 *
 * /proc/net/unix names a socket by the path it was bound at and never follows a rename, so a
 * socket's directory must not be renameable by the sandbox either: where a socket lies deeper
 * in a writable shared temp dir (/tmp/tmux-1000/default), the directory just below the temp dir
 * is masked as a whole (a mountpoint: rename fails with EBUSY); a socket directly in it is a
 * mountpoint itself. Masks never hide the cwd, $HOME or a writable root (the sockets inside get
 * file masks instead).
 *
 * Cached on every input, so an exec loop re-reads /proc/net/unix but re-plans only when the
 * host's sockets changed.
 */
export function hostUnixSocketMasks(writableRoots: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env): SocketMasks {
  const paths = boundUnixSocketPaths();
  const known = knownSocketDirs(env);
  const home = env.HOME ?? '';
  const tmp = env.TMPDIR ?? '';
  // An exec loop asks with the same inputs every time: the socket list (the same array while
  // /proc/net/unix is unchanged) and the plan's roots array are compared by identity.
  const last = lastMasks;
  if (last && last.paths === paths && last.roots === writableRoots && last.cwd === cwd && last.home === home && last.tmp === tmp && last.known.join('\0') === known.join('\0')) {
    return last.masks;
  }
  const key = JSON.stringify([writableRoots, cwd, home, tmp, known, paths]);
  const hit = socketCache.get(key);
  if (hit) {
    lastMasks = { paths, roots: writableRoots, cwd, home, tmp, known, masks: hit };
    return hit;
  }

  const shared = sharedTempRoots(env);
  const writableShared = writableRoots.filter((r) => shared.has(r));
  const ownRoots = writableRoots.filter((r) => !shared.has(r));
  const isOwn = (p: string): boolean => ownRoots.some((r) => isWithin(p, r));
  const keepVisible = [...writableRoots, cwd, ...(env.HOME ? [canonical(env.HOME) ?? env.HOME] : [])];
  const hides = (d: string): boolean => d === '/' || shared.has(d) || keepVisible.some((p) => isWithin(p, d));
  const gaps: string[] = [];

  const dirs: string[] = [];
  const addDir = (d: string): boolean => {
    if (dirs.includes(d)) return true;
    if (hides(d)) return false;
    try {
      if (!lstatSync(d).isDirectory()) return false;
    } catch {
      return false;
    }
    dirs.push(d);
    return true;
  };
  for (const d of known) {
    const c = canonical(d);
    if (c && !isOwn(c)) addDir(c);
  }
  const sockets: string[] = [];
  let relative = 0;
  for (const p of paths) {
    if (!p.startsWith('/')) {
      relative++;
      continue;
    }
    const dir = canonical(dirname(p));
    if (!dir) continue;
    const c = join(dir, p.slice(p.lastIndexOf('/') + 1));
    if (isOwn(c) || sockets.includes(c)) continue;
    try {
      if (!lstatSync(c).isSocket()) continue;
    } catch {
      continue; // bound in another mount namespace, or already unlinked
    }
    sockets.push(c);
    const temp = writableShared.find((t) => isWithin(c, t));
    if (temp && dirname(c) !== temp) {
      const top = join(temp, c.slice(temp.length + 1).split('/')[0] as string);
      if (!addDir(top)) gaps.push(`${c}: its directory ${top} can be renamed away (it holds the cwd, $HOME or a writable root)`);
    }
  }
  if (relative > 0) gaps.push(`${relative} socket(s) bound with a relative path: location unknown, not masked`);
  const files = sockets.filter((c) => !dirs.some((d) => isWithin(c, d)));
  const mounts: NativeMountOp[] = [
    ...dirs.map((target) => ({ kind: MountKind.tmpfsMask, target, optional: true })),
    ...files.map((target) => ({ kind: MountKind.fileMask, target, source: '/dev/null', preservedFlags: MS_NOSUID | MS_NODEV | MS_NOEXEC, optional: true })),
  ];
  const masks = { mounts, masked: [...dirs, ...files], gaps };
  if (socketCache.size >= 16) socketCache.delete(socketCache.keys().next().value!);
  socketCache.set(key, masks);
  lastMasks = { paths, roots: writableRoots, cwd, home, tmp, known, masks };
  return masks;
}

/** One escape class of the enforcement report: how this child is kept from it, or why not. */
export interface IsolationClass {
  class: string;
  enforced: boolean;
  by: string[];
  gaps: string[];
}

/** What the spawn plan applies, as far as the escape classes are concerned. */
export interface IsolationFacts {
  mountNamespace: boolean;
  pidNamespace: boolean;
  ipcNamespace: boolean;
  /** The tree is read-only by mount, writable roots re-bound (mount namespace + mount_setattr). */
  readOnlyTree: boolean;
  /** Landlock ABI the ruleset uses (0: none). */
  landlockAbi: number;
  /** A seccomp filter that refuses (not only logs) is installed. */
  seccompRefuses: boolean;
  /** The filter applies the argument hardening (setuid modes, socket protocols). */
  seccompHardening: boolean;
  unixSocketsRefused: boolean;
  sysvIpcRefused: boolean;
  keyringsRefused: boolean;
  maskedSockets: number;
  /** What the socket masks could not cover (relative binds, renameable dirs). */
  socketGaps: string[];
  /** /dev/shm was replaced by a private tmpfs. */
  privateShm: boolean;
}

/**
 * One line per escape class: enforced or not on this kernel, by what, and what stays open.
 * Classes that hold only partly say so in `gaps`; `enforced: false` means the class is open.
 */
export function isolationReport(f: IsolationFacts): IsolationClass[] {
  const out: IsolationClass[] = [];
  const add = (cls: string, by: string[], gaps: string[] = []): void => {
    out.push({ class: cls, enforced: by.length > 0, by, gaps });
  };

  const sockets: string[] = [];
  if (f.mountNamespace) sockets.push(`mount namespace: host socket dirs and bound sockets masked (${f.maskedSockets} here)`);
  if (f.unixSocketsRefused) sockets.push('seccomp: socket(AF_UNIX) refused, socketpair allowed');
  if (f.landlockAbi >= 9) sockets.push('landlock LANDLOCK_ACCESS_FS_RESOLVE_UNIX (only beneath writable roots)');
  add(
    'unix-pathname-sockets',
    sockets,
    f.mountNamespace
      ? [
          'sockets beneath the writable roots (other than /tmp, $TMPDIR) stay reachable',
          'a socket bound after the spawn, or bound in another network namespace (not in this /proc/net/unix), outside the masked dirs is reachable',
          ...f.socketGaps,
        ]
      : f.unixSocketsRefused
        ? []
        : f.landlockAbi >= 9
          ? ['host sockets beneath the writable roots, /tmp and $TMPDIR included, are reachable']
          : ['host unix sockets (docker, ssh-agent, D-Bus, X11) reachable where file modes allow'],
  );

  add(
    'metadata-outside-writable-roots',
    f.readOnlyTree ? ['mount namespace: whole tree read-only, writable roots re-bound (chmod, chown, utime, xattr: EROFS)'] : [],
    f.readOnlyTree ? [] : ['chmod, chown, utimensat, setxattr on files the caller owns outside the writable roots (Landlock does not cover them)'],
  );

  add(
    'protected-dir-replacement',
    f.mountNamespace
      ? [f.readOnlyTree ? 'mount namespace: protected dirs and every writable root are mountpoints (rename, rmdir: EBUSY)' : 'mount namespace: protected dirs are mountpoints (rename, rmdir: EBUSY)']
      : f.landlockAbi > 0
        ? ['landlock: protected names frozen in their root (no remove, rename or create)']
        : [],
    f.mountNamespace && f.readOnlyTree ? [] : ['a writable root inside another writable root can itself be renamed away'],
  );

  add('other-syscall-abis', f.seccompRefuses || f.seccompHardening ? ['seccomp: i386, x32 and AArch32 entries killed (arch check first)'] : []);

  add(
    'socket-protocols',
    f.seccompRefuses && f.seccompHardening ? ['seccomp: family, type & 0xf and protocol checked (no MPTCP, SCTP, UDP-Lite, ICMP, raw, packet)'] : [],
  );

  const host: string[] = [];
  if (f.pidNamespace) host.push('pid namespace + fresh /proc (host pids invisible)');
  if (f.landlockAbi >= 6) host.push('landlock signal scope');
  if (f.landlockAbi > 0) host.push('landlock ptrace rule (host /proc/<pid>/environ, fd, mem unreadable)');
  add('host-processes', host, f.pidNamespace ? [] : [...(f.landlockAbi >= 6 ? [] : ['signals to host processes of the same uid']), 'host /proc/<pid>/cmdline and status readable (process list visible)']);

  add('inherited-fds', ['close_range(CLOSE_RANGE_CLOEXEC) in the child over the fd table copied at clone']);

  add('sysv-ipc', f.ipcNamespace ? ['ipc namespace (SysV shm, msg, sem and POSIX mqueues private)'] : f.sysvIpcRefused ? ['seccomp: SysV IPC and mq_* refused'] : []);
  add('posix-shm', f.privateShm ? ['mount namespace: private /dev/shm'] : [], f.privateShm ? [] : ['host /dev/shm readable where file modes allow']);
  add('keyrings', f.keyringsRefused ? ['seccomp: add_key, request_key, keyctl refused'] : []);
  add(
    'setuid-bits',
    [
      ...(f.seccompRefuses && f.seccompHardening ? ['seccomp: S_ISUID/S_ISGID in chmod and create modes refused'] : []),
      ...(f.readOnlyTree ? ['writable roots mounted nosuid'] : []),
      'no_new_privs',
    ],
    f.seccompRefuses && f.seccompHardening ? [] : ['a setuid file can be left for the host to run'],
  );
  add(
    'kernel-settings',
    [...(f.landlockAbi > 0 ? ['landlock: no writes outside the writable roots'] : []), ...(f.readOnlyTree ? ['mount namespace: /proc and /sys read-only'] : [])],
  );
  return out;
}
