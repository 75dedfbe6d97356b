// Shared helpers for enforcement tests: temp workspaces, fd/zombie accounting, liveness.
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A fresh directory (canonical path) removed by the returned cleanup. */
export function tempDir(prefix = 'cordon-test-'): { dir: string; cleanup: () => void } {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), prefix)));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * Number of open fds of this process, not counting cached Landlock rulesets: the filesystem
 * plan cache owns those and rebuilds one (closing the old) when a path it pinned changes,
 * which parallel test files touching /tmp can cause at any time.
 */
export function openFdCount(): number {
  let count = 0;
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      if (readlinkSync(`/proc/self/fd/${fd}`) === 'anon_inode:[landlock-ruleset]') continue;
    } catch {
      // closed while listing
    }
    count++;
  }
  return count;
}

/** This process's fds and what each points to (for a leak's failure message). */
export function fdTable(): Map<string, string> {
  const out = new Map<string, string>();
  for (const fd of readdirSync('/proc/self/fd')) {
    try {
      out.set(fd, readlinkSync(`/proc/self/fd/${fd}`));
    } catch {
      // closed while listing
    }
  }
  return out;
}

/** What changed between two fdTable()s: `+fd -> target` opened, `-fd -> target` closed. */
export function fdDiff(before: Map<string, string>, after: Map<string, string>): string[] {
  const opened = [...after].filter(([fd, target]) => before.get(fd) !== target).map(([fd, target]) => `+${fd} -> ${target}`);
  const closed = [...before].filter(([fd, target]) => after.get(fd) !== target).map(([fd, target]) => `-${fd} -> ${target}`);
  return [...opened, ...closed];
}

/** Pids of this process's children that are zombies (exited, not reaped). */
export function zombieChildren(): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] === 'Z' && Number(fields[1]) === process.pid) out.push(Number(entry));
    } catch {
      // raced with exit
    }
  }
  return out;
}

/** True while a process with this pid exists and is not a zombie. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Waits until `predicate` holds, polling; returns its last value. */
export async function waitFor(predicate: () => boolean, timeoutMs = 5000, stepMs = 20): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (predicate()) return true;
    await new Promise((r) => setTimeout(r, stepMs));
  }
  return predicate();
}

/**
 * Host pids of processes whose command line contains `marker`. Tests find sandboxed
 * processes this way: inside a pid namespace `$$` is not the host's pid.
 */
export function pidsWithCmdline(marker: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(marker) && isAlive(Number(entry))) out.push(Number(entry));
    } catch {
      // raced with exit
    }
  }
  return out;
}

/** True when the tests run as root (different world: DAC bypass, no RLIMIT_NPROC). */
export const isRoot = process.getuid?.() === 0;
