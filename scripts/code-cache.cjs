'use strict';
// Writes dist/modules.cjs.v8cache: V8's code cache of the bundle for the Node that runs this,
// after loading the entry modules and running what a cold start runs (a policy built and parsed,
// spawn options checked), so the functions compiled then are in it. dist/boot.cjs uses it when
// its first line still names this file: inode, size, ctime, mtime and path. Run by
// `npm run build:ts` and by the install script (scripts/install.cjs) on the user's machine, for
// the user's Node; never shipped (it is Node-version specific). Best effort: exits 0 and writes
// nothing when it cannot.
//   node scripts/code-cache.cjs
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');
const { createRequire, wrap } = require('node:module');

const file = path.join(__dirname, '..', 'dist', 'modules.cjs');

function main() {
  if (!fs.existsSync(file)) return 'no dist/modules.cjs';
  const before = fs.statSync(file);
  const source = fs.readFileSync(file, 'utf8');
  const script = new vm.Script(wrap(source), { filename: file });
  const module = { exports: {} };
  script.runInThisContext().call(module.exports, module.exports, createRequire(file), module, file, path.dirname(file));
  const cordon = module.exports.load('index.js');
  module.exports.load('cli/index.js');
  const policy = cordon.SandboxPolicy.workspaceWrite([path.dirname(file)]);
  cordon.SandboxPolicy.parse(JSON.stringify(policy.toJSON()));
  cordon.SandboxPolicy.readOnly();
  module.exports.load('options.js').parseSpawnOptions('true', [], { policy, cwd: '/', stdio: 'inherit', timeout: 1000 });
  const st = fs.statSync(file);
  if (st.ino !== before.ino || st.ctimeMs !== before.ctimeMs || st.size !== before.size) return 'dist/modules.cjs changed meanwhile';
  // The header dist/boot.cjs checks: the file's inode, size, ctime, mtime and path.
  const tmp = `${file}.v8cache.${process.pid}.tmp`;
  fs.writeFileSync(tmp, Buffer.concat([Buffer.from(`${[st.ino, st.size, st.ctimeMs, st.mtimeMs, file].join(' ')}\n`, 'utf8'), script.createCachedData()]));
  fs.renameSync(tmp, `${file}.v8cache`);
  return undefined;
}

try {
  const skipped = main();
  if (skipped && process.argv.includes('--verbose')) process.stderr.write(`code-cache: skipped (${skipped})\n`);
} catch (err) {
  if (process.argv.includes('--verbose')) process.stderr.write(`code-cache: skipped (${err.message})\n`);
}
