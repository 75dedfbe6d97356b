// Domain patterns of the network allowlist.
//
// A pattern is a hostname, optionally with a single leading `*.` wildcard (`*.example.com`
// matches `example.com` itself and every name below it), or an IP literal (IPv4 dotted quad,
// IPv6 bare or in brackets) which only ever matches exactly, or a CIDR range (`10.0.0.0/8`,
// `fd00::/8`) which matches the IP literals inside it. Names compare case-insensitively
// and one trailing dot (the DNS root) is ignored on both sides. Labels may hold letters,
// digits, hyphens and underscores: underscores are not legal in hostnames but appear in real
// service names (`_acme-challenge`, some internal hosts), and refusing them buys nothing.
import { nodeNet } from '../lazy-node.js';
import { cidrProblem, ipBytes, parseCidr, rangeContains } from './ip.js';

const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/i;

/** Why `pattern` is not a valid allowlist domain pattern, or undefined when it is. */
export function domainPatternProblem(pattern: string): string | undefined {
  if (pattern.length === 0) return 'must not be empty';
  if (/\s/.test(pattern)) return 'must not contain whitespace';
  if (ipLiteral(pattern) !== undefined) return undefined;
  if (/^[0-9a-fA-F:.[\]]+\/[0-9]*$/.test(pattern)) {
    const problem = cidrProblem(pattern);
    return problem === undefined ? undefined : `${problem} (a CIDR range is written like 10.0.0.0/8)`;
  }
  let name = pattern;
  if (name.startsWith('*.')) name = name.slice(2);
  if (name.includes('*')) return 'only a single leading "*." wildcard is allowed';
  if (name.endsWith('.')) name = name.slice(0, -1);
  if (name.length === 0) return 'needs a domain name after the wildcard';
  if (name.length > 253) return 'is longer than 253 characters';
  const labels = name.split('.');
  for (const label of labels) {
    if (label.length === 0) return 'has an empty label (consecutive, leading or extra trailing dots)';
    if (label.length > 63) return `label "${label.slice(0, 20)}..." is longer than 63 characters`;
    if (!LABEL.test(label)) return `label "${label}" may only hold letters, digits, "-" and "_", and must not start or end with "-"`;
  }
  // A name ending in an all-numeric label is a malformed IPv4 address (e.g. 256.1.1.1), not a host.
  if (/^[0-9]+$/.test(labels[labels.length - 1] ?? '')) return 'is neither a valid IP address nor a host name';
  return undefined;
}

/** The canonical form of an IP literal (bracket-free, IPv6 compressed and lower-case), else undefined. */
function ipLiteral(s: string): string | undefined {
  if (nodeNet().isIPv4(s)) return s;
  const bare = s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
  if (nodeNet().isIPv6(bare)) return new URL(`http://[${bare}]/`).hostname.slice(1, -1);
  return undefined;
}

/** The canonical spelling of a domain or pattern: lower case, no trailing dot, IPs canonical. */
export function canonicalDomain(domain: string): string {
  const ip = ipLiteral(domain);
  if (ip !== undefined) return ip;
  const range = domain.includes('/') ? domain.split('/') : undefined;
  if (range?.length === 2 && parseCidr(domain)) return `${ipLiteral(range[0] ?? '')}/${range[1]}`;
  const lower = domain.toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
}

/** Whether the allowlist `pattern` covers the queried `domain` (per the rules at the top). */
export function domainMatches(pattern: string, domain: string): boolean {
  const p = canonicalDomain(pattern);
  const d = canonicalDomain(domain);
  // A query names one concrete host; a `*` in it is never a match, not a pattern.
  if (d.length === 0 || d.includes('*')) return false;
  if (p.includes('/')) {
    const range = parseCidr(p);
    const address = ipBytes(d);
    return range !== undefined && address !== undefined && rangeContains(range, address);
  }
  if (isIpPattern(p)) {
    // An address matches itself whatever its spelling (::ffff:10.0.0.1 is 10.0.0.1).
    const a = ipBytes(p);
    const b = ipBytes(d);
    return a !== undefined && b !== undefined && a.length === b.length && a.every((x, i) => x === b[i]);
  }
  if (p.startsWith('*.')) {
    const base = p.slice(2);
    return d === base || d.endsWith('.' + base);
  }
  return d === p;
}

/** Whether a (canonical) pattern is an IP literal or a CIDR range rather than a name. */
export function isIpPattern(pattern: string): boolean {
  return pattern.includes('/') ? parseCidr(pattern) !== undefined : ipLiteral(pattern) !== undefined;
}
