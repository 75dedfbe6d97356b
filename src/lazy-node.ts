// Node built-ins that cost milliseconds to load (node:net with node:stream ~3 ms, node:tty on top
// of it, node:worker_threads ~2 ms), loaded where first needed rather than by `import 'cordon'`:
// a policy needs node:net's address checks only for an IP entry, a spawn needs sockets only for
// its pipes. Each loads once; the accessors cost a property read afterwards.
type Net = typeof import('node:net');
type Stream = typeof import('node:stream');
type Tty = typeof import('node:tty');
type WorkerThreads = typeof import('node:worker_threads');

let net: Net | undefined;
let stream: Stream | undefined;
let tty: Tty | undefined;
let workerThreads: WorkerThreads | undefined;

export const nodeNet = (): Net => (net ??= require('node:net') as Net);
export const nodeStream = (): Stream => (stream ??= require('node:stream') as Stream);
export const nodeTty = (): Tty => (tty ??= require('node:tty') as Tty);
export const nodeWorkerThreads = (): WorkerThreads => (workerThreads ??= require('node:worker_threads') as WorkerThreads);
