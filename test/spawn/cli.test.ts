// The cordon CLI contract, each case spawning the real CLI (bin/cordon.js → dist/, which npm
// test builds first): exit statuses as shells give them, help and version, bad usage, every
// run flag with its control, the report forms, check's verdicts.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/process.js';

const root = join(__dirname, '../..');
const bin = join(root, 'bin/cordon.js');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
const home = process.env.HOME ?? homedir();
const isRoot = process.getuid?.() === 0;

let ws: { dir: string; cleanup: () => void };
beforeAll(() => {
  ws = tempDir();
});
afterAll(() => ws.cleanup());

interface Result {
  status: number | null;
  stdout: string;
  stderr: string;
}

const cordon = (...args: string[]): Result =>
  spawnSync(process.execPath, [bin, ...args], { cwd: ws.dir, encoding: 'utf8', timeout: 30_000 }) as Result;

/** The CLI in the background, so that a test can run several at once. */
const cordonAsync = (args: string[], env: NodeJS.ProcessEnv = process.env) =>
  new Promise<Result>((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: ws.dir, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });

// A machine where root has no writable cgroup: a mount namespace with an empty tmpfs on
// /sys/fs/cgroup (root's own, or, for another user, root of a user namespace of its own).
// There ReadOnly's default max_pids cannot be enforced: RLIMIT_NPROC does not apply to root.
const unshareArgs = isRoot ? ['-m'] : ['-r', '-m'];
const HIDE_CGROUPS = 'mount -t tmpfs none /sys/fs/cgroup';
const canHideCgroups = spawnSync('unshare', [...unshareArgs, 'sh', '-c', HIDE_CGROUPS], { encoding: 'utf8' }).status === 0;

/** Runs the CLI with `args` where no cgroup is writable (see above). */
function withoutCgroups(...args: string[]): Result {
  const line = [process.execPath, bin, ...args].map((a) => `'${a}'`).join(' ');
  return spawnSync('unshare', [...unshareArgs, 'sh', '-c', `${HIDE_CGROUPS} && exec ${line}`], { cwd: ws.dir, encoding: 'utf8', timeout: 60_000 }) as Result;
}

const RUN_USAGE = 'usage: cordon run [--policy FILE.json';
const CHECK_USAGE = 'usage: cordon check [--json]';
const MAIN_USAGE = 'usage: cordon run [OPTIONS] [--] COMMAND [ARGS...]';

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
    // --report=json is the same report.
    expect(JSON.parse(cordon('run', '--policy', policy, '--report=json', '--', 'true').stderr)).toMatchObject({ policy: 'ReadOnly' });
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

describe('help and version', () => {
  it('cordon --help, -h and help print the overview on stdout, exit 0', () => {
    const texts = [cordon('--help'), cordon('-h'), cordon('help')];
    for (const r of texts) {
      expect(r).toMatchObject({ status: 0, stderr: '' });
      expect(r.stdout).toBe(texts[0]!.stdout);
    }
    expect(texts[0]!.stdout).toContain(MAIN_USAGE);
    expect(texts[0]!.stdout).toMatch(/^ {2}run\s/m);
    expect(texts[0]!.stdout).toMatch(/^ {2}check\s/m);
    expect(texts[0]!.stdout).toContain('--version');
  });

  it('cordon run --help, run -h and help run print run\'s own help, naming every option and the exit statuses', () => {
    const texts = [cordon('run', '--help'), cordon('run', '-h'), cordon('help', 'run'), cordon('run', '--preset', 'read-only', '--help')];
    for (const r of texts) {
      expect(r).toMatchObject({ status: 0, stderr: '' });
      expect(r.stdout).toBe(texts[0]!.stdout);
    }
    const text = texts[0]!.stdout;
    expect(text).toContain(RUN_USAGE);
    expect(text).not.toBe(cordon('--help').stdout);
    const flags = ['--policy', '--preset', '--cwd', '--allow-write', '--deny-read', '--allow-domain', '--allow-net', '--env ', '--env-minimal', '--keep-env', '--timeout', '--best-effort', '--tmp', '--device', '--protected-dirs', '--report', '--report=summary', '--report-file'];
    for (const flag of flags) expect(text).toContain(`  ${flag}`);
    for (const status of ['128+N', '124', '125', '126', '127']) expect(text).toContain(status);
    // The explicit-choice rule of --env is stated.
    expect(text).toMatch(/--env NAME\s[\s\S]*passes even when the secrets\s+filter would drop it/);
  });

  it('cordon check --help and help check print check\'s help (verdicts and exit statuses)', () => {
    const a = cordon('check', '--help');
    const b = cordon('help', 'check');
    expect(a).toMatchObject({ status: 0, stderr: '' });
    expect(b.stdout).toBe(a.stdout);
    expect(a.stdout).toContain(CHECK_USAGE);
    expect(a.stdout).toContain('--json');
    expect(a.stdout).toMatch(/exit status: 0 every preset works here; 1 /);
  });

  it('--help after the command belongs to the command (control for the two above)', () => {
    expect(cordon('run', '--', 'sh', '-c', 'echo "$0"', '--help')).toMatchObject({ status: 0, stdout: '--help\n' });
    expect(cordon('run', 'sh', '-c', 'echo "$0"', '-h')).toMatchObject({ status: 0, stdout: '-h\n' });
  });

  it('--version and -V print the version of package.json', () => {
    for (const flag of ['--version', '-V']) expect(cordon(flag)).toMatchObject({ status: 0, stdout: `cordon ${pkg.version}\n`, stderr: '' });
  });
});

describe('bad usage: the message, the relevant usage, exit 125, nothing run', () => {
  it('every kind of bad usage', async () => {
    const dir = join(ws.dir, 'usage');
    mkdirSync(dir, { recursive: true });
    const policy = join(dir, 'p.json');
    writeFileSync(policy, JSON.stringify({ type: 'read_only' }));
    const cmd = ['--', 'echo', 'ran'];
    const cases: [args: string[], message: string, usage: string][] = [
      [['run'], 'missing COMMAND', RUN_USAGE],
      [['run', '--', ''], 'COMMAND is empty', RUN_USAGE],
      [['run', '--bogus', ...cmd], 'unknown option --bogus', RUN_USAGE],
      [['run', '--bogus=1', ...cmd], 'unknown option --bogus', RUN_USAGE],
      [['run', '-x', ...cmd], 'unknown option -x', RUN_USAGE],
      [['run', '--cwd'], '--cwd needs a value', RUN_USAGE],
      [['run', '--cwd=', ...cmd], '--cwd needs a value', RUN_USAGE],
      [['run', '--env'], '--env needs a value', RUN_USAGE],
      [['run', '--timeout', 'soon', ...cmd], '--timeout soon: must be a number', RUN_USAGE],
      [['run', '--timeout=-1', ...cmd], '--timeout -1: must be a number', RUN_USAGE],
      [['run', '--timeout', '99999999999999', ...cmd], '--timeout 99999999999999: at most 9007199254740 seconds', RUN_USAGE],
      [['run', '--timeout', '1e-400', ...cmd], '--timeout 1e-400: must be a number', RUN_USAGE],
      [['run', '--timeout', '0x10', ...cmd], '--timeout 0x10: must be a number', RUN_USAGE],
      [['run', '--device', '/etc/passwd', ...cmd], '--device /etc/passwd: must be a path under /dev/', RUN_USAGE],
      [['run', '--device', '/dev/cordon-none', ...cmd], '--device /dev/cordon-none: cannot be used (ENOENT)', RUN_USAGE],
      [['run', '--preset', 'nope', ...cmd], '--preset nope: must be read-only, workspace-write or full-access', RUN_USAGE],
      [['run', '--tmp', 'shared', ...cmd], '--tmp shared: must be private or host', RUN_USAGE],
      [['run', '--protected-dirs', 'nope', ...cmd], '--protected-dirs nope: must be', RUN_USAGE],
      [['run', '--report=yaml', ...cmd], '--report yaml: must be json or summary', RUN_USAGE],
      [['run', '--allow-net=yes', ...cmd], '--allow-net takes no value', RUN_USAGE],
      [['run', '--env', '=x', ...cmd], '--env =x: the name is empty', RUN_USAGE],
      [['run', '--keep-env', 'A=1', ...cmd], '--keep-env A=1: must be a variable name', RUN_USAGE],
      [['run', '--allow-domain', 'a..test:80', ...cmd], '--allow-domain a..test:80', RUN_USAGE],
      [['run', '--allow-domain', 'a.test:http', ...cmd], '--allow-domain a.test:http: the port must be a number', RUN_USAGE],
      [['run', '--policy', policy, '--preset', 'read-only', ...cmd], '--policy and --preset exclude each other', RUN_USAGE],
      [['run', '--allow-net', '--allow-domain', 'a.test', ...cmd], '--allow-net and --allow-domain exclude each other', RUN_USAGE],
      [['run', '--preset', 'read-only', '--allow-write', dir, ...cmd], '--allow-write needs a workspace-write policy', RUN_USAGE],
      [['run', '--preset', 'read-only', '--deny-read', dir, ...cmd], '--deny-read needs a workspace-write policy: a read-only policy always blocks exactly the default sensitive paths', RUN_USAGE],
      [['run', '--policy', policy, '--deny-read', dir, ...cmd], '--deny-read needs a workspace-write policy', RUN_USAGE],
      [['run', '--preset', 'full-access', '--deny-read', dir, ...cmd], '--deny-read needs a workspace-write policy: DangerFullAccess', RUN_USAGE],
      [['run', '--preset', 'full-access', '--allow-domain', 'a.test', ...cmd], '--allow-domain and --allow-net need a read-only or workspace-write policy', RUN_USAGE],
      [['check', '--bogus'], 'unknown option --bogus', CHECK_USAGE],
      [['check', 'extra'], 'unexpected argument extra', CHECK_USAGE],
      [[], 'missing command', MAIN_USAGE],
      [['bogus'], 'unknown command bogus', MAIN_USAGE],
      [['--bogus'], 'unknown option --bogus', MAIN_USAGE],
      [['help', 'nope'], 'no help for nope', MAIN_USAGE],
      [['--version', 'x'], '--version takes no arguments', MAIN_USAGE],
    ];
    const results = await Promise.all(cases.map(([args]) => cordonAsync(args)));
    results.forEach((r, i) => {
      const [args, message, usage] = cases[i]!;
      const what = `cordon ${args.join(' ')}`;
      expect(r.status, what).toBe(125);
      expect(r.stdout, what).toBe('');
      expect(r.stderr, what).toContain(`cordon: ${message}`);
      expect(r.stderr.indexOf(usage), what).toBeGreaterThan(r.stderr.indexOf('cordon: '));
    });
  });
});

describe('setup errors: exit 125 with a clear message (no usage), nothing run', () => {
  it('a missing --cwd or one that is not a directory (control: an existing one is used)', () => {
    const missing = cordon('run', '--cwd', join(ws.dir, 'no-such-dir'), '--', 'echo', 'ran');
    expect(missing).toMatchObject({ status: 125, stdout: '', stderr: `cordon: --cwd ${join(ws.dir, 'no-such-dir')}: no such directory\n` });
    const file = join(ws.dir, 'a-file');
    writeFileSync(file, '');
    expect(cordon('run', '--cwd', file, '--', 'echo', 'ran')).toMatchObject({ status: 125, stdout: '', stderr: `cordon: --cwd ${file}: not a directory\n` });
    const dir = join(ws.dir, 'a-dir');
    mkdirSync(dir, { recursive: true });
    expect(cordon('run', '--cwd', dir, '--', 'pwd')).toMatchObject({ status: 0, stdout: `${dir}\n` });
  });

  it('an unreadable --policy file, an unwritable --report-file', () => {
    const r = cordon('run', '--policy', join(ws.dir, 'no-such.json'), '--', 'echo', 'ran');
    expect(r).toMatchObject({ status: 125, stdout: '' });
    expect(r.stderr).toMatch(/^cordon: --policy .*no-such\.json: cannot read it \(ENOENT\)\n$/);
    const f = cordon('run', '--report-file', join(ws.dir, 'no-such-dir', 'r.json'), '--', 'echo', 'ran');
    expect(f).toMatchObject({ status: 125, stdout: '' });
    expect(f.stderr).toMatch(/^cordon: --report-file .*: cannot write it \(ENOENT\)\n$/);
    // Openable but full: the command has started by then, so it runs on and its status stands.
    const full = cordon('run', '--report-file', '/dev/full', '--', 'sh', '-c', 'echo ran; exit 3');
    expect(full).toMatchObject({ status: 3, stdout: 'ran\n' });
    expect(full.stderr).toMatch(/^cordon: --report-file \/dev\/full: could not write the report \(ENOSPC\); the command runs on\n$/);
  });
});

describe('--timeout', () => {
  it('says it timed out, after how long, and exits 124 (control: a command that ends in time says nothing)', async () => {
    const policy = join(ws.dir, 'timeout-policy.json');
    writeFileSync(policy, JSON.stringify({ type: 'workspace_write', writable_roots: [{ root: ws.dir }], resource_limits: { timeout_secs: 1 } }));
    const [flag, fromPolicy, inTime] = await Promise.all([
      cordonAsync(['run', '--timeout', '0.5', '--', 'sleep', '30']),
      cordonAsync(['run', '--policy', policy, '--', 'sleep', '30']),
      cordonAsync(['run', '--timeout', '20', '--', 'true']),
    ]);
    expect(flag).toMatchObject({ status: 124, stderr: 'cordon: timed out after 0.5 s\n' });
    expect(fromPolicy).toMatchObject({ status: 124, stderr: 'cordon: timed out after 1 s\n' });
    expect(inTime).toMatchObject({ status: 0, stderr: '' });
    // Beyond setTimeout's 24.8 days: a real (long) timeout, which does not fire at once.
    const long = await cordonAsync(['run', '--timeout', '3000000', '--', 'sleep', '0.3']);
    expect(long).toMatchObject({ status: 0, stderr: '' });
  });
});

describe('--deny-read', () => {
  it('makes a file and a directory unreadable (control: readable without the flag)', async () => {
    const dir = join(ws.dir, 'deny');
    mkdirSync(join(dir, 'keys'), { recursive: true });
    writeFileSync(join(dir, 'secret.txt'), 'the-secret\n');
    writeFileSync(join(dir, 'keys', 'id'), 'the-key\n');
    writeFileSync(join(dir, 'open.txt'), 'open\n');
    const show = ['--', 'sh', '-c', 'cat deny/secret.txt; cat deny/keys/id; cat deny/open.txt'];
    const [without, denied] = await Promise.all([
      cordonAsync(['run', ...show]),
      // Relative paths resolve against --cwd (here the current directory), as --allow-write's do.
      cordonAsync(['run', '--deny-read', 'deny/secret.txt', '--deny-read', join(dir, 'keys'), ...show]),
    ]);
    expect(without).toMatchObject({ status: 0, stdout: 'the-secret\nthe-key\nopen\n' });
    expect(denied.stdout).toBe('open\n');
    expect(denied.stderr).toMatch(/secret\.txt: Permission denied/);
    expect(denied.stderr).toMatch(/keys\/id: (Permission denied|No such file)/);
  });

  it('relative --deny-read and --allow-write paths are relative to --cwd, wherever cordon is started (control: from the shell\'s directory they would name other files)', async () => {
    const proj = join(ws.dir, 'relproj');
    mkdirSync(join(proj, 'out'), { recursive: true });
    writeFileSync(join(proj, '.env'), 'TOPSECRET\n');
    // Started from ws.dir (cordonAsync's cwd), which has no .env and no out/.
    const denied = await cordonAsync(['run', '--cwd', proj, '--deny-read', '.env', '--report-file', join(ws.dir, 'rel-report.json'), '--', 'cat', '.env']);
    expect(denied.stdout).toBe('');
    expect(denied.stderr).toMatch(/Permission denied|No such file/);
    const report = JSON.parse(readFileSync(join(ws.dir, 'rel-report.json'), 'utf8')) as { filesystem: { protections: { path?: string }[] } };
    expect(JSON.stringify(report.filesystem)).toContain(join(proj, '.env'));
    const control = await cordonAsync(['run', '--cwd', proj, '--', 'cat', '.env']);
    expect(control.stdout).toBe('TOPSECRET\n');
    // --allow-write out (after --cwd or before it) is proj/out.
    const wrote = await cordonAsync(['run', '--allow-write', 'out', '--cwd', proj, '--report-file', join(ws.dir, 'rel-report2.json'), '--', 'true']);
    expect(wrote.status).toBe(0);
    expect(readFileSync(join(ws.dir, 'rel-report2.json'), 'utf8')).toContain(join(proj, 'out'));
  });

  it('joins the default sensitive paths; a policy file\'s own list replaces the defaults, and the flag joins that', async () => {
    const dir = join(ws.dir, 'deny-list');
    mkdirSync(dir, { recursive: true });
    const mine = join(dir, 'mine.txt');
    const theirs = join(dir, 'theirs.txt');
    writeFileSync(mine, 'mine\n');
    writeFileSync(theirs, 'theirs\n');
    const policy = join(dir, 'policy.json');
    writeFileSync(policy, JSON.stringify({ type: 'workspace_write', writable_roots: [{ root: ws.dir }], sensitive_paths: [{ path: theirs }] }));
    const [preset, fromFile, fileOnly] = (await Promise.all(
      [
        ['run', '--deny-read', mine, '--report-file', join(dir, 'preset.json')],
        ['run', '--policy', policy, '--deny-read', mine, '--report-file', join(dir, 'file.json')],
        ['run', '--policy', policy, '--report-file', join(dir, 'file-only.json')],
      ].map((args) => cordonAsync([...args, '--', 'sh', '-c', `cat ${mine}; cat ${theirs}`])),
    )) as [Result, Result, Result];
    const denied = (name: string) =>
      (JSON.parse(readFileSync(join(dir, name), 'utf8')) as { filesystem: { protections: { what: string }[] } }).filesystem.protections
        .map((p) => p.what)
        .filter((w) => w.startsWith('deny read'));
    expect(preset.stdout).toBe('theirs\n');
    expect(denied('preset.json')).toEqual(expect.arrayContaining([`deny read+write ${home}/.ssh`, `deny read+write ${mine}`]));
    expect(fromFile.stdout).toBe('');
    expect(denied('file.json')).toEqual([`deny read+write ${theirs}`, `deny read+write ${mine}`]);
    expect(fileOnly.stdout).toBe('mine\n'); // control: the policy file alone denies only its own
  });
});

describe('--env NAME[=VALUE]', () => {
  const show = (name: string) => ['--', 'sh', '-c', `echo "\${${name}-unset}"`];
  const base: NodeJS.ProcessEnv = { ...process.env, CORDON_CLI_PLAIN: 'plain', CORDON_CLI_TOKEN: 's3cret', CORDON_CLI_OTHER_TOKEN: 'other' };
  delete base.CORDON_CLI_UNSET;

  it('NAME=VALUE is set in the child (control: not without it)', async () => {
    const [set, without] = await Promise.all([
      cordonAsync(['run', '--env', 'CORDON_CLI_SET=hello world', '--env', 'CORDON_CLI_SET2=', ...show('CORDON_CLI_SET')], base),
      cordonAsync(['run', ...show('CORDON_CLI_SET')], base),
    ]);
    expect(set).toMatchObject({ status: 0, stdout: 'hello world\n' });
    expect(without.stdout).toBe('unset\n');
  });

  it('NAME passes the host\'s value even under --env-minimal (control: --env-minimal alone drops it); an unset NAME stays unset', async () => {
    const [named, minimal, unset] = await Promise.all([
      cordonAsync(['run', '--env-minimal', '--env', 'CORDON_CLI_PLAIN', ...show('CORDON_CLI_PLAIN')], base),
      cordonAsync(['run', '--env-minimal', ...show('CORDON_CLI_PLAIN')], base),
      cordonAsync(['run', '--env', 'CORDON_CLI_UNSET', ...show('CORDON_CLI_UNSET')], base),
    ]);
    expect(named.stdout).toBe('plain\n');
    expect(minimal.stdout).toBe('unset\n');
    expect(unset.stdout).toBe('unset\n');
  });

  it('a secret-shaped NAME is the user\'s explicit choice: it passes, the report says so, other secrets stay dropped (control: default and --keep-env drop it)', async () => {
    const dir = join(ws.dir, 'env-reports');
    mkdirSync(dir, { recursive: true });
    const report = (name: string) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as { lifecycle: { envSanitized: boolean; removedEnv: string[]; explicitEnv?: string[] } };
    const [byDefault, kept, explicit] = await Promise.all([
      cordonAsync(['run', '--report-file', join(dir, 'default.json'), ...show('CORDON_CLI_TOKEN')], base),
      cordonAsync(['run', '--keep-env', 'CORDON_CLI_TOKEN', ...show('CORDON_CLI_TOKEN')], base),
      cordonAsync(['run', '--env', 'CORDON_CLI_TOKEN', '--report-file', join(dir, 'explicit.json'), '--', 'sh', '-c', 'echo "$CORDON_CLI_TOKEN ${CORDON_CLI_OTHER_TOKEN-unset}"'], base),
    ]);
    expect(byDefault.stdout).toBe('unset\n');
    expect(report('default.json').lifecycle.removedEnv).toEqual(expect.arrayContaining(['CORDON_CLI_TOKEN', 'CORDON_CLI_OTHER_TOKEN']));
    expect(kept.stdout).toBe('unset\n');
    expect(explicit.stdout).toBe('s3cret unset\n');
    const lifecycle = report('explicit.json').lifecycle;
    expect(lifecycle).toMatchObject({ envSanitized: true, explicitEnv: ['CORDON_CLI_TOKEN'] });
    expect(lifecycle.removedEnv).toContain('CORDON_CLI_OTHER_TOKEN');
    expect(lifecycle.removedEnv).not.toContain('CORDON_CLI_TOKEN');
  });

  it('the rest of the environment is what the library would pass, filtered and minimal', async () => {
    const dir = join(ws.dir, 'env-same');
    mkdirSync(dir, { recursive: true });
    const modes = [[], ['--env-minimal'], ['--keep-env', 'CORDON_CLI_PLAIN']];
    const runs = await Promise.all(
      modes.flatMap((mode, i) => [
        cordonAsync(['run', ...mode, '--report-file', join(dir, `lib-${i}.json`), '--', 'env'], base),
        cordonAsync(['run', ...mode, '--env', 'CORDON_CLI_EXTRA=1', '--report-file', join(dir, `cli-${i}.json`), '--', 'env'], base),
      ]),
    );
    const lines = (r: Result) => r.stdout.split('\n').filter((l) => l !== '' && l !== 'CORDON_CLI_EXTRA=1').sort();
    modes.forEach((mode, i) => {
      const [lib, cli] = [runs[2 * i]!, runs[2 * i + 1]!];
      expect(lib.status).toBe(0);
      expect(cli.stdout).toContain('CORDON_CLI_EXTRA=1\n');
      expect(lines(cli), mode.join(' ')).toEqual(lines(lib));
      const removed = (name: string) => (JSON.parse(readFileSync(join(dir, name), 'utf8')) as { lifecycle: { removedEnv: string[]; npmrcSettings: string[] } }).lifecycle;
      expect(removed(`cli-${i}.json`)).toMatchObject({ removedEnv: removed(`lib-${i}.json`).removedEnv, npmrcSettings: removed(`lib-${i}.json`).npmrcSettings });
    });
  });
});

describe('--report-file and --report=summary', () => {
  interface Report {
    policy: string;
    enforcement: string;
    missing: string[];
    filesystem: { mode: string; landlockAbi: number; protections: { what: string; enforced: boolean }[] };
    seccomp: { installed: boolean; profile: string | null };
    network: { mode: string };
    limits: Record<string, { value: number; enforced: boolean; mechanism: string }>;
    isolation: { class: string; enforced: boolean }[];
  }
  const readReport = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as Report;

  it('--report-file writes the JSON report to the file, none on stderr (with --report too)', async () => {
    const file = join(ws.dir, 'report.json');
    const alsoJson = join(ws.dir, 'report-json.json');
    const [r, both] = await Promise.all([
      cordonAsync(['run', '--report-file', file, '--', 'sh', '-c', 'echo out; echo err >&2']),
      cordonAsync(['run', '--report', '--report-file', alsoJson, '--', 'sh', '-c', 'echo err >&2']),
    ]);
    expect(r).toMatchObject({ status: 0, stdout: 'out\n', stderr: 'err\n' });
    expect(readReport(file)).toMatchObject({ policy: 'WorkspaceWrite', enforcement: 'strict', lifecycle: { noNewPrivs: true } });
    expect(both.stderr).toBe('err\n');
    expect(readReport(alsoJson).policy).toBe('WorkspaceWrite');
  });

  /** What a summary line must say, read from the report beside it. */
  function expectSummaryMatches(line: string, r: Report): void {
    expect(line.startsWith(`cordon: ${r.policy}, ${r.enforcement}: filesystem ${r.filesystem.mode}`)).toBe(true);
    expect(line).toContain(r.seccomp.installed ? `seccomp ${r.seccomp.profile}` : 'no seccomp filter');
    expect(line).toContain(`network ${r.network.mode}`);
    const timeout = r.limits.timeout!;
    expect(line).toContain(timeout.value > 0 && timeout.enforced ? `timeout ${timeout.value} s` : 'no timeout');
    if (timeout.value > 0 && !timeout.enforced) expect(line).toContain(`not enforced: the policy's ${timeout.value} s timeout`);
    for (const key of ['memory', 'pids', 'disk', 'cpu']) {
      const l = r.limits[key]!;
      if (l.value > 0 && l.enforced) expect(line).toMatch(new RegExp(`[ /]${key}(/\\w+)* via ${l.mechanism}[,;]`));
      if (l.value > 0 && !l.enforced) expect(line).toContain(`${key} limit`);
      if (l.value === 0) expect(line).not.toMatch(new RegExp(`[ /]${key}(/\\w+)* via `));
    }
    const [, notEnforced] = line.split('; not enforced: ');
    expect(notEnforced).toBeDefined();
    for (const c of r.isolation) {
      if (c.enforced) expect(notEnforced).not.toMatch(new RegExp(`(^|, )${c.class}(,|;|$)`));
      else expect(notEnforced).toContain(c.class);
    }
    for (const p of r.filesystem.protections) if (!p.enforced) expect(notEnforced).toContain(p.what);
    if (r.missing.length === 0 && r.isolation.every((c) => c.enforced) && timeout.enforced) expect(notEnforced).toMatch(/^nothing the policy asks for/);
  }

  it('--report=summary prints one line on stderr that says what the report says, nothing more', async () => {
    const cases = [[], ['--preset', 'read-only'], ['--preset', 'full-access'], ['--allow-domain', 'example.com'], ['--preset', 'read-only', '--timeout', '0']];
    const runs = await Promise.all(cases.map((args, i) => cordonAsync(['run', ...args, '--report=summary', '--report-file', join(ws.dir, `summary-${i}.json`), '--', 'true'])));
    runs.forEach((r, i) => {
      const what = cases[i]!.join(' ') || 'default';
      expect(r.status, what).toBe(0);
      expect(r.stderr.endsWith('\n') && r.stderr.indexOf('\n') === r.stderr.length - 1, what).toBe(true);
      expectSummaryMatches(r.stderr.trimEnd(), readReport(join(ws.dir, `summary-${i}.json`)));
    });
    expect(runs[2]!.stderr).toMatch(/^cordon: DangerFullAccess, strict: filesystem unrestricted, no seccomp filter, network full/);
    expect(runs[3]!.stderr).toContain('network allowlist');
  });

  it.runIf(canHideCgroups)('summarises a best-effort run with what is not enforced (root without cgroups: no pids limit)', () => {
    const r = withoutCgroups('run', '--preset', 'read-only', '--best-effort', '--report=summary', '--', 'true');
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/^cordon: ReadOnly, best-effort: .*; not enforced: pids limit; \d+ known gaps/);
  });
});

describe('cordon check', () => {
  const PRESETS = ['ReadOnly (default limits)', 'WorkspaceWrite', 'WorkspaceWrite with a network allowlist'];
  const escape = (s: string) => s.replace(/[()]/g, '\\$&');

  it('prints the kernel probe and a verdict per preset, for people and as JSON; exit 0 when all work, else 1', async () => {
    const before = readdirSync(ws.dir).sort();
    const [human, asJson] = await Promise.all([cordonAsync(['check']), cordonAsync(['check', '--json'])]);
    expect(human.stdout).toMatch(/landlock\s+ABI \d+/);
    const verdicts = PRESETS.map((preset) => {
      const m = new RegExp(`^ {2}${escape(preset)}, strict: (works here|refused, because .+|fails: .+)$`, 'm').exec(human.stdout);
      expect(m, preset).not.toBeNull();
      return m![1]!;
    });
    expect(human.status).toBe(verdicts.every((v) => v === 'works here') ? 0 : 1);
    const json = JSON.parse(asJson.stdout);
    expect(json.landlock.abi).toBeGreaterThanOrEqual(1);
    expect(json.seccomp.filter).toBe(true);
    expect(json.verdicts.map((v: { preset: string }) => v.preset)).toEqual(PRESETS);
    expect(json.verdicts.map((v: { verdict: string }) => v.verdict)).toEqual(verdicts.map((v) => v.split(/[ ,:]/)[0]));
    expect(asJson.status).toBe(human.status);
    // The trial workspace is a temporary directory of its own, not the cwd.
    expect(readdirSync(ws.dir).sort()).toEqual(before);
  });

  it.runIf(canHideCgroups)('refused, because of what cannot be enforced, naming --best-effort; exit 1 (root without cgroups: no pids limit)', () => {
    const r = withoutCgroups('check');
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/^ {2}ReadOnly \(default limits\), strict: refused, because limits: max_pids=64 cannot be enforced: .+ \(cordon run --best-effort accepts the gap\)$/m);
    expect(r.stdout).toMatch(/^ {2}WorkspaceWrite, strict: works here$/m);
    const run = withoutCgroups('run', '--preset', 'read-only', '--', 'echo', 'ran');
    expect(run).toMatchObject({ status: 125, stdout: '' });
    expect(run.stderr).toMatch(/^cordon: cannot enforce the sandbox policy here \(strict mode\): limits: max_pids=64 .*--best-effort runs with the protections that are available\n$/);
  });
});

describe('cordon run: network and environment flags', () => {
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

  it('--allow-net over a policy file\'s allowlist makes the network unrestricted (control: the file alone is an allowlist)', async () => {
    const policy = join(ws.dir, 'allowlist-policy.json');
    writeFileSync(policy, JSON.stringify({ type: 'workspace_write', writable_roots: [{ root: ws.dir }], network_access: true, network_allowlist: [{ domain: 'example.com' }] }));
    const mode = (name: string) => (JSON.parse(readFileSync(join(ws.dir, name), 'utf8')) as { network: { mode: string } }).network.mode;
    const [full, file] = await Promise.all([
      cordonAsync(['run', '--policy', policy, '--allow-net', '--report-file', join(ws.dir, 'net-full.json'), '--', 'true']),
      cordonAsync(['run', '--policy', policy, '--report-file', join(ws.dir, 'net-file.json'), '--', 'true']),
    ]);
    expect([full.status, file.status]).toEqual([0, 0]);
    expect(mode('net-full.json')).toBe('full');
    expect(mode('net-file.json')).toBe('allowlist');
  });

  it('--env-minimal passes only PATH, HOME, LANG, TERM; --keep-env adds a name (control: filtered passes it)', async () => {
    const env = { ...process.env, CORDON_CLI_PLAIN: 'plain' };
    expect((await cordonAsync(['run', '--', 'env'], env)).stdout).toContain('CORDON_CLI_PLAIN=plain');
    expect((await cordonAsync(['run', '--env-minimal', '--', 'env'], env)).stdout).not.toContain('CORDON_CLI_PLAIN');
    expect((await cordonAsync(['run', '--keep-env', 'CORDON_CLI_PLAIN', '--', 'env'], env)).stdout).toContain('CORDON_CLI_PLAIN=plain');
  });
});
