// Preloaded (NODE_OPTIONS=--require) into an arm64 Node running under qemu-user on an x64 host,
// by scripts/test-arm64.sh. It does what binfmt_misc would do for a machine that registered
// qemu: when this Node starts another copy of itself (vitest's worker processes are forks), the
// kernel cannot exec an aarch64 ELF, so the child is started as `qemu-aarch64 <node> args...`.
// Everything else, the IPC channel included, passes through unchanged (qemu keeps fds and env).
// The test harness uses this instead of registering binfmt_misc, which would change the whole
// (shared) kernel for every container on it.
//
// Only asynchronous spawns are covered (ChildProcess.prototype.spawn: spawn, fork, execFile,
// exec); spawnSync/execFileSync of process.execPath would still fail, and no test that runs
// under qemu uses them.
'use strict';

const { ChildProcess } = require('node:child_process');

const qemu = process.env.CORDON_QEMU;
const spawn = ChildProcess.prototype.spawn;

ChildProcess.prototype.spawn = function spawnThroughQemu(options) {
  if (qemu && options && options.file === process.execPath) {
    // options.args[0] is argv[0]; qemu takes the guest program, then its arguments.
    options = { ...options, file: qemu, args: [qemu, process.execPath, ...options.args.slice(1)] };
  }
  return spawn.call(this, options);
};
