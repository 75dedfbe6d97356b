// Builds the C helpers of the tests on first use, into one directory outside /tmp: a sandbox
// gets a private /tmp (mode A), where a checkout under the host's /tmp (CI copies the tree
// there) is out of sight, so helpers built inside the tree could not be run in the sandbox.
// Test files run in parallel workers: each compiles to a private temporary name and renames it
// into place (rename(2) is atomic), so a reader sees either no binary or a complete one.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const helpersDir = dirname(fileURLToPath(import.meta.url));
/** Per user and per checkout (two trees never share a binary built from other sources). */
const binDir = `/var/tmp/cordon-test-bin-${process.getuid?.() ?? 0}-${createHash('sha256').update(helpersDir).digest('hex').slice(0, 12)}`;

function ensureBinDir(): void {
  mkdirSync(binDir, { recursive: true, mode: 0o755 });
  const st = lstatSync(binDir);
  if (!st.isDirectory() || st.uid !== (process.getuid?.() ?? 0)) throw new Error(`${binDir} is not a directory of this user's`);
}

/** Extra compiler flags per helper. */
const FLAGS: Record<string, string[]> = {
  // int 0x80 takes 32-bit pointers; non-PIE keeps the image low as well (see the source).
  'syscall-probe': ['-no-pie'],
};

const built = new Map<string, string>();

function compile(src: string, out: string, flags: readonly string[]): string {
  const cached = built.get(out);
  if (cached) return cached;
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs) {
    ensureBinDir();
    const tmp = `${out}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      execFileSync('cc', ['-O2', '-Wall', '-Wextra', ...flags, '-o', tmp, src], { stdio: ['ignore', 'ignore', 'pipe'] });
      renameSync(tmp, out);
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  built.set(out, out);
  return out;
}

/**
 * Path of the helper <name>, compiled from test/helpers/<name>.c when missing or older
 * than its source. Safe to call from parallel test files.
 */
export function buildHelper(name: string): string {
  return compile(join(helpersDir, `${name}.c`), join(binDir, name), FLAGS[name] ?? []);
}

/** A helper whose source lives elsewhere in test/ (a capability's own helpers/ directory). */
export function buildHelperFrom(src: string): string {
  return compile(src, join(binDir, src.slice(src.lastIndexOf('/') + 1).replace(/\.c$/, '')), []);
}

/**
 * A test-only N-API addon from test/helpers/<name>.c, loaded into this process. Compiled
 * against the headers of the running Node (<prefix>/include/node); the napi_* symbols resolve
 * against the node binary at load time.
 */
export function loadAddon<T>(name: string): T {
  const include = join(dirname(process.execPath), '..', 'include', 'node');
  const out = compile(join(helpersDir, `${name}.c`), join(binDir, `${name}.node`), ['-shared', '-fPIC', '-pthread', '-I', include]);
  const module = { exports: {} as T };
  process.dlopen(module, out);
  return module.exports;
}
