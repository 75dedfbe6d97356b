// Issue #9: kernel keyrings are not namespaced, so the caller's session and user keyrings
// (Kerberos tickets, ecryptfs/fscrypt keys, tokens tools park with `keyctl padd`) are reachable
// from any process of the same uid. The strict seccomp profile refuses add_key, request_key
// and keyctl (EPERM) in both isolation paths. A real key is put in the caller's user keyring
// (syscall-probe key-add: raw add_key, no keyutils; it expires by itself after 120 s); the
// control reads it back unsandboxed and under DangerFullAccess, the sandbox cannot (EPERM is
// seccomp's answer: the kernel's own refusals are EACCES / ENOKEY).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SandboxPolicy } from '../../src/index.js';
import { tempDir } from '../helpers/process.js';
import { MODES, probeIn, probeUnsandboxed } from './probe.js';

const ws = tempDir('cordon-escape-keyring-');
const description = `cordon-test-${process.pid}-${randomBytes(4).toString('hex')}`;
const payload = randomBytes(8).toString('hex');
let id = '';

beforeAll(() => {
  const added = probeUnsandboxed(['key-add', 'user', description, payload]);
  expect(added).toMatch(/^OK \d+$/);
  id = added.slice(3);
});
afterAll(() => {
  if (id) probeUnsandboxed(['key-invalidate', id]);
  ws.cleanup();
});

test('control: the key is readable by id and found by search, unsandboxed and under DangerFullAccess', async () => {
  expect(probeUnsandboxed(['key-read', id])).toBe(`OK ${payload}`);
  expect(probeUnsandboxed(['key-search', 'session', description])).toBe(`OK ${id}`);
  const full = SandboxPolicy.fullAccess();
  expect(await probeIn(full, ['key-read', id], { cwd: ws.dir })).toBe(`OK ${payload}`);
  expect(await probeIn(full, ['key-search', 'session', description], { cwd: ws.dir })).toBe(`OK ${id}`);
});

describe.each(MODES)('%s', (mode) => {
  test.each([
    ['ReadOnly', SandboxPolicy.readOnly()],
    ['WorkspaceWrite', SandboxPolicy.workspaceWrite([ws.dir])],
  ])('%s: the caller\'s keys cannot be read, searched or added to', async (_name, policy) => {
    const o = { cwd: ws.dir, mode };
    expect(await probeIn(policy, ['key-read', id], o)).toBe('EPERM');
    expect(await probeIn(policy, ['key-search', 'session', description], o)).toBe('EPERM');
    expect(await probeIn(policy, ['key-search', 'user', description], o)).toBe('EPERM');
    expect(await probeIn(policy, ['key-add', 'user', `${description}-planted`, 'x'], o)).toBe('EPERM');
    expect(probeUnsandboxed(['key-search', 'session', `${description}-planted`])).toBe('ENOKEY');
  });
});
