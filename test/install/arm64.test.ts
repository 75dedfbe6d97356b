// The linux-arm64 prebuild under qemu-user, through scripts/test-arm64.sh: it loads in an arm64
// Node, its kernel probe runs, and the tests that need no sandbox (test/policy, the BPF compiler
// and profile tests) pass with vitest itself running on the arm64 Node.
//
// Never fetches, in CI or not (--offline): the arm64 Node (~45 MB) and an arm64 install of the
// devDependencies are a cache that running scripts/test-arm64.sh once fills from the npm
// registry. A test suite that downloads on its own is slow and depends on the network, so
// without that cache this test skips and says so.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { cleanEnv, hostGlibc, repo, run, which } from './helpers.js';

const cache =
  process.env.CORDON_ARM64_CACHE || path.join(process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'cordon-arm64');
const major = process.versions.node.split('.')[0];
const lockHash = createHash('sha256').update(fs.readFileSync(path.join(repo, 'package-lock.json'))).digest('hex');

function skipReason(): string | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64' || !hostGlibc) {
    return `host is ${process.platform}-${process.arch}, not linux-x64 glibc (an arm64 host runs the whole suite natively)`;
  }
  if (!which('qemu-aarch64-static') && !which('qemu-aarch64')) return 'qemu-aarch64 absent (apt-get install qemu-user-static)';
  if (!which('aarch64-linux-gnu-g++') || !fs.existsSync('/usr/aarch64-linux-gnu/lib/libstdc++.so.6')) {
    return 'arm64 cross toolchain absent (apt-get install g++-aarch64-linux-gnu)';
  }
  if (!fs.existsSync(path.join(cache, `node-v${major}`, 'bin', 'node'))) {
    return `no arm64 Node v${major} in ${cache} (run scripts/test-arm64.sh once to fetch it)`;
  }
  let recorded = '';
  try {
    recorded = fs.readFileSync(path.join(cache, 'tree', '.lock-sha256'), 'utf8').trim();
  } catch {}
  if (recorded !== lockHash) return `the arm64 devDependencies in ${cache}/tree do not match package-lock.json (run scripts/test-arm64.sh)`;
  return undefined;
}

const reason = skipReason();

it.skipIf(reason !== undefined)(
  `linux-arm64 prebuild: loads, probes and passes test/policy and the BPF tests under qemu-aarch64${reason ? ` (skipped: ${reason})` : ''}`,
  () => {
    const env = cleanEnv({ PATH: process.env.PATH ?? '', HOME: os.homedir(), CORDON_ARM64_CACHE: cache });
    if (process.env.CI) env.CI = process.env.CI;
    const started = Date.now();
    const r = run('bash', [path.join(repo, 'scripts', 'test-arm64.sh'), '--offline'], { cwd: repo, env, timeout: 24 * 60_000 });
    // eslint-disable-next-line no-control-regex
    const out = (r.stdout + r.stderr).replace(/\x1b\[[0-9;]*m/g, '');
    expect(r.status, out.slice(-6000)).toBe(0);
    expect(out).toContain('test-arm64: loaded prebuilds/linux-arm64/cordon.napi.glibc.node');
    expect(out).toMatch(/"arch":"aarch64"/);
    expect(out).toMatch(/Tests\s+\d+ passed/);
    expect(out).not.toMatch(/Tests\s+.*\d+ failed/);
    // For the record in the test log: what the probe sees under qemu-user, and how long it took.
    console.log(out.split('\n').filter((l) => l.startsWith('test-arm64:') || l.startsWith('{"landlockAbi"') || /Tests\s/.test(l)).join('\n'));
    console.log(`arm64 run: ${Math.round((Date.now() - started) / 1000)} s`);
  },
  25 * 60_000,
);
