// Issue #8 class 6: host processes. From the sandbox the host's /proc/<pid>/environ, its fds
// (/proc/<pid>/fd/N, pidfd_getfd) and its memory are out of reach, and signals to host
// processes are refused, in both isolation paths:
//   pid namespace (default): host pids do not exist in the child's namespace and /proc is the
//     child's own (ENOENT, ESRCH). Nothing of the host is named at all.
//   namespaces: false: Landlock denies ptrace-mode access to processes outside the domain
//     (environ, fd, maps, mem: EACCES) and, from ABI 6, signals out of the domain (EPERM);
//     seccomp refuses pidfd_getfd. /proc/<pid>/cmdline and status need no ptrace access: they
//     stay readable there (a reported gap: the host's process list and command lines).
// Controls: the same reads and signals unsandboxed (and under DangerFullAccess) succeed, and a
// sandboxed process can still signal its own child.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { execSandboxed, SandboxPolicy } from '../../src/index.js';
import { buildHelper } from '../helpers/build-helpers.js';
import { isAlive, tempDir, waitFor } from '../helpers/process.js';
import { MODES, probeIn, probeUnsandboxed, type Mode } from './probe.js';

const ws = tempDir('cordon-escape-host-');
const policy = SandboxPolicy.workspaceWrite([ws.dir]);
const full = SandboxPolicy.fullAccess();
const host = String(process.pid);
let secretFd: number;
const sleepers: ChildProcess[] = [];

beforeAll(() => {
  writeFileSync(join(ws.dir, 'held-open'), 'host data');
  secretFd = openSync(join(ws.dir, 'held-open'), 'r');
});
afterAll(() => {
  closeSync(secretFd);
  for (const s of sleepers) s.kill('SIGKILL');
  ws.cleanup();
});

/** A host process that is no child of the sandbox: `sleep`, with a secret in its environment. */
function hostSleeper(): ChildProcess {
  const s = spawn('sleep', ['30'], { env: { CORDON_TEST_SECRET: 'hunter2' }, stdio: 'ignore' });
  sleepers.push(s);
  return s;
}

const READS = (fd: number): Record<string, string[]> => ({
  environ: ['read', `/proc/${host}/environ`],
  cmdline: ['read', `/proc/${host}/cmdline`],
  'fd (magic link)': ['read', `/proc/${host}/fd/${fd}`],
  maps: ['read', `/proc/${host}/maps`],
  'pidfd_getfd': ['pidfd-getfd', host, String(fd)],
  'kill(pid, 0)': ['kill', host, '0'],
  'pidfd_send_signal(0)': ['pidfd-kill', host, '0'],
});

const EXPECTED: Record<Mode, Record<string, string>> = {
  pidns: {
    environ: 'ENOENT', cmdline: 'ENOENT', 'fd (magic link)': 'ENOENT', maps: 'ENOENT',
    pidfd_getfd: 'ESRCH', 'kill(pid, 0)': 'ESRCH', 'pidfd_send_signal(0)': 'ESRCH',
  },
  'no-namespaces': {
    environ: 'EACCES', cmdline: 'OK', 'fd (magic link)': 'EACCES', maps: 'EACCES',
    // pidfd_open works without a pid namespace; pidfd_getfd is refused by seccomp.
    pidfd_getfd: 'EPERM', 'kill(pid, 0)': 'EPERM', 'pidfd_send_signal(0)': 'EPERM',
  },
};

test('controls: unsandboxed and under DangerFullAccess the host process is readable and signalable', async () => {
  for (const [what, args] of Object.entries(READS(secretFd))) {
    expect([what, probeUnsandboxed(args).split(' ')[0]]).toEqual([what, 'OK']);
    expect([what, (await probeIn(full, args, { cwd: ws.dir })).split(' ')[0]]).toEqual([what, 'OK']);
  }
});

describe.each(MODES)('%s', (mode) => {
  test('the host process: environ, fds and memory unreachable, signals refused', async () => {
    const got: Record<string, string> = {};
    for (const [what, args] of Object.entries(READS(secretFd))) {
      got[what] = (await probeIn(policy, args, { cwd: ws.dir, mode })).split(' ')[0]!;
    }
    expect(got).toEqual(EXPECTED[mode]);
  });

  test('SIGKILL to a host process is refused (it lives on); the sandbox kills its own child', async () => {
    const sleeper = hostSleeper();
    const pid = String(sleeper.pid);
    const refused = mode === 'pidns' ? 'ESRCH' : 'EPERM';
    expect(await probeIn(policy, ['kill', pid, '9'], { cwd: ws.dir, mode })).toBe(refused);
    expect(await probeIn(policy, ['pidfd-kill', pid, '9'], { cwd: ws.dir, mode })).toBe(refused);
    expect(await probeIn(policy, ['read', `/proc/${pid}/environ`], { cwd: ws.dir, mode })).toBe(mode === 'pidns' ? 'ENOENT' : 'EACCES');
    await new Promise((r) => setTimeout(r, 50));
    expect(isAlive(sleeper.pid!)).toBe(true);

    const probe = buildHelper('syscall-probe');
    const own = await execSandboxed('/bin/sh', ['-c', `sleep 30 & ${probe} kill $! 9; wait $!; echo "status $?"`], {
      policy, cwd: ws.dir, namespaces: mode === 'pidns', timeout: 20_000,
    });
    expect(String(own.stdout).trim().split('\n')).toEqual(['OK', 'status 137']);
  });
});

test('control: the same SIGKILL unsandboxed reaches the host process', async () => {
  const sleeper = hostSleeper();
  const exited = new Promise<NodeJS.Signals | null>((r) => sleeper.on('exit', (_code, signal) => r(signal)));
  expect(probeUnsandboxed(['kill', String(sleeper.pid), '9'])).toBe('OK');
  expect(await exited).toBe('SIGKILL');
  expect(await waitFor(() => !isAlive(sleeper.pid!))).toBe(true);
});
