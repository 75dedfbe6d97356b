// Shared helpers of the policy tests.
import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, expect } from 'vitest';
import { PolicyError } from '../../src/errors.js';

/** Reads a JSON fixture of test/policy/fixtures. */
export function fixture(name: string): string {
  return readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
}

/** Runs `fn`, expects a PolicyError, returns it. */
export function policyError(fn: () => unknown): PolicyError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, 'expected a PolicyError').toBeInstanceOf(PolicyError);
  return thrown as PolicyError;
}

/** Expects `fn` to throw a PolicyError with exactly these `path: message` issues (in order). */
export function expectIssues(fn: () => unknown, expected: string[]): PolicyError {
  const error = policyError(fn);
  expect(error.issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message))).toEqual(expected);
  for (const line of expected) expect(error.message).toContain(line);
  return error;
}

/** Pins environment variables for each test of the current file/describe, restoring them after. */
export function pinEnv(vars: Record<string, string | undefined>): void {
  const saved: Record<string, string | undefined> = {};
  beforeEach(() => {
    for (const [k, v] of Object.entries(vars)) {
      saved[k] = process.env[k];
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
}
