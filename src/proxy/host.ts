// Destination parsing for the egress proxy: one canonical spelling of every host the proxy
// decides on, and the address classes it refuses to reach through a resolved name.
//
// The canonical form matches the policy model's (src/policy/domain.ts): names lower case with
// one trailing dot dropped, IPv6 compressed and without brackets. Anything that is neither an
// IP literal nor a syntactically valid host name is refused before decide() sees it, so the
// policy never has to reason about odd spellings (`127.1`, `0x7f.0.0.1`, names with spaces).
import { nodeNet } from '../lazy-node.js';
import { ipBytes, ipText, parseCidr, rangeContains, type IpRange } from '../policy/ip.js';

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** The canonical spelling of a destination host, or undefined when it is neither an IP literal nor a valid host name. */
export function normalizeHost(raw: string): string | undefined {
  if (raw.length === 0 || raw.length > 255) return undefined;
  let host = raw;
  if (host.startsWith('[') && host.endsWith(']')) {
    // Brackets only ever wrap an IPv6 literal (RFC 3986 IP-literal).
    host = host.slice(1, -1);
    return nodeNet().isIPv6(host) && !host.includes('%') ? canonicalIPv6(host) : undefined;
  }
  // Zone ids (fe80::1%eth0) name an interface of the host, never a remote destination.
  if (nodeNet().isIPv6(host)) return host.includes('%') ? undefined : canonicalIPv6(host);
  host = host.toLowerCase();
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (nodeNet().isIPv4(host)) return host;
  if (host.length === 0 || host.length > 253) return undefined;
  const labels = host.split('.');
  if (!labels.every((label) => LABEL.test(label))) return undefined;
  // A numeric last label is a malformed or shorthand IPv4 address (256.1.1.1, 127.1), which
  // getaddrinfo would happily turn into some address: refuse it rather than guess.
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? '')) return undefined;
  return host;
}

/** IPv6 in its compressed lower-case form (the WHATWG URL serialisation, as the policy model uses). */
function canonicalIPv6(address: string): string {
  return new URL(`http://[${address}]/`).hostname.slice(1, -1);
}

/** Parse a CONNECT authority (`host:port` or `[v6]:port`); the port is mandatory. */
export function parseAuthority(authority: string): { host: string; port: number } | undefined {
  const m = /^(\[[^\]]*\]|[^:[\]]+):([0-9]{1,5})$/.exec(authority);
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1] ?? '', port };
}

/** `host:port` with IPv6 hosts bracketed, for messages, URLs and Host headers. */
export function formatHostPort(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

// Where a resolved name may not lead by default: everything that is not the public internet.
// The proxy runs in the host, so these reach the host itself, its LAN, the cloud's metadata
// service or a VPN, none of which a wildcard entry (`*.nip.io` resolves any name to any
// address) should open to a sandbox. IPv4-mapped IPv6 is folded to IPv4 by ipBytes; NAT64
// (64:ff9b::/96) and 6to4 (2002::/16) embed an IPv4 address, checked as that address.
const SPECIAL_RANGES: ReadonlyArray<[range: string, why: string]> = [
  ['0.0.0.0/8', 'unspecified'],
  ['10.0.0.0/8', 'private (RFC 1918)'],
  ['100.64.0.0/10', 'shared address space (RFC 6598)'],
  ['127.0.0.0/8', 'loopback'],
  ['169.254.0.0/16', 'link-local (cloud metadata)'],
  ['172.16.0.0/12', 'private (RFC 1918)'],
  ['192.0.0.0/24', 'IETF protocol assignments'],
  ['192.0.2.0/24', 'documentation'],
  ['192.88.99.0/24', '6to4 relay'],
  ['192.168.0.0/16', 'private (RFC 1918)'],
  ['198.18.0.0/15', 'benchmarking'],
  ['198.51.100.0/24', 'documentation'],
  ['203.0.113.0/24', 'documentation'],
  ['224.0.0.0/4', 'multicast'],
  ['240.0.0.0/4', 'reserved'],
  ['::/128', 'unspecified'],
  ['::1/128', 'loopback'],
  // Deprecated IPv4-compatible (::a.b.c.d) and IPv4-translated (::ffff:0:a.b.c.d) forms: some
  // stacks route them to the IPv4 address they embed; nothing public uses them.
  ['::/96', 'IPv4-compatible (deprecated)'],
  ['::ffff:0:0:0/96', 'IPv4-translated'],
  ['100::/64', 'discard'],
  ['64:ff9b:1::/48', 'local-use NAT64 (RFC 8215)'],
  ['2001::/32', 'Teredo'],
  ['2001:2::/48', 'benchmarking'],
  ['2001:db8::/32', 'documentation'],
  ['3fff::/20', 'documentation'],
  ['fc00::/7', 'unique local (fc00::/7)'],
  ['fe80::/10', 'link-local'],
  ['fec0::/10', 'site-local'],
  ['ff00::/8', 'multicast'],
];
// Parsed on first use: parsing runs node:net's IPv6 check, whose first call compiles a large
// regular expression (about 7 ms), which no import of cordon should pay.
let special: { ranges: { range: IpRange; why: string }[]; nat64: IpRange; sixToFour: IpRange } | undefined;
const specialRanges = () =>
  (special ??= {
    ranges: SPECIAL_RANGES.map(([range, why]) => ({ range: parseCidr(range)!, why })),
    nat64: parseCidr('64:ff9b::/96')!,
    sixToFour: parseCidr('2002::/16')!,
  });

/**
 * Why `address` is not a public internet address (loopback, private, link-local, documentation
 * ...), or undefined when it is one. The proxy refuses these behind a resolved name unless an
 * allowlist entry names the address or its range.
 */
export function specialAddressClass(address: string): string | undefined {
  const bytes = ipBytes(address);
  if (!bytes) return undefined;
  if (bytes.length === 4 && bytes.every((b) => b === 255)) return 'broadcast';
  const { ranges, nat64, sixToFour } = specialRanges();
  for (const { range, why } of ranges) if (rangeContains(range, bytes)) return why;
  if (rangeContains(nat64, bytes)) {
    const embedded = specialAddressClass(ipText(bytes.slice(12)));
    return embedded ? `NAT64 of ${embedded}` : undefined;
  }
  if (rangeContains(sixToFour, bytes)) {
    const embedded = specialAddressClass(ipText(bytes.slice(2, 6)));
    return embedded ? `6to4 of ${embedded}` : undefined;
  }
  return undefined;
}

/** Loopback (127/8, ::1, and their mapped forms). */
export function isLoopbackAddress(address: string): boolean {
  return specialAddressClass(address) === 'loopback';
}
