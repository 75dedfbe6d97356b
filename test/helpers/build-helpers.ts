// Builds the C helpers under test/helpers/ on first use, into test/helpers/bin/ (gitignored).
// Test files run in parallel workers: each compiles to a private temporary name and renames it
// into place (rename(2) is atomic), so a reader sees either no binary or a complete one.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const helpersDir = dirname(fileURLToPath(import.meta.url));
const binDir = join(helpersDir, 'bin');

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
    mkdirSync(binDir, { recursive: true });
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
 * Path of test/helpers/bin/<name>, compiled from test/helpers/<name>.c when missing or older
 * than its source. Safe to call from parallel test files.
 */
export function buildHelper(name: string): string {
  return compile(join(helpersDir, `${name}.c`), join(binDir, name), FLAGS[name] ?? []);
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
