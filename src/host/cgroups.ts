// The machine facts resource limits are planned from: the host's hard rlimits, a cgroup v2
// directory that can hold per-spawn leaves (made ready once, by an explicit step that may move
// this process), and the uid's task count. Read once per process, except the task count.
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { NativeKernelProbe } from '../native-types.js';
import { RLIMIT, type LimitsEnvironment } from '../limits/plan.js';

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

/** A file's text, or null when it cannot be read. */
export function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

let v2Cache: LimitsEnvironment['v2'] | undefined;

/**
 * Makes this process's cgroup v2 directory able to hold per-spawn leaves with memory/pids, and
 * returns it, or null where it cannot. This changes the host: leaves need the controllers in our
 * cgroup's subtree_control, which the "no internal processes" rule allows only in the root
 * cgroup or in one without processes, so when the host is the only process of its (delegated)
 * cgroup, it moves itself into `<own>/cordon-host` first (as nsjail does) and enables them.
 * Done once, the first time a policy with memory or pids limits is planned.
 */
export function prepareCgroupV2Leaves(probe: NativeKernelProbe): LimitsEnvironment['v2'] {
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

/** The writable cgroup v1 memory and pids directories the probe found. */
export function cgroupV1Dirs(probe: NativeKernelProbe): LimitsEnvironment['v1'] {
  return {
    memoryDir: probe.cgroupV1.memoryWritable && probe.cgroupV1.memoryDir ? probe.cgroupV1.memoryDir : null,
    pidsDir: probe.cgroupV1.pidsWritable && probe.cgroupV1.pidsDir ? probe.cgroupV1.pidsDir : null,
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
