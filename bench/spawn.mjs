#!/usr/bin/env node
// Spawn cost: child_process.spawn vs spawnSandboxed, sequential /bin/true, interleaved so
// machine noise hits every contender alike. Two phases: the host as is, then holding 512 MB
// of touched heap (libuv forks the whole host, so its cost grows with the host's memory;
// clone(CLONE_VM|CLONE_VFORK) does not).
//   npm run build && node bench/spawn.mjs [--n 1000] [--heap-mb 512]
import { spawn } from 'node:child_process';
import { mkdtempSync, realpathSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResourceLimits, SandboxPolicy, spawnSandboxed } from '../dist/index.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i === -1 ? fallback : Number(process.argv[i + 1]);
};
const N = arg('n', 1000);
const HEAP_MB = arg('heap-mb', 512);
const WARMUP = 50;

const ws = realpathSync(mkdtempSync(join(tmpdir(), 'cordon-bench-')));
const contenders = {
  'child_process.spawn': () => new Promise((r) => spawn('/bin/true', [], { stdio: 'ignore' }).on('close', r)),
  'spawnSandboxed DangerFullAccess': () =>
    new Promise((r) => spawnSandboxed('/bin/true', [], { policy: SandboxPolicy.fullAccess(), stdio: 'ignore', cwd: ws }).on('close', r)),
  'spawnSandboxed WorkspaceWrite': () =>
    new Promise((r) => spawnSandboxed('/bin/true', [], { policy: wsPolicy, stdio: 'ignore', cwd: ws }).on('close', r)),
  'spawnSandboxed WorkspaceWrite+limits': () =>
    new Promise((r) => spawnSandboxed('/bin/true', [], { policy: limitsPolicy, stdio: 'ignore', cwd: ws }).on('close', r)),
};
const wsPolicy = SandboxPolicy.workspaceWrite([ws]);
const limitsPolicy = SandboxPolicy.workspaceWriteWithLimits([ws], ResourceLimits.conservative());

async function phase(label) {
  const names = Object.keys(contenders);
  const samples = Object.fromEntries(names.map((n) => [n, []]));
  for (let i = 0; i < WARMUP; i++) for (const n of names) await contenders[n]();
  for (let i = 0; i < N; i++) {
    for (const n of names) {
      const t0 = process.hrtime.bigint();
      await contenders[n]();
      samples[n].push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  const stats = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return { median: s[Math.floor(s.length / 2)], p95: s[Math.floor(s.length * 0.95)] };
  };
  const base = stats(samples['child_process.spawn']).median;
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
