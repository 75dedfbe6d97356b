// The control for the sandboxed seccomp tests: syscall-probe without any sandbox gives the
// host's own answer for every op (root and non-root differ; see ./probe.ts).
import { chmodSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { tempDir } from '../helpers/process.js';
import { runProbeUnsandboxed, unsandboxedExpectation } from './probe.js';

describe('syscall-probe without a sandbox (control)', () => {
  const expected = unsandboxedExpectation();
  test.each(Object.entries(expected))('%s', (op, want) => {
    const got = runProbeUnsandboxed(op);
    if (Array.isArray(want)) expect(want).toContain(got);
    else expect(got).toBe(want);
  });

  const ws = tempDir('cordon-seccomp-');
  afterAll(() => ws.cleanup());

  test('chmod-setuid and chmod-plusx on an own file', () => {
    const file = join(ws.dir, 'tool');
    writeFileSync(file, '#!/bin/sh\n');
    chmodSync(file, 0o644);
    expect(runProbeUnsandboxed('chmod-setuid', file)).toBe('OK');
    expect(statSync(file).mode & 0o7777).toBe(0o4755);
    expect(runProbeUnsandboxed('chmod-plusx', file)).toBe('OK');
    expect(statSync(file).mode & 0o7777).toBe(0o755);
  });

  test('unknown op is a usage error, not a silent OK', () => {
    expect(() => runProbeUnsandboxed('no-such-op')).not.toThrow();
    expect(runProbeUnsandboxed('no-such-op')).toBe('<no output>');
  });
});
