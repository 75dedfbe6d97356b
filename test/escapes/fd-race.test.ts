// Issue #8 class 7: an fd a host thread opens WITHOUT O_CLOEXEC while spawns happen never
// reaches the sandboxed child. The spawn engine's child runs on a copy of the fd table taken at
// clone() and closes everything above stdio (close_range) before execve, so whatever another
// thread had open at that instant is gone.
// Node and libuv set O_CLOEXEC everywhere, so a test-only addon (test/helpers/fd-leaker.c)
// plays the careless native library: its own thread keeps opening a marker file without the
// flag. The control runs in the same loop: a plain fork+exec from the same process catches the
// marker fd, which proves the race is live while the sandboxed spawns are checked.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { execSandboxed, SandboxPolicy } from '../../src/index.js';
import { buildHelper, loadAddon } from '../helpers/build-helpers.js';
import { tempDir } from '../helpers/process.js';
import { MODES } from './probe.js';

interface FdLeaker {
  start(path: string): void;
  stop(): number;
  forkExecCapture(argv: string[]): string;
}

const ws = tempDir('cordon-escape-fds-');
const marker = join(ws.dir, 'opened-without-cloexec');
writeFileSync(marker, '');
const leaker = loadAddon<FdLeaker>('fd-leaker');
const probe = buildHelper('syscall-probe');
afterEach(() => void leaker.stop());
afterAll(() => ws.cleanup());

/** "0:/dev/null 1:pipe:[..] ..." → { fd: target } */
function parseFds(listing: string): Record<string, string> {
  return Object.fromEntries(
    listing.trim().split(/\s+/).filter(Boolean).map((e) => {
      const i = e.indexOf(':');
      return [e.slice(0, i), e.slice(i + 1)];
    }),
  );
}

test('baseline: with the thread stopped a fork+exec child has no marker fd', () => {
  // (It may have others: the test worker itself holds an inherited fd without O_CLOEXEC, which
  // the sandboxed children below do not get either.)
  expect(Object.values(parseFds(leaker.forkExecCapture([probe, 'list-fds'])))).not.toContain(marker);
});

describe.each(MODES)('%s', (mode) => {
  test('200 sandboxed spawns racing with the thread: only stdio in each child; plain fork+exec leaks meanwhile', async () => {
    const policy = SandboxPolicy.workspaceWrite([ws.dir]);
    leaker.start(marker);
    let controlLeaks = 0;
    const extra: string[] = [];
    for (let i = 0; i < 200; i++) {
      const r = await execSandboxed(probe, ['list-fds'], { policy, cwd: ws.dir, namespaces: mode === 'pidns', timeout: 20_000 });
      const fds = parseFds(String(r.stdout));
      if (Object.keys(fds).sort().join(',') !== '0,1,2') extra.push(String(r.stdout).trim());
      if (i % 4 === 0 && Object.values(parseFds(leaker.forkExecCapture([probe, 'list-fds']))).includes(marker)) controlLeaks++;
    }
    const opens = leaker.stop();
    expect(extra).toEqual([]);
    // 50 control forks: the marker fd is open most of the time, so most of them catch it.
    expect(controlLeaks).toBeGreaterThan(0);
    expect(opens).toBeGreaterThan(1000);
    console.info(`${mode}: control fork+exec leaked the marker ${controlLeaks}/50 times; thread opened it ${opens} times`);
  });
});
