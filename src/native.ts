// The one place that loads the addon: lazily, once. Importing cordon works on every platform;
// only calls that need the kernel throw UnsupportedPlatformError off Linux.
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
  try {
    const load = require('node-gyp-build') as (dir: string) => NativeBinding;
    binding = load(packageRoot);
    return binding;
  } catch (cause) {
    loadError = new UnsupportedPlatformError(
      `cordon's native addon could not be loaded (${(cause as Error).message}). It looked for a ` +
        `prebuild in ${join(packageRoot, 'prebuilds')} and a local build in ${join(packageRoot, 'build')}. ` +
        `Possible solutions: run "npm rebuild cordon" on a machine with python3, make and a C++ compiler, ` +
        `or use a platform with a matching prebuild (linux x64/arm64, glibc).`,
      { cause },
    );
    throw loadError;
  }
}
