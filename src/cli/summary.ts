// `cordon run --report=summary`: the enforcement report in one human line.
import type { EnforcementReport } from '../spawn.js';

/**
 * One human line from the report: what holds and by what, then what does not (and how many
 * known gaps the full report lists). Says only what the report says.
 */
export function summaryLine(r: EnforcementReport): string {
  const fs = r.filesystem;
  const seccomp = r.seccomp;
  const parts: string[] = [];
  parts.push(fs ? `filesystem ${fs.mode}${fs.landlockAbi > 0 ? ` (landlock ABI ${fs.landlockAbi})` : ''}` : 'filesystem not confined');
  parts.push(seccomp?.installed ? `seccomp ${seccomp.profile ?? 'filter'}` : 'no seccomp filter');
  parts.push(`network ${r.network?.mode ?? 'not reported'}`);
  const ns = (['user', 'mount', 'pid', 'network', 'ipc'] as const).filter((n) => r.namespaces[n]);
  parts.push(ns.length > 0 ? `namespaces ${ns.join('/')}` : 'no namespaces');
  const byMechanism = new Map<string, string[]>();
  const notEnforced: string[] = [];
  let gaps = r.lifecycle.gaps.length + (r.network?.gaps.length ?? 0);
  if (r.limits) {
    for (const key of ['memory', 'pids', 'disk', 'cpu'] as const) {
      const l = r.limits[key];
      gaps += l.gaps.length;
      if (l.value === 0) continue;
      if (!l.enforced) notEnforced.push(`${key} limit`);
      else byMechanism.set(l.mechanism, [...(byMechanism.get(l.mechanism) ?? []), key]);
    }
    const t = r.limits.timeout;
    gaps += t.gaps.length;
    if (t.value > 0 && !t.enforced) notEnforced.push(`the policy's ${t.value} s timeout`);
    parts.push(
      byMechanism.size > 0 ? `limits ${[...byMechanism].map(([m, keys]) => `${keys.join('/')} via ${m}`).join(', ')}` : 'no resource limits',
      t.value > 0 && t.enforced ? `timeout ${t.value} s` : 'no timeout',
    );
  }
  for (const p of fs?.protections ?? []) {
    gaps += p.gaps.length;
    if (!p.enforced) notEnforced.push(p.what);
  }
  if (r.policy === 'ReadOnly' || r.policy === 'WorkspaceWrite') {
    if (!seccomp?.installed) notEnforced.push('seccomp filter');
  }
  for (const c of r.isolation ?? []) {
    gaps += c.gaps.length;
    if (!c.enforced) notEnforced.push(c.class);
  }
  // Anything else the report lists as missing, word for word.
  for (const m of r.missing) {
    if (m.startsWith('limits:') || m.startsWith('seccomp:') || (fs?.protections ?? []).some((p) => !p.enforced && m.startsWith(p.what))) continue;
    notEnforced.push(m);
  }
  const nothing = r.policy === 'ReadOnly' || r.policy === 'WorkspaceWrite' ? 'nothing the policy asks for' : 'nothing the policy asks for (it confines nothing)';
  const gapText = gaps > 0 ? `; ${gaps} known gap${gaps === 1 ? '' : 's'} (--report lists them)` : '';
  return `cordon: ${r.policy}, ${r.enforcement}: ${parts.join(', ')}; not enforced: ${notEnforced.length > 0 ? notEnforced.join(', ') : nothing}${gapText}`;
}
