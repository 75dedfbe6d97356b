// Predicates over a policy's variant that planning, the filesystem plan and the policy's own
// queries share (one definition each).

/** The network a policy asks for: none, through the allowlist proxy, or the host's. */
export type NetworkMode = 'none' | 'allowlist' | 'full';

/** True for the variants that confine (ReadOnly, WorkspaceWrite). */
export function isConfiningKind(kind: string): boolean {
  return kind === 'ReadOnly' || kind === 'WorkspaceWrite';
}

/** The policy's network mode. */
export function networkModeOf(policy: { hasFullNetworkAccess(): boolean; hasNetworkAllowlist(): boolean }): NetworkMode {
  if (policy.hasFullNetworkAccess()) return 'full';
  return policy.hasNetworkAllowlist() ? 'allowlist' : 'none';
}
