// The one place that loads the addon: lazily, once. Importing cordon works on every platform;
// only calls that need the kernel throw UnsupportedPlatformError off Linux.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { UnsupportedPlatformError } from './errors.js';
import type { NativeBinding } from './native-types.js';

export type * from './native-types.js';

let binding: NativeBinding | undefined;
let loadError: Error | undefined;

/** The package root (one level above dist/ or src/). */
export const packageRoot = join(__dirname, '..');

/** Returns the native binding, loading it on first use. */
export function native(): NativeBinding {
  if (binding) return binding;
  if (loadError) throw loadError;
  if (process.platform !== 'linux') {
    loadError = new UnsupportedPlatformError(
      `cordon enforces sandboxes with Linux kernel features (Landlock, seccomp-BPF, namespaces); ` +
        `this is ${process.platform}. Importing cordon works here, spawning does not.`,
    );
    throw loadError;
  }
  const load = require('node-gyp-build') as ((dir: string) => NativeBinding) & { resolve(dir: string): string };
  let path: string | undefined;
  try {
    path = load.resolve(packageRoot);
    binding = require(path) as NativeBinding;
    return binding;
  } catch (cause) {
    loadError = new UnsupportedPlatformError(addonProblem(path, cause as Error), { cause });
    throw loadError;
  }
}

/** Why no addon could be loaded, and what to do about it, in the words a user can act on. */
function addonProblem(path: string | undefined, cause: Error): string {
  const prebuilds = join(packageRoot, 'prebuilds');
  const platform = `${process.platform}-${process.arch}`;
  const libc = existsSync('/etc/alpine-release') ? 'musl' : 'glibc';
  const shipped = safeReaddir(prebuilds).flatMap((dir) => safeReaddir(join(prebuilds, dir)).filter((f) => f.endsWith('.node')).map((f) => `${dir}/${f}`));
  const build = [
    'python3, make, a C++ compiler and Node\'s headers (found next to node, or named by npm_config_nodedir)',
    'e.g. apt-get install python3 make g++, dnf install python3 make gcc-c++, apk add python3 make g++',
  ].join('; ');
  if (path !== undefined) {
    // Found one, and dlopen refused it (an older glibc than it needs, a foreign arch, a broken build).
    return (
      `cordon's native addon ${path} exists but could not be loaded: ${cause.message}. ` +
      `Rebuild it for this machine with "npm rebuild cordon --build-from-source" (needs ${build}).`
    );
  }
  return (
    `cordon's native addon is missing: no prebuilt binary matches ${platform} (${libc}) ` +
    `(this package ships ${shipped.length > 0 ? shipped.join(', ') : 'none'}), and it was not built from source ` +
    `(${join(packageRoot, 'build', 'Release')} has no cordon.node). Its install script builds it; it did not run ` +
    `(installed with --ignore-scripts?) or it failed. Run "npm rebuild cordon" (needs ${build}).`
  );
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
