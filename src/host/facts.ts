// The host facts planning decides from (plan/decide.ts), gathered here because reading them
// touches the machine: the kernel probe (once per process), /proc/sys, the cgroup tree (made
// ready for leaves on the first policy with memory or pids limits, which may move this
// process into a child cgroup) and the holder of the shared network namespace.
import { readFileSync } from 'node:fs';
import { native } from '../native.js';
import { runningSyscallArch } from '../policy/index.js';
import { rawProbe } from '../probe.js';
import type { HostFacts } from '../plan/decide.js';
import { cgroupV1Dirs, hostHardLimits, prepareCgroupV2Leaves } from './cgroups.js';

let capLastCap: number | undefined;
/** The highest capability number this kernel knows (/proc/sys/kernel/cap_last_cap). */
export function readCapLastCap(): number {
  if (capLastCap === undefined) {
    try {
      capLastCap = Number.parseInt(readFileSync('/proc/sys/kernel/cap_last_cap', 'utf8'), 10);
    } catch {
      capLastCap = 63; // PR_CAPBSET_DROP of an unknown cap is EINVAL, which the child ignores
    }
  }
  return capLastCap;
}

// The shared network namespace, made on first use (a holder process keeps it alive); null
// where it cannot be (each sandbox then gets its own).
let sharedNetns: { userFd: number; netFd: number } | null | undefined;
/** The fds of the network namespace (and its owning user namespace) shared by no-network sandboxes. */
export function sharedNetworkNamespace(isRoot: boolean): { userFd: number; netFd: number } | null {
  if (sharedNetns === undefined) {
    try {
      sharedNetns = native().sharedNetworkNamespace(!isRoot); // userFd -1 for root: no user namespace
    } catch {
      sharedNetns = null;
    }
  }
  return sharedNetns;
}

/**
 * The facts for planning a policy. `wantsCgroupLeaves`: the policy has memory or pids limits,
 * so the cgroup v2 tree is made ready for leaves (an explicit, once-per-process change).
 */
export function hostFacts(wantsCgroupLeaves: boolean): HostFacts {
  const probe = rawProbe();
  return {
    kernel: probe,
    arch: runningSyscallArch() ?? null,
    cgroups: {
      v2: wantsCgroupLeaves ? prepareCgroupV2Leaves(probe) : null,
      v1: cgroupV1Dirs(probe),
      hostHard: hostHardLimits(),
    },
    // Unknown until first needed; plan/index.ts asks sharedNetworkNamespace() then, and plans
    // again without it where it cannot be made.
    sharedNetworkNamespace: sharedNetns !== null,
  };
}
