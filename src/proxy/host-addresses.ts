// The host's own interface addresses: a service bound to 0.0.0.0 is reachable on each, so an
// allowed name resolving to one of them is refused like the loopback.
import { networkInterfaces } from 'node:os';
import { ipBytes, ipText } from '../policy/ip.js';

let interfaceAddresses: { at: number; set: Set<string> } | undefined;
/**
 * Addresses of the host's interfaces (a service bound to 0.0.0.0 is reachable on each), as
 * ipText of their bytes (IPv4-mapped folded: ::ffff:a.b.c.d is a.b.c.d); re-read at most once a
 * second (getifaddrs is a netlink round trip).
 */
export function isHostAddress(address: string): boolean {
  const bytes = ipBytes(address);
  return bytes !== undefined && hostAddresses().has(ipText(bytes));
}

function hostAddresses(): Set<string> {
  const now = Date.now();
  if (!interfaceAddresses || now - interfaceAddresses.at > 1000) {
    const set = new Set<string>();
    for (const list of Object.values(networkInterfaces())) {
      for (const a of list ?? []) {
        const bytes = ipBytes(a.address.split('%')[0] ?? '');
        if (bytes) set.add(ipText(bytes));
      }
    }
    interfaceAddresses = { at: now, set };
  }
  return interfaceAddresses.set;
}
