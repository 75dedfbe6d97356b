// The tunnel data path: client and upstream spliced both ways with backpressure and half-close,
// each direction reading into a pooled buffer of its own.
//
// Tunnel relays read into a reusable buffer instead of pipe(): a pipe() allocates a fresh
// 64 KiB buffer per read and runs the stream machinery per chunk, which showed up as most of the
// proxy's own CPU in bench/proxy.mjs. Upstream sockets get the buffer through net.connect's
// onread option; client sockets are accepted by a net.Server, which has no such option, so
// they get it through the same hook that option sets (see USER_BUFFER_HOOK), or fall back to
// pipe() where that hook is missing.
//
// A buffer is read into again only once the sink no longer references it: write() either hands
// the bytes to the kernel synchronously (writableLength back to 0) or keeps a view until its
// callback, and reading pauses until then. Buffers are pooled because allocating 128 KiB per
// tunnel (an mmap and its page faults, then GC pressure) was a measurable part of the
// per-connection setup cost; one goes back to the pool only when its source socket is closed
// (libuv will not read into it again) and every write of a view of it has called back, so a
// later tunnel can never overwrite bytes still queued for an earlier one. Stale bytes in a
// reused buffer are never sent: only the n bytes just read are forwarded.
import net from 'node:net';

const RELAY_BUFFER_BYTES = 128 * 1024;
const RELAY_POOL_MAX = 32;
const relayBuffers: Buffer[] = [];

/**
 * The hook behind net.connect's onread option (Node ≥ 12): a socket whose kBuffer/kBufferCb
 * properties are set and whose handle reads into a user buffer calls kBufferCb(n, buffer) per
 * read instead of pushing a new Buffer, and its pause()/resume() stop and start the handle.
 * Found on a probe socket built with the documented option rather than by importing internals;
 * undefined (and pipe() used) if this Node does not lay it out that way.
 */
const USER_BUFFER_HOOK = ((): { kBuffer: symbol; kBufferCb: symbol } | undefined => {
  const buffer = Buffer.alloc(1);
  const callback = (): boolean => true;
  // Documented for new net.Socket() too, but missing from @types/node's constructor options.
  const probe = new net.Socket({ onread: { buffer, callback } } as net.SocketConstructorOpts);
  const own = probe as unknown as Record<symbol, unknown>;
  const symbols = Object.getOwnPropertySymbols(probe);
  const kBuffer = symbols.find((s) => s.description === 'kBuffer');
  const kBufferCb = symbols.find((s) => s.description === 'kBufferCb');
  probe.destroy();
  if (!kBuffer || !kBufferCb || own[kBuffer] !== buffer || own[kBufferCb] !== callback) return undefined;
  return { kBuffer, kBufferCb };
})();

/** The libuv stream handle under a socket, as far as the relay needs it. */
type StreamHandle = { useUserBuffer?: (buffer: Uint8Array) => void } | null | undefined;

/** One direction of a tunnel: reads of `source` land in `buffer` and are written to `sink`. */
export interface Relay {
  /** The socket reading into the buffer (set right after net.connect for upstream sockets). */
  source: net.Socket | null;
  /** Where the bytes go, once the tunnel is established (200 / SOCKS reply sent). */
  sink: net.Socket | null;
  readonly buffer: Buffer;
  /** Copies of bytes that arrived before the tunnel was established. */
  readonly pending: Buffer[];
  /** Reading is paused until every write has called back (or the tunnel starts). */
  waiting: boolean;
  /** Writes to the sink not yet called back; until 0 the sink may hold a view of the buffer. */
  writes: number;
  sourceClosed: boolean;
  recycled: boolean;
  /** The write callback, one per relay rather than a closure per chunk. */
  readonly written: () => void;
}

export function createRelay(): Relay {
  const relay: Relay = {
    source: null,
    sink: null,
    buffer: relayBuffers.pop() ?? Buffer.allocUnsafe(RELAY_BUFFER_BYTES),
    pending: [],
    waiting: false,
    writes: 0,
    sourceClosed: false,
    recycled: false,
    written: () => {
      relay.writes--;
      if (relay.waiting && relay.writes === 0) {
        relay.waiting = false;
        if (relay.source && !relay.source.destroyed) relay.source.resume();
      }
      recycleRelay(relay);
    },
  };
  return relay;
}

/** Attach the relay to its source socket: the buffer is pooled again once both are done with it. */
export function bindRelaySource(relay: Relay, source: net.Socket): void {
  relay.source = source;
  source.once('close', () => {
    relay.sourceClosed = true;
    recycleRelay(relay);
  });
}

function recycleRelay(relay: Relay): void {
  if (relay.recycled || !relay.sourceClosed || relay.writes !== 0) return;
  relay.recycled = true;
  if (relayBuffers.length < RELAY_POOL_MAX) relayBuffers.push(relay.buffer);
}

/** Read callback: forward the n bytes just read; false stops reading (the buffer is still in use). */
export function relayChunk(relay: Relay, n: number): boolean {
  const { sink } = relay;
  if (sink === null) {
    relay.pending.push(Buffer.from(relay.buffer.subarray(0, n)));
    relay.waiting = true;
    return false;
  }
  if (sink.destroyed) return false;
  relay.writes++;
  sink.write(relay.buffer.subarray(0, n), relay.written);
  if (sink.writableLength === 0) return true;
  relay.waiting = true;
  return false;
}

/**
 * Switch an established client socket to reading into a relay buffer, sending what its stream
 * already buffered first. False when the hook is unavailable (the caller pipes instead).
 */
function relayFromClient(client: net.Socket, upstream: net.Socket): boolean {
  const handle = (client as unknown as { _handle: StreamHandle })._handle;
  if (!USER_BUFFER_HOOK || typeof handle?.useUserBuffer !== 'function') return false;
  const relay = createRelay();
  bindRelaySource(relay, client);
  relay.sink = upstream;
  // Bytes the stream read before the switch (behind the CONNECT head or SOCKS request, or sent
  // while the destination was being decided); reads happen only on the loop, so none are lost.
  for (let chunk = client.read() as Buffer | null; chunk !== null; chunk = client.read() as Buffer | null) upstream.write(chunk);
  const own = client as unknown as Record<symbol, unknown>;
  own[USER_BUFFER_HOOK.kBuffer] = relay.buffer;
  own[USER_BUFFER_HOOK.kBufferCb] = (n: number) => relayChunk(relay, n);
  handle.useUserBuffer(relay.buffer);
  return true;
}

/**
 * Splice client and upstream both ways with backpressure, forwarding each FIN as end() on
 * the other side (both sockets allow half-open, so the other direction keeps flowing).
 * Each direction reads into its own pooled buffer (relayChunk); client → upstream falls back
 * to pipe() where the read hook is unavailable, upstream → client where the upstream was not
 * dialled with a relay (`down`). A side that closes before it has both read its peer's FIN and
 * flushed its own writes was aborted: the other side is destroyed too, so nothing lingers
 * half-dead. With idleTimeoutMs > 0, a tunnel quiet both ways that long is closed.
 */
export function spliceTunnel(client: net.Socket, upstream: net.Socket, down: Relay | undefined, idleTimeoutMs: number): void {
  if (relayFromClient(client, upstream)) forwardEnd(client, upstream);
  else client.pipe(upstream);
  if (down) {
    down.sink = client;
    for (const chunk of down.pending.splice(0)) client.write(chunk);
    down.waiting = false;
    forwardEnd(upstream, client);
  } else upstream.pipe(client);
  const link = (a: net.Socket, b: net.Socket): void => {
    a.once('close', () => {
      if (!a.readableEnded || !a.writableFinished) b.destroy();
    });
  };
  link(client, upstream);
  link(upstream, client);
  if (idleTimeoutMs > 0) {
    // Reads and writes both restart a socket's timer; a tunnel quiet both ways for the
    // whole period is closed (each side's timer fires, destroy() reaches the other via link).
    for (const s of [client, upstream]) s.setTimeout(idleTimeoutMs, () => s.destroy());
  }
}

/**
 * A relay source's FIN becomes end() on its sink, also when the stream saw it before the tunnel
 * started; resume() starts the reads (and makes the stream emit 'end' at EOF).
 */
function forwardEnd(source: net.Socket, sink: net.Socket): void {
  if (source.readableEnded) sink.end();
  else source.once('end', () => sink.end());
  source.resume();
}
