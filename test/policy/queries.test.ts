import { describe, expect, it } from 'vitest';
import {
  DEFAULT_SENSITIVE_PATHS,
  NetworkAllowlistEntry,
  ResourceLimits,
  SandboxPolicy,
  SeccompProfile,
  SensitivePath,
} from '../../src/policy/index.js';
import { PolicyError, PolicyEscalationError } from '../../src/errors.js';
import { pinEnv } from './helpers.js';

const HOME = '/home/tester';
pinEnv({ HOME, TMPDIR: '/var/tmp/run' });

const CWD = '/work/proj';
const readOnly = SandboxPolicy.readOnly();
const readOnlyNet = SandboxPolicy.readOnlyWithNetwork([NetworkAllowlistEntry.https('*.npmjs.org'), NetworkAllowlistEntry.withPort('pypi.org', 8443)]);
const readOnlyFull = SandboxPolicy.readOnlyWithFullNetwork();
const workspace = SandboxPolicy.workspaceWrite(['/srv/data']);
const workspaceNet = SandboxPolicy.workspaceWriteWithNetwork(['/srv/data'], [NetworkAllowlistEntry.https('Example.COM')]);
const workspaceTmp = SandboxPolicy.parse({ type: 'workspace_write', writable_roots: [{ root: '/srv/data' }] }); // tmp exclusions false
const full = SandboxPolicy.fullAccess();
const external = SandboxPolicy.externalSandbox('container');

describe('ReadOnly', () => {
  it('network queries', () => {
    expect(readOnly.hasFullNetworkAccess()).toBe(false);
    expect(readOnly.hasNetworkAllowlist()).toBe(false);
    expect(readOnly.networkAllowlist()).toEqual([]);
    expect(readOnly.isNetworkAllowed('example.com', 443)).toBe(false);
    expect(readOnly.networkAccess).toBe(false);

    expect(readOnlyNet.hasFullNetworkAccess()).toBe(false);
    expect(readOnlyNet.hasNetworkAllowlist()).toBe(true);
    expect(readOnlyNet.networkAllowlist()).toHaveLength(2);
    expect(readOnlyNet.isNetworkAllowed('registry.npmjs.org', 443)).toBe(true);
    expect(readOnlyNet.isNetworkAllowed('npmjs.org', 443)).toBe(true);
    expect(readOnlyNet.isNetworkAllowed('REGISTRY.NPMJS.ORG.', 443)).toBe(true);
    expect(readOnlyNet.isNetworkAllowed('registry.npmjs.org', 80)).toBe(false);
    expect(readOnlyNet.isNetworkAllowed('evilnpmjs.org', 443)).toBe(false);
    expect(readOnlyNet.isNetworkAllowed('pypi.org', 8443)).toBe(true);
    expect(readOnlyNet.isNetworkAllowed('files.pypi.org', 8443)).toBe(false);

    expect(readOnlyFull.hasFullNetworkAccess()).toBe(true);
    expect(readOnlyFull.hasNetworkAllowlist()).toBe(false);
    expect(readOnlyFull.isNetworkAllowed('anything.example', 1)).toBe(true);
  });

  it('path queries', () => {
    expect(readOnly.sensitivePaths()).toBe(DEFAULT_SENSITIVE_PATHS);
    expect(readOnly.sensitivePathsForExecution(CWD)).toEqual(DEFAULT_SENSITIVE_PATHS);
    expect(readOnly.isSensitivePath(`${HOME}/.ssh/id_ed25519`)).toBe(true);
    expect(readOnly.isSensitivePath('~/.aws/credentials')).toBe(true);
    expect(readOnly.isSensitivePath(`${HOME}/.sshx`)).toBe(false);
    expect(readOnly.isPathReadable(`${HOME}/.ssh`)).toBe(false);
    expect(readOnly.isPathReadable(`${HOME}/notes.txt`)).toBe(true);
    expect(readOnly.isPathReadable('/etc/passwd')).toBe(true);
    expect(readOnly.isPathWriteBlocked(`${HOME}/.netrc`, CWD)).toBe(true);
    expect(readOnly.isPathWriteBlocked(`${CWD}/x`, CWD)).toBe(false);
    expect(readOnly.isPathWritable(`${CWD}/x`, CWD)).toBe(false);
    expect(readOnly.isPathWritable('/tmp/x', CWD)).toBe(false);
    expect(readOnly.getWritableRootsWithCwd(CWD)).toEqual([]);
    expect(readOnly.writableRoots).toEqual([]);
    expect(readOnly.hasFullDiskWriteAccess()).toBe(false);
    expect(readOnly.hasFullDiskReadAccess()).toBe(true);
    expect(readOnly.excludeSlashTmp).toBe(false);
    expect(readOnly.excludeTmpdirEnvVar).toBe(false);
  });

  it('limits, seccomp, description', () => {
    expect(readOnly.resourceLimits()).toEqual(ResourceLimits.conservative());
    expect(readOnly.seccompProfile()).toEqual(SeccompProfile.strict());
    expect(readOnlyNet.seccompProfile()).toEqual({ ...SeccompProfile.strict(), allowNetworkSockets: true });
    expect(readOnlyFull.seccompProfile()).toEqual({ ...SeccompProfile.strict(), allowNetworkSockets: true });
    expect(readOnly.description()).toBe('read-only access');
  });

  it('an allowlist with network_access false still decides (the reference only looks at the list)', () => {
    const p = SandboxPolicy.parse({ type: 'read_only', network_access: false, network_allowlist: [{ domain: 'a.example' }] });
    expect(p.isNetworkAllowed('a.example', 443)).toBe(true);
    expect(p.hasFullNetworkAccess()).toBe(false);
    expect(p.seccompProfile().allowNetworkSockets).toBe(true);
  });
});

describe('WorkspaceWrite', () => {
  it('network queries', () => {
    expect(workspace.hasFullNetworkAccess()).toBe(false);
    expect(workspace.hasNetworkAllowlist()).toBe(false);
    expect(workspace.isNetworkAllowed('example.com', 443)).toBe(false);
    expect(workspace.networkAccess).toBe(false);

    expect(workspaceNet.networkAccess).toBe(true);
    expect(workspaceNet.hasFullNetworkAccess()).toBe(false);
    expect(workspaceNet.hasNetworkAllowlist()).toBe(true);
    expect(workspaceNet.networkAllowlist()).toEqual([{ domain: 'Example.COM', port: 443, protocol: 'tcp' }]);
    expect(workspaceNet.isNetworkAllowed('example.com', 443)).toBe(true);
    expect(workspaceNet.isNetworkAllowed('www.example.com', 443)).toBe(false);

    const open = SandboxPolicy.parse({ type: 'workspace_write', writable_roots: [], network_access: true });
    expect(open.hasFullNetworkAccess()).toBe(true);
    expect(open.isNetworkAllowed('x.y', 22)).toBe(true);
  });

  it('writable roots: configured roots, cwd, no duplicates; /tmp and $TMPDIR excluded by the constructors', () => {
    expect(workspace.writableRoots).toEqual([{ root: '/srv/data' }]);
    expect(workspace.excludeSlashTmp).toBe(true);
    expect(workspace.excludeTmpdirEnvVar).toBe(true);
    expect(workspace.getWritableRootsWithCwd(CWD)).toEqual([{ root: '/srv/data' }, { root: CWD }]);
    expect(workspace.getWritableRootsWithCwd('/srv/data/')).toEqual([{ root: '/srv/data' }]);
    expect(workspace.getWritableRootsWithCwd('/srv/./x/../data')).toEqual([{ root: '/srv/data' }]);
    expect(workspace.isPathWritable('/tmp/x', CWD)).toBe(false);
    expect(workspace.isPathWritable('/var/tmp/run/x', CWD)).toBe(false);
  });

  it('improve: /tmp and $TMPDIR are writable when not excluded', () => {
    expect(workspaceTmp.excludeSlashTmp).toBe(false);
    expect(workspaceTmp.getWritableRootsWithCwd(CWD)).toEqual([{ root: '/srv/data' }, { root: CWD }, { root: '/tmp' }, { root: '/var/tmp/run' }]);
    expect(workspaceTmp.isPathWritable('/tmp/x', CWD)).toBe(true);
    expect(workspaceTmp.isPathWritable('/var/tmp/run/x', CWD)).toBe(true);
    expect(workspaceTmp.isPathWritable('/var/tmp/other', CWD)).toBe(false);
    const onlyTmp = SandboxPolicy.parse({ type: 'workspace_write', writable_roots: [], exclude_tmpdir_env_var: true });
    expect(onlyTmp.getWritableRootsWithCwd(CWD)).toEqual([{ root: CWD }, { root: '/tmp' }]);
    const onlyTmpdir = SandboxPolicy.parse({ type: 'workspace_write', writable_roots: [], exclude_slash_tmp: true });
    expect(onlyTmpdir.getWritableRootsWithCwd(CWD)).toEqual([{ root: CWD }, { root: '/var/tmp/run' }]);
  });

  it('$TMPDIR is read at query time; unset, empty or relative is ignored; /tmp is not repeated', () => {
    const roots = () => workspaceTmp.getWritableRootsWithCwd(CWD).map((r) => r.root);
    process.env['TMPDIR'] = '/tmp/';
    expect(roots()).toEqual(['/srv/data', CWD, '/tmp']);
    process.env['TMPDIR'] = '/run/user/1000/tmp';
    expect(roots()).toContain('/run/user/1000/tmp');
    process.env['TMPDIR'] = '';
    expect(roots()).toEqual(['/srv/data', CWD, '/tmp']);
    process.env['TMPDIR'] = 'relative/tmp';
    expect(roots()).toEqual(['/srv/data', CWD, '/tmp']);
    delete process.env['TMPDIR'];
    expect(roots()).toEqual(['/srv/data', CWD, '/tmp']);
  });

  it('writability: under a root and not write-blocked', () => {
    expect(workspace.isPathWritable(`${CWD}/src/a.ts`, CWD)).toBe(true);
    expect(workspace.isPathWritable('src/a.ts', CWD)).toBe(true);
    expect(workspace.isPathWritable(CWD, CWD)).toBe(true);
    expect(workspace.isPathWritable('/srv/data/x', CWD)).toBe(true);
    expect(workspace.isPathWritable('/srv/database', CWD)).toBe(false);
    expect(workspace.isPathWritable('/etc/passwd', CWD)).toBe(false);
    expect(workspace.isPathWritable(`${CWD}/../other`, CWD)).toBe(false);
    expect(workspace.isPathWritable('../other', CWD)).toBe(false);
    expect(workspace.isPathWritable(`${CWD}/.git/config`, CWD)).toBe(false);
    expect(workspace.isPathWritable(`${CWD}/.github/workflows/ci.yml`, CWD)).toBe(true);
    expect(workspace.isPathWritable('/srv/data/.agents', CWD)).toBe(false);
    expect(workspace.hasFullDiskWriteAccess()).toBe(false);
    expect(workspace.hasFullDiskReadAccess()).toBe(true);
  });

  it('a writable root at HOME still keeps credentials unwritable', () => {
    const p = SandboxPolicy.workspaceWrite([HOME]);
    expect(p.isPathWritable(`${HOME}/project/a`, CWD)).toBe(true);
    expect(p.isPathWritable(`${HOME}/.ssh/authorized_keys`, CWD)).toBe(false);
    expect(p.isPathWriteBlocked('~/.ssh/authorized_keys', CWD)).toBe(true);
    expect(p.isPathReadable(`${HOME}/.ssh/id_rsa`)).toBe(false);
  });

  it('sensitive paths: defaults when null, explicit list, empty list', () => {
    expect(workspace.sensitivePaths()).toBe(DEFAULT_SENSITIVE_PATHS);
    const custom = SandboxPolicy.workspaceWriteWithSensitivePaths([CWD], [SensitivePath.of('/etc/secret', true, false), SensitivePath.writeProtected('~/.bashrc')]);
    expect(custom.sensitivePaths()).toEqual([
      { path: '/etc/secret', blockRead: true, blockWrite: false },
      { path: '~/.bashrc', blockRead: false, blockWrite: true },
    ]);
    expect(custom.isSensitivePath('/etc/secret/x')).toBe(true);
    expect(custom.isPathReadable('/etc/secret')).toBe(false);
    expect(custom.isPathWriteBlocked('/etc/secret', CWD)).toBe(false);
    expect(custom.isSensitivePath(`${HOME}/.bashrc`)).toBe(false);
    expect(custom.isPathWriteBlocked(`${HOME}/.bashrc`, CWD)).toBe(true);
    expect(custom.isSensitivePath(`${HOME}/.ssh/id_rsa`)).toBe(false);

    const none = SandboxPolicy.workspaceWriteNoSensitiveBlocking([CWD]);
    expect(none.sensitivePaths()).toEqual([]);
    expect(none.isPathReadable(`${HOME}/.ssh/id_rsa`)).toBe(true);
    expect(none.isSensitivePath(`${HOME}/.ssh/id_rsa`)).toBe(false);
    expect(none.isPathWriteBlocked(`${CWD}/.git/HEAD`, CWD)).toBe(true);
  });

  it('sensitivePathsForExecution adds write-protected dirs of every writable root including cwd', () => {
    const extra = workspace.sensitivePathsForExecution(CWD).slice(DEFAULT_SENSITIVE_PATHS.length);
    expect(extra).toEqual(
      ['/srv/data', CWD].flatMap((root) => ['.git', '.vtcode', '.codex', '.agents'].map((d) => ({ path: `${root}/${d}`, blockRead: false, blockWrite: true }))),
    );
    expect(workspace.isPathReadable(`${CWD}/.git/config`)).toBe(true);
    expect(workspace.isSensitivePath(`${CWD}/.git/config`)).toBe(false);
    expect(workspaceTmp.sensitivePathsForExecution(CWD).map((s) => s.path)).toContain('/tmp/.git');
  });

  it('limits, seccomp, description', () => {
    expect(workspace.resourceLimits()).toEqual(ResourceLimits.default());
    expect(SandboxPolicy.workspaceWriteWithLimits([CWD], ResourceLimits.generous()).resourceLimits()).toEqual(ResourceLimits.generous());
    expect(workspace.seccompProfile()).toEqual(SeccompProfile.strict());
    expect(workspaceNet.seccompProfile()).toEqual({ ...SeccompProfile.strict(), allowNetworkSockets: true });
    expect(workspace.description()).toBe('workspace write access');
  });
});

describe.each([
  ['DangerFullAccess', full, 'full access (dangerous)'],
  ['ExternalSandbox', external, 'external sandbox'],
])('%s', (_kind, policy, description) => {
  it('every query', () => {
    expect(policy.hasFullNetworkAccess()).toBe(true);
    expect(policy.hasNetworkAllowlist()).toBe(false);
    expect(policy.networkAllowlist()).toEqual([]);
    expect(policy.isNetworkAllowed('anything.example', 25)).toBe(true);
    expect(policy.networkAccess).toBe(true);
    expect(policy.sensitivePaths()).toEqual([]);
    expect(policy.sensitivePathsForExecution(CWD)).toEqual([]);
    expect(policy.isSensitivePath(`${HOME}/.ssh/id_rsa`)).toBe(false);
    expect(policy.isPathWriteBlocked(`${HOME}/.ssh/id_rsa`, CWD)).toBe(false);
    expect(policy.isPathWriteBlocked(`${CWD}/.git/config`, CWD)).toBe(false);
    expect(policy.isPathReadable(`${HOME}/.ssh/id_rsa`)).toBe(true);
    expect(policy.resourceLimits()).toEqual(ResourceLimits.unlimited());
    expect(policy.seccompProfile()).toEqual(SeccompProfile.permissive());
    expect(policy.hasFullDiskWriteAccess()).toBe(true);
    expect(policy.hasFullDiskReadAccess()).toBe(true);
    expect(policy.getWritableRootsWithCwd(CWD)).toEqual([{ root: CWD }]);
    expect(policy.getWritableRootsWithCwd('/a/b/../c/')).toEqual([{ root: '/a/c' }]);
    expect(policy.writableRoots).toEqual([]);
    expect(policy.isPathWritable('/etc/passwd', CWD)).toBe(true);
    expect(policy.excludeSlashTmp).toBe(false);
    expect(policy.excludeTmpdirEnvVar).toBe(false);
    expect(policy.description()).toBe(description);
  });
});

describe('path normalisation', () => {
  it('expands ~ from HOME at query time and removes . and ..', () => {
    expect(readOnly.isSensitivePath('~/.ssh')).toBe(true);
    expect(readOnly.isSensitivePath('~')).toBe(false);
    expect(readOnly.isSensitivePath(`${HOME}/projects/../.ssh/./known_hosts`)).toBe(true);
    expect(readOnly.isSensitivePath(`${HOME}/.ssh/../notes`)).toBe(false);
    expect(readOnly.isSensitivePath(`${HOME}//.ssh//`)).toBe(true);
    process.env['HOME'] = '/elsewhere';
    expect(readOnly.isSensitivePath(`${HOME}/.ssh`)).toBe(false);
    expect(readOnly.isSensitivePath('/elsewhere/.ssh')).toBe(true);
  });

  it('relative paths resolve against cwd (or process.cwd() without one)', () => {
    expect(readOnly.isPathWriteBlocked('.ssh/id_rsa', HOME)).toBe(true);
    expect(readOnly.isSensitivePath('.aws', HOME)).toBe(true);
    expect(readOnly.isPathReadable('.aws', HOME)).toBe(false);
    expect(workspace.isPathWritable('x', '~/proj')).toBe(true);
    expect(workspace.getWritableRootsWithCwd('~/proj')).toEqual([{ root: '/srv/data' }, { root: `${HOME}/proj` }]);
    const here = SandboxPolicy.workspaceWriteWithSensitivePaths(['/x'], [SensitivePath.blocked(`${process.cwd()}/secret`)]);
    expect(here.isSensitivePath('secret')).toBe(true);
    expect(here.isPathReadable('./secret/a')).toBe(false);
    expect(here.isSensitivePath('secret', '/elsewhere')).toBe(false);
    expect(SandboxPolicy.workspaceWrite(['/x']).getWritableRootsWithCwd('rel')).toEqual([{ root: '/x' }, { root: `${process.cwd()}/rel` }]);
  });

  it('a sensitive path / or ~ covers everything below it', () => {
    const root = SandboxPolicy.workspaceWriteWithSensitivePaths([CWD], [SensitivePath.blocked('/')]);
    expect(root.isPathReadable('/anything')).toBe(false);
    const home = SandboxPolicy.workspaceWriteWithSensitivePaths([CWD], [SensitivePath.blocked('~')]);
    expect(home.isPathReadable(`${HOME}/x`)).toBe(false);
    expect(home.isPathReadable('/home/testerx')).toBe(true);
  });
});

describe('canSet', () => {
  const ww = workspace;
  const table: [string, SandboxPolicy, SandboxPolicy, boolean][] = [];
  const all: [string, SandboxPolicy][] = [
    ['ReadOnly', readOnly],
    ['WorkspaceWrite', ww],
    ['DangerFullAccess', full],
    ['ExternalSandbox', external],
  ];
  for (const [fromName, from] of all) {
    for (const [toName, to] of all) {
      const refused = fromName === 'ReadOnly' && (toName === 'WorkspaceWrite' || toName === 'DangerFullAccess');
      table.push([`${fromName} -> ${toName}`, from, to, !refused]);
    }
  }
  it.each(table)('%s', (_name, from, to, allowed) => {
    if (allowed) expect(() => from.canSet(to)).not.toThrow();
    else expect(() => from.canSet(to)).toThrow(PolicyEscalationError);
  });

  it('the error says why', () => {
    expect(() => readOnly.canSet(full)).toThrow(/cannot escalate from read-only to write-capable policy/);
    try {
      readOnly.canSet(ww);
    } catch (e) {
      expect((e as PolicyEscalationError).code).toBe('ERR_CORDON_POLICY_ESCALATION');
    }
  });

  it('refuses a non-policy argument with a PolicyError', () => {
    expect(() => readOnly.canSet({ kind: 'ReadOnly' } as unknown as SandboxPolicy)).toThrow(PolicyError);
    expect(() => full.canSet(undefined as unknown as SandboxPolicy)).toThrow(PolicyError);
  });
});

describe('query arguments', () => {
  it('bad argument types give a PolicyError, never a TypeError', () => {
    const bad = [
      () => readOnly.isSensitivePath(undefined as unknown as string),
      () => readOnly.isPathReadable(42 as unknown as string),
      () => workspace.isPathWritable('/x', undefined as unknown as string),
      () => workspace.isPathWriteBlocked(null as unknown as string, CWD),
      () => workspace.getWritableRootsWithCwd({} as unknown as string),
      () => workspace.sensitivePathsForExecution(undefined as unknown as string),
      () => full.getWritableRootsWithCwd(undefined as unknown as string),
      () => readOnly.isNetworkAllowed(undefined as unknown as string, 443),
      () => readOnly.isNetworkAllowed('a.b', '443' as unknown as number),
    ];
    for (const fn of bad) {
      expect(fn).toThrow(PolicyError);
      expect(fn).toThrow(/invalid argument: (path|cwd|domain|port): must be/);
    }
  });

  it('isNetworkAllowed never matches a query with *, an empty name or another port', () => {
    expect(readOnlyNet.isNetworkAllowed('*.npmjs.org', 443)).toBe(false);
    expect(readOnlyNet.isNetworkAllowed('', 443)).toBe(false);
    expect(readOnlyNet.isNetworkAllowed('npmjs.org', 443.5)).toBe(false);
  });
});

describe('equals', () => {
  it('compares the normalised wire form', () => {
    expect(SandboxPolicy.parse({ type: 'read_only' }).equals(SandboxPolicy.readOnly())).toBe(true);
    expect(SandboxPolicy.workspaceWrite(['/a/./b/']).equals(SandboxPolicy.workspaceWrite(['/a/b']))).toBe(true);
    expect(SandboxPolicy.readOnlyWithNetwork([NetworkAllowlistEntry.https('A.com.')]).equals(SandboxPolicy.readOnlyWithNetwork([NetworkAllowlistEntry.https('a.com')]))).toBe(true);
    expect(SandboxPolicy.readOnlyWithNetwork([NetworkAllowlistEntry.https('[::1]')]).equals(SandboxPolicy.readOnlyWithNetwork([NetworkAllowlistEntry.https('0:0::1')]))).toBe(true);
    expect(SandboxPolicy.workspaceWriteWithSensitivePaths(['/a'], [SensitivePath.blocked('~/.x/')]).equals(SandboxPolicy.workspaceWriteWithSensitivePaths(['/a'], [SensitivePath.blocked('~/.x')]))).toBe(true);
  });

  it('tells different policies apart', () => {
    expect(SandboxPolicy.readOnly().equals(SandboxPolicy.readOnlyWithFullNetwork())).toBe(false);
    expect(SandboxPolicy.workspaceWrite(['/a']).equals(SandboxPolicy.workspaceWrite(['/b']))).toBe(false);
    expect(SandboxPolicy.workspaceWrite(['/a', '/b']).equals(SandboxPolicy.workspaceWrite(['/b', '/a']))).toBe(false);
    expect(SandboxPolicy.workspaceWrite(['/a']).equals(SandboxPolicy.workspaceWriteWithSensitivePaths(['/a'], DEFAULT_SENSITIVE_PATHS))).toBe(false);
    expect(SandboxPolicy.externalSandbox('a').equals(SandboxPolicy.externalSandbox('b'))).toBe(false);
    expect(SandboxPolicy.fullAccess().equals(SandboxPolicy.externalSandbox(''))).toBe(false);
    expect(SandboxPolicy.fullAccess().equals({} as SandboxPolicy)).toBe(false);
  });
});
