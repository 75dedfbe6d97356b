// The network half of the Landlock ruleset (TCP bind and connect, ABI 4) and the protection the
// report gives for it.
import { LANDLOCK_ACCESS_NET, handledAccessNet } from './access.js';
import type { FilesystemPlanInput, Protection } from './types.js';

/** What networkRules adds to the ruleset: the handled TCP rights, the port rules, and the protection they give. */
export interface NetworkRules {
  handled: number;
  rules: { port: number; access: number }[];
  protection: Protection;
}

/** Landlock's TCP rules for the input's network mode on ABI `abi` (see FilesystemPlanInput.network). */
export function networkRules(network: FilesystemPlanInput['network'], abi: number): NetworkRules {
  const supported = handledAccessNet(abi);
  const by = abi >= 4 ? [`landlock abi ${abi}`] : [];
  const tcpGaps = ['udp-not-covered', 'mptcp-not-covered (refused by seccomp)'];
  if (network.mode === 'none') {
    return {
      handled: supported,
      rules: [],
      protection: { what: 'tcp bind and connect denied', enforced: abi >= 4, by, gaps: abi >= 4 ? tcpGaps : ['landlock-tcp-unavailable (ABI 4)'] },
    };
  }
  if (network.mode === 'allowlist' && network.connectPorts === undefined) {
    // In its own network namespace, where loopback and the host's listeners are all there is.
    return {
      handled: 0,
      rules: [],
      protection: { what: 'tcp: the network namespace holds only its loopback and the host\'s listeners', enforced: true, by: ['network namespace'], gaps: [] },
    };
  }
  if (network.mode === 'allowlist') {
    const ports = [...new Set(network.connectPorts ?? [])].sort((a, b) => a - b);
    return {
      handled: supported & LANDLOCK_ACCESS_NET.CONNECT_TCP,
      rules: abi >= 4 ? ports.map((port) => ({ port, access: LANDLOCK_ACCESS_NET.CONNECT_TCP })) : [],
      protection: {
        what: `tcp connect only to ports ${ports.join(', ') || '(none)'}`,
        enforced: abi >= 4,
        by,
        gaps: abi >= 4 ? tcpGaps : ['landlock-tcp-unavailable (ABI 4)'],
      },
    };
  }
  return { handled: 0, rules: [], protection: { what: 'network unrestricted', enforced: true, by: [], gaps: [] } };
}
