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

/**
 * Path of test/helpers/bin/<name>, compiled from test/helpers/<name>.c when missing or older
 * than its source. Safe to call from parallel test files.
 */
export function buildHelper(name: string): string {
  const cached = built.get(name);
  if (cached) return cached;
  const src = join(helpersDir, `${name}.c`);
  const out = join(binDir, name);
  if (!existsSync(out) || statSync(out).mtimeMs < statSync(src).mtimeMs) {
    mkdirSync(binDir, { recursive: true });
    const tmp = `${out}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    try {
      execFileSync('cc', ['-O2', '-Wall', '-Wextra', ...(FLAGS[name] ?? []), '-o', tmp, src], { stdio: ['ignore', 'ignore', 'pipe'] });
      renameSync(tmp, out);
    } finally {
      rmSync(tmp, { force: true });
    }
  }
  built.set(name, out);
  return out;
}
