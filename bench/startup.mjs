#!/usr/bin/env node
// Cold start: a fresh node process that loads cordon, against `node -e 0`, interleaved so
// machine noise hits each alike. Budgets (issue 16): import('cordon') adds at most 25 ms to
// `node -e 0`; `cordon run -- true` takes at most 2x `node -e 0`.
//   npm run build && node bench/startup.mjs [--n 20]
// Run from the package root: 'cordon' resolves by the package's own name (its exports map).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const i = process.argv.indexOf('--n');
const N = i === -1 ? 20 : Number(process.argv[i + 1]);
const node = process.execPath;

const contenders = {
  'node -e 0': [node, '-e', '0'],
  // For reference: what an ES-module entry costs by itself (Node's ESM loader).
  'node --input-type=module -e 0': [node, '--input-type=module', '-e', '0'],
  "import('cordon')": [node, '-e', "import('cordon')"],
  "import 'cordon' (ESM)": [node, '--input-type=module', '-e', "import 'cordon'"],
  "require('cordon')": [node, '-e', "require('cordon')"],
  "require('cordon') + policy": [node, '-e', "require('cordon').SandboxPolicy.workspaceWrite([process.cwd()])"],
  'cordon run -- true': [node, join(root, 'bin', 'cordon.js'), 'run', '--', 'true'],
};

const times = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]));
const once = ([file, ...args]) => {
  const t = process.hrtime.bigint();
  const r = spawnSync(file, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, CORDON_PREWARM: '0' } });
  const ms = Number(process.hrtime.bigint() - t) / 1e6;
  if (r.status !== 0) throw new Error(`${file} ${args.join(' ')} failed: ${r.stderr}`);
  return ms;
};
for (const argv of Object.values(contenders)) once(argv); // warm the page cache
for (let round = 0; round < N; round++) {
  const names = Object.keys(contenders);
  for (let k = 0; k < names.length; k++) {
    const name = names[(k + round) % names.length];
    times[name].push(once(contenders[name]));
  }
}
const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};
const base = pct(times['node -e 0'], 50);
console.log(`cold start, ${N} runs each (node ${process.version}); medians and p95 in ms`);
console.log(`${'contender'.padEnd(32)} ${'median'.padStart(8)} ${'p95'.padStart(8)} ${'+node'.padStart(8)} ${'x node'.padStart(7)}`);
for (const [name, xs] of Object.entries(times)) {
  const med = pct(xs, 50);
  console.log(`${name.padEnd(32)} ${med.toFixed(1).padStart(8)} ${pct(xs, 95).toFixed(1).padStart(8)} ${(med - base).toFixed(1).padStart(8)} ${(med / base).toFixed(2).padStart(7)}`);
}
const importAdds = pct(times["import('cordon')"], 50) - base;
const runRatio = pct(times['cordon run -- true'], 50) / base;
console.log(`budget import('cordon') <= +25 ms: ${importAdds.toFixed(1)} ms ${importAdds <= 25 ? 'ok' : 'OVER'}`);
console.log(`budget cordon run -- true <= 2x node -e 0: ${runRatio.toFixed(2)}x ${runRatio <= 2 ? 'ok' : 'OVER'}`);
