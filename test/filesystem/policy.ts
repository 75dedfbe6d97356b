// Policies for the filesystem tests. Uses src/policy's SandboxPolicy when it is available;
// until then, a stand-in that follows /work/shared/reference/policy-semantics.md for the
// filesystem queries the planner uses.

import { homedir } from 'node:os';
import { normalize, resolve } from 'node:path';
import type { FilesystemPolicy } from '../../src/filesystem/index.js';

const DEFAULT_SENSITIVE = [
  '~/.ssh', '~/.aws', '~/.config/gcloud', '~/.azure', '~/.kube', '~/.docker', '~/.npmrc', '~/.pypirc',
  '~/.config/gh', '~/.secrets', '~/.gnupg', '~/.config/op', '~/.vault-token',
  '~/.terraform.d/credentials.tfrc.json', '~/.cargo/credentials.toml', '~/.git-credentials', '~/.netrc',
];

export interface PolicyJson {
  type: 'read_only' | 'workspace_write' | 'danger_full_access' | 'external_sandbox';
  writable_roots?: { root: string }[];
  sensitive_paths?: { path: string; block_read?: boolean; block_write?: boolean }[] | null;
  exclude_tmpdir_env_var?: boolean;
  exclude_slash_tmp?: boolean;
  [k: string]: unknown;
}

const expand = (p: string): string => normalize(p === '~' ? homedir() : p.startsWith('~/') ? resolve(homedir(), p.slice(2)) : p);
const within = (p: string, dir: string): boolean => dir === '/' || p === dir || p.startsWith(dir + '/');

class StandInPolicy implements FilesystemPolicy {
  constructor(private readonly json: PolicyJson) {}
  get kind(): FilesystemPolicy['kind'] {
    return ({ read_only: 'ReadOnly', workspace_write: 'WorkspaceWrite', danger_full_access: 'DangerFullAccess', external_sandbox: 'ExternalSandbox' } as const)[this.json.type];
  }
  getWritableRootsWithCwd(cwd: string): { root: string }[] {
    if (this.kind === 'ReadOnly') return [];
    if (this.kind !== 'WorkspaceWrite') return [{ root: cwd }];
    const roots = [...(this.json.writable_roots ?? []).map((r) => r.root)];
    if (!roots.includes(cwd)) roots.push(cwd);
    if (!this.json.exclude_slash_tmp && !roots.includes('/tmp')) roots.push('/tmp');
    const t = process.env.TMPDIR;
    if (!this.json.exclude_tmpdir_env_var && t && !roots.includes(t)) roots.push(t);
    return roots.map((root) => ({ root }));
  }
  sensitivePaths(): { path: string; blockRead: boolean; blockWrite: boolean }[] {
    if (this.kind !== 'ReadOnly' && this.kind !== 'WorkspaceWrite') return [];
    const list: { path: string; block_read?: boolean; block_write?: boolean }[] =
      this.kind === 'WorkspaceWrite' && this.json.sensitive_paths ? this.json.sensitive_paths : DEFAULT_SENSITIVE.map((path) => ({ path }));
    return list.map((s) => ({ path: s.path, blockRead: s.block_read ?? true, blockWrite: s.block_write ?? true }));
  }
  sensitivePathsForExecution(cwd: string): { path: string; blockRead: boolean; blockWrite: boolean }[] {
    const out = this.sensitivePaths();
    if (this.kind !== 'WorkspaceWrite') return out;
    for (const { root } of this.getWritableRootsWithCwd(cwd)) {
      for (const n of ['.git', '.vtcode', '.codex', '.agents']) out.push({ path: `${root}/${n}`, blockRead: false, blockWrite: true });
    }
    return out;
  }
  isPathReadable(p: string): boolean {
    if (this.kind === 'DangerFullAccess' || this.kind === 'ExternalSandbox') return true;
    const n = normalize(p);
    return !this.sensitivePaths().some((s) => s.blockRead && within(n, expand(s.path)));
  }
  isPathWritable(p: string, cwd: string): boolean {
    if (this.kind === 'ReadOnly') return false;
    if (this.kind !== 'WorkspaceWrite') return true;
    const n = normalize(p);
    if (!this.getWritableRootsWithCwd(cwd).some((r) => within(n, r.root))) return false;
    return !this.sensitivePathsForExecution(cwd).some((s) => s.blockWrite && within(n, expand(s.path)));
  }
  toJSON(): unknown {
    return this.json;
  }
}

let real: ((json: PolicyJson) => FilesystemPolicy) | undefined | null;

/** A policy from its wire JSON (the real SandboxPolicy once src/policy exists). */
export async function policyFrom(json: PolicyJson): Promise<FilesystemPolicy> {
  if (real === undefined) {
    real = null;
    try {
      const modPath = '../../src/policy/index.js';
      const mod = (await import(/* @vite-ignore */ modPath)) as Record<string, unknown>;
      const cls = mod.SandboxPolicy as { fromJSON?: (j: unknown) => FilesystemPolicy; parse?: (j: unknown) => FilesystemPolicy } | undefined;
      const f = cls?.fromJSON ?? cls?.parse;
      if (f) real = (j) => f.call(cls, j);
    } catch {
      real = null;
    }
  }
  return real ? real(json) : new StandInPolicy(json);
}
