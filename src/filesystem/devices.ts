// Device files: which ones the sandbox is granted by name, and the mounts holding them (the only
// ones a private mount tree leaves without nodev).
import { lstatSync, realpathSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { BASE_DEVICES } from '../mount-plan.js';
import type { FilesystemPlanInput } from './types.js';

/**
 * The mounts holding these device files, each the only kind of mount whose device nodes open
 * (the rest of the tree is nodev): a device file that is a mount of its own (a bind, as
 * container runtimes make) is one itself. Null when one lies on the root mount, which cannot
 * allow devices without allowing every node on the root file system.
 */
export function deviceMountsOf(devices: readonly string[]): string[] | null {
  const out: string[] = [];
  for (const device of devices) {
    let root: string;
    try {
      let cur = dirname(device);
      if (statSync(cur).dev !== lstatSync(device).dev) root = device;
      else {
        while (cur !== '/' && statSync(dirname(cur)).dev === statSync(cur).dev) cur = dirname(cur);
        root = cur;
      }
    } catch {
      return null;
    }
    if (root === '/') return null;
    if (!out.includes(root)) out.push(root);
  }
  return out;
}

/** The device files granted by name (and, with a private /dev, carried into it): existing character devices only. */
export function deviceFiles(input: FilesystemPlanInput): string[] {
  const out: string[] = [];
  for (const path of [...BASE_DEVICES, ...(input.ptyPath ? [input.ptyPath] : []), ...(input.devices ?? [])]) {
    try {
      const canonical = realpathSync(path);
      if (canonical.startsWith('/dev/') && statSync(canonical).isCharacterDevice() && !out.includes(canonical)) out.push(canonical);
    } catch {
      // /dev/tty is absent in some containers: nothing to grant.
    }
  }
  return out;
}
