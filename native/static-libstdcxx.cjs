// Prints "-static-libstdc++" when the C++ compiler that will link the addon has a static
// libstdc++ (libstdc++.a), nothing otherwise. binding.gyp asks this at configure time.
//
// Why: a static libstdc++ makes cordon.node independent of the target's libstdc++.so.6 (no
// GLIBCXX_ versions), which the prebuilds need. Debian's and Alpine's g++ ship libstdc++.a, but
// Fedora/RHEL keep it in a separate package (libstdc++-static), and there a source build must
// still link, against the system's shared libstdc++ (it only has to run on that machine).
const { execFileSync } = require('node:child_process');

// node-gyp's Makefile links with $(CXX), and make's default CXX is g++.
const cxx = (process.env.CXX || 'g++').trim().split(/\s+/);
let file = '';
try {
  file = execFileSync(cxx[0], [...cxx.slice(1), '-print-file-name=libstdc++.a'], {
    encoding: 'utf8',
    timeout: 20_000,
    stdio: ['ignore', 'pipe', 'ignore'],
  }).trim();
} catch {
  // No compiler: the build fails later with the compiler's own message.
}
// gcc and clang print the bare name back when the file is not in their search path.
if (file.startsWith('/')) process.stdout.write('-static-libstdc++');
