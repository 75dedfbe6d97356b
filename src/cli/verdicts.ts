// `cordon check`'s preset verdicts: each preset tried in strict mode on a trivial command.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnforcementError } from '../errors.js';
import { NetworkAllowlistEntry, SandboxPolicy } from '../policy/index.js';
import { spawnSandboxed } from '../spawn.js';

/** The command the preset verdicts run: true(1), or this node where there is none. */
export function trivialCommand(): string[] {
  for (const file of ['/bin/true', '/usr/bin/true']) if (existsSync(file)) return [file];
  return [process.execPath, '-e', '0'];
}

/** One preset tried in strict mode. */
export interface Verdict {
  preset: string;
  policy: SandboxPolicy['kind'];
  enforcement: 'strict';
  verdict: 'works' | 'refused' | 'fails';
  /** refused: what cannot be enforced; fails: what went wrong. */
  reason?: string;
  /** refused: the protections that cannot be enforced here. */
  missing?: string[];
  /** refused: the option of cordon run that accepts the gap. */
  accept?: string;
}

function tryPreset(preset: string, policy: SandboxPolicy, cwd: string): Promise<Verdict> {
  const base = { preset, policy: policy.kind, enforcement: 'strict' as const };
  const [file, ...args] = trivialCommand() as [string, ...string[]];
  let child: ReturnType<typeof spawnSandboxed>;
  try {
    child = spawnSandboxed(file, args, { policy, cwd, stdio: 'ignore', enforcement: 'strict', timeout: 30_000, prewarm: false });
  } catch (err) {
    if (err instanceof EnforcementError) {
      return Promise.resolve({
        ...base,
        verdict: 'refused',
        reason: err.missing.join('; '),
        missing: [...err.missing],
        ...(/best-effort/.test(err.message) ? { accept: '--best-effort' } : {}),
      });
    }
    return Promise.resolve({ ...base, verdict: 'fails', reason: (err as Error).message });
  }
  return new Promise((resolve) => {
    let failure: Error | undefined;
    child.on('error', (err: Error) => {
      failure ??= err;
    });
    child.on('close', (code, signal) => {
      if (failure) resolve({ ...base, verdict: 'fails', reason: failure.message });
      else if (code === 0) resolve({ ...base, verdict: 'works' });
      else resolve({ ...base, verdict: 'fails', reason: `${file} ${signal ? `was killed by ${signal}` : `exited with status ${code}`}${child.timedOut ? ' (timed out)' : ''}` });
    });
  });
}

export async function presetVerdicts(): Promise<Verdict[]> {
  // A workspace of its own: the default protected-dirs placeholders are made on the host, and
  // must not land in the directory someone runs `cordon check` in.
  const ws = mkdtempSync(join(tmpdir(), 'cordon-check-'));
  try {
    return [
      await tryPreset('ReadOnly (default limits)', SandboxPolicy.readOnly(), ws),
      await tryPreset('WorkspaceWrite', SandboxPolicy.workspaceWrite([ws]), ws),
      await tryPreset(
        'WorkspaceWrite with a network allowlist',
        SandboxPolicy.workspaceWriteWithNetwork([ws], [NetworkAllowlistEntry.withPort('example.com', 443)]),
        ws,
      ),
    ];
  } finally {
    rmSync(ws, { recursive: true, force: true });
  }
}

export function verdictText(v: Verdict): string {
  const head = `${v.preset}, ${v.enforcement}`;
  if (v.verdict === 'works') return `${head}: works here`;
  if (v.verdict === 'refused') return `${head}: refused, because ${v.reason}${v.accept ? ` (cordon run ${v.accept} accepts the gap)` : ''}`;
  return `${head}: fails: ${v.reason}`;
}
