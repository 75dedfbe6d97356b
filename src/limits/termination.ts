// Why a child ended: the host's own reasons (timeout, kill, max-buffer) or a limit's evidence.
import { constants as osConstants } from 'node:os';
import type { ResourceLimits } from '../policy/index.js';
import type { LimitEvidence } from './session.js';

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
