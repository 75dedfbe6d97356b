// Resource limits: which mechanism holds each limit of a policy's ResourceLimits on this
// machine (pure decision, planLimits), the per-spawn cgroup session (LimitSession: create the
// leaves, hand their cgroup.procs fds to the child, read the evidence at exit, kill, remove),
// and why a child ended (classifyTermination).
//
// Strongest first, per limit (README "Resource limits"):
//   memory  cgroup v2 memory.max (+ swap 0, oom.group) → cgroup v1 memory.limit_in_bytes
//           (+ memsw) → RLIMIT_DATA (per process; shared memory not counted). Never RLIMIT_AS:
//           V8, the JVM and Go reserve far more address space than they use.
//   pids    cgroup v2/v1 pids.max → RLIMIT_NPROC inside the sandbox's own user namespace
//           (counted per userns since 5.14: a per-sandbox cap) → RLIMIT_NPROC = the uid's
//           current task count + N (host-wide, racy) → nothing for root (uid 0 is exempt).
//   disk    RLIMIT_FSIZE: the size of each file, not the total written.
//   cpu     RLIMIT_CPU soft N (SIGXCPU), hard N+1 (SIGKILL), per process.
//   timeout the host's wall-clock timer (spawn.ts).
//   core    RLIMIT_CORE 0, always.
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import type { NativeKernelProbe } from './native-types.js';
import type { ResourceLimits } from './policy/index.js';

/** setrlimit(2) resource numbers (asm-generic; x86_64 and aarch64 agree). */
export const RLIMIT = { CPU: 0, FSIZE: 1, DATA: 2, CORE: 4, NPROC: 6, NOFILE: 7 } as const;

/** RLIMIT_NOFILE of a sandboxed command unless SpawnOptions.maxOpenFiles says otherwise. */
export const DEFAULT_MAX_OPEN_FILES = 4096;

export type RlimitEntry = [resource: number, soft: number, hard: number];


export type LimitMechanism =
  | 'cgroup-v2'
  | 'cgroup-v1'
  | 'rlimit'
  | 'rlimit-userns'
  | 'rlimit-uid-relative'
  | 'host-timer'
  | 'none';

/** How one limit is held here. */
export interface LimitEntry {
  /** The policy's value (MB, processes or seconds); 0 = unlimited. */
  value: number;
  /** False when a value is set but nothing here enforces it. */
  enforced: boolean;
  mechanism: LimitMechanism;
  /** The exact knob, e.g. 'memory.limit_in_bytes + memory.memsw.limit_in_bytes' or 'RLIMIT_DATA'. */
  detail: string;
  /** What the number is counted over. */
  scope: 'sandbox' | 'per-process' | 'per-file' | 'per-user-namespace' | 'host-wide-uid' | 'wall-clock' | null;
  /** How the limit falls short of the policy's meaning here. */
  gaps: string[];
}

/** enforcement.limits */
export interface LimitsReport {
  memory: LimitEntry;
  pids: LimitEntry;
  disk: LimitEntry;
  cpu: LimitEntry;
  timeout: LimitEntry;
  core: LimitEntry;
  /** RLIMIT_NOFILE of the command (value 0: inherited from the host, not set). */
  openFiles: LimitEntry;
  /** The cgroup leaves a spawn creates (null: none). */
  cgroup: { version: 1 | 2; hierarchies: string[]; treeKill: boolean } | null;
}

/** A cgroup leaf to create per spawn: parent dir and the files to write, in order. */
export interface CgroupLeafPlan {
  hierarchy: 'v2' | 'v1-memory' | 'v1-pids';
  parent: string;
  /** [file, value, optional]: optional files may be absent (e.g. memsw without swap accounting). */
  files: Array<[file: string, value: string, optional: boolean]>;
}

/** Everything the limits need: rlimits for the child, cgroup leaves, the report. */
export interface LimitsPlan {
  limits: ResourceLimits;
  rlimits: RlimitEntry[];
  /** Non-root without a user namespace: RLIMIT_NPROC = the uid's task count at spawn + this. */
  nprocRelative: number | null;
  leaves: CgroupLeafPlan[];
  /** cgroup.kill exists in the v2 leaf. */
  v2Kill: boolean;
  report: LimitsReport;
  /** Limits set by the policy that nothing here enforces (strict mode refuses). */
  missing: string[];
}

/** What planLimits needs to know about the machine and the sandbox. */
export interface LimitsEnvironment {
  isRoot: boolean;
  /** The child runs in a user namespace of its own. */
  userNamespace: boolean;
  /** Kernel release (uname -r). */
  release: string;
  /** A usable (delegated, leaf-capable) cgroup v2 directory and the controllers it can give leaves. */
  v2: { dir: string; controllers: string[]; kill: boolean } | null;
  v1: { memoryDir: string | null; pidsDir: string | null };
  /** The host's hard limits (a child cannot raise them): resource → hard, Infinity = unlimited. */
  hostHard: Partial<Record<number, number>>;
}

const MB = 1024 * 1024;
/** The kernel's PIDS_MAX: pids.max accepts only values below it ("max" otherwise). */
const PIDS_MAX = 4 * 1024 * 1024 + 1;
/** A cgroup memory limit of `mb` MiB in bytes, exactly (BigInt: mb * MB can pass 2^53), at most 2^63-1. */
function cgroupBytes(mb: number): string {
  const bytes = BigInt(mb) * BigInt(MB);
  const max = (1n << 63n) - 1n;
  return String(bytes > max ? max : bytes);
}

function kernelAtLeast(release: string, major: number, minor: number): boolean {
  const m = /^(\d+)\.(\d+)/.exec(release);
  if (!m) return false;
  const a = Number(m[1]);
  const b = Number(m[2]);
  return a > major || (a === major && b >= minor);
}

function entry(value: number, partial: Partial<LimitEntry> = {}): LimitEntry {
  return { value, enforced: value === 0, mechanism: 'none', detail: value === 0 ? 'unlimited' : 'not enforced', scope: null, gaps: [], ...partial };
}

/** A policy's timeout_secs of 0 means this many seconds (the reference's default). */
export const DEFAULT_TIMEOUT_SECS = 300;

/** The wall-clock limit a policy asks for, in seconds (its timeout_secs; 0 there is the default). */
export const policyTimeoutSecs = (timeoutSecs: number): number => (timeoutSecs > 0 ? timeoutSecs : DEFAULT_TIMEOUT_SECS);

/**
 * The wall-clock limit as it holds: the policy's timeout_secs (0 there means 300 s), unless the
 * spawn's `timeout` option (ms) replaces it; `timeout: 0` disables it, which the entry says.
 */
export function timeoutEntry(policySecs: number, optionMs: number | undefined): LimitEntry {
  const asked = policyTimeoutSecs(policySecs);
  const timer = { mechanism: 'host-timer' as const, scope: 'wall-clock' as const };
  if (optionMs === undefined) return entry(asked, { ...timer, enforced: true, detail: 'host timer, then tree kill' });
  if (optionMs === 0) {
    return entry(asked, { enforced: false, detail: 'none: disabled by the timeout option (0)', gaps: [`the timeout option 0 disables the policy's ${asked} s`] });
  }
  const secs = optionMs / 1000;
  return entry(secs, {
    ...timer,
    enforced: true,
    detail: 'host timer (the timeout option), then tree kill',
    gaps: secs > asked ? [`the timeout option (${secs} s) is longer than the policy's ${asked} s`] : [],
  });
}

/** Decides, per limit, the strongest mechanism available. Pure. */
export function planLimits(limits: ResourceLimits, env: LimitsEnvironment, maxOpenFiles: number | null = null): LimitsPlan {
  const rlimits: RlimitEntry[] = [];
  const missing: string[] = [];
  const leaves = new Map<CgroupLeafPlan['hierarchy'], CgroupLeafPlan>();
  const leaf = (hierarchy: CgroupLeafPlan['hierarchy'], parent: string): CgroupLeafPlan => {
    let l = leaves.get(hierarchy);
    if (!l) {
      l = { hierarchy, parent, files: [] };
      leaves.set(hierarchy, l);
    }
    return l;
  };
  const rlimit = (resource: number, soft: number, hard: number) => {
    // Beyond 2^53 a double no longer holds the integer (mb * MB of a huge limit): it means
    // "no limit" in practice, and the addon must never see an inexact value.
    const cap = Math.min(env.hostHard[resource] ?? Infinity, Number.MAX_SAFE_INTEGER);
    rlimits.push([resource, Math.min(soft, cap), Math.min(hard, cap)]);
  };
  const v2 = env.v2;

  // Memory.
  let memory = entry(limits.maxMemoryMb);
  if (limits.maxMemoryMb > 0) {
    const bytes = cgroupBytes(limits.maxMemoryMb);
    if (v2?.controllers.includes('memory')) {
      leaf('v2', v2.dir).files.push(['memory.max', bytes, false], ['memory.swap.max', '0', true], ['memory.oom.group', '1', true]);
      memory = entry(limits.maxMemoryMb, {
        enforced: true,
        mechanism: 'cgroup-v2',
        detail: 'memory.max (memory.swap.max 0, memory.oom.group 1)',
        scope: 'sandbox',
      });
    } else if (env.v1.memoryDir) {
      // memsw (memory + swap) must be written after limit_in_bytes (it may never be lower).
      leaf('v1-memory', env.v1.memoryDir).files.push(['memory.limit_in_bytes', bytes, false], ['memory.memsw.limit_in_bytes', bytes, true]);
      memory = entry(limits.maxMemoryMb, {
        enforced: true,
        mechanism: 'cgroup-v1',
        detail: 'memory.limit_in_bytes + memory.memsw.limit_in_bytes',
        scope: 'sandbox',
      });
    } else {
      rlimit(RLIMIT.DATA, limits.maxMemoryMb * MB, limits.maxMemoryMb * MB);
      memory = entry(limits.maxMemoryMb, {
        enforced: true,
        mechanism: 'rlimit',
        detail: 'RLIMIT_DATA (brk + private writable mappings)',
        scope: 'per-process',
        gaps: [
          'per process: each process of the sandbox may use the full amount',
          'shared memory (memfd/MAP_SHARED, /dev/shm, tmpfs files) is not counted',
          'exceeding it fails allocations (ENOMEM): the termination reads as an ordinary exit, not "memory"',
        ],
      });
    }
  }

  // Pids.
  let pids = entry(limits.maxPids);
  let nprocRelative: number | null = null;
  if (limits.maxPids > 0) {
    // pids.max refuses values at or above PIDS_MAX (PID_MAX_LIMIT + 1): no count can reach them.
    const n = limits.maxPids >= PIDS_MAX ? 'max' : String(limits.maxPids);
    if (v2?.controllers.includes('pids')) {
      leaf('v2', v2.dir).files.push(['pids.max', n, false]);
      pids = entry(limits.maxPids, { enforced: true, mechanism: 'cgroup-v2', detail: 'pids.max (tasks: threads count)', scope: 'sandbox' });
    } else if (env.v1.pidsDir) {
      leaf('v1-pids', env.v1.pidsDir).files.push(['pids.max', n, false]);
      pids = entry(limits.maxPids, { enforced: true, mechanism: 'cgroup-v1', detail: 'pids.max (tasks: threads count)', scope: 'sandbox' });
    } else if (env.isRoot) {
      pids = entry(limits.maxPids, {
        enforced: false,
        gaps: ['RLIMIT_NPROC does not apply to uid 0, and no pids cgroup is writable here'],
      });
      missing.push(`limits: max_pids=${limits.maxPids} cannot be enforced: RLIMIT_NPROC does not apply to root and no pids cgroup is writable`);
    } else if (env.userNamespace && kernelAtLeast(env.release, 5, 14)) {
      rlimit(RLIMIT.NPROC, limits.maxPids, limits.maxPids);
      pids = entry(limits.maxPids, {
        enforced: true,
        mechanism: 'rlimit-userns',
        detail: 'RLIMIT_NPROC, counted in the sandbox\'s own user namespace (Linux 5.14+ ucounts)',
        scope: 'per-user-namespace',
        gaps: ['counts tasks (threads included)', 'a fork refused at the cap fails with EAGAIN: no termination evidence'],
      });
    } else {
      nprocRelative = limits.maxPids;
      pids = entry(limits.maxPids, {
        enforced: true,
        mechanism: 'rlimit-uid-relative',
        detail: 'RLIMIT_NPROC = the uid\'s task count at spawn + max_pids',
        scope: 'host-wide-uid',
        gaps: [
          'shared with every process of the same uid on the machine: racy, the host\'s own forks use up the sandbox\'s room',
          'counts tasks (threads included)',
        ],
      });
    }
  }

  // Disk.
  let disk = entry(limits.maxDiskMb);
  if (limits.maxDiskMb > 0) {
    rlimit(RLIMIT.FSIZE, limits.maxDiskMb * MB, limits.maxDiskMb * MB);
    disk = entry(limits.maxDiskMb, {
      enforced: true,
      mechanism: 'rlimit',
      detail: 'RLIMIT_FSIZE (SIGXFSZ, then EFBIG)',
      scope: 'per-file',
      gaps: ['caps the size of each file written, not the total written across files'],
    });
  }

  // CPU.
  let cpu = entry(limits.cpuTimeSecs);
  if (limits.cpuTimeSecs > 0) {
    rlimit(RLIMIT.CPU, limits.cpuTimeSecs, limits.cpuTimeSecs + 1);
    cpu = entry(limits.cpuTimeSecs, {
      enforced: true,
      mechanism: 'rlimit',
      detail: 'RLIMIT_CPU soft N (SIGXCPU), hard N+1 (SIGKILL)',
      scope: 'per-process',
      gaps: ['each process has its own budget: a tree of processes can use more in total'],
    });
  }

  const timeout = timeoutEntry(limits.timeoutSecs, undefined);

  rlimit(RLIMIT.CORE, 0, 0);
  const core = entry(0, { enforced: true, mechanism: 'rlimit', detail: 'RLIMIT_CORE 0: no core dumps', scope: 'per-process' });
  let openFiles = entry(0, { enforced: true, detail: "inherited from the host (Node raises its soft limit to the hard one)" });
  if (maxOpenFiles !== null) {
    const cap = env.hostHard[RLIMIT.NOFILE] ?? Infinity;
    const n = Math.min(maxOpenFiles, cap);
    rlimit(RLIMIT.NOFILE, n, n);
    openFiles = entry(n, {
      enforced: true,
      mechanism: 'rlimit',
      detail: `RLIMIT_NOFILE soft and hard ${n}${n < maxOpenFiles ? ` (the host's hard limit; ${maxOpenFiles} asked)` : ''}`,
      scope: 'per-process',
    });
  }

  const leafList = [...leaves.values()];
  const report: LimitsReport = {
    memory,
    pids,
    disk,
    cpu,
    timeout,
    core,
    openFiles,
    cgroup:
      leafList.length === 0
        ? null
        : { version: leafList[0]!.hierarchy === 'v2' ? 2 : 1, hierarchies: leafList.map((l) => l.hierarchy), treeKill: true },
  };
  return { limits, rlimits, nprocRelative, leaves: leafList, v2Kill: v2?.kill ?? false, report, missing };
}

// ---------------------------------------------------------------------------------------------
// Machine facts (impure, cached per process).

let hostHardCache: Partial<Record<number, number>> | undefined;
const LIMIT_NAMES: Record<string, number> = {
  'Max cpu time': RLIMIT.CPU,
  'Max file size': RLIMIT.FSIZE,
  'Max data size': RLIMIT.DATA,
  'Max core file size': RLIMIT.CORE,
  'Max processes': RLIMIT.NPROC,
  'Max open files': RLIMIT.NOFILE,
};

/** The host's hard limits, from /proc/self/limits. */
export function hostHardLimits(): Partial<Record<number, number>> {
  if (hostHardCache) return hostHardCache;
  const out: Partial<Record<number, number>> = {};
  try {
    for (const line of readFileSync('/proc/self/limits', 'utf8').split('\n')) {
      for (const [name, resource] of Object.entries(LIMIT_NAMES)) {
        if (!line.startsWith(name + ' ')) continue;
        const fields = line.slice(name.length).trim().split(/\s+/);
        const hard = fields[1];
        out[resource] = hard === undefined || hard === 'unlimited' ? Infinity : Number(hard);
      }
    }
  } catch {
    // not Linux-like: no caps
  }
  hostHardCache = out;
  return out;
}

function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

let v2Cache: LimitsEnvironment['v2'] | undefined;

/**
 * A cgroup v2 directory that can hold per-spawn leaves with memory/pids, or null. Leaves need the
 * controllers in our cgroup's subtree_control, which the "no internal processes" rule allows
 * only in the root cgroup or in one without processes: when the host is the only process of its
 * (delegated) cgroup, it moves itself into `<own>/cordon-host` first (as nsjail does). Done once,
 * on first need.
 */
export function cgroupV2Delegation(probe: NativeKernelProbe): LimitsEnvironment['v2'] {
  if (v2Cache !== undefined) return v2Cache;
  v2Cache = null;
  const { mounted, ownCgroup: dir, writable, controllers: available, hasKill } = probe.cgroupV2;
  if (!mounted || !dir || !writable) return null;
  const wanted = available.split(/\s+/).filter((c) => c === 'memory' || c === 'pids');
  if (wanted.length === 0) return null;
  try {
    const enabled = (readText(`${dir}/cgroup.subtree_control`) ?? '').split(/\s+/);
    const missingControllers = wanted.filter((c) => !enabled.includes(c));
    if (missingControllers.length > 0) {
      const isRootCgroup = dir === probe.cgroupV2.mountPoint;
      if (!isRootCgroup) {
        const members = (readText(`${dir}/cgroup.procs`) ?? '').split('\n').filter(Boolean);
        if (members.some((p) => Number(p) !== process.pid)) return null;
        if (members.length > 0) {
          mkdirSync(`${dir}/cordon-host`, { recursive: true });
          writeFileSync(`${dir}/cordon-host/cgroup.procs`, String(process.pid));
        }
      }
      writeFileSync(`${dir}/cgroup.subtree_control`, missingControllers.map((c) => `+${c}`).join(' '));
    }
    v2Cache = { dir, controllers: wanted, kill: hasKill };
  } catch {
    v2Cache = null;
  }
  return v2Cache;
}

/** The environment planLimits decides from, for a sandbox with or without its own userns. */
export function limitsEnvironment(probe: NativeKernelProbe, userNamespace: boolean, limits: ResourceLimits): LimitsEnvironment {
  const needsCgroup = limits.maxMemoryMb > 0 || limits.maxPids > 0;
  return {
    isRoot: probe.isRoot,
    userNamespace,
    release: probe.release,
    v2: needsCgroup ? cgroupV2Delegation(probe) : null,
    v1: {
      memoryDir: probe.cgroupV1.memoryWritable && probe.cgroupV1.memoryDir ? probe.cgroupV1.memoryDir : null,
      pidsDir: probe.cgroupV1.pidsWritable && probe.cgroupV1.pidsDir ? probe.cgroupV1.pidsDir : null,
    },
    hostHard: hostHardLimits(),
  };
}

/** Tasks (threads included) whose real uid is `uid`, as RLIMIT_NPROC counts them. */
export function tasksOfUid(uid: number): number {
  let count = 0;
  for (const entry of readdirSync('/proc')) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue;
    const status = readText(`/proc/${entry}/status`);
    if (!status) continue;
    const uidLine = /^Uid:\s+(\d+)/m.exec(status);
    if (!uidLine || Number(uidLine[1]) !== uid) continue;
    const threads = /^Threads:\s+(\d+)/m.exec(status);
    count += threads ? Number(threads[1]) : 1;
  }
  return count;
}

// ---------------------------------------------------------------------------------------------
// Per-spawn session.

/** Counters read from the leaves at exit. */
export interface LimitEvidence {
  /** OOM kills in the memory cgroup (v2 memory.events oom_kill, v1 memory.oom_control oom_kill). */
  oomKills: number;
  /** v1 memory.failcnt: times usage hit the limit (reclaim included). */
  memoryFailcnt: number;
  /** pids.events max: forks refused at pids.max. */
  pidsMax: number;
}

const LEAF_RE = /^cordon-(\d+)-(\d+)$/;
let leafCounter = 0;
const swept = new Set<string>();
/** Leaves whose removal is still pending (members not yet gone). */
const pendingRemoval = new Set<string>();
let exitHookInstalled = false;

/** True while `pid` runs (a zombie host, not yet reaped by its parent, counts as dead). */
function pidAlive(pid: number): boolean {
  const stat = readText(`/proc/${pid}/stat`);
  if (stat === null) return false;
  return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
}

function members(dir: string): number[] {
  return (readText(`${dir}/cgroup.procs`) ?? '').split('\n').filter(Boolean).map(Number);
}

/** SIGKILLs every process of a leaf: cgroup.kill on v2, else each member of cgroup.procs. */
export function killLeaf(dir: string, v2Kill: boolean): void {
  if (v2Kill) {
    try {
      writeFileSync(`${dir}/cgroup.kill`, '1');
      return;
    } catch {
      // fall through to per-pid kills
    }
  }
  // v1 has no cgroup.kill: members forking concurrently can slip by one round, so repeat.
  for (let round = 0; round < 8; round++) {
    const pids = members(dir);
    if (pids.length === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, osConstants.signals.SIGKILL);
      } catch {
        // gone
      }
    }
  }
}

function tryRemove(dir: string): boolean {
  try {
    rmdirSync(dir);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT';
  }
}

/** Removes leaves left by dead hosts (`cordon-<pid>-<n>` whose pid is gone) under `parent`. Once per parent. */
export function sweepStaleLeaves(parent: string, v2Kill: boolean, force = false): string[] {
  if (swept.has(parent) && !force) return [];
  swept.add(parent);
  const removed: string[] = [];
  let entries: string[];
  try {
    entries = readdirSync(parent);
  } catch {
    return removed;
  }
  for (const name of entries) {
    const m = LEAF_RE.exec(name);
    if (!m || Number(m[1]) === process.pid || pidAlive(Number(m[1]))) continue;
    const dir = `${parent}/${name}`;
    killLeaf(dir, v2Kill);
    if (tryRemove(dir)) removed.push(dir);
  }
  return removed;
}

function retryPending(): void {
  for (const dir of pendingRemoval) if (tryRemove(dir)) pendingRemoval.delete(dir);
}

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const dir of pendingRemoval) {
      killLeaf(dir, false);
      tryRemove(dir);
    }
  });
}

interface OpenLeaf {
  plan: CgroupLeafPlan;
  dir: string;
  procsFd: number;
}

/**
 * The cgroup leaves and per-spawn rlimits of one child. open() creates the leaves (limits
 * written, cgroup.procs opened O_CLOEXEC for the child to join before execve); the spawn
 * closes the fds once the child runs (closeProcsFds), reads evidence() at exit, and
 * dispose() kills what is left and removes the leaves, retrying while members linger.
 */
export class LimitSession {
  readonly rlimits: RlimitEntry[];
  readonly #leaves: OpenLeaf[];
  readonly #v2Kill: boolean;
  #disposed = false;

  private constructor(rlimits: RlimitEntry[], leaves: OpenLeaf[], v2Kill: boolean) {
    this.rlimits = rlimits;
    this.#leaves = leaves;
    this.#v2Kill = v2Kill;
  }

  /** null when the plan needs nothing per spawn. Throws (having cleaned up) when a leaf cannot be set up. */
  static open(plan: LimitsPlan): LimitSession | null {
    if (plan.leaves.length === 0 && plan.nprocRelative === null) return null;
    let rlimits = plan.rlimits;
    if (plan.nprocRelative !== null) {
      const uid = process.getuid?.() ?? 0;
      const cap = hostHardLimits()[RLIMIT.NPROC] ?? Infinity;
      const n = Math.min(tasksOfUid(uid) + plan.nprocRelative, cap);
      rlimits = [...plan.rlimits, [RLIMIT.NPROC, n, n]];
    }
    retryPending();
    const opened: OpenLeaf[] = [];
    try {
      for (const leafPlan of plan.leaves) {
        sweepStaleLeaves(leafPlan.parent, leafPlan.hierarchy === 'v2' && plan.v2Kill);
        const dir = `${leafPlan.parent}/cordon-${process.pid}-${++leafCounter}`;
        mkdirSync(dir);
        const leaf: OpenLeaf = { plan: leafPlan, dir, procsFd: -1 };
        opened.push(leaf);
        for (const [file, value, optional] of leafPlan.files) {
          try {
            writeFileSync(`${dir}/${file}`, value);
          } catch (e) {
            if (!(optional && (e as NodeJS.ErrnoException).code === 'ENOENT')) throw e;
          }
        }
        leaf.procsFd = openSync(`${dir}/cgroup.procs`, 'w');
      }
    } catch (e) {
      const session = new LimitSession(rlimits, opened, plan.v2Kill);
      session.dispose();
      throw e;
    }
    if (opened.length > 0) installExitHook();
    return new LimitSession(rlimits, opened, plan.v2Kill);
  }

  /** The fds the child writes "0" to before execve (one per hierarchy). */
  get procsFds(): number[] {
    return this.#leaves.map((l) => l.procsFd).filter((fd) => fd >= 0);
  }

  /** The leaves' directories (for tests and diagnostics). */
  get dirs(): string[] {
    return this.#leaves.map((l) => l.dir);
  }

  /** Closes the host's cgroup.procs fds (the child has joined, or never will). */
  closeProcsFds(): void {
    for (const leaf of this.#leaves) {
      if (leaf.procsFd >= 0) {
        try {
          closeSync(leaf.procsFd);
        } catch {
          // already closed
        }
        leaf.procsFd = -1;
      }
    }
  }

  /** Reads the counters that tell why the tree ended. */
  evidence(): LimitEvidence {
    const ev: LimitEvidence = { oomKills: 0, memoryFailcnt: 0, pidsMax: 0 };
    const field = (text: string | null, name: string) => {
      const m = text && new RegExp(`^${name} (\\d+)$`, 'm').exec(text);
      return m ? Number(m[1]) : 0;
    };
    for (const leaf of this.#leaves) {
      if (leaf.plan.hierarchy === 'v2') {
        ev.oomKills += field(readText(`${leaf.dir}/memory.events`), 'oom_kill');
        ev.pidsMax += field(readText(`${leaf.dir}/pids.events`), 'max');
      } else if (leaf.plan.hierarchy === 'v1-memory') {
        ev.oomKills += field(readText(`${leaf.dir}/memory.oom_control`), 'oom_kill');
        ev.memoryFailcnt += Number((readText(`${leaf.dir}/memory.failcnt`) ?? '0').trim()) || 0;
      } else {
        ev.pidsMax += field(readText(`${leaf.dir}/pids.events`), 'max');
      }
    }
    return ev;
  }

  /** SIGKILLs every process in the leaves. */
  killAll(): void {
    for (const leaf of this.#leaves) if (existsSync(leaf.dir)) killLeaf(leaf.dir, leaf.plan.hierarchy === 'v2' && this.#v2Kill);
  }

  /**
   * Kills what is left and removes the leaves. Members of a dead pid namespace take a moment
   * to be released: removal is retried for a while, then left to the next session or exit.
   */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    this.closeProcsFds();
    const remaining = this.#leaves.filter((leaf) => !tryRemove(leaf.dir));
    if (remaining.length === 0) return;
    this.killAll();
    for (const leaf of remaining) pendingRemoval.add(leaf.dir);
    let attempts = 0;
    const retry = () => {
      for (const leaf of remaining) {
        if (!pendingRemoval.has(leaf.dir)) continue;
        if (tryRemove(leaf.dir)) pendingRemoval.delete(leaf.dir);
        else if (attempts % 10 === 9) killLeaf(leaf.dir, leaf.plan.hierarchy === 'v2' && this.#v2Kill);
      }
      if (remaining.some((l) => pendingRemoval.has(l.dir)) && ++attempts < 200) setTimeout(retry, 10).unref();
    };
    retry();
  }
}

/** Leaves of this process still waiting for removal (tests). */
export function pendingLeaves(): string[] {
  return [...pendingRemoval];
}

// ---------------------------------------------------------------------------------------------
// Termination.

/** Why a child ended. */
export type Termination = 'exit' | 'signal' | 'timeout' | 'cpu' | 'memory' | 'pids' | 'disk' | 'killed' | 'max-buffer';

const SIG = osConstants.signals;

/**
 * Why a child ended, from evidence, for endings the host did not cause (timeout, kill and
 * max-buffer are set by the host and win). null: nothing points at a limit ('exit'/'signal').
 * A shell reports a child killed by signal n as exit status 128+n: SIGXCPU/SIGXFSZ reported
 * that way count (pid 1 of a pid namespace ignores them, so the signal is seen one level down).
 */
export function classifyTermination(input: {
  code: number | null;
  signal: number | null;
  usage: { userCPUTime: number; systemCPUTime: number } | null;
  limits: Pick<ResourceLimits, 'cpuTimeSecs' | 'maxDiskMb' | 'maxPids' | 'maxMemoryMb'>;
  evidence: LimitEvidence | null;
}): Termination | null {
  const { code, signal, usage, limits, evidence } = input;
  if (evidence && evidence.oomKills > 0) return 'memory';
  if (evidence && evidence.memoryFailcnt > 0 && signal === SIG.SIGKILL && limits.maxMemoryMb > 0) return 'memory';
  if (signal === SIG.SIGXCPU) return 'cpu';
  if (limits.cpuTimeSecs > 0) {
    const cpuUs = usage ? usage.userCPUTime + usage.systemCPUTime : 0;
    if (signal === SIG.SIGKILL && cpuUs >= limits.cpuTimeSecs * 1e6) return 'cpu';
    if (code === 128 + SIG.SIGXCPU) return 'cpu';
  }
  if (signal === SIG.SIGXFSZ) return 'disk';
  if (limits.maxDiskMb > 0 && code === 128 + SIG.SIGXFSZ) return 'disk';
  if (evidence && evidence.pidsMax > 0 && (signal !== null || (code !== null && code !== 0))) return 'pids';
  return null;
}
