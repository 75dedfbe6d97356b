// Admitting one destination: the host normalised and checked, the listener's policy asked, the
// name resolved by the proxy itself (never by the client; a denied name is never looked up),
// and the addresses it resolved to screened (special addresses, the proxy itself). Every
// decision is reported as a 'network' event.
import net from 'node:net';
import { throttle } from './connection-limits.js';
import { isHostAddress } from './host-addresses.js';
import { formatHostPort, isLoopbackAddress, normalizeHost, specialAddressClass } from './host.js';
import type { Listener, Listeners } from './listener.js';
import type { ResolveFn } from './resolver.js';
import { SocksReply } from './socks5.js';
import type { Admission, NetworkEvent } from './types.js';

/** What admission needs of the proxy. */
export interface AdmissionContext {
  readonly resolve: ResolveFn;
  /** Allowed names may resolve to special addresses (EgressProxyOptions.allowLocalDestinations). */
  readonly allowLocal: boolean;
  /** The proxy's listeners: a destination that is one of them is refused (a relay loop). */
  readonly listeners: Listeners;
  emitEvent(listener: Listener | undefined, event: NetworkEvent): void;
  reportError(err: unknown): void;
}

/** Normalise, decide, report, resolve and filter one destination asked for through `listener`. */
export async function admitDestination(
  ctx: AdmissionContext,
  listener: Listener | undefined,
  rawHost: string,
  port: number,
  via: NetworkEvent['via'],
): Promise<Admission> {
  await throttle(listener?.budget);
  const host = normalizeHost(rawHost);
  if (host === undefined) {
    return { ok: false, status: 400, socks: SocksReply.HOST_UNREACHABLE, message: `cannot parse destination host "${rawHost.slice(0, 200)}"` };
  }
  if (!Number.isInteger(port) || port < 1 || port > 65535) {
    return { ok: false, status: 400, socks: SocksReply.GENERAL_FAILURE, message: `invalid destination port ${port}` };
  }
  const target = formatHostPort(host, port);
  const deny = (reason: string): Admission => {
    ctx.emitEvent(listener, { host, port, allowed: false, via, reason });
    return { ok: false, status: 403, socks: SocksReply.NOT_ALLOWED, message: `network access to ${target} denied: ${reason}` };
  };
  if (!listener || listener.closed) return deny('the proxy listener is closed');

  let decision;
  try {
    decision = listener.decide(host, port);
  } catch (err) {
    // Fail closed: a broken policy hook must not open the network.
    ctx.reportError(err);
    return deny(`the policy check failed: ${(err as Error)?.message ?? String(err)}`);
  }
  if (!decision?.allowed) return deny(decision?.rule ?? `no allowlist entry matches ${target}`);
  const rule = decision.rule ?? `allowed ${target}`;

  const literal = net.isIP(host) !== 0;
  // RFC 6761: localhost and names below it are the loopback, never asked of DNS.
  const localhostName = host === 'localhost' || host.endsWith('.localhost');
  let addresses: string[];
  if (literal) addresses = [host];
  else if (localhostName) addresses = ['127.0.0.1', '::1'];
  else {
    const looked = await lookUp(ctx, listener, host, port, via, rule);
    if (!Array.isArray(looked)) return looked;
    addresses = looked;
  }

  const { usable, refused } = screenAddresses(ctx, listener, addresses, port, literal, localhostName);
  if (usable.length === 0) {
    if (refused.length === 0) {
      ctx.emitEvent(listener, { host, port, allowed: true, via, reason: rule });
      return { ok: false, status: 502, socks: SocksReply.HOST_UNREACHABLE, message: `cannot resolve ${host}: no addresses` };
    }
    return deny(`${host} resolves only to refused addresses: ${refused.join(', ')}; an allowlist entry naming the address or its range (e.g. 10.0.0.0/8:${port}) allows it`);
  }
  ctx.emitEvent(listener, { host, port, allowed: true, via, reason: rule });
  return { ok: true, host, port, addresses: usable };
}

/** The addresses of an allowed name, from the listener's share of lookups; a failed lookup is reported (allowed) and answered 502, 503 or 504. */
async function lookUp(ctx: AdmissionContext, listener: Listener, host: string, port: number, via: NetworkEvent['via'], rule: string): Promise<string[] | Admission> {
  try {
    return await listener.lookups.run(ctx.resolve, host);
  } catch (err) {
    ctx.emitEvent(listener, { host, port, allowed: true, via, reason: rule });
    const code = (err as NodeJS.ErrnoException)?.code ?? 'EUNKNOWN';
    if (code === 'EBUSY') {
      return { ok: false, status: 503, socks: SocksReply.GENERAL_FAILURE, message: `cannot resolve ${host}: ${(err as Error).message}` };
    }
    const timedOut = code === 'ETIMEDOUT' || code === 'ETIMEOUT';
    return { ok: false, status: timedOut ? 504 : 502, socks: SocksReply.HOST_UNREACHABLE, message: `cannot resolve ${host}: ${code}` };
  }
}

/** The resolved addresses the proxy may connect to, and why each of the others is refused. */
function screenAddresses(
  ctx: AdmissionContext,
  listener: Listener,
  addresses: readonly string[],
  port: number,
  literal: boolean,
  localhostName: boolean,
): { usable: string[]; refused: string[] } {
  const refused: string[] = [];
  const usable = addresses.filter((raw) => {
    const address = net.isIP(raw) !== 0 ? (normalizeHost(raw) ?? raw) : raw;
    if (net.isIP(address) === 0) {
      // A resolver must answer with addresses; a name here would be resolved by connect() behind our back.
      refused.push(`${address} (not an IP address)`);
      return false;
    }
    if (ctx.listeners.isSelf(address, port)) {
      refused.push(`${address} (the proxy itself)`);
      return false;
    }
    // The literal was allowed by an entry naming it; every other address must be public, or
    // be named by an IP/CIDR entry, or be the loopback of an allowed localhost entry.
    if (literal || ctx.allowLocal) return true;
    const cls = specialAddressClass(address) ?? (isHostAddress(address) ? "one of the host's own addresses" : undefined);
    if (cls === undefined) return true;
    if (localhostName && isLoopbackAddress(address)) return true;
    if (listener.explicitAddress?.(address, port) !== undefined) return true;
    refused.push(`${address} (${cls})`);
    return false;
  });
  return { usable, refused };
}
