#!/usr/bin/env node
// Builds the prebuilt addons shipped in prebuilds/, in the layout node-gyp-build loads:
//   prebuilds/linux-x64/cordon.napi.glibc.node     prebuilds/linux-arm64/cordon.napi.glibc.node
// (node-gyp-build picks the folder <platform>-<arch>, then a file whose dot-separated tags match:
// "napi" = any Node ABI, "glibc" = not on musl; "cordon" is not a tag and is ignored.)
//
// Usage (any Debian machine, x64 or arm64):
//   node scripts/prebuilds.mjs [--host]   the host's architecture, with the native g++
//   node scripts/prebuilds.mjs --all      x64 and arm64: the other one with Debian's cross g++
//                                         (fails, printing the apt-get line, if it is missing)
//   --force   rebuild even when the stamp says the binary is current
//   --check   build nothing: exit 1 if a wanted prebuild is missing or stale
// npm run prebuilds / npm run prebuilds:all run the first two.
//
// Each binary has a stamp beside it (<file>.stamp): a hash of everything that decides its bytes
// that lives in this repository (every file beneath native/, binding.gyp, this script, the
// node-addon-api version, the target and its compiler command). When the stamp matches, nothing is rebuilt, so npm test
// and npm pack can call this cheaply. Not in the hash: the compiler's own version and the Node
// headers (N-API is pinned by NAPI_VERSION in binding.gyp); --force covers a toolchain change.
//
// The build runs node-gyp (devDependency) in a temporary copy of binding.gyp and native/, so it
// never touches the developer's build/: node-gyp-build prefers build/Release over prebuilds/, and
// an arm64 build/Release would break every later load on x64.
//
// Every binary is checked before it is installed: right ELF machine, no GLIBC_ version above
// MAX_GLIBC, no GLIBCXX_/CXXABI_ version at all (binding.gyp and native/glibc_compat.cc say how).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** RHEL 8, Debian 10 and Ubuntu 20.04 have glibc 2.28 (2.31 on Ubuntu 20.04). */
export const MAX_GLIBC = '2.28';
const BUILD_TIMEOUT_MS = 10 * 60_000;

/**
 * The targets. triple: Debian's GNU triplet, which names the cross compiler
 * (aarch64-linux-gnu-g++) and the package that has it (g++-aarch64-linux-gnu).
 * elfMachine: e_machine of the ELF header (EM_X86_64, EM_AARCH64).
 */
export const TARGETS = {
  x64: { arch: 'x64', triple: 'x86_64-linux-gnu', debianPackage: 'g++-x86-64-linux-gnu', elfMachine: 62 },
  arm64: { arch: 'arm64', triple: 'aarch64-linux-gnu', debianPackage: 'g++-aarch64-linux-gnu', elfMachine: 183 },
};

export const FILE_NAME = 'cordon.napi.glibc.node';

/** Where a target's binary and stamp live. */
export function prebuildPath(target) {
  return path.join(root, 'prebuilds', `linux-${target.arch}`, FILE_NAME);
}

/** True when this Node runs on glibc (process.report knows; musl has no glibcVersionRuntime). */
function hostIsGlibc() {
  return process.platform === 'linux' && Boolean(process.report?.getReport().header.glibcVersionRuntime);
}

function onPath(command) {
  return (process.env.PATH || '').split(path.delimiter).some((dir) => {
    try {
      fs.accessSync(path.join(dir || '.', command), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * The compiler for a target: the plain g++ when the target is the host's architecture, else
 * Debian's cross g++. strip likewise (the host strip cannot strip another architecture).
 */
function toolchain(target) {
  const native = target.arch === process.arch;
  const prefix = native ? '' : `${target.triple}-`;
  return { native, cc: `${prefix}gcc`, cxx: `${prefix}g++`, strip: `${prefix}strip`, ar: `${prefix}ar` };
}

/** The hash that says whether prebuildPath(target) is current (see the header). */
export function expectedStamp(target) {
  const hash = createHash('sha256');
  const add = (label, data) => {
    hash.update(`${label}\0${data.length}\0`);
    hash.update(data);
  };
  add('binding.gyp', fs.readFileSync(path.join(root, 'binding.gyp')));
  // Every file beneath native/ (native/binding/ too), by its path relative to it.
  for (const name of fs.readdirSync(path.join(root, 'native'), { recursive: true }).sort()) {
    const file = path.join(root, 'native', name);
    if (fs.statSync(file).isFile()) add(`native/${name}`, fs.readFileSync(file));
  }
  add('script', fs.readFileSync(fileURLToPath(import.meta.url)));
  add('node-addon-api', require('node-addon-api/package.json').version);
  add('target', JSON.stringify({ ...target, cxx: toolchain(target).cxx }));
  return hash.digest('hex');
}

function stampPath(target) {
  return `${prebuildPath(target)}.stamp`;
}

/** The stamp recorded beside the binary, or undefined when binary or stamp is missing. */
export function recordedStamp(target) {
  if (!fs.existsSync(prebuildPath(target))) return undefined;
  try {
    return JSON.parse(fs.readFileSync(stampPath(target), 'utf8')).stamp;
  } catch {
    return undefined;
  }
}

export function isCurrent(target) {
  return recordedStamp(target) === expectedStamp(target);
}

/**
 * The versions a shared object needs, from readelf's .gnu.version_r listing:
 * { 'libc.so.6': ['GLIBC_2.2.5', ...], 'libgcc_s.so.1': [...] }. readelf (binutils) reads
 * any architecture's ELF.
 */
export function neededVersions(file) {
  const out = execFileSync('readelf', ['--version-info', '--wide', file], { encoding: 'utf8', timeout: 30_000 });
  const needs = {};
  let current;
  let inNeeds = false;
  for (const line of out.split('\n')) {
    if (line.startsWith("Version needs section '.gnu.version_r'")) inNeeds = true;
    else if (/^Version \w+ section/.test(line)) inNeeds = false;
    if (!inNeeds) continue;
    const file = /File: (\S+)/.exec(line);
    if (file) needs[(current = file[1])] = [];
    const name = /Name: (\S+)/.exec(line);
    if (name && current) needs[current].push(name[1]);
  }
  return needs;
}

/** Compares dotted versions part by part as numbers ('2.2.5' < '2.17' < '2.28'). */
export function compareVersions(a, b) {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? 0) - (y[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** Problems that make a binary unfit to ship (empty when fit). */
export function portabilityProblems(file, target) {
  const problems = [];
  const header = Buffer.alloc(20);
  const fd = fs.openSync(file, 'r');
  fs.readSync(fd, header, 0, 20, 0);
  fs.closeSync(fd);
  if (header.readUInt32BE(0) !== 0x7f454c46) problems.push('not an ELF file');
  else if (header.readUInt16LE(18) !== target.elfMachine) {
    problems.push(`ELF machine ${header.readUInt16LE(18)}, want ${target.elfMachine} (${target.arch})`);
  }
  for (const [lib, versions] of Object.entries(neededVersions(file))) {
    for (const v of versions) {
      const glibc = /^GLIBC_([\d.]+)$/.exec(v);
      if (glibc && compareVersions(glibc[1], MAX_GLIBC) > 0) problems.push(`${lib} ${v} > GLIBC_${MAX_GLIBC}`);
      if (/^(GLIBCXX|CXXABI)_/.test(v)) problems.push(`${lib} ${v}: libstdc++ must be linked statically`);
    }
  }
  return problems;
}

/** The Node headers next to the running node (Debian's nodejs, NodeSource, official tarballs). */
function localNodedir() {
  const prefix = path.dirname(path.dirname(process.execPath));
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? prefix : undefined;
}

function build(target) {
  const tools = toolchain(target);
  const stage = fs.mkdtempSync(path.join(os.tmpdir(), `cordon-prebuild-${target.arch}-`));
  try {
    fs.copyFileSync(path.join(root, 'binding.gyp'), path.join(stage, 'binding.gyp'));
    fs.cpSync(path.join(root, 'native'), path.join(stage, 'native'), { recursive: true });
    // binding.gyp asks node for node-addon-api's gyp target: resolved from the stage's cwd.
    fs.symlinkSync(path.join(root, 'node_modules'), path.join(stage, 'node_modules'), 'dir');

    const env = { ...process.env, CC: tools.cc, CXX: tools.cxx, AR: tools.ar, LINK: tools.cxx };
    // The local headers keep the build offline (node-gyp would download them otherwise).
    if (!env.npm_config_nodedir && localNodedir()) env.npm_config_nodedir = localNodedir();
    const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
    const args = [nodeGyp, 'rebuild', `--arch=${target.arch}`, `--jobs=${os.availableParallelism()}`];
    const started = Date.now();
    const run = spawnSync(process.execPath, args, {
      cwd: stage,
      env,
      encoding: 'utf8',
      timeout: BUILD_TIMEOUT_MS,
      maxBuffer: 64 * 1024 * 1024,
    });
    if (run.status !== 0) {
      process.stderr.write(run.stdout + run.stderr);
      throw new Error(`node-gyp rebuild for linux-${target.arch} failed (${run.error?.message ?? `exit ${run.status}`})`);
    }
    const built = path.join(stage, 'build', 'Release', 'cordon.node');
    const unstripped = fs.statSync(built).size;
    // Symbol tables and debug info are not needed to load or to read a crash's backtrace by
    // exported name; --strip-unneeded keeps the dynamic symbols.
    execFileSync(tools.strip, ['--strip-unneeded', built], { timeout: 60_000 });
    const problems = portabilityProblems(built, target);
    if (problems.length) throw new Error(`linux-${target.arch} is not portable:\n  ${problems.join('\n  ')}`);

    // Into place by rename, binary then stamp: a process loading the old file keeps its inode,
    // a reader never sees half a file, and a crash in between leaves an old stamp (a rebuild next
    // time), never a new stamp on an old binary.
    const dest = prebuildPath(target);
    fs.mkdirSync(path.dirname(dest), { recursive: true });
    const compiler = execFileSync(tools.cxx, ['--version'], { encoding: 'utf8', timeout: 20_000 }).split('\n')[0];
    const stamp = { stamp: expectedStamp(target), compiler };
    const tmp = `${dest}.tmp-${process.pid}`;
    fs.copyFileSync(built, tmp);
    fs.writeFileSync(`${stampPath(target)}.tmp-${process.pid}`, `${JSON.stringify(stamp, null, 2)}\n`);
    fs.renameSync(tmp, dest);
    fs.renameSync(`${stampPath(target)}.tmp-${process.pid}`, stampPath(target));
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const glibc = (neededVersions(dest)['libc.so.6'] ?? []).sort((a, b) => compareVersions(a.slice(6), b.slice(6))).at(-1);
    console.log(
      `prebuilds: linux-${target.arch} built in ${seconds} s: ${path.relative(root, dest)} ` +
        `${fs.statSync(dest).size} bytes (${unstripped} unstripped), needs up to ${glibc}`,
    );
  } finally {
    fs.rmSync(stage, { recursive: true, force: true });
  }
}

function main(argv) {
  const flags = new Set(argv);
  for (const f of flags) {
    if (!['--host', '--all', '--force', '--check'].includes(f)) {
      console.error(`prebuilds: unknown option ${f} (use --host, --all, --force, --check)`);
      return 2;
    }
  }
  if (process.platform !== 'linux' || !hostIsGlibc() || !TARGETS[process.arch]) {
    console.error(
      `prebuilds: the prebuilds are built on Linux x64 or arm64 with glibc (Debian); this is ` +
        `${process.platform}-${process.arch}${process.platform === 'linux' && !hostIsGlibc() ? ' (not glibc)' : ''}.`,
    );
    return 1;
  }
  const wanted = flags.has('--all') ? Object.values(TARGETS) : [TARGETS[process.arch]];

  if (flags.has('--check')) {
    let ok = true;
    for (const t of wanted) {
      const state = !fs.existsSync(prebuildPath(t)) ? 'missing' : isCurrent(t) ? 'current' : 'stale';
      if (state !== 'current') ok = false;
      console.log(`prebuilds: linux-${t.arch} ${state}`);
    }
    return ok ? 0 : 1;
  }

  const todo = wanted.filter((t) => flags.has('--force') || !isCurrent(t));
  for (const t of wanted) if (!todo.includes(t)) console.log(`prebuilds: linux-${t.arch} is current`);
  // Every toolchain before any build: a half-done --all is worse than a clear refusal.
  const missing = todo.filter((t) => !onPath(toolchain(t).cxx) || !onPath(toolchain(t).strip));
  if (missing.length) {
    console.error(
      `prebuilds: missing compiler ${missing.map((t) => toolchain(t).cxx).join(', ')} for ` +
        `${missing.map((t) => `linux-${t.arch}`).join(', ')}. On Debian/Ubuntu:\n` +
        `  sudo apt-get install ${[...new Set(missing.map((t) => (toolchain(t).native ? 'g++' : t.debianPackage)))].join(' ')}` +
        ` make python3`,
    );
    return 1;
  }
  for (const t of todo) build(t);
  return 0;
}

if (process.argv[1] && import.meta.url === pathToFileURL(fs.realpathSync(process.argv[1])).href) {
  try {
    process.exitCode = main(process.argv.slice(2));
  } catch (err) {
    console.error(`prebuilds: ${err.message}`);
    process.exitCode = 1;
  }
}
