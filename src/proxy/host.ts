// Destination parsing for the egress proxy: one canonical spelling of every host the proxy
// decides on, and the address classes it refuses to reach through a resolved name.
//
// The canonical form matches the policy model's (src/policy/domain.ts): names lower case with
// one trailing dot dropped, IPv6 compressed and without brackets. Anything that is neither an
// IP literal nor a syntactically valid host name is refused before decide() sees it, so the
// policy never has to reason about odd spellings (`127.1`, `0x7f.0.0.1`, names with spaces).
import { isIPv4, isIPv6 } from 'node:net';

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;

/** The canonical spelling of a destination host, or undefined when it is neither an IP literal nor a valid host name. */
export function normalizeHost(raw: string): string | undefined {
  if (raw.length === 0 || raw.length > 255) return undefined;
  let host = raw;
  if (host.startsWith('[') && host.endsWith(']')) {
    // Brackets only ever wrap an IPv6 literal (RFC 3986 IP-literal).
    host = host.slice(1, -1);
    return isIPv6(host) && !host.includes('%') ? canonicalIPv6(host) : undefined;
  }
  // Zone ids (fe80::1%eth0) name an interface of the host, never a remote destination.
  if (isIPv6(host)) return host.includes('%') ? undefined : canonicalIPv6(host);
  host = host.toLowerCase();
  if (host.endsWith('.')) host = host.slice(0, -1);
  if (isIPv4(host)) return host;
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

/** The eight 16-bit groups of a valid IPv6 address (dotted IPv4 tails are folded by canonicalIPv6 first). */
function ipv6Groups(address: string): number[] {
  const text = canonicalIPv6(address);
  const parse = (s: string | undefined): number[] => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const [head, rest] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = parse(head);
  const right = parse(rest);
  return [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/**
 * Why connecting to `address` through a resolved *name* is refused by default, or undefined.
 * Loopback and unspecified addresses reach the host's own services (the proxy runs outside the
 * sandbox), link-local includes the cloud metadata endpoint 169.254.169.254, and multicast or
 * broadcast is never a TCP peer.
 */
export function localAddressClass(address: string): string | undefined {
  let v4: number[] | undefined;
  if (isIPv4(address)) v4 = address.split('.').map(Number);
  else if (isIPv6(address)) {
    const g = ipv6Groups(address);
    if (g.every((x) => x === 0)) return 'unspecified';
    if (g.slice(0, 7).every((x) => x === 0) && g[7] === 1) return 'loopback';
    const g0 = g[0] ?? 0;
    if ((g0 & 0xffc0) === 0xfe80) return 'link-local';
    if ((g0 & 0xff00) === 0xff00) return 'multicast';
    // IPv4-mapped (::ffff:a.b.c.d) reaches the IPv4 address it embeds.
    if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
      const hi = g[6] ?? 0;
      const lo = g[7] ?? 0;
      v4 = [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff];
    } else return undefined;
  } else return undefined;
  const [a = 0, b = 0] = v4;
  if (a === 127) return 'loopback';
  if (a === 0) return 'unspecified';
  if (a === 169 && b === 254) return 'link-local';
  if (a >= 224) return a === 255 && v4.every((x) => x === 255) ? 'broadcast' : a < 240 ? 'multicast' : 'reserved';
  return undefined;
}
