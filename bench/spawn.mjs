#!/usr/bin/env node
// Spawn cost: child_process.spawn vs spawnSandboxed, sequential /bin/true, interleaved so
// machine noise hits every contender alike. Two phases: the host as is, then holding 512 MB
// of touched heap (libuv forks the whole host, so its cost grows with the host's memory;
// clone(CLONE_VM|CLONE_VFORK) does not).
//   npm run build && node bench/spawn.mjs [--n 1000] [--heap-mb 512] [--only WORD[,WORD...]]
// --only keeps the contenders whose name contains one of the words (child_process.spawn, the
// baseline of the ratio, always runs). The order of the contenders rotates every round: a
// fork write-protects the whole host heap, so whatever runs right after child_process.spawn
// pays for the copy-on-write faults of its first writes, and that must not always be the same
// contender.
import { spawn } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResourceLimits, SandboxPolicy, spawnSandboxed } from '../dist/index.js';

const option = (name) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? undefined : process.argv[i + 1];
};
const arg = (name, fallback) => Number(option(name) ?? fallback);
const N = arg('n', 1000);
const HEAP_MB = arg('heap-mb', 512);
const ONLY = option('only')?.split(',') ?? null;
const WARMUP = 50;
const BASELINE = 'child_process.spawn';

const ws = realpathSync(mkdtempSync(join(tmpdir(), 'cordon-bench-')));
const wsPolicy = SandboxPolicy.workspaceWrite([ws]);
const limitsPolicy = SandboxPolicy.workspaceWriteWithLimits([ws], ResourceLimits.conservative());
const sandboxed = (policy, extra = {}) => () =>
  new Promise((r) => spawnSandboxed('/bin/true', [], { policy, stdio: 'ignore', cwd: ws, ...extra }).on('close', r));
const allContenders = {
  [BASELINE]: () => new Promise((r) => spawn('/bin/true', [], { stdio: 'ignore' }).on('close', r)),
  'spawnSandboxed DangerFullAccess': sandboxed(SandboxPolicy.fullAccess()),
  'spawnSandboxed WorkspaceWrite': sandboxed(wsPolicy),
  // Same policy without namespaces (Landlock + seccomp only): the difference is what the
  // mount, pid, ipc and network namespaces cost.
  'spawnSandboxed WorkspaceWrite no-ns': sandboxed(wsPolicy, { namespaces: false }),
  'spawnSandboxed WorkspaceWrite+limits': sandboxed(limitsPolicy),
};
const contenders = Object.fromEntries(
  Object.entries(allContenders).filter(([name]) => name === BASELINE || !ONLY || ONLY.some((word) => name.includes(word))),
);

async function phase(label) {
  const names = Object.keys(contenders);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < WARMUP; i++) for (const n of names) await contenders[n]();
  for (let i = 0; i < N; i++) {
    for (let k = 0; k < names.length; k++) {
      const n = names[(i + k) % names.length];
      const t0 = process.hrtime.bigint();
      await contenders[n]();
      samples[n].push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  const stats = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return { median: s[Math.floor(s.length / 2)], p95: s[Math.floor(s.length * 0.95)] };
  };
  const base = stats(samples[BASELINE]).median;
  console.log(`\n${label} (N=${N}, rss ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MB)`);
  console.log('contender'.padEnd(40), 'median ms', '  p95 ms', '  ratio (median vs child_process)');
  for (const n of names) {
    const { median, p95 } = stats(samples[n]);
    console.log(n.padEnd(40), median.toFixed(3).padStart(9), p95.toFixed(3).padStart(8), `  ${(median / base).toFixed(2)}x`);
  }
}

await phase('small heap');
const hold = [];
for (let mb = 0; mb < HEAP_MB; mb += 8) hold.push(new Float64Array(1024 * 1024).fill(mb + 1)); // 8 MB each, touched
await phase(`${HEAP_MB} MB touched heap`);
console.log(`(held ${hold.length * 8} MB)`);
rmSync(ws, { recursive: true, force: true });
