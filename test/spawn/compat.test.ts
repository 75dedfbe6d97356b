// child_process compatibility: shell, AbortSignal, stdio in execSandboxed, and bad input that
// names the field and the reason (never zod's or a generic "unknown option").
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execSandboxed, SandboxPolicy, SandboxSetupError, spawnSandboxed, SpawnOptionsError } from '../../src/index.js';
import { openFdCount, pidsWithCmdline, tempDir, waitFor } from '../helpers/process.js';

let ws: { dir: string; cleanup: () => void };
let policy: SandboxPolicy;
beforeAll(() => {
  ws = tempDir('cordon-compat-');
  policy = SandboxPolicy.workspaceWrite([ws.dir]);
});
afterAll(() => ws.cleanup());

function optionsError(run: () => unknown): SpawnOptionsError {
  try {
    run();
  } catch (e) {
    expect(e).toBeInstanceOf(SpawnOptionsError);
    return e as SpawnOptionsError;
  }
  throw new Error('expected a SpawnOptionsError');
}

describe('shell', () => {
  it('shell: true runs a command line through /bin/sh inside the sandbox, as child_process does', async () => {
    const r = await execSandboxed('echo $((6*7)) | tr 4 X && echo "$0"', { policy, cwd: ws.dir, shell: true });
    expect(r).toMatchObject({ exitCode: 0, stdout: 'X2\n/bin/sh\n' });
    // Joined with spaces, like child_process: args are words of the line.
    const joined = await execSandboxed('printf', ['%s-', 'a', 'b'], { policy, cwd: ws.dir, shell: true });
    expect(joined.stdout).toBe('a-b-');
    // Control: without shell the same text is one program name, which does not exist.
    await expect(execSandboxed('echo $((6*7))', { policy, cwd: ws.dir })).rejects.toMatchObject({ code: 'ENOENT' });
    // Same answer as child_process for the same line.
    const host = await new Promise<string>((resolve) => execFile('printf', ['%s-', 'a', 'b'], { shell: true }, (_e, out) => resolve(out)));
    expect(host).toBe(joined.stdout);
  });

  it('shell: PATH runs that shell; the sandbox still holds (a write outside the workspace fails)', async () => {
    const r = await execSandboxed('echo "$0"; echo x > /etc/cordon-shell-test', { policy, cwd: ws.dir, shell: '/bin/bash' });
    expect(r.stdout).toBe('/bin/bash\n');
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/Read-only|Permission denied/);
    // Control: the same write inside the workspace works.
    const ok = await execSandboxed(`echo x > ${join(ws.dir, 'shell-ok')}`, { policy, cwd: ws.dir, shell: '/bin/bash' });
    expect(ok.exitCode).toBe(0);
  });

  it('spawnSandboxed takes shell too; spawnfile and spawnargs say what ran', () => {
    const child = spawnSandboxed('exit 3', { policy, cwd: ws.dir, shell: true, stdio: 'ignore' });
    expect(child.spawnfile).toBe('/bin/sh');
    expect(child.spawnargs).toEqual(['/bin/sh', '-c', 'exit 3']);
    return new Promise<void>((resolve) => child.on('close', (code) => (expect(code).toBe(3), resolve())));
  });
});

describe('AbortSignal', () => {
  it('execSandboxed rejects with an AbortError once the sandbox is gone, like execFile', async () => {
    const controller = new AbortController();
    const marker = `cordon-abort-${process.pid}-${Date.now()}`;
    const ready = join(ws.dir, `${marker}.ready`);
    const run = execSandboxed('sh', ['-c', `echo started; touch ${ready}; sleep 30; : ${marker}`], { policy, cwd: ws.dir, signal: controller.signal });
    // Aborted once the output is written (the file comes after the echo), not merely started.
    expect(await waitFor(() => existsSync(ready), 10_000)).toBe(true);
    const started = Date.now();
    controller.abort(new Error('user pressed stop'));
    const err = (await run.then(
      () => {
        throw new Error('resolved');
      },
      (e: unknown) => e,
    )) as Error & { code: string; cause: unknown; result: { stdout: string; termination: string } };
    expect(err.name).toBe('AbortError');
    expect(err.code).toBe('ABORT_ERR');
    expect((err.cause as Error).message).toBe('user pressed stop');
    expect(err.result.stdout).toBe('started\n');
    expect(err.result.termination).toBe('killed');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(pidsWithCmdline(marker)).toEqual([]); // settled after the sandbox died
    // execFile's shape, for comparison (the control: the same signal use outside cordon).
    const c2 = new AbortController();
    const host = new Promise<Error>((resolve) => execFile('sleep', ['30'], { signal: c2.signal }, (e) => resolve(e as Error)));
    c2.abort();
    expect(await host).toMatchObject({ name: 'AbortError', code: 'ABORT_ERR' });
    // Control: an unaborted signal changes nothing.
    await expect(execSandboxed('true', { policy, cwd: ws.dir, signal: new AbortController().signal })).resolves.toMatchObject({ exitCode: 0 });
  });

  it('an already aborted signal rejects at once and runs nothing to completion', async () => {
    const file = join(ws.dir, 'ran');
    const err = await execSandboxed('sh', ['-c', `sleep 1; echo x > ${file}`], { policy, cwd: ws.dir, signal: AbortSignal.abort() }).catch((e: Error) => e);
    expect((err as Error).name).toBe('AbortError');
    await new Promise((r) => setTimeout(r, 1200));
    expect(() => writeFileSync(join(ws.dir, 'probe'), '')).not.toThrow();
    expect(existsSync(file)).toBe(false);
  });
});

describe('stdio in execSandboxed', () => {
  it('captures pipes, honours the rest, and refuses what cannot be', async () => {
    const both = await execSandboxed('sh', ['-c', 'echo out; echo err >&2'], { policy, cwd: ws.dir, stdio: ['ignore', 'pipe', 'pipe'] });
    expect(both).toMatchObject({ stdout: 'out\n', stderr: 'err\n' });
    // stderr to /dev/null: not captured, and not an error.
    const quiet = await execSandboxed('sh', ['-c', 'echo out; echo err >&2'], { policy, cwd: ws.dir, stdio: ['ignore', 'pipe', 'ignore'] });
    expect(quiet).toMatchObject({ stdout: 'out\n', stderr: '' });
    // A stdin pipe without input reads EOF instead of waiting forever.
    const eof = await execSandboxed('cat', { policy, cwd: ws.dir, stdio: 'pipe', timeout: 10_000 });
    expect(eof).toMatchObject({ stdout: '', exitCode: 0, timedOut: false });
    await expect(execSandboxed('true', { policy, stdio: 'bogus' as never })).rejects.toThrow(/options\.stdio: must be 'pipe', 'inherit', 'ignore', an fd/);
    await expect(execSandboxed('true', { policy, stdio: ['pipe', 'pipe'] as never })).rejects.toThrow(/options\.stdio: must be one entry or three/);
    await expect(execSandboxed('cat', { policy, input: 'x', stdio: ['ignore', 'pipe', 'pipe'] })).rejects.toThrow(/options\.input: needs stdin 'pipe'/);
    // Control: input with the default stdio reaches the command.
    await expect(execSandboxed('cat', { policy, cwd: ws.dir, input: 'fed' })).resolves.toMatchObject({ stdout: 'fed' });
  });
});

describe('environment and timers', () => {
  it('addEnv sets variables on top of the inherited environment, secret-shaped names included, and reports them', async () => {
    process.env.CORDON_COMPAT_API_TOKEN = 'from-host';
    try {
      const show = ['sh', ['-c', 'echo "${CORDON_COMPAT_API_TOKEN:-unset} ${CORDON_COMPAT_MODE:-unset}"']] as const;
      // Control: the inherited environment drops the secret-shaped name.
      const filtered = await execSandboxed(show[0], show[1], { policy, cwd: ws.dir });
      expect(filtered.stdout).toBe('unset unset\n');
      expect(filtered.enforcement.lifecycle.removedEnv).toContain('CORDON_COMPAT_API_TOKEN');
      expect(filtered.enforcement.lifecycle.explicitEnv).toEqual([]);
      const added = await execSandboxed(show[0], show[1], { policy, cwd: ws.dir, addEnv: { CORDON_COMPAT_API_TOKEN: 'given', CORDON_COMPAT_MODE: 'x' } });
      expect(added.stdout).toBe('given x\n');
      expect(added.enforcement.lifecycle.explicitEnv).toEqual(['CORDON_COMPAT_API_TOKEN', 'CORDON_COMPAT_MODE']);
      expect(added.enforcement.lifecycle.removedEnv).not.toContain('CORDON_COMPAT_API_TOKEN');
      // cordon's markers come from cordon alone: refused in addEnv, dropped from what is
      // inherited or given (a ReadOnly child gets no CORDON_WRITABLE_ROOTS of anyone's).
      expect(() => spawnSandboxed('true', [], { policy, addEnv: { CORDON_SANDBOX: 'forged' } })).toThrow(/options\.addEnv: CORDON_SANDBOX is one of cordon's markers/);
      process.env.CORDON_WRITABLE_ROOTS = '/';
      const readOnly = SandboxPolicy.readOnly();
      const inherited = await execSandboxed('sh', ['-c', 'echo "${CORDON_WRITABLE_ROOTS:-none}"'], { policy: readOnly, cwd: ws.dir });
      expect(inherited.stdout).toBe('none\n');
      const given = await execSandboxed('sh', ['-c', 'echo "${CORDON_WRITABLE_ROOTS:-none} $CORDON_SANDBOX_TYPE"'], { policy: readOnly, cwd: ws.dir, env: { PATH: process.env.PATH, CORDON_WRITABLE_ROOTS: '/', CORDON_SANDBOX_TYPE: 'DangerFullAccess' } });
      expect(given.stdout).toBe('none ReadOnly\n');
      delete process.env.CORDON_WRITABLE_ROOTS;
      // The command is looked up with the PATH it gets (as child_process with options.env.PATH).
      const bin = join(ws.dir, 'bin');
      mkdirSync(bin, { recursive: true });
      writeFileSync(join(bin, 'cordon-compat-tool'), '#!/bin/sh\necho tool ran\n', { mode: 0o755 });
      await expect(execSandboxed('cordon-compat-tool', { policy, cwd: ws.dir })).rejects.toMatchObject({ code: 'ENOENT' });
      const found = await execSandboxed('cordon-compat-tool', { policy, cwd: ws.dir, addEnv: { PATH: `${bin}:${process.env.PATH}` } });
      expect(found.stdout).toBe('tool ran\n');
      expect(() => spawnSandboxed('true', [], { policy, addEnv: { 'A=B': 'x' } })).toThrow(/options\.addEnv: variable name "A=B"/);
      expect(() => spawnSandboxed('true', [], { policy, addEnv: { A: 'x\0y' } })).toThrow(/options\.addEnv\.A: env value must not contain NUL/);
    } finally {
      delete process.env.CORDON_COMPAT_API_TOKEN;
      delete process.env.CORDON_WRITABLE_ROOTS;
    }
  });

  it('a timeout beyond setTimeout\'s range (2^31-1 ms) does not fire at once (control: a short one does)', async () => {
    const long = SandboxPolicy.parse({ type: 'workspace_write', writable_roots: [{ root: ws.dir }], resource_limits: { timeout_secs: 3_000_000 } });
    const r = await execSandboxed('sleep', ['0.3'], { policy: long, cwd: ws.dir });
    expect(r).toMatchObject({ termination: 'exit', exitCode: 0, timedOut: false });
    const short = await execSandboxed('sleep', ['5'], { policy, cwd: ws.dir, timeout: 200 });
    expect(short).toMatchObject({ termination: 'timeout', timedOut: true });
  });
});

describe('reports and buffers say what held', () => {
  it('the timeout option is what the report shows: disabled, shorter, longer (control: none given shows the policy\'s)', async () => {
    const t = (r: { enforcement: { limits?: { timeout: { value: number; enforced: boolean; detail: string; gaps: string[] } } } }) => r.enforcement.limits!.timeout;
    const base = await execSandboxed('true', { policy, cwd: ws.dir });
    expect(t(base)).toMatchObject({ value: 300, enforced: true });
    const off = await execSandboxed('true', { policy, cwd: ws.dir, timeout: 0 });
    expect(t(off)).toMatchObject({ value: 300, enforced: false, detail: expect.stringMatching(/disabled by the timeout option/) });
    const short = await execSandboxed('true', { policy, cwd: ws.dir, timeout: 1500 });
    expect(t(short)).toMatchObject({ value: 1.5, enforced: true, gaps: [] });
    const long = await execSandboxed('true', { policy, cwd: ws.dir, timeout: 600_000 });
    expect(t(long)).toMatchObject({ value: 600, enforced: true, gaps: [expect.stringMatching(/longer than the policy's 300 s/)] });
  });

  it('maxBuffer: output that fills the buffer exactly and then goes on is an overflow (control: exactly full and no more is not)', async () => {
    const script = (extra: number) => `head -c 65536 /dev/zero; sleep 0.2; head -c ${extra} /dev/zero`;
    const over = await execSandboxed('sh', ['-c', script(10)], { policy, cwd: ws.dir, maxBuffer: 65536, encoding: 'buffer' });
    expect(over).toMatchObject({ maxBufferExceeded: true, termination: 'max-buffer' });
    expect(over.stdout.length).toBe(65536);
    const exact = await execSandboxed('sh', ['-c', script(0)], { policy, cwd: ws.dir, maxBuffer: 65536, encoding: 'buffer' });
    expect(exact).toMatchObject({ maxBufferExceeded: false, termination: 'exit' });
    const none = await execSandboxed('yes', { policy, cwd: ws.dir, maxBuffer: 0, timeout: 10_000 });
    expect(none).toMatchObject({ maxBufferExceeded: true, termination: 'max-buffer', timedOut: false });
  });

  it('a policy object is read as its JSON text: a toJSON or hidden property never meets another policy\'s cached parse', async () => {
    // Warm the cache with a full-access policy, then offer objects that serialize to it.
    await execSandboxed('true', { policy: { type: 'danger_full_access' }, cwd: ws.dir });
    const sneaky = { type: 'read_only', toJSON: () => ({ type: 'danger_full_access' }) };
    const r = await execSandboxed('true', { policy: sneaky as never, cwd: ws.dir });
    // What runs is what the JSON says, and the report says the same.
    expect(r.enforcement.policy).toBe('DangerFullAccess');
    const hidden = Object.defineProperty({ type: 'workspace_write' } as Record<string, unknown>, 'writable_roots', { value: [{ root: '/etc' }], enumerable: false });
    expect(() => spawnSandboxed('true', [], { policy: hidden, cwd: ws.dir })).toThrow(/writable_roots: required/);
  });
});

describe('bad input names the field and the reason, and spawns nothing', () => {
  it('sparse arrays, Maps, getters that throw, numbers for args', async () => {
    // (A policy object is read as its JSON text, where a hole is null.)
    const cases: [unknown, RegExp][] = [
      [{ type: 'workspace_write', writable_roots: [,] }, /writable_roots\[0\]: must be an object/],
      [{ type: 'workspace_write', writable_roots: [{ root: ws.dir }], network_allowlist: [,] }, /network_allowlist\[0\]: must be an object/],
      [{ type: 'workspace_write', writable_roots: [{ root: ws.dir }], seccomp_profile: { blocked_syscalls: [, 'ptrace'] } }, /blocked_syscalls\[0\]: must be a string/],
    ];
    for (const [p, message] of cases) expect(() => spawnSandboxed('true', [], { policy: p as never, cwd: ws.dir })).toThrow(message);
    expect(() => SandboxPolicy.workspaceWrite([,] as never)).toThrow(/writable_roots\[0\]/);
    // eslint-disable-next-line no-sparse-arrays
    expect(() => spawnSandboxed('echo', [, 'x'] as never, { policy })).toThrow(/args\[0\]: must be a string/);
    expect(() => spawnSandboxed('true', [], { policy, stdio: [, , ,] as never })).toThrow(/options\.stdio\[2\]: required/);
    expect(() => spawnSandboxed('true', [], { policy, stdio: [, 'pipe', 'pipe'] as never })).toThrow(/options\.stdio\[0\]: required/);
    expect(() => spawnSandboxed('true', [], { policy, env: new Map([['A', 'b']]) as never })).toThrow(/options\.env: must be an object of strings/);
    expect(() => spawnSandboxed('true', [], { policy, proxy: { dnsServers: [] } })).toThrow(/options\.proxy\.dnsServers: must not be empty/);
    const throwing = Object.defineProperty({}, 'cwd', { get: () => { throw new Error('boom'); }, enumerable: true });
    expect(() => spawnSandboxed('true', [], throwing as never)).toThrow(SpawnOptionsError);
    await expect(execSandboxed('echo', 5 as never)).rejects.toThrow(/args: must be an array of strings or the options object, got a number/);
    expect(() => spawnSandboxed('true', [], { policy, killGraceMs: 2 ** 31 })).toThrow(/options\.killGraceMs: must be an integer \(ms\) from 0 to 2147483647/);
  });

  it('args given as a string', async () => {
    const err = optionsError(() => spawnSandboxed('ls', '-la' as never));
    expect(err.message).toMatch(/args: must be an array of strings, got the string "-la".*shell: true/);
    expect(err.message).not.toMatch(/unknown option/);
    await expect(execSandboxed('ls', '-la' as never)).rejects.toThrow(/args: must be an array of strings/);
  });

  it.each([
    ['uid', 1000, /options\.uid: not supported, because the command runs as the caller/],
    ['gid', 1000, /options\.gid: not supported, because/],
    ['detached', true, /options\.detached: not supported, because a sandboxed command never outlives its sandbox/],
    ['windowsHide', true, /options\.windowsHide: not supported, because it is Windows-only/],
    ['serialization', 'advanced', /options\.serialization: not supported, because there is no IPC channel/],
  ])('child_process option %s', (key, value, message) => {
    const err = optionsError(() => spawnSandboxed('true', [], { policy, [key]: value } as never));
    expect(err.message).toMatch(message);
    expect(err.message).not.toMatch(/unknown option/);
  });

  it('types in env, stdio, timeout and friends get our words, never zod\'s', () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ env: { N: 5 } }, /options\.env\.N: must be a string/],
      [{ env: 'PATH=/bin' }, /options\.env: must be an object of strings/],
      [{ timeout: 'soon' }, /options\.timeout: must be an integer \(ms\) >= 0/],
      [{ timeout: -1 }, /options\.timeout: must be an integer \(ms\) >= 0/],
      [{ cwd: 7 }, /options\.cwd: must be a non-empty string/],
      [{ stdio: ['pipe', 'pipe', 'nope'] }, /options\.stdio\[2\]: must be 'pipe'/],
      [{ shell: 3 }, /options\.shell: must be true, false, or the path of a shell/],
      [{ enforcement: 'lax' }, /options\.enforcement: must be 'strict' or 'best-effort'/],
      [{ proxy: { maxConnections: 0 } }, /options\.proxy\.maxConnections: must be an integer from 1 to 65536/],
      [{ proxy: { bogus: 1 } }, /options\.proxy: unknown option\(s\): bogus/],
      [{ inheritEnv: ['A=B'] }, /options\.inheritEnv: must be 'filtered', 'minimal', or an array/],
      [{ bogus: 1, other: 2 }, /options: unknown option\(s\): bogus, other/],
    ];
    for (const [options, message] of cases) {
      const err = optionsError(() => spawnSandboxed('true', [], { policy, ...options } as never));
      expect(err.message, JSON.stringify(options)).toMatch(message);
      expect(err.message).not.toMatch(/Invalid input|expected string|received/);
    }
  });

  it('an option set to undefined says nothing, as in child_process (control: with a value it is refused)', async () => {
    await expect(execSandboxed('true', { policy, cwd: ws.dir, uid: undefined, windowsHide: undefined } as never)).resolves.toMatchObject({ exitCode: 0 });
    expect(() => spawnSandboxed('true', [], { policy, uid: 0 } as never)).toThrow(/options\.uid: not supported/);
  });

  it('what child_process accepts: env: process.env, null for "not given", the defaults of options cordon lacks', async () => {
    const r = await execSandboxed('sh', ['-c', 'echo "$HOME"'], { policy, cwd: ws.dir, env: process.env });
    expect(r.stdout).toBe(`${process.env.HOME}\n`);
    class Env { PATH = process.env.PATH!; ONE = '1'; }
    expect((await execSandboxed('sh', ['-c', 'echo $ONE'], { policy, cwd: ws.dir, env: new Env() as never })).stdout).toBe('1\n');
    const nulls = { cwd: null, env: null, timeout: null, argv0: null, killSignal: null, uid: null, gid: null, maxBuffer: null, input: null };
    await expect(execSandboxed('true', { policy, ...nulls } as never)).resolves.toMatchObject({ exitCode: 0 });
    await expect(execSandboxed('true', { policy, cwd: ws.dir, detached: false, windowsHide: false, serialization: 'json' } as never)).resolves.toMatchObject({ exitCode: 0 });
    // Control: the non-default values are still refused, with the reason.
    expect(() => spawnSandboxed('true', [], { policy, detached: true } as never)).toThrow(/options\.detached: not supported/);
  });

  it('arguments that cannot be read (a revoked Proxy, a throwing getter) give a SpawnOptionsError', async () => {
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    expect(() => spawnSandboxed('true', revoked.proxy as never)).toThrow(SpawnOptionsError);
    expect(() => spawnSandboxed('true', [], revoked.proxy as never)).toThrow(SpawnOptionsError);
    const args = ['a'];
    Object.defineProperty(args, 0, { get: () => { throw new Error('g'); } });
    expect(() => spawnSandboxed('echo', args, { policy })).toThrow(SpawnOptionsError);
    await expect(execSandboxed('true', revoked.proxy as never)).rejects.toThrow(SpawnOptionsError);
  });

  it('markers dropped from a given env are reported as removed', async () => {
    const r = await execSandboxed('true', { policy, cwd: ws.dir, env: { PATH: process.env.PATH, CORDON_SANDBOX_TYPE: 'x' } });
    expect(r.enforcement.lifecycle.removedEnv).toEqual(['CORDON_SANDBOX_TYPE']);
  });

  it('SandboxSetupError has one shape: errno negative (as Node\'s), errnoName declared, whatever sign it was given', () => {
    for (const given of [2, -2]) {
      const e = new SandboxSetupError('cgroup', given, 'ENOENT', 'm');
      expect(e).toMatchObject({ errno: -2, errnoName: 'ENOENT', step: 'cgroup', syscall: 'cgroup', code: 'ERR_CORDON_SANDBOX_SETUP' });
    }
  });

  it('leaks nothing over many refused spawns (control: a good spawn after them works)', async () => {
    const before = openFdCount();
    for (let i = 0; i < 200; i++) expect(() => spawnSandboxed('true', [], { policy, uid: 0 } as never)).toThrow(SpawnOptionsError);
    expect(openFdCount()).toBeLessThanOrEqual(before + 2);
    await expect(execSandboxed('true', { policy, cwd: ws.dir })).resolves.toMatchObject({ exitCode: 0 });
  });
});
