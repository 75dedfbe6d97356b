// The cordon CLI contract: exit statuses as shells give them, --report, check.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/process.js';

const bin = new URL('../../bin/cordon.js', import.meta.url).pathname; // runs dist/ (npm test builds it first)
let ws: { dir: string; cleanup: () => void };
beforeAll(() => {
  ws = tempDir();
});
afterAll(() => ws.cleanup());

const cordon = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { cwd: ws.dir, encoding: 'utf8', timeout: 30_000 });

describe('cordon run', () => {
  it('passes stdio through and exits with the command status', () => {
    const ok = cordon('run', '--', 'sh', '-c', 'echo hi; echo err >&2');
    expect(ok).toMatchObject({ status: 0, stdout: 'hi\n', stderr: 'err\n' });
    expect(cordon('run', '--', 'sh', '-c', 'exit 3').status).toBe(3);
  });

  it('confines writes to the workspace by default (control: writing inside works)', () => {
    const r = cordon('run', '--', 'sh', '-c', `echo x > ${join(ws.dir, 'inside')} && echo ok; echo y > /etc/cordon-cli-test 2>/dev/null || echo denied`);
    expect(r.stdout).toBe('ok\ndenied\n');
  });

  it('--tmp host shares the host /tmp, the default keeps it private; bad values are usage errors (125)', () => {
    const mark = `/tmp/cordon-cli-tmp-${process.pid}`;
    rmSync(mark, { force: true });
    try {
      const priv = cordon('run', '--', 'sh', '-c', `echo x > ${mark} && echo wrote`);
      expect(priv.stdout).toBe('wrote\n');
      expect(existsSync(mark)).toBe(false); // written in the sandbox's own /tmp
      const policy = join(ws.dir, 'tmp-policy.json');
      writeFileSync(policy, JSON.stringify({ type: 'workspace_write', writable_roots: [{ root: ws.dir }], exclude_slash_tmp: false }));
      const shared = cordon('run', '--policy', policy, '--cwd', ws.dir, '--tmp', 'host', '--', 'sh', '-c', `echo x > ${mark} && echo wrote`);
      expect(shared.stdout).toBe('wrote\n');
      expect(existsSync(mark)).toBe(true);
    } finally {
      rmSync(mark, { force: true });
    }
    expect(cordon('run', '--tmp', 'shared', '--', 'true').status).toBe(125);
    expect(cordon('run', '--protected-dirs', 'nope', '--', 'true').status).toBe(125);
    expect(cordon('run', '--device', '/etc/passwd', '--', 'true').status).toBe(125);
  });

  it('maps failures to shell statuses: 127 not found, 126 not executable, 124 timeout, 128+N signal, 125 setup', () => {
    expect(cordon('run', '--', 'cordon-no-such-cmd').status).toBe(127);
    const file = join(ws.dir, 'noexec');
    writeFileSync(file, 'echo\n', { mode: 0o644 });
    expect(cordon('run', '--', file).status).toBe(126);
    expect(cordon('run', '--timeout', '0.5', '--', 'sleep', '30').status).toBe(124);
    const bad = join(ws.dir, 'bad.json');
    writeFileSync(bad, '{"type":"nope"}');
    const r = cordon('run', '--policy', bad, '--', 'true');
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/type/);
    expect(cordon('run', '--bogus', '--', 'true').status).toBe(125);
  });

  it('loads a reference-format policy file and prints the enforcement report with --report', () => {
    const policy = join(ws.dir, 'policy.json');
    writeFileSync(policy, JSON.stringify({ type: 'read_only' }));
    const r = cordon('run', '--policy', policy, '--report', '--', 'true');
    expect(r.status).toBe(0);
    const report = JSON.parse(r.stderr);
    expect(report).toMatchObject({ policy: 'ReadOnly', enforcement: 'strict', lifecycle: { noNewPrivs: true } });
  });
});

describe('cordon run and signals', () => {
  it('forwards SIGTERM to the sandbox and exits 128+15', async () => {
    // --report is printed right after the CLI installs its signal handlers: waiting for it (not
    // a fixed delay) keeps a slow start on a loaded machine from meeting Node's default SIGTERM.
    const child = spawn(process.execPath, [bin, 'run', '--report', '--', 'sleep', '30'], { cwd: ws.dir, stdio: ['ignore', 'ignore', 'pipe'] });
    await new Promise<void>((r) => {
      let err = '';
      child.stderr!.on('data', (d: Buffer) => {
        err += d.toString();
        if (err.trimEnd().endsWith('}')) r();
      });
    });
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(code).toBe(143);
  });
});

describe('cordon check', () => {
  it('prints the kernel probe, for people and as JSON', () => {
    const human = cordon('check');
    expect(human.status).toBe(0);
    expect(human.stdout).toMatch(/landlock\s+ABI \d+/);
    const json = JSON.parse(cordon('check', '--json').stdout);
    expect(json.landlock.abi).toBeGreaterThanOrEqual(1);
    expect(json.seccomp.filter).toBe(true);
  });
});

describe('cordon run: network and environment flags', () => {
  const cordonAsync = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [bin, ...args], { cwd: ws.dir, env });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d));
      child.stderr.on('data', (d: Buffer) => (stderr += d));
      child.on('close', (status) => resolve({ status, stdout, stderr }));
    });

  it('--allow-domain localhost:PORT reaches that host port (control: without it the network is off and says so)', async () => {
    const http = await import('node:http');
    const server = http.createServer((_, res) => res.end('from-host\n'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as import('node:net').AddressInfo).port;
    try {
      const allowed = await cordonAsync(['run', '--allow-domain', `localhost:${port}`, '--', 'curl', '-sS', `http://localhost:${port}/`]);
      expect(allowed).toMatchObject({ status: 0, stdout: 'from-host\n' });
      const full = await cordonAsync(['run', '--allow-net', '--', 'curl', '-sS', `http://127.0.0.1:${port}/`]);
      expect(full).toMatchObject({ status: 0, stdout: 'from-host\n' });
      const off = await cordonAsync(['run', '--', 'curl', '-sS', `http://localhost:${port}/`]);
      expect(off.status).not.toBe(0);
      expect(off.stderr).toContain('cordon-network-is-off');
    } finally {
      server.close();
    }
  });

  it('bad network flags are usage errors (125) naming the problem', () => {
    const both = cordon('run', '--allow-net', '--allow-domain', 'a.test', '--', 'true');
    expect(both.status).toBe(125);
    expect(both.stderr).toContain('exclude each other');
    const bad = cordon('run', '--allow-domain', 'a..test:80', '--', 'true');
    expect(bad.status).toBe(125);
    expect(bad.stderr).toContain('--allow-domain a..test:80');
    expect(cordon('run', '--allow-domain', 'a.test:http', '--', 'true').stderr).toContain('port must be a number');
  });

  it('--env-minimal passes only PATH, HOME, LANG, TERM; --keep-env adds a name (control: filtered passes it)', async () => {
    const env = { ...process.env, CORDON_CLI_PLAIN: 'plain' };
    expect((await cordonAsync(['run', '--', 'env'], env)).stdout).toContain('CORDON_CLI_PLAIN=plain');
    expect((await cordonAsync(['run', '--env-minimal', '--', 'env'], env)).stdout).not.toContain('CORDON_CLI_PLAIN');
    expect((await cordonAsync(['run', '--keep-env', 'CORDON_CLI_PLAIN', '--', 'env'], env)).stdout).toContain('CORDON_CLI_PLAIN=plain');
  });
});
