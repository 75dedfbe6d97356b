#!/usr/bin/env node
// cordon's npm install script ("install": "node scripts/install.cjs").
//
//   - Off Linux: nothing to do. Importing cordon works everywhere; spawning throws
//     UnsupportedPlatformError (src/native.ts), so there is nothing to build.
//   - On Linux: if node-gyp-build finds a prebuild in prebuilds/ for this platform and it really
//     loads (tried in a child node, so a crash in dlopen cannot take npm down), done, quietly.
//   - Otherwise build from source with node-gyp, after checking what the build needs (python3,
//     make, a C++ compiler, Node's headers). If something is missing, exit 1 with one message
//     that says what is missing, why no prebuild fits, and how to fix it.
//
// npm install --build-from-source (npm_config_build_from_source=true) skips the prebuilds,
// as node-gyp-build's own install script does.
//
// CommonJS on purpose: this runs before anything is built, under whatever "type" package.json has.
'use strict';

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const root = path.join(__dirname, '..');
const LOAD_TIMEOUT_MS = 60_000; // a dlopen plus a require; generous for slow or emulated machines
const BUILD_TIMEOUT_MS = 20 * 60_000;

// Loads what node-gyp-build resolves for the package directory, in a child. Exit 0: loaded;
// 2: nothing matches this platform; 3: a file matched (its path is on stdout) but did not load.
// A crash in dlopen shows as a signal. PREBUILDS_ONLY (set by the caller for the prebuild try)
// makes node-gyp-build skip build/, since a leftover local build is not a prebuild.
const LOAD_CHILD = `
const dir = process.argv[1];
let file;
try {
  file = require(require.resolve('node-gyp-build', { paths: [dir] })).path(dir);
} catch (err) {
  process.stderr.write(err.message);
  process.exit(2);
}
process.stdout.write(file);
try {
  require(file);
} catch (err) {
  process.stderr.write(err.message);
  process.exit(3);
}
`;

function firstLine(text) {
  return String(text || '').trim().split('\n').find((l) => l.trim()) || '';
}

/** "linux-x64, glibc 2.36" / "linux-x64, musl libc": what a prebuild has to match. */
function describePlatform() {
  const glibc = process.report && process.report.getReport().header.glibcVersionRuntime;
  let libc = glibc ? `glibc ${glibc}` : 'a libc other than glibc';
  try {
    if (!glibc && fs.readdirSync('/lib').some((f) => f.startsWith('ld-musl-'))) libc = 'musl libc';
  } catch {}
  return `${process.platform}-${process.arch}, ${libc}`;
}

/** "linux-x64 (glibc), linux-arm64 (glibc)", from the names in prebuilds/. */
function describePrebuilds() {
  const found = [];
  const dir = path.join(root, 'prebuilds');
  for (const tuple of fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []) {
    let files = [];
    try {
      files = fs.readdirSync(path.join(dir, tuple)).filter((f) => f.endsWith('.node'));
    } catch {}
    for (const f of files) {
      const libc = f.split('.').find((tag) => tag === 'glibc' || tag === 'musl');
      found.push(`${tuple}${libc ? ` (${libc})` : ''}`);
    }
  }
  return found.length ? found.join(', ') : 'none';
}

/** Tries the prebuild: { ok: true } or { ok: false, why } for the message. */
function tryPrebuild() {
  const run = spawnSync(process.execPath, ['-e', LOAD_CHILD, root], {
    env: { ...process.env, PREBUILDS_ONLY: '1' },
    encoding: 'utf8',
    timeout: LOAD_TIMEOUT_MS,
  });
  if (run.status === 0) return { ok: true };
  if (run.status === 2) return { ok: false, why: `No prebuild matches this platform (${describePlatform()}).` };
  const cause = (run.status === 3 ? firstLine(run.stderr) : run.error ? run.error.message : `killed by ${run.signal}`).replace(/\.$/, '');
  const file = run.stdout ? path.relative(root, run.stdout) : 'found by node-gyp-build';
  return {
    ok: false,
    why: `The prebuild ${file} matches this platform (${describePlatform()}) but does not load: ${cause}.`,
  };
}

function executable(file) {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** The command's path: itself when it has a slash, else the first hit on PATH. */
function which(command) {
  if (!command) return undefined;
  if (command.includes('/')) return executable(command) ? command : undefined;
  for (const dir of (process.env.PATH || '').split(path.delimiter)) {
    const file = path.join(dir || '.', command);
    if (executable(file)) return file;
  }
  return undefined;
}

/**
 * node-gyp, by exact paths only: npm_config_node_gyp (npm sets it for lifecycle scripts to the
 * node-gyp it bundles), this package's own node_modules (a devDependency while developing
 * cordon), the node-gyp bundled with the npm running us (npm_execpath), then the npm installed
 * beside this node. Never a module search: that walks up through every ancestor's node_modules
 * (/tmp/node_modules, ~/node_modules), where anyone could have planted a "node-gyp".
 */
function findNodeGyp() {
  const candidates = [process.env.npm_config_node_gyp, path.join(root, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')];
  if (process.env.npm_execpath) {
    candidates.push(path.join(path.dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  const prefix = path.dirname(path.dirname(process.execPath));
  candidates.push(path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  return candidates.find((f) => f && path.isAbsolute(f) && fs.existsSync(f));
}

function hasNodeApiHeader(dir) {
  return ['include/node/node_api.h', 'src/node_api.h'].some((f) => fs.existsSync(path.join(dir, f)));
}

/**
 * What the build needs and lacks. Returns { missing: [...], env, notes: [...] }; env is the
 * environment for node-gyp (CXX and npm_config_nodedir filled in where we found them).
 */
function checkBuildNeeds() {
  const env = { ...process.env };
  const missing = [];
  const notes = [];

  // node-gyp looks for python in npm_config_python, PYTHON, then python3, python.
  const python = env.npm_config_python || env.PYTHON;
  if (python ? !which(python) : !which('python3') && !which('python')) {
    missing.push(python ? `python (${python}, from npm_config_python/PYTHON, not found)` : 'python3');
  }

  const make = env.MAKE || 'make'; // what node-gyp runs on Linux
  if (!which(make)) missing.push(make === 'make' ? 'make' : `make (MAKE=${make} not found)`);

  // node-gyp's Makefile compiles and links with $(CXX), which is g++ unless CXX is set.
  if (env.CXX) {
    if (!which(env.CXX.trim().split(/\s+/)[0])) missing.push(`a C++ compiler (CXX=${env.CXX} not found)`);
  } else if (!which('g++')) {
    const other = ['c++', 'clang++'].find((c) => which(c));
    if (other) env.CXX = other;
    else missing.push('a C++ compiler (g++, c++ or CXX)');
  }

  // Headers: npm_config_nodedir if set; else the ones installed beside this node (Debian's and
  // NodeSource's nodejs, the official tarballs), which saves node-gyp a download and lets any
  // user build offline; else node-gyp's cache; else node-gyp downloads them.
  const prefix = path.dirname(path.dirname(process.execPath));
  if (env.npm_config_nodedir) {
    if (!hasNodeApiHeader(env.npm_config_nodedir)) {
      missing.push(`Node's headers (npm_config_nodedir=${env.npm_config_nodedir} has no include/node/node_api.h)`);
    }
  } else if (hasNodeApiHeader(prefix)) {
    env.npm_config_nodedir = prefix;
  } else {
    const cache = env.npm_config_devdir || path.join(env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache'), 'node-gyp');
    if (!fs.existsSync(path.join(cache, process.versions.node, 'include', 'node', 'node_api.h'))) {
      notes.push(
        `Node's headers are not installed beside ${process.execPath}; node-gyp will download them ` +
          `(offline, install them and set npm_config_nodedir to the directory holding include/node/node_api.h).`,
      );
    }
  }

  const nodeGyp = findNodeGyp();
  if (!nodeGyp) missing.push('node-gyp (it comes with npm; or npm install -g node-gyp)');
  return { missing, env, nodeGyp, notes };
}

function fixLines() {
  return [
    'Fix: install what is missing, then run "npm rebuild cordon":',
    '  Debian/Ubuntu:  sudo apt-get install python3 make g++',
    '  Fedora/RHEL:    sudo dnf install python3 make gcc-c++',
    '  Alpine:         apk add python3 make g++',
    "  Node's headers: set npm_config_nodedir=<dir with include/node/node_api.h> (node-gyp downloads them otherwise)",
  ];
}

function fail(lines) {
  process.stderr.write(`${['cordon: cannot install the native addon.', ...lines].join('\n')}\n`);
  return 1;
}

function main() {
  if (process.platform !== 'linux') return 0;

  let why;
  if (process.env.npm_config_build_from_source === 'true') {
    why = 'Prebuilds skipped (--build-from-source).';
  } else {
    const prebuild = tryPrebuild();
    if (prebuild.ok) return 0;
    why = prebuild.why;
  }
  const prebuilds = `Prebuilds in this package: ${describePrebuilds()}.`;

  const needs = checkBuildNeeds();
  if (needs.missing.length) {
    return fail([
      `${why} ${prebuilds}`,
      `Building from source needs python3, make, a C++ compiler and Node's headers; missing: ${needs.missing.join(', ')}.`,
      ...fixLines(),
    ]);
  }

  for (const note of needs.notes) process.stderr.write(`cordon: ${note}\n`);
  process.stderr.write(`cordon: ${why} Building from source with node-gyp.\n`);
  const build = spawnSync(process.execPath, [needs.nodeGyp, 'rebuild', `--jobs=${os.availableParallelism()}`], {
    cwd: root,
    env: needs.env,
    stdio: 'inherit',
    timeout: BUILD_TIMEOUT_MS,
  });
  if (build.status !== 0) {
    const how = build.error ? build.error.message : build.signal ? `killed by ${build.signal}` : `exit ${build.status}`;
    // Everything the build needs was found: the fix is in node-gyp's output, not a package list.
    return fail([`${why} ${prebuilds}`, `node-gyp rebuild failed (${how}); its output above says why.`, 'Then run "npm rebuild cordon".']);
  }

  // The fresh build must load too (node-gyp-build prefers build/Release over prebuilds/).
  const check = spawnSync(process.execPath, ['-e', LOAD_CHILD, root], { encoding: 'utf8', timeout: LOAD_TIMEOUT_MS });
  if (check.status !== 0) {
    const cause = firstLine(check.stderr) || (check.error ? check.error.message : `killed by ${check.signal}`);
    return fail([`The addon built from source (${check.stdout || 'build/Release'}) does not load: ${cause}`]);
  }
  return 0;
}

/**
 * V8's code cache of the bundle for this Node (dist/modules.cjs.v8cache, see scripts/code-cache.cjs),
 * which saves about 5 ms of every cold start. Best effort, in a child with a deadline: a package
 * directory that is not writable, or a git checkout before its first build, just has none.
 */
function writeCodeCache() {
  const script = path.join(__dirname, 'code-cache.cjs');
  if (fs.existsSync(script)) spawnSync(process.execPath, [script], { cwd: root, stdio: 'ignore', timeout: LOAD_TIMEOUT_MS });
}

process.exitCode = main();
if (process.exitCode === 0) writeCodeCache();
