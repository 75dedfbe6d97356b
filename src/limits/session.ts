// The per-spawn cgroup session: create the leaves, hand their cgroup.procs fds to the child,
// read the evidence at exit, kill what is left, remove the leaves (and those of dead hosts).
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmdirSync, writeFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { hostHardLimits, readText, tasksOfUid } from '../host/cgroups.js';
import { RLIMIT, type CgroupLeafPlan, type LimitsPlan, type RlimitEntry } from './plan.js';

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
