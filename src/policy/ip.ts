// IP addresses and CIDR ranges as bytes: the one place that compares addresses, for allowlist
// entries that name an address or a range (`10.0.0.0/8`) and for the egress proxy's refusal of
// private and special destinations. IPv4-mapped IPv6 (::ffff:a.b.c.d) is the IPv4 address it
// embeds, so no spelling of an address escapes a rule written for the other.
import { nodeNet } from '../lazy-node.js';

/** An address: 4 bytes (IPv4, also for IPv4-mapped IPv6) or 16 (IPv6). */
export type IpBytes = Uint8Array;

/** A range: the network's bytes and the prefix length. */
export interface IpRange {
  readonly bytes: IpBytes;
  readonly prefix: number;
}

function v4Bytes(address: string): IpBytes {
  return Uint8Array.from(address.split('.').map(Number));
}

function v6Bytes(address: string): IpBytes {
  let text = address;
  // A dotted IPv4 tail (::ffff:1.2.3.4) becomes two hex groups.
  const dotted = /^(.*:)(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a = 0, b = 0, c = 0, d = 0] = v4Bytes(dotted[2] ?? '');
    text = `${dotted[1]}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const parse = (s: string | undefined): number[] => (s ? s.split(':').map((g) => parseInt(g, 16)) : []);
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = parse(head);
  const right = parse(tail);
  const groups = [...left, ...new Array<number>(8 - left.length - right.length).fill(0), ...right];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  // IPv4-mapped: the IPv4 address itself.
  if (out.subarray(0, 10).every((x) => x === 0) && out[10] === 0xff && out[11] === 0xff) return out.slice(12);
  return out;
}

/** The bytes of an IP literal (IPv6 without brackets or zone), or undefined. */
export function ipBytes(address: string): IpBytes | undefined {
  const { isIPv4, isIPv6 } = nodeNet();
  if (isIPv4(address)) return v4Bytes(address);
  if (isIPv6(address) && !address.includes('%')) return v6Bytes(address);
  return undefined;
}

/** Why `text` is not a CIDR range (`a.b.c.d/n`, `v6/n`, no host bits set), or undefined. */
export function cidrProblem(text: string): string | undefined {
  const m = /^([^/]+)\/(\d{1,3})$/.exec(text);
  if (!m) return 'is not a CIDR range';
  const address = m[1] ?? '';
  const bytes = ipBytes(address);
  if (!bytes || (nodeNet().isIPv6(address) && bytes.length === 4)) return `"${address}" is not an IP address (IPv4-mapped ranges: write the IPv4 range)`;
  const prefix = Number(m[2]);
  if (prefix > bytes.length * 8) return `prefix /${prefix} is longer than the address (${bytes.length * 8} bits)`;
  if (!hostBitsClear(bytes, prefix)) {
    return `has bits set after the /${prefix} prefix (write the network address)`;
  }
  return undefined;
}

/** A CIDR range, or undefined when `text` is not one (see cidrProblem). */
export function parseCidr(text: string): IpRange | undefined {
  if (cidrProblem(text) !== undefined) return undefined;
  const [address = '', prefix = '0'] = text.split('/');
  return { bytes: ipBytes(address)!, prefix: Number(prefix) };
}

/** The bit of `bytes` at position `bit` (0 = most significant of the first byte). */
function bitAt(bytes: IpBytes, bit: number): number {
  return ((bytes[bit >> 3] ?? 0) >> (7 - (bit % 8))) & 1;
}

/** Whether every bit of `bytes` after the first `prefix` is zero (a network address). */
function hostBitsClear(bytes: IpBytes, prefix: number): boolean {
  for (let bit = prefix; bit < bytes.length * 8; bit++) if (bitAt(bytes, bit) !== 0) return false;
  return true;
}

/** Whether the address is inside the range (same family after IPv4-mapped folding). */
export function rangeContains(range: IpRange, address: IpBytes): boolean {
  if (address.length !== range.bytes.length) return false;
  for (let bit = 0; bit < range.prefix; bit++) if (bitAt(address, bit) !== bitAt(range.bytes, bit)) return false;
  return true;
}

/** The canonical text of an address's bytes (IPv4 dotted, IPv6 compressed). */
export function ipText(bytes: IpBytes): string {
  if (bytes.length === 4) return bytes.join('.');
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}
