// SOCKS5 side of the egress proxy (RFC 1928): no-auth method, CONNECT command only, with
// domain-name (socks5h), IPv4 and IPv6 destinations. BIND and UDP ASSOCIATE are refused: the
// sandbox gets outbound TCP to allowed destinations and nothing else.
//
// Replies carry BND.ADDR 0.0.0.0:0 rather than the host's real outbound address: clients do
// not use it for CONNECT, and it would tell the sandbox the host's IP.
import type { Socket } from 'node:net';
import type { ProxyCore } from './types.js';

/** SOCKS5 reply codes (RFC 1928 §6). */
export const SocksReply = {
  SUCCEEDED: 0x00,
  GENERAL_FAILURE: 0x01,
  NOT_ALLOWED: 0x02,
  NETWORK_UNREACHABLE: 0x03,
  HOST_UNREACHABLE: 0x04,
  CONNECTION_REFUSED: 0x05,
  TTL_EXPIRED: 0x06,
  COMMAND_NOT_SUPPORTED: 0x07,
  ADDRESS_TYPE_NOT_SUPPORTED: 0x08,
} as const;

const VERSION = 0x05;
const METHOD_NO_AUTH = 0x00;
const METHOD_NONE_ACCEPTABLE = 0xff;
const CMD_CONNECT = 0x01;
const ATYP_IPV4 = 0x01;
const ATYP_DOMAIN = 0x03;
const ATYP_IPV6 = 0x04;

/** A reply with the given code and a zero bound address. */
function reply(code: number): Buffer {
  return Buffer.from([VERSION, code, 0x00, ATYP_IPV4, 0, 0, 0, 0, 0, 0]);
}

/** The SOCKS reply code for a failed connect. */
function replyForError(err: unknown): number {
  switch ((err as NodeJS.ErrnoException | undefined)?.code) {
    case 'ECONNREFUSED':
      return SocksReply.CONNECTION_REFUSED;
    case 'ENETUNREACH':
      return SocksReply.NETWORK_UNREACHABLE;
    case 'EHOSTUNREACH':
      return SocksReply.HOST_UNREACHABLE;
    case 'ETIMEDOUT':
      return SocksReply.TTL_EXPIRED;
    default:
      return SocksReply.GENERAL_FAILURE;
  }
}

/** The parsed CONNECT request, or 'short' when more bytes are needed, or a reply code to refuse with. */
function parseRequest(buf: Buffer): { cmd: number; host: string; port: number; length: number } | 'short' | number {
  if (buf.length < 5) return 'short';
  if (buf[0] !== VERSION) return SocksReply.GENERAL_FAILURE;
  const cmd = buf[1] ?? 0;
  const atyp = buf[3];
  let host: string;
  let offset: number;
  if (atyp === ATYP_IPV4) {
    if (buf.length < 10) return 'short';
    host = `${buf[4]}.${buf[5]}.${buf[6]}.${buf[7]}`;
    offset = 8;
  } else if (atyp === ATYP_DOMAIN) {
    const len = buf[4] ?? 0;
    if (buf.length < 5 + len + 2) return 'short';
    // Names are ASCII (IDNs arrive as punycode); latin1 keeps any stray byte visible to the
    // host-name check instead of folding it into a replacement character.
    host = buf.toString('latin1', 5, 5 + len);
    offset = 5 + len;
  } else if (atyp === ATYP_IPV6) {
    if (buf.length < 22) return 'short';
    const groups: string[] = [];
    for (let i = 0; i < 8; i++) groups.push(buf.readUInt16BE(4 + i * 2).toString(16));
    host = groups.join(':');
    offset = 20;
  } else return SocksReply.ADDRESS_TYPE_NOT_SUPPORTED;
  return { cmd, host, port: buf.readUInt16BE(offset), length: offset + 2 };
}

/** Run the SOCKS5 handshake on a client whose first byte was 0x05, then tunnel or refuse. */
export function handleSocks5(core: ProxyCore, client: Socket): void {
  let buf: Buffer = Buffer.alloc(0);
  let stage: 'greeting' | 'request' = 'greeting';
  const onData = (chunk: Buffer): void => {
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    if (stage === 'greeting') {
      if (buf.length < 2) return;
      const n = buf[1] ?? 0;
      if (buf.length < 2 + n) return;
      const methods = buf.subarray(2, 2 + n);
      buf = buf.subarray(2 + n);
      if (!methods.includes(METHOD_NO_AUTH)) {
        client.removeListener('data', onData);
        client.end(Buffer.from([VERSION, METHOD_NONE_ACCEPTABLE]));
        return;
      }
      client.write(Buffer.from([VERSION, METHOD_NO_AUTH]));
      stage = 'request';
    }
    const request = parseRequest(buf);
    if (request === 'short') return;
    client.removeListener('data', onData);
    client.pause();
    if (typeof request === 'number') {
      client.end(reply(request));
      return;
    }
    // Bytes behind the request (clients may send optimistically) go back for the tunnel.
    const rest = buf.subarray(request.length);
    if (rest.length > 0) client.unshift(rest);
    if (request.cmd !== CMD_CONNECT) {
      client.end(reply(SocksReply.COMMAND_NOT_SUPPORTED));
      return;
    }
    void connect(core, client, request.host, request.port);
  };
  client.on('data', onData);
}

/** Decide and connect a SOCKS5 CONNECT request. */
async function connect(core: ProxyCore, client: Socket, host: string, port: number): Promise<void> {
  const admission = await core.admit(client, host, port, 'socks5');
  if (!admission.ok) {
    client.end(reply(admission.socks));
    return;
  }
  let upstream: Socket;
  try {
    upstream = await core.dial(client, admission.addresses, admission.port, 'tunnel');
  } catch (err) {
    client.end(reply(replyForError(err)));
    return;
  }
  if (client.destroyed) {
    upstream.destroy();
    return;
  }
  core.settle(client);
  client.write(reply(SocksReply.SUCCEEDED));
  core.tunnel(client, upstream);
}
