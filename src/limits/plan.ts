// Which mechanism holds each limit of a policy's ResourceLimits on this machine: a pure
// decision (planLimits) from the facts host/cgroups.ts reads.
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
import type { ResourceLimits } from '../policy/index.js';
import { kernelAtLeast } from '../plan/kernel.js';

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

/** The rlimits and cgroup leaves a plan collects, limit by limit. */
class LimitsBuilder {
  readonly rlimits: RlimitEntry[] = [];
  readonly missing: string[] = [];
  readonly #leaves = new Map<CgroupLeafPlan['hierarchy'], CgroupLeafPlan>();
  constructor(readonly env: LimitsEnvironment) {}

  leaf(hierarchy: CgroupLeafPlan['hierarchy'], parent: string): CgroupLeafPlan {
    let l = this.#leaves.get(hierarchy);
    if (!l) {
      l = { hierarchy, parent, files: [] };
      this.#leaves.set(hierarchy, l);
    }
    return l;
  }

  rlimit(resource: number, soft: number, hard: number): void {
    // Beyond 2^53 a double no longer holds the integer (mb * MB of a huge limit): it means
    // "no limit" in practice, and the addon must never see an inexact value.
    const cap = Math.min(this.env.hostHard[resource] ?? Infinity, Number.MAX_SAFE_INTEGER);
    this.rlimits.push([resource, Math.min(soft, cap), Math.min(hard, cap)]);
  }

  get leaves(): CgroupLeafPlan[] {
    return [...this.#leaves.values()];
  }
}

function memoryLimit(mb: number, b: LimitsBuilder): LimitEntry {
  if (mb === 0) return entry(0);
  const bytes = cgroupBytes(mb);
  const { v2, v1 } = b.env;
  if (v2?.controllers.includes('memory')) {
    b.leaf('v2', v2.dir).files.push(['memory.max', bytes, false], ['memory.swap.max', '0', true], ['memory.oom.group', '1', true]);
    return entry(mb, { enforced: true, mechanism: 'cgroup-v2', detail: 'memory.max (memory.swap.max 0, memory.oom.group 1)', scope: 'sandbox' });
  }
  if (v1.memoryDir) {
    // memsw (memory + swap) must be written after limit_in_bytes (it may never be lower).
    b.leaf('v1-memory', v1.memoryDir).files.push(['memory.limit_in_bytes', bytes, false], ['memory.memsw.limit_in_bytes', bytes, true]);
    return entry(mb, { enforced: true, mechanism: 'cgroup-v1', detail: 'memory.limit_in_bytes + memory.memsw.limit_in_bytes', scope: 'sandbox' });
  }
  b.rlimit(RLIMIT.DATA, mb * MB, mb * MB);
  return entry(mb, {
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

/** The pids entry, and the count to add to the uid's tasks at spawn when RLIMIT_NPROC is relative. */
function pidsLimit(maxPids: number, b: LimitsBuilder): { entry: LimitEntry; nprocRelative: number | null } {
  if (maxPids === 0) return { entry: entry(0), nprocRelative: null };
  const { v2, v1, isRoot, userNamespace, release } = b.env;
  // pids.max refuses values at or above PIDS_MAX (PID_MAX_LIMIT + 1): no count can reach them.
  const n = maxPids >= PIDS_MAX ? 'max' : String(maxPids);
  const cgroupEntry = (mechanism: 'cgroup-v2' | 'cgroup-v1') =>
    entry(maxPids, { enforced: true, mechanism, detail: 'pids.max (tasks: threads count)', scope: 'sandbox' });
  if (v2?.controllers.includes('pids')) {
    b.leaf('v2', v2.dir).files.push(['pids.max', n, false]);
    return { entry: cgroupEntry('cgroup-v2'), nprocRelative: null };
  }
  if (v1.pidsDir) {
    b.leaf('v1-pids', v1.pidsDir).files.push(['pids.max', n, false]);
    return { entry: cgroupEntry('cgroup-v1'), nprocRelative: null };
  }
  if (isRoot) {
    b.missing.push(`limits: max_pids=${maxPids} cannot be enforced: RLIMIT_NPROC does not apply to root and no pids cgroup is writable`);
    const gaps = ['RLIMIT_NPROC does not apply to uid 0, and no pids cgroup is writable here'];
    return { entry: entry(maxPids, { enforced: false, gaps }), nprocRelative: null };
  }
  if (userNamespace && kernelAtLeast(release, 5, 14)) {
    b.rlimit(RLIMIT.NPROC, maxPids, maxPids);
    const counted = entry(maxPids, {
      enforced: true,
      mechanism: 'rlimit-userns',
      detail: "RLIMIT_NPROC, counted in the sandbox's own user namespace (Linux 5.14+ ucounts)",
      scope: 'per-user-namespace',
      gaps: ['counts tasks (threads included)', 'a fork refused at the cap fails with EAGAIN: no termination evidence'],
    });
    return { entry: counted, nprocRelative: null };
  }
  const relative = entry(maxPids, {
    enforced: true,
    mechanism: 'rlimit-uid-relative',
    detail: "RLIMIT_NPROC = the uid's task count at spawn + max_pids",
    scope: 'host-wide-uid',
    gaps: [
      "shared with every process of the same uid on the machine: racy, the host's own forks use up the sandbox's room",
      'counts tasks (threads included)',
    ],
  });
  return { entry: relative, nprocRelative: maxPids };
}

function diskLimit(mb: number, b: LimitsBuilder): LimitEntry {
  if (mb === 0) return entry(0);
  b.rlimit(RLIMIT.FSIZE, mb * MB, mb * MB);
  return entry(mb, {
    enforced: true,
    mechanism: 'rlimit',
    detail: 'RLIMIT_FSIZE (SIGXFSZ, then EFBIG)',
    scope: 'per-file',
    gaps: ['caps the size of each file written, not the total written across files'],
  });
}

function cpuLimit(secs: number, b: LimitsBuilder): LimitEntry {
  if (secs === 0) return entry(0);
  b.rlimit(RLIMIT.CPU, secs, secs + 1);
  return entry(secs, {
    enforced: true,
    mechanism: 'rlimit',
    detail: 'RLIMIT_CPU soft N (SIGXCPU), hard N+1 (SIGKILL)',
    scope: 'per-process',
    gaps: ['each process has its own budget: a tree of processes can use more in total'],
  });
}

function openFilesLimit(maxOpenFiles: number | null, b: LimitsBuilder): LimitEntry {
  if (maxOpenFiles === null) return entry(0, { enforced: true, detail: 'inherited from the host (Node raises its soft limit to the hard one)' });
  const n = Math.min(maxOpenFiles, b.env.hostHard[RLIMIT.NOFILE] ?? Infinity);
  b.rlimit(RLIMIT.NOFILE, n, n);
  return entry(n, {
    enforced: true,
    mechanism: 'rlimit',
    detail: `RLIMIT_NOFILE soft and hard ${n}${n < maxOpenFiles ? ` (the host's hard limit; ${maxOpenFiles} asked)` : ''}`,
    scope: 'per-process',
  });
}

/** Decides, per limit, the strongest mechanism available. Pure. */
export function planLimits(limits: ResourceLimits, env: LimitsEnvironment, maxOpenFiles: number | null = null): LimitsPlan {
  const b = new LimitsBuilder(env);
  // The order is the order of the rlimits the child sets (tests read it).
  const memory = memoryLimit(limits.maxMemoryMb, b);
  const pids = pidsLimit(limits.maxPids, b);
  const disk = diskLimit(limits.maxDiskMb, b);
  const cpu = cpuLimit(limits.cpuTimeSecs, b);
  b.rlimit(RLIMIT.CORE, 0, 0);
  const core = entry(0, { enforced: true, mechanism: 'rlimit', detail: 'RLIMIT_CORE 0: no core dumps', scope: 'per-process' });
  const openFiles = openFilesLimit(maxOpenFiles, b);
  const leaves = b.leaves;
  const report: LimitsReport = {
    memory,
    pids: pids.entry,
    disk,
    cpu,
    timeout: timeoutEntry(limits.timeoutSecs, undefined),
    core,
    openFiles,
    cgroup: leaves.length === 0 ? null : { version: leaves[0]!.hierarchy === 'v2' ? 2 : 1, hierarchies: leaves.map((l) => l.hierarchy), treeKill: true },
  };
  return { limits, rlimits: b.rlimits, nprocRelative: pids.nprocRelative, leaves, v2Kill: env.v2?.kill ?? false, report, missing: b.missing };
}
