// Issue 15 items 8 and 9: real package managers under the allowlist, against registries this
// test serves on the host's loopback (a tiny npm registry, a pip index, a git repository over
// HTTP), reached through an entry naming that host port; and offline tools that fail at once.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type net from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execSandboxed, NetworkAllowlistEntry, SandboxPolicy } from '../../src/index.js';
import { tempDir } from '../helpers/process.js';

const has = (cmd: string, args: string[]) => {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
};
const PYTHON = '/usr/bin/python3';
const hasNpm = has('npm', ['--version']);
const hasPip = has(PYTHON, ['-m', 'pip', '--version']);
const hasGit = has('git', ['--version']);

let root: { dir: string; cleanup: () => void };
let home: string;
let ws: string;
let server: http.Server;
let port: number;
const seen: Array<{ url: string; authorization?: string }> = [];
const files = new Map<string, { body: Buffer; type: string }>();
const savedHome = process.env.HOME;

/** A one-file npm package `cordon-tiny@1.0.0`, packed by npm itself. */
function buildNpmPackage(dir: string): void {
  const src = join(dir, 'npm-src');
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'package.json'), JSON.stringify({ name: 'cordon-tiny', version: '1.0.0', main: 'index.js' }));
  writeFileSync(join(src, 'index.js'), "module.exports = 'tiny';\n");
  const name = execFileSync('npm', ['pack', '--silent', '--pack-destination', dir], { cwd: src, encoding: 'utf8', env: { ...process.env, npm_config_cache: join(dir, 'pack-cache') } }).trim();
  const tarball = readFileSync(join(dir, name));
  const integrity = `sha512-${createHash('sha512').update(tarball).digest('base64')}`;
  const shasum = createHash('sha1').update(tarball).digest('hex');
  const tarballUrl = `http://localhost:${port}/cordon-tiny/-/cordon-tiny-1.0.0.tgz`;
  const packument = {
    name: 'cordon-tiny',
    'dist-tags': { latest: '1.0.0' },
    versions: { '1.0.0': { name: 'cordon-tiny', version: '1.0.0', main: 'index.js', dist: { tarball: tarballUrl, integrity, shasum } } },
  };
  files.set('/cordon-tiny', { body: Buffer.from(JSON.stringify(packument)), type: 'application/json' });
  files.set('/cordon-tiny/-/cordon-tiny-1.0.0.tgz', { body: tarball, type: 'application/octet-stream' });
}

/** A pure-Python wheel `cordon_tiny-1.0` and a PEP 503 simple index for it. */
function buildWheel(dir: string): void {
  const wheel = 'cordon_tiny-1.0-py3-none-any.whl';
  execFileSync(PYTHON, [
    '-c',
    `import zipfile, hashlib, base64, sys
files = {'cordon_tiny/__init__.py': b"VALUE = 'tiny'\\n",
 'cordon_tiny-1.0.dist-info/METADATA': b'Metadata-Version: 2.1\\nName: cordon-tiny\\nVersion: 1.0\\n',
 'cordon_tiny-1.0.dist-info/WHEEL': b'Wheel-Version: 1.0\\nGenerator: cordon-test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n'}
record = ''
for name, data in files.items():
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b'=').decode()
    record += f'{name},sha256={digest},{len(data)}\\n'
record += 'cordon_tiny-1.0.dist-info/RECORD,,\\n'
with zipfile.ZipFile(sys.argv[1], 'w') as z:
    for name, data in files.items(): z.writestr(name, data)
    z.writestr('cordon_tiny-1.0.dist-info/RECORD', record)`,
    join(dir, wheel),
  ]);
  const body = readFileSync(join(dir, wheel));
  const sha = createHash('sha256').update(body).digest('hex');
  files.set('/simple/cordon-tiny/', { body: Buffer.from(`<html><body><a href="/files/${wheel}#sha256=${sha}">${wheel}</a></body></html>`), type: 'text/html' });
  files.set(`/files/${wheel}`, { body, type: 'application/octet-stream' });
}

/** A bare repository served over git's dumb HTTP protocol (static files after update-server-info). */
function buildGitRepo(dir: string): void {
  const work = join(dir, 'git-work');
  const git = (args: string[], cwd = work) => execFileSync('git', args, { cwd, stdio: 'ignore', env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', HOME: dir } });
  mkdirSync(work, { recursive: true });
  git(['init', '-q', '-b', 'main']);
  writeFileSync(join(work, 'README'), 'tiny repo\n');
  git(['add', 'README']);
  git(['-c', 'user.email=t@t', '-c', 'user.name=t', 'commit', '-q', '-m', 'one']);
  git(['clone', '-q', '--bare', work, join(dir, 'repo.git')], dir);
  git(['update-server-info'], join(dir, 'repo.git'));
  const walk = (base: string, prefix: string) => {
    for (const entry of readdirSync(base, { withFileTypes: true })) {
      const path = join(base, entry.name);
      if (entry.isDirectory()) walk(path, `${prefix}/${entry.name}`);
      else files.set(`/repo.git${prefix}/${entry.name}`, { body: readFileSync(path), type: 'application/octet-stream' });
    }
  };
  walk(join(dir, 'repo.git'), '');
}

beforeAll(async () => {
  root = tempDir();
  home = join(root.dir, 'home');
  ws = join(root.dir, 'ws');
  mkdirSync(home);
  mkdirSync(ws);
  server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}) });
    const path = (req.url ?? '').split('?')[0]!;
    const file = files.get(path) ?? files.get(decodeURIComponent(path));
    if (!file) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': file.type, 'Content-Length': file.body.length }).end(file.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as net.AddressInfo).port;
  if (hasNpm) buildNpmPackage(root.dir);
  if (hasPip) buildWheel(root.dir);
  if (hasGit) buildGitRepo(root.dir);
  // The user's own configuration, as a user would have it: the registry in ~/.npmrc next to a
  // token, the index in pip.conf. The sandbox must see the first, never the second.
  writeFileSync(join(home, '.npmrc'), `registry=http://localhost:${port}/\n//localhost:${port}/:_authToken=npm_SECRET_TOKEN\nfund=false\naudit=false\n`);
  mkdirSync(join(home, '.config', 'pip'), { recursive: true });
  writeFileSync(join(home, '.config', 'pip', 'pip.conf'), `[global]\nindex-url = http://localhost:${port}/simple\n`);
  process.env.HOME = home;
}, 60_000);

afterAll(() => {
  process.env.HOME = savedHome;
  server?.closeAllConnections();
  server?.close();
  root?.cleanup();
});

const registry = () => SandboxPolicy.workspaceWriteWithNetwork([ws], [NetworkAllowlistEntry.withPort('localhost', port)]);
const inWs = (cmd: string, args: string[], policy: SandboxPolicy, env: Record<string, string> = {}) =>
  execSandboxed(cmd, args, { policy, cwd: ws, timeout: 60_000, ...(Object.keys(env).length ? { inheritEnv: Object.keys(env) } : {}) });

describe('package managers in allowlist mode, against loopback registries', () => {
  it.skipIf(!hasNpm)('npm install works with its default settings: the registry from the masked ~/.npmrc, no token, a private cache', async () => {
    const r = await inWs('npm', ['install', 'cordon-tiny', '--no-audit', '--no-fund'], registry());
    expect(r.stderr).not.toMatch(/ERR!/);
    expect(r.exitCode).toBe(0);
    expect(readFileSync(join(ws, 'node_modules', 'cordon-tiny', 'index.js'), 'utf8')).toContain('tiny');
    // What ~/.npmrc held that is not a secret reached npm; the token did not.
    expect(r.enforcement.lifecycle.npmrcSettings).toEqual(['registry', 'fund', 'audit']);
    expect(seen.some((s) => s.url === '/cordon-tiny')).toBe(true);
    expect(seen.filter((s) => s.authorization !== undefined)).toEqual([]);
    // The cache was the sandbox's own, not the user's ~/.npm.
    expect(existsSync(join(home, '.npm'))).toBe(false);
    expect(r.network.some((e) => e.host === 'localhost' && e.port === port && e.allowed && e.via === 'forward')).toBe(true);
  }, 90_000);

  it.skipIf(!hasPip)('pip install works with its default settings: the index from pip.conf, a private cache', async () => {
    const r = await inWs(PYTHON, ['-m', 'pip', 'install', '--no-input', '--target', join(ws, 'pylib'), 'cordon-tiny'], registry());
    expect(r.stderr).not.toMatch(/ERROR/);
    expect(r.exitCode).toBe(0);
    expect(readFileSync(join(ws, 'pylib', 'cordon_tiny', '__init__.py'), 'utf8')).toContain('tiny');
    expect(existsSync(join(home, '.cache', 'pip'))).toBe(false);
  }, 90_000);

  it.skipIf(!hasGit)('git clone over HTTP reaches the host port', async () => {
    const r = await inWs('git', ['clone', '-q', `http://localhost:${port}/repo.git`, 'cloned'], registry());
    expect(r.stderr).toBe('');
    expect(readFileSync(join(ws, 'cloned', 'README'), 'utf8')).toBe('tiny repo\n');
  }, 60_000);

  it.skipIf(!hasNpm)('a registry name the allowlist refuses fails at once with the proxy\'s 403 (http and https)', async () => {
    const policy = SandboxPolicy.workspaceWriteWithNetwork([ws], [NetworkAllowlistEntry.withPort('allowed.test', 443)]);
    for (const url of [`http://denied.test:${port}/`, 'https://denied.test/']) {
      const started = Date.now();
      const r = await inWs('npm', ['view', '--registry', url, 'cordon-tiny', 'version'], policy);
      expect(r.exitCode).not.toBe(0);
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(r.stderr).toMatch(/403/);
      expect(r.network.some((e) => e.host === 'denied.test' && !e.allowed)).toBe(true);
    }
  }, 30_000);
});

describe('offline fails fast', () => {
  it.skipIf(!hasNpm)('npm view with no network fails in under 5 s, saying the network is off (control: with the entry it answers)', async () => {
    const started = Date.now();
    const r = await inWs('npm', ['view', 'cordon-tiny', 'version'], SandboxPolicy.workspaceWrite([ws]));
    const elapsed = Date.now() - started;
    expect(r.exitCode).not.toBe(0);
    expect(elapsed).toBeLessThan(5_000);
    expect(r.stderr).toContain('cordon-network-is-off');
    const online = await inWs('npm', ['view', 'cordon-tiny', 'version'], registry());
    expect(online.stdout.trim()).toBe('1.0.0');
  }, 60_000);

  it('curl with no network fails at once naming it', async () => {
    const r = await inWs('curl', ['-sS', `http://localhost:${port}/cordon-tiny`], SandboxPolicy.workspaceWrite([ws]));
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('cordon-network-is-off.invalid');
  });
});
